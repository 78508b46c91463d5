/* optk_bench: the "vendor" section: vendored kernels with baked hyperparameters
 * against unbaked ones. */
#define _GNU_SOURCE
/* Two vendored copies that build.ninja writes: a_ as it is, b_ with
 * hyperparameters baked (tests/vendor_baked.h). */
#include "a_optk.h"
#include "b_optk.h"
#include "vendor_baked.h"
#include "bench.h"


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

void bench_baked(void)
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
