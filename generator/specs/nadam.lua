return {
  name = "nadam",
  doc = [[
Nadam in Keras 3 (keras/src/optimizers/nadam.py, update_step and _backend_update_step):
u_s = beta1 * (1 - 0.5 * 0.96^s), u_product = the product of u_s over s = 1..t (computed from t,
in double), m += (g - m) * (1 - beta1), v += (g^2 - v) * (1 - beta2),
m_hat = u_{t+1} m / (1 - u_product u_{t+1}) + (1 - u_t) g / (1 - u_product),
v_hat = v / (1 - beta2^t), p -= m_hat * lr / (sqrt(v_hat) + eps).  PyTorch's NAdam
(torch_nadam) decays mu with 0.96^(t * momentum_decay) and scales eps differently.]],
  variants = { { "nadam" } },
  hparams = {
    { "lr", 0.001, "[0, inf)" },
    { "beta1", 0.9, "[0, 1)" },
    { "beta2", 0.999, "[0, 1)" },
    { "eps", 1e-7, "(0, inf)" },
  },
  state = { { "m", 0 }, { "v", 0 } },
  scalars = [[
    u_t = beta1 * (1 - 0.5 * 0.96 ^ t)
    u_t_1 = beta1 * (1 - 0.5 * 0.96 ^ (t + 1))
    u_product_t = prod(u_t)
    u_product_t_1 = u_product_t * u_t_1
    beta_2_power = beta2 ^ t
  ]],
  update = [[
    m = m + (g - m) * (1 - beta1)
    v = v + (g * g - v) * (1 - beta2)
    m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
    p = p - m_hat * lr / (sqrt(v / (1 - beta_2_power)) + eps)
  ]],
}
