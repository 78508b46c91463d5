return {
  name = "rmsprop",
  doc = [[
RMSprop, plain or centered, with or without momentum (Hinton 2012; Keras 3,
keras/src/optimizers/rmsprop.py: v = rho * v + (1 - rho) * g^2, a = rho * a + (1 - rho) * g,
step = lr * g / sqrt(v [- a^2] + eps); mom = momentum * mom + step; p -= mom or step).
PyTorch adds eps outside the square root and applies lr outside its momentum buffer: a later flavour.]],
  variants = {
    { "rmsprop" }, { "rmsprop_momentum", "momentum" },
    { "rmsprop_centered", "centered" }, { "rmsprop_centered_momentum", "centered", "momentum" },
  },
  hparams = {
    { "lr", 0.001, "[0, inf)" },
    { "rho", 0.9, "[0, 1)" },
    { "eps", 1e-7, "(0, inf)" },
    { "momentum", 0.9, "[0, 1]", when = "momentum" },
  },
  state = { { "v", 0 }, { "a", 0, when = "centered" }, { "mom", 0, when = "momentum" } },
  update = [[
    v = rho * v + (1 - rho) * g * g
    a = rho * a + (1 - rho) * g         if centered
    step = lr * g / sqrt(v + eps)       if not centered
    step = lr * g / sqrt(v - a * a + eps)   if centered
    mom = momentum * mom + step         if momentum
    p = p - mom                         if momentum
    p = p - step                        if not momentum
  ]],
}
