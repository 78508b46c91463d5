-- optkern tuning profile, written by `generator/optgen tune`; regenerate, do not edit.
-- Apply with: generator/optgen generate --profile THIS_FILE --out DIR (see tests/tuned.sh).
-- Per kernel (optimizer/storage type/ISA): the variant emitted (chosen), the fastest
-- per size class (best), and every measurement: ns per call, median then each sample.
return {
  format = 1,
  cpu = {
    family = "1",
    model = "2",
    vendor = "Fuzz",
  },
  compiler = "cc",
  quick = true,
  seconds = 1,
  kernels = {
    ["sgd/bf16/scalar"] = {
      default = "u4", chosen = "u1",
      best = { l1 = "u1", l2 = "u1", big = "u1" },
      speedup = { l1 = 1, l2 = 1, big = 1 },
      n = { l1 = 256, l2 = 1024, big = 4096 },
      ns = {
        { variant = "u4",
          l1 = { 2, 2 },
          l2 = { 2, 2 },
          big = { 2, 2 } },
      },
    },
    ["sgd/f32/avx2"] = {
      default = "u4", chosen = "u2_pf4",
      best = { l1 = "u2_pf4", l2 = "u2_pf4", big = "u2_pf4" },
      speedup = { l1 = 1, l2 = 1, big = 1 },
      n = { l1 = 256, l2 = 1024, big = 4096 },
      ns = {
        { variant = "u4",
          l1 = { 2, 2 },
          l2 = { 2, 2 },
          big = { 2, 2 } },
      },
    },
  },
}
