-- Writes seed inputs for the fuzz targets: every kernel of the registry (read
-- through the LuaJIT binding, in optk_at order) on every ISA selection
-- (fuzz_step) or once (fuzz_init), with default hyperparameters, t = 1 and
-- real arrays, so that each run starts from calls that reach every kernel.
-- The byte layout is the one fuzz_step.c and fuzz_init.c read (harness.c:
-- fz_n, fz_hparam, fz_t, fz_place).
--   LUA_PATH="./runtime/?.lua;;" luajit tests/fuzz/seeds.lua STEPDIR INITDIR
-- The committed corpus (tests/fuzz/corpus/) is these seeds merged with what
-- the fuzzers found (build/fuzz/fuzz_<t> -merge=1 ...).
local optkern = require("optkern")
local stepdir, initdir = arg[1], arg[2]
assert(stepdir and initdir, "usage: seeds.lua STEPDIR INITDIR")

local content = {}
for i = 0, 63 do content[#content + 1] = string.char((i * 37 + 0x3c) % 256) end
content = table.concat(content)

local function hparams(count) -- class 18: the default, then the 8 bytes every class reads
  return (string.char(18) .. string.rep("\0", 8)):rep(count)
end

local function arrays(count) -- a real array at the start of its slot, then its contents
  return (string.char(0x30) .. content):rep(count)
end

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

local n = 200
for i, kt in ipairs(optkern.kernels()) do
  local k, nh, ns = i - 1, #kt.hparams, #kt.state
  for isa = 0, 5 do
    local thr = isa % 2 == 0 and 4 or 0 -- threshold 0 with two threads: the split path
    write(string.format("%s/seed-k%02d-isa%d", stepdir, k, isa),
          string.char(k, isa, 200, math.floor(n / 256), n % 256, thr) .. hparams(nh) .. string.char(6, 0, 0)
            .. arrays(2 + ns))
  end
  write(string.format("%s/seed-k%02d", initdir, k),
        string.char(k, 200, math.floor(n / 256), n % 256) .. hparams(nh) .. string.char(0) .. arrays(ns))
end
