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

/* Static dispatch: building with -DOPTK_STATIC_ISA=avx2 (or scalar, avx512,
 * neon, sve) compiles only the scalar baseline and that ISA's kernels and
 * always dispatches to it, for a known target (the vendored file's mode).
 * OPTK_STATIC_ALLOWS(id) says whether ISA number id is built. */
#define OPTK_ISA_ID_scalar 1
#define OPTK_ISA_ID_avx2 2
#define OPTK_ISA_ID_avx512 3
#define OPTK_ISA_ID_neon 4
#define OPTK_ISA_ID_sve 5
#define OPTK_ISA_ID_(x) OPTK_ISA_ID__(x)
#define OPTK_ISA_ID__(x) OPTK_ISA_ID_##x
#ifdef OPTK_STATIC_ISA
#define OPTK_STATIC (OPTK_ISA_ID_(OPTK_STATIC_ISA) - 1)
#if OPTK_STATIC < 0
#error "OPTK_STATIC_ISA must be scalar, avx2, avx512, neon or sve"
#endif
#define OPTK_STATIC_ALLOWS(id) ((id) == 0 || (id) == OPTK_STATIC)
#else
#define OPTK_STATIC_ALLOWS(id) 1
#endif
/* The generator refuses specs beyond these (generator/lib/optgen/limits.lua). */
#define OPTK_MAX_STATE 8
#define OPTK_MAX_HPARAMS 32
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
  unsigned char is_bool; /* a switch: only 0 and 1 (a domain "{0, 1}" in the spec) */
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
  /* Two-phase kernels: an update that uses a per-tensor norm (LAMB's trust
   * ratio; generator/lib/optgen/phases.lua).  impl writes the state and
   * nscratch scratch arrays (after the state in the state list, n elements
   * of the arithmetic type each); the runtime takes the L2 norm of each
   * array norm_arrays names (-1: param, else an index into state + scratch)
   * with its reproducible sum; prep2 turns them into impl2's constants; impl2
   * writes the parameter.  nnorms is 0 for one-phase kernels. */
  int nnorms, nscratch;
  const signed char *norm_arrays;
  void (*prep2)(const double *hp, int64_t t, const double *norms, double *consts);
  int nconsts2;
  optk_kernel_fn impl2[OPTK_ISA_COUNT];
};

/* Generated registry (generated/registry.c), in spec and dtype order. */
extern const optk_kernel *const optk_registry[];
extern const size_t optk_registry_count;

/* Test hook: forget the resolved ISA so the next call re-reads the CPU and
 * OPTK_ISA.  Not thread-safe; tests only. */
void optk__dispatch_reset(void);

/* Features this CPU and OS support, as a bit set over optk_isa. */
unsigned optk__cpu_isas(void);

/* Threads (parallel.c).  A step moving at least optk__parallel_threshold()
 * bytes (param and grad read, state read and written, counted once each) is
 * split into cache-line aligned chunks across optk_get_num_threads() threads;
 * a smaller one runs on the caller's thread.  The default was chosen by
 * measurement (bench/run's thread-scaling section; see bench/README.md). */
#define OPTK_PARALLEL_MIN_BYTES ((size_t)4 << 20)
void optk__parallel_run(const optk_kernel *k, optk_kernel_fn fn, size_t n, void *param,
                        const void *grad, void *const *state, const void *consts);
size_t optk__parallel_threshold(void);
void optk__set_parallel_threshold(size_t bytes); /* benchmarks: 0 splits every step */

/* Per-call arithmetic without libm (ieee_math.c): the same bits with every C
 * library.  pow with an integral exponent is binary powering. */
double optk__pow(double x, double y);
double optk__exp(double x);
double optk__log(double x);
float optk__powf(float x, float y); /* the kernels' per-element pow, via optk__pow */

#endif
