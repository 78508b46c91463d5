/* Element types, bit patterns and random numbers for the test programs
 * (tests/elems.c); free of Check.  optk_dtype doubles as the type of any
 * array: OPTK_F32 for f32 state, OPTK_F64 for f64. */
#ifndef OPTK_TEST_ELEMS_H
#define OPTK_TEST_ELEMS_H

#include <stddef.h>
#include <stdint.h>

#include "optkern.h"

/* ---- random numbers: splitmix64, deterministic per seed ---------------- */
typedef struct {
  uint64_t s;
} tu_rng;

void tu_seed(tu_rng *r, uint64_t seed);
uint64_t tu_next(tu_rng *r);
double tu_uniform(tu_rng *r);              /* [0, 1) */
double tu_normal(tu_rng *r);               /* N(0, 1) */
uint32_t tu_below(tu_rng *r, uint32_t n);  /* [0, n) */

/* ---- bits and conversions (round to nearest even, NaN stays NaN) ------- */
uint32_t tu_f32_bits(float f);
float tu_bits_f32(uint32_t u);
uint64_t tu_f64_bits(double d);
double tu_bits_f64(uint64_t u);
uint16_t tu_f32_to_bf16(float f);
float tu_bf16_to_f32(uint16_t h);
uint16_t tu_f32_to_f16(float f);
float tu_f16_to_f32(uint16_t h);

/* ---- element types: optk_dtype doubles as the type of any array -------- */
const char *tu_dtype_name(optk_dtype t);            /* "f32", "f64", "bf16", "f16" */
size_t tu_esize(optk_dtype t);                      /* bytes per element */
optk_dtype tu_state_type(optk_dtype storage);       /* OPTK_F64 for f64, else OPTK_F32 */
double tu_get(optk_dtype t, const void *base, size_t i); /* exact value */
void tu_put(optk_dtype t, void *base, size_t i, double v); /* RNE through float for 16-bit */
uint64_t tu_get_bits(optk_dtype t, const void *base, size_t i);
void tu_put_bits(optk_dtype t, void *base, size_t i, uint64_t bits);
int tu_is_nan_bits(optk_dtype t, uint64_t bits);
/* exponent and mantissa widths of a type */
typedef struct {
  int ebits, mbits;
} tu_tinfo;
tu_tinfo tu_tinfo_of(optk_dtype t);
/* same bits, or both NaN (payloads may differ) */
int tu_same_elem(optk_dtype t, const void *a, const void *b, size_t i);
/* "%a (0x...)" of element i, into buf */
const char *tu_fmt(char *buf, size_t size, optk_dtype t, const void *base, size_t i);
/* rounds a double to storage type t the way a kernel stores it (via float) */
double tu_round_to(optk_dtype t, double v);
/* spacing of storage type t at magnitude |v| (ulp of the binade, >= min denormal) */
double tu_ulp(optk_dtype t, double v);

#endif
