/* Shared helpers of the optkern tests; see testutil.h. */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


/* ---- ISAs --------------------------------------------------------------- */

const char *const tu_isa_names[OPTK_ISA_COUNT] = {
#define OPTK_X(name, NAME, id, fallback, arch) [id] = #name,
    OPTK_ISA_LIST(OPTK_X)
#undef OPTK_X
};

/* This architecture's ISAs, lowest first (scalar, then the table's order). */
int tu_arch_chain(optk_isa *out)
{
  int n = 0;
#define OPTK_X(name, NAME, id, fallback, arch) \
  if (arch)                                    \
    out[n++] = OPTK_ISA_##NAME;
  OPTK_ISA_LIST(OPTK_X)
#undef OPTK_X
  return n;
}

optk_isa tu_lower_isa(optk_isa isa)
{
  static const optk_isa lower[OPTK_ISA_COUNT] = {
#define OPTK_X(name, NAME, id, fallback, arch) [id] = (optk_isa)(fallback),
      OPTK_ISA_LIST(OPTK_X)
#undef OPTK_X
  };
  return lower[isa];
}

optk_isa tu_best_isa(void)
{
  optk_isa chain[OPTK_ISA_COUNT];
  int n = tu_arch_chain(chain);
  optk_isa best = OPTK_ISA_SCALAR;
  for (int i = 0; i < n; i++)
    if (optk_isa_available(chain[i]))
      best = chain[i];
  return best;
}

const char *tu_kernel_label(char *buf, size_t size, const optk_kernel *k)
{
  snprintf(buf, size, "%s_%s", optk_name(k), tu_dtype_name(optk_dtype_of(k)));
  return buf;
}

/* ---- hyperparameters ---------------------------------------------------- */

int tu_hp_is_bool(const optk_kernel *k, int i)
{
  return k->hparams[i].is_bool != 0;
}

int tu_hp_in_domain(const optk_kernel *k, int i, double v)
{
  const struct optk_hparam *h = &k->hparams[i];
  if (isnan(v))
    return 0;
  if (h->is_bool)
    return v == 0.0 || v == 1.0;
  if (h->lo_open ? !(v > h->lo) : !(v >= h->lo))
    return 0;
  if (h->hi_open ? !(v < h->hi) : !(v <= h->hi))
    return 0;
  return 1;
}

int tu_hp_index(const optk_kernel *k, const char *name)
{
  for (int i = 0; i < optk_nhparams(k); i++)
    if (strcmp(optk_hparam_name(k, i), name) == 0)
      return i;
  return -1;
}

/* The default's magnitude, or 0.01 for a default of 0: the scale of the
 * values drawn over an infinite domain. */
static double hp_scale(const struct optk_hparam *h)
{
  return h->def != 0.0 && isfinite(h->def) ? fabs(h->def) : 0.01;
}

static double hp_draw(const struct optk_hparam *h, tu_rng *r)
{
  const double lo = h->lo, hi = h->hi, u = tu_uniform(r);
  const double decades = pow(10.0, -1.0 - 3.0 * tu_uniform(r)); /* 1e-4 .. 1e-1 */
  if (isfinite(lo) && isfinite(hi)) {
    if (u < 0.5)
      return lo + (hi - lo) * tu_uniform(r);
    return u < 0.75 ? hi - (hi - lo) * decades : lo + (hi - lo) * decades;
  }
  const double spread = hp_scale(h) * pow(10.0, -2.0 + 3.0 * tu_uniform(r)); /* 1e-2 .. 10 x */
  if (isfinite(lo))
    return (lo == 0.0 && h->def == 0.0 ? 0.0 : lo) + spread;
  if (isfinite(hi))
    return hi - spread;
  return h->def + (u < 0.5 ? -spread : spread);
}

double tu_hp_random(const optk_kernel *k, int i, tu_rng *r)
{
  const struct optk_hparam *h = &k->hparams[i];
  if (h->is_bool)
    return (double)(tu_next(r) & 1);
  for (int tries = 0; tries < 8; tries++) {
    double v = hp_draw(h, r);
    if (tu_hp_in_domain(k, i, v))
      return v;
  }
  return h->def;
}

double tu_hp_edge(const optk_kernel *k, int i, int hi)
{
  const struct optk_hparam *h = &k->hparams[i];
  if (h->is_bool)
    return hi ? 1.0 : 0.0;
  const double b = hi ? h->hi : h->lo, toward = hi ? h->lo : h->hi;
  const int open = hi ? h->hi_open : h->lo_open;
  double v;
  if (!open)
    v = b;
  else if (isfinite(b))
    /* hyperparameters are checked in the compute type too, where the
     * double next to an open bound may round onto it */
    v = optk_dtype_of(k) == OPTK_F64 ? nextafter(b, toward) : (double)nextafterf((float)b, (float)toward);
  else
    v = (hi ? 1e3 : -1e3) * hp_scale(h) + (isfinite(toward) ? toward : 0.0);
  return tu_hp_in_domain(k, i, v) ? v : h->def;
}

/* Whether the library takes hp at all: in every domain, in the compute type
 * too, and with finite per-call constants and initial values (a tiny lr is
 * in ftrl's domain, but 1/lr is not finite). */
int tu_hp_accepted(const optk_kernel *k, const double *hp)
{
  return optk_step_isa(k, OPTK_ISA_SCALAR, 0, NULL, NULL, NULL, hp, 1) == OPTK_OK &&
         optk_init_state(k, 0, NULL, hp) == OPTK_OK;
}

void tu_hp_repair(const optk_kernel *k, double *hp)
{
  for (int i = 0; i < optk_nhparams(k) && !tu_hp_accepted(k, hp); i++)
    hp[i] = optk_hparam_default(k, i);
}

const char *const tu_hpset_names[TU_HP_NSETS] = {"default", "random", "low-edge", "high-edge"};

void tu_hparams(const optk_kernel *k, int set, tu_rng *r, double *hp)
{
  optk_default_hparams(k, hp);
  if (set == TU_HP_DEFAULT)
    return;
  for (int i = 0; i < optk_nhparams(k); i++) {
    if (set != TU_HP_RANDOM && (tu_next(r) & 1))
      hp[i] = tu_hp_edge(k, i, set == TU_HP_HIGH_EDGE);
    else
      hp[i] = tu_hp_random(k, i, r);
  }
  tu_hp_repair(k, hp);
}

/* ---- state signs ---------------------------------------------------------- */

#define PROBE_KERNELS 4096
static signed char probe_cache[PROBE_KERNELS][OPTK_MAX_STATE]; /* 0 unknown, 1 yes, -1 no */

static void probe_state_signs(const optk_kernel *k, signed char *out)
{
  enum { N = 64, STEPS = 8, RUNS = 3 };
  const optk_dtype dt = optk_dtype_of(k), st = tu_state_type(dt);
  const int ns = optk_nstate(k);
  unsigned char p[N * 8], g[N * 8], s[OPTK_MAX_STATE][N * 8];
  void *sp[OPTK_MAX_STATE];
  for (int j = 0; j < OPTK_MAX_STATE; j++) {
    sp[j] = s[j];
    out[j] = 1;
  }
  tu_rng r;
  tu_seed(&r, 0x516E5ull);
  for (int run = 0; run < RUNS; run++) {
    double hp[TU_MAX_HP];
    tu_hparams(k, run == 0 ? TU_HP_DEFAULT : TU_HP_RANDOM, &r, hp);
    for (size_t i = 0; i < N; i++)
      tu_put(dt, p, i, tu_normal(&r));
    if (optk_init_state(k, N, sp, hp) != OPTK_OK)
      continue;
    for (int64_t t = 1; t <= STEPS; t++) {
      for (size_t i = 0; i < N; i++)
        tu_put(dt, g, i, tu_normal(&r));
      if (optk_step_isa(k, OPTK_ISA_SCALAR, N, p, g, sp, hp, t) != OPTK_OK)
        break;
      for (int j = 0; j < ns; j++)
        for (size_t i = 0; i < N; i++)
          if (tu_get(st, s[j], i) < 0)
            out[j] = -1;
    }
  }
}

int tu_state_nonneg(const optk_kernel *k, int j)
{
  size_t ki = 0;
  while (ki < optk_count() && optk_at(ki) != k)
    ki++;
  if (ki >= PROBE_KERNELS || j < 0 || j >= OPTK_MAX_STATE)
    return 0;
  if (probe_cache[ki][0] == 0)
    probe_state_signs(k, probe_cache[ki]);
  return probe_cache[ki][j] > 0;
}

/* ---- problem buffers ---------------------------------------------------- */

const char *const tu_val_names[TU_VAL_NCLASSES] = {"normal", "special", "magnitude", "bits"};

static unsigned char canary_byte(int a, size_t j)
{
  return (unsigned char)(0xC3u ^ (unsigned)(j * 37u) ^ (unsigned)(a * 101));
}

optk_dtype tu_arr_type(const tu_prob *pr, int a)
{
  return a < 2 ? pr->dt : pr->st;
}

const char *tu_arr_name(const tu_prob *pr, int a)
{
  if (a == 0)
    return "param";
  if (a == 1)
    return "grad";
  const char *name = optk_state_name(pr->k, a - 2);
  return name != NULL ? name : "state?";
}

void tu_prob_init(tu_prob *pr, const optk_kernel *k, size_t n, size_t off, size_t pad)
{
  memset(pr, 0, sizeof *pr);
  pr->k = k;
  pr->dt = optk_dtype_of(k);
  pr->st = tu_state_type(pr->dt);
  pr->n = n;
  pr->off = off;
  pr->pad = pad;
  int ns = optk_nstate(k);
  if (ns < 0)
    ns = 0;
  if (ns > OPTK_MAX_STATE)
    ns = OPTK_MAX_STATE;
  pr->narr = 2 + ns;
  for (int a = 0; a < pr->narr; a++) {
    size_t es = tu_esize(tu_arr_type(pr, a));
    size_t bytes = (off + n + pad) * es;
    bytes = (bytes + 63) / 64 * 64;
    if (bytes == 0)
      bytes = 64;
    pr->bytes[a] = bytes;
    pr->buf[a] = aligned_alloc(64, bytes);
    if (pr->buf[a] == NULL) {
      fprintf(stderr, "out of memory\n");
      abort();
    }
    for (size_t j = 0; j < bytes; j++)
      pr->buf[a][j] = canary_byte(a, j);
    pr->arr[a] = pr->buf[a] + off * es;
    if (a >= 2)
      pr->state[a - 2] = pr->arr[a];
  }
}

void tu_prob_free(tu_prob *pr)
{
  for (int a = 0; a < pr->narr; a++)
    free(pr->buf[a]);
  memset(pr, 0, sizeof *pr);
}

void tu_prob_copy(tu_prob *dst, const tu_prob *src)
{
  for (int a = 0; a < src->narr; a++)
    memcpy(dst->buf[a], src->buf[a], src->bytes[a]);
}

enum { ROLE_PARAM, ROLE_GRAD, ROLE_NONNEG, ROLE_SIGNED };

static uint64_t special_bits(tu_rng *r, optk_dtype t)
{
  tu_tinfo ti = tu_tinfo_of(t);
  int w = 1 + ti.ebits + ti.mbits;
  uint64_t sign = 1ull << (w - 1);
  uint64_t expmask = ((1ull << ti.ebits) - 1) << ti.mbits;
  uint64_t mantmask = (1ull << ti.mbits) - 1;
  uint64_t one = ((1ull << (ti.ebits - 1)) - 1) << ti.mbits;
  uint64_t rs = (tu_next(r) & 1) ? sign : 0;
  switch (tu_below(r, 14)) {
  case 0:
    return 0;
  case 1:
    return sign;
  case 2:
    return 1 | rs;
  case 3: {
    uint64_t m = tu_next(r) & mantmask;
    return (m ? m : 1) | rs; /* random denormal */
  }
  case 4:
    return mantmask | rs; /* largest denormal */
  case 5:
    return (1ull << ti.mbits) | rs; /* smallest normal */
  case 6:
    return (expmask - (1ull << ti.mbits)) | mantmask | rs; /* largest finite */
  case 7:
    return expmask;
  case 8:
    return expmask | sign;
  case 9:
    return expmask | (1ull << (ti.mbits - 1)) | rs; /* quiet NaN */
  case 10:
    return expmask | 1 | rs; /* signalling NaN */
  case 11:
    return expmask | (1ull << (ti.mbits - 1)) | (tu_next(r) & (mantmask >> 1)) | rs;
  case 12:
    return one | rs;
  default: {
    uint64_t m = tu_next(r) & mantmask;
    return (m ? m : 1) | rs;
  }
  }
}

static double normal_value(tu_rng *r, int role)
{
  double x = tu_normal(r);
  switch (role) {
  case ROLE_NONNEG:
    return fabs(x) + 1e-3;
  case ROLE_SIGNED:
    return 0.3 * x;
  default:
    return x;
  }
}

static void gen_elem(tu_rng *r, int cls, int role, optk_dtype t, void *base, size_t i)
{
  tu_tinfo ti = tu_tinfo_of(t);
  switch (cls) {
  case TU_VAL_SPECIAL:
    if (tu_below(r, 4) == 0) {
      tu_put_bits(t, base, i, special_bits(r, t));
      return;
    }
    tu_put(t, base, i, normal_value(r, role));
    return;
  case TU_VAL_MAGNITUDE: {
    int bias = (1 << (ti.ebits - 1)) - 1;
    int elo = 1 - bias - ti.mbits - 2, ehi = bias + 1;
    int e = elo + (int)tu_below(r, (uint32_t)(ehi - elo + 1));
    double x = ldexp(1.0 + tu_uniform(r), e);
    if (role != ROLE_NONNEG && (tu_next(r) & 1))
      x = -x;
    tu_put(t, base, i, x);
    return;
  }
  case TU_VAL_BITS:
    tu_put_bits(t, base, i, tu_next(r));
    return;
  default:
    tu_put(t, base, i, normal_value(r, role));
    return;
  }
}

void tu_prob_fill(tu_prob *pr, int cls, tu_rng *r)
{
  for (int a = 0; a < pr->narr; a++) {
    int role = a == 0 ? ROLE_PARAM : a == 1 ? ROLE_GRAD : ROLE_SIGNED;
    if (a >= 2 && tu_state_nonneg(pr->k, a - 2))
      role = ROLE_NONNEG;
    optk_dtype t = tu_arr_type(pr, a);
    for (size_t i = 0; i < pr->n; i++)
      gen_elem(r, cls, role, t, pr->arr[a], i);
  }
}

/* Whether bytes [from, to) of array a's buffer still hold their canaries;
 * the first that does not goes to *byte. */
static int canaries_intact(const tu_prob *pr, int a, size_t from, size_t to, size_t *byte)
{
  for (size_t j = from; j < to; j++)
    if (pr->buf[a][j] != canary_byte(a, j)) {
      *byte = j;
      return 0;
    }
  return 1;
}

int tu_prob_canaries_ok(const tu_prob *pr, int *arr, size_t *byte)
{
  for (int a = 0; a < pr->narr; a++) {
    size_t es = tu_esize(tu_arr_type(pr, a));
    size_t lo = pr->off * es, hi = (pr->off + pr->n) * es;
    if (!canaries_intact(pr, a, 0, lo, byte) || !canaries_intact(pr, a, hi, pr->bytes[a], byte)) {
      *arr = a;
      return 0;
    }
  }
  return 1;
}

size_t tu_prob_diff(const tu_prob *x, const tu_prob *y, int *arr)
{
  for (int a = 0; a < x->narr; a++) {
    optk_dtype t = tu_arr_type(x, a);
    if (memcmp(x->arr[a], y->arr[a], x->n * tu_esize(t)) == 0)
      continue; /* the same bits: the common case, without the per-element walk */
    for (size_t i = 0; i < x->n; i++)
      if (!tu_same_elem(t, x->arr[a], y->arr[a], i)) {
        *arr = a;
        return i;
      }
  }
  return SIZE_MAX;
}

int tu_prob_step(tu_prob *pr, int isa, const double *hp, int64_t t)
{
  if (isa < 0)
    return optk_step(pr->k, pr->n, pr->arr[0], pr->arr[1], pr->state, hp, t);
  return optk_step_isa(pr->k, (optk_isa)isa, pr->n, pr->arr[0], pr->arr[1], pr->state, hp, t);
}

/* ---- guard pages -------------------------------------------------------- */

void *tu_guard_alloc(tu_guard *gd, size_t bytes, int at_end)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t data = (bytes + page - 1) / page * page;
  if (data == 0)
    data = page;
  gd->len = data + page;
  gd->map = mmap(NULL, gd->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (gd->map == MAP_FAILED) {
    fprintf(stderr, "mmap: %s\n", strerror(errno));
    abort();
  }
  unsigned char *m = gd->map;
  if (at_end) {
    if (mprotect(m + data, page, PROT_NONE) != 0)
      abort();
    return m + data - bytes;
  }
  if (mprotect(m, page, PROT_NONE) != 0)
    abort();
  return m + page;
}

void tu_guard_free(tu_guard *gd)
{
  if (gd->map != NULL)
    munmap(gd->map, gd->len);
  gd->map = NULL;
}

/* ---- stderr capture ----------------------------------------------------- */

int tu_capture_begin(tu_capture *c)
{
  fflush(stderr);
  snprintf(c->path, sizeof c->path, "/tmp/optk_tests_stderr_XXXXXX");
  int fd = mkstemp(c->path);
  if (fd < 0)
    return -1;
  c->saved_fd = dup(2);
  if (c->saved_fd < 0 || dup2(fd, 2) < 0) {
    close(fd);
    unlink(c->path);
    return -1;
  }
  close(fd);
  return 0;
}

char *tu_capture_end(tu_capture *c)
{
  fflush(stderr);
  dup2(c->saved_fd, 2);
  close(c->saved_fd);
  FILE *f = fopen(c->path, "rb");
  char *text = calloc(1, 4096);
  if (f != NULL && text != NULL) {
    size_t got = fread(text, 1, 4095, f);
    text[got] = '\0';
  }
  if (f != NULL)
    fclose(f);
  unlink(c->path);
  return text;
}

int tu_slow_threads(void)
{
  const char *e = getenv("OPTK_TEST_SLOW_THREADS");
  return e != NULL && *e != '\0' && strcmp(e, "0") != 0;
}
