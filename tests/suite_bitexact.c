/* bitexact: every kernel on every vector ISA this CPU runs gives the scalar
 * kernel's bits (NaN positions: both NaN, payloads free), over a table of
 * sizes x alignments, four value classes, four hyperparameter sets and the
 * steps t = 1, 2, 3, 1000.
 *
 * tail_guard: no kernel (scalar included) reads or writes outside its n
 * elements: arrays that end at, or start right after, a PROT_NONE page, and
 * arrays with canaries on both sides.
 *
 * Tcases are kernels x ISA ("adam_f32_avx2"), so CK_RUN_CASE selects one; the
 * loop index is tcase * NCASES + case.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static const size_t sizes[] = {0,   1,   2,   3,   7,   8,   9,   15,  16,   17,  31,   32,
                               33,  63,  64,  65,  127, 128, 129, 255, 256, 257, 1000, 4099};
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define NALIGN 4
#define NCASES ((int)(NSIZES * NALIGN))
static const int64_t steps[] = {1, 2, 3, 1000};
#define NSTEPS (sizeof steps / sizeof steps[0])

struct entry {
  const optk_kernel *k;
  size_t kidx;
  optk_isa isa;
  char name[64];
};

/* one entry per tcase; filled while the suites are built, read by the tests */
#define MAX_ENTRIES 4096
static struct entry bx_entries[MAX_ENTRIES];
static int bx_nentries;
static struct entry tg_entries[MAX_ENTRIES];
static int tg_nentries;

static uint64_t case_seed(size_t kidx, int c, int cls)
{
  return 0xB17E0000ull + kidx * 100003ull + (uint64_t)c * 101ull + (uint64_t)cls;
}

/* the ISA below isa on its chain */
static optk_isa lower_isa(optk_isa isa)
{
  switch (isa) {
  case OPTK_ISA_AVX512:
    return OPTK_ISA_AVX2;
  case OPTK_ISA_SVE:
    return OPTK_ISA_NEON;
  default:
    return OPTK_ISA_SCALAR;
  }
}

/* Appends "name[i]=value" for every array of pr to buf. */
static void describe_inputs(char *buf, size_t size, const tu_prob *pr, size_t i)
{
  size_t len = strlen(buf);
  for (int a = 0; a < pr->narr && len + 1 < size; a++) {
    char v[64];
    snprintf(buf + len, size - len, " %s=%s", tu_arr_name(pr, a),
             tu_fmt(v, sizeof v, tu_arr_type(pr, a), pr->arr[a], i));
    len = strlen(buf);
  }
}

START_TEST(test_kernel_present)
{
  const struct entry *e = &bx_entries[_i];
  ck_assert_msg(e->k->impl[e->isa] != NULL, "%s: no %s kernel in the registry row", e->name,
                tu_isa_names[e->isa]);
  ck_assert_msg(e->k->impl[e->isa] != e->k->impl[lower_isa(e->isa)],
                "%s: the %s slot holds the %s kernel, so no %s kernel is tested", e->name,
                tu_isa_names[e->isa], tu_isa_names[lower_isa(e->isa)], tu_isa_names[e->isa]);
}
END_TEST

START_TEST(test_bitexact_vs_scalar)
{
  const struct entry *e = &bx_entries[_i / NCASES];
  const int c = _i % NCASES;
  const size_t n = sizes[c / NALIGN], off = (size_t)(c % NALIGN);
  char msg[2048];

  for (int cls = 0; cls < TU_VAL_NCLASSES; cls++) {
    const int hpset = (c + cls) % TU_HP_NSETS;
    tu_rng r;
    tu_seed(&r, case_seed(e->kidx, c, cls));
    double hp[TU_MAX_HP];
    tu_hparams(e->k, hpset, &r, hp);
    tu_prob ps, pv, in;
    tu_prob_init(&ps, e->k, n, off, 8);
    tu_prob_init(&pv, e->k, n, off, 8);
    tu_prob_init(&in, e->k, n, off, 8);
    tu_prob_fill(&ps, cls, &r);
    tu_prob_copy(&pv, &ps);

    for (size_t s = 0; s < NSTEPS; s++) {
      const int64_t t = steps[s];
      tu_prob_copy(&in, &ps);
      int rs = tu_prob_step(&ps, OPTK_ISA_SCALAR, hp, t);
      int rv = tu_prob_step(&pv, e->isa, hp, t);
      ck_assert_msg(rs == OPTK_OK && rv == OPTK_OK,
                    "%s n=%zu align=%zu hp=%s t=%" PRId64 ": scalar returned %d, %s returned %d",
                    e->name, n, off, tu_hpset_names[hpset], t, rs, tu_isa_names[e->isa], rv);
      int arr;
      size_t byte;
      ck_assert_msg(tu_prob_canaries_ok(&pv, &arr, &byte),
                    "%s n=%zu align=%zu: %s wrote outside %s[0..n): byte %zu of the buffer "
                    "(element offset %zu)",
                    e->name, n, off, tu_isa_names[e->isa], tu_arr_name(&pv, arr), byte, off);
      ck_assert_msg(tu_prob_canaries_ok(&ps, &arr, &byte),
                    "%s n=%zu align=%zu: scalar wrote outside %s[0..n): byte %zu", e->name, n,
                    off, tu_arr_name(&ps, arr), byte);
      size_t i = tu_prob_diff(&ps, &pv, &arr);
      if (i != SIZE_MAX) {
        char a[64], b[64];
        optk_dtype ty = tu_arr_type(&ps, arr);
        snprintf(msg, sizeof msg,
                 "%s n=%zu align=%zu values=%s hp=%s t=%" PRId64 " (call %zu): %s[%zu] "
                 "scalar=%s %s=%s; inputs:",
                 e->name, n, off, tu_val_names[cls], tu_hpset_names[hpset], t, s + 1,
                 tu_arr_name(&ps, arr), i, tu_fmt(a, sizeof a, ty, ps.arr[arr], i),
                 tu_isa_names[e->isa], tu_fmt(b, sizeof b, ty, pv.arr[arr], i));
        describe_inputs(msg, sizeof msg, &in, i);
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, "; hp:");
        for (int h = 0; h < optk_nhparams(e->k); h++) {
          len = strlen(msg);
          snprintf(msg + len, sizeof msg - len, " %a", hp[h]);
        }
        ck_assert_msg(0, "%s", msg);
      }
      /* drop NaN payload differences before the next call */
      tu_prob_copy(&pv, &ps);
    }
    tu_prob_free(&ps);
    tu_prob_free(&pv);
    tu_prob_free(&in);
  }
}
END_TEST

/* ---- tail guard ---------------------------------------------------------- */

START_TEST(test_tail_guard)
{
  const struct entry *e = &tg_entries[_i / (int)NSIZES];
  const size_t n = sizes[_i % (int)NSIZES];
  const size_t canaries = 16;
  tu_rng r;
  tu_seed(&r, case_seed(e->kidx, (int)n, 77));
  double hp[TU_MAX_HP];
  tu_hparams(e->k, TU_HP_DEFAULT, &r, hp);

  /* reference: scalar kernel; under test: the ISA, with canaries */
  tu_prob ref, can;
  tu_prob_init(&ref, e->k, n, 0, 0);
  tu_prob_init(&can, e->k, n, canaries, canaries);
  tu_prob_fill(&ref, TU_VAL_NORMAL, &r);
  for (int a = 0; a < ref.narr; a++)
    memcpy(can.arr[a], ref.arr[a], n * tu_esize(tu_arr_type(&ref, a)));

  /* guarded copies: layout 0 ends at a PROT_NONE page, layout 1 starts after one */
  tu_guard gd[2][TU_MAX_ARR];
  void *garr[2][TU_MAX_ARR];
  memset(gd, 0, sizeof gd);
  for (int l = 0; l < 2; l++)
    for (int a = 0; a < ref.narr; a++) {
      size_t bytes = n * tu_esize(tu_arr_type(&ref, a));
      garr[l][a] = tu_guard_alloc(&gd[l][a], bytes, l == 0);
      memcpy(garr[l][a], ref.arr[a], bytes);
    }

  for (int64_t t = 1; t <= 2; t++) {
    ck_assert_int_eq(tu_prob_step(&ref, OPTK_ISA_SCALAR, hp, t), OPTK_OK);
    ck_assert_int_eq(tu_prob_step(&can, e->isa, hp, t), OPTK_OK);
    for (int l = 0; l < 2; l++) {
      void *st[OPTK_MAX_STATE];
      for (int j = 0; j + 2 < ref.narr; j++)
        st[j] = garr[l][2 + j];
      int rc = optk_step_isa(e->k, e->isa, n, garr[l][0], garr[l][1], st, hp, t);
      ck_assert_msg(rc == OPTK_OK, "%s n=%zu guard layout %d: returned %d", e->name, n, l, rc);
    }
  }
  int arr;
  size_t byte;
  ck_assert_msg(tu_prob_canaries_ok(&can, &arr, &byte),
                "%s n=%zu: %s changed %s outside [0, n): buffer byte %zu (array starts at byte "
                "%zu)",
                e->name, n, tu_isa_names[e->isa], tu_arr_name(&can, arr), byte,
                canaries * tu_esize(tu_arr_type(&can, arr)));
  for (int a = 0; a < ref.narr; a++) {
    optk_dtype ty = tu_arr_type(&ref, a);
    for (size_t i = 0; i < n; i++) {
      const void *got[3] = {can.arr[a], garr[0][a], garr[1][a]};
      for (int v = 0; v < 3; v++) {
        if (!tu_same_elem(ty, ref.arr[a], got[v], i)) {
          char x[64], y[64];
          ck_assert_msg(0, "%s n=%zu layout %d: %s[%zu] scalar=%s %s=%s", e->name, n, v,
                        tu_arr_name(&ref, a), i, tu_fmt(x, sizeof x, ty, ref.arr[a], i),
                        tu_isa_names[e->isa], tu_fmt(y, sizeof y, ty, got[v], i));
        }
      }
    }
  }
  for (int l = 0; l < 2; l++)
    for (int a = 0; a < ref.narr; a++)
      tu_guard_free(&gd[l][a]);
  tu_prob_free(&ref);
  tu_prob_free(&can);
}
END_TEST

Suite *bitexact_suite(void)
{
  Suite *s = suite_create("bitexact");
  for (int isa = 1; isa < OPTK_ISA_COUNT; isa++)
    if (!optk_isa_available((optk_isa)isa))
      fprintf(stderr, "skipping %s: not supported on this CPU\n", tu_isa_names[isa]);
  size_t nk = optk_count();
  for (size_t ki = 0; ki < nk; ki++) {
    const optk_kernel *k = optk_at(ki);
    if (k == NULL)
      continue;
    for (int isa = 1; isa < OPTK_ISA_COUNT; isa++) {
      if (!optk_isa_available((optk_isa)isa) || bx_nentries >= MAX_ENTRIES)
        continue;
      struct entry *e = &bx_entries[bx_nentries];
      char label[48];
      e->k = k;
      e->kidx = ki;
      e->isa = (optk_isa)isa;
      snprintf(e->name, sizeof e->name, "%s_%s", tu_kernel_label(label, sizeof label, k),
               tu_isa_names[isa]);
      TCase *tc = tcase_create(e->name);
      tcase_add_loop_test(tc, test_kernel_present, bx_nentries, bx_nentries + 1);
      tcase_add_loop_test(tc, test_bitexact_vs_scalar, bx_nentries * NCASES,
                          (bx_nentries + 1) * NCASES);
      suite_add_tcase(s, tc);
      bx_nentries++;
    }
  }
  return s;
}

Suite *tail_guard_suite(void)
{
  Suite *s = suite_create("tail_guard");
  size_t nk = optk_count();
  for (size_t ki = 0; ki < nk; ki++) {
    const optk_kernel *k = optk_at(ki);
    if (k == NULL)
      continue;
    for (int isa = 0; isa < OPTK_ISA_COUNT; isa++) {
      if (!optk_isa_available((optk_isa)isa) || tg_nentries >= MAX_ENTRIES)
        continue;
      struct entry *e = &tg_entries[tg_nentries];
      char label[48];
      e->k = k;
      e->kidx = ki;
      e->isa = (optk_isa)isa;
      snprintf(e->name, sizeof e->name, "%s_%s", tu_kernel_label(label, sizeof label, k),
               tu_isa_names[isa]);
      TCase *tc = tcase_create(e->name);
      tcase_add_loop_test(tc, test_tail_guard, tg_nentries * (int)NSIZES,
                          (tg_nentries + 1) * (int)NSIZES);
      suite_add_tcase(s, tc);
      tg_nentries++;
    }
  }
  return s;
}
