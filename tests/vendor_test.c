/* The vendored files (optgen vendor) against the library: two copies with
 * different prefixes linked into one program, every vendored kernel on
 * every ISA this machine runs giving the library's bits, and the copy with
 * baked hyperparameters giving the unbaked copy's bits for the same values.
 * build.ninja makes the copies: a_ (unbaked) and b_ (baked, tests/vendor_baked.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a_optk.h"
#include "b_optk.h"
#include "vendor_baked.h"
#include "elems.h"
#include "optk_internal.h"


static int passed, failed;

static void check(int ok, const char *fmt, const char *name, int dtype, const char *isa)
{
  if (ok) {
    passed++;
  } else {
    failed++;
    fprintf(stderr, "FAIL ");
    fprintf(stderr, fmt, name, dtype, isa);
    fputc('\n', stderr);
  }
}

static tu_rng rng = { 0x9e3779b97f4a7c15u };

/* Fills n values of array type t (16-bit types: raw patterns, any),
 * ordinary values with a few zeros, infinities and NaNs among them. */
static void fill(unsigned char *a, size_t n, optk_dtype t, int nonneg)
{
  for (size_t i = 0; i < n; i++) {
    double x = (tu_uniform(&rng) - (nonneg ? 0.0 : 0.5)) * 2.0;
    switch (tu_next(&rng) % 16) {
    case 0: x = 0.0; break;
    case 1: x = INFINITY; break;
    case 2: x = NAN; break;
    default: break;
    }
    if (tu_esize(t) == 2)
      tu_put_bits(t, a, i, (uint16_t)tu_next(&rng));
    else
      tu_put(t, a, i, x);
  }
}

/* Same bits, or both NaN, element by element. */
static int same(const unsigned char *x, const unsigned char *y, size_t n, optk_dtype t)
{
  for (size_t i = 0; i < n; i++)
    if (!tu_same_elem(t, x, y, i))
      return 0;
  return 1;
}

enum { N = 1037, STEPS = 3, MAXS = 8 };

/* One run: arrays for param and state in two copies, one gradient. */
struct run {
  unsigned char *p[2], *s[2][MAXS], *g;
};

static void setup(struct run *r, optk_dtype dtype, int nstate)
{
  const optk_dtype st = tu_state_type(dtype);
  const size_t es = tu_esize(dtype), ss = tu_esize(st);
  r->g = malloc(N * es);
  fill(r->g, N, dtype, 0);
  for (int c = 0; c < 2; c++) {
    r->p[c] = malloc(N * es);
    for (int j = 0; j < nstate; j++)
      r->s[c][j] = malloc(N * ss);
  }
  fill(r->p[0], N, dtype, 0);
  memcpy(r->p[1], r->p[0], N * es);
  for (int j = 0; j < nstate; j++) {
    fill(r->s[0][j], N, st, 1);
    memcpy(r->s[1][j], r->s[0][j], N * ss);
  }
}

static int compare(struct run *r, optk_dtype dtype, int nstate)
{
  int ok = same(r->p[0], r->p[1], N, dtype);
  for (int j = 0; j < nstate; j++)
    ok = ok && same(r->s[0][j], r->s[1][j], N, tu_state_type(dtype));
  return ok;
}

static void release(struct run *r, int nstate)
{
  free(r->g);
  for (int c = 0; c < 2; c++) {
    free(r->p[c]);
    for (int j = 0; j < nstate; j++)
      free(r->s[c][j]);
  }
}

/* The a_ copy against the library, on every ISA both run here. */
static void vendored_matches_library(void)
{
  for (size_t i = 0; i < a_optk_count(); i++) {
    const a_optk_kernel *v = a_optk_at(i);
    const int dtype = (int)a_optk_dtype_of(v), nstate = a_optk_nstate(v);
    const optk_kernel *k = optk_find(a_optk_name(v), (optk_dtype)dtype);
    check(k != NULL, "%s/%d (%s): the library has it", a_optk_name(v), dtype, "-");
    if (k == NULL)
      continue;
    double hp[16];
    optk_default_hparams(k, hp);
    for (int isa = 0; isa <= OPTK_ISA_SVE; isa++) {
      if (!optk_isa_available((optk_isa)isa))
        continue;
      struct run r;
      setup(&r, (optk_dtype)dtype, nstate);
      int rc = 0;
      for (int64_t t = 1; t <= STEPS; t++) {
        rc |= optk_step_isa(k, (optk_isa)isa, N, r.p[0], r.g, (void *const *)r.s[0], hp, t);
        rc |= a_optk_step_isa(v, (a_optk_isa)isa, N, r.p[1], r.g, (void *const *)r.s[1], hp, t);
      }
      check(rc == 0 && compare(&r, (optk_dtype)dtype, nstate), "%s/%d on %s: vendored bits equal the library's",
            a_optk_name(v), dtype, optk_isa_name((optk_isa)isa));
      release(&r, nstate);
    }
  }
}

/* Internal to the vendored file (optk_internal.h is inside it): the group
 * step on a given ISA. */
int a_optk__step_group_isa(const a_optk_kernel *k, a_optk_isa isa, size_t count, const a_optk_tensor *tensors,
                           const double *hp, int64_t t, const a_optk_group_opts *opts, a_optk_group_result *result);

/* The group step of the a_ copy against the library's: scaling, clipping
 * and (16-bit) stochastic rounding over two tensors, on every ISA, the same
 * bits and the same norm. */
static void vendored_group_matches_library(void)
{
  for (size_t i = 0; i < a_optk_count(); i++) {
    const a_optk_kernel *v = a_optk_at(i);
    const int dtype = (int)a_optk_dtype_of(v), nstate = a_optk_nstate(v);
    const optk_kernel *k = optk_find(a_optk_name(v), (optk_dtype)dtype);
    if (k == NULL)
      continue;
    double hp[16];
    optk_default_hparams(k, hp);
    for (int isa = 0; isa <= OPTK_ISA_SVE; isa++) {
      if (!optk_isa_available((optk_isa)isa))
        continue;
      struct run r;
      setup(&r, (optk_dtype)dtype, nstate);
      for (size_t j = 0; j < N; j++) /* finite gradients: a NaN would make every result NaN */
        tu_put((optk_dtype)dtype, r.g, j, tu_uniform(&rng) - 0.5);
      const size_t es = tu_esize((optk_dtype)dtype), ss = tu_esize(tu_state_type((optk_dtype)dtype));
      void *st[2][2][MAXS];
      optk_tensor lt[2];
      a_optk_tensor vt[2];
      for (int c = 0; c < 2; c++)
        for (int j = 0; j < nstate; j++) {
          st[c][0][j] = r.s[c][j];
          st[c][1][j] = r.s[c][j] + 100 * ss;
        }
      lt[0] = (optk_tensor){ 100, r.p[0], r.g, st[0][0], NULL };
      lt[1] = (optk_tensor){ N - 100, r.p[0] + 100 * es, r.g + 100 * es, st[0][1], NULL };
      vt[0] = (a_optk_tensor){ 100, r.p[1], r.g, st[1][0], NULL };
      vt[1] = (a_optk_tensor){ N - 100, r.p[1] + 100 * es, r.g + 100 * es, st[1][1], NULL };
      const optk_group_opts lo = { 0.5, 1.0, 1, 7 };
      const a_optk_group_opts vo = { 0.5, 1.0, 1, 7 };
      optk_group_result lr;
      a_optk_group_result vr;
      int rc = 0;
      a_optk_set_num_threads(1);
      for (int64_t t = 1; t <= STEPS; t++) {
        rc |= optk__step_group_isa(k, (optk_isa)isa, 2, lt, hp, t, &lo, &lr);
        rc |= a_optk__step_group_isa(v, (a_optk_isa)isa, 2, vt, hp, t, &vo, &vr);
      }
      a_optk_set_num_threads(0);
      check(rc == 0 && compare(&r, (optk_dtype)dtype, nstate) && memcmp(&lr.grad_norm, &vr.grad_norm, 8) == 0 &&
              lr.grad_norm > 0,
            "%s/%d on %s: vendored group step equals the library's", a_optk_name(v), dtype,
            optk_isa_name((optk_isa)isa));
      release(&r, nstate);
    }
  }
}

/* The b_ copy (baked) against the a_ copy run with the baked values. */
static void baked_matches_unbaked(void)
{
  for (size_t i = 0; i < b_optk_count(); i++) {
    const b_optk_kernel *b = b_optk_at(i);
    const int dtype = (int)b_optk_dtype_of(b), nstate = b_optk_nstate(b);
    const a_optk_kernel *a = a_optk_find(b_optk_name(b), (a_optk_dtype)dtype);
    double hpa[16], hpb[16];
    a_optk_default_hparams(a, hpa);
    for (int j = 0; j < a_optk_nhparams(a); j++)
      hpa[j] = vendor_baked_value(b_optk_name(b), a_optk_hparam_name(a, j), hpa[j]);
    /* The unbaked ones, moved off their defaults where their domain allows. */
    for (int j = 0; j < b_optk_nhparams(b); j++)
      for (int q = 0; q < a_optk_nhparams(a); q++)
        if (strcmp(b_optk_hparam_name(b, j), a_optk_hparam_name(a, q)) == 0) {
          if (hpa[q] * 1.5 < 1.0 || strcmp(a_optk_hparam_name(a, q), "lr") == 0)
            hpa[q] *= 1.5;
          hpb[j] = hpa[q];
        }
    for (int isa = 0; isa <= OPTK_ISA_SVE; isa++) {
      if (!a_optk_isa_available((a_optk_isa)isa))
        continue;
      struct run r;
      setup(&r, (optk_dtype)dtype, nstate);
      int rc = 0;
      for (int64_t t = 1; t <= STEPS; t++) {
        rc |= a_optk_step_isa(a, (a_optk_isa)isa, N, r.p[0], r.g, (void *const *)r.s[0], hpa, t);
        rc |= b_optk_step_isa(b, (b_optk_isa)isa, N, r.p[1], r.g, (void *const *)r.s[1], hpb, t);
      }
      check(rc == 0 && compare(&r, (optk_dtype)dtype, nstate), "%s/%d on %s: baked bits equal unbaked ones", b_optk_name(b),
            dtype, a_optk_isa_name((a_optk_isa)isa));
      release(&r, nstate);
    }
  }
}

/* The baked copy's typed entry point has lost the baked arguments. */
static void baked_signature(void)
{
  float p[3] = { 1, 2, 3 }, g[3] = { 1, 1, 1 }, m[3], v[3];
  b_optk_adam_hparams hp = B_OPTK_ADAM_HPARAMS_DEFAULT; /* lr, beta2 only */
  int rc = b_optk_adam_f32_init(3, m, v, &hp) | b_optk_adam_f32(3, p, g, m, v, &hp, 1);
  check(rc == 0 && p[0] < 1 && sizeof hp == 2 * sizeof(double), "%s/%d on %s: typed entry point", "adam", 0,
        "best");
}

int main(void)
{
  vendored_matches_library();
  vendored_group_matches_library();
  baked_matches_unbaked();
  baked_signature();
  printf("vendor: %d passed, %d failed\n", passed, failed);
  return failed != 0;
}
