@banner@
#ifndef OPTK_AVX512_H
#define OPTK_AVX512_H

#include <immintrin.h>
#include "optk_scalar.h"

/* The target of every avx512 function, kernels included. */
#define OPTK_AVX512_TARGET __attribute__((target("@target@")))
#define OPTK_AVX512_FN OPTK_FN OPTK_AVX512_TARGET

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

/* x^y lane by lane through the scalar baseline's pow (runtime/ieee_math.c),
 * so every ISA gives its bits; only specs with a per-element power (Ftrl)
 * use these. */
OPTK_AVX512_FN __m512 optk_avx512_pow_ps(__m512 x, __m512 y)
{
  float a[16], b[16];
  _mm512_storeu_ps(a, x);
  _mm512_storeu_ps(b, y);
  for (int i = 0; i < 16; i++)
    a[i] = optk__powf(a[i], b[i]);
  return _mm512_loadu_ps(a);
}

OPTK_AVX512_FN __m512d optk_avx512_pow_pd(__m512d x, __m512d y)
{
  double a[8], b[8];
  _mm512_storeu_pd(a, x);
  _mm512_storeu_pd(b, y);
  for (int i = 0; i < 8; i++)
    a[i] = optk__pow(a[i], b[i]);
  return _mm512_loadu_pd(a);
}

#endif
