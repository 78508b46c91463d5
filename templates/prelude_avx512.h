@banner@
#ifndef OPTK_AVX512_H
#define OPTK_AVX512_H

#include <immintrin.h>
#include "optk_scalar.h"

/* The target of every avx512 function, kernels included. */
#define OPTK_AVX512_TARGET __attribute__((target("@target@")))
#define OPTK_AVX512_FN static inline OPTK_AVX512_TARGET

OPTK_AVX512_FN __m512 optk_avx512_load_bf16(__m256i h)
{
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* Round to nearest even in integer code, as optk_f32_to_bf16 does. */
OPTK_AVX512_FN __m256i optk_avx512_to_bf16(__m512 v)
{
  const __m512i b = _mm512_castps_si512(v);
  const __m512i hi = _mm512_srli_epi32(b, 16);
  const __m512i bias = _mm512_add_epi32(_mm512_and_si512(hi, _mm512_set1_epi32(1)), _mm512_set1_epi32(0x7fff));
  const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(b, bias), 16);
  const __m512i quiet = _mm512_or_si512(hi, _mm512_set1_epi32(0x40));
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, rounded, quiet));
}

#endif
