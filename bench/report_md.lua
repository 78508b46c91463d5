-- bench/report.lua, part: report.md: the targets, then a table per section.
local R = ...
local BIG, ceiling_time, find, fmt = R.BIG, R.ceiling_time, R.find, R.fmt
local group_row, human, kernel_list, kernel_time = R.group_row, R.human, R.kernel_list, R.kernel_time
local kernels, machine_file, naive_time, outdir = R.kernels, R.machine_file, R.naive_time, R.outdir
local per_kernel, quick, readfile, report_data = R.per_kernel, R.quick, R.readfile, R.report_data
local rows, seconds, select_rows, sizes = R.rows, R.seconds, R.select_rows, R.sizes
local targets, tuned_rows, unit_time, writefile = R.targets, R.tuned_rows, R.unit_time, R.writefile

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
for i = #R.isa_names, 1, -1 do -- the widest first; ISAs the unit section did not measure have no rows
  local isa = R.isa_names[i]
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
  for _, isa in ipairs(R.isa_names) do
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
local mp = select_rows(function(x) return x.section == "pool" and x.variant == "min-part" end)[1]
local mp_text = mp and string.format("%.1f µs of one thread's work, %s", mp.med / 1000,
  mp.n == 1 and "measured on this CPU by optgen tune (the profile's split)" or "the default without a tuning profile")
  or "a minimum of one thread's work"
w("The split model: each kernel's time per element, measured by the library in cache, and the smallest step it " ..
  "splits in two (every part must hold " .. mp_text .. ").  Wake: a step of p parts of 8 Ki Adam f32 " ..
  "elements less one part alone; spinning: steps back to back; sleeping: each step after 2 ms idle.  Growth: " ..
  "after optk_set_num_threads(c) in the order shown, the workers woken (of 1..c-1) and beyond.")
w()
w("| measure | kernel | threads | figure |")
w("|---|---|---|---|")
for _, r in ipairs(select_rows(function(x) return x.section == "pool" end)) do
  local fig
  if r.variant == "min-part" then
    fig = string.format("every part at least %.1f µs (%s)", r.med / 1000, r.n == 1 and "tuned" or "default")
  elseif r.variant == "model-cost" then
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
  "(many tensors in one training step); `optk_step-new-t`: a new t every call (per-call constants " ..
  "recomputed), t counting up from 1 to about 10^6 over the section as in training, never back; " ..
  "`prep-new-t`: the per-call code alone, continuing that count.")
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

R.variants = variants
