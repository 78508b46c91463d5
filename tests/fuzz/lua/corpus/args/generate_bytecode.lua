return { "generate", "--profile", "bc.lua", "--out", "g" }
