/* optk_bench: the "threads" and "pool" sections: thread scaling, the pool's wake, its
 * growth patterns and the split model's inputs. */
#define _GNU_SOURCE
#include <time.h>
#include "bench.h"

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
void bench_threads(void)
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
        optk__set_split_min_part_ns(optk__split_default_ns());
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
  optk__set_split_min_part_ns(optk__split_default_ns());
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
      optk__pool_settle();
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
      optk__pool_settle();
      int beyond = 0;
      for (int w = *q; w < OPTK_MAX_THREADS; w++)
        beyond += optk__pool_wakes(w) != before[w];
      struct stat3 st = { (double)steps, (double)steps, (double)steps };
      row("pool", "adam", "f32", optk_isa_name(c.isa), name, *q, (size_t)woken, beyond, st);
      fprintf(stderr, " %d: %d woken, %d beyond;", *q, woken, beyond);
    }
    fprintf(stderr, "\n");
  }
  optk__set_split_min_part_ns(optk__split_default_ns());
  optk_set_num_threads(0);
}

/* The split model's inputs: each picked kernel's measured in-cache time per
 * element (med, ns) and the smallest step it splits in two (n). */
static void bench_model(void)
{
  /* The threshold in force: n = 1 when a tuning profile measured it. */
  const double mp = (double)optk__split_min_part_ns();
  struct stat3 ms = { mp, mp, mp };
  row("pool", "split", "-", "-", "min-part", optk_get_num_threads(), optk_tuned_min_part_ns != 0, 0, ms);
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
    size_t n2 = ns > 0 ? (size_t)(2.0 * (double)optk__split_min_part_ns() / ns) : 0;
    struct stat3 st = { ns, ns, ns };
    row("pool", picks[pi][0], picks[pi][1], optk_isa_name(isa), "model-cost", 2, n2,
        bytes_per_elem(d, optk_nstate(k)), st);
    fprintf(stderr, "model %s %s: %.3f ns/elem in cache, split in two from %zu elements\n", picks[pi][0],
            picks[pi][1], ns, n2);
  }
}

void bench_pool(void)
{
  fill(arr_p, OPTK_F32, 1u << 20);
  fill(arr_g, OPTK_F32, 1u << 20);
  bench_model();
  if (ncores > 1)
    bench_wake();
  bench_growth();
}
