/* Multi-threaded steps: a small pthread pool that splits one large step into
 * contiguous chunks, one per thread, the calling thread taking the first.
 *
 * Every element's update is independent of the others and every chunk gets
 * the same per-call constants, so the result is bit-identical whatever the
 * thread count.  Chunk boundaries fall on multiples of OPTK_CHUNK_GRAIN
 * elements: a multiple of 64 bytes (one cache line) of every array, whatever
 * its element size (2, 4 or 8 bytes), so no two threads write one line.
 *
 * The pool is created on the first parallel step and serves one step at a
 * time; a step that finds it busy (another user thread is stepping) runs on
 * its caller's thread alone, so optk_step stays thread-safe. */
#define _DEFAULT_SOURCE /* sysconf(_SC_NPROCESSORS_ONLN) */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "optk_internal.h"

#define OPTK_CHUNK_GRAIN 64 /* elements: 64 bytes of the narrowest (2-byte) array, times 2 */
#define OPTK_MAX_THREADS 256

/* Requested count: 0 means the default (OPTK_NUM_THREADS, else all cores). */
static int requested = 0;
static int default_threads = 0; /* resolved once */
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
/* Minimum bytes moved by one step before it is split; see optk_internal.h. */
static size_t threshold_bytes = OPTK_PARALLEL_MIN_BYTES;

static int online_cpus(void)
{
  long c = sysconf(_SC_NPROCESSORS_ONLN);
  if (c < 1)
    return 1;
  return c > OPTK_MAX_THREADS ? OPTK_MAX_THREADS : (int)c;
}

static void resolve_default(void)
{
  int n = online_cpus();
  const char *env = getenv("OPTK_NUM_THREADS");
  if (env != NULL && *env != '\0') {
    char *end;
    errno = 0;
    long v = strtol(env, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0)
      fprintf(stderr, "optkern: OPTK_NUM_THREADS=%s is not a thread count; ignored\n", env);
    else if (v > 0)
      n = v > OPTK_MAX_THREADS ? OPTK_MAX_THREADS : (int)v;
  }
  __atomic_store_n(&default_threads, n, __ATOMIC_SEQ_CST);
}

int optk_set_num_threads(int n)
{
  if (n < 0)
    return OPTK_EINVAL;
  __atomic_store_n(&requested, n > OPTK_MAX_THREADS ? OPTK_MAX_THREADS : n, __ATOMIC_SEQ_CST);
  return OPTK_OK;
}

int optk_get_num_threads(void)
{
  int r = __atomic_load_n(&requested, __ATOMIC_RELAXED);
  if (r > 0)
    return r;
  r = __atomic_load_n(&default_threads, __ATOMIC_SEQ_CST);
  if (r > 0)
    return r;
  pthread_once(&default_once, resolve_default);
  return __atomic_load_n(&default_threads, __ATOMIC_SEQ_CST);
}

size_t optk__parallel_threshold(void) { return __atomic_load_n(&threshold_bytes, __ATOMIC_SEQ_CST); }

void optk__set_parallel_threshold(size_t bytes) { __atomic_store_n(&threshold_bytes, bytes, __ATOMIC_SEQ_CST); }

/* One step's work, shared by the pool. */
struct job {
  optk_kernel_fn fn;
  size_t n, chunk; /* chunk: elements per part, a multiple of the grain */
  char *param;
  const char *grad;
  void *const *state;
  int nstate;
  size_t psize, ssize; /* bytes per element: param/grad, state */
  const void *consts;
  int nparts;
  void (*task)(void *arg, int part); /* optk__parallel_tasks: this instead of fn */
  void *arg;
  int stride; /* threads running parts: part i runs on thread i % stride */
};

static void run_part(const struct job *j, int part)
{
  size_t lo = (size_t)part * j->chunk;
  if (lo >= j->n)
    return;
  size_t len = j->n - lo < j->chunk ? j->n - lo : j->chunk;
  void *st[OPTK_MAX_STATE];
  for (int s = 0; s < j->nstate; s++)
    st[s] = (char *)j->state[s] + lo * j->ssize;
  j->fn(len, j->param + lo * j->psize, j->grad + lo * j->psize, st, j->consts);
}

static struct {
  pthread_mutex_t busy; /* held by the step using the pool */
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  unsigned long gen; /* bumped for every job */
  int nworkers;      /* threads started */
  int pending;       /* workers still on the current job */
  struct job job;
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
           PTHREAD_COND_INITIALIZER, 0, 0, 0, { 0 } };

struct worker_arg {
  int index;         /* part index this worker runs: 1..nworkers */
  unsigned long gen; /* pool.gen when it was started: it waits for the next */
};
static struct worker_arg worker_args[OPTK_MAX_THREADS];

static void *worker(void *arg)
{
  const int index = ((const struct worker_arg *)arg)->index;
  unsigned long seen = ((const struct worker_arg *)arg)->gen;
  pthread_mutex_lock(&pool.mu);
  for (;;) {
    while (pool.gen == seen)
      pthread_cond_wait(&pool.work, &pool.mu);
    seen = pool.gen;
    struct job j = pool.job;
    pthread_mutex_unlock(&pool.mu);
    if (j.task != NULL)
      for (int part = index; index < j.stride && part < j.nparts; part += j.stride)
        j.task(j.arg, part);
    else if (index < j.nparts)
      run_part(&j, index);
    pthread_mutex_lock(&pool.mu);
    if (--pool.pending == 0)
      pthread_cond_signal(&pool.done);
  }
  return NULL;
}

/* Starts workers up to want-1; returns the number of parts the pool can run
 * (1 + workers).  Called with pool.busy held. */
static int grow(int want)
{
  while (pool.nworkers + 1 < want) {
    int idx = pool.nworkers + 1;
    worker_args[idx].index = idx;
    worker_args[idx].gen = pool.gen; /* only this (busy-holding) thread bumps it */
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&th, &attr, worker, &worker_args[idx]);
    pthread_attr_destroy(&attr);
    if (err != 0)
      break;
    pthread_mutex_lock(&pool.mu);
    pool.nworkers++;
    pthread_mutex_unlock(&pool.mu);
  }
  return pool.nworkers + 1;
}

void optk__parallel_run(const optk_kernel *k, optk_kernel_fn fn, size_t n, void *param,
                        const void *grad, void *const *state, const void *consts)
{
  const size_t psize = k->dtype == OPTK_F64 ? 8 : k->dtype == OPTK_F32 ? 4 : 2;
  const size_t ssize = k->dtype == OPTK_F64 ? 8 : 4;
  const size_t bytes = n * (2 * psize + (size_t)k->nstate * ssize);
  if (bytes < __atomic_load_n(&threshold_bytes, __ATOMIC_RELAXED) || n < 2 * OPTK_CHUNK_GRAIN) {
    fn(n, param, grad, state, consts);
    return;
  }
  int threads = optk_get_num_threads();
  if (threads <= 1 || pthread_mutex_trylock(&pool.busy) != 0) {
    fn(n, param, grad, state, consts);
    return;
  }
  threads = grow(threads);
  size_t parts_max = n / OPTK_CHUNK_GRAIN;
  if ((size_t)threads > parts_max)
    threads = (int)parts_max;
  size_t chunk = (n + (size_t)threads - 1) / (size_t)threads;
  chunk = (chunk + OPTK_CHUNK_GRAIN - 1) / OPTK_CHUNK_GRAIN * OPTK_CHUNK_GRAIN;
  struct job j = { fn, n, chunk, param, grad, state, k->nstate, psize, ssize, consts, threads, NULL, NULL, 1 };
  if (threads > 1) {
    pthread_mutex_lock(&pool.mu);
    pool.job = j;
    pool.pending = pool.nworkers;
    pool.gen++;
    pthread_cond_broadcast(&pool.work);
    pthread_mutex_unlock(&pool.mu);
  }
  run_part(&j, 0);
  if (threads > 1) {
    pthread_mutex_lock(&pool.mu);
    while (pool.pending > 0)
      pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
  }
  pthread_mutex_unlock(&pool.busy);
}

void optk__parallel_tasks(int nparts, void (*task)(void *arg, int part), void *arg)
{
  int threads = nparts > 1 ? optk_get_num_threads() : 1;
  if (threads > nparts)
    threads = nparts;
  if (threads <= 1 || pthread_mutex_trylock(&pool.busy) != 0) {
    for (int part = 0; part < nparts; part++)
      task(arg, part);
    return;
  }
  threads = grow(threads);
  if (threads > nparts)
    threads = nparts;
  struct job j = { 0 };
  j.task = task;
  j.arg = arg;
  j.nparts = nparts;
  j.stride = threads;
  if (threads > 1) {
    pthread_mutex_lock(&pool.mu);
    pool.job = j;
    pool.pending = pool.nworkers;
    pool.gen++;
    pthread_cond_broadcast(&pool.work);
    pthread_mutex_unlock(&pool.mu);
  }
  for (int part = 0; part < nparts; part += threads)
    task(arg, part);
  if (threads > 1) {
    pthread_mutex_lock(&pool.mu);
    while (pool.pending > 0)
      pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
  }
  pthread_mutex_unlock(&pool.busy);
}
