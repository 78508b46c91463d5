/* Multi-threaded steps: a pthread pool that splits one large step into
 * contiguous chunks, one per thread, the calling thread taking the first.
 *
 * Every element's update is independent of the others and every chunk gets
 * the same per-call constants, so the result is bit-identical whatever the
 * thread count.  Chunk boundaries fall on multiples of OPTK_CHUNK_GRAIN
 * elements: a multiple of 64 bytes (one cache line) of every array, whatever
 * its element size (2, 4 or 8 bytes), so no two threads write one line.
 * How many parts a step gets is split.c's decision.
 *
 * A step split into p parts wakes workers 1..p-1 and no other: each worker
 * waits on its own slot, and the step stores a new job generation into the
 * slots it uses.  An idle worker spins on its slot for a short while
 * (OPTK_SPIN_NS, as OpenMP runtimes do) before it sleeps on its condition
 * variable, so that back-to-back steps (a model's tensors, one after the
 * other) cost a cache-line transfer per worker rather than a futex wake-up;
 * the caller waits for the last part the same way.  Whether to signal a
 * sleeper is decided by the pair (store go, load sleeping) against the
 * worker's (store sleeping, load go), both sequentially consistent, so that
 * one of the two always sees the other.
 *
 * The pool serves one step at a time; a step that finds it busy (another
 * user thread is stepping) runs on its caller's thread alone, so optk_step
 * stays thread-safe.  Life cycle:
 *  - a failed pthread_create leaves the pool at the workers it has, and is
 *    not tried again until optk_set_num_threads() is called;
 *  - fork: the child has none of the parent's workers, so the child handler
 *    forgets them (the prepare handler holds the pool, so no step is half
 *    done in the parent's copy) and the child's first large step starts its
 *    own;
 *  - unloading (dlclose, or exit): a destructor stops and joins the workers
 *    before their code is unmapped;
 *  - cancellation is disabled across a pooled step, whose waits are
 *    cancellation points: a caller cancelled there would leave the pool
 *    locked and its parts unfinished. */
#define _GNU_SOURCE /* pthread_sigmask under -std=c11 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "optk_internal.h"

/* Requested count: 0 means the default (cpucount.c). */
static int optk_requested = 0;
static int optk_default_count = 0; /* resolved once */
static pthread_once_t optk_default_once = PTHREAD_ONCE_INIT;
static unsigned long optk_spin_ns = OPTK_SPIN_NS;

/* Cleared by optk_set_num_threads: a new request may try pthread_create again. */
static int optk_create_failed = 0;

static void optk_resolve_default(void)
{
  /* Reading the cgroup files has cancellation points; the once must finish. */
  int cancel;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
  __atomic_store_n(&optk_default_count, optk__default_threads(OPTK_MAX_THREADS), __ATOMIC_SEQ_CST);
  pthread_setcancelstate(cancel, NULL);
}

int optk_set_num_threads(int n)
{
  if (n < 0)
    return OPTK_EINVAL;
  __atomic_store_n(&optk_requested, n > OPTK_MAX_THREADS ? OPTK_MAX_THREADS : n, __ATOMIC_SEQ_CST);
  __atomic_store_n(&optk_create_failed, 0, __ATOMIC_SEQ_CST);
  return OPTK_OK;
}

int optk_get_num_threads(void)
{
  int r = __atomic_load_n(&optk_requested, __ATOMIC_RELAXED);
  if (r > 0)
    return r;
  r = __atomic_load_n(&optk_default_count, __ATOMIC_SEQ_CST);
  if (r > 0)
    return r;
  pthread_once(&optk_default_once, optk_resolve_default);
  return __atomic_load_n(&optk_default_count, __ATOMIC_SEQ_CST);
}

void optk__set_spin_ns(unsigned long ns) { __atomic_store_n(&optk_spin_ns, ns, __ATOMIC_RELAXED); }

/* One step's work, shared by the pool. */
struct optk_job {
  optk_kernel_fn fn;
  size_t n, chunk; /* chunk: elements per part, a multiple of the grain */
  char *param;
  const char *grad;
  void *const *state;
  int nstate;
  size_t psize, ssize; /* bytes per element: param/grad, state */
  const void *consts;
  void (*task)(void *arg, int part); /* optk__parallel_tasks: a part is task(arg, part) */
  void *arg;
};

static void optk_run_part(const struct optk_job *j, int part)
{
  if (j->task != NULL) {
    j->task(j->arg, part);
    return;
  }
  size_t lo = (size_t)part * j->chunk;
  if (lo >= j->n)
    return;
  size_t len = j->n - lo < j->chunk ? j->n - lo : j->chunk;
  void *st[OPTK_MAX_STATE];
  for (int s = 0; s < j->nstate; s++)
    st[s] = (char *)j->state[s] + lo * j->ssize;
  j->fn(len, j->param + lo * j->psize, j->grad + lo * j->psize, st, j->consts);
}

/* One worker's slot, on cache lines of its own. */
struct optk_slot {
  unsigned long go;    /* generation of the job to run, stored by the step */
  int sleeping;        /* the worker waits on cv */
  int quit;            /* set by the destructor */
  unsigned long taken; /* the last generation whose part i was claimed, by the worker or the step */
  unsigned long born;  /* the generation current when it was started */
  unsigned long seen;  /* the last generation it saw */
  unsigned long wakes; /* jobs it was woken for, for tests and the bench */
  unsigned long runs;  /* parts it ran */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t th;
} __attribute__((aligned(64)));

/* Slot i serves part i; slot 0 (the caller's part) is unused. */
static struct optk_slot optk_slots[OPTK_MAX_THREADS];

static struct {
  pthread_mutex_t busy; /* held by the step using the pool */
  int nworkers;         /* workers started: slots 1..nworkers */
  unsigned long gen;    /* bumped for every job */
  struct optk_job job;
  unsigned fpflags; /* floating-point exception flags raised on the workers */
  int remaining __attribute__((aligned(64))); /* parts not yet done */
  int waiting;                                /* the step sleeps on done_cv */
  pthread_mutex_t done_mu;
  pthread_cond_t done_cv;
} optk_pool = { .busy = PTHREAD_MUTEX_INITIALIZER,
                .done_mu = PTHREAD_MUTEX_INITIALIZER,
                .done_cv = PTHREAD_COND_INITIALIZER };

static void optk_relax(void)
{
#if OPTK_ARCH_X86_64
  __builtin_ia32_pause();
#elif OPTK_ARCH_AARCH64
  __asm__ volatile("yield" ::: "memory");
#endif
}

static double optk_clock_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Spin state.  The first microseconds spin on pause (a wake then costs a
 * cache-line transfer); the rest of the budget yields the CPU between looks,
 * so that on a machine with more runnable threads than cores the thread
 * being waited for gets to run.  The clock is read every 64 rounds.
 * Returns 0 once the budget is spent. */
struct optk_spin {
  unsigned rounds;
  int yielding;
  double start;
};

#define OPTK_PURE_SPIN_NS 2000.0

static int optk_spin_more(struct optk_spin *sp)
{
  if (sp->yielding) {
    sched_yield();
  } else {
    optk_relax();
    if ((++sp->rounds & 63) != 0)
      return 1;
  }
  double t = optk_clock_ns();
  if (sp->start == 0)
    sp->start = t;
  double spent = t - sp->start;
  if (spent >= OPTK_PURE_SPIN_NS)
    sp->yielding = 1;
  return spent < (double)__atomic_load_n(&optk_spin_ns, __ATOMIC_RELAXED);
}

/* Waits until the slot's generation leaves seen; returns it (seen on quit). */
static unsigned long optk_await_job(struct optk_slot *s, unsigned long seen)
{
  struct optk_spin sp = { 0, 0, 0 };
  unsigned long g;
  while ((g = __atomic_load_n(&s->go, __ATOMIC_ACQUIRE)) == seen) {
    if (__atomic_load_n(&s->quit, __ATOMIC_ACQUIRE) || !optk_spin_more(&sp))
      break;
  }
  if (g != seen)
    return g;
  pthread_mutex_lock(&s->mu);
  __atomic_store_n(&s->sleeping, 1, __ATOMIC_SEQ_CST);
  while ((g = __atomic_load_n(&s->go, __ATOMIC_SEQ_CST)) == seen && !__atomic_load_n(&s->quit, __ATOMIC_SEQ_CST))
    pthread_cond_wait(&s->cv, &s->mu);
  __atomic_store_n(&s->sleeping, 0, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(&s->mu);
  return g;
}

/* Claims part i (slot s) of job gen for the caller; 0 if taken already.
 * The step takes the parts of workers that have not started theirs when it
 * has done its own (a worker asleep, or waiting for a core), so a step is
 * never held up by a worker that is late to wake.  Whichever thread runs a
 * part, the bits are the same. */
static int optk_claim(struct optk_slot *s, unsigned long gen)
{
  unsigned long t = __atomic_load_n(&s->taken, __ATOMIC_ACQUIRE);
  while (t < gen)
    if (__atomic_compare_exchange_n(&s->taken, &t, gen, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return 1;
  return 0;
}

static void optk_part_done(void)
{
  if (__atomic_sub_fetch(&optk_pool.remaining, 1, __ATOMIC_SEQ_CST) == 0 &&
      __atomic_load_n(&optk_pool.waiting, __ATOMIC_SEQ_CST)) {
    pthread_mutex_lock(&optk_pool.done_mu);
    pthread_cond_signal(&optk_pool.done_cv);
    pthread_mutex_unlock(&optk_pool.done_mu);
  }
}

static void *optk_worker(void *arg)
{
  struct optk_slot *s = arg;
  const int index = (int)(s - optk_slots);
  unsigned long seen = s->born;
  for (;;) {
    unsigned long g = optk_await_job(s, seen);
    if (g == seen)
      return NULL; /* quit */
    seen = g;
    __atomic_store_n(&s->seen, g, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->wakes, 1, __ATOMIC_RELAXED);
    if (!optk_claim(s, g))
      continue; /* the step ran this part itself */
    struct optk_job j = optk_pool.job; /* current: the step waits for this part */
    optk__fpenv_worker_begin();
    optk_run_part(&j, index);
    unsigned flags = optk__fpenv_worker_flags();
    if (flags != 0)
      __atomic_fetch_or(&optk_pool.fpflags, flags, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->runs, 1, __ATOMIC_RELAXED);
    optk_part_done();
  }
}

/* fork: see the head of the file. */
static void optk_atfork_prepare(void) { pthread_mutex_lock(&optk_pool.busy); }
static void optk_atfork_parent(void) { pthread_mutex_unlock(&optk_pool.busy); }
static void optk_atfork_child(void)
{
  __atomic_store_n(&optk_pool.nworkers, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&optk_create_failed, 0, __ATOMIC_SEQ_CST);
  /* A parent worker may have held these when the parent forked. */
  pthread_mutex_init(&optk_pool.done_mu, NULL);
  pthread_cond_init(&optk_pool.done_cv, NULL);
  optk__split_atfork_child();
  pthread_mutex_unlock(&optk_pool.busy);
}
static pthread_once_t optk_atfork_once = PTHREAD_ONCE_INIT;
static void optk_register_atfork(void)
{
  pthread_atfork(optk_atfork_prepare, optk_atfork_parent, optk_atfork_child);
}

/* Starts workers up to slot want.  Called with the pool held. */
static void optk_grow(int want)
{
  if (__atomic_load_n(&optk_create_failed, __ATOMIC_SEQ_CST))
    return;
  pthread_once(&optk_atfork_once, optk_register_atfork);
  /* Workers start with every signal blocked: the program's handlers run on
   * its own threads. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  while (optk_pool.nworkers < want) {
    struct optk_slot *s = &optk_slots[optk_pool.nworkers + 1];
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->go = s->born = s->taken = s->seen = optk_pool.gen;
    s->sleeping = 0;
    s->quit = 0;
    if (pthread_create(&s->th, NULL, optk_worker, s) != 0) {
      pthread_cond_destroy(&s->cv);
      pthread_mutex_destroy(&s->mu);
      __atomic_store_n(&optk_create_failed, 1, __ATOMIC_SEQ_CST);
      break;
    }
    __atomic_store_n(&optk_pool.nworkers, optk_pool.nworkers + 1, __ATOMIC_SEQ_CST);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Unloading: stop and join the workers while their code is still mapped. */
__attribute__((destructor)) static void optk_pool_stop(void)
{
  pthread_mutex_lock(&optk_pool.busy);
  const int nw = optk_pool.nworkers;
  for (int i = 1; i <= nw; i++) {
    struct optk_slot *s = &optk_slots[i];
    __atomic_store_n(&s->quit, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&s->mu);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
  }
  for (int i = 1; i <= nw; i++) {
    pthread_join(optk_slots[i].th, NULL);
    pthread_cond_destroy(&optk_slots[i].cv);
    pthread_mutex_destroy(&optk_slots[i].mu);
  }
  __atomic_store_n(&optk_pool.nworkers, 0, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(&optk_pool.busy);
}

int optk__pool_workers(void) { return __atomic_load_n(&optk_pool.nworkers, __ATOMIC_SEQ_CST); }

int optk__pool_settled(void)
{
  for (int i = 1; i <= optk__pool_workers(); i++)
    if (__atomic_load_n(&optk_slots[i].seen, __ATOMIC_SEQ_CST) != __atomic_load_n(&optk_slots[i].go, __ATOMIC_SEQ_CST))
      return 0;
  return 1;
}

/* Waits (up to 2 s, polling every 0.1 ms) until every worker has seen its
 * last wake: workers woken late by the last step may still arrive. */
int optk__pool_settle(void)
{
  for (int i = 0; i < 20000 && !optk__pool_settled(); i++) {
    struct timespec ts = { 0, 100000 };
    nanosleep(&ts, NULL);
  }
  return optk__pool_settled();
}

unsigned long optk__pool_wakes(int worker)
{
  return worker >= 1 && worker < OPTK_MAX_THREADS ? __atomic_load_n(&optk_slots[worker].wakes, __ATOMIC_SEQ_CST) : 0;
}

unsigned long optk__pool_runs(int worker)
{
  return worker >= 1 && worker < OPTK_MAX_THREADS ? __atomic_load_n(&optk_slots[worker].runs, __ATOMIC_SEQ_CST) : 0;
}

/* The pooled step: parts > 1, the pool held. */
static unsigned optk_pooled(const struct optk_job *j, int parts)
{
  optk_pool.job = *j;
  __atomic_store_n(&optk_pool.fpflags, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&optk_pool.waiting, 0, __ATOMIC_SEQ_CST); /* a late reader of the last job's may see either */
  __atomic_store_n(&optk_pool.remaining, parts - 1, __ATOMIC_RELAXED);
  const unsigned long gen = ++optk_pool.gen;
  /* Spinning workers start at this store; sleeping ones are signalled after. */
  for (int i = 1; i < parts; i++)
    __atomic_store_n(&optk_slots[i].go, gen, __ATOMIC_SEQ_CST);
  for (int i = 1; i < parts; i++) {
    struct optk_slot *s = &optk_slots[i];
    if (__atomic_load_n(&s->sleeping, __ATOMIC_SEQ_CST)) {
      pthread_mutex_lock(&s->mu);
      pthread_cond_signal(&s->cv);
      pthread_mutex_unlock(&s->mu);
    }
  }
  optk_run_part(j, 0);
  for (int i = parts - 1; i >= 1; i--)
    if (optk_claim(&optk_slots[i], gen)) {
      optk_run_part(j, i);
      optk_part_done();
    }
  struct optk_spin sp = { 0, 0, 0 };
  while (__atomic_load_n(&optk_pool.remaining, __ATOMIC_ACQUIRE) != 0) {
    if (!optk_spin_more(&sp)) {
      pthread_mutex_lock(&optk_pool.done_mu);
      __atomic_store_n(&optk_pool.waiting, 1, __ATOMIC_SEQ_CST);
      while (__atomic_load_n(&optk_pool.remaining, __ATOMIC_SEQ_CST) != 0)
        pthread_cond_wait(&optk_pool.done_cv, &optk_pool.done_mu);
      pthread_mutex_unlock(&optk_pool.done_mu);
      break;
    }
  }
  return __atomic_load_n(&optk_pool.fpflags, __ATOMIC_RELAXED);
}

unsigned optk__parallel_run(const optk_kernel *k, optk_kernel_fn fn, size_t n, void *param, const void *grad,
                            void *const *state, const void *consts)
{
  int parts = 1;
  if (n >= 2 * OPTK_CHUNK_GRAIN) {
    int want = optk_get_num_threads();
    if (want > 1)
      parts = optk__split_parts(k, fn, n, consts, want);
  }
  if (parts <= 1 || pthread_mutex_trylock(&optk_pool.busy) != 0) {
    fn(n, param, grad, state, consts);
    return 0;
  }
  int cancel;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
  if (parts - 1 > optk_pool.nworkers)
    optk_grow(parts - 1);
  if (parts > optk_pool.nworkers + 1)
    parts = optk_pool.nworkers + 1;
  const size_t psize = optk__dtype_bytes(k->dtype);
  const size_t ssize = optk__compute_bytes(k->dtype);
  size_t chunk = (n + (size_t)parts - 1) / (size_t)parts;
  chunk = (chunk + OPTK_CHUNK_GRAIN - 1) / OPTK_CHUNK_GRAIN * OPTK_CHUNK_GRAIN;
  parts = (int)((n + chunk - 1) / chunk); /* rounding up the chunk may leave the last parts empty */
  struct optk_job j = { fn, n, chunk, param, grad, state, k->nstate, psize, ssize, consts, NULL, NULL };
  unsigned flags = 0;
  if (parts > 1)
    flags = optk_pooled(&j, parts);
  else
    optk_run_part(&j, 0);
  pthread_mutex_unlock(&optk_pool.busy);
  pthread_setcancelstate(cancel, NULL);
  return flags;
}

unsigned optk__parallel_tasks(int nparts, void (*task)(void *arg, int part), void *arg)
{
  if (nparts <= 1 || pthread_mutex_trylock(&optk_pool.busy) != 0) {
    for (int p = 0; p < nparts; p++)
      task(arg, p);
    return 0;
  }
  int cancel;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
  if (nparts - 1 > optk_pool.nworkers)
    optk_grow(nparts - 1);
  int parts = nparts > optk_pool.nworkers + 1 ? optk_pool.nworkers + 1 : nparts;
  struct optk_job j;
  memset(&j, 0, sizeof j);
  j.task = task;
  j.arg = arg;
  unsigned flags = 0;
  if (parts > 1)
    flags = optk_pooled(&j, parts);
  else
    task(arg, 0);
  /* Fewer workers than parts (a thread could not be created): the caller
   * runs the rest; which thread runs a part changes no bits. */
  for (int p = parts; p < nparts; p++)
    task(arg, p);
  pthread_mutex_unlock(&optk_pool.busy);
  pthread_setcancelstate(cancel, NULL);
  return flags;
}
