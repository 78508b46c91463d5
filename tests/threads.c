/* Multi-threaded steps are bit-identical to single-threaded ones: every
 * kernel, every ISA this CPU runs, sizes around the chunk grain and the
 * thread counts 2..4 (and the default), with the split threshold forced to 0
 * so that even small steps are split.  The threaded steps run under a
 * hostile floating-point environment (flush-to-zero, denormals-are-zero,
 * rounding toward zero) on data with subnormal values, the one-thread
 * reference under the default one: a step must run under the IEEE default
 * whatever its caller set, and give the caller its environment back.  Also:
 * the requested count is honoured in every growth pattern (exactly the
 * workers a step uses are woken), exception flags raised on a worker reach
 * the caller, and optk_set_num_threads' argument rules.  Prints "N passed, M
 * failed" last; exits non-zero on a failure.  No Check dependency. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "elems.h"
#include "optk_internal.h"

#if OPTK_ARCH_X86_64
#include <xmmintrin.h>
/* FTZ, DAZ, round toward zero, exceptions masked. */
static unsigned long fp_get(void) { return _mm_getcsr() & ~0x3fu; }
static void fp_set(unsigned long c) { _mm_setcsr((unsigned)c | (_mm_getcsr() & 0x3fu)); }
static const unsigned long fp_default = 0x1f80, fp_hostile = 0x1f80 | 0x8000 | 0x0040 | 0x6000;
static int fp_overflow_raised(void) { return (_mm_getcsr() & 0x08) != 0; }
static void fp_clear_flags(void) { _mm_setcsr(_mm_getcsr() & ~0x3fu); }
#define HAVE_FP_CONTROL 1
#elif OPTK_ARCH_AARCH64
static unsigned long fp_get(void)
{
  unsigned long r;
  __asm__ volatile("mrs %0, fpcr" : "=r"(r));
  return r;
}
static void fp_set(unsigned long c) { __asm__ volatile("msr fpcr, %0" : : "r"(c) : "memory"); }
/* FZ (24), DN (25), FZ16 (19), round toward zero (22-23 = 3). */
static const unsigned long fp_default = 0, fp_hostile = (1ul << 24) | (1ul << 25) | (1ul << 19) | (3ul << 22);
static unsigned long fpsr(void)
{
  unsigned long r;
  __asm__ volatile("mrs %0, fpsr" : "=r"(r));
  return r;
}
static int fp_overflow_raised(void) { return (fpsr() & 0x4) != 0; }
static void fp_clear_flags(void) { __asm__ volatile("msr fpsr, %0" : : "r"(fpsr() & ~0x9ful) : "memory"); }
#define HAVE_FP_CONTROL 1
#else
#define HAVE_FP_CONTROL 0
#endif

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

/* Fills n elements of storage type d with values in (-1, 1), every 7th
 * subnormal (flush-to-zero or denormals-are-zero would change it). */
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
    if (i % 7 == 3)
      tu_put_bits(d, a, i, 1 + i % 5); /* the smallest subnormals, positive */
  }
}

/* The requested count in every growth pattern: after optk_set_num_threads(c)
 * a step wakes workers 1..c-1 and no other, however many the pool holds.  A
 * sleeping worker may wake after the step ran its part itself, so each is
 * given up to 2 s to show up (and those of the last step, to arrive before
 * counting); one beyond c must never. */
static void growth_patterns(unsigned char *p, unsigned char *g, unsigned char **st)
{
  static const int patterns[][5] = { { 1, 16, 2, 4, 0 }, { 4, 2, 0 }, { 16, 1, 3, 2, 0 }, { 8, 5, 16, 7, 0 },
                                     { 2, 16, 15, 0 } };
  const optk_kernel *k = optk_find("adam", OPTK_F32);
  double hp[4];
  optk_default_hparams(k, hp);
  const size_t n = 16 * 1024;
  void *s[2] = { st[0], st[1] };
  for (size_t pi = 0; pi < sizeof patterns / sizeof patterns[0]; pi++) {
    for (const int *c = patterns[pi]; *c != 0; c++) {
      optk_set_num_threads(*c);
      /* Workers woken by the last step, late, may still arrive: wait for them. */
      optk__pool_settle();
      unsigned long before[OPTK_MAX_THREADS];
      for (int w = 1; w < OPTK_MAX_THREADS; w++)
        before[w] = optk__pool_wakes(w);
      int all = 0, rounds = 0;
      for (; rounds < 20000 && !all; rounds++) {
        fill(p, OPTK_F32, n, 0);
        fill(g, OPTK_F32, n, 0);
        fill(s[0], OPTK_F32, n, 1);
        fill(s[1], OPTK_F32, n, 1);
        optk_step(k, n, p, g, s, hp, 1);
        all = 1;
        for (int w = 1; w < *c; w++)
          all &= optk__pool_wakes(w) != before[w];
        if (!all) {
          struct timespec ts = { 0, 100000 };
          nanosleep(&ts, NULL);
        }
      }
      int extra = 0;
      for (int w = *c; w < OPTK_MAX_THREADS; w++)
        extra += optk__pool_wakes(w) != before[w];
      char what[96];
      snprintf(what, sizeof what, "pattern %zu: count %d wakes workers 1..%d (%d steps)", pi, *c, *c - 1, rounds);
      expect(all, what, "adam", "f32", "-", n, *c);
      snprintf(what, sizeof what, "pattern %zu: count %d wakes no other worker", pi, *c);
      expect(extra == 0, what, "adam", "f32", "-", n, *c);
    }
  }
}

/* An overflow raised in a worker's part reaches the caller's flags. */
static void worker_flags(unsigned char *p, unsigned char *g, unsigned char **st)
{
#if HAVE_FP_CONTROL
  const optk_kernel *k = optk_find("adam", OPTK_F32);
  double hp[4];
  optk_default_hparams(k, hp);
  const size_t n = 4096;
  void *s[2] = { st[0], st[1] };
  int ok = 1;
  optk_set_num_threads(2);
  for (int r = 0; r < 20; r++) {
    fill(p, OPTK_F32, n, 0);
    fill(g, OPTK_F32, n, 0);
    fill(s[0], OPTK_F32, n, 1);
    fill(s[1], OPTK_F32, n, 1);
    ((float *)g)[n - 1] = 1e30f; /* g*g overflows, in the last part */
    fp_clear_flags();
    optk_step(k, n, p, g, s, hp, 1);
    ok &= fp_overflow_raised();
  }
  fp_clear_flags();
  expect(ok, "overflow raised in the second part reaches the caller", "adam", "f32", "-", n, 2);
#else
  (void)p, (void)g, (void)st;
#endif
}

int main(void)
{
  static const size_t sizes[] = { 128, 129, 1000, 4096 + 17, 100003 };
  static const int counts[] = { 2, 3, 4, 0 };
  const size_t nmax = 100003;
  optk__set_split_min_part_ns(0);

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
          int ok = 1, env_ok = 1;
          for (int64_t t = 1; t <= 3; t++) {
            optk_set_num_threads(1);
            ok &= optk_step_isa(k, (optk_isa)isa, n, p1, g, st1, hp, t) == OPTK_OK;
            optk_set_num_threads(counts[ci]);
#if HAVE_FP_CONTROL
            fp_set(fp_hostile);
#endif
            ok &= optk_step_isa(k, (optk_isa)isa, n, p2, g, st2, hp, t) == OPTK_OK;
#if HAVE_FP_CONTROL
            env_ok &= fp_get() == fp_hostile;
            fp_set(fp_default);
#endif
          }
          ok &= memcmp(p1, p2, n * tu_esize(d)) == 0;
          for (int s = 0; s < ns; s++)
            ok &= memcmp(s1[s], s2[s], n * tu_esize(tu_state_type(d))) == 0;
          expect(ok, "threaded step under FTZ/DAZ/round-to-zero bit-identical to one thread under the default",
                 optk_name(k), tu_dtype_name(d), optk_isa_name((optk_isa)isa), n, counts[ci]);
          expect(env_ok, "the caller's floating-point environment restored after the step", optk_name(k),
                 tu_dtype_name(d), optk_isa_name((optk_isa)isa), n, counts[ci]);
        }
        (void)st0;
      }
    }
  }
  growth_patterns(p0, g, s0);
  optk__set_spin_ns(0); /* again with workers and caller sleeping at once: the futex path */
  growth_patterns(p0, g, s0);
  optk__set_spin_ns(OPTK_SPIN_NS);
  worker_flags(p0, g, s0);
  optk_set_num_threads(0);
  optk__set_split_min_part_ns(optk__split_default_ns());
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
