-- optgen tune's profiles: reading one (what `generate --profile` and
-- `vendor --profile` use), and writing one: the choices with the medians
-- that justify them, into generator/tuning/, and every sample beside the
-- build, in build/tuning/.
local choose = require("optgen.tune_choose")
local emit = require("optgen.emit")
local fail = require("optgen.tune_fail")
local fs = require("optgen.fsutil")
local lower = require("optgen.lower")

local M = {}

-- Format 1 recorded every sample in the profile; format 2 keeps the medians
-- of the settings the choice weighed; format 3 adds the ISA per size class
-- (dispatch) and the pool's split threshold (split).  All are read.
M.FORMAT = 3
local READS = { [1] = true, [2] = true, [3] = true }

-- The first line of a file tune writes: it overwrites no file without it.
M.MARK = "-- optkern tuning profile, written by `generator/optgen tune`"
M.SAMPLES_MARK = "-- optkern tuning samples, written by `generator/optgen tune`"

function M.key(name, dtype, isa) return name .. "/" .. dtype .. "/" .. isa end

-- Reads a profile: its table, checked, and the knob settings it chooses as
-- { ["name/dtype/isa"] = setting }.  known (optional): { kernels = set of
-- names, isas = set, backends = by ISA } to check the keys against.
function M.load(path, known)
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
  if type(p) ~= "table" or not READS[p.format] or type(p.kernels) ~= "table" then
    fail("profile %s: not an optgen tuning profile (format %d)", path, M.FORMAT)
  end
  local settings = {}
  for k, e in pairs(p.kernels) do
    local name, dtype, isa = tostring(k):match("^([%w_]+)/([%w]+)/([%w]+)$")
    if not name or type(e) ~= "table" then fail("profile %s: bad kernel entry '%s'", path, tostring(k)) end
    if known and not known.kernels[name] then fail("profile %s: unknown optimizer '%s'", path, name) end
    if known and not known.isas[isa] then fail("profile %s: unknown ISA '%s'", path, isa) end
    if not lower.bytes[dtype] then fail("profile %s: unknown dtype '%s'", path, dtype) end
    local s = emit.parse_variant(e.chosen)
    if not s then fail("profile %s: %s: bad knob setting '%s'", path, k, tostring(e.chosen)) end
    if known and known.backends and not lower.supports(known.backends[isa], s) then
      fail("profile %s: %s: knob setting %s does not apply to %s", path, k, e.chosen, isa)
    end
    settings[k] = s
  end
  -- The ISA per size class: { ["name/dtype"] = { isa = { l1 =, l2 =, big = },
  -- class_max = { l1 =, l2 = } } }, as emit takes it.
  local dispatch = {}
  for k, d in pairs(type(p.dispatch) == "table" and p.dispatch or {}) do
    local name, dtype = tostring(k):match("^([%w_]+)/([%w]+)$")
    if not name or type(d) ~= "table" or type(d.isa) ~= "table" or type(d.class_max) ~= "table" then
      fail("profile %s: bad dispatch entry '%s'", path, tostring(k))
    end
    if known and not known.kernels[name] then fail("profile %s: unknown optimizer '%s'", path, name) end
    if not lower.bytes[dtype] then fail("profile %s: unknown dtype '%s'", path, dtype) end
    local cm = { d.class_max.l1, d.class_max.l2 }
    for _, v in ipairs(cm) do
      if type(v) ~= "number" or v < 0 or v ~= math.floor(v) or v >= 2 ^ 53 then
        fail("profile %s: dispatch %s: bad class bound %s", path, k, tostring(v))
      end
    end
    local isa = {}
    for _, c in ipairs(choose.CLASSES) do
      isa[c] = d.isa[c]
      if type(isa[c]) ~= "string" or (known and not known.isas[isa[c]]) then
        fail("profile %s: dispatch %s: unknown ISA '%s'", path, k, tostring(isa[c]))
      end
    end
    dispatch[k] = { isa = isa, class_max = cm }
  end
  local sp
  if p.split ~= nil then
    local v = type(p.split) == "table" and p.split.min_part_ns
    if type(v) ~= "number" or v < 1 or v > 1e9 or v ~= math.floor(v) then
      fail("profile %s: split.min_part_ns must be a whole number of nanoseconds in 1..1e9", path)
    end
    sp = { min_part_ns = v }
  end
  return p, settings, dispatch, sp
end

-- A Lua literal of value v (strings, numbers, booleans, tables with sorted
-- keys, size classes in their order), for profiles.
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
      local ia, ib = choose.class_index[a] or 99, choose.class_index[b] or 99
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
M.literal = literal

-- The lines common to both files: the run's record, up to "kernels = {".
local function head(p, comment)
  local L = comment
  L[#L + 1] = "return {"
  L[#L + 1] = "  format = " .. p.format .. ","
  L[#L + 1] = "  cpu = {"
  local ckeys = {}
  for k in pairs(p.cpu) do ckeys[#ckeys + 1] = k end
  table.sort(ckeys)
  for _, k in ipairs(ckeys) do L[#L + 1] = "    " .. k .. " = " .. literal(p.cpu[k]) .. "," end
  L[#L + 1] = "  },"
  for _, f in ipairs({ "compiler", "quick", "seconds" }) do L[#L + 1] = "  " .. f .. " = " .. literal(p[f]) .. "," end
  L[#L + 1] = "  kernels = {"
  return L
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- An entry's choice: default, chosen, fastest per class, speed-up, sizes.
local function choice(L, e)
  L[#L + 1] = "      default = " .. literal(e.default) .. ", chosen = " .. literal(e.chosen) .. ","
  L[#L + 1] = "      best = " .. literal(e.best) .. ","
  L[#L + 1] = "      speedup = " .. literal(e.speedup) .. ","
  L[#L + 1] = "      n = " .. literal(e.n) .. ","
end

-- The end of a kernel's entry (its rejected settings, if any), and of the file.
local function entry_end(L, e)
  if e.rejected and next(e.rejected) then L[#L + 1] = "      rejected = " .. literal(e.rejected) .. "," end
  L[#L + 1] = "    },"
end

local function file_end(L, p)
  L[#L + 1] = "  },"
  if p and p.dispatch and next(p.dispatch) then
    L[#L + 1] = "  -- Per optimizer/storage type: the ISA the runtime runs in each size class"
    L[#L + 1] = "  -- (up to class_max elements; the last class above), and each ISA's median ns per call."
    L[#L + 1] = "  dispatch = {"
    for _, k in ipairs(sorted_keys(p.dispatch)) do
      local d = p.dispatch[k]
      L[#L + 1] = "    [" .. literal(k) .. "] = {"
      L[#L + 1] = "      isa = " .. literal(d.isa) .. ", class_max = " .. literal(d.class_max) .. ","
      L[#L + 1] = "      median = " .. literal(d.median) .. ","
      L[#L + 1] = "    },"
    end
    L[#L + 1] = "  },"
  end
  if p and p.split then
    L[#L + 1] = "  -- The smallest part a step is split into, in ns of one thread's work (runtime/split.c),"
    L[#L + 1] = "  -- and the steps it rests on: ns per step, one thread against a forced split."
    L[#L + 1] = "  split = " .. literal(p.split) .. ","
  end
  L[#L + 1] = "}"
  return table.concat(L, "\n") .. "\n"
end

-- The profile's text (p as optgen tune measured it, e.kernels[k].ns holding
-- every sample): per kernel the choice and the median ns per call in each
-- class of the settings it rests on, the default, the chosen and each
-- class's fastest, one line each.
function M.text(p, samples_path)
  local L = head(p, {
    M.MARK .. "; regenerate, do not edit.",
    "-- Apply with: generator/optgen generate --profile THIS_FILE --out DIR (see tests/tuned.sh).",
    "-- Per kernel (optimizer/storage type/ISA): the knob setting emitted (chosen), the",
    "-- fastest per size class (best), and the median ns per call in each class of those",
    "-- settings and the default.  Every setting's samples, beside the build:",
    "--   " .. (samples_path or "not kept"),
  })
  for _, k in ipairs(sorted_keys(p.kernels)) do
    local e = p.kernels[k]
    L[#L + 1] = "    [" .. literal(k) .. "] = {"
    choice(L, e)
    L[#L + 1] = "      median = {"
    local by, shown = {}, {}
    for _, m in ipairs(e.ns) do by[m.setting] = m end
    local function show(name)
      local m = by[name]
      if not m or shown[name] then return end
      shown[name] = true
      local med = {}
      for _, c in ipairs(choose.CLASSES) do med[c] = m[c][1] end
      local ks = name:match("^[%a_][%w_]*$") and name or "[" .. literal(name) .. "]"
      L[#L + 1] = "        " .. ks .. " = " .. literal(med) .. ","
    end
    show(e.default)
    show(e.chosen)
    for _, c in ipairs(choose.CLASSES) do show(e.best[c]) end
    L[#L + 1] = "      },"
    entry_end(L, e)
  end
  return file_end(L, p)
end

-- Every measurement of a run, for build/: ns per call, median then each
-- sample, per setting and class.
function M.samples_text(p)
  local L = head(p, {
    M.SAMPLES_MARK .. "; the profile keeps their medians.",
    "-- Per kernel: the choice, then every setting measured: ns per call, median then each sample.",
  })
  for _, k in ipairs(sorted_keys(p.kernels)) do
    local e = p.kernels[k]
    L[#L + 1] = "    [" .. literal(k) .. "] = {"
    choice(L, e)
    L[#L + 1] = "      ns = {"
    for _, m in ipairs(e.ns) do
      L[#L + 1] = "        { setting = " .. literal(m.setting) .. ","
      for i, c in ipairs(choose.CLASSES) do
        L[#L + 1] = "          " .. c .. " = " .. literal(m[c]) .. (i == #choose.CLASSES and " }," or ",")
      end
    end
    L[#L + 1] = "      },"
    entry_end(L, e)
  end
  return file_end(L)
end

-- Fails unless path is free or holds a file whose first line starts with
-- mark (one tune wrote): tune overwrites nothing else.
function M.check_ours(path, mark)
  if not fs.exists(path) then return end
  local text = fs.read(path)
  if not text or text:sub(1, #mark) ~= mark then
    fail("%s exists and was not written by optgen tune; left alone (remove it or choose another --out)", path)
  end
end

-- Writes text to path (its directory made if missing), through a
-- temporary file and a rename (fsutil.write), if path is free or ours.
function M.write(path, text, mark)
  M.check_ours(path, mark)
  local dir = path:match("^(.*)/[^/]*$")
  if dir and not fs.mkdir(dir) then fail("cannot create %s", dir) end
  local ok, err = pcall(fs.write, path, text)
  if not ok then fail("%s", tostring(err)) end
end

-- Where the samples of the profile at path go: build/tuning/ under root,
-- named after the profile; and that path relative to root, which the
-- profile names (so that it stays the same on every checkout).
function M.samples_path(root, path)
  local rel = "build/tuning/" .. path:match("([^/]*)$"):gsub("%.lua$", "") .. ".samples.lua"
  return ((root .. "/"):gsub("^%./", "")) .. rel, rel
end

return M
