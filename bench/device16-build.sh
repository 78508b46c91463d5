#!/bin/sh
# Builds, on this machine, what bench/device16.sh runs on a borrowed
# many-core machine that has no luajit, Check, compiler or network:
# portable binaries (no -march=native; the kernels of every ISA are chosen at
# run time) from the committed generated/ kernels, not this CPU's tuned ones.
#
#   bench/device16-build.sh        writes build/device16/: carry that folder
#
# Then, on the borrowed machine: cd device16 && ./device16.sh  (under 5 minutes).
# The binaries link glibc (>= 2.34), libm and libdl dynamically, as Debian 12's.
set -eu
cd "$(dirname "$0")/.."
bd=build/device16
ninja build/vendor/a/a_optk.h build/vendor/b/b_optk.h build/vendor/a/gcc.o build/vendor/b/gcc.o >/dev/null
scripts/build-variant generated $bd $bd/liboptkern.a $bd/liboptkern.so $bd/optk_threads_test $bd/optk_pool_test \
  $bd/tests/elems.o
flags="-std=c11 -O2 -g -Wall -Wextra -Werror -pthread -Iruntime -Igenerated -Ibench -Itests -Ibuild/vendor/a -Ibuild/vendor/b"
for v in naive_gcc_o3 naive_gcc_o3_fnme naive_clang_o3 naive_clang_o3_fnme naive_gcc_o2; do
  gcc $flags -DNAIVE_TABLE=$v -c bench/naive.c -o $bd/$v.o
done
gcc $flags -c bench/bench.c -o $bd/bench.o
gcc -pthread -o $bd/optk_bench $bd/bench.o $bd/naive_*.o $bd/liboptkern.a $bd/tests/elems.o build/vendor/a/gcc.o \
  build/vendor/b/gcc.o -ldl -lm
cp bench/device16.sh $bd/device16.sh
rm -rf $bd/carry
mkdir $bd/carry
cp $bd/optk_bench $bd/optk_threads_test $bd/optk_pool_test $bd/liboptkern.so $bd/device16.sh $bd/carry/
echo "bench/device16-build.sh: carry $bd/carry/ ($(du -sh $bd/carry | cut -f1)); run ./device16.sh inside it"
