return { "generate", "--out", "out", "--unroll", "avx2=2,avx512=8", "--depfile", "d.d" }
