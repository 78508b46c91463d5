return {
  name = "adadelta",
  doc = [[
Adadelta in Keras 3 (keras/src/optimizers/adadelta.py, update_step):
accumulated_grad = rho * accumulated_grad + (1 - rho) * g^2;
delta = -(sqrt(accumulated_delta_var + eps) * g) / sqrt(accumulated_grad + eps);
accumulated_delta_var = rho * accumulated_delta_var + (1 - rho) * delta^2; p += lr * delta.
PyTorch's Adadelta (torch_adadelta) is the same computation, dividing before multiplying.]],
  variants = { { "adadelta" } },
  hparams = {
    { "lr", 0.001, "[0, inf)" },
    { "rho", 0.95, "[0, 1]" },
    { "eps", 1e-7, "(0, inf)" },
  },
  state = { { "accumulated_grad", 0 }, { "accumulated_delta_var", 0 } },
  update = [[
    accumulated_grad = rho * accumulated_grad + (1 - rho) * (g * g)
    delta = -(sqrt(accumulated_delta_var + eps) * g / sqrt(accumulated_grad + eps))
    accumulated_delta_var = rho * accumulated_delta_var + (1 - rho) * (delta * delta)
    p = p + lr * delta
  ]],
}
