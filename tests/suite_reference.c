/* reference: every kernel of the registry (optimizer x storage type), on
 * every ISA this CPU runs, against its spec's IR evaluated in long double by
 * the tests' interpreter (ir_eval.c), which shares nothing with the
 * generator's lowering, backends or templates.  Nothing here names an
 * optimizer: a new spec is tested as it lands.
 *
 * A case draws in-domain hyperparameters from the kernel's record (defaults,
 * random values, values at the domains' edges; 0/1 for switches), a random
 * param and random gradients (a few exactly 0), sets the state with
 * optk_init_state (checked against the IR's initial values) and runs several
 * steps.  After each step, every element of param and state must lie within
 * the tolerance of the interpreter applied to the library's own values
 * before that step, so errors never accumulate into the comparison.
 *
 * Tolerance, per element and array: 2 * B, plus one ulp of the storage type
 * at the value where param is stored in bf16 or f16.  B is the interpreter's
 * bound on the library's rounding error (ir_eval.h): a running error
 * analysis with the compute type's unit roundoff u (2^-24 for f32, bf16 and
 * f16 kernels, 2^-53 for f64), so B is a few u times the magnitudes that
 * enter the update, and larger only where the update cancels.  The factor 2
 * covers the second-order terms the bound leaves out.
 *
 * Power: each case must also reject, for most elements whose value the step
 * changed (a quarter at the domains' edges), the value moved by (1 + delta)
 * times its update (delta 1e-6 for
 * f64, 1e-2 for f32 and f32 state, 0.5 for bf16 and 0.1 for f16 param),
 * counting the elements where that moves the value by more than eight ulps
 * of its array's type (the library may round values of that size a few
 * times: p * (1 - lr * wd), then p - update), so a tolerance that grew
 * vacuous fails.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir_eval.h"
#include "testutil.h"

struct rcase {
  int hpset;
  size_t n;
  int steps;
  int64_t t0;
};

static const struct rcase rcases[] = {
  {TU_HP_DEFAULT, 37, 12, 1}, {TU_HP_RANDOM, 64, 12, 1},   {TU_HP_RANDOM, 29, 8, 40},
  {TU_HP_RANDOM, 50, 10, 1},  {TU_HP_LOW_EDGE, 33, 8, 1}, {TU_HP_HIGH_EDGE, 33, 8, 1},
};
#define NRCASES ((int)(sizeof rcases / sizeof rcases[0]))
/* The share of changed elements each case must reject when moved by delta:
 * most of them; a quarter at the domains' edges, where updates may be
 * ill-conditioned themselves (rho = 0 makes centered RMSprop's v - a^2
 * cancel exactly).  Measured here: at least 0.90 and 0.50. */
#define MIN_POWER 0.75
#define MIN_POWER_EDGE 0.25

struct entry {
  const optk_kernel *k;
  size_t kidx;
  optk_isa isa;
  char name[64];
};
#define MAX_ENTRIES 4096
static struct entry rf_entries[MAX_ENTRIES];
static int rf_nentries;

static double power_delta(optk_dtype storage, int a)
{
  if (storage == OPTK_F64)
    return 1e-6;
  if (a == 0 && storage == OPTK_BF16)
    return 0.5;
  if (a == 0 && storage == OPTK_F16)
    return 0.1;
  return 1e-2;
}

/* tolerance of array a (of type ty) whose reference is o */
static long double tolerance(const ire_val *o, optk_dtype ty)
{
  long double tol = 2 * o->err;
  if (ty == OPTK_BF16 || ty == OPTK_F16)
    tol += tu_ulp(ty, (double)(fabsl(o->v) + o->err));
  return tol;
}

static int accept(long double got, const ire_val *o, long double tol, optk_dtype ty)
{
  /* a value the storage type cannot hold may be stored as infinity */
  if (isinf(got) && isfinite(o->v) && !isinf(o->err) && signbit(got) == signbit(o->v) &&
      isinf(tu_round_to(ty, (double)(fabsl(o->v) + tol))))
    return 1;
  if (isinf(o->err) || isnan(o->err))
    return 1; /* the IR's answer is not determined to the library's precision */
  if (isnan(o->v))
    return isnan(got);
  if (isnan(got))
    return 0;
  if (isinf(o->v) || isinf(got))
    return got == o->v;
  return fabsl(got - o->v) <= tol;
}

/* Random inputs: param at a random scale; gradients with 1 in 16 exactly 0. */
static void fill_param(tu_prob *pk, tu_rng *r)
{
  const double scale = pow(10.0, -1.0 + 2.0 * tu_uniform(r));
  for (size_t i = 0; i < pk->n; i++)
    tu_put(pk->dt, pk->arr[0], i, scale * tu_normal(r));
}

static void fill_grad(tu_prob *pk, tu_rng *r, double scale)
{
  for (size_t i = 0; i < pk->n; i++)
    tu_put(pk->dt, pk->arr[1], i, tu_below(r, 16) == 0 ? 0.0 : scale * tu_normal(r));
}

/* The library's initial state against the IR's initial values. */
static void check_init(const struct entry *e, const tu_prob *pk, const ire_call *c, int ci)
{
  ire_val init[OPTK_MAX_STATE];
  ire_init(c, init);
  for (int j = 0; j + 2 < pk->narr; j++)
    for (size_t i = 0; i < pk->n; i++) {
      const long double got = tu_get(pk->st, pk->state[j], i);
      const long double want = init[j].err == 0 ? tu_round_to(pk->st, (double)init[j].v) : init[j].v;
      const long double tol = init[j].err == 0 ? 0 : 2 * init[j].err + tu_ulp(pk->st, (double)fabsl(want));
      ck_assert_msg(accept(got, &(ire_val){want, 0, 0, 0}, tol, pk->st) || (isnan(got) && isnan(want)),
                    "%s case %d: optk_init_state set %s[%zu] = %La, the IR's initial value is %La "
                    "(bound %Lg)",
                    e->name, ci, optk_state_name(e->k, j), i, got, init[j].v, init[j].err);
    }
}

START_TEST(test_tracks_ir)
{
  const struct entry *e = &rf_entries[_i / NRCASES];
  const int ci = _i % NRCASES;
  const struct rcase *c = &rcases[ci];
  const struct optk_irp *prog = ire_find(optk_name(e->k));
  ck_assert_msg(prog != NULL, "%s: no IR program in ir_programs.c", e->name);
  char msg[256];
  ck_assert_msg(ire_validate(prog, e->k, msg, sizeof msg) == 0, "%s", msg);

  tu_rng r;
  tu_seed(&r, 0x1E0000ull + e->kidx * 1000ull + (uint64_t)ci);
  double hp[TU_MAX_HP];
  tu_hparams(e->k, c->hpset, &r, hp);
  const size_t n = c->n;
  tu_prob pk;
  tu_prob_init(&pk, e->k, n, 0, 0);
  const int narr = pk.narr;
  fill_param(&pk, &r);
  ck_assert_int_eq(optk_init_state(e->k, n, pk.state, hp), OPTK_OK);
  const double gscale = pow(10.0, -2.0 + 2.5 * tu_uniform(&r));

  long double *in = calloc(n * (size_t)narr, sizeof *in);
  ire_val out[1 + OPTK_MAX_STATE];
  long changed = 0, rejected = 0;
  long double worst = 0;
  for (int s = 0; s < c->steps; s++) {
    const int64_t t = c->t0 + s;
    ire_call call;
    ire_prepare(&call, prog, pk.dt, hp, t);
    if (s == 0)
      check_init(e, &pk, &call, ci);
    fill_grad(&pk, &r, gscale);
    for (int a = 0; a < narr; a++)
      for (size_t i = 0; i < n; i++)
        in[(size_t)a * n + i] = tu_get(tu_arr_type(&pk, a), pk.arr[a], i);
    int rc = tu_prob_step(&pk, e->isa, hp, t);
    ck_assert_msg(rc == OPTK_OK, "%s case %d: step t=%" PRId64 " returned %d", e->name, ci, t, rc);
    long double x[2 + OPTK_MAX_STATE];
    for (size_t i = 0; i < n; i++) {
      for (int a = 0; a < narr; a++)
        x[a] = in[(size_t)a * n + i];
      ire_elem(&call, x, out);
      for (int st = 0; st < narr - 1; st++) {
        const int a = st == 0 ? 0 : st + 1;
        const optk_dtype ty = tu_arr_type(&pk, a);
        const long double got = tu_get(ty, pk.arr[a], i), tol = tolerance(&out[st], ty);
        if (!accept(got, &out[st], tol, ty)) {
          char gs[64];
          ck_assert_msg(0,
                        "%s case %d (hp=%s n=%zu): after t=%" PRId64 " %s[%zu] = %s, the IR gives "
                        "%La (%.17Lg) within %Lg (bound %Lg); before the step p=%La g=%La%s",
                        e->name, ci, tu_hpset_names[c->hpset], n, t, tu_arr_name(&pk, a), i,
                        tu_fmt(gs, sizeof gs, ty, pk.arr[a], i), out[st].v, out[st].v, tol, out[st].err,
                        x[0], x[1], narr > 2 ? " (state as before)" : "");
        }
        if (tol > 0 && isfinite(out[st].err) && fabsl(got - out[st].v) / tol > worst)
          worst = fabsl(got - out[st].v) / tol;
        /* power: the update moved by delta must fall outside */
        const long double old = x[a], upd = out[st].v - old;
        /* (only where the move is clear of a few roundings of the value) */
        if (isfinite(upd) && fabsl(upd) * power_delta(pk.dt, a) > 8 * tu_ulp(ty, (double)fabsl(out[st].v))) {
          const long double alt = old + upd * (1 + power_delta(pk.dt, a));
          changed++;
          rejected += !accept(alt, &out[st], tol, ty);
        }
      }
    }
    ire_release(&call);
  }
  if (getenv("OPTK_TEST_TOL_REPORT") != NULL)
    fprintf(stderr, "reference %s case %d: worst |diff|/tolerance %.3Lg, power %ld/%ld\n", e->name, ci, worst,
            rejected, changed);
  const double min_power = c->hpset == TU_HP_LOW_EDGE || c->hpset == TU_HP_HIGH_EDGE ? MIN_POWER_EDGE : MIN_POWER;
  ck_assert_msg(changed == 0 || rejected >= min_power * changed,
                "%s case %d (hp=%s): tolerance too loose: only %ld of %ld changed elements reject their "
                "update scaled by (1 + delta)",
                e->name, ci, tu_hpset_names[c->hpset], rejected, changed);
  free(in);
  tu_prob_free(&pk);
}
END_TEST

/* The interpreter on hand-made programs: a product over the steps, a
 * rounding bound that holds float's own rounding, and an operation it does
 * not know refused by name. */
START_TEST(test_interpreter)
{
  static const struct optk_irp_node nodes[] = {
    {"hparam", 0, 0, {-1, -1, -1}, 0.0, 0}, /* 0: h */
    {"prod", 0, 0, {0, -1, -1}, 0.0, -1},   /* 1: h^t */
    {"load", 1, 0, {-1, -1, -1}, 0.0, 0},   /* 2: p */
    {"load", 1, 0, {-1, -1, -1}, 0.0, 1},   /* 3: g */
    {"sqrt", 1, 0, {3, -1, -1}, 0.0, -1},   /* 4: sqrt(g) */
    {"fnma", 1, 0, {1, 4, 2}, 0.0, -1},     /* 5: p - h^t sqrt(g) */
  };
  static const int store[] = {5}, none[] = {-1};
  const struct optk_irp prog = {"hand", 1, 6, nodes, 0, none, 1, store};
  const optk_kernel *k = optk_find("sgd", OPTK_F32); /* one hyperparameter, no state */
  char msg[256];
  ck_assert_msg(ire_validate(&prog, k, msg, sizeof msg) == 0, "%s", msg);
  const double hp[1] = {0.5};
  ire_call c;
  ire_prepare(&c, &prog, OPTK_F32, hp, 5);
  ck_assert(c.node[1].v == 0x1p-5L && c.node[1].err == 0); /* exact: no rounding charged */
  const long double in[2] = {1.0L, 4.0L}, in2[2] = {1.0L, 2.0L};
  ire_val out;
  ire_elem(&c, in, &out);
  ck_assert(out.v == 1.0L - 0x1p-4L && out.err == 0);
  ire_elem(&c, in2, &out);
  const float lib = 1.0f - 0x1p-5f * sqrtf(2.0f);
  ck_assert_msg(out.err > 0 && fabsl((long double)lib - out.v) <= out.err, "float %a, IR %La within %Lg", (double)lib,
                out.v, out.err);
  ck_assert(out.err < 4 * 0x1p-24L);
  ire_release(&c);
  struct optk_irp_node bad[6];
  memcpy(bad, nodes, sizeof bad);
  bad[4].op = "cbrt";
  const struct optk_irp badprog = {"hand", 1, 6, bad, 0, none, 1, store};
  ck_assert_int_eq(ire_validate(&badprog, k, msg, sizeof msg), -1);
  ck_assert_msg(strstr(msg, "'cbrt'") != NULL, "%s", msg);
}
END_TEST

Suite *reference_suite(void)
{
  Suite *s = suite_create("reference");
  TCase *tc = tcase_create("interpreter");
  tcase_add_test(tc, test_interpreter);
  suite_add_tcase(s, tc);
  size_t nk = optk_count();
  for (size_t ki = 0; ki < nk; ki++) {
    const optk_kernel *k = optk_at(ki);
    if (k->nnorms > 0)
      continue; /* no per-element program: suite_lamb checks it against the formula in long double */
    for (int isa = 0; isa < OPTK_ISA_COUNT; isa++) {
      if (!optk_isa_available((optk_isa)isa) || rf_nentries >= MAX_ENTRIES)
        continue;
      struct entry *e = &rf_entries[rf_nentries];
      char label[48];
      e->k = k;
      e->kidx = ki;
      e->isa = (optk_isa)isa;
      snprintf(e->name, sizeof e->name, "%s_%s", tu_kernel_label(label, sizeof label, k), tu_isa_names[isa]);
      TCase *tc = tcase_create(e->name);
      tcase_add_loop_test(tc, test_tracks_ir, rf_nentries * NRCASES, (rf_nentries + 1) * NRCASES);
      suite_add_tcase(s, tc);
      rf_nentries++;
    }
  }
  return s;
}
