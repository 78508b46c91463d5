std = "luajit"
max_line_length = 120
-- Specs and backends are data files run in an empty environment.
files["generator/specs"] = { std = "none" }
files["generator/backends"] = { std = "none" }
