return {
  name = "lamb",
  doc = [[
LAMB (You et al. 2019, arXiv:1904.00962; Keras 3, keras/src/optimizers/lamb.py, update_step):
m += (g - m) * (1 - beta1); v += (g^2 - v) * (1 - beta2);
update = (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps);
ratio = ||p|| / ||update|| when both norms are positive, else 1; p -= ratio * lr * update.
Operation order from keras-team/keras commit 3422977a5e38fb2f7709aaa9a08e47f0c43d0f60,
keras/src/optimizers/lamb.py, Lamb.update_step (ratio as its ops.where(w_norm > 0,
ops.where(g_norm > 0, w_norm / g_norm, 1), 1)); here ratio * lr is one per-call constant in
double, rounded once, and p - c * update one fused multiply-add.
The norms are per tensor, with the runtime's reproducible sum (the same bits on every ISA and
thread count), so the kernel runs in two phases (generator/lib/optgen/phases.lua).  A NaN norm
makes the ratio 1; an infinite one an infinite or NaN ratio.]],
  variants = { { "lamb" } },
  hparams = {
    { "lr", 0.001, "[0, inf)" },
    { "beta1", 0.9, "[0, 1)" },
    { "beta2", 0.999, "[0, 1)" },
    { "eps", 1e-7, "(0, inf)" },
  },
  state = { { "m", 0 }, { "v", 0 } },
  scalars = [[
    beta_1_power = beta1 ^ t
    beta_2_power = beta2 ^ t
  ]],
  update = [[
    m = m + (g - m) * (1 - beta1)
    v = v + (g * g - v) * (1 - beta2)
    update = m / (1 - beta_1_power) / (sqrt(v / (1 - beta_2_power)) + eps)
    w_norm = norm(p)
    g_norm = norm(update)
    ratio = select(w_norm > 0, select(g_norm > 0, w_norm / g_norm, 1), 1)
    p = p - ratio * lr * update
  ]],
}
