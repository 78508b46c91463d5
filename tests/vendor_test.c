/* The vendored files (optgen vendor) against the library: two copies with
 * different prefixes linked into one program, every vendored kernel on
 * every ISA this machine runs giving the library's bits, and the copy with
 * baked hyperparameters giving the unbaked copy's bits for the same values.
 * build.ninja makes the copies: a_ (unbaked) and b_ (baked, BAKED below). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a_optk.h"
#include "b_optk.h"
#include "optkern.h"

/* The values build.ninja bakes into the b_ copy. */
static const struct {
  const char *optim, *hparam;
  double value;
} BAKED[] = {
  { "adam", "beta1", 0.9 },
  { "adam", "eps", 1e-8 },
  { "sgd_momentum", "momentum", 0.9 },
  { "adagrad", "initial_accumulator_value", 0.1 },
};

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

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static size_t elem_size(int dtype) { return dtype == OPTK_F64 ? 8 : dtype == OPTK_F32 ? 4 : 2; }
static size_t state_size(int dtype) { return dtype == OPTK_F64 ? 8 : 4; }

/* Fills n values of a float type of size es (2: raw 16-bit patterns, any),
 * ordinary values with a few zeros, infinities and NaNs among them. */
static void fill(unsigned char *a, size_t n, size_t es, int nonneg)
{
  for (size_t i = 0; i < n; i++) {
    double x = ((double)(next() >> 11) / 9007199254740992.0 - (nonneg ? 0.0 : 0.5)) * 2.0;
    switch (next() % 16) {
    case 0: x = 0.0; break;
    case 1: x = INFINITY; break;
    case 2: x = NAN; break;
    default: break;
    }
    if (es == 8) {
      memcpy(a + i * 8, &x, 8);
    } else if (es == 4) {
      float f = (float)x;
      memcpy(a + i * 4, &f, 4);
    } else {
      uint16_t h = (uint16_t)next();
      memcpy(a + i * 2, &h, 2);
    }
  }
}

/* Same bits, or both NaN, element by element. */
static int same(const unsigned char *x, const unsigned char *y, size_t n, size_t es, int dtype)
{
  for (size_t i = 0; i < n; i++, x += es, y += es) {
    if (memcmp(x, y, es) == 0)
      continue;
    if (es == 8) {
      double a, b;
      memcpy(&a, x, 8);
      memcpy(&b, y, 8);
      if (isnan(a) && isnan(b))
        continue;
    } else if (es == 4) {
      float a, b;
      memcpy(&a, x, 4);
      memcpy(&b, y, 4);
      if (isnan(a) && isnan(b))
        continue;
    } else {
      uint16_t a, b, inf = dtype == OPTK_BF16 ? 0x7f80 : 0x7c00;
      memcpy(&a, x, 2);
      memcpy(&b, y, 2);
      if ((a & 0x7fff) > inf && (b & 0x7fff) > inf)
        continue;
    }
    return 0;
  }
  return 1;
}

enum { N = 1037, STEPS = 3, MAXS = 8 };

/* One run: arrays for param and state in two copies, one gradient. */
struct run {
  unsigned char *p[2], *s[2][MAXS], *g;
};

static void setup(struct run *r, int dtype, int nstate)
{
  size_t es = elem_size(dtype), ss = state_size(dtype);
  r->g = malloc(N * es);
  fill(r->g, N, es, 0);
  for (int c = 0; c < 2; c++) {
    r->p[c] = malloc(N * es);
    for (int j = 0; j < nstate; j++)
      r->s[c][j] = malloc(N * ss);
  }
  fill(r->p[0], N, es, 0);
  memcpy(r->p[1], r->p[0], N * es);
  for (int j = 0; j < nstate; j++) {
    fill(r->s[0][j], N, ss, 1);
    memcpy(r->s[1][j], r->s[0][j], N * ss);
  }
}

static int compare(struct run *r, int dtype, int nstate)
{
  int ok = same(r->p[0], r->p[1], N, elem_size(dtype), dtype);
  for (int j = 0; j < nstate; j++)
    ok = ok && same(r->s[0][j], r->s[1][j], N, state_size(dtype), dtype == OPTK_F64 ? OPTK_F64 : OPTK_F32);
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
      setup(&r, dtype, nstate);
      int rc = 0;
      for (int64_t t = 1; t <= STEPS; t++) {
        rc |= optk_step_isa(k, (optk_isa)isa, N, r.p[0], r.g, (void *const *)r.s[0], hp, t);
        rc |= a_optk_step_isa(v, (a_optk_isa)isa, N, r.p[1], r.g, (void *const *)r.s[1], hp, t);
      }
      check(rc == 0 && compare(&r, dtype, nstate), "%s/%d on %s: vendored bits equal the library's",
            a_optk_name(v), dtype, optk_isa_name((optk_isa)isa));
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
      for (size_t q = 0; q < sizeof BAKED / sizeof BAKED[0]; q++)
        if (strcmp(BAKED[q].optim, b_optk_name(b)) == 0 && strcmp(BAKED[q].hparam, a_optk_hparam_name(a, j)) == 0)
          hpa[j] = BAKED[q].value;
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
      setup(&r, dtype, nstate);
      int rc = 0;
      for (int64_t t = 1; t <= STEPS; t++) {
        rc |= a_optk_step_isa(a, (a_optk_isa)isa, N, r.p[0], r.g, (void *const *)r.s[0], hpa, t);
        rc |= b_optk_step_isa(b, (b_optk_isa)isa, N, r.p[1], r.g, (void *const *)r.s[1], hpb, t);
      }
      check(rc == 0 && compare(&r, dtype, nstate), "%s/%d on %s: baked bits equal unbaked ones", b_optk_name(b),
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
  baked_matches_unbaked();
  baked_signature();
  printf("vendor: %d passed, %d failed\n", passed, failed);
  return failed != 0;
}
