/* Architectures without SIMD kernels: the scalar baseline only. */
#include "optk_internal.h"

#if !OPTK_ARCH_X86_64 && !OPTK_ARCH_AARCH64
unsigned optk__cpu_detect(void) { return 1u << OPTK_ISA_SCALAR; }
#endif
