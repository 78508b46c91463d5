/* Benchmark data that looks like training (bench/training.c): shared by
 * optk_bench (its kernel section) and optk_bench_data. */
#ifndef OPTK_BENCH_TRAINING_H
#define OPTK_BENCH_TRAINING_H

#include <stddef.h>
#include "optkern.h"

enum bench_data {
  BENCH_NORMAL,    /* gradients ~ N(0, 1e-3), nothing else */
  BENCH_TRAINING,  /* the default: N(0, 1e-3), 5% exact zeros, 2% of 256-element rows ~1e-20 */
  BENCH_SUBNORMAL, /* every row tiny (squares, or values, below the smallest normal); state subnormal */
  BENCH_NDATA
};
extern const char *const bench_data_name[BENCH_NDATA];

/* Gradients of storage type d for n elements, in mode m; seed picks the stream. */
void bench_grad(void *g, optk_dtype d, size_t n, enum bench_data m, unsigned seed);
/* State of arithmetic type d (f32 or f64): positive subnormals in
 * BENCH_SUBNORMAL; the others leave the kernel's initial state alone. */
void bench_state(void *s, optk_dtype d, size_t n, enum bench_data m, unsigned seed);

#endif
