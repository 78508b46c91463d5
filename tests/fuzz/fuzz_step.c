/* libFuzzer target: optk_step and optk_step_isa.  The input picks a kernel
 * of the registry, an ISA (optk_step's choice, each ISA, or an invalid
 * number), n (small, or beyond the documented bound), the thread count and
 * split threshold, every hyperparameter from every double class, t, and for
 * each array a guard-paged slot, NULL, or another array (aliasing).  The
 * return code must be the contract's verdict (written out here from
 * optkern.h); a refused call must leave every slot as it was; an accepted one
 * must leave grad and everything outside the arrays untouched and give the
 * scalar kernel's bits.  Any difference aborts; a write past an array faults
 * on a guard page or is caught by the pattern around it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static unsigned char snap[FZ_SLOTS][FZ_DATA_BYTES + 65536];
static _Alignas(64) unsigned char ref[FZ_SLOTS][FZ_DATA_BYTES];

static int aliased(void *const *a, int count)
{
  for (int i = 0; i < count; i++)
    for (int j = 0; j < i; j++)
      if (a[i] != NULL && a[i] == a[j])
        return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz_in in = { data, size };
  const optk_kernel *k = optk_at(fz_u8(&in) % optk_count());
  const optk_dtype dt = k->dtype, st = tu_state_type(dt);
  const uint8_t isa_sel = fz_u8(&in) % 9; /* 0: optk_step; then ISAs 0..4, invalid ones */
  int isa = isa_sel - 1;
  if (isa_sel == 8)
    isa = (int)(int32_t)fz_u64(&in);
  const int use_step = isa_sel == 0;
  int huge;
  const size_t n = fz_n(k, &in, &huge);
  const uint8_t thr = fz_u8(&in);
  optk_set_num_threads(1 + thr % 3);
  optk__set_split_min_part_ns(thr & 4 ? 0 : optk__split_default_ns());
  double hp[OPTK_MAX_HPARAMS];
  for (int i = 0; i < k->nhparams; i++)
    hp[i] = fz_hparam(&k->hparams[i], &in);
  const int64_t t = fz_t(&in);
  const uint8_t flags = fz_u8(&in);
  const int hp_null = flags == 0xff, state_null = flags == 0xfe && k->nstate > 0;

  fz_slot *sl = fz_slots();
  const int na = 2 + k->nstate;
  void *arr[FZ_SLOTS];
  size_t es[FZ_SLOTS];
  for (int a = 0; a < na; a++) {
    es[a] = tu_esize(a < 2 ? dt : st);
    const uint8_t c = fz_u8(&in);
    fz_place(&sl[a], (huge ? 16 : n) * es[a], c & 1, (size_t)(c >> 1 & 7) * es[a], &in);
    switch (c >> 4) {
    case 0:
      arr[a] = NULL;
      break;
    case 1:
    case 2:
      arr[a] = a > 0 ? arr[fz_u8(&in) % a] : sl[a].arr;
      break;
    default:
      arr[a] = sl[a].arr;
    }
    memcpy(snap[a], sl[a].data, sl[a].size);
  }
  void *const *state = state_null ? NULL : arr + 2;

  /* the contract's verdict */
  int want = OPTK_OK;
  if ((!use_step && (isa < 0 || isa >= OPTK_ISA_COUNT)) || t < 1 || hp_null || !fz_hparams_ok(k, hp) ||
      n > (size_t)PTRDIFF_MAX / fz_widest(k))
    want = OPTK_EINVAL;
  if (want == OPTK_OK && n > 0) {
    for (int a = 0; a < na; a++)
      if (arr[a] == NULL)
        want = OPTK_EINVAL;
    if (state_null || aliased(arr, na))
      want = OPTK_EINVAL;
  }
  if (want == OPTK_OK) {
    double c[OPTK_MAX_CONSTS];
    k->prep(hp, t, c);
    if (!fz_derived_ok(k, hp, c, k->nconsts))
      want = OPTK_EINVAL;
  }
  const optk_isa eff = use_step ? optk_active_isa() : (optk_isa)isa;
  if (want == OPTK_OK && (!optk_isa_available(eff) || k->impl[eff] == NULL))
    want = OPTK_ENOTSUP;

  const double *hpp = hp_null ? NULL : hp;
  const int rc = use_step ? optk_step(k, n, arr[0], arr[1], state, hpp, t)
                         : optk_step_isa(k, (optk_isa)isa, n, arr[0], arr[1], state, hpp, t);
  if (rc != want)
    fz_fail("%s_%s isa %d n %zu t %lld: returned %d, the contract says %d", k->name,
            tu_dtype_name(dt), isa, n, (long long)t, rc, want);
  if (rc != OPTK_OK) {
    for (int a = 0; a < na; a++)
      if (memcmp(snap[a], sl[a].data, sl[a].size) != 0)
        fz_fail("%s_%s: refused call (%d) changed array %d", k->name, tu_dtype_name(dt), rc, a);
    return 0;
  }
  if (memcmp(snap[1], sl[1].data, sl[1].size) != 0)
    fz_fail("%s_%s: grad changed", k->name, tu_dtype_name(dt));
  for (int a = 0; a < na; a++)
    if (!fz_pattern_ok(&sl[a]))
      fz_fail("%s_%s isa %d n %zu: write outside array %d", k->name, tu_dtype_name(dt), isa, n, a);
  if (n == 0 || eff == OPTK_ISA_SCALAR)
    return 0;
  /* the scalar kernel's bits, from the same inputs */
  void *rs[OPTK_MAX_STATE];
  for (int a = 0; a < na; a++) {
    if (a == 1)
      continue;
    memcpy(ref[a], snap[a] + (sl[a].arr - sl[a].data), n * es[a]);
    if (a >= 2)
      rs[a - 2] = ref[a];
  }
  if (optk_step_isa(k, OPTK_ISA_SCALAR, n, ref[0], arr[1], rs, hp, t) != OPTK_OK)
    fz_fail("%s_%s: the scalar step failed", k->name, tu_dtype_name(dt));
  for (int a = 0; a < na; a++) {
    if (a == 1)
      continue;
    const optk_dtype ty = a < 2 ? dt : st;
    for (size_t i = 0; i < n; i++)
      if (!tu_same_elem(ty, ref[a], arr[a], i))
        fz_fail("%s_%s isa %s n %zu: array %d element %zu differs from scalar", k->name,
                tu_dtype_name(dt), optk_isa_name(eff), n, a, i);
  }
  return 0;
}
