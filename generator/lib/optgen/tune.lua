-- optgen tune: measures, on this machine, candidate variants of every kernel
-- (unroll, software prefetch, non-temporal stores), checks each against the
-- scalar baseline bit for bit, and writes a tuning profile naming the
-- fastest per size class and the variant to emit.  Candidates are emitted
-- by the generator's own code (emit.kernel_file), compiled with the system
-- C compiler into one shared object per optimizer and called through
-- LuaJIT's FFI.  Profiles live in generator/tuning/; `optgen generate
-- --profile FILE --out DIR` emits their choices.
local ffi = require("ffi")
local emit = require("optgen.emit")
local fs = require("optgen.fsutil")
local generate = require("optgen.generate")
local lower = require("optgen.lower")

local M = {}

M.FORMAT = 1
M.CLASSES = { "l1", "l2", "big" }

local function fail(fmt, ...) error({ tune = string.format(fmt, ...) }, 0) end
M.fail = fail

local function sh_ok(cmd) return os.execute(cmd) == 0 end

local function capture(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  local out = p:read("*a")
  p:close()
  return out
end

-- ---------------------------------------------------------------- the CPU

-- What /proc/cpuinfo says of the first CPU: vendor, family, model, name,
-- flags (a set), arch.  Missing fields are nil.
function M.cpu(text)
  text = text or fs.read("/proc/cpuinfo") or ""
  local c = { flags = {}, arch = jit.arch }
  local function field(name) return text:match("\n" .. name .. "%s*:%s*([^\n]*)") or
                                    text:match("^" .. name .. "%s*:%s*([^\n]*)") end
  c.vendor = field("vendor_id") or field("CPU implementer")
  c.family = field("cpu family") or field("CPU architecture")
  c.model = field("model") or field("CPU part")
  c.name = field("model name")
  for f in ((field("flags") or field("Features") or "") .. " "):gmatch("(%S+)%s") do c.flags[f] = true end
  return c
end

-- Flags each ISA needs, per /proc/cpuinfo (the runtime's own checks in
-- runtime/cpu_*.c ask cpuid and the OS the same).
M.needs = {
  x64 = { scalar = {}, avx2 = { "avx2", "fma", "f16c" },
          avx512 = { "avx512f", "avx512bw", "avx512vl", "avx2", "fma", "f16c" } },
  arm64 = { scalar = {}, neon = { "asimd" }, sve = { "sve" } },
}

-- Whether this CPU runs isa; false and the reason otherwise.
function M.runs(cpu, be)
  if be.isa == "scalar" then return true end
  local arch = be.arch == "x86_64" and "x64" or be.arch == "aarch64" and "arm64" or be.arch
  if arch ~= cpu.arch then return false, "it is a " .. tostring(be.arch) .. " ISA and this is " .. cpu.arch end
  if next(cpu.flags) == nil then return false, "/proc/cpuinfo lists no CPU flags" end
  local missing = {}
  for _, f in ipairs(M.needs[arch][be.isa] or { be.isa }) do
    if not cpu.flags[f] then missing[#missing + 1] = f end
  end
  if #missing > 0 then return false, "its flags lack " .. table.concat(missing, ", ") end
  return true
end

local function slug(s) return (tostring(s or "unknown"):gsub("[^%w]+", "_"):gsub("^_+", ""):gsub("_+$", "")) end

-- The profile's file name for this CPU and the ISAs it runs: vendor,
-- family, model and features, e.g. AuthenticAMD-fam25-model17-avx2-avx512.lua.
function M.profile_name(cpu, isas)
  return string.format("%s-fam%s-model%s-%s.lua", slug(cpu.vendor), slug(cpu.family), slug(cpu.model),
                       table.concat(isas, "-"))
end

-- The ISAs (not scalar) of backends this CPU runs, in backend order.
function M.cpu_isas(cpu, backends)
  local out = {}
  for _, be in ipairs(backends) do
    if be.isa ~= "scalar" and M.runs(cpu, be) then out[#out + 1] = be.isa end
  end
  return out
end

-- Default path of this CPU's profile under root.
function M.default_path(root, cpu, backends)
  return ((root .. "/generator/tuning/"):gsub("^%./", "")) .. M.profile_name(cpu, M.cpu_isas(cpu, backends))
end

-- Cache sizes in bytes (L1d, L2, last level) from sysfs, with fallbacks.
function M.caches()
  local c = { l1 = 32768, l2 = 1048576, llc = 33554432 }
  for i = 0, 7 do
    local dir = "/sys/devices/system/cpu/cpu0/cache/index" .. i .. "/"
    local level, ctype, size = fs.read(dir .. "level"), fs.read(dir .. "type"), fs.read(dir .. "size")
    if not level then break end
    level, ctype = tonumber(level), (ctype or ""):match("%a+")
    local num, unit = (size or ""):match("(%d+)([KMG]?)")
    if num and ctype ~= "Instruction" then
      local bytes = tonumber(num) * ({ K = 1024, M = 1048576, G = 1073741824 })[unit] or tonumber(num)
      if level == 1 then c.l1 = bytes elseif level == 2 then c.l2 = bytes end
      if level >= 3 or (level == 2 and bytes > c.llc) then c.llc = bytes end
    end
  end
  return c
end

-- ---------------------------------------------------------------- variants

-- Candidate variants of a kernel on backend be, the default first.
function M.candidates(kir, be, dtype, quick)
  local def = be.default_unroll
  local list, seen = {}, {}
  local nt_ok = false
  for _, s in ipairs(kir.stores) do
    local st = (s.array == "p" or s.array == "g") and dtype or lower.arith(dtype)
    if be.store_nt and be.store_nt[st] then nt_ok = true end
  end
  local function add(u, pf, nt, al)
    local v = { unroll = u, pf = pf, nt = nt, al = al or false }
    local name = emit.variant_name(v)
    if seen[name] or not lower.supports(be, v) or (nt and not nt_ok) then return end
    seen[name], list[#list + 1] = true, v
  end
  add(def, 0, false)
  if quick then
    for _, u in ipairs({ 1, 2, 4, 8 }) do add(u, 0, false) end
    add(def, 8, false)
    add(2, 8, false)
    add(def, 0, true)
    add(def, 0, false, true)
    add(2, 8, false, true)
  else
    for _, u in ipairs({ 1, 2, 4, 8 }) do
      for _, pf in ipairs({ 0, 4, 16 }) do
        for _, nt in ipairs({ false, true }) do add(u, pf, nt) end
        add(u, pf, false, true)
      end
    end
  end
  return list
end

-- ---------------------------------------------------------------- profiles

local function key(name, dtype, isa) return name .. "/" .. dtype .. "/" .. isa end
M.key = key

-- Reads a profile: its table, checked, and the variants it chooses as
-- { ["name/dtype/isa"] = variant }.  known (optional): { kernels = set of
-- names, isas = set } to check the keys against.
function M.load_profile(path, known)
  -- Text only: LuaJIT does not verify bytecode, so the empty environment
  -- below would not contain a crafted binary chunk.
  local chunk, err = loadfile(path, "t")
  if not chunk then
    if not fs.read(path) then fail("cannot read profile %s", path) end
    if tostring(err):find("wrong mode", 1, true) then fail("profile %s is not text (bytecode is refused)", path) end
    fail("profile %s: %s", path, tostring(err))
  end
  setfenv(chunk, {})
  local ok, p = pcall(chunk)
  if not ok then fail("profile %s: %s", path, tostring(p)) end
  if type(p) ~= "table" or p.format ~= M.FORMAT or type(p.kernels) ~= "table" then
    fail("profile %s: not an optgen tuning profile (format %d)", path, M.FORMAT)
  end
  local variants = {}
  for k, e in pairs(p.kernels) do
    local name, dtype, isa = tostring(k):match("^([%w_]+)/([%w]+)/([%w]+)$")
    if not name or type(e) ~= "table" then fail("profile %s: bad kernel entry '%s'", path, tostring(k)) end
    if known and not known.kernels[name] then fail("profile %s: unknown optimizer '%s'", path, name) end
    if known and not known.isas[isa] then fail("profile %s: unknown ISA '%s'", path, isa) end
    if not lower.bytes[dtype] then fail("profile %s: unknown dtype '%s'", path, dtype) end
    local v = emit.parse_variant(e.chosen)
    if not v then fail("profile %s: %s: bad variant '%s'", path, k, tostring(e.chosen)) end
    if known and known.backends and not lower.supports(known.backends[isa], v) then
      fail("profile %s: %s: variant %s does not apply to %s", path, k, e.chosen, isa)
    end
    variants[k] = v
  end
  return p, variants
end

-- A Lua literal of value v (strings, numbers, booleans, tables with sorted
-- keys), for profiles.
local function literal(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "number" then
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
    return string.format("%.6g", v)
  end
  if type(v) == "boolean" then return tostring(v) end
  local parts = {}
  if #v > 0 then
    for _, x in ipairs(v) do parts[#parts + 1] = literal(x) end
  else
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b)
      local ia, ib = M.class_index[a] or 99, M.class_index[b] or 99
      if ia ~= ib then return ia < ib end
      return tostring(a) < tostring(b)
    end)
    for _, k in ipairs(keys) do
      local ks = tostring(k):match("^[%a_][%w_]*$") and k or "[" .. literal(k) .. "]"
      parts[#parts + 1] = ks .. " = " .. literal(v[k])
    end
  end
  return "{ " .. table.concat(parts, ", ") .. " }"
end
M.class_index = { l1 = 1, l2 = 2, big = 3 }
M.literal = literal

-- The profile's text: readable, one line per measurement.
function M.profile_text(p)
  local L = {
    "-- optkern tuning profile, written by `generator/optgen tune`; regenerate, do not edit.",
    "-- Apply with: generator/optgen generate --profile THIS_FILE --out DIR (see tests/tuned.sh).",
    "-- Per kernel (optimizer/storage type/ISA): the variant emitted (chosen), the fastest",
    "-- per size class (best), and every measurement: ns per call, median then each sample.",
    "return {",
    "  format = " .. p.format .. ",",
    "  cpu = {",
    "  },",
    "  compiler = " .. literal(p.compiler) .. ",",
    "  quick = " .. literal(p.quick) .. ",",
    "  seconds = " .. literal(p.seconds) .. ",",
    "  kernels = {",
  }
  local ckeys = {}
  for k in pairs(p.cpu) do ckeys[#ckeys + 1] = k end
  table.sort(ckeys)
  for i = #ckeys, 1, -1 do
    table.insert(L, 8, "    " .. ckeys[i] .. " = " .. literal(p.cpu[ckeys[i]]) .. ",")
  end
  local keys = {}
  for k in pairs(p.kernels) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local e = p.kernels[k]
    L[#L + 1] = "    [" .. literal(k) .. "] = {"
    L[#L + 1] = "      default = " .. literal(e.default) .. ", chosen = " .. literal(e.chosen) .. ","
    L[#L + 1] = "      best = " .. literal(e.best) .. ","
    L[#L + 1] = "      speedup = " .. literal(e.speedup) .. ","
    L[#L + 1] = "      n = " .. literal(e.n) .. ","
    L[#L + 1] = "      ns = {"
    for _, m in ipairs(e.ns) do
      L[#L + 1] = "        { variant = " .. literal(m.variant) .. ","
      for i, c in ipairs(M.CLASSES) do
        L[#L + 1] = "          " .. c .. " = " .. literal(m[c]) .. (i == #M.CLASSES and " }," or ",")
      end
    end
    L[#L + 1] = "      },"
    if e.rejected and next(e.rejected) then L[#L + 1] = "      rejected = " .. literal(e.rejected) .. "," end
    L[#L + 1] = "    },"
  end
  L[#L + 1] = "  },"
  L[#L + 1] = "}"
  return table.concat(L, "\n") .. "\n"
end

-- Writes text to path through a temporary file and a rename.
function M.write_atomic(path, text)
  local dir = path:match("^(.*)/[^/]*$")
  if dir and not fs.mkdir(dir) then fail("cannot create %s", dir) end
  local tmp = path .. ".tmp" .. tostring(os.time())
  local fh, err = io.open(tmp, "wb")
  if not fh then fail("cannot write %s: %s", path, tostring(err)) end
  fh:write(text)
  fh:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then os.remove(tmp); fail("cannot write %s: %s", path, tostring(rerr)) end
end

-- ---------------------------------------------------------------- choosing

local function median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) / 2] end
  return (s[n / 2] + s[n / 2 + 1]) / 2
end
M.median = median

-- From measurements { {variant = name, l1 = {median, samples...}, ...} },
-- default first: the fastest per class, and the variant to emit: the best
-- geometric mean of time over the default's, taken only if it gains at
-- least `gain` overall (5%: this shared machine's run-to-run spread) and
-- loses no more than `margin` in any class.
function M.choose(ns, margin, gain)
  margin, gain = margin or 0.02, gain or 0.05
  local def, best = ns[1], {}
  for _, c in ipairs(M.CLASSES) do
    local b
    for _, m in ipairs(ns) do if not b or m[c][1] < b[c][1] then b = m end end
    best[c] = b.variant
  end
  local chosen, score = def, 1
  for _, m in ipairs(ns) do
    local logsum, ok = 0, true
    for _, c in ipairs(M.CLASSES) do
      local r = m[c][1] / def[c][1]
      logsum = logsum + math.log(r)
      if r > 1 + margin then ok = false end
    end
    local g = math.exp(logsum / #M.CLASSES)
    if ok and g < score and g <= 1 - gain then chosen, score = m, g end
  end
  local speedup = {}
  for _, c in ipairs(M.CLASSES) do speedup[c] = math.floor(def[c][1] / chosen[c][1] * 1000 + 0.5) / 1000 end
  return chosen.variant, best, speedup
end

-- ---------------------------------------------------------------- the FFI

ffi.cdef([[
typedef void (*optk_tune_fn)(size_t, void *, const void *, void *const *, const void *);
typedef void (*optk_tune_prep_fn)(const double *, int64_t, double *);
struct optk_tune_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct optk_tune_timespec *ts);
void *dlopen(const char *file, int mode);
void *dlsym(void *handle, const char *name);
char *dlerror(void);
void *malloc(size_t n);
void free(void *p);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
]])

local ts = ffi.new("struct optk_tune_timespec")
local function now_ns()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1e9 + tonumber(ts.tv_nsec)
end

local function dlopen(path)
  local h = ffi.C.dlopen(path, 2) -- RTLD_NOW, local
  if h == nil then fail("cannot load %s: %s", path, ffi.string(ffi.C.dlerror())) end
  return h
end

local function sym(h, name, ctype)
  local p = ffi.C.dlsym(h, name)
  if p == nil then fail("symbol %s missing from the candidates' shared object", name) end
  return ffi.cast(ctype, p)
end

-- ---------------------------------------------------------------- building

-- The C compiler: $CC or cc; fails with a clear message if there is none.
function M.compiler()
  local cc = os.getenv("CC")
  if cc == nil or cc == "" then cc = "cc" end
  local exe = cc:match("^%S+")
  if not sh_ok("command -v " .. fs.quote(exe) .. " >/dev/null 2>&1") then
    fail("no C compiler: '%s' not found (install gcc or clang, or set CC)", exe)
  end
  local version = capture(cc .. " --version"):match("^[^\n]*") or cc
  return cc, version
end

local CFLAGS = "-std=c11 -O2 -fPIC -ffp-contract=off -Wall -Wextra -Werror"

-- Compiles sources (paths of .c files in dir, without the suffix) into
-- dir/name.so, two or more at once; fails naming what did not compile.
local function build(cc, root, dir, units, name, what)
  local list = dir .. "/units.txt"
  fs.write(list, table.concat(units, "\n") .. "\n")
  local jobs = tonumber(capture("nproc")) or 2
  local abs = capture("cd " .. fs.quote(root) .. " && pwd"):match("[^\n]+") or root
  local inc = "-I" .. fs.quote(abs .. "/runtime") .. " -I" .. fs.quote(dir .. "/../include")
  local cmd = string.format("cd %s && xargs -P %d -I{} sh -c %s < units.txt", fs.quote(dir), jobs,
                            fs.quote(cc .. " " .. CFLAGS .. " " .. inc .. " -c {}.c -o {}.o 2>{}.log"))
  if not sh_ok(cmd .. " >/dev/null 2>&1") then
    local msgs = {}
    for _, u in ipairs(units) do
      local log = fs.read(dir .. "/" .. u .. ".log") or ""
      if (log ~= "" or not fs.read(dir .. "/" .. u .. ".o")) and #msgs < 2 then
        local lines, shown = {}, 0
        for l in log:gmatch("[^\n]+") do
          if shown < 8 then lines[#lines + 1] = "    " .. l; shown = shown + 1 end
        end
        msgs[#msgs + 1] = "  " .. dir .. "/" .. u .. ".c:\n" .. table.concat(lines, "\n")
      end
    end
    fail("candidates of %s failed to compile with '%s %s':\n%s", what, cc, CFLAGS, table.concat(msgs, "\n"))
  end
  local objs = {}
  for _, u in ipairs(units) do objs[#objs + 1] = u .. ".o" end
  local so = name .. ".so"
  if not sh_ok(string.format("cd %s && %s -shared -o %s %s -lm >link.log 2>&1", fs.quote(dir), cc, so,
                             table.concat(objs, " "))) then
    fail("candidates of %s failed to link:\n%s", what, fs.read(dir .. "/link.log") or "")
  end
  return dir .. "/" .. so
end

-- ---------------------------------------------------------------- data

local ctypes = { f32 = "float", f64 = "double", bf16 = "uint16_t", f16 = "uint16_t" }

-- Fills n elements of array a of storage type st with reproducible values
-- (state: non-negative), some special ones sprinkled in when specials.
local function fill(a, n, st, is_state, seed, specials)
  local x = seed
  local function rnd()
    x = (x * 1103515245 + 12345) % 2147483648
    return x / 2147483648
  end
  local u32 = ffi.new("union { float f; uint32_t u; }")
  local full = n
  n = math.min(n, 65536)
  for i = 0, n - 1 do
    local r = is_state and rnd() or rnd() * 2 - 1
    if st == "f32" or st == "f64" then
      a[i] = r
    elseif st == "bf16" then
      u32.f = r
      a[i] = bit.rshift(u32.u, 16)
    else
      local e = 5 + math.floor(rnd() * 10)
      a[i] = (r < 0 and 0x8000 or 0) + e * 1024 + math.floor(rnd() * 1024)
    end
  end
  local size = ffi.sizeof(ctypes[st])
  while n < full do
    local m = math.min(n, full - n)
    ffi.C.memcpy(a + n, a, m * size)
    n = n + m
  end
  if specials and n > 40 then
    local sp
    if st == "f32" or st == "f64" then
      sp = { 0 / 0, 1 / 0, -1 / 0, -0.0, 0, st == "f32" and 1e-40 or 1e-310, -1e-39, 3.5 }
    elseif st == "bf16" then
      sp = { 0x7fc0, 0x7f80, 0xff80, 0x8000, 0, 0x0001, 0x8003, 0x4060 }
    else
      sp = { 0x7e00, 0x7c00, 0xfc00, 0x8000, 0, 0x0001, 0x8003, 0x4300 }
    end
    for j, v in ipairs(sp) do a[(j * 5 + seed) % n] = v end
  end
end

-- Whether two element values (as stored) are the same: equal bits, or both
-- NaN (NaN-ness must match; payloads may not).
local function is_nan(v, st)
  if st == "f32" or st == "f64" then return v ~= v end
  local b = tonumber(v)
  if st == "bf16" then return bit.band(b, 0x7f80) == 0x7f80 and bit.band(b, 0x7f) ~= 0 end
  return bit.band(b, 0x7c00) == 0x7c00 and bit.band(b, 0x3ff) ~= 0
end

-- A kernel's test arrays: param, grad and state buffers of cap elements,
-- base (pristine) and work copies, each shift bytes past a 64-byte boundary.
local function arrays(kir, dtype, cap, specials, shift)
  local k = kir.spec
  local ast = lower.arith(dtype)
  local t = { names = { "p", "g" }, st = { dtype, dtype }, base = {}, work = {}, size = {}, keep = {} }
  for _, s in ipairs(k.state) do t.names[#t.names + 1], t.st[#t.st + 1] = s.name, ast end
  for i, st in ipairs(t.st) do
    local bytes = cap * lower.bytes[st] + 128
    local function alloc()
      local p = ffi.C.malloc(bytes)
      if p == nil then fail("out of memory (%d bytes)", bytes) end
      local keep = ffi.gc(ffi.cast("char *", p), ffi.C.free)
      -- 64-byte aligned plus shift bytes: checks reach every alignment from
      -- there; timings run on 64-byte aligned arrays, as frameworks allocate
      -- them and as bench/run times the kernels.
      local q = ffi.cast(ctypes[st] .. " *", keep + (64 - tonumber(ffi.cast("uintptr_t", p)) % 64) + shift)
      t.keep[#t.keep + 1] = keep
      return q
    end
    t.base[i], t.work[i], t.size[i] = alloc(), alloc(), lower.bytes[st]
    fill(t.base[i], cap, st, i > 2, i * 7919, specials)
  end
  t.nstate, t.cap = #k.state, cap
  t.statev = ffi.new("void *[?]", math.max(1, t.nstate))
  return t
end

-- Resets the work copies from the base ones (first n elements).
local function reset(t, n)
  for i = 1, #t.base do ffi.C.memcpy(t.work[i], t.base[i], n * t.size[i]) end
end

-- Calls fn on the work arrays at offset off (elements; state arrays at off
-- + skew), n elements.
local function call(t, fn, n, off, consts, skew)
  for s = 1, t.nstate do t.statev[s - 1] = t.work[s + 2] + off + (skew or 0) end
  fn(n, t.work[1] + off, t.work[2] + off, t.statev, consts)
end

-- Per-call constants for step t of a kernel (defaults hyperparameters), in
-- the arithmetic type.
local function consts_for(kir, dtype, prep, step)
  local k = kir.spec
  local hp = ffi.new("double[?]", math.max(1, #k.hparams))
  for i, h in ipairs(k.hparams) do hp[i - 1] = h.default end
  local c = ffi.new("double[16]")
  prep(hp, step, c)
  if dtype == "f64" then return c end
  local cf = ffi.new("float[16]")
  for i = 0, 15 do cf[i] = c[i] end
  return cf
end

-- Compares candidate fn with the scalar baseline base over several sizes
-- and offsets, two steps each.  Returns nil, or what differs.
local function verify(t, fn, base, consts, tile)
  local saved = {}
  for i = 1, #t.work do saved[i] = ffi.new(ctypes[t.st[i]] .. "[?]", t.cap) end
  for _, n in ipairs({ 0, 1, 15, 17, tile - 1, tile + 1, 3 * tile + 5, 1000, 4099 }) do
    for _, o in ipairs({ 0, 1, 2, 3, 5, 8, 13, 16, 24, 31, -1, -3 }) do
      local off, skew = math.abs(o), o < 0 and 1 or 0
      if n + off + skew <= t.cap then
        reset(t, n + off + skew)
        for _, c in ipairs(consts) do call(t, base, n, off, c, skew) end
        for i = 1, #t.work do
          ffi.C.memcpy(saved[i], t.work[i] + off + (i > 2 and skew or 0), n * t.size[i])
        end
        reset(t, n + off + skew)
        for _, c in ipairs(consts) do call(t, fn, n, off, c, skew) end
        for i = 1, #t.work do
          local a, b = saved[i], t.work[i] + off + (i > 2 and skew or 0)
          if ffi.C.memcmp(a, b, n * t.size[i]) ~= 0 then
            for e = 0, n - 1 do
              local both_nan = is_nan(a[e], t.st[i]) and is_nan(b[e], t.st[i])
              if ffi.C.memcmp(a + e, b + e, t.size[i]) ~= 0 and not both_nan then
                return string.format("%s[%d] differs from the scalar baseline (n=%d, offset %d%s)", t.names[i],
                                     e, n, off, skew > 0 and ", state skewed by 1" or "")
              end
            end
          end
        end
      end
    end
  end
end

-- Times fns (candidates) at n elements, interleaved so drift (clock,
-- neighbours) spreads over all: a warm-up of each that also picks reps (calls
-- per sample, a sample lasting about target_ns), then rounds of one sample
-- of each.  Returns per fn { median ns per call, samples... }.
local function time_fns(t, fns, n, consts, samples, target_ns)
  reset(t, n)
  local reps, xs = {}, {}
  for i, fn in ipairs(fns) do
    call(t, fn, n, 0, consts)
    local t0 = now_ns()
    call(t, fn, n, 0, consts)
    local one = math.max(now_ns() - t0, 20)
    reps[i] = math.max(1, math.floor(target_ns / one))
    for _ = 2, reps[i] do call(t, fn, n, 0, consts) end
    xs[i] = {}
  end
  for s = 1, samples do
    for i, fn in ipairs(fns) do
      local a = now_ns()
      for _ = 1, reps[i] do call(t, fn, n, 0, consts) end
      xs[i][s] = (now_ns() - a) / reps[i]
    end
  end
  local out = {}
  for i = 1, #fns do
    local r = { median(xs[i]) }
    for j, x in ipairs(xs[i]) do r[j + 1] = x end
    for j = 1, #r do r[j] = math.floor(r[j] * 10 + 0.5) / 10 end
    out[i] = r
  end
  return out
end

-- ---------------------------------------------------------------- tune

local function split(text, what, known, order)
  if text == nil then return nil end
  local out = {}
  for item in text:gmatch("[^,%s]+") do
    if not known[item] then fail("unknown %s '%s' (%s)", what, item, table.concat(order, ", ")) end
    out[#out + 1] = item
  end
  if #out == 0 then fail("--%s needs a list (%s)", what, table.concat(order, ", ")) end
  return out
end

-- o: { optim, dtype, isa (comma lists or nil), quick, out (profile path),
-- sizes = {l1 =, l2 =, big =} (elements, overriding the cache-derived ones),
-- log (function of a progress line) }.  Returns the profile path and the
-- summary table's lines.
function M.run(root, o)
  local started = now_ns()
  local log = o.log or function(s) io.stderr:write(s, "\n") end
  local backends = generate.backends(root)
  local by_isa, isa_order = {}, {}
  for _, be in ipairs(backends) do by_isa[be.isa], isa_order[#isa_order + 1] = be, be.isa end
  local kernels, errors = generate.kernels(root)
  if #errors > 0 then return nil, errors end
  local by_name, names = {}, {}
  for _, kir in ipairs(kernels) do by_name[kir.spec.name], names[#names + 1] = kir, kir.spec.name end
  local dkeys = {}
  for _, d in ipairs(emit.dtypes) do dkeys[d] = true end
  local optims = split(o.optim, "optim", by_name, names) or names
  local dtypes = split(o.dtype, "dtype", dkeys, emit.dtypes) or emit.dtypes
  local cpu = M.cpu()
  local isas = split(o.isa, "isa", by_isa, isa_order)
  if isas then
    local keep = {}
    for _, isa in ipairs(isas) do
      local ok, why = M.runs(cpu, by_isa[isa])
      if not ok then fail("this CPU cannot run %s: %s", isa, why) end
      if isa ~= "scalar" then keep[#keep + 1] = isa end
    end
    if #keep == 0 then fail("scalar is the baseline, with nothing to tune; name another ISA") end
    isas = keep
  else
    isas = M.cpu_isas(cpu, backends)
    if #isas == 0 then fail("this CPU runs no SIMD ISA optgen knows (%s); nothing to tune",
                            table.concat(isa_order, ", ")) end
  end
  local cc, ccversion = M.compiler()
  local out = o.out or M.default_path(root, cpu, backends)
  local caches = M.caches()

  -- mkdtemp: a fresh directory of our own, since it receives the .so loaded below.
  local tmpdir = os.getenv("TMPDIR")
  local tmp, terr = fs.mkdtemp(((tmpdir and tmpdir ~= "") and tmpdir or "/tmp") .. "/optgen-tune-")
  if not tmp then fail("cannot create a temporary directory: %s", terr) end
  if not fs.mkdir(tmp .. "/include") then os.remove(tmp); fail("cannot create %s/include", tmp) end
  local ok, res = pcall(function()
    -- Headers the candidates include: the preludes and optk_kernels.h.
    local files = emit.all({ kernels = kernels, backends = backends, templates = root .. "/templates" })
    for _, f in ipairs(files) do
      if f.path:match("^[%w_]+%.h$") then fs.write(tmp .. "/include/" .. f.path, f.text) end
    end
    local scalar = backends[1]
    local total = #optims * #dtypes * #isas
    local done, profile_kernels, summary = 0, {}, {}
    for _, name in ipairs(optims) do
      local kir = by_name[name]
      local dir = tmp .. "/" .. name
      fs.mkdir(dir)
      -- Sources: the per-call code, the scalar baselines, then one unit
      -- per ISA and storage type holding its candidates.
      local prep = emit.percall(kir.sched.slots, scalar, "c", #kir.spec.hparams)
      if #kir.sched.slots == 0 then prep[#prep + 1] = "(void)c;" end
      local shim = { "#include <math.h>", "#include <stdint.h>", "#include <string.h>",
                     "double optk__pow(double x, double y);", "double optk__exp(double x);",
                     "double optk__log(double x);",
                     "void optk_tune_prep(const double *hp, int64_t t, double *c);",
                     "void optk_tune_prep(const double *hp, int64_t t, double *c)", "{",
                     "  (void)hp; (void)t;" }
      for _, l in ipairs(prep) do shim[#shim + 1] = "  " .. l end
      shim[#shim + 1] = "}"
      fs.write(dir .. "/prep.c", table.concat(shim, "\n") .. "\n")
      -- The runtime's libm-free arithmetic, which per-call code and
      -- per-element powers call.
      fs.write(dir .. "/rt_math.c", '#include "ieee_math.c" /* runtime/, through -I */\n')
      local units, plan = { "prep", "rt_math" }, {}
      local base = {}
      for _, dtype in ipairs(dtypes) do
        local _, text, s = emit.kernel_file(kir, scalar, nil, dtype, { unroll = 1 }, root .. "/templates")
        fs.write(dir .. "/base_" .. dtype .. ".c", text)
        units[#units + 1], base[dtype] = "base_" .. dtype, s
        for _, isa in ipairs(isas) do
          local be = by_isa[isa]
          local cands = M.candidates(kir, be, dtype, o.quick)
          local texts, syms = {}, {}
          for i, v in ipairs(cands) do
            local _, t, s2 = emit.kernel_file(kir, be, be.tail == "scalar" and scalar or nil, dtype, v,
                                              root .. "/templates")
            texts[i], syms[i] = t, s2
          end
          local u = isa .. "_" .. dtype
          fs.write(dir .. "/" .. u .. ".c", table.concat(texts, "\n"))
          units[#units + 1] = u
          plan[#plan + 1] = { dtype = dtype, isa = isa, be = be, cands = cands, syms = syms }
        end
      end
      log(string.format("[%5.1fs] %s: compiling %d units", (now_ns() - started) / 1e9, name, #units))
      local so = build(cc, root, dir, units, name, name)
      local h = dlopen(so)
      local prepfn = sym(h, "optk_tune_prep", "optk_tune_prep_fn")
      for _, pl in ipairs(plan) do
        done = done + 1
        local dtype, be = pl.dtype, pl.be
        local kname = key(name, dtype, pl.isa)
        log(string.format("[%5.1fs] %d/%d %s: %d candidates (%d left after this)", (now_ns() - started) / 1e9, done,
                          total, kname, #pl.cands, total - done))
        -- Elements per size class: half the cache for l1 and l2, twice
        -- (quick) or four times the last-level cache beyond it.
        local ast = lower.arith(dtype)
        local bpe = 2 * lower.bytes[dtype] + #kir.spec.state * lower.bytes[ast]
        local function round(x) return math.max(256, math.floor(x / 256) * 256) end
        local n = { l1 = round(caches.l1 / 2 / bpe), l2 = round(caches.l2 / 2 / bpe),
                    big = round(math.max(1048576, (o.quick and 2 or 4) * caches.llc / bpe)) }
        for c, v in pairs(o.sizes or {}) do n[c] = v end
        -- Checks run on small arrays with special values, timings on
        -- plain ones (denormals would time microcode assists).
        local tc = arrays(kir, dtype, 4200, true, 0)
        local t = arrays(kir, dtype, math.max(n.big, n.l1, n.l2), false, 0)
        local c1, c2 = consts_for(kir, dtype, prepfn, 1), consts_for(kir, dtype, prepfn, 2)
        local basefn = sym(h, base[dtype], "optk_tune_fn")
        local ns, rejected, fns = {}, {}, {}
        for i, v in ipairs(pl.cands) do
          local fn = sym(h, pl.syms[i], "optk_tune_fn")
          local at = be[ast]
          local lanes = type(at.lanes) == "number" and at.lanes or 16
          local bad = verify(tc, fn, basefn, { c1, c2 }, lanes * v.unroll)
          local vname = emit.variant_name(v)
          if bad then
            if i == 1 then fail("%s: the default variant %s is not bit-identical: %s", kname, vname, bad) end
            rejected[vname] = bad
            log("  rejected " .. vname .. ": " .. bad)
          else
            ns[#ns + 1], fns[#fns + 1] = { variant = vname }, fn
          end
        end
        for _, c in ipairs(M.CLASSES) do
          local big = c == "big"
          local r = time_fns(t, fns, n[c], c1, big and (o.quick and 5 or 9) or (o.quick and 7 or 11),
                             big and 1 or (o.quick and 2e5 or 5e5))
          for i, m in ipairs(ns) do m[c] = r[i] end
        end
        local chosen, best, speedup = M.choose(ns)
        profile_kernels[kname] = { default = ns[1].variant, chosen = chosen, best = best, speedup = speedup,
                                   n = n, ns = ns, rejected = rejected }
        summary[#summary + 1] = { kname, ns[1].variant, chosen, speedup, best }
        collectgarbage()
      end
    end
    return { kernels = profile_kernels, summary = summary }
  end)
  os.execute("rm -rf " .. fs.quote(tmp))
  if not ok then error(res, 0) end
  local seconds = math.floor((now_ns() - started) / 1e8 + 0.5) / 10
  local cpu_rec = { vendor = cpu.vendor, family = cpu.family, model = cpu.model, name = cpu.name,
                    isas = isas, arch = cpu.arch }
  M.write_atomic(out, M.profile_text({ format = M.FORMAT, cpu = cpu_rec, compiler = ccversion,
                                       quick = o.quick and true or false, seconds = seconds,
                                       kernels = res.kernels }))
  local lines = { string.format("%-36s %-8s %-12s %7s %7s %7s   %s", "kernel", "default", "chosen", "L1", "L2",
                                "big", "fastest per class (L1, L2, big)") }
  for _, r in ipairs(res.summary) do
    lines[#lines + 1] = string.format("%-36s %-8s %-12s %6.2fx %6.2fx %6.2fx   %s, %s, %s", r[1], r[2], r[3],
                                      r[4].l1, r[4].l2, r[4].big, r[5].l1, r[5].l2, r[5].big)
  end
  lines[#lines + 1] = string.format("optgen: tuned %d kernels in %.1f s; profile %s", #res.summary, seconds, out)
  return out, lines
end

return M
