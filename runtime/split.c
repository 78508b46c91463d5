/* Into how many parts a step is split.  Splitting pays when the time it
 * saves, t1 (1 - 1/p) for a step that takes t1 on one thread, exceeds what
 * waking p - 1 workers and waiting for them costs.  So every part must hold
 * at least a minimum of work, measured in nanoseconds of one thread's time:
 * p = min(requested, t1 / min_part), and t1 = n x the kernel's time per
 * element.
 *
 * That time per element is the kernel's compute per byte made concrete on
 * this machine: it is measured once per kernel function, the first time a
 * step of it is large enough to be a candidate, by timing the kernel on
 * in-cache scratch arrays (a few microseconds).  In cache is the kernel's
 * fastest, so t1 is never overestimated: a step whose arrays come from
 * memory takes longer and only gains more from its parts.  On the Zen VM
 * this was written on, Adam f32 (AVX-512) measures 0.11 ns per element and
 * is split in two from about 180 Ki elements, SGD f32 0.024 ns and 800 Ki
 * (bench/run's pool table shows them for the machine it runs on).
 *
 * The minimum per part (OPTK_SPLIT_MIN_PART_NS) is ten microseconds: ten
 * times a wake of spinning workers on 2 and on 16 cores, and about the wake
 * of sleeping ones, so a split never costs more than it saves by much even
 * when the workers slept. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 (musl) */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "optk_internal.h"

/* The threshold in force: the tuning profile's where the build has one
 * (optk_tuned_min_part_ns, measured by optgen tune on its CPU), else the
 * default; ULONG_MAX until set. */
static unsigned long optk_min_part_ns = ULONG_MAX;

void optk__set_split_min_part_ns(unsigned long ns) { __atomic_store_n(&optk_min_part_ns, ns, __ATOMIC_RELAXED); }

unsigned long optk__split_default_ns(void)
{
  return optk_tuned_min_part_ns != 0 ? optk_tuned_min_part_ns : OPTK_SPLIT_MIN_PART_NS;
}

unsigned long optk__split_min_part_ns(void)
{
  const unsigned long v = __atomic_load_n(&optk_min_part_ns, __ATOMIC_RELAXED);
  return v != ULONG_MAX ? v : optk__split_default_ns();
}

/* The measured time per element of each kernel function, in an
 * open-addressed table keyed by the function's address.  Readers take no
 * lock: an entry's ns is written before its key is published. */
#define OPTK_COST_SLOTS 512 /* a power of two above every kernel of every ISA */
static struct {
  uintptr_t fn;
  float ns;
} optk_costs[OPTK_COST_SLOTS];
static pthread_mutex_t optk_cost_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t optk_cost_slot(uintptr_t key) { return (size_t)((key >> 4) * 0x9e3779b97f4a7c15ull >> 55) % OPTK_COST_SLOTS; }

/* The scratch arrays the kernels are timed on: in L1 or L2 (1024 elements
 * of every array), filled with 1.0 so that no value is subnormal, infinite
 * or NaN, and none becomes so within the few calls timed. */
#define OPTK_CAL_N 1024
static double optk_cal[2 + OPTK_MAX_STATE][OPTK_CAL_N] __attribute__((aligned(64)));

static double optk_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* 1.0 in storage type d.  A switch without default: a storage type added to
 * the list and not here fails the build (-Wswitch). */
static void optk_cal_fill(void *a, optk_dtype d)
{
  for (size_t i = 0; i < OPTK_CAL_N; i++) {
    switch (d) {
    case OPTK_F64:
      ((double *)a)[i] = 1.0;
      break;
    case OPTK_F32:
      ((float *)a)[i] = 1.0f;
      break;
    case OPTK_BF16:
      ((uint16_t *)a)[i] = 0x3f80;
      break;
    case OPTK_F16:
      ((uint16_t *)a)[i] = 0x3c00;
      break;
    }
  }
}

/* ns per element, the fastest of a few timed runs; called with optk_cost_mu held. */
static float optk_calibrate(const optk_kernel *k, optk_kernel_fn fn, const void *consts)
{
  const optk_dtype sd = optk__compute_type(k->dtype);
  void *st[OPTK_MAX_STATE];
  optk_cal_fill(optk_cal[0], k->dtype);
  optk_cal_fill(optk_cal[1], k->dtype);
  for (int s = 0; s < k->nstate + k->nscratch; s++) { /* a two-phase kernel's scratch follows the state */
    optk_cal_fill(optk_cal[2 + s], sd);
    st[s] = optk_cal[2 + s];
  }
  fn(OPTK_CAL_N, optk_cal[0], optk_cal[1], st, consts); /* warm the code and the lines */
  double best = 1e30;
  for (int r = 0; r < 5; r++) {
    double t0 = optk_now_ns();
    fn(OPTK_CAL_N, optk_cal[0], optk_cal[1], st, consts);
    fn(OPTK_CAL_N, optk_cal[0], optk_cal[1], st, consts);
    double t = (optk_now_ns() - t0) / (2.0 * OPTK_CAL_N);
    if (t < best)
      best = t;
  }
  return best > 0.001 ? (float)best : 0.001f;
}

/* The kernel function's time per element, measured on first use; a
 * negative value while another thread measures. */
static float optk_cost(const optk_kernel *k, optk_kernel_fn fn, const void *consts)
{
  const uintptr_t key = (uintptr_t)fn;
  size_t i = optk_cost_slot(key);
  for (size_t probe = 0; probe < OPTK_COST_SLOTS; probe++, i = (i + 1) % OPTK_COST_SLOTS) {
    uintptr_t f = __atomic_load_n(&optk_costs[i].fn, __ATOMIC_ACQUIRE);
    if (f == key)
      return optk_costs[i].ns;
    if (f == 0)
      break;
  }
  if (pthread_mutex_trylock(&optk_cost_mu) != 0)
    return -1;
  float ns = -1;
  i = optk_cost_slot(key);
  for (size_t probe = 0; probe < OPTK_COST_SLOTS; probe++, i = (i + 1) % OPTK_COST_SLOTS) {
    uintptr_t f = __atomic_load_n(&optk_costs[i].fn, __ATOMIC_ACQUIRE);
    if (f == key) {
      ns = optk_costs[i].ns;
      break;
    }
    if (f == 0) {
      ns = optk_calibrate(k, fn, consts);
      optk_costs[i].ns = ns;
      __atomic_store_n(&optk_costs[i].fn, key, __ATOMIC_RELEASE);
      break;
    }
  }
  pthread_mutex_unlock(&optk_cost_mu);
  return ns;
}

void optk__split_atfork_child(void)
{
  /* Another thread of the parent may have been measuring. */
  pthread_mutex_init(&optk_cost_mu, NULL);
}

float optk__split_cost(const optk_kernel *k, optk_kernel_fn fn, const void *consts)
{
  return optk_cost(k, fn, consts);
}

int optk__split_parts(const optk_kernel *k, optk_kernel_fn fn, size_t n, const void *consts, int want)
{
  const size_t most = n / OPTK_CHUNK_GRAIN; /* parts of at least one grain */
  if ((size_t)want > most)
    want = (int)most;
  if (want <= 1)
    return 1;
  const double min_part = (double)optk__split_min_part_ns();
  if (min_part == 0)
    return want;
  /* Too small to fill two parts even at the slowest plausible cost: no
   * need to measure the kernel. */
  if ((double)n * OPTK_SPLIT_MAX_NS_PER_ELEM < 2 * min_part)
    return 1;
  const float ns = optk_cost(k, fn, consts);
  if (ns <= 0)
    return 1;
  const double parts = (double)n * ns / min_part;
  return parts < 2 ? 1 : parts >= want ? want : (int)parts;
}
