/* Dispatch on a CPU that lacks ISAs: this program defines optk__cpu_isas()
 * itself, so the linker takes it instead of the library's CPU probe
 * (cpu_x86.o and friends define nothing else), and the CPU's answer is
 * whatever the test sets.  Linked with the ordinary library and with a
 * static-ISA one (-DOPTK_STATIC_ISA=avx2, build/static-avx2/): a build must
 * run the best ISA that the (faked) CPU has and the build compiled, scalar at
 * worst, never refuse every step with OPTK_ENOTSUP, and OPTK_ISA still caps
 * it.  Faked features are only ever ones the real CPU has, so every kernel
 * that runs can run.  Prints "N passed, M failed"; exits non-zero on a
 * failure.  No Check dependency. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elems.h"
#include "optk_internal.h"
#include "optk_kernels.h"

static unsigned fake_isas = 1u << OPTK_ISA_SCALAR;

unsigned optk__cpu_isas(void) { return fake_isas; }

static int passed, failed;

static void expect(int ok, const char *what, const char *detail)
{
  if (ok) {
    passed++;
  } else {
    failed++;
    fprintf(stderr, "FAIL: %s (%s)\n", what, detail);
  }
}

/* The real CPU's ISAs, from the compiler's own probe (x86 only; elsewhere
 * scalar alone, which is all this program then fakes). */
static unsigned real_isas(void)
{
  unsigned isas = 1u << OPTK_ISA_SCALAR;
#if OPTK_ARCH_X86_64
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    isas |= 1u << OPTK_ISA_AVX2;
  if ((isas >> OPTK_ISA_AVX2 & 1u) && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    isas |= 1u << OPTK_ISA_AVX512;
#endif
  return isas;
}

/* The ISA dispatch must choose: the highest of the CPU's and the build's. */
static optk_isa best_of(unsigned isas)
{
  unsigned both = isas & OPTK_BUILT_ISAS;
  for (int i = OPTK_ISA_COUNT - 1; i > 0; i--)
    if (both >> i & 1u)
      return (optk_isa)i;
  return OPTK_ISA_SCALAR;
}

/* One adam f32 step through optk_step and through optk_step_isa(scalar):
 * both OPTK_OK, the same bits. */
static void step_matches_scalar(const char *detail)
{
  enum { N = 203 };
  const optk_kernel *k = optk_find("adam", OPTK_F32);
  float p[2][N], g[N], m[2][N], v[2][N];
  tu_rng r;
  tu_seed(&r, 5);
  for (int i = 0; i < N; i++) {
    p[0][i] = p[1][i] = (float)tu_normal(&r);
    g[i] = (float)tu_normal(&r);
    m[0][i] = m[1][i] = 0.1f * (float)tu_normal(&r);
    v[0][i] = v[1][i] = (float)tu_uniform(&r);
  }
  double hp[4];
  optk_default_hparams(k, hp);
  void *s0[2] = { m[0], v[0] }, *s1[2] = { m[1], v[1] };
  expect(optk_step(k, N, p[0], g, s0, hp, 3) == OPTK_OK, "optk_step is OPTK_OK", detail);
  expect(optk_step_isa(k, OPTK_ISA_SCALAR, N, p[1], g, s1, hp, 3) == OPTK_OK,
         "optk_step_isa(scalar) is OPTK_OK", detail);
  expect(memcmp(p[0], p[1], sizeof p[0]) == 0 && memcmp(m[0], m[1], sizeof m[0]) == 0 &&
             memcmp(v[0], v[1], sizeof v[0]) == 0,
         "optk_step gives the scalar kernel's bits", detail);
}

int main(void)
{
  const unsigned real = real_isas();
  char detail[128];
  unsetenv("OPTK_ISA");
  /* every subset of the real CPU's features that includes scalar */
  for (unsigned isas = 1; isas < 1u << OPTK_ISA_COUNT; isas += 2) {
    if ((isas & real) != isas)
      continue;
    fake_isas = isas;
    optk__dispatch_reset();
    const optk_isa want = best_of(isas), got = optk_active_isa();
    snprintf(detail, sizeof detail, "CPU ISAs 0x%x, built 0x%x: active %s, want %s", isas,
             (unsigned)OPTK_BUILT_ISAS, optk_isa_name(got), optk_isa_name(want));
    expect(got == want, "the best ISA of both CPU and build is active", detail);
    for (int i = 0; i < OPTK_ISA_COUNT; i++)
      expect(optk_isa_available((optk_isa)i) == (int)((isas & OPTK_BUILT_ISAS) >> i & 1u),
             "optk_isa_available is CPU and build", detail);
    step_matches_scalar(detail);
    /* an ISA the CPU lacks is refused by optk_step_isa, and only there */
    const optk_kernel *k = optk_find("sgd", OPTK_F32);
    float p[4] = { 1, 2, 3, 4 }, g[4] = { 1, 1, 1, 1 };
    const double lr = 0.5;
    for (int i = 0; i < OPTK_ISA_COUNT; i++)
      if (!(isas >> i & 1u))
        expect(optk_step_isa(k, (optk_isa)i, 4, p, g, NULL, &lr, 1) == OPTK_ENOTSUP,
               "optk_step_isa on a missing ISA is OPTK_ENOTSUP", detail);
    expect(p[0] == 1 && p[3] == 4, "a refused step writes nothing", detail);
    /* OPTK_ISA=scalar still caps the choice */
    setenv("OPTK_ISA", "scalar", 1);
    optk__dispatch_reset();
    expect(optk_active_isa() == OPTK_ISA_SCALAR, "OPTK_ISA=scalar caps the choice", detail);
    step_matches_scalar(detail);
    unsetenv("OPTK_ISA");
  }
  fake_isas = real;
  optk__dispatch_reset();
  printf("optk_cpu_fallback (built ISAs 0x%x): %d passed, %d failed\n", (unsigned)OPTK_BUILT_ISAS,
         passed, failed);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
