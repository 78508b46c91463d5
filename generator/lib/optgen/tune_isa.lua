-- optgen tune's choice of ISA per size class.  Every ISA gives the same
-- bits, so the runtime may run a kernel with whichever is fastest on this
-- CPU for the step's size: on AVX-512 machines the AVX2 kernel is the
-- 256-bit one (on Zen 4 the 256-bit divide/sqrt unit keeps up with the
-- 512-bit one for these kernels and is steadier).  This times the chosen
-- knob setting of each ISA against the others, interleaved, in each size
-- class, and keeps the highest ISA (the runtime's default) unless another
-- is faster by more than the machine's noise.
local choose = require("optgen.tune_choose")
local data = require("optgen.tune_data")
local timing = require("optgen.tune_time")

local M = {}

-- A lower ISA must beat the default by this much to be chosen.
M.MARGIN = 0.03

-- The runtime's class bounds (optk_kernel.class_max) from the sizes the
-- classes were timed at: L1 up to the whole L1 (twice the half-L1 size
-- timed), L2 up to the geometric mean of the L2 and beyond-cache sizes.
function M.class_max(n)
  return { 2 * n.l1, math.floor(math.sqrt(n.l2 * n.big)) }
end

-- medians: { [isa] = { l1 =, l2 =, big = } }; order: the ISAs timed, the
-- runtime's default (the highest) last.  Returns { l1 = isa, ... }.
function M.pick(medians, order)
  local top = order[#order]
  local r = {}
  for _, c in ipairs(choose.CLASSES) do
    local best, bt = top, medians[top][c]
    for _, isa in ipairs(order) do
      if medians[isa][c] < bt * (1 - M.MARGIN) and medians[isa][c] < medians[best][c] then
        best, bt = isa, medians[isa][c]
      end
    end
    r[c] = best
  end
  return r
end

-- units: { { isa =, fn = (the chosen setting's function), n = sizes per
-- class } } of one optimizer and storage type, in ISA order.  Returns the
-- profile's dispatch entry.
function M.run(kir, dtype, units, prepfn, o)
  local n = units[1].n
  local t = data.arrays(kir, dtype, math.max(n.big, n.l1, n.l2), false, 0)
  local c1 = data.consts_for(kir, dtype, prepfn, 1)
  local fns, order, medians = {}, {}, {}
  for i, u in ipairs(units) do fns[i], order[i] = u.fn, u.isa end
  for _, c in ipairs(choose.CLASSES) do
    local big = c == "big"
    local r = timing.time_fns(t, fns, n[c], c1, big and (o.quick and 5 or 9) or (o.quick and 7 or 11),
                              big and 1 or (o.quick and 2e5 or 5e5))
    for i, isa in ipairs(order) do
      medians[isa] = medians[isa] or {}
      medians[isa][c] = r[i][1]
    end
  end
  local cm = M.class_max(n)
  return { isa = M.pick(medians, order), class_max = { l1 = cm[1], l2 = cm[2] }, median = medians }
end

return M
