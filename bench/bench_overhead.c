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

/* A new t on every call: the per-call constants are recomputed each time. */
static void step_new_t_body(void *ctx, long reps)
{
  struct step_ctx *c = ctx;
  for (long r = 0; r < reps; r++) {
    c->t = c->t % 1000 + 1;
    optk_step(c->k, c->n, arr_p, arr_g, c->st, c->hp, c->t);
  }
}

/* The per-call code alone (the kernel's prep: beta^t stepped on in the
 * per-thread power cache, square roots, divisions), a new t every call: the
 * part of a new t's cost that is arithmetic rather than the call. */
struct prep_ctx {
  const optk_kernel *k;
  const double *hp;
  int64_t t;
  double c[OPTK_MAX_CONSTS];
};

static void prep_new_t_body(void *ctx, long reps)
{
  struct prep_ctx *c = ctx;
  for (long r = 0; r < reps; r++) {
    c->t = c->t % 1000 + 1;
    c->k->prep(c->hp, c->t, c->c);
    __asm__ volatile("" ::: "memory");
  }
}

void bench_overhead(void)
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
    /* Interleave to share the machine's noise; keep each one's best median
     * (the new t too: the report takes its difference from optk_step's). */
    struct prep_ctx pc = { k, sc.hp, 1, { 0 } };
    struct stat3 best_d = { 1e30, 0, 0 }, best_s = { 1e30, 0, 0 }, best_nt = { 1e30, 0, 0 },
                 best_p = { 1e30, 0, 0 };
    for (int round = 0; round < 3; round++) {
      struct stat3 d = measure(direct_body, &dc, 1), s = measure(step_default_body, &sc, 1),
                   nt = measure(step_new_t_body, &sc, 1), p = measure(prep_new_t_body, &pc, 1);
      if (d.med < best_d.med)
        best_d = d;
      if (s.med < best_s.med)
        best_s = s;
      if (nt.med < best_nt.med)
        best_nt = nt;
      if (p.med < best_p.med)
        best_p = p;
    }
    row("overhead", picks[pi], "f32", optk_isa_name(isa), "direct", 1, n, 0, best_d);
    row("overhead", picks[pi], "f32", optk_isa_name(isa), "optk_step", 1, n, 0, best_s);
    row("overhead", picks[pi], "f32", optk_isa_name(isa), "optk_step-new-t", 1, n, 0, best_nt);
    row("overhead", picks[pi], "f32", optk_isa_name(isa), "prep-new-t", 1, n, 0, best_p);
    fprintf(stderr, "overhead %s f32 n=16: kernel %.1f ns, optk_step %.1f ns\n", picks[pi], best_d.med,
            best_s.med);
  }
}
