-- The report's parts about data and placement (bench/report.lua loads this):
-- the subnormal, new-t and allocation targets, and the sections on data
-- modes and allocation patterns, from optk_bench_data's rows (bench/data.c)
-- and optk_bench's overhead and layout rows.
local M = {}

local TARGET_SUBNORMAL = 1.3 -- subnormal data over normal data, per kernel (issue 12)
local TARGET_NEW_T = 15       -- ns a new t may add to an optk_step call

local function human(n)
  if n >= 1048576 and n % 1048576 == 0 then return math.floor(n / 1048576) .. " Mi" end
  if n >= 1024 and n % 1024 == 0 then return math.floor(n / 1024) .. " Ki" end
  return tostring(n)
end

local function mib(bytes)
  local m = bytes / 1048576
  local whole = math.floor(m)
  local rest = bytes - whole * 1048576
  if rest == 0 then return whole .. " MiB" end
  if rest % 1024 == 0 then return string.format("%d MiB + %d KiB", whole, rest / 1024) end
  return string.format("%d MiB + %d B", whole, rest)
end

-- data rows grouped: key opt/dtype/isa/n -> { normal = row, training = row, subnormal = row }
local function data_groups(rows)
  local groups, order = {}, {}
  for _, r in ipairs(rows) do
    if r.section == "data" then
      local key = table.concat({ r.optimizer, r.dtype, r.isa, r.n }, "/")
      if not groups[key] then
        groups[key] = { optimizer = r.optimizer, dtype = r.dtype, isa = r.isa, n = r.n }
        order[#order + 1] = groups[key]
      end
      groups[key][r.variant] = r
    end
  end
  return order
end

-- Ratios use each mode's fastest sample: on a shared machine the medians
-- carry other processes' noise, which is no property of the data.
local function ratio(g)
  if g.normal and g.subnormal and g.normal.lo > 0 then return g.subnormal.lo / g.normal.lo end
end

function M.targets(rows, add_target, overhead_opts)
  local worst, wk, nmet, ntot, misses = 0, nil, 0, 0, {}
  for _, g in ipairs(data_groups(rows)) do
    local x = ratio(g)
    if x and g.isa ~= "scalar" and g.n == 4096 then
      ntot = ntot + 1
      if x <= TARGET_SUBNORMAL then nmet = nmet + 1 else misses[#misses + 1] = g end
      if x > worst then worst, wk = x, string.format("%s %s %s", g.optimizer, g.dtype, g.isa) end
    end
  end
  if ntot > 0 then
    table.sort(misses, function(a, b) return ratio(a) > ratio(b) end)
    local list = {}
    for i = 1, math.min(#misses, 6) do
      list[i] = string.format("%s %s %s %.2fx", misses[i].optimizer, misses[i].dtype, misses[i].isa, ratio(misses[i]))
    end
    add_target(string.format("Subnormal data at most %.1fx normal data, every vector kernel at 4 Ki", TARGET_SUBNORMAL),
      string.format("worst %.2fx (%s); %d/%d within", worst, wk, nmet, ntot), worst <= TARGET_SUBNORMAL,
      #misses == 0 and "" or ("over: " .. table.concat(list, "; ") .. (#misses > 6 and "; ..." or "") ..
        ". What stays slow and why: docs/subnormal.md"))
  end
  local worst_t, wt, wprep = -math.huge, nil, nil
  for _, opt in ipairs(overhead_opts) do
    local same, new, prep
    for _, r in ipairs(rows) do
      if r.section == "overhead" and r.optimizer == opt then
        if r.variant == "optk_step" then same = r
        elseif r.variant == "optk_step-new-t" then new = r
        elseif r.variant == "prep-new-t" then prep = r end
      end
    end
    if same and new and new.med - same.med > worst_t then worst_t, wt, wprep = new.med - same.med, opt, prep end
  end
  if wt then
    add_target(string.format("A new t adds at most %d ns to an optk_step call", TARGET_NEW_T),
      string.format("+%.1f ns worst (%s f32, n = 16)", worst_t, wt), worst_t <= TARGET_NEW_T,
      (wprep and string.format("the per-call code alone takes %.1f ns a call with a new t (beta^t as the " ..
        "per-thread power cache computed it the call before, then square roots and divisions); ", wprep.med) or "") ..
      "t counts up from 1 to about 10^6, as in training; per-call scalars: binary powering and IEEE sqrt " ..
      "(runtime/ieee_math.c)")
  end
  local fw, cp, fk
  for _, r in ipairs(rows) do
    if r.section == "alloc" and r.n == 4096 and r.optimizer == "adam" and r.dtype == "f32" then
      if r.variant == "framework" and (not fw or r.lo > fw.lo) then fw = r end
    end
  end
  if fw then
    for _, r in ipairs(rows) do
      if r.section == "alloc" and r.variant == "compact" and r.n == fw.n and r.isa == fw.isa and
         r.optimizer == fw.optimizer and r.dtype == fw.dtype then cp = r end
    end
    fk = cp and fw.lo / cp.lo
  end
  if fk then
    add_target("Adam f32 at 4 Ki: framework-placed arrays against compact ones (information)",
      string.format("%.2fx (%s; %.3f against %.3f ns/elem, arrays %s apart)", fk, fw.isa, fw.lo, cp.lo, mib(fw.bytes)),
      nil)
  end
end

function M.markdown(rows, w)
  local groups = data_groups(rows)
  if #groups > 0 then
    w("## Data: normal, training-like and subnormal")
    w()
    w("optk_bench_data, compact arrays (one block, back to back), one thread, t cycling.  *normal*: gradients " ..
      "~N(0, 1e-3); *training*: the same with 5% exact zeros and 2% of 256-element rows ~1e-20 (the data of " ..
      "every other kernel figure in this report); *subnormal*: every row tiny (half ~1e-20, whose squares are " ..
      "f32 subnormals; half below the smallest normal; f64: 1e-160 and 1e-310; f16: its own subnormals) and " ..
      "the state starting subnormal.  ns/elem are medians; the ratio uses each mode's fastest sample.")
    w()
    w("| kernel | ISA | n | normal | training | subnormal | subnormal / normal |")
    w("|---|---|---|---|---|---|---|")
    for _, g in ipairs(groups) do
      local function ns(m) return g[m] and string.format("%.3f", g[m].med) or "" end
      local x = ratio(g)
      w(string.format("| %s %s | %s | %s | %s | %s | %s | %s |", g.optimizer, g.dtype, g.isa, human(g.n), ns("normal"),
        ns("training"), ns("subnormal"),
        x and string.format("%s%.2fx%s", x > TARGET_SUBNORMAL and "**" or "", x, x > TARGET_SUBNORMAL and "**" or "")
          or ""))
    end
    w()
  end
  local alloc = {}
  for _, r in ipairs(rows) do if r.section == "alloc" then alloc[#alloc + 1] = r end end
  local layout
  for _, r in ipairs(rows) do if r.section == "layout" then layout = r end end
  if #alloc > 0 or layout then
    w("## Allocation patterns")
    w()
    if layout then
      w(string.format("Every kernel figure above this section (and the thread, naive and tuned sections) used the " ..
        "**framework** pattern: one `aligned_alloc` of %s per array, which glibc placed %s apart.  The data " ..
        "section used **compact** arrays.", mib(layout.n), mib(layout.bytes)))
      w()
    end
    w("*compact*: one block, arrays back to back.  *framework*: one `aligned_alloc(64, 128 MiB)` per array, as a " ..
      "framework allocates equal large tensors (spacing in brackets).  The rest place the arrays at exact spacings " ..
      "in one reserved region; +448 B shifts each array by 7 cache lines more than the last.  Training-like data; " ..
      "ns/elem, fastest sample (median in results.csv).")
    w()
    local cols, seen = {}, {}
    for _, r in ipairs(alloc) do
      if not seen[r.variant] then seen[r.variant] = true; cols[#cols + 1] = r.variant end
    end
    w("| kernel | ISA | n | " .. table.concat(cols, " | ") .. " |")
    w("|---|---|---|" .. string.rep("---|", #cols))
    local done = {}
    for _, r in ipairs(alloc) do
      local key = r.optimizer .. r.dtype .. r.isa .. r.n
      if not done[key] then
        done[key] = true
        local cells = {}
        for i, c in ipairs(cols) do
          cells[i] = ""
          for _, x in ipairs(alloc) do
            if x.variant == c and x.optimizer .. x.dtype .. x.isa .. x.n == key then
              cells[i] = string.format("%.3f", x.lo) .. (c == "framework" and " (" .. mib(x.bytes) .. ")" or "")
            end
          end
        end
        w(string.format("| %s %s | %s | %s | %s |", r.optimizer, r.dtype, r.isa, human(r.n),
          table.concat(cells, " | ")))
      end
    end
    w()
  end
end

return M
