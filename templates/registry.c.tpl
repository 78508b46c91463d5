@banner@
#include "optk_internal.h"
#include "optk_kernels.h"

const optk_kernel *const optk_registry[] = {
  @entries@
};

const size_t optk_registry_count = sizeof optk_registry / sizeof optk_registry[0];

/* The smallest part, in nanoseconds of one thread's work, that a step is
 * split into (runtime/split.c): measured on this CPU by optgen tune, or 0
 * for the runtime's default. */
const unsigned long optk_tuned_min_part_ns = @min_part_ns@;
