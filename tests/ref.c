/* Double-precision references, one function per optimizer, transcribed from
 * the Keras 3 update rules:
 *
 *   sgd                        p -= lr*g
 *   sgd_momentum               v = momentum*v - lr*g;  p += v
 *   sgd_nesterov               v = momentum*v - lr*g;  p += momentum*v - lr*g
 *   adagrad                    acc += g*g;  p -= lr*g/sqrt(acc + eps)
 *   rmsprop                    v = rho*v + (1-rho)*g*g;  p -= lr*g/sqrt(v + eps)
 *   rmsprop_momentum           v as rmsprop; mom = momentum*mom + lr*g/sqrt(v + eps); p -= mom
 *   rmsprop_centered           v as rmsprop; a = rho*a + (1-rho)*g;
 *                              p -= lr*g/sqrt(v - a*a + eps)
 *   rmsprop_centered_momentum  v, a as above; mom = momentum*mom + lr*g/sqrt(v - a*a + eps);
 *                              p -= mom
 *   adam                       alpha = lr*sqrt(1-beta2^t)/(1-beta1^t);
 *                              m += (g-m)*(1-beta1); v += (g*g-v)*(1-beta2);
 *                              p -= alpha*m/(sqrt(v) + eps)
 *   adam_amsgrad               as adam, then vhat = max(vhat, v); the step uses vhat
 *   adamax                     m += (g-m)*(1-beta1); u = max(beta2*u, |g|);
 *                              p -= lr/(1-beta1^t) * m/(u + eps)
 */
#include "ref.h"

#include <math.h>
#include <string.h>

const struct ref_desc ref_descs[REF_NOPT] = {
  [REF_SGD] = {"sgd", 1, {"lr"}, {0.01}, 0, {0}},
  [REF_SGD_MOMENTUM] = {"sgd_momentum", 2, {"lr", "momentum"}, {0.01, 0.9}, 1, {"v"}},
  [REF_SGD_NESTEROV] = {"sgd_nesterov", 2, {"lr", "momentum"}, {0.01, 0.9}, 1, {"v"}},
  [REF_ADAGRAD] = {"adagrad",
                   3,
                   {"lr", "eps", "initial_accumulator_value"},
                   {0.001, 1e-7, 0.1},
                   1,
                   {"acc"}},
  [REF_RMSPROP] = {"rmsprop", 3, {"lr", "rho", "eps"}, {0.001, 0.9, 1e-7}, 1, {"v"}},
  [REF_RMSPROP_MOMENTUM] = {"rmsprop_momentum",
                            4,
                            {"lr", "rho", "eps", "momentum"},
                            {0.001, 0.9, 1e-7, 0.9},
                            2,
                            {"v", "mom"}},
  [REF_RMSPROP_CENTERED] = {"rmsprop_centered",
                            3,
                            {"lr", "rho", "eps"},
                            {0.001, 0.9, 1e-7},
                            2,
                            {"v", "a"}},
  [REF_RMSPROP_CENTERED_MOMENTUM] = {"rmsprop_centered_momentum",
                                     4,
                                     {"lr", "rho", "eps", "momentum"},
                                     {0.001, 0.9, 1e-7, 0.9},
                                     3,
                                     {"v", "a", "mom"}},
  [REF_ADAM] = {"adam",
                4,
                {"lr", "beta1", "beta2", "eps"},
                {0.001, 0.9, 0.999, 1e-7},
                2,
                {"m", "v"}},
  [REF_ADAM_AMSGRAD] = {"adam_amsgrad",
                        4,
                        {"lr", "beta1", "beta2", "eps"},
                        {0.001, 0.9, 0.999, 1e-7},
                        3,
                        {"m", "v", "vhat"}},
  [REF_ADAMAX] = {"adamax",
                  4,
                  {"lr", "beta1", "beta2", "eps"},
                  {0.001, 0.9, 0.999, 1e-7},
                  2,
                  {"m", "u"}},
};

int ref_lookup(const char *name)
{
  if (name == NULL)
    return -1;
  for (int i = 0; i < REF_NOPT; i++)
    if (strcmp(ref_descs[i].name, name) == 0)
      return i;
  return -1;
}

void ref_state_init(int opt, const double *hp, double *init)
{
  for (int j = 0; j < ref_descs[opt].nstate; j++)
    init[j] = 0.0;
  if (opt == REF_ADAGRAD)
    init[0] = hp[2];
}

static double dmax(double a, double b)
{
  return a > b ? a : b;
}

void ref_step(int opt, size_t n, double *p, const double *g, double *const *s, const double *hp,
              int64_t t)
{
  const double lr = hp[0];
  const double td = (double)t;
  switch (opt) {
  case REF_SGD:
    for (size_t i = 0; i < n; i++)
      p[i] -= lr * g[i];
    break;
  case REF_SGD_MOMENTUM: {
    const double mu = hp[1];
    double *v = s[0];
    for (size_t i = 0; i < n; i++) {
      v[i] = mu * v[i] - lr * g[i];
      p[i] += v[i];
    }
    break;
  }
  case REF_SGD_NESTEROV: {
    const double mu = hp[1];
    double *v = s[0];
    for (size_t i = 0; i < n; i++) {
      v[i] = mu * v[i] - lr * g[i];
      p[i] += mu * v[i] - lr * g[i];
    }
    break;
  }
  case REF_ADAGRAD: {
    const double eps = hp[1];
    double *acc = s[0];
    for (size_t i = 0; i < n; i++) {
      acc[i] += g[i] * g[i];
      p[i] -= lr * g[i] / sqrt(acc[i] + eps);
    }
    break;
  }
  case REF_RMSPROP: {
    const double rho = hp[1], eps = hp[2];
    double *v = s[0];
    for (size_t i = 0; i < n; i++) {
      v[i] = rho * v[i] + (1.0 - rho) * g[i] * g[i];
      p[i] -= lr * g[i] / sqrt(v[i] + eps);
    }
    break;
  }
  case REF_RMSPROP_MOMENTUM: {
    const double rho = hp[1], eps = hp[2], mu = hp[3];
    double *v = s[0], *mom = s[1];
    for (size_t i = 0; i < n; i++) {
      v[i] = rho * v[i] + (1.0 - rho) * g[i] * g[i];
      mom[i] = mu * mom[i] + lr * g[i] / sqrt(v[i] + eps);
      p[i] -= mom[i];
    }
    break;
  }
  case REF_RMSPROP_CENTERED: {
    const double rho = hp[1], eps = hp[2];
    double *v = s[0], *a = s[1];
    for (size_t i = 0; i < n; i++) {
      v[i] = rho * v[i] + (1.0 - rho) * g[i] * g[i];
      a[i] = rho * a[i] + (1.0 - rho) * g[i];
      p[i] -= lr * g[i] / sqrt(v[i] - a[i] * a[i] + eps);
    }
    break;
  }
  case REF_RMSPROP_CENTERED_MOMENTUM: {
    const double rho = hp[1], eps = hp[2], mu = hp[3];
    double *v = s[0], *a = s[1], *mom = s[2];
    for (size_t i = 0; i < n; i++) {
      v[i] = rho * v[i] + (1.0 - rho) * g[i] * g[i];
      a[i] = rho * a[i] + (1.0 - rho) * g[i];
      mom[i] = mu * mom[i] + lr * g[i] / sqrt(v[i] - a[i] * a[i] + eps);
      p[i] -= mom[i];
    }
    break;
  }
  case REF_ADAM:
  case REF_ADAM_AMSGRAD: {
    const double b1 = hp[1], b2 = hp[2], eps = hp[3];
    const double alpha = lr * sqrt(1.0 - pow(b2, td)) / (1.0 - pow(b1, td));
    double *m = s[0], *v = s[1];
    for (size_t i = 0; i < n; i++) {
      m[i] += (g[i] - m[i]) * (1.0 - b1);
      v[i] += (g[i] * g[i] - v[i]) * (1.0 - b2);
      double vv = v[i];
      if (opt == REF_ADAM_AMSGRAD) {
        s[2][i] = dmax(s[2][i], v[i]);
        vv = s[2][i];
      }
      p[i] -= alpha * m[i] / (sqrt(vv) + eps);
    }
    break;
  }
  case REF_ADAMAX: {
    const double b1 = hp[1], b2 = hp[2], eps = hp[3];
    const double lr_t = lr / (1.0 - pow(b1, td));
    double *m = s[0], *u = s[1];
    for (size_t i = 0; i < n; i++) {
      m[i] += (g[i] - m[i]) * (1.0 - b1);
      u[i] = dmax(b2 * u[i], fabs(g[i]));
      p[i] -= lr_t * m[i] / (u[i] + eps);
    }
    break;
  }
  default:
    break;
  }
}
