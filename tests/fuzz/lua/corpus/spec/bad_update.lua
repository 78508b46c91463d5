return {
  name = "bad",
  doc = [[Errors in the update: each mutation moves them about.]],
  variants = { { "bad" } },
  hparams = { { "lr", 0.1, "[0, 1)" } },
  state = { { "m", 0 } },
  update = [[
    m = m + g * (1 - lr
    p = p - lr * m if flag
  ]],
}
