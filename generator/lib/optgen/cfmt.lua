-- Spelling numbers and operations in C.
local ffi = require("ffi")

local M = {}

local function shortest(v, lo, hi, same)
  for digits = lo, hi do
    local s = string.format("%." .. digits .. "g", v)
    if same(tonumber(s)) then return s end
  end
  return string.format("%." .. hi .. "g", v)
end

local function with_point(s)
  if s:find("[%.eEn]") then return s end
  return s .. ".0"
end

-- A double literal that reads back exactly.
function M.double(v)
  if v ~= v then return "NAN" end
  if v == math.huge then return "INFINITY" end
  if v == -math.huge then return "-INFINITY" end
  if v == 0 and 1 / v < 0 then return "-0.0" end
  return with_point(shortest(v, 1, 17, function(x) return x == v end))
end

local f32 = ffi.typeof("float[1]")
local function to_float(v) local b = f32(); b[0] = v; return b[0] end

-- A float literal for the value v rounds to in single precision.
function M.float(v)
  local f = to_float(v)
  if f ~= f then return "NAN" end
  if f == math.huge then return "INFINITY" end
  if f == -math.huge then return "-INFINITY" end
  if f == 0 and 1 / f < 0 then return "-0.0f" end
  return with_point(shortest(f, 1, 9, function(x) return to_float(x) == f end)) .. "f"
end

-- A literal for code: plain decimal when that is short and exact (0, 1,
-- -1, 0.5, 1024, ...), else a hex float, which C reads back exactly.
-- arith is "f32" or "f64".
function M.literal(v, arith)
  local x = arith == "f32" and to_float(v) or v
  local suffix = arith == "f32" and "f" or ""
  if x ~= x or x == math.huge or x == -math.huge or x == 0 then
    return arith == "f32" and M.float(x) or M.double(x)
  end
  if x == math.floor(x * 1024) / 1024 and math.abs(x) < 2 ^ 24 then
    return (arith == "f32" and M.float(x) or M.double(x))
  end
  return string.format("%a", x) .. suffix
end

-- Fills $1..$9 in a backend spelling.
function M.spell(fmt, args)
  return (fmt:gsub("%$(%d)", function(d)
    return assert(args[tonumber(d)], "spelling '" .. fmt .. "' wants $" .. d)
  end))
end

return M
