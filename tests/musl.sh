#!/bin/sh
# Independence from the C library: builds the library and tests/digest.c
# with musl-gcc (Debian's musl-tools) into build/musl/ and checks the
# committed digests there, then compares every digest with the glibc build's
# (build/optk_digest).  Says that it skipped, and succeeds, without musl-gcc.
#
#   tests/musl.sh
set -eu
cd "$(dirname "$0")/.."
if ! command -v musl-gcc >/dev/null 2>&1; then
  echo "optkern: skipped the musl build: musl-gcc not found (apt-get install musl-tools)"
  exit 0
fi
bd=build/musl
mkdir -p $bd
# The committed kernels (generated/), as the digests were written from; the
# flags of toolchain.ninja.  One compiler process per file, two at a time.
flags="-std=c11 -O2 -Wall -Wextra -Werror -ffp-contract=off -pthread -Iruntime -Igenerated -Itests"
srcs="runtime/api.c runtime/dispatch.c runtime/cpu_x86.c runtime/cpu_arm.c runtime/cpu_other.c runtime/parallel.c
  runtime/ieee_math.c generated/kernels_scalar.c generated/kernels_avx2.c generated/kernels_avx512.c
  generated/kernels_neon.c generated/kernels_sve.c generated/optimizers.c tests/digest.c tests/elems.c"
objs=
for s in $srcs; do
  o=$bd/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')
  objs="$objs $o"
  if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ generated/optk_kernels.h -nt "$o" ]; then
    echo "musl-gcc -c $s"
    # shellcheck disable=SC2086
    musl-gcc $flags -c "$s" -o "$o" &
    [ "$(jobs -p | wc -l)" -lt 2 ] || wait
  fi
done
wait
# shellcheck disable=SC2086
musl-gcc -static -pthread -o $bd/optk_digest $objs -lm
# Every digest, committed or not, the same as with glibc on this machine.
if [ -x build/optk_digest ]; then
  $bd/optk_digest --write $bd/musl.txt >/dev/null
  build/optk_digest --write $bd/glibc.txt >/dev/null
  if ! cmp -s $bd/musl.txt $bd/glibc.txt; then
    echo "optkern: musl and glibc builds differ:" >&2
    diff $bd/glibc.txt $bd/musl.txt >&2 || true
    exit 1
  fi
  echo "optkern: musl and glibc builds give the same $(wc -l <$bd/musl.txt) digests"
fi
echo "optkern: musl build: $bd/optk_digest against tests/digests/trajectory.txt"
$bd/optk_digest tests/digests/trajectory.txt
