@banner@
#include "optk_kernels.h"

#if @arch_guard@
#include "@prelude@"

@attr@void @symbol@(size_t n, void *param, const void *grad, void *const *state, const void *consts)
{
  @setup@
  @loops@
}
#endif
