/* Hand-written double-precision transcriptions of the seed optimizers'
 * Keras 3 update rules (not generated, not derived from the generator's
 * specs or output), for suite_keras.c: they check the specs themselves,
 * where the IR interpreter (ir_eval.h) checks the kernels against the
 * specs.  A new optimizer needs none.  t is the 1-based step.
 */
#ifndef OPTK_REF_H
#define OPTK_REF_H

#include <stddef.h>
#include <stdint.h>

enum {
  REF_SGD,
  REF_SGD_MOMENTUM,
  REF_SGD_NESTEROV,
  REF_ADAGRAD,
  REF_RMSPROP,
  REF_RMSPROP_MOMENTUM,
  REF_RMSPROP_CENTERED,
  REF_RMSPROP_CENTERED_MOMENTUM,
  REF_ADAM,
  REF_ADAM_AMSGRAD,
  REF_ADAMAX,
  REF_NOPT
};

#define REF_MAX_HP 4
#define REF_MAX_STATE 3

/* The contract's metadata (README's table): names in order, defaults. */
struct ref_desc {
  const char *name;
  int nhp;
  const char *hp_names[REF_MAX_HP];
  double hp_def[REF_MAX_HP];
  int nstate;
  const char *state_names[REF_MAX_STATE];
};

extern const struct ref_desc ref_descs[REF_NOPT];

int ref_lookup(const char *name); /* REF_* or -1 */

/* Initial state values for hp (0, or initial_accumulator_value). */
void ref_state_init(int opt, const double *hp, double *init);

/* One step over n elements, all in double; p and state updated in place. */
void ref_step(int opt, size_t n, double *p, const double *g, double *const *state,
              const double *hp, int64_t t);

#endif
