return {
  name = "adam",
  doc = [[
Adam and AMSGrad (Kingma & Ba 2014; Reddi et al. 2018; Keras 3, keras/src/optimizers/adam.py:
alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t); m += (g - m) * (1 - beta1);
v += (g^2 - v) * (1 - beta2); vhat = max(vhat, v); p -= alpha * m / (sqrt(v or vhat) + eps)).
PyTorch's Adam folds the bias corrections differently (eps is added to sqrt(v / (1 - beta2^t))):
a later flavour.]],
  variants = { { "adam" }, { "adam_amsgrad", "amsgrad" } },
  hparams = {
    { "lr", 0.001, "[0, inf)" },
    { "beta1", 0.9, "[0, 1)" },
    { "beta2", 0.999, "[0, 1)" },
    { "eps", 1e-7, "(0, inf)" },
  },
  state = { { "m", 0 }, { "v", 0 }, { "vhat", 0, when = "amsgrad" } },
  scalars = [[
    alpha = lr * sqrt(1 - beta2 ^ t) / (1 - beta1 ^ t)
  ]],
  update = [[
    m = m + (g - m) * (1 - beta1)
    v = v + (g * g - v) * (1 - beta2)
    vhat = max(vhat, v)                          if amsgrad
    p = p - alpha * m / (sqrt(v) + eps)          if not amsgrad
    p = p - alpha * m / (sqrt(vhat) + eps)       if amsgrad
  ]],
}
