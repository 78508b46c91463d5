return {
  name = "torch_rmsprop",
  doc = [[
PyTorch's RMSprop (torch/optim/rmsprop.py, _single_tensor_rmsprop, torch 1.13): d = -g if
maximize; d += weight_decay * p if weight_decay != 0; square_avg = alpha * square_avg +
(1 - alpha) * d^2; centered: grad_avg = alpha * grad_avg + (1 - alpha) * d and
avg = sqrt(square_avg - grad_avg^2) + eps, else avg = sqrt(square_avg) + eps; with momentum,
buf = momentum * buf + d / avg and p -= lr * buf, else p -= lr * d / avg.  Keras (rmsprop.py)
puts eps inside the square root and lr inside the momentum buffer.]],
  variants = {
    { "torch_rmsprop" }, { "torch_rmsprop_momentum", "momentum" }, { "torch_rmsprop_centered", "centered" },
    { "torch_rmsprop_centered_momentum", "centered", "momentum" },
  },
  hparams = {
    { "lr", 0.01, "[0, inf)" },
    { "alpha", 0.99, "[0, 1]" },
    { "eps", 1e-8, "(0, inf)" },
    { "weight_decay", 0, "[0, inf)" },
    { "maximize", 0, "{0, 1}" },
    { "momentum", 0.9, "[0, inf)", when = "momentum" },
  },
  state = {
    { "square_avg", 0 }, { "momentum_buffer", 0, when = "momentum" }, { "grad_avg", 0, when = "centered" },
  },
  update = [[
    d = select(maximize != 0, -g, g)
    d = select(weight_decay != 0, d + weight_decay * p, d)
    square_avg = (1 - alpha) * d * d + square_avg * alpha
    grad_avg = d * (1 - alpha) + grad_avg * alpha                   if centered
    avg = sqrt(square_avg - grad_avg * grad_avg) + eps              if centered
    avg = sqrt(square_avg) + eps                                    if not centered
    momentum_buffer = momentum_buffer * momentum + d / avg          if momentum
    p = p - lr * momentum_buffer                                    if momentum
    p = p - lr * (d / avg)                                          if not momentum
  ]],
}
