return { "vendor", "--optim", "sgd", "--dtype", "f64", "--isa", "neon,sve", "--prefix", "q_", "--out", "a*/b??/c" }
