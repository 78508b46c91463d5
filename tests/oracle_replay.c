/* oracle_replay: replays the committed oracle trajectories (tests/oracle/,
 * written by torch.optim, TensorFlow.js and a double-precision restatement of
 * Keras 3's formulas; see tests/oracle/README.md) through optk_step.
 *
 *   oracle_replay FILE.json...
 *
 * Every case names a kernel, a storage type (f32 or f64), hyperparameters by
 * name, the initial parameters, the gradient of every step and the
 * parameters after every step, and maybe the final state by name.  The
 * hyperparameter order comes from the registry (optk_hparam_name); one the
 * case does not give takes optk_hparam_default; one the kernel does not have
 * fails the case, as does a state name it does not have.
 *
 * Error measure, per element e and step t:
 *
 *   err = max(0, |p_ours - p_ref| - 2u * sum_{s<=t} |p_ref(s)|) / (L + tiny)
 *   L   = sum_{s<=t} |p_ref(s) - p_ref(s-1)|   (the path length so far)
 *
 * with u the unit roundoff of the storage type (2^-24, 2^-53).  The path
 * length makes the error relative to how far the parameter moved; the
 * allowance of 2u|p| per step is what storing p rounds away, once in the
 * reference and once here, so a step smaller than p's last digit (p = 100
 * moved by 1e-10) is judged by what the storage type can hold.  The final
 * state is judged norm-wise: max |s_ours - s_ref| / max |s_ref| over the
 * elements of each state array.
 *
 * Tolerances: TOL_F64 = 1e-12 for f64 cases, TOL_F32 = 1e-5 for f32 cases.
 *
 * It prints one line per kernel (its worst error and where), then
 * "N passed, N failed" over kernels.  A kernel named in a file but absent
 * from the registry fails.  Exit status: 0 if every kernel passed, 1 if one
 * failed, 2 if a file is missing or malformed.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optkern.h"
#include "oracle_json.h"

#define TOL_F64 1e-12
#define TOL_F32 1e-5

typedef struct {
  char *name;
  int ncases, nfailed, nmeasured;
  double worst;             /* the worst error of the kernel's cases */
  char where[160];          /* source, label and dtype of that case */
  char reason[200];         /* the first failure's reason, if any */
} kernel_row;

static kernel_row *rows;
static size_t nrows;
static int malformed;

static kernel_row *row_of(const char *name)
{
  for (size_t i = 0; i < nrows; i++)
    if (strcmp(rows[i].name, name) == 0)
      return &rows[i];
  kernel_row *nr = realloc(rows, (nrows + 1) * sizeof *nr);
  char *copy = malloc(strlen(name) + 1);
  if (!nr || !copy) {
    fprintf(stderr, "oracle_replay: out of memory\n");
    exit(2);
  }
  rows = nr;
  strcpy(copy, name);
  memset(&rows[nrows], 0, sizeof rows[nrows]);
  rows[nrows].name = copy;
  return &rows[nrows++];
}

static char *read_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "oracle_replay: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 20, len = 0, got;
  char *buf = malloc(cap + 1);
  while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) {
      char *nb = realloc(buf, (cap *= 2) + 1);
      if (!nb)
        free(buf);
      buf = nb;
    }
  }
  const int bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    fprintf(stderr, "oracle_replay: %s: %s\n", path, bad ? "read error" : "out of memory");
    free(buf);
    return NULL;
  }
  buf[len] = '\0';
  if (strlen(buf) != len) {
    fprintf(stderr, "oracle_replay: %s: NUL byte in the file\n", path);
    free(buf);
    return NULL;
  }
  return buf;
}

/* A case's arrays as doubles (exact for both types: an f32 number is read
 * with strtof, then widened). */
typedef struct {
  size_t n, steps;
  double *param0, *grads, *params; /* n, steps * n, steps * n */
} trajectory;

static int read_vec(const oj_value *a, size_t n, optk_dtype d, double *out, const char **why)
{
  if (!a || a->type != OJ_ARR || a->n != n) {
    *why = "array missing or of the wrong length";
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (a->items[i].type != OJ_NUM) {
      *why = "non-number in an array";
      return -1;
    }
    out[i] = d == OPTK_F32 ? (double)strtof(a->items[i].num, NULL) : strtod(a->items[i].num, NULL);
  }
  return 0;
}

static int read_rows(const oj_value *a, size_t steps, size_t n, optk_dtype d, double *out,
                     const char **why)
{
  if (!a || a->type != OJ_ARR || a->n != steps) {
    *why = "grads or params: not one row per step";
    return -1;
  }
  for (size_t t = 0; t < steps; t++)
    if (read_vec(&a->items[t], n, d, out + t * n, why))
      return -1;
  return 0;
}

static void store(optk_dtype d, void *a, size_t i, double x)
{
  if (d == OPTK_F32)
    ((float *)a)[i] = (float)x;
  else
    ((double *)a)[i] = x;
}

static double load(optk_dtype d, const void *a, size_t i)
{
  return d == OPTK_F32 ? (double)((const float *)a)[i] : ((const double *)a)[i];
}

/* Replays one case; returns its error (> tolerance or NAN on failure) and
 * sets *why for a failure that is no error size. */
static double replay(const optk_kernel *k, optk_dtype d, const oj_value *c, const trajectory *tr,
                     const char **why)
{
  static char msg[200];
  const size_t n = tr->n;
  const int nh = optk_nhparams(k), ns = optk_nstate(k);
  const oj_value *hpo = oj_get(c, "hparams"), *sto = oj_get(c, "state");
  double *hp = calloc((size_t)nh + 1, sizeof *hp);
  void *p = malloc(n * sizeof(double) + 1), *g = malloc(n * sizeof(double) + 1);
  void **st = calloc((size_t)ns + 1, sizeof *st);
  double err = NAN;
  *why = NULL;
  if (!hp || !p || !g || !st) {
    *why = "out of memory";
    goto out;
  }
  for (int i = 0; i < ns; i++)
    if (!(st[i] = malloc(n * sizeof(double) + 1))) {
      *why = "out of memory";
      goto out;
    }
  optk_default_hparams(k, hp);
  for (size_t j = 0; hpo && j < hpo->n; j++) {
    int i = 0;
    while (i < nh && strcmp(optk_hparam_name(k, i), hpo->keys[j]) != 0)
      i++;
    if (i == nh) {
      snprintf(msg, sizeof msg, "the kernel has no hyperparameter '%s'", hpo->keys[j]);
      *why = msg;
      goto out;
    }
    hp[i] = strtod(hpo->items[j].num, NULL);
  }
  if (optk_init_state(k, n, st, hp) != OPTK_OK) {
    *why = "optk_init_state refused the hyperparameters";
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    store(d, p, i, tr->param0[i]);
  const double u = d == OPTK_F32 ? 0x1p-24 : 0x1p-53;
  double worst = 0;
  double *path = calloc(n, sizeof *path), *mass = calloc(n, sizeof *mass);
  if (!path || !mass) {
    free(path);
    free(mass);
    *why = "out of memory";
    goto out;
  }
  for (size_t t = 0; t < tr->steps; t++) {
    for (size_t i = 0; i < n; i++)
      store(d, g, i, tr->grads[t * n + i]);
    const int rc = optk_step(k, n, p, g, st, hp, (int64_t)t + 1);
    if (rc != OPTK_OK) {
      snprintf(msg, sizeof msg, "optk_step: %s at step %zu", optk_strerror(rc), t + 1);
      *why = msg;
      break;
    }
    for (size_t i = 0; i < n; i++) {
      const double ref = tr->params[t * n + i];
      const double prev = t ? tr->params[(t - 1) * n + i] : tr->param0[i];
      path[i] += fabs(ref - prev);
      mass[i] += fabs(ref);
      const double ours = load(d, p, i);
      double e = fabs(ours - ref) - 2 * u * mass[i];
      e = e > 0 ? e / (path[i] + DBL_MIN) : 0;
      if (!(e <= worst)) /* NaN sticks */
        worst = e;
    }
  }
  /* The final state, norm-wise per array. */
  for (size_t j = 0; !*why && sto && j < sto->n; j++) {
    int i = 0;
    while (i < ns && strcmp(optk_state_name(k, i), sto->keys[j]) != 0)
      i++;
    if (i == ns) {
      snprintf(msg, sizeof msg, "the kernel has no state '%s'", sto->keys[j]);
      *why = msg;
      break;
    }
    double *ref = malloc(n * sizeof *ref);
    if (!ref || read_vec(&sto->items[j], n, d, ref, why)) {
      if (!ref)
        *why = "out of memory";
      free(ref);
      break;
    }
    double big = 0, diff = 0;
    for (size_t e = 0; e < n; e++) {
      const double dd = fabs(load(d, st[i], e) - ref[e]);
      big = fabs(ref[e]) > big ? fabs(ref[e]) : big;
      diff = dd > diff || dd != dd ? dd : diff;
    }
    free(ref);
    const double e = diff > 0 ? diff / (big + DBL_MIN) : 0;
    if (!(e <= worst))
      worst = e;
  }
  free(path);
  free(mass);
  if (!*why)
    err = worst;
out:
  if (st)
    for (int i = 0; i < ns; i++)
      free(st[i]);
  free(st);
  free(hp);
  free(p);
  free(g);
  return err;
}

static void record(kernel_row *r, double err, double tol, const char *why, const char *where)
{
  r->ncases++;
  if (why || !(err <= tol)) {
    if (!r->nfailed)
      snprintf(r->reason, sizeof r->reason, "%s: %s", where, why ? why : "error above tolerance");
    r->nfailed++;
  }
  if (!why && (r->nmeasured++ == 0 || !(err <= r->worst))) { /* NaN is the worst */
    r->worst = err;
    snprintf(r->where, sizeof r->where, "%s", where);
  }
}

static int bad_file(const char *path, const char *what)
{
  fprintf(stderr, "oracle_replay: %s: malformed: %s\n", path, what);
  malformed = 1;
  return -1;
}

static int replay_file(const char *path)
{
  char *text = read_file(path);
  if (!text) {
    malformed = 1;
    return -1;
  }
  oj_value root;
  char err[200];
  if (oj_parse(text, &root, err, sizeof err)) {
    free(text);
    return bad_file(path, err);
  }
  const oj_value *src = oj_get(&root, "source"), *cases = oj_get(&root, "cases");
  int rc = 0;
  if (!src || src->type != OJ_STR || !cases || cases->type != OJ_ARR || cases->n == 0) {
    rc = bad_file(path, "no \"source\" string or nonempty \"cases\" array at the top");
    goto done;
  }
  for (size_t ci = 0; ci < cases->n; ci++) {
    const oj_value *c = &cases->items[ci];
    const oj_value *kn = oj_get(c, "kernel"), *dt = oj_get(c, "dtype"), *lb = oj_get(c, "label");
    const oj_value *nv = oj_get(c, "n"), *sv = oj_get(c, "steps"), *hpo = oj_get(c, "hparams");
    const oj_value *sto = oj_get(c, "state");
    char what[160];
    if (!kn || kn->type != OJ_STR || !dt || dt->type != OJ_STR || !lb || lb->type != OJ_STR ||
        !nv || nv->type != OJ_NUM || !sv || sv->type != OJ_NUM || !hpo || hpo->type != OJ_OBJ ||
        (sto && sto->type != OJ_OBJ)) {
      snprintf(what, sizeof what, "case %zu lacks kernel, dtype, label, n, steps or hparams", ci);
      rc = bad_file(path, what);
      continue;
    }
    int bad_hp = 0;
    for (size_t j = 0; j < hpo->n; j++)
      bad_hp |= hpo->items[j].type != OJ_NUM;
    const long n = strtol(nv->num, NULL, 10), steps = strtol(sv->num, NULL, 10);
    optk_dtype d;
    if (strcmp(dt->str, "f32") == 0) {
      d = OPTK_F32;
    } else if (strcmp(dt->str, "f64") == 0) {
      d = OPTK_F64;
    } else {
      snprintf(what, sizeof what, "case %zu: dtype '%s' (f32 or f64)", ci, dt->str);
      rc = bad_file(path, what);
      continue;
    }
    if (n < 1 || n > 1000000 || steps < 1 || steps > 100000 || bad_hp) {
      snprintf(what, sizeof what, "case %zu: n, steps or a hyperparameter out of range", ci);
      rc = bad_file(path, what);
      continue;
    }
    trajectory tr = { (size_t)n, (size_t)steps, NULL, NULL, NULL };
    tr.param0 = malloc(tr.n * sizeof(double));
    tr.grads = malloc(tr.n * tr.steps * sizeof(double));
    tr.params = malloc(tr.n * tr.steps * sizeof(double));
    const char *why = NULL;
    if (!tr.param0 || !tr.grads || !tr.params) {
      why = "out of memory";
    } else if (read_vec(oj_get(c, "param0"), tr.n, d, tr.param0, &why) ||
               read_rows(oj_get(c, "grads"), tr.steps, tr.n, d, tr.grads, &why) ||
               read_rows(oj_get(c, "params"), tr.steps, tr.n, d, tr.params, &why)) {
      snprintf(what, sizeof what, "case %zu (%s %s): %s", ci, kn->str, lb->str, why);
      rc = bad_file(path, what);
    } else {
      char where[160];
      snprintf(where, sizeof where, "%s %s %s", src->str, lb->str, dt->str);
      const optk_kernel *k = optk_find(kn->str, d);
      const double tol = d == OPTK_F32 ? TOL_F32 : TOL_F64;
      double e = NAN;
      if (!k)
        why = "not in the registry";
      else
        e = replay(k, d, c, &tr, &why);
      record(row_of(kn->str), e, tol, why, where);
    }
    free(tr.param0);
    free(tr.grads);
    free(tr.params);
  }
done:
  oj_free(&root);
  free(text);
  return rc;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: oracle_replay FILE.json...\n");
    return 2;
  }
  for (int i = 1; i < argc; i++)
    replay_file(argv[i]);
  printf("oracle replay: error = |ours - ref| beyond 2u|p| per step, over the path length; "
         "tolerance f64 %g, f32 %g\n", TOL_F64, TOL_F32);
  int passed = 0, failed = 0;
  for (size_t i = 0; i < nrows; i++) {
    const kernel_row *r = &rows[i];
    if (r->nfailed) {
      failed++;
      printf("FAIL %-32s %d/%d cases failed; first: %s", r->name, r->nfailed, r->ncases, r->reason);
      if (r->nmeasured)
        printf("; worst %.3g (%s)", r->worst, r->where);
      printf("\n");
    } else {
      passed++;
      printf("ok   %-32s worst %.3g (%s), %d cases\n", r->name, r->worst, r->where, r->ncases);
    }
    free(r->name);
  }
  free(rows);
  printf("%d passed, %d failed\n", passed, failed);
  if (malformed)
    fprintf(stderr, "oracle_replay: a file was missing or malformed (see above)\n");
  return malformed ? 2 : failed ? 1 : 0;
}
