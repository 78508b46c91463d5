/* optkern's benchmark binary: measures every kernel, the same-run memory
 * ceilings (a copy-like loop over each kernel's arrays, STREAM copy and
 * triad), the naive C loops of naive.c under several compilers, thread
 * scaling, the per-call overhead and the divide/square-root unit, and writes
 * one CSV row per measurement (bench/report.lua turns them into the report).
 * This file reads the command line and runs the sections; each section is a
 * file of its own (bench.h lists them).
 *
 *   optk_bench [--quick] [--filter TOKENS] [--csv FILE] [--only SECTIONS]
 *
 * TOKENS is a comma-separated list of optimizer, dtype and ISA names; a
 * kernel runs if, for each of the three kinds that has a token, it matches
 * one of them ("adam,f32,avx512"; "sgd,rmsprop").  Progress goes to stderr.
 *
 * Every time is the median of repeated samples after a warm-up; lo and hi
 * are the fastest and slowest sample.  Rows: section, optimizer, dtype, isa,
 * variant, threads, n, bytes per element, then ns per element (ns per call
 * in the overhead section) as median, lo, hi. */
#define _GNU_SOURCE
#include "bench.h"
#include "training.h"

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
  const char *csv_path = NULL;
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
    } else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
      char *dup = strdup(argv[++i]);
      for (char *tok = strtok(dup, ","); tok != NULL && nfilter < 64; tok = strtok(NULL, ","))
        snprintf(filter_tokens[nfilter++], sizeof filter_tokens[0], "%s", tok);
      free(dup);
    } else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
      csv_path = argv[++i];
    } else if (strcmp(argv[i], "--default-lib") == 0 && i + 1 < argc) {
      default_lib = argv[++i];
    } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else {
      fprintf(stderr,
              "usage: optk_bench [--quick] [--filter optimizer,dtype,isa,...] [--csv FILE] [--only SECTIONS]\n"
              "                  [--default-lib build/default/liboptkern.so]\n");
      return argc > 1 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
  }
  for (int i = 0; i < nfilter; i++) {
    const char *t = filter_tokens[i];
    if (!is_dtype(t) && !is_isa(t)) {
      int found = 0;
      for (size_t k = 0; k < optk_count(); k++)
        found |= strcmp(optk_name(optk_at(k)), t) == 0;
      if (!found) {
        fprintf(stderr, "optk_bench: --filter: %s is no optimizer, dtype or ISA\n", t);
        return 2;
      }
    }
  }
  csv = csv_path ? fopen(csv_path, "w") : stdout;
  if (csv == NULL) {
    perror(csv_path);
    return 1;
  }
  fprintf(csv, "section,optimizer,dtype,isa,variant,threads,n,bytes_per_elem,ns_med,ns_lo,ns_hi\n");
  long nc = sysconf(_SC_NPROCESSORS_ONLN);
  ncores = nc < 1 ? 1 : nc > 256 ? 256 : (int)nc;

  /* Sizes: 1 Ki..64 Mi elements in powers of 4 (--quick: 4 Ki, 64 Ki, 1 Mi,
   * 16 Mi), capped so that the arrays of the widest kernel (5 arrays of 8
   * bytes) take at most a third of memory. */
  long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
  size_t mem = pages > 0 && psz > 0 ? (size_t)pages * (size_t)psz : (size_t)8 << 30;
  size_t cap = mem / 3 / 40;
  for (size_t n = 1024; n <= ((size_t)64 << 20); n *= 4) {
    if (quick && !(n == 4096 || n == 65536 || n == ((size_t)1 << 20) || n == ((size_t)16 << 20)))
      continue;
    if (n <= cap)
      sizes[nsizes++] = n;
  }
  /* Arrays for the largest size, the thread-scaling sizes and STREAM. */
  nmax = (size_t)(quick ? 16 : 64) << 20;
  if (nmax < sizes[nsizes - 1])
    nmax = sizes[nsizes - 1];
  if (nmax > cap)
    nmax = cap;
  fprintf(stderr, "optk_bench: %d cores, sizes %zu..%zu elements%s\n", ncores, sizes[0], sizes[nsizes - 1],
          quick ? " (--quick)" : "");
  arr_p = xalloc(nmax * 8);
  arr_g = xalloc(nmax * 8);
  for (int s = 0; s < 3; s++)
    arr_s[s] = xalloc(nmax * 8);

#define SECTION(name) (only == NULL || strstr(only, name) != NULL)
  /* Where the arrays lie, for the report: one aligned_alloc each, the size
   * of a large tensor, as frameworks allocate (the "framework" pattern of
   * optk_bench_data); the bytes column holds the spacing. */
  fprintf(csv, "layout,-,-,-,framework,1,%zu,%.0f,0,0,0\n", nmax * 8,
          arr_g > arr_p ? (double)(arr_g - arr_p) : (double)(arr_p - arr_g));
  if (SECTION("unit"))
    bench_unit();
  if (SECTION("overhead")) {
    fill(arr_p, OPTK_F32, 1024);
    fill(arr_g, OPTK_F32, 1024);
    bench_overhead();
  }
  if (SECTION("pool"))
    bench_pool();
  if (SECTION("stream")) {
    fill(arr_p, OPTK_F64, nmax);
    fill(arr_g, OPTK_F64, nmax);
    fill(arr_s[0], OPTK_F64, nmax);
    bench_stream();
  }
  if (SECTION("ceiling"))
    bench_ceilings();
  /* Kernels, naive loops and threads per dtype share arrays; refill per dtype
   * inside a pass would cost more than it changes: random values of the
   * widest type reinterpreted stay finite for f32 and f64; bf16 and f16 fill
   * their own below. */
  if (SECTION("kernel") || SECTION("naive") || SECTION("threads")) {
    const optk_dtype order[] = { OPTK_F32, OPTK_F64, OPTK_BF16, OPTK_F16 };
    char saved[64][64];
    int nsaved = nfilter;
    memcpy(saved, filter_tokens, sizeof saved);
    for (int di = 0; di < 4; di++) {
      /* Restrict the filter to this dtype for one pass. */
      if (!kind_passes(1, tu_dtype_name(order[di])))
        continue;
      nfilter = 0;
      for (int i = 0; i < nsaved; i++)
        if (!is_dtype(saved[i]))
          memcpy(filter_tokens[nfilter++], saved[i], 64);
      memcpy(filter_tokens[nfilter++], tu_dtype_name(order[di]), 4);
      fill(arr_p, order[di], nmax);
      /* Training-like gradients (bench/training.c), the kernel figures' data. */
      bench_grad(arr_g, order[di], nmax, BENCH_TRAINING, 1);
      if (SECTION("kernel"))
        bench_kernels();
      if (SECTION("naive"))
        bench_naive();
      if (SECTION("threads"))
        bench_threads();
      nfilter = nsaved;
      memcpy(filter_tokens, saved, sizeof saved);
    }
  }
  if (SECTION("vendor"))
    bench_baked();
  if (default_lib != NULL && SECTION("tuned"))
    bench_tuned();
  if (csv != stdout)
    fclose(csv);
  return 0;
}
