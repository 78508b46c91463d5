/* Shared helpers of the optkern test binary: random numbers, bf16/f16
 * conversions written independently of the library, problem buffers with
 * canaries, guard pages, bit comparison, hyperparameter domains.
 */
#ifndef OPTK_TESTUTIL_H
#define OPTK_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "optkern.h"
#include "optk_internal.h"

/* ---- suites (one per area, built by check_main.c) ---------------------- */
Suite *api_suite(void);
Suite *dispatch_suite(void);
Suite *bitexact_suite(void);
Suite *tail_guard_suite(void);
Suite *reference_suite(void);
Suite *state_suite(void);

/* ---- random numbers: splitmix64, deterministic per seed ---------------- */
typedef struct {
  uint64_t s;
} tu_rng;

void tu_seed(tu_rng *r, uint64_t seed);
uint64_t tu_next(tu_rng *r);
double tu_uniform(tu_rng *r);              /* [0, 1) */
double tu_normal(tu_rng *r);               /* N(0, 1) */
uint32_t tu_below(tu_rng *r, uint32_t n);  /* [0, n) */

/* ---- bits and conversions (round to nearest even, NaN stays NaN) ------- */
uint32_t tu_f32_bits(float f);
float tu_bits_f32(uint32_t u);
uint64_t tu_f64_bits(double d);
double tu_bits_f64(uint64_t u);
uint16_t tu_f32_to_bf16(float f);
float tu_bf16_to_f32(uint16_t h);
uint16_t tu_f32_to_f16(float f);
float tu_f16_to_f32(uint16_t h);

/* ---- element types: optk_dtype doubles as the type of any array -------- */
const char *tu_dtype_name(optk_dtype t);            /* "f32", "f64", "bf16", "f16" */
size_t tu_esize(optk_dtype t);                      /* bytes per element */
optk_dtype tu_state_type(optk_dtype storage);       /* OPTK_F64 for f64, else OPTK_F32 */
double tu_get(optk_dtype t, const void *base, size_t i); /* exact value */
void tu_put(optk_dtype t, void *base, size_t i, double v); /* RNE through float for 16-bit */
uint64_t tu_get_bits(optk_dtype t, const void *base, size_t i);
void tu_put_bits(optk_dtype t, void *base, size_t i, uint64_t bits);
int tu_is_nan_bits(optk_dtype t, uint64_t bits);
/* same bits, or both NaN (payloads may differ) */
int tu_same_elem(optk_dtype t, const void *a, const void *b, size_t i);
/* "%a (0x...)" of element i, into buf */
const char *tu_fmt(char *buf, size_t size, optk_dtype t, const void *base, size_t i);
/* rounds a double to storage type t the way a kernel stores it (via float) */
double tu_round_to(optk_dtype t, double v);
/* spacing of storage type t at magnitude |v| (ulp of the binade, >= min denormal) */
double tu_ulp(optk_dtype t, double v);

/* ---- ISAs --------------------------------------------------------------- */
extern const char *const tu_isa_names[OPTK_ISA_COUNT];
/* ISAs of this architecture's chain, best last (scalar first). */
int tu_arch_chain(optk_isa *out);
/* the best available ISA of the chain, as the contract defines it */
optk_isa tu_best_isa(void);
/* "adam_f32" */
const char *tu_kernel_label(char *buf, size_t size, const optk_kernel *k);
/* index of the optimizer in ref_descs (ref.h) or -1 */
int tu_opt_index(const optk_kernel *k);

/* ---- hyperparameters ---------------------------------------------------- */
typedef struct {
  const char *name;
  double lo, hi;
  int lo_open, hi_open;
} tu_domain;
const tu_domain *tu_domain_of(const char *hp_name); /* NULL if unknown */
int tu_hp_in_domain(const char *hp_name, double v);
enum { TU_HP_DEFAULT, TU_HP_RANDOM, TU_HP_LOW_EDGE, TU_HP_HIGH_EDGE, TU_HP_NSETS };
extern const char *const tu_hpset_names[TU_HP_NSETS];
/* fills nhparams values of set `set` (random ones drawn from r) */
void tu_hparams(const optk_kernel *k, int set, tu_rng *r, double *hp);
int tu_hp_index(const optk_kernel *k, const char *name); /* -1 if absent */

/* ---- problem buffers ---------------------------------------------------- *
 * Arrays 0 (param), 1 (grad), 2.. (state), each in its own 64-byte aligned
 * allocation: `off` canary elements, the n elements, `pad` canary elements. */
#define TU_MAX_ARR (2 + OPTK_MAX_STATE)
typedef struct {
  const optk_kernel *k;
  optk_dtype dt, st;
  size_t n, off, pad;
  int narr;
  unsigned char *buf[TU_MAX_ARR];
  size_t bytes[TU_MAX_ARR];
  void *arr[TU_MAX_ARR];
  void *state[OPTK_MAX_STATE];
} tu_prob;

enum { TU_VAL_NORMAL, TU_VAL_SPECIAL, TU_VAL_MAGNITUDE, TU_VAL_BITS, TU_VAL_NCLASSES };
extern const char *const tu_val_names[TU_VAL_NCLASSES];

void tu_prob_init(tu_prob *pr, const optk_kernel *k, size_t n, size_t off, size_t pad);
void tu_prob_free(tu_prob *pr);
void tu_prob_copy(tu_prob *dst, const tu_prob *src); /* same geometry */
optk_dtype tu_arr_type(const tu_prob *pr, int a);
const char *tu_arr_name(const tu_prob *pr, int a);
/* fills the n elements of every array from value class cls */
void tu_prob_fill(tu_prob *pr, int cls, tu_rng *r);
/* 1 if every canary byte is intact; else 0 and *arr, *byte say where */
int tu_prob_canaries_ok(const tu_prob *pr, int *arr, size_t *byte);
/* first element (array *arr, index returned) where a and b differ, or SIZE_MAX */
size_t tu_prob_diff(const tu_prob *a, const tu_prob *b, int *arr);
int tu_prob_step(tu_prob *pr, int isa, const double *hp, int64_t t); /* isa < 0: optk_step */

/* ---- guard pages -------------------------------------------------------- */
typedef struct {
  void *map;
  size_t len;
} tu_guard;
/* bytes usable memory; the returned pointer ends exactly at a PROT_NONE page
 * (at_end) or starts exactly after one (!at_end) */
void *tu_guard_alloc(tu_guard *gd, size_t bytes, int at_end);
void tu_guard_free(tu_guard *gd);

/* ---- stderr capture ----------------------------------------------------- */
typedef struct {
  int saved_fd;
  char path[64];
} tu_capture;
int tu_capture_begin(tu_capture *c);
/* restores stderr; returns the captured text (malloc'd, caller frees) */
char *tu_capture_end(tu_capture *c);

#endif
