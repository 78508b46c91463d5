/* Internal to optkern: the kernel record the generated registry fills, and
 * the runtime's private entry points.  Not installed; tests may use it. */
#ifndef OPTK_INTERNAL_H
#define OPTK_INTERNAL_H

#include "optkern.h"

#if defined(__x86_64__) || defined(_M_X64)
#define OPTK_ARCH_X86_64 1
#else
#define OPTK_ARCH_X86_64 0
#endif
#if defined(__aarch64__)
#define OPTK_ARCH_AARCH64 1
#else
#define OPTK_ARCH_AARCH64 0
#endif

#define OPTK_ISA_COUNT 5
#define OPTK_MAX_STATE 8   /* the generator refuses specs beyond these */
#define OPTK_MAX_CONSTS 16

/* A kernel updates n elements in place.  consts holds the loop invariants the
 * generator hoisted out of the update, in the arithmetic type (float, or
 * double for f64 kernels), computed once per call by the record's prep(). */
typedef void (*optk_kernel_fn)(size_t n, void *param, const void *grad, void *const *state,
                               const void *consts);

/* Domain of a hyperparameter: lo <(=) x <(=) hi, bounds may be +-inf.  NaN is
 * never in a domain; an infinite bound that is open also rules out infinity. */
struct optk_hparam {
  const char *name;
  double def, lo, hi;
  unsigned char lo_open, hi_open;
};

struct optk_kernel {
  const char *name;
  optk_dtype dtype;
  int nhparams;
  const struct optk_hparam *hparams;
  int nstate;
  const char *const *state_names;
  void (*state_init)(const double *hp, double *init); /* nstate initial values */
  int nconsts;
  void (*prep)(const double *hp, int64_t t, double *consts); /* nconsts values */
  optk_kernel_fn impl[OPTK_ISA_COUNT];                        /* NULL where not built */
};

/* Generated registry (generated/registry.c), in spec and dtype order. */
extern const optk_kernel *const optk_registry[];
extern const size_t optk_registry_count;

/* Test hook: forget the resolved ISA so the next call re-reads the CPU and
 * OPTK_ISA.  Not thread-safe; tests only. */
void optk__dispatch_reset(void);

/* Features this CPU and OS support, as a bit set over optk_isa. */
unsigned optk__cpu_isas(void);

#endif
