/* See harness.h. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "harness.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

uint8_t fz_u8(fz_in *in)
{
  if (in->left == 0)
    return 0;
  in->left--;
  return *in->p++;
}

uint64_t fz_u64(fz_in *in)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | fz_u8(in);
  return v;
}

void fz_fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("optk fuzz: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

static unsigned char pattern_byte(size_t i) { return (unsigned char)(0xa5 ^ (i * 29)); }

fz_slot *fz_slots(void)
{
  static fz_slot slots[FZ_SLOTS];
  static int mapped;
  if (!mapped) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t data = (FZ_DATA_BYTES + page - 1) / page * page;
    for (int i = 0; i < FZ_SLOTS; i++) {
      unsigned char *m = mmap(NULL, data + 2 * page, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED || mprotect(m, page, PROT_NONE) != 0 ||
          mprotect(m + page + data, page, PROT_NONE) != 0)
        fz_fail("cannot map guard pages");
      slots[i].data = m + page;
      slots[i].size = data;
    }
    mapped = 1;
  }
  return slots;
}

void fz_place(fz_slot *s, size_t bytes, int at_end, size_t offset, fz_in *in)
{
  s->bytes = bytes;
  if (at_end || offset > s->size - bytes)
    s->arr = s->data + s->size - bytes;
  else
    s->arr = s->data + offset;
  for (size_t i = 0; i < s->size; i++)
    s->data[i] = pattern_byte(i);
  /* contents: the input's bytes, repeated (values of every class occur) */
  const uint8_t *src = in->p;
  const size_t avail = in->left < 64 ? in->left : 64;
  for (size_t i = 0; i < bytes; i++)
    s->arr[i] = avail ? src[i % avail] : (unsigned char)i;
  for (size_t i = 0; i < avail; i++)
    fz_u8(in);
}

int fz_pattern_ok(const fz_slot *s)
{
  const size_t lo = (size_t)(s->arr - s->data), hi = lo + s->bytes;
  for (size_t i = 0; i < s->size; i++)
    if ((i < lo || i >= hi) && s->data[i] != pattern_byte(i))
      return 0;
  return 1;
}

double fz_hparam(const struct optk_hparam *h, fz_in *in)
{
  const uint8_t c = fz_u8(in);
  const double u = (double)(fz_u64(in) >> 11) * 0x1p-53; /* [0, 1) */
  switch (c % 24) {
  case 0: return NAN;
  case 1: return -NAN;
  case 2: { /* a NaN with a payload, quiet or signalling */
    const uint64_t bits = 0x7ff0000000000000u | (fz_u64(in) & 0x800fffffffffffffu) | 1u;
    double d;
    memcpy(&d, &bits, 8);
    return d;
  }
  case 3: return INFINITY;
  case 4: return -INFINITY;
  case 5: return 0.0;
  case 6: return -0.0;
  case 7: return u * 0x1p-1022; /* double subnormal */
  case 8: return u * 0x1p-126;  /* float subnormal or below */
  case 9: { static const double huge[] = {DBL_MAX, 1e39, FLT_MAX, 0x1.ffffffp127, 0x1.fffffefffffffp127, 1e300, -DBL_MAX, -1e39};
    return huge[(size_t)(u * 8)]; }
  case 10: return ldexp(1.0 + u, (int)(fz_u8(in) % 64) + 64);    /* huge: 2^64 .. 2^128 */
  case 11: return ldexp(1.0 + u, -(int)(fz_u8(in) % 200) - 20);  /* tiny */
  case 12: return h->lo;
  case 13: return h->hi;
  case 14: return nextafter(h->lo, (fz_u8(in) & 1) ? INFINITY : -INFINITY);
  case 15: return nextafter(h->hi, (fz_u8(in) & 1) ? INFINITY : -INFINITY);
  case 16: case 17: { /* the float nearest a bound, a neighbour, or a midpoint between */
    const double b = c % 24 == 16 ? h->lo : h->hi;
    if (!isfinite(b))
      return b;
    const float f = (float)b, g = nextafterf(f, (fz_u8(in) & 1) ? INFINITY : -INFINITY);
    const double mid = ((double)f + g) / 2;
    switch (fz_u8(in) % 4) {
    case 0: return g;
    case 1: return mid;
    case 2: return nextafter(mid, (double)f);
    default: return nextafter(mid, (double)g);
    }
  }
  case 18: case 19: return h->def;
  case 20: case 21: { /* inside the domain */
    const double lo = isfinite(h->lo) ? h->lo : -1e6, hi = isfinite(h->hi) ? h->hi : 1e6;
    return lo + u * (hi - lo);
  }
  default: {
    const uint64_t bits = fz_u64(in);
    double d;
    memcpy(&d, &bits, 8);
    return d;
  }
  }
}

int64_t fz_t(fz_in *in)
{
  switch (fz_u8(in) % 8) {
  case 0: return 0;
  case 1: return -(int64_t)(fz_u8(in) % 3) - 1;
  case 2: return INT64_MIN;
  case 3: return INT64_MAX;
  case 4: return (int64_t)(fz_u64(in) >> 1);
  case 5: return 1 + fz_u8(in) * 100;
  default: return 1 + fz_u8(in) % 4;
  }
}

size_t fz_widest(const optk_kernel *k)
{
  const size_t p = tu_esize(k->dtype), s = tu_esize(tu_state_type(k->dtype));
  return k->nstate > 0 && s > p ? s : p;
}

size_t fz_n(const optk_kernel *k, fz_in *in, int *huge)
{
  const uint8_t c = fz_u8(in);
  *huge = 0;
  if (c < 240) {
    size_t n = (size_t)fz_u8(in) << 8 | fz_u8(in);
    return c < 120 ? n % 70 : n % (FZ_MAX_N + 1);
  }
  *huge = 1;
  const size_t w = fz_widest(k);
  switch (c % 6) {
  case 0: return SIZE_MAX;
  case 1: return SIZE_MAX / 2 + 1;
  case 2: return (size_t)PTRDIFF_MAX / w + 1;
  case 3: return SIZE_MAX / w + 1;
  case 4: return (size_t)PTRDIFF_MAX / w + 1 + (fz_u64(in) % (SIZE_MAX - (size_t)PTRDIFF_MAX / w));
  default: return (size_t)PTRDIFF_MAX + 1;
  }
}

double fz_round(const optk_kernel *k, double x)
{
  return k->dtype == OPTK_F64 ? x : (double)(float)x;
}

static int in_domain(const struct optk_hparam *h, double x)
{
  if (isnan(x))
    return 0;
  if (h->is_bool) /* a switch: 0 or 1 */
    return x == 0 || x == 1;
  if (h->lo_open ? !(x > h->lo) : !(x >= h->lo))
    return 0;
  return h->hi_open ? x < h->hi : x <= h->hi;
}

int fz_hparams_ok(const optk_kernel *k, const double *hp)
{
  for (int i = 0; i < k->nhparams; i++)
    if (!in_domain(&k->hparams[i], hp[i]) || !in_domain(&k->hparams[i], fz_round(k, hp[i])))
      return 0;
  return 1;
}

int fz_derived_ok(const optk_kernel *k, const double *hp, const double *v, int count)
{
  int inf_hp = 0;
  for (int i = 0; i < k->nhparams; i++)
    inf_hp |= isinf(fz_round(k, hp[i]));
  for (int i = 0; i < count; i++) {
    const double r = fz_round(k, v[i]);
    if (isnan(r) || (isinf(r) && !inf_hp))
      return 0;
  }
  return 1;
}
