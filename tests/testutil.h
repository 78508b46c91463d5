/* Shared helpers of the optkern test binary: random numbers, bf16/f16
 * conversions written independently of the library, problem buffers with
 * canaries, guard pages, bit comparison, hyperparameters from the records.
 */
#ifndef OPTK_TESTUTIL_H
#define OPTK_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

/* A passing assertion that costs only its test.  Check's ck_assert_msg (and
 * ck_assert, ck_assert_int_eq, ... built on it) records every passing one's
 * file and line with a write() to its message file, so that a test crashing
 * in fork mode can name the last.  The suites pass millions of assertions in
 * loops: 4.8 million writes in the state suite alone, most of its time
 * natively and more under qemu.  A failing assertion reports as before. */
#undef ck_assert_msg
#define ck_assert_msg(expr, ...) \
  ((expr) ? (void)0 : _ck_assert_failed(__FILE__, __LINE__, "Assertion '" #expr "' failed", ##__VA_ARGS__))

#include "elems.h"
#include "optkern.h"
#include "optk_internal.h"

/* ---- suites (one per area, built by check_main.c) ---------------------- */
Suite *api_suite(void);
Suite *dispatch_suite(void);
Suite *bitexact_suite(void);
Suite *tail_guard_suite(void);
Suite *reference_suite(void);
Suite *keras_suite(void);
Suite *state_suite(void);
Suite *group_suite(void);
Suite *lamb_suite(void);

/* ---- ISAs --------------------------------------------------------------- */
extern const char *const tu_isa_names[OPTK_ISA_COUNT];
/* ISAs of this architecture's chain, best last (scalar first). */
int tu_arch_chain(optk_isa *out);
optk_isa tu_lower_isa(optk_isa isa); /* the ISA dispatch falls back to; scalar's is scalar */
/* Where threads cannot be used (qemu-user 7.2 here hangs creating them;
 * tests/aarch64.sh sets OPTK_TEST_SLOW_THREADS), tests run on one thread:
 * thread counts are covered natively, and ISAs and splittings under qemu. */
int tu_slow_threads(void);
/* the best available ISA of the chain, as the contract defines it */
optk_isa tu_best_isa(void);
/* "adam_f32" */
const char *tu_kernel_label(char *buf, size_t size, const optk_kernel *k);

/* ---- hyperparameters: everything from the kernel's record -------------- */
#define TU_MAX_HP OPTK_MAX_HPARAMS
int tu_hp_is_bool(const optk_kernel *k, int i);        /* a 0/1 switch */
int tu_hp_in_domain(const optk_kernel *k, int i, double v); /* the record's domain */
int tu_hp_index(const optk_kernel *k, const char *name); /* -1 if absent */
/* whether the library accepts hp (domains, rounding, finite derived values) */
int tu_hp_accepted(const optk_kernel *k, const double *hp);
/* resets hyperparameters to their defaults, first to last, until accepted */
void tu_hp_repair(const optk_kernel *k, double *hp);
/* A random in-domain value of hyperparameter i: 0 or 1 for a switch; else
 * uniform, or close to either bound, over a finite domain, and a spread of
 * decades around the default over an infinite one. */
double tu_hp_random(const optk_kernel *k, int i, tu_rng *r);
/* The domain's edge (hi = 0: lower, 1: upper): the bound where it is
 * closed, the next double inside where it is open, and for an infinite
 * open bound a value 1000 times past the default's magnitude. */
double tu_hp_edge(const optk_kernel *k, int i, int hi);
enum { TU_HP_DEFAULT, TU_HP_RANDOM, TU_HP_LOW_EDGE, TU_HP_HIGH_EDGE, TU_HP_NSETS };
extern const char *const tu_hpset_names[TU_HP_NSETS];
/* Fills nhparams values of set `set`: the defaults, random values, or each
 * hyperparameter at its low (high) edge with probability 1/2, else random. */
void tu_hparams(const optk_kernel *k, int set, tu_rng *r, double *hp);
/* 1 if state array j only ever held values >= 0 over short trajectories of
 * the scalar kernel from its initial state (probed once per kernel): such
 * arrays (second moments, accumulators) are filled with |x|. */
int tu_state_nonneg(const optk_kernel *k, int j);

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
