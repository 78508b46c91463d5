/* optk_bench_data: what the data and the placement of the arrays do to a
 * kernel's speed, in optk_bench's CSV rows (bench/run appends them to
 * results.csv; bench/report_data.lua reports them).
 *
 *   optk_bench_data [--quick] [--filter TOKENS] [--csv FILE] [--only data|alloc]
 *
 * data:  every kernel and ISA at 4 Ki elements (and 64 Ki without --quick),
 *        on compact arrays, with normal, training-like and subnormal data
 *        (bench/training.c); variant = the data mode.
 * alloc: a few kernels on the same data (training-like) in two allocation
 *        patterns, compact (one block, arrays back to back) and framework
 *        (one aligned_alloc block per array, as large as a framework's
 *        tensors, so glibc places them 128 MiB + 4 KiB apart), then a sweep
 *        of exact spacings and of a phase added to them, which tells an
 *        address-aliasing effect from a cache-capacity one.  variant =
 *        pattern name; the bytes column holds the spacing between arrays.
 *
 * Times are medians of samples after a warm-up, ns per element. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "elems.h"
#include "optk_internal.h"
#include "training.h"

static int quick;
static FILE *csv;
static char tokens[32][64];
static int ntokens;

static double now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* A token filter as optk_bench's: per kind (optimizer, dtype, isa) that has
 * tokens, the value must be one of them. */
static int passes(const char *opt, const char *dt, const char *isa)
{
  int any[3] = { 0, 0, 0 }, hit[3] = { 0, 0, 0 };
  for (int i = 0; i < ntokens; i++) {
    const char *t = tokens[i];
    int k = strcmp(t, "f32") == 0 || strcmp(t, "f64") == 0 || strcmp(t, "bf16") == 0 || strcmp(t, "f16") == 0 ? 1
          : strcmp(t, "scalar") == 0 || strcmp(t, "avx2") == 0 || strcmp(t, "avx512") == 0 ||
                    strcmp(t, "neon") == 0 || strcmp(t, "sve") == 0 ? 2 : 0;
    any[k] = 1;
    hit[k] |= strcmp(t, k == 0 ? opt : k == 1 ? dt : isa) == 0;
  }
  for (int k = 0; k < 3; k++)
    if (any[k] && !hit[k])
      return 0;
  return 1;
}

struct run {
  const optk_kernel *k;
  optk_isa isa;
  size_t n;
  void *p, *g, *st[OPTK_MAX_STATE];
  double hp[32];
};

struct times {
  double med, lo, hi;
};

/* ns per element: median (and fastest, slowest) of samples of calls with t
 * cycling as training does. */
static struct times time_run(struct run *r)
{
  const double target = quick ? 1e6 : 3e6, warm = quick ? 5e6 : 20e6;
  const int nsamples = quick ? 5 : 9;
  int64_t t = 1;
  double t0 = now_ns();
  optk_step_isa(r->k, r->isa, r->n, r->p, r->g, r->st, r->hp, t);
  double one = now_ns() - t0;
  long reps = one >= target ? 1 : (long)(target / (one > 1 ? one : 1)) + 1;
  double start = now_ns();
  do
    optk_step_isa(r->k, r->isa, r->n, r->p, r->g, r->st, r->hp, t = t % 1000 + 1);
  while (now_ns() - start < warm);
  double s[16];
  for (int i = 0; i < nsamples; i++) {
    t0 = now_ns();
    for (long j = 0; j < reps; j++)
      optk_step_isa(r->k, r->isa, r->n, r->p, r->g, r->st, r->hp, t = t % 1000 + 1);
    s[i] = (now_ns() - t0) / (double)reps / (double)r->n;
  }
  qsort(s, (size_t)nsamples, sizeof s[0], cmp_double);
  struct times x = { s[nsamples / 2], s[0], s[nsamples - 1] };
  return x;
}

static void row(const char *section, const struct run *r, const char *variant, double bytes, struct times ns)
{
  fprintf(csv, "%s,%s,%s,%s,%s,1,%zu,%.0f,%.6g,%.6g,%.6g\n", section, optk_name(r->k),
          tu_dtype_name(optk_dtype_of(r->k)), optk_isa_name(r->isa), variant, r->n, bytes, ns.med, ns.lo, ns.hi);
  fflush(csv);
}

/* Places p, g and the state arrays at base + i * spacing. */
static void place(struct run *r, unsigned char *base, size_t spacing)
{
  r->p = base;
  r->g = base + spacing;
  for (int s = 0; s < optk_nstate(r->k); s++)
    r->st[s] = base + (size_t)(s + 2) * spacing;
}

/* Fills p, g and state for mode m and initialises the state first. */
static void fill(struct run *r, enum bench_data m)
{
  optk_dtype d = optk_dtype_of(r->k), sd = tu_state_type(d);
  tu_rng rng;
  tu_seed(&rng, 42);
  for (size_t i = 0; i < r->n; i++)
    tu_put(d, r->p, i, tu_normal(&rng) * 0.05);
  bench_grad(r->g, d, r->n, m, 1);
  optk_default_hparams(r->k, r->hp);
  optk_init_state(r->k, r->n, r->st, r->hp);
  for (int s = 0; s < optk_nstate(r->k); s++)
    bench_state(r->st[s], sd, r->n, m, (unsigned)s + 2);
}

static size_t round64(size_t b) { return (b + 63) / 64 * 64; }

static void section_data(unsigned char *region)
{
  static const size_t sizes[] = { 4096, 65536 };
  for (size_t ki = 0; ki < optk_count(); ki++) {
    const optk_kernel *k = optk_at(ki);
    optk_dtype d = optk_dtype_of(k);
    for (int isa = 0; isa < OPTK_ISA_COUNT; isa++) {
      if (!optk_isa_available((optk_isa)isa) || k->impl[isa] == NULL ||
          !passes(optk_name(k), tu_dtype_name(d), optk_isa_name((optk_isa)isa)))
        continue;
      fprintf(stderr, "data %s %s %s:", optk_name(k), tu_dtype_name(d), optk_isa_name((optk_isa)isa));
      for (int si = 0; si < (quick ? 1 : 2); si++) {
        struct run r = { .k = k, .isa = (optk_isa)isa, .n = sizes[si] };
        /* Compact: back to back, each array's bytes rounded to a cache line. */
        place(&r, region, round64(sizes[si] * 8));
        for (int m = 0; m < BENCH_NDATA; m++) {
          fill(&r, (enum bench_data)m);
          struct times ns = time_run(&r);
          row("data", &r, bench_data_name[m], (double)round64(sizes[si] * 8), ns);
          fprintf(stderr, " %s:%.3g", bench_data_name[m], ns.med);
        }
      }
      fprintf(stderr, "\n");
    }
  }
}

/* The framework pattern: one aligned_alloc per array, each the size of a
 * large tensor (128 MiB), as optk_bench's own arrays are. */
static void section_alloc(unsigned char *region, size_t region_bytes)
{
  static const char *const picks[][2] = { { "adam", "f32" }, { "sgd", "f32" }, { "adam", "bf16" } };
  const size_t big = (size_t)128 << 20;
  unsigned char *blocks[OPTK_MAX_STATE + 2];
  for (int b = 0; b < 5; b++) {
    blocks[b] = aligned_alloc(64, big);
    if (blocks[b] == NULL) {
      fprintf(stderr, "optk_bench_data: out of memory\n");
      exit(1);
    }
  }
  /* Exact spacings for the sweep (and, + 64 * 7 bytes, a phase). */
  const size_t sweep[] = { (size_t)1 << 20, (size_t)32 << 20, big, big + 4096, big + 4096 + 448, big + 448 };
  const char *const sweep_name[] = { "1MiB", "32MiB", "128MiB", "128MiB+4KiB", "128MiB+4KiB+448", "128MiB+448" };
  for (size_t pi = 0; pi < sizeof picks / sizeof picks[0]; pi++) {
    const optk_kernel *k = optk_find(picks[pi][0], picks[pi][1][0] == 'f' ? OPTK_F32 : OPTK_BF16);
    for (int isa = 1; isa < OPTK_ISA_COUNT; isa++) {
      if (k == NULL || !optk_isa_available((optk_isa)isa) || k->impl[isa] == NULL ||
          !passes(picks[pi][0], picks[pi][1], optk_isa_name((optk_isa)isa)))
        continue;
      fprintf(stderr, "alloc %s %s %s:", picks[pi][0], picks[pi][1], optk_isa_name((optk_isa)isa));
      for (size_t n = 4096; n <= (quick ? 65536u : 1u << 20); n *= 16) {
        struct run r = { .k = k, .isa = (optk_isa)isa, .n = n };
        place(&r, region, round64(n * 8));
        fill(&r, BENCH_TRAINING);
        row("alloc", &r, "compact", (double)round64(n * 8), time_run(&r));
        r.p = blocks[0];
        r.g = blocks[1];
        for (int s = 0; s < optk_nstate(k); s++)
          r.st[s] = blocks[s + 2];
        fill(&r, BENCH_TRAINING);
        struct times fw = time_run(&r);
        /* The spacing as glibc chose it (mmap places later blocks lower). */
        double gap = (double)(uintptr_t)blocks[1] - (double)(uintptr_t)blocks[0];
        row("alloc", &r, "framework", gap < 0 ? -gap : gap, fw);
        fprintf(stderr, " %zu: framework %.3g", n, fw.med);
        for (size_t s = 0; s < sizeof sweep / sizeof sweep[0]; s++) {
          if (sweep[s] * (size_t)(optk_nstate(k) + 2) > region_bytes)
            continue;
          place(&r, region, sweep[s]);
          fill(&r, BENCH_TRAINING);
          struct times ns = time_run(&r);
          row("alloc", &r, sweep_name[s], (double)sweep[s], ns);
          fprintf(stderr, " %s %.3g", sweep_name[s], ns.med);
        }
      }
      fprintf(stderr, "\n");
    }
  }
  for (int b = 0; b < 5; b++)
    free(blocks[b]);
}

int main(int argc, char **argv)
{
  const char *path = NULL, *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
    } else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
      char *dup = strdup(argv[++i]);
      for (char *t = strtok(dup, ","); t != NULL && ntokens < 32; t = strtok(NULL, ","))
        snprintf(tokens[ntokens++], sizeof tokens[0], "%s", t);
      free(dup);
    } else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
      path = argv[++i];
    } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else {
      fprintf(stderr, "usage: optk_bench_data [--quick] [--filter TOKENS] [--csv FILE] [--only data|alloc]\n");
      return 2;
    }
  }
  /* Appends: bench/run gives optk_bench's CSV, header written. */
  csv = path ? fopen(path, "a") : stdout;
  if (csv == NULL) {
    perror(path);
    return 1;
  }
  optk_set_num_threads(1);
  /* One reserved region for the compact pattern and the spacing sweep: six
   * arrays up to 128 MiB + 4 KiB + 448 B apart; only the touched pages
   * are ever backed. */
  const size_t region_bytes = 6 * (((size_t)128 << 20) + 8192);
  unsigned char *region = mmap(NULL, region_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  /* The region's start aligned to 2 MiB, as a framework's blocks are to pages. */
  unsigned char *base = (unsigned char *)(((uintptr_t)region + ((size_t)2 << 20) - 1) & ~(((uintptr_t)2 << 20) - 1));
  size_t usable = region_bytes - (size_t)(base - region);
  if (only == NULL || strstr(only, "data"))
    section_data(base);
  if (only == NULL || strstr(only, "alloc"))
    section_alloc(base, usable);
  munmap(region, region_bytes);
  if (csv != stdout)
    fclose(csv);
  return 0;
}
