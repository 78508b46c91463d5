/* runtime/ieee_math.c against the C library and against definitions:
 * exp and log within 1 ulp of glibc's (correctly rounded, or nearly) over
 * millions of arguments, their special values, pow's integral path bit for
 * bit the reference binary powering below, and pow(x, 0.5) == sqrt(x).
 * Prints each failure (at most a few per check) and exits non-zero on any. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "elems.h"
#include "optk_internal.h"

static int failures;

static void fail(const char *what, double x, double y, double got, double want)
{
  if (++failures <= 20)
    fprintf(stderr, "FAIL %s(%a, %a) = %a, want %a\n", what, x, y, got, want);
}

/* Distance in units in the last place: the gap between the two doubles'
 * positions in the ordered sequence of finite doubles. */
static double ulps(double a, double b)
{
  int64_t ia, ib;
  memcpy(&ia, &a, 8);
  memcpy(&ib, &b, 8);
  if (ia < 0)
    ia = INT64_MIN - ia;
  if (ib < 0)
    ib = INT64_MIN - ib;
  uint64_t d = ia > ib ? (uint64_t)ia - (uint64_t)ib : (uint64_t)ib - (uint64_t)ia; /* no overflow: both finite */
  return (double)d;
}

static int same(double a, double b) { return (isnan(a) && isnan(b)) || memcmp(&a, &b, 8) == 0; }

/* The reference: x^e by right-to-left binary powering, as ieee_math.c
 * documents it, for e >= 0; a negative e is the reciprocal of x^-e. */
static double ref_powi(double x, int64_t e)
{
  uint64_t u = (uint64_t)(e < 0 ? -e : e);
  double r = 1.0, b = x;
  for (; u != 0; u >>= 1) {
    if (u & 1)
      r = r * b;
    if (u > 1)
      b = b * b;
  }
  return e < 0 ? 1.0 / r : r;
}

/* x^u in a wider format (113-bit binary128: __float128 on x86-64, long
 * double on aarch64), rounded once to double: the correctly rounded power
 * but for ties closer than about 2^-100. */
#if defined(__x86_64__)
typedef __float128 wide;
#else
typedef long double wide;
#endif
static double wide_powi(double x, uint64_t u)
{
  wide r = 1, b = x;
  for (; u != 0; u >>= 1) {
    if (u & 1)
      r = r * b;
    if (u > 1)
      b = b * b;
  }
  return (double)r;
}

int main(void)
{
  tu_rng r;
  tu_seed(&r, 12345);
  double worst_exp = 0, worst_log = 0;
  /* exp over its finite range, uniformly, and near 0 (the reduction's edges). */
  for (int i = 0; i < 2000000; i++) {
    double x = i % 2 ? -745.2 + 1455.0 * tu_uniform(&r) : (tu_uniform(&r) - 0.5) * ldexp(1.0, -(int)tu_below(&r, 60));
    double got = optk__exp(x), want = exp(x), u = ulps(got, want);
    if (u > worst_exp)
      worst_exp = u;
    if (u > 1)
      fail("exp", x, 0, got, want);
  }
  /* log over every binade of positive doubles, subnormals included, and near 1. */
  for (int i = 0; i < 2000000; i++) {
    uint64_t b = tu_next(&r) & 0x7fefffffffffffffull;
    double x;
    memcpy(&x, &b, 8);
    if (i % 4 == 0)
      x = 1.0 + (tu_uniform(&r) - 0.5) * ldexp(1.0, -(int)tu_below(&r, 50));
    if (x == 0)
      continue;
    double got = optk__log(x), want = log(x), u = ulps(got, want);
    if (u > worst_log)
      worst_log = u;
    if (u > 1)
      fail("log", x, 0, got, want);
  }
  /* Special values. */
  static const struct { double x, exp, log; } sp[] = {
    { 0.0, 1.0, -INFINITY },    { -0.0, 1.0, -INFINITY }, { 1.0, 2.718281828459045, 0.0 },
    { INFINITY, INFINITY, INFINITY }, { -INFINITY, 0.0, NAN }, { NAN, NAN, NAN },
    { -1.0, 0.36787944117144233, NAN }, { 710.0, INFINITY, 6.565264917245728 },
    { -746.0, 0.0, NAN },
  };
  for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++) {
    /* Exact where the value is (0, 1, inf, NaN); else within 1 ulp of the constant. */
    double e = optk__exp(sp[i].x), ew = sp[i].exp;
    if (isnan(ew) || isinf(ew) || ew == 0 || ew == 1 ? !same(e, ew) : ulps(e, ew) > 1)
      fail("exp", sp[i].x, 0, e, ew);
    double lw = sp[i].log;
    if (!isnan(lw) && !isinf(lw) && lw != 0)
      lw = log(sp[i].x); /* finite logs: glibc's bits (within 1 ulp is checked above) */
    double lg = optk__log(sp[i].x);
    if (isnan(lw) ? !isnan(lg) : ulps(lg, lw) > 1)
      fail("log", sp[i].x, 0, lg, lw);
  }
  /* pow's integral path: the correctly rounded power (double-double binary
   * powering) where it is normal and far from overflow, else plain binary
   * powering; bases around the betas and beyond, negative ones too,
   * exponents of either sign (a negative one divides once). */
  for (int i = 0; i < 1000000; i++) {
    double x = i % 3 == 0 ? 1.0 - ldexp(tu_uniform(&r), -(int)tu_below(&r, 20)) : (tu_uniform(&r) - 0.5) * 8.0;
    int64_t e = (int64_t)tu_below(&r, 4001) - 2000;
    if (i % 5 == 0)
      e = (int64_t)(tu_next(&r) >> 12) - ((int64_t)1 << 51); /* large exponents */
    if (e == 0)
      continue;
    const uint64_t u = (uint64_t)(e < 0 ? -e : e);
    const double cr = wide_powi(x, u), a = fabs(cr);
    double want;
    if (a >= 0x1p-960 && a <= 0x1p990)
      want = e < 0 ? 1.0 / cr : cr;
    else if (a < 0x1p-980 || a > 0x1p1000)
      want = ref_powi(x, e);
    else
      continue; /* near the edge of the double-double range */
    double got = optk__pow(x, (double)e);
    if (!same(got, want))
      fail("pow", x, (double)e, got, want);
  }
  /* The per-thread cache of the last powers (beta^(t+1) from beta^t) gives
   * the uncached bits, for steps in order, repeated and out of order. */
  for (int i = 0; i < 200000; i++) {
    static const double betas[] = { 0.9, 0.99, 0.999, 0.9999, 0.96, 0.5, 1.0001 };
    /* three bases at a time (the cache holds four), each stepping on */
    const double x = betas[(i / 30000 + i % 3) % 7];
    const int64_t e = i % 9 == 8 ? (int64_t)tu_below(&r, 1000000) + 1 : i % 30000 / 3 + 1;
    const double got = optk__pow(x, (double)e), want = optk__pow_uncached(x, (double)e);
    if (!same(got, want))
      fail("pow cache", x, (double)e, got, want);
  }
  /* optk__pow_t (the per-call code's beta^t) gives optk__pow's bits: two
   * bases at a time with t in order (Adam's beta1^t and beta2^t, so the
   * per-thread cache steps from t - 1, with FMA on a CPU that has it), some
   * t repeated or jumping, and t beyond 2^53 (pow's exp-log path). */
  static const double pairs[][2] = { { 0.9, 0.999 }, { 0.95, 0.99999 }, { 1.5, -0.9 }, { 0.0, -0.0 },
                                     { 0.5, 0.75 }, { 0.9999, 0.1 } };
  const unsigned long steps0 = optk__pow_steps();
  long calls = 0;
  for (int pi = 0; pi < 2 * (6 + 4); pi++) {
    optk__pow_use_fma(pi < 6 + 4); /* then Dekker's product, where the build has both */
    double xs[2] = { 0, 0 };
    for (int j = 0; j < 2; j++)
      xs[j] = pi % 10 < 6 ? pairs[pi % 10][j] : 1.0 - ldexp(tu_uniform(&r), -(int)tu_below(&r, 30));
    for (int64_t t = 1; t <= 20000; t++) {
      int64_t e = t;
      if (t % 997 == 0)
        e = (int64_t)(tu_next(&r) >> 1) | 1; /* up to 2^63 */
      else if (t % 101 == 0)
        e = t - 1; /* repeated */
      for (int j = 0; j < 2; j++) {
        const double got = optk__pow_t(xs[j], e);
        const double want = e <= ((int64_t)1 << 53) ? optk__pow_uncached(xs[j], (double)e) : optk__pow(xs[j], (double)e);
        if (!same(got, want))
          fail("pow_t", xs[j], (double)e, got, want);
        calls++;
      }
    }
  }
  /* Long runs of steps far out, where the cache's keep test is decided()
   * itself rather than its shortcut (e > 2^31), and across 2^31; bases
   * whose powers stay in range there. */
  static const double far_x[] = { 0.9999999999, 1.0 - 0x1p-40, 1.0 + 0x1p-45, 0.99999999999999989 };
  static const int64_t far_e[] = { ((int64_t)1 << 31) - 300, (int64_t)1 << 40, ((int64_t)1 << 53) - 300 };
  for (int pi = 0; pi < 2; pi++) {
    optk__pow_use_fma(pi == 0);
    for (size_t xi = 0; xi < sizeof far_x / sizeof far_x[0]; xi++)
      for (size_t ei = 0; ei < sizeof far_e / sizeof far_e[0]; ei++)
        for (int64_t e = far_e[ei]; e < far_e[ei] + 600 && e <= ((int64_t)1 << 53); e++) {
          const double got = optk__pow_t(far_x[xi], e), want = optk__pow_uncached(far_x[xi], (double)e);
          if (!same(got, want))
            fail("pow_t far", far_x[xi], (double)e, got, want);
          calls++;
        }
  }
  /* One base at two exponents per call, as Nadam's per-call code asks
   * (0.96^(t+1), then 0.96^t twice): after the first call, each exponent
   * steps on in a slot of its own, two steps a call and no binary powering. */
  {
    const double x = 0.96;
    (void)optk__pow_t(x, 5001);
    (void)optk__pow_t(x, 5000);
    const unsigned long before = optk__pow_steps();
    for (int64_t t = 5001; t <= 6000; t++) {
      const int64_t es[3] = { t + 1, t, t };
      for (int j = 0; j < 3; j++) {
        const double got = optk__pow_t(x, es[j]), want = optk__pow_uncached(x, (double)es[j]);
        if (!same(got, want))
          fail("pow_t two exponents", x, (double)es[j], got, want);
      }
    }
    const unsigned long two = optk__pow_steps() - before;
    if (two != 2000) {
      printf("ieee_math: one base at two exponents: %lu of 2000 powers by the step\n", two);
      failures++;
    }
  }
  const unsigned long stepped = optk__pow_steps() - steps0;
  printf("ieee_math: pow_t %ld calls, %lu by the cache's step\n", calls, stepped);
  if (stepped < (unsigned long)calls / 4) { /* out-of-range bases and jumps take the full powering */
    printf("ieee_math: the cache's step was not exercised\n");
    failures++;
  }
  if (!same(optk__pow_t(NAN, 3), optk__pow(NAN, 3.0)))
    fail("pow_t", NAN, 3.0, optk__pow_t(NAN, 3), optk__pow(NAN, 3.0));
  /* pow(x, 0.5) is the correctly rounded square root. */
  for (int i = 0; i < 1000000; i++) {
    uint64_t b = tu_next(&r) & 0x7fffffffffffffffull;
    double x;
    memcpy(&x, &b, 8);
    if (!same(optk__pow(x, 0.5), sqrt(x)))
      fail("pow", x, 0.5, optk__pow(x, 0.5), sqrt(x));
  }
  printf("ieee_math: worst exp %.0f ulp, worst log %.0f ulp against the C library; %d failures\n", worst_exp,
         worst_log, failures);
  return failures != 0;
}
