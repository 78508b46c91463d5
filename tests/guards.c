/* The subnormal guards (generator/lib/optgen/guard.lua; the helpers of
 * templates/optk_*.h.tpl) give the plain instruction's bits: every 4th f32
 * subnormal of either sign and millions of random bit patterns through sqrt,
 * random pairs weighted towards tiny magnitudes through division, and the
 * product spelled as an FMA with -0 against the product.  The vector pows
 * (their square-root path for the exponent 0.5) give optk__pow's bits lane
 * by lane.  NaNs must be NaNs (their payloads are free, as in the
 * bit-exactness suite), except the pows', which are optk__pow's NaN.  The
 * AVX-512 checks run where the CPU has AVX-512; on other architectures only
 * the scalar ones. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "elems.h"
#include "optk_internal.h" /* optk__pow, which the preludes call */
#include "optk_scalar.h"
#if defined(__x86_64__)
#include "optk_avx2.h"
#include "optk_avx512.h"
#endif

static long failures;

static int same32(float a, float b) { return (a != a && b != b) || tu_f32_bits(a) == tu_f32_bits(b); }
static int same64(double a, double b) { return (a != a && b != b) || tu_f64_bits(a) == tu_f64_bits(b); }

static void fail32(const char *what, float a, float b, float got, float want)
{
  if (++failures <= 20)
    fprintf(stderr, "FAIL %s(%a, %a) = %a, want %a\n", what, (double)a, (double)b, (double)got, (double)want);
}

static void fail64(const char *what, double a, double got, double want)
{
  if (++failures <= 20)
    fprintf(stderr, "FAIL %s(%a) = %a, want %a\n", what, a, got, want);
}

/* Random f32 bits, half of them with an exponent field below 32 (subnormal
 * or close: the guards' edges). */
static float rand32(tu_rng *r)
{
  uint32_t b = (uint32_t)tu_next(r);
  if (tu_below(r, 2))
    b = (b & 0x807fffffu) | (tu_below(r, 32) << 23);
  return tu_bits_f32(b);
}

static double rand64(tu_rng *r)
{
  uint64_t b = tu_next(r);
  if (tu_below(r, 2))
    b = (b & 0x800fffffffffffffull) | ((uint64_t)tu_below(r, 64) << 52);
  return tu_bits_f64(b);
}

enum { N = 1 << 21 };
static float xa[N], xb[N];
static double da[N], db[N];

/* subnormals: 0 random operands, 1 positive subnormals, -1 negative ones
 * (f32; f64 alternate signs, starting with the sign asked for). */
static void fill(tu_rng *r, int subnormals)
{
  const int all_subnormals = subnormals != 0;
  const uint32_t neg = subnormals < 0;
  for (uint32_t i = 0; i < N; i++) {
    xa[i] = all_subnormals ? tu_bits_f32((i * 4u + 1u) | neg << 31) : rand32(r); /* every 4th, through 2^23 */
    /* with subnormal numerators, half the divisors in [2^-8, 2^12) as for
     * f64 below, some of them small integers (exact quotients and ties) */
    xb[i] = !all_subnormals || i % 2 ? rand32(r)
            : i % 8 == 0             ? (float)(1 + tu_below(r, 16)) * (tu_below(r, 2) ? -1.0f : 1.0f)
                                     : ldexpf(1.0f + (float)(tu_next(r) >> 41) * 0x1p-23f, (int)tu_below(r, 20) - 8);
    /* all subnormal (spread through 2^52, signs alternating) or random */
    da[i] = all_subnormals ? tu_bits_f64((uint64_t)i * ((1ull << 52) / N) + 1u + ((uint64_t)((i ^ neg) & 1) << 63))
                           : rand64(r);
    /* with subnormal numerators, divisors in [2^-8, 2^12): quotients normal
     * and subnormal, the latter with many bits (where rounding twice shows) */
    db[i] = !all_subnormals ? rand64(r)
            : i % 8 == 0    ? (double)(1 + tu_below(r, 16)) * (tu_below(r, 2) ? -1.0 : 1.0)
                            : ldexp(1.0 + (double)(tu_next(r) >> 12) * 0x1p-52, (int)tu_below(r, 20) - 8);
  }
  /* Among random operands, the special values (every 97th): signed zeros,
   * infinities, NaNs, the smallest subnormal, +-1. */
  static const float special32[] = { 0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 0x1p-149f, -0x1p-149f, 1.0f, -1.0f };
  static const double special64[] = { 0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN, 0x1p-1074, -0x1p-1074, 1.0, -1.0 };
  enum { NSPECIAL = sizeof special64 / sizeof special64[0] };
  for (uint32_t i = 0; !all_subnormals && i < N; i += 97) {
    xa[i] = special32[i % NSPECIAL];
    da[i] = special64[(i / 7) % NSPECIAL];
  }
}

static void check_scalar(void)
{
  for (uint32_t i = 0; i < N; i++) {
    if (!same32(optk_sqrtf_g(xa[i]), sqrtf(xa[i])))
      fail32("optk_sqrtf_g", xa[i], 0, optk_sqrtf_g(xa[i]), sqrtf(xa[i]));
    if (!same32(optk_divf_g(xa[i], xb[i]), xa[i] / xb[i]))
      fail32("optk_divf_g", xa[i], xb[i], optk_divf_g(xa[i], xb[i]), xa[i] / xb[i]);
    if (!same32(optk_mulf_g(xa[i], xb[i]), xa[i] * xb[i]))
      fail32("optk_mulf_g", xa[i], xb[i], optk_mulf_g(xa[i], xb[i]), xa[i] * xb[i]);
    if (!same64(optk_sqrt_g(da[i]), sqrt(da[i])))
      fail64("optk_sqrt_g", da[i], optk_sqrt_g(da[i]), sqrt(da[i]));
    if (!same64(optk_div_g(da[i], db[i]), da[i] / db[i]))
      fail64("optk_div_g", da[i], optk_div_g(da[i], db[i]), da[i] / db[i]);
    const double p = da[i] >= 0 ? sqrt(da[i]) : NAN;
    if (tu_f64_bits(optk__pow(da[i], 0.5)) != tu_f64_bits(p))
      fail64("optk__pow(x, 0.5)", da[i], optk__pow(da[i], 0.5), p);
  }
}

/* The vector pows against optk__pow lane by lane, to the bit (NaNs too: the
 * exponent-0.5 path makes optk__pow's NaN itself): y = 0.5 in every lane
 * (the vector square-root path), and in all lanes but one (lane by lane). */
static int pow_y_half(uint32_t i, int j) { return (i / 64) % 2 == 0 || j != (int)(i / 128) % 4; }

#define CHECK_POW(what, lanes, type, elem, bits, load, store, pow, x)                                      \
  for (uint32_t i_ = 0; i_ < N; i_ += (lanes)) {                                                          \
    type y_[lanes], g_[lanes];                                                                            \
    for (int j_ = 0; j_ < (lanes); j_++)                                                                  \
      y_[j_] = pow_y_half(i_, j_) ? (type)0.5 : (type)0.25;                                               \
    store(g_, pow(load(x + i_), load(y_)));                                                               \
    for (int j_ = 0; j_ < (lanes); j_++) {                                                                \
      const type w_ = elem(x[i_ + j_], y_[j_]);                                                           \
      if (bits(g_[j_]) != bits(w_) && ++failures <= 20)                                                   \
        fprintf(stderr, "FAIL %s(%a, %a) = %a, want %a\n", what, (double)x[i_ + j_], (double)y_[j_],      \
                (double)g_[j_], (double)w_);                                                              \
    }                                                                                                     \
  }

#if defined(__x86_64__)
OPTK_AVX2_TARGET static void check_avx2(void)
{
  for (uint32_t i = 0; i < N; i += 8) {
    const __m256 a = _mm256_loadu_ps(xa + i), b = _mm256_loadu_ps(xb + i);
    float g[8], w[8];
    _mm256_storeu_ps(g, optk_avx2_sqrt_ps(a));
    _mm256_storeu_ps(w, _mm256_sqrt_ps(a));
    for (int j = 0; j < 8; j++)
      if (!same32(g[j], w[j]))
        fail32("optk_avx2_sqrt_ps", xa[i + j], 0, g[j], w[j]);
    _mm256_storeu_ps(g, optk_avx2_div_ps(a, b));
    _mm256_storeu_ps(w, _mm256_div_ps(a, b));
    for (int j = 0; j < 8; j++)
      if (!same32(g[j], w[j]))
        fail32("optk_avx2_div_ps", xa[i + j], xb[i + j], g[j], w[j]);
    _mm256_storeu_ps(g, _mm256_fmadd_ps(a, b, _mm256_set1_ps(-0.0f)));
    _mm256_storeu_ps(w, _mm256_mul_ps(a, b));
    for (int j = 0; j < 8; j++)
      if (!same32(g[j], w[j]))
        fail32("fma(a, b, -0)", xa[i + j], xb[i + j], g[j], w[j]);
  }
  for (uint32_t i = 0; i < N; i += 4) {
    const __m256d a = _mm256_loadu_pd(da + i);
    double g[4], w[4];
    _mm256_storeu_pd(g, optk_avx2_sqrt_pd(a));
    _mm256_storeu_pd(w, _mm256_sqrt_pd(a));
    for (int j = 0; j < 4; j++)
      if (!same64(g[j], w[j]))
        fail64("optk_avx2_sqrt_pd", da[i + j], g[j], w[j]);
    const __m256d b = _mm256_loadu_pd(db + i);
    _mm256_storeu_pd(g, optk_avx2_div_pd(a, b));
    _mm256_storeu_pd(w, _mm256_div_pd(a, b));
    for (int j = 0; j < 4; j++)
      if (!same64(g[j], w[j]))
        fail64("optk_avx2_div_pd", da[i + j], g[j], w[j]);
  }
  CHECK_POW("optk_avx2_pow_ps", 8, float, optk__powf, tu_f32_bits, _mm256_loadu_ps, _mm256_storeu_ps,
            optk_avx2_pow_ps, xa);
  CHECK_POW("optk_avx2_pow_pd", 4, double, optk__pow, tu_f64_bits, _mm256_loadu_pd, _mm256_storeu_pd,
            optk_avx2_pow_pd, da);
}

OPTK_AVX512_TARGET static void check_avx512(void)
{
  for (uint32_t i = 0; i < N; i += 16) {
    const __m512 a = _mm512_loadu_ps(xa + i), b = _mm512_loadu_ps(xb + i);
    float g[16], w[16];
    _mm512_storeu_ps(g, optk_avx512_sqrt_ps(a));
    _mm512_storeu_ps(w, _mm512_sqrt_ps(a));
    for (int j = 0; j < 16; j++)
      if (!same32(g[j], w[j]))
        fail32("optk_avx512_sqrt_ps", xa[i + j], 0, g[j], w[j]);
    _mm512_storeu_ps(g, optk_avx512_div_ps(a, b));
    _mm512_storeu_ps(w, _mm512_div_ps(a, b));
    for (int j = 0; j < 16; j++)
      if (!same32(g[j], w[j]))
        fail32("optk_avx512_div_ps", xa[i + j], xb[i + j], g[j], w[j]);
  }
  for (uint32_t i = 0; i < N; i += 8) {
    const __m512d a = _mm512_loadu_pd(da + i);
    double g[8], w[8];
    _mm512_storeu_pd(g, optk_avx512_sqrt_pd(a));
    _mm512_storeu_pd(w, _mm512_sqrt_pd(a));
    for (int j = 0; j < 8; j++)
      if (!same64(g[j], w[j]))
        fail64("optk_avx512_sqrt_pd", da[i + j], g[j], w[j]);
    const __m512d b = _mm512_loadu_pd(db + i);
    _mm512_storeu_pd(g, optk_avx512_div_pd(a, b));
    _mm512_storeu_pd(w, _mm512_div_pd(a, b));
    for (int j = 0; j < 8; j++)
      if (!same64(g[j], w[j]))
        fail64("optk_avx512_div_pd", da[i + j], g[j], w[j]);
  }
  CHECK_POW("optk_avx512_pow_ps", 16, float, optk__powf, tu_f32_bits, _mm512_loadu_ps, _mm512_storeu_ps,
            optk_avx512_pow_ps, xa);
  CHECK_POW("optk_avx512_pow_pd", 8, double, optk__pow, tu_f64_bits, _mm512_loadu_pd, _mm512_storeu_pd,
            optk_avx512_pow_pd, da);
}
#endif

int main(void)
{
  tu_rng r;
  tu_seed(&r, 7);
  const char *ran = "scalar";
#if defined(__x86_64__)
  __builtin_cpu_init();
  int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl");
  ran = avx512 ? "scalar, avx2, avx512" : avx2 ? "scalar, avx2" : "scalar";
#endif
  for (int round = 0; round < 5; round++) {
    fill(&r, round == 0 ? 1 : round == 1 ? -1 : 0);
    check_scalar();
#if defined(__x86_64__)
    if (avx2)
      check_avx2();
    if (avx512)
      check_avx512();
#endif
  }
  printf("guards (%s): %d values per check, %ld failures\n", ran, 5 * N, failures);
  return failures != 0;
}
