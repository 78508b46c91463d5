return { "generate", "--profile", "prof.lua", "--out", "g" }
