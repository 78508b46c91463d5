/* optk_bench: the "ceiling" and "stream" sections: the same-run memory ceilings, a
 * copy-like loop over each kernel's arrays and STREAM copy and triad (one
 * thread and all cores). */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include "bench.h"

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

void bench_ceilings(void)
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

void bench_stream(void)
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
