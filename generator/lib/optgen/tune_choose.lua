-- optgen tune's choice: from the medians per size class, the fastest
-- setting per class and the one to emit.
local M = {}

-- The size classes every kernel is timed in: half of L1, half of L2, and
-- beyond the last-level cache.
M.CLASSES = { "l1", "l2", "big" }
M.class_index = { l1 = 1, l2 = 2, big = 3 }

-- From measurements { {setting = name, l1 = {median, samples...}, ...} },
-- default first: the fastest per class, and the setting to emit: the best
-- geometric mean of time over the default's, taken only if it gains at
-- least `gain` overall (5%: this shared machine's run-to-run spread) and
-- loses no more than `margin` in any class.  Returns its name, the fastest
-- per class and the speed-up of the chosen one over the default per class.
function M.choose(ns, margin, gain)
  margin, gain = margin or 0.02, gain or 0.05
  local def, best = ns[1], {}
  for _, c in ipairs(M.CLASSES) do
    local b
    for _, m in ipairs(ns) do if not b or m[c][1] < b[c][1] then b = m end end
    best[c] = b.setting
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
  return chosen.setting, best, speedup
end

return M
