-- optgen tune's timing: candidates called through the FFI, interleaved,
-- with the median of several samples per candidate.
local data = require("optgen.tune_data")
local ffi_ = require("optgen.tune_ffi")

local M = {}

function M.median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) / 2] end
  return (s[n / 2] + s[n / 2 + 1]) / 2
end

-- Times fns (candidates) at n elements of arrays t, interleaved so drift
-- (clock, neighbours) spreads over all: a warm-up of each that also picks
-- reps (calls per sample, a sample lasting about target_ns), then rounds of
-- one sample of each.  Returns per fn { median ns per call, samples... }.
function M.time_fns(t, fns, n, consts, samples, target_ns)
  local now_ns, call = ffi_.now_ns, data.call
  data.reset(t, n)
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
    local r = { M.median(xs[i]) }
    for j, x in ipairs(xs[i]) do r[j + 1] = x end
    for j = 1, #r do r[j] = math.floor(r[j] * 10 + 0.5) / 10 end
    out[i] = r
  end
  return out
end

return M
