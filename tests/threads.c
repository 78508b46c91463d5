/* Multi-threaded steps are bit-identical to single-threaded ones: every
 * kernel, every ISA this CPU runs, sizes around the chunk grain and the
 * thread counts 1..4 (and the default), with the split threshold forced to 0
 * so that even small steps are split.  Also checks optk_set_num_threads'
 * argument rules.  Prints "N passed, M failed" last; exits non-zero on a
 * failure.  No Check dependency. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elems.h"
#include "optk_internal.h"

static int passed, failed;

static void expect(int ok, const char *what, const char *kname, const char *dt, const char *isa, size_t n,
                   int threads)
{
  if (ok) {
    passed++;
  } else {
    failed++;
    fprintf(stderr, "FAIL: %s: %s %s %s n=%zu threads=%d\n", what, kname, dt, isa, n, threads);
  }
}

static tu_rng rng = { 0x9e3779b97f4a7c15u };

/* Fills n elements of storage type d with values in (-1, 1). */
static void fill(void *a, optk_dtype d, size_t n, int positive)
{
  for (size_t i = 0; i < n; i++) {
    double x = 2.0 * tu_uniform(&rng) - 1.0;
    if (positive)
      x = x < 0 ? -x : x;
    if (d == OPTK_F64) {
      ((double *)a)[i] = x;
    } else {
      float f = (float)x;
      uint32_t u;
      memcpy(&u, &f, 4);
      if (d == OPTK_F32)
        ((float *)a)[i] = f;
      else if (d == OPTK_BF16)
        ((uint16_t *)a)[i] = (uint16_t)(u >> 16);
      else /* f16: a small normal number from the random bits */
        ((uint16_t *)a)[i] = (uint16_t)(0x3000 | (u & 0x83ff));
    }
  }
}

int main(void)
{
  static const size_t sizes[] = { 128, 129, 1000, 4096 + 17, 100003 };
  static const int counts[] = { 2, 3, 4, 0 };
  const size_t nmax = 100003;
  optk__set_parallel_threshold(0);

  expect(optk_set_num_threads(-1) == OPTK_EINVAL, "set_num_threads(-1) is EINVAL", "-", "-", "-", 0, -1);
  expect(optk_set_num_threads(3) == OPTK_OK && optk_get_num_threads() == 3, "set/get 3", "-", "-", "-", 0, 3);
  expect(optk_set_num_threads(0) == OPTK_OK && optk_get_num_threads() >= 1, "set 0 restores default", "-", "-",
         "-", 0, 0);

  unsigned char *p0 = malloc(nmax * 8), *g = malloc(nmax * 8), *p1 = malloc(nmax * 8), *p2 = malloc(nmax * 8);
  unsigned char *s0[OPTK_MAX_STATE], *s1[OPTK_MAX_STATE], *s2[OPTK_MAX_STATE];
  for (int s = 0; s < OPTK_MAX_STATE; s++) {
    s0[s] = malloc(nmax * 8);
    s1[s] = malloc(nmax * 8);
    s2[s] = malloc(nmax * 8);
  }
  for (size_t ki = 0; ki < optk_count(); ki++) {
    const optk_kernel *k = optk_at(ki);
    optk_dtype d = optk_dtype_of(k);
    int ns = optk_nstate(k);
    double hp[32];
    optk_default_hparams(k, hp);
    for (int isa = 0; isa < OPTK_ISA_COUNT; isa++) {
      if (!optk_isa_available((optk_isa)isa) || k->impl[isa] == NULL)
        continue;
      for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        fill(p0, d, n, 0);
        fill(g, d, n, 0);
        void *st0[OPTK_MAX_STATE];
        for (int s = 0; s < ns; s++) {
          fill(s0[s], d == OPTK_F64 ? OPTK_F64 : OPTK_F32, n, 1);
          st0[s] = s0[s];
        }
        for (int ci = 0; ci < (int)(sizeof counts / sizeof counts[0]); ci++) {
          void *st1[OPTK_MAX_STATE], *st2[OPTK_MAX_STATE];
          memcpy(p1, p0, n * tu_esize(d));
          memcpy(p2, p0, n * tu_esize(d));
          for (int s = 0; s < ns; s++) {
            memcpy(s1[s], s0[s], n * tu_esize(tu_state_type(d)));
            memcpy(s2[s], s0[s], n * tu_esize(tu_state_type(d)));
            st1[s] = s1[s];
            st2[s] = s2[s];
          }
          int ok = 1;
          for (int64_t t = 1; t <= 3; t++) {
            optk_set_num_threads(1);
            ok &= optk_step_isa(k, (optk_isa)isa, n, p1, g, st1, hp, t) == OPTK_OK;
            optk_set_num_threads(counts[ci]);
            ok &= optk_step_isa(k, (optk_isa)isa, n, p2, g, st2, hp, t) == OPTK_OK;
          }
          ok &= memcmp(p1, p2, n * tu_esize(d)) == 0;
          for (int s = 0; s < ns; s++)
            ok &= memcmp(s1[s], s2[s], n * tu_esize(tu_state_type(d))) == 0;
          expect(ok, "threaded step bit-identical to one thread", optk_name(k), tu_dtype_name(d),
                 optk_isa_name((optk_isa)isa), n, counts[ci]);
        }
        (void)st0;
      }
    }
  }
  optk_set_num_threads(0);
  optk__set_parallel_threshold(OPTK_PARALLEL_MIN_BYTES);
  free(p0);
  free(g);
  free(p1);
  free(p2);
  for (int s = 0; s < OPTK_MAX_STATE; s++) {
    free(s0[s]);
    free(s1[s]);
    free(s2[s]);
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
