return { "show", "adam", "--isa", "avx2", "--dtype", "bf16", "--unroll", "2" }
