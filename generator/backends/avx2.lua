-- AVX2 + FMA + F16C, 256-bit vectors; the remainder runs the scalar backend.
-- Each entry spells the IR operation's meaning: MAXPS/MINPS already are
-- a > b ? a : b and a < b ? a : b; != is unordered, as in C.
local function arith(s, vtype, lanes, negzero)
  local function f(name) return "_mm256_" .. name .. "_" .. s end
  return {
    vtype = vtype, mtype = vtype, lanes = lanes, splat = f("set1") .. "($1)",
    add = f("add") .. "($1, $2)", sub = f("sub") .. "($1, $2)", mul = f("mul") .. "($1, $2)",
    div = f("div") .. "($1, $2)", neg = f("xor") .. "($1, " .. f("set1") .. "(" .. negzero .. "))",
    sqrt = f("sqrt") .. "($1)", abs = f("andnot") .. "(" .. f("set1") .. "(" .. negzero .. "), $1)",
    min = f("min") .. "($1, $2)", max = f("max") .. "($1, $2)",
    fma = f("fmadd") .. "($1, $2, $3)", fms = f("fmsub") .. "($1, $2, $3)", fnma = f("fnmadd") .. "($1, $2, $3)",
    lt = f("cmp") .. "($1, $2, _CMP_LT_OQ)", le = f("cmp") .. "($1, $2, _CMP_LE_OQ)",
    gt = f("cmp") .. "($1, $2, _CMP_GT_OQ)", ge = f("cmp") .. "($1, $2, _CMP_GE_OQ)",
    eq = f("cmp") .. "($1, $2, _CMP_EQ_OQ)", ne = f("cmp") .. "($1, $2, _CMP_NEQ_UQ)",
    select = f("blendv") .. "($3, $2, $1)",
    pow = "optk_avx2_pow_" .. s .. "($1, $2)", -- lane by lane (templates/optk_avx2.h.tpl)
    -- Subnormal guards (optgen.guard): the same bits without the slow path.
    -- A product as an FMA with -0 (a*b + -0 is a*b in every case, signed
    -- zeros included): Zen's FMA has no penalty on a subnormal result, and
    -- its result, unlike MULPS/MULPD's from a subnormal operand, does not
    -- slow the DIV or SQRT that consumes it (docs/subnormal.md).
    sqrt_g = "optk_avx2_sqrt_" .. s .. "($1)",
    div_g = "optk_avx2_div_" .. s .. "($1, $2)",
    mul_g = f("fmadd") .. "($1, $2, " .. f("set1") .. "(" .. negzero .. "))",
  }
end

return {
  isa = "avx2",
  id = 1, -- its optk_isa number (runtime/optkern.h)
  fallback = "scalar", -- what dispatch takes when a cap or the CPU rules this one out
  arch = "x86_64",
  target = "avx2,fma,f16c",
  prelude = "optk_avx2.h.tpl",
  default_unroll = 4,
  tail = "scalar",
  f32 = arith("ps", "__m256", 8, "-0.0f"),
  f64 = arith("pd", "__m256d", 4, "-0.0"),
  load = {
    f32 = "_mm256_loadu_ps($1 + $2)", f64 = "_mm256_loadu_pd($1 + $2)",
    bf16 = "optk_avx2_load_bf16($1 + $2)",
    f16 = "_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)($1 + $2)))",
  },
  -- Tuning knobs (optgen tune): a prefetch of array $1 at index $2 plus $3
  -- bytes; non-temporal stores where the address is nt_align-aligned.
  prefetch = "_mm_prefetch((const char *)((uintptr_t)($1 + $2) + $3), _MM_HINT_T0)",
  store_nt = { f32 = "_mm256_stream_ps($1 + $2, $3)", f64 = "_mm256_stream_pd($1 + $2, $3)" },
  nt_align = 32, nt_fence = "_mm_sfence()",
  store = {
    f32 = "_mm256_storeu_ps($1 + $2, $3)", f64 = "_mm256_storeu_pd($1 + $2, $3)",
    bf16 = "optk_avx2_store_bf16($1 + $2, $3)",
    f16 = "_mm_storeu_si128((__m128i *)($1 + $2), _mm256_cvtps_ph($3, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))",
  },
}
