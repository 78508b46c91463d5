/* optkern's benchmark binary: measures every kernel, the same-run memory
 * ceilings (a copy-like loop over each kernel's arrays, STREAM copy and
 * triad), the naive C loops of naive.c under several compilers, thread
 * scaling, the per-call overhead and the divide/square-root unit, and writes
 * one CSV row per measurement (bench/report.lua turns them into the report).
 *
 *   optk_bench [--quick] [--filter TOKENS] [--csv FILE]
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
#include <dlfcn.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elems.h"
#include "naive.h"
#include "training.h"
/* Two vendored copies that build.ninja writes: a_ as it is, b_ with
 * hyperparameters baked (tests/vendor_baked.h). */
#include "a_optk.h"
#include "b_optk.h"
#include "vendor_baked.h"
#include "optk_internal.h"

/* ---- options ------------------------------------------------------------ */

static int quick;
static char filter_tokens[64][64];
static int nfilter;
static FILE *csv;
static int ncores;


static int is_dtype(const char *s)
{
  for (int i = 0; i < 4; i++)
    if (strcmp(s, tu_dtype_name(i)) == 0)
      return 1;
  return 0;
}

static int is_isa(const char *s)
{
  for (int i = 0; i < OPTK_ISA_COUNT; i++)
    if (strcmp(s, optk_isa_name((optk_isa)i)) == 0)
      return 1;
  return 0;
}

/* kind: 0 optimizer, 1 dtype, 2 isa.  Passes if no token of that kind. */
static int kind_passes(int kind, const char *value)
{
  int any = 0;
  for (int i = 0; i < nfilter; i++) {
    const char *t = filter_tokens[i];
    int k = is_dtype(t) ? 1 : is_isa(t) ? 2 : 0;
    if (k != kind)
      continue;
    any = 1;
    if (strcmp(t, value) == 0)
      return 1;
  }
  return !any;
}

static int kernel_passes(const optk_kernel *k)
{
  return kind_passes(0, optk_name(k)) && kind_passes(1, tu_dtype_name(optk_dtype_of(k)));
}

/* ---- timing ------------------------------------------------------------- */

static double now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef void (*body_fn)(void *ctx, long reps);

struct stat3 {
  double med, lo, hi;
};

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Times body: calibrates the repetitions per sample, warms up, then takes
 * the samples.  Returns ns per call divided by per. */
static struct stat3 measure(body_fn body, void *ctx, double per)
{
  const double target = quick ? 2e6 : 5e6, warm = quick ? 8e6 : 30e6;
  const int nsamples = quick ? 5 : 11;
  double t0 = now_ns();
  body(ctx, 1);
  double one = now_ns() - t0;
  long reps = one >= target ? 1 : (long)(target / (one > 1 ? one : 1)) + 1;
  double start = now_ns();
  do
    body(ctx, reps);
  while (now_ns() - start < warm);
  double s[32];
  for (int i = 0; i < nsamples; i++) {
    t0 = now_ns();
    body(ctx, reps);
    s[i] = (now_ns() - t0) / (double)reps / per;
  }
  qsort(s, (size_t)nsamples, sizeof s[0], cmp_double);
  struct stat3 r = { s[nsamples / 2], s[0], s[nsamples - 1] };
  return r;
}

static void row(const char *section, const char *opt, const char *dt, const char *isa, const char *variant,
                int threads, size_t n, double bytes, struct stat3 st)
{
  fprintf(csv, "%s,%s,%s,%s,%s,%d,%zu,%g,%.6g,%.6g,%.6g\n", section, opt, dt, isa, variant, threads, n, bytes,
          st.med, st.lo, st.hi);
  fflush(csv);
}

/* ---- arrays --------------------------------------------------------------- */

static size_t nmax;
static unsigned char *arr_p, *arr_g, *arr_s[OPTK_MAX_STATE];

static void *xalloc(size_t bytes)
{
  void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (p == NULL) {
    fprintf(stderr, "optk_bench: out of memory (%zu bytes)\n", bytes);
    exit(1);
  }
  memset(p, 0, bytes);
  return p;
}

static uint64_t rng = 0x2545f4914f6cdd1du;
static float frand(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static void fill(void *a, optk_dtype d, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    float f = frand();
    uint32_t u;
    memcpy(&u, &f, 4);
    switch (d) {
    case OPTK_F32: ((float *)a)[i] = f; break;
    case OPTK_F64: ((double *)a)[i] = f; break;
    case OPTK_BF16: ((uint16_t *)a)[i] = (uint16_t)(u >> 16); break;
    case OPTK_F16: ((uint16_t *)a)[i] = (uint16_t)(0x3000 | (u & 0x83ff)); break;
    }
  }
}

/* p and g read, p written, each state read and written. */
static double bytes_per_elem(optk_dtype d, int nstate) { return 3.0 * (double)tu_esize(d) + 2.0 * nstate * (double)tu_esize(tu_state_type(d)); }

static size_t sizes[16];
static int nsizes;

/* ---- kernels through optk_step_isa ---------------------------------------- */

struct step_ctx {
  const optk_kernel *k;
  optk_isa isa;
  size_t n;
  void *st[OPTK_MAX_STATE];
  double hp[32];
  int64_t t;
};

static void step_body(void *ctx, long reps)
{
  struct step_ctx *c = ctx;
  for (long r = 0; r < reps; r++) {
    c->t = c->t % 1000 + 1;
    optk_step_isa(c->k, c->isa, c->n, arr_p, arr_g, c->st, c->hp, c->t);
  }
}

static void prepare(struct step_ctx *c, const optk_kernel *k, size_t n)
{
  memset(c, 0, sizeof *c);
  c->k = k;
  c->n = n;
  c->t = 1;
  optk_default_hparams(k, c->hp);
  for (int s = 0; s < optk_nstate(k); s++)
    c->st[s] = arr_s[s];
  optk_init_state(k, n, c->st, c->hp);
}

static optk_isa best_isa(const optk_kernel *k)
{
  optk_isa best = OPTK_ISA_SCALAR;
  for (int i = 0; i < OPTK_ISA_COUNT; i++)
    if (optk_isa_available((optk_isa)i) && k->impl[i] != NULL && i > (int)best)
      best = (optk_isa)i;
  return best;
}

static void bench_kernels(void)
{
  optk_set_num_threads(1);
  for (size_t ki = 0; ki < optk_count(); ki++) {
    const optk_kernel *k = optk_at(ki);
    if (!kernel_passes(k))
      continue;
    optk_dtype d = optk_dtype_of(k);
    double b = bytes_per_elem(d, optk_nstate(k));
    for (int isa = 0; isa < OPTK_ISA_COUNT; isa++) {
      if (!optk_isa_available((optk_isa)isa) || k->impl[isa] == NULL || !kind_passes(2, optk_isa_name((optk_isa)isa)))
        continue;
      fprintf(stderr, "kernel %s %s %s:", optk_name(k), tu_dtype_name(d), optk_isa_name((optk_isa)isa));
      for (int si = 0; si < nsizes; si++) {
        size_t n = sizes[si];
        if (quick && isa == OPTK_ISA_SCALAR && n > ((size_t)1 << 20) && best_isa(k) != OPTK_ISA_SCALAR)
          continue; /* the scalar baseline beyond cache only in the full run */
        struct step_ctx c;
        prepare(&c, k, n);
        c.isa = (optk_isa)isa;
        struct stat3 st = measure(step_body, &c, (double)n);
        row("kernel", optk_name(k), tu_dtype_name(d), optk_isa_name((optk_isa)isa), "step", 1, n, b, st);
        fprintf(stderr, " %zu:%.3g", n, st.med);
      }
      fprintf(stderr, "\n");
    }
  }
  optk_set_num_threads(0);
}

/* ---- the same-run ceiling: the kernel's loads and stores, no arithmetic ---- */

typedef char v64 __attribute__((vector_size(64), aligned(1)));

struct ceil_ctx {
  size_t n;
  int psz, ssz, nstate;
};

/* Per block of 32 elements: loads g, p and every state, stores p and every
 * state; the stored value is the loaded one xor the block of g (a bitwise op
 * so the compiler can neither drop the store nor the load). */
static inline __attribute__((always_inline)) void ceil_loop(size_t n, int psz, int ssz, int nstate)
{
  const size_t pv = (size_t)psz / 2, sv = (size_t)ssz / 2; /* 64-byte vectors per 32 elements */
  for (size_t i = 0; i + 32 <= n; i += 32) {
    v64 acc = *(const v64 *)(arr_g + i * (size_t)psz);
    for (size_t k = 1; k < pv; k++)
      acc ^= *(const v64 *)(arr_g + i * (size_t)psz + 64 * k);
    for (size_t k = 0; k < pv; k++) {
      v64 *q = (v64 *)(arr_p + i * (size_t)psz + 64 * k);
      *q ^= acc;
    }
    for (int s = 0; s < nstate; s++)
      for (size_t k = 0; k < sv; k++) {
        v64 *q = (v64 *)(arr_s[s] + i * (size_t)ssz + 64 * k);
        *q ^= acc;
      }
  }
}

#define CEIL_CASE(P, S, NS)                                                                               \
  if (c->psz == P && c->ssz == S && c->nstate == NS) {                                                   \
    for (long r = 0; r < reps; r++)                                                                      \
      ceil_loop(c->n, P, S, NS);                                                                         \
    return;                                                                                              \
  }

static void ceil_body(void *ctx, long reps)
{
  const struct ceil_ctx *c = ctx;
  CEIL_CASE(2, 4, 0) CEIL_CASE(2, 4, 1) CEIL_CASE(2, 4, 2) CEIL_CASE(2, 4, 3)
  CEIL_CASE(4, 4, 0) CEIL_CASE(4, 4, 1) CEIL_CASE(4, 4, 2) CEIL_CASE(4, 4, 3)
  CEIL_CASE(8, 8, 0) CEIL_CASE(8, 8, 1) CEIL_CASE(8, 8, 2) CEIL_CASE(8, 8, 3)
  for (long r = 0; r < reps; r++)
    ceil_loop(c->n, c->psz, c->ssz, c->nstate);
}

static void bench_ceilings(void)
{
  int done[4][OPTK_MAX_STATE + 1] = { { 0 } };
  for (size_t ki = 0; ki < optk_count(); ki++) {
    const optk_kernel *k = optk_at(ki);
    optk_dtype d = optk_dtype_of(k);
    int ns = optk_nstate(k);
    if (!kernel_passes(k) || done[d][ns])
      continue;
    done[d][ns] = 1;
    fprintf(stderr, "ceiling %s with %d state arrays:", tu_dtype_name(d), ns);
    char variant[32];
    snprintf(variant, sizeof variant, "nstate=%d", ns);
    for (int si = 0; si < nsizes; si++) {
      struct ceil_ctx c = { sizes[si], (int)tu_esize(d), (int)tu_esize(tu_state_type(d)), ns };
      struct stat3 st = measure(ceil_body, &c, (double)sizes[si]);
      row("ceiling", "-", tu_dtype_name(d), "-", variant, 1, sizes[si], bytes_per_elem(d, ns), st);
      fprintf(stderr, " %zu:%.3g", sizes[si], st.med);
    }
    fprintf(stderr, "\n");
  }
}

/* ---- STREAM copy and triad, one thread and all cores ------------------------ */

struct team {
  int nthreads;
  pthread_barrier_t start, end;
  volatile int quit;
  void (*work)(int id, int nthreads, void *ctx, long reps);
  void *ctx;
  long reps;
};
static struct team team;

struct team_arg {
  int id;
};

static void *team_worker(void *arg)
{
  int id = ((struct team_arg *)arg)->id;
  for (;;) {
    pthread_barrier_wait(&team.start);
    if (team.quit)
      return NULL;
    team.work(id, team.nthreads, team.ctx, team.reps);
    pthread_barrier_wait(&team.end);
  }
}

static pthread_t team_threads[256];
static struct team_arg team_args[256];

static void team_start(int nthreads)
{
  team.nthreads = nthreads;
  team.quit = 0;
  pthread_barrier_init(&team.start, NULL, (unsigned)nthreads);
  pthread_barrier_init(&team.end, NULL, (unsigned)nthreads);
  for (int i = 1; i < nthreads; i++) {
    team_args[i].id = i;
    pthread_create(&team_threads[i], NULL, team_worker, &team_args[i]);
  }
}

static void team_stop(void)
{
  team.quit = 1;
  pthread_barrier_wait(&team.start);
  for (int i = 1; i < team.nthreads; i++)
    pthread_join(team_threads[i], NULL);
  pthread_barrier_destroy(&team.start);
  pthread_barrier_destroy(&team.end);
}

static void team_body(void *ctx, long reps)
{
  (void)ctx;
  team.reps = reps;
  if (team.nthreads > 1)
    pthread_barrier_wait(&team.start);
  team.work(0, team.nthreads, team.ctx, reps);
  if (team.nthreads > 1)
    pthread_barrier_wait(&team.end);
}

struct stream_ctx {
  size_t n;
  int triad;
};

static void stream_work(int id, int nthreads, void *ctx, long reps)
{
  const struct stream_ctx *c = ctx;
  size_t per = c->n / (size_t)nthreads / 8 * 8;
  size_t lo = per * (size_t)id, hi = id == nthreads - 1 ? c->n : lo + per;
  double *a = (double *)arr_p, *b = (double *)arr_g, *cc = (double *)arr_s[0];
  const double s = 3.0;
  for (long r = 0; r < reps; r++) {
    if (c->triad) {
      for (size_t i = lo; i < hi; i++)
        a[i] = b[i] + s * cc[i];
    } else {
      for (size_t i = lo; i < hi; i++)
        cc[i] = a[i];
    }
    __asm__ volatile("" ::: "memory");
  }
}

static void bench_stream(void)
{
  /* Elements of double per array: 3 arrays of 8 KiB (L1), 256 KiB (L2),
   * 4 MiB (L3), 256 MiB (DRAM; 64 MiB with --quick). */
  static const char *const cls[] = { "L1", "L2", "L3", "DRAM" };
  size_t n[4] = { 1024, 32768, 524288, (quick ? 8 : 32) * ((size_t)1 << 20) };
  if (n[3] > nmax)
    n[3] = nmax;
  int counts[2] = { 1, ncores };
  for (int ti = 0; ti < (ncores > 1 ? 2 : 1); ti++) {
    team_start(counts[ti]);
    for (int c = 0; c < 4; c++)
      for (int triad = 0; triad < 2; triad++) {
        struct stream_ctx sc = { n[c], triad };
        team.work = stream_work;
        team.ctx = &sc;
        struct stat3 st = measure(team_body, NULL, (double)n[c]);
        char variant[32];
        snprintf(variant, sizeof variant, "%s-%s", triad ? "triad" : "copy", cls[c]);
        row("stream", "-", "f64", "-", variant, counts[ti], n[c], triad ? 24 : 16, st);
        fprintf(stderr, "stream %s threads=%d: %.2f GB/s\n", variant, counts[ti], (triad ? 24 : 16) / st.med);
      }
    team_stop();
  }
}

/* ---- naive loops -------------------------------------------------------------- */

static const struct {
  const char *name;
  const struct naive_fn *table;
} naive_variants[] = {
  { "gcc-O3-native", naive_gcc_o3 },
  { "gcc-O3-native-fno-math-errno", naive_gcc_o3_fnme },
  { "clang-O3-native", naive_clang_o3 },
  { "clang-O3-native-fno-math-errno", naive_clang_o3_fnme },
  { "gcc-O2", naive_gcc_o2 },
};

struct naive_ctx {
  naive_step_fn f;
  size_t n;
  void *st[OPTK_MAX_STATE];
  double hp[32];
  int64_t t;
};

static void naive_body(void *ctx, long reps)
{
  struct naive_ctx *c = ctx;
  for (long r = 0; r < reps; r++) {
    c->t = c->t % 1000 + 1;
    c->f(c->n, arr_p, arr_g, c->st, c->hp, c->t);
  }
}

static void bench_naive(void)
{
  for (size_t ki = 0; ki < optk_count(); ki++) {
    const optk_kernel *k = optk_at(ki);
    optk_dtype d = optk_dtype_of(k);
    if (!kernel_passes(k) || (d != OPTK_F32 && d != OPTK_F64))
      continue;
    fprintf(stderr, "naive %s %s:", optk_name(k), tu_dtype_name(d));
    for (size_t v = 0; v < sizeof naive_variants / sizeof naive_variants[0]; v++) {
      const struct naive_fn *e = naive_variants[v].table;
      while (e->name != NULL && strcmp(e->name, optk_name(k)) != 0)
        e++;
      if (e->name == NULL)
        continue;
      for (int si = 0; si < nsizes; si++) {
        size_t n = sizes[si];
        if (quick && n > ((size_t)1 << 16))
          continue; /* the naive loops matter in cache; beyond it, the full run */
        struct step_ctx sc;
        prepare(&sc, k, n); /* initial state */
        struct naive_ctx c;
        memset(&c, 0, sizeof c);
        c.f = d == OPTK_F32 ? e->f32 : e->f64;
        c.n = n;
        c.t = 1;
        memcpy(c.st, sc.st, sizeof c.st);
        memcpy(c.hp, sc.hp, sizeof c.hp);
        struct stat3 st = measure(naive_body, &c, (double)n);
        row("naive", optk_name(k), tu_dtype_name(d), "-", naive_variants[v].name, 1, n,
            bytes_per_elem(d, optk_nstate(k)), st);
      }
      fprintf(stderr, " %s", naive_variants[v].name);
    }
    fprintf(stderr, "\n");
  }
}

/* ---- thread scaling and the pool ------------------------------------------------ */

/* Thread counts measured: 1, 2, 4, 8, ... and every core. */
static int thread_counts(int *out)
{
  int n = 0;
  for (int t = 1; t < ncores; t *= 2)
    out[n++] = t;
  out[n++] = ncores;
  return n;
}

/* Per size and count: "split" splits every step into the count's parts
 * (the raw scaling), "model" keeps the library's split model with that
 * count, and "default" is the library as it comes (model and count). */
static void bench_threads(void)
{
  static const char *const picks[][2] = { { "adam", "f32" }, { "sgd", "f32" }, { "adam", "bf16" } };
  static const size_t tsizes[] = { 16384, 65536, 262144, 1u << 20, 4u << 20, 16u << 20, 64u << 20 };
  int counts[16];
  const int ncounts = thread_counts(counts);
  for (size_t pi = 0; pi < sizeof picks / sizeof picks[0]; pi++) {
    optk_dtype d = strcmp(picks[pi][1], "f32") == 0 ? OPTK_F32 : OPTK_BF16;
    const optk_kernel *k = optk_find(picks[pi][0], d);
    if (k == NULL || !kernel_passes(k))
      continue;
    fprintf(stderr, "threads %s %s:", picks[pi][0], picks[pi][1]);
    for (size_t si = 0; si < sizeof tsizes / sizeof tsizes[0]; si++) {
      size_t n = tsizes[si];
      if (n > nmax || (quick && (n == 65536 || n > (16u << 20))))
        continue;
      struct step_ctx c;
      prepare(&c, k, n);
      c.isa = best_isa(k);
      const char *isa = optk_isa_name(c.isa);
      const double b = bytes_per_elem(d, optk_nstate(k));
      for (int ci = 0; ci < ncounts; ci++) {
        const int th = counts[ci];
        optk_set_num_threads(th);
        optk__set_split_min_part_ns(0);
        struct stat3 st = measure(step_body, &c, (double)n);
        row("threads", picks[pi][0], picks[pi][1], isa, "split", th, n, b, st);
        fprintf(stderr, " %zu/%d:%.3g", n, th, st.med);
        optk__set_split_min_part_ns(OPTK_SPLIT_MIN_PART_NS);
        if (th > 1)
          row("threads", picks[pi][0], picks[pi][1], isa, "model", th, n, b, measure(step_body, &c, (double)n));
      }
      optk_set_num_threads(0);
      row("threads", picks[pi][0], picks[pi][1], isa, "default", optk_get_num_threads(), n, b,
          measure(step_body, &c, (double)n));
    }
    fprintf(stderr, "\n");
  }
  optk_set_num_threads(0);
}

/* The pool's wake: a step of p parts of 8 Ki Adam f32 elements each (a few
 * microseconds, long enough that the workers, not the caller, run their
 * parts), less the time of one part alone.  Spinning: steps back to back;
 * sleeping: each step after 2 ms idle, past the workers' spin. */
static struct stat3 minus(struct stat3 a, double b)
{
  struct stat3 r = { a.med - b, a.lo - b, a.hi - b };
  return r;
}

static void bench_wake(void)
{
  const optk_kernel *k = optk_find("adam", OPTK_F32);
  const size_t part = 8192;
  int counts[16];
  const int ncounts = thread_counts(counts);
  struct step_ctx c;
  prepare(&c, k, part * (size_t)ncores);
  c.isa = best_isa(k);
  const char *isa = optk_isa_name(c.isa);
  optk_set_num_threads(1);
  c.n = part;
  const double one = measure(step_body, &c, 1).med;
  optk__set_split_min_part_ns(0);
  fprintf(stderr, "wake (ns per step over one part of %zu, %.0f ns):", part, one);
  for (int ci = 0; ci < ncounts; ci++) {
    const int th = counts[ci];
    if (th < 2)
      continue;
    optk_set_num_threads(th);
    c.n = part * (size_t)th;
    struct stat3 spin = minus(measure(step_body, &c, 1), one);
    row("pool", "adam", "f32", isa, "wake-spinning", th, c.n, 0, spin);
    /* Sleeping: few samples, each its own step; the median of singles. */
    double s[15];
    const int ns = quick ? 7 : 15;
    for (int i = 0; i < ns; i++) {
      struct timespec ts = { 0, 2000000 };
      nanosleep(&ts, NULL);
      double t0 = now_ns();
      optk_step_isa(c.k, c.isa, c.n, arr_p, arr_g, c.st, c.hp, c.t);
      s[i] = now_ns() - t0;
    }
    qsort(s, (size_t)ns, sizeof s[0], cmp_double);
    struct stat3 sl = { s[ns / 2] - one, s[0] - one, s[ns - 1] - one };
    row("pool", "adam", "f32", isa, "wake-sleeping", th, c.n, 0, sl);
    fprintf(stderr, " %d threads: %.0f spinning, %.0f after sleep;", th, spin.med, sl.med);
  }
  fprintf(stderr, "\n");
  optk__set_split_min_part_ns(OPTK_SPLIT_MIN_PART_NS);
  optk_set_num_threads(0);
}

/* The requested count in growth patterns: after optk_set_num_threads(c),
 * steps wake workers 1..c-1 and no other, however many the pool holds.
 * Row: n = workers of 1..c-1 woken, bytes = workers beyond woken, med = steps
 * taken (a sleeping worker may wake after the step ran its part, so steps
 * go on until each of 1..c-1 shows up, at most 2 s). */
static void bench_growth(void)
{
  static const int patterns[][6] = { { 1, 16, 2, 4, 0 }, { 4, 2, 0 }, { 16, 1, 3, 2, 0 }, { 2, 8, 5, 16, 7, 0 } };
  const optk_kernel *k = optk_find("adam", OPTK_F32);
  struct step_ctx c;
  prepare(&c, k, 16384);
  c.isa = best_isa(k);
  optk__set_split_min_part_ns(0);
  for (size_t pi = 0; pi < sizeof patterns / sizeof patterns[0]; pi++) {
    char name[64] = "growth:";
    for (const int *q = patterns[pi]; *q != 0; q++)
      snprintf(name + strlen(name), sizeof name - strlen(name), "%s%d", q == patterns[pi] ? "" : ">", *q);
    fprintf(stderr, "%s:", name);
    for (const int *q = patterns[pi]; *q != 0; q++) {
      optk_set_num_threads(*q);
      for (int i = 0; i < 20000 && !optk__pool_settled(); i++) {
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
      }
      unsigned long before[OPTK_MAX_THREADS];
      for (int w = 1; w < OPTK_MAX_THREADS; w++)
        before[w] = optk__pool_wakes(w);
      int woken = 0, steps = 0;
      for (; steps < 20000 && woken < *q - 1; steps++) {
        step_body(&c, 1);
        woken = 0;
        for (int w = 1; w < *q; w++)
          woken += optk__pool_wakes(w) != before[w];
        if (woken < *q - 1) {
          struct timespec ts = { 0, 100000 };
          nanosleep(&ts, NULL);
        }
      }
      for (int i = 0; i < 20000 && !optk__pool_settled(); i++) {
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
      }
      int beyond = 0;
      for (int w = *q; w < OPTK_MAX_THREADS; w++)
        beyond += optk__pool_wakes(w) != before[w];
      struct stat3 st = { (double)steps, (double)steps, (double)steps };
      row("pool", "adam", "f32", optk_isa_name(c.isa), name, *q, (size_t)woken, beyond, st);
      fprintf(stderr, " %d: %d woken, %d beyond;", *q, woken, beyond);
    }
    fprintf(stderr, "\n");
  }
  optk__set_split_min_part_ns(OPTK_SPLIT_MIN_PART_NS);
  optk_set_num_threads(0);
}

/* The split model's inputs: each picked kernel's measured in-cache time per
 * element (med, ns) and the smallest step it splits in two (n). */
static void bench_model(void)
{
  static const char *const picks[][2] = { { "adam", "f32" }, { "sgd", "f32" }, { "adam", "bf16" } };
  for (size_t pi = 0; pi < sizeof picks / sizeof picks[0]; pi++) {
    optk_dtype d = strcmp(picks[pi][1], "f32") == 0 ? OPTK_F32 : OPTK_BF16;
    const optk_kernel *k = optk_find(picks[pi][0], d);
    double hp[32], cd[OPTK_MAX_CONSTS];
    float cf[OPTK_MAX_CONSTS];
    optk_default_hparams(k, hp);
    k->prep(hp, 1, cd);
    for (int i = 0; i < k->nconsts; i++)
      cf[i] = (float)cd[i];
    const optk_isa isa = best_isa(k);
    float ns = optk__split_cost(k, k->impl[isa], cf);
    size_t n2 = ns > 0 ? (size_t)(2.0 * (double)OPTK_SPLIT_MIN_PART_NS / ns) : 0;
    struct stat3 st = { ns, ns, ns };
    row("pool", picks[pi][0], picks[pi][1], optk_isa_name(isa), "model-cost", 2, n2,
        bytes_per_elem(d, optk_nstate(k)), st);
    fprintf(stderr, "model %s %s: %.3f ns/elem in cache, split in two from %zu elements\n", picks[pi][0],
            picks[pi][1], ns, n2);
  }
}

static void bench_pool(void)
{
  fill(arr_p, OPTK_F32, 1u << 20);
  fill(arr_g, OPTK_F32, 1u << 20);
  bench_model();
  if (ncores > 1)
    bench_wake();
  bench_growth();
}

/* ---- per-call overhead ------------------------------------------------------------ */

struct direct_ctx {
  optk_kernel_fn fn;
  size_t n;
  void *st[OPTK_MAX_STATE];
  float cf[OPTK_MAX_CONSTS];
};

static void direct_body(void *ctx, long reps)
{
  struct direct_ctx *c = ctx;
  for (long r = 0; r < reps; r++) {
    c->fn(c->n, arr_p, arr_g, c->st, c->cf);
    __asm__ volatile("" ::: "memory");
  }
}

/* Many small tensors in one training step: same kernel, hp and t. */
static void step_default_body(void *ctx, long reps)
{
  struct step_ctx *c = ctx;
  for (long r = 0; r < reps; r++)
    optk_step(c->k, c->n, arr_p, arr_g, c->st, c->hp, c->t);
}

/* A new t on every call: the per-call constants are recomputed each time. */
static void step_new_t_body(void *ctx, long reps)
{
  struct step_ctx *c = ctx;
  for (long r = 0; r < reps; r++) {
    c->t = c->t % 1000 + 1;
    optk_step(c->k, c->n, arr_p, arr_g, c->st, c->hp, c->t);
  }
}

static void bench_overhead(void)
{
  static const char *const picks[] = { "sgd", "adam" };
  for (size_t pi = 0; pi < 2; pi++) {
    const optk_kernel *k = optk_find(picks[pi], OPTK_F32);
    if (!kernel_passes(k))
      continue;
    const size_t n = 16;
    struct step_ctx sc;
    prepare(&sc, k, n);
    optk_isa isa = optk_active_isa();
    struct direct_ctx dc;
    memset(&dc, 0, sizeof dc);
    dc.fn = k->impl[isa];
    dc.n = n;
    memcpy(dc.st, sc.st, sizeof dc.st);
    double c[OPTK_MAX_CONSTS];
    k->prep(sc.hp, 1, c);
    for (int i = 0; i < k->nconsts; i++)
      dc.cf[i] = (float)c[i];
    /* Interleave to share the machine's noise; keep each one's best median. */
    struct stat3 best_d = { 1e30, 0, 0 }, best_s = { 1e30, 0, 0 };
    for (int round = 0; round < 3; round++) {
      struct stat3 d = measure(direct_body, &dc, 1), s = measure(step_default_body, &sc, 1);
      if (d.med < best_d.med)
        best_d = d;
      if (s.med < best_s.med)
        best_s = s;
    }
    row("overhead", picks[pi], "f32", optk_isa_name(isa), "direct", 1, n, 0, best_d);
    row("overhead", picks[pi], "f32", optk_isa_name(isa), "optk_step", 1, n, 0, best_s);
    struct stat3 nt = measure(step_new_t_body, &sc, 1);
    row("overhead", picks[pi], "f32", optk_isa_name(isa), "optk_step-new-t", 1, n, 0, nt);
    fprintf(stderr, "overhead %s f32 n=16: kernel %.1f ns, optk_step %.1f ns\n", picks[pi], best_d.med,
            best_s.med);
  }
}

/* ---- divide and square-root unit ---------------------------------------------------- */

#define CHAINS 12
struct unit_ctx {
  int which; /* 0 sqrt+div f32 512, 1 div f32 512, 2 sqrt+div f64 512, 3 div f64 512, 4..7 the same in 256 */
};
static volatile float unit_sink;

__attribute__((target("avx512f"))) static void unit_body512(int which, long reps, long iters)
{
  __m512 a[CHAINS];
  __m512d b[CHAINS];
  const __m512 k = _mm512_set1_ps(2.0f), e = _mm512_set1_ps(1e-7f);
  const __m512d kd = _mm512_set1_pd(2.0), ed = _mm512_set1_pd(1e-7);
  for (int j = 0; j < CHAINS; j++) {
    a[j] = _mm512_set1_ps(1.0f + (float)j);
    b[j] = _mm512_set1_pd(1.0 + j);
  }
  for (long r = 0; r < reps * iters; r++)
    for (int j = 0; j < CHAINS; j++) {
      switch (which) {
      case 0: a[j] = _mm512_div_ps(k, _mm512_add_ps(_mm512_sqrt_ps(a[j]), e)); break;
      case 1: a[j] = _mm512_div_ps(k, _mm512_add_ps(a[j], e)); break;
      case 2: b[j] = _mm512_div_pd(kd, _mm512_add_pd(_mm512_sqrt_pd(b[j]), ed)); break;
      default: b[j] = _mm512_div_pd(kd, _mm512_add_pd(b[j], ed)); break;
      }
    }
  float s = 0;
  for (int j = 0; j < CHAINS; j++)
    s += _mm512_cvtss_f32(a[j]) + (float)_mm512_cvtsd_f64(b[j]);
  unit_sink = s;
}

__attribute__((target("avx2,fma"))) static void unit_body256(int which, long reps, long iters)
{
  __m256 a[CHAINS];
  __m256d b[CHAINS];
  const __m256 k = _mm256_set1_ps(2.0f), e = _mm256_set1_ps(1e-7f);
  const __m256d kd = _mm256_set1_pd(2.0), ed = _mm256_set1_pd(1e-7);
  for (int j = 0; j < CHAINS; j++) {
    a[j] = _mm256_set1_ps(1.0f + (float)j);
    b[j] = _mm256_set1_pd(1.0 + j);
  }
  for (long r = 0; r < reps * iters; r++)
    for (int j = 0; j < CHAINS; j++) {
      switch (which) {
      case 0: a[j] = _mm256_div_ps(k, _mm256_add_ps(_mm256_sqrt_ps(a[j]), e)); break;
      case 1: a[j] = _mm256_div_ps(k, _mm256_add_ps(a[j], e)); break;
      case 2: b[j] = _mm256_div_pd(kd, _mm256_add_pd(_mm256_sqrt_pd(b[j]), ed)); break;
      default: b[j] = _mm256_div_pd(kd, _mm256_add_pd(b[j], ed)); break;
      }
    }
  float s = 0;
  for (int j = 0; j < CHAINS; j++)
    s += _mm256_cvtss_f32(a[j]) + (float)_mm256_cvtsd_f64(b[j]);
  unit_sink = s;
}

#define UNIT_ITERS 256
static void unit_body(void *ctx, long reps)
{
  int w = ((struct unit_ctx *)ctx)->which;
  if (w < 4)
    unit_body512(w, reps, UNIT_ITERS);
  else
    unit_body256(w - 4, reps, UNIT_ITERS);
}

static void bench_unit(void)
{
  static const char *const what[] = { "sqrt+div", "div" };
  for (int w = 0; w < 8; w++) {
    int wide = w < 4;
    optk_isa isa = wide ? OPTK_ISA_AVX512 : OPTK_ISA_AVX2;
    if (!optk_isa_available(isa) || !kind_passes(2, optk_isa_name(isa)))
      continue;
    int f64 = (w % 4) >= 2;
    int lanes = (wide ? 64 : 32) / (f64 ? 8 : 4);
    struct unit_ctx c = { w };
    struct stat3 st = measure(unit_body, &c, (double)UNIT_ITERS * CHAINS * lanes);
    row("unit", "-", f64 ? "f64" : "f32", optk_isa_name(isa), what[w % 2], 1, 0, 0, st);
    fprintf(stderr, "unit %s %s %s: %.3f ns/element\n", what[w % 2], f64 ? "f64" : "f32", optk_isa_name(isa),
            st.med);
  }
}

/* ---- the tuned kernels against the default variants ----------------------- */

/* When the library was built from a tuning profile (scripts/gen), the
 * default variants come from a second build of the committed generated/
 * (bench/run makes it), loaded with dlopen so that both registries live in
 * this process.  The two are timed in alternation, so drift of this shared
 * machine falls on both. */
static const char *default_lib;

struct default_api {
  const optk_kernel *(*find)(const char *, optk_dtype);
  int (*init_state)(const optk_kernel *, size_t, void *const *, const double *);
  int (*step_isa)(const optk_kernel *, optk_isa, size_t, void *, const void *, void *const *, const double *,
                  int64_t);
  int (*set_num_threads)(int);
};
static struct default_api dflt;

static void default_body(void *ctx, long reps)
{
  struct step_ctx *c = ctx;
  for (long r = 0; r < reps; r++) {
    c->t = c->t % 1000 + 1;
    dflt.step_isa(c->k, c->isa, c->n, arr_p, arr_g, c->st, c->hp, c->t);
  }
}

static void bench_tuned(void)
{
  void *h = dlopen(default_lib, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    fprintf(stderr, "optk_bench: cannot load the default kernels: %s\n", dlerror());
    return;
  }
  *(void **)&dflt.find = dlsym(h, "optk_find");
  *(void **)&dflt.init_state = dlsym(h, "optk_init_state");
  *(void **)&dflt.step_isa = dlsym(h, "optk_step_isa");
  *(void **)&dflt.set_num_threads = dlsym(h, "optk_set_num_threads");
  if (dflt.find == NULL || dflt.init_state == NULL || dflt.step_isa == NULL || dflt.set_num_threads == NULL) {
    fprintf(stderr, "optk_bench: %s lacks the optkern API\n", default_lib);
    return;
  }
  optk_set_num_threads(1); /* both libraries: each has its own pool */
  dflt.set_num_threads(1);
  const size_t classes[] = { 4096, 65536, (size_t)16 << 20 };
  for (size_t ki = 0; ki < optk_count(); ki++) {
    const optk_kernel *k = optk_at(ki);
    const optk_kernel *kd = dflt.find(optk_name(k), optk_dtype_of(k));
    if (!kernel_passes(k) || kd == NULL)
      continue;
    optk_dtype d = optk_dtype_of(k);
    fill(arr_p, d, nmax);
    fill(arr_g, d, nmax);
    double b = bytes_per_elem(d, optk_nstate(k));
    for (int isa = 1; isa < OPTK_ISA_COUNT; isa++) {
      if (!optk_isa_available((optk_isa)isa) || !kind_passes(2, optk_isa_name((optk_isa)isa)))
        continue;
      if (quick && isa != (int)best_isa(k) && kind_passes(2, "none"))
        continue; /* --quick: the ISA the library dispatches to, unless ISAs are named */
      fprintf(stderr, "tuned %s %s %s\n", optk_name(k), tu_dtype_name(d), optk_isa_name((optk_isa)isa));
      for (int ci = 0; ci < 3; ci++) {
        size_t n = classes[ci] > nmax ? nmax : classes[ci];
        struct step_ctx a, o;
        prepare(&a, k, n);
        a.isa = (optk_isa)isa;
        o = a;
        o.k = kd;
        double ta[3], to[3];
        for (int round = 0; round < 3; round++) {
          ta[round] = measure(step_body, &a, (double)n).med;
          to[round] = measure(default_body, &o, (double)n).med;
        }
        qsort(ta, 3, sizeof ta[0], cmp_double);
        qsort(to, 3, sizeof to[0], cmp_double);
        struct stat3 sa = { ta[1], ta[0], ta[2] }, so = { to[1], to[0], to[2] };
        row("tuned", optk_name(k), tu_dtype_name(d), optk_isa_name((optk_isa)isa), "tuned", 1, n, b, sa);
        row("tuned", optk_name(k), tu_dtype_name(d), optk_isa_name((optk_isa)isa), "default", 1, n, b, so);
      }
    }
  }
  optk_set_num_threads(0);
}

/* ---- vendored kernels: baked hyperparameters against unbaked ---------------- */


struct vendor_ctx {
  int baked;
  const void *k;
  size_t n;
  void *st[OPTK_MAX_STATE];
  double hp[32];
  int64_t t;
};

static void vendor_body(void *ctx, long reps)
{
  struct vendor_ctx *c = ctx;
  for (long r = 0; r < reps; r++) {
    c->t = c->t % 1000 + 1;
    if (c->baked)
      b_optk_step(c->k, c->n, arr_p, arr_g, c->st, c->hp, c->t);
    else
      a_optk_step(c->k, c->n, arr_p, arr_g, c->st, c->hp, c->t);
  }
}

static void bench_baked(void)
{
  optk_set_num_threads(1);
  const size_t classes[] = { 4096, (size_t)16 << 20 };
  for (size_t i = 0; i < b_optk_count(); i++) {
    const b_optk_kernel *kb = b_optk_at(i);
    const int d = (int)b_optk_dtype_of(kb);
    const a_optk_kernel *ka = a_optk_find(b_optk_name(kb), (a_optk_dtype)d);
    if (ka == NULL || b_optk_nhparams(kb) == a_optk_nhparams(ka) || !kind_passes(0, b_optk_name(kb)) ||
        !kind_passes(1, tu_dtype_name(d)) || (quick && d != OPTK_F32 && d != OPTK_BF16))
      continue;
    fprintf(stderr, "vendor %s %s: baked and unbaked\n", b_optk_name(kb), tu_dtype_name(d));
    fill(arr_p, (optk_dtype)d, nmax);
    fill(arr_g, (optk_dtype)d, nmax);
    for (int ci = 0; ci < 2; ci++) {
      struct vendor_ctx a = { 0 }, b = { 0 };
      a.k = ka, b.k = kb, b.baked = 1;
      a.n = b.n = classes[ci] > nmax ? nmax : classes[ci];
      a.t = b.t = 1;
      a_optk_default_hparams(ka, a.hp);
      for (int j = 0; j < a_optk_nhparams(ka); j++)
        a.hp[j] = vendor_baked_value(a_optk_name(ka), a_optk_hparam_name(ka, j), a.hp[j]);
      for (int j = 0; j < b_optk_nhparams(kb); j++)
        for (int q = 0; q < a_optk_nhparams(ka); q++)
          if (strcmp(b_optk_hparam_name(kb, j), a_optk_hparam_name(ka, q)) == 0)
            b.hp[j] = a.hp[q];
      for (int s = 0; s < a_optk_nstate(ka); s++)
        a.st[s] = b.st[s] = arr_s[s];
      a_optk_init_state(ka, a.n, a.st, a.hp);
      double ta[3], tb[3];
      for (int round = 0; round < 3; round++) { /* in alternation */
        ta[round] = measure(vendor_body, &a, (double)a.n).med;
        tb[round] = measure(vendor_body, &b, (double)b.n).med;
      }
      qsort(ta, 3, sizeof ta[0], cmp_double);
      qsort(tb, 3, sizeof tb[0], cmp_double);
      struct stat3 sa = { ta[1], ta[0], ta[2] }, sb = { tb[1], tb[0], tb[2] };
      const char *isa = a_optk_isa_name(a_optk_active_isa());
      double bytes = bytes_per_elem((optk_dtype)d, a_optk_nstate(ka));
      row("vendor", b_optk_name(kb), tu_dtype_name(d), isa, "unbaked", 1, a.n, bytes, sa);
      row("vendor", b_optk_name(kb), tu_dtype_name(d), isa, "baked", 1, b.n, bytes, sb);
    }
  }
  optk_set_num_threads(0);
}

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
