-- bench/report.lua, part: the rows of results.csv, the kernels measured and their sizes, and the
-- look-ups the targets and tables use.
local R = ...
local outdir, readfile = R.outdir, R.readfile

-- ---- rows ------------------------------------------------------------------
local rows = {}
local fields = { "section", "optimizer", "dtype", "isa", "variant", "threads", "n", "bytes",
  "med", "lo", "hi" }
for line in assert(readfile(outdir .. "/results.csv"), "no results.csv"):gmatch("[^\n]+") do
  if not line:match("^section,") then
    local r, i = {}, 1
    for v in (line .. ","):gmatch("([^,]*),") do
      local key = fields[i]
      if key then
        r[key] = (i >= 6) and tonumber(v) or v
      end
      i = i + 1
    end
    rows[#rows + 1] = r
  end
end

local function select_rows(pred)
  local out = {}
  for _, r in ipairs(rows) do
    if pred(r) then out[#out + 1] = r end
  end
  return out
end

local function find(pred)
  for _, r in ipairs(rows) do
    if pred(r) then return r end
  end
end

-- The optimizers the overhead section measured (bench/bench_overhead.c), in
-- its order: the per-call and new-t targets take the worst of them.
local function overhead_optimizers(rs)
  local out, seen = {}, {}
  for _, r in ipairs(rs or rows) do
    if r.section == "overhead" and not seen[r.optimizer] then
      out[#out + 1], seen[r.optimizer] = r.optimizer, true
    end
  end
  return out
end

-- ---- kernels, their best ISA, op counts ------------------------------------
-- The ISAs in optk_isa order, each ranked by its steps above scalar on its
-- fallback chain (the best of a kernel's ISAs ranks highest); the storage
-- types in optk_dtype order.
local isas_mod = require("optgen.isas")
local backends = require("optgen.generate").backends(R.root)
local isa_rank, isa_names, by_isa = {}, {}, {}
for _, be in ipairs(backends) do by_isa[be.isa] = be end
for _, be in ipairs(backends) do
  local rank, b = 0, be
  while b.fallback do rank, b = rank + 1, by_isa[b.fallback] end
  isa_rank[be.isa], isa_names[#isa_names + 1] = rank, be.isa
end
local dtypes = {}
for _, d in ipairs(isas_mod.dtypes) do dtypes[#dtypes + 1] = d.name end
local kernels, kernel_list = {}, {} -- key optimizer/dtype -> {optimizer, dtype, best, bytes}
local sizes_set = {}
for _, r in ipairs(rows) do
  if r.section == "kernel" then
    local key = r.optimizer .. "/" .. r.dtype
    local k = kernels[key]
    if not k then
      k = { optimizer = r.optimizer, dtype = r.dtype, best = r.isa, bytes = r.bytes, isas = {} }
      kernels[key] = k
      kernel_list[#kernel_list + 1] = k
    end
    k.isas[r.isa] = true
    if isa_rank[r.isa] > isa_rank[k.best] then k.best = r.isa end
    sizes_set[r.n] = true
  end
end
local sizes = {}
for n in pairs(sizes_set) do sizes[#sizes + 1] = n end
table.sort(sizes)

local function ops_of(opt, dtype, isa)
  local dir = "generated/" .. isa
  local p = io.popen("ls " .. dir .. "/" .. opt .. "_" .. dtype .. "_" .. isa .. "_u*.c 2>/dev/null")
  local file = p and p:read("*l")
  if p then p:close() end
  local text = file and readfile(file) or ""
  local line = text:match("Per element:([^\n]*)") or ""
  return { sqrt = tonumber(line:match("(%d+) sqrt")) or 0, div = tonumber(line:match("(%d+) div")) or 0 }
end

local function kernel_time(opt, dtype, isa, n)
  local r = find(function(x)
    return x.section == "kernel" and x.optimizer == opt and x.dtype == dtype and x.isa == isa and x.n == n
  end)
  return r and r.med, r
end

local function ceiling_time(dtype, bytes, n)
  local r = find(function(x)
    return x.section == "ceiling" and x.dtype == dtype and x.bytes == bytes and x.n == n
  end)
  return r and r.med
end

local function naive_time(opt, dtype, variant, n)
  local r = find(function(x)
    return x.section == "naive" and x.optimizer == opt and x.dtype == dtype and x.variant == variant and x.n == n
  end)
  return r and r.med
end

local function unit_time(dtype, isa, what)
  local arith = dtype == "f64" and "f64" or "f32"
  local r = find(function(x) return x.section == "unit" and x.dtype == arith and x.isa == isa and x.variant == what end)
  return r and r.med
end

-- Lower bound from the divide/square-root unit, ns per element.
local function unit_bound(opt, dtype, isa)
  local ops = ops_of(opt, dtype, isa)
  if ops.sqrt == 0 and ops.div == 0 then return nil, ops end
  local pair, div = unit_time(dtype, isa, "sqrt+div"), unit_time(dtype, isa, "div")
  if not pair or not div then return nil, ops end
  local pairs = math.min(ops.sqrt, ops.div)
  local sqrt_only = ops.sqrt - pairs
  return pairs * pair + (ops.div - pairs) * div + sqrt_only * (pair - div), ops
end

local function fmt(x, digits)
  if x == nil then return "n/a" end
  return string.format("%." .. (digits or 2) .. "f", x)
end

local function human(n)
  if n >= 1048576 and n % 1048576 == 0 then return math.floor(n / 1048576) .. " Mi" end
  if n >= 1024 and n % 1024 == 0 then return math.floor(n / 1024) .. " Ki" end
  return tostring(n)
end

R.ceiling_time = ceiling_time
R.dtypes = dtypes
R.isa_names = isa_names
R.find = find
R.fmt = fmt
R.human = human
R.kernel_list = kernel_list
R.kernel_time = kernel_time
R.kernels = kernels
R.naive_time = naive_time
R.ops_of = ops_of
R.overhead_optimizers = overhead_optimizers
R.rows = rows
R.select_rows = select_rows
R.sizes = sizes
R.unit_bound = unit_bound
R.unit_time = unit_time
