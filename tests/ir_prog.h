/* The kernels' IR as data: generated/ir_programs.c (generator/lib/optgen/
 * irprog.lua) fills these tables from translate.kernel's output; the tests'
 * interpreter (ir_eval.c) evaluates them.  Only the tests compile this. */
#ifndef OPTK_IR_PROG_H
#define OPTK_IR_PROG_H

/* One IR node.  Operands come before their users. */
struct optk_irp_node {
  const char *op;     /* the IR's operation name: "add", "load", "prod", ... */
  unsigned char elem; /* computed per element (else once per call, in double) */
  unsigned char mask; /* a comparison's result, not a number */
  int arg[3];         /* operand nodes, -1 where absent */
  double value;       /* "const": the value */
  int ref;            /* "hparam": its index; "load": 0 param, 1 grad, 2 + j state j */
};

/* One kernel (optimizer; the same for every storage type). */
struct optk_irp {
  const char *name;
  int nhparams, nnodes;
  const struct optk_irp_node *nodes;
  int ninit;         /* = nstate */
  const int *init;   /* per state array: its initial value's node (per call) */
  int nstore;        /* = 1 + nstate; 0 for a two-phase kernel (per-tensor norms) */
  const int *store;  /* the new param, then each new state array */
};

extern const struct optk_irp optk_irp_all[];
extern const int optk_irp_count;

#endif
