return {
  name = "torch_adamw",
  doc = [[
PyTorch's AdamW (torch/optim/adamw.py, _single_tensor_adamw, torch 1.13, not capturable):
decoupled weight decay p *= 1 - lr * weight_decay, then Adam (torch_adam) without weight decay
on the gradient.  Keras (adamw.py, base_optimizer._apply_weight_decay) subtracts p * wd * lr and
then runs Keras's Adam.]],
  variants = { { "torch_adamw" }, { "torch_adamw_amsgrad", "amsgrad" } },
  hparams = {
    { "lr", 0.001, "[0, inf)" },
    { "beta1", 0.9, "[0, 1)" },
    { "beta2", 0.999, "[0, 1)" },
    { "eps", 1e-8, "(0, inf)" },
    { "weight_decay", 0.01, "[0, inf)" },
    { "maximize", 0, "{0, 1}" },
  },
  state = { { "exp_avg", 0 }, { "exp_avg_sq", 0 }, { "max_exp_avg_sq", 0, when = "amsgrad" } },
  scalars = [[
    decay = 1 - lr * weight_decay
    step_size = lr / (1 - beta1 ^ t)
    bias_correction2_sqrt = sqrt(1 - beta2 ^ t)
  ]],
  update = [[
    d = select(maximize != 0, -g, g)
    p = p * decay
    exp_avg = d * (1 - beta1) + exp_avg * beta1
    exp_avg_sq = (1 - beta2) * d * d + exp_avg_sq * beta2
    max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq)                          if amsgrad
    p = p - step_size * (exp_avg / (sqrt(exp_avg_sq) / bias_correction2_sqrt + eps))       if not amsgrad
    p = p - step_size * (exp_avg / (sqrt(max_exp_avg_sq) / bias_correction2_sqrt + eps))   if amsgrad
  ]],
}
