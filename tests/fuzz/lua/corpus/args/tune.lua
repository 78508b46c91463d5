return { "tune", "--quick", "--optim", "sgd", "--dtype", "f32", "--isa", "avx2", "--sizes", "256,1024,4096",
         "--out", "t.lua" }
