/* The IR interpreter of ir_eval.h: long double values with error bounds. */
#include "ir_eval.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optk_internal.h"

/* Every operation of generator/lib/optgen/ir.lua (its ops table, the
 * leaves, and prod), with its operand count. */
enum {
  OP_CONST, OP_HPARAM, OP_T, OP_LOAD, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_NEG, OP_SQRT, OP_ABS,
  OP_MIN, OP_MAX, OP_FMA, OP_FMS, OP_FNMA, OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE, OP_SELECT,
  OP_POW, OP_EXP, OP_LOG, OP_PROD, OP_COUNT
};
static const struct {
  const char *name;
  int arity;
} ops[OP_COUNT] = {
  [OP_CONST] = {"const", 0}, [OP_HPARAM] = {"hparam", 0}, [OP_T] = {"t", 0},
  [OP_LOAD] = {"load", 0},   [OP_ADD] = {"add", 2},       [OP_SUB] = {"sub", 2},
  [OP_MUL] = {"mul", 2},     [OP_DIV] = {"div", 2},       [OP_NEG] = {"neg", 1},
  [OP_SQRT] = {"sqrt", 1},   [OP_ABS] = {"abs", 1},       [OP_MIN] = {"min", 2},
  [OP_MAX] = {"max", 2},     [OP_FMA] = {"fma", 3},       [OP_FMS] = {"fms", 3},
  [OP_FNMA] = {"fnma", 3},   [OP_LT] = {"lt", 2},         [OP_LE] = {"le", 2},
  [OP_GT] = {"gt", 2},       [OP_GE] = {"ge", 2},         [OP_EQ] = {"eq", 2},
  [OP_NE] = {"ne", 2},       [OP_SELECT] = {"select", 3}, [OP_POW] = {"pow", 2},
  [OP_EXP] = {"exp", 1},     [OP_LOG] = {"log", 1},       [OP_PROD] = {"prod", 1},
};

static int op_of(const char *name)
{
  for (int i = 0; i < OP_COUNT; i++)
    if (strcmp(ops[i].name, name) == 0)
      return i;
  return -1;
}

/* The interpreter's own rounding (long double), added to every op's u. */
#define U_LD 0x1p-63L
#define MAX_T 1000000

const struct optk_irp *ire_find(const char *name)
{
  for (int i = 0; i < optk_irp_count; i++)
    if (name != NULL && strcmp(optk_irp_all[i].name, name) == 0)
      return &optk_irp_all[i];
  return NULL;
}

int ire_validate(const struct optk_irp *p, const optk_kernel *k, char *msg, size_t size)
{
  const int ns = optk_nstate(k);
  const int nstore = k->nnorms > 0 ? 0 : 1 + ns; /* two-phase kernels: initial values only (ir_prog.h) */
  if (p->nhparams != optk_nhparams(k) || p->ninit != ns || p->nstore != nstore) {
    snprintf(msg, size, "%s: the IR has %d hyperparameters, %d state inits, %d stores; the kernel %d, %d, %d",
             p->name, p->nhparams, p->ninit, p->nstore, optk_nhparams(k), ns, nstore);
    return -1;
  }
  for (int i = 0; i < p->nnodes; i++) {
    const struct optk_irp_node *n = &p->nodes[i];
    const int op = op_of(n->op);
    if (op < 0) {
      snprintf(msg, size, "%s: node %d: IR operation '%s' unknown to tests/ir_eval.c", p->name, i, n->op);
      return -1;
    }
    for (int j = 0; j < 3; j++) {
      const int a = n->arg[j];
      if ((j < ops[op].arity) != (a >= 0) || a >= i ||
          (a >= 0 && !n->elem && p->nodes[a].elem)) {
        snprintf(msg, size, "%s: node %d (%s): operand %d is %d", p->name, i, n->op, j, a);
        return -1;
      }
    }
    if ((op == OP_HPARAM && (n->ref < 0 || n->ref >= p->nhparams)) ||
        (op == OP_LOAD && (n->ref < 0 || n->ref > 1 + ns || !n->elem))) {
      snprintf(msg, size, "%s: node %d (%s): reference %d out of range", p->name, i, n->op, n->ref);
      return -1;
    }
  }
  for (int s = 0; s < p->nstore + p->ninit; s++) {
    const int r = s < p->nstore ? p->store[s] : p->init[s - p->nstore];
    if (r < 0 || r >= p->nnodes || (s >= p->nstore && p->nodes[r].elem)) {
      snprintf(msg, size, "%s: root %d is node %d", p->name, s, r);
      return -1;
    }
  }
  return 0;
}

/* ---- one operation ------------------------------------------------------ */

/* Whether v is a value of the type whose unit roundoff is u. */
static int representable(long double v, long double u)
{
  return u > 0x1p-30L ? (long double)(float)v == v : (long double)(double)v == v;
}

static long double rnd(long double v, long double u, long double eta)
{
  return isfinite(v) ? u * fabsl(v) + eta : 0.0L;
}

/* A result whose operands carry the error prop: its rounding adds nothing
 * when the exact result of exact operands is a value of the type. */
static ire_val result(long double v, long double prop, long double u, long double eta)
{
  const long double err = prop == 0 && representable(v, u) ? 0.0L : prop + rnd(v, u, eta);
  ire_val r = {v, isnan(err) ? INFINITY : err, 0, 0};
  return r;
}

static ire_val num(long double v, long double err)
{
  ire_val r = {v, isnan(err) ? INFINITY : err, 0, 0};
  return r;
}

static long double maxl(long double a, long double b)
{
  return a > b ? a : b;
}

/* Largest distance of f over the corners of [a - ea, a + ea] x [b - eb, b + eb]
 * from v: f is monotone in each operand where it is used (pow with a > 0,
 * exp, log), so the corners bound it.  Infinite if a corner leaves f's domain. */
static long double corners(long double (*f)(long double, long double), long double v, ire_val a, ire_val b)
{
  long double worst = 0.0L;
  for (int i = 0; i < 4; i++) {
    long double x = f(a.v + ((i & 1) ? a.err : -a.err), b.v + ((i & 2) ? b.err : -b.err));
    if (isnan(x) != isnan(v))
      return INFINITY;
    if (!isnan(x))
      worst = maxl(worst, fabsl(x - v));
  }
  return worst;
}

static long double f_pow(long double a, long double b) { return powl(a, b); }
static long double f_exp(long double a, long double b) { (void)b; return expl(a); }
static long double f_log(long double a, long double b) { (void)b; return logl(a); }

static ire_val mul(ire_val a, ire_val b, long double u, long double eta)
{
  const long double v = a.v * b.v;
  return result(v, fabsl(a.v) * b.err + fabsl(b.v) * a.err + a.err * b.err, u, eta);
}

/* a*b + s*c, one rounding (fma: s = 1, fms: s = -1); fnma is c - a*b. */
static ire_val fused(ire_val a, ire_val b, ire_val c, long double s, long double u, long double eta)
{
  const long double v = a.v * b.v + s * c.v;
  return result(v, fabsl(a.v) * b.err + fabsl(b.v) * a.err + a.err * b.err + c.err, u, eta);
}

static ire_val compare(int op, ire_val a, ire_val b)
{
  int m = 0;
  switch (op) {
  case OP_LT: m = a.v < b.v; break;
  case OP_LE: m = a.v <= b.v; break;
  case OP_GT: m = a.v > b.v; break;
  case OP_GE: m = a.v >= b.v; break;
  case OP_EQ: m = a.v == b.v; break;
  default: m = a.v != b.v; break;
  }
  ire_val r = {0.0L, 0.0L, m, 0};
  /* the library's operands may lie anywhere within their bounds */
  r.unsure = a.err + b.err > 0 && !(fabsl(a.v - b.v) > a.err + b.err);
  return r;
}

/* Evaluates op on its operands x[0..2]; libm's functions within 4u. */
static ire_val apply(int op, const ire_val *x, long double u, long double eta)
{
  const ire_val a = x[0], b = x[1], c = x[2];
  long double v;
  switch (op) {
  case OP_ADD: v = a.v + b.v; return result(v, a.err + b.err, u, eta);
  case OP_SUB: v = a.v - b.v; return result(v, a.err + b.err, u, eta);
  case OP_MUL: return mul(a, b, u, eta);
  case OP_DIV:
    v = a.v / b.v;
    if (b.err == 0.0L)
      return result(v, a.err / fabsl(b.v), u, eta);
    if (!(fabsl(b.v) > b.err))
      return num(v, INFINITY);
    return result(v, (a.err + fabsl(v) * b.err) / (fabsl(b.v) - b.err), u, eta);
  case OP_NEG: return num(-a.v, a.err);
  case OP_ABS: return num(fabsl(a.v), a.err);
  case OP_SQRT: {
    v = sqrtl(a.v);
    if (a.v < 0)
      return num(v, a.v + a.err >= 0 ? INFINITY : 0.0L);
    const long double lo = a.v - a.err > 0 ? sqrtl(a.v - a.err) : 0.0L;
    return result(v, maxl(sqrtl(a.v + a.err) - v, v - lo), u, eta);
  }
  case OP_MIN: return num(a.v < b.v ? a.v : b.v, maxl(a.err, b.err));
  case OP_MAX: return num(a.v > b.v ? a.v : b.v, maxl(a.err, b.err));
  case OP_FMA: return fused(a, b, c, 1.0L, u, eta);
  case OP_FMS: return fused(a, b, c, -1.0L, u, eta);
  case OP_FNMA: {
    ire_val r = fused(a, b, c, -1.0L, u, eta);
    r.v = -r.v;
    return r;
  }
  case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE:
    return compare(op, a, b);
  case OP_SELECT: {
    const ire_val pick = a.mask ? b : c, other = a.mask ? c : b;
    if (!a.unsure)
      return num(pick.v, pick.err);
    return num(pick.v, maxl(pick.err, fabsl(b.v - c.v) + other.err));
  }
  case OP_POW: {
    /* the library's pow: binary powering for an integral exponent (about
     * two roundings per bit of it), else exp(y log x), whose argument's
     * rounding grows with |y log x| */
    const long double bits = fabsl(b.v) > 1 ? log2l(fabsl(b.v)) : 0;
    const long double arg = a.v > 0 ? fabsl(b.v * logl(a.v)) : 0;
    v = powl(a.v, b.v);
    return result(v, corners(f_pow, v, a, b), (4 + 2 * bits + arg) * u, eta);
  }
  case OP_EXP: v = expl(a.v); return result(v, corners(f_exp, v, a, num(0, 0)), 4 * u, eta);
  case OP_LOG: v = logl(a.v); return result(v, corners(f_log, v, a, num(0, 0)), 4 * u, eta);
  default:
    fprintf(stderr, "ir_eval: operation %s has no evaluation rule\n", ops[op].name);
    abort();
  }
}

/* A finite value that the library's type may not hold: anything goes. */
static ire_val overflow(ire_val x, long double big)
{
  if (!x.mask && isfinite(x.v) && !(fabsl(x.v) + x.err <= big))
    x.err = INFINITY;
  return x;
}

static int op_checked(const struct optk_irp *p, int i)
{
  const int op = op_of(p->nodes[i].op);
  if (op < 0) {
    fprintf(stderr, "ir_eval: %s: node %d: unknown IR operation '%s' (teach tests/ir_eval.c)\n", p->name, i,
            p->nodes[i].op);
    abort();
  }
  return op;
}

/* ---- per call ----------------------------------------------------------- */

#define U_D (0x1p-53L + U_LD)
#define ETA_D 0x1p-1075L

/* Per-call nodes 0..last at step t into val, in double as the library. */
static void percall(const struct optk_irp *p, const double *hp, int64_t t, int last, ire_val *val)
{
  for (int i = 0; i <= last; i++) {
    const struct optk_irp_node *n = &p->nodes[i];
    if (n->elem)
      continue;
    const int op = op_checked(p, i);
    ire_val x[3] = {{0}};
    for (int j = 0; j < 3; j++)
      if (n->arg[j] >= 0)
        x[j] = val[n->arg[j]];
    switch (op) {
    case OP_CONST: val[i] = num(n->value, 0); break;
    case OP_HPARAM: val[i] = num(hp[n->ref], 0); break;
    case OP_T: val[i] = num((long double)t, 0); break;
    case OP_PROD: {
      /* the operand at t = 1, 2, ..., t, multiplied in double */
      ire_val *at = malloc((size_t)(n->arg[0] + 1) * sizeof *at), acc = num(1, 0);
      if (at == NULL)
        abort();
      for (int64_t s = 1; s <= t; s++) {
        percall(p, hp, s, n->arg[0], at);
        acc = mul(acc, at[n->arg[0]], U_D, ETA_D);
      }
      free(at);
      val[i] = acc;
      break;
    }
    case OP_LOAD:
      fprintf(stderr, "ir_eval: %s: node %d: a load computed per call\n", p->name, i);
      abort();
    default: val[i] = apply(op, x, U_D, ETA_D); break;
    }
    val[i] = overflow(val[i], DBL_MAX);
  }
}

void ire_prepare(ire_call *c, const struct optk_irp *p, optk_dtype dtype, const double *hp, int64_t t)
{
  if (t < 1 || t > MAX_T) {
    fprintf(stderr, "ir_eval: t = %lld is beyond what the interpreter evaluates\n", (long long)t);
    abort();
  }
  c->p = p;
  c->dtype = dtype;
  c->u = (dtype == OPTK_F64 ? 0x1p-53L : 0x1p-24L) + U_LD;
  c->eta = dtype == OPTK_F64 ? 0x1p-1075L : 0x1p-150L;
  c->node = calloc((size_t)p->nnodes + 1, sizeof *c->node);
  c->slot = calloc((size_t)p->nnodes + 1, sizeof *c->slot);
  if (c->node == NULL || c->slot == NULL)
    abort();
  percall(p, hp, t, p->nnodes - 1, c->node);
  /* what the kernel reads: per-call numbers rounded to the compute type */
  for (int i = 0; i < p->nnodes; i++) {
    c->slot[i] = c->node[i];
    if (!p->nodes[i].elem && !p->nodes[i].mask)
      c->slot[i] = result(c->node[i].v, c->node[i].err, c->u, c->eta);
  }
}

void ire_release(ire_call *c)
{
  free(c->node);
  free(c->slot);
  c->node = c->slot = NULL;
}

void ire_init(const ire_call *c, ire_val *out)
{
  for (int j = 0; j < c->p->ninit; j++)
    out[j] = c->node[c->p->init[j]];
}

/* ---- per element -------------------------------------------------------- */

void ire_elem(const ire_call *c, const long double *in, ire_val *out)
{
  const struct optk_irp *p = c->p;
  ire_val stack_val[256], *val = p->nnodes <= 256 ? stack_val : malloc((size_t)p->nnodes * sizeof *val);
  if (val == NULL)
    abort();
  for (int i = 0; i < p->nnodes; i++) {
    const struct optk_irp_node *n = &p->nodes[i];
    if (!n->elem)
      continue;
    const int op = op_checked(p, i);
    if (op == OP_LOAD) {
      val[i] = num(in[n->ref], 0);
      continue;
    }
    ire_val x[3] = {{0}};
    for (int j = 0; j < 3; j++) {
      const int a = n->arg[j];
      if (a >= 0)
        x[j] = p->nodes[a].elem ? val[a] : c->slot[a];
    }
    val[i] = overflow(apply(op, x, c->u, c->eta), c->dtype == OPTK_F64 ? DBL_MAX : FLT_MAX);
  }
  for (int s = 0; s < p->nstore; s++) {
    const int r = p->store[s];
    out[s] = p->nodes[r].elem ? val[r] : c->slot[r];
  }
  if (val != stack_val)
    free(val);
}
