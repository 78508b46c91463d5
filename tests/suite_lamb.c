/* lamb: the two-phase kernel (per-tensor norms; generator/lib/optgen/
 * phases.lua, runtime/two_phase.c), in every storage type:
 *   - the same bits on every ISA of this CPU and at 1, 2 and 3 threads (the
 *     split forced), several blocks per part;
 *   - optk_step_group with no options gives optk_step's bits per tensor;
 *   - the group's scale, clipping, master weights and stochastic rounding
 *     as the f32 kernel on the transformed gradient;
 *   - against the formula in long double (Keras 3's
 *     keras/src/optimizers/lamb.py, update_step), one step at a time, within
 *     a bound; the cases where the ratio is 1 (p = 0, update = 0, a NaN norm);
 *   - refused arguments and a failed allocation write nothing.
 * The IR interpreter (suite_reference) has no program for a two-phase
 * kernel; the long-double reference here stands in for it. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef struct {
  optk_dtype dt, st;
  size_t n;
  void *p, *g, *m, *v;
  float *master;
  void *state[2];
} lt;

static void lt_init(lt *a, optk_dtype dt, size_t n, int master)
{
  a->dt = dt;
  a->st = tu_state_type(dt);
  a->n = n;
  a->p = calloc(n + 1, tu_esize(dt));
  a->g = calloc(n + 1, tu_esize(dt));
  a->m = calloc(n + 1, tu_esize(a->st));
  a->v = calloc(n + 1, tu_esize(a->st));
  a->master = master ? calloc(n + 1, sizeof(float)) : NULL;
  ck_assert(a->p && a->g && a->m && a->v && (!master || a->master));
  a->state[0] = a->m;
  a->state[1] = a->v;
}

static void lt_free(lt *a)
{
  free(a->p);
  free(a->g);
  free(a->m);
  free(a->v);
  free(a->master);
}

static void lt_copy(lt *d, const lt *s)
{
  lt_init(d, s->dt, s->n, s->master != NULL);
  memcpy(d->p, s->p, s->n * tu_esize(s->dt));
  memcpy(d->g, s->g, s->n * tu_esize(s->dt));
  memcpy(d->m, s->m, s->n * tu_esize(s->st));
  memcpy(d->v, s->v, s->n * tu_esize(s->st));
  if (s->master)
    memcpy(d->master, s->master, s->n * sizeof(float));
}

/* Training-like values: p ~ 0.5 N(0,1), g ~ 0.01 N(0,1), m and v as after a
 * few steps; master holds p exactly. */
static void lt_fill(lt *a, tu_rng *r)
{
  for (size_t i = 0; i < a->n; i++) {
    tu_put(a->dt, a->p, i, 0.5 * tu_normal(r));
    tu_put(a->dt, a->g, i, 0.01 * tu_normal(r));
    tu_put(a->st, a->m, i, 1e-3 * tu_normal(r));
    tu_put(a->st, a->v, i, 1e-4 * fabs(tu_normal(r)));
    if (a->master)
      a->master[i] = (float)tu_get(a->dt, a->p, i);
  }
}

/* NULL if a and b hold the same bits, else where they differ. */
static const char *lt_diff(const lt *a, const lt *b, char *buf, size_t size)
{
  const void *x[4] = { a->p, a->m, a->v, a->master }, *y[4] = { b->p, b->m, b->v, b->master };
  const optk_dtype ty[4] = { a->dt, a->st, a->st, OPTK_F32 };
  const char *nm[4] = { "p", "m", "v", "master" };
  for (int k = 0; k < 4; k++) {
    if (x[k] == NULL || y[k] == NULL)
      continue;
    for (size_t i = 0; i < a->n; i++)
      if (!tu_same_elem(ty[k], x[k], y[k], i)) {
        char s1[64], s2[64];
        snprintf(buf, size, "%s[%zu]: %s vs %s", nm[k], i, tu_fmt(s1, sizeof s1, ty[k], x[k], i),
                 tu_fmt(s2, sizeof s2, ty[k], y[k], i));
        return buf;
      }
  }
  return NULL;
}

static const optk_dtype dts[4] = { OPTK_F32, OPTK_F64, OPTK_BF16, OPTK_F16 };

static const optk_kernel *lamb(optk_dtype dt)
{
  const optk_kernel *k = optk_find("lamb", dt);
  ck_assert_msg(k != NULL && k->nnorms == 2, "no two-phase lamb kernel");
  return k;
}

static void hparams(const optk_kernel *k, double *hp)
{
  optk_default_hparams(k, hp);
  hp[0] = 0.01; /* lr: steps well above the 16-bit spacing */
}

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

/* qemu-user: one thread (tests/aarch64.sh sets OPTK_TEST_SLOW_THREADS). */
static int most_threads(void) { return tu_slow_threads() ? 1 : 3; }

static int step(const optk_kernel *k, int isa, lt *a, const double *hp, int64_t t)
{
  return isa < 0 ? optk_step(k, a->n, a->p, a->g, a->state, hp, t)
                 : optk_step_isa(k, (optk_isa)isa, a->n, a->p, a->g, a->state, hp, t);
}

/* ---- bits: ISAs and threads --------------------------------------------- */

START_TEST(test_isas_threads)
{
  const optk_kernel *k = lamb(dts[_i]);
  double hp[OPTK_MAX_HPARAMS];
  hparams(k, hp);
  tu_rng r;
  tu_seed(&r, 0x1a3b00ull + (uint64_t)_i);
  lt a, ref;
  lt_init(&a, dts[_i], 9001, 0); /* 3 parts of 3008: two blocks each */
  lt_fill(&a, &r);
  lt_copy(&ref, &a);
  set_threads(1);
  for (int64_t t = 1; t <= 3; t++)
    ck_assert_int_eq(step(k, OPTK_ISA_SCALAR, &ref, hp, t), OPTK_OK);
  int tried = 0;
  for (int isa = 0; isa < OPTK_ISA_COUNT; isa++) {
    if (!optk_isa_available((optk_isa)isa) || k->impl[isa] == NULL)
      continue;
    for (int th = 1; th <= most_threads(); th++) {
      lt b;
      lt_copy(&b, &a);
      set_threads(th);
      for (int64_t t = 1; t <= 3; t++)
        ck_assert_int_eq(step(k, isa, &b, hp, t), OPTK_OK);
      char why[200];
      const char *d = lt_diff(&b, &ref, why, sizeof why);
      ck_assert_msg(d == NULL, "lamb_%s %s at %d threads vs scalar at 1: %s", tu_dtype_name(dts[_i]),
                    tu_isa_names[isa], th, d);
      lt_free(&b);
      tried++;
    }
  }
  restore_threads();
  ck_assert_int_gt(tried, 0);
  lt_free(&a);
  lt_free(&ref);
}
END_TEST

/* ---- the group ---------------------------------------------------------- */

#define NT 3
static const size_t tsizes[NT] = { 1, 300, 4100 };

static void tensors_of(lt *ls, optk_tensor *ts)
{
  for (int i = 0; i < NT; i++)
    ts[i] = (optk_tensor){ ls[i].n, ls[i].p, ls[i].g, ls[i].state, ls[i].master };
}

START_TEST(test_group_plain)
{
  const optk_kernel *k = lamb(dts[_i]);
  double hp[OPTK_MAX_HPARAMS];
  hparams(k, hp);
  tu_rng r;
  tu_seed(&r, 0x1a3c00ull + (uint64_t)_i);
  lt a[NT], b[NT];
  for (int i = 0; i < NT; i++) {
    lt_init(&a[i], dts[_i], tsizes[i], 0);
    lt_fill(&a[i], &r);
  }
  for (int th = 1; th <= most_threads(); th += 2) {
    for (int i = 0; i < NT; i++)
      lt_copy(&b[i], &a[i]);
    set_threads(th);
    optk_tensor ts[NT];
    tensors_of(b, ts);
    for (int64_t t = 1; t <= 2; t++) {
      ck_assert_int_eq(optk_step_group(k, NT, ts, hp, t, NULL, NULL), OPTK_OK);
      for (int i = 0; i < NT; i++)
        ck_assert_int_eq(step(k, -1, &a[i], hp, t), OPTK_OK);
    }
    for (int i = 0; i < NT; i++) {
      char why[200];
      const char *d = lt_diff(&b[i], &a[i], why, sizeof why);
      ck_assert_msg(d == NULL, "lamb_%s: group (%d threads) vs optk_step, tensor %d: %s", tu_dtype_name(dts[_i]), th,
                    i, d);
      lt_free(&b[i]);
    }
  }
  restore_threads();
  for (int i = 0; i < NT; i++)
    lt_free(&a[i]);
}
END_TEST

/* Scale 0.5, clipping to a tenth of the norm, skip_nonfinite, and for
 * 16-bit kernels a master on tensors 0 and 2 and stochastic rounding on
 * tensor 1: each tensor as the f32 (f64) kernel stepping on (g * s) * c. */
START_TEST(test_group_transforms)
{
  const optk_dtype dt = dts[_i];
  const int half = dt == OPTK_BF16 || dt == OPTK_F16;
  const optk_kernel *k = lamb(dt), *kc = lamb(dt == OPTK_F64 ? OPTK_F64 : OPTK_F32);
  double hp[OPTK_MAX_HPARAMS];
  hparams(k, hp);
  tu_rng r;
  tu_seed(&r, 0x1a3d00ull + (uint64_t)_i);
  lt a[NT], e[NT];
  for (int i = 0; i < NT; i++) {
    lt_init(&a[i], dt, tsizes[i], half && i != 1);
    lt_fill(&a[i], &r);
  }
  optk_group_result res;
  optk_tensor ts[NT];
  tensors_of(a, ts);
  /* the norm of the scaled gradients, from a first call that writes nothing */
  optk_group_opts probe = { 0.5, 0, 1, 0 };
  double zero_lr[OPTK_MAX_HPARAMS];
  memcpy(zero_lr, hp, sizeof zero_lr);
  zero_lr[0] = 0;
  lt saved[NT];
  for (int i = 0; i < NT; i++)
    lt_copy(&saved[i], &a[i]);
  ck_assert_int_eq(optk_step_group(k, NT, ts, zero_lr, 1, &probe, &res), OPTK_OK);
  for (int i = 0; i < NT; i++) { /* lr = 0 moved the state: start again */
    lt_free(&a[i]);
    lt_copy(&a[i], &saved[i]);
    lt_free(&saved[i]);
  }
  tensors_of(a, ts);
  ck_assert(res.grad_norm > 0 && isfinite(res.grad_norm));
  const optk_group_opts o = { 0.5, 0.1 * res.grad_norm, 1, half ? 0x5eedull : 0 };
  for (int i = 0; i < NT; i++) {
    /* the expected: the compute-type kernel on f32/f64 copies */
    lt_init(&e[i], dt == OPTK_F64 ? OPTK_F64 : OPTK_F32, tsizes[i], 0);
    for (size_t j = 0; j < tsizes[i]; j++) {
      tu_put(e[i].dt, e[i].p, j, a[i].master ? a[i].master[j] : tu_get(dt, a[i].p, j));
      tu_put(e[i].st, e[i].m, j, tu_get(a[i].st, a[i].m, j));
      tu_put(e[i].st, e[i].v, j, tu_get(a[i].st, a[i].v, j));
    }
  }
  ck_assert_int_eq(optk_step_group(k, NT, ts, hp, 3, &o, &res), OPTK_OK);
  ck_assert(!res.skipped && !res.found_nonfinite);
  const double coef = fmin(1.0, o.max_grad_norm / (res.grad_norm + 1e-6));
  ck_assert(coef < 0.2);
  /* the gradient the kernel sees, g'' = (g * s) * c in the compute type;
   * the inputs are the values before the call (saved in e and a's grad,
   * which the group never writes) */
  for (int i = 0; i < NT; i++)
    for (size_t j = 0; j < tsizes[i]; j++) {
      if (dt == OPTK_F64)
        ((double *)e[i].g)[j] = (((const double *)a[i].g)[j] * o.grad_scale) * coef;
      else
        ((float *)e[i].g)[j] = ((float)tu_get(dt, a[i].g, j) * (float)o.grad_scale) * (float)coef;
    }
  for (int i = 0; i < NT; i++) {
    ck_assert_int_eq(step(kc, -1, &e[i], hp, 3), OPTK_OK);
    for (size_t j = 0; j < tsizes[i]; j++) {
      ck_assert_msg(tu_same_elem(e[i].st, e[i].m, a[i].m, j) && tu_same_elem(e[i].st, e[i].v, a[i].v, j),
                    "lamb_%s tensor %d [%zu]: state differs from the %s kernel's", tu_dtype_name(dt), i, j,
                    tu_dtype_name(e[i].dt));
      const double x = tu_get(e[i].dt, e[i].p, j), got = tu_get(dt, a[i].p, j);
      if (!half) {
        ck_assert_msg(tu_same_elem(dt, e[i].p, a[i].p, j), "lamb_%s tensor %d: p[%zu] %a vs %a",
                      tu_dtype_name(dt), i, j, got, x);
      } else if (a[i].master) {
        ck_assert_msg(a[i].master[j] == (float)x, "lamb_%s tensor %d: master[%zu] %a vs %a", tu_dtype_name(dt), i,
                      j, (double)a[i].master[j], x);
        ck_assert_msg(got == tu_round_to(dt, x), "lamb_%s tensor %d: p[%zu] %a is not RNE(%a)", tu_dtype_name(dt),
                      i, j, got, x);
      } else { /* stochastic rounding: one of the two neighbours */
        ck_assert_msg(fabs(got - x) < tu_ulp(dt, x), "lamb_%s tensor %d: p[%zu] %a is no neighbour of %a",
                      tu_dtype_name(dt), i, j, got, x);
      }
    }
  }
  for (int i = 0; i < NT; i++) {
    lt_free(&a[i]);
    lt_free(&e[i]);
  }
}
END_TEST

/* ---- the formula in long double ----------------------------------------- */

enum { REF_RANDOM, REF_P_ZERO, REF_P_NAN, REF_G_INF, REF_NCASES };
static const char *const ref_names[REF_NCASES] = { "random", "p = 0", "NaN in p", "Inf in g" };

/* One step checked against Keras's update_step in long double: m and v from
 * the values before; the update from the kernel's own new m and v (so that
 * a cancellation in m cannot hide the rest); both norms, the ratio as
 * ops.where(w > 0, ops.where(u > 0, w / u, 1), 1), p - ratio * lr * update. */
static void check_ref_step(const optk_kernel *k, int isa, lt *a, const double *hp, int64_t t, const char *what)
{
  const optk_dtype dt = a->dt, st = a->st;
  const size_t n = a->n;
  const long double lr = hp[0], b1 = hp[1], b2 = hp[2], eps = hp[3];
  const double ce = dt == OPTK_F64 ? DBL_EPSILON : FLT_EPSILON;
  long double *p0 = malloc(n * sizeof *p0), *g = malloc(n * sizeof *g), *m0 = malloc(n * sizeof *m0),
              *v0 = malloc(n * sizeof *v0), *u = malloc(n * sizeof *u);
  ck_assert(p0 && g && m0 && v0 && u);
  for (size_t i = 0; i < n; i++) {
    p0[i] = tu_get(dt, a->p, i);
    g[i] = tu_get(dt, a->g, i);
    m0[i] = tu_get(st, a->m, i);
    v0[i] = tu_get(st, a->v, i);
  }
  ck_assert_int_eq(step(k, isa, a, hp, t), OPTK_OK);
  const long double c1 = 1 - powl(b1, (long double)t), c2 = 1 - powl(b2, (long double)t);
  long double wn = 0, un = 0;
  for (size_t i = 0; i < n; i++) {
    const long double m = tu_get(st, a->m, i), v = tu_get(st, a->v, i);
    const long double me = m0[i] + (g[i] - m0[i]) * (1 - b1), ve = v0[i] + (g[i] * g[i] - v0[i]) * (1 - b2);
    if (isfinite(me) && isfinite(ve)) {
      ck_assert_msg(fabsl(m - me) <= 4 * ce * (fabsl(m0[i]) + fabsl(g[i])), "%s: m[%zu] %La vs %La", what, i, m, me);
      ck_assert_msg(fabsl(v - ve) <= 4 * ce * (v0[i] + g[i] * g[i]), "%s: v[%zu] %La vs %La", what, i, v, ve);
    }
    u[i] = (m / c1) / (sqrtl(v / c2) + eps);
    wn += p0[i] * p0[i];
    un += u[i] * u[i];
  }
  wn = sqrtl(wn);
  un = sqrtl(un);
  const long double ratio = wn > 0 ? (un > 0 ? wn / un : 1) : 1;
  for (size_t i = 0; i < n; i++) {
    const long double s = ratio * lr * u[i], pe = p0[i] - s, got = tu_get(dt, a->p, i);
    if (isnan(pe)) {
      ck_assert_msg(isnan(got), "%s: p[%zu] = %La, expected NaN", what, i, got);
      continue;
    }
    const long double tol = tu_ulp(dt, (double)pe) + 64 * ce * fabsl(s);
    ck_assert_msg(fabsl(got - pe) <= tol, "%s: p[%zu] = %La, expected %La (ratio %Lg, within %Lg)", what, i, got, pe,
                  ratio, tol);
  }
  free(p0);
  free(g);
  free(m0);
  free(v0);
  free(u);
}

START_TEST(test_reference)
{
  const int d = _i / REF_NCASES, c = _i % REF_NCASES;
  const optk_kernel *k = lamb(dts[d]);
  double hp[OPTK_MAX_HPARAMS];
  hparams(k, hp);
  tu_rng r;
  tu_seed(&r, 0x1a3e00ull + (uint64_t)_i);
  lt a;
  lt_init(&a, dts[d], 777, 0);
  lt_fill(&a, &r);
  if (c == REF_P_ZERO)
    memset(a.p, 0, a.n * tu_esize(a.dt));
  if (c == REF_P_NAN)
    tu_put(a.dt, a.p, 5, NAN);
  if (c == REF_G_INF)
    tu_put(a.dt, a.g, 3, INFINITY);
  for (int isa = 0; isa < OPTK_ISA_COUNT; isa++) {
    if (!optk_isa_available((optk_isa)isa) || k->impl[isa] == NULL)
      continue;
    lt b;
    lt_copy(&b, &a);
    for (int64_t t = 1; t <= 3; t++) {
      char what[96];
      snprintf(what, sizeof what, "lamb_%s %s, %s, t=%lld", tu_dtype_name(dts[d]), tu_isa_names[isa], ref_names[c],
               (long long)t);
      check_ref_step(k, isa, &b, hp, t, what);
    }
    /* NaN stays where it came in: every other element is finite */
    for (size_t i = 0; i < b.n; i++)
      if (!((c == REF_P_NAN && i == 5) || (c == REF_G_INF && i == 3)))
        ck_assert_msg(isfinite(tu_get(b.dt, b.p, i)), "p[%zu] not finite (%s)", i, ref_names[c]);
    lt_free(&b);
  }
  lt_free(&a);
}
END_TEST

/* update = 0 (g = m = v = 0): the ratio is 1 and p keeps its bits. */
START_TEST(test_zero_update)
{
  const optk_kernel *k = lamb(dts[_i]);
  double hp[OPTK_MAX_HPARAMS];
  hparams(k, hp);
  tu_rng r;
  tu_seed(&r, 0x1a3f00ull + (uint64_t)_i);
  lt a, b;
  lt_init(&a, dts[_i], 500, 0);
  lt_fill(&a, &r);
  memset(a.g, 0, a.n * tu_esize(a.dt));
  memset(a.m, 0, a.n * tu_esize(a.st));
  memset(a.v, 0, a.n * tu_esize(a.st));
  lt_copy(&b, &a);
  ck_assert_int_eq(step(k, -1, &b, hp, 1), OPTK_OK);
  char why[200];
  const char *d = lt_diff(&a, &b, why, sizeof why);
  ck_assert_msg(d == NULL, "lamb_%s: a zero update changed %s", tu_dtype_name(dts[_i]), d);
  lt_free(&a);
  lt_free(&b);
}
END_TEST

/* ---- refused arguments and a failed allocation -------------------------- */

static void expect_untouched(const lt *a, const lt *b, const char *what)
{
  char why[200];
  const char *d = lt_diff(a, b, why, sizeof why);
  ck_assert_msg(d == NULL, "%s wrote %s", what, d);
}

START_TEST(test_refused)
{
  const optk_kernel *k = lamb(dts[_i]);
  double hp[OPTK_MAX_HPARAMS], bad[OPTK_MAX_HPARAMS];
  hparams(k, hp);
  tu_rng r;
  tu_seed(&r, 0x1a4000ull + (uint64_t)_i);
  lt a, b;
  lt_init(&a, dts[_i], 300, 0);
  lt_fill(&a, &r);
  lt_copy(&b, &a);
  memcpy(bad, hp, sizeof bad);
  bad[1] = 1.0; /* beta1 outside [0, 1) */
  ck_assert_int_eq(optk_step(k, b.n, b.p, b.g, b.state, bad, 1), OPTK_EINVAL);
  ck_assert_int_eq(optk_step(k, b.n, b.p, b.g, b.state, hp, 0), OPTK_EINVAL);
  ck_assert_int_eq(optk_step(k, b.n, b.p, b.g, NULL, hp, 1), OPTK_EINVAL);
  ck_assert_int_eq(optk_step(k, b.n, NULL, b.g, b.state, hp, 1), OPTK_EINVAL);
  ck_assert_int_eq(optk_step(k, b.n, b.p, b.p, b.state, hp, 1), OPTK_EINVAL);
  void *alias[2] = { b.m, b.m };
  ck_assert_int_eq(optk_step(k, b.n, b.p, b.g, alias, hp, 1), OPTK_EINVAL);
  void *hole[2] = { b.m, NULL };
  ck_assert_int_eq(optk_step(k, b.n, b.p, b.g, hole, hp, 1), OPTK_EINVAL);
  expect_untouched(&a, &b, "a refused optk_step");

  optk_tensor ts[2] = { { b.n, b.p, b.g, b.state, NULL }, { 10, b.p, NULL, b.state, NULL } };
  ck_assert_int_eq(optk_step_group(k, 2, ts, hp, 1, NULL, NULL), OPTK_EINVAL);
  ck_assert_int_eq(optk_step_group(k, 2, NULL, hp, 1, NULL, NULL), OPTK_EINVAL);
  ck_assert_int_eq(optk_step_group(k, 1, ts, bad, 1, NULL, NULL), OPTK_EINVAL);
  float master[300];
  ts[1] = (optk_tensor){ b.n, b.p, b.g, b.state, master };
  if (dts[_i] == OPTK_F32 || dts[_i] == OPTK_F64)
    ck_assert_int_eq(optk_step_group(k, 2, ts, hp, 1, NULL, NULL), OPTK_EINVAL);
  expect_untouched(&a, &b, "a refused optk_step_group");

  /* the scratch allocation fails: nothing written */
  optk__tp_fail_allocs(1);
  ck_assert_int_eq(optk_step(k, b.n, b.p, b.g, b.state, hp, 1), OPTK_ENOMEM);
  optk__tp_fail_allocs(1);
  ck_assert_int_eq(optk_step_group(k, 1, ts, hp, 1, NULL, NULL), OPTK_ENOMEM);
  optk__tp_fail_allocs(0);
  expect_untouched(&a, &b, "a step whose allocation failed");
  ck_assert(strstr(optk_strerror(OPTK_ENOMEM), "memory") != NULL);
  /* n = 0 writes nothing and allocates nothing */
  ck_assert_int_eq(optk_step(k, 0, NULL, NULL, NULL, hp, 1), OPTK_OK);

  /* optk_init_state: m = v = 0 */
  ck_assert_int_eq(optk_init_state(k, b.n, b.state, hp), OPTK_OK);
  for (size_t i = 0; i < b.n; i++)
    ck_assert(tu_get(b.st, b.m, i) == 0 && tu_get(b.st, b.v, i) == 0);
  lt_free(&a);
  lt_free(&b);
}
END_TEST

Suite *lamb_suite(void)
{
  Suite *s = suite_create("lamb");
  TCase *tc = tcase_create("bits");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_isas_threads, 0, 4);
  tcase_add_loop_test(tc, test_group_plain, 0, 4);
  tcase_add_loop_test(tc, test_group_transforms, 0, 4);
  suite_add_tcase(s, tc);
  tc = tcase_create("reference");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_reference, 0, 4 * REF_NCASES);
  tcase_add_loop_test(tc, test_zero_update, 0, 4);
  suite_add_tcase(s, tc);
  tc = tcase_create("refused");
  tcase_add_loop_test(tc, test_refused, 0, 4);
  suite_add_tcase(s, tc);
  return s;
}
