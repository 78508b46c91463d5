/* group: optk_step_group, every rule of its contract, on every kernel of the
 * registry (kernels added later are covered) and every ISA this machine runs.
 *
 * Tcases per kernel ("adam_f32"), each on a small model of tensors of
 * awkward sizes (0 with NULL arrays, 1, 63, 64, a few blocks and a tail):
 *   test_noopts      opts NULL, no master: optk_step's bits per tensor, on
 *                    every ISA and at thread counts 1..4 (split forced)
 *   test_scale       a power-of-two scale on pre-multiplied gradients gives
 *                    the unscaled bits; any scale gives the kernel's bits on
 *                    the test's own g' = f32(g * f32(scale)) (f32 kernel and
 *                    rounding for 16-bit storage)
 *   test_clip        grad_norm within 1e-12 of a long double reference;
 *                    the update is the kernel's on g'' = c(g' * c(coef)),
 *                    coef = max_norm / (norm + 1e-6) capped at 1
 *   test_skip        a NaN or Inf anywhere: every array untouched, the flags
 *                    set; without skip the norm is NaN / Inf and the step
 *                    runs as torch's clipping would
 *   test_einval      every refused input returns OPTK_EINVAL, nothing written
 *   test_guard       the first tensor's arrays start at a guard page, the
 *                    last one's end at one, in every mode
 * 16-bit kernels only:
 *   test_via32       the 16-bit kernel == the f32 kernel on exactly
 *                    converted values, rounded to nearest even
 *   test_master      master == the f32 kernel's bits, param = RNE(master),
 *                    with and without opts
 *   test_sr          every value one of its two neighbours; the same bits
 *                    on every ISA, thread count and split into tensors; a
 *                    different seed or t changes bits
 * Tcases "norm" (reproducible sum) and "sr_unbiased":
 *   test_norm_repro  f32 and f64 gradients of mixed magnitudes (up to
 *                    1e300 and down to denormals): the same norm bits on
 *                    every ISA, thread count and split into tensors, within
 *                    1e-12 of the long double sum
 *   test_sr_unbiased the mean of rounded values is the f32 value, within 6
 *                    standard deviations, for several fractions of an ulp
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MAXT 8

/* For checks inside loops over elements: Check records the location of
 * every ck_assert (a write to its message file), which would dominate the
 * suite's time, under qemu above all. */
#define CHECK(cond, ...)                                                                         \
  do {                                                                                           \
    if (!(cond))                                                                                 \
      ck_abort_msg(__VA_ARGS__);                                                                 \
  } while (0)
static const size_t model_sizes[MAXT] = { 300, 0, 1, 63, 64, OPTK_RSUM_BLOCK + 5, 130, 97 };

struct kentry {
  const optk_kernel *k, *k32;
  char name[48];
};
#define MAX_KERNELS 160
static struct kentry g_kernels[MAX_KERNELS];
static int g_nkernels;
static struct kentry g_half[MAX_KERNELS]; /* the 16-bit ones */
static int g_nhalf;
static optk_isa g_isas[OPTK_ISA_COUNT];
static int g_nisas;

/* ---- a model: count tensors of one kernel ------------------------------- */
typedef struct {
  const optk_kernel *k;
  optk_dtype dt, st;
  size_t count, n[MAXT];
  void *param[MAXT], *grad[MAXT], *state[MAXT][OPTK_MAX_STATE];
  float *master[MAXT];
  optk_tensor ts[MAXT];
  tu_guard guards[MAXT][3 + OPTK_MAX_STATE];
  int guarded;
} model;

static void *arr_alloc(model *m, size_t t, int a, size_t bytes)
{
  if (!m->guarded || (t != 0 && t != m->count - 1))
    return bytes ? aligned_alloc(64, (bytes + 63) / 64 * 64) : NULL;
  /* first tensor: right after a guard page; last: right before one */
  return tu_guard_alloc(&m->guards[t][a], bytes, t == m->count - 1);
}

static void model_init(model *m, const optk_kernel *k, size_t count, const size_t *sizes, int with_master,
                       int guarded)
{
  memset(m, 0, sizeof *m);
  m->k = k;
  m->dt = optk_dtype_of(k);
  m->st = tu_state_type(m->dt);
  m->count = count;
  m->guarded = guarded;
  const size_t es = tu_esize(m->dt), ss = tu_esize(m->st);
  for (size_t t = 0; t < count; t++) {
    const size_t n = sizes[t];
    m->n[t] = n;
    if (n > 0 || guarded) {
      m->param[t] = arr_alloc(m, t, 0, n * es);
      m->grad[t] = arr_alloc(m, t, 1, n * es);
      for (int s = 0; s < optk_nstate(k); s++)
        m->state[t][s] = arr_alloc(m, t, 3 + s, n * ss);
      if (with_master)
        m->master[t] = arr_alloc(m, t, 2, n * sizeof(float));
    }
    m->ts[t] = (optk_tensor){ n, m->param[t], m->grad[t], m->state[t], m->master[t] };
  }
}

static void model_free(model *m)
{
  for (size_t t = 0; t < m->count; t++) {
    void *arrs[3 + OPTK_MAX_STATE] = { m->param[t], m->grad[t], m->master[t] };
    for (int s = 0; s < OPTK_MAX_STATE; s++)
      arrs[3 + s] = m->state[t][s];
    for (int a = 0; a < 3 + OPTK_MAX_STATE; a++) {
      if (m->guarded && (t == 0 || t == m->count - 1))
        tu_guard_free(&m->guards[t][a]);
      else
        free(arrs[a]);
    }
  }
}

/* Parameters and gradients of normal size (times gscale), state from
 * optk_init_state then a stir of random positive values where the state is
 * a running average (any value is a valid state for the bits we compare),
 * masters equal to the 16-bit params. */
static void model_fill(model *m, uint64_t seed, double gscale, const double *hp)
{
  tu_rng r;
  tu_seed(&r, seed);
  for (size_t t = 0; t < m->count; t++) {
    for (size_t i = 0; i < m->n[t]; i++) {
      /* uniform rather than normal draws: qemu runs this suite too */
      tu_put(m->dt, m->param[t], i, 4 * tu_uniform(&r) - 2);
      tu_put(m->dt, m->grad[t], i, gscale * (tu_uniform(&r) - 0.5) * 0.04);
      if (m->master[t])
        m->master[t][i] = (float)tu_get(m->dt, m->param[t], i) + (float)((tu_uniform(&r) - 0.5) * 4e-4);
    }
    if (m->n[t] > 0)
      ck_assert_int_eq(optk_init_state(m->k, m->n[t], m->state[t], hp), OPTK_OK);
    for (int s = 0; s < optk_nstate(m->k); s++)
      for (size_t i = 0; i < m->n[t]; i++)
        if (tu_uniform(&r) < 0.5)
          tu_put(m->st, m->state[t][s], i, tu_uniform(&r) * 1e-3);
  }
}

static void model_copy(model *d, const model *s)
{
  const size_t es = tu_esize(s->dt), ss = tu_esize(s->st);
  for (size_t t = 0; t < s->count; t++) {
    if (s->n[t] == 0)
      continue;
    memcpy(d->param[t], s->param[t], s->n[t] * es);
    memcpy(d->grad[t], s->grad[t], s->n[t] * es);
    for (int k = 0; k < optk_nstate(s->k); k++)
      memcpy(d->state[t][k], s->state[t][k], s->n[t] * ss);
    if (s->master[t] && d->master[t])
      memcpy(d->master[t], s->master[t], s->n[t] * sizeof(float));
  }
}

/* First difference between two models as text, or NULL: param, grad, state
 * and master, bit for bit (NaN payloads may differ). */
static const char *model_diff(const model *a, const model *b, char *buf, size_t size)
{
  int same = 1; /* the common case first: every array equal byte for byte */
  for (size_t t = 0; t < a->count && same; t++) {
    const size_t n = a->n[t], es = tu_esize(a->dt), ss = tu_esize(a->st);
    if (n == 0)
      continue;
    same = memcmp(a->param[t], b->param[t], n * es) == 0 && memcmp(a->grad[t], b->grad[t], n * es) == 0 &&
           (!a->master[t] || !b->master[t] || memcmp(a->master[t], b->master[t], n * sizeof(float)) == 0);
    for (int s = 0; s < optk_nstate(a->k) && same; s++)
      same = memcmp(a->state[t][s], b->state[t][s], n * ss) == 0;
  }
  if (same)
    return NULL;
  for (size_t t = 0; t < a->count; t++) {
    for (size_t i = 0; i < a->n[t]; i++) {
      if (!tu_same_elem(a->dt, a->param[t], b->param[t], i)) {
        char x[64], y[64];
        snprintf(buf, size, "tensor %zu param[%zu]: %s vs %s", t, i, tu_fmt(x, 64, a->dt, a->param[t], i),
                 tu_fmt(y, 64, a->dt, b->param[t], i));
        return buf;
      }
      if (!tu_same_elem(a->dt, a->grad[t], b->grad[t], i)) {
        snprintf(buf, size, "tensor %zu grad[%zu] changed", t, i);
        return buf;
      }
      for (int s = 0; s < optk_nstate(a->k); s++)
        if (!tu_same_elem(a->st, a->state[t][s], b->state[t][s], i)) {
          char x[64], y[64];
          snprintf(buf, size, "tensor %zu state %s[%zu]: %s vs %s", t, optk_state_name(a->k, s), i,
                   tu_fmt(x, 64, a->st, a->state[t][s], i), tu_fmt(y, 64, a->st, b->state[t][s], i));
          return buf;
        }
      if (a->master[t] && b->master[t] && !tu_same_elem(OPTK_F32, a->master[t], b->master[t], i)) {
        snprintf(buf, size, "tensor %zu master[%zu]: %a vs %a", t, i, (double)a->master[t][i],
                 (double)b->master[t][i]);
        return buf;
      }
    }
  }
  return NULL;
}

/* Forces the split: every step goes through the pool at `threads`. */
static void set_threads(int threads)
{
  optk__set_split_min_part_ns(threads > 1 ? 0 : optk__split_default_ns());
  optk_set_num_threads(threads);
}

static void restore_threads(void)
{
  optk__set_split_min_part_ns(optk__split_default_ns());
  optk_set_num_threads(0);
}

/* The thread counts a test tries on ISA number isa_index: 1 and 3 on the
 * best ISA, 1 on the others (the split does not depend on the ISA). */
static int max_threads(int isa_index) { return isa_index == g_nisas - 1 && !tu_slow_threads() ? 3 : 1; }

static void hparams_of(const optk_kernel *k, double *hp)
{
  tu_rng r;
  tu_seed(&r, 7);
  optk_default_hparams(k, hp); /* tu_hparams knows the reference's optimizers only */
  tu_hparams(k, TU_HP_RANDOM, &r, hp);
}

/* ---- the test's own reference step ---------------------------------------
 * The contract's g'' for every element, then the kernel (f32/f64) or the f32
 * twin on converted values with round-to-nearest (16-bit; on master when
 * there is one), through optk_step_isa. */
static double c32(double x) { return (double)(float)x; }

static void ref_step(model *m, const optk_kernel *k32, optk_isa isa, const double *hp, int64_t t,
                     double scale, double coef)
{
  const int wide = m->dt == OPTK_F64;
  const double s = wide ? scale : c32(scale), c = wide ? coef : c32(coef);
  for (size_t ti = 0; ti < m->count; ti++) {
    const size_t n = m->n[ti];
    if (n == 0)
      continue;
    if (m->dt == OPTK_F32 || m->dt == OPTK_F64) {
      void *g = malloc(n * tu_esize(m->dt));
      for (size_t i = 0; i < n; i++) {
        double x = tu_get(m->dt, m->grad[ti], i) * s;
        x = wide ? x : c32(x);
        x = x * c;
        tu_put(m->dt, g, i, wide ? x : c32(x));
      }
      ck_assert_int_eq(optk_step_isa(m->k, isa, n, m->param[ti], g, m->state[ti], hp, t), OPTK_OK);
      free(g);
      continue;
    }
    float *g = malloc(n * sizeof *g), *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) {
      g[i] = (float)((double)(float)(tu_get(m->dt, m->grad[ti], i) * s) * c);
      p[i] = (float)tu_get(m->dt, m->param[ti], i);
    }
    float *w = m->master[ti] ? m->master[ti] : p;
    ck_assert_int_eq(optk_step_isa(k32, isa, n, w, g, m->state[ti], hp, t), OPTK_OK);
    for (size_t i = 0; i < n; i++)
      ((uint16_t *)m->param[ti])[i] = m->dt == OPTK_BF16 ? tu_f32_to_bf16(w[i]) : tu_f32_to_f16(w[i]);
    free(g);
    free(p);
  }
}

/* The norm of the scaled gradients in long double. */
static long double ref_norm(const model *m, double scale)
{
  const int wide = m->dt == OPTK_F64;
  long double sum = 0;
  for (size_t t = 0; t < m->count; t++)
    for (size_t i = 0; i < m->n[t]; i++) {
      double x = tu_get(m->dt, m->grad[t], i) * (wide ? scale : c32(scale));
      x = wide ? x : c32(x);
      sum += (long double)x * x;
    }
  return sqrtl(sum);
}

static int group(model *m, optk_isa isa, const double *hp, int64_t t, const optk_group_opts *o,
                 optk_group_result *res)
{
  return optk__step_group_isa(m->k, isa, m->count, m->ts, hp, t, o, res);
}

/* ---- setup ---------------------------------------------------------------- */

static void setup(void)
{
  if (g_nkernels > 0)
    return;
  for (size_t i = 0; i < optk_count() && g_nkernels < MAX_KERNELS; i++) {
    const optk_kernel *k = optk_at(i);
    struct kentry e = { k, optk_find(optk_name(k), OPTK_F32), "" };
    tu_kernel_label(e.name, sizeof e.name, k);
    g_kernels[g_nkernels++] = e;
    if (optk_dtype_of(k) == OPTK_BF16 || optk_dtype_of(k) == OPTK_F16)
      g_half[g_nhalf++] = e;
  }
  optk_isa chain[OPTK_ISA_COUNT];
  int n = tu_arch_chain(chain);
  for (int i = 0; i < n; i++)
    if (optk_isa_available(chain[i]))
      g_isas[g_nisas++] = chain[i];
}

/* ---- test_noopts ---------------------------------------------------------- */

START_TEST(test_noopts)
{
  const struct kentry *e = &g_kernels[_i];
  double hp[32];
  hparams_of(e->k, hp);
  model a, b, ref;
  model_init(&a, e->k, MAXT, model_sizes, 0, 0);
  model_init(&b, e->k, MAXT, model_sizes, 0, 0);
  model_init(&ref, e->k, MAXT, model_sizes, 0, 0);
  char why[256];
  for (int ii = 0; ii < g_nisas; ii++) {
    const optk_isa isa = g_isas[ii];
    model_fill(&a, 11, 1.0, hp);
    model_copy(&ref, &a);
    for (int64_t t = 1; t <= 3; t++)
      for (size_t ti = 0; ti < MAXT; ti++)
        ck_assert_int_eq(optk_step_isa(e->k, isa, ref.n[ti], ref.param[ti], ref.grad[ti], ref.state[ti], hp, t),
                         OPTK_OK);
    for (int threads = 1; threads <= max_threads(ii); threads += 2) {
      model_copy(&b, &a);
      set_threads(threads);
      for (int64_t t = 1; t <= 3; t++)
        ck_assert_int_eq(group(&b, isa, hp, t, NULL, NULL), OPTK_OK);
      restore_threads();
      const char *d = model_diff(&b, &ref, why, sizeof why);
      ck_assert_msg(d == NULL, "%s %s threads=%d: group != optk_step: %s", e->name, tu_isa_names[isa], threads,
                    d);
    }
  }
  /* the public entry: the active ISA */
  model_fill(&a, 12, 1.0, hp);
  model_copy(&ref, &a);
  for (size_t ti = 0; ti < MAXT; ti++)
    optk_step(e->k, ref.n[ti], ref.param[ti], ref.grad[ti], ref.state[ti], hp, 1);
  ck_assert_int_eq(optk_step_group(e->k, MAXT, a.ts, hp, 1, NULL, NULL), OPTK_OK);
  ck_assert_msg(model_diff(&a, &ref, why, sizeof why) == NULL, "%s: optk_step_group: %s", e->name, why);
  model_free(&a);
  model_free(&b);
  model_free(&ref);
}
END_TEST

/* ---- test_scale ----------------------------------------------------------- */

START_TEST(test_scale)
{
  const struct kentry *e = &g_kernels[_i];
  double hp[32];
  hparams_of(e->k, hp);
  model a, b;
  model_init(&a, e->k, MAXT, model_sizes, 0, 0);
  model_init(&b, e->k, MAXT, model_sizes, 0, 0);
  char why[256];
  for (int ii = 0; ii < g_nisas; ii++) {
    const optk_isa isa = g_isas[ii];
    /* power of two: gradients stored times 2^7 (exact: scaling up loses no
     * bits), unscaled by 2^-7 exactly */
    model_fill(&b, 21, 1.0, hp);
    model_copy(&a, &b);
    for (size_t t = 0; t < MAXT; t++)
      for (size_t i = 0; i < a.n[t]; i++)
        tu_put(a.dt, a.grad[t], i, tu_get(a.dt, a.grad[t], i) * 128.0);
    optk_group_opts o = { 1.0 / 128, 0, 0, 0 };
    ck_assert_int_eq(group(&a, isa, hp, 2, &o, NULL), OPTK_OK);
    ck_assert_int_eq(group(&b, isa, hp, 2, NULL, NULL), OPTK_OK);
    for (size_t t = 0; t < MAXT; t++) /* the grads differ by design: compare the rest */
      if (a.n[t])
        memcpy(a.grad[t], b.grad[t], a.n[t] * tu_esize(a.dt));
    const char *d = model_diff(&a, &b, why, sizeof why);
    ck_assert_msg(d == NULL, "%s %s: scale 2^-7 on 2^7 g != g: %s", e->name, tu_isa_names[isa], d);
    /* any scale: the contract's g' */
    for (int threads = 1; threads <= max_threads(ii); threads += 2) {
      model_fill(&a, 22, 1.0, hp);
      model_fill(&b, 22, 1.0, hp);
      o.grad_scale = 0.3;
      set_threads(threads);
      ck_assert_int_eq(group(&a, isa, hp, 3, &o, NULL), OPTK_OK);
      restore_threads();
      ref_step(&b, e->k32, isa, hp, 3, 0.3, 1.0);
      d = model_diff(&a, &b, why, sizeof why);
      ck_assert_msg(d == NULL, "%s %s threads=%d: scale 0.3: %s", e->name, tu_isa_names[isa], threads, d);
    }
  }
  model_free(&a);
  model_free(&b);
}
END_TEST

/* ---- test_clip ------------------------------------------------------------ */

START_TEST(test_clip)
{
  const struct kentry *e = &g_kernels[_i];
  double hp[32];
  hparams_of(e->k, hp);
  model a, b;
  model_init(&a, e->k, MAXT, model_sizes, 0, 0);
  model_init(&b, e->k, MAXT, model_sizes, 0, 0);
  char why[256];
  static const double max_norms[] = { 0.05, 1e9, INFINITY };
  for (int ii = 0; ii < g_nisas; ii++) {
    const optk_isa isa = g_isas[ii];
    for (size_t mi = 0; mi < sizeof max_norms / sizeof max_norms[0]; mi++) {
      model_fill(&a, 31 + mi, 1.0, hp);
      model_fill(&b, 31 + mi, 1.0, hp);
      const double scale = mi == 0 ? 0.5 : 3.0;
      optk_group_opts o = { scale, max_norms[mi], 1, 0 };
      optk_group_result res = { -1, -1, -1 };
      set_threads(mi == 0 ? max_threads(ii) : 1);
      ck_assert_int_eq(group(&a, isa, hp, 4, &o, &res), OPTK_OK);
      restore_threads();
      const long double want = ref_norm(&b, scale);
      ck_assert_msg(fabsl(res.grad_norm - want) <= 1e-12L * want, "%s %s: norm %.17g, exact %.20Lg", e->name,
                    tu_isa_names[isa], res.grad_norm, want);
      ck_assert_int_eq(res.found_nonfinite, 0);
      ck_assert_int_eq(res.skipped, 0);
      double coef = max_norms[mi] / (res.grad_norm + 1e-6);
      coef = coef < 1.0 ? coef : 1.0;
      ck_assert_msg(mi != 0 || coef < 0.5, "%s: max_norm %g should clip (norm %g)", e->name, max_norms[mi],
                    res.grad_norm);
      ref_step(&b, e->k32, isa, hp, 4, scale, coef);
      const char *d = model_diff(&a, &b, why, sizeof why);
      ck_assert_msg(d == NULL, "%s %s max_norm %g: %s", e->name, tu_isa_names[isa], max_norms[mi], d);
    }
  }
  model_free(&a);
  model_free(&b);
}
END_TEST

/* ---- test_skip ------------------------------------------------------------ */

START_TEST(test_skip)
{
  const struct kentry *e = &g_kernels[_i];
  double hp[32];
  hparams_of(e->k, hp);
  model a, b, orig;
  model_init(&a, e->k, MAXT, model_sizes, 0, 0);
  model_init(&b, e->k, MAXT, model_sizes, 0, 0);
  model_init(&orig, e->k, MAXT, model_sizes, 0, 0);
  model_fill(&orig, 41, 1.0, hp);
  char why[256];
  for (int ii = 0; ii < g_nisas; ii++) {
    const optk_isa isa = g_isas[ii];
    for (int what = 0; what < 4; what++) { /* NaN, +Inf, -Inf, a finite g whose scaled value overflows */
      for (int skip = 0; skip <= 1; skip++) {
        model_copy(&a, &orig);
        const size_t ti = (size_t)(what * 2 + skip) % MAXT == 1 ? 7 : (size_t)(what * 2 + skip) % MAXT;
        const size_t at = a.n[ti] / 2;
        const double bad[] = { NAN, INFINITY, -INFINITY, a.dt == OPTK_F64 ? 1e300 : 60000.0 };
        tu_put(a.dt, a.grad[ti], at, bad[what]);
        model_copy(&b, &a);
        const double scale = what == 3 ? (a.dt == OPTK_F64 ? 1e10 : 1e35) : 1.0;
        optk_group_opts o = { scale, skip ? 1.0 : 0.0, skip, 0 };
        optk_group_result res = { 0, 0, 0 };
        set_threads(what % 2 ? max_threads(ii) : 1);
        ck_assert_int_eq(group(&a, isa, hp, 1, &o, &res), OPTK_OK);
        restore_threads();
        ck_assert_msg(res.found_nonfinite == 1, "%s %s case %d: found_nonfinite %d", e->name, tu_isa_names[isa],
                      what, res.found_nonfinite);
        ck_assert_int_eq(res.skipped, skip);
        if (what == 0)
          ck_assert_msg(isnan(res.grad_norm), "%s: norm %g with a NaN", e->name, res.grad_norm);
        else
          ck_assert_msg(isinf(res.grad_norm) && res.grad_norm > 0, "%s: norm %g with an Inf", e->name,
                        res.grad_norm);
        if (skip) {
          const char *d = model_diff(&a, &b, why, sizeof why);
          ck_assert_msg(d == NULL, "%s %s case %d: skipped step wrote: %s", e->name, tu_isa_names[isa], what, d);
        }
      }
    }
    /* without skip, clipping by an infinite norm as torch: coef 0 */
    model_copy(&a, &orig);
    tu_put(a.dt, a.grad[0], 3, INFINITY);
    model_copy(&b, &a);
    optk_group_opts o = { 1.0, 2.0, 0, 0 };
    ck_assert_int_eq(group(&a, isa, hp, 1, &o, NULL), OPTK_OK);
    ref_step(&b, e->k32, isa, hp, 1, 1.0, 0.0);
    const char *d = model_diff(&a, &b, why, sizeof why);
    ck_assert_msg(d == NULL, "%s %s: clip by an infinite norm: %s", e->name, tu_isa_names[isa], d);
  }
  model_free(&a);
  model_free(&b);
  model_free(&orig);
}
END_TEST

/* ---- test_einval ---------------------------------------------------------- */

START_TEST(test_einval)
{
  const struct kentry *e = &g_kernels[_i];
  const int half = optk_dtype_of(e->k) == OPTK_BF16 || optk_dtype_of(e->k) == OPTK_F16;
  double hp[32];
  hparams_of(e->k, hp);
  model a, b;
  model_init(&a, e->k, MAXT, model_sizes, 1, 0);
  model_init(&b, e->k, MAXT, model_sizes, 1, 0);
  model_fill(&a, 51, 1.0, hp);
  model_copy(&b, &a);
  char why[256];
  const optk_group_opts good = { 0.5, 1.0, 1, 9 };
  optk_tensor ts[MAXT];
  void *st_null[OPTK_MAX_STATE] = { 0 };
  const int nst = optk_nstate(e->k);
  for (int c = 0; c < 14; c++) {
    memcpy(ts, a.ts, sizeof ts);
    if (!half)
      for (size_t t = 0; t < MAXT; t++)
        ts[t].master = NULL;
    optk_group_opts o = good;
    double h[32];
    memcpy(h, hp, sizeof h);
    const optk_kernel *k = e->k;
    const optk_tensor *tp = ts;
    int64_t step = 1;
    const size_t last = MAXT - 1;
    switch (c) {
    case 0: k = NULL; break;
    case 1: tp = NULL; break;
    case 2: ts[last].param = NULL; break;
    case 3: ts[last].grad = NULL; break;
    case 4:
      if (nst == 0)
        continue;
      ts[last].state = NULL;
      break;
    case 5:
      if (nst == 0)
        continue;
      memcpy(st_null, a.state[last], sizeof st_null);
      st_null[nst - 1] = NULL;
      ts[last].state = st_null;
      break;
    case 6: h[0] = NAN; break;
    case 7: /* below or above the first hyperparameter's domain */
      if (isfinite(e->k->hparams[0].lo))
        h[0] = e->k->hparams[0].lo - 1.0;
      else if (isfinite(e->k->hparams[0].hi))
        h[0] = e->k->hparams[0].hi + 1.0;
      else
        continue;
      break;
    case 8: step = 0; break;
    case 9:
      if (half)
        continue;
      ts[last].master = (float *)a.param[last]; /* a master for an f32/f64 kernel */
      break;
    case 10: o.grad_scale = NAN; break;
    case 11: o.grad_scale = INFINITY; break;
    case 12: o.max_grad_norm = NAN; break;
    case 13:
      if (optk_dtype_of(e->k) == OPTK_F64)
        continue;
      o.grad_scale = 1e39; /* not finite in f32 */
      break;
    }
    optk_group_result res = { 7, 7, 7 };
    const int rc = optk_step_group(k, MAXT, tp, h, step, &o, &res);
    ck_assert_msg(rc == OPTK_EINVAL, "%s case %d: returned %d", e->name, c, rc);
    const char *d = model_diff(&a, &b, why, sizeof why);
    ck_assert_msg(d == NULL, "%s case %d: refused call wrote: %s", e->name, c, d);
  }
  /* nothing to do is fine; so are n = 0 tensors with NULL arrays */
  ck_assert_int_eq(optk_step_group(e->k, 0, NULL, hp, 1, &good, NULL), OPTK_OK);
  optk_tensor empty = { 0, NULL, NULL, NULL, NULL };
  optk_group_result res = { 7, 7, 7 };
  ck_assert_int_eq(optk_step_group(e->k, 1, &empty, hp, 1, &good, &res), OPTK_OK);
  ck_assert(res.grad_norm == 0.0 && res.found_nonfinite == 0 && res.skipped == 0);
  model_free(&a);
  model_free(&b);
}
END_TEST

/* ---- test_guard ------------------------------------------------------------ */

START_TEST(test_guard)
{
  const struct kentry *e = &g_kernels[_i];
  const int half = optk_dtype_of(e->k) == OPTK_BF16 || optk_dtype_of(e->k) == OPTK_F16;
  double hp[32];
  hparams_of(e->k, hp);
  static const size_t sizes[3] = { 77, 3000, OPTK_RSUM_BLOCK + 13 };
  for (int with_master = 0; with_master <= half; with_master++) {
    model a;
    model_init(&a, e->k, 3, sizes, with_master, 1);
    model_fill(&a, 61, 1.0, hp);
    const optk_group_opts opts[] = { { 1, 0, 0, 0 }, { 0.25, 0.01, 1, 0 }, { 2.0, 0, 0, 5 } };
    for (int ii = 0; ii < g_nisas; ii++)
      for (int threads = 1; threads <= max_threads(ii); threads += 2) {
        set_threads(threads);
        ck_assert_int_eq(group(&a, g_isas[ii], hp, 1, NULL, NULL), OPTK_OK);
        for (int oi = 0; oi < 3; oi++) {
          optk_group_result res;
          ck_assert_int_eq(group(&a, g_isas[ii], hp, 2 + oi, &opts[oi], &res), OPTK_OK);
        }
        restore_threads();
      }
    model_free(&a);
  }
}
END_TEST

/* ---- test_via32 ------------------------------------------------------------ */

START_TEST(test_via32)
{
  const struct kentry *e = &g_half[_i];
  ck_assert_msg(e->k32 != NULL, "%s: no f32 kernel of %s", e->name, optk_name(e->k));
  double hp[32];
  hparams_of(e->k, hp);
  const size_t n = 1000;
  tu_prob pr, q;
  tu_prob_init(&pr, e->k, n, 0, 0);
  tu_prob_init(&q, e->k32, n, 0, 0);
  for (int cls = 0; cls < TU_VAL_NCLASSES; cls++)
    for (int ii = 0; ii < g_nisas; ii++) {
      tu_rng r;
      tu_seed(&r, 71 + (uint64_t)cls);
      tu_prob_fill(&pr, cls, &r);
      for (int a = 0; a < pr.narr; a++)
        for (size_t i = 0; i < n; i++)
          tu_put_bits(tu_arr_type(&q, a), q.arr[a], i,
                      a < 2 ? tu_f32_bits((float)tu_get(pr.dt, pr.arr[a], i)) : tu_get_bits(pr.st, pr.arr[a], i));
      ck_assert_int_eq(tu_prob_step(&pr, g_isas[ii], hp, 5), OPTK_OK);
      ck_assert_int_eq(tu_prob_step(&q, g_isas[ii], hp, 5), OPTK_OK);
      for (size_t i = 0; i < n; i++) {
        const float w = tu_bits_f32((uint32_t)tu_get_bits(OPTK_F32, q.arr[0], i));
        const uint16_t want = pr.dt == OPTK_BF16 ? tu_f32_to_bf16(w) : tu_f32_to_f16(w);
        const uint16_t got = ((uint16_t *)pr.arr[0])[i];
        CHECK(got == want || (tu_is_nan_bits(pr.dt, got) && tu_is_nan_bits(pr.dt, want)),
                      "%s %s class %s: param[%zu] 0x%04x, f32 kernel then RNE 0x%04x", e->name,
                      tu_isa_names[g_isas[ii]], tu_val_names[cls], i, ((uint16_t *)pr.arr[0])[i], want);
        for (int s = 2; s < pr.narr; s++)
          CHECK(tu_same_elem(OPTK_F32, pr.arr[s], q.arr[s], i), "%s %s: state %d [%zu] differs",
                        e->name, tu_isa_names[g_isas[ii]], s - 2, i);
      }
    }
  tu_prob_free(&pr);
  tu_prob_free(&q);
}
END_TEST

/* ---- test_master ------------------------------------------------------------ */

START_TEST(test_master)
{
  const struct kentry *e = &g_half[_i];
  double hp[32];
  hparams_of(e->k, hp);
  model a, b;
  model_init(&a, e->k, MAXT, model_sizes, 1, 0);
  model_init(&b, e->k, MAXT, model_sizes, 1, 0);
  char why[256];
  for (int ii = 0; ii < g_nisas; ii++) {
    const optk_isa isa = g_isas[ii];
    for (int with_opts = 0; with_opts <= 1; with_opts++) {
      model_fill(&a, 81, 1.0, hp);
      model_copy(&b, &a);
      optk_group_opts o = { 0.5, 0.02, 1, 1234 }; /* sr_seed ignored: masters are rounded to nearest */
      optk_group_result res;
      set_threads(with_opts ? max_threads(ii) : 1);
      ck_assert_int_eq(group(&a, isa, hp, 6, with_opts ? &o : NULL, &res), OPTK_OK);
      restore_threads();
      double coef = 1.0;
      if (with_opts) {
        coef = o.max_grad_norm / (res.grad_norm + 1e-6);
        coef = coef < 1 ? coef : 1;
      }
      ref_step(&b, e->k32, isa, hp, 6, with_opts ? 0.5 : 1.0, coef);
      const char *d = model_diff(&a, &b, why, sizeof why);
      ck_assert_msg(d == NULL, "%s %s opts=%d: %s", e->name, tu_isa_names[isa], with_opts, d);
    }
  }
  model_free(&a);
  model_free(&b);
}
END_TEST

/* ---- test_sr ------------------------------------------------------------------ */

/* Whether h (16-bit storage d) is one of the two neighbours of w. */
static int is_neighbour(optk_dtype d, uint16_t h, float w)
{
  const double v = d == OPTK_BF16 ? tu_bf16_to_f32(h) : tu_f16_to_f32(h);
  if (isnan(w))
    return isnan(v);
  const double rne = tu_round_to(d, w);
  if (rne == (double)w || isinf(w))
    return v == (double)w;
  if (isinf(v)) /* only beyond the largest finite value */
    return fabs((double)w) > (d == OPTK_BF16 ? 0x1.fep127 : 65504.0) && (v > 0) == (w > 0);
  return fabs(v - (double)w) < tu_ulp(d, w);
}

START_TEST(test_sr)
{
  const struct kentry *e = &g_half[_i];
  double hp[32];
  hparams_of(e->k, hp);
  model a, b, ref;
  model_init(&a, e->k, MAXT, model_sizes, 0, 0);
  model_init(&b, e->k, MAXT, model_sizes, 0, 0);
  model_init(&ref, e->k, MAXT, model_sizes, 0, 0);
  char why[256];
  const optk_group_opts o = { 1.0, 0, 0, 0x5eed };
  model_fill(&a, 91, 1.0, hp);
  model_copy(&ref, &a);
  /* the f32 results, from the f32 twin on converted values */
  float *w[MAXT];
  for (size_t t = 0; t < MAXT; t++) {
    w[t] = malloc((a.n[t] + 1) * sizeof(float));
    float *g = malloc((a.n[t] + 1) * sizeof(float));
    for (size_t i = 0; i < a.n[t]; i++) {
      w[t][i] = (float)tu_get(a.dt, a.param[t], i);
      g[i] = (float)tu_get(a.dt, a.grad[t], i);
    }
    ck_assert_int_eq(optk_step(e->k32, a.n[t], w[t], g, ref.state[t], hp, 3), OPTK_OK);
    free(g);
  }
  int first = 1;
  /* Unbiasedness: each inexact w rounds to hi with probability q = (w - lo)
   * / (hi - lo), so e = (v - w) / (hi - lo) has mean 0 and variance
   * q (1 - q); their sum must lie within a few standard deviations of 0.
   * (A count of values rounded up would say nothing where the update is
   * small against the 16-bit spacing: those almost all round back.)  mid
   * counts values with q in [0.1, 0.9], whose bits depend on the seed. */
  double esum = 0, evar = 0;
  size_t inexact = 0, mid = 0;
  for (int ii = 0; ii < g_nisas; ii++)
    for (int threads = 1; threads <= max_threads(ii); threads += 2) {
      model_copy(&b, &a);
      set_threads(threads);
      ck_assert_int_eq(group(&b, g_isas[ii], hp, 3, &o, NULL), OPTK_OK);
      restore_threads();
      if (first) {
        for (size_t t = 0; t < MAXT; t++)
          for (size_t i = 0; i < a.n[t]; i++) {
            const uint16_t h = ((uint16_t *)b.param[t])[i];
            CHECK(is_neighbour(a.dt, h, w[t][i]), "%s: tensor %zu [%zu]: 0x%04x is no neighbour of %a",
                          e->name, t, i, h, (double)w[t][i]);
            for (int s = 0; s < optk_nstate(e->k); s++)
              CHECK(tu_same_elem(OPTK_F32, b.state[t][s], ref.state[t][s], i),
                            "%s: tensor %zu state %d [%zu] differs from the f32 kernel's", e->name, t, s, i);
            const double v = a.dt == OPTK_BF16 ? tu_bf16_to_f32(h) : tu_f16_to_f32(h), x = w[t][i];
            if (v != x && v != 0 && isfinite(v) && isfinite(x)) {
              /* the other neighbour: one step toward x in magnitude */
              const uint16_t oh = (uint16_t)(fabs(v) > fabs(x) ? h - 1 : h + 1);
              const double o = a.dt == OPTK_BF16 ? tu_bf16_to_f32(oh) : tu_f16_to_f32(oh);
              const double lo = v < o ? v : o, hi = v < o ? o : v, q = (x - lo) / (hi - lo);
              inexact++;
              esum += (v - x) / (hi - lo);
              evar += q * (1 - q);
              mid += q >= 0.1 && q <= 0.9;
            }
          }
        model_copy(&ref, &b);
        first = 0;
        continue;
      }
      const char *d = model_diff(&b, &ref, why, sizeof why);
      ck_assert_msg(d == NULL, "%s %s threads=%d: stochastic rounding differs: %s", e->name,
                    tu_isa_names[g_isas[ii]], threads, d);
    }
  ck_assert_msg(inexact > 100 && fabs(esum) <= 5 * sqrt(evar) + 1,
                "%s: rounding error sums to %g spacings over %zu inexact values (standard deviation %g)", e->name,
                esum, inexact, sqrt(evar));
  /* the same elements split differently: one tensor of everything (not for
   * a two-phase kernel, whose norms are per tensor) */
  if (e->k->nnorms == 0) {
    size_t total = 0;
    for (size_t t = 0; t < MAXT; t++)
      total += a.n[t];
    model one;
    model_init(&one, e->k, 1, &total, 0, 0);
    for (size_t t = 0, at = 0; t < MAXT; at += a.n[t], t++) {
      for (size_t i = 0; i < a.n[t]; i++) {
        tu_put_bits(a.dt, one.param[0], at + i, tu_get_bits(a.dt, a.param[t], i));
        tu_put_bits(a.dt, one.grad[0], at + i, tu_get_bits(a.dt, a.grad[t], i));
        for (int s = 0; s < optk_nstate(e->k); s++)
          tu_put_bits(a.st, one.state[0][s], at + i, tu_get_bits(a.st, a.state[t][s], i));
      }
    }
    ck_assert_int_eq(group(&one, g_isas[g_nisas - 1], hp, 3, &o, NULL), OPTK_OK);
    for (size_t t = 0, at = 0; t < MAXT; at += a.n[t], t++)
      for (size_t i = 0; i < a.n[t]; i++)
        CHECK(tu_same_elem(a.dt, (const char *)one.param[0] + at * tu_esize(a.dt), ref.param[t], i),
                      "%s: one tensor vs %d: element %zu differs: 0x%04llx vs 0x%04llx (f32 %a)", e->name, MAXT,
                      at + i, (unsigned long long)tu_get_bits(a.dt, one.param[0], at + i),
                      (unsigned long long)tu_get_bits(a.dt, ref.param[t], i), (double)w[t][i]);
    model_free(&one);
  }
  /* another seed, another t: other bits */
  optk_group_opts o2 = o;
  o2.sr_seed = 0x5eee;
  model_copy(&b, &a);
  ck_assert_int_eq(group(&b, g_isas[0], hp, 3, &o2, NULL), OPTK_OK);
  if (mid >= 64) /* else nearly every value rounds one way whatever the seed */
    ck_assert_msg(model_diff(&b, &ref, why, sizeof why) != NULL, "%s: seed ignored", e->name);
  for (size_t t = 0; t < MAXT; t++)
    free(w[t]);
  model_free(&a);
  model_free(&b);
  model_free(&ref);
}
END_TEST

/* ---- test_sr_unbiased ---------------------------------------------------------- */

/* sgd with lr = 1 stores round(p - g): p = 1, g = -frac * ulp(1) puts the f32
 * result frac of the way from 1 to the next value up. */
START_TEST(test_sr_unbiased)
{
  static const optk_dtype dts[2] = { OPTK_BF16, OPTK_F16 };
  static const double fracs[] = { 0.5, 0.125, 0.9, 1.0 / 256, 0.3 };
  const optk_dtype d = dts[_i];
  const optk_kernel *k = optk_find("sgd", d);
  ck_assert(k != NULL);
  const double ulp = d == OPTK_BF16 ? 0x1p-7 : 0x1p-10;
  const size_t n = 40000;
  uint16_t *p = malloc(n * 2), *g = malloc(n * 2);
  const double hp[1] = { 1.0 };
  for (size_t fi = 0; fi < sizeof fracs / sizeof fracs[0]; fi++) {
    for (size_t i = 0; i < n; i++) {
      tu_put(d, p, i, 1.0);
      tu_put(d, g, i, -fracs[fi] * ulp);
    }
    const double frac = -tu_get(d, g, 0) / ulp; /* as stored */
    optk_tensor ts = { n, p, g, NULL, NULL };
    const optk_group_opts o = { 1.0, 0, 0, 0xabcdef + fi };
    ck_assert_int_eq(optk_step_group(k, 1, &ts, hp, 1, &o, NULL), OPTK_OK);
    size_t up = 0;
    for (size_t i = 0; i < n; i++) {
      const double v = tu_get(d, p, i);
      CHECK(v == 1.0 || v == 1.0 + ulp, "%s frac %g: %g is no neighbour", tu_dtype_name(d), frac, v);
      up += v > 1.0;
    }
    const double mean = (double)up / (double)n, sd = sqrt(frac * (1 - frac) / (double)n);
    ck_assert_msg(fabs(mean - frac) <= 6 * sd + 1e-12, "%s: fraction %g rounded up %g of the time (sd %g)",
                  tu_dtype_name(d), frac, mean, sd);
  }
  free(p);
  free(g);
}
END_TEST

/* ---- test_norm_repro -------------------------------------------------------------- */

/* Gradient element i of a stream with magnitudes spread over a wide range. */
static double wide_value(tu_rng *r, optk_dtype d)
{
  const double u = tu_normal(r);
  const int spread = d == OPTK_F64 ? 600 : 60;
  const int e = (int)tu_below(r, 2 * spread + 1) - spread;
  double x = ldexp(u, e);
  if (tu_below(r, 50) == 0)
    x = d == OPTK_F64 ? ldexp(u, 1000) : ldexp(u, 123); /* near the top of the range */
  if (tu_below(r, 50) == 0)
    x = d == OPTK_F64 ? 4.9e-324 * (double)tu_below(r, 1000) : 1.4e-45 * (double)tu_below(r, 1000);
  return x;
}

START_TEST(test_norm_repro)
{
  static const optk_dtype dts[2] = { OPTK_F32, OPTK_F64 };
  const optk_dtype d = dts[_i];
  const optk_kernel *k = optk_find("sgd", d);
  ck_assert(k != NULL);
  const size_t n = 3 * OPTK_RSUM_BLOCK + 777;
  const size_t es = tu_esize(d);
  unsigned char *g = malloc(n * es), *p = calloc(n, es);
  const double hp[1] = { 0.0 };
  for (int dataset = 0; dataset < 3; dataset++) {
    tu_rng r;
    tu_seed(&r, 101 + (uint64_t)dataset);
    long double exact = 0;
    for (size_t i = 0; i < n; i++) {
      double x = dataset == 2 ? tu_normal(&r) : wide_value(&r, d);
      if (dataset == 1 && i % 5 == 0)
        x = 0;
      tu_put(d, g, i, x);
      const long double v = tu_get(d, g, i);
      exact += v * v;
    }
    exact = sqrtl(exact);
    double first = -1;
    for (int split = 0; split < 5; split++) {
      optk_tensor ts[64];
      size_t count = 0, at = 0;
      tu_rng sr;
      tu_seed(&sr, (uint64_t)split);
      while (at < n && count < 64) {
        size_t len = split == 0 ? n : split == 1 ? 1 : split == 2 ? 1 + tu_below(&sr, 3000) : 64 * (1 + tu_below(&sr, 40));
        if (count == 63 || len > n - at)
          len = n - at;
        ts[count++] = (optk_tensor){ len, p + at * es, g + at * es, NULL, NULL };
        at += len;
      }
      for (int ii = 0; ii < g_nisas; ii++)
        for (int threads = 1; threads <= (tu_slow_threads() ? 1 : 4); threads++) {
          optk_group_result res;
          set_threads(threads);
          ck_assert_int_eq(optk__step_group_isa(k, g_isas[ii], count, ts, hp, 1, NULL, &res), OPTK_OK);
          restore_threads();
          if (first < 0) {
            first = res.grad_norm;
            ck_assert_msg(fabsl(first - exact) <= 1e-12L * exact, "%s set %d: norm %.17g, exact %.21Lg",
                          tu_dtype_name(d), dataset, first, exact);
          }
          ck_assert_msg(memcmp(&first, &res.grad_norm, sizeof first) == 0,
                        "%s set %d split %d (%zu tensors) %s threads %d: norm %a, first %a", tu_dtype_name(d),
                        dataset, split, count, tu_isa_names[g_isas[ii]], threads, res.grad_norm, first);
        }
    }
  }
  /* a scale moves the norm by exactly the power of two */
  optk_tensor one = { n, p, g, NULL, NULL };
  optk_group_result r1, r2;
  optk_group_opts o = { 0x1p-20, 0, 0, 0 };
  ck_assert_int_eq(optk_step_group(k, 1, &one, hp, 1, NULL, &r1), OPTK_OK);
  ck_assert_int_eq(optk_step_group(k, 1, &one, hp, 1, &o, &r2), OPTK_OK);
  ck_assert_msg(r2.grad_norm == ldexp(r1.grad_norm, -20), "%a vs %a", r2.grad_norm, r1.grad_norm);
  free(g);
  free(p);
}
END_TEST

Suite *group_suite(void)
{
  setup();
  Suite *s = suite_create("group");
  struct {
    const char *name;
    const TTest *fn;
    int half;
  } cases[] = {
    { "noopts", test_noopts, 0 }, { "scale", test_scale, 0 },   { "clip", test_clip, 0 },
    { "skip", test_skip, 0 },     { "einval", test_einval, 0 }, { "guard", test_guard, 0 },
    { "via32", test_via32, 1 },   { "master", test_master, 1 }, { "sr", test_sr, 1 },
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    TCase *tc = tcase_create(cases[c].name);
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, cases[c].fn, 0, cases[c].half ? g_nhalf : g_nkernels);
    suite_add_tcase(s, tc);
  }
  TCase *tc = tcase_create("norm");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, test_norm_repro, 0, 2);
  tcase_add_loop_test(tc, test_sr_unbiased, 0, 2);
  suite_add_tcase(s, tc);
  return s;
}
