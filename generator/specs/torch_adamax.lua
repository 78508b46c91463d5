return {
  name = "torch_adamax",
  doc = [[
PyTorch's Adamax (torch/optim/adamax.py, _single_tensor_adamax, torch 1.13): d = -g if maximize;
d += weight_decay * p if weight_decay != 0; exp_avg = beta1 * exp_avg + (1 - beta1) * d;
exp_inf = max(beta2 * exp_inf, |d| + eps); p -= lr / (1 - beta1^t) * exp_avg / exp_inf.
Keras (adamax.py) adds eps to the denominator instead of inside the max.]],
  variants = { { "torch_adamax" } },
  hparams = {
    { "lr", 0.002, "[0, inf)" },
    { "beta1", 0.9, "[0, 1)" },
    { "beta2", 0.999, "[0, 1)" },
    { "eps", 1e-8, "(0, inf)" },
    { "weight_decay", 0, "[0, inf)" },
    { "maximize", 0, "{0, 1}" },
  },
  state = { { "exp_avg", 0 }, { "exp_inf", 0 } },
  scalars = [[
    clr = lr / (1 - beta1 ^ t)
  ]],
  update = [[
    d = select(maximize != 0, -g, g)
    d = select(weight_decay != 0, d + weight_decay * p, d)
    exp_avg = d * (1 - beta1) + exp_avg * beta1
    exp_inf = max(exp_inf * beta2, abs(d) + eps)
    p = p - clr * (exp_avg / exp_inf)
  ]],
}
