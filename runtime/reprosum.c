/* A reproducible sum of squares: the same bits whatever the order of the
 * values, the vector width, the thread count or the blocks they come in,
 * within about 2^-80 * count relative of the exact sum.  It serves the
 * group step's global gradient norm (group.c).
 *
 * The method is the binned summation of Demmel and Nguyen ("Parallel
 * reproducible summation", IEEE TC 2015; ReproBLAS), reduced to what a sum
 * of squares needs.  Exponents are cut into bins of W = 40 bits on a fixed
 * grid (bin b covers multiples of 2^(40 b - 52)).  A block of at most
 * OPTK_RSUM_BLOCK values is deposited into the three bins just above its
 * largest square: in each bin, the value is rounded to a multiple of the
 * bin's unit by adding it to an accumulator that starts at 1.5 * 2^(40 b)
 * (so the rounding happens in the addition and every sum is exact), and the
 * remainder, exact too, goes on to the next bin; the last bin takes the
 * remainder rounded.  The value's lowest bit is set before each addition
 * (x | 1), so that no addition is a tie: the piece a bin gets depends only
 * on the value and the bin, never on the accumulator's current contents.
 * Zero is left alone (it cannot tie, and 0 | 1 would be a subnormal, which
 * costs some CPUs a microcode assist per addition: zero gradients and
 * values that the upper bins take whole are common).
 *
 * Hence every bin's total is an exact sum of pieces that are functions of
 * the values alone, and exact sums do not depend on order.  What depends on
 * the block is only how deep its pieces go: a block whose largest square is
 * smaller starts lower and reaches lower bins.  The final value keeps the
 * three bins below the highest top any block had, which is a function of
 * the largest square overall; in those bins every value's piece is the same
 * as if all values had been one block (a value's pieces in bins above its
 * block's top are zero, and the last kept bin holds the remainder rounded
 * whether it was a block's last bin or a middle one).  Bins are kept as
 * 128-bit integers in units of their own, so totals never overflow and
 * never carry between bins.
 *
 * Squares are formed as double products.  To keep them within double's
 * range (f64 gradients reach 2^1024), each block is scaled by 2^-k with k a
 * multiple of 20, so that the scaled squares move by whole bins (2k is a
 * multiple of 40); values so far below the block's largest that the
 * scaling makes them subnormal lie far below the kept bins either way.
 * Squares of f32 values are exact in double; squares of f64 values are
 * rounded once, which changes the sum by at most 2^-53 relative.
 *
 * The deposit loop uses GCC's vector extensions: how many lanes run at once
 * and how the compiler lowers them changes nothing, since every lane's
 * accumulator is exact. */
#include <math.h>
#include <string.h>

#include "optk_internal.h"

#define RS_W 40      /* bits per bin */
#define RS_MARGIN 14 /* top bin at least 2^14 above the block's largest square: 2^11 deposits fit */
#define RS_LEVELS 3  /* bins a block deposits into */
#define RS_OFFSET 56 /* bin index of exponent 0 */

/* Accumulators of one block: RS_LEVELS levels of up to RS_MAXACC lanes. */
#define RS_MAXACC 32

/* The deposit loop over whole groups of L * U values, with L-lane vectors
 * unrolled U (at most 4) times: enough independent accumulators to hide the
 * additions' latency, few enough to stay in registers.  Returns how many it
 * took.  acc[l][lane] start at c[l] and end as c[l] + an exact sum.  The
 * accumulators are named variables, not an array, so that the compiler
 * keeps them in registers. */
#define RS_LEVEL(s, v, t)                                                                       \
  do {                                                                                          \
    t = s + (vd)((vi)v | ((vi)(v != 0) & one));                                                 \
    v = v - (t - s);                                                                            \
    s = t;                                                                                      \
  } while (0)
#define RS_ONE(L, u, a, b, c)                                                                    \
  do {                                                                                          \
    vt in_;                                                                                     \
    vd v_, t_;                                                                                  \
    memcpy(&in_, x + i + (size_t)(u) * (L), sizeof in_);                                        \
    v_ = __builtin_convertvector(in_, vd) * vsc;                                                \
    v_ = v_ * v_;                                                                               \
    RS_LEVEL(a, v_, t_);                                                                        \
    RS_LEVEL(b, v_, t_);                                                                        \
    c = c + (vd)((vi)v_ | ((vi)(v_ != 0) & one));                                              \
  } while (0)
#define RS_DEPOSIT(name, attr, L, U, T)                                                         \
  attr static size_t name(double acc[RS_LEVELS][RS_MAXACC], const T *x, size_t n, double sc,    \
                          const char *pf, size_t pf_bytes)                                      \
  {                                                                                             \
    typedef double vd __attribute__((vector_size(8 * (L))));                                   \
    typedef int64_t vi __attribute__((vector_size(8 * (L))));                                  \
    typedef T vt __attribute__((vector_size(sizeof(T) * (L))));                                \
    vd a0, b0, c0, a1, b1, c1, a2, b2, c2, a3, b3, c3;                                          \
    const vd vsc = sc - (vd){ 0 };                                                              \
    const vi one = (vi){ 0 } + 1;                                                               \
    memcpy(&a0, &acc[0][0], sizeof a0);                                                         \
    memcpy(&b0, &acc[1][0], sizeof b0);                                                         \
    memcpy(&c0, &acc[2][0], sizeof c0);                                                         \
    a1 = a2 = a3 = a0;                                                                          \
    b1 = b2 = b3 = b0;                                                                          \
    c1 = c2 = c3 = c0;                                                                          \
    size_t i = 0;                                                                               \
    for (size_t at = 0; i + (L) * (U) <= n; i += (L) * (U), at += RS_PF_STEP) {                 \
      if (at < pf_bytes)                                                                        \
        __builtin_prefetch(pf + at);                                                            \
      RS_ONE(L, 0, a0, b0, c0);                                                                    \
      if ((U) > 1)                                                                              \
        RS_ONE(L, 1, a1, b1, c1);                                                                  \
      if ((U) > 2)                                                                              \
        RS_ONE(L, 2, a2, b2, c2);                                                                  \
      if ((U) > 3)                                                                              \
        RS_ONE(L, 3, a3, b3, c3);                                                                  \
    }                                                                                           \
    const vd *const out[4][RS_LEVELS] = { { &a0, &b0, &c0 }, { &a1, &b1, &c1 },                 \
                                          { &a2, &b2, &c2 }, { &a3, &b3, &c3 } };               \
    for (int u = 0; u < (U); u++)                                                               \
      for (int l = 0; l < RS_LEVELS; l++)                                                       \
        memcpy(&acc[l][u * (L)], out[u][l], sizeof(vd));                                        \
    return i;                                                                                   \
  }

/* Bytes of the caller's next block prefetched per iteration of the deposit
 * loop: the loop is compute-bound, and without this the memory sits idle
 * while it runs, then the next block's read waits for every line. */
#define RS_PF_STEP 128

/* Two lanes: SSE2 on x86-64 (16 registers), NEON on aarch64 (32), pairs
 * elsewhere. */
#if OPTK_ARCH_AARCH64
#define RS_U2 4
#else
#define RS_U2 2
#endif
RS_DEPOSIT(rs_deposit_2, , 2, RS_U2, double)
RS_DEPOSIT(rs_deposit_2f, , 2, RS_U2, float)
#if OPTK_ARCH_X86_64 && (defined(__GNUC__) || defined(__clang__))
#define RS_X86 1
RS_DEPOSIT(rs_deposit_avx2, __attribute__((target("avx2"))), 4, 3, double)
RS_DEPOSIT(rs_deposit_avx512, __attribute__((target("avx512f"))), 8, 3, double)
RS_DEPOSIT(rs_deposit_avx2f, __attribute__((target("avx2"))), 4, 3, float)
RS_DEPOSIT(rs_deposit_avx512f, __attribute__((target("avx512f"))), 8, 3, float)
#else
#define RS_X86 0
#endif

void optk__rsum_init(optk_rsum *a)
{
  memset(a, 0, sizeof *a);
  a->top = -1;
}

/* floor(x / d) for d > 0. */
static int rs_floor_div(int x, int d) { return x >= 0 ? x / d : -((-x + d - 1) / d); }

/* Adds the 128-bit signed integer (hi, lo) += v. */
static void rs_add128(uint64_t *lo, int64_t *hi, int64_t v)
{
  const uint64_t before = *lo;
  *lo = before + (uint64_t)v;
  *hi += (int64_t)(*lo < before) + (v < 0 ? -1 : 0);
}

static void rs_block(optk_rsum *a, const double *xd, const float *xf, size_t n, double amax, optk_isa isa,
                     const void *next, size_t next_bytes)
{
  const char *pf = next;
  if (!(amax > 0))
    return;
  int eg;
  frexp(amax, &eg); /* amax in [2^(eg-1), 2^eg) */
  eg -= 1;
  int k = 20 * rs_floor_div(eg, 20);
  k = k > 1000 ? 1000 : k < -1000 ? -1000 : k;
  const double sc = ldexp(1.0, -k);
  const double smax = (amax * sc) * (amax * sc);
  int es;
  frexp(smax, &es);
  es -= 1;                                                /* smax in [2^es, 2^(es+1)) */
  const int e0 = RS_W * -rs_floor_div(-(es + RS_MARGIN), RS_W); /* ceiling to the grid */
  double c[RS_LEVELS], unit[RS_LEVELS];
  for (int l = 0; l < RS_LEVELS; l++) {
    c[l] = ldexp(1.5, e0 - l * RS_W);
    unit[l] = ldexp(1.0, -(e0 - l * RS_W - 52)); /* 1 / the bin's unit */
  }

  double acc[RS_LEVELS][RS_MAXACC];
  for (int l = 0; l < RS_LEVELS; l++)
    for (int j = 0; j < RS_MAXACC; j++)
      acc[l][j] = c[l];
  size_t i;
#if RS_X86
  if (isa == OPTK_ISA_AVX512)
    i = xd ? rs_deposit_avx512(acc, xd, n, sc, pf, next_bytes) : rs_deposit_avx512f(acc, xf, n, sc, pf, next_bytes);
  else if (isa == OPTK_ISA_AVX2)
    i = xd ? rs_deposit_avx2(acc, xd, n, sc, pf, next_bytes) : rs_deposit_avx2f(acc, xf, n, sc, pf, next_bytes);
  else
#endif
    i = xd ? rs_deposit_2(acc, xd, n, sc, pf, next_bytes) : rs_deposit_2f(acc, xf, n, sc, pf, next_bytes);
  (void)isa;
  /* The tail, one value at a time, into lane 0. */
  for (; i < n; i++) {
    double v = (xd ? xd[i] : (double)xf[i]) * sc;
    v = v * v;
    for (int l = 0; l < RS_LEVELS; l++) {
      uint64_t b;
      memcpy(&b, &v, sizeof b);
      b |= b != 0;
      double vb;
      memcpy(&vb, &b, sizeof vb);
      const double t = acc[l][0] + vb;
      v = v - (t - acc[l][0]);
      acc[l][0] = t;
    }
  }

  /* Every accumulator holds c + an exact multiple of the unit below 2^52
   * units: subtract, scale to units, add to the 128-bit bins. */
  const int b0 = (e0 + 2 * k) / RS_W + RS_OFFSET;
  for (int l = 0; l < RS_LEVELS; l++) {
    int64_t tot = 0;
    for (int j = 0; j < RS_MAXACC; j++)
      tot += (int64_t)((acc[l][j] - c[l]) * unit[l]); /* |.| < 2^51 each: no overflow */
    rs_add128(&a->lo[b0 - l], &a->hi[b0 - l], tot);
  }
  if (b0 > a->top)
    a->top = b0;
}

void optk__rsum_block(optk_rsum *a, const double *x, size_t n, double amax, optk_isa isa, const void *next,
                      size_t next_bytes)
{
  rs_block(a, x, NULL, n, amax, isa, next, next_bytes);
}

void optk__rsum_block_f32(optk_rsum *a, const float *x, size_t n, double amax, optk_isa isa, const void *next,
                          size_t next_bytes)
{
  rs_block(a, NULL, x, n, amax, isa, next, next_bytes);
}

void optk__rsum_merge(optk_rsum *a, const optk_rsum *b)
{
  if (b->top < 0)
    return;
  for (int i = 0; i < OPTK_RSUM_NBINS; i++) {
    const uint64_t before = a->lo[i];
    a->lo[i] += b->lo[i];
    a->hi[i] += b->hi[i] + (int64_t)(a->lo[i] < before);
  }
  if (b->top > a->top)
    a->top = b->top;
}

/* A 128-bit integer as a double, rounded twice in a fixed order. */
static double rs_to_double(uint64_t lo, int64_t hi) { return (double)hi * 0x1p64 + (double)lo; }

double optk__rsum_sqrt(const optk_rsum *a)
{
  if (a->top < 0)
    return 0.0;
  /* The kept bins, top first, in units of the top bin's unit. */
  double v = 0.0;
  for (int l = 0; l < RS_LEVELS && a->top - l >= 0; l++)
    v += ldexp(rs_to_double(a->lo[a->top - l], a->hi[a->top - l]), -l * RS_W);
  if (!(v > 0))
    return 0.0;
  /* unit of the top bin: 2^(40 (top - offset) - 52), an even power */
  const int e = RS_W * (a->top - RS_OFFSET) - 52;
  return ldexp(sqrt(v), e / 2);
}
