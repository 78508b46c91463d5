/* optk_digest: cross-architecture identity as a test.
 *
 * For every kernel (optimizer x storage type) and three sets (the defaults,
 * every default halved, switches and values whose half leaves the domain
 * kept, and "group": the defaults through optk_step_group over three tensors
 * with loss scaling, clipping, an f32 master for the middle tensor of 16-bit
 * kernels and stochastic rounding for the others, the norm of every step
 * digested too), runs a fixed 20-step trajectory
 * over 1000 elements (deterministic inputs from a fixed PRNG, with a sprinkle
 * of +-0, denormals, +-Inf, NaN and huge values) on every ISA this machine
 * runs, and takes an FNV-1a 64 digest of the final param and state bytes
 * (every NaN made one canonical pattern: NaN-ness must match, the payload
 * may not).  Every ISA must give the digest committed in FILE, which was
 * written on another machine, perhaps of another architecture.
 *
 *   optk_digest FILE            check; exit 1 on any difference.  A kernel
 *                               FILE lacks is a warning, with the command
 *                               that adds it: a new spec passes at once, and
 *                               its digests are committed once written.
 *   optk_digest --add FILE      check, then append the digests FILE lacks
 *                               (all ISAs here must agree first)
 *   optk_digest --write FILE    write FILE anew (all ISAs here must agree)
 *
 * FILE holds one line per kernel and set: "name dtype set digest".
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elems.h"
#include "optk_internal.h"
#include "optk_scalar.h"

#define N 1000
#define OFFSET 1 /* arrays start one element past an allocation: unaligned */
#define STEPS 20
#define NSETS 3
#define SET_GROUP 2

static const char *const set_names[NSETS] = { "default", "halved", "group" };


static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
  const unsigned char *b = data;
  for (size_t i = 0; i < len; i++)
    h = (h ^ b[i]) * 0x100000001b3u;
  return h;
}

static uint64_t fnv_str(uint64_t h, const char *s) { return fnv(h, s, strlen(s) + 1); }

/* Special values at every 37th element, cycling with the step. */
static double special(unsigned k)
{
  static const double v[] = { NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e-40, -3e-39, 1e-310,
                              1e30, -65504.0, 7e-8, 1e300 };
  return v[k % (sizeof v / sizeof v[0])];
}

/* Value i of an input stream: mostly uniform in [-1, 1) times a scale
 * between 2^-10 and 2^10, specials sprinkled. */
static double value(tu_rng *s, size_t i, unsigned step)
{
  const uint64_t r = tu_next(s);
  if (i % 37 == step % 37)
    return special((unsigned)(r % 1000));
  const double u = (double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0;
  return ldexp(u, (int)(r % 21) - 10);
}

static void put(optk_dtype d, void *a, size_t i, double x)
{
  switch (d) {
  case OPTK_F32: ((float *)a)[i] = (float)x; break;
  case OPTK_F64: ((double *)a)[i] = x; break;
  case OPTK_BF16: ((uint16_t *)a)[i] = optk_f32_to_bf16((float)x); break;
  case OPTK_F16: ((uint16_t *)a)[i] = optk_f32_to_f16((float)x); break;
  }
}

/* Digest of n elements of type d, every NaN hashed as the same bytes. */
static uint64_t digest_array(uint64_t h, optk_dtype d, const void *a, size_t n)
{
  const size_t w = tu_esize(d);
  static const unsigned char nan_bytes[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
  for (size_t i = 0; i < n; i++)
    h = tu_is_nan_bits(d, tu_get_bits(d, a, i)) ? fnv(h, nan_bytes, w) : fnv(h, (const char *)a + i * w, w);
  return h;
}

struct run {
  void *p, *st[OPTK_MAX_STATE]; /* OFFSET elements into their allocations */
  void *pbase, *stbase[OPTK_MAX_STATE];
  float *master; /* the group set, 16-bit kernels: the middle tensor's */
  uint64_t digest;
};

static int in_domain(const struct optk_hparam *h, double v)
{
  return (h->lo_open ? v > h->lo : v >= h->lo) && (h->hi_open ? v < h->hi : v <= h->hi);
}

/* The group set's step: the N elements as tensors of 1, 300 and the rest,
 * gradients made finite (a NaN would make every later value NaN, an Inf
 * every later step skipped).  The norm goes into *h. */
static int group_step(const optk_kernel *k, optk_isa isa, struct run *r, void *g, const double *hp, int64_t t,
                      uint64_t *h)
{
  const optk_dtype d = optk_dtype_of(k), sd = d == OPTK_F64 ? OPTK_F64 : OPTK_F32;
  const size_t es = tu_esize(d), ss = tu_esize(sd), len[3] = { 1, 300, N - 301 };
  for (size_t i = 0; i < N; i++)
    if (!isfinite(tu_get(d, g, i)))
      put(d, g, i, 0.0);
  optk_tensor ts[3];
  void *st[3][OPTK_MAX_STATE];
  for (size_t j = 0, at = 0; j < 3; at += len[j], j++) {
    for (int s = 0; s < optk_nstate(k); s++)
      st[j][s] = (char *)r->st[s] + at * ss;
    ts[j] = (optk_tensor){ len[j], (char *)r->p + at * es, (const char *)g + at * es, st[j],
                           j == 1 && r->master ? r->master : NULL };
  }
  const optk_group_opts o = { 0.5, 0.3, 1, 0x5eed };
  optk_group_result res;
  const int rc = optk__step_group_isa(k, isa, 3, ts, hp, t, &o, &res);
  *h = fnv(*h, &res.grad_norm, sizeof res.grad_norm);
  return rc;
}

/* Runs the trajectory of kernel k, hyperparameter set `set`, on isa. */
static int trajectory(const optk_kernel *k, int set, optk_isa isa, struct run *r)
{
  const optk_dtype d = optk_dtype_of(k), sd = d == OPTK_F64 ? OPTK_F64 : OPTK_F32;
  const int ns = optk_nstate(k);
  double hp[64];
  optk_default_hparams(k, hp);
  if (set == 1)
    for (int i = 0; i < optk_nhparams(k); i++)
      if (!k->hparams[i].is_bool && in_domain(&k->hparams[i], hp[i] * 0.5))
        hp[i] *= 0.5;
  /* The raw splitmix64 state (not tu_seed's scrambling): the committed digests came from it. */
  tu_rng seed = { fnv_str(fnv_str(fnv_str(0xcbf29ce484222325u, optk_name(k)), tu_dtype_name(d)), set_names[set]) };
  r->pbase = malloc((N + OFFSET) * tu_esize(d));
  void *gbase = malloc((N + OFFSET) * tu_esize(d));
  if (r->pbase == NULL || gbase == NULL)
    return -1;
  r->p = (char *)r->pbase + OFFSET * tu_esize(d);
  void *g = (char *)gbase + OFFSET * tu_esize(d);
  for (int j = 0; j < ns; j++) {
    r->stbase[j] = malloc((N + OFFSET) * tu_esize(sd));
    if (r->stbase[j] == NULL)
      return -1;
    r->st[j] = (char *)r->stbase[j] + OFFSET * tu_esize(sd);
  }
  for (size_t i = 0; i < N; i++)
    put(d, r->p, i, value(&seed, i, 0));
  r->master = NULL;
  if (set == SET_GROUP && (d == OPTK_BF16 || d == OPTK_F16)) {
    if ((r->master = malloc(300 * sizeof(float))) == NULL)
      return -1;
    for (size_t i = 0; i < 300; i++)
      r->master[i] = (float)tu_get(d, r->p, 1 + i);
  }
  int rc = optk_init_state(k, N, r->st, hp);
  uint64_t h = 0xcbf29ce484222325u;
  for (unsigned t = 1; rc == OPTK_OK && t <= STEPS; t++) {
    for (size_t i = 0; i < N; i++)
      put(d, g, i, value(&seed, i, t));
    rc = set == SET_GROUP ? group_step(k, isa, r, g, hp, t, &h) : optk_step_isa(k, isa, N, r->p, g, r->st, hp, t);
  }
  free(gbase);
  if (set != SET_GROUP)
    h = 0xcbf29ce484222325u; /* the earlier sets' digests: arrays only */
  if (r->master)
    h = digest_array(h, OPTK_F32, r->master, 300);
  h = digest_array(h, d, r->p, N);
  for (int j = 0; j < ns; j++)
    h = digest_array(h, sd, r->st[j], N);
  r->digest = h;
  return rc;
}

static void release(const optk_kernel *k, struct run *r)
{
  free(r->pbase);
  free(r->master);
  for (int j = 0; j < optk_nstate(k); j++)
    free(r->stbase[j]);
}

/* Names the first element where run b differs from run a. */
static void explain(const optk_kernel *k, const struct run *a, const struct run *b)
{
  const optk_dtype d = optk_dtype_of(k), sd = d == OPTK_F64 ? OPTK_F64 : OPTK_F32;
  for (size_t i = 0; i < N; i++)
    if (!tu_same_elem(d, a->p, b->p, i)) {
      fprintf(stderr, "    first difference: p[%zu]\n", i);
      return;
    }
  for (int j = 0; j < optk_nstate(k); j++)
    for (size_t i = 0; i < N; i++)
      if (!tu_same_elem(sd, a->st[j], b->st[j], i)) {
        fprintf(stderr, "    first difference: %s[%zu]\n", optk_state_name(k, j), i);
        return;
      }
}

struct entry {
  char name[64], dtype[8], set[16];
  uint64_t digest;
  int seen;
};

static struct entry *read_file(const char *path, size_t *count)
{
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return NULL;
  size_t cap = 64, n = 0;
  struct entry *e = malloc(cap * sizeof *e);
  char line[256];
  while (e != NULL && fgets(line, sizeof line, f) != NULL) {
    if (line[0] == '#' || line[0] == '\n')
      continue;
    if (n == cap) {
      struct entry *grown = realloc(e, (cap *= 2) * sizeof *e);
      if (grown == NULL) {
        free(e);
        e = NULL;
        break;
      }
      e = grown;
    }
    if (sscanf(line, "%63s %7s %15s %" SCNx64, e[n].name, e[n].dtype, e[n].set, &e[n].digest) == 4) {
      e[n].seen = 0;
      n++;
    } else {
      fprintf(stderr, "optk_digest: %s: cannot read line: %s", path, line);
    }
  }
  fclose(f);
  *count = n;
  return e;
}

int main(int argc, char **argv)
{
  const int write = argc == 3 && strcmp(argv[1], "--write") == 0;
  const int add = argc == 3 && strcmp(argv[1], "--add") == 0;
  if (argc != 2 + (write || add)) {
    fprintf(stderr, "usage: optk_digest [--add | --write] FILE\n");
    return 2;
  }
  const char *path = argv[1 + (write || add)];
  size_t nentries = 0;
  struct entry *entries = NULL;
  if (!write && (entries = read_file(path, &nentries)) == NULL) {
    fprintf(stderr, "optk_digest: cannot read %s (optk_digest --write %s makes it)\n", path, path);
    return 1;
  }
  FILE *out = write ? fopen(path, "w") : NULL;
  if (write && out == NULL) {
    fprintf(stderr, "optk_digest: cannot write %s\n", path);
    return 1;
  }
  if (out)
    fprintf(out, "# Written by optk_digest --write (tests/digest.c): name dtype set FNV-1a-64.\n");

  char isas[64] = "";
  int nisas = 0;
  for (int isa = 0; isa < OPTK_ISA_COUNT; isa++)
    if (optk_isa_available((optk_isa)isa)) {
      strcat(strcat(isas, nisas ? " " : ""), optk_isa_name((optk_isa)isa));
      nisas++;
    }

  int failures = 0, checked = 0, missing = 0;
  char *added = NULL; /* --add: the lines to append */
  size_t added_len = 0;
  for (size_t ki = 0; ki < optk_count(); ki++) {
    const optk_kernel *k = optk_at(ki);
    const char *dname = tu_dtype_name(optk_dtype_of(k));
    for (int set = 0; set < NSETS; set++) {
      struct entry *want = NULL;
      for (size_t i = 0; i < nentries; i++)
        if (strcmp(entries[i].name, optk_name(k)) == 0 && strcmp(entries[i].dtype, dname) == 0 &&
            strcmp(entries[i].set, set_names[set]) == 0)
          want = &entries[i];
      if (!write && !add && want == NULL) {
        fprintf(stderr, "WARNING %s %s %s: no digest in %s yet\n", optk_name(k), dname, set_names[set], path);
        missing++;
        continue;
      }
      if (want)
        want->seen = 1;
      struct run base;
      memset(&base, 0, sizeof base);
      if (trajectory(k, set, OPTK_ISA_SCALAR, &base) != OPTK_OK) {
        fprintf(stderr, "FAIL %s %s %s: scalar step refused\n", optk_name(k), dname, set_names[set]);
        failures++;
        release(k, &base);
        continue;
      }
      for (int isa = 0; isa < OPTK_ISA_COUNT; isa++) {
        if (!optk_isa_available((optk_isa)isa))
          continue;
        struct run r;
        memset(&r, 0, sizeof r);
        const int rc = isa == OPTK_ISA_SCALAR ? OPTK_OK : trajectory(k, set, (optk_isa)isa, &r);
        const uint64_t got = isa == OPTK_ISA_SCALAR ? base.digest : r.digest;
        checked++;
        if (rc != OPTK_OK) {
          fprintf(stderr, "FAIL %s %s %s %s: step returned %d\n", optk_name(k), dname, set_names[set],
                  optk_isa_name((optk_isa)isa), rc);
          failures++;
        } else if (got != (want == NULL ? base.digest : want->digest)) {
          fprintf(stderr, "FAIL %s %s %s %s: digest %016" PRIx64 ", expected %016" PRIx64 " (%s)\n", optk_name(k),
                  dname, set_names[set], optk_isa_name((optk_isa)isa), got, want == NULL ? base.digest : want->digest,
                  want == NULL ? "scalar, here" : path);
          if (isa != OPTK_ISA_SCALAR)
            explain(k, &base, &r);
          failures++;
        }
        if (isa != OPTK_ISA_SCALAR)
          release(k, &r);
      }
      if (out)
        fprintf(out, "%s %s %s %016" PRIx64 "\n", optk_name(k), dname, set_names[set], base.digest);
      if (add && want == NULL) {
        char line[160];
        int len = snprintf(line, sizeof line, "%s %s %s %016" PRIx64 "\n", optk_name(k), dname, set_names[set],
                           base.digest);
        char *grown = realloc(added, added_len + (size_t)len + 1);
        if (grown == NULL)
          return 1;
        added = grown;
        memcpy(added + added_len, line, (size_t)len + 1);
        added_len += (size_t)len;
      }
      release(k, &base);
    }
  }
  for (size_t i = 0; i < nentries; i++)
    if (!entries[i].seen) {
      fprintf(stderr, "FAIL %s %s %s: in %s but no such kernel (rerun optk_digest --write)\n", entries[i].name,
              entries[i].dtype, entries[i].set, path);
      failures++;
    }
  free(entries);
  int appended = 0;
  if (add && failures == 0 && added_len > 0) {
    FILE *f = fopen(path, "a");
    if (f == NULL || fwrite(added, 1, added_len, f) != added_len || fclose(f) != 0) {
      fprintf(stderr, "optk_digest: cannot append to %s\n", path);
      return 1;
    }
    for (size_t i = 0; i < added_len; i++)
      appended += added[i] == '\n';
  }
  free(added);
  if (out && fclose(out) != 0) {
    fprintf(stderr, "optk_digest: cannot write %s\n", path);
    return 1;
  }
  printf("optk_digest: %zu kernels x %d sets x %d ISAs (%s), %d trajectories: %d failed%s%s\n", optk_count(), NSETS,
         nisas, isas, checked, failures, write ? "; wrote " : "", write ? path : "");
  if (appended > 0)
    printf("optk_digest: appended %d digests to %s; commit them\n", appended, path);
  if (missing > 0)
    fprintf(stderr,
            "WARNING optk_digest: %d kernel x set pairs have no digest in %s, so nothing holds their bits yet.\n"
            "  Add them (after checking the new kernels) with:  %s --add %s\n",
            missing, path, argv[0], path);
  if (write && failures > 0)
    remove(path);
  return failures == 0 ? 0 : 1;
}
