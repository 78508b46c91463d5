@banner@
#ifndef OPTK_NEON_H
#define OPTK_NEON_H

#include <arm_neon.h>
#include "optk_scalar.h"

OPTK_FN float32x4_t optk_neon_load_bf16(const uint16_t *p)
{
  return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

/* Round to nearest even in integer code, as optk_f32_to_bf16 does. */
OPTK_FN uint16x4_t optk_neon_to_bf16(float32x4_t v)
{
  const uint32x4_t b = vreinterpretq_u32_f32(v);
  const uint32x4_t hi = vshrq_n_u32(b, 16);
  const uint32x4_t bias = vaddq_u32(vandq_u32(hi, vdupq_n_u32(1)), vdupq_n_u32(0x7fff));
  const uint32x4_t rounded = vshrq_n_u32(vaddq_u32(b, bias), 16);
  const uint32x4_t quiet = vorrq_u32(hi, vdupq_n_u32(0x40));
  const uint32x4_t ordered = vceqq_f32(v, v); /* false for NaN */
  return vmovn_u32(vbslq_u32(ordered, rounded, quiet));
}

/* x^y through the scalar baseline's pow (runtime/ieee_math.c), so every ISA
 * gives its bits; only specs with a per-element power (Ftrl) use these.  The
 * exponent 0.5 in every lane is optk__pow's square-root case a vector at a
 * time (templates/optk_avx2.h.tpl says why the bits are the same), any other
 * goes lane by lane. */
OPTK_FN float32x4_t optk_neon_pow_f32(float32x4_t x, float32x4_t y)
{
  if (vminvq_u32(vceqq_f32(y, vdupq_n_f32(0.5f))) != 0)
    return vbslq_f32(vcgeq_f32(x, vdupq_n_f32(0.0f)), vsqrtq_f32(x), vreinterpretq_f32_u32(vdupq_n_u32(0x7fc00000)));
  float a[4], b[4];
  vst1q_f32(a, x);
  vst1q_f32(b, y);
  for (int i = 0; i < 4; i++)
    a[i] = optk__powf(a[i], b[i]);
  return vld1q_f32(a);
}

OPTK_FN float64x2_t optk_neon_pow_f64(float64x2_t x, float64x2_t y)
{
  if (vminvq_u32(vreinterpretq_u32_u64(vceqq_f64(y, vdupq_n_f64(0.5)))) != 0)
    return vbslq_f64(vcgeq_f64(x, vdupq_n_f64(0.0)), vsqrtq_f64(x),
                     vreinterpretq_f64_u64(vdupq_n_u64(0x7ff8000000000000ull)));
  double a[2], b[2];
  vst1q_f64(a, x);
  vst1q_f64(b, y);
  for (int i = 0; i < 2; i++)
    a[i] = optk__pow(a[i], b[i]);
  return vld1q_f64(a);
}

#endif
