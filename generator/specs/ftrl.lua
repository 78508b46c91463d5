return {
  name = "ftrl",
  doc = [[
FTRL-Proximal (McMahan et al. 2013; Keras 3, keras/src/optimizers/ftrl.py, update_step):
l2_reg = l2 + beta / (2 lr); grad_to_use = g + 2 l2_shrinkage p; new_accum = accumulator + g^2;
linear += grad_to_use - (new_accum^(-lr_power) - accumulator^(-lr_power)) / lr * p;
quadratic = new_accum^(-lr_power) / lr + 2 l2_reg;
p = (clip(linear, -l1, l1) - linear) / quadratic; accumulator = new_accum.
The power is per element: the runtime's pow, lane by lane, or for lr_power = -0.5 the
correctly rounded square root a vector at a time (the same bits).  lr and
initial_accumulator_value must be positive: lr divides, and a zero accumulator with a zero
gradient would make quadratic zero when l2 and beta are.]],
  variants = { { "ftrl" } },
  hparams = {
    { "lr", 0.001, "(0, inf)" },
    { "lr_power", -0.5, "(-inf, 0]" },
    { "initial_accumulator_value", 0.1, "(0, inf)" },
    { "l1", 0, "[0, inf)" },
    { "l2", 0, "[0, inf)" },
    { "l2_shrinkage", 0, "[0, inf)" },
    { "beta", 0, "[0, inf)" },
  },
  state = { { "accumulator", "initial_accumulator_value" }, { "linear", 0 } },
  scalars = [[
    l2_reg = l2 + beta / (2 * lr)
    power = -lr_power
  ]],
  update = [[
    grad_to_use = g + 2 * l2_shrinkage * p
    new_accum = accumulator + g * g
    linear = linear + (grad_to_use - (new_accum ^ power - accumulator ^ power) / lr * p)
    quadratic = new_accum ^ power / lr + 2 * l2_reg
    p = (min(max(linear, -l1), l1) - linear) / quadratic
    accumulator = new_accum
  ]],
}
