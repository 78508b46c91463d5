return {
  name = "toy",
  doc = [[A toy optimizer: every part of a spec, small.]],
  variants = { { "toy" }, { "toy_nest", "nest" }, { "toy_clip", "clip", "nest" } },
  hparams = {
    { "lr", 0.5, "[0, inf)" },
    { "mu", 0.9, "[0, 1]", when = "nest" },
    { "c", 1, "(0, inf)", when = "clip" },
  },
  state = { { "v", 0 }, { "w", "lr * 2" } },
  scalars = [[
    k = 1 - mu ^ t if nest
    k = 1 if not nest
    e = exp(log(lr + 1))
  ]],
  update = [[
    v = mu * v + g if nest
    v = v + g * g if not nest
    q = select(v > c, c, v) if clip and nest
    q = v if not clip
    w = max(w, abs(q)) + min(w, sign(q))
    p = p - lr * k * q / (sqrt(w) + e) + fma(g, 0.5, -g)
  ]],
}
