return { "list" }
