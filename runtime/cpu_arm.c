/* AArch64 feature detection on Linux: the kernel's hwcaps (getauxval).
 * NEON is AdvSIMD (HWCAP_ASIMD; its f16 conversions FCVTL/FCVTN are base
 * AdvSIMD, so FPHP/ASIMDHP are not needed); SVE needs HWCAP_SVE, which the
 * kernel sets only when it saves the SVE registers.  bf16 rounds in integer
 * code on both (BFCVT's handling of denormals and NaNs is not checked to
 * match the scalar baseline bit for bit), so HWCAP2_BF16 is not read. */
#include "optk_internal.h"

#if OPTK_ARCH_AARCH64

#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1ul << 1)
#endif
#ifndef HWCAP_SVE
#define HWCAP_SVE (1ul << 22)
#endif

unsigned optk__cpu_detect(void)
{
  unsigned isas = 1u << OPTK_ISA_SCALAR;
  const unsigned long hw = getauxval(AT_HWCAP);
  if (hw & HWCAP_ASIMD) {
    isas |= 1u << OPTK_ISA_NEON;
    if (hw & HWCAP_SVE)
      isas |= 1u << OPTK_ISA_SVE;
  }
  return isas;
}
#else
/* Elsewhere AdvSIMD is part of the AArch64 baseline; SVE is not assumed. */
unsigned optk__cpu_detect(void)
{
  return 1u << OPTK_ISA_SCALAR | 1u << OPTK_ISA_NEON;
}
#endif
#endif
