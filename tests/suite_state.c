/* state: optk_init_state values, trajectories that do not depend on how the
 * array is cut into calls, and the bf16/f16 storage conversions.
 *
 * Tcases per kernel ("adam_f32"):
 *   test_init_state       every state element gets the initial value the spec's
 *                         IR gives (ir_eval.c) for defaults, random, edge and
 *                         extreme (1e-40, 1e300) hyperparameters, bit for bit
 *                         where it is exact in double, and nothing outside
 *                         [0, n) is written
 *   test_split            5 steps on the whole array == the same steps on pieces
 *                         (halves, 3 parts, 1 element at a time, pieces on
 *                         different ISAs), and a rerun gives the same bits
 * Tcases "bf16_convert", "f16_convert" (loop: available ISAs):
 *   test_lr0_identity     sgd with lr = 0, g = 0 keeps all 65536 patterns of p
 *                         (NaN stays NaN)
 *   test_rne_known        hand-computed round-to-nearest-even cases: ties to
 *                         even, sticky bits, overflow to infinity, denormals
 *   test_rne_random       sgd with lr = 1 stores round16((float)p - (float)g)
 *                         for random bit patterns of p and g
 * Tcase "denormals" (loop: available ISAs): f32/f64 kernels keep exact
 *   denormal results and leave the caller's floating-point mode alone.
 * Tcase "convert_helpers": the test's own converters against a slow oracle.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir_eval.h"
#include "testutil.h"

struct kentry {
  const optk_kernel *k;
  size_t kidx;
  char name[48];
};
#define MAX_KERNELS 4096
static struct kentry st_kernels[MAX_KERNELS];
static int st_nkernels;
static optk_isa st_isas[OPTK_ISA_COUNT]; /* available ISAs, scalar first */
static int st_nisas;

/* ---- init ---------------------------------------------------------------- */

/* hyperparameter sets: defaults, two random, every value that is not a
 * switch at 0.3, 1e-40 or 1e300 (where its domain allows), both edges */
static const double init_fill[] = {0.3, 1e-40, 1e300};
#define NINIT 8
static const size_t init_n[] = {1, 37, 1000};

static void init_hparams(const optk_kernel *k, int set, tu_rng *r, double *hp)
{
  if (set < 3 || set >= 6) {
    tu_hparams(k, set == 0 ? TU_HP_DEFAULT : set < 3 ? TU_HP_RANDOM : set == 6 ? TU_HP_LOW_EDGE : TU_HP_HIGH_EDGE, r,
               hp);
    return;
  }
  optk_default_hparams(k, hp);
  for (int i = 0; i < optk_nhparams(k); i++)
    if (!tu_hp_is_bool(k, i) && tu_hp_in_domain(k, i, init_fill[set - 3]))
      hp[i] = init_fill[set - 3];
  tu_hp_repair(k, hp); /* 1e300 is no float */
}

START_TEST(test_init_state)
{
  const struct kentry *e = &st_kernels[_i / NINIT];
  const int set = _i % NINIT;
  const struct optk_irp *prog = ire_find(optk_name(e->k));
  ck_assert_msg(prog != NULL, "%s: no IR program", e->name);
  char msg[256];
  ck_assert_msg(ire_validate(prog, e->k, msg, sizeof msg) == 0, "%s", msg);
  tu_rng r;
  tu_seed(&r, 0x1417ull + (uint64_t)_i);
  double hp[TU_MAX_HP];
  init_hparams(e->k, set, &r, hp);
  ire_call call;
  ire_prepare(&call, prog, optk_dtype_of(e->k), hp, 1);
  ire_val init[OPTK_MAX_STATE];
  ire_init(&call, init);
  ire_release(&call);
  for (size_t ni = 0; ni < sizeof init_n / sizeof init_n[0]; ni++) {
    const size_t n = init_n[ni];
    tu_prob pr;
    tu_prob_init(&pr, e->k, n, 3, 5);
    tu_seed(&r, 99);
    tu_prob_fill(&pr, TU_VAL_BITS, &r);
    tu_prob param_grad;
    tu_prob_init(&param_grad, e->k, n, 3, 5);
    tu_prob_copy(&param_grad, &pr);
    int rc = optk_init_state(e->k, n, pr.state, hp);
    ck_assert_msg(rc == OPTK_OK, "%s n=%zu hyperparameter set %d: returned %d", e->name, n, set, rc);
    int arr;
    size_t byte;
    ck_assert_msg(tu_prob_canaries_ok(&pr, &arr, &byte),
                  "%s n=%zu: optk_init_state wrote outside %s[0..n) (buffer byte %zu)", e->name, n,
                  tu_arr_name(&pr, arr), byte);
    ck_assert_msg(memcmp(pr.buf[0], param_grad.buf[0], pr.bytes[0]) == 0 &&
                      memcmp(pr.buf[1], param_grad.buf[1], pr.bytes[1]) == 0,
                  "%s: optk_init_state has no business with param or grad", e->name);
    for (int j = 0; j + 2 < pr.narr; j++) {
      /* exact in double: the stored value is that value rounded to the state type */
      const double v = (double)init[j].v;
      const double want = tu_round_to(pr.st, v);
      const double tol = init[j].err == 0 ? 0.0 : 2.0 * (double)init[j].err + tu_ulp(pr.st, fabs(v));
      for (size_t i = 0; i < n; i++) {
        const double got = tu_get(pr.st, pr.state[j], i);
        char buf[64];
        ck_assert_msg((isnan(got) && isnan(want)) || got == want || fabs(got - v) <= tol,
                      "%s n=%zu hyperparameter set %d: %s[%zu] = %s, the IR's initial value is %a (bound %g)",
                      e->name, n, set, tu_arr_name(&pr, 2 + j), i, tu_fmt(buf, sizeof buf, pr.st, pr.state[j], i),
                      v, (double)init[j].err);
      }
    }
    tu_prob_free(&pr);
    tu_prob_free(&param_grad);
  }
}
END_TEST

/* ---- split --------------------------------------------------------------- */

enum { SPLIT_HALVES, SPLIT_FIRST1, SPLIT_THREE, SPLIT_SINGLES, SPLIT_MIXED_ISA, SPLIT_NMODES };
static const char *const split_names[SPLIT_NMODES] = {"halves", "1+rest", "3 parts",
                                                      "1 element per call", "pieces per ISA"};

/* Calls the step on [lo, hi) of pr with the given ISA. */
static int step_piece(tu_prob *pr, optk_isa isa, size_t lo, size_t hi, const double *hp,
                      int64_t t)
{
  void *st[OPTK_MAX_STATE];
  size_t es = tu_esize(pr->dt), ss = tu_esize(pr->st);
  for (int j = 0; j + 2 < pr->narr; j++)
    st[j] = (unsigned char *)pr->state[j] + lo * ss;
  return optk_step_isa(pr->k, isa, hi - lo, (unsigned char *)pr->arr[0] + lo * es,
                       (unsigned char *)pr->arr[1] + lo * es, st, hp, t);
}

/* loop index: kernel x ISA x split mode x value class (normal, special) */
START_TEST(test_split)
{
  const int per_kernel = st_nisas * SPLIT_NMODES * 2;
  const struct kentry *e = &st_kernels[_i / per_kernel];
  const int rest = _i % per_kernel;
  const optk_isa isa = st_isas[rest / (SPLIT_NMODES * 2)];
  const int mode = (rest / 2) % SPLIT_NMODES;
  const int cls = (rest % 2) ? TU_VAL_SPECIAL : TU_VAL_NORMAL;
  const size_t n = 301;
  tu_rng r;
  tu_seed(&r, 0x5B11700ull + e->kidx * 31ull + (uint64_t)(rest % 2));
  double hp[TU_MAX_HP];
  tu_hparams(e->k, TU_HP_RANDOM, &r, hp);
  tu_prob whole, again, parts;
  tu_prob_init(&whole, e->k, n, 0, 4);
  tu_prob_init(&again, e->k, n, 0, 4);
  tu_prob_init(&parts, e->k, n, 0, 4);
  tu_prob_fill(&whole, cls, &r);
  tu_prob_copy(&again, &whole);
  tu_prob_copy(&parts, &whole);

  for (int64_t t = 1; t <= 5; t++) {
    ck_assert_int_eq(tu_prob_step(&whole, (int)isa, hp, t), OPTK_OK);
    ck_assert_int_eq(tu_prob_step(&again, (int)isa, hp, t), OPTK_OK);
    switch (mode) {
    case SPLIT_HALVES:
      ck_assert_int_eq(step_piece(&parts, isa, 0, n / 2, hp, t), OPTK_OK);
      ck_assert_int_eq(step_piece(&parts, isa, n / 2, n, hp, t), OPTK_OK);
      break;
    case SPLIT_FIRST1:
      ck_assert_int_eq(step_piece(&parts, isa, 0, 1, hp, t), OPTK_OK);
      ck_assert_int_eq(step_piece(&parts, isa, 1, n, hp, t), OPTK_OK);
      break;
    case SPLIT_THREE:
      ck_assert_int_eq(step_piece(&parts, isa, 0, 7, hp, t), OPTK_OK);
      ck_assert_int_eq(step_piece(&parts, isa, 7, 71, hp, t), OPTK_OK);
      ck_assert_int_eq(step_piece(&parts, isa, 71, n, hp, t), OPTK_OK);
      break;
    case SPLIT_SINGLES:
      for (size_t i = n; i-- > 0;)
        ck_assert_int_eq(step_piece(&parts, isa, i, i + 1, hp, t), OPTK_OK);
      break;
    default: {
      /* pieces of 37 elements, each on the next available ISA */
      int w = (int)t;
      for (size_t lo = 0; lo < n; lo += 37, w++) {
        size_t hi = lo + 37 < n ? lo + 37 : n;
        ck_assert_int_eq(step_piece(&parts, st_isas[w % st_nisas], lo, hi, hp, t), OPTK_OK);
      }
      break;
    }
    }
    int arr;
    size_t byte;
    ck_assert_msg(tu_prob_canaries_ok(&parts, &arr, &byte), "%s %s split %s: wrote past n",
                  e->name, tu_isa_names[isa], split_names[mode]);
    const tu_prob *cmp[2] = {&again, &parts};
    for (int c = 0; c < 2; c++) {
      size_t i = tu_prob_diff(&whole, cmp[c], &arr);
      if (i != SIZE_MAX) {
        char a[64], b[64];
        optk_dtype ty = tu_arr_type(&whole, arr);
        ck_assert_msg(0, "%s on %s, %s values, t=%d: %s[%zu] whole=%s %s=%s", e->name,
                      tu_isa_names[isa], tu_val_names[cls], (int)t, tu_arr_name(&whole, arr), i,
                      tu_fmt(a, sizeof a, ty, whole.arr[arr], i),
                      c == 0 ? "second run" : split_names[mode],
                      tu_fmt(b, sizeof b, ty, cmp[c]->arr[arr], i));
      }
    }
  }
  tu_prob_free(&whole);
  tu_prob_free(&again);
  tu_prob_free(&parts);
}
END_TEST

/* ---- bf16 / f16 conversions ------------------------------------------------ */

static uint16_t to16(optk_dtype dt, float f)
{
  return dt == OPTK_BF16 ? tu_f32_to_bf16(f) : tu_f32_to_f16(f);
}

static float from16(optk_dtype dt, uint16_t h)
{
  return dt == OPTK_BF16 ? tu_bf16_to_f32(h) : tu_f16_to_f32(h);
}

/* loop index: dtype (bf16, f16) x available ISA */
START_TEST(test_lr0_identity)
{
  const optk_dtype dt = (_i % 2) ? OPTK_F16 : OPTK_BF16;
  const optk_isa isa = st_isas[_i / 2];
  const optk_kernel *k = optk_find("sgd", dt);
  ck_assert_msg(k != NULL, "no sgd_%s", tu_dtype_name(dt));
  const size_t n = 65536;
  uint16_t *p = malloc(n * 2), *g = calloc(n, 2);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint16_t)i;
  const double hp[1] = {0.0};
  ck_assert_int_eq(optk_step_isa(k, isa, n, p, g, NULL, hp, 1), OPTK_OK);
  for (size_t i = 0; i < n; i++) {
    int was_nan = tu_is_nan_bits(dt, i);
    ck_assert_msg(was_nan ? tu_is_nan_bits(dt, p[i]) : p[i] == (uint16_t)i,
                  "sgd_%s on %s, lr=0, g=0: p=0x%04zx (%a) became 0x%04x (%a)", tu_dtype_name(dt),
                  tu_isa_names[isa], i, (double)from16(dt, (uint16_t)i), p[i],
                  (double)from16(dt, p[i]));
  }
  free(p);
  free(g);
}
END_TEST

struct rne_case {
  optk_dtype dt;
  uint16_t p, g;
  double lr;
  uint16_t want; /* hand-computed; 0x7fff/0x7e00 families: any NaN */
  int want_nan;
  const char *what;
};

static const struct rne_case rne_cases[] = {
  /* bf16: 8 significant bits, ulp 2^-7 in [1, 2) */
  {OPTK_BF16, 0x3F80, 0xBB80, 1.0, 0x3F80, 0, "1 + 2^-8: tie, stays even"},
  {OPTK_BF16, 0x3F81, 0xBB80, 1.0, 0x3F82, 0, "(1 + 2^-7) + 2^-8: tie, odd rounds up"},
  {OPTK_BF16, 0x3F80, 0xBF80, 0x1p-8 + 0x1p-20, 0x3F81, 0, "just above a tie (sticky bit)"},
  {OPTK_BF16, 0x3F80, 0xBF80, 0x1p-8 - 0x1p-20, 0x3F80, 0, "just below a tie"},
  {OPTK_BF16, 0x3FFF, 0xBB80, 1.0, 0x4000, 0, "tie carries into the exponent"},
  {OPTK_BF16, 0x7F7F, 0xFB00, 1.0, 0x7F80, 0, "max + half ulp: tie to even is +inf"},
  {OPTK_BF16, 0xFF7F, 0x7B00, 1.0, 0xFF80, 0, "-max - half ulp: -inf"},
  {OPTK_BF16, 0x7F7E, 0xFB00, 1.0, 0x7F7E, 0, "tie below max stays even"},
  {OPTK_BF16, 0x0001, 0x8001, 0.5, 0x0002, 0, "denormal 1.5 units: tie to 2"},
  {OPTK_BF16, 0x0000, 0x8001, 0.5, 0x0000, 0, "half the smallest denormal: tie to +0"},
  {OPTK_BF16, 0x8000, 0x0001, 0.5, 0x8000, 0, "minus half the smallest denormal: -0"},
  {OPTK_BF16, 0x0000, 0x8001, 0.75, 0x0001, 0, "0.75 of the smallest denormal: up"},
  {OPTK_BF16, 0x0080, 0x0001, 1.0, 0x007F, 0, "smallest normal - denormal unit"},
  {OPTK_BF16, 0x7F80, 0x3F80, 1.0, 0x7F80, 0, "inf - 1 = inf"},
  {OPTK_BF16, 0x7F80, 0x7F80, 1.0, 0, 1, "inf - inf = NaN"},
  {OPTK_BF16, 0x7FC1, 0x0000, 1.0, 0, 1, "NaN stays NaN"},
  {OPTK_BF16, 0xFF81, 0x3F80, 1.0, 0, 1, "signalling NaN stays NaN"},
  /* f16: 11 significant bits, ulp 2^-10 in [1, 2), max 65504, denormal unit 2^-24 */
  {OPTK_F16, 0x3C00, 0x9000, 1.0, 0x3C00, 0, "1 + 2^-11: tie, stays even"},
  {OPTK_F16, 0x3C01, 0x9000, 1.0, 0x3C02, 0, "(1 + 2^-10) + 2^-11: tie, odd rounds up"},
  {OPTK_F16, 0x3C00, 0xBC00, 0x1p-11 + 0x1p-20, 0x3C01, 0, "just above a tie (sticky bit)"},
  {OPTK_F16, 0x3C00, 0xBC00, 0x1p-11 - 0x1p-20, 0x3C00, 0, "just below a tie"},
  {OPTK_F16, 0x3BFF, 0x8C00, 1.0, 0x3C00, 0, "tie carries into the exponent"},
  {OPTK_F16, 0x7BFF, 0xCC00, 1.0, 0x7C00, 0, "65504 + 16: tie to even is +inf"},
  {OPTK_F16, 0x7BFF, 0xCBFF, 1.0, 0x7BFF, 0, "65504 + 15.99: stays 65504"},
  {OPTK_F16, 0xFBFF, 0x4C00, 1.0, 0xFC00, 0, "-65504 - 16: -inf"},
  {OPTK_F16, 0x0001, 0x8001, 0.5, 0x0002, 0, "denormal 1.5 units: tie to 2"},
  {OPTK_F16, 0x0000, 0x8001, 0.5, 0x0000, 0, "2^-25: tie to +0"},
  {OPTK_F16, 0x8000, 0x0001, 0.5, 0x8000, 0, "-2^-25: tie to -0"},
  {OPTK_F16, 0x0000, 0x8001, 0.75, 0x0001, 0, "0.75 * 2^-24: up"},
  {OPTK_F16, 0x03FF, 0x8001, 0.5, 0x0400, 0, "largest denormal + half unit: tie to normal"},
  {OPTK_F16, 0x0400, 0x0001, 1.0, 0x03FF, 0, "smallest normal - unit: largest denormal"},
  {OPTK_F16, 0x3C00, 0x0000, 1.0, 0x3C00, 0, "g = 0"},
  {OPTK_F16, 0x7C00, 0x3C00, 1.0, 0x7C00, 0, "inf - 1 = inf"},
  {OPTK_F16, 0x7C00, 0x7C00, 1.0, 0, 1, "inf - inf = NaN"},
  {OPTK_F16, 0x7E01, 0x0000, 1.0, 0, 1, "NaN stays NaN"},
  {OPTK_F16, 0xFC01, 0x3C00, 1.0, 0, 1, "signalling NaN stays NaN"},
};
#define NRNE ((int)(sizeof rne_cases / sizeof rne_cases[0]))

/* loop index: dtype (bf16, f16) x available ISA; every case of that dtype,
 * each replicated over 67 elements (vector body and tail) */
START_TEST(test_rne_known)
{
  const optk_dtype dt = (_i % 2) ? OPTK_F16 : OPTK_BF16;
  const optk_isa isa = st_isas[_i / 2];
  const optk_kernel *k = optk_find("sgd", dt);
  ck_assert_msg(k != NULL, "no sgd_%s", tu_dtype_name(dt));
  enum { N = 67 };
  int tested = 0;
  for (int c = 0; c < NRNE; c++) {
    const struct rne_case *rc = &rne_cases[c];
    if (rc->dt != dt)
      continue;
    tested++;
    /* the table agrees with the test's converter on the exact result */
    double exact = (double)from16(dt, rc->p) - rc->lr * (double)from16(dt, rc->g);
    if (!rc->want_nan) {
      ck_assert_msg((double)(float)exact == exact, "case \"%s\": not exact in float", rc->what);
      ck_assert_msg(to16(dt, (float)exact) == rc->want,
                    "test converter: case \"%s\": %a -> 0x%04x, table says 0x%04x", rc->what,
                    exact, to16(dt, (float)exact), rc->want);
    }
    uint16_t p[N], g[N];
    for (int i = 0; i < N; i++) {
      p[i] = rc->p;
      g[i] = rc->g;
    }
    const double hp[1] = {rc->lr};
    ck_assert_int_eq(optk_step_isa(k, isa, N, p, g, NULL, hp, 1), OPTK_OK);
    for (int i = 0; i < N; i++) {
      int ok = rc->want_nan ? tu_is_nan_bits(dt, p[i]) : p[i] == rc->want;
      ck_assert_msg(ok,
                    "sgd_%s on %s, case \"%s\": p=0x%04x g=0x%04x lr=%a: element %d stored "
                    "0x%04x (%a), want %s0x%04x",
                    tu_dtype_name(dt), tu_isa_names[isa], rc->what, rc->p, rc->g, rc->lr, i, p[i],
                    (double)from16(dt, p[i]), rc->want_nan ? "a NaN, e.g. " : "",
                    rc->want_nan ? 0x7fffu : rc->want);
    }
  }
  ck_assert_int_gt(tested, 10);
}
END_TEST

/* loop index: dtype (bf16, f16) x available ISA */
START_TEST(test_rne_random)
{
  const optk_dtype dt = (_i % 2) ? OPTK_F16 : OPTK_BF16;
  const optk_isa isa = st_isas[_i / 2];
  const optk_kernel *k = optk_find("sgd", dt);
  ck_assert_msg(k != NULL, "no sgd_%s", tu_dtype_name(dt));
  const size_t n = 4099;
  uint16_t *p = malloc(n * 2), *g = malloc(n * 2), *p0 = malloc(n * 2);
  tu_rng r;
  tu_seed(&r, 0x12E + (uint64_t)dt);
  for (int round = 0; round < 8; round++) {
    for (size_t i = 0; i < n; i++) {
      uint64_t x = tu_next(&r);
      p[i] = p0[i] = (uint16_t)x;
      g[i] = (uint16_t)(x >> 16);
      if (round % 2 == 1) /* nearby magnitudes, either sign: the rounding does real work */
        g[i] = (uint16_t)(((x >> 60) & 1u ? 0x8000u : 0u) ^
                          (((p[i] & 0x7fffu) - (x >> 40) % 512u) & 0x7fffu));
    }
    const double hp[1] = {1.0};
    ck_assert_int_eq(optk_step_isa(k, isa, n, p, g, NULL, hp, 1), OPTK_OK);
    for (size_t i = 0; i < n; i++) {
      volatile float pf = from16(dt, p0[i]), gf = from16(dt, g[i]);
      float diff = pf - gf;
      uint16_t want = to16(dt, diff);
      int ok = tu_is_nan_bits(dt, want) ? tu_is_nan_bits(dt, p[i]) : p[i] == want;
      ck_assert_msg(ok,
                    "sgd_%s on %s, lr=1: p=0x%04x (%a) g=0x%04x (%a): float p-g = %a, stored "
                    "0x%04x (%a), want 0x%04x (%a)",
                    tu_dtype_name(dt), tu_isa_names[isa], p0[i], (double)pf, g[i], (double)gf,
                    (double)diff, p[i], (double)from16(dt, p[i]), want, (double)from16(dt, want));
    }
  }
  free(p);
  free(g);
  free(p0);
}
END_TEST

/* ---- denormals in f32 / f64 arithmetic ------------------------------------ */

/* loop index: available ISA.  sgd (lr = 1) and sgd_momentum (lr = 0,
 * momentum = 0.5) on f32 and f64 with denormal p, g and v: results that are
 * exact denormals must come out exactly (no flush to zero, no denormals
 * read as zero), and the caller's floating-point mode is left as it was. */
START_TEST(test_denormals_kept)
{
  const optk_isa isa = st_isas[_i];
  enum { N = 37 };
  for (int d = 0; d < 2; d++) {
    const optk_dtype dt = d ? OPTK_F64 : OPTK_F32;
    /* smallest-normal scale of the type, and denormal inputs below it */
    const double tiny = d ? 0x1p-1070 : 0x1p-140;
    const optk_kernel *sgd = optk_find("sgd", dt), *mom = optk_find("sgd_momentum", dt);
    ck_assert_ptr_nonnull(sgd);
    ck_assert_ptr_nonnull(mom);
    double p[N], g[N], v[N];
    unsigned char pb[8 * N], gb[8 * N], vb[8 * N];
    for (int i = 0; i < N; i++) {
      p[i] = tiny * (1 + i % 5);
      g[i] = -tiny * 0.5 * (1 + i % 3);
      v[i] = tiny * (1 + i % 7);
      tu_put(dt, pb, (size_t)i, p[i]);
      tu_put(dt, gb, (size_t)i, g[i]);
      tu_put(dt, vb, (size_t)i, v[i]);
      ck_assert(tu_get(dt, pb, (size_t)i) == p[i] && tu_get(dt, gb, (size_t)i) == g[i]);
    }
    const double hp1[1] = {1.0};
    ck_assert_int_eq(optk_step_isa(sgd, isa, N, pb, gb, NULL, hp1, 1), OPTK_OK);
    for (int i = 0; i < N; i++)
      ck_assert_msg(tu_get(dt, pb, (size_t)i) == p[i] - g[i],
                    "sgd_%s on %s: denormal %a - %a stored %a, want %a", tu_dtype_name(dt),
                    tu_isa_names[isa], p[i], g[i], tu_get(dt, pb, (size_t)i), p[i] - g[i]);
    for (int i = 0; i < N; i++) {
      tu_put(dt, pb, (size_t)i, 0.0);
      tu_put(dt, gb, (size_t)i, 0.0);
    }
    const double hp2[2] = {0.0, 0.5};
    void *st[1] = {vb};
    ck_assert_int_eq(optk_step_isa(mom, isa, N, pb, gb, st, hp2, 1), OPTK_OK);
    for (int i = 0; i < N; i++) {
      ck_assert_msg(tu_get(dt, vb, (size_t)i) == 0.5 * v[i],
                    "sgd_momentum_%s on %s: 0.5 * denormal v %a stored %a, want %a",
                    tu_dtype_name(dt), tu_isa_names[isa], v[i], tu_get(dt, vb, (size_t)i),
                    0.5 * v[i]);
      ck_assert_msg(tu_get(dt, pb, (size_t)i) == 0.5 * v[i],
                    "sgd_momentum_%s on %s: p = 0 + %a stored %a", tu_dtype_name(dt),
                    tu_isa_names[isa], 0.5 * v[i], tu_get(dt, pb, (size_t)i));
    }
  }
  volatile float x = 0x1p-140f, half = 0.5f;
  volatile double y = 0x1p-1070, dhalf = 0.5;
  ck_assert_msg(x * half == 0x1p-141f && y * dhalf == 0x1p-1071,
                "after the steps on %s the caller's denormals flush to zero", tu_isa_names[isa]);
}
END_TEST

/* ---- the test's own converters ------------------------------------------- */

/* Slow oracle: the nearest 16-bit value to finite x, ties to even, by search
 * over the ordered positive patterns; the pattern after the largest finite
 * one is infinity, weighted as the next power of two. */
static uint16_t slow_round16(optk_dtype dt, float x)
{
  uint16_t inf = dt == OPTK_BF16 ? 0x7F80 : 0x7C00;
  double ax = fabs((double)x), inf_as = dt == OPTK_BF16 ? 0x1p128 : 0x1p16;
  uint16_t sign = signbit(x) ? 0x8000 : 0;
  unsigned lo = 0, hi = inf; /* value(lo) <= ax < value(hi) */
  if (ax >= inf_as)
    return (uint16_t)(sign | inf);
  while (hi - lo > 1) {
    unsigned mid = (lo + hi) / 2;
    if ((double)from16(dt, (uint16_t)mid) <= ax)
      lo = mid;
    else
      hi = mid;
  }
  double vlo = from16(dt, (uint16_t)lo);
  double vhi = hi == inf ? inf_as : (double)from16(dt, (uint16_t)hi);
  double dlo = ax - vlo, dhi = vhi - ax;
  unsigned pick = dlo < dhi ? lo : dhi < dlo ? hi : (lo % 2 == 0 ? lo : hi);
  return (uint16_t)(sign | pick);
}

START_TEST(test_convert_helpers)
{
  static const struct {
    float f;
    uint16_t bf16, f16;
  } known[] = {
    {1.0f, 0x3F80, 0x3C00},
    {-2.0f, 0xC000, 0xC000},
    {0.0f, 0x0000, 0x0000},
    {-0.0f, 0x8000, 0x8000},
    {65504.0f, 0x4780, 0x7BFF},
    {65520.0f, 0x4780, 0x7C00},
    {0x1p-24f, 0x3380, 0x0001},
    {0x1p-25f, 0x3300, 0x0000},
    {0x1.8p-25f, 0x3340, 0x0001},
    {0x1p-14f, 0x3880, 0x0400},
    {0x1.004p0f, 0x3F80, 0x3C01},
    {0x1.002p0f, 0x3F80, 0x3C00},
    {0x1.006p0f, 0x3F80, 0x3C02},
    {0x1.01p0f, 0x3F80, 0x3C04},
    {0x1.018p0f, 0x3F81, 0x3C06},
    {0x1.ffp0f, 0x4000, 0x3FFC},
    {3.14159274f, 0x4049, 0x4248},
    {INFINITY, 0x7F80, 0x7C00},
    {-INFINITY, 0xFF80, 0xFC00},
    {0x1.fffffep127f, 0x7F80, 0x7C00},
    {0x1.fep127f, 0x7F7F, 0x7C00},
    {0x1p-149f, 0x0000, 0x0000},
    {0x1p-133f, 0x0001, 0x0000},
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    ck_assert_msg(tu_f32_to_bf16(known[i].f) == known[i].bf16, "bf16(%a) = 0x%04x, want 0x%04x",
                  (double)known[i].f, tu_f32_to_bf16(known[i].f), known[i].bf16);
    ck_assert_msg(tu_f32_to_f16(known[i].f) == known[i].f16, "f16(%a) = 0x%04x, want 0x%04x",
                  (double)known[i].f, tu_f32_to_f16(known[i].f), known[i].f16);
  }
  ck_assert(tu_is_nan_bits(OPTK_BF16, tu_f32_to_bf16(NAN)));
  ck_assert(tu_is_nan_bits(OPTK_F16, tu_f32_to_f16(NAN)));
  ck_assert(tu_is_nan_bits(OPTK_BF16, tu_f32_to_bf16(tu_bits_f32(0x7f800001u))));
  ck_assert(tu_is_nan_bits(OPTK_F16, tu_f32_to_f16(tu_bits_f32(0xff800001u))));

  for (int d = 0; d < 2; d++) {
    const optk_dtype dt = d ? OPTK_F16 : OPTK_BF16;
    const unsigned inf = d ? 0x7C00 : 0x7F80;
    for (unsigned h = 0; h < 0x10000; h++) {
      uint16_t hb = (uint16_t)h;
      float f = from16(dt, hb);
      if (tu_is_nan_bits(dt, hb)) {
        ck_assert_msg(isnan(f), "0x%04x decodes to %a", h, (double)f);
        continue;
      }
      ck_assert_msg(to16(dt, f) == hb, "%s round trip of 0x%04x gives 0x%04x",
                    tu_dtype_name(dt), h, to16(dt, f));
      unsigned mag = h & 0x7fffu;
      if (mag >= inf)
        continue;
      /* midpoint to the next pattern and its float neighbours */
      double here = fabs((double)f);
      double next = mag + 1 == inf ? (d ? 0x1p16 : 0x1p128) : (double)from16(dt, (uint16_t)(mag + 1));
      double midd = (h & 0x8000u) ? -(here + next) / 2 : (here + next) / 2;
      float mid = (float)midd;
      ck_assert((double)mid == midd);
      float probes[3] = {mid, nextafterf(mid, 0.0f), nextafterf(mid, 2.0f * mid)};
      for (int q = 0; q < 3; q++)
        ck_assert_msg(to16(dt, probes[q]) == slow_round16(dt, probes[q]),
                      "%s(%a) = 0x%04x, oracle 0x%04x", tu_dtype_name(dt), (double)probes[q],
                      to16(dt, probes[q]), slow_round16(dt, probes[q]));
    }
    tu_rng r;
    tu_seed(&r, 4242 + (uint64_t)d);
    for (int i = 0; i < 200000; i++) {
      float x = tu_bits_f32((uint32_t)tu_next(&r));
      if (isnan(x))
        continue;
      ck_assert_msg(to16(dt, x) == slow_round16(dt, x), "%s(%a) = 0x%04x, oracle 0x%04x",
                    tu_dtype_name(dt), (double)x, to16(dt, x), slow_round16(dt, x));
    }
  }
}
END_TEST

Suite *state_suite(void)
{
  Suite *s = suite_create("state");
  st_nisas = 0;
  for (int isa = 0; isa < OPTK_ISA_COUNT; isa++)
    if (optk_isa_available((optk_isa)isa))
      st_isas[st_nisas++] = (optk_isa)isa;
  size_t nk = optk_count();
  for (size_t ki = 0; ki < nk && st_nkernels < MAX_KERNELS; ki++) {
    const optk_kernel *k = optk_at(ki);
    if (k == NULL)
      continue;
    struct kentry *e = &st_kernels[st_nkernels];
    e->k = k;
    e->kidx = ki;
    tu_kernel_label(e->name, sizeof e->name, k);
    TCase *tc = tcase_create(e->name);
    tcase_add_loop_test(tc, test_init_state, st_nkernels * NINIT, (st_nkernels + 1) * NINIT);
    const int per_kernel = st_nisas * SPLIT_NMODES * 2;
    /* Split calls give whole calls' bits only where every element's update
     * stands alone: a two-phase kernel's norms are of the whole tensor (its
     * own splitting, across threads, is suite_lamb's). */
    if (k->nnorms == 0)
      tcase_add_loop_test(tc, test_split, st_nkernels * per_kernel, (st_nkernels + 1) * per_kernel);
    suite_add_tcase(s, tc);
    st_nkernels++;
  }
  const char *conv_names[2] = {"bf16_convert", "f16_convert"};
  for (int d = 0; d < 2; d++) {
    TCase *tc = tcase_create(conv_names[d]);
    for (int j = 0; j < st_nisas; j++) {
      int idx = j * 2 + d;
      tcase_add_loop_test(tc, test_lr0_identity, idx, idx + 1);
      tcase_add_loop_test(tc, test_rne_known, idx, idx + 1);
      tcase_add_loop_test(tc, test_rne_random, idx, idx + 1);
    }
    suite_add_tcase(s, tc);
  }
  TCase *tc = tcase_create("denormals");
  tcase_add_loop_test(tc, test_denormals_kept, 0, st_nisas);
  suite_add_tcase(s, tc);
  tc = tcase_create("convert_helpers");
  tcase_set_timeout(tc, 120); /* every 16-bit pattern against a slow oracle: seconds on a busy machine */
  tcase_add_test(tc, test_convert_helpers);
  suite_add_tcase(s, tc);
  return s;
}
