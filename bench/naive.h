/* Naive loops (naive.c), one table per compiler and flag set. */
#ifndef BENCH_NAIVE_H
#define BENCH_NAIVE_H

#include <stddef.h>
#include <stdint.h>

typedef void (*naive_step_fn)(size_t n, void *p, const void *g, void *const *state, const double *hp, int64_t t);

struct naive_fn {
  const char *name; /* optimizer */
  naive_step_fn f32, f64;
};

/* Variants: name, table.  Names say compiler and flags. */
extern const struct naive_fn naive_gcc_o3[], naive_gcc_o3_fnme[], naive_clang_o3[], naive_clang_o3_fnme[],
    naive_gcc_o2[];

#endif
