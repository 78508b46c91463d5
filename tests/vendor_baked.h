/* The hyperparameters build.ninja bakes into the b_ vendored copy
 * (vendor_baked there: keep the two in step), for the programs that run it
 * against the unbaked a_ copy: tests/vendor_test.c and bench/bench.c. */
#ifndef OPTK_VENDOR_BAKED_H
#define OPTK_VENDOR_BAKED_H

static const struct {
  const char *optim, *hparam;
  double value;
} vendor_baked[] = {
  { "adam", "beta1", 0.9 },
  { "adam", "eps", 1e-8 },
  { "sgd_momentum", "momentum", 0.9 },
  { "adagrad", "initial_accumulator_value", 0.1 },
};

#include <string.h>

/* The value baked for optim.hparam, or otherwise when it is not baked. */
static inline double vendor_baked_value(const char *optim, const char *hparam, double otherwise)
{
  for (size_t q = 0; q < sizeof vendor_baked / sizeof vendor_baked[0]; q++)
    if (strcmp(vendor_baked[q].optim, optim) == 0 && strcmp(vendor_baked[q].hparam, hparam) == 0)
      return vendor_baked[q].value;
  return otherwise;
}

#endif
