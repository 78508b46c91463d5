-- Line coverage of the generator's modules, and an instruction budget per
-- case, through one debug hook.  The JIT is off while fuzzing: compiled
-- traces run no hooks.
local jutil = require("jit.util")

local M = {}

local hits = {}     -- source -> { [line] = true }
local fresh = 0     -- lines first hit since the last take_fresh()
local budget = math.huge -- instructions left, in steps of STEP, for the current case
local STEP = 1000
local prefix        -- sources counted: "@" .. this prefix

local getinfo = debug.getinfo
local function hook(ev, line)
  if ev == "count" then
    budget = budget - 1
    if budget < 0 then budget = math.huge; error("fuzz: instruction budget exceeded", 2) end
    return
  end
  local src = getinfo(2, "S").source
  if src:sub(1, #prefix) ~= prefix then return end
  local t = hits[src]
  if not t then t = {}; hits[src] = t end
  if not t[line] then t[line], fresh = true, fresh + 1 end
end

-- Starts counting lines of sources under dir (a path as the modules were
-- loaded from it).
function M.start(dir)
  prefix = "@" .. dir
  jit.off()
  debug.sethook(hook, "l", STEP)
end

function M.stop() debug.sethook() end

-- Gives the next case n thousand instructions.
function M.budget(n) budget = n end

-- Lines first hit since the last call.
function M.take_fresh()
  local n = fresh
  fresh = 0
  return n
end

-- Lines holding bytecode in the Lua file path, as a set.
local function lines_of(path)
  local set = {}
  local function walk(fn)
    local info = jutil.funcinfo(fn)
    for pc = 1, info.bytecodes - 1 do
      local l = jutil.funcinfo(fn, pc).currentline
      if l and l > 0 then set[l] = true end
    end
    for i = 1, info.gcconsts do
      local k = jutil.funck(fn, -i)
      if type(k) == "proto" then walk(k) end
    end
  end
  walk(assert(loadfile(path, "t")))
  return set
end

-- Per file of paths: lines hit and lines holding bytecode (hits outside
-- that set, such as a function's closing line, are not counted).
function M.report(paths)
  local rows, hit_all, total_all = {}, 0, 0
  for _, path in ipairs(paths) do
    local lines, t = lines_of(path), hits["@" .. path] or {}
    local hit, total = 0, 0
    for l in pairs(lines) do
      total = total + 1
      if t[l] then hit = hit + 1 end
    end
    rows[#rows + 1] = { path = path, hit = hit, total = total }
    hit_all, total_all = hit_all + hit, total_all + total
  end
  return rows, hit_all, total_all
end

return M
