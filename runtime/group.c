/* optk_step_group: a model's tensors stepped in one call, with loss-scale
 * unscaling, the non-finite check, clipping by the global norm, master
 * weights and stochastic rounding fused around the generated kernels (see
 * optkern.h for the contract).
 *
 * Fusion is by blocking, so the kernels stay as the generator emits them:
 *   pass 1 (only when the norm or the check is wanted) reads every gradient
 *     once, forms the scaled gradient in the compute type, checks it and
 *     feeds its squares, a block at a time, to the reproducible sum
 *     (reprosum.c); blocks run across tensor boundaries, so small tensors
 *     cost no block of their own;
 *   pass 2 walks each tensor in blocks of OPTK_RSUM_BLOCK elements: where
 *     the gradient must change, it is formed into a buffer on the stack that
 *     stays in L1, and the kernel's function for the ISA runs on the block
 *     with the same per-call constants as optk_step.  Where nothing changes
 *     (no multiplier, master or rounding) the kernel runs on the tensor's
 *     own arrays, exactly as optk_step calls it.
 * 16-bit tensors that need more than their kernel gives (a multiplier, a
 * master, stochastic rounding) run the f32 kernel of the same optimizer on
 * f32 copies of the block (master: on master itself), then round; the
 * 16-bit kernels compute in f32 on exactly converted values and round to
 * nearest even, so with neither multiplier nor rounding this is their bits
 * (tests/suite_group.c checks the claim on every kernel).
 *
 * Both passes split the group across the pool by bytes (parallel.c): part
 * boundaries fall anywhere in the list, on multiples of 64 elements inside a
 * tensor.  Every element's update is independent and the sum's bits do not
 * depend on the blocks, so neither result depends on the split. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fpenv.h"
#include "optk_internal.h"
#include "optk_scalar.h"

#define GROUP_BLOCK OPTK_RSUM_BLOCK
#define GROUP_GRAIN 64     /* elements: part boundaries inside a tensor, as parallel.c */
#define GROUP_MAX_PARTS 64 /* beyond this many threads the parts get no smaller */

enum grp_mode {
  GRP_MODE_DIRECT, /* the kernel on the tensor's arrays */
  GRP_MODE_GBUF,   /* f32/f64: the kernel with the gradient formed in a buffer */
  GRP_MODE_VIA32,  /* 16-bit: the f32 kernel on copies, rounded back (RNE or stochastic) */
  GRP_MODE_MASTER  /* 16-bit with master: the f32 kernel on master, param = RNE(master) */
};

/* Where a part starts: tensor, element, and the tensor's first element's
 * index in the group (for the stochastic rounding's counter). */
struct grp_cut {
  size_t t, off;
  uint64_t base;
};

/* Pass 1's findings in one part. */
struct grp_part1 {
  optk_rsum sum;
  int nan, inf;
};

struct grp_group {
  const optk_kernel *k;
  optk_isa isa;
  optk_kernel_fn fn, fn32; /* the kernel's and its f32 twin's functions for the ISA */
  size_t count;
  const optk_tensor *ts;
  size_t psize, ssize;
  int nstate;
  const void *consts;
  float sf, cf; /* grad_scale and clip coefficient in the compute type */
  double sd, cd;
  int multiply; /* a multiplier is not 1 */
  int sr;
  uint64_t sr_key;
  int nparts;
  struct grp_cut cuts[GROUP_MAX_PARTS + 1];
  struct grp_part1 *p1;
};

/* ---- stochastic rounding ------------------------------------------------ */

/* splitmix64's finaliser: a bijection whose output bits all depend on every
 * input bit. */
static uint64_t grp_mix64(uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* The random bits of element i: splitmix64's stream keyed by (seed, t). */
static uint64_t grp_sr_bits(uint64_t key, uint64_t i) { return grp_mix64(key + i * 0x9e3779b97f4a7c15u); }

/* bf16 is f32's top half: adding 16 random bits below it and truncating
 * rounds the magnitude up with probability (low half) / 2^16, exactly. */
static uint16_t grp_sr_bf16(float f, uint64_t r)
{
  const uint32_t b = optk_f32_bits(f);
  if ((b & 0x7fffffffu) > 0x7f800000u)
    return optk_f32_to_bf16(f); /* NaN as the kernels make it */
  return (uint16_t)((b + (uint32_t)(r >> 48)) >> 16);
}

/* f16: the neighbours below and above |f|, and the distance from the lower
 * one over their gap (exact in double: the gap is a power of two) against
 * 53 random bits. */
static uint16_t grp_sr_f16(float f, uint64_t r)
{
  const uint32_t b = optk_f32_bits(f);
  const uint32_t a = b & 0x7fffffffu;
  if (a >= 0x7f800000u)
    return optk_f32_to_f16(f); /* Inf, and NaN as the kernels make it */
  const uint16_t sign = (uint16_t)((b >> 16) & 0x8000u);
  const float af = optk_bits_f32(a);
  const double u = (double)(r >> 11) * 0x1p-53;
  uint16_t h;
  if (af >= 65504.0f) { /* above the largest finite half: infinity stands one gap (32) up */
    h = u < ((double)af - 65504.0) / 32.0 ? 0x7c00u : 0x7bffu;
  } else {
    h = optk_f32_to_f16(af); /* within one gap: step down if above */
    if (optk_f16_to_f32(h) > af)
      h--;
    const double lo = optk_f16_to_f32(h), hi = optk_f16_to_f32((uint16_t)(h + 1u));
    if (u < ((double)af - lo) / (hi - lo))
      h++;
  }
  return (uint16_t)(sign | h);
}

/* ---- the gradient in the compute type ----------------------------------- */

/* n scaled gradients g' from grad + i into out (double for f64, else
 * float); returns their largest magnitude and sets *bad when one is not
 * finite.  f16 is converted here one at a time; the rest is vectorized
 * (gradscale.c). */
static double grp_load_scaled(const struct grp_group *g, const void *grad, size_t i, size_t n, void *out, int *bad)
{
  switch (g->k->dtype) {
  case OPTK_F64:
    return optk__gscan_f64((const double *)grad + i, n, g->sd, out, bad, g->isa);
  case OPTK_F32:
    return optk__gscan_f32((const float *)grad + i, NULL, n, g->sf, out, bad, g->isa);
  case OPTK_BF16:
    return optk__gscan_f32(NULL, (const uint16_t *)grad + i, n, g->sf, out, bad, g->isa);
  case OPTK_F16:
    break;
  }
  float *o = out, amax = 0, z = 0;
  for (size_t j = 0; j < n; j++) {
    const float x = optk_f16_to_f32(((const uint16_t *)grad)[i + j]) * g->sf;
    const float a = fabsf(x);
    o[j] = x;
    amax = a > amax ? a : amax;
    z += x - x; /* NaN exactly when x is Inf or NaN */
  }
  *bad |= z != 0;
  return amax;
}

/* The gradient the kernel uses, g'' = (g * s) * c, for n elements from
 * grad + i into out (double for f64, else float). */
static void grp_load_mul(const struct grp_group *g, const void *grad, size_t i, size_t n, void *out)
{
  switch (g->k->dtype) {
  case OPTK_F64:
    optk__gmul_f64((const double *)grad + i, n, g->sd, g->cd, out, g->isa);
    return;
  case OPTK_F32:
    optk__gmul_f32((const float *)grad + i, NULL, n, g->sf, g->cf, out, g->isa);
    return;
  case OPTK_BF16:
    optk__gmul_f32(NULL, (const uint16_t *)grad + i, n, g->sf, g->cf, out, g->isa);
    return;
  case OPTK_F16:
    break;
  }
  float *o = out;
  for (size_t j = 0; j < n; j++)
    o[j] = (optk_f16_to_f32(((const uint16_t *)grad)[i + j]) * g->sf) * g->cf;
}

/* ---- the split --------------------------------------------------------------- */

static size_t grp_elem_bytes(const struct grp_group *g, const optk_tensor *t)
{
  return 2 * g->psize + (size_t)g->nstate * g->ssize + (t->master != NULL ? 2 * sizeof(float) : 0);
}

/* Cuts the list into nparts of about equal bytes. */
static void grp_split(struct grp_group *g, size_t total)
{
  size_t t = 0, off = 0, done = 0; /* bytes before element off of tensor t */
  uint64_t base = 0;
  g->cuts[0] = (struct grp_cut){ 0, 0, 0 };
  for (int p = 1; p < g->nparts; p++) {
    const size_t target = (size_t)((double)total * p / g->nparts);
    for (;;) {
      if (t == g->count) {
        off = 0;
        break;
      }
      const size_t w = grp_elem_bytes(g, &g->ts[t]), n = g->ts[t].n;
      const size_t left = (n - off) * w;
      if (done + left > target) {
        size_t e = off + (target - done) / w;
        e = e / GROUP_GRAIN * GROUP_GRAIN;
        if (e < off)
          e = off;
        done += (e - off) * w;
        off = e;
        break;
      }
      done += left;
      base += n;
      t++;
      off = 0;
    }
    g->cuts[p] = (struct grp_cut){ t, off, base };
  }
  g->cuts[g->nparts] = (struct grp_cut){ g->count, 0, base };
}

/* Calls fn(g, tensor, lo, hi, base, ctx) for every piece of part p: the
 * elements [lo, hi) of one tensor whose first element is number base. */
typedef void grp_piece_fn(const struct grp_group *g, const optk_tensor *t, size_t lo, size_t hi, uint64_t base,
                      void *ctx);
static void grp_for_pieces(const struct grp_group *g, int p, grp_piece_fn *fn, void *ctx)
{
  const struct grp_cut from = g->cuts[p], to = g->cuts[p + 1];
  uint64_t base = from.base;
  for (size_t i = from.t; i < g->count && i <= to.t; i++) {
    const optk_tensor *t = &g->ts[i];
    const size_t lo = i == from.t ? from.off : 0;
    const size_t hi = i == to.t ? to.off : t->n;
    if (lo < hi)
      fn(g, t, lo, hi, base, ctx);
    base += t->n;
  }
}

/* ---- pass 1: the norm and the check ------------------------------------- */

/* A part's block being filled. */
struct grp_fill1 {
  struct grp_part1 *r;
  size_t fill;
  double amax;
  int bad;
  union {
    double d[GROUP_BLOCK];
    float f[GROUP_BLOCK];
  } buf; /* double for f64 gradients, else float */
};

/* Sums the block; next, next_bytes: the gradients read after it. */
static void grp_flush1(const struct grp_group *g, struct grp_fill1 *f, const void *next, size_t next_bytes)
{
  const int wide = g->k->dtype == OPTK_F64;
  if (!f->bad) {
    if (wide)
      optk__rsum_block(&f->r->sum, f->buf.d, f->fill, f->amax, g->isa, next, next_bytes);
    else
      optk__rsum_block_f32(&f->r->sum, f->buf.f, f->fill, f->amax, g->isa, next, next_bytes);
  } else {
    for (size_t i = 0; i < f->fill; i++) {
      const double x = wide ? f->buf.d[i] : (double)f->buf.f[i];
      f->r->nan |= isnan(x);
      f->r->inf |= isinf(x);
    }
  }
  f->fill = 0;
  f->amax = 0;
  f->bad = 0;
}

static void grp_piece1(const struct grp_group *g, const optk_tensor *t, size_t lo, size_t hi, uint64_t base, void *ctx)
{
  struct grp_fill1 *f = ctx;
  (void)base;
  for (size_t i = lo; i < hi;) {
    const size_t m = hi - i < GROUP_BLOCK - f->fill ? hi - i : GROUP_BLOCK - f->fill;
    void *out = g->k->dtype == OPTK_F64 ? (void *)(f->buf.d + f->fill) : (void *)(f->buf.f + f->fill);
    const double a = grp_load_scaled(g, t->grad, i, m, out, &f->bad);
    f->amax = a > f->amax ? a : f->amax;
    f->fill += m;
    i += m;
    if (f->fill == GROUP_BLOCK)
      grp_flush1(g, f, (const char *)t->grad + i * g->psize,
                 (hi - i < GROUP_BLOCK ? hi - i : GROUP_BLOCK) * g->psize);
  }
}

static void grp_pass1(void *arg, int part)
{
  const struct grp_group *g = arg;
  struct grp_fill1 f;
  f.r = &g->p1[part];
  f.fill = 0;
  f.amax = 0;
  f.bad = 0;
  optk__rsum_init(&f.r->sum);
  f.r->nan = f.r->inf = 0;
  grp_for_pieces(g, part, grp_piece1, &f);
  if (f.fill > 0)
    grp_flush1(g, &f, NULL, 0);
}

/* ---- pass 2: the update ------------------------------------------------- */

static enum grp_mode grp_mode_of(const struct grp_group *g, const optk_tensor *t)
{
  if (g->k->dtype == OPTK_F32 || g->k->dtype == OPTK_F64)
    return g->multiply ? GRP_MODE_GBUF : GRP_MODE_DIRECT;
  if (t->master != NULL)
    return GRP_MODE_MASTER;
  return g->multiply || g->sr ? GRP_MODE_VIA32 : GRP_MODE_DIRECT;
}

static void grp_step_piece(const struct grp_group *g, const optk_tensor *t, size_t lo, size_t hi, uint64_t base,
                       void *ctx)
{
  (void)ctx;
  void *st[OPTK_MAX_STATE];
  const enum grp_mode mode = grp_mode_of(g, t);
  const optk_dtype d = g->k->dtype;
  if (mode == GRP_MODE_DIRECT) {
    for (int s = 0; s < g->nstate; s++)
      st[s] = (char *)t->state[s] + lo * g->ssize;
    g->fn(hi - lo, (char *)t->param + lo * g->psize, (const char *)t->grad + lo * g->psize, st, g->consts);
    return;
  }
  union {
    double d[GROUP_BLOCK];
    float f[GROUP_BLOCK];
  } gb;
  float pb[GROUP_BLOCK];
  for (size_t i = lo; i < hi; i += GROUP_BLOCK) {
    const size_t n = hi - i < GROUP_BLOCK ? hi - i : GROUP_BLOCK;
    for (int s = 0; s < g->nstate; s++)
      st[s] = (char *)t->state[s] + i * g->ssize;
    grp_load_mul(g, t->grad, i, n, &gb);
    if (d == OPTK_F64 || d == OPTK_F32) {
      g->fn(n, (char *)t->param + i * g->psize, &gb, st, g->consts);
      continue;
    }
    uint16_t *p = (uint16_t *)t->param + i;
    if (mode == GRP_MODE_MASTER) {
      float *m = t->master + i;
      g->fn32(n, m, gb.f, st, g->consts);
      if (d == OPTK_BF16)
        for (size_t j = 0; j < n; j++)
          p[j] = optk_f32_to_bf16(m[j]);
      else
        for (size_t j = 0; j < n; j++)
          p[j] = optk_f32_to_f16(m[j]);
      continue;
    }
    if (d == OPTK_BF16)
      for (size_t j = 0; j < n; j++)
        pb[j] = optk_bf16_to_f32(p[j]);
    else
      for (size_t j = 0; j < n; j++)
        pb[j] = optk_f16_to_f32(p[j]);
    g->fn32(n, pb, gb.f, st, g->consts);
    if (!g->sr) {
      if (d == OPTK_BF16)
        for (size_t j = 0; j < n; j++)
          p[j] = optk_f32_to_bf16(pb[j]);
      else
        for (size_t j = 0; j < n; j++)
          p[j] = optk_f32_to_f16(pb[j]);
    } else if (d == OPTK_BF16) {
      for (size_t j = 0; j < n; j++)
        p[j] = grp_sr_bf16(pb[j], grp_sr_bits(g->sr_key, base + i + j));
    } else {
      for (size_t j = 0; j < n; j++)
        p[j] = grp_sr_f16(pb[j], grp_sr_bits(g->sr_key, base + i + j));
    }
  }
}

static void grp_pass2(void *arg, int part)
{
  const struct grp_group *g = arg;
  grp_for_pieces(g, part, grp_step_piece, NULL);
}

/* ---- two-phase kernels (per-tensor norms, two_phase.c) ------------------ */

static void grp_tp_gload(const void *ctx, const void *grad, size_t i, size_t n, void *out)
{
  grp_load_mul(ctx, grad, i, n, out);
}

/* f32 results back to the 16-bit param: to nearest even (master, or no
 * stochastic rounding), else stochastically with element index + j. */
static void grp_tp_put16(const void *ctx, const float *v, uint16_t *p, size_t n, uint64_t index, int rne)
{
  const struct grp_group *g = ctx;
  const int bf = g->k->dtype == OPTK_BF16;
  if (rne || !g->sr) {
    for (size_t j = 0; j < n; j++)
      p[j] = bf ? optk_f32_to_bf16(v[j]) : optk_f32_to_f16(v[j]);
  } else {
    for (size_t j = 0; j < n; j++)
      p[j] = bf ? grp_sr_bf16(v[j], grp_sr_bits(g->sr_key, index + j))
                : grp_sr_f16(v[j], grp_sr_bits(g->sr_key, index + j));
  }
}

/* Every tensor in turn, each with its own norms, split across the pool. */
static void grp_two_phase(struct grp_group *g, struct optk_tp *r, const double *hp, int64_t t)
{
  static const int modes[] = { [GRP_MODE_DIRECT] = OPTK_TP_DIRECT, [GRP_MODE_GBUF] = OPTK_TP_GBUF,
                               [GRP_MODE_VIA32] = OPTK_TP_VIA32, [GRP_MODE_MASTER] = OPTK_TP_MASTER };
  r->ctx = g;
  uint64_t base = 0;
  for (size_t i = 0; i < g->count; i++) {
    const optk_tensor *ts = &g->ts[i];
    optk__tp_step(r, modes[grp_mode_of(g, ts)], ts->n, ts->param, ts->grad, ts->state, ts->master, base, hp, t,
                  g->consts);
    base += ts->n;
  }
}

/* ---- the call ----------------------------------------------------------- */

/* Everything optk_step would refuse, for every tensor, and the group's own
 * rules; nothing is written before this passes. */
static int grp_check_group(const optk_kernel *k, size_t count, const optk_tensor *ts, const double *hp,
                       int64_t t, const optk_group_opts *opts)
{
  int err = optk__check_hparams(k, hp, t);
  if (err != OPTK_OK)
    return err;
  if (count > 0 && ts == NULL)
    return OPTK_EINVAL;
  const int wide = k->dtype == OPTK_F32 || k->dtype == OPTK_F64;
  for (size_t i = 0; i < count; i++) {
    err = optk__check_arrays(k, ts[i].n, ts[i].param, ts[i].grad, ts[i].state);
    if (err != OPTK_OK)
      return err;
    if (ts[i].master != NULL && wide)
      return OPTK_EINVAL;
  }
  if (opts != NULL) {
    if (!isfinite(opts->grad_scale) || isnan(opts->max_grad_norm))
      return OPTK_EINVAL;
    if (k->dtype != OPTK_F64 && !isfinite((float)opts->grad_scale))
      return OPTK_EINVAL;
  }
  return OPTK_OK;
}

int optk__step_group_isa(const optk_kernel *k, optk_isa isa, size_t count, const optk_tensor *tensors,
                         const double *hp, int64_t t, const optk_group_opts *opts,
                         optk_group_result *result)
{
  if ((unsigned)isa >= OPTK_ISA_COUNT)
    return OPTK_EINVAL;
  int err = grp_check_group(k, count, tensors, hp, t, opts);
  if (err != OPTK_OK)
    return err;
  if (!optk_isa_available(isa) || k->impl[isa] == NULL || (k->nnorms > 0 && k->impl2[isa] == NULL))
    return OPTK_ENOTSUP;

  struct grp_group g;
  memset(&g, 0, sizeof g);
  g.k = k;
  g.isa = isa;
  g.fn = k->impl[isa];
  g.count = count;
  g.ts = tensors;
  g.psize = optk__dtype_bytes(k->dtype);
  g.ssize = optk__compute_bytes(k->dtype);
  g.nstate = k->nstate;
  g.sf = 1.0f;
  g.cf = 1.0f;
  g.sd = 1.0;
  g.cd = 1.0;
  double scale = 1.0, max_norm = 0.0;
  int skip = 0;
  if (opts != NULL) {
    scale = opts->grad_scale;
    max_norm = opts->max_grad_norm;
    skip = opts->skip_nonfinite != 0;
    g.sr = opts->sr_seed != 0 && (k->dtype == OPTK_BF16 || k->dtype == OPTK_F16);
    g.sr_key = grp_mix64(opts->sr_seed ^ grp_mix64((uint64_t)t + 0x9e3779b97f4a7c15u));
  }
  g.sd = scale;
  g.sf = (float)scale;

  struct optk_tp tp; /* two-phase kernels' workspace */
  memset(&tp, 0, sizeof tp);
  tp.k = k;
  tp.isa = isa;
  tp.fn1 = k->impl[isa];
  tp.fn2 = k->impl2[isa];
  tp.gload = grp_tp_gload;
  tp.put16 = grp_tp_put16;

  /* The f32 twin, when a 16-bit tensor will need it: looked up before any
   * write, since a vendored selection may lack it. */
  int need32 = 0;
  if (k->dtype == OPTK_BF16 || k->dtype == OPTK_F16) {
    need32 = g.sr || g.sf != 1.0f || max_norm > 0;
    for (size_t i = 0; i < count && !need32; i++)
      need32 = tensors[i].master != NULL;
    if (need32) {
      const optk_kernel *k32 = optk_find(k->name, OPTK_F32);
      if (k32 == NULL || k32->impl[isa] == NULL || (k->nnorms > 0 && k32->impl2[isa] == NULL))
        return OPTK_ENOTSUP;
      g.fn32 = k32->impl[isa];
      tp.fn1_32 = k32->impl[isa];
      tp.fn2_32 = k32->impl2[isa];
    }
  }

  /* Per-call constants, as optk_step computes them (the f32 twin shares
   * the spec's prep, so the same values serve it). */
  g.consts = optk__step_consts(k, hp, t);
  if (g.consts == NULL)
    return OPTK_EINVAL; /* a per-call constant is not finite; nothing written yet */

  size_t total = 0, elems = 0;
  for (size_t i = 0; i < count; i++) {
    total += tensors[i].n * grp_elem_bytes(&g, &tensors[i]);
    elems += tensors[i].n;
  }
  g.nparts = 1;
  (void)total;
  if (elems >= 2 * GROUP_GRAIN && optk_get_num_threads() > 1) {
    /* As optk_step splits: parts worth the pool's wake-up (split.c), for the
     * group's elements as one array. */
    int th = optk__split_parts(k, g.fn, elems, g.consts, optk_get_num_threads());
    size_t most = elems / GROUP_GRAIN;
    if (th > GROUP_MAX_PARTS)
      th = GROUP_MAX_PARTS;
    if ((size_t)th > most)
      th = (int)most;
    if (th > 1)
      g.nparts = th;
  }

  if (k->nnorms > 0) {
    /* Scratch for the largest tensor, allocated before anything is written. */
    size_t most = 0;
    for (size_t i = 0; i < count; i++)
      most = tensors[i].n > most ? tensors[i].n : most;
    int th = optk_get_num_threads();
    if (optk__tp_alloc(&tp, most, th < GROUP_MAX_PARTS ? th : GROUP_MAX_PARTS) != OPTK_OK)
      return OPTK_ENOMEM;
  }

  struct grp_part1 one;
  const int want_norm = result != NULL || max_norm > 0 || skip;
  if (want_norm) {
    g.p1 = &one;
    if (g.nparts > 1) {
      g.p1 = malloc((size_t)g.nparts * sizeof *g.p1);
      if (g.p1 == NULL) {
        g.p1 = &one;
        g.nparts = 1;
      }
    }
  }
  grp_split(&g, total);

  double norm = 0.0;
  int nan = 0, inf = 0;
  if (want_norm) {
    optk__parallel_tasks(g.nparts, grp_pass1, &g);
    for (int p = 1; p < g.nparts; p++) {
      optk__rsum_merge(&g.p1[0].sum, &g.p1[p].sum);
      g.p1[0].nan |= g.p1[p].nan;
      g.p1[0].inf |= g.p1[p].inf;
    }
    nan = g.p1[0].nan;
    inf = g.p1[0].inf;
    norm = nan ? NAN : inf ? INFINITY : optk__rsum_sqrt(&g.p1[0].sum);
    if (g.p1 != &one)
      free(g.p1);
    g.p1 = NULL;
  }
  if (result != NULL) {
    result->grad_norm = norm;
    result->found_nonfinite = nan || inf;
    result->skipped = 0;
  }
  if (skip && (nan || inf)) {
    if (result != NULL)
      result->skipped = 1;
    optk__tp_free(&tp);
    return OPTK_OK;
  }

  if (max_norm > 0) {
    double coef = max_norm / (norm + 1e-6);
    if (coef > 1.0)
      coef = 1.0; /* NaN stays NaN, as torch's clamp */
    g.cd = coef;
    g.cf = (float)coef;
  }
  g.multiply = k->dtype == OPTK_F64 ? !(g.sd == 1.0 && g.cd == 1.0) : !(g.sf == 1.0f && g.cf == 1.0f);
  if (k->nnorms > 0) {
    grp_two_phase(&g, &tp, hp, t);
    optk__tp_free(&tp);
    return OPTK_OK;
  }
  optk__parallel_tasks(g.nparts, grp_pass2, &g);
  return OPTK_OK;
}

int optk_step_group(const optk_kernel *k, size_t count, const optk_tensor *tensors, const double *hparams,
                    int64_t t, const optk_group_opts *opts, optk_group_result *result)
{
  /* The IEEE default environment, whatever the caller set (fpenv.c). */
  const unsigned fpenv = optk__fpenv_enter();
  optk_isa isa = optk_active_isa();
  if (k != NULL && (k->tuned_isa[0] | k->tuned_isa[1] | k->tuned_isa[2]) && (tensors != NULL || count == 0)) {
    /* The tuned ISA of the group's size class: its arrays pass through the
     * caches as one step's do. */
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
      total = tensors[i].n > SIZE_MAX - total ? SIZE_MAX : total + tensors[i].n;
    isa = optk__tuned_isa(k, total, isa);
  }
  const int err = optk__step_group_isa(k, isa, count, tensors, hparams, t, opts, result);
  optk__fpenv_leave(fpenv, 0);
  return err;
}
