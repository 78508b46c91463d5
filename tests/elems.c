/* Element types, bit patterns and random numbers shared by every test
 * program (the Check suites, the digest, thread and vendor checks); no
 * Check here, so programs built without it (under qemu) can use them. */
#include "elems.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- random numbers ----------------------------------------------------- */

void tu_seed(tu_rng *r, uint64_t seed)
{
  r->s = seed * 0x9E3779B97F4A7C15ull + 0x0123456789ABCDEFull;
}

uint64_t tu_next(tu_rng *r)
{
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double tu_uniform(tu_rng *r)
{
  return (double)(tu_next(r) >> 11) * 0x1p-53;
}

uint32_t tu_below(tu_rng *r, uint32_t n)
{
  return (uint32_t)((tu_next(r) >> 32) % n);
}

double tu_normal(tu_rng *r)
{
  double u1 = tu_uniform(r), u2 = tu_uniform(r);
  if (u1 < 0x1p-60)
    u1 = 0x1p-60;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- bits and conversions ----------------------------------------------- */

uint32_t tu_f32_bits(float f)
{
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

float tu_bits_f32(uint32_t u)
{
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

uint64_t tu_f64_bits(double d)
{
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

double tu_bits_f64(uint64_t u)
{
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

uint16_t tu_f32_to_bf16(float f)
{
  uint32_t u = tu_f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t)((u >> 16) | 0x0040u); /* NaN: quiet, keep sign and top payload */
  u += 0x7fffu + ((u >> 16) & 1u);          /* round to nearest, ties to even */
  return (uint16_t)(u >> 16);
}

float tu_bf16_to_f32(uint16_t h)
{
  return tu_bits_f32((uint32_t)h << 16);
}

uint16_t tu_f32_to_f16(float f)
{
  uint32_t x = tu_f32_bits(f);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u)
    return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
  if (ax >= 0x47800000u) /* >= 2^16: infinity */
    return (uint16_t)(sign | 0x7c00u);
  if (ax <= 0x33000000u) /* <= 2^-25: rounds to zero (2^-25 is a tie, zero is even) */
    return sign;
  int e = (int)(ax >> 23) - 127;
  uint32_t m = (ax & 0x7fffffu) | 0x800000u; /* 24 significant bits */
  uint32_t h, rem, half;
  if (e >= -14) {
    h = ((uint32_t)(e + 15) << 10) | ((m >> 13) & 0x3ffu);
    rem = m & 0x1fffu;
    half = 0x1000u;
  } else {
    int s = -e - 1; /* value / 2^-24 = m * 2^(e+1) */
    h = m >> s;
    rem = m & ((1u << s) - 1u);
    half = 1u << (s - 1);
  }
  if (rem > half || (rem == half && (h & 1u)))
    h++; /* a carry moves into the exponent, up to infinity */
  return (uint16_t)(sign | h);
}

float tu_f16_to_f32(uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f)
    return tu_bits_f32(sign | 0x7f800000u | (m << 13));
  if (e == 0) {
    float v = (float)m * 0x1p-24f; /* exact */
    return sign ? -v : v;
  }
  return tu_bits_f32(sign | ((e + 112u) << 23) | (m << 13));
}

/* ---- element types ------------------------------------------------------ */

const char *tu_dtype_name(optk_dtype t)
{
  switch (t) {
  case OPTK_F32:
    return "f32";
  case OPTK_F64:
    return "f64";
  case OPTK_BF16:
    return "bf16";
  case OPTK_F16:
    return "f16";
  }
  return "?";
}

size_t tu_esize(optk_dtype t)
{
  return t == OPTK_F64 ? 8 : t == OPTK_F32 ? 4 : 2;
}

optk_dtype tu_state_type(optk_dtype storage)
{
  return storage == OPTK_F64 ? OPTK_F64 : OPTK_F32;
}

double tu_get(optk_dtype t, const void *base, size_t i)
{
  switch (t) {
  case OPTK_F32:
    return ((const float *)base)[i];
  case OPTK_F64:
    return ((const double *)base)[i];
  case OPTK_BF16:
    return tu_bf16_to_f32(((const uint16_t *)base)[i]);
  case OPTK_F16:
    return tu_f16_to_f32(((const uint16_t *)base)[i]);
  }
  return 0.0;
}

void tu_put(optk_dtype t, void *base, size_t i, double v)
{
  switch (t) {
  case OPTK_F32:
    ((float *)base)[i] = (float)v;
    break;
  case OPTK_F64:
    ((double *)base)[i] = v;
    break;
  case OPTK_BF16:
    ((uint16_t *)base)[i] = tu_f32_to_bf16((float)v);
    break;
  case OPTK_F16:
    ((uint16_t *)base)[i] = tu_f32_to_f16((float)v);
    break;
  }
}

uint64_t tu_get_bits(optk_dtype t, const void *base, size_t i)
{
  switch (tu_esize(t)) {
  case 8: {
    uint64_t u;
    memcpy(&u, (const unsigned char *)base + 8 * i, 8);
    return u;
  }
  case 4: {
    uint32_t u;
    memcpy(&u, (const unsigned char *)base + 4 * i, 4);
    return u;
  }
  default: {
    uint16_t u;
    memcpy(&u, (const unsigned char *)base + 2 * i, 2);
    return u;
  }
  }
}

void tu_put_bits(optk_dtype t, void *base, size_t i, uint64_t bits)
{
  switch (tu_esize(t)) {
  case 8:
    memcpy((unsigned char *)base + 8 * i, &bits, 8);
    break;
  case 4: {
    uint32_t u = (uint32_t)bits;
    memcpy((unsigned char *)base + 4 * i, &u, 4);
    break;
  }
  default: {
    uint16_t u = (uint16_t)bits;
    memcpy((unsigned char *)base + 2 * i, &u, 2);
    break;
  }
  }
}

tu_tinfo tu_tinfo_of(optk_dtype t)
{
  switch (t) {
  case OPTK_F64:
    return (tu_tinfo){11, 52};
  case OPTK_BF16:
    return (tu_tinfo){8, 7};
  case OPTK_F16:
    return (tu_tinfo){5, 10};
  default:
    return (tu_tinfo){8, 23};
  }
}

int tu_is_nan_bits(optk_dtype t, uint64_t bits)
{
  tu_tinfo ti = tu_tinfo_of(t);
  uint64_t expmask = ((1ull << ti.ebits) - 1) << ti.mbits;
  uint64_t mantmask = (1ull << ti.mbits) - 1;
  return (bits & expmask) == expmask && (bits & mantmask) != 0;
}

int tu_same_elem(optk_dtype t, const void *a, const void *b, size_t i)
{
  uint64_t x = tu_get_bits(t, a, i), y = tu_get_bits(t, b, i);
  if (x == y)
    return 1;
  return tu_is_nan_bits(t, x) && tu_is_nan_bits(t, y);
}

const char *tu_fmt(char *buf, size_t size, optk_dtype t, const void *base, size_t i)
{
  uint64_t bits = tu_get_bits(t, base, i);
  double v = tu_get(t, base, i);
  switch (t) {
  case OPTK_F64:
    snprintf(buf, size, "%a (0x%016llx)", v, (unsigned long long)bits);
    break;
  case OPTK_F32:
    snprintf(buf, size, "%a (0x%08llx)", v, (unsigned long long)bits);
    break;
  default:
    snprintf(buf, size, "%a (0x%04llx)", v, (unsigned long long)bits);
    break;
  }
  return buf;
}

double tu_round_to(optk_dtype t, double v)
{
  switch (t) {
  case OPTK_F32:
    return (float)v;
  case OPTK_F64:
    return v;
  case OPTK_BF16:
    return tu_bf16_to_f32(tu_f32_to_bf16((float)v));
  case OPTK_F16:
    return tu_f16_to_f32(tu_f32_to_f16((float)v));
  }
  return v;
}

double tu_ulp(optk_dtype t, double v)
{
  tu_tinfo ti = tu_tinfo_of(t);
  int emin = 2 - (1 << (ti.ebits - 1)); /* exponent of the smallest normal */
  int e;
  if (v == 0.0 || !isfinite(v)) {
    e = emin;
  } else {
    frexp(v, &e);
    e -= 1; /* |v| in [2^e, 2^(e+1)) */
    if (e < emin)
      e = emin;
  }
  return ldexp(1.0, e - ti.mbits);
}
