/* dispatch: which ISA runs.
 *
 * Tcase "isa":
 *   scalar is available; ISA names; availability agrees with optk__cpu_isas()
 *   and with the compiler's own CPU probe; the active ISA is the best
 *   available one (avx512 > avx2 > scalar, sve > neon > scalar);
 *   OPTK_ISA caps the choice and never raises it; an unknown OPTK_ISA is
 *   ignored with one line on stderr; OPTK_ISA is read again only after
 *   optk__dispatch_reset(); it does not change what optk_isa_available says.
 * Tcase "step_vs_active": optk_step gives optk_step_isa(active)'s bits, for
 *   every kernel, with and without OPTK_ISA=scalar.
 *
 * Tests that set OPTK_ISA restore it and reset dispatch in a checked
 * teardown, so they hold under CK_FORK=no too.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char saved_env[256];
static int had_env;

static void env_save(void)
{
  const char *v = getenv("OPTK_ISA");
  had_env = v != NULL;
  if (v != NULL)
    snprintf(saved_env, sizeof saved_env, "%s", v);
}

static void env_restore(void)
{
  if (had_env)
    setenv("OPTK_ISA", saved_env, 1);
  else
    unsetenv("OPTK_ISA");
  optk__dispatch_reset();
}

/* set (value != NULL) or unset OPTK_ISA, then forget the resolved ISA */
static void env_set(const char *value)
{
  if (value != NULL)
    setenv("OPTK_ISA", value, 1);
  else
    unsetenv("OPTK_ISA");
  optk__dispatch_reset();
}

START_TEST(test_scalar_available)
{
  ck_assert_int_eq(optk_isa_available(OPTK_ISA_SCALAR), 1);
  ck_assert_msg(optk__cpu_isas() & 1u, "optk__cpu_isas() = 0x%x lacks scalar", optk__cpu_isas());
  ck_assert_int_eq(optk_isa_available((optk_isa)OPTK_ISA_COUNT), 0);
  ck_assert_int_eq(optk_isa_available((optk_isa)99), 0);
  ck_assert_int_eq(optk_isa_available((optk_isa)-1), 0);
}
END_TEST

START_TEST(test_isa_names)
{
  for (int i = 0; i < OPTK_ISA_COUNT; i++) {
    const char *nm = optk_isa_name((optk_isa)i);
    ck_assert_msg(nm != NULL && strcmp(nm, tu_isa_names[i]) == 0, "optk_isa_name(%d) = \"%s\"",
                  i, nm ? nm : "(null)");
  }
}
END_TEST

START_TEST(test_available_vs_cpu)
{
  const unsigned cpu = optk__cpu_isas();
  ck_assert_msg((cpu >> OPTK_ISA_COUNT) == 0, "optk__cpu_isas() = 0x%x has bits past the ISAs",
                cpu);
  optk_isa chain[OPTK_ISA_COUNT];
  int nchain = tu_arch_chain(chain);
  for (int i = 0; i < OPTK_ISA_COUNT; i++) {
    int in_chain = 0;
    for (int c = 0; c < nchain; c++)
      in_chain |= chain[c] == (optk_isa)i;
    int avail = optk_isa_available((optk_isa)i);
    ck_assert_msg(avail == 0 || avail == 1, "optk_isa_available(%s) = %d", tu_isa_names[i], avail);
    if (in_chain)
      ck_assert_msg(avail == (int)((cpu >> i) & 1u),
                    "%s: optk_isa_available = %d but optk__cpu_isas() = 0x%x", tu_isa_names[i],
                    avail, cpu);
    else
      ck_assert_msg(avail == 0 && ((cpu >> i) & 1u) == 0,
                    "%s belongs to another architecture: available %d, cpu bits 0x%x",
                    tu_isa_names[i], avail, cpu);
  }
#if OPTK_ARCH_X86_64 && defined(__GNUC__)
  /* the compiler's probe (cpuid plus the OS's xgetbv state) as a cross-check */
  int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  if (optk_isa_available(OPTK_ISA_AVX2))
    ck_assert_msg(__builtin_cpu_supports("avx2"), "avx2 available on a CPU without avx2");
  if (optk_isa_available(OPTK_ISA_AVX512))
    ck_assert_msg(__builtin_cpu_supports("avx512f"), "avx512 available on a CPU without avx512f");
  ck_assert_msg(!avx2 || optk_isa_available(OPTK_ISA_AVX2),
                "the CPU has avx2 and fma but optk_isa_available(avx2) is 0");
  ck_assert_msg(!avx512 || optk_isa_available(OPTK_ISA_AVX512),
                "the CPU has avx512f/bw/dq/vl but optk_isa_available(avx512) is 0");
#endif
}
END_TEST

START_TEST(test_active_is_best)
{
  env_set(NULL);
  optk_isa want = tu_best_isa();
  ck_assert_msg(optk_active_isa() == want, "active ISA %s, best available %s",
                tu_isa_names[optk_active_isa()], tu_isa_names[want]);
  ck_assert_int_eq(optk_isa_available(optk_active_isa()), 1);
}
END_TEST

/* loop index: position in this architecture's chain */
START_TEST(test_env_caps)
{
  optk_isa chain[OPTK_ISA_COUNT];
  int nchain = tu_arch_chain(chain);
  ck_assert_int_lt(_i, nchain);
  /* expected: the best available ISA at or below the cap on the chain */
  optk_isa want = OPTK_ISA_SCALAR;
  for (int c = 0; c <= _i; c++)
    if (optk_isa_available(chain[c]))
      want = chain[c];
  env_set(tu_isa_names[chain[_i]]);
  optk_isa got = optk_active_isa();
  ck_assert_msg(got == want, "OPTK_ISA=%s: active %s, want %s (best here %s)",
                tu_isa_names[chain[_i]], tu_isa_names[got], tu_isa_names[want],
                tu_isa_names[tu_best_isa()]);
  /* the cap does not change what is available */
  for (int c = 0; c < nchain; c++)
    ck_assert_msg(optk_isa_available(chain[c]) == (int)((optk__cpu_isas() >> chain[c]) & 1u),
                  "OPTK_ISA=%s changed optk_isa_available(%s)", tu_isa_names[chain[_i]],
                  tu_isa_names[chain[c]]);
  /* and optk_step_isa above the cap still runs */
  const optk_kernel *k = optk_find("sgd", OPTK_F32);
  float p[3] = {1, 2, 3}, g[3] = {1, 1, 1};
  const double hp[1] = {0.5};
  ck_assert_int_eq(optk_step_isa(k, tu_best_isa(), 3, p, g, NULL, hp, 1), OPTK_OK);
  ck_assert(p[0] == 0.5f && p[2] == 2.5f);
}
END_TEST

START_TEST(test_env_unknown)
{
  static const char *const bogus[] = {"bogus", "avx3", "scalar2", "avx512x"};
  for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
    setenv("OPTK_ISA", bogus[i], 1);
    tu_capture cap;
    ck_assert_int_eq(tu_capture_begin(&cap), 0);
    optk__dispatch_reset();
    optk_isa a1 = optk_active_isa();
    optk_isa a2 = optk_active_isa();
    char *text = tu_capture_end(&cap);
    ck_assert_ptr_nonnull(text);
    int lines = 0;
    for (const char *q = text; *q; q++)
      lines += *q == '\n';
    size_t len = strlen(text);
    ck_assert_msg(lines == 1 && len > 1 && text[len - 1] == '\n',
                  "OPTK_ISA=%s: want exactly one line on stderr, got %d lines: \"%s\"", bogus[i],
                  lines, text);
    free(text);
    ck_assert_msg(a1 == tu_best_isa() && a2 == a1, "OPTK_ISA=%s: active %s, want %s", bogus[i],
                  tu_isa_names[a1], tu_isa_names[tu_best_isa()]);
  }
}
END_TEST

START_TEST(test_env_needs_reset)
{
  env_set(NULL);
  optk_isa best = optk_active_isa();
  setenv("OPTK_ISA", "scalar", 1);
  ck_assert_msg(optk_active_isa() == best, "OPTK_ISA was re-read without optk__dispatch_reset");
  optk__dispatch_reset();
  ck_assert_int_eq(optk_active_isa(), OPTK_ISA_SCALAR);
  unsetenv("OPTK_ISA");
  ck_assert_int_eq(optk_active_isa(), OPTK_ISA_SCALAR);
  optk__dispatch_reset();
  ck_assert_int_eq(optk_active_isa(), best);
}
END_TEST

/* loop index: kernel x {no OPTK_ISA, OPTK_ISA=scalar} */
START_TEST(test_step_matches_active)
{
  const optk_kernel *k = optk_at((size_t)_i / 2);
  ck_assert_ptr_nonnull(k);
  env_set(_i % 2 ? "scalar" : NULL);
  const optk_isa active = optk_active_isa();
  ck_assert_int_eq(active, _i % 2 ? OPTK_ISA_SCALAR : tu_best_isa());
  char label[48];
  tu_kernel_label(label, sizeof label, k);
  for (int cls = 0; cls < TU_VAL_NCLASSES; cls++) {
    tu_rng r;
    tu_seed(&r, 0xD15Bull + (uint64_t)_i * 7 + (uint64_t)cls);
    double hp[TU_MAX_HP];
    tu_hparams(k, cls == 0 ? TU_HP_DEFAULT : TU_HP_RANDOM, &r, hp);
    tu_prob a, b;
    tu_prob_init(&a, k, 1000, 1, 3);
    tu_prob_init(&b, k, 1000, 1, 3);
    tu_prob_fill(&a, cls, &r);
    tu_prob_copy(&b, &a);
    for (int64_t t = 1; t <= 3; t++) {
      ck_assert_int_eq(tu_prob_step(&a, -1, hp, t), OPTK_OK);
      ck_assert_int_eq(tu_prob_step(&b, (int)active, hp, t), OPTK_OK);
      int arr;
      size_t i = tu_prob_diff(&a, &b, &arr);
      if (i != SIZE_MAX) {
        char x[64], y[64];
        optk_dtype ty = tu_arr_type(&a, arr);
        ck_assert_msg(0, "%s, %s values, t=%d: %s[%zu] optk_step=%s optk_step_isa(%s)=%s", label,
                      tu_val_names[cls], (int)t, tu_arr_name(&a, arr), i,
                      tu_fmt(x, sizeof x, ty, a.arr[arr], i), tu_isa_names[active],
                      tu_fmt(y, sizeof y, ty, b.arr[arr], i));
      }
      tu_prob_copy(&b, &a);
    }
    tu_prob_free(&a);
    tu_prob_free(&b);
  }
}
END_TEST

Suite *dispatch_suite(void)
{
  Suite *s = suite_create("dispatch");
  TCase *tc = tcase_create("isa");
  tcase_add_checked_fixture(tc, env_save, env_restore);
  tcase_add_test(tc, test_scalar_available);
  tcase_add_test(tc, test_isa_names);
  tcase_add_test(tc, test_available_vs_cpu);
  tcase_add_test(tc, test_active_is_best);
  optk_isa chain[OPTK_ISA_COUNT];
  tcase_add_loop_test(tc, test_env_caps, 0, tu_arch_chain(chain));
  tcase_add_test(tc, test_env_unknown);
  tcase_add_test(tc, test_env_needs_reset);
  suite_add_tcase(s, tc);
  tc = tcase_create("step_vs_active");
  tcase_add_checked_fixture(tc, env_save, env_restore);
  tcase_add_loop_test(tc, test_step_matches_active, 0, (int)optk_count() * 2);
  suite_add_tcase(s, tc);
  return s;
}
