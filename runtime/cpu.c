/* The CPU's ISAs: the probe of this architecture (cpu_x86.c, cpu_arm.c,
 * cpu_other.c: optk__cpu_detect), asked once.  A file of its own, so that a
 * test can define optk__cpu_isas itself (tests/cpu_fallback.c). */
#include "optk_internal.h"

unsigned optk__cpu_isas(void)
{
  static unsigned cached; /* 0: not yet detected (scalar is always set) */
  unsigned isas = __atomic_load_n(&cached, __ATOMIC_RELAXED);
  if (isas == 0) {
    isas = optk__cpu_detect();
    __atomic_store_n(&cached, isas, __ATOMIC_RELAXED);
  }
  return isas;
}
