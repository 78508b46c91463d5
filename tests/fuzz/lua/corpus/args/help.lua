return { "vendor", "--help" }
