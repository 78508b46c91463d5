@banner@
#ifndef OPTK_AVX512_H
#define OPTK_AVX512_H

#include <immintrin.h>
#include "optk_scalar.h"

/* The target of every avx512 function, kernels included. */
#define OPTK_AVX512_TARGET __attribute__((target("@target@")))
#define OPTK_AVX512_FN OPTK_FN OPTK_AVX512_TARGET
/* The subnormal guards: inlined whatever their size, so the common path is a
 * few integer operations and a branch in the kernel's loop. */
#define OPTK_AVX512_GUARD OPTK_AVX512_FN __attribute__((always_inline))

OPTK_AVX512_FN __m512 optk_avx512_load_bf16(__m256i h)
{
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* Round to nearest even in integer code, as optk_f32_to_bf16 does; the
 * results are the high halves of the 32-bit lanes, gathered by one word
 * permute (cheaper here than a shift and VPMOVDW). */
OPTK_AVX512_FN __m256i optk_avx512_to_bf16(__m512 v)
{
  const __m512i b = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_add_epi32(b, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
  const __m512i quiet = _mm512_or_si512(b, _mm512_set1_epi32(0x400000));
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  const __m512i odd = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  return _mm512_castsi512_si256(_mm512_permutexvar_epi16(odd, _mm512_mask_mov_epi32(rounded, nan, quiet)));
}

/* Subnormal guards (generator/lib/optgen/guard.lua): as in optk_avx2.h.tpl,
 * with mask registers.  The square roots scale without a branch: every lane
 * below the smallest normal, zeros and negative numbers included (their
 * square roots, the zero itself and the default NaN, survive the scaling;
 * NaNs compare false).  A compare and two masked operations cost no more
 * than the integer test and branch on normal data, and on subnormal rows
 * they took Adam f32 from 1.79x to 1.22x its normal-data time (f64: 1.47x
 * to 1.04x; docs/subnormal.md). */
OPTK_AVX512_GUARD __m512 optk_avx512_sqrt_ps(__m512 x)
{
  const __mmask16 s = _mm512_cmp_ps_mask(x, _mm512_set1_ps(0x1p-126f), _CMP_LT_OQ);
  const __m512 r = _mm512_sqrt_ps(_mm512_mask_fmadd_ps(x, s, _mm512_set1_ps(0x1p64f), _mm512_set1_ps(-0.0f)));
  return _mm512_mask_mul_ps(r, s, r, _mm512_set1_ps(0x1p-32f));
}

OPTK_AVX512_GUARD __m512d optk_avx512_sqrt_pd(__m512d x)
{
  const __mmask8 s = _mm512_cmp_pd_mask(x, _mm512_set1_pd(0x1p-1022), _CMP_LT_OQ);
  const __m512d r = _mm512_sqrt_pd(_mm512_mask_fmadd_pd(x, s, _mm512_set1_pd(0x1p128), _mm512_set1_pd(-0.0)));
  return _mm512_mask_mul_pd(r, s, r, _mm512_set1_pd(0x1p-64));
}

/* As optk_avx2_pow_ps and optk_avx2_pow_pd: the exponent 0.5 a vector at a
 * time, any other lane by lane. */
OPTK_AVX512_FN __m512 optk_avx512_pow_ps(__m512 x, __m512 y)
{
  if (_mm512_cmp_ps_mask(y, _mm512_set1_ps(0.5f), _CMP_EQ_OQ) == 0xffff)
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ),
                                _mm512_castsi512_ps(_mm512_set1_epi32(0x7fc00000)), optk_avx512_sqrt_ps(x));
  float a[16], b[16];
  _mm512_storeu_ps(a, x);
  _mm512_storeu_ps(b, y);
  for (int i = 0; i < 16; i++)
    a[i] = optk__powf(a[i], b[i]);
  return _mm512_loadu_ps(a);
}

OPTK_AVX512_FN __m512d optk_avx512_pow_pd(__m512d x, __m512d y)
{
  if (_mm512_cmp_pd_mask(y, _mm512_set1_pd(0.5), _CMP_EQ_OQ) == 0xff)
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_GE_OQ),
                                _mm512_castsi512_pd(_mm512_set1_epi64(0x7ff8000000000000LL)), optk_avx512_sqrt_pd(x));
  double a[8], b[8];
  _mm512_storeu_pd(a, x);
  _mm512_storeu_pd(b, y);
  for (int i = 0; i < 8; i++)
    a[i] = optk__pow(a[i], b[i]);
  return _mm512_loadu_pd(a);
}

/* As optk_avx2_div_ps. */
OPTK_AVX512_GUARD __m512 optk_avx512_div_ps(__m512 a, __m512 b)
{
  const __m512i fa = _mm512_sub_epi32(_mm512_slli_epi32(_mm512_castps_si512(a), 1), _mm512_set1_epi32(2));
  const __mmask16 s = _mm512_cmplt_epu32_mask(fa, _mm512_set1_epi32(0x07000000 - 2));
  if (__builtin_expect(s == 0, 1))
    return _mm512_div_ps(a, b);
  const __m512 nz = _mm512_set1_ps(-0.0f);
  const __m512 sa = _mm512_mask_fmadd_ps(a, s, _mm512_set1_ps(0x1p64f), nz);
  const __mmask16 small = _mm512_mask_cmp_ps_mask(
      s, _mm512_abs_ps(sa), _mm512_fmadd_ps(_mm512_abs_ps(b), _mm512_set1_ps(0x1p-61f), nz), _CMP_LT_OQ);
  if (__builtin_expect(small == 0, 1))
    return _mm512_mask_fmadd_ps(_mm512_div_ps(sa, b), s, _mm512_set1_ps(0x1p-64f), nz);
  const __m256 ahi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1));
  const __m256 bhi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(b), 1));
  const __m256 lo = _mm512_cvtpd_ps(_mm512_div_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(a)),
                                                  _mm512_cvtps_pd(_mm512_castps512_ps256(b))));
  const __m256 hi = _mm512_cvtpd_ps(_mm512_div_pd(_mm512_cvtps_pd(ahi), _mm512_cvtps_pd(bhi)));
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
}

/* As optk_avx2_div_pd. */
OPTK_AVX512_GUARD __m512d optk_avx512_div_pd(__m512d a, __m512d b)
{
  const __m512i fa = _mm512_sub_epi64(_mm512_slli_epi64(_mm512_castpd_si512(a), 1), _mm512_set1_epi64(2));
  const __mmask8 s = _mm512_cmplt_epu64_mask(fa, _mm512_set1_epi64((1LL << 53) - 2));
  if (__builtin_expect(s == 0, 1))
    return _mm512_div_pd(a, b);
  const __m512d up = _mm512_set1_pd(0x1p128);
  const __m512d sa = _mm512_mask_fmadd_pd(a, s, up, _mm512_set1_pd(-0.0));
  const __m512d q = _mm512_div_pd(sa, b);
  const __m512d r = _mm512_mask_fmadd_pd(q, s, _mm512_set1_pd(0x1p-128), _mm512_set1_pd(-0.0));
  const __m512d e = _mm512_fmsub_pd(r, up, q);
  const __mmask8 mid = _mm512_mask_cmp_pd_mask(s, _mm512_abs_pd(e), _mm512_set1_pd(0x1p-947), _CMP_EQ_OQ);
  if (__builtin_expect(mid == 0, 1))
    return r;
  const __m512d rem = _mm512_fnmadd_pd(q, b, sa);
  const __mmask8 wrong = _mm512_mask_cmp_pd_mask(mid, rem, _mm512_setzero_pd(), _CMP_NEQ_OQ) &
                         _mm512_test_epi64_mask(_mm512_xor_si512(_mm512_castpd_si512(e), _mm512_xor_si512(
                                                    _mm512_castpd_si512(rem), _mm512_castpd_si512(b))),
                                                _mm512_set1_epi64(INT64_MIN));
  return _mm512_mask3_fnmadd_pd(e, _mm512_set1_pd(0x1p-127), r, wrong);
}

#endif
