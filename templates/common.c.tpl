@banner@
/* @doc@ */
#include <math.h>
#include <string.h>
#include "optk_internal.h"
#include "optk_kernels.h"

static const struct optk_hparam @name@_hparams[] = {
  @hparams@
};

@state_names@

static void @name@_state_init(const double *hp, double *init)
{
  @state_init@
}

/* Per call, in double: the loop invariants the kernels read from consts. */
static void @name@_prep(const double *hp, int64_t t, double *c)
{
  @prep@
}

@phase2@@records@
