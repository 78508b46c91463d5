/* Benchmark data (bench/training.h).  Training-like gradients: small and
 * roughly normal, some exact zeros (masked or dead units), and some rows
 * (embeddings of rare tokens, dead units) around 1e-20, whose squares are
 * f32 subnormals, so an Adam v there sinks into the subnormal range.  The
 * subnormal mode makes every row so: half of them ~1e-20 (subnormal squares:
 * v, a sqrt operand), half below the smallest normal (subnormal g and m,
 * products and quotients), scaled per type (f64: 1e-160 and 1e-310; f16,
 * which cannot hold 1e-20: its own subnormals). */
#include "training.h"

#include <math.h>

#include "elems.h"

const char *const bench_data_name[BENCH_NDATA] = { "normal", "training", "subnormal" };

enum { ROW = 256 };

static void tiny_scales(optk_dtype d, double *a, double *b)
{
  switch (d) {
  case OPTK_F64: *a = 1e-160; *b = 1e-310; break;
  case OPTK_F16: *a = 1e-6; *b = 1e-7; break;
  default: *a = 1e-20; *b = 1e-39; break;
  }
}

void bench_grad(void *g, optk_dtype d, size_t n, enum bench_data m, unsigned seed)
{
  tu_rng r;
  tu_seed(&r, 0x9e3779b97f4a7c15ull ^ seed);
  double ta, tb;
  tiny_scales(d, &ta, &tb);
  double scale = 1e-3;
  for (size_t i = 0; i < n; i++) {
    if (i % ROW == 0) {
      size_t row = i / ROW;
      if (m == BENCH_SUBNORMAL)
        scale = row % 2 ? tb : ta;
      else if (m == BENCH_TRAINING)
        scale = tu_below(&r, 50) == 0 ? ta : 1e-3; /* 2% of rows tiny */
    }
    double v = tu_normal(&r) * scale;
    if (m == BENCH_TRAINING && tu_below(&r, 20) == 0)
      v = 0.0; /* 5% exact zeros */
    tu_put(d, g, i, v);
  }
}

void bench_state(void *s, optk_dtype d, size_t n, enum bench_data m, unsigned seed)
{
  if (m != BENCH_SUBNORMAL)
    return;
  tu_rng r;
  tu_seed(&r, 0x2545f4914f6cdd1dull ^ seed);
  const double tiny = d == OPTK_F64 ? 1e-310 : 1e-40;
  for (size_t i = 0; i < n; i++)
    tu_put(d, s, i, fabs(tu_normal(&r)) * tiny);
}
