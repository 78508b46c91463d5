-- AVX-512 F+BW+VL, 512-bit vectors; the remainder is one masked vector, so
-- nothing is read or written past n.  AVX512_BF16's VCVTNEPS2BF16 flushes
-- denormals, so bf16 stores round with integer code instead.
local function arith(s, vtype, mtype, lanes, signbit)
  local function f(name) return "_mm512_" .. name .. "_" .. s end
  local cast, bits = s == "ps" and "_mm512_castsi512_ps" or "_mm512_castsi512_pd",
                     s == "ps" and "_mm512_castps_si512" or "_mm512_castpd_si512"
  return {
    vtype = vtype, mtype = mtype, lanes = lanes, splat = f("set1") .. "($1)",
    add = f("add") .. "($1, $2)", sub = f("sub") .. "($1, $2)", mul = f("mul") .. "($1, $2)",
    div = f("div") .. "($1, $2)", sqrt = f("sqrt") .. "($1)", abs = f("abs") .. "($1)",
    -- XORPS on zmm needs AVX512DQ; the integer XOR is AVX512F.
    neg = cast .. "(_mm512_xor_si512(" .. bits .. "($1), " .. signbit .. "))",
    min = f("min") .. "($1, $2)", max = f("max") .. "($1, $2)",
    fma = f("fmadd") .. "($1, $2, $3)", fms = f("fmsub") .. "($1, $2, $3)", fnma = f("fnmadd") .. "($1, $2, $3)",
    lt = f("cmp") .. "_mask($1, $2, _CMP_LT_OQ)", le = f("cmp") .. "_mask($1, $2, _CMP_LE_OQ)",
    gt = f("cmp") .. "_mask($1, $2, _CMP_GT_OQ)", ge = f("cmp") .. "_mask($1, $2, _CMP_GE_OQ)",
    eq = f("cmp") .. "_mask($1, $2, _CMP_EQ_OQ)", ne = f("cmp") .. "_mask($1, $2, _CMP_NEQ_UQ)",
    select = f("mask_blend") .. "($1, $3, $2)",
    pow = "optk_avx512_pow_" .. s .. "($1, $2)", -- lane by lane (templates/optk_avx512.h.tpl)
    -- Subnormal guards (optgen.guard), as in avx2.lua.
    sqrt_g = "optk_avx512_sqrt_" .. s .. "($1)",
    div_g = "optk_avx512_div_" .. s .. "($1, $2)",
    mul_g = f("fmadd") .. "($1, $2, " .. f("set1") .. "(" .. (s == "ps" and "-0.0f" or "-0.0") .. "))",
    tail_mtype = mtype, tail_mask = "(" .. mtype .. ")((1u << ($1)) - 1u)",
  }
end

local cvtph = "_mm512_cvtps_ph($3, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)"

return {
  isa = "avx512",
  id = 2, -- its optk_isa number (runtime/optkern.h)
  fallback = "avx2", -- what dispatch takes when a cap or the CPU rules this one out
  arch = "x86_64",
  target = "avx512f,avx512bw,avx512vl,avx2,fma,f16c",
  prelude = "optk_avx512.h.tpl",
  default_unroll = 4,
  tail = "masked",
  f32 = arith("ps", "__m512", "__mmask16", 16, "_mm512_set1_epi32(INT32_MIN)"),
  f64 = arith("pd", "__m512d", "__mmask8", 8, "_mm512_set1_epi64(INT64_MIN)"),
  load = {
    f32 = "_mm512_loadu_ps($1 + $2)", f64 = "_mm512_loadu_pd($1 + $2)",
    bf16 = "optk_avx512_load_bf16(_mm256_loadu_si256((const __m256i *)($1 + $2)))",
    f16 = "_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)($1 + $2)))",
  },
  load_masked = {
    f32 = "_mm512_maskz_loadu_ps($3, $1 + $2)", f64 = "_mm512_maskz_loadu_pd($3, $1 + $2)",
    bf16 = "optk_avx512_load_bf16(_mm256_maskz_loadu_epi16($3, $1 + $2))",
    f16 = "_mm512_cvtph_ps(_mm256_maskz_loadu_epi16($3, $1 + $2))",
  },
  -- Tuning knobs (optgen tune), as in avx2.lua.
  prefetch = "_mm_prefetch((const char *)((uintptr_t)($1 + $2) + $3), _MM_HINT_T0)",
  store_nt = { f32 = "_mm512_stream_ps($1 + $2, $3)", f64 = "_mm512_stream_pd($1 + $2, $3)" },
  nt_align = 64, nt_fence = "_mm_sfence()",
  store = {
    f32 = "_mm512_storeu_ps($1 + $2, $3)", f64 = "_mm512_storeu_pd($1 + $2, $3)",
    bf16 = "_mm256_storeu_si256((__m256i *)($1 + $2), optk_avx512_to_bf16($3))",
    f16 = "_mm256_storeu_si256((__m256i *)($1 + $2), " .. cvtph .. ")",
  },
  store_masked = {
    f32 = "_mm512_mask_storeu_ps($1 + $2, $4, $3)", f64 = "_mm512_mask_storeu_pd($1 + $2, $4, $3)",
    bf16 = "_mm256_mask_storeu_epi16($1 + $2, $4, optk_avx512_to_bf16($3))",
    f16 = "_mm256_mask_storeu_epi16($1 + $2, $4, " .. cvtph .. ")",
  },
}
