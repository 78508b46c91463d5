@banner@
#include "optk_kernels.h"
#include "@prelude@"

#if @arch_guard@
@attr@void @symbol@(size_t n, void *param, const void *grad, void *const *state, const void *consts)
{
  @setup@
  @loops@
}
#endif
