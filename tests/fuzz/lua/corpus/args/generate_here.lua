return { "generate", "--out", "." }
