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

/* Nadam's per-call code (a prod() over the steps, its per-thread cache,
 * one step on from the call before without the loop) against the product
 * taken from s = 1 in the test: t one on, repeated, jumping on and back,
 * beta1 changed and changed back, lr changed (which the product does not
 * read).  c[4] is 1 - u_product_t, c[2] is 1 - u_product_t u_{t+1}. */
static void prod_cases(tu_rng *r)
{
  const optk_kernel *k = optk_find("nadam", OPTK_F64);
  double hp[4] = { 1e-3, 0.9, 0.999, 1e-7 }, c[OPTK_MAX_CONSTS];
  int64_t t = 0;
  for (int i = 0; i < 6000; i++) {
    const unsigned pick = tu_below(r, 100);
    if (pick < 80)
      t++;
    else if (pick < 85)
      t += 1 + tu_below(r, 50);
    else if (pick < 90 && t > 1)
      t -= 1 + tu_below(r, (uint32_t)(t - 1));
    else if (pick < 93)
      hp[1] = hp[1] == 0.9 ? 0.95 : 0.9;
    else if (pick < 96)
      hp[0] *= 1.5;
    if (t < 1)
      t = 1;
    if (t > 400)
      t = 1 + tu_below(r, 20);
    k->prep(hp, t, c);
    double prod = 1.0;
    for (int64_t s = 1; s <= t; s++)
      prod *= hp[1] * (1.0 - 0.5 * optk__pow(0.96, (double)s));
    const double u_next = hp[1] * (1.0 - 0.5 * optk__pow(0.96, (double)(t + 1)));
    if (!same(c[4], 1.0 - prod))
      fail("nadam 1 - u_product", hp[1], (double)t, c[4], 1.0 - prod);
    if (!same(c[2], 1.0 - u_next * prod))
      fail("nadam 1 - u_product u_next", hp[1], (double)t, c[2], 1.0 - u_next * prod);
  }
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
  /* Training far out: beta^t below the double-double's range (a miss then
   * takes the plain powering alone) and, for 0 < x < 1, the exponents
   * from 2^J on where the power is +0 for good and the cache steps on for
   * free.  Runs of t across both boundaries, each base's power compared
   * with the uncached one; then the zero region must be stepped through. */
  {
    /* 0x1p-300: x^3 is normal, x^4 (= 2^J) is +0 */
    static const double far_out[] = { 0.9,     0.96,          0.999, 0.5,     0.75, 1e-10, 0x1p-600, 0x1p-300, 0x1.8p-301,
                                      0.99999, 1.0 - 0x1p-20, -0.9 };
    for (int pi = 0; pi < 2; pi++) {
      optk__pow_use_fma(pi == 0);
      for (size_t xi = 0; xi < sizeof far_out / sizeof far_out[0]; xi++) {
        const double x = far_out[xi];
        /* where x^e leaves the double-double's range (about 2^-968) and
         * where plain squaring reaches +0 */
        const double lx = log2(fabs(x));
        int64_t band = (int64_t)(-968.0 / lx), zero = 1;
        for (double b = fabs(x); b != 0 && zero < ((int64_t)1 << 52); b *= b)
          zero *= 2;
        const int64_t starts[] = { band - 200, zero - 200, zero * 3 + 7 };
        for (size_t si = 0; si < 3; si++)
          for (int64_t e = starts[si] < 1 ? 1 : starts[si]; e < starts[si] + 400; e++) {
            const double got = optk__pow_t(x, e), want = optk__pow_uncached(x, (double)e);
            if (!same(got, want))
              fail("pow_t far out", x, (double)e, got, want);
          }
        for (int i = 0; i < 2000; i++) { /* random exponents, in and out of the regions */
          const int64_t e = (int64_t)(tu_next(&r) % (uint64_t)(zero * 4)) + 1;
          const double got = optk__pow_t(x, e), want = optk__pow_uncached(x, (double)e);
          if (!same(got, want))
            fail("pow_t far out, random", x, (double)e, got, want);
        }
      }
    }
    /* 0.9^t is +0 from t = 2^13 on: 1,000 new t there are 1,000 steps. */
    (void)optk__pow_t(0.9, 100000);
    const unsigned long before = optk__pow_steps();
    for (int64_t t = 100001; t <= 101000; t++)
      if (!same(optk__pow_t(0.9, t), 0.0))
        fail("pow_t zero region", 0.9, (double)t, optk__pow_t(0.9, t), 0.0);
    if (optk__pow_steps() - before != 1000) {
      printf("ieee_math: 0.9^t past 2^13: %lu of 1000 powers by the step\n", optk__pow_steps() - before);
      failures++;
    }
  }
  /* pow's exp-log path keeps the last logarithms and powers per thread:
   * PyTorch NAdam's pattern (one base, y for t + 1 then for t, calls on),
   * mixed with other bases and exponents, each result as computed afresh. */
  for (int i = 0; i < 300000; i++) {
    const int64_t t = i / 3 + 1;
    const double x = i % 7 == 6 ? 0.5 + tu_uniform(&r) : i % 11 == 10 ? 0.9 : 0.96;
    const double y = i % 3 == 0 ? 0.004 * (1.0 + (double)t) : i % 3 == 1 ? 0.004 * (double)t : tu_uniform(&r) * 50;
    const double got = optk__pow(x, y), want = y == (double)(int64_t)y ? got : optk__exp(y * optk__log(x));
    if (!same(got, want))
      fail("pow exp-log memo", x, y, got, want);
  }
  /* Products and sums with subnormal operands or results (the per-call
   * code's values after a prod()): IEEE's bits, as the FPU gives them.
   * Operands drawn mostly from the bottom of the range, where exponents
   * meet the subnormal boundary, with zeros, infinities and NaNs. */
  {
    long checked = 0;
    for (int i = 0; i < 6000000; i++) {
      double v[2];
      for (int j = 0; j < 2; j++) {
        uint64_t b = tu_next(&r);
        const unsigned kind = (unsigned)(b >> 60) & 7, e = (unsigned)(b >> 40) & 0xfff;
        b &= 0x800fffffffffffffu;
        /* kind 0-2: subnormal (or zero), the exponent field left 0 */
        if (kind >= 3 && kind < 5)
          b |= (uint64_t)(1 + e % 120) << 52; /* just above: products and sums near 2^-1022 */
        else if (kind >= 5 && kind < 7)
          b |= (uint64_t)(900 + e % 300) << 52; /* around 1: a product that lands below */
        else if (kind == 7)
          b = (e & 3) == 0 ? 0x7ff0000000000000u : (e & 3) == 1 ? 0x7ff8000000000000u : (e & 3) == 2 ? 0 : b | ((uint64_t)0x7fe << 52);
        memcpy(&v[j], &b, 8);
      }
      if (!same(optk__mul_exact(v[0], v[1]), v[0] * v[1]))
        fail("mul_exact", v[0], v[1], optk__mul_exact(v[0], v[1]), v[0] * v[1]);
      if (!same(optk__add_exact(v[0], v[1]), v[0] + v[1]))
        fail("add_exact", v[0], v[1], optk__add_exact(v[0], v[1]), v[0] + v[1]);
      if (!same(optk__sub_exact(v[0], v[1]), v[0] - v[1]))
        fail("sub_exact", v[0], v[1], optk__sub_exact(v[0], v[1]), v[0] - v[1]);
      checked += 3;
    }
    /* Ties: a subnormal significand times 1 + 2^-k lands halfway, with and
     * without a remainder below. */
    for (int i = 0; i < 200000; i++) {
      const uint64_t m = tu_next(&r) & 0x000fffffffffffffu;
      double a, b = 1.0 + ldexp(1.0, -(int)tu_below(&r, 53)) + (i & 1 ? 0x1p-52 : 0), c = 0.5 + b * 0.25;
      memcpy(&a, &m, 8);
      if (!same(optk__mul_exact(a, c), a * c))
        fail("mul_exact tie", a, c, optk__mul_exact(a, c), a * c);
      if (!same(optk__mul_exact(a, b * 0.5), a * (b * 0.5)))
        fail("mul_exact tie", a, b * 0.5, optk__mul_exact(a, b * 0.5), a * (b * 0.5));
      checked += 2;
    }
    /* A product over the steps at the bottom: m 2^-1074 times factors
     * near 1, m |f - 1| on both sides of 1/2 and at it. */
    for (int i = 0; i < 400000; i++) {
      const uint64_t m = 1 + tu_below(&r, i % 2 ? 16 : 1u << 20);
      double a, f = i % 3 ? 1.0 + (tu_uniform(&r) - 0.5) / (double)m * 1.2 : 1.0 - 0.5 / (double)m;
      memcpy(&a, &m, 8);
      if (!same(optk__mul_exact(a, f), a * f))
        fail("mul_exact near 1", a, f, optk__mul_exact(a, f), a * f);
      if (!same(optk__mul_exact(f, -a), f * -a))
        fail("mul_exact near 1", f, -a, optk__mul_exact(f, -a), f * -a);
      checked += 2;
    }
    printf("ieee_math: %ld products and sums with subnormals, against the FPU\n", checked);
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
  prod_cases(&r);
  printf("ieee_math: worst exp %.0f ulp, worst log %.0f ulp against the C library; %d failures\n", worst_exp,
         worst_log, failures);
  return failures != 0;
}
