@banner@
#ifndef OPTK_AVX2_H
#define OPTK_AVX2_H

#include <immintrin.h>
#include "optk_scalar.h"

/* The target of every avx2 function, kernels included. */
#define OPTK_AVX2_TARGET __attribute__((target("@target@")))
#define OPTK_AVX2_FN OPTK_FN OPTK_AVX2_TARGET

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

/* x^y lane by lane through the scalar baseline's pow (runtime/ieee_math.c),
 * so every ISA gives its bits; only specs with a per-element power (Ftrl)
 * use these. */
OPTK_AVX2_FN __m256 optk_avx2_pow_ps(__m256 x, __m256 y)
{
  float a[8], b[8];
  _mm256_storeu_ps(a, x);
  _mm256_storeu_ps(b, y);
  for (int i = 0; i < 8; i++)
    a[i] = optk__powf(a[i], b[i]);
  return _mm256_loadu_ps(a);
}

OPTK_AVX2_FN __m256d optk_avx2_pow_pd(__m256d x, __m256d y)
{
  double a[4], b[4];
  _mm256_storeu_pd(a, x);
  _mm256_storeu_pd(b, y);
  for (int i = 0; i < 4; i++)
    a[i] = optk__pow(a[i], b[i]);
  return _mm256_loadu_pd(a);
}

#endif
