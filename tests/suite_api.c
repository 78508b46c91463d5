/* api: the public contract of optkern.h.
 *
 * Nothing here lists the optimizers: the registry and the specs' IR
 * (generated/ir_programs.c) say what there is.
 *
 * Tcase "registry": optk_count, optk_at (every optimizer of the specs in
 *   every storage type, once), optk_find (near misses of every registered
 *   name, NULL, bad dtype values), optk_strerror; the seed optimizers'
 *   metadata as the README's contract states it (ref.c).
 * Tcases per kernel ("adam_f32"):
 *   test_metadata       names are distinct identifiers, defaults lie in their
 *                       domains, the accessors agree with the record
 *   test_bad_calls      NULL kernel/param/grad/state/state entry/hp, t < 1:
 *                       OPTK_EINVAL and not one byte of any array changed,
 *                       through optk_step and optk_step_isa on every ISA here
 *   test_hp_domains     every hyperparameter at and beyond its record's domain
 *                       bounds, NaN, infinities (switches: 0 and 1 only):
 *                       EINVAL untouched, or OPTK_OK; the same for
 *                       optk_init_state
 *   test_n0             n == 0 with NULL arrays is OPTK_OK (bad hp or t still
 *                       EINVAL), n == 0 with arrays touches nothing
 *   test_isa_args       unavailable ISA: OPTK_ENOTSUP untouched; out-of-range
 *                       ISA: OPTK_EINVAL untouched
 *   test_init_state_bad NULL kernel/hp/state/state entry, bad hp: EINVAL untouched
 * Tcase "wrappers": typed wrappers of optkern_generated.h give optk_step's
 *   bits, their default macros equal the defaults, NULL hp is EINVAL; the
 *   typed state initialisers fill what optk_init_state fills.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir_eval.h"
#include "ref.h"
#include "testutil.h"

static const optk_dtype all_dtypes[4] = {OPTK_F32, OPTK_F64, OPTK_BF16, OPTK_F16};

struct kentry {
  const optk_kernel *k;
  size_t kidx;
  char name[48];
};
#define MAX_KERNELS 4096
static struct kentry api_kernels[MAX_KERNELS];
static int api_nkernels;

/* ---- registry ------------------------------------------------------------ */

START_TEST(test_count_and_at)
{
  ck_assert_uint_eq(optk_registry_count, optk_count());
  ck_assert_uint_eq(optk_count(), (size_t)optk_irp_count * 4);
  ck_assert_ptr_null(optk_at(optk_count()));
  ck_assert_ptr_null(optk_at(optk_count() + 1));
  ck_assert_ptr_null(optk_at(SIZE_MAX));
  size_t n = optk_count();
  for (size_t i = 0; i < n; i++) {
    const optk_kernel *k = optk_at(i);
    ck_assert_msg(k != NULL, "optk_at(%zu) is NULL", i);
    ck_assert_ptr_eq(k, optk_registry[i]);
    ck_assert_msg(ire_find(optk_name(k)) != NULL, "optk_at(%zu) is \"%s\", which no spec defines", i,
                  optk_name(k));
    for (size_t j = 0; j < i; j++)
      ck_assert_msg(optk_at(j) != k, "optk_at(%zu) == optk_at(%zu)", i, j);
  }
  /* every optimizer of the specs x dtype, exactly once */
  for (int o = 0; o < optk_irp_count; o++)
    for (int d = 0; d < 4; d++) {
      const char *name = optk_irp_all[o].name;
      const optk_kernel *k = optk_find(name, all_dtypes[d]);
      ck_assert_msg(k != NULL, "optk_find(\"%s\", %s) is NULL", name, tu_dtype_name(all_dtypes[d]));
      int seen = 0;
      for (size_t i = 0; i < n; i++)
        seen += optk_at(i) == k;
      ck_assert_msg(seen == 1, "%s_%s appears %d times in optk_at", name, tu_dtype_name(all_dtypes[d]), seen);
      ck_assert_str_eq(optk_name(k), name);
      ck_assert_int_eq(optk_dtype_of(k), all_dtypes[d]);
    }
}
END_TEST

/* 1 if name is a registered optimizer */
static int registered(const char *name)
{
  for (size_t i = 0; i < optk_count(); i++)
    if (strcmp(optk_name(optk_at(i)), name) == 0)
      return 1;
  return 0;
}

/* Near misses of every registered name (case, spaces, a letter short or
 * long, a dtype suffix) that are not registered themselves: unknown. */
START_TEST(test_find_unknown)
{
  static const char *const fixed[] = {"", "sgd/", "nosuch", "optk_", " "};
  int tried = 0;
  for (size_t i = 0; i < optk_count() + sizeof fixed / sizeof fixed[0]; i++) {
    const char *base = i < optk_count() ? optk_name(optk_at(i)) : fixed[i - optk_count()];
    char cand[8][96];
    int nc = 0;
    snprintf(cand[nc++], sizeof cand[0], "%s", base);
    cand[nc - 1][0] = (char)(cand[nc - 1][0] ? cand[nc - 1][0] - 'a' + 'A' : 0);
    snprintf(cand[nc++], sizeof cand[0], "%s ", base);
    snprintf(cand[nc++], sizeof cand[0], " %s", base);
    snprintf(cand[nc++], sizeof cand[0], "%s\t", base);
    snprintf(cand[nc++], sizeof cand[0], "%s_", base);
    snprintf(cand[nc++], sizeof cand[0], "%s_f32", base);
    snprintf(cand[nc++], sizeof cand[0], "%s", base);
    if (cand[nc - 1][0] != '\0')
      cand[nc - 1][strlen(cand[nc - 1]) - 1] = '\0';
    snprintf(cand[nc++], sizeof cand[0], "%sx", base);
    for (int c = 0; c < nc; c++) {
      if (registered(cand[c]))
        continue;
      tried++;
      for (int d = 0; d < 4; d++)
        ck_assert_msg(optk_find(cand[c], all_dtypes[d]) == NULL, "optk_find(\"%s\", %s) is not NULL", cand[c],
                      tu_dtype_name(all_dtypes[d]));
    }
  }
  ck_assert_int_gt(tried, (int)optk_count());
  for (int d = 0; d < 4; d++)
    ck_assert_ptr_null(optk_find(NULL, all_dtypes[d]));
  static const int bad_dtypes[] = {4, 5, -1, 99, 1000};
  for (size_t i = 0; i < sizeof bad_dtypes / sizeof bad_dtypes[0]; i++)
    for (size_t k = 0; k < optk_count(); k++)
      ck_assert_msg(optk_find(optk_name(optk_at(k)), (optk_dtype)bad_dtypes[i]) == NULL,
                    "optk_find(\"%s\", %d) is not NULL", optk_name(optk_at(k)), bad_dtypes[i]);
}
END_TEST

/* The seed optimizers as README's contract states them (ref.c's table):
 * present in every storage type with these names and defaults. */
START_TEST(test_seed_contract)
{
  for (int o = 0; o < REF_NOPT; o++)
    for (int dd = 0; dd < 4; dd++) {
      const struct ref_desc *d = &ref_descs[o];
      const optk_kernel *k = optk_find(d->name, all_dtypes[dd]);
      ck_assert_msg(k != NULL, "optk_find(\"%s\", %s) is NULL", d->name, tu_dtype_name(all_dtypes[dd]));
      ck_assert_int_eq(optk_nhparams(k), d->nhp);
      for (int i = 0; i < d->nhp; i++) {
        ck_assert_str_eq(optk_hparam_name(k, i), d->hp_names[i]);
        ck_assert_msg(tu_f64_bits(optk_hparam_default(k, i)) == tu_f64_bits(d->hp_def[i]),
                      "%s: default of %s is %a, the contract says %a", d->name, d->hp_names[i],
                      optk_hparam_default(k, i), d->hp_def[i]);
      }
      ck_assert_int_eq(optk_nstate(k), d->nstate);
      for (int j = 0; j < d->nstate; j++)
        ck_assert_str_eq(optk_state_name(k, j), d->state_names[j]);
    }
}
END_TEST

START_TEST(test_strerror)
{
  const char *ok = optk_strerror(OPTK_OK), *inval = optk_strerror(OPTK_EINVAL),
             *notsup = optk_strerror(OPTK_ENOTSUP);
  ck_assert_ptr_nonnull(ok);
  ck_assert_ptr_nonnull(inval);
  ck_assert_ptr_nonnull(notsup);
  ck_assert_msg(ok[0] && inval[0] && notsup[0], "empty message");
  ck_assert_str_ne(ok, inval);
  ck_assert_str_ne(ok, notsup);
  ck_assert_str_ne(inval, notsup);
  static const int unknown[] = {1, -3, 12345, -99, INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    const char *m = optk_strerror(unknown[i]);
    ck_assert_msg(m != NULL && m[0] != '\0', "optk_strerror(%d) gives no message", unknown[i]);
    ck_assert_msg(strcmp(m, ok) != 0, "optk_strerror(%d) says \"%s\", like OPTK_OK",
                  unknown[i], m);
  }
}
END_TEST

/* ---- metadata ------------------------------------------------------------ */

static int is_identifier(const char *s)
{
  if (s == NULL || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
    return 0;
  for (; *s; s++)
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
      return 0;
  return 1;
}

START_TEST(test_metadata)
{
  const struct kentry *e = &api_kernels[_i];
  const optk_kernel *k = e->k;
  ck_assert_msg(is_identifier(optk_name(k)), "%s: name \"%s\"", e->name, optk_name(k));
  ck_assert_ptr_eq(optk_find(optk_name(k), optk_dtype_of(k)), k);
  const int nh = optk_nhparams(k), ns = optk_nstate(k);
  ck_assert_msg(nh >= 0 && nh <= TU_MAX_HP, "%s: %d hyperparameters", e->name, nh);
  ck_assert_msg(ns >= 0 && ns <= OPTK_MAX_STATE, "%s: %d state arrays", e->name, ns);
  ck_assert_int_eq(nh, k->nhparams);
  ck_assert_int_eq(ns, k->nstate);
  const struct optk_irp *prog = ire_find(optk_name(k));
  ck_assert_msg(prog != NULL, "%s: no IR program", e->name);
  char msg[256];
  ck_assert_msg(ire_validate(prog, k, msg, sizeof msg) == 0, "%s", msg);
  for (int i = 0; i < nh; i++) {
    const char *nm = optk_hparam_name(k, i);
    ck_assert_msg(is_identifier(nm) && nm == k->hparams[i].name, "%s: hparam %d is \"%s\"", e->name, i,
                  nm ? nm : "(null)");
    for (int j = 0; j < i; j++)
      ck_assert_msg(strcmp(nm, optk_hparam_name(k, j)) != 0, "%s: hparam %s twice", e->name, nm);
    const double def = optk_hparam_default(k, i);
    ck_assert_msg(tu_f64_bits(def) == tu_f64_bits(k->hparams[i].def), "%s: default of %s", e->name, nm);
    ck_assert_msg(tu_hp_in_domain(k, i, def), "%s: default %a of %s lies outside its domain", e->name, def, nm);
  }
  ck_assert_ptr_null(optk_hparam_name(k, nh));
  ck_assert_ptr_null(optk_hparam_name(k, -1));
  ck_assert(isnan(optk_hparam_default(k, nh)));
  double hp[TU_MAX_HP + 2];
  for (int i = 0; i < TU_MAX_HP + 2; i++)
    hp[i] = -12345.0;
  optk_default_hparams(k, hp);
  for (int i = 0; i < nh; i++)
    ck_assert_msg(tu_f64_bits(hp[i]) == tu_f64_bits(optk_hparam_default(k, i)),
                  "%s: optk_default_hparams[%d] = %a, want %a", e->name, i, hp[i], optk_hparam_default(k, i));
  ck_assert_msg(hp[nh] == -12345.0, "%s: optk_default_hparams wrote past %d values", e->name, nh);
  for (int j = 0; j < ns; j++) {
    const char *nm = optk_state_name(k, j);
    ck_assert_msg(is_identifier(nm), "%s: state %d is \"%s\"", e->name, j, nm ? nm : "(null)");
    for (int q = 0; q < j; q++)
      ck_assert_msg(strcmp(nm, optk_state_name(k, q)) != 0, "%s: state %s twice", e->name, nm);
    for (int i = 0; i < nh; i++)
      ck_assert_msg(strcmp(nm, optk_hparam_name(k, i)) != 0, "%s: %s is state and hyperparameter", e->name, nm);
  }
  ck_assert_ptr_null(optk_state_name(k, ns));
  ck_assert_ptr_null(optk_state_name(k, -1));
}
END_TEST

/* ---- bad calls ------------------------------------------------------------ */

/* A problem filled with random bits and a pristine copy to compare with. */
struct fixture {
  tu_prob pr, orig;
  double hp[OPTK_MAX_HPARAMS]; /* optk_default_hparams fills nhparams */
};

static void fixture_init(struct fixture *f, const optk_kernel *k, size_t n)
{
  tu_rng r;
  tu_seed(&r, 7 + n);
  tu_prob_init(&f->pr, k, n, 2, 2);
  tu_prob_init(&f->orig, k, n, 2, 2);
  tu_prob_fill(&f->pr, TU_VAL_BITS, &r);
  tu_prob_copy(&f->orig, &f->pr);
  optk_default_hparams(k, f->hp);
}

static void fixture_reset(struct fixture *f)
{
  tu_prob_copy(&f->pr, &f->orig);
}

/* 1 if no byte of any buffer changed */
static int fixture_untouched(const struct fixture *f)
{
  for (int a = 0; a < f->pr.narr; a++)
    if (memcmp(f->pr.buf[a], f->orig.buf[a], f->pr.bytes[a]) != 0)
      return 0;
  return 1;
}

static void fixture_free(struct fixture *f)
{
  tu_prob_free(&f->pr);
  tu_prob_free(&f->orig);
}

/* Calls optk_step (isa < 0) or optk_step_isa; with the given replacements. */
/* The contract's judgment of a call (defined with the limits tests at the
 * end of this file): every hyperparameter in its domain before and after
 * rounding to the compute type, and what prep() (step) or state_init()
 * (init) derive from them representable there. */
static int model_step_ok(const optk_kernel *k, const double *hp, int64_t t);
static int model_init_ok(const optk_kernel *k, const double *hp);

struct call {
  const optk_kernel *k;
  size_t n;
  void *p;
  const void *g;
  void *const *state;
  const double *hp;
  int64_t t;
};

static int do_call(const struct call *c, int isa)
{
  if (isa < 0)
    return optk_step(c->k, c->n, c->p, c->g, c->state, c->hp, c->t);
  return optk_step_isa(c->k, (optk_isa)isa, c->n, c->p, c->g, c->state, c->hp, c->t);
}

static const char *via_name(int isa)
{
  return isa < 0 ? "optk_step" : tu_isa_names[isa];
}

/* Expects rc == want and, for errors, untouched memory; via optk_step and
 * optk_step_isa on every available ISA. */
static void expect_call(struct fixture *f, const struct call *c, int want, const char *kname,
                        const char *what)
{
  for (int isa = -1; isa < OPTK_ISA_COUNT; isa++) {
    if (isa >= 0 && !optk_isa_available((optk_isa)isa))
      continue;
    fixture_reset(f);
    int rc = do_call(c, isa);
    ck_assert_msg(rc == want, "%s, %s: %s returned %d (%s), want %d", kname, what, via_name(isa),
                  rc, optk_strerror(rc), want);
    if (want != OPTK_OK)
      ck_assert_msg(fixture_untouched(f), "%s, %s: %s returned %d but changed memory", kname,
                    what, via_name(isa), rc);
  }
}

START_TEST(test_bad_calls)
{
  const struct kentry *e = &api_kernels[_i];
  const int ns = optk_nstate(e->k);
  struct fixture f;
  fixture_init(&f, e->k, 37);
  const struct call good = {e->k, 37, f.pr.arr[0], f.pr.arr[1], f.pr.state, f.hp, 1};
  struct call c;

  expect_call(&f, &good, OPTK_OK, e->name, "valid call");
  c = good;
  c.k = NULL;
  expect_call(&f, &c, OPTK_EINVAL, e->name, "NULL kernel");
  c = good;
  c.p = NULL;
  expect_call(&f, &c, OPTK_EINVAL, e->name, "NULL param");
  c = good;
  c.g = NULL;
  expect_call(&f, &c, OPTK_EINVAL, e->name, "NULL grad");
  c = good;
  c.hp = NULL;
  expect_call(&f, &c, OPTK_EINVAL, e->name, "NULL hp");
  c = good;
  c.state = NULL;
  expect_call(&f, &c, ns > 0 ? OPTK_EINVAL : OPTK_OK, e->name, "NULL state array");
  for (int j = 0; j < ns; j++) {
    void *st[OPTK_MAX_STATE];
    for (int q = 0; q < ns; q++)
      st[q] = q == j ? NULL : f.pr.state[q];
    c = good;
    c.state = st;
    char what[64];
    snprintf(what, sizeof what, "NULL state[%d] (%s)", j, optk_state_name(e->k, j));
    expect_call(&f, &c, OPTK_EINVAL, e->name, what);
  }
  static const int64_t bad_t[] = {0, -1, -2, INT64_MIN, INT64_MIN + 1};
  for (size_t i = 0; i < sizeof bad_t / sizeof bad_t[0]; i++) {
    c = good;
    c.t = bad_t[i];
    char what[64];
    snprintf(what, sizeof what, "t=%" PRId64, bad_t[i]);
    expect_call(&f, &c, OPTK_EINVAL, e->name, what);
  }
  /* Any t >= 1 is accepted, but where the per-call constants are not finite
   * there: a product over the steps (prod() in a spec: the NAdams) is NaN
   * beyond 2^32 steps rather than a loop over them, and so refused. */
  static const int64_t good_t[] = {1, 2, 1000, INT64_MAX};
  for (size_t i = 0; i < sizeof good_t / sizeof good_t[0]; i++) {
    c = good;
    c.t = good_t[i];
    char what[64];
    snprintf(what, sizeof what, "t=%" PRId64, good_t[i]);
    const int ok = good_t[i] <= 1000 || model_step_ok(e->k, c.hp, c.t);
    expect_call(&f, &c, ok ? OPTK_OK : OPTK_EINVAL, e->name, what);
  }
  fixture_free(&f);
}
END_TEST

/* Values at and around hyperparameter h's domain, from its record; whether
 * each is in it is the record's to say (tu_hp_in_domain), and the test
 * checks that optk_step and optk_init_state enforce exactly that, after
 * rounding to the compute type (model_step_ok, model_init_ok). */
static int domain_values(const optk_kernel *k, int h, double *out)
{
  const struct optk_hparam *d = &k->hparams[h];
  int n = 0;
  const double tiny = 4.9406564584124654e-324; /* smallest denormal */
  const double fixed[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0, -0.0, tiny, -tiny, 1.0, -1.0, 0.5, 2.0, 1e300, -1e300};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    out[n++] = fixed[i];
  const double bounds[2] = {d->lo, d->hi};
  for (int b = 0; b < 2; b++)
    if (isfinite(bounds[b])) {
      out[n++] = bounds[b];
      out[n++] = nextafter(bounds[b], -INFINITY);
      out[n++] = nextafter(bounds[b], INFINITY);
    }
  if (isfinite(d->lo) && isfinite(d->hi))
    out[n++] = d->lo + (d->hi - d->lo) / 3;
  out[n++] = d->def;
  out[n++] = nextafter(d->def, INFINITY);
  out[n++] = nextafter(d->def, -INFINITY);
  return n;
}

START_TEST(test_hp_domains)
{
  const struct kentry *e = &api_kernels[_i];
  const int nh = optk_nhparams(e->k);
  struct fixture f;
  fixture_init(&f, e->k, 19);
  int nvalid = 0, ninvalid = 0;
  for (int h = 0; h < nh; h++) {
    const char *name = optk_hparam_name(e->k, h);
    double vals[32];
    int nv = domain_values(e->k, h, vals);
    for (int q = 0; q < nv; q++) {
      const int valid = tu_hp_in_domain(e->k, h, vals[q]);
      double hp[TU_MAX_HP];
      optk_default_hparams(e->k, hp);
      hp[h] = vals[q];
      const struct call c = {e->k, 19, f.pr.arr[0], f.pr.arr[1], f.pr.state, hp, 1};
      char what[96];
      snprintf(what, sizeof what, "%s=%a (%g)", name, vals[q], vals[q]);
      /* in the domain, and still in it in the compute type (1e300 is inf in float) */
      const int step_ok = valid && model_step_ok(e->k, hp, 1);
      const int init_ok = valid && model_init_ok(e->k, hp);
      expect_call(&f, &c, step_ok ? OPTK_OK : OPTK_EINVAL, e->name, what);
      /* optk_init_state validates the same domain */
      fixture_reset(&f);
      int rc = optk_init_state(e->k, 19, f.pr.state, hp);
      ck_assert_msg(rc == (init_ok ? OPTK_OK : OPTK_EINVAL), "%s, %s: optk_init_state returned %d", e->name,
                    what, rc);
      if (!init_ok)
        ck_assert_msg(fixture_untouched(&f), "%s, %s: optk_init_state failed but changed memory", e->name,
                      what);
      if (valid)
        nvalid++;
      else
        ninvalid++;
    }
  }
  if (nh > 0) {
    ck_assert_int_gt(nvalid, 0);
    ck_assert_int_gt(ninvalid, 0);
  }
  fixture_free(&f);
}
END_TEST

START_TEST(test_n0)
{
  const struct kentry *e = &api_kernels[_i];
  struct fixture f;
  fixture_init(&f, e->k, 5);
  struct call c = {e->k, 0, NULL, NULL, NULL, f.hp, 1};
  expect_call(&f, &c, OPTK_OK, e->name, "n=0, NULL arrays");
  void *nulls[OPTK_MAX_STATE] = {0};
  c.state = nulls;
  expect_call(&f, &c, OPTK_OK, e->name, "n=0, state of NULL entries");
  /* arrays given, n = 0: nothing may change (fixture_untouched after OK) */
  c = (struct call){e->k, 0, f.pr.arr[0], f.pr.arr[1], f.pr.state, f.hp, 1};
  for (int isa = -1; isa < OPTK_ISA_COUNT; isa++) {
    if (isa >= 0 && !optk_isa_available((optk_isa)isa))
      continue;
    fixture_reset(&f);
    ck_assert_int_eq(do_call(&c, isa), OPTK_OK);
    ck_assert_msg(fixture_untouched(&f), "%s: n=0 changed memory (%s)", e->name, via_name(isa));
  }
  /* the other checks still apply at n = 0 */
  c = (struct call){e->k, 0, NULL, NULL, NULL, f.hp, 0};
  expect_call(&f, &c, OPTK_EINVAL, e->name, "n=0, t=0");
  c.t = 1;
  c.k = NULL;
  expect_call(&f, &c, OPTK_EINVAL, e->name, "n=0, NULL kernel");
  c.k = e->k;
  c.hp = NULL;
  expect_call(&f, &c, OPTK_EINVAL, e->name, "n=0, NULL hp");
  double bad[TU_MAX_HP];
  memcpy(bad, f.hp, sizeof bad);
  bad[0] = NAN;
  c.hp = bad;
  if (optk_nhparams(e->k) > 0)
    expect_call(&f, &c, OPTK_EINVAL, e->name, "n=0, first hyperparameter NaN");
  /* optk_init_state at n = 0 */
  ck_assert_int_eq(optk_init_state(e->k, 0, NULL, f.hp), OPTK_OK);
  fixture_reset(&f);
  ck_assert_int_eq(optk_init_state(e->k, 0, f.pr.state, f.hp), OPTK_OK);
  ck_assert_msg(fixture_untouched(&f), "%s: optk_init_state with n=0 changed memory", e->name);
  fixture_free(&f);
}
END_TEST

START_TEST(test_isa_args)
{
  const struct kentry *e = &api_kernels[_i];
  struct fixture f;
  fixture_init(&f, e->k, 23);
  const struct call c = {e->k, 23, f.pr.arr[0], f.pr.arr[1], f.pr.state, f.hp, 1};
  int nsup = 0;
  for (int isa = 0; isa < OPTK_ISA_COUNT; isa++) {
    fixture_reset(&f);
    int rc = do_call(&c, isa);
    if (optk_isa_available((optk_isa)isa)) {
      ck_assert_msg(rc == OPTK_OK, "%s: optk_step_isa(%s) returned %d", e->name,
                    tu_isa_names[isa], rc);
      continue;
    }
    nsup++;
    ck_assert_msg(rc == OPTK_ENOTSUP, "%s: optk_step_isa(%s), not available here, returned %d",
                  e->name, tu_isa_names[isa], rc);
    ck_assert_msg(fixture_untouched(&f), "%s: optk_step_isa(%s) returned ENOTSUP but wrote",
                  e->name, tu_isa_names[isa]);
  }
#if OPTK_ARCH_X86_64 || OPTK_ARCH_AARCH64
  ck_assert_msg(nsup >= 2, "%d ISAs of the other architecture are unavailable, want >= 2", nsup);
#endif
  static const int bad_isa[] = {OPTK_ISA_COUNT, 6, 99, -1, -100, INT32_MAX, INT32_MIN};
  for (size_t i = 0; i < sizeof bad_isa / sizeof bad_isa[0]; i++) {
    fixture_reset(&f);
    int rc = optk_step_isa(c.k, (optk_isa)bad_isa[i], c.n, c.p, c.g, c.state, c.hp, c.t);
    ck_assert_msg(rc == OPTK_EINVAL, "%s: optk_step_isa(isa=%d) returned %d", e->name, bad_isa[i],
                  rc);
    ck_assert_msg(fixture_untouched(&f), "%s: optk_step_isa(isa=%d) changed memory", e->name,
                  bad_isa[i]);
  }
  fixture_free(&f);
}
END_TEST

struct ibad {
  const char *what;
  const optk_kernel *k;
  void *const *state;
  const double *hp;
  int want;
};

START_TEST(test_init_state_bad)
{
  const struct kentry *e = &api_kernels[_i];
  const int ns = optk_nstate(e->k);
  struct fixture f;
  fixture_init(&f, e->k, 11);
  struct ibad cases[3 + OPTK_MAX_STATE];
  int nc = 0;
  void *st[OPTK_MAX_STATE][OPTK_MAX_STATE];
  cases[nc++] = (struct ibad){"NULL kernel", NULL, f.pr.state, f.hp, OPTK_EINVAL};
  cases[nc++] = (struct ibad){"NULL hp", e->k, f.pr.state, NULL, OPTK_EINVAL};
  cases[nc++] = (struct ibad){"NULL state array", e->k, NULL, f.hp, ns > 0 ? OPTK_EINVAL : OPTK_OK};
  for (int j = 0; j < ns; j++) {
    for (int q = 0; q < ns; q++)
      st[j][q] = q == j ? NULL : f.pr.state[q];
    cases[nc++] = (struct ibad){"NULL state entry", e->k, st[j], f.hp, OPTK_EINVAL};
  }
  for (int i = 0; i < nc; i++) {
    fixture_reset(&f);
    int rc = optk_init_state(cases[i].k, 11, cases[i].state, cases[i].hp);
    ck_assert_msg(rc == cases[i].want, "%s, optk_init_state with %s: returned %d, want %d",
                  e->name, cases[i].what, rc, cases[i].want);
    if (cases[i].want != OPTK_OK)
      ck_assert_msg(fixture_untouched(&f), "%s, optk_init_state with %s: changed memory",
                    e->name, cases[i].what);
  }
  fixture_free(&f);
}
END_TEST

/* ---- typed wrappers ------------------------------------------------------- */

struct wctx {
  const optk_kernel *k;
  struct fixture f;
  tu_prob viastep;
  const char *label;
  size_t n;
};

static void wctx_begin(struct wctx *w, const char *name, optk_dtype dt, const char *label,
                       const double *macro_defaults)
{
  w->k = optk_find(name, dt);
  ck_assert_msg(w->k != NULL, "optk_find(\"%s\", %s)", name, tu_dtype_name(dt));
  w->label = label;
  w->n = 77;
  tu_rng r;
  tu_seed(&r, 31337);
  tu_prob_init(&w->f.pr, w->k, w->n, 2, 2);
  tu_prob_init(&w->f.orig, w->k, w->n, 2, 2);
  tu_prob_init(&w->viastep, w->k, w->n, 2, 2);
  tu_prob_fill(&w->f.pr, TU_VAL_NORMAL, &r);
  tu_prob_copy(&w->f.orig, &w->f.pr);
  tu_prob_copy(&w->viastep, &w->f.pr);
  for (int i = 0; i < optk_nhparams(w->k); i++)
    ck_assert_msg(tu_f64_bits(macro_defaults[i]) == tu_f64_bits(optk_hparam_default(w->k, i)),
                  "%s: default macro field %s = %a, optk_hparam_default = %a", label,
                  optk_hparam_name(w->k, i), macro_defaults[i], optk_hparam_default(w->k, i));
}

/* after a wrapper call with NULL hp (rc_null) and a valid one (rc) on w->f.pr */
static void wctx_end(struct wctx *w, int rc_null, int rc_bad_t, int rc, const double *hp,
                     int64_t t)
{
  ck_assert_msg(rc_null == OPTK_EINVAL, "%s with NULL hp returned %d", w->label, rc_null);
  ck_assert_msg(rc_bad_t == OPTK_EINVAL, "%s with t=0 returned %d", w->label, rc_bad_t);
  ck_assert_msg(rc == OPTK_OK, "%s returned %d", w->label, rc);
  ck_assert_int_eq(tu_prob_step(&w->viastep, -1, hp, t), OPTK_OK);
  int arr;
  size_t i = tu_prob_diff(&w->viastep, &w->f.pr, &arr);
  if (i != SIZE_MAX) {
    char a[64], b[64];
    optk_dtype ty = tu_arr_type(&w->viastep, arr);
    ck_assert_msg(0, "%s: %s[%zu] optk_step=%s wrapper=%s", w->label,
                  tu_arr_name(&w->viastep, arr), i, tu_fmt(a, sizeof a, ty, w->viastep.arr[arr], i),
                  tu_fmt(b, sizeof b, ty, w->f.pr.arr[arr], i));
  }
  ck_assert(memcmp(w->viastep.buf[1], w->f.pr.buf[1], w->f.pr.bytes[1]) == 0);
  fixture_free(&w->f);
  tu_prob_free(&w->viastep);
}

/* Calls wrapper W with the state arguments SARGS three times: NULL hp, t=0
 * (both must leave memory untouched), then hp at t = 3. */
#define WRAP_RUN(W, HP, SARGS)                                                                    \
  do {                                                                                            \
    void *const *s_ = w.f.pr.state;                                                               \
    (void)s_;                                                                                     \
    int rc_null_ = W(w.n, w.f.pr.arr[0], w.f.pr.arr[1] SARGS, NULL, 3);                           \
    ck_assert_msg(fixture_untouched(&w.f), "%s with NULL hp changed memory", w.label);            \
    int rc_t0_ = W(w.n, w.f.pr.arr[0], w.f.pr.arr[1] SARGS, &(HP), 0);                            \
    ck_assert_msg(fixture_untouched(&w.f), "%s with t=0 changed memory", w.label);                \
    int rc_ = W(w.n, w.f.pr.arr[0], w.f.pr.arr[1] SARGS, &(HP), 3);                               \
    wctx_end(&w, rc_null_, rc_t0_, rc_, hpa, 3);                                                  \
  } while (0)
#define S0
#define S1 , s_[0]
#define S2 , s_[0], s_[1]
#define S3 , s_[0], s_[1], s_[2]

START_TEST(test_wrappers)
{
  struct wctx w;
  {
    optk_sgd_hparams h = OPTK_SGD_HPARAMS_DEFAULT;
    const double def[] = {h.lr};
    wctx_begin(&w, "sgd", OPTK_F32, "optk_sgd_f32", def);
    h.lr = 0.125;
    const double hpa[] = {h.lr};
    WRAP_RUN(optk_sgd_f32, h, S0);
  }
  {
    optk_sgd_nesterov_hparams h = OPTK_SGD_NESTEROV_HPARAMS_DEFAULT;
    const double def[] = {h.lr, h.momentum};
    wctx_begin(&w, "sgd_nesterov", OPTK_BF16, "optk_sgd_nesterov_bf16", def);
    h.lr = 0.03;
    h.momentum = 0.7;
    const double hpa[] = {h.lr, h.momentum};
    WRAP_RUN(optk_sgd_nesterov_bf16, h, S1);
  }
  {
    optk_sgd_momentum_hparams h = OPTK_SGD_MOMENTUM_HPARAMS_DEFAULT;
    const double def[] = {h.lr, h.momentum};
    wctx_begin(&w, "sgd_momentum", OPTK_F64, "optk_sgd_momentum_f64", def);
    h.momentum = 0.5;
    const double hpa[] = {h.lr, h.momentum};
    WRAP_RUN(optk_sgd_momentum_f64, h, S1);
  }
  {
    optk_adagrad_hparams h = OPTK_ADAGRAD_HPARAMS_DEFAULT;
    const double def[] = {h.lr, h.eps, h.initial_accumulator_value};
    wctx_begin(&w, "adagrad", OPTK_F16, "optk_adagrad_f16", def);
    h.lr = 0.01;
    h.eps = 1e-5;
    h.initial_accumulator_value = 0.7;
    const double hpa[] = {h.lr, h.eps, h.initial_accumulator_value};
    WRAP_RUN(optk_adagrad_f16, h, S1);
  }
  {
    optk_rmsprop_hparams h = OPTK_RMSPROP_HPARAMS_DEFAULT;
    const double def[] = {h.lr, h.rho, h.eps};
    wctx_begin(&w, "rmsprop", OPTK_F32, "optk_rmsprop_f32", def);
    h.rho = 0.8;
    const double hpa[] = {h.lr, h.rho, h.eps};
    WRAP_RUN(optk_rmsprop_f32, h, S1);
  }
  {
    optk_rmsprop_momentum_hparams h = OPTK_RMSPROP_MOMENTUM_HPARAMS_DEFAULT;
    const double def[] = {h.lr, h.rho, h.eps, h.momentum};
    wctx_begin(&w, "rmsprop_momentum", OPTK_F64, "optk_rmsprop_momentum_f64", def);
    h.momentum = 0.3;
    const double hpa[] = {h.lr, h.rho, h.eps, h.momentum};
    WRAP_RUN(optk_rmsprop_momentum_f64, h, S2);
  }
  {
    optk_rmsprop_centered_hparams h = OPTK_RMSPROP_CENTERED_HPARAMS_DEFAULT;
    const double def[] = {h.lr, h.rho, h.eps};
    wctx_begin(&w, "rmsprop_centered", OPTK_BF16, "optk_rmsprop_centered_bf16", def);
    h.eps = 1e-3;
    const double hpa[] = {h.lr, h.rho, h.eps};
    WRAP_RUN(optk_rmsprop_centered_bf16, h, S2);
  }
  {
    optk_rmsprop_centered_momentum_hparams h = OPTK_RMSPROP_CENTERED_MOMENTUM_HPARAMS_DEFAULT;
    const double def[] = {h.lr, h.rho, h.eps, h.momentum};
    wctx_begin(&w, "rmsprop_centered_momentum", OPTK_F32, "optk_rmsprop_centered_momentum_f32",
               def);
    h.lr = 0.002;
    h.rho = 0.95;
    const double hpa[] = {h.lr, h.rho, h.eps, h.momentum};
    WRAP_RUN(optk_rmsprop_centered_momentum_f32, h, S3);
  }
  {
    optk_adam_hparams h = OPTK_ADAM_HPARAMS_DEFAULT;
    const double def[] = {h.lr, h.beta1, h.beta2, h.eps};
    wctx_begin(&w, "adam", OPTK_F32, "optk_adam_f32", def);
    h.lr = 0.003;
    h.beta1 = 0.8;
    h.beta2 = 0.99;
    h.eps = 1e-6;
    const double hpa[] = {h.lr, h.beta1, h.beta2, h.eps};
    WRAP_RUN(optk_adam_f32, h, S2);
  }
  {
    optk_adam_hparams h = OPTK_ADAM_HPARAMS_DEFAULT;
    const double def[] = {h.lr, h.beta1, h.beta2, h.eps};
    wctx_begin(&w, "adam", OPTK_BF16, "optk_adam_bf16", def);
    const double hpa[] = {h.lr, h.beta1, h.beta2, h.eps};
    WRAP_RUN(optk_adam_bf16, h, S2);
  }
  {
    optk_adam_amsgrad_hparams h = OPTK_ADAM_AMSGRAD_HPARAMS_DEFAULT;
    const double def[] = {h.lr, h.beta1, h.beta2, h.eps};
    wctx_begin(&w, "adam_amsgrad", OPTK_F16, "optk_adam_amsgrad_f16", def);
    h.beta2 = 0.9;
    const double hpa[] = {h.lr, h.beta1, h.beta2, h.eps};
    WRAP_RUN(optk_adam_amsgrad_f16, h, S3);
  }
  {
    optk_adamax_hparams h = OPTK_ADAMAX_HPARAMS_DEFAULT;
    const double def[] = {h.lr, h.beta1, h.beta2, h.eps};
    wctx_begin(&w, "adamax", OPTK_F64, "optk_adamax_f64", def);
    h.lr = 0.02;
    h.beta1 = 0.0;
    const double hpa[] = {h.lr, h.beta1, h.beta2, h.eps};
    WRAP_RUN(optk_adamax_f64, h, S2);
  }
}
END_TEST

/* Typed state initialisers: optk_<opt>_<dtype>_init(n, state..., hp) fill
 * what optk_init_state fills; NULL hp is EINVAL and writes nothing. */
#define INIT_N 29
static void fill_garbage(void *a, size_t bytes, unsigned seed)
{
  unsigned char *b = a;
  for (size_t i = 0; i < bytes; i++)
    b[i] = (unsigned char)(seed * 131u + i * 7u + 1u);
}

START_TEST(test_init_wrappers)
{
  {
    optk_adagrad_hparams h = OPTK_ADAGRAD_HPARAMS_DEFAULT;
    h.initial_accumulator_value = 0.7;
    const double hp[] = {h.lr, h.eps, h.initial_accumulator_value};
    float a[INIT_N], b[INIT_N], keep[INIT_N];
    fill_garbage(a, sizeof a, 1);
    memcpy(b, a, sizeof a);
    memcpy(keep, a, sizeof a);
    ck_assert_int_eq(optk_adagrad_f32_init(INIT_N, a, NULL), OPTK_EINVAL);
    ck_assert_msg(memcmp(a, keep, sizeof a) == 0, "optk_adagrad_f32_init(NULL hp) wrote");
    ck_assert_int_eq(optk_adagrad_f32_init(INIT_N, a, &h), OPTK_OK);
    void *st[] = {b};
    ck_assert_int_eq(optk_init_state(optk_find("adagrad", OPTK_F32), INIT_N, st, hp), OPTK_OK);
    ck_assert_msg(memcmp(a, b, sizeof a) == 0, "optk_adagrad_f32_init differs from optk_init_state");
    for (int i = 0; i < INIT_N; i++)
      ck_assert_msg(tu_f32_bits(a[i]) == tu_f32_bits(0.7f), "acc[%d] = %a", i, (double)a[i]);
  }
  {
    optk_adam_hparams h = OPTK_ADAM_HPARAMS_DEFAULT;
    const double hp[] = {h.lr, h.beta1, h.beta2, h.eps};
    float m[INIT_N], v[INIT_N], m2[INIT_N], v2[INIT_N];
    fill_garbage(m, sizeof m, 2);
    fill_garbage(v, sizeof v, 3);
    memcpy(m2, m, sizeof m);
    memcpy(v2, v, sizeof v);
    ck_assert_int_eq(optk_adam_bf16_init(INIT_N, m, v, NULL), OPTK_EINVAL);
    ck_assert_msg(memcmp(m, m2, sizeof m) == 0 && memcmp(v, v2, sizeof v) == 0,
                  "optk_adam_bf16_init(NULL hp) wrote");
    ck_assert_int_eq(optk_adam_bf16_init(INIT_N, m, v, &h), OPTK_OK);
    void *st[] = {m2, v2};
    ck_assert_int_eq(optk_init_state(optk_find("adam", OPTK_BF16), INIT_N, st, hp), OPTK_OK);
    ck_assert_msg(memcmp(m, m2, sizeof m) == 0 && memcmp(v, v2, sizeof v) == 0,
                  "optk_adam_bf16_init differs from optk_init_state");
  }
  {
    optk_rmsprop_centered_momentum_hparams h = OPTK_RMSPROP_CENTERED_MOMENTUM_HPARAMS_DEFAULT;
    const double hp[] = {h.lr, h.rho, h.eps, h.momentum};
    double s[3][INIT_N], r[3][INIT_N];
    fill_garbage(s, sizeof s, 4);
    memcpy(r, s, sizeof s);
    ck_assert_int_eq(optk_rmsprop_centered_momentum_f64_init(INIT_N, s[0], s[1], s[2], NULL),
                     OPTK_EINVAL);
    ck_assert_msg(memcmp(s, r, sizeof s) == 0, "optk_rmsprop_centered_momentum_f64_init wrote");
    ck_assert_int_eq(optk_rmsprop_centered_momentum_f64_init(INIT_N, s[0], s[1], s[2], &h),
                     OPTK_OK);
    void *st[] = {r[0], r[1], r[2]};
    ck_assert_int_eq(
        optk_init_state(optk_find("rmsprop_centered_momentum", OPTK_F64), INIT_N, st, hp),
        OPTK_OK);
    ck_assert_msg(memcmp(s, r, sizeof s) == 0,
                  "optk_rmsprop_centered_momentum_f64_init differs from optk_init_state");
  }
}
END_TEST

/* sgd keeps no state: state == NULL is fine and the update is exact here */
START_TEST(test_sgd_null_state)
{
  const optk_dtype dt = all_dtypes[_i];
  const optk_kernel *k = optk_find("sgd", dt);
  ck_assert_ptr_nonnull(k);
  ck_assert_int_eq(optk_nstate(k), 0);
  unsigned char p[8 * 9], g[8 * 9];
  for (size_t i = 0; i < 9; i++) {
    tu_put(dt, p, i, 3.0 + (double)i);
    tu_put(dt, g, i, 2.0);
  }
  const double hp[1] = {0.5};
  ck_assert_int_eq(optk_step(k, 9, p, g, NULL, hp, 1), OPTK_OK);
  for (size_t i = 0; i < 9; i++)
    ck_assert_msg(tu_get(dt, p, i) == 2.0 + (double)i, "sgd_%s: p[%zu] = %g, want %g",
                  tu_dtype_name(dt), i, tu_get(dt, p, i), 2.0 + (double)i);
}
END_TEST

/* ---- limits ------------------------------------------------------------------
 * Registry-driven (every kernel of optk_at, every hyperparameter's domain from
 * its record), so kernels added later are covered without edits:
 *   test_domain_bounds  each hyperparameter at and around its bounds, at the
 *                       float rounding boundaries next to them, and in every
 *                       double class, the others at their defaults or domain
 *                       extremes: OPTK_OK exactly when model_step_ok says so,
 *                       else EINVAL touching nothing; the same for
 *                       optk_init_state; 1e39 is refused by float kernels
 *   test_n_limits       n whose byte size overflows size_t or exceeds
 *                       PTRDIFF_MAX: EINVAL untouched, at 1 and 2 threads
 *   test_aliasing       one array passed for two (param, grad, state): EINVAL
 *                       untouched; n == 0 stays OK
 */

static int lim_in(const struct optk_hparam *h, double x)
{
  if (isnan(x))
    return 0;
  if (h->is_bool) /* a switch: 0 or 1 */
    return x == 0 || x == 1;
  if (h->lo_open ? !(x > h->lo) : !(x >= h->lo))
    return 0;
  return h->hi_open ? x < h->hi : x <= h->hi;
}

/* x in the kernel's compute type: float, or double for f64 kernels */
static double lim_round(const optk_kernel *k, double x)
{
  return optk_dtype_of(k) == OPTK_F64 ? x : (double)(float)x;
}

static int lim_hp_ok(const optk_kernel *k, int i, double x)
{
  return lim_in(&k->hparams[i], x) && lim_in(&k->hparams[i], lim_round(k, x));
}

/* derived values in the compute type: never NaN; infinite only where a
 * hyperparameter is (a domain such as [0, inf] allows it) */
static int lim_derived_ok(const optk_kernel *k, const double *hp, const double *v, int count)
{
  int inf_hp = 0;
  for (int i = 0; i < k->nhparams; i++)
    inf_hp |= isinf(lim_round(k, hp[i]));
  for (int i = 0; i < count; i++) {
    const double r = lim_round(k, v[i]);
    if (isnan(r) || (isinf(r) && !inf_hp))
      return 0;
  }
  return 1;
}

static int lim_all_hp_ok(const optk_kernel *k, const double *hp)
{
  for (int i = 0; i < k->nhparams; i++)
    if (!lim_hp_ok(k, i, hp[i]))
      return 0;
  return 1;
}

static int model_step_ok(const optk_kernel *k, const double *hp, int64_t t)
{
  if (!lim_all_hp_ok(k, hp))
    return 0;
  double c[OPTK_MAX_CONSTS];
  k->prep(hp, t, c);
  return lim_derived_ok(k, hp, c, k->nconsts);
}

static int model_init_ok(const optk_kernel *k, const double *hp)
{
  if (!lim_all_hp_ok(k, hp))
    return 0;
  double init[OPTK_MAX_STATE];
  k->state_init(hp, init);
  return lim_derived_ok(k, hp, init, k->nstate);
}

/* Values around domain h: its finite bounds and their double neighbours, the
 * floats nearest each bound with the midpoints between them (where rounding
 * to float changes sides) and their neighbours, and one of every double
 * class (NaN, infinities, zeros, subnormals, float and double extremes). */
#define LIM_MAXV 96
static int lim_values(const struct optk_hparam *h, double *out)
{
  int n = 0;
  static const double classes[] = {
    NAN, -NAN, INFINITY, -INFINITY, 0.0, -0.0, 0x1p-1074, -0x1p-1074, 0x1p-1022,
    0x1p-149 /* smallest float subnormal */, 0x1p-150 /* rounds to 0 in float */, 0x1.8p-150,
    0x1p-126, FLT_MAX, 0x1.ffffffp127 /* rounds to inf in float */, 0x1.fffffefffffffp127,
    1e39, DBL_MAX, -DBL_MAX, 1.0, 0.5, 1e-7, 1e300, -1e-300,
  };
  for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
    out[n++] = classes[i];
  const double bounds[2] = {h->lo, h->hi};
  for (int b = 0; b < 2; b++) {
    const double x = bounds[b];
    if (!isfinite(x))
      continue;
    out[n++] = x;
    out[n++] = nextafter(x, -INFINITY);
    out[n++] = nextafter(x, INFINITY);
    const float f = (float)x;
    const float fl = nextafterf(f, -INFINITY), fu = nextafterf(f, INFINITY);
    const double fs[3] = {fl, f, fu};
    for (int q = 0; q < 3; q++)
      out[n++] = fs[q];
    const double mids[2] = {((double)fl + f) / 2, ((double)f + fu) / 2};
    for (int q = 0; q < 2; q++) {
      out[n++] = mids[q];
      out[n++] = nextafter(mids[q], -INFINITY);
      out[n++] = nextafter(mids[q], INFINITY);
    }
  }
  return n;
}

/* The smallest (hi = 0) or largest (hi = 1) finite value of lim_values that
 * hyperparameter i accepts, or its default. */
static double lim_extreme(const optk_kernel *k, int i, int hi)
{
  double v[LIM_MAXV], best = k->hparams[i].def;
  const int nv = lim_values(&k->hparams[i], v);
  for (int q = 0; q < nv; q++)
    if (isfinite(v[q]) && lim_hp_ok(k, i, v[q]) && (hi ? v[q] > best : v[q] < best))
      best = v[q];
  return best;
}

START_TEST(test_domain_bounds)
{
  const optk_kernel *k = optk_at((size_t)_i);
  char name[48];
  tu_kernel_label(name, sizeof name, k);
  const int nh = optk_nhparams(k);
  ck_assert_int_le(nh, OPTK_MAX_HPARAMS);
  struct fixture f;
  fixture_init(&f, k, 19);
  int nok = 0, nrefused = 0;
  for (int base = 0; base < 3; base++) /* others at defaults, lowest, highest */
    for (int h = 0; h < nh; h++) {
      double vals[LIM_MAXV];
      const int nv = lim_values(&k->hparams[h], vals);
      ck_assert_int_le(nv, LIM_MAXV);
      for (int q = 0; q < nv; q++) {
        double hp[OPTK_MAX_HPARAMS];
        for (int i = 0; i < nh; i++)
          hp[i] = base == 0 ? k->hparams[i].def : lim_extreme(k, i, base == 2);
        hp[h] = vals[q];
        static const int64_t ts[] = {1, 7};
        for (int ti = 0; ti < 2; ti++) {
          const int ok = model_step_ok(k, hp, ts[ti]);
          char what[160];
          snprintf(what, sizeof what, "%s=%a, others %s, t=%d", k->hparams[h].name, vals[q],
                   base == 0 ? "default" : base == 1 ? "lowest" : "highest", (int)ts[ti]);
          const struct call c = {k, 19, f.pr.arr[0], f.pr.arr[1], f.pr.state, hp, ts[ti]};
          expect_call(&f, &c, ok ? OPTK_OK : OPTK_EINVAL, name, what);
          /* the case: a finite double beyond FLT_MAX is infinite in float */
          if (optk_dtype_of(k) != OPTK_F64 && isfinite(vals[q]) && fabs(vals[q]) > FLT_MAX &&
              !lim_in(&k->hparams[h], (double)(float)vals[q]))
            ck_assert_msg(!ok, "%s, %s: the model accepts a value infinite in float", name, what);
          nok += ok;
          nrefused += !ok;
        }
        fixture_reset(&f);
        const int iok = model_init_ok(k, hp);
        const int rc = optk_init_state(k, 19, f.pr.state, hp);
        ck_assert_msg(rc == (iok ? OPTK_OK : OPTK_EINVAL), "%s, %s=%a: optk_init_state returned %d",
                      name, k->hparams[h].name, vals[q], rc);
        if (!iok)
          ck_assert_msg(fixture_untouched(&f), "%s, %s=%a: optk_init_state failed but wrote", name,
                        k->hparams[h].name, vals[q]);
      }
    }
  if (nh > 0) {
    ck_assert_msg(nok > 0, "%s: no value was accepted", name);
    ck_assert_msg(nrefused > 0, "%s: no value was refused", name);
  }
  fixture_free(&f);
}
END_TEST

START_TEST(test_n_limits)
{
  const optk_kernel *k = optk_at((size_t)_i);
  char name[48];
  tu_kernel_label(name, sizeof name, k);
  const optk_dtype dt = optk_dtype_of(k);
  size_t widest = tu_esize(dt);
  if (optk_nstate(k) > 0 && tu_esize(tu_state_type(dt)) > widest)
    widest = tu_esize(tu_state_type(dt));
  const size_t bad_n[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2 + 1, (size_t)PTRDIFF_MAX + 1,
                          (size_t)PTRDIFF_MAX / widest + 1, SIZE_MAX / widest + 1,
                          SIZE_MAX / widest};
  struct fixture f;
  fixture_init(&f, k, 300);
  for (int threads = 1; threads <= (tu_slow_threads() ? 1 : 2); threads++) {
    ck_assert_int_eq(optk_set_num_threads(threads), OPTK_OK);
    for (size_t i = 0; i < sizeof bad_n / sizeof bad_n[0]; i++) {
      char what[96];
      snprintf(what, sizeof what, "n=%zu (%zu-byte elements), %d threads", bad_n[i], widest,
               threads);
      const struct call c = {k, bad_n[i], f.pr.arr[0], f.pr.arr[1], f.pr.state, f.hp, 1};
      expect_call(&f, &c, OPTK_EINVAL, name, what);
      fixture_reset(&f);
      ck_assert_msg(optk_init_state(k, bad_n[i], f.pr.state, f.hp) == OPTK_EINVAL,
                    "%s, %s: optk_init_state accepted it", name, what);
      ck_assert_msg(fixture_untouched(&f), "%s, %s: optk_init_state wrote", name, what);
    }
  }
  optk_set_num_threads(0); /* the default again */
  fixture_free(&f);
}
END_TEST

START_TEST(test_aliasing)
{
  const optk_kernel *k = optk_at((size_t)_i);
  char name[48];
  tu_kernel_label(name, sizeof name, k);
  const int ns = optk_nstate(k), na = 2 + ns;
  struct fixture f;
  fixture_init(&f, k, 37);
  /* array b passed as array a (0 param, 1 grad, 2.. state) */
  for (int a = 0; a < na; a++)
    for (int b = 0; b < na; b++) {
      if (a == b)
        continue;
      void *arr[2 + OPTK_MAX_STATE];
      for (int i = 0; i < na; i++)
        arr[i] = f.pr.arr[i];
      arr[a] = f.pr.arr[b];
      char what[96];
      snprintf(what, sizeof what, "%s passed as %s too", tu_arr_name(&f.pr, b),
               tu_arr_name(&f.pr, a));
      struct call c = {k, 37, arr[0], arr[1], arr + 2, f.hp, 1};
      expect_call(&f, &c, OPTK_EINVAL, name, what);
      c.n = 0; /* nothing is read or written */
      expect_call(&f, &c, OPTK_OK, name, what);
      if (a >= 2 && b >= 2) {
        fixture_reset(&f);
        ck_assert_msg(optk_init_state(k, 37, arr + 2, f.hp) == OPTK_EINVAL,
                      "%s, %s: optk_init_state accepted it", name, what);
        ck_assert_msg(fixture_untouched(&f), "%s, %s: optk_init_state wrote", name, what);
      }
    }
  fixture_free(&f);
}
END_TEST


/* A kernel at every runtime limit at once (OPTK_MAX_STATE state arrays,
 * OPTK_MAX_HPARAMS hyperparameters, OPTK_MAX_CONSTS per-call constants),
 * as the generator allows (generator/lib/optgen/limits.lua): optk_step,
 * optk_init_state and optk_step_group keep such records in fixed arrays on
 * their and their threads' stacks, which the ASan build (tests/sanitize.sh)
 * watches.  The record is made here, not generated, so no spec has to sit
 * at the limits. */
static struct optk_hparam lim_hps[OPTK_MAX_HPARAMS];
static char lim_names[OPTK_MAX_HPARAMS][8];
static const char *const lim_state_names[OPTK_MAX_STATE + 1] = {"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", NULL};

/* every state array gains g, p loses the last constant times their sum */
static void lim_kernel(size_t n, void *param, const void *grad, void *const *state, const void *consts)
{
  float *p = param;
  const float *g = grad, *c = consts;
  for (size_t i = 0; i < n; i++) {
    float sum = 0;
    for (int j = 0; j < OPTK_MAX_STATE; j++) {
      float *a = state[j];
      a[i] += g[i];
      sum += a[i];
    }
    p[i] -= c[OPTK_MAX_CONSTS - 1] * sum;
  }
}

static void lim_prep(const double *hp, int64_t t, double *c)
{
  for (int j = 0; j < OPTK_MAX_CONSTS; j++)
    c[j] = hp[OPTK_MAX_HPARAMS - 1 - j] / (double)t;
}

static void lim_init(const double *hp, double *init)
{
  for (int j = 0; j < OPTK_MAX_STATE; j++)
    init[j] = hp[j];
}

START_TEST(test_kernel_at_limits)
{
  ck_assert_int_eq(OPTK_MAX_STATE, 8); /* lim_state_names */
  for (int i = 0; i < OPTK_MAX_HPARAMS; i++) {
    snprintf(lim_names[i], sizeof lim_names[i], "h%d", i);
    lim_hps[i] = (struct optk_hparam){lim_names[i], 0.25, 0.0, 1.0, 0, 0, 0};
  }
  static optk_kernel rec = {"limits", OPTK_F32, OPTK_MAX_HPARAMS, lim_hps, OPTK_MAX_STATE, lim_state_names,
                            lim_init, OPTK_MAX_CONSTS, lim_prep, {[OPTK_ISA_SCALAR] = lim_kernel},
                            0, 0, NULL, NULL, 0, {NULL}, {0, 0}, {0, 0, 0}};
  enum { N = 4099 };
  double hp[OPTK_MAX_HPARAMS];
  for (int i = 0; i < OPTK_MAX_HPARAMS; i++)
    hp[i] = i / 64.0;
  float *p[2], *g = malloc(N * sizeof *g), *st[2][OPTK_MAX_STATE];
  for (int r = 0; r < 2; r++) {
    p[r] = malloc(N * sizeof *p[r]);
    for (int j = 0; j < OPTK_MAX_STATE; j++)
      st[r][j] = malloc(N * sizeof *st[r][j]);
  }
  for (size_t i = 0; i < N; i++) {
    g[i] = (float)i / N;
    p[0][i] = p[1][i] = 1.0f;
  }
  /* run 0: one thread, optk_step; run 1: every step split, optk_step_group */
  for (int r = 0; r < 2; r++) {
    ck_assert_int_eq(optk_init_state(&rec, N, (void *const *)st[r], hp), OPTK_OK);
    ck_assert(st[r][OPTK_MAX_STATE - 1][N - 1] == (float)hp[OPTK_MAX_STATE - 1]);
    optk_set_num_threads(r == 0 || tu_slow_threads() ? 1 : 3);
    optk__set_split_min_part_ns(r == 0 ? optk__split_default_ns() : 0);
    for (int64_t t = 1; t <= 3; t++) {
      if (r == 0) {
        ck_assert_int_eq(optk_step_isa(&rec, OPTK_ISA_SCALAR, N, p[r], g, (void *const *)st[r], hp, t), OPTK_OK);
      } else {
        const optk_tensor ts[2] = {{1000, p[r], g, (void *const *)st[r], NULL},
                                   {N - 1000, NULL, NULL, NULL, NULL}};
        void *rest[OPTK_MAX_STATE];
        for (int j = 0; j < OPTK_MAX_STATE; j++)
          rest[j] = st[r][j] + 1000;
        optk_tensor both[2] = {ts[0], {N - 1000, p[r] + 1000, g + 1000, rest, NULL}};
        ck_assert_int_eq(optk__step_group_isa(&rec, OPTK_ISA_SCALAR, 2, both, hp, t, NULL, NULL), OPTK_OK);
      }
    }
  }
  optk__set_split_min_part_ns(optk__split_default_ns());
  optk_set_num_threads(0);
  ck_assert_msg(memcmp(p[0], p[1], N * sizeof *p[0]) == 0, "the split and grouped steps differ from one thread");
  for (int j = 0; j < OPTK_MAX_STATE; j++)
    ck_assert(memcmp(st[0][j], st[1][j], N * sizeof *st[0][j]) == 0);
  ck_assert(p[0][N - 1] != 1.0f);
  for (int r = 0; r < 2; r++) {
    free(p[r]);
    for (int j = 0; j < OPTK_MAX_STATE; j++)
      free(st[r][j]);
  }
  free(g);
}
END_TEST

/* Tuned dispatch (optgen tune's ISA per size class): optk__tuned_isa takes
 * the record's ISA for n's class only where it runs here and lies at or
 * below the active ISA; optk_step then gives the bits of every other ISA. */
START_TEST(test_tuned_dispatch)
{
  const optk_kernel *k = optk_find("adam", OPTK_F32);
  ck_assert_ptr_nonnull(k);
  optk_kernel kk = *k;
  kk.class_max[0] = 64;
  kk.class_max[1] = 1024;
  const optk_isa active = optk_active_isa();
  /* L1: scalar; L2: the ISA just below the active one; beyond: an ISA above
   * the active one where there is one (refused), else none. */
  kk.tuned_isa[0] = 1 + OPTK_ISA_SCALAR;
  kk.tuned_isa[1] = (unsigned char)(1 + tu_lower_isa(active));
  kk.tuned_isa[2] = (unsigned char)(active + 1 < OPTK_ISA_COUNT ? 1 + active + 1 : 0);
  ck_assert_int_eq(optk__tuned_isa(&kk, 0, active), OPTK_ISA_SCALAR);
  ck_assert_int_eq(optk__tuned_isa(&kk, 64, active), OPTK_ISA_SCALAR);
  ck_assert_int_eq(optk__tuned_isa(&kk, 65, active), tu_lower_isa(active));
  ck_assert_int_eq(optk__tuned_isa(&kk, 1024, active), tu_lower_isa(active));
  ck_assert_int_eq(optk__tuned_isa(&kk, 1025, active), active);
  ck_assert_int_eq(optk__tuned_isa(&kk, 1025, OPTK_ISA_SCALAR), OPTK_ISA_SCALAR);
  ck_assert_int_eq(optk__tuned_isa(&kk, 65, OPTK_ISA_SCALAR), OPTK_ISA_SCALAR); /* below the cap only */
  kk.impl[OPTK_ISA_SCALAR] = NULL; /* not built: the active ISA */
  ck_assert_int_eq(optk__tuned_isa(&kk, 1, active), active);
  kk.impl[OPTK_ISA_SCALAR] = k->impl[OPTK_ISA_SCALAR];
  /* The same bits through optk_step with and without the tuned record. */
  enum { N = 3000 };
  static float p1[N], p2[N], g[N], m1[N], v1[N], m2[N], v2[N];
  double hp[8];
  optk_default_hparams(k, hp);
  for (size_t n = 1; n <= N; n = n * 3 + 7) {
    for (int i = 0; i < N; i++) {
      p1[i] = p2[i] = 1.0f + (float)(i % 17) * 0.01f;
      g[i] = (float)((i * 7919) % 101 - 50) * 1e-3f;
      m1[i] = m2[i] = v1[i] = v2[i] = 0;
    }
    void *s1[2] = { m1, v1 }, *s2[2] = { m2, v2 };
    for (int64_t t = 1; t <= 3; t++) {
      ck_assert_int_eq(optk_step(k, n, p1, g, s1, hp, t), OPTK_OK);
      ck_assert_int_eq(optk_step(&kk, n, p2, g, s2, hp, t), OPTK_OK);
    }
    ck_assert_int_eq(memcmp(p1, p2, sizeof p1), 0);
    ck_assert_int_eq(memcmp(v1, v2, sizeof v1), 0);
  }
}
END_TEST

static void add_limits_tcases(Suite *s)
{
  TCase *tc = tcase_create("limits");
  const int nk = (int)optk_count();
  tcase_add_loop_test(tc, test_domain_bounds, 0, nk);
  tcase_add_loop_test(tc, test_n_limits, 0, nk);
  tcase_add_loop_test(tc, test_aliasing, 0, nk);
  tcase_add_test(tc, test_kernel_at_limits);
  suite_add_tcase(s, tc);
}

Suite *api_suite(void)
{
  Suite *s = suite_create("api");
  TCase *tc = tcase_create("registry");
  tcase_add_test(tc, test_count_and_at);
  tcase_add_test(tc, test_find_unknown);
  tcase_add_test(tc, test_strerror);
  tcase_add_test(tc, test_seed_contract);
  tcase_add_test(tc, test_tuned_dispatch);
  tcase_add_loop_test(tc, test_sgd_null_state, 0, 4);
  suite_add_tcase(s, tc);
  size_t nk = optk_count();
  for (size_t ki = 0; ki < nk && api_nkernels < MAX_KERNELS; ki++) {
    const optk_kernel *k = optk_at(ki);
    if (k == NULL)
      continue;
    struct kentry *e = &api_kernels[api_nkernels];
    e->k = k;
    e->kidx = ki;
    tu_kernel_label(e->name, sizeof e->name, k);
    tc = tcase_create(e->name);
    int i = api_nkernels;
    tcase_add_loop_test(tc, test_metadata, i, i + 1);
    tcase_add_loop_test(tc, test_bad_calls, i, i + 1);
    tcase_add_loop_test(tc, test_hp_domains, i, i + 1);
    tcase_add_loop_test(tc, test_n0, i, i + 1);
    tcase_add_loop_test(tc, test_isa_args, i, i + 1);
    tcase_add_loop_test(tc, test_init_state_bad, i, i + 1);
    suite_add_tcase(s, tc);
    api_nkernels++;
  }
  tc = tcase_create("wrappers");
  tcase_add_test(tc, test_wrappers);
  tcase_add_test(tc, test_init_wrappers);
  suite_add_tcase(s, tc);
  add_limits_tcases(s);
  return s;
}
