@banner@
#include "optk_internal.h"
#include "optk_kernels.h"

const optk_kernel *const optk_registry[] = {
  @entries@
};

const size_t optk_registry_count = sizeof optk_registry / sizeof optk_registry[0];
