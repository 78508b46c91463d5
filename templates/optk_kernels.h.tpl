@banner@
/* Every kernel this generator emitted, and the records the registry lists. */
#ifndef OPTK_KERNELS_H
#define OPTK_KERNELS_H

#include "optk_internal.h"

/* Which ISAs' kernels this build compiles. */
@guards@

#define OPTK_KERNEL_ARGS size_t n, void *param, const void *grad, void *const *state, const void *consts

@decls@

#endif
