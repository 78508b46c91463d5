/* optk_bench: the "overhead" section: the per-call cost of optk_step over calling the
 * kernel directly. */
#define _GNU_SOURCE
#include "bench.h"

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

/* A new t on every call, as in training: t counts up from 1 and never goes
 * back (a t that goes back starts a product over the steps, prod() in a
 * spec, from 1 again: a resumed run's cost, not a step's).  Over the
 * section t reaches about 10^6, so the figures cover beta^t in and beyond
 * the normal range. */
static void step_new_t_body(void *ctx, long reps)
{
  struct step_ctx *c = ctx;
  for (long r = 0; r < reps; r++) {
    c->t++;
    optk_step(c->k, c->n, arr_p, arr_g, c->st, c->hp, c->t);
  }
}

/* The per-call code alone (the kernel's prep: beta^t stepped on in the
 * per-thread power cache, square roots, divisions), a new t every call: the
 * part of a new t's cost that is arithmetic rather than the call. */
struct prep_ctx {
  const optk_kernel *k;
  const double *hp;
  int64_t *t; /* the step's count, which this continues */
  double c[OPTK_MAX_CONSTS];
};

static void prep_new_t_body(void *ctx, long reps)
{
  struct prep_ctx *c = ctx;
  for (long r = 0; r < reps; r++) {
    ++*c->t;
    c->k->prep(c->hp, *c->t, c->c);
    __asm__ volatile("" ::: "memory");
  }
}

void bench_overhead(void)
{
  /* SGD (no per-call powers), Adam (two), Nadam (one base at two
   * exponents, and a product over the steps). */
  static const char *const picks[] = { "sgd", "adam", "nadam" };
  for (size_t pi = 0; pi < sizeof picks / sizeof picks[0]; pi++) {
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
    /* Interleave to share the machine's noise; keep each one's best median
     * (the new t too: the report takes its difference from optk_step's). */
    struct prep_ctx pc = { k, sc.hp, &sc.t, { 0 } };
    static const char *const variants[] = { "direct", "optk_step", "optk_step-new-t", "prep-new-t" };
    static const body_fn bodies[] = { direct_body, step_default_body, step_new_t_body, prep_new_t_body };
    void *const ctxs[] = { &dc, &sc, &sc, &pc };
    struct stat3 best[4];
    for (int round = 0; round < 3; round++)
      for (int b = 0; b < 4; b++) {
        struct stat3 m = measure(bodies[b], ctxs[b], 1);
        if (round == 0 || m.med < best[b].med)
          best[b] = m;
      }
    for (int b = 0; b < 4; b++)
      row("overhead", picks[pi], "f32", optk_isa_name(isa), variants[b], 1, n, 0, best[b]);
    fprintf(stderr, "overhead %s f32 n=16: kernel %.1f ns, optk_step %.1f ns\n", picks[pi], best[0].med,
            best[1].med);
  }
}
