return { "vendor", "--optim", "adam,sgd_momentum", "--dtype", "f32,bf16", "--isa", "scalar,avx2", "--prefix", "my_",
         "--out", "v", "--hp", "adam.beta1=0.9", "--hp", "adam.eps=1e-8" }
