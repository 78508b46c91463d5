/* optk_tests: one Check runner, one suite per area.
 *
 *   api         the public contract: registry, metadata, argument checks
 *   dispatch    ISA detection, OPTK_ISA, optk_step == optk_step_isa(active)
 *   bitexact    every vector kernel gives the scalar kernel's bits
 *   tail_guard  no kernel touches memory outside [0, n)
 *   reference   every kernel tracks its spec's IR, interpreted in long double
 *   keras       the seed optimizers track hand-written Keras 3 transcriptions
 *   state       optk_init_state, split trajectories, bf16/f16 rounding
 *   group       optk_step_group: options, norm, master weights, rounding
 *
 * CK_RUN_SUITE=bitexact CK_RUN_CASE=adam_f32_avx2 ./optk_tests reruns one
 * kernel; CK_TIMEOUT_MULTIPLIER works as usual.
 *
 * One process unless CK_FORK says otherwise (CK_FORK=yes: a process per
 * test, with Check's per-test timeouts).  A fork per test costs about 10 ms
 * in the VMs CI runs on (copy-on-write faults and TLB flushes), and there
 * are 44,246 tests: 300 s a compiler in fork mode, 15 s without.  A failed
 * check still fails only its own test; a crash ends the run, and fails it.
 */
#include <stdlib.h>

#include "testutil.h"

int main(void)
{
  SRunner *sr = srunner_create(api_suite());
  if (getenv("CK_FORK") == NULL)
    srunner_set_fork_status(sr, CK_NOFORK);
  srunner_add_suite(sr, dispatch_suite());
  srunner_add_suite(sr, bitexact_suite());
  srunner_add_suite(sr, tail_guard_suite());
  srunner_add_suite(sr, reference_suite());
  srunner_add_suite(sr, keras_suite());
  srunner_add_suite(sr, state_suite());
  srunner_add_suite(sr, group_suite());
  srunner_add_suite(sr, lamb_suite());
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
