/* libFuzzer target: optk_init_state.  The input picks a kernel of the
 * registry, n (small, or beyond the documented bound), every hyperparameter
 * from every double class, and for each state array a guard-paged slot,
 * NULL, or another state array (aliasing).  The return code must be the
 * contract's verdict (written out here from optkern.h); a refused call must
 * leave every slot as it was; an accepted one must write exactly the n
 * elements of each array, each the initial value rounded to the state type.
 * Any difference aborts; a write past an array faults on a guard page or is
 * caught by the pattern around it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static unsigned char snap[OPTK_MAX_STATE][FZ_DATA_BYTES + 65536];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz_in in = { data, size };
  const optk_kernel *k = optk_at(fz_u8(&in) % optk_count());
  const optk_dtype st = tu_state_type(k->dtype);
  const size_t es = tu_esize(st);
  int huge;
  const size_t n = fz_n(k, &in, &huge);
  double hp[OPTK_MAX_HPARAMS];
  for (int i = 0; i < k->nhparams; i++)
    hp[i] = fz_hparam(&k->hparams[i], &in);
  const uint8_t flags = fz_u8(&in);
  const int hp_null = flags == 0xff, state_null = flags == 0xfe;

  fz_slot *sl = fz_slots() + 2;
  const int ns = k->nstate;
  void *arr[OPTK_MAX_STATE];
  for (int a = 0; a < ns; a++) {
    const uint8_t c = fz_u8(&in);
    fz_place(&sl[a], (huge ? 16 : n) * es, c & 1, (size_t)(c >> 1 & 7) * es, &in);
    switch (c >> 4) {
    case 0:
      arr[a] = NULL;
      break;
    case 1:
      arr[a] = a > 0 ? arr[fz_u8(&in) % a] : sl[a].arr;
      break;
    default:
      arr[a] = sl[a].arr;
    }
    memcpy(snap[a], sl[a].data, sl[a].size);
  }

  int want = OPTK_OK;
  double init[OPTK_MAX_STATE];
  if (hp_null || !fz_hparams_ok(k, hp) || n > (size_t)PTRDIFF_MAX / fz_widest(k))
    want = OPTK_EINVAL;
  if (want == OPTK_OK && n > 0 && ns > 0) {
    if (state_null)
      want = OPTK_EINVAL;
    for (int a = 0; a < ns; a++)
      for (int b = 0; b < a; b++)
        if (arr[a] == arr[b])
          want = OPTK_EINVAL;
    for (int a = 0; a < ns; a++)
      if (arr[a] == NULL)
        want = OPTK_EINVAL;
  }
  if (want == OPTK_OK) {
    k->state_init(hp, init);
    if (!fz_derived_ok(k, hp, init, ns))
      want = OPTK_EINVAL;
  }
  const int rc = optk_init_state(k, n, state_null ? NULL : arr, hp_null ? NULL : hp);
  if (rc != want)
    fz_fail("%s_%s n %zu: optk_init_state returned %d, the contract says %d", k->name,
            tu_dtype_name(k->dtype), n, rc, want);
  for (int a = 0; a < ns; a++) {
    if (rc != OPTK_OK && memcmp(snap[a], sl[a].data, sl[a].size) != 0)
      fz_fail("%s_%s: refused call (%d) changed state %d", k->name, tu_dtype_name(k->dtype), rc, a);
    if (rc == OPTK_OK && !fz_pattern_ok(&sl[a]))
      fz_fail("%s_%s n %zu: write outside state %d", k->name, tu_dtype_name(k->dtype), n, a);
  }
  if (rc != OPTK_OK)
    return 0;
  for (int a = 0; a < ns && n > 0; a++) {
    unsigned char want_bits[8];
    if (st == OPTK_F64) {
      memcpy(want_bits, &init[a], 8);
    } else {
      const float f = (float)init[a];
      memcpy(want_bits, &f, 4);
    }
    for (size_t i = 0; i < n; i++)
      if (memcmp(sl[a].arr + i * es, want_bits, es) != 0)
        fz_fail("%s_%s: state %d element %zu is not the initial value %a", k->name,
                tu_dtype_name(k->dtype), a, i, init[a]);
  }
  return 0;
}
