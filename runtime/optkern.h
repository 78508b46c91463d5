/* optkern: fast, bit-reproducible optimizer updates for the CPU.
 *
 * One call applies one optimizer step in place to n parameters, choosing at
 * run time the fastest kernel this CPU runs.  Every kernel of one optimizer
 * and storage type gives the same bits on every ISA.
 *
 *   const optk_kernel *k = optk_find("adam", OPTK_F32);
 *   double hp[4];  optk_default_hparams(k, hp);
 *   void *state[2] = { m, v };
 *   optk_init_state(k, n, state, hp);
 *   for (int64_t t = 1; ...; t++)  optk_step(k, n, w, grad, state, hp, t);
 *
 * Typed wrappers (optk_adam_f32() and friends) come from the generated header
 * optkern_generated.h, included at the end of this file.
 */
#ifndef OPTKERN_H
#define OPTKERN_H

#include <stddef.h>
#include <stdint.h>

/* liboptkern.so exports what this header declares and nothing else (its
 * build compiles with -fvisibility=hidden -DOPTK_EXPORTS): the runtime's
 * own calls, to the per-call pow for instance, are then direct, not
 * through the PLT.  A vendored copy keeps its builder's visibility. */
#if defined(__GNUC__) && defined(OPTK_EXPORTS)
#pragma GCC visibility push(default)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Storage type of param and grad.  State and arithmetic are f32 for f32, bf16
 * and f16 kernels, and f64 for f64 kernels. */
typedef enum { OPTK_F32, OPTK_F64, OPTK_BF16, OPTK_F16 } optk_dtype;
typedef enum { OPTK_ISA_SCALAR, OPTK_ISA_AVX2, OPTK_ISA_AVX512, OPTK_ISA_NEON, OPTK_ISA_SVE } optk_isa;
enum { OPTK_OK = 0, OPTK_EINVAL = -1, OPTK_ENOTSUP = -2,
       OPTK_ENOMEM = -3 /* a two-phase kernel (lamb) could not allocate its scratch; nothing written */ };

/* bf16 and f16 values travel as their raw 16-bit patterns. */
typedef uint16_t optk_bf16;
typedef uint16_t optk_f16;

typedef struct optk_kernel optk_kernel; /* one optimizer x one storage type */

/* Registry. */
const optk_kernel *optk_find(const char *name, optk_dtype dtype); /* NULL if unknown */
size_t optk_count(void);
const optk_kernel *optk_at(size_t i); /* NULL if i >= optk_count() */

/* Metadata.  Names are the optimizer, hyperparameter and state names of the
 * specs (generator/specs/), in spec order. */
const char *optk_name(const optk_kernel *k);
optk_dtype optk_dtype_of(const optk_kernel *k);
int optk_nstate(const optk_kernel *k);
const char *optk_state_name(const optk_kernel *k, int i);
int optk_nhparams(const optk_kernel *k);
const char *optk_hparam_name(const optk_kernel *k, int i);
double optk_hparam_default(const optk_kernel *k, int i);
void optk_default_hparams(const optk_kernel *k, double *hp); /* fills nhparams values */

/* Sets every state array to its initial value (which may depend on hp).
 * Returns OPTK_EINVAL, touching no memory, on the argument errors optk_step
 * refuses (NULL kernel, hp or state array, two state arrays that are one, n
 * too large, a hyperparameter outside its domain), and where an initial value
 * is NaN, or infinite although no hyperparameter is, in the compute type. */
int optk_init_state(const optk_kernel *k, size_t n, void *const *state, const double *hp);

/* One step in place: param and state are updated, grad is read.  t is the
 * 1-based step number.  Returns OPTK_EINVAL, touching no memory, on
 *  - a NULL kernel or hp, or a NULL param, grad or state array with n > 0;
 *  - n whose byte size (n times the widest element the kernel touches, 8
 *    bytes for f64, else 4 with state, else the storage size) exceeds
 *    PTRDIFF_MAX;
 *  - a hyperparameter that is NaN or outside its domain, either as given or
 *    rounded to the kernel's compute type (float for f32, bf16 and f16
 *    kernels, double for f64): lr = 1e39 is infinite in float, and
 *    nextafter(1, 0) is 1;
 *  - a per-call constant derived from the hyperparameters and t that is NaN,
 *    or infinite although no hyperparameter is, in the compute type (a finite
 *    lr near FLT_MAX divided by a small 1 - beta1^t overflows);
 *  - t < 1;
 *  - exact aliasing: with n > 0, two of param, grad and the state arrays at
 *    the same address.
 * Aliasing is undefined behaviour: the kernels declare param, grad and every
 * state array restrict, so param == grad, one array passed as two state
 * arrays, param or grad equal to a state array, or any partial overlap
 * between them gives no defined result.  Equal pointers are refused as above;
 * partial overlap is not detected.  Each array holds n elements.
 *
 * Kernels whose update uses a per-tensor norm (lamb: the trust ratio
 * ||p|| / ||update||) treat the n elements as one tensor: stepping a tensor
 * in pieces is not stepping it whole.  They run in two passes over the
 * arrays, with scratch memory of n elements of the compute type per value
 * carried between them (lamb: one array); if that allocation fails the step
 * returns OPTK_ENOMEM having written nothing.  The norms are reproducible
 * sums (the same bits on every ISA and thread count); a NaN among the
 * values gives a NaN norm and an infinity an infinite one, which the update
 * then meets as any other value (lamb: ratio 1 when a norm is NaN, as the
 * w_norm > 0 test fails; p's NaN elements stay NaN). */
int optk_step(const optk_kernel *k, size_t n, void *param, const void *grad,
              void *const *state, const double *hp, int64_t t); /* best ISA */
int optk_step_isa(const optk_kernel *k, optk_isa isa, size_t n, void *param, const void *grad,
                  void *const *state, const double *hp, int64_t t); /* OPTK_ENOTSUP if not here */

/* The whole training step in one call: every tensor of a model stepped with
 * one kernel, hyperparameters and t, with the gradient transforms a
 * framework runs around the update fused into at most two passes over the
 * gradients (the first only when the norm or the finiteness check is
 * needed) and one over param and state.
 *
 * - opts == NULL and no master arrays: the bits of optk_step on each tensor
 *   in turn.  A master array, when set, applies whatever opts is.
 * - The gradient the kernel uses is formed in the compute type (f32 for
 *   f32, bf16 and f16 storage; f64 for f64): g' = c(c(g) * c(grad_scale)),
 *   then g'' = c(g' * c(coef)) when clipping, where c() rounds to nearest
 *   even in the compute type and both multipliers are rounded to it first.
 *   A power-of-two grad_scale is therefore exact, and multipliers equal to
 *   1 leave g as it is.
 * - grad_norm is the L2 norm of all g' (the scaled gradients, before
 *   clipping), computed by a reproducible summation: the same bits on every
 *   ISA, at every thread count and for every split of the same values into
 *   tensors, within 1e-12 relative of the exact value (2^-53 for f64, where
 *   the squares are rounded).  It is NaN if a g' is NaN, else infinite if one
 *   is infinite.  It is computed when clipping, when skip_nonfinite is set
 *   or when result is not NULL.
 * - max_grad_norm > 0: coef = max_grad_norm / (grad_norm + 1e-6) in double,
 *   capped at 1 (NaN stays NaN), as torch.nn.utils.clip_grad_norm_.
 * - skip_nonfinite: a NaN or Inf in any g' leaves every array untouched.
 * - master (bf16/f16 kernels only): the f32 kernel of the same optimizer
 *   updates master with g' converted exactly to f32, with the bits it would
 *   give on its own; param then receives master rounded to nearest even.
 * - sr_seed != 0 (16-bit params without a master): the update runs in f32
 *   on param converted exactly, as the 16-bit kernel computes, and the
 *   result is rounded to one of its two bf16/f16 neighbours, up with
 *   probability equal to its distance from the lower one over their gap.
 *   The random bits are a counter-based hash of (sr_seed, t, the element's
 *   index in the group: tensors numbered in order, elements following on),
 *   so they are the same on every ISA and thread count.  Unbiased exactly
 *   for bf16, and for f16 down to 2^-53 of an ulp; NaN stays NaN, and a
 *   value beyond the largest finite one may become infinity.
 * - 16-bit kernels with a gradient multiplier other than 1 (and no master)
 *   run the same way without stochastic rounding: f32 kernel, then round to
 *   nearest even, which is what the 16-bit kernel computes.
 * - Threads: the work is split by bytes across the pool (small tensors
 *   batched, large ones cut into cache-line aligned pieces); the results
 *   are the same bits at every thread count.
 *
 * - Kernels with per-tensor norms (lamb): every tensor has its own norms,
 *   taken of the values its update uses (the transformed gradient's
 *   update; the master as p where there is one); such a kernel steps one
 *   tensor after another, each split across the pool, and returns
 *   OPTK_ENOMEM, writing nothing, when its scratch (for the largest tensor)
 *   cannot be allocated.
 *
 * Returns OPTK_EINVAL, writing nothing to any tensor, on what optk_step
 * refuses for any tensor, count > 0 with tensors NULL, a master array for an
 * f32/f64 kernel, a grad_scale that is not finite in the compute type, or a
 * NaN max_grad_norm; OPTK_ENOTSUP when a master, stochastic rounding or a
 * gradient multiplier needs the f32 kernel of the same optimizer and this
 * build lacks it (only a vendored selection can). */
typedef struct optk_tensor {
  size_t n;             /* elements */
  void *param;          /* the kernel's storage type */
  const void *grad;     /* the kernel's storage type */
  void *const *state;   /* optk_nstate(k) arrays, as for optk_step */
  float *master;        /* bf16/f16 kernels: an f32 master copy of param, or NULL */
} optk_tensor;

typedef struct optk_group_opts {
  double grad_scale;    /* every gradient is multiplied by this first; 1 = none */
  double max_grad_norm; /* > 0: clip by the global L2 norm of the scaled gradients, as torch's clip_grad_norm_ */
  int skip_nonfinite;   /* nonzero: a NaN or Inf in any gradient leaves every array untouched */
  uint64_t sr_seed;     /* nonzero: 16-bit params without a master are written with stochastic rounding */
} optk_group_opts;

typedef struct optk_group_result {
  double grad_norm;     /* global L2 norm of the scaled gradients, before clipping */
  int found_nonfinite;  /* a gradient held NaN or Inf */
  int skipped;          /* nothing was written */
} optk_group_result;

int optk_step_group(const optk_kernel *k, size_t count, const optk_tensor *tensors,
                    const double *hparams, int64_t t,
                    const optk_group_opts *opts,   /* NULL: none of the above */
                    optk_group_result *result);    /* NULL: not wanted */

/* Dispatch.  The active ISA is the best one this CPU and build run, capped by
 * the environment variable OPTK_ISA (scalar, avx2, avx512, neon, sve).  A
 * build with -DOPTK_STATIC_ISA=<isa> holds that ISA and scalar, and runs
 * scalar on a CPU without <isa>. */
optk_isa optk_active_isa(void);
int optk_isa_available(optk_isa isa);
const char *optk_isa_name(optk_isa isa);

const char *optk_strerror(int err);

/* Threads.  A step is split into cache-line aligned chunks across a pool of
 * threads when each part gets at least 10 us of one thread's work (the
 * kernel's time per element is measured once, in cache); smaller steps run on
 * the calling thread.  The result is bit-identical whatever the thread
 * count, and every step runs under the IEEE default floating-point
 * environment whatever the caller set (the caller's is restored after).  A
 * step uses at most the count set here, and wakes only the workers it uses.
 * n = 0 restores the default: the environment variable OPTK_NUM_THREADS if it
 * is set to a positive count, else the CPUs this process may run on (its
 * affinity mask), capped by its cgroup's CPU quota.  Returns OPTK_EINVAL if
 * n < 0.  optk_get_num_threads() gives the count large steps use. */
int optk_set_num_threads(int n);
int optk_get_num_threads(void);

#ifdef __cplusplus
}
#endif

#include "optkern_generated.h"

#if defined(__GNUC__) && defined(OPTK_EXPORTS)
#pragma GCC visibility pop
#endif

#endif
