/* What optk_bench's sections share (bench/bench_common.c and
 * bench_kernels.c define it): the options, timing, the CSV rows, the arrays
 * and the kernels' step context.  Each section is a file of its own:
 *   bench_kernels.c   kernel     every kernel at every size, one thread
 *   bench_ceilings.c  ceiling    a copy-like loop over each kernel's arrays;
 *                     stream     STREAM copy and triad, one thread and all cores
 *   bench_naive.c     naive      each formula's naive C loop under several compilers
 *   bench_threads.c   threads    thread scaling; pool: wake, growth, split model
 *   bench_overhead.c  overhead   optk_step's per-call cost over the kernel's
 *   bench_unit.c      unit       the divide and square-root unit
 *   bench_tuned.c     tuned      tuned kernels against the default variants
 *   bench_vendored.c  vendor     baked hyperparameters against unbaked
 * bench.c parses the command line and runs the sections (--only). */
#ifndef OPTK_BENCH_H
#define OPTK_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elems.h"
#include "optk_internal.h"

/* Options (bench.c sets them). */
extern int quick;                   /* --quick */
extern char filter_tokens[64][64];  /* --filter's tokens */
extern int nfilter;
extern FILE *csv;                   /* where rows go */
extern int ncores;
extern const char *default_lib;     /* --default-lib, for the tuned section */

int is_dtype(const char *s);
int is_isa(const char *s);
/* kind: 0 optimizer, 1 dtype, 2 isa.  Passes if --filter has no token of
 * that kind, or value among them. */
int kind_passes(int kind, const char *value);
int kernel_passes(const optk_kernel *k);

/* Timing. */
typedef void (*body_fn)(void *ctx, long reps);
struct stat3 {
  double med, lo, hi;
};
double now_ns(void);
int cmp_double(const void *a, const void *b);
struct stat3 measure(body_fn body, void *ctx, double per);
void row(const char *section, const char *opt, const char *dt, const char *isa, const char *variant, int threads,
         size_t n, double bytes, struct stat3 st);

/* Arrays: nmax elements of 8 bytes each; the sizes measured. */
extern size_t nmax;
extern unsigned char *arr_p, *arr_g, *arr_s[OPTK_MAX_STATE];
extern size_t sizes[16];
extern int nsizes;
void *xalloc(size_t bytes);
void fill(void *a, optk_dtype d, size_t n);
double bytes_per_elem(optk_dtype d, int nstate);

/* A kernel's step through optk_step_isa on the arrays (bench_kernels.c). */
struct step_ctx {
  const optk_kernel *k;
  optk_isa isa;
  size_t n;
  void *st[OPTK_MAX_STATE];
  double hp[32];
  int64_t t;
};
void step_body(void *ctx, long reps);
void prepare(struct step_ctx *c, const optk_kernel *k, size_t n);
optk_isa best_isa(const optk_kernel *k);

/* The sections. */
void bench_kernels(void);
void bench_ceilings(void);
void bench_stream(void);
void bench_naive(void);
void bench_threads(void);
void bench_pool(void);
void bench_overhead(void);
void bench_unit(void);
void bench_tuned(void);
void bench_baked(void);

#endif
