/* The workers' side of the floating-point environment (fpenv.h): each
 * worker resets its own before a part and reports the flags the part
 * raised. */
#include "fpenv.h"

#if OPTK_ARCH_X86_64

void optk__fpenv_worker_begin(void)
{
  if (_mm_getcsr() != OPTK_MXCSR_DEFAULT)
    _mm_setcsr(OPTK_MXCSR_DEFAULT); /* clears the flags: what is left after the part was raised by it */
}

unsigned optk__fpenv_worker_flags(void) { return _mm_getcsr() & OPTK_MXCSR_FLAGS; }

#elif OPTK_ARCH_AARCH64

void optk__fpenv_worker_begin(void)
{
  if (optk_read_fpcr() != 0)
    optk_write_fpcr(0);
  unsigned long sr = optk_read_fpsr();
  if ((sr & OPTK_FPSR_FLAGS) != 0)
    optk_write_fpsr(sr & ~OPTK_FPSR_FLAGS);
}

unsigned optk__fpenv_worker_flags(void) { return (unsigned)(optk_read_fpsr() & OPTK_FPSR_FLAGS); }

#else

void optk__fpenv_worker_begin(void) {}
unsigned optk__fpenv_worker_flags(void) { return 0; }

#endif
