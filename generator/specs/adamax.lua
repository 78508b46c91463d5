return {
  name = "adamax",
  doc = [[
Adamax, Adam with the infinity norm (Kingma & Ba 2014, section 7.1; Keras 3,
keras/src/optimizers/adamax.py: m += (g - m) * (1 - beta1); u = max(beta2 * u, |g|);
p -= lr * m / ((1 - beta1^t) * (u + eps))).
PyTorch adds eps inside the max (u = max(beta2 * u, |g| + eps)): a later flavour.]],
  variants = { { "adamax" } },
  hparams = {
    { "lr", 0.001, "[0, inf)" },
    { "beta1", 0.9, "[0, 1)" },
    { "beta2", 0.999, "[0, 1)" },
    { "eps", 1e-7, "(0, inf)" },
  },
  state = { { "m", 0 }, { "u", 0 } },
  scalars = [[
    step_size = lr / (1 - beta1 ^ t)
  ]],
  update = [[
    m = m + (g - m) * (1 - beta1)
    u = max(beta2 * u, abs(g))
    p = p - step_size * m / (u + eps)
  ]],
}
