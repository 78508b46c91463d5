return {
  name = "torch_adagrad",
  doc = [[
PyTorch's Adagrad (torch/optim/adagrad.py, _single_tensor_adagrad, torch 1.13): d = -g if
maximize; d += weight_decay * p if weight_decay != 0; clr = lr / (1 + (t - 1) * lr_decay);
sum += d * d; p -= clr * d / (sqrt(sum) + eps).  Keras (adagrad.py) puts eps inside the square
root and has no decay.  eps must be positive: with zero state and a zero gradient it is the
whole denominator.]],
  variants = { { "torch_adagrad" } },
  hparams = {
    { "lr", 0.01, "[0, inf)" },
    { "lr_decay", 0, "[0, inf)" },
    { "weight_decay", 0, "[0, inf)" },
    { "initial_accumulator_value", 0, "[0, inf)" },
    { "eps", 1e-10, "(0, inf)" },
    { "maximize", 0, "{0, 1}" },
  },
  state = { { "sum", "initial_accumulator_value" } },
  scalars = [[
    clr = lr / (1 + (t - 1) * lr_decay)
  ]],
  update = [[
    d = select(maximize != 0, -g, g)
    d = select(weight_decay != 0, d + weight_decay * p, d)
    sum = sum + d * d
    p = p - clr * (d / (sqrt(sum) + eps))
  ]],
}
