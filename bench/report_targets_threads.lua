-- bench/report.lua, part: the targets of threads and the pool, the per-call overhead, the tuned
-- kernels, the data patterns (report_data.lua) and the whole training step.
local R = ...
local BIG, add_target, find, human = R.BIG, R.add_target, R.find, R.human
local machine_file, readfile, rows, select_rows = R.machine_file, R.readfile, R.rows, R.select_rows

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
    local worst_big, wb, slower, ntot, unsplit = math.huge, nil, {}, 0, 0
    -- The smallest step the model splits, per kernel (the pool rows): below
    -- it a model or default step runs one thread's code path, so a ratio
    -- there is the spread of two measurements of the same call.
    local split_from = {}
    for _, r in ipairs(rows) do
      if r.section == "pool" and r.variant == "model-cost" then
        split_from[r.optimizer .. " " .. r.dtype .. " " .. r.isa] = r.n
      end
    end
    for _, r in ipairs(rows) do
      if r.section == "threads" and (r.variant == "default" or r.variant == "model") then
        local one = one_thread(r)
        local from = split_from[r.optimizer .. " " .. r.dtype .. " " .. r.isa]
        if one and from and r.n < from then
          unsplit = unsplit + 1
          one = nil
        end
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
        (#slower == 0 and string.format("none slower (%d split size/count pairs)", ntot) or
          table.concat(slower, "; ")) ..
          string.format("; %d pairs below the split size run one thread's path", unsplit),
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
  for _, opt in ipairs(R.overhead_optimizers()) do
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
report_data.targets(rows, add_target, R.overhead_optimizers())
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

R.group_row = group_row
R.report_data = report_data
R.tuned_rows = tuned_rows
