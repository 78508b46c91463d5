/* Per-call scalars without libm: pow, exp and log built from IEEE-754 basic
 * operations (+ - * /, exact bit manipulation) only, so they give the same
 * bits with every C library (glibc, musl, macOS, MSVC) and every compiler
 * that honours IEEE semantics (the build turns contraction off).
 *
 * - pow(x, y) with an integral y (beta^t, the common case) is binary
 *   powering in double-double: a fixed sequence of IEEE operations whose
 *   result is beta^t correctly rounded (but for near-ties).  y = 0.5
 *   is the correctly rounded square root.  Other exponents go through
 *   exp(y * log(x)).
 * - exp and log follow the argument reduction and minimax polynomials of
 *   fdlibm's e_exp.c and e_log.c (Sun Microsystems, 1993; error below 1 ulp),
 *   written again here with the coefficients as published.
 *
 * The kernels' per-element pow (optk__powf, optk__pow) is the same function,
 * called lane by lane, so every ISA gives the scalar baseline's bits. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "optk_internal.h"

static uint64_t bits_of(double x)
{
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  return b;
}

static double of_bits(uint64_t b)
{
  double x;
  memcpy(&x, &b, sizeof x);
  return x;
}

/* y * 2^k for the y in [1/2, 2) of exp's reconstruction: by the exponent
 * field while the result is normal (exact), else in two steps whose second
 * rounds once into the subnormal range (fdlibm's way). */
static double scale2(double y, int k)
{
  if (k >= -1021)
    return of_bits(bits_of(y) + ((uint64_t)(int64_t)k << 52));
  return of_bits(bits_of(y) + ((uint64_t)(int64_t)(k + 1000) << 52)) * 0x1p-1000;
}

double optk__exp(double x)
{
  static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10,
                      inv_ln2 = 1.44269504088896338700e+00, p1 = 1.66666666666666019037e-01,
                      p2 = -2.77777777770155933842e-03, p3 = 6.61375632143793436117e-05,
                      p4 = -1.65339022054652515390e-06, p5 = 4.13813679705723846039e-08;
  if (x != x)
    return x;
  if (x > 7.09782712893383973096e+02)
    return INFINITY;
  if (x < -7.45133219101941108420e+02)
    return 0.0;
  if (fabs(x) < 0x1p-28)
    return 1.0 + x;
  /* x = k*ln2 + r, |r| <= ln2/2; r carried as hi - lo. */
  const double kd = x * inv_ln2 + (x < 0 ? -0.5 : 0.5);
  const int k = (int)kd; /* truncation toward zero after the +-0.5: round to nearest */
  const double hi = x - k * ln2_hi, lo = k * ln2_lo, r = hi - lo;
  const double t = r * r;
  const double c = r - t * (p1 + t * (p2 + t * (p3 + t * (p4 + t * p5))));
  if (k == 0)
    return 1.0 - ((r * c) / (c - 2.0) - r);
  const double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
  return scale2(y, k);
}

double optk__log(double x)
{
  static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10,
                      lg1 = 6.666666666666735130e-01, lg2 = 3.999999999940941908e-01,
                      lg3 = 2.857142874366239149e-01, lg4 = 2.222219843214978396e-01,
                      lg5 = 1.818357216161805012e-01, lg6 = 1.531383769920937332e-01,
                      lg7 = 1.479819860511658591e-01;
  if (x != x)
    return x;
  if (x < 0)
    return NAN;
  if (x == 0)
    return -INFINITY;
  if (x == INFINITY)
    return x;
  int k = 0;
  if (x < 0x1p-1022) { /* subnormal: scale into the normal range, exactly */
    x *= 0x1p54;
    k = -54;
  }
  uint64_t b = bits_of(x);
  k += (int)(b >> 52) - 1023;
  /* Mantissa m in [sqrt(2)/2, sqrt(2)): f = m - 1 is small. */
  b &= 0x000fffffffffffffu;
  double m = of_bits(b | 0x3ff0000000000000u);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    k += 1;
  }
  const double f = m - 1.0;
  if (f == 0.0)
    return k * ln2_hi + k * ln2_lo;
  const double s = f / (2.0 + f), z = s * s, w = z * z;
  const double t1 = w * (lg2 + w * (lg4 + w * lg6));
  const double t2 = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7)));
  const double hfsq = 0.5 * f * f;
  return k * ln2_hi - ((hfsq - (s * (hfsq + t2 + t1) + k * ln2_lo)) - f);
}

/* Error-free products without fma (which a C library may emulate): Veltkamp's
 * split into 26-bit halves and Dekker's product, exact for finite operands
 * whose product neither overflows nor underflows. */
static void split(double a, double *hi, double *lo)
{
  const double c = 134217729.0 * a; /* 2^27 + 1 */
  *hi = c - (c - a);
  *lo = a - *hi;
}

static void two_prod(double a, double b, double *p, double *e)
{
  double ah, al, bh, bl;
  *p = a * b;
  split(a, &ah, &al);
  split(b, &bh, &bl);
  *e = ((ah * bh - *p) + ah * bl + al * bh) + al * bl;
}

/* (rh + rl) * (xh + xl) as a normalised double-double. */
static void dd_mul(double *rh, double *rl, double xh, double xl)
{
  double p, e;
  two_prod(*rh, xh, &p, &e);
  e += *rh * xl + *rl * xh;
  *rh = p + e;
  *rl = e - (*rh - p);
}

/* x^e for an integer e, by binary powering: the multiplications and their
 * order depend on e only.  In double-double, so beta^t is correctly rounded
 * but in cases closer to a tie than about 2^-80 (RAdam's rho_t, a
 * difference of nearly equal terms, needs the last bit).  Where the
 * double-double path leaves the finite normal range, plain powering.
 * Returns the result; *hi, *lo the double-double (0 when out of range). */
static double powi_canonical(double x, uint64_t e, double *hi, double *lo)
{
  double r = 1.0, b = x;
  double rh = 1.0, rl = 0.0, xh = x, xl = 0.0;
  for (uint64_t k = e; k != 0;) {
    if (k & 1) {
      r *= b;
      dd_mul(&rh, &rl, xh, xl);
    }
    k >>= 1;
    if (k != 0) {
      b *= b;
      dd_mul(&xh, &xl, xh, xl);
    }
  }
  *hi = *lo = 0;
  if (!(fabs(rh) >= 0x1p-968 && fabs(rh) <= 0x1p995) || rh != rh)
    return r;
  *hi = rh;
  *lo = rl;
  return rh;
}

/* powi_canonical's plain powering alone: its result r, bit for bit.  Far
 * out its last products are subnormal, which the FPU would take tens of
 * nanoseconds over (x86): optk__mul_exact keeps them off it. */
static double powi_plain(double x, uint64_t e)
{
  /* Without branches on e's bits, which a new e would mispredict: a clear
   * bit multiplies by 1, which changes no bit of r.  The FPU's products
   * while they are normal, with no call in the loop (every xmm register is
   * the callee's to clobber: r and b would go through memory); from the
   * first that is not, optk__mul_exact. */
  double r = 1.0, b = x;
  uint64_t k = e;
  for (; k != 0; k >>= 1) {
    const uint64_t take = (uint64_t)0 - (k & 1);
    const double f = of_bits((bits_of(b) & take) | (0x3ff0000000000000u & ~take));
    if (!optk__product_normal(r, f) || (k > 1 && !optk__product_normal(b, b)))
      break;
    r *= f;
    if (k > 1)
      b *= b;
  }
  for (; k != 0; k >>= 1) {
    const uint64_t take = (uint64_t)0 - (k & 1);
    r = optk__mul_exact(r, of_bits((bits_of(b) & take) | (0x3ff0000000000000u & ~take)));
    if (k > 1)
      b = optk__mul_exact(b, b);
  }
  return r;
}

/* Whether powi_canonical(x, e) returns the plain powering r for certain,
 * its double-double being out of range, seen from r alone: so a miss far
 * out (beta^t below 2^-968: 0.9^t for t > 6368, 0.999^t for t > 670,000)
 * costs the plain powering only.  For e <= 2^45, r is within a relative
 * 2e 2^-53 <= 2^-7 of x^e while its operations stay normal; where one
 * leaves the normal range, x^e is below 2^-1021 or beyond 2^1023.  The
 * double-double is within 2^-40 of x^e.  So |r| < 2^-975 or |r| > 2^1000
 * (inf too) puts it outside [2^-968, 2^995]. */
static int plain_out_of_range(double r, uint64_t e)
{
  return e <= (uint64_t)1 << 45 && !(fabs(r) >= 0x1p-975 && fabs(r) <= 0x1p1000);
}

/* For 0 < x < 1: the least 2^J whose power is +0 with every larger
 * exponent.  The plain squarings b_k = x^(2^k) decrease to b_J = +0; an e
 * >= 2^J has a set bit k >= J, so r takes the factor +0 and stays +0, and
 * the double-double, as small (its factors at most 1), is out of range:
 * powi_canonical returns +0.  Then a run far out steps on for free. */
static uint64_t zero_from_of(double x)
{
  double b = x;
  int j = 0;
  while (b != 0 && j < 63) {
    b = optk__mul_exact(b, b); /* powi_plain's squarings */
    j++;
  }
  return b == 0 ? (uint64_t)1 << j : UINT64_MAX;
}

/* A bound on the relative error of x^e's double-double, by binary powering
 * or by steps of one multiplication from an earlier e: at most about
 * 2^-103 per multiplication, and squaring doubles an error, so below e
 * times that, with room to spare. */
static inline double pow_error(uint64_t e) { return ((double)(int64_t)e * 2 + 64) * 0x1p-100; } /* e <= 2^53 + 1 */

/* Whether hi + lo (within pow_error(e) of the exact power) lies so far from
 * a rounding boundary of hi that the exact power and any other estimate
 * within the same bound round to hi: then hi is the correctly rounded
 * power and the binary powering's result too. */
static inline int decided(double hi, double lo, uint64_t e)
{
  const uint64_t b = bits_of(fabs(hi));
  const double ulp = of_bits(b & 0x7ff0000000000000u) * 0x1p-52;
  /* The boundaries lie half an ulp away, a quarter below a power of two. */
  const double half = (b & 0x000fffffffffffffu) == 0 && (lo < 0) == (hi > 0) ? ulp * 0.25 : ulp * 0.5;
  return fabs(lo) < half - 2 * pow_error(e) * fabs(hi);
}

/* Whether a step's hi + lo for x^e is kept: in the double-double range and
 * decided(), by a shorter test where it implies decided(): for e <= 2^31,
 * 2 pow_error(e) |hi| < 2^-13 ulp (|hi| < 2^53 ulp), so where hi is not a
 * power of two (a boundary half an ulp away), |lo| < (1/2 - 2^-13) ulp
 * suffices.  The common case (one step per new t) then costs a few
 * instructions. */
static inline int step_kept(double hi, double lo, uint64_t e)
{
  const uint64_t b = bits_of(fabs(hi)), lo_b = 0x0370000000000000u /* 2^-968 */,
                 hi_b = 0x7e20000000000000u /* 2^995 */;
  if (b - lo_b > hi_b - lo_b) /* NaN too */
    return 0;
  if ((b & 0x000fffffffffffffu) == 0 || e > (uint64_t)1 << 31)
    return decided(hi, lo, e);
  return fabs(lo) < of_bits(b & 0x7ff0000000000000u) * (0x1p-53 - 0x1p-65);
}

/* Training asks for beta^t, then beta^(t+1): each thread keeps the last few
 * powers, and with each the next one, x^(e+1), one multiplication on,
 * where decided() proves that it equals the binary powering's.  So the bits
 * never depend on the cache.  A new t then returns a value the previous
 * call computed and steps on for the next: the step's dependent chain (the
 * product, its error, the sum, the test) is off the caller's path, and a new
 * t costs a few nanoseconds. */
#define POW_CACHE 4
struct pow_slot {
  uint64_t xbits, e; /* result = x^e; e = 0: empty */
  double result;
  double nhi, nlo;    /* x^(e+1) as a double-double, */
  int next_kept;      /* where step_kept(): nhi is then x^(e+1), correctly rounded */
  uint64_t zero_from; /* x^e' = +0 for every e' >= zero_from (zero_from_of); else UINT64_MAX */
};
typedef struct pow_slot pow_slot;
/* One thread-local object, so that a hit finds it with one address
 * computation (OPTK_TLS_ONCE). */
static __thread struct pow_tls {
  pow_slot slot[POW_CACHE];
  unsigned long steps; /* powers the step gave, for the tests */
  unsigned turn;        /* the slot a new x takes */
} pow_cache;

/* Where the CPU has FMA, the product's error term is one fused multiply-add.
 * That is the exact error, as Dekker's product is in this range, so both
 * give the same bits; the chain of dependent operations is half as long.
 * Built for FMA (aarch64, x86-64 with -mfma): always; x86-64 otherwise:
 * where CPUID says so (optk__pow_use_fma lets the tests take either). */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define OPTK_POW_FMA 1
#define OPTK_POW_FMA_ATTR
#elif OPTK_ARCH_X86_64 && defined(__GNUC__)
#define OPTK_POW_FMA 2
#define OPTK_POW_FMA_ATTR __attribute__((target("fma")))
#else
#define OPTK_POW_FMA 0
#endif

/* Slot s now holds x^e = r, and (hi + lo) x as x^(e+1): as dd_mul(&hi, &lo,
 * x, 0.0) computes it, or with fma the same bits (its error term is exact
 * either way), with step_kept() for it. */
static inline __attribute__((always_inline)) void pow_set(pow_slot *s, double x, uint64_t e, double r, double hi,
                                                          double lo, int fma)
{
  if (fma) {
#if OPTK_POW_FMA != 0
    const double p = hi * x;
    double err = __builtin_fma(hi, x, -p);
    err += hi * 0.0 + lo * x; /* dd_mul's e += rh * xl + rl * xh, xl = 0 */
    hi = p + err;
    lo = err - (hi - p);
#endif
  } else {
    dd_mul(&hi, &lo, x, 0.0);
  }
  s->e = e;
  s->result = r;
  s->nhi = hi; /* the flag apart: the next step's chain runs through hi, not the test */
  s->nlo = lo;
  s->next_kept = step_kept(hi, lo, e + 1);
  if (e + 1 >= s->zero_from) { /* where the powers are +0 for good: a training run's beta^t, t in the 10^4s */
    s->nhi = 0.0;
    s->nlo = 0.0;
    s->next_kept = 1;
  }
}

/* The cache's hit for x^e, e in [1, 2^53]: as a slot holds it, or as its
 * next power (then the slot steps on).  NaN where there is none (a power
 * the cache holds is never NaN). */
static inline __attribute__((always_inline)) double pow_hit(double x, uint64_t e, int fma)
{
  const uint64_t xb = bits_of(x);
  struct pow_tls *c = &pow_cache;
  OPTK_TLS_ONCE(c);
  for (int i = 0; i < POW_CACHE; i++) {
    pow_slot *s = &c->slot[i];
    if (s->xbits != xb)
      continue;
    if (s->e == e)
      return s->result;
    if (s->e + 1 != e || !s->next_kept)
      continue;
    const double r = s->nhi;
    pow_set(s, x, e, r, r, s->nlo, fma);
    c->steps++;
    return r;
  }
  return NAN;
}

static double powi_miss(double x, uint64_t e);

/* optk__pow_t's body, instantiated once per flavour below: the cache, for t
 * in its domain (a NaN x is in no slot), then binary powering, or pow's
 * general path outside [1, 2^53]. */
static inline __attribute__((always_inline)) double pow_t(double x, int64_t t, int fma)
{
  const uint64_t e = (uint64_t)t;
  if (e - 1 < (uint64_t)1 << 53) {
    const double r = pow_hit(x, e, fma);
    if (r == r)
      return r;
    if (x == x)
      return powi_miss(x, e);
  }
  return optk__pow(x, (double)t);
}

#if OPTK_POW_FMA == 2
static int pow_has_fma = -1; /* every thread computes the same value: a benign race, kept atomic */

void optk__pow_use_fma(int on) { __atomic_store_n(&pow_has_fma, on, __ATOMIC_RELAXED); }

static __attribute__((noinline)) int pow_fma_probe(void)
{
  unsigned a, b, c, d;
  __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  const int f = (int)(c >> 12 & 1); /* CPUID.1:ECX.FMA; its registers are AVX's, which the OS saves where FMA runs */
  __atomic_store_n(&pow_has_fma, f, __ATOMIC_RELAXED);
  return f;
}

static inline int pow_fma(void)
{
  const int f = __atomic_load_n(&pow_has_fma, __ATOMIC_RELAXED);
  return f >= 0 ? f : pow_fma_probe();
}

/* One function per flavour, each whole, so that a new t is one call from
 * optk__pow_t (a jump) into straight-line code. */
OPTK_POW_FMA_ATTR static __attribute__((noinline)) double pow_t_fma(double x, int64_t t) { return pow_t(x, t, 1); }
static __attribute__((noinline)) double pow_t_dekker(double x, int64_t t) { return pow_t(x, t, 0); }

double optk__pow_t(double x, int64_t t) { return pow_fma() ? pow_t_fma(x, t) : pow_t_dekker(x, t); }

OPTK_POW_FMA_ATTR static void pow_set_fma(pow_slot *s, double x, uint64_t e, double r, double hi, double lo)
{
  pow_set(s, x, e, r, hi, lo, 1);
}
static void pow_set_dekker(pow_slot *s, double x, uint64_t e, double r, double hi, double lo)
{
  pow_set(s, x, e, r, hi, lo, 0);
}
static void pow_set_any(pow_slot *s, double x, uint64_t e, double r, double hi, double lo)
{
  if (pow_fma())
    pow_set_fma(s, x, e, r, hi, lo);
  else
    pow_set_dekker(s, x, e, r, hi, lo);
}
#else
void optk__pow_use_fma(int on) { (void)on; }

double optk__pow_t(double x, int64_t t) { return pow_t(x, t, OPTK_POW_FMA); }

static void pow_set_any(pow_slot *s, double x, uint64_t e, double r, double hi, double lo)
{
  pow_set(s, x, e, r, hi, lo, OPTK_POW_FMA);
}
#endif

/* x^e for an integer e in [1, 2^53] and a non-NaN x: what optk__pow_t
 * computes there. */
static double powi(double x, uint64_t e) { return optk__pow_t(x, (int64_t)e); }

/* x^e, e in [1, 2^53], where the cache has no hit: by binary powering,
 * then kept in the slot next in turn, the oldest.  Not in a slot of the
 * same x: a per-call code may ask for one base at two exponents (Nadam's
 * 0.96^t and 0.96^(t+1)), and each then keeps a slot of its own that
 * steps on from call to call. */
static double powi_miss(double x, uint64_t e)
{
  const uint64_t xb = bits_of(x);
  uint64_t zero_from = UINT64_MAX;
  for (int i = 0; i < POW_CACHE; i++) /* a slot of the same base may know it already */
    if (pow_cache.slot[i].xbits == xb && pow_cache.slot[i].e != 0 && pow_cache.slot[i].zero_from < zero_from)
      zero_from = pow_cache.slot[i].zero_from;
  double hi = 0.0, lo = 0.0, r;
  if (e >= zero_from) {
    r = 0.0;
  } else {
    r = powi_plain(x, e);
    if (!plain_out_of_range(r, e))
      r = powi_canonical(x, e, &hi, &lo); /* hi = 0 out of range: its next is not decided */
    if (r == 0 && x > 0 && x < 1 && zero_from == UINT64_MAX)
      zero_from = zero_from_of(x);
  }
  pow_slot *s = &pow_cache.slot[pow_cache.turn++ % POW_CACHE];
  s->xbits = xb;
  s->zero_from = zero_from;
  pow_set_any(s, x, e, r, hi, lo);
  return r;
}

/* The powering without the cache (tests compare the two). */
double optk__pow_uncached(double x, double y)
{
  double hi, lo;
  return powi_canonical(x, (uint64_t)y, &hi, &lo);
}

/* x^y = exp(y log x) for a finite x > 0, x != 1, and a y that is not an
 * integer: PyTorch's NAdam asks for 0.96^(0.004 t) and 0.96^(0.004 (t+1)).
 * Each thread keeps the last logarithms and the last powers: the
 * per-call code's base is a constant, and this call's y for t + 1 is the
 * next call's y for t (the same double), so a new t takes one exp, not
 * three exps and three logs.  A pure function of (x, y): the bits never
 * depend on the cache. */
#define POW_MEMO 4
static __thread struct pow_memo {
  struct { uint64_t xb; double lx; } log[2];
  struct { uint64_t xb, yb; double r; } pow[POW_MEMO]; /* xb = 0: empty (x = +0 never comes here) */
  unsigned log_turn, pow_turn;
} pow_memo;

static double pow_general(double x, double y)
{
  struct pow_memo *m = &pow_memo;
  OPTK_TLS_ONCE(m);
  const uint64_t xb = bits_of(x), yb = bits_of(y);
  for (int i = 0; i < POW_MEMO; i++)
    if (m->pow[i].xb == xb && m->pow[i].yb == yb)
      return m->pow[i].r;
  double lx;
  if (m->log[0].xb == xb) {
    lx = m->log[0].lx;
  } else if (m->log[1].xb == xb) {
    lx = m->log[1].lx;
  } else {
    lx = optk__log(x);
    const unsigned i = m->log_turn++ % 2;
    m->log[i].xb = xb;
    m->log[i].lx = lx;
  }
  const double r = optk__exp(y * lx);
  const unsigned i = m->pow_turn++ % POW_MEMO;
  m->pow[i].xb = xb;
  m->pow[i].yb = yb;
  m->pow[i].r = r;
  return r;
}

double optk__pow(double x, double y)
{
  if (y == 0)
    return 1.0;
  if (x != x || y != y)
    return NAN;
  if (fabs(y) <= 0x1p53 && y == (double)(int64_t)y) {
    const int64_t e = (int64_t)y;
    return e > 0 ? powi(x, (uint64_t)e) : 1.0 / powi(x, (uint64_t)-e);
  }
  if (y == 0.5 && x >= 0) {
    /* Correctly rounded by IEEE 754: the same everywhere.  A subnormal x is
     * m 2^-1074, m its bits, so sqrt(x) = sqrt(m) 2^-537, exactly (the root
     * is normal): SQRTSD never sees the subnormal it is slow on (Ftrl's
     * accumulator on idle rows; docs/subnormal.md). */
    if (x > 0 && x < 0x1p-1022)
      return sqrt((double)(int64_t)bits_of(x)) * 0x1p-537;
    return sqrt(x);
  }
  if (x < 0)
    return NAN; /* a negative base needs an integral exponent */
  if (x == 0)
    return y > 0 ? 0.0 : INFINITY;
  if (x == 1)
    return 1.0;
  if (x == INFINITY)
    return y > 0 ? INFINITY : 0.0;
  return pow_general(x, y);
}

/* ---- products and sums with subnormal operands or results ----
 * The operands as m 2^k with m in [1, 2) taken from their bits (a
 * subnormal's integer significand converts exactly), so that the FPU sees
 * normal numbers only, and IEEE's rounding done by hand where the result is
 * subnormal.  tests/ieee_math_test.c compares both with the FPU on tens of
 * millions of operands. */
static double sig_exp(double x, int *k) /* |x| = m 2^k, m in [1, 2); x finite, nonzero */
{
  uint64_t b = bits_of(x) & 0x7fffffffffffffffu;
  int bias = 1023;
  if (b >> 52 == 0) { /* subnormal: b 2^-1074, and b < 2^52 converts exactly */
    b = bits_of((double)(int64_t)b);
    bias += 1074;
  }
  *k = (int)(b >> 52) - bias;
  return of_bits((b & 0x000fffffffffffffu) | 0x3ff0000000000000u);
}

/* m 2^k for m in [1, 4), where that is a normal number. */
static double times_pow2(double m, int k) { return of_bits(bits_of(m) + ((uint64_t)(int64_t)k << 52)); }

/* |m 2^k + l 2^k| rounded to the multiple of 2^-1074 IEEE's nearest-even
 * gives, as a double's bits, for m 2^k below 2^-1022: q = m 2^(k + 1074)
 * is exact, and the remainder l only decides a tie (q is a multiple of a
 * half at most a half-ulp from the exact value). */
static uint64_t subnormal_bits(double m, double l, int k)
{
  if (k + 1074 < -3) /* q < 1/2 */
    return 0;
  const double q = times_pow2(m, k + 1074), r = (q + 0x1p52) - 0x1p52, d = q - r;
  if ((d == 0.5 || d == -0.5) && l != 0)
    return (uint64_t)(l > 0 ? q + 0.5 : q - 0.5);
  return (uint64_t)r;
}

double optk__mul_slow(double a, double b)
{
  if (a == 0 || b == 0 || a - a != 0 || b - b != 0) /* zeros, infinities, NaNs: no subnormal involved */
    return a * b;
  const uint64_t sign = (bits_of(a) ^ bits_of(b)) & 0x8000000000000000u;
  int ka, kb;
  const double ma = sig_exp(a, &ka), mb = sig_exp(b, &kb);
  double p, l;
  two_prod(ma, mb, &p, &l); /* exact: p + l = ma mb in [1, 4) */
  const int k = ka + kb, e = k + (p >= 2); /* the product's exponent */
  if (e > 1023)
    return of_bits(sign | 0x7ff0000000000000u);
  if (e >= -1022) /* normal: p 2^k is the rounded product */
    return of_bits(sign | bits_of(times_pow2(p, k)));
  return of_bits(sign | subnormal_bits(p, l, k));
}

/* optk__add_exact's rest: one operand is subnormal, and the other is not a
 * finite number of at least 2^-968 (those optk__add_exact returns inline). */
double optk__add_slow(double a, double b)
{
  if (a - a != 0 || b - b != 0) /* an infinity or a NaN: no subnormal result */
    return a + b;
  if (b == 0) /* then a is the subnormal: the sum */
    return a;
  if (a == 0)
    return b;
  /* Both below 2^-968, so both multiples of 2^-1074: scaled by 2^600 they
   * are normal and their sum is the scaled sum, rounded the same where it
   * is normal, exact (a multiple of 2^-1074) where it is not. */
  int ka, kb;
  const double ma = sig_exp(a, &ka), mb = sig_exp(b, &kb);
  const double sa = of_bits((bits_of(a) & 0x8000000000000000u) | bits_of(times_pow2(ma, ka + 600)));
  const double sb = of_bits((bits_of(b) & 0x8000000000000000u) | bits_of(times_pow2(mb, kb + 600)));
  const double s = sa + sb;
  if (s == 0)
    return 0.0;
  const uint64_t sign = bits_of(s) & 0x8000000000000000u;
  if (fabs(s) >= 0x1p-422) /* 2^-1022 scaled */
    return of_bits(bits_of(s) - ((uint64_t)600 << 52));
  return of_bits(sign | (uint64_t)(fabs(s) * 0x1p474)); /* an integer below 2^52: the significand */
}

unsigned long optk__pow_steps(void) { return pow_cache.steps; }

float optk__powf(float x, float y) { return (float)optk__pow((double)x, (double)y); }
