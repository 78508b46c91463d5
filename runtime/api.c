/* The public API: registry look-ups, metadata, argument checks, and the
 * step itself (per-call constants, then the kernel of the chosen ISA). */
#include <math.h>
#include <string.h>

#include "optk_internal.h"

const optk_kernel *optk_find(const char *name, optk_dtype dtype)
{
  if (name == NULL)
    return NULL;
  for (size_t i = 0; i < optk_registry_count; i++) {
    const optk_kernel *k = optk_registry[i];
    if (k->dtype == dtype && strcmp(k->name, name) == 0)
      return k;
  }
  return NULL;
}

size_t optk_count(void) { return optk_registry_count; }

const optk_kernel *optk_at(size_t i) { return i < optk_registry_count ? optk_registry[i] : NULL; }

const char *optk_name(const optk_kernel *k) { return k ? k->name : NULL; }

optk_dtype optk_dtype_of(const optk_kernel *k) { return k ? k->dtype : OPTK_F32; }

int optk_nstate(const optk_kernel *k) { return k ? k->nstate : 0; }

const char *optk_state_name(const optk_kernel *k, int i)
{
  return k && i >= 0 && i < k->nstate ? k->state_names[i] : NULL;
}

int optk_nhparams(const optk_kernel *k) { return k ? k->nhparams : 0; }

const char *optk_hparam_name(const optk_kernel *k, int i)
{
  return k && i >= 0 && i < k->nhparams ? k->hparams[i].name : NULL;
}

double optk_hparam_default(const optk_kernel *k, int i)
{
  return k && i >= 0 && i < k->nhparams ? k->hparams[i].def : NAN;
}

void optk_default_hparams(const optk_kernel *k, double *hp)
{
  if (k == NULL || hp == NULL)
    return;
  for (int i = 0; i < k->nhparams; i++)
    hp[i] = k->hparams[i].def;
}

static int in_domain(const struct optk_hparam *h, double x)
{
  if (isnan(x))
    return 0;
  if (h->is_bool)
    return x == 0 || x == 1;
  if (h->lo_open ? !(x > h->lo) : !(x >= h->lo))
    return 0;
  return h->hi_open ? x < h->hi : x <= h->hi;
}

/* The hyperparameters and t: what optk_step and optk_step_group check once
 * per call. */
int optk__check_hparams(const optk_kernel *k, const double *hp, int64_t t)
{
  if (k == NULL || hp == NULL || t < 1)
    return OPTK_EINVAL;
  for (int i = 0; i < k->nhparams; i++)
    if (!in_domain(&k->hparams[i], hp[i]))
      return OPTK_EINVAL;
  return OPTK_OK;
}

/* One set of arrays: what optk_step checks once and optk_step_group once
 * per tensor (optk_init_state, which has no param or grad, passes dummies). */
int optk__check_arrays(const optk_kernel *k, size_t n, const void *param, const void *grad,
                       void *const *state)
{
  if (n == 0)
    return OPTK_OK;
  if (param == NULL || grad == NULL)
    return OPTK_EINVAL;
  if (k->nstate > 0) {
    if (state == NULL)
      return OPTK_EINVAL;
    for (int i = 0; i < k->nstate; i++)
      if (state[i] == NULL)
        return OPTK_EINVAL;
  }
  return OPTK_OK;
}

static size_t arith_size(optk_dtype d) { return d == OPTK_F64 ? sizeof(double) : sizeof(float); }

int optk_init_state(const optk_kernel *k, size_t n, void *const *state, const double *hp)
{
  int err = optk__check_hparams(k, hp, 1);
  if (err == OPTK_OK)
    err = optk__check_arrays(k, n, &err, &err, state); /* no param or grad here */
  if (err != OPTK_OK || n == 0)
    return err;
  double init[OPTK_MAX_STATE];
  k->state_init(hp, init);
  for (int s = 0; s < k->nstate; s++) {
    if (arith_size(k->dtype) == sizeof(double)) {
      double *a = state[s];
      for (size_t i = 0; i < n; i++)
        a[i] = init[s];
    } else {
      float *a = state[s];
      const float v = (float)init[s];
      for (size_t i = 0; i < n; i++)
        a[i] = v;
    }
  }
  return OPTK_OK;
}

/* The per-call constants of the last step on this thread: a model steps
 * many tensors with the same kernel, hyperparameters and t, and prep() (pow
 * for the bias corrections) would otherwise cost more than a small tensor's
 * update.  Reused only when kernel, t and every hyperparameter match. */
static __thread struct { /* __thread, not _Thread_local: the vendored file is C99 */
  const optk_kernel *k;
  int64_t t;
  double hp[OPTK_MAX_HPARAMS];
  double c[OPTK_MAX_CONSTS];
  float cf[OPTK_MAX_CONSTS];
} consts_cache;

/* Runs kernel fn over n elements with the per-call constants of k; large
 * steps are split across threads (parallel.c). */
static void run(const optk_kernel *k, optk_kernel_fn fn, size_t n, void *param, const void *grad,
                void *const *state, const double *hp, int64_t t)
{
  if (consts_cache.k != k || consts_cache.t != t || k->nhparams > OPTK_MAX_HPARAMS ||
      memcmp(consts_cache.hp, hp, (size_t)k->nhparams * sizeof *hp) != 0) {
    consts_cache.k = NULL;
    k->prep(hp, t, consts_cache.c);
    for (int i = 0; i < k->nconsts; i++)
      consts_cache.cf[i] = (float)consts_cache.c[i];
    if (k->nhparams <= OPTK_MAX_HPARAMS) {
      memcpy(consts_cache.hp, hp, (size_t)k->nhparams * sizeof *hp);
      consts_cache.t = t;
      consts_cache.k = k;
    }
  }
  const void *c = k->dtype == OPTK_F64 ? (const void *)consts_cache.c : (const void *)consts_cache.cf;
  optk__parallel_run(k, fn, n, param, grad, state, c);
}

int optk_step_isa(const optk_kernel *k, optk_isa isa, size_t n, void *param, const void *grad,
                  void *const *state, const double *hp, int64_t t)
{
  if ((unsigned)isa >= OPTK_ISA_COUNT)
    return OPTK_EINVAL;
  int err = optk__check_hparams(k, hp, t);
  if (err == OPTK_OK)
    err = optk__check_arrays(k, n, param, grad, state);
  if (err != OPTK_OK)
    return err;
  if (!optk_isa_available(isa) || k->impl[isa] == NULL)
    return OPTK_ENOTSUP;
  if (n > 0)
    run(k, k->impl[isa], n, param, grad, state, hp, t);
  return OPTK_OK;
}

int optk_step(const optk_kernel *k, size_t n, void *param, const void *grad, void *const *state,
              const double *hp, int64_t t)
{
  return optk_step_isa(k, optk_active_isa(), n, param, grad, state, hp, t);
}

const char *optk_strerror(int err)
{
  switch (err) {
  case OPTK_OK:
    return "success";
  case OPTK_EINVAL:
    return "invalid argument (NULL pointer, hyperparameter outside its domain, or step t < 1)";
  case OPTK_ENOTSUP:
    return "instruction set not supported by this CPU or build";
  default:
    return "unknown optkern error code";
  }
}
