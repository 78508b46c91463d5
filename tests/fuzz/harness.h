/* Shared parts of the libFuzzer targets (fuzz_step.c, fuzz_init.c): the
 * fuzzer's bytes read as a stream, guard-paged array slots, hyperparameters
 * drawn from every double class, and the contract's verdict on a call. */
#ifndef OPTK_FUZZ_HARNESS_H
#define OPTK_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "elems.h"
#include "optk_internal.h"

/* The input as a stream; reads past its end give zeros. */
typedef struct {
  const uint8_t *p;
  size_t left;
} fz_in;
uint8_t fz_u8(fz_in *in);
uint64_t fz_u64(fz_in *in);

/* Largest n given real arrays (8-byte elements fill FZ_DATA_BYTES). */
#define FZ_MAX_N 1024
#define FZ_DATA_BYTES (FZ_MAX_N * 8)
#define FZ_SLOTS (2 + OPTK_MAX_STATE)

/* A slot: FZ_DATA_BYTES of memory (rounded up to pages) between two
 * PROT_NONE pages, so a kernel writing past either end faults.  The array
 * is placed at the start or the end of the data; the rest is filled with a
 * pattern that must survive the call. */
typedef struct {
  unsigned char *data; /* first byte after the lower guard */
  size_t size;         /* bytes between the guards */
  unsigned char *arr;  /* the array within data */
  size_t bytes;        /* its size */
} fz_slot;
fz_slot *fz_slots(void); /* FZ_SLOTS slots, mapped once */
/* Places an array of bytes at offset bytes from the start of slot s, or
 * (at_end) ending at its end, fills it from the input, and the rest of the
 * data with the pattern. */
void fz_place(fz_slot *s, size_t bytes, int at_end, size_t offset, fz_in *in);
/* 1 if every byte of slot s outside its array still holds the pattern */
int fz_pattern_ok(const fz_slot *s);

/* A value for hyperparameter h: one of every double class (NaN, infinities,
 * zeros, subnormals, huge, tiny), h's bounds and their neighbours in double
 * and float, its default, a value inside its domain, or raw bits. */
double fz_hparam(const struct optk_hparam *h, fz_in *in);
/* t: 1, small, huge, or t < 1. */
int64_t fz_t(fz_in *in);
/* n: small (0..FZ_MAX_N), or one beyond the documented bound (*huge = 1). */
size_t fz_n(const optk_kernel *k, fz_in *in, int *huge);

/* The contract, written from optkern.h: 1 if every hyperparameter is in its
 * domain as given and rounded to the compute type; 1 if the count derived
 * values (prep()'s constants or state_init()'s values), rounded, are never
 * NaN, and infinite only where a hyperparameter is. */
int fz_hparams_ok(const optk_kernel *k, const double *hp);
int fz_derived_ok(const optk_kernel *k, const double *hp, const double *v, int count);
/* bytes per element of the widest array the kernel touches */
size_t fz_widest(const optk_kernel *k);
double fz_round(const optk_kernel *k, double x);

/* Reports what broke and aborts, which libFuzzer records as a crash. */
void fz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
