-- optgen tune: measures, on this machine, candidate knob settings of every
-- kernel (unroll, software prefetch, non-temporal stores; emit names one
-- as u4_pf8_nt), checks each against the scalar baseline bit for bit, and
-- writes a tuning profile naming the fastest per size class and the setting
-- to emit.  `optgen generate --profile FILE --out DIR` emits its choices.
-- This module drives the run; each job is a module of its own:
--   tune_cpu         the CPU, the ISAs it runs, its profile's name, caches
--   tune_candidates  the settings tried per kernel
--   tune_compile     their C, compiled into a shared object per optimizer
--   tune_ffi         the clock and the loader, through LuaJIT's FFI
--   tune_data        arrays, calls and per-call constants
--   tune_verify      the bit-for-bit check against the scalar baseline
--   tune_time        interleaved timing, medians
--   tune_choose      the choice per kernel
--   tune_isa         the ISA per optimizer, storage type and size class
--   tune_split       the split threshold of the library's thread pool
--   tune_profile     profiles read and written (samples go to build/tuning/)
local choose = require("optgen.tune_choose")
local compile = require("optgen.tune_compile")
local cpu_ = require("optgen.tune_cpu")
local data = require("optgen.tune_data")
local emit = require("optgen.emit")
local fail = require("optgen.tune_fail")
local ffi_ = require("optgen.tune_ffi")
local fs = require("optgen.fsutil")
local generate = require("optgen.generate")
local isa_choice = require("optgen.tune_isa")
local lower = require("optgen.lower")
local profile = require("optgen.tune_profile")
local split = require("optgen.tune_split")
local timing = require("optgen.tune_time")
local vendor = require("optgen.vendor")
local verify = require("optgen.tune_verify").verify

local M = {}

-- What callers (cli.lua, the tests) use, from the parts.
M.fail, M.cpu, M.runs, M.cpu_isas, M.default_path = fail, cpu_.cpu, cpu_.runs, cpu_.cpu_isas, cpu_.default_path
M.FORMAT, M.load_profile, M.profile_text, M.literal = profile.FORMAT, profile.load, profile.text, profile.literal
M.CLASSES, M.choose = choose.CLASSES, choose.choose

-- A comma list of --optim, --dtype or --isa (nil when not given), checked
-- as vendor checks its own.
local function list(text, what, known, order)
  if text == nil then return nil end
  local ok, r = pcall(vendor.list, text, what, known, order)
  if not ok and type(r) == "table" and r.vendor then fail("%s", r.vendor) end
  if not ok then error(r, 0) end
  return r
end

-- The ISAs to tune: those of --isa (each one this CPU runs), or every SIMD
-- ISA it runs.
local function isas_of(o, cpu, backends, by_isa, isa_order)
  local isas = list(o.isa, "isa", by_isa, isa_order)
  if not isas then
    isas = cpu_.cpu_isas(cpu, backends)
    if #isas == 0 then fail("this CPU runs no SIMD ISA optgen knows (%s); nothing to tune",
                            table.concat(isa_order, ", ")) end
    return isas
  end
  local keep = {}
  for _, isa in ipairs(isas) do
    local ok, why = cpu_.runs(cpu, by_isa[isa])
    if not ok then fail("this CPU cannot run %s: %s", isa, why) end
    if isa ~= "scalar" then keep[#keep + 1] = isa end
  end
  if #keep == 0 then fail("scalar is the baseline, with nothing to tune; name another ISA") end
  return keep
end

-- Elements per size class for kir at dtype: half the cache for l1 and l2,
-- twice (quick) or four times the last-level cache beyond it; o.sizes
-- overrides.
local function class_sizes(kir, dtype, caches, o)
  local bpe = 2 * lower.bytes[dtype] + #kir.spec.state * lower.bytes[lower.storage("state", dtype)]
  local function round(x) return math.max(256, math.floor(x / 256) * 256) end
  local n = { l1 = round(caches.l1 / 2 / bpe), l2 = round(caches.l2 / 2 / bpe),
              big = round(math.max(1048576, (o.quick and 2 or 4) * caches.llc / bpe)) }
  for c, v in pairs(o.sizes or {}) do n[c] = v end
  return n
end

-- Checks, times and chooses among the candidates of one unit of the plan
-- (pl) in the loaded shared object h.  Returns the profile's entry.
local function tune_unit(kir, pl, h, prepfn, basefn, caches, o, kname, log)
  local dtype, be = pl.dtype, pl.be
  local n = class_sizes(kir, dtype, caches, o)
  -- Checks run on small arrays with special values, timings on plain ones
  -- (denormals would time microcode assists).
  local tc = data.arrays(kir, dtype, 4200, true, 0)
  local t = data.arrays(kir, dtype, math.max(n.big, n.l1, n.l2), false, 0)
  local c1, c2 = data.consts_for(kir, dtype, prepfn, 1), data.consts_for(kir, dtype, prepfn, 2)
  local ns, rejected, fns = {}, {}, {}
  for i, setting in ipairs(pl.cands) do
    local fn = ffi_.sym(h, pl.syms[i], "optk_tune_fn")
    local at = be[lower.arith(dtype)]
    local lanes = type(at.lanes) == "number" and at.lanes or 16
    local bad = verify(tc, fn, basefn, { c1, c2 }, lanes * setting.unroll)
    local sname = emit.variant_name(setting)
    if bad then
      if i == 1 then fail("%s: the default setting %s is not bit-identical: %s", kname, sname, bad) end
      rejected[sname] = bad
      log("  rejected " .. sname .. ": " .. bad)
    else
      ns[#ns + 1], fns[#fns + 1] = { setting = sname }, fn
    end
  end
  for _, c in ipairs(choose.CLASSES) do
    local big = c == "big"
    local r = timing.time_fns(t, fns, n[c], c1, big and (o.quick and 5 or 9) or (o.quick and 7 or 11),
                              big and 1 or (o.quick and 2e5 or 5e5))
    for i, m in ipairs(ns) do m[c] = r[i] end
  end
  local chosen, best, speedup = choose.choose(ns)
  local fn
  for i, m in ipairs(ns) do if m.setting == chosen then fn = fns[i] end end
  return { default = ns[1].setting, chosen = chosen, best = best, speedup = speedup, n = n, ns = ns,
           rejected = rejected, fn = fn }
end

-- o: { optim, dtype, isa (comma lists or nil), quick, out (profile path),
-- lib (the library whose pool the split threshold is measured with; default
-- build/liboptkern.so), no-split (measure no threshold),
-- samples (their path), sizes = {l1 =, l2 =, big =} (elements, overriding
-- the cache-derived ones), log (function of a progress line) }.  Returns the
-- profile path and the summary table's lines.
function M.run(root, o)
  local now_ns = ffi_.now_ns
  local started = now_ns()
  local log = o.log or function(s) io.stderr:write(s, "\n") end
  local backends = generate.backends(root)
  local by_isa, isa_order = {}, {}
  for _, be in ipairs(backends) do by_isa[be.isa], isa_order[#isa_order + 1] = be, be.isa end
  local kernels, errors = generate.kernel_irs(root)
  if #errors > 0 then return nil, errors end
  local by_name, names = {}, {}
  for _, kir in ipairs(kernels) do by_name[kir.spec.name], names[#names + 1] = kir, kir.spec.name end
  local dkeys = {}
  for _, d in ipairs(emit.dtypes) do dkeys[d] = true end
  local optims = list(o.optim, "optim", by_name, names) or names
  local dtypes = list(o.dtype, "dtype", dkeys, emit.dtypes) or emit.dtypes
  local cpu = cpu_.cpu()
  local isas = isas_of(o, cpu, backends, by_isa, isa_order)
  local cc, ccversion = compile.compiler()
  local out = o.out or cpu_.default_path(root, cpu, backends)
  local samples, shown = profile.samples_path(root, out)
  if o.samples then samples, shown = o.samples, o.samples end
  profile.check_ours(out, profile.MARK)
  profile.check_ours(samples, profile.SAMPLES_MARK)
  local caches = cpu_.caches()

  -- mkdtemp: a fresh directory of our own, since it receives the .so loaded below.
  local tmpdir = os.getenv("TMPDIR")
  local tmp, terr = fs.mkdtemp(((tmpdir and tmpdir ~= "") and tmpdir or "/tmp") .. "/optgen-tune-")
  if not tmp then fail("cannot create a temporary directory: %s", terr) end
  if not fs.mkdir(tmp .. "/include") then os.remove(tmp); fail("cannot create %s/include", tmp) end
  local ok, res = pcall(function()
    compile.headers(tmp .. "/include", kernels, backends, root)
    local total = #optims * #dtypes * #isas
    local done, profile_kernels, summary, dispatch = 0, {}, {}, {}
    for _, name in ipairs(optims) do
      local kir = by_name[name]
      local dir = tmp .. "/" .. name
      fs.mkdir(dir)
      local units, plan, base = compile.sources(dir, kir, backends, by_isa, dtypes, isas, o.quick, root)
      log(string.format("[%5.1fs] %s: compiling %d units", (now_ns() - started) / 1e9, name, #units))
      local h = ffi_.dlopen(compile.build(cc, root, dir, units, name))
      local prepfn = ffi_.sym(h, "optk_tune_prep", "optk_tune_prep_fn")
      for _, pl in ipairs(plan) do
        done = done + 1
        local kname = profile.key(name, pl.dtype, pl.isa)
        log(string.format("[%5.1fs] %d/%d %s: %d candidates (%d left after this)", (now_ns() - started) / 1e9, done,
                          total, kname, #pl.cands, total - done))
        local basefn = ffi_.sym(h, base[pl.dtype], "optk_tune_fn")
        local e = tune_unit(kir, pl, h, prepfn, basefn, caches, o, kname, log)
        profile_kernels[kname] = e
        summary[#summary + 1] = { kname, e.default, e.chosen, e.speedup, e.best }
        collectgarbage()
      end
      -- Then the ISAs against each other, each with its chosen setting.
      for _, dtype in ipairs(dtypes) do
        local us = {}
        for _, isa in ipairs(isas) do
          local e = profile_kernels[profile.key(name, dtype, isa)]
          if e then us[#us + 1] = { isa = isa, fn = e.fn, n = e.n } end
        end
        if #us >= 2 then
          local d = isa_choice.run(kir, dtype, us, prepfn, o)
          dispatch[name .. "/" .. dtype] = d
          log(string.format("  %s/%s: ISA per class %s, %s, %s", name, dtype, d.isa.l1, d.isa.l2, d.isa.big))
          collectgarbage()
        end
      end
    end
    local sp, why = nil, "not measured (--no-split)"
    if not o["no-split"] then
      sp, why = split.measure(o.lib or root .. "/build/liboptkern.so", o, log)
    end
    if not sp then log("  split threshold: " .. why) end
    return { kernels = profile_kernels, summary = summary, dispatch = dispatch, split = sp }
  end)
  os.execute("rm -rf " .. fs.quote(tmp))
  if not ok then error(res, 0) end
  local seconds = math.floor((now_ns() - started) / 1e8 + 0.5) / 10
  local p = { format = profile.FORMAT, compiler = ccversion, quick = o.quick and true or false, seconds = seconds,
              kernels = res.kernels, dispatch = res.dispatch, split = res.split,
              cpu = { vendor = cpu.vendor, family = cpu.family, model = cpu.model, name = cpu.name, isas = isas,
                      arch = cpu.arch } }
  profile.write(samples, profile.samples_text(p), profile.SAMPLES_MARK)
  profile.write(out, profile.text(p, shown), profile.MARK)
  local lines = { string.format("%-36s %-8s %-12s %7s %7s %7s   %s", "kernel", "default", "chosen", "L1", "L2",
                                "big", "fastest per class (L1, L2, big)") }
  for _, r in ipairs(res.summary) do
    lines[#lines + 1] = string.format("%-36s %-8s %-12s %6.2fx %6.2fx %6.2fx   %s, %s, %s", r[1], r[2], r[3],
                                      r[4].l1, r[4].l2, r[4].big, r[5].l1, r[5].l2, r[5].big)
  end
  lines[#lines + 1] = string.format("optgen: tuned %d kernels in %.1f s; profile %s (samples: %s)", #res.summary,
                                    seconds, out, samples)
  return out, lines
end

return M
