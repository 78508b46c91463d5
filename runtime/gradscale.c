/* The group step's gradient loops (group.c), written with GCC's vector
 * extensions so that they run at memory speed, compiled for the baseline
 * and, on x86-64, again for AVX2 and AVX-512 (chosen by the step's ISA).
 * Every lane computes what the scalar code would: one multiply per
 * multiplier, rounded to nearest, so the bits are the same on every ISA.
 *
 *   scan: out = g * s (the scaled gradient in the compute type); returns the
 *         largest |out| and sets *bad when one is not finite: the largest
 *         magnitude's bits as an unsigned integer, which orders finite
 *         values as their magnitudes and puts Inf and NaN above them all
 *   mul:  out = (g * s) * c (the gradient the kernel uses)
 * for f32, bf16 (converted exactly: its bits are f32's top half) and f64
 * gradients.  f16 conversions are scalar (group.c). */
#include <string.h>

#include "optk_internal.h"

/* x = L floats from src + j (f32), or from src16 + j (bf16, widened: its
 * bits are f32's top half). */
#define GS_LOAD(sfx, x, src, src16, j)                                                          \
  do {                                                                                         \
    if (src) {                                                                                 \
      memcpy(&(x), (src) + (j), sizeof(x));                                                    \
    } else {                                                                                   \
      gs_vh_##sfx h_;                                                                             \
      memcpy(&h_, (src16) + (j), sizeof h_);                                                   \
      (x) = (gs_vf_##sfx)(__builtin_convertvector(h_, gs_vu_##sfx) << 16);                           \
    }                                                                                          \
  } while (0)

#define GS_FNS(sfx, attr, L)                                                                    \
  typedef float gs_vf_##sfx __attribute__((vector_size(4 * (L))));                                \
  typedef uint32_t gs_vu_##sfx __attribute__((vector_size(4 * (L))));                             \
  typedef uint16_t gs_vh_##sfx __attribute__((vector_size(2 * (L))));                             \
  typedef double gs_vd_##sfx __attribute__((vector_size(4 * (L))));                               \
  typedef uint64_t gs_vq_##sfx __attribute__((vector_size(4 * (L))));                             \
                                                                                               \
  attr static float gs_scan_f32_##sfx(const float *src, const uint16_t *src16, size_t n, float s, \
                                   float *out, int *bad)                                       \
  {                                                                                            \
    gs_vu_##sfx m = { 0 };                                                                        \
    const gs_vf_##sfx vs = s - (gs_vf_##sfx){ 0 };                                                   \
    size_t j = 0;                                                                              \
    for (; j + (L) <= n; j += (L)) {                                                           \
      gs_vf_##sfx x;                                                                              \
      GS_LOAD(sfx, x, src, src16, j);                                                          \
      x = x * vs;                                                                              \
      memcpy(out + j, &x, sizeof x);                                                           \
      const gs_vu_##sfx a = (gs_vu_##sfx)x & 0x7fffffffu;                                            \
      const gs_vu_##sfx gt = (gs_vu_##sfx)(a > m);                                                   \
      m = (a & gt) | (m & ~gt);                                                                \
    }                                                                                          \
    uint32_t mx = 0;                                                                           \
    for (int l = 0; l < (L); l++)                                                              \
      mx = m[l] > mx ? m[l] : mx;                                                              \
    for (; j < n; j++) {                                                                       \
      const float x = (src ? src[j] : gs_bf16_f32(src16[j])) * s;                           \
      uint32_t a;                                                                              \
      memcpy(&a, &x, sizeof a);                                                                \
      a &= 0x7fffffffu;                                                                        \
      out[j] = x;                                                                              \
      mx = a > mx ? a : mx;                                                                    \
    }                                                                                          \
    *bad |= mx >= 0x7f800000u;                                                                 \
    float f;                                                                                   \
    memcpy(&f, &mx, sizeof f);                                                                 \
    return f;                                                                                  \
  }                                                                                            \
                                                                                               \
  attr static void gs_mul_f32_##sfx(const float *src, const uint16_t *src16, size_t n, float s,   \
                                 float c, float *out)                                          \
  {                                                                                            \
    const gs_vf_##sfx vs = s - (gs_vf_##sfx){ 0 }, vc = c - (gs_vf_##sfx){ 0 };                         \
    size_t j = 0;                                                                              \
    for (; j + (L) <= n; j += (L)) {                                                           \
      gs_vf_##sfx x;                                                                              \
      GS_LOAD(sfx, x, src, src16, j);                                                          \
      x = (x * vs) * vc;                                                                       \
      memcpy(out + j, &x, sizeof x);                                                           \
    }                                                                                          \
    for (; j < n; j++)                                                                         \
      out[j] = ((src ? src[j] : gs_bf16_f32(src16[j])) * s) * c;                            \
  }                                                                                            \
                                                                                               \
  attr static double gs_scan_f64_##sfx(const double *src, size_t n, double s, double *out,        \
                                    int *bad)                                                  \
  {                                                                                            \
    gs_vq_##sfx m = { 0 };                                                                        \
    const gs_vd_##sfx vs = s - (gs_vd_##sfx){ 0 };                                                   \
    const size_t H = (L) / 2;                                                                  \
    size_t j = 0;                                                                              \
    for (; j + H <= n; j += H) {                                                               \
      gs_vd_##sfx x;                                                                              \
      memcpy(&x, src + j, sizeof x);                                                           \
      x = x * vs;                                                                              \
      memcpy(out + j, &x, sizeof x);                                                           \
      const gs_vq_##sfx a = (gs_vq_##sfx)x & 0x7fffffffffffffffull;                                  \
      const gs_vq_##sfx gt = (gs_vq_##sfx)(a > m);                                                   \
      m = (a & gt) | (m & ~gt);                                                                \
    }                                                                                          \
    uint64_t mx = 0;                                                                           \
    for (size_t l = 0; l < H; l++)                                                             \
      mx = m[l] > mx ? m[l] : mx;                                                              \
    for (; j < n; j++) {                                                                       \
      const double x = src[j] * s;                                                             \
      uint64_t a;                                                                              \
      memcpy(&a, &x, sizeof a);                                                                \
      a &= 0x7fffffffffffffffull;                                                              \
      out[j] = x;                                                                              \
      mx = a > mx ? a : mx;                                                                    \
    }                                                                                          \
    *bad |= mx >= 0x7ff0000000000000ull;                                                       \
    double f;                                                                                  \
    memcpy(&f, &mx, sizeof f);                                                                 \
    return f;                                                                                  \
  }                                                                                            \
                                                                                               \
  attr static void gs_mul_f64_##sfx(const double *src, size_t n, double s, double c, double *out) \
  {                                                                                            \
    const gs_vd_##sfx vs = s - (gs_vd_##sfx){ 0 }, vc = c - (gs_vd_##sfx){ 0 };                         \
    const size_t H = (L) / 2;                                                                  \
    size_t j = 0;                                                                              \
    for (; j + H <= n; j += H) {                                                               \
      gs_vd_##sfx x;                                                                              \
      memcpy(&x, src + j, sizeof x);                                                           \
      x = (x * vs) * vc;                                                                       \
      memcpy(out + j, &x, sizeof x);                                                           \
    }                                                                                          \
    for (; j < n; j++)                                                                         \
      out[j] = (src[j] * s) * c;                                                               \
  }

static float gs_bf16_f32(uint16_t h)
{
  const uint32_t b = (uint32_t)h << 16;
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

GS_FNS(base, , 4)
#if OPTK_ARCH_X86_64 && (defined(__GNUC__) || defined(__clang__))
#define GS_X86 1
GS_FNS(avx2, __attribute__((target("avx2"))), 8)
GS_FNS(avx512, __attribute__((target("avx512f,avx512bw"))), 16)
#else
#define GS_X86 0
#endif

#if GS_X86
#define GS_PICK(isa, call)                                                                     \
  ((isa) == OPTK_ISA_AVX512 ? call##avx512 : (isa) == OPTK_ISA_AVX2 ? call##avx2 : call##base)
#else
#define GS_PICK(isa, call) ((void)(isa), call##base)
#endif

float optk__gscan_f32(const float *g, const uint16_t *g16, size_t n, float s, float *out, int *bad,
                      optk_isa isa)
{
  return GS_PICK(isa, gs_scan_f32_)(g, g16, n, s, out, bad);
}

void optk__gmul_f32(const float *g, const uint16_t *g16, size_t n, float s, float c, float *out, optk_isa isa)
{
  GS_PICK(isa, gs_mul_f32_)(g, g16, n, s, c, out);
}

double optk__gscan_f64(const double *g, size_t n, double s, double *out, int *bad, optk_isa isa)
{
  return GS_PICK(isa, gs_scan_f64_)(g, n, s, out, bad);
}

void optk__gmul_f64(const double *g, size_t n, double s, double c, double *out, optk_isa isa)
{
  GS_PICK(isa, gs_mul_f64_)(g, n, s, c, out);
}
