return {
  name = "adamw",
  doc = [[
AdamW in Keras 3 (keras/src/optimizers/adamw.py; the decay is
base_optimizer._apply_weight_decay: p = p - p * weight_decay * lr, before the step), then Adam as
keras/src/optimizers/adam.py: alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t);
m += (g - m) * (1 - beta1); v += (g^2 - v) * (1 - beta2); p -= m * alpha / (sqrt(v) + eps).
PyTorch's AdamW (torch_adamw) scales p by 1 - lr * weight_decay and corrects bias otherwise.]],
  variants = { { "adamw" } },
  hparams = {
    { "lr", 0.001, "[0, inf)" },
    { "beta1", 0.9, "[0, 1)" },
    { "beta2", 0.999, "[0, 1)" },
    { "eps", 1e-7, "(0, inf)" },
    { "weight_decay", 0.004, "[0, inf)" },
  },
  state = { { "m", 0 }, { "v", 0 } },
  scalars = [[
    alpha = lr * sqrt(1 - beta2 ^ t) / (1 - beta1 ^ t)
  ]],
  update = [[
    p = p - p * weight_decay * lr
    m = m + (g - m) * (1 - beta1)
    v = v + (g * g - v) * (1 - beta2)
    p = p - m * alpha / (sqrt(v) + eps)
  ]],
}
