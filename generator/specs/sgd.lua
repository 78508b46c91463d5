return {
  name = "sgd",
  doc = [[
SGD with optional momentum and Nesterov momentum (Keras 3, keras/src/optimizers/sgd.py:
m = momentum * m - lr * g; p += m, or p += momentum * m - lr * g with nesterov).
PyTorch keeps lr outside its buffer (b = momentum * b + g; p -= lr * b): a later flavour.]],
  variants = { { "sgd" }, { "sgd_momentum", "momentum" }, { "sgd_nesterov", "momentum", "nesterov" } },
  hparams = {
    { "lr", 0.01, "[0, inf)" },
    { "momentum", 0.9, "[0, 1]", when = "momentum" },
  },
  state = { { "v", 0, when = "momentum" } },
  update = [[
    p = p - lr * g                      if not momentum
    v = momentum * v - lr * g           if momentum
    p = p + v                           if momentum and not nesterov
    p = p + momentum * v - lr * g       if nesterov
  ]],
}
