-- optgen tune's check: a candidate must leave every array bit for bit as
-- the scalar baseline does (NaN for NaN), at many sizes and alignments.
local ffi = require("ffi")
local data = require("optgen.tune_data")
local lower = require("optgen.lower")

local M = {}

-- Whether an element value (as stored, storage type st) is a NaN.
local function is_nan(v, st)
  if st == "f32" or st == "f64" then return v ~= v end
  local b = tonumber(v)
  if st == "bf16" then return bit.band(b, 0x7f80) == 0x7f80 and bit.band(b, 0x7f) ~= 0 end
  return bit.band(b, 0x7c00) == 0x7c00 and bit.band(b, 0x3ff) ~= 0
end

-- Compares candidate fn with the scalar baseline base on arrays t over
-- several sizes and offsets, a step per entry of consts.  Two values agree
-- if their bits are equal or both are NaN (payloads may differ).  Returns
-- nil, or what differs.
function M.verify(t, fn, base, consts, tile)
  local reset, call = data.reset, data.call
  local saved = {}
  for i = 1, #t.work do saved[i] = ffi.new(lower.ctype[t.st[i]] .. "[?]", t.cap) end
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

return M
