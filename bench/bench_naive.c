/* optk_bench: the "naive" section: the naive C loop of each formula (naive.c) under
 * several compilers and flags. */
#define _GNU_SOURCE
#include "naive.h"
#include "bench.h"

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

void bench_naive(void)
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
