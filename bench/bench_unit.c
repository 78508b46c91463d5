/* optk_bench: the "unit" section: the divide and square-root unit's throughput and
 * latency. */
#define _GNU_SOURCE
#include <immintrin.h>
#include "bench.h"

#define CHAINS 12
struct unit_ctx {
  int which; /* 0 sqrt+div f32 512, 1 div f32 512, 2 sqrt+div f64 512, 3 div f64 512, 4..7 the same in 256 */
};
static volatile float unit_sink;

__attribute__((target("avx512f"))) static void unit_body512(int which, long reps, long iters)
{
  __m512 a[CHAINS];
  __m512d b[CHAINS];
  const __m512 k = _mm512_set1_ps(2.0f), e = _mm512_set1_ps(1e-7f);
  const __m512d kd = _mm512_set1_pd(2.0), ed = _mm512_set1_pd(1e-7);
  for (int j = 0; j < CHAINS; j++) {
    a[j] = _mm512_set1_ps(1.0f + (float)j);
    b[j] = _mm512_set1_pd(1.0 + j);
  }
  for (long r = 0; r < reps * iters; r++)
    for (int j = 0; j < CHAINS; j++) {
      switch (which) {
      case 0: a[j] = _mm512_div_ps(k, _mm512_add_ps(_mm512_sqrt_ps(a[j]), e)); break;
      case 1: a[j] = _mm512_div_ps(k, _mm512_add_ps(a[j], e)); break;
      case 2: b[j] = _mm512_div_pd(kd, _mm512_add_pd(_mm512_sqrt_pd(b[j]), ed)); break;
      default: b[j] = _mm512_div_pd(kd, _mm512_add_pd(b[j], ed)); break;
      }
    }
  float s = 0;
  for (int j = 0; j < CHAINS; j++)
    s += _mm512_cvtss_f32(a[j]) + (float)_mm512_cvtsd_f64(b[j]);
  unit_sink = s;
}

__attribute__((target("avx2,fma"))) static void unit_body256(int which, long reps, long iters)
{
  __m256 a[CHAINS];
  __m256d b[CHAINS];
  const __m256 k = _mm256_set1_ps(2.0f), e = _mm256_set1_ps(1e-7f);
  const __m256d kd = _mm256_set1_pd(2.0), ed = _mm256_set1_pd(1e-7);
  for (int j = 0; j < CHAINS; j++) {
    a[j] = _mm256_set1_ps(1.0f + (float)j);
    b[j] = _mm256_set1_pd(1.0 + j);
  }
  for (long r = 0; r < reps * iters; r++)
    for (int j = 0; j < CHAINS; j++) {
      switch (which) {
      case 0: a[j] = _mm256_div_ps(k, _mm256_add_ps(_mm256_sqrt_ps(a[j]), e)); break;
      case 1: a[j] = _mm256_div_ps(k, _mm256_add_ps(a[j], e)); break;
      case 2: b[j] = _mm256_div_pd(kd, _mm256_add_pd(_mm256_sqrt_pd(b[j]), ed)); break;
      default: b[j] = _mm256_div_pd(kd, _mm256_add_pd(b[j], ed)); break;
      }
    }
  float s = 0;
  for (int j = 0; j < CHAINS; j++)
    s += _mm256_cvtss_f32(a[j]) + (float)_mm256_cvtsd_f64(b[j]);
  unit_sink = s;
}

#define UNIT_ITERS 256
static void unit_body(void *ctx, long reps)
{
  int w = ((struct unit_ctx *)ctx)->which;
  if (w < 4)
    unit_body512(w, reps, UNIT_ITERS);
  else
    unit_body256(w - 4, reps, UNIT_ITERS);
}

void bench_unit(void)
{
  static const char *const what[] = { "sqrt+div", "div" };
  for (int w = 0; w < 8; w++) {
    int wide = w < 4;
    optk_isa isa = wide ? OPTK_ISA_AVX512 : OPTK_ISA_AVX2;
    if (!optk_isa_available(isa) || !kind_passes(2, optk_isa_name(isa)))
      continue;
    int f64 = (w % 4) >= 2;
    int lanes = (wide ? 64 : 32) / (f64 ? 8 : 4);
    struct unit_ctx c = { w };
    struct stat3 st = measure(unit_body, &c, (double)UNIT_ITERS * CHAINS * lanes);
    row("unit", "-", f64 ? "f64" : "f32", optk_isa_name(isa), what[w % 2], 1, 0, 0, st);
    fprintf(stderr, "unit %s %s %s: %.3f ns/element\n", what[w % 2], f64 ? "f64" : "f32", optk_isa_name(isa),
            st.med);
  }
}
