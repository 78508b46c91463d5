@banner@
#ifndef OPTK_SVE_H
#define OPTK_SVE_H

#include <arm_sve.h>
#include "optk_scalar.h"

/* The target of every sve function, kernels included.  clang 14 takes SVE
 * only for a whole file (OPTK_BUILD_SVE requires it there), so the
 * attribute is gcc's. */
#if defined(__clang__)
#define OPTK_SVE_TARGET
#else
#define OPTK_SVE_TARGET __attribute__((target("@target@")))
#endif
#define OPTK_SVE_FN OPTK_FN OPTK_SVE_TARGET

/* bf16 in the low half of each 32-bit lane, zero-extended, shifted up. */
OPTK_SVE_FN svfloat32_t optk_sve_load_bf16(svbool_t pg, const uint16_t *p)
{
  return svreinterpret_f32_u32(svlsl_n_u32_x(svptrue_b32(), svld1uh_u32(pg, p), 16));
}

/* Round to nearest even in integer code, as optk_f32_to_bf16 does; the
 * result is in the low half of each 32-bit lane, for svst1h_u32. */
OPTK_SVE_FN svuint32_t optk_sve_to_bf16(svfloat32_t v)
{
  const svbool_t all = svptrue_b32();
  const svuint32_t b = svreinterpret_u32_f32(v);
  const svuint32_t hi = svlsr_n_u32_x(all, b, 16);
  const svuint32_t bias = svadd_n_u32_x(all, svand_n_u32_x(all, hi, 1), 0x7fff);
  const svuint32_t rounded = svlsr_n_u32_x(all, svadd_u32_x(all, b, bias), 16);
  const svuint32_t quiet = svorr_n_u32_x(all, hi, 0x40);
  return svsel_u32(svcmpuo_f32(all, v, v), quiet, rounded);
}

/* x^y through the scalar baseline's pow (runtime/ieee_math.c), so every ISA
 * gives its bits; only specs with a per-element power (Ftrl) use these.  The
 * exponent 0.5 in every lane is optk__pow's square-root case a vector at a
 * time (templates/optk_avx2.h.tpl says why the bits are the same), any other
 * goes lane by lane.  2048 bits is SVE's largest vector. */
OPTK_SVE_FN svfloat32_t optk_sve_pow_f32(svfloat32_t x, svfloat32_t y)
{
  const svbool_t all = svptrue_b32();
  if (!svptest_any(all, svcmpne_n_f32(all, y, 0.5f)))
    return svsel_f32(svcmpge_n_f32(all, x, 0.0f), svsqrt_f32_x(all, x), svreinterpret_f32_u32(svdup_n_u32(0x7fc00000)));
  float a[64], b[64];
  svst1_f32(svptrue_b32(), a, x);
  svst1_f32(svptrue_b32(), b, y);
  for (uint64_t i = 0; i < svcntw(); i++)
    a[i] = optk__powf(a[i], b[i]);
  return svld1_f32(svptrue_b32(), a);
}

OPTK_SVE_FN svfloat64_t optk_sve_pow_f64(svfloat64_t x, svfloat64_t y)
{
  const svbool_t all = svptrue_b64();
  if (!svptest_any(all, svcmpne_n_f64(all, y, 0.5)))
    return svsel_f64(svcmpge_n_f64(all, x, 0.0), svsqrt_f64_x(all, x),
                     svreinterpret_f64_u64(svdup_n_u64(0x7ff8000000000000ull)));
  double a[32], b[32];
  svst1_f64(svptrue_b64(), a, x);
  svst1_f64(svptrue_b64(), b, y);
  for (uint64_t i = 0; i < svcntd(); i++)
    a[i] = optk__pow(a[i], b[i]);
  return svld1_f64(svptrue_b64(), a);
}

#endif
