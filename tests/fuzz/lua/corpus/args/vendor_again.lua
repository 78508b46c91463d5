return { "vendor", "--optim", "sgd", "--dtype", "f32", "--isa", "scalar", "--prefix", "b_", "--out", "v",
         "--unroll", "avx2=2", "--profile", "prof.lua" }
