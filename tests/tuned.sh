#!/bin/sh
# The kernels of every committed tuning profile (generator/tuning/, made by
# `optgen tune`), built into build/tuned/<profile>/ (scripts/build-variant) and
# tested: the Check suites, the cross-ISA digests and the thread test.  The
# main build compiles only this CPU's profile (scripts/gen), so without this
# a machine of another model would never run the other profiles' variants.
# The profile the main build used is not built twice.
# ISAs this CPU lacks are skipped by the tests themselves.
set -eu
cd "$(dirname "$0")/.."

if ! command -v luajit >/dev/null 2>&1; then
  echo "optkern: skipped the tuned builds: luajit not found"
  exit 0
fi
# The profile the main build compiled, chosen as scripts/gen chooses it
# ($OPTK_PROFILE, or this CPU's), has had its tests in test-c-gcc,
# test-digests and test-threads.
own=${OPTK_PROFILE:-$(luajit generator/optgen tune --profile-path)}
found=no
for profile in generator/tuning/*.lua; do
  [ -f "$profile" ] || continue
  found=yes
  if [ -f "$own" ] && [ "$(realpath "$own")" = "$(realpath "$profile")" ]; then
    echo "optkern: skipped $profile: the main build compiled it (this CPU's, or OPTK_PROFILE), and its tests ran them"
    continue
  fi
  bd=build/tuned/$(basename "$profile" .lua)
  luajit generator/optgen generate --profile "$profile" --out "$bd/gen" >/dev/null
  scripts/build-variant "$bd/gen" "$bd" "$bd/optk_tests" "$bd/optk_digest" "$bd/optk_threads_test"
  echo "optkern: the kernels tuned by $profile:"
  "$bd/optk_tests"
  "$bd/optk_digest" tests/digests/trajectory.txt
  "$bd/optk_threads_test"
done
if [ "$found" = no ]; then
  echo "optkern: skipped the tuned builds: no profile in generator/tuning/ (make one with 'generator/optgen tune --quick')"
fi
