/* Chooses the ISA once: the best one this CPU supports and this build has
 * kernels for, capped by OPTK_ISA.  Resolved under pthread_once, published
 * with a release store; the fast path is one acquire load. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optk_internal.h"

static const char *const isa_names[OPTK_ISA_COUNT] = { "scalar", "avx2", "avx512", "neon", "sve" };

/* Each ISA's fallback when it or a cap rules it out: x86 avx512 -> avx2 ->
 * scalar, Arm sve -> neon -> scalar. */
static const optk_isa lower_isa[OPTK_ISA_COUNT] = {
  OPTK_ISA_SCALAR, OPTK_ISA_SCALAR, OPTK_ISA_AVX2, OPTK_ISA_SCALAR, OPTK_ISA_NEON,
};

static _Atomic int active = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

const char *optk_isa_name(optk_isa isa)
{
  return (unsigned)isa < OPTK_ISA_COUNT ? isa_names[isa] : NULL;
}

int optk_isa_available(optk_isa isa)
{
  return (unsigned)isa < OPTK_ISA_COUNT && (optk__cpu_isas() >> isa & 1u);
}

/* Whether cap lies on isa's fallback chain, at or below it. */
static int chain_reaches(optk_isa isa, optk_isa cap)
{
  for (;;) {
    if (isa == cap)
      return 1;
    if (isa == OPTK_ISA_SCALAR)
      return 0;
    isa = lower_isa[isa];
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
    if (want < 0) {
      fprintf(stderr, "optkern: OPTK_ISA=%s names no ISA (scalar, avx2, avx512, neon, sve); ignored\n", cap);
    } else {
      /* Lower along the chain until at or below the cap; never raise. */
      while (best != OPTK_ISA_SCALAR && !chain_reaches((optk_isa)want, best))
        best = lower_isa[best];
    }
  }
  atomic_store_explicit(&active, (int)best, memory_order_release);
}

optk_isa optk_active_isa(void)
{
  int isa = atomic_load_explicit(&active, memory_order_acquire);
  if (isa < 0) {
    pthread_once(&once, resolve);
    isa = atomic_load_explicit(&active, memory_order_acquire);
  }
  return (optk_isa)isa;
}

void optk__dispatch_reset(void)
{
  static const pthread_once_t fresh = PTHREAD_ONCE_INIT;
  memcpy(&once, &fresh, sizeof once);
  atomic_store_explicit(&active, -1, memory_order_release);
}
