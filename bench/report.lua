-- bench/report.lua: turns optk_bench's CSV (plus torch rows, if any) into
-- bench/out/report.md, results.json, the gnuplot data files and plots.gp.
--
--   luajit bench/report.lua OUTDIR MACHINE_FILE QUICK(0|1) SECONDS
--
-- Reads OUTDIR/results.csv and the generated kernels' per-element operation
-- counts (generated/<isa>/<name>_<dtype>_<isa>_u*.c); writes everything else
-- into OUTDIR.  gnuplot is run by bench/run.

local outdir, machine_file, quick_arg, seconds = arg[1], arg[2], arg[3], arg[4]
if not outdir then
  io.stderr:write("usage: luajit bench/report.lua OUTDIR MACHINE_FILE QUICK SECONDS\n")
  os.exit(2)
end
local quick = quick_arg == "1"

local function readfile(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function writefile(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
end

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

-- ---- kernels, their best ISA, op counts ------------------------------------
local isa_rank = { scalar = 0, avx2 = 1, avx512 = 2, neon = 1, sve = 2 }
local dtypes = { "f32", "f64", "bf16", "f16" }
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

-- ---- targets -----------------------------------------------------------------
local BIG = 16 * 1048576
local INCACHE = { 4096, 16384, 65536 }
local targets = {}     -- {name, measured, met(bool|nil), why}
local per_kernel = {}  -- key -> table of computed figures

local function add_target(name, measured, met, why)
  targets[#targets + 1] = { name = name, measured = measured, met = met, why = why or "" }
end

-- 1. beyond LLC: fraction of the same-run ceiling.
do
  local worst, worst_k, nmet, ntot, misses = math.huge, nil, 0, 0, {}
  for _, k in ipairs(kernel_list) do
    local t = kernel_time(k.optimizer, k.dtype, k.best, BIG)
    local c = ceiling_time(k.dtype, k.bytes, BIG)
    if t and c then
      local f = c / t
      per_kernel[k.optimizer .. "/" .. k.dtype] = per_kernel[k.optimizer .. "/" .. k.dtype] or {}
      per_kernel[k.optimizer .. "/" .. k.dtype].ceiling = f
      ntot = ntot + 1
      if f >= 0.95 then nmet = nmet + 1 else misses[#misses + 1] = k end
      if f < worst then worst, worst_k = f, k end
    end
  end
  if ntot > 0 then
    local why = ""
    if #misses > 0 then
      local names = {}
      for i, k in ipairs(misses) do
        if i <= 8 then
          local c = ceiling_time(k.dtype, k.bytes, BIG)
          local t4 = kernel_time(k.optimizer, k.dtype, k.best, 4096)
          local reason = (t4 and t4 > 0.4 * c) and string.format("compute: in-L1 time %.2f ns/elem = %.0f%%" ..
            " of the memory time %.2f", t4, 100 * t4 / c, c) or "memory: run-to-run spread"
          names[#names + 1] = string.format("%s %s %.0f%% (%s)", k.optimizer, k.dtype,
            100 * per_kernel[k.optimizer .. "/" .. k.dtype].ceiling, reason)
        end
      end
      why = "below 95%: " .. table.concat(names, "; ") .. (#misses > 8 and "; ..." or "") ..
        ". Where the kernel's in-L1 time per element (mostly the divide/sqrt unit, and bf16/f16 conversions) " ..
        "is a large share of the memory time, one core cannot overlap the two fully: the step is bound by " ..
        "compute plus memory, not memory alone (for f64 the sqrt+div alone can exceed " ..
        "the memory time).  Elsewhere the kernel and the ceiling loop move the same bytes and the gap is " ..
        "within the run-to-run spread of this shared VM (lo/hi in results.csv)."
    end
    add_target("Beyond LLC (16 Mi), 1 thread: >= 95% of the same-run copy-like ceiling",
      string.format("worst %.0f%% (%s %s); %d/%d kernels met", 100 * worst, worst_k.optimizer,
        worst_k.dtype, nmet, ntot), nmet == ntot, why)
  else
    add_target("Beyond LLC (16 Mi): >= 95% of the same-run ceiling", "not measured (size capped or filtered)", nil)
  end
end

-- 2a/2b. in cache vs the compilers' naive loops.
do
  local worst_best, wb_k, worst_o3, wo_k = math.huge, nil, math.huge, nil
  local nb, nbm, no, nom = 0, 0, 0, 0
  local misses = {}
  for _, k in ipairs(kernel_list) do
    for _, n in ipairs(INCACHE) do
      local t = kernel_time(k.optimizer, k.dtype, k.best, n)
      local g = naive_time(k.optimizer, k.dtype, "gcc-O3-native-fno-math-errno", n)
      local c = naive_time(k.optimizer, k.dtype, "clang-O3-native-fno-math-errno", n)
      if t and g and c then
        local best = math.min(g, c)
        local ratio = best / t
        nb = nb + 1
        if ratio >= 1.0 then nbm = nbm + 1 else misses[#misses + 1] = string.format("%s %s @%s %.2fx",
            k.optimizer, k.dtype, human(n), ratio) end
        if ratio < worst_best then worst_best, wb_k = ratio, { k, n } end
        local key = k.optimizer .. "/" .. k.dtype
        per_kernel[key] = per_kernel[key] or {}
        if n == 4096 then per_kernel[key].vs_best = ratio end
        local o3 = naive_time(k.optimizer, k.dtype, "gcc-O3-native", n)
        local ops = ops_of(k.optimizer, k.dtype, k.best)
        if o3 and n == 4096 then per_kernel[key].vs_o3 = o3 / t end
        if o3 and ops.sqrt > 0 then -- plain -O3 does not vectorise a loop with sqrt (errno)
          no = no + 1
          local r3 = o3 / t
          if r3 >= 10 then nom = nom + 1 end
          if r3 < worst_o3 then worst_o3, wo_k = r3, { k, n } end
        end
      end
    end
  end
  if nb > 0 then
    add_target("In L1/L2 (4-64 Ki): >= 1.0x the best of gcc/clang -O3 -march=native -fno-math-errno",
      string.format("worst %.2fx (%s %s @%s); %d/%d met", worst_best, wb_k[1].optimizer, wb_k[1].dtype,
        human(wb_k[2]), nbm, nb), nbm == nb,
      #misses > 0 and ("below 1.0x: " .. table.concat(misses, "; ", 1, math.min(#misses, 8)) ..
        ". Where both are bound by the divide/sqrt unit the compiler's loop can equal the kernel; a ratio " ..
        "a few percent under 1 is within this VM's spread.") or "")
  end
  if no > 0 then
    add_target("In L1/L2: >= 10x gcc -O3 -march=native where it does not vectorise (loops with sqrt)",
      string.format("worst %.1fx (%s %s @%s); %d/%d met", worst_o3, wo_k[1].optimizer, wo_k[1].dtype,
        human(wo_k[2]), nom, no), nom == no,
      nom < no and ("the scalar sqrt+div of the naive loop runs at ~1/lanes of the vector unit; where the " ..
        "ratio is under 10x the vector kernel is itself bound by the divide/sqrt unit, whose vector " ..
        "throughput on this CPU is less than lanes x the scalar one (see the unit table).") or "")
  end
end

-- 2c. divide/sqrt unit fraction at 4 Ki.
do
  local lo, hi, cnt = math.huge, 0, 0
  for _, k in ipairs(kernel_list) do
    local t = kernel_time(k.optimizer, k.dtype, k.best, 4096)
    local b = unit_bound(k.optimizer, k.dtype, k.best)
    if t and b then
      local f = b / t
      local key = k.optimizer .. "/" .. k.dtype
      per_kernel[key] = per_kernel[key] or {}
      per_kernel[key].unit = f
      lo, hi, cnt = math.min(lo, f), math.max(hi, f), cnt + 1
    end
  end
  if cnt > 0 then
    add_target("In-cache (4 Ki) kernels with sqrt/div: fraction of the divide/sqrt unit's throughput (report)",
      string.format("%.0f%%..%.0f%% over %d kernels", 100 * lo, 100 * hi, cnt), nil,
      "informational: 100% means the kernel runs exactly at the unit's measured throughput")
  end
end

-- 3. bf16/f16 vs f32 by bytes.
do
  local worst, wk, nmet, ntot, misses = 0, nil, 0, 0, {}
  for _, k in ipairs(kernel_list) do
    if k.dtype == "bf16" or k.dtype == "f16" then
      local f = kernels[k.optimizer .. "/f32"]
      local t = kernel_time(k.optimizer, k.dtype, k.best, BIG)
      local tf = f and kernel_time(f.optimizer, "f32", f.best, BIG)
      if t and tf then
        local allowed = tf * k.bytes / f.bytes * 1.10
        local r = t / allowed
        ntot = ntot + 1
        if r <= 1 then nmet = nmet + 1 else misses[#misses + 1] = string.format("%s %s %.2f", k.optimizer,
            k.dtype, r) end
        if r > worst then worst, wk = r, k end
      end
    end
  end
  if ntot > 0 then
    add_target("bf16/f16 beyond cache: time <= f32 time x bytes ratio + 10% (ratio to that allowance)",
      string.format("worst %.2f (%s %s); %d/%d met", worst, wk.optimizer, wk.dtype, nmet, ntot), nmet == ntot,
      #misses > 0 and ("over: " .. table.concat(misses, "; ", 1, math.min(#misses, 8)) ..
        ". The 16-bit arrays are a small share of the bytes (state stays f32), so the saving is small and the " ..
        "per-element conversions (and the write-allocate traffic, identical in both) weigh more.") or "")
  end
end

-- 4. torch Adam.
do
  local have = find(function(x) return x.section == "torch" end)
  if not have then
    add_target("PyTorch CPU Adam: >= 20x faster per step at 4 Ki, >= 5x at 16 Mi", "skipped: PyTorch not installed",
      nil, "python3 -c 'import torch' failed; install python3-torch to measure")
  else
    local parts, ok = {}, true
    for _, spec in ipairs({ { 4096, 20 }, { BIG, 5 } }) do
      local tr = find(function(x)
        return x.section == "torch" and x.optimizer == "adam" and x.n == spec[1] and x.threads == 1
      end)
      local k = kernels["adam/f32"]
      local t = k and kernel_time("adam", "f32", k.best, spec[1])
      if tr and t then
        local r = tr.med / t
        parts[#parts + 1] = string.format("%.1fx @%s", r, human(spec[1]))
        ok = ok and r >= spec[2]
      else
        ok = false
        parts[#parts + 1] = "n/a @" .. human(spec[1])
      end
    end
    add_target("PyTorch CPU Adam (1 thread each): >= 20x faster per step at 4 Ki, >= 5x at 16 Mi",
      table.concat(parts, ", ") .. " (" .. (have.isa or "") .. ")", ok,
      ok and "" or ("at 4 Ki torch's step time is mostly its Python and operator-dispatch overhead (a dozen " ..
        "ATen calls per tensor), which swings widely run to run on this shared VM; beyond cache both are " ..
        "bound by memory and the ratio is torch's number of passes over the arrays against our one"))
  end
end

-- 5. threads and the pool (issue 12).
local function one_thread(r)
  return find(function(x)
    return x.section == "threads" and x.variant == "split" and x.threads == 1 and x.optimizer == r.optimizer
      and x.dtype == r.dtype and x.n == r.n
  end)
end
do
  local all = 0
  for _, r in ipairs(rows) do
    if r.section == "threads" and r.variant == "split" and r.threads > all then all = r.threads end
  end
  local cores_note = all >= 16 and "" or string.format(" (a 16-core target; this machine has %d)", all)
  if all > 1 then
    local worst_big, wb, slower, ntot = math.huge, nil, {}, 0
    for _, r in ipairs(rows) do
      if r.section == "threads" and (r.variant == "default" or r.variant == "model") then
        local one = one_thread(r)
        if one then
          local s = one.med / r.med
          ntot = ntot + 1
          if r.variant == "default" and r.n >= 1048576 and s < worst_big then worst_big, wb = s, r end
          if s < 0.95 then slower[#slower + 1] = string.format("%s %s @%s %d threads %.2fx", r.optimizer, r.dtype,
              human(r.n), r.threads, s) end
        end
      end
    end
    if wb then
      add_target(string.format("All %d cores at >= 1 Mi: >= 1.7x one thread (library default)", all),
        string.format("worst %.2fx (%s %s @%s)", worst_big, wb.optimizer, wb.dtype, human(wb.n)),
        worst_big >= 1.7,
        worst_big >= 1.7 and "" or ("beyond the LLC one core already draws most of the memory bandwidth this " ..
          "VM gives (compare STREAM 1 thread vs all cores below); the second core can add at most that ratio"))
    end
    if ntot > 0 then
      add_target("Threads: with the default split model, at no size and count slower than one thread " ..
        "(5% tolerance for noise)" .. cores_note,
        #slower == 0 and string.format("none slower (%d size/count pairs)", ntot) or table.concat(slower, "; "),
        #slower == 0,
        #slower == 0 and "" or "see the thread-scaling table: split sizes the model judged worth splitting")
    end
    -- Adam f32 at 256 Ki on 2 threads (the library's model, count 2).
    local two = find(function(x)
      return x.section == "threads" and x.variant == "model" and x.threads == 2 and x.optimizer == "adam" and
        x.dtype == "f32" and x.n == 262144
    end)
    local one = two and one_thread(two)
    if two and one then
      local s = one.med / two.med
      add_target("Adam f32 at 256 Ki: >= 1.6x faster on 2 threads than on one",
        string.format("%.2fx (%.1f µs -> %.1f µs)", s, one.med * 262144 / 1000, two.med * 262144 / 1000), s >= 1.6,
        s >= 1.6 and "" or ("the other core of this shared 2-core VM is not ours alone (compare STREAM 1 thread " ..
          "vs all cores, and the split rows)"))
    end
    -- Adam f32 1 Mi..64 Mi against the all-core STREAM triad.
    local triad = find(function(x) return x.section == "stream" and x.variant == "triad-DRAM" and x.threads > 1 end)
    local worst, wr = math.huge, nil
    for _, r in ipairs(rows) do
      if r.section == "threads" and r.variant == "default" and r.optimizer == "adam" and r.dtype == "f32" and
        r.n >= 1048576 and triad then
        local f = (r.bytes / r.med) / (triad.bytes / triad.med)
        if f < worst then worst, wr = f, r end
      end
    end
    if wr then
      add_target("Adam f32 1 Mi..64 Mi (all cores): >= 85% of the all-core STREAM triad bandwidth" .. cores_note,
        string.format("worst %.0f%% (@%s: %.1f GB/s against %.1f GB/s triad, %d threads)", 100 * worst, human(wr.n),
          wr.bytes / wr.med, triad.bytes / triad.med, triad.threads), worst >= 0.85,
        worst >= 0.85 and "" or "bytes the kernel must move / time, against STREAM triad on all cores this run")
    end
  end
  -- Waking the pool: the most threads measured, workers spinning (back to back).
  local wake
  for _, r in ipairs(rows) do
    if r.section == "pool" and r.variant == "wake-spinning" and (not wake or r.threads > wake.threads) then wake = r end
  end
  if wake then
    local sleep = find(function(x)
      return x.section == "pool" and x.variant == "wake-sleeping" and x.threads == wake.threads
    end)
    add_target("Waking the pool: <= 5 µs per step (workers spinning, steps back to back)" ..
      (wake.threads >= 16 and "" or string.format(" (a 16-core target; here %d threads)", wake.threads)),
      string.format("%.2f µs at %d threads%s", wake.med / 1000, wake.threads,
        sleep and string.format("; %.1f µs after the workers slept", sleep.med / 1000) or ""),
      wake.med <= 5000, wake.med <= 5000 and "" or "see the pool table")
  end
  -- The requested count in growth patterns.
  local bad, nstage, pats = {}, 0, {}
  for _, r in ipairs(rows) do
    if r.section == "pool" and r.variant:match("^growth:") then
      nstage = nstage + 1
      pats[r.variant] = true
      if r.n ~= r.threads - 1 or r.bytes ~= 0 then
        bad[#bad + 1] = string.format("%s at %d: %d of %d woken, %d beyond", r.variant:sub(8), r.threads, r.n,
          r.threads - 1, r.bytes)
      end
    end
  end
  if nstage > 0 then
    local np = 0
    for _ in pairs(pats) do np = np + 1 end
    add_target("The requested count honoured in every growth pattern (workers woken = count - 1, none beyond)",
      #bad == 0 and string.format("exact in %d stages of %d patterns", nstage, np) or table.concat(bad, "; "),
      #bad == 0, #bad == 0 and "" or "see the pool table")
  end
end

-- 6. overhead.
do
  local worst, wk = -math.huge, nil
  for _, opt in ipairs({ "sgd", "adam" }) do
    local d = find(function(x) return x.section == "overhead" and x.optimizer == opt and x.variant == "direct" end)
    local s = find(function(x) return x.section == "overhead" and x.optimizer == opt and x.variant == "optk_step" end)
    if d and s and s.med - d.med > worst then worst, wk = s.med - d.med, opt end
  end
  if wk then
    add_target("Per call: optk_step on 16 elements within 15 ns of the bare kernel",
      string.format("+%.1f ns worst (%s f32)", worst, wk), worst <= 15,
      worst <= 15 and "" or "argument checks and per-call constants; see the overhead table")
  end
end

-- 7. tuned kernels against the default variants (when the library is tuned).
-- The profile (named in machine.txt) says which kernels run another variant
-- than the default; those that kept the default run the same code in both
-- libraries, and their ratios are this run's noise floor.
local tuned_rows = {}
do
  local path = (readfile(machine_file) or ""):match("\ntuning:%s+(%S+%.lua)")
  local ok, profile = pcall(dofile, path or "")
  local chosen = ok and type(profile) == "table" and profile.kernels or {}
  local classes = { { 4096, "4 Ki" }, { 65536, "64 Ki" }, { BIG, "16 Mi" } }
  local worst, wk, nmet, ntot, lo, hi = math.huge, nil, 0, 0, math.huge, 0
  for _, r in ipairs(select_rows(function(x) return x.section == "tuned" and x.variant == "tuned" end)) do
    local d = find(function(x)
      return x.section == "tuned" and x.variant == "default" and x.optimizer == r.optimizer and x.dtype == r.dtype
        and x.isa == r.isa and x.n == r.n
    end)
    if d then
      local key = r.optimizer .. "/" .. r.dtype .. "/" .. r.isa
      local c = chosen[key]
      if not tuned_rows[key] then
        tuned_rows[key] = { optimizer = r.optimizer, dtype = r.dtype, isa = r.isa, ratio = {},
                            variant = c and c.chosen or "?", same = c ~= nil and c.chosen == c.default }
        tuned_rows[#tuned_rows + 1] = tuned_rows[key]
      end
      local ratio = d.med / r.med
      tuned_rows[key].ratio[r.n] = ratio
      if tuned_rows[key].same then
        lo, hi = math.min(lo, ratio), math.max(hi, ratio)
      else
        ntot = ntot + 1
        if ratio >= 1 then nmet = nmet + 1 end
        if ratio < worst then
          worst, wk = ratio, string.format("%s %s %s @%s", r.optimizer, r.dtype, r.isa, human(r.n))
        end
      end
    end
  end
  tuned_rows.floor = hi > 0 and string.format("%.2fx..%.2fx", lo, hi) or nil
  if ntot > 0 then
    add_target("Tuned kernels (this CPU's profile) at least as fast as the default variants",
      string.format("worst %.2fx (%s); %d/%d at or above 1.0x; same code in both libraries: %s", worst, wk, nmet,
        ntot, tuned_rows.floor or "n/a"),
      worst >= 1 or (hi > 0 and worst >= lo),
      "below 1.0x only within the spread that identical code shows in this run (last figure)")
  end
  tuned_rows.classes = classes
end

-- 8. subnormal data, a new t, array placement (bench/report_data.lua).
local report_data = dofile((arg[0]:match("^(.*[/\\])") or "") .. "report_data.lua")
report_data.targets(rows, add_target)
-- 8. the whole training step (bench/group.c): the group call against the
-- loop of optk_step with separate unscale, inf-check, norm and clip passes.
local function group_row(variant, threads)
  return find(function(x) return x.section == "group" and x.variant == variant and x.threads == threads end)
end
do
  local g, p = group_row("group", 1), group_row("passes", 1)
  if g and p then
    local r = p.med / g.med
    add_target("Whole step (AdamW-shaped model, 147 tensors, beyond the cache): group call >= 1.5x the optk_step " ..
      "loop with separate unscale, inf-check, norm and clip passes",
      string.format("%.2fx (%.2f vs %.2f ns/param, one thread)", r, g.med, p.med), r >= 1.5,
      r >= 1.5 and "" or "memory traffic bounds it at 52/32 = 1.6x; see the group table")
  end
  local o = find(function(x) return x.section == "group" and x.variant == "overhead_opts" end)
  if o then
    local plain = find(function(x) return x.section == "group" and x.variant == "overhead_plain" end)
    local worst = math.max(o.med, plain and plain.med or -math.huge)
    add_target("Group step: per-tensor overhead beyond the kernel time (150 tensors) at most 30 ns",
      string.format("%.1f ns with options, %s without", o.med, plain and string.format("%.1f ns", plain.med) or "n/a"),
      worst <= 30, worst <= 30 and "" or "see the group table")
  end
end

-- ---- report.md ------------------------------------------------------------------
local md = {}
local function w(s) md[#md + 1] = s or "" end

w("# optkern benchmark report")
w()
w(string.format("Run: `bench/run%s`, %s s. One thread unless said; every time is the median of repeated " ..
  "samples after warm-up (results.csv has the fastest and slowest sample as ns_lo/ns_hi).",
  quick and " --quick" or "", seconds or "?"))
w()
w("## Machine")
w()
w("```")
w((readfile(machine_file) or "(no machine description)"):gsub("%s+$", ""))
w("```")
w()
w("## Targets")
w()
w("| Target | Measured | Met |")
w("|---|---|---|")
for _, t in ipairs(targets) do
  local met = t.met == true and "**met**" or t.met == false and "**not met**" or "—"
  w(string.format("| %s | %s | %s |", t.name, t.measured, met))
end
w()
for _, t in ipairs(targets) do
  if t.met == false and t.why ~= "" then
    w("- **" .. t.name .. "**: " .. t.why)
  end
end
w()
w("## Summary per kernel (best ISA on this CPU)")
w()
w("Bytes per element: p and g read, p written (storage size), each state array read and written (f32; f64 for f64).")
w("GB/s = bytes / time.  *Ceiling* is the copy-like loop over the same arrays, same sizes, this run.  " ..
  "*vs best naive*: best of gcc and clang `-O3 -march=native -fno-math-errno` over optkern at 4 Ki; " ..
  "*vs gcc -O3*: plain `gcc -O3 -march=native`.  *div/sqrt unit*: the unit's measured time for this kernel's " ..
  "sqrt and div over the kernel's time at 4 Ki.")
w()
w("| optimizer | dtype | ISA | B/elem | ns/elem 4 Ki | ns/elem 16 Mi | GB/s 16 Mi | % of ceiling 16 Mi |" ..
  " vs best naive 4 Ki | vs gcc -O3 4 Ki | div/sqrt unit 4 Ki |")
w("|---|---|---|---|---|---|---|---|---|---|---|")
for _, k in ipairs(kernel_list) do
  local key = k.optimizer .. "/" .. k.dtype
  local pk = per_kernel[key] or {}
  local t4 = kernel_time(k.optimizer, k.dtype, k.best, 4096)
  local tb = kernel_time(k.optimizer, k.dtype, k.best, BIG)
  w(string.format("| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |", k.optimizer, k.dtype, k.best, k.bytes,
    fmt(t4, 3), fmt(tb, 3), tb and fmt(k.bytes / tb, 1) or "n/a", pk.ceiling and fmt(100 * pk.ceiling, 0) or "n/a",
    pk.vs_best and fmt(pk.vs_best) .. "x" or "n/a", pk.vs_o3 and fmt(pk.vs_o3, 1) .. "x" or "n/a",
    pk.unit and fmt(100 * pk.unit, 0) .. "%" or "—"))
end
w()
w("![fraction of ceiling, f32](roofline_f32.png) ![fraction of ceiling, bf16](roofline_bf16.png)")
w()
w("![GB/s f32](gbs_f32.png) ![speed-up over naive loops](naive_f32.png)")
w()
if #tuned_rows > 0 then
  w("## Tuned kernels against the default variants")
  w()
  w("Time of the default variant over the tuned one (above 1: the tuned kernel is faster), both timed in " ..
    "alternation in this run; the tuned variants are those of this CPU's profile in generator/tuning/.")
  w()
  w("Rows whose variant is the default run the same code in both libraries: their spread (" ..
    (tuned_rows.floor or "n/a") .. " here) is the noise floor of this comparison.")
  w()
  w("| optimizer | dtype | ISA | variant | 4 Ki | 64 Ki | 16 Mi |")
  w("|---|---|---|---|---|---|---|")
  for _, t in ipairs(tuned_rows) do
    local cells = {}
    for i, c in ipairs(tuned_rows.classes) do cells[i] = t.ratio[c[1]] and fmt(t.ratio[c[1]]) .. "x" or "n/a" end
    w(string.format("| %s | %s | %s | %s | %s |", t.optimizer, t.dtype, t.isa,
      t.same and t.variant .. " (default)" or "**" .. t.variant .. "**", table.concat(cells, " | ")))
  end
  w()
end
do
  local vrows = select_rows(function(x) return x.section == "vendor" and x.variant == "baked" end)
  if #vrows > 0 then
    w("## Vendored kernels: baked hyperparameters against unbaked")
    w()
    w("The two copies `optgen vendor` writes for the tests (build/vendor/: a_ as it is, b_ with adam.beta1, " ..
      "adam.eps, sgd_momentum.momentum and adagrad.initial_accumulator_value baked in), same values, timed in " ..
      "alternation (ns/element).")
    w()
    w("| optimizer | dtype | ISA | elements | unbaked | baked | unbaked / baked |")
    w("|---|---|---|---|---|---|---|")
    for _, r in ipairs(vrows) do
      local u = find(function(x)
        return x.section == "vendor" and x.variant == "unbaked" and x.optimizer == r.optimizer and
          x.dtype == r.dtype and x.n == r.n
      end)
      if u then
        w(string.format("| %s | %s | %s | %s | %s | %s | %sx |", r.optimizer, r.dtype, r.isa, human(r.n),
          fmt(u.med, 3), fmt(r.med, 3), fmt(u.med / r.med)))
      end
    end
    w()
  end
end
w("## Memory ceilings (same run)")
w()
w("STREAM-style copy (16 B/element) and triad (24 B/element) on f64 arrays, per size class, and the copy-like " ..
  "ceiling loop per kernel layout (GB/s).")
w()
w("| kernel | threads | elements | GB/s |")
w("|---|---|---|---|")
for _, r in ipairs(select_rows(function(x) return x.section == "stream" end)) do
  w(string.format("| %s | %d | %s | %.1f |", r.variant, r.threads, human(r.n), r.bytes / r.med))
end
w()
local hdr = { "| ceiling layout |" }
local sep = { "|---|" }
for _, n in ipairs(sizes) do
  hdr[#hdr + 1] = " " .. human(n) .. " |"
  sep[#sep + 1] = "---|"
end
w(table.concat(hdr))
w(table.concat(sep))
local seen = {}
for _, r in ipairs(rows) do
  if r.section == "ceiling" and not seen[r.dtype .. r.variant] then
    seen[r.dtype .. r.variant] = true
    local line = { string.format("| %s %s (%d B/elem) |", r.dtype, r.variant, r.bytes) }
    for _, n in ipairs(sizes) do
      local c = ceiling_time(r.dtype, r.bytes, n)
      line[#line + 1] = " " .. (c and fmt(r.bytes / c, 1) or "") .. " |"
    end
    w(table.concat(line))
  end
end
w()
w("## Divide / square-root unit")
w()
w("Register-only loops, 12 independent chains, ns per element (lane).")
w()
w("| ISA | type | sqrt+div | div |")
w("|---|---|---|---|")
for _, isa in ipairs({ "avx512", "avx2" }) do
  for _, d in ipairs({ "f32", "f64" }) do
    local a, b = unit_time(d, isa, "sqrt+div"), unit_time(d, isa, "div")
    if a then w(string.format("| %s | %s | %.3f | %.3f |", isa, d, a, b or 0)) end
  end
end
w()
w("## Every kernel, every ISA: ns per element")
w()
hdr = { "| optimizer | dtype | ISA |" }
sep = { "|---|---|---|" }
for _, n in ipairs(sizes) do
  hdr[#hdr + 1] = " " .. human(n) .. " |"
  sep[#sep + 1] = "---|"
end
w(table.concat(hdr))
w(table.concat(sep))
for _, k in ipairs(kernel_list) do
  for _, isa in ipairs({ "scalar", "avx2", "avx512", "neon", "sve" }) do
    if k.isas[isa] then
      local line = { string.format("| %s | %s | %s |", k.optimizer, k.dtype, isa) }
      for _, n in ipairs(sizes) do
        line[#line + 1] = " " .. (kernel_time(k.optimizer, k.dtype, isa, n) and
          fmt(kernel_time(k.optimizer, k.dtype, isa, n), 3) or "") .. " |"
      end
      w(table.concat(line))
    end
  end
end
w()
w("## Naive loops: optkern's speed-up (naive time / optkern time, best ISA)")
w()
local variants = { "gcc-O3-native", "gcc-O3-native-fno-math-errno", "clang-O3-native",
  "clang-O3-native-fno-math-errno", "gcc-O2" }
w("| optimizer | dtype | n | " .. table.concat(variants, " | ") .. " |")
w("|---|---|---|" .. string.rep("---|", #variants))
for _, k in ipairs(kernel_list) do
  for _, n in ipairs(sizes) do
    local t = kernel_time(k.optimizer, k.dtype, k.best, n)
    local cells, any = {}, false
    for _, v in ipairs(variants) do
      local nt = naive_time(k.optimizer, k.dtype, v, n)
      any = any or nt ~= nil
      cells[#cells + 1] = (nt and t) and fmt(nt / t) .. "x" or "n/a"
    end
    if any then
      w(string.format("| %s | %s | %s | %s |", k.optimizer, k.dtype, human(n), table.concat(cells, " | ")))
    end
  end
end
w()
w("bf16 and f16 have no naive C loop (C has no portable 16-bit float type on this compiler set).")
w()
w("## Thread scaling")
w()
w("`split`: the step is split across the given threads at every size (threshold forced to 0); `model`: the " ..
  "library's split model with that count; `default`: the library as it comes (its model, every core it may " ..
  "use).  Speed-up over one thread.")
w()
w("| kernel | n | threads | mode | ns/elem | speed-up |")
w("|---|---|---|---|---|---|")
for _, r in ipairs(select_rows(function(x) return x.section == "threads" end)) do
  local one = find(function(x)
    return x.section == "threads" and x.variant == "split" and x.threads == 1 and x.optimizer == r.optimizer and
      x.dtype == r.dtype and x.n == r.n
  end)
  w(string.format("| %s %s %s | %s | %d | %s | %.3f | %s |", r.optimizer, r.dtype, r.isa, human(r.n), r.threads,
    r.variant, r.med, one and fmt(one.med / r.med) .. "x" or ""))
end
w()
w("![thread scaling](threads.png)")
w()
w("## The pool")
w()
w("The split model: each kernel's time per element, measured by the library in cache, and the smallest step it " ..
  "splits in two (every part must hold 10 µs of one thread's work).  Wake: a step of p parts of 8 Ki Adam f32 " ..
  "elements less one part alone; spinning: steps back to back; sleeping: each step after 2 ms idle.  Growth: " ..
  "after optk_set_num_threads(c) in the order shown, the workers woken (of 1..c-1) and beyond.")
w()
w("| measure | kernel | threads | figure |")
w("|---|---|---|---|")
for _, r in ipairs(select_rows(function(x) return x.section == "pool" end)) do
  local fig
  if r.variant == "model-cost" then
    fig = string.format("%.3f ns/elem; split in two from %s elements", r.med, human(r.n))
  elseif r.variant:match("^wake") then
    fig = string.format("%.2f µs (%.2f..%.2f)", r.med / 1000, r.lo / 1000, r.hi / 1000)
  else
    fig = string.format("%d of %d woken, %d beyond (%d steps)", r.n, r.threads - 1, r.bytes, r.med)
  end
  w(string.format("| %s | %s %s %s | %d | %s |", r.variant, r.optimizer, r.dtype, r.isa, r.threads, fig))
end
w()
w("## Per-call overhead (n = 16, f32)")
w()
w("`direct`: the kernel function with precomputed constants; `optk_step`: the public call, same kernel, same t " ..
  "(many tensors in one training step); `optk_step-new-t`: a new t every call (per-call constants recomputed).")
w()
w("| optimizer | ISA | variant | ns/call |")
w("|---|---|---|---|")
for _, r in ipairs(select_rows(function(x) return x.section == "overhead" end)) do
  w(string.format("| %s | %s | %s | %.1f |", r.optimizer, r.isa, r.variant, r.med))
end
w()
report_data.markdown(rows, w)
local grows = select_rows(function(x) return x.section == "group" and not x.variant:match("^overhead") end)
if #grows > 0 then
  w("## The whole training step (optk_step_group)")
  w()
  w(string.format("%s over a transformer-shaped model: 12 blocks of width 256 and an 8192 x 256 embedding, %s " ..
    "parameters in 147 tensors, f32, loss scale 2^-10 and clipping to norm 1 (bench/group.c).  `group`: one " ..
    "optk_step_group call; `passes`: unscale, inf check, norm and clip as separate passes over the gradients, then " ..
    "optk_step per tensor (the passes stay on one thread); `group_plain` / `steps_plain`: the same without " ..
    "scaling or clipping; `torch*`: torch.optim.AdamW with the same unscale, check and clip_grad_norm_.  " ..
    "Speed-up: the `passes` time over the row's, same threads.", grows[1].optimizer, human(grows[1].n)))
  w()
  w("| variant | threads | ns/param | ms/step | GB/s (bytes/param) | speed-up over passes |")
  w("|---|---|---|---|---|---|")
  for _, r in ipairs(grows) do
    local p = group_row("passes", r.threads)
    w(string.format("| %s | %d | %.3f | %.1f | %.1f (%g) | %s |", r.variant, r.threads, r.med, r.med * r.n / 1e6,
      r.bytes / r.med, r.bytes, p and fmt(p.med / r.med, 2) .. "x" or "n/a"))
  end
  w()
  local orows = select_rows(function(x) return x.section == "group" and x.variant:match("^overhead") end)
  for _, r in ipairs(orows) do
    w(string.format("Per-tensor overhead (%s): %.1f ns per tensor beyond its kernel time (150 tensors of 256: %.1f " ..
      "ns per tensor; one tensor of 150 x 256: %.1f ns per 256 elements).", r.variant == "overhead_opts" and
      "scale, clip, skip" or "no options", r.med, r.lo, r.hi))
  end
  w()
end
w("## PyTorch (torch.optim, CPU, f32, one tensor)")
w()
local trows = select_rows(function(x) return x.section == "torch" end)
if #trows == 0 then
  w("Skipped: `python3 -c 'import torch'` failed on this machine (Debian: `apt-get install python3-torch`).")
else
  w("Closest torch optimizer to each Keras-semantics kernel (eps placement and lr-in-momentum differ; the work " ..
    "per element is the same).  Speed-up = torch time per step / optkern time per step (best ISA), same threads.")
  w()
  w("| optimizer | n | threads | torch µs/step | optkern µs/step | speed-up |")
  w("|---|---|---|---|---|---|")
  for _, r in ipairs(trows) do
    local k = kernels[r.optimizer .. "/f32"]
    local t
    if k and r.threads == 1 then
      t = kernel_time(r.optimizer, "f32", k.best, r.n)
    elseif k then
      local d = find(function(x)
        return x.section == "threads" and x.variant == "default" and x.optimizer == r.optimizer and x.dtype == "f32"
          and x.n == r.n
      end)
      t = d and d.med
    end
    w(string.format("| %s | %s | %d | %.1f | %s | %s |", r.optimizer, human(r.n), r.threads, r.med * r.n / 1000,
      t and fmt(t * r.n / 1000, 1) or "n/a", t and fmt(r.med / t, 1) .. "x" or "n/a"))
  end
  w()
  w("![PyTorch](torch.png)")
end
w()
writefile(outdir .. "/report.md", table.concat(md, "\n"))

-- ---- results.json ------------------------------------------------------------------
local function jstr(s) return '"' .. tostring(s):gsub('[%c"\\]', function(c)
  return string.format("\\u%04x", c:byte())
end) .. '"' end
local js = { "{\n", '  "quick": ', quick and "true" or "false", ',\n  "seconds": ', tonumber(seconds) or "null",
  ',\n  "machine": ', jstr(readfile(machine_file) or ""), ',\n  "targets": [\n' }
for i, t in ipairs(targets) do
  js[#js + 1] = string.format('    {"target": %s, "measured": %s, "met": %s, "why": %s}%s\n', jstr(t.name),
    jstr(t.measured), t.met == nil and "null" or tostring(t.met), jstr(t.why), i < #targets and "," or "")
end
js[#js + 1] = '  ],\n  "rows": [\n'
for i, r in ipairs(rows) do
  js[#js + 1] = string.format('    {"section": %s, "optimizer": %s, "dtype": %s, "isa": %s, "variant": %s, ' ..
    '"threads": %d, "n": %d, "bytes_per_elem": %g, "ns_per_elem": %.6g, "ns_lo": %.6g, "ns_hi": %.6g, ' ..
    '"gb_per_s": %s}%s\n', jstr(r.section), jstr(r.optimizer), jstr(r.dtype), jstr(r.isa), jstr(r.variant),
    r.threads, r.n, r.bytes, r.med, r.lo, r.hi, (r.bytes > 0 and r.med > 0) and string.format("%.4g",
      r.bytes / r.med) or "null", i < #rows and "," or "")
end
js[#js + 1] = "  ]\n}\n"
writefile(outdir .. "/results.json", table.concat(js))

-- ---- plot data and gnuplot script -----------------------------------------------------
local gp = {}
local function g(s) gp[#gp + 1] = s end
g("# Generated by bench/report.lua; run from bench/out.")
g("set datafile separator whitespace")
g("set key outside right top")
g("set grid")
g("set logscale x 2")
g("set format x '%.0s%cB'")
g("set style line 1 lw 2")
local function terminals(name, body)
  for _, term in ipairs({ { "pngcairo noenhanced size 1100,650 font ',11'", ".png" },
    { "svg noenhanced size 1100,650", ".svg" } }) do
    g("set terminal " .. term[1])
    g("set output '" .. name .. term[2] .. "'")
    for _, line in ipairs(body) do g(line) end
  end
end

for _, d in ipairs(dtypes) do
  local lines, plots = {}, {}
  for _, k in ipairs(kernel_list) do
    if k.dtype == d then
      local file = "data_" .. k.optimizer .. "_" .. d .. ".dat"
      local data = { "# n frac_of_ceiling gbs ceiling_gbs" }
      for _, n in ipairs(sizes) do
        local t = kernel_time(k.optimizer, d, k.best, n)
        local c = ceiling_time(d, k.bytes, n)
        if t and c then
          data[#data + 1] = string.format("%d %.4f %.3f %.3f", n, c / t, k.bytes / t, k.bytes / c)
        end
      end
      writefile(outdir .. "/" .. file, table.concat(data, "\n") .. "\n")
      plots[#plots + 1] = { file = file, title = k.optimizer .. " (" .. k.best .. ")" }
    end
  end
  if #plots > 0 then
    lines[#lines + 1] = "set title 'optkern " .. d .. ": fraction of the same-run ceiling (copy-like loop over the " ..
      "same arrays), 1 thread'"
    lines[#lines + 1] = "set xlabel 'elements per step'"
    lines[#lines + 1] = "set ylabel 'kernel GB/s / ceiling GB/s'"
    lines[#lines + 1] = "set format x '%.0b%B'"
    lines[#lines + 1] = "set yrange [0:1.3]"
    local parts = {}
    for i, p in ipairs(plots) do
      parts[#parts + 1] = string.format("'%s' using 1:2 with linespoints lt %d title '%s'", p.file, i,
        p.title)
    end
    parts[#parts + 1] = "0.95 with lines dt 2 lc rgb 'black' title '95% target'"
    lines[#lines + 1] = "plot " .. table.concat(parts, ", \\\n  ")
    lines[#lines + 1] = "set yrange [*:*]"
    terminals("roofline_" .. d, lines)
    if d == "f32" then
      local gl = { "set title 'optkern f32: effective GB/s (bytes the kernel must move / time), 1 thread'",
        "set ylabel 'GB/s'", "set xlabel 'elements per step'", "set format x '%.0b%B'", "set yrange [0:*]" }
      parts = {}
      for i, p in ipairs(plots) do
        parts[#parts + 1] = string.format("'%s' using 1:3 with linespoints lt %d title '%s'", p.file, i,
          p.title)
      end
      parts[#parts + 1] = string.format("'%s' using 1:4 with lines dt 2 lw 2 lc rgb 'black' title " ..
        "'ceiling (adam layout)'", "data_adam_f32.dat")
      gl[#gl + 1] = "plot " .. table.concat(parts, ", \\\n  ")
      terminals("gbs_f32", gl)
    end
  end
end

-- naive speed-up bars at 4 Ki, f32
do
  local data = { "# optimizer " .. table.concat(variants, " ") }
  local any = false
  for _, k in ipairs(kernel_list) do
    if k.dtype == "f32" then
      local t = kernel_time(k.optimizer, "f32", k.best, 4096)
      local cells = { (k.optimizer:gsub("_", "-")) }
      for _, v in ipairs(variants) do
        local nt = naive_time(k.optimizer, "f32", v, 4096)
        cells[#cells + 1] = (nt and t) and string.format("%.3f", nt / t) or "NaN"
        any = any or nt ~= nil
      end
      data[#data + 1] = table.concat(cells, " ")
    end
  end
  writefile(outdir .. "/data_naive_f32.dat", table.concat(data, "\n") .. "\n")
  if any then
    local cols = {}
    for i, v in ipairs(variants) do
      cols[#cols + 1] = string.format("'data_naive_f32.dat' using %d%s title '%s'", i + 1, i == 1 and ":xtic(1)" or "",
        v)
    end
    terminals("naive_f32", {
      "unset logscale x", "set format x '%g'",
      "set title 'optkern f32 at 4 Ki elements: speed-up over the naive C loop (naive time / optkern time)'",
      "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.8 border -1",
      "set logscale y", "set yrange [0.5:*]", "set ylabel 'speed-up (log)'", "set xlabel ''",
      "set xtics rotate by -30", "set key inside top right",
      "plot " .. table.concat(cols, ", ") .. ", 1 with lines dt 2 lc rgb 'black' notitle",
      "unset logscale y", "set xtics norotate", "set style data lines", "set yrange [*:*]", "set key outside right top",
    })
  end
end

-- thread scaling
do
  local parts, i = {}, 0
  local groups, order = {}, {}
  for _, r in ipairs(rows) do
    if r.section == "threads" and r.threads > 1 and r.variant ~= "model" then
      local key = r.optimizer .. "_" .. r.dtype .. "_" .. r.variant .. "_" .. r.threads
      if not groups[key] then
        groups[key] = { title = string.format("%s %s %s, %d threads", r.optimizer, r.dtype, r.variant, r.threads),
          data = {} }
        order[#order + 1] = key
      end
      local one = find(function(x)
        return x.section == "threads" and x.variant == "split" and x.threads == 1 and x.optimizer == r.optimizer and
          x.dtype == r.dtype and x.n == r.n
      end)
      if one then
        local dd = groups[key].data
        dd[#dd + 1] = string.format("%d %.4f", r.n, one.med / r.med)
      end
    end
  end
  for _, key in ipairs(order) do
    i = i + 1
    writefile(outdir .. "/data_threads_" .. key .. ".dat", table.concat(groups[key].data, "\n") .. "\n")
    parts[#parts + 1] = string.format("'data_threads_%s.dat' using 1:2 with linespoints lt %d title '%s'", key, i,
      groups[key].title)
  end
  if #parts > 0 then
    parts[#parts + 1] = "1 with lines dt 2 lc rgb 'black' title 'one thread'"
    parts[#parts + 1] = "1.7 with lines dt 3 lc rgb 'red' title '1.7x target'"
    terminals("threads", { "set logscale x 2", "set format x '%.0b%B'",
      "set title 'Thread scaling: speed-up over one thread'", "set xlabel 'elements per step'",
      "set ylabel 'speed-up'", "set yrange [0:*]", "plot " .. table.concat(parts, ", \\\n  "), "set yrange [*:*]" })
  end
end

-- torch
do
  local data, any = {}, false
  for _, r in ipairs(rows) do
    if r.section == "torch" and r.threads == 1 then
      local k = kernels[r.optimizer .. "/f32"]
      local t = k and kernel_time(r.optimizer, "f32", k.best, r.n)
      if t then
        data[r.n] = data[r.n] or {}
        data[r.n][#data[r.n] + 1] = { r.optimizer, r.med / t }
        any = true
      end
    end
  end
  if any then
    local lines, cols, names = { "# optimizer" }, {}, {}
    local ns = {}
    for n in pairs(data) do ns[#ns + 1] = n end
    table.sort(ns)
    for _, n in ipairs(ns) do names[#names + 1] = human(n):gsub(" ", "") end
    lines[1] = "# optimizer " .. table.concat(names, " ")
    local byopt, optorder = {}, {}
    for _, n in ipairs(ns) do
      for _, e in ipairs(data[n]) do
        if not byopt[e[1]] then byopt[e[1]] = {}; optorder[#optorder + 1] = e[1] end
        byopt[e[1]][n] = e[2]
      end
    end
    for _, o in ipairs(optorder) do
      local cells = { (o:gsub("_", "-")) }
      for _, n in ipairs(ns) do cells[#cells + 1] = byopt[o][n] and string.format("%.3f", byopt[o][n]) or "NaN" end
      lines[#lines + 1] = table.concat(cells, " ")
    end
    writefile(outdir .. "/data_torch.dat", table.concat(lines, "\n") .. "\n")
    for i, n in ipairs(names) do
      cols[#cols + 1] = string.format("'data_torch.dat' using %d%s title '%s elements'", i + 1,
        i == 1 and ":xtic(1)" or "", n)
    end
    terminals("torch", { "unset logscale x", "set format x '%g'",
      "set title 'optkern vs torch.optim on CPU (f32, 1 thread): speed-up per step'",
      "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.8 border -1",
      "set logscale y", "set yrange [0.5:*]", "set ylabel 'speed-up (log)'", "set xlabel ''",
      "set xtics rotate by -30", "set key inside top right",
      "plot " .. table.concat(cols, ", ") .. ", 1 with lines dt 2 lc rgb 'black' notitle",
      "unset logscale y", "set xtics norotate", "set style data lines", "set yrange [*:*]" })
  end
end
writefile(outdir .. "/plots.gp", table.concat(gp, "\n") .. "\n")

-- The summary table on stdout, for bench/run's closing lines.
io.write("Targets:\n")
for _, t in ipairs(targets) do
  io.write(string.format("  [%s] %s: %s\n", t.met == true and "met" or t.met == false and "NOT met" or "info",
    t.name, t.measured))
end
