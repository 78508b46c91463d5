#!/bin/sh
# The thread-pool checks of issue 12 on a many-core machine (16 cores
# meant), from the binaries bench/device16-build.sh built elsewhere: no
# luajit, Check, compiler or network needed.  Run inside the carried folder:
#
#   ./device16.sh [OUTDIR]        (default ./out; about 3 minutes)
#
# Prints: the machine; the pool's tests (bit identity at every count under
# a hostile FP environment, growth patterns, fork, cancellation, dlclose,
# affinity); the wake cost; thread scaling per size and count (1, 2, 4, 8,
# 16, ...); the split-threshold check (no size slower than one thread); and
# Adam f32 1 Mi..64 Mi against the all-core STREAM triad; each target met or
# not, with its figures.  The raw rows stay in OUTDIR/results.csv.
set -u
cd "$(dirname "$0")"
out=${1:-out}
mkdir -p "$out"
log=$out/device16.log

main() {
echo "== machine"
echo "cpu:      $(grep -m1 '^model name' /proc/cpuinfo | sed 's/.*: //')"
echo "cores:    $(nproc) usable ($(grep -c '^processor' /proc/cpuinfo) online)"
lscpu 2>/dev/null | grep -E '^(Thread|Core|Socket|NUMA node\(s\)|L2|L3)' | sed 's/  */ /g'
echo "kernel:   $(uname -sr)"

echo
echo "== tests"
status=0
timeout 120 ./optk_threads_test | tail -1 || status=1
timeout 60 ./optk_pool_test | tail -1 || status=1
if command -v taskset >/dev/null 2>&1; then
  env -u OPTK_NUM_THREADS taskset -c 0 timeout 60 ./optk_pool_test --expect-threads 1 | tail -1 || status=1
else
  echo "taskset not found: the affinity check (taskset -c 0 gives 1 thread) skipped"
fi
[ $status = 0 ] && echo "tests: all passed" || echo "tests: FAILED (see above)"

echo
echo "== benchmark (pool, thread scaling, STREAM)"
timeout 280 ./optk_bench --only pool,threads,stream --filter adam,sgd,f32,bf16 --csv "$out/results.csv" 2>"$out/bench.err"
echo "bench exit status $? (progress in $out/bench.err)"

awk -F, '
NR == 1 { next }
{ sec = $1; opt = $2; dt = $3; isa = $4; v = $5; th = $6 + 0; n = $7 + 0; b = $8 + 0; med = $9 + 0; lo = $10 + 0; hi = $11 + 0 }
function human(x) { return x >= 1048576 && x % 1048576 == 0 ? x / 1048576 " Mi" : x >= 1024 && x % 1024 == 0 ? x / 1024 " Ki" : x }
function verdict(ok) { return ok ? "MET" : "NOT MET" }
sec == "pool" && v == "model-cost" { printf "model: %s %s %s: %.3f ns/elem in cache, split in two from %s elements\n", opt, dt, isa, med, human(n) }
sec == "pool" && v ~ /^wake/ { wake[v, th] = med; if (th > wmax) wmax = th; printf "%s at %d threads: %.2f us (%.2f..%.2f)\n", v, th, med / 1000, lo / 1000, hi / 1000 }
sec == "pool" && v ~ /^growth:/ { stages++; if (n != th - 1 || b != 0) { gbad++; printf "growth %s: count %d woke %d of %d, %d beyond\n", substr(v, 8), th, n, th - 1, b } }
sec == "stream" { gbs = b / med; stream[v, th] = gbs; if (v == "triad-DRAM" && th > triad_th) { triad_th = th; triad = gbs } }
sec == "threads" {
  key = opt " " dt " " isa
  if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
  if (!((key, n) in sizeseen)) { sizeseen[key, n] = 1; sizes[key, ++ns[key]] = n }
  t[key, n, v, th] = med; bytes[key] = b
  if (th > maxth) maxth = th
  if (v == "split") counts[th] = 1
  rows[++nr] = key SUBSEP n SUBSEP v SUBSEP th SUBSEP med SUBSEP b
}
END {
  print ""
  print "== thread scaling: ns/elem (speed-up over one thread); split = every step split, model = the library"
  print "   model at that count, default = the library as it comes"
  for (k = 1; k <= nk; k++) {
    key = keys[k]
    printf "%s\n  %-8s", key, "n"
    for (c = 1; c <= maxth; c++) if (c in counts) printf " %20s", "split/" c
    for (c = 2; c <= maxth; c++) if (c in counts) printf " %20s", "model/" c
    printf " %20s\n", "default"
    for (i = 1; i <= ns[key]; i++) {
      n = sizes[key, i]; one = t[key, n, "split", 1]
      printf "  %-8s", human(n)
      for (c = 1; c <= maxth; c++) if (c in counts) {
        x = t[key, n, "split", c]; printf(" %12.4f (%5.2fx)", x, (x > 0 ? one / x : 0)) }
      for (c = 2; c <= maxth; c++) if (c in counts) {
        x = t[key, n, "model", c]; printf(" %12.4f (%5.2fx)", x, (x > 0 ? one / x : 0)) }
      for (c = 1; c <= maxth; c++) { x = t[key, n, "default", c]; if (x > 0) printf " %12.4f (%5.2fx)", x, one / x }
      printf "\n"
    }
  }
  print ""
  print "== targets"
  w = wake["wake-spinning", wmax]
  printf("wake at %d threads <= 5 us (spinning; %.1f us after sleep): %.2f us: %s\n", wmax, wake["wake-sleeping", wmax] / 1000, w / 1000, verdict(w > 0 && w <= 5000))
  slower = 0; pairs = 0
  for (r = 1; r <= nr; r++) {
    split(rows[r], f, SUBSEP); key = f[1]; n = f[2]; v = f[3]; c = f[4]; med = f[5]
    if (v == "model" || v == "default") {
      one = t[key, n, "split", 1]; pairs++
      if (one / med < 0.95) { slower++; printf "  slower than one thread: %s @%s %s/%d: %.2fx\n", key, human(n), v, c, one / med }
    }
  }
  printf("default split model: no size or count slower than one thread (5%% noise): %d of %d slower: %s\n", slower, pairs, verdict(pairs > 0 && slower == 0))
  worst = 1e9
  for (r = 1; r <= nr; r++) {
    split(rows[r], f, SUBSEP)
    if (f[1] ~ /^adam f32/ && f[3] == "default" && f[2] >= 1048576) {
      gb = f[6] / f[5]; frac = triad > 0 ? gb / triad : 0
      printf "  adam f32 @%s, %d threads: %.1f GB/s = %.0f%% of triad %.1f GB/s\n", human(f[2]), f[4], gb, 100 * frac, triad
      if (frac < worst) worst = frac
    }
  }
  printf("adam f32 1 Mi..64 Mi >= 85%% of all-core STREAM triad (%.1f GB/s, %d threads): worst %.0f%%: %s\n", triad, triad_th, 100 * worst, verdict(worst >= 0.85 && worst < 1e9))
  printf("requested count honoured in every growth pattern: %d stages, %d wrong: %s\n", stages, gbad, verdict(stages > 0 && gbad == 0))
  printf "STREAM triad DRAM: 1 thread %.1f GB/s, %d threads %.1f GB/s\n", stream["triad-DRAM", 1], triad_th, triad
}' "$out/results.csv"
}

main 2>&1 | tee "$log"
echo
echo "log: $log; rows: $out/results.csv"
