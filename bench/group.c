/* optk_group_bench: the whole training step of a transformer-shaped model,
 * optk_step_group against what a framework runs.  bench/run appends its CSV
 * rows (optk_bench's format, section "group") to bench/out/results.csv.
 *
 *   optk_group_bench [--quick] [--threads N]
 *
 * The model: 12 blocks of width 256 (qkv 256x768 and its bias, the output
 * projection 256x256 and bias, two LayerNorms, the MLP 256x1024 and
 * 1024x256 with biases) plus an 8192 x 256 embedding and a final LayerNorm:
 * 11.6 M parameters in 147 tensors, 185 MB of f32 param, grad and Adam state,
 * far beyond any cache.  Loss scaling (2^-10) and clipping (max norm 1) on.
 *
 * Variants (rows' "variant"; ns per parameter, median of samples):
 *   group        one optk_step_group call: the norm pass, then the update
 *   passes       as a framework: unscale g in place, check for Inf/NaN,
 *                the norm (a double sum per tensor), clip g in place, then
 *                optk_step on every tensor
 *   group_plain  optk_step_group without options (no norm pass)
 *   steps_plain  optk_step on every tensor, no passes
 * Before every sample the gradients are restored from a pristine copy and
 * the caches flushed, outside the timed region, so that every sample steps
 * the same values from memory.
 *
 * Also the per-tensor overhead: 150 tensors of 256 elements against one
 * tensor of 150 * 256, in cache, with and without options ("overhead" rows,
 * ns per tensor in ns_med). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "optk_internal.h"

#define MAXT 160

static double now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

struct model {
  size_t count, total;
  size_t n[MAXT];
  float *p[MAXT], *g[MAXT], *g0[MAXT], *m[MAXT], *v[MAXT];
  void *state[MAXT][2];
  optk_tensor ts[MAXT];
};

static void add(struct model *md, size_t n)
{
  const size_t i = md->count++;
  md->n[i] = n;
  md->total += n;
}

static float *falloc(size_t n)
{
  float *a = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
  if (a == NULL) {
    perror("aligned_alloc");
    exit(1);
  }
  return a;
}

static void build(struct model *md)
{
  memset(md, 0, sizeof *md);
  const size_t d = 256, ff = 1024;
  add(md, 8192 * d); /* embedding */
  for (int b = 0; b < 12; b++) {
    add(md, d * 3 * d);
    add(md, 3 * d);
    add(md, d * d);
    add(md, d);
    add(md, d); /* LayerNorm 1 */
    add(md, d);
    add(md, d * ff);
    add(md, ff);
    add(md, ff * d);
    add(md, d);
    add(md, d); /* LayerNorm 2 */
    add(md, d);
  }
  add(md, d); /* final LayerNorm */
  add(md, d);
  unsigned long long r = 88172645463325252ull;
  for (size_t t = 0; t < md->count; t++) {
    const size_t n = md->n[t];
    md->p[t] = falloc(n);
    md->g[t] = falloc(n);
    md->g0[t] = falloc(n);
    md->m[t] = falloc(n);
    md->v[t] = falloc(n);
    for (size_t i = 0; i < n; i++) {
      r ^= r << 13, r ^= r >> 7, r ^= r << 17;
      const double u = (double)(r >> 11) * 0x1p-53 - 0.5;
      md->p[t][i] = (float)(u * 0.1);
      md->g0[t][i] = (float)(u * 1e-3 * 1024); /* scaled by the loss scale */
      md->m[t][i] = 0;
      md->v[t][i] = 0;
    }
    memcpy(md->g[t], md->g0[t], n * sizeof(float));
    md->state[t][0] = md->m[t];
    md->state[t][1] = md->v[t];
    md->ts[t] = (optk_tensor){ n, md->p[t], md->g[t], md->state[t], NULL };
  }
}

/* ---- the framework's passes ------------------------------------------------ */

static void scale_pass(struct model *md, float s)
{
  for (size_t t = 0; t < md->count; t++)
    for (size_t i = 0; i < md->n[t]; i++)
      md->g[t][i] *= s;
}

static int finite_pass(const struct model *md)
{
  int bad = 0;
  for (size_t t = 0; t < md->count; t++)
    for (size_t i = 0; i < md->n[t]; i++)
      bad |= !(fabsf(md->g[t][i]) <= 3.4028235e38f);
  return !bad;
}

static double norm_pass(const struct model *md)
{
  double total = 0;
  for (size_t t = 0; t < md->count; t++) {
    double s = 0;
    for (size_t i = 0; i < md->n[t]; i++)
      s += (double)md->g[t][i] * md->g[t][i];
    total += s;
  }
  return sqrt(total);
}

/* ---- variants ------------------------------------------------------------ */

struct ctx {
  struct model *md;
  const optk_kernel *k;
  double hp[8];
  int64_t t;
};

static const double loss_scale = 1024.0, max_norm = 1.0;

static void run_group(struct ctx *c)
{
  const optk_group_opts o = { 1.0 / loss_scale, max_norm, 1, 0 };
  optk_group_result r;
  if (optk_step_group(c->k, c->md->count, c->md->ts, c->hp, c->t++, &o, &r) != OPTK_OK)
    abort();
}

static void run_group_plain(struct ctx *c)
{
  if (optk_step_group(c->k, c->md->count, c->md->ts, c->hp, c->t++, NULL, NULL) != OPTK_OK)
    abort();
}

static void run_steps(struct ctx *c)
{
  for (size_t t = 0; t < c->md->count; t++)
    optk_step(c->k, c->md->n[t], c->md->p[t], c->md->g[t], c->md->state[t], c->hp, c->t);
  c->t++;
}

static void run_passes(struct ctx *c)
{
  scale_pass(c->md, (float)(1.0 / loss_scale));
  if (!finite_pass(c->md))
    return;
  const double norm = norm_pass(c->md);
  const double coef = max_norm / (norm + 1e-6);
  scale_pass(c->md, (float)(coef < 1 ? coef : 1.0));
  run_steps(c);
}

static float *flush_buf;
static size_t flush_n;

static void restore(struct model *md)
{
  for (size_t t = 0; t < md->count; t++)
    memcpy(md->g[t], md->g0[t], md->n[t] * sizeof(float));
  /* a pass over a buffer twice the last-level cache pushes the model out */
  for (size_t i = 0; i < flush_n; i++)
    flush_buf[i] += 1.0f;
}

static void measure_model(struct ctx *c, const char *variant, void (*fn)(struct ctx *), double bytes,
                          int threads, int nsamples)
{
  double s[64];
  optk_set_num_threads(threads);
  restore(c->md);
  fn(c); /* warm-up: the pool, page faults */
  for (int i = 0; i < nsamples; i++) {
    restore(c->md);
    const double t0 = now_ns();
    fn(c);
    s[i] = (now_ns() - t0) / (double)c->md->total;
  }
  qsort(s, (size_t)nsamples, sizeof s[0], cmp_double);
  printf("group,%s,f32,%s,%s,%d,%zu,%g,%.6g,%.6g,%.6g\n", optk_name(c->k), optk_isa_name(optk_active_isa()),
         variant, threads, c->md->total, bytes, s[nsamples / 2], s[0], s[nsamples - 1]);
  fflush(stdout);
}

/* ---- per-tensor overhead ------------------------------------------------------ */

static double time_calls(const optk_kernel *k, size_t count, const optk_tensor *ts, const double *hp,
                         const optk_group_opts *o, int nsamples)
{
  double s[64];
  optk_group_result r;
  for (int i = 0; i < nsamples; i++) {
    const int reps = 200;
    const double t0 = now_ns();
    for (int j = 0; j < reps; j++)
      optk_step_group(k, count, ts, hp, 1 + j, o, o ? &r : NULL);
    s[i] = (now_ns() - t0) / reps;
  }
  qsort(s, (size_t)nsamples, sizeof s[0], cmp_double);
  return s[nsamples / 2];
}

static void overhead(const optk_kernel *k, const double *hp, int nsamples)
{
  enum { T = 150, N = 256 };
  float *p = falloc(T * N), *g = falloc(T * N), *m = falloc(T * N), *v = falloc(T * N);
  for (size_t i = 0; i < T * N; i++) {
    p[i] = 0.5f;
    g[i] = 1e-3f * (float)(i % 97);
    m[i] = v[i] = 0;
  }
  static void *st[T][2];
  static optk_tensor many[T];
  for (int t = 0; t < T; t++) {
    st[t][0] = m + t * N;
    st[t][1] = v + t * N;
    many[t] = (optk_tensor){ N, p + t * N, g + t * N, st[t], NULL };
  }
  void *st1[2] = { m, v };
  const optk_tensor one = { T * N, p, g, st1, NULL };
  const optk_group_opts o = { 1.0 / 1024, 1e9, 1, 0 };
  optk_set_num_threads(1);
  for (int with = 0; with <= 1; with++) {
    const optk_group_opts *op = with ? &o : NULL;
    time_calls(k, T, many, hp, op, 3); /* warm */
    const double tm = time_calls(k, T, many, hp, op, nsamples);
    const double t1 = time_calls(k, 1, &one, hp, op, nsamples);
    printf("group,%s,f32,%s,%s,1,%d,0,%.6g,%.6g,%.6g\n", optk_name(k), optk_isa_name(optk_active_isa()),
           with ? "overhead_opts" : "overhead_plain", T * N, (tm - t1) / T, tm / T, t1 / T);
  }
  free(p);
  free(g);
  free(m);
  free(v);
}

int main(int argc, char **argv)
{
  int quick = 0, threads_all = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      quick = 1;
    else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      threads_all = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: optk_group_bench [--quick] [--threads N]\n");
      return 2;
    }
  }
  const char *name = optk_find("adamw", OPTK_F32) ? "adamw" : "adam";
  struct ctx c = { NULL, optk_find(name, OPTK_F32), { 0 }, 1 };
  optk_default_hparams(c.k, c.hp);
  struct model *md = malloc(sizeof *md);
  build(md);
  c.md = md;
  flush_n = (size_t)64 << 20 >> 2;
  flush_buf = calloc(flush_n, sizeof(float));
  fprintf(stderr, "optk_group_bench: %s over %zu parameters in %zu tensors\n", name, md->total, md->count);
  const int nsamples = quick ? 5 : 11;
  /* bytes per parameter: p, m, v read and written, g read; the group reads g
   * once more for the norm, the passes read g four times and write it twice */
  for (int th = 1; th <= threads_all; th = th == threads_all ? th + 1 : threads_all) {
    measure_model(&c, "group", run_group, 32, th, nsamples);
    measure_model(&c, "passes", run_passes, 52, th, nsamples);
    measure_model(&c, "group_plain", run_group_plain, 28, th, nsamples);
    measure_model(&c, "steps_plain", run_steps, 28, th, nsamples);
  }
  overhead(c.k, c.hp, nsamples);
  optk_set_num_threads(0);
  return 0;
}
