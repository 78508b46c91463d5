return {
  name = "torch_radam",
  doc = [[
PyTorch's RAdam (torch/optim/radam.py, _single_tensor_radam, torch 1.13):
exp_avg = beta1 * exp_avg + (1 - beta1) * d, exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * d^2,
rho_inf = 2 / (1 - beta2) - 1, rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t); while rho_t <= 5,
p -= exp_avg / (1 - beta1^t) * lr; after, p -= exp_avg / (1 - beta1^t) * lr *
(sqrt(1 - beta2^t) / (sqrt(exp_avg_sq) + eps)) * rect with
rect = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)).
decoupled_weight_decay is torch 2.x's (p *= 1 - lr * weight_decay instead of
d += weight_decay * p).  Keras 3 has no RAdam.]],
  variants = { { "torch_radam" } },
  hparams = {
    { "lr", 0.001, "[0, inf)" },
    { "beta1", 0.9, "[0, 1)" },
    { "beta2", 0.999, "[0, 1)" },
    { "eps", 1e-8, "(0, inf)" },
    { "weight_decay", 0, "[0, inf)" },
    { "decoupled_weight_decay", 0, "{0, 1}" },
  },
  state = { { "exp_avg", 0 }, { "exp_avg_sq", 0 } },
  scalars = [[
    bias_correction1 = 1 - beta1 ^ t
    bias_correction2 = 1 - beta2 ^ t
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2 ^ t / bias_correction2
    rect = select(rho_t > 5, sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)), 0)
    adaptive_sqrt = sqrt(bias_correction2)
    decay = select(decoupled_weight_decay != 0, 1 - lr * weight_decay, 1)
    coupled = select(decoupled_weight_decay != 0, 0, weight_decay)
  ]],
  update = [[
    p = p * decay
    d = select(coupled != 0, g + coupled * p, g)
    exp_avg = d * (1 - beta1) + exp_avg * beta1
    exp_avg_sq = (1 - beta2) * d * d + exp_avg_sq * beta2
    corrected = exp_avg / bias_correction1
    p = select(rho_t > 5, p - corrected * lr * (adaptive_sqrt / (sqrt(exp_avg_sq) + eps)) * rect, p - corrected * lr)
  ]],
}
