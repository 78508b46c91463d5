/* The public API: registry look-ups, metadata, argument checks, and the
 * step itself (per-call constants, then the kernel of the chosen ISA). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "fpenv.h"
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

/* x as the kernel computes with it: float for f32, bf16 and f16 kernels,
 * double for f64.  A double beyond FLT_MAX becomes infinite (IEEE 754
 * conversion), 1 - 2^-53 becomes 1: the domain is checked on both. */
static double to_compute(const optk_kernel *k, double x)
{
  return k->dtype == OPTK_F64 ? x : (double)(float)x;
}

static size_t arith_size(optk_dtype d) { return optk__compute_bytes(d); }

/* Bytes per element of the widest array a call touches: n times this must
 * fit in ptrdiff_t, or the kernels' pointer arithmetic and the thread split
 * overflow. */
static size_t widest(const optk_kernel *k)
{
  const size_t p = optk__dtype_bytes(k->dtype);
  const size_t s = arith_size(k->dtype);
  return k->nstate > 0 && s > p ? s : p;
}

/* Per-call constants and initial state values, after rounding to the
 * compute type, must be finite: a finite hyperparameter can still overflow
 * one (lr * sqrt(1 - beta2^t) / (1 - beta1^t) with lr near FLT_MAX).  Where
 * a domain admits an infinite hyperparameter (eps in [0, inf]), values
 * derived from it may be infinite too, but never NaN.  v holds count values
 * already rounded. */
static int derived_ok(const double *v, int count, int inf_hp)
{
  for (int i = 0; i < count; i++)
    if (isnan(v[i]) || (!inf_hp && isinf(v[i])))
      return 0;
  return 1;
}

/* Whether some hyperparameter is infinite in the compute type. */
static int any_inf_hp(const optk_kernel *k, const double *hp)
{
  for (int i = 0; i < k->nhparams; i++)
    if (isinf(to_compute(k, hp[i])))
      return 1;
  return 0;
}

/* Whether two of the count arrays are one (the kernels' restrict makes
 * that undefined behaviour).  NULL entries are reported elsewhere. */
static int aliased(const void *const *a, int count)
{
  for (int i = 0; i < count; i++)
    for (int j = 0; j < i; j++)
      if (a[i] != NULL && a[i] == a[j])
        return 1;
  return 0;
}

/* Everything but the ISA and the per-call constants: the checks optk_step
 * and optk_init_state share. */
static int check(const optk_kernel *k, size_t n, void *const *state, const double *hp)
{
  if (k == NULL || hp == NULL)
    return OPTK_EINVAL;
  for (int i = 0; i < k->nhparams; i++)
    if (!in_domain(&k->hparams[i], hp[i]) || !in_domain(&k->hparams[i], to_compute(k, hp[i])))
      return OPTK_EINVAL;
  if (n > (size_t)PTRDIFF_MAX / widest(k))
    return OPTK_EINVAL;
  if (n > 0 && k->nstate > 0) {
    if (state == NULL)
      return OPTK_EINVAL;
    for (int i = 0; i < k->nstate; i++)
      if (state[i] == NULL)
        return OPTK_EINVAL;
    if (aliased((const void *const *)state, k->nstate))
      return OPTK_EINVAL;
  }
  return OPTK_OK;
}

/* The hyperparameters and t: what optk_step and optk_step_group check once
 * per call. */
int optk__check_hparams(const optk_kernel *k, const double *hp, int64_t t)
{
  if (t < 1)
    return OPTK_EINVAL;
  return check(k, 0, NULL, hp);
}

/* One set of arrays: what optk_step checks once and optk_step_group once
 * per tensor: present when n > 0, n bounded, no two the same. */
static inline int check_arrays(const optk_kernel *k, size_t n, const void *param, const void *grad,
                               void *const *state)
{
  if (n == 0)
    return OPTK_OK;
  /* No element is wider than 8 bytes: the division only for huge n. */
  if ((n > (size_t)PTRDIFF_MAX / 8 && n > (size_t)PTRDIFF_MAX / widest(k)) || param == NULL || grad == NULL)
    return OPTK_EINVAL;
  if (k->nstate > 0 && state == NULL)
    return OPTK_EINVAL;
  const void *arrays[2 + OPTK_MAX_STATE] = { param, grad };
  for (int i = 0; i < k->nstate; i++) {
    if (state[i] == NULL)
      return OPTK_EINVAL;
    arrays[2 + i] = state[i];
  }
  /* param, grad and the state arrays are restrict in the kernels */
  return aliased(arrays, 2 + k->nstate) ? OPTK_EINVAL : OPTK_OK;
}

int optk__check_arrays(const optk_kernel *k, size_t n, const void *param, const void *grad,
                       void *const *state)
{
  return check_arrays(k, n, param, grad, state);
}

int optk_init_state(const optk_kernel *k, size_t n, void *const *state, const double *hp)
{
  int err = check(k, n, state, hp);
  if (err != OPTK_OK)
    return err;
  double init[OPTK_MAX_STATE];
  const unsigned fpenv = optk__fpenv_enter(); /* initial values in double, rounded as a step would */
  k->state_init(hp, init);
  for (int s = 0; s < k->nstate; s++)
    init[s] = to_compute(k, init[s]);
  optk__fpenv_leave(fpenv, 0);
  if (!derived_ok(init, k->nstate, any_inf_hp(k, hp)))
    return OPTK_EINVAL;
  if (n == 0)
    return OPTK_OK;
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
 * many tensors with the same kernel, hyperparameters and t, and checking the
 * hyperparameters and computing the constants (pow for the bias corrections)
 * would otherwise cost more than a small tensor's update.  The entry holds
 * hyperparameters that passed check(): where kernel and every bit of hp
 * match, they are known good without a look at the domains, and where t
 * matches too, the constants are reused.  inf_hp caches any_inf_hp(), ok
 * whether the constants passed derived_ok. */
struct consts_cache {
  const optk_kernel *k;
  int64_t t;
  int inf_hp, ok;
  uint64_t hp[OPTK_MAX_HPARAMS];
  double c[OPTK_MAX_CONSTS];
  float cf[OPTK_MAX_CONSTS];
};
static __thread struct consts_cache consts_cache; /* __thread, not _Thread_local: the vendored file is C99 */

/* This thread's entry, its address computed once per step. */
static inline struct consts_cache *this_cache(void)
{
  struct consts_cache *cc = &consts_cache;
  OPTK_TLS_ONCE(cc);
  return cc;
}

/* Whether hp holds, bit for bit, the hyperparameters cached for k (a
 * comparison of bits, not values: -0 and 0, or NaNs, are not confused). */
static int same_hp(const struct consts_cache *cc, const optk_kernel *k, const double *hp)
{
  if (cc->k != k)
    return 0;
  for (int i = 0; i < k->nhparams; i++) {
    uint64_t b;
    memcpy(&b, &hp[i], sizeof b);
    if (b != cc->hp[i])
      return 0;
  }
  return 1;
}

/* The per-call constants of k for hp (already checked) and t, into the
 * cache: double for f64 kernels, float for the others; ok as derived_ok
 * would find them (one pass, since a new t every step puts this on the
 * caller's path). */
static void fill_consts(struct consts_cache *cc, const optk_kernel *k, const double *hp, int64_t t, int inf_hp)
{
  k->prep(hp, t, cc->c);
  int bad = 0;
  if (k->dtype == OPTK_F64) {
    for (int i = 0; i < k->nconsts; i++) {
      const double v = cc->c[i];
      bad |= inf_hp ? v != v : !(fabs(v) <= DBL_MAX);
    }
  } else {
    for (int i = 0; i < k->nconsts; i++) {
      const float v = (float)cc->c[i];
      cc->cf[i] = v;
      bad |= inf_hp ? v != v : !(fabsf(v) <= FLT_MAX);
    }
  }
  cc->ok = !bad;
  cc->t = t;
}

/* Checks k's hyperparameters (skipped where the cache holds them) and
 * returns the per-call constants for hp and t in the compute type: NULL
 * with *err set if a hyperparameter is outside its domain (OPTK_EINVAL) or
 * a constant is not finite (see derived_ok). */
static const void *consts(const optk_kernel *k, const double *hp, int64_t t, int *err)
{
  struct consts_cache *const cc = this_cache();
  *err = OPTK_EINVAL;
  if (!same_hp(cc, k, hp)) {
    cc->k = NULL;
    if (check(k, 0, NULL, hp) != OPTK_OK)
      return NULL;
    const int inf_hp = any_inf_hp(k, hp);
    fill_consts(cc, k, hp, t, inf_hp);
    if (k->nhparams <= OPTK_MAX_HPARAMS) {
      memcpy(cc->hp, hp, (size_t)k->nhparams * sizeof *hp);
      cc->inf_hp = inf_hp;
      cc->k = k;
    }
  } else if (cc->t != t) {
    fill_consts(cc, k, hp, t, cc->inf_hp);
  }
  if (!cc->ok)
    return NULL;
  *err = OPTK_OK;
  return k->dtype == OPTK_F64 ? (const void *)cc->c : (const void *)cc->cf;
}

const void *optk__step_consts(const optk_kernel *k, const double *hp, int64_t t)
{
  int err;
  return consts(k, hp, t, &err);
}

/* optk_step_isa; available: isa is known to run on this CPU (optk_step's
 * active ISA, chosen among the available ones). */
static inline __attribute__((always_inline)) int step(const optk_kernel *k, optk_isa isa, int available, size_t n,
                                                      void *param, const void *grad, void *const *state,
                                                      const double *hp, int64_t t)
{
  if (k == NULL || hp == NULL || (unsigned)isa >= OPTK_ISA_COUNT || t < 1)
    return OPTK_EINVAL;
  /* The arrays here, the hyperparameters with the constants (consts). */
  int err = check_arrays(k, n, param, grad, state);
  if (err != OPTK_OK)
    return err;
  /* Per-call constants and the kernel under the IEEE default environment,
   * whatever the caller set (fpenv.c). */
  const unsigned fpenv = optk__fpenv_enter();
  const void *c = consts(k, hp, t, &err);
  if (c == NULL) {
    optk__fpenv_leave(fpenv, 0);
    return err;
  }
  if (!(available || optk_isa_available(isa)) || k->impl[isa] == NULL || (k->nnorms > 0 && k->impl2[isa] == NULL)) {
    optk__fpenv_leave(fpenv, 0);
    return OPTK_ENOTSUP;
  }
  if (k->nnorms > 0 && n > 0) {
    /* Two phases with per-tensor norms (two_phase.c); the workspace is
     * allocated before anything is written. */
    struct optk_tp r;
    memset(&r, 0, sizeof r);
    r.k = k;
    r.isa = isa;
    r.fn1 = k->impl[isa];
    r.fn2 = k->impl2[isa];
    if (optk__tp_alloc(&r, n, optk__tp_parts(k, r.fn1, n, c, OPTK_MAX_THREADS)) != OPTK_OK) {
      optk__fpenv_leave(fpenv, 0);
      return OPTK_ENOMEM;
    }
    const unsigned flags = optk__tp_step(&r, OPTK_TP_DIRECT, n, param, grad, state, NULL, 0, hp, t, c);
    optk__tp_free(&r);
    optk__fpenv_leave(fpenv, flags);
    return OPTK_OK;
  }
  optk__fpenv_leave(fpenv, n > 0 ? optk__parallel_run(k, k->impl[isa], n, param, grad, state, c) : 0);
  return OPTK_OK;
}

int optk_step_isa(const optk_kernel *k, optk_isa isa, size_t n, void *param, const void *grad,
                  void *const *state, const double *hp, int64_t t)
{
  return step(k, isa, 0, n, param, grad, state, hp, t);
}

int optk_step(const optk_kernel *k, size_t n, void *param, const void *grad, void *const *state,
              const double *hp, int64_t t)
{
  if (k == NULL)
    return OPTK_EINVAL;
  const optk_isa active = optk_active_isa();
  const optk_isa isa = k->tuned_isa[0] | k->tuned_isa[1] | k->tuned_isa[2] ? optk__tuned_isa(k, n, active) : active;
  return step(k, isa, 1, n, param, grad, state, hp, t);
}

const char *optk_strerror(int err)
{
  switch (err) {
  case OPTK_OK:
    return "success";
  case OPTK_EINVAL:
    return "invalid argument (NULL or aliased array, n too large, hyperparameter outside its domain "
           "or overflowing the kernel's arithmetic, or step t < 1)";
  case OPTK_ENOTSUP:
    return "instruction set not supported by this CPU or build";
  case OPTK_ENOMEM:
    return "out of memory (a two-phase kernel's scratch arrays); nothing was written";
  default:
    return "unknown optkern error code";
  }
}
