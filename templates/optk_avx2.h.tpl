@banner@
#ifndef OPTK_AVX2_H
#define OPTK_AVX2_H

#include <immintrin.h>
#include "optk_scalar.h"

/* The target of every avx2 function, kernels included. */
#define OPTK_AVX2_TARGET __attribute__((target("@target@")))
#define OPTK_AVX2_FN OPTK_FN OPTK_AVX2_TARGET
/* The subnormal guards: inlined whatever their size, so the common path is a
 * few integer operations and a branch in the kernel's loop. */
#define OPTK_AVX2_GUARD OPTK_AVX2_FN __attribute__((always_inline))

OPTK_AVX2_FN __m256 optk_avx2_load_bf16(const uint16_t *p)
{
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

/* Round to nearest even in integer code, as optk_f32_to_bf16 does. */
OPTK_AVX2_FN void optk_avx2_store_bf16(uint16_t *p, __m256 v)
{
  const __m256i b = _mm256_castps_si256(v);
  const __m256i hi = _mm256_srli_epi32(b, 16);
  const __m256i bias = _mm256_add_epi32(_mm256_and_si256(hi, _mm256_set1_epi32(1)), _mm256_set1_epi32(0x7fff));
  const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(b, bias), 16);
  const __m256i quiet = _mm256_or_si256(hi, _mm256_set1_epi32(0x40));
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  const __m256i r = _mm256_blendv_epi8(rounded, quiet, nan);
  /* packus works within 128-bit halves: gather the two low quadwords. */
  const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
  _mm_storeu_si128((__m128i *)p, _mm256_castsi256_si128(packed));
}

/* Subnormal guards (generator/lib/optgen/guard.lua, docs/subnormal.md): the
 * bits of the plain instruction, without handing it the subnormal operands
 * or results it is slow on.  Each tests the vector with a few integer
 * operations and takes the exact path only when a lane needs it. */

/* sqrt(x) for a subnormal x is sqrt(x 2^64) 2^-32 (f32; f64: sqrt(x 2^128)
 * 2^-64): x 2^64 is exact and normal, its square root is 2^32 sqrt(x)
 * exactly, rounded once, and the scaling back is exact (the result is
 * normal), so these are SQRTPS's bits.  The scaling up is an FMA with -0,
 * not a product: MULPS with a subnormal operand gives a result that slows
 * the SQRTPS consuming it on Zen 4 and 5 (2.58 against 2.14 ns per
 * vector), FMA's does not.  A negative subnormal is as slow (measured:
 * SQRTPS 150 us vs 63 us per 200 x 2048 lanes for -1e-40 and -1, SQRTPD
 * 288 vs 209), and a centered RMSprop makes them: square_avg - grad_avg^2
 * rounds below zero on subnormal rows.  Its square root is the default
 * NaN, as is that of the negative normal the scaling makes of it, and the
 * NaN times 2^-32 is itself.  The test is the division's below:
 * 0 < |x| < 2^-126 on the bits shifted past the sign.  The AVX-512 guard
 * scales without a branch; here that form (a compare, two blends, the FMA
 * and the product on every vector) cost 15-20% on normal data (AVX2
 * torch_adam f32 0.44 -> 0.53 ns/elem, torch_adadelta 0.49 -> 0.58), more
 * than it saved on subnormal data. */
OPTK_AVX2_GUARD __m256 optk_avx2_sqrt_ps(__m256 x)
{
  const __m256i fx = _mm256_add_epi32(_mm256_slli_epi32(_mm256_castps_si256(x), 1), _mm256_set1_epi32(0x7ffffffe));
  const __m256 s = _mm256_castsi256_ps(
      _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)(0x01000000u - 2u + 0x80000000u)), fx));
  if (__builtin_expect(_mm256_testz_ps(s, s), 1))
    return _mm256_sqrt_ps(x);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 r = _mm256_sqrt_ps(
      _mm256_fmadd_ps(x, _mm256_blendv_ps(one, _mm256_set1_ps(0x1p64f), s), _mm256_set1_ps(-0.0f)));
  return _mm256_mul_ps(r, _mm256_blendv_ps(one, _mm256_set1_ps(0x1p-32f), s));
}

/* As above: sqrt(x 2^128) 2^-64; negative subnormals too. */
OPTK_AVX2_GUARD __m256d optk_avx2_sqrt_pd(__m256d x)
{
  const __m256i fx = _mm256_add_epi64(_mm256_slli_epi64(_mm256_castpd_si256(x), 1),
                                      _mm256_set1_epi64x(0x7ffffffffffffffeLL));
  const __m256d s = _mm256_castsi256_pd(_mm256_cmpgt_epi64(
      _mm256_set1_epi64x((long long)((1ull << 53) - 2u + 0x8000000000000000ull)), fx));
  if (__builtin_expect(_mm256_testz_pd(s, s), 1))
    return _mm256_sqrt_pd(x);
  const __m256d one = _mm256_set1_pd(1.0);
  const __m256d r = _mm256_sqrt_pd(
      _mm256_fmadd_pd(x, _mm256_blendv_pd(one, _mm256_set1_pd(0x1p128), s), _mm256_set1_pd(-0.0)));
  return _mm256_mul_pd(r, _mm256_blendv_pd(one, _mm256_set1_pd(0x1p-64), s));
}

/* x^y through the scalar baseline's pow (runtime/ieee_math.c), so every ISA
 * gives its bits; only specs with a per-element power (Ftrl) use these.  An
 * exponent of 0.5 in every lane (Ftrl's default lr_power, -0.5) is optk__pow's
 * own square-root case, taken a vector at a time: sqrt(x) for x >= 0 (-0
 * included), correctly rounded in float as in double (rounding twice is
 * innocuous for sqrt when 53 >= 2 * 24 + 2), through the subnormal guard, and
 * the quiet NaN that optk__pow returns for a NaN or negative x.  Any other
 * exponent goes lane by lane. */
OPTK_AVX2_FN __m256 optk_avx2_pow_ps(__m256 x, __m256 y)
{
  if (_mm256_movemask_ps(_mm256_cmp_ps(y, _mm256_set1_ps(0.5f), _CMP_EQ_OQ)) == 0xff)
    return _mm256_blendv_ps(_mm256_castsi256_ps(_mm256_set1_epi32(0x7fc00000)), optk_avx2_sqrt_ps(x),
                            _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
  float a[8], b[8];
  _mm256_storeu_ps(a, x);
  _mm256_storeu_ps(b, y);
  for (int i = 0; i < 8; i++)
    a[i] = optk__powf(a[i], b[i]);
  return _mm256_loadu_ps(a);
}

OPTK_AVX2_FN __m256d optk_avx2_pow_pd(__m256d x, __m256d y)
{
  if (_mm256_movemask_pd(_mm256_cmp_pd(y, _mm256_set1_pd(0.5), _CMP_EQ_OQ)) == 0xf)
    return _mm256_blendv_pd(_mm256_castsi256_pd(_mm256_set1_epi64x(0x7ff8000000000000LL)), optk_avx2_sqrt_pd(x),
                            _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_GE_OQ));
  double a[4], b[4];
  _mm256_storeu_pd(a, x);
  _mm256_storeu_pd(b, y);
  for (int i = 0; i < 4; i++)
    a[i] = optk__pow(a[i], b[i]);
  return _mm256_loadu_pd(a);
}

/* a / b where a is nonzero and below 2^-120 in magnitude (a subnormal
 * numerator, or a subnormal quotient unless |b| > 64).  Such lanes are
 * scaled: a 2^64 is exact and normal.  Where |a 2^64| >= RN(|b| 2^-61),
 * |a / b| >= 2^-126 (when |b| 2^-61 rounds, b is so small that a / b is
 * far above), so q = RN((a 2^64) / b) >= 2^-62 and r = q 2^-64 is normal:
 * scaling by a power of two commutes with rounding, and r is DIVPS's
 * result.  The scalings are FMAs with -0, not products: MULPS with a
 * subnormal operand gives a result that slows the DIVPS consuming it on
 * Zen 4 and 5 (1.29 against 0.72 ns per vector), FMA's does not, nor has
 * FMA a penalty for a subnormal result.  A vector with a lane whose
 * quotient may be subnormal (a divisor near 1 or above) takes the double
 * path: in double, where every float is normal and so is every quotient of
 * two floats, rounded once to float.  Double rounding is innocuous for
 * division when the wide format has at least 2p + 2 bits (53 >= 2 * 24 + 2;
 * Figueroa 1995), subnormal results included.  (Rounding twice in float
 * and correcting the halfway lanes by the remainder, as optk_avx2_div_pd
 * does, is exact too but measured slower: 2.99 against 2.54 ns per vector.)
 * NaNs come out as DIVPS makes them: a NaN keeps its payload through the
 * scalings and the conversions.  Left to the hardware, slow but exact: a
 * subnormal divisor with a numerator at or above 2^-120; optimizer
 * divisors are sqrt(v) + eps and the like, and testing b on every vector
 * cost 3 more operations there.  The test, on a's bits shifted past the
 * sign: 0 < x < t <=> x - 2 <u t - 2 (zero wraps past every limit),
 * unsigned through a bias of 2^31. */
OPTK_AVX2_GUARD __m256 optk_avx2_div_ps(__m256 a, __m256 b)
{
  const __m256i fa = _mm256_add_epi32(_mm256_slli_epi32(_mm256_castps_si256(a), 1), _mm256_set1_epi32(0x7ffffffe));
  const __m256 s = _mm256_castsi256_ps(
      _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)(0x07000000u - 2u + 0x80000000u)), fa)); /* 2^-120 */
  if (__builtin_expect(_mm256_testz_ps(s, s), 1))
    return _mm256_div_ps(a, b);
  const __m256 one = _mm256_set1_ps(1.0f), nz = _mm256_set1_ps(-0.0f);
  const __m256 sa = _mm256_fmadd_ps(a, _mm256_blendv_ps(one, _mm256_set1_ps(0x1p64f), s), nz);
  const __m256 small = _mm256_and_ps(s, _mm256_cmp_ps(_mm256_andnot_ps(nz, sa),
                                                      _mm256_fmadd_ps(_mm256_andnot_ps(nz, b), _mm256_set1_ps(0x1p-61f), nz),
                                                      _CMP_LT_OQ));
  if (__builtin_expect(_mm256_testz_ps(small, small), 1))
    return _mm256_fmadd_ps(_mm256_div_ps(sa, b), _mm256_blendv_ps(one, _mm256_set1_ps(0x1p-64f), s), nz);
  const __m128 lo = _mm256_cvtpd_ps(_mm256_div_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)),
                                                  _mm256_cvtps_pd(_mm256_castps256_ps128(b))));
  const __m128 hi = _mm256_cvtpd_ps(_mm256_div_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)),
                                                  _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1))));
  return _mm256_set_m128(hi, lo);
}

/* a / b where a is a nonzero subnormal: a 2^128 is exact and normal, and so
 * is the quotient q = RN((a 2^128) / b); then r = RN(q 2^-128).  Both
 * scalings are FMAs with -0: a subnormal r costs nothing (Zen 4's FMA has
 * no subnormal penalty), and MULPD's result from a subnormal a would slow
 * the DIVPD that consumes it (optk_avx2_div_ps).  Where r is normal it is
 * q 2^-128 exactly, and scaling by a power of two commutes with rounding:
 * r is DIVPD's result.  Where r is subnormal (the quotient of a subnormal
 * m by 1 - u_t in Nadam), rounding twice (to q's 53 bits, then to the
 * subnormal grid) differs from rounding once only when q 2^-128 lands exactly halfway between two subnormals
 * while a / b does not: e = r 2^128 - q (exact: both are multiples of q's
 * ulp, and |e| is at most half the grid's spacing) tells, being that half
 * spacing, 2^-1075 2^128, only there.  Then the remainder rem = a 2^128 -
 * q b (exact through an FMA: a 2^128 >= 2^-946 is far enough above the
 * underflow threshold) says on which side of q the quotient lies, and where
 * r went the other way the neighbour r - 2e 2^-128 is the result (rem = 0:
 * a tie, which r already broke to even).  A lane is halfway about once in
 * 2^(53 - bits of r), rarely (1e-310 keeps 44 bits), so a branch skips the
 * fix.  NaNs, infinities and zeros pass through q and r unchanged (e is
 * NaN or 0 there, as in the lanes of scale 1).  Left to the hardware, slow
 * but exact: a subnormal divisor.  The test as in optk_avx2_div_ps, on
 * 64-bit lanes. */
OPTK_AVX2_GUARD __m256d optk_avx2_div_pd(__m256d a, __m256d b)
{
  const __m256i fa = _mm256_add_epi64(_mm256_slli_epi64(_mm256_castpd_si256(a), 1),
                                      _mm256_set1_epi64x(0x7ffffffffffffffeLL));
  const __m256d s = _mm256_castsi256_pd(_mm256_cmpgt_epi64(
      _mm256_set1_epi64x((long long)((1ull << 53) - 2u + 0x8000000000000000ull)), fa));
  if (__builtin_expect(_mm256_testz_pd(s, s), 1))
    return _mm256_div_pd(a, b);
  const __m256d up = _mm256_blendv_pd(_mm256_set1_pd(1.0), _mm256_set1_pd(0x1p128), s);
  const __m256d sa = _mm256_fmadd_pd(a, up, _mm256_set1_pd(-0.0));
  const __m256d q = _mm256_div_pd(sa, b);
  const __m256d r = _mm256_fmadd_pd(q, _mm256_blendv_pd(_mm256_set1_pd(1.0), _mm256_set1_pd(0x1p-128), s),
                                    _mm256_set1_pd(-0.0));
  const __m256d e = _mm256_fmsub_pd(r, up, q);
  /* 2^-1075 times 2^128 */
  const __m256d mid = _mm256_cmp_pd(_mm256_andnot_pd(_mm256_set1_pd(-0.0), e), _mm256_set1_pd(0x1p-947), _CMP_EQ_OQ);
  if (__builtin_expect(_mm256_testz_pd(mid, mid), 1))
    return r;
  const __m256d rem = _mm256_fnmadd_pd(q, b, sa);
  const __m256d wrong = _mm256_and_pd(_mm256_and_pd(mid, _mm256_cmp_pd(rem, _mm256_setzero_pd(), _CMP_NEQ_OQ)),
                                      _mm256_xor_pd(e, _mm256_xor_pd(rem, b)));
  return _mm256_blendv_pd(r, _mm256_fnmadd_pd(e, _mm256_set1_pd(0x1p-127), r), wrong);
}

#endif
