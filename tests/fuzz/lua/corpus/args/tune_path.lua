return { "tune", "--profile-path" }
