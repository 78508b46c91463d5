/* Chooses the ISA once: the best one this CPU supports and this build has
 * kernels for, capped by OPTK_ISA.  A static-ISA build (OPTK_STATIC_ISA)
 * chooses the same way between its two ISAs, so on a CPU without the one it
 * was built for it runs the scalar kernels rather than refusing every step.  Resolved under pthread_once, published
 * with a release store; the fast path is one acquire load.  (GCC's __atomic
 * builtins rather than C11 atomics, so the vendored file stays C99.) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optk_internal.h"
#include "optk_kernels.h"

/* The public numbers are the table's (optk_tables.h). */
#define OPTK_X(name, NAME, id, fallback, arch) \
  _Static_assert(OPTK_ISA_##NAME == (id), "optk_isa and OPTK_ISA_LIST disagree on " #name);
OPTK_ISA_LIST(OPTK_X)
#undef OPTK_X

static const char *const isa_names[OPTK_ISA_COUNT] = {
#define OPTK_X(name, NAME, id, fallback, arch) [id] = #name,
  OPTK_ISA_LIST(OPTK_X)
#undef OPTK_X
};

const char *optk_isa_name(optk_isa isa)
{
  return (unsigned)isa < OPTK_ISA_COUNT ? isa_names[isa] : NULL;
}

/* Supported by this CPU, and built (see OPTK_STATIC_ISA and the backends'
 * compiler conditions). */
int optk_isa_available(optk_isa isa)
{
  return (unsigned)isa < OPTK_ISA_COUNT && (optk__cpu_isas() & OPTK_BUILT_ISAS) >> isa & 1u;
}

/* Each ISA's fallback when a cap rules it out: the next lower ISA of its
 * architecture, down to scalar. */
static const optk_isa lower_isa[OPTK_ISA_COUNT] = {
#define OPTK_X(name, NAME, id, fallback, arch) [id] = (optk_isa)(fallback),
  OPTK_ISA_LIST(OPTK_X)
#undef OPTK_X
};

static int active = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Whether isa lies on cap's fallback chain, at or below it. */
static int within(optk_isa isa, optk_isa cap)
{
  for (;;) {
    if (cap == isa)
      return 1;
    if (cap == OPTK_ISA_SCALAR)
      return 0;
    cap = lower_isa[cap];
  }
}

static void resolve(void)
{
  /* One architecture's ISAs are numbered in rising order. */
  optk_isa best = OPTK_ISA_SCALAR;
  for (int i = OPTK_ISA_COUNT - 1; i > 0 && best == OPTK_ISA_SCALAR; i--)
    if (optk_isa_available((optk_isa)i))
      best = (optk_isa)i;
  const char *cap = getenv("OPTK_ISA");
  if (cap != NULL && *cap != '\0') {
    int want = -1;
    for (int i = 0; i < OPTK_ISA_COUNT; i++)
      if (strcmp(cap, isa_names[i]) == 0)
        want = i;
    if (want < 0)
      fprintf(stderr, "optkern: OPTK_ISA=%s names no ISA (" OPTK_ISA_NAMES "); ignored\n", cap);
    else
      while (!within(best, (optk_isa)want)) /* lower, never raise */
        best = lower_isa[best];
  }
  __atomic_store_n(&active, (int)best, __ATOMIC_RELEASE);
}

optk_isa optk__tuned_isa(const optk_kernel *k, size_t n, optk_isa active)
{
  const int c = n <= k->class_max[0] ? 0 : n <= k->class_max[1] ? 1 : 2;
  const int want = (int)k->tuned_isa[c] - 1;
  if (want < 0 || want == (int)active || want >= OPTK_ISA_COUNT || k->impl[want] == NULL ||
      (k->nnorms > 0 && k->impl2[want] == NULL) || !optk_isa_available((optk_isa)want) ||
      !within((optk_isa)want, active))
    return active;
  return (optk_isa)want;
}

optk_isa optk_active_isa(void)
{
  int isa = __atomic_load_n(&active, __ATOMIC_ACQUIRE);
  if (isa < 0) {
    pthread_once(&once, resolve);
    isa = __atomic_load_n(&active, __ATOMIC_ACQUIRE);
  }
  return (optk_isa)isa;
}

void optk__dispatch_reset(void)
{
  static const pthread_once_t fresh = PTHREAD_ONCE_INIT;
  memcpy(&once, &fresh, sizeof once);
  __atomic_store_n(&active, -1, __ATOMIC_RELEASE);
}
