/* Steps of two-phase kernels: updates that use a per-tensor norm, such as
 * LAMB's trust ratio (generator/lib/optgen/phases.lua splits them).
 *
 *   phase 1 (impl) writes the state and the scratch arrays; block by block,
 *     right after the kernel ran on a block, the block's values of every
 *     array a norm is taken of (p before the step, or a scratch array) are
 *     deposited into the part's own reproducible sum of squares
 *     (reprosum.c);
 *   the parts' sums are merged in part order; binned sums are exact in
 *     every bin, so the norms have the same bits whatever the blocks, the
 *     parts, the thread count and the ISA;
 *   prep2 turns the norms into phase 2's constants, and phase 2 (impl2)
 *     writes the parameter.
 * Both phases split the tensor across the pool (optk__parallel_tasks) in
 * parts of whole grains (64 elements).
 *
 * A norm is NaN when one of its values is NaN, else infinite when one is
 * infinite; the spec's select() then decides (LAMB: w_norm > 0 is false for
 * NaN, so the ratio is 1 and NaN values stay NaN in p; an infinite norm
 * gives an infinite or NaN ratio and so infinite or NaN p).  Phase 2's
 * constants are not refused when not finite: the state is written by then,
 * and NaN in gives NaN out.
 *
 * The group step (group.c) runs the same phases per tensor, with its
 * gradient formed block by block (scale, clipping) and 16-bit parameters
 * stepped by the f32 kernel on f32 values (master, or copies rounded back:
 * to nearest even, or stochastically). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optk_internal.h"
#include "optk_scalar.h"

#define TP_BLOCK OPTK_RSUM_BLOCK

static int tp_fail_allocs; /* tests: allocations to fail */

void optk__tp_fail_allocs(int count) { tp_fail_allocs = count; }

int optk__tp_alloc(struct optk_tp *r, size_t n, int maxparts)
{
  const size_t asize = r->k->dtype == OPTK_F64 ? sizeof(double) : sizeof(float);
  const int nn = r->k->nnorms;
  r->scratch = NULL;
  r->acc = NULL;
  r->bad = NULL;
  r->scratch_n = n;
  r->maxparts = maxparts < 1 ? 1 : maxparts;
  if (tp_fail_allocs > 0) {
    tp_fail_allocs--;
    return OPTK_ENOMEM;
  }
  /* n * asize * nscratch cannot overflow: n is bounded by PTRDIFF_MAX over
   * the widest array's bytes and nscratch by OPTK_MAX_STATE, and a size
   * beyond memory fails in malloc. */
  if (r->k->nscratch > 0 && n > 0) {
    if (n > SIZE_MAX / asize / (size_t)r->k->nscratch)
      return OPTK_ENOMEM;
    r->scratch = malloc((size_t)r->k->nscratch * n * asize);
  }
  r->acc = malloc((size_t)r->maxparts * (size_t)(nn > 0 ? nn : 1) * sizeof *r->acc);
  r->bad = malloc((size_t)r->maxparts * (size_t)(nn > 0 ? nn : 1));
  if ((r->scratch == NULL && r->k->nscratch > 0 && n > 0) || r->acc == NULL || r->bad == NULL) {
    optk__tp_free(r);
    return OPTK_ENOMEM;
  }
  return OPTK_OK;
}

void optk__tp_free(struct optk_tp *r)
{
  free(r->scratch);
  free(r->acc);
  free(r->bad);
  r->scratch = NULL;
  r->acc = NULL;
  r->bad = NULL;
}

int optk__tp_parts(const optk_kernel *k, optk_kernel_fn fn1, size_t n, const void *c1, int most)
{
  int parts = 1;
  if (n >= 2 * OPTK_CHUNK_GRAIN) {
    const int want = optk_get_num_threads();
    if (want > 1)
      parts = optk__split_parts(k, fn1, n, c1, want);
  }
  if (parts > most)
    parts = most;
  if ((size_t)parts > n / OPTK_CHUNK_GRAIN)
    parts = (int)(n / OPTK_CHUNK_GRAIN);
  return parts < 1 ? 1 : parts;
}

/* One tensor's step, shared by the parts. */
struct tp_job {
  const struct optk_tp *r;
  int mode, phase;
  optk_kernel_fn fn;
  size_t n, chunk;
  char *param;
  const char *grad;
  float *master;
  uint64_t base;
  void *arrays[OPTK_MAX_STATE]; /* the state, then the scratch */
  const void *c;
};

/* Deposits n values (double when wide, else float) into acc, or records in
 * *bad that one is NaN (1) or infinite (2). */
static void tp_deposit(optk_rsum *acc, unsigned char *bad, const void *x, int wide, size_t n, optk_isa isa)
{
  double amax = 0;
  int b = 0;
  if (wide) {
    const double *d = x;
    for (size_t i = 0; i < n; i++) {
      const double a = fabs(d[i]);
      b |= a != a ? 1 : a == INFINITY ? 2 : 0;
      amax = a > amax ? a : amax;
    }
  } else {
    const float *f = x;
    for (size_t i = 0; i < n; i++) {
      const double a = fabsf(f[i]);
      b |= a != a ? 1 : a == INFINITY ? 2 : 0;
      amax = a > amax ? a : amax;
    }
  }
  if (b != 0) {
    *bad |= (unsigned char)b;
    return;
  }
  if (wide)
    optk__rsum_block(acc, x, n, amax, isa, NULL, 0);
  else
    optk__rsum_block_f32(acc, x, n, amax, isa, NULL, 0);
}

/* A switch without default: a storage type added to the list and not here
 * fails the build (-Wswitch) instead of taking another type's conversion. */
static void tp_to_f32(const uint16_t *p, optk_dtype d, size_t n, float *out)
{
  switch (d) {
  case OPTK_BF16:
    for (size_t i = 0; i < n; i++)
      out[i] = optk_bf16_to_f32(p[i]);
    break;
  case OPTK_F16:
    for (size_t i = 0; i < n; i++)
      out[i] = optk_f16_to_f32(p[i]);
    break;
  case OPTK_F32:
  case OPTK_F64:
    break; /* not 16-bit: never called */
  }
}

static void tp_part(void *arg, int part)
{
  const struct tp_job *j = arg;
  const struct optk_tp *r = j->r;
  const optk_kernel *k = r->k;
  const optk_dtype d = k->dtype;
  const int wide = d == OPTK_F64, half = d == OPTK_BF16 || d == OPTK_F16;
  const size_t psize = optk__dtype_bytes(d), asize = optk__compute_bytes(d);
  const int narrays = k->nstate + k->nscratch, nn = k->nnorms;
  const size_t lo = (size_t)part * j->chunk;
  if (lo >= j->n)
    return;
  const size_t hi = j->n - lo < j->chunk ? j->n : lo + j->chunk;
  union {
    double d[TP_BLOCK];
    float f[TP_BLOCK];
  } gb;
  float pb[TP_BLOCK];
  for (size_t i = lo; i < hi; i += TP_BLOCK) {
    const size_t len = hi - i < TP_BLOCK ? hi - i : TP_BLOCK;
    void *st[OPTK_MAX_STATE];
    for (int s = 0; s < narrays; s++)
      st[s] = (char *)j->arrays[s] + i * asize;
    void *p = j->param + i * psize;
    const void *g = j->grad + i * psize;
    uint16_t *p16 = (uint16_t *)j->param + i;
    if (j->mode == OPTK_TP_VIA32) {
      tp_to_f32(p16, d, len, pb);
      p = pb;
    } else if (j->mode == OPTK_TP_MASTER) {
      p = j->master + i;
    }
    if (j->phase == 2) {
      j->fn(len, p, g, st, j->c); /* phase 2 never reads the gradient (optgen.phases) */
      if (j->mode == OPTK_TP_VIA32)
        r->put16(r->ctx, pb, p16, len, j->base + i, 0);
      else if (j->mode == OPTK_TP_MASTER)
        r->put16(r->ctx, j->master + i, p16, len, j->base + i, 1);
      continue;
    }
    if (j->mode != OPTK_TP_DIRECT) {
      r->gload(r->ctx, j->grad, i, len, &gb);
      g = &gb;
    }
    j->fn(len, p, g, st, j->c);
    for (int q = 0; q < nn; q++) {
      const int a = k->norm_arrays[q];
      const void *x = a >= 0 ? st[a] : p;
      int xw = wide;
      if (a < 0 && j->mode == OPTK_TP_DIRECT && half) {
        tp_to_f32(p16, d, len, pb); /* exact; phase 1 leaves p alone */
        x = pb;
      } else if (a < 0 && half) {
        xw = 0; /* f32 copies or master */
      }
      tp_deposit(&r->acc[part * nn + q], &r->bad[part * nn + q], x, xw, len, r->isa);
    }
  }
}

unsigned optk__tp_step(const struct optk_tp *r, int mode, size_t n, void *param, const void *grad,
                       void *const *state, float *master, uint64_t base, const double *hp, int64_t t,
                       const void *c1)
{
  const optk_kernel *k = r->k;
  const int wide = k->dtype == OPTK_F64, nn = k->nnorms;
  const int own = mode == OPTK_TP_DIRECT || mode == OPTK_TP_GBUF;
  const size_t asize = wide ? 8 : 4;
  if (n == 0)
    return 0;
  struct tp_job j;
  memset(&j, 0, sizeof j);
  j.r = r;
  j.mode = mode;
  j.n = n;
  j.param = param;
  j.grad = grad;
  j.master = master;
  j.base = base;
  for (int s = 0; s < k->nstate; s++)
    j.arrays[s] = state[s];
  for (int s = 0; s < k->nscratch; s++)
    j.arrays[k->nstate + s] = (char *)r->scratch + (size_t)s * r->scratch_n * asize;

  const int parts = optk__tp_parts(k, own ? r->fn1 : r->fn1_32, n, c1, r->maxparts);
  j.chunk = (n + (size_t)parts - 1) / (size_t)parts;
  j.chunk = (j.chunk + OPTK_CHUNK_GRAIN - 1) / OPTK_CHUNK_GRAIN * OPTK_CHUNK_GRAIN;
  for (int q = 0; q < parts * nn; q++) {
    optk__rsum_init(&r->acc[q]);
    r->bad[q] = 0;
  }
  j.phase = 1;
  j.fn = own ? r->fn1 : r->fn1_32;
  j.c = c1;
  unsigned flags = optk__parallel_tasks(parts, tp_part, &j);

  double norms[OPTK_MAX_STATE + 1];
  for (int q = 0; q < nn; q++) {
    for (int p = 1; p < parts; p++) {
      optk__rsum_merge(&r->acc[q], &r->acc[p * nn + q]);
      r->bad[q] |= r->bad[p * nn + q];
    }
    norms[q] = r->bad[q] & 1 ? NAN : r->bad[q] & 2 ? INFINITY : optk__rsum_sqrt(&r->acc[q]);
  }
  double c2[OPTK_MAX_CONSTS];
  float c2f[OPTK_MAX_CONSTS];
  k->prep2(hp, t, norms, c2);
  for (int i = 0; i < k->nconsts2; i++)
    c2f[i] = (float)c2[i];
  j.phase = 2;
  j.fn = own ? r->fn2 : r->fn2_32;
  j.c = wide ? (const void *)c2 : (const void *)c2f;
  flags |= optk__parallel_tasks(parts, tp_part, &j);
  return flags;
}
