#!/bin/sh
# The library built from a tuning profile, and the C tests run against it.
#
#   tests/tuned.sh     regenerates the kernels with the variants of this
#                      CPU's profile (generator/tuning/, see `optgen tune`),
#                      or of $OPTK_PROFILE, into build/tuned/generated/,
#                      builds build/tuned/liboptkern.a and the test programs
#                      from it (ninja -f build/tuned/build.ninja), and runs
#                      the Check suites, the digest check and the thread test
#
# generated/ is never touched: it stays independent of the machine.  Without
# a profile for this CPU (or without luajit) it says what it skipped and
# succeeds, so `ninja test` runs it everywhere.
set -eu
cd "$(dirname "$0")/.."

if ! command -v luajit >/dev/null 2>&1; then
  echo "optkern: skipped the tuned build: luajit not found"
  exit 0
fi
profile=${OPTK_PROFILE:-$(luajit generator/optgen tune --profile-path)}
if [ ! -f "$profile" ]; then
  echo "optkern: skipped the tuned build: no tuning profile $profile (make one with 'generator/optgen tune --quick')"
  exit 0
fi

bd=build/tuned
gen=$bd/generated
cc=${CC:-gcc}
mkdir -p "$bd"
luajit generator/optgen generate --profile "$profile" --out "$gen" >/dev/null

# A ninja file of its own (own builddir, own log): the generated unity
# translation units, the runtime, the tests.
{
  echo "# Written by tests/tuned.sh; the library and tests from $profile."
  echo "builddir = $bd"
  echo "cc = $cc"
  echo "cflags = -std=c11 -O2 -g -Wall -Wextra -Werror -ffp-contract=off -fPIC -pthread -Iruntime -I$gen"
  echo "rule cc"
  echo "  command = \$cc \$cflags -MMD -MF \$out.d -c \$in -o \$out"
  echo "  depfile = \$out.d"
  echo "  deps = gcc"
  echo "  description = CC \$out"
  echo "rule ar"
  echo "  command = rm -f \$out && ar crs \$out \$in"
  echo "  description = AR \$out"
  echo "rule link"
  echo "  command = \$cc -pthread -o \$out \$in \$libs"
  echo "  description = LINK \$out"
  objs=""
  for src in "$gen"/kernels_*.c "$gen"/optimizers.c runtime/api.c runtime/dispatch.c runtime/cpu_x86.c \
      runtime/cpu_arm.c runtime/cpu_other.c runtime/parallel.c; do
    obj=$bd/obj/$(basename "$src" .c).o
    echo "build $obj: cc $src"
    objs="$objs $obj"
  done
  echo "build $bd/liboptkern.a: ar$objs"
  tobjs=""
  for t in check_main testutil ref suite_api suite_dispatch suite_bitexact suite_reference suite_state; do
    echo "build $bd/tests/$t.o: cc tests/$t.c"
    tobjs="$tobjs $bd/tests/$t.o"
  done
  echo "build $bd/optk_tests: link$tobjs $bd/liboptkern.a"
  echo "  libs = $(pkg-config --libs check) -lm -lpthread"
  for t in digest threads; do
    echo "build $bd/tests/$t.o: cc tests/$t.c"
  done
  echo "build $bd/optk_digest: link $bd/tests/digest.o $bd/liboptkern.a"
  echo "  libs = -lm -lpthread"
  echo "build $bd/optk_threads_test: link $bd/tests/threads.o $bd/liboptkern.a"
  echo "  libs = -lm -lpthread"
} >"$bd/build.ninja.tmp"
mv "$bd/build.ninja.tmp" "$bd/build.ninja"

ninja -f "$bd/build.ninja"
echo "optkern: tuned kernels of $profile:"
"$bd/optk_tests"
"$bd/optk_digest" tests/digests/trajectory.txt
"$bd/optk_threads_test"
