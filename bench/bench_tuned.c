/* optk_bench: the "tuned" section: the tuned kernels against the default variants of a
 * second library (--default-lib). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include "bench.h"

/* When the library was built from a tuning profile (scripts/gen), the
 * default variants come from a second build of the committed generated/
 * (bench/run makes it), loaded with dlopen so that both registries live in
 * this process.  The two are timed in alternation, so drift of this shared
 * machine falls on both. */
const char *default_lib;

struct default_api {
  const optk_kernel *(*find)(const char *, optk_dtype);
  int (*init_state)(const optk_kernel *, size_t, void *const *, const double *);
  int (*step_isa)(const optk_kernel *, optk_isa, size_t, void *, const void *, void *const *, const double *,
                  int64_t);
  int (*set_num_threads)(int);
};
static struct default_api dflt;

static void default_body(void *ctx, long reps)
{
  struct step_ctx *c = ctx;
  for (long r = 0; r < reps; r++) {
    c->t = c->t % 1000 + 1;
    dflt.step_isa(c->k, c->isa, c->n, arr_p, arr_g, c->st, c->hp, c->t);
  }
}

void bench_tuned(void)
{
  void *h = dlopen(default_lib, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    fprintf(stderr, "optk_bench: cannot load the default kernels: %s\n", dlerror());
    return;
  }
  *(void **)&dflt.find = dlsym(h, "optk_find");
  *(void **)&dflt.init_state = dlsym(h, "optk_init_state");
  *(void **)&dflt.step_isa = dlsym(h, "optk_step_isa");
  *(void **)&dflt.set_num_threads = dlsym(h, "optk_set_num_threads");
  if (dflt.find == NULL || dflt.init_state == NULL || dflt.step_isa == NULL || dflt.set_num_threads == NULL) {
    fprintf(stderr, "optk_bench: %s lacks the optkern API\n", default_lib);
    return;
  }
  optk_set_num_threads(1); /* both libraries: each has its own pool */
  dflt.set_num_threads(1);
  const size_t classes[] = { 4096, 65536, (size_t)16 << 20 };
  for (size_t ki = 0; ki < optk_count(); ki++) {
    const optk_kernel *k = optk_at(ki);
    const optk_kernel *kd = dflt.find(optk_name(k), optk_dtype_of(k));
    if (!kernel_passes(k) || kd == NULL)
      continue;
    optk_dtype d = optk_dtype_of(k);
    fill(arr_p, d, nmax);
    fill(arr_g, d, nmax);
    double b = bytes_per_elem(d, optk_nstate(k));
    for (int isa = 1; isa < OPTK_ISA_COUNT; isa++) {
      if (!optk_isa_available((optk_isa)isa) || !kind_passes(2, optk_isa_name((optk_isa)isa)))
        continue;
      if (quick && isa != (int)best_isa(k) && kind_passes(2, "none"))
        continue; /* --quick: the ISA the library dispatches to, unless ISAs are named */
      fprintf(stderr, "tuned %s %s %s\n", optk_name(k), tu_dtype_name(d), optk_isa_name((optk_isa)isa));
      for (int ci = 0; ci < 3; ci++) {
        size_t n = classes[ci] > nmax ? nmax : classes[ci];
        struct step_ctx a, o;
        prepare(&a, k, n);
        a.isa = (optk_isa)isa;
        o = a;
        o.k = kd;
        double ta[3], to[3];
        for (int round = 0; round < 3; round++) {
          ta[round] = measure(step_body, &a, (double)n).med;
          to[round] = measure(default_body, &o, (double)n).med;
        }
        qsort(ta, 3, sizeof ta[0], cmp_double);
        qsort(to, 3, sizeof to[0], cmp_double);
        struct stat3 sa = { ta[1], ta[0], ta[2] }, so = { to[1], to[0], to[2] };
        row("tuned", optk_name(k), tu_dtype_name(d), optk_isa_name((optk_isa)isa), "tuned", 1, n, b, sa);
        row("tuned", optk_name(k), tu_dtype_name(d), optk_isa_name((optk_isa)isa), "default", 1, n, b, so);
      }
    }
  }
  optk_set_num_threads(0);
}
