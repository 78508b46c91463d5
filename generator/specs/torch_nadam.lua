return {
  name = "torch_nadam",
  doc = [[
PyTorch's NAdam (torch/optim/nadam.py, _multi_tensor_nadam, torch 1.13; the same formula as
torch 2.x): mu_s = beta1 * (1 - 0.5 * 0.96^(s * momentum_decay)), mu_product = the product of
mu_s over s = 1..t (kept in double, from t: no state), exp_avg = beta1 * exp_avg + (1 - beta1) * d,
exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * d^2, denom = sqrt(exp_avg_sq) / sqrt(1 - beta2^t)
+ eps, p += -lr * (1 - mu_t) / (1 - mu_product) * d / denom, then
p += -lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * exp_avg / denom.  torch 1.13's default
single-tensor path multiplies by mu twice (fixed upstream in PR #92699): not followed.
decoupled_weight_decay and maximize are torch 2.x's (decoupled: p *= 1 - lr * weight_decay
instead of d += weight_decay * p).  Keras (nadam.py) uses 0.96^t, without momentum_decay.]],
  variants = { { "torch_nadam" } },
  hparams = {
    { "lr", 0.002, "[0, inf)" },
    { "beta1", 0.9, "[0, 1)" },
    { "beta2", 0.999, "[0, 1)" },
    { "eps", 1e-8, "(0, inf)" },
    { "weight_decay", 0, "[0, inf)" },
    { "momentum_decay", 0.004, "[0, inf)" },
    { "decoupled_weight_decay", 0, "{0, 1}" },
    { "maximize", 0, "{0, 1}" },
  },
  state = { { "exp_avg", 0 }, { "exp_avg_sq", 0 } },
  scalars = [[
    mu = beta1 * (1 - 0.5 * 0.96 ^ (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ^ ((t + 1) * momentum_decay))
    mu_product = prod(mu)
    step_size_grads = lr * (1 - mu) / (1 - mu_product) * -1
    step_size_expavg = lr * mu_next / (1 - mu_product * mu_next) * -1
    bias_correction_sqrt = sqrt(1 - beta2 ^ t)
    decay = select(decoupled_weight_decay != 0, 1 - lr * weight_decay, 1)
    coupled = select(decoupled_weight_decay != 0, 0, weight_decay)
  ]],
  update = [[
    d = select(maximize != 0, -g, g)
    p = p * decay
    d = select(coupled != 0, d + coupled * p, d)
    exp_avg = d * (1 - beta1) + exp_avg * beta1
    exp_avg_sq = (1 - beta2) * d * d + exp_avg_sq * beta2
    denom = sqrt(exp_avg_sq) / bias_correction_sqrt + eps
    p = p + step_size_grads * (d / denom)
    p = p + step_size_expavg * (exp_avg / denom)
  ]],
}
