-- optgen tune's data: a kernel's arrays (param, grad, state) filled with
-- reproducible values, the calls that run a candidate on them, and the
-- per-call constants of a step.
local ffi = require("ffi")
local fail = require("optgen.tune_fail")
local lower = require("optgen.lower")
require("optgen.tune_ffi") -- malloc, free, memcpy

local M = {}

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
  local size = lower.bytes[st]
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

-- A kernel's test arrays: param, grad and state buffers of cap elements,
-- base (pristine) and work copies, each shift bytes past a 64-byte boundary.
-- t.st: each array's storage type; t.size: its element size.
function M.arrays(kir, dtype, cap, specials, shift)
  local k = kir.spec
  local t = { names = { "p", "g" }, base = {}, work = {}, size = {}, keep = {} }
  for _, s in ipairs(k.state) do t.names[#t.names + 1] = s.name end
  -- A two-phase kernel's first phase (optgen.phases) also writes its
  -- scratch arrays, after the state, in the compute type.
  for i = 0, (kir.nscratch or 0) - 1 do t.names[#t.names + 1] = "n" .. i end
  t.st = {}
  for i, name in ipairs(t.names) do t.st[i] = lower.storage(i <= 2 and name or "state", dtype) end
  for i, st in ipairs(t.st) do
    local bytes = cap * lower.bytes[st] + 128
    local function alloc()
      local p = ffi.C.malloc(bytes)
      if p == nil then fail("out of memory (%d bytes)", bytes) end
      local keep = ffi.gc(ffi.cast("char *", p), ffi.C.free)
      -- 64-byte aligned plus shift bytes: checks reach every alignment from
      -- there; timings run on 64-byte aligned arrays, as frameworks allocate
      -- them and as bench/run times the kernels.
      local q = ffi.cast(lower.ctype[st] .. " *", keep + (64 - tonumber(ffi.cast("uintptr_t", p)) % 64) + shift)
      t.keep[#t.keep + 1] = keep
      return q
    end
    t.base[i], t.work[i], t.size[i] = alloc(), alloc(), lower.bytes[st]
    fill(t.base[i], cap, st, i > 2, i * 7919, specials)
  end
  t.nstate, t.cap = #t.names - 2, cap
  t.statev = ffi.new("void *[?]", math.max(1, t.nstate))
  return t
end

-- Resets the work copies from the base ones (first n elements).
function M.reset(t, n)
  for i = 1, #t.base do ffi.C.memcpy(t.work[i], t.base[i], n * t.size[i]) end
end

-- Calls fn on the work arrays at offset off (elements; state arrays at off
-- + skew), n elements.
function M.call(t, fn, n, off, consts, skew)
  for s = 1, t.nstate do t.statev[s - 1] = t.work[s + 2] + off + (skew or 0) end
  fn(n, t.work[1] + off, t.work[2] + off, t.statev, consts)
end

-- Per-call constants for step `step` of a kernel (default hyperparameters),
-- in the arithmetic type; prep is the compiled per-call code.
function M.consts_for(kir, dtype, prep, step)
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

return M
