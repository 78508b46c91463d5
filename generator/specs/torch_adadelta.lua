return {
  name = "torch_adadelta",
  doc = [[
PyTorch's Adadelta (torch/optim/adadelta.py, _single_tensor_adadelta, torch 1.13): d = -g if
maximize; d += weight_decay * p if weight_decay != 0; square_avg = rho * square_avg +
(1 - rho) * d^2; delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * d;
acc_delta = rho * acc_delta + (1 - rho) * delta^2; p -= lr * delta.  Keras (adadelta.py) computes
the same, multiplying before dividing, with other defaults.]],
  variants = { { "torch_adadelta" } },
  hparams = {
    { "lr", 1.0, "[0, inf)" },
    { "rho", 0.9, "[0, 1]" },
    { "eps", 1e-6, "(0, inf)" },
    { "weight_decay", 0, "[0, inf)" },
    { "maximize", 0, "{0, 1}" },
  },
  state = { { "square_avg", 0 }, { "acc_delta", 0 } },
  update = [[
    d = select(maximize != 0, -g, g)
    d = select(weight_decay != 0, d + weight_decay * p, d)
    square_avg = (1 - rho) * d * d + square_avg * rho
    delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * d
    acc_delta = (1 - rho) * delta * delta + acc_delta * rho
    p = p - lr * delta
  ]],
}
