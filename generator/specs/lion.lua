return {
  name = "lion",
  doc = [[
Lion (Chen et al. 2023, arXiv:2302.06675; Keras 3, keras/src/optimizers/lion.py, update_step):
p -= lr * sign(m * beta1 + g * (1 - beta1)); m = m * beta2 + g * (1 - beta2).  sign(0) = 0: where
the interpolation is exactly zero the parameter does not move.  DeepSpeed's AVX Lion
(csrc/includes/cpu_lion.h, Lion_Optimizer::Step_AVX, at commit 2987e5fa) gets this wrong: it
takes the sign with simd_and against -1.0f and applies it with simd_xor against -lr, so an
exactly zero interpolation leaves +0, the xor turns it into -lr, and the parameter moves by -lr
(and for other values the exponent bits of -1.0f leak into the step).]],
  variants = { { "lion" } },
  hparams = {
    { "lr", 0.001, "[0, inf)" },
    { "beta1", 0.9, "[0, 1]" },
    { "beta2", 0.99, "[0, 1]" },
  },
  state = { { "m", 0 } },
  update = [[
    p = p - lr * sign(m * beta1 + g * (1 - beta1))
    m = m * beta2 + g * (1 - beta2)
  ]],
}
