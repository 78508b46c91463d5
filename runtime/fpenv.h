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
 * <fenv.h>: its functions live in libm, and they do not know FTZ/DAZ.
 *
 * Enter and leave are here, inline, since every step runs them (a call
 * each cost about 0.4 ns of optk_step's per-call time); the workers' side
 * is in fpenv.c. */
#ifndef OPTK_FPENV_H
#define OPTK_FPENV_H
#include "optk_internal.h"

#if OPTK_ARCH_X86_64
#include <xmmintrin.h>

/* MXCSR: bits 0-5 the exception flags, 6 DAZ, 7-12 the exception masks,
 * 13-14 rounding control, 15 FTZ.  0x1f80: all masked, nearest, no FTZ/DAZ. */
#define OPTK_MXCSR_FLAGS 0x3fu
#define OPTK_MXCSR_DEFAULT 0x1f80u

/* Saves the caller's environment and sets the IEEE default, keeping the
 * caller's flags; returns what leave restores. */
static inline unsigned optk__fpenv_enter(void)
{
  unsigned csr = _mm_getcsr();
  if ((csr & ~OPTK_MXCSR_FLAGS) != OPTK_MXCSR_DEFAULT)
    _mm_setcsr(OPTK_MXCSR_DEFAULT | (csr & OPTK_MXCSR_FLAGS));
  return csr;
}

/* Restores the controls saved by enter, with the flags raised meanwhile
 * and those raised elsewhere (the workers': raised). */
static inline void optk__fpenv_leave(unsigned saved, unsigned raised)
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

#elif OPTK_ARCH_AARCH64

/* FPCR holds the controls (rounding, FZ, DN, AH, FIZ, FZ16, trap enables),
 * all 0 in the default environment; FPSR holds the cumulative flags. */
static inline unsigned long optk_read_fpcr(void)
{
  unsigned long r;
  __asm__ volatile("mrs %0, fpcr" : "=r"(r));
  return r;
}

static inline void optk_write_fpcr(unsigned long r) { __asm__ volatile("msr fpcr, %0" : : "r"(r) : "memory"); }

static inline unsigned long optk_read_fpsr(void)
{
  unsigned long r;
  __asm__ volatile("mrs %0, fpsr" : "=r"(r));
  return r;
}

static inline void optk_write_fpsr(unsigned long r) { __asm__ volatile("msr fpsr, %0" : : "r"(r) : "memory"); }

#define OPTK_FPSR_FLAGS 0x9ful /* IOC DZC OFC UFC IXC, IDC */

static inline unsigned optk__fpenv_enter(void)
{
  unsigned long cr = optk_read_fpcr();
  if (cr != 0)
    optk_write_fpcr(0);
  return (unsigned)cr; /* FPCR's defined bits all lie below bit 32 */
}

static inline void optk__fpenv_leave(unsigned saved, unsigned raised)
{
  if (saved != 0)
    optk_write_fpcr(saved);
  if (raised != 0)
    optk_write_fpsr(optk_read_fpsr() | raised);
}

#else

/* Other architectures: no kernel but the scalar baseline runs there, and no
 * portable way to reach the controls without libm; the caller's environment
 * is left as it is (the C default unless the program changed it). */
static inline unsigned optk__fpenv_enter(void) { return 0; }
static inline void optk__fpenv_leave(unsigned saved, unsigned raised)
{
  (void)saved;
  (void)raised;
}

#endif

#endif
