-- Subnormal guards.  Some IR operations take a slow path (microcode assist
-- or a slower unit) when an operand or the result is subnormal; measured by
-- bench/subnormal_ops.c, findings in docs/subnormal.md.  Each such op has a
-- guarded spelling in the backends, named here, that gives the same bits but
-- never hands the hardware the slow case (an exact power-of-two scaling, done
-- by FMA or integer code, a wider type, or an equivalent instruction).  A backend
-- spells the guarded name where its hardware needs it; where it does not
-- (no penalty there, or the case is not guarded yet: see docs/subnormal.md),
-- the plain operation is used.  Only per-element operations are guarded: the
-- per-call code runs once per call.
local M = {}

-- op -> the backend table key of its guarded spelling.
M.guarded = {
  sqrt = "sqrt_g", -- subnormal operand: 2.4x (f32), 1.4x (f64) on Zen 4
  div = "div_g",   -- any subnormal operand or result: 2.2-3x on Zen 4
  mul = "mul_g",   -- subnormal result from normal operands: 2.6-3.3x on Zen 4; and a
                   -- product of a subnormal slows the div or sqrt consuming it (Zen 4, 5)
}

-- The spelling of op in arithmetic table at: guarded where the backend has it.
function M.spelling(at, op)
  local g = M.guarded[op]
  return g and at[g] or at[op]
end

return M
