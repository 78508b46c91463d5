-- AArch64 SVE, vector-length agnostic: lanes are svcntw() (svcntd() for
-- f64) at run time, and every vector of the loop is predicated by
-- svwhilelt, so there is no scalar tail and nothing is read or written past
-- n.  Arithmetic runs on all lanes (_x forms under an all-true predicate:
-- lanes past n hold zeros and are never stored).  max and min are a compare
-- and a select, as on NEON (FMAX/FMIN propagate NaN).  FMAD is a*b + c,
-- FNMSB a*b - c and FMSB c - a*b, each one fused operation.  FCMNE is true
-- for unordered operands, as C's !=.  f16 converts with FCVT, as NEON's
-- FCVTL/FCVTN do; bf16 rounds in integer code (prelude_sve.h).
local function arith(s, bits, cnt)
  local pt = "svptrue_b" .. bits .. "()"
  local function f(name) return "sv" .. name .. "_" .. s .. "_x(" .. pt .. ", " end
  local function cmp(name) return "svcmp" .. name .. "_" .. s .. "(" .. pt .. ", $1, $2)" end
  return {
    vtype = "svfloat" .. bits .. "_t", mtype = "svbool_t", lanes = cnt,
    splat = "svdup_n_" .. s .. "($1)",
    add = f("add") .. "$1, $2)", sub = f("sub") .. "$1, $2)", mul = f("mul") .. "$1, $2)",
    div = f("div") .. "$1, $2)", neg = f("neg") .. "$1)", sqrt = f("sqrt") .. "$1)", abs = f("abs") .. "$1)",
    min = "svsel_" .. s .. "(" .. cmp("lt") .. ", $1, $2)", max = "svsel_" .. s .. "(" .. cmp("gt") .. ", $1, $2)",
    fma = f("mad") .. "$1, $2, $3)", fms = f("nmsb") .. "$1, $2, $3)", fnma = f("msb") .. "$1, $2, $3)",
    lt = cmp("lt"), le = cmp("le"), gt = cmp("gt"), ge = cmp("ge"), eq = cmp("eq"), ne = cmp("ne"),
    select = "svsel_" .. s .. "($1, $2, $3)",
    pow = "optk_sve_pow_" .. s .. "($1, $2)", -- lane by lane (templates/prelude_sve.h)
    predicate = "svwhilelt_b" .. bits .. "_u64($1, n)", -- the lanes from index $1 that lie below n
  }
end

return {
  isa = "sve",
  id = 4, -- its optk_isa number (runtime/optkern.h)
  fallback = "neon", -- what dispatch takes when a cap or the CPU rules this one out
  -- For the README of a vendored file (optgen vendor).
  vendor_note = "SVE: gcc 12 compiles the SVE kernels through per-function target attributes; clang 14 cannot (its\n"
    .. "arm_sve.h needs SVE for the whole file), so with clang the file uses NEON on Arm unless compiled with\n"
    .. "`-march=armv8.2-a+sve` or later.",
  arch = "aarch64",
  -- clang 14 compiles SVE intrinsics only with SVE enabled for the whole file.
  build_if = "!defined(__clang__) || defined(__ARM_FEATURE_SVE)",
  target = "+sve",
  prelude = "prelude_sve.h",
  default_unroll = 2,
  tail = "predicated",
  f32 = arith("f32", 32, "svcntw()"),
  f64 = arith("f64", 64, "svcntd()"),
  load_masked = {
    f32 = "svld1_f32($3, $1 + $2)", f64 = "svld1_f64($3, $1 + $2)",
    bf16 = "optk_sve_load_bf16($3, $1 + $2)",
    f16 = "svcvt_f32_f16_x($3, svreinterpret_f16_u32(svld1uh_u32($3, $1 + $2)))",
  },
  store_masked = {
    f32 = "svst1_f32($4, $1 + $2, $3)", f64 = "svst1_f64($4, $1 + $2, $3)",
    bf16 = "svst1h_u32($4, $1 + $2, optk_sve_to_bf16($3))",
    f16 = "svst1h_u32($4, $1 + $2, svreinterpret_u32_f16(svcvt_f16_f32_x($4, $3)))",
  },
}
