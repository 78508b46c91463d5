/* Which floating-point operations are slow on subnormal operands or results
 * on this CPU?  Times each operation (add, mul, FMA, div, sqrt; f32 and f64;
 * AVX2 and AVX-512) over an L1-resident array with normal operands and with
 * the subnormal case at hand, and prints the ratio.  The generator guards the
 * operations this finds slow (generator/lib/optgen/guard.lua); the findings
 * for the machines measured so far are in docs/subnormal.md.
 *
 *   optk_subnormal_ops [--csv]
 *
 * Built portably (target attributes, no -march=native) so the same binary
 * runs on Intel and AMD; AVX-512 rows are skipped where the CPU lacks it. */
#define _GNU_SOURCE
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 2048 /* elements per array: 3 arrays of f64 stay in L1 */
#define REPS 200

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static _Alignas(64) float fa[N], fb[N], fc[N], fo[N];
static _Alignas(64) double da[N], db[N], dc[N], dout[N];

enum { ADD, MUL, FMA, DIV, SQRT, NOPS };
static const char *op_name[NOPS] = { "add", "mul", "fma", "div", "sqrt" };

/* One kernel per (op, width, type): out[i] = op(a[i], b[i], c[i]). */
#define KERNEL(NAME, TGT, VT, LD, ST, LANES, T, A, B, C, O, EXPR)                 \
  __attribute__((target(TGT), noinline)) static void NAME(void)                   \
  {                                                                               \
    for (int r = 0; r < REPS; r++)                                                \
      for (int i = 0; i < N; i += LANES) {                                        \
        VT a = LD(A + i), b = LD(B + i), c = LD(C + i);                           \
        (void)b; (void)c;                                                         \
        ST(O + i, EXPR);                                                          \
      }                                                                           \
    __asm__ volatile("" ::: "memory");                                            \
  }

#define OPS(PFX, TGT, VT, LD, ST, LANES, S, A, B, C, O)                                      \
  KERNEL(PFX##_add, TGT, VT, LD, ST, LANES, S, A, B, C, O, PFX##_i(add_##S)(a, b))           \
  KERNEL(PFX##_mul, TGT, VT, LD, ST, LANES, S, A, B, C, O, PFX##_i(mul_##S)(a, b))           \
  KERNEL(PFX##_fma, TGT, VT, LD, ST, LANES, S, A, B, C, O, PFX##_i(fmadd_##S)(a, b, c))      \
  KERNEL(PFX##_div, TGT, VT, LD, ST, LANES, S, A, B, C, O, PFX##_i(div_##S)(a, b))           \
  KERNEL(PFX##_sqrt, TGT, VT, LD, ST, LANES, S, A, B, C, O, PFX##_i(sqrt_##S)(a))

#define y256_i(x) _mm256_##x
#define z512_i(x) _mm512_##x
#define y256f_i y256_i
#define y256d_i y256_i
#define z512f_i z512_i
#define z512d_i z512_i
OPS(y256f, "avx2,fma", __m256, _mm256_load_ps, _mm256_store_ps, 8, ps, fa, fb, fc, fo)
OPS(y256d, "avx2,fma", __m256d, _mm256_load_pd, _mm256_store_pd, 4, pd, da, db, dc, dout)
OPS(z512f, "avx512f", __m512, _mm512_load_ps, _mm512_store_ps, 16, ps, fa, fb, fc, fo)
OPS(z512d, "avx512f", __m512d, _mm512_load_pd, _mm512_store_pd, 8, pd, da, db, dc, dout)

typedef void (*kern)(void);
static const kern kerns[4][NOPS] = {
  { y256f_add, y256f_mul, y256f_fma, y256f_div, y256f_sqrt },
  { y256d_add, y256d_mul, y256d_fma, y256d_div, y256d_sqrt },
  { z512f_add, z512f_mul, z512f_fma, z512f_div, z512f_sqrt },
  { z512d_add, z512d_mul, z512d_fma, z512d_div, z512d_sqrt },
};
static const char *isa_name[4] = { "avx2", "avx2", "avx512", "avx512" };
static const char *ty_name[4] = { "f32", "f64", "f32", "f64" };

/* Operand cases: values of a, b, c for every element; "tiny" is the
 * smallest normal times a factor, so the products below land where named. */
typedef struct {
  const char *name;
  int op;            /* the op this case is about */
  double a, b, c;    /* in units chosen per type: see fill() */
} opcase;

/* Fills the arrays for type index ty (0 f32, 1 f64) with a, b, c where a
 * value of the form k * MINN stands for k times the smallest normal. */
static void fill(int f64, double a, double b, double c)
{
  for (int i = 0; i < N; i++) {
    /* Vary the low bits so no value is a power of two (some units are
     * faster on those). */
    double j = 1.0 + (double)(i % 97) / 1024.0;
    if (f64) {
      da[i] = a * j; db[i] = b * j; dc[i] = c;
    } else {
      fa[i] = (float)(a * j); fb[i] = (float)(b * j); fc[i] = (float)c;
    }
  }
}

static double time_kern(kern k)
{
  double best = 1e30;
  for (int s = 0; s < 7; s++) {
    double t0 = now();
    k();
    double t = now() - t0;
    if (t < best)
      best = t;
  }
  return best;
}

int main(int argc, char **argv)
{
  int as_csv = argc > 1 && strcmp(argv[1], "--csv") == 0;
  __builtin_cpu_init();
  int has512 = __builtin_cpu_supports("avx512f");
  /* Per type: smallest normal. */
  const double minn[2] = { 1.17549435e-38, 2.2250738585072014e-308 };
  /* Cases in units of the smallest normal (S) or plain numbers.  Each row:
   * label, op, a, b, c given as { value, scaled-by-minn? }. */
  struct { const char *label; int op; double a; int sa; double b; int sb; double c; int sc; } cases[] = {
    { "normal",                 ADD, 1.5, 0, 2.5, 0, 0, 0 },
    { "sub in, sub out",        ADD, 0.3, 1, 0.2, 1, 0, 0 },
    { "sub in, normal out",     ADD, 0.3, 1, 2.5, 0, 0, 0 },
    { "normal",                 MUL, 1.5, 0, 2.5, 0, 0, 0 },
    { "sub in, normal out",     MUL, 0.3, 1, 1e6, 0, 0, 0 },
    { "sub in, sub out",        MUL, 0.3, 1, 0.5, 0, 0, 0 },
    { "normal in, sub out",     MUL, 1e3, 1, 1e-6, 0, 0, 0 },
    { "normal",                 FMA, 1.5, 0, 2.5, 0, 1.0, 0 },
    { "sub a, normal out",      FMA, 0.3, 1, 1e6, 0, 1.0, 0 },
    { "sub c, normal out",      FMA, 1.5, 0, 2.5, 0, 1e-39, 0 },
    { "sub c, sub out",         FMA, 0.0, 0, 0.0, 0, 1e-39, 0 },
    { "normal in, sub out",     FMA, 1e3, 1, 1e-6, 0, 0, 0 },
    { "sub a, sub out",         FMA, 0.3, 1, 0.5, 0, 0, 0 },
    { "sub a and c, sub out",   FMA, 0.3, 1, 0.1, 0, 1e-39, 0 },
    { "normal",                 DIV, 1.5, 0, 2.5, 0, 0, 0 },
    { "sub num, normal out",    DIV, 0.3, 1, 1e-6, 0, 0, 0 },
    { "sub num, sub out",       DIV, 0.3, 1, 1.5, 0, 0, 0 },
    { "sub den",                DIV, 1.5, 0, 0.3, 1, 0, 0 },
    { "normal in, sub out",     DIV, 1e3, 1, 1e6, 0, 0, 0 },
    { "normal",                 SQRT, 1.5, 0, 0, 0, 0, 0 },
    { "sub in",                 SQRT, 0.3, 1, 0, 0, 0, 0 },
  };
  int ncases = (int)(sizeof cases / sizeof cases[0]);
  if (as_csv)
    printf("isa,type,op,case,ns_per_vector,ratio_to_normal\n");
  else
    printf("%-7s %-4s %-5s %-22s %10s %8s\n", "isa", "type", "op", "case", "ns/vector", "x normal");
  for (int w = 0; w < 4; w++) {
    if (w >= 2 && !has512)
      continue;
    int f64 = w & 1;
    int lanes = (w >= 2 ? 16 : 8) >> f64;
    double normal = 0;
    for (int ci = 0; ci < ncases; ci++) {
      double s = minn[f64];
      /* For f32, the "1e-39" literal of a c operand is a subnormal f32; for
       * f64 scale it into f64's subnormal range. */
      double c = cases[ci].c;
      if (f64 && c == 1e-39)
        c = 0.3 * s;
      fill(f64, cases[ci].a * (cases[ci].sa ? s : 1), cases[ci].b * (cases[ci].sb ? s : 1), c);
      double t = time_kern(kerns[w][cases[ci].op]) / (double)REPS / (double)(N / lanes) * 1e9;
      if (strcmp(cases[ci].label, "normal") == 0)
        normal = t;
      if (as_csv)
        printf("%s,%s,%s,%s,%.3f,%.2f\n", isa_name[w], ty_name[w], op_name[cases[ci].op], cases[ci].label,
               t, t / normal);
      else
        printf("%-7s %-4s %-5s %-22s %10.3f %8.2f\n", isa_name[w], ty_name[w], op_name[cases[ci].op],
               cases[ci].label, t, t / normal);
    }
  }
  return 0;
}
