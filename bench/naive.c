/* The loop a user would write: each optimizer's formula (issue 2, Keras
 * semantics) as plain C over f32 and f64 arrays, per-call scalars computed in
 * the function.  Compiled several times with different compilers and flags
 * (bench/bench.ninja), each copy naming its table with NAIVE_TABLE, so one
 * benchmark binary compares them all in the same process. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "naive.h"

#ifndef NAIVE_TABLE
#error "compile with -DNAIVE_TABLE=name"
#endif

#define DEFINE_NAIVE(T, SUF, SQRT, FABS, FMAX, POW)                                                     \
  static void sgd_##SUF(size_t n, void *pp, const void *gg, void *const *s, const double *hp, int64_t t) \
  {                                                                                                      \
    T *restrict p = pp;                                                                                  \
    const T *restrict g = gg;                                                                            \
    const T lr = (T)hp[0];                                                                               \
    (void)s, (void)t;                                                                                    \
    for (size_t i = 0; i < n; i++)                                                                       \
      p[i] -= lr * g[i];                                                                                 \
  }                                                                                                      \
  static void sgd_momentum_##SUF(size_t n, void *pp, const void *gg, void *const *s, const double *hp,  \
                                 int64_t t)                                                              \
  {                                                                                                      \
    T *restrict p = pp;                                                                                  \
    const T *restrict g = gg;                                                                            \
    T *restrict v = s[0];                                                                                \
    const T lr = (T)hp[0], mu = (T)hp[1];                                                                \
    (void)t;                                                                                             \
    for (size_t i = 0; i < n; i++) {                                                                     \
      v[i] = mu * v[i] - lr * g[i];                                                                      \
      p[i] += v[i];                                                                                      \
    }                                                                                                    \
  }                                                                                                      \
  static void sgd_nesterov_##SUF(size_t n, void *pp, const void *gg, void *const *s, const double *hp,  \
                                 int64_t t)                                                              \
  {                                                                                                      \
    T *restrict p = pp;                                                                                  \
    const T *restrict g = gg;                                                                            \
    T *restrict v = s[0];                                                                                \
    const T lr = (T)hp[0], mu = (T)hp[1];                                                                \
    (void)t;                                                                                             \
    for (size_t i = 0; i < n; i++) {                                                                     \
      v[i] = mu * v[i] - lr * g[i];                                                                      \
      p[i] += mu * v[i] - lr * g[i];                                                                     \
    }                                                                                                    \
  }                                                                                                      \
  static void adagrad_##SUF(size_t n, void *pp, const void *gg, void *const *s, const double *hp,       \
                            int64_t t)                                                                   \
  {                                                                                                      \
    T *restrict p = pp;                                                                                  \
    const T *restrict g = gg;                                                                            \
    T *restrict acc = s[0];                                                                              \
    const T lr = (T)hp[0], eps = (T)hp[1];                                                               \
    (void)t;                                                                                             \
    for (size_t i = 0; i < n; i++) {                                                                     \
      acc[i] += g[i] * g[i];                                                                             \
      p[i] -= lr * g[i] / SQRT(acc[i] + eps);                                                            \
    }                                                                                                    \
  }                                                                                                      \
  static void rmsprop_##SUF(size_t n, void *pp, const void *gg, void *const *s, const double *hp,       \
                            int64_t t)                                                                   \
  {                                                                                                      \
    T *restrict p = pp;                                                                                  \
    const T *restrict g = gg;                                                                            \
    T *restrict v = s[0];                                                                                \
    const T lr = (T)hp[0], rho = (T)hp[1], eps = (T)hp[2];                                               \
    (void)t;                                                                                             \
    for (size_t i = 0; i < n; i++) {                                                                     \
      v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];                                                       \
      p[i] -= lr * g[i] / SQRT(v[i] + eps);                                                              \
    }                                                                                                    \
  }                                                                                                      \
  static void rmsprop_momentum_##SUF(size_t n, void *pp, const void *gg, void *const *s,                \
                                     const double *hp, int64_t t)                                        \
  {                                                                                                      \
    T *restrict p = pp;                                                                                  \
    const T *restrict g = gg;                                                                            \
    T *restrict v = s[0], *restrict mom = s[1];                                                          \
    const T lr = (T)hp[0], rho = (T)hp[1], eps = (T)hp[2], mu = (T)hp[3];                                \
    (void)t;                                                                                             \
    for (size_t i = 0; i < n; i++) {                                                                     \
      v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];                                                       \
      mom[i] = mu * mom[i] + lr * g[i] / SQRT(v[i] + eps);                                               \
      p[i] -= mom[i];                                                                                    \
    }                                                                                                    \
  }                                                                                                      \
  static void rmsprop_centered_##SUF(size_t n, void *pp, const void *gg, void *const *s,                \
                                     const double *hp, int64_t t)                                        \
  {                                                                                                      \
    T *restrict p = pp;                                                                                  \
    const T *restrict g = gg;                                                                            \
    T *restrict v = s[0], *restrict a = s[1];                                                            \
    const T lr = (T)hp[0], rho = (T)hp[1], eps = (T)hp[2];                                               \
    (void)t;                                                                                             \
    for (size_t i = 0; i < n; i++) {                                                                     \
      v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];                                                       \
      a[i] = rho * a[i] + (1 - rho) * g[i];                                                              \
      p[i] -= lr * g[i] / SQRT(v[i] - a[i] * a[i] + eps);                                                \
    }                                                                                                    \
  }                                                                                                      \
  static void rmsprop_centered_momentum_##SUF(size_t n, void *pp, const void *gg, void *const *s,       \
                                              const double *hp, int64_t t)                               \
  {                                                                                                      \
    T *restrict p = pp;                                                                                  \
    const T *restrict g = gg;                                                                            \
    T *restrict v = s[0], *restrict a = s[1], *restrict mom = s[2];                                      \
    const T lr = (T)hp[0], rho = (T)hp[1], eps = (T)hp[2], mu = (T)hp[3];                                \
    (void)t;                                                                                             \
    for (size_t i = 0; i < n; i++) {                                                                     \
      v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];                                                       \
      a[i] = rho * a[i] + (1 - rho) * g[i];                                                              \
      mom[i] = mu * mom[i] + lr * g[i] / SQRT(v[i] - a[i] * a[i] + eps);                                 \
      p[i] -= mom[i];                                                                                    \
    }                                                                                                    \
  }                                                                                                      \
  static void adam_##SUF(size_t n, void *pp, const void *gg, void *const *s, const double *hp,          \
                         int64_t t)                                                                      \
  {                                                                                                      \
    T *restrict p = pp;                                                                                  \
    const T *restrict g = gg;                                                                            \
    T *restrict m = s[0], *restrict v = s[1];                                                            \
    const T b1 = (T)hp[1], b2 = (T)hp[2], eps = (T)hp[3];                                                \
    const T alpha = (T)(hp[0] * sqrt(1 - pow(hp[2], (double)t)) / (1 - pow(hp[1], (double)t)));       \
    for (size_t i = 0; i < n; i++) {                                                                     \
      m[i] += (g[i] - m[i]) * (1 - b1);                                                                  \
      v[i] += (g[i] * g[i] - v[i]) * (1 - b2);                                                           \
      p[i] -= alpha * m[i] / (SQRT(v[i]) + eps);                                                         \
    }                                                                                                    \
  }                                                                                                      \
  static void adam_amsgrad_##SUF(size_t n, void *pp, const void *gg, void *const *s, const double *hp,  \
                                 int64_t t)                                                              \
  {                                                                                                      \
    T *restrict p = pp;                                                                                  \
    const T *restrict g = gg;                                                                            \
    T *restrict m = s[0], *restrict v = s[1], *restrict vh = s[2];                                       \
    const T b1 = (T)hp[1], b2 = (T)hp[2], eps = (T)hp[3];                                                \
    const T alpha = (T)(hp[0] * sqrt(1 - pow(hp[2], (double)t)) / (1 - pow(hp[1], (double)t)));       \
    for (size_t i = 0; i < n; i++) {                                                                     \
      m[i] += (g[i] - m[i]) * (1 - b1);                                                                  \
      v[i] += (g[i] * g[i] - v[i]) * (1 - b2);                                                           \
      vh[i] = FMAX(vh[i], v[i]);                                                                         \
      p[i] -= alpha * m[i] / (SQRT(vh[i]) + eps);                                                        \
    }                                                                                                    \
  }                                                                                                      \
  static void adamax_##SUF(size_t n, void *pp, const void *gg, void *const *s, const double *hp,        \
                           int64_t t)                                                                    \
  {                                                                                                      \
    T *restrict p = pp;                                                                                  \
    const T *restrict g = gg;                                                                            \
    T *restrict m = s[0], *restrict u = s[1];                                                            \
    const T b1 = (T)hp[1], b2 = (T)hp[2], eps = (T)hp[3];                                                \
    const T lrt = (T)(hp[0] / (1 - pow(hp[1], (double)t)));                                              \
    for (size_t i = 0; i < n; i++) {                                                                     \
      m[i] += (g[i] - m[i]) * (1 - b1);                                                                  \
      u[i] = FMAX(b2 * u[i], FABS(g[i]));                                                                \
      p[i] -= lrt * m[i] / (u[i] + eps);                                                                 \
    }                                                                                                    \
  }

DEFINE_NAIVE(float, f32, sqrtf, fabsf, fmaxf, pow)
DEFINE_NAIVE(double, f64, sqrt, fabs, fmax, pow)

#define ENTRY(name) { #name, name##_f32, name##_f64 }
const struct naive_fn NAIVE_TABLE[] = {
  ENTRY(sgd),
  ENTRY(sgd_momentum),
  ENTRY(sgd_nesterov),
  ENTRY(adagrad),
  ENTRY(rmsprop),
  ENTRY(rmsprop_momentum),
  ENTRY(rmsprop_centered),
  ENTRY(rmsprop_centered_momentum),
  ENTRY(adam),
  ENTRY(adam_amsgrad),
  ENTRY(adamax),
  { NULL, NULL, NULL },
};
