/* optk_bench: the "kernel" section: every kernel through optk_step_isa at every size,
 * one thread. */
#define _GNU_SOURCE
#include "bench.h"

void step_body(void *ctx, long reps)
{
  struct step_ctx *c = ctx;
  for (long r = 0; r < reps; r++) {
    c->t = c->t % 1000 + 1;
    optk_step_isa(c->k, c->isa, c->n, arr_p, arr_g, c->st, c->hp, c->t);
  }
}

void prepare(struct step_ctx *c, const optk_kernel *k, size_t n)
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

optk_isa best_isa(const optk_kernel *k)
{
  optk_isa best = OPTK_ISA_SCALAR;
  for (int i = 0; i < OPTK_ISA_COUNT; i++)
    if (optk_isa_available((optk_isa)i) && k->impl[i] != NULL && i > (int)best)
      best = (optk_isa)i;
  return best;
}

void bench_kernels(void)
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
