return {
  name = "adagrad",
  doc = [[
Adagrad (Duchi et al. 2011; Keras 3, keras/src/optimizers/adagrad.py:
acc += g * g; p -= lr * g / sqrt(acc + eps)).
PyTorch adds eps outside the square root (sqrt(acc) + eps) and starts acc at 0: a later flavour.]],
  variants = { { "adagrad" } },
  hparams = {
    { "lr", 0.001, "[0, inf)" },
    { "eps", 1e-7, "(0, inf)" },
    { "initial_accumulator_value", 0.1, "[0, inf]" },
  },
  state = { { "acc", "initial_accumulator_value" } },
  update = [[
    acc = acc + g * g
    p = p - lr * g / sqrt(acc + eps)
  ]],
}
