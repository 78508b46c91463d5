@banner@
/* Typed entry points: one step function and one state initialiser per
 * optimizer and storage type, with a struct of named hyperparameters and an
 * initialiser macro of their defaults.  Included by optkern.h. */
#ifndef OPTKERN_GENERATED_H
#define OPTKERN_GENERATED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

@decls@

#ifdef __cplusplus
}
#endif

#endif
