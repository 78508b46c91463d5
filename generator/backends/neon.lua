-- AArch64 Advanced SIMD (NEON), 128-bit vectors; the remainder runs the
-- scalar backend.  NEON is baseline on AArch64, so no target attribute.
-- FMAX/FMIN (vmaxq/vminq) propagate NaN, so max and min are a compare and
-- a bit select: a > b ? a : b and a < b ? a : b.  FMLA(c, a, b) is
-- c + a*b and FMLS(c, a, b) is c - a*b, fused; a*b - c is FMLA with -c,
-- as the scalar backend's fma(a, b, -c) (FMLS negated would turn +0 to -0).
-- FCVTL/FCVTN convert f16 exactly as optk_f16_to_f32/optk_f32_to_f16 do
-- (FPCR's default round to nearest even, no flush to zero, NaNs made
-- quiet with their top payload bits); they are base AdvSIMD, no FP16
-- extension needed.  bf16 rounds in integer code (prelude_neon.h).
local function arith(s, bits, lanes)
  local function f(name) return "v" .. name .. "q_" .. s end
  -- A mask's complement; there is no vmvnq_u64.
  local ne = bits == 32 and "vmvnq_u32(" .. f("ceq") .. "($1, $2))"
             or "vreinterpretq_u64_u32(vmvnq_u32(vreinterpretq_u32_u64(" .. f("ceq") .. "($1, $2))))"
  return {
    vtype = "float" .. bits .. "x" .. lanes .. "_t", mtype = "uint" .. bits .. "x" .. lanes .. "_t", lanes = lanes,
    splat = "vdupq_n_" .. s .. "($1)",
    add = f("add") .. "($1, $2)", sub = f("sub") .. "($1, $2)", mul = f("mul") .. "($1, $2)",
    div = f("div") .. "($1, $2)", neg = f("neg") .. "($1)", sqrt = f("sqrt") .. "($1)", abs = f("abs") .. "($1)",
    min = f("bsl") .. "(" .. f("clt") .. "($1, $2), $1, $2)", max = f("bsl") .. "(" .. f("cgt") .. "($1, $2), $1, $2)",
    fma = f("fma") .. "($3, $1, $2)", fms = f("fma") .. "(" .. f("neg") .. "($3), $1, $2)",
    fnma = f("fms") .. "($3, $1, $2)",
    lt = f("clt") .. "($1, $2)", le = f("cle") .. "($1, $2)", gt = f("cgt") .. "($1, $2)", ge = f("cge") .. "($1, $2)",
    eq = f("ceq") .. "($1, $2)", ne = ne,
    select = f("bsl") .. "($1, $2, $3)",
    pow = "optk_neon_pow_" .. s .. "($1, $2)", -- lane by lane (templates/prelude_neon.h)
  }
end

return {
  isa = "neon",
  id = 3, -- its optk_isa number (runtime/optkern.h)
  fallback = "scalar", -- what dispatch takes when a cap or the CPU rules this one out
  arch = "aarch64",
  target = nil,
  prelude = "prelude_neon.h",
  default_unroll = 4,
  tail = "scalar",
  f32 = arith("f32", 32, 4),
  f64 = arith("f64", 64, 2),
  load = {
    f32 = "vld1q_f32($1 + $2)", f64 = "vld1q_f64($1 + $2)",
    bf16 = "optk_neon_load_bf16($1 + $2)",
    f16 = "vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16($1 + $2)))",
  },
  store = {
    f32 = "vst1q_f32($1 + $2, $3)", f64 = "vst1q_f64($1 + $2, $3)",
    bf16 = "vst1_u16($1 + $2, optk_neon_to_bf16($3))",
    f16 = "vst1_u16($1 + $2, vreinterpret_u16_f16(vcvt_f16_f32($3)))",
  },
}
