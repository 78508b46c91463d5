return {
  name = "cmp",
  doc = [[Comparisons and select, where numbers are expected too.]],
  variants = { { "cmp" } },
  hparams = { { "a", 0, "[-inf, inf]" }, { "b", 1e-300, "(0, 1e308]" } },
  state = { { "s", "a * b" } },
  scalars = [[
    z = a / b
  ]],
  update = [[
    s = select(g >= s, s + z, select(g != 0, g, -s))
    p = p + (s < p) * 2
  ]],
}
