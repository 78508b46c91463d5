#!/bin/sh
# The aarch64 half of the build and of the tests, run by build.ninja.
#
#   tests/aarch64.sh build STAMP   cross-builds build/aarch64/ (ninja -f
#                                  aarch64.ninja), then writes STAMP and
#                                  STAMP.d, the inputs it was built from
#   tests/aarch64.sh test          runs the aarch64 digest check and Check
#                                  suites under qemu-aarch64: NEON alone and
#                                  SVE at 128, 256 and 512 bits
#
# Without the cross toolchain (or qemu, or check:arm64 for the tests) it says
# what it skipped and why, and succeeds.  Debian:
#   apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
#   dpkg --add-architecture arm64 && apt-get update && apt-get install check:arm64
set -eu
cd "$(dirname "$0")/.."

cc=aarch64-linux-gnu-gcc
sysroot=/usr/aarch64-linux-gnu
checklib=/usr/lib/aarch64-linux-gnu/libcheck_pic.a
bd=build/aarch64

have() { command -v "$1" >/dev/null 2>&1; }

build() {
  stamp=$1
  rm -f "$stamp"
  if ! have "$cc"; then
    echo "optkern: skipped the aarch64 build: $cc not found (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"
    return 0
  fi
  targets="$bd/liboptkern.a $bd/liboptkern.so $bd/optk_digest $bd/vendor_test"
  if [ -f "$checklib" ]; then
    targets="$targets $bd/optk_tests"
  else
    echo "optkern: aarch64 Check tests not built: check:arm64 not installed"
  fi
  # shellcheck disable=SC2086
  ninja -f aarch64.ninja $targets
  # The depfile: every source and header the cross build read, so that the
  # outer build reruns this only when one of them changes.
  {
    echo "$stamp: \\"
    # shellcheck disable=SC2086
    { ninja -f aarch64.ninja -t inputs $targets; ninja -f aarch64.ninja -t deps | sed -n 's/^    //p'; } |
      grep -v -e '^/' -e '^build/' | sort -u | sed 's/.*/  & \\/'
    echo
  } >"$stamp.d"
  touch "$stamp"
}

# qemu-aarch64 under a time limit: a hang fails the stage instead of holding
# CI (qemu-user ignores SIGTERM, so it is killed).
QEMU_LIMIT=${OPTK_QEMU_LIMIT:-1200}
qemu() {
  rc=0
  timeout -s KILL "$QEMU_LIMIT" qemu-aarch64 "$@" || rc=$?
  if [ $rc -eq 137 ]; then echo "optkern: qemu-aarch64 $* ran past ${QEMU_LIMIT} s and was killed"; fi
  return $rc
}

# One qemu CPU's share: the digest check, then Check suites (all of them
# when none are named).  Output goes to a log, shown when all have run.
qemu_job() {
  cpu=$1
  shift
  log="$bd/qemu-$(echo "$cpu" | tr ',=' '__').log"
  (
    set -e
    # qemu-user 7.2 hangs creating a thread here (as Check's fork mode does):
    # one thread, so that no step starts the pool (the library's and the
    # vendored copies'); the pool's own tests run natively.
    export OPTK_NUM_THREADS=1 A_OPTK_NUM_THREADS=1 B_OPTK_NUM_THREADS=1
    # The tests: one thread too (tu_slow_threads), one process (Check's fork
    # mode hangs under qemu-user).
    export OPTK_TEST_SLOW_THREADS=1 CK_FORK=no
    echo "== qemu-aarch64 -cpu $cpu"
    qemu -L "$sysroot" -cpu "$cpu" "$bd/optk_digest" tests/digests/trajectory.txt
    qemu -L "$sysroot" -cpu "$cpu" "$bd/vendor_test"
    [ -f "$checklib" ] || exit 0
    if [ $# -eq 0 ]; then
      qemu -L "$sysroot" -cpu "$cpu" "$bd/optk_tests"
    fi
    for suite in "$@"; do
      CK_RUN_SUITE=$suite
      export CK_RUN_SUITE
      qemu -L "$sysroot" -cpu "$cpu" "$bd/optk_tests"
    done
  ) >"$log" 2>&1
}

run_tests() {
  missing=""
  have "$cc" || missing="$missing $cc"
  have qemu-aarch64 || missing="$missing qemu-aarch64 (qemu-user)"
  if [ -n "$missing" ]; then
    echo "optkern: SKIPPED the aarch64 tests under qemu: missing$missing"
    return 0
  fi
  [ -f "$checklib" ] || echo "optkern: SKIPPED the aarch64 Check suites (check:arm64 not installed); digests only"
  start=$(date +%s)
  # The whole suite at SVE 128 (NEON's kernels too: a CPU with SVE has
  # NEON); the vector-length-dependent suites at 256 and 512 bits; detection
  # and dispatch on a CPU without SVE.  The four run side by side.
  qemu_job max,sve128=on & j1=$!
  qemu_job max,sve256=on dispatch bitexact tail_guard & j2=$!
  qemu_job max,sve512=on dispatch bitexact tail_guard & j3=$!
  qemu_job cortex-a72 api dispatch & j4=$!
  failed=0
  for j in $j1 $j2 $j3 $j4; do wait "$j" || failed=$((failed + 1)); done
  cat "$bd"/qemu-*.log
  if [ "$failed" -ne 0 ]; then
    echo "optkern: aarch64 tests under qemu: $failed of 4 CPU configurations FAILED (logs: $bd/qemu-*.log)"
    return 1
  fi
  echo "optkern: aarch64 tests under qemu passed (NEON; SVE at 128, 256, 512 bits) in $(($(date +%s) - start)) s"
}

case "${1-}" in
build) build "${2:?usage: tests/aarch64.sh build STAMP}" ;;
test) run_tests ;;
*)
  echo "usage: tests/aarch64.sh build STAMP | test" >&2
  exit 2
  ;;
esac
