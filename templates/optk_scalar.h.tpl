@banner@
#ifndef OPTK_SCALAR_H
#define OPTK_SCALAR_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Helpers: static, and unused where a kernel set needs no conversion (the
 * vendored file holds only the chosen storage types). */
#define OPTK_FN static inline __attribute__((unused))

/* Storage conversions in integer code, so every compiler and target gives
 * the same bits: round to nearest even, NaN stays NaN (made quiet, the top
 * payload bits kept, as F16C does), denormals kept. */

OPTK_FN float optk_bits_f32(uint32_t b)
{
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

OPTK_FN uint32_t optk_f32_bits(float f)
{
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

OPTK_FN float optk_bf16_to_f32(uint16_t h)
{
  return optk_bits_f32((uint32_t)h << 16);
}

OPTK_FN uint16_t optk_f32_to_bf16(float f)
{
  const uint32_t b = optk_f32_bits(f);
  if ((b & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t)((b >> 16) | 0x40u);
  return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

OPTK_FN float optk_f16_to_f32(uint16_t h)
{
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu;
  uint32_t m = h & 0x3ffu;
  if (e == 0x1f)
    return optk_bits_f32(sign | 0x7f800000u | (m ? 0x400000u | m << 13 : 0u));
  if (e != 0)
    return optk_bits_f32(sign | (e + 112u) << 23 | m << 13);
  if (m == 0)
    return optk_bits_f32(sign);
  uint32_t exp = 113u; /* a subnormal half: normalise it */
  while (!(m & 0x400u)) {
    m <<= 1;
    exp--;
  }
  return optk_bits_f32(sign | exp << 23 | (m & 0x3ffu) << 13);
}

OPTK_FN uint16_t optk_f32_to_f16(float f)
{
  const uint32_t b = optk_f32_bits(f);
  const uint16_t sign = (uint16_t)((b >> 16) & 0x8000u);
  const uint32_t a = b & 0x7fffffffu;
  if (a > 0x7f800000u) /* NaN */
    return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  if (a >= 0x477ff000u) /* rounds to infinity */
    return (uint16_t)(sign | 0x7c00u);
  if (a >= 0x38800000u) { /* a normal half: rebias, round 13 bits away */
    const uint32_t r = a - 0x38000000u;
    return (uint16_t)(sign | (r + 0xfffu + ((r >> 13) & 1u)) >> 13);
  }
  if (a <= 0x33000000u) /* at most 2^-25: rounds to zero (the tie too) */
    return sign;
  /* A subnormal half, in units of 2^-24. */
  const uint32_t shift = 126u - (a >> 23);
  const uint32_t m = (a & 0x7fffffu) | 0x800000u;
  const uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
  return (uint16_t)(sign | (q + (rem > half || (rem == half && (q & 1u)))));
}

/* Subnormal guards (generator/lib/optgen/guard.lua): the bits of sqrt and
 * division without a subnormal operand or result reaching the hardware, as
 * the vector preludes compute them (see optk_avx2.h.tpl for why each is
 * exact). */
OPTK_FN float optk_sqrtf_g(float x)
{
  const uint32_t b = optk_f32_bits(x), a = b & 0x7fffffffu;
  /* |x| = a * 2^-149, a subnormal; a negative one's root is sqrt(-1)'s NaN */
  if (__builtin_expect(a - 1u < 0x7fffffu, 0))
    return sqrtf(a == b ? (float)(2u * a) : -1.0f) * 0x1p-75f;
  return sqrtf(x);
}

OPTK_FN double optk_sqrt_g(double x)
{
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  const uint64_t a = b & 0x7fffffffffffffffu;
  if (__builtin_expect(a - 1u < 0xfffffffffffffu, 0)) /* |x| = a * 2^-1074 */
    return sqrt(a == b ? (double)a : -1.0) * 0x1p-537;
  return sqrt(x);
}

OPTK_FN float optk_divf_g(float a, float b)
{
  if (__builtin_expect((optk_f32_bits(a) << 1) - 2u < 0x07000000u - 2u, 0)) /* 0 < |a| < 2^-120 */
    return (float)((double)a / (double)b);
  return a / b;
}

/* a / b for a subnormal a: (a 2^64) / b, then times 2^-64, exact when that
 * quotient is normal (see optk_avx2.h.tpl); a subnormal one takes the plain
 * division.  a 2^64 is a product here, though MULPD's result from a
 * subnormal operand slows the DIVPD consuming it on Zen 4 and 5: making it
 * from a's integer bits instead (CVTSI2SD, a scaling, the sign ORed in)
 * measured slower in a scalar Adamax f64 loop on subnormal rows (4.6
 * against 3.6 ns/elem, best of 6 runs). */
OPTK_FN double optk_div_g(double a, double b)
{
  uint64_t ab;
  memcpy(&ab, &a, sizeof ab);
  if (__builtin_expect((ab << 1) - 2u < (UINT64_C(1) << 53) - 2u, 0)) { /* a nonzero subnormal */
    const double q = a * 0x1p64 / b;
    if (!(fabs(q) < 0x1p-958))
      return q * 0x1p-64;
  }
  return a / b;
}

/* a * b for floats, in double where the product is exact (48 bits) and
 * normal, rounded once to float: MULSS's bits, without its slow path for a
 * subnormal result from normal operands or the slow DIVSS/SQRTSS that a
 * product of a subnormal operand causes downstream on Zen 4 and 5 (FMA,
 * which has neither, is a library call without FMA hardware).  A NaN
 * comes out as MULSS makes it, up to which of two NaN operands wins, which
 * C leaves to the compiler for a plain product too.  x86 only: AArch64
 * prefers a signalling NaN operand, which the widening would quiet, and no
 * penalty is known there. */
OPTK_FN float optk_mulf_g(float a, float b)
{
#if defined(__x86_64__) || defined(__i386__)
  return (float)((double)a * (double)b);
#else
  return a * b;
#endif
}

#endif
