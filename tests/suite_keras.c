/* keras: the seed optimizers' kernels, on every ISA this CPU runs, track the
 * hand-written double-precision transcriptions of Keras 3's update rules
 * (ref.c) over 10-50 steps from random inputs.  These check the specs
 * themselves (suite_reference.c checks every kernel against its spec's IR);
 * kernels without a transcription are left to suite_reference.c and the
 * oracle replays.
 *
 * The reference rounds p to the storage type after each step, as a kernel
 * stores it (double -> float -> bf16/f16, nearest even); state stays double.
 * Tolerances, per element, against the largest |reference value| M the
 * element has had so far (initial value included):
 *   f64 param and state:            |got - ref| <= 1e-12 * M
 *   f32 param, f32/bf16/f16 state:  |got - ref| <= 1e-5 * M
 *   bf16, f16 param:                |got - ref| <= 2 ulp of the storage type at M
 * Each case also checks its own power: the kernel must be outside these
 * tolerances of a reference run with lr scaled by (1 + delta), delta 1e-6
 * (f64), 1e-2 (f32), 0.5 (bf16), 0.1 (f16).
 *
 * closed_form: constant gradients from the initial state, every step
 * t = 1..10 of every optimizer against its closed form (Adam and Adamax bias
 * correction, Adagrad's initial accumulator, momentum sums), on the
 * reference itself and on each kernel and ISA.
 *
 * train: minimising sum((x - c)^2) with every optimizer (f32 and f64) lowers
 * the loss below half its start after 149 steps and below 5% after 300.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "testutil.h"

/* ---- hyperparameters of the transcriptions, by the contract's names -------- */

enum { KR_DEFAULT, KR_RANDOM, KR_LOW_EDGE, KR_HIGH_EDGE, KR_NSETS };
static const char *const kr_set_names[KR_NSETS] = {"default", "random", "low-edge", "high-edge"};

static double hp_value(const char *name, double def, int set, tu_rng *r)
{
  const double below1 = 0x1.fffffffffffffp-1; /* nextafter(1, 0) */
  int is_beta = strcmp(name, "beta1") == 0 || strcmp(name, "beta2") == 0;
  int is_rho = strcmp(name, "rho") == 0;
  switch (set) {
  case KR_RANDOM:
    if (strcmp(name, "lr") == 0)
      return pow(10.0, -4.0 + 3.5 * tu_uniform(r));
    if (strcmp(name, "eps") == 0)
      return pow(10.0, -9.0 + 6.0 * tu_uniform(r));
    if (strcmp(name, "beta1") == 0)
      return 0.99 * tu_uniform(r);
    if (strcmp(name, "beta2") == 0)
      return 0.5 + 0.4999 * tu_uniform(r);
    if (is_rho)
      return 0.5 + 0.49 * tu_uniform(r);
    if (strcmp(name, "momentum") == 0)
      return tu_uniform(r);
    if (strcmp(name, "initial_accumulator_value") == 0)
      return tu_uniform(r);
    return def;
  case KR_LOW_EDGE:
    if (strcmp(name, "lr") == 0)
      return 0.5;
    return 0.0; /* eps, betas, rho, momentum, initial_accumulator_value */
  case KR_HIGH_EDGE:
    if (strcmp(name, "lr") == 0)
      return 3.0;
    if (strcmp(name, "eps") == 0)
      return 0.5;
    if (is_beta || is_rho)
      return below1;
    if (strcmp(name, "momentum") == 0)
      return 1.0;
    if (strcmp(name, "initial_accumulator_value") == 0)
      return 1e3;
    return def;
  default:
    return def;
  }
}

static void kr_hparams(int opt, int set, tu_rng *r, double *hp)
{
  const struct ref_desc *d = &ref_descs[opt];
  for (int i = 0; i < d->nhp; i++)
    hp[i] = hp_value(d->hp_names[i], d->hp_def[i], set, r);
}

/* ---- tracking cases ----------------------------------------------------- */

enum { HP_REF_EDGE = KR_NSETS, HP_REF_BIGLR };

struct rcase {
  int hpset;
  size_t n;
  int steps;
  int64_t t0;
};

static const struct rcase rcases[] = {
  {KR_DEFAULT, 33, 20, 1}, {KR_RANDOM, 100, 50, 1}, {KR_RANDOM, 17, 10, 5},
  {HP_REF_EDGE, 64, 20, 1},   {HP_REF_BIGLR, 50, 30, 1},
};
#define NRCASES ((int)(sizeof rcases / sizeof rcases[0]))

static const char *rcase_hp_name(int set)
{
  if (set == HP_REF_EDGE)
    return "edge(momentum=beta1=beta2=eps=0,rho=0|0.5)";
  if (set == HP_REF_BIGLR)
    return "big-lr(lr=0.05,momentum=1)";
  return kr_set_names[set];
}

/* Hyperparameters of a tracking case.  The edge set keeps the centered
 * variants away from rho = 0, where v - a*a cancels exactly in the reference
 * and to a rounding error in float: no tolerance can follow that.  Its
 * gradients have 0.5 <= |g| <= 2: with beta1 = beta2 = 0 the update
 * m += (g - m)*(1 - beta1) leaves m = g plus a rounding error of the old m,
 * and with eps = 0 a tiny |g| after a large one makes v (or m) pure rounding
 * error, so only gradients of similar size have a well-conditioned answer. */
static void rcase_hparams(int o, int set, tu_rng *r, double *hp)
{
  const struct ref_desc *d = &ref_descs[o];
  if (set < KR_NSETS) {
    kr_hparams(o, set, r, hp);
    return;
  }
  for (int i = 0; i < d->nhp; i++) {
    const char *nm = d->hp_names[i];
    hp[i] = d->hp_def[i];
    if (set == HP_REF_EDGE) {
      if (strcmp(nm, "lr") != 0)
        hp[i] = 0.0;
      if (strcmp(nm, "rho") == 0 &&
          (o == REF_RMSPROP_CENTERED || o == REF_RMSPROP_CENTERED_MOMENTUM))
        hp[i] = 0.5;
    } else {
      if (strcmp(nm, "lr") == 0)
        hp[i] = 0.05;
      if (strcmp(nm, "momentum") == 0)
        hp[i] = 1.0;
    }
  }
}

/* A value of a set outside the kernel's domain (eps = 0 where the spec
 * wants eps > 0) becomes the domain's edge on that side. */
static void in_domain(const optk_kernel *k, double *hp)
{
  for (int i = 0; i < optk_nhparams(k); i++)
    if (!tu_hp_in_domain(k, i, hp[i]))
      hp[i] = tu_hp_edge(k, i, hp[i] > optk_hparam_default(k, i));
}

static double rtol_of(optk_dtype t)
{
  return t == OPTK_F64 ? 1e-12 : 1e-5;
}

static double power_delta(optk_dtype t)
{
  switch (t) {
  case OPTK_F64:
    return 1e-6;
  case OPTK_F32:
    return 1e-2;
  case OPTK_BF16:
    return 0.5;
  default:
    return 0.1;
  }
}

/* tolerance for array a (0 = param) of storage type dt at running max M */
static double tolerance(optk_dtype dt, int a, double M)
{
  if (a == 0 && (dt == OPTK_BF16 || dt == OPTK_F16))
    return 2.0 * tu_ulp(dt, M);
  return rtol_of(dt) * M;
}

struct entry {
  const optk_kernel *k;
  size_t kidx;
  optk_isa isa;
  char name[64];
};
#define MAX_ENTRIES 4096
static struct entry kr_entries[MAX_ENTRIES];
static int kr_nentries;

/* Runs the reference of a case: p, state (narr - 2 arrays) from p0, s0 with
 * the gradients gs[step][i]; p rounded to dt after each step.  Keeps the
 * per-element running maxima in mx (narr arrays of n) when mx != NULL. */
struct refrun {
  int narr;
  size_t n;
  double *v[TU_MAX_ARR]; /* v[0] = p, v[2 + j] = state j; v[1] unused */
  double *mx[TU_MAX_ARR];
};

static void refrun_init(struct refrun *rr, int narr, size_t n)
{
  memset(rr, 0, sizeof *rr);
  rr->narr = narr;
  rr->n = n;
  for (int a = 0; a < narr; a++) {
    rr->v[a] = calloc(n + 1, sizeof(double));
    rr->mx[a] = calloc(n + 1, sizeof(double));
  }
}

static void refrun_free(struct refrun *rr)
{
  for (int a = 0; a < rr->narr; a++) {
    free(rr->v[a]);
    free(rr->mx[a]);
  }
}

static void refrun_track_max(struct refrun *rr)
{
  for (int a = 0; a < rr->narr; a++)
    if (a != 1)
      for (size_t i = 0; i < rr->n; i++)
        if (fabs(rr->v[a][i]) > rr->mx[a][i])
          rr->mx[a][i] = fabs(rr->v[a][i]);
}

static void refrun_step(struct refrun *rr, int opt, optk_dtype dt, const double *g,
                        const double *hp, int64_t t)
{
  ref_step(opt, rr->n, rr->v[0], g, &rr->v[2], hp, t);
  for (size_t i = 0; i < rr->n; i++)
    rr->v[0][i] = tu_round_to(dt, rr->v[0][i]);
  refrun_track_max(rr);
}

/* first element outside tolerance: returns 1 and sets *ao, *io, else 0 */
static int refrun_outside(const struct refrun *rr, const tu_prob *pk, int *ao, size_t *io,
                          double *worst_ratio)
{
  for (int a = 0; a < rr->narr; a++) {
    if (a == 1)
      continue;
    optk_dtype ty = tu_arr_type(pk, a);
    for (size_t i = 0; i < rr->n; i++) {
      double got = tu_get(ty, pk->arr[a], i), ref = rr->v[a][i];
      double tol = tolerance(pk->dt, a, rr->mx[a][i]);
      double err = fabs(got - ref);
      if (worst_ratio != NULL && tol > 0 && err / tol > *worst_ratio)
        *worst_ratio = err / tol;
      if (!(err <= tol)) {
        *ao = a;
        *io = i;
        return 1;
      }
    }
  }
  return 0;
}

START_TEST(test_tracks_reference)
{
  const struct entry *e = &kr_entries[_i / NRCASES];
  const struct rcase *c = &rcases[_i % NRCASES];
  const int opt = ref_lookup(optk_name(e->k));
  ck_assert_msg(opt >= 0, "%s: no transcription", e->name);
  ck_assert_int_eq(optk_nstate(e->k), ref_descs[opt].nstate);
  ck_assert_int_eq(optk_nhparams(e->k), ref_descs[opt].nhp);
  const size_t n = c->n;
  tu_rng r;
  tu_seed(&r, 0x5EF00000ull + e->kidx * 1000ull + (uint64_t)(_i % NRCASES));
  double hp[REF_MAX_HP + 1];
  rcase_hparams(opt, c->hpset, &r, hp);
  in_domain(e->k, hp);

  tu_prob pk;
  tu_prob_init(&pk, e->k, n, 0, 0);
  const int narr = pk.narr;
  const optk_dtype dt = pk.dt;
  for (size_t i = 0; i < n; i++)
    tu_put(dt, pk.arr[0], i, 0.05 * tu_normal(&r));
  ck_assert_int_eq(optk_init_state(e->k, n, pk.state, hp), OPTK_OK);

  struct refrun rr, rp;
  refrun_init(&rr, narr, n);
  refrun_init(&rp, narr, n);
  double init[REF_MAX_STATE];
  ref_state_init(opt, hp, init);
  for (size_t i = 0; i < n; i++) {
    rr.v[0][i] = tu_get(dt, pk.arr[0], i);
    for (int j = 0; j + 2 < narr; j++)
      rr.v[2 + j][i] = init[j];
  }
  refrun_track_max(&rr);
  for (int a = 0; a < narr; a++)
    if (a != 1) {
      memcpy(rp.v[a], rr.v[a], n * sizeof(double));
      memcpy(rp.mx[a], rr.mx[a], n * sizeof(double));
    }
  double hpp[REF_MAX_HP + 1];
  memcpy(hpp, hp, sizeof hp);
  hpp[0] = hp[0] * (1.0 + power_delta(dt));

  double *g = calloc(n + 1, sizeof(double));
  double worst = 0.0;
  for (int s = 0; s < c->steps; s++) {
    const int64_t t = c->t0 + s;
    for (size_t i = 0; i < n; i++) {
      double gi = tu_normal(&r);
      if (c->hpset == HP_REF_EDGE) /* see rcase_hparams */
        gi = (gi < 0 ? -0.5 : 0.5) * (1.0 + 3.0 * tu_uniform(&r));
      tu_put(dt, pk.arr[1], i, gi);
      g[i] = tu_get(dt, pk.arr[1], i);
    }
    int rc = tu_prob_step(&pk, e->isa, hp, t);
    ck_assert_msg(rc == OPTK_OK, "%s case %d: step t=%" PRId64 " returned %d", e->name,
                  _i % NRCASES, t, rc);
    refrun_step(&rr, opt, dt, g, hp, t);
    refrun_step(&rp, opt, dt, g, hpp, t);
    int a;
    size_t i;
    if (refrun_outside(&rr, &pk, &a, &i, &worst)) {
      char got[64];
      optk_dtype ty = tu_arr_type(&pk, a);
      double ref = rr.v[a][i];
      ck_assert_msg(0,
                    "%s case %d (hp=%s n=%zu): after t=%" PRId64 " %s[%zu] got=%s ref=%a (%.17g) "
                    "|diff|=%.3g > tolerance %.3g (running max %.6g); g=%a; hp[0]=%a",
                    e->name, _i % NRCASES, rcase_hp_name(c->hpset), n, t, tu_arr_name(&pk, a),
                    i, tu_fmt(got, sizeof got, ty, pk.arr[a], i), ref, ref,
                    fabs(tu_get(ty, pk.arr[a], i) - ref), tolerance(dt, a, rr.mx[a][i]),
                    rr.mx[a][i], g[i], hp[0]);
    }
  }
  /* power: the tolerance must reject a reference with lr off by delta */
  int a;
  size_t i;
  ck_assert_msg(refrun_outside(&rp, &pk, &a, &i, NULL),
                "%s case %d: tolerance too loose: every element is also within tolerance of "
                "the reference with lr * (1 + %g)",
                e->name, _i % NRCASES, power_delta(dt));
  if (getenv("OPTK_TEST_TOL_REPORT") != NULL)
    fprintf(stderr, "reference %s case %d: worst |diff|/tolerance %.3g\n", e->name, _i % NRCASES,
            worst);
  free(g);
  refrun_free(&rr);
  refrun_free(&rp);
  tu_prob_free(&pk);
}
END_TEST

/* ---- closed forms ------------------------------------------------------- */

static const double cf_g[] = {1.0, -0.5, 2.0, 0x1p-10, -3.0, 0.25, 0.75, -1.25};
#define CF_N (sizeof cf_g / sizeof cf_g[0])
#define CF_T 10

static const optk_dtype cf_dtypes[] = {OPTK_F64, OPTK_F32, OPTK_BF16, OPTK_F16};

/* the non-default variant; every value in domain */
static double cf_custom(const char *name)
{
  if (strcmp(name, "lr") == 0)
    return 0.1;
  if (strcmp(name, "momentum") == 0)
    return 0.5;
  if (strcmp(name, "rho") == 0)
    return 0.8;
  if (strcmp(name, "beta1") == 0)
    return 0.5;
  if (strcmp(name, "beta2") == 0)
    return 0.75;
  if (strcmp(name, "eps") == 0)
    return 1e-3;
  return 2.5; /* initial_accumulator_value */
}

/* Closed form after t steps of constant gradient c from the initial state:
 * dp is the change of p in step t; st[] the state after step t.  mom is the
 * momentum-sum state for the rmsprop momentum variants (carried by caller). */
static void closed_form(int opt, const double *hp, double c, int t, double *mom, double *dp,
                        double *st)
{
  const double lr = hp[0], td = t;
  switch (opt) {
  case REF_SGD:
    *dp = -lr * c;
    break;
  case REF_SGD_MOMENTUM:
  case REF_SGD_NESTEROV: {
    const double mu = hp[1];
    double geo = 0; /* 1 + mu + ... + mu^(t-1) */
    for (int k = 0; k < t; k++)
      geo += pow(mu, k);
    st[0] = -lr * c * geo;
    *dp = opt == REF_SGD_MOMENTUM ? st[0] : mu * st[0] - lr * c;
    break;
  }
  case REF_ADAGRAD: {
    const double eps = hp[1], iav = hp[2];
    st[0] = iav + td * c * c;
    *dp = -lr * c / sqrt(st[0] + eps);
    break;
  }
  case REF_RMSPROP:
  case REF_RMSPROP_MOMENTUM: {
    const double rho = hp[1], eps = hp[2];
    st[0] = (1.0 - pow(rho, td)) * c * c;
    double step = lr * c / sqrt(st[0] + eps);
    if (opt == REF_RMSPROP) {
      *dp = -step;
    } else {
      *mom = hp[3] * *mom + step;
      st[1] = *mom;
      *dp = -*mom;
    }
    break;
  }
  case REF_RMSPROP_CENTERED:
  case REF_RMSPROP_CENTERED_MOMENTUM: {
    const double rho = hp[1], eps = hp[2], rt = pow(rho, td);
    st[0] = (1.0 - rt) * c * c;
    st[1] = (1.0 - rt) * c;
    /* v - a^2 = (1 - rho^t) rho^t c^2 */
    double step = lr * c / sqrt((1.0 - rt) * rt * c * c + eps);
    if (opt == REF_RMSPROP_CENTERED) {
      *dp = -step;
    } else {
      *mom = hp[3] * *mom + step;
      st[2] = *mom;
      *dp = -*mom;
    }
    break;
  }
  case REF_ADAM:
  case REF_ADAM_AMSGRAD: {
    const double b1 = hp[1], b2 = hp[2], eps = hp[3];
    const double c1 = 1.0 - pow(b1, td), c2 = 1.0 - pow(b2, td);
    st[0] = c1 * c;
    st[1] = c2 * c * c;
    if (opt == REF_ADAM_AMSGRAD)
      st[2] = st[1]; /* v grows under a constant gradient */
    /* alpha m / (sqrt(v) + eps) with alpha = lr sqrt(c2) / c1 */
    *dp = -lr * sqrt(c2) * c / (sqrt(c2) * fabs(c) + eps);
    break;
  }
  case REF_ADAMAX: {
    const double b1 = hp[1], eps = hp[3];
    st[0] = (1.0 - pow(b1, td)) * c;
    st[1] = fabs(c);
    /* lr / (1 - b1^t) * m / (u + eps) */
    *dp = -lr * c / (fabs(c) + eps);
    break;
  }
  default:
    break;
  }
}

static double cf_tol(optk_dtype dt, int a, double want)
{
  if (a == 0 && (dt == OPTK_BF16 || dt == OPTK_F16))
    return tu_ulp(dt, want) + 4e-6 * fabs(want);
  return (dt == OPTK_F64 ? 1e-13 : 4e-6) * fabs(want);
}

/* loop index: dtype x optimizer x hp variant */
START_TEST(test_closed_form)
{
  const int nd = (int)(sizeof cf_dtypes / sizeof cf_dtypes[0]);
  const optk_dtype dt = cf_dtypes[_i % nd];
  const int opt = (_i / nd) % REF_NOPT;
  const int custom = _i / (nd * REF_NOPT);
  const struct ref_desc *d = &ref_descs[opt];
  double hp[REF_MAX_HP];
  for (int h = 0; h < d->nhp; h++)
    hp[h] = custom ? cf_custom(d->hp_names[h]) : d->hp_def[h];
  const optk_kernel *k = optk_find(d->name, dt);
  ck_assert_msg(k != NULL, "optk_find(\"%s\", %s) is NULL", d->name, tu_dtype_name(dt));
  in_domain(k, hp);
  ck_assert_int_eq(optk_nstate(k), d->nstate);
  ck_assert_int_eq(optk_nhparams(k), d->nhp);

  /* runner -1: the reference (f64 pass only); then each available ISA */
  for (int isa = -1; isa < OPTK_ISA_COUNT; isa++) {
    if (isa == -1 && dt != OPTK_F64)
      continue;
    if (isa >= 0 && !optk_isa_available((optk_isa)isa))
      continue;
    const char *who = isa < 0 ? "reference" : tu_isa_names[isa];
    tu_prob pk;
    tu_prob_init(&pk, k, CF_N, 0, 0);
    double rs[REF_MAX_STATE][CF_N], rp[CF_N], rg[CF_N];
    double *rsp[REF_MAX_STATE] = {rs[0], rs[1], rs[2]};
    double init[REF_MAX_STATE];
    ref_state_init(opt, hp, init);
    for (size_t i = 0; i < CF_N; i++) {
      tu_put(dt, pk.arr[1], i, cf_g[i]);
      ck_assert(tu_get(dt, pk.arr[1], i) == cf_g[i]);
      rg[i] = cf_g[i];
      for (int j = 0; j < d->nstate; j++)
        rs[j][i] = init[j];
    }
    if (isa >= 0)
      ck_assert_int_eq(optk_init_state(k, CF_N, pk.state, hp), OPTK_OK);
    double mom[CF_N] = {0};
    for (int t = 1; t <= CF_T; t++) {
      /* p = 0 before each step, so the stored p is the step itself */
      for (size_t i = 0; i < CF_N; i++) {
        tu_put(dt, pk.arr[0], i, 0.0);
        rp[i] = 0.0;
      }
      if (isa >= 0) {
        int rc = optk_step_isa(k, (optk_isa)isa, CF_N, pk.arr[0], pk.arr[1], pk.state, hp, t);
        ck_assert_int_eq(rc, OPTK_OK);
      } else {
        ref_step(opt, CF_N, rp, rg, rsp, hp, t);
      }
      for (size_t i = 0; i < CF_N; i++) {
        double want_dp = 0.0, want_st[REF_MAX_STATE] = {0};
        closed_form(opt, hp, cf_g[i], t, &mom[i], &want_dp, want_st);
        for (int a = 0; a < 1 + d->nstate; a++) {
          double want = a == 0 ? want_dp : want_st[a - 1];
          double got;
          if (isa < 0)
            got = a == 0 ? rp[i] : rs[a - 1][i];
          else
            got = tu_get(tu_arr_type(&pk, a == 0 ? 0 : a + 1), pk.arr[a == 0 ? 0 : a + 1], i);
          double tol = cf_tol(dt, a, want);
          ck_assert_msg(fabs(got - want) <= tol,
                        "%s_%s (%s hp) on %s: g=%g t=%d: %s got %a (%.17g), closed form %a "
                        "(%.17g), tolerance %.3g",
                        d->name, tu_dtype_name(dt), custom ? "custom" : "default", who, cf_g[i],
                        t, a == 0 ? "step of p" : d->state_names[a - 1], got, got, want, want,
                        tol);
        }
      }
    }
    tu_prob_free(&pk);
  }
}
END_TEST

/* ---- training ----------------------------------------------------------- */

static double train_lr(int opt)
{
  switch (opt) {
  case REF_ADAGRAD:
    return 0.5;
  case REF_SGD:
  case REF_SGD_MOMENTUM:
  case REF_SGD_NESTEROV:
    return 0.01;
  default:
    return 0.02;
  }
}

/* loop index: optimizer x {f32, f64} */
START_TEST(test_train_loss_falls)
{
  const int opt = _i / 2;
  const optk_dtype dt = (_i % 2) ? OPTK_F64 : OPTK_F32;
  const struct ref_desc *d = &ref_descs[opt];
  const optk_kernel *k = optk_find(d->name, dt);
  ck_assert_msg(k != NULL, "optk_find(\"%s\", %s) is NULL", d->name, tu_dtype_name(dt));
  enum { N = 64, STEPS = 300 };
  double hp[REF_MAX_HP];
  optk_default_hparams(k, hp);
  hp[0] = train_lr(opt);
  tu_prob pk;
  tu_prob_init(&pk, k, N, 0, 0);
  double c[N];
  tu_rng r;
  tu_seed(&r, 0x7A1Eull + (uint64_t)_i);
  for (int i = 0; i < N; i++) {
    c[i] = tu_normal(&r);
    tu_put(dt, pk.arr[0], (size_t)i, c[i] + tu_normal(&r));
  }
  ck_assert_int_eq(optk_init_state(k, N, pk.state, hp), OPTK_OK);
  double loss0 = 0, loss = 0, loss_half = 0;
  for (int t = 1; t <= STEPS + 1; t++) {
    loss = 0;
    for (int i = 0; i < N; i++) {
      double x = tu_get(dt, pk.arr[0], (size_t)i);
      loss += (x - c[i]) * (x - c[i]);
      tu_put(dt, pk.arr[1], (size_t)i, 2.0 * (x - c[i]));
    }
    if (t == 1)
      loss0 = loss;
    if (t == STEPS / 2)
      loss_half = loss;
    if (t == STEPS + 1)
      break;
    ck_assert_int_eq(optk_step(k, N, pk.arr[0], pk.arr[1], pk.state, hp, t), OPTK_OK);
  }
  ck_assert_msg(isfinite(loss) && loss < 0.05 * loss0 && loss_half < 0.5 * loss0,
                "%s_%s lr=%g: loss %g at start, %g after %d steps, %g after %d steps", d->name,
                tu_dtype_name(dt), hp[0], loss0, loss_half, STEPS / 2 - 1, loss, STEPS);
  tu_prob_free(&pk);
}
END_TEST

Suite *keras_suite(void)
{
  Suite *s = suite_create("keras");
  size_t nk = optk_count();
  for (size_t ki = 0; ki < nk; ki++) {
    const optk_kernel *k = optk_at(ki);
    if (k == NULL || ref_lookup(optk_name(k)) < 0)
      continue;
    for (int isa = 0; isa < OPTK_ISA_COUNT; isa++) {
      if (!optk_isa_available((optk_isa)isa) || kr_nentries >= MAX_ENTRIES)
        continue;
      struct entry *e = &kr_entries[kr_nentries];
      char label[48];
      e->k = k;
      e->kidx = ki;
      e->isa = (optk_isa)isa;
      snprintf(e->name, sizeof e->name, "%s_%s", tu_kernel_label(label, sizeof label, k),
               tu_isa_names[isa]);
      TCase *tc = tcase_create(e->name);
      tcase_add_loop_test(tc, test_tracks_reference, kr_nentries * NRCASES,
                          (kr_nentries + 1) * NRCASES);
      suite_add_tcase(s, tc);
      kr_nentries++;
    }
  }
  TCase *tc = tcase_create("closed_form");
  tcase_add_loop_test(tc, test_closed_form, 0,
                      (int)(sizeof cf_dtypes / sizeof cf_dtypes[0]) * REF_NOPT * 2);
  suite_add_tcase(s, tc);
  tc = tcase_create("train");
  tcase_add_loop_test(tc, test_train_loss_falls, 0, REF_NOPT * 2);
  suite_add_tcase(s, tc);
  return s;
}
