/* The floating-point environment of a step.  Every kernel and every per-call
 * constant is computed under the IEEE default environment (round to nearest
 * even, no flush-to-zero, no denormals-are-zero, exceptions masked), on the
 * caller and on every worker, whatever the caller set: a caller with FTZ/DAZ
 * on (torch.set_flush_denormal(True)) or another rounding mode would
 * otherwise get other bits, and other bits at 1 and 2 threads, since workers
 * keep the environment of the thread that created them.
 *
 * Only the control bits are switched, and only when they differ from the
 * default, so a caller already in the default pays one register read per
 * step.  Exception flags the step raises reach the caller's status as if it
 * had run the whole step itself: the workers' flags are merged in.  No
 * <fenv.h>: its functions live in libm, and they do not know FTZ/DAZ. */
#include "optk_internal.h"

#if OPTK_ARCH_X86_64
#include <xmmintrin.h>

/* MXCSR: bits 0-5 the exception flags, 6 DAZ, 7-12 the exception masks,
 * 13-14 rounding control, 15 FTZ.  0x1f80: all masked, nearest, no FTZ/DAZ. */
#define OPTK_MXCSR_FLAGS 0x3fu
#define OPTK_MXCSR_DEFAULT 0x1f80u

unsigned optk__fpenv_enter(void)
{
  unsigned csr = _mm_getcsr();
  if ((csr & ~OPTK_MXCSR_FLAGS) != OPTK_MXCSR_DEFAULT)
    _mm_setcsr(OPTK_MXCSR_DEFAULT | (csr & OPTK_MXCSR_FLAGS));
  return csr;
}

void optk__fpenv_leave(unsigned saved, unsigned raised)
{
  if ((saved & ~OPTK_MXCSR_FLAGS) == OPTK_MXCSR_DEFAULT) {
    /* Untouched at enter: the step's own flags are in place already. */
    if (raised != 0)
      _mm_setcsr(_mm_getcsr() | raised);
    return;
  }
  unsigned csr = _mm_getcsr();
  unsigned want = (saved & ~OPTK_MXCSR_FLAGS) | ((csr | raised) & OPTK_MXCSR_FLAGS);
  if (csr != want)
    _mm_setcsr(want);
}

void optk__fpenv_worker_begin(void)
{
  if (_mm_getcsr() != OPTK_MXCSR_DEFAULT)
    _mm_setcsr(OPTK_MXCSR_DEFAULT); /* clears the flags: what is left after the part was raised by it */
}

unsigned optk__fpenv_worker_flags(void) { return _mm_getcsr() & OPTK_MXCSR_FLAGS; }

#elif OPTK_ARCH_AARCH64

/* FPCR holds the controls (rounding, FZ, DN, AH, FIZ, FZ16, trap enables),
 * all 0 in the default environment; FPSR holds the cumulative flags. */
static unsigned long optk_read_fpcr(void)
{
  unsigned long r;
  __asm__ volatile("mrs %0, fpcr" : "=r"(r));
  return r;
}

static void optk_write_fpcr(unsigned long r) { __asm__ volatile("msr fpcr, %0" : : "r"(r) : "memory"); }

static unsigned long optk_read_fpsr(void)
{
  unsigned long r;
  __asm__ volatile("mrs %0, fpsr" : "=r"(r));
  return r;
}

static void optk_write_fpsr(unsigned long r) { __asm__ volatile("msr fpsr, %0" : : "r"(r) : "memory"); }

#define OPTK_FPSR_FLAGS 0x9ful /* IOC DZC OFC UFC IXC, IDC */

unsigned optk__fpenv_enter(void)
{
  unsigned long cr = optk_read_fpcr();
  if (cr != 0)
    optk_write_fpcr(0);
  return (unsigned)cr; /* FPCR's defined bits all lie below bit 32 */
}

void optk__fpenv_leave(unsigned saved, unsigned raised)
{
  if (saved != 0)
    optk_write_fpcr(saved);
  if (raised != 0)
    optk_write_fpsr(optk_read_fpsr() | raised);
}

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

/* Other architectures: no kernel but the scalar baseline runs there, and no
 * portable way to reach the controls without libm; the caller's environment
 * is left as it is (the C default unless the program changed it). */
unsigned optk__fpenv_enter(void) { return 0; }
void optk__fpenv_leave(unsigned saved, unsigned raised)
{
  (void)saved;
  (void)raised;
}
void optk__fpenv_worker_begin(void) {}
unsigned optk__fpenv_worker_flags(void) { return 0; }

#endif
