return {
  name = "torch_sgd",
  doc = [[
PyTorch's SGD (torch/optim/sgd.py, _single_tensor_sgd, torch 1.13): d = -g if maximize;
d += weight_decay * p if weight_decay != 0; with momentum, buf = d on the first step, else
buf = momentum * buf + (1 - dampening) * d, and d = d + momentum * buf (nesterov) or buf;
p -= lr * d.  Unlike Keras (sgd.py), lr stays outside the buffer.  Products are fused as ATen's
vectorized add with alpha does (fmadd).]],
  variants = { { "torch_sgd" }, { "torch_sgd_momentum", "momentum" } },
  hparams = {
    { "lr", 0.01, "[0, inf)" },
    { "momentum", 0.9, "[0, inf)", when = "momentum" },
    { "dampening", 0, "[0, 1]", when = "momentum" },
    { "weight_decay", 0, "[0, inf)" },
    { "nesterov", 0, "{0, 1}", when = "momentum" },
    { "maximize", 0, "{0, 1}" },
  },
  state = { { "momentum_buffer", 0, when = "momentum" } },
  update = [[
    d = select(maximize != 0, -g, g)
    d = select(weight_decay != 0, d + weight_decay * p, d)
    momentum_buffer = select(t == 1, d, d * (1 - dampening) + momentum_buffer * momentum)   if momentum
    d = select(nesterov != 0, d + momentum_buffer * momentum, momentum_buffer)             if momentum
    p = p - lr * d
  ]],
}
