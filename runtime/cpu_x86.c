/* x86-64 feature detection: CPUID for the instructions, XGETBV for the OS
 * saving the registers (YMM for AVX2; opmask and ZMM for AVX-512). */
#include "optk_internal.h"

#if OPTK_ARCH_X86_64
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (unsigned long long)hi << 32 | lo;
}

unsigned optk__cpu_detect(void)
{
  unsigned isas = 1u << OPTK_ISA_SCALAR;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d))
    return isas;
  const int fma = c >> 12 & 1, osxsave = c >> 27 & 1, avx = c >> 28 & 1, f16c = c >> 29 & 1;
  if (!(osxsave && avx))
    return isas;
  const unsigned long long xcr0 = xgetbv0();
  const int ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xe6) == 0xe6;
  if (__get_cpuid_max(0, NULL) < 7)
    return isas;
  __cpuid_count(7, 0, a, b, c, d);
  const int avx2 = b >> 5 & 1, avx512f = b >> 16 & 1, avx512bw = b >> 30 & 1, avx512vl = b >> 31 & 1;
  if (ymm && avx2 && fma && f16c) {
    isas |= 1u << OPTK_ISA_AVX2;
    if (zmm && avx512f && avx512bw && avx512vl)
      isas |= 1u << OPTK_ISA_AVX512;
  }
  return isas;
}
#endif
