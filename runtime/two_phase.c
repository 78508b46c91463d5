/* Steps of two-phase kernels: updates that use a per-tensor norm, such as
 * LAMB's trust ratio (generator/lib/optgen/phases.lua splits them).
 *
 *   phase 1 (impl) writes the state and the scratch arrays;
 *   the norms of the arrays norm_arrays names are taken with the
 *     reproducible sum of squares (reprosum.c), so they have the same bits on
 *     every ISA and thread count;
 *   prep2 turns them into phase 2's constants, and phase 2 (impl2) writes
 *     the parameter.
 * Each phase splits across the pool like a one-phase step (parallel.c): the
 * scratch arrays are state arrays to it, so the chunks line up. */
#include <math.h>
#include <stdlib.h>

#include "optk_internal.h"
#include "optk_scalar.h"

/* The L2 norm of n elements of type dt at a: NaN if one is NaN, else
 * infinity if one is infinite, else the reproducible sum's square root. */
static double norm_of(const void *a, optk_dtype dt, size_t n, optk_isa isa)
{
  double buf[OPTK_RSUM_BLOCK];
  optk_rsum sum;
  optk__rsum_init(&sum);
  int nan = 0, inf = 0;
  for (size_t lo = 0; lo < n; lo += OPTK_RSUM_BLOCK) {
    const size_t len = n - lo < OPTK_RSUM_BLOCK ? n - lo : OPTK_RSUM_BLOCK;
    double amax = 0;
    size_t fill = 0;
    for (size_t i = lo; i < lo + len; i++) {
      double x;
      switch (dt) {
      case OPTK_F64:
        x = ((const double *)a)[i];
        break;
      case OPTK_F32:
        x = ((const float *)a)[i];
        break;
      case OPTK_BF16:
        x = optk_bf16_to_f32(((const uint16_t *)a)[i]);
        break;
      default:
        x = optk_f16_to_f32(((const uint16_t *)a)[i]);
        break;
      }
      if (x != x) {
        nan = 1;
        continue;
      }
      const double m = fabs(x);
      if (m == INFINITY) {
        inf = 1;
        continue;
      }
      amax = m > amax ? m : amax;
      buf[fill++] = x;
    }
    if (fill > 0)
      optk__rsum_block(&sum, buf, fill, amax, isa);
  }
  if (nan)
    return NAN;
  if (inf)
    return INFINITY;
  return optk__rsum_sqrt(&sum);
}

int optk__step_two_phase(const optk_kernel *k, optk_isa isa, size_t n, void *param, const void *grad,
                         void *const *state, const double *hp, int64_t t, const void *consts)
{
  const int f64 = k->dtype == OPTK_F64;
  const size_t asize = f64 ? sizeof(double) : sizeof(float);
  /* n * asize * nscratch cannot overflow: optk_step bounded n by the bytes
   * of its widest array, and nscratch + nstate <= OPTK_MAX_STATE. */
  char *scratch = malloc((size_t)k->nscratch * n * asize);
  if (scratch == NULL && k->nscratch > 0)
    return OPTK_ENOMEM;
  void *arrays[OPTK_MAX_STATE];
  for (int s = 0; s < k->nstate; s++)
    arrays[s] = state[s];
  for (int s = 0; s < k->nscratch; s++)
    arrays[k->nstate + s] = scratch + (size_t)s * n * asize;

  optk__parallel_run_arrays(k, k->impl[isa], n, param, grad, arrays, k->nstate + k->nscratch, consts);

  double norms[OPTK_MAX_STATE + 1];
  for (int i = 0; i < k->nnorms; i++) {
    const int a = k->norm_arrays[i];
    norms[i] = a == -1   ? norm_of(param, k->dtype, n, isa)
               : a == -2 ? norm_of(grad, k->dtype, n, isa)
                         : norm_of(arrays[a], f64 ? OPTK_F64 : OPTK_F32, n, isa);
  }
  double c[OPTK_MAX_CONSTS];
  float cf[OPTK_MAX_CONSTS];
  k->prep2(hp, t, norms, c);
  for (int i = 0; i < k->nconsts2; i++)
    cf[i] = (float)c[i];
  optk__parallel_run_arrays(k, k->impl2[isa], n, param, grad, arrays, k->nstate + k->nscratch,
                            f64 ? (const void *)c : (const void *)cf);
  free(scratch);
  return OPTK_OK;
}
