return {
  name = "fields",
  doc = 42,
  variants = { { "fields", "a" }, { "fields" } },
  hparams = { { "lr", -1, "[0, inf)" }, { "p", 0, "[1, 0]" } },
  state = { { "s" }, { "t", "lr +" } },
  extra = true,
  update = "p = p",
}
