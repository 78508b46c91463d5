-- The candidates optgen tune measures for a kernel: knob settings (unroll,
-- software prefetch, non-temporal stores, an aligning peel; emit names one
-- as u4_pf8_nt) that lower.supports allows on the backend.
local emit = require("optgen.emit")
local lower = require("optgen.lower")

local M = {}

-- Candidate settings of kernel kir on backend be for dtype, the backend's
-- default first; quick: a short list instead of the full grid.
function M.candidates(kir, be, dtype, quick)
  local def = be.default_unroll
  local list, seen = {}, {}
  local nt_ok = false -- some stored array has a non-temporal store
  for _, s in ipairs(kir.stores) do
    if be.store_nt and be.store_nt[lower.storage(s.array, dtype)] then nt_ok = true end
  end
  local function add(u, pf, nt, al)
    local setting = { unroll = u, pf = pf, nt = nt, al = al or false }
    local name = emit.variant_name(setting)
    if seen[name] or not lower.supports(be, setting) or (nt and not nt_ok) then return end
    seen[name], list[#list + 1] = true, setting
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

return M
