return { "generate", "--check", "--out", "out" }
