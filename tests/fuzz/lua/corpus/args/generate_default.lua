return { "generate" }
