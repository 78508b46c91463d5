-- bench/report.lua, part: the targets of the kernels: beyond the cache against the same-run
-- ceiling, in cache against the compilers' naive loops, against the divide and
-- square-root unit, 16-bit types against f32, and torch.optim.
local R = ...
local ceiling_time, find, human, kernel_list = R.ceiling_time, R.find, R.human, R.kernel_list
local kernel_time, kernels, naive_time, ops_of = R.kernel_time, R.kernels, R.naive_time, R.ops_of
local unit_bound = R.unit_bound

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

R.BIG = BIG
R.add_target = add_target
R.per_kernel = per_kernel
R.targets = targets
