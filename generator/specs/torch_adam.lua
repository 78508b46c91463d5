return {
  name = "torch_adam",
  doc = [[
PyTorch's Adam and AMSGrad (torch/optim/adam.py, _single_tensor_adam, torch 1.13, not
capturable): d = -g if maximize; d += weight_decay * p if weight_decay != 0;
exp_avg = beta1 * exp_avg + (1 - beta1) * d; exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * d^2;
max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq) (amsgrad);
denom = sqrt(exp_avg_sq or max_exp_avg_sq) / sqrt(1 - beta2^t) + eps;
p -= lr / (1 - beta1^t) * exp_avg / denom.  Keras (adam.py) folds both bias corrections into the
step size, so its eps is not scaled.]],
  variants = { { "torch_adam" }, { "torch_adam_amsgrad", "amsgrad" } },
  hparams = {
    { "lr", 0.001, "[0, inf)" },
    { "beta1", 0.9, "[0, 1)" },
    { "beta2", 0.999, "[0, 1)" },
    { "eps", 1e-8, "(0, inf)" },
    { "weight_decay", 0, "[0, inf)" },
    { "maximize", 0, "{0, 1}" },
  },
  state = { { "exp_avg", 0 }, { "exp_avg_sq", 0 }, { "max_exp_avg_sq", 0, when = "amsgrad" } },
  scalars = [[
    step_size = lr / (1 - beta1 ^ t)
    bias_correction2_sqrt = sqrt(1 - beta2 ^ t)
  ]],
  update = [[
    d = select(maximize != 0, -g, g)
    d = select(weight_decay != 0, d + weight_decay * p, d)
    exp_avg = d * (1 - beta1) + exp_avg * beta1
    exp_avg_sq = (1 - beta2) * d * d + exp_avg_sq * beta2
    max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq)                          if amsgrad
    p = p - step_size * (exp_avg / (sqrt(exp_avg_sq) / bias_correction2_sqrt + eps))       if not amsgrad
    p = p - step_size * (exp_avg / (sqrt(max_exp_avg_sq) / bias_correction2_sqrt + eps))   if amsgrad
  ]],
}
