-- Plain C, no intrinsics: the baseline every other ISA must match bit for
-- bit.  Its f64 table also spells the per-call code (in double), hence
-- pow, exp and log: the runtime's own (runtime/ieee_math.c), built from IEEE
-- basic operations, never libm's.  pow is also the kernels' per-element pow
-- (x^y with y per call); the vector backends call the same function lane by
-- lane.  max and min follow x86's MAXPS/MINPS: a > b ? a : b.
local function arith(sfx, ctype)
  return {
    vtype = ctype, mtype = "int", lanes = 1, splat = "$1",
    add = "$1 + $2", sub = "$1 - $2", mul = "$1 * $2", div = "$1 / $2", neg = "-$1",
    sqrt = "sqrt" .. sfx .. "($1)", abs = "fabs" .. sfx .. "($1)",
    min = "$1 < $2 ? $1 : $2", max = "$1 > $2 ? $1 : $2",
    fma = "fma" .. sfx .. "($1, $2, $3)", fms = "fma" .. sfx .. "($1, $2, -$3)",
    fnma = "fma" .. sfx .. "(-$1, $2, $3)",
    lt = "$1 < $2", le = "$1 <= $2", gt = "$1 > $2", ge = "$1 >= $2", eq = "$1 == $2", ne = "$1 != $2",
    select = "$1 ? $2 : $3",
    pow = "optk__pow" .. sfx .. "($1, $2)", exp = "optk__exp($1)", log = "optk__log($1)",
    -- Subnormal guards (optgen.guard; templates/optk_scalar.h.tpl).  An f32
    -- product is taken in double; an f64 one stays a product: fma() without
    -- FMA hardware is a library call.
    sqrt_g = "optk_sqrt" .. sfx .. "_g($1)", div_g = "optk_div" .. sfx .. "_g($1, $2)",
    mul_g = sfx == "f" and "optk_mulf_g($1, $2)" or nil,
  }
end

return {
  isa = "scalar",
  id = 0, -- its optk_isa number (runtime/optkern.h)
  fallback = nil, -- the baseline: every fallback chain ends here
  arch = nil, -- every architecture
  target = nil,
  prelude = "optk_scalar.h.tpl",
  default_unroll = 1,
  tail = "none",
  f32 = arith("f", "float"),
  f64 = arith("", "double"),
  load = { f32 = "$1[$2]", f64 = "$1[$2]", bf16 = "optk_bf16_to_f32($1[$2])", f16 = "optk_f16_to_f32($1[$2])" },
  store = { f32 = "$1[$2] = $3", f64 = "$1[$2] = $3",
            bf16 = "$1[$2] = optk_f32_to_bf16($3)", f16 = "$1[$2] = optk_f32_to_f16($3)" },
}
