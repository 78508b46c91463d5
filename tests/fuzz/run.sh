#!/bin/sh
# The libFuzzer stage of tests/run: builds the library and the fuzz targets
# (fuzz_step.c: optk_step/optk_step_isa; fuzz_init.c: optk_init_state) with
# clang -fsanitize=fuzzer,address,undefined into build/fuzz/, and runs each
# for OPTK_FUZZ_SECONDS (default 60) seconds, starting from the committed
# corpus in tests/fuzz/corpus/<target>/ (read only: new inputs go to
# build/fuzz/corpus/<target>/, made afresh each run).  Any crash, sanitizer
# report, contract violation or write outside an array stops the run with
# the input saved as build/fuzz/crash-<target>-*, and fails.  Prints each
# target's executions per second and coverage (libFuzzer's cov and ft).
#   tests/fuzz/run.sh [TARGET...]       (default: step init)
# To grow the committed corpus after a longer run:
#   build/fuzz/fuzz_step -merge=1 tests/fuzz/corpus/step build/fuzz/corpus/step
set -eu
cd "$(dirname "$0")/../.."
secs=${OPTK_FUZZ_SECONDS:-60}
[ $# -gt 0 ] || set -- step init
bd=build/fuzz
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
mkdir -p "$bd"
ninja build/gen/sources.ninja >/dev/null
cat >"$bd/build.ninja" <<NINJA
# Written by tests/fuzz/run.sh: the library and fuzz targets, instrumented.
builddir = $bd
gen = build/gen
gen_stamp = build/gen/sources.ninja
check_libs = \$\$(pkg-config --libs check)
toolchain_cc = clang $san -fsanitize=fuzzer-no-link
toolchain_bd = $bd
subninja toolchain.ninja
rule fuzz_cc
  command = clang $san -fsanitize=fuzzer-no-link -std=c11 -O1 -g -Wall -Wextra -Werror -pthread \$
    -Iruntime -Ibuild/gen -Itests -Itests/fuzz -MMD -MF \$out.d -c \$in -o \$out
  depfile = \$out.d
  deps = gcc
  description = CC \$out
rule fuzz_link
  command = clang $san -fsanitize=fuzzer -pthread -o \$out \$in -lm
  description = LINK \$out
build $bd/fuzz/harness.o: fuzz_cc tests/fuzz/harness.c | build/gen/sources.ninja
build $bd/fuzz/fuzz_step.o: fuzz_cc tests/fuzz/fuzz_step.c | build/gen/sources.ninja
build $bd/fuzz/fuzz_init.o: fuzz_cc tests/fuzz/fuzz_init.c | build/gen/sources.ninja
build $bd/fuzz_step: fuzz_link $bd/fuzz/fuzz_step.o $bd/fuzz/harness.o $bd/tests/elems.o $bd/liboptkern.a
build $bd/fuzz_init: fuzz_link $bd/fuzz/fuzz_init.o $bd/fuzz/harness.o $bd/tests/elems.o $bd/liboptkern.a
NINJA
targets=""
for t in "$@"; do targets="$targets $bd/fuzz_$t"; done
ninja -f "$bd/build.ninja" $targets >/dev/null

status=0
for t in "$@"; do
  work=$bd/corpus/$t
  rm -rf "$work"
  mkdir -p "$work"
  log=$bd/$t.log
  # -detect_leaks=0: the library keeps its thread pool for the process's
  # life by design; ASan still reports every other error.
  if ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bd/fuzz_$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -detect_leaks=0 \
      -print_final_stats=1 -artifact_prefix="$bd/crash-$t-" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    echo "fuzz $t: ${secs}s: $done_line"
  else
    status=1
    echo "fuzz $t: FAILED (log $log):"
    tail -n 40 "$log"
  fi
done
exit $status
