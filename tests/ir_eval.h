/* A reference for every kernel: an interpreter of the spec's IR
 * (generated/ir_programs.c, see ir_prog.h) in long double, on one element at
 * a time.  It shares nothing with the generator's lowering, backends or
 * templates, only the IR they start from.
 *
 * Next to each value it carries a bound on how far the library may be from
 * it: a running error analysis of the library's own arithmetic (per-call
 * nodes in double, rounded to the compute type where the update uses them;
 * per-element nodes in the compute type, float or double), first order plus
 * the product of errors, with each rounding at most u|x| + eta (u = 2^-24 or
 * 2^-53, plus 2^-63 for the interpreter's own long double; eta half the
 * smallest denormal), exp and log within 4u, pow within (4 + 2 log2|y| +
 * |y log x|)u (binary powering, or exp(y log x)), a value beyond the type's
 * range unbounded, and comparisons whose
 * operands lie within their error bounds of each other counted as able to go
 * either way.  Cancellation therefore widens the bound exactly where the
 * library's result is ill-conditioned, and nowhere else.
 *
 * Free of Check.  An operation the interpreter does not know is reported by
 * ire_validate and aborts ire_prepare: a new IR operation must be taught
 * here before a kernel using it can pass.
 */
#ifndef OPTK_IR_EVAL_H
#define OPTK_IR_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "ir_prog.h"
#include "optkern.h"

/* The program of optimizer name, or NULL. */
const struct optk_irp *ire_find(const char *name);

/* 0 if every operation and operand of p is one the interpreter knows and the
 * program fits kernel k (hyperparameter and state counts); else -1 and a
 * message in msg. */
int ire_validate(const struct optk_irp *p, const optk_kernel *k, char *msg, size_t size);

/* A value and the bound on the library's distance from it. */
typedef struct {
  long double v, err;
  int mask, unsure; /* comparisons: the result, and whether rounding could flip it */
} ire_val;

/* The per-call part of one step: hyperparameters, t and the storage type
 * fixed; every per-call node evaluated. */
typedef struct {
  const struct optk_irp *p;
  optk_dtype dtype;
  long double u, eta;  /* rounding of the compute type */
  ire_val *node;       /* nnodes: per-call nodes filled by ire_prepare */
  ire_val *slot;       /* nnodes: per-call numbers as the kernel sees them (rounded) */
} ire_call;

/* Evaluates the per-call nodes for hp (nhparams values) and t >= 1 (t at
 * most 1e6: products over the steps are evaluated step by step). */
void ire_prepare(ire_call *c, const struct optk_irp *p, optk_dtype dtype, const double *hp, int64_t t);
void ire_release(ire_call *c);

/* Initial value of every state array (p->ninit) with its bound, in double
 * as the library computes it, before its rounding to the state type. */
void ire_init(const ire_call *c, ire_val *out);

/* One element: in[a] the exact values of param (a = 0), grad (1) and each
 * state array (2 + j) before the step; out[s] the new param (s = 0) and
 * state j (s = 1 + j), in the compute type before the store's rounding to
 * the storage type. */
void ire_elem(const ire_call *c, const long double *in, ire_val *out);

#endif
