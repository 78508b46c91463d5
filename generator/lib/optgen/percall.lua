-- Per-call code: the C statements, in double, that compute a kernel's
-- invariant nodes (its per-call constants, or its state's initial values)
-- once per call.  Spelled by the scalar backend's f64 table, whose pow, exp
-- and log are the runtime's libm-free ones (runtime/ieee_math.c), so the
-- constants have the same bits with every C library.
--
-- prod(x) is the product of x over the steps 1..t: a loop that evaluates
-- x's step-dependent part with each s in turn and multiplies in step order.
-- A thread-local cache keeps the last (t, the hyperparameters x reads,
-- product): when the next call asks for a later t it multiplies only the
-- missing factors, in the same order, so the bits do not depend on the
-- cache.  For t one on, the usual case, that factor is x at t, which the
-- per-call code has computed anyway.  Once the product is zero it stays
-- zero.
local cfmt = require("optgen.cfmt")

local M = {}

-- The largest t whose prod() is computed: beyond it the product is NaN.  A
-- product whose factors stay below 1 reaches zero long before (Adam-like
-- betas: within 10^6 steps), and after zero nothing is left to compute; a
-- first call at t = 2^32 with factors near 1 costs minutes, not years.
M.PROD_MAX_STEPS = 4294967296

-- Nodes reachable from roots, in id (dependency) order.
local function reachable(roots)
  local reach, order = {}, {}
  local function mark(n)
    if reach[n] then return end
    reach[n] = true
    for _, a in ipairs(n.args) do mark(a) end
    order[#order + 1] = n
  end
  for _, r in ipairs(roots) do mark(r) end
  table.sort(order, function(a, b) return a.id < b.id end)
  return order
end

-- Whether n depends on the step t.
local function on_step(n, memo)
  local v = memo[n]
  if v == nil then
    v = n.op == "t"
    for _, a in ipairs(n.args) do v = v or on_step(a, memo) end
    memo[n] = v
  end
  return v
end

-- Whether n depends on a prod(): such a value can sink to the subnormals
-- and stay there (a product of factors above 1/2 ends at 2^-1074), so its
-- products and sums are spelled with the runtime's optk__mul_exact and
-- optk__add_exact, which keep subnormals off the FPU (the same bits).
local function after_prod(n, memo)
  local v = memo[n]
  if v == nil then
    v = false
    for _, a in ipairs(n.args) do v = v or a.op == "prod" or after_prod(a, memo) end
    memo[n] = v
  end
  return v
end
local exact_ops = { mul = "optk__mul_exact($1, $2)", add = "optk__add_exact($1, $2)", sub = "optk__sub_exact($1, $2)" }

-- k where n is the step plus an integer k, 0 <= k <= 2^20 (t, or t + 1:
-- a power the per-thread cache steps on); else nil.
local function step_offset(n)
  if n.op == "t" then return 0 end
  if n.op ~= "add" then return nil end
  local a, b = n.args[1], n.args[2]
  if a.op == "t" then a, b = b, a end
  if b.op ~= "t" or a.op ~= "const" then return nil end
  local k = a.value
  if k >= 0 and k <= 2 ^ 20 and k == math.floor(k) then return k end
end

-- roots: invariant IR nodes; scalar: the scalar backend; out_name: the
-- array receiving root i at index i-1.  Returns the C lines and
-- { hp = used, t = used }.
function M.lines(roots, scalar, out_name)
  local lines, used, ref, nprod = {}, {}, {}, 0
  local function add(fmt, ...) lines[#lines + 1] = string.format(fmt, ...) end
  local spell = scalar.f64
  local dep, tainted = {}, {}
  local function leaf(n, step)
    if n.op == "const" then
      local s = cfmt.literal(n.value, "f64")
      return s:sub(1, 1) == "-" and "(" .. s .. ")" or s
    elseif n.op == "hparam" then
      used.hp = true
      return "hp[" .. n.value .. "]"
    elseif n.op == "t" then
      used.t = true
      return step
    elseif n.op == "tnorm" then
      return "norms[" .. n.value .. "]"
    end
  end
  -- Emits n's value into out (lines) under names from names[]; nodes
  -- already named (outside a prod loop: everything earlier) are reused.
  local function value(n, names, out, step, pad)
    local l = leaf(n, step)
    if l then names[n] = l; return end
    local args = {}
    for i, a in ipairs(n.args) do args[i] = names[a] end
    local name = "s" .. #lines + #out
    names[n] = name
    local text
    local k = n.op == "pow" and step == "(double)t" and step_offset(n.args[2])
    if k == 0 then
      -- beta^t, the common case: the same bits as pow(beta, (double)t)
      -- without pow's tests of the exponent (a new t every step).
      text = string.format("optk__pow_t(%s, t)", args[1])
    elseif k then
      -- beta^(t + k) (Nadam's next mu): pow(beta, k + (double)t) is
      -- optk__pow_t(beta, t + k) while t + k is exact in double.
      text = string.format("t <= ((int64_t)1 << 53) - %d ? optk__pow_t(%s, t + %d) : optk__pow(%s, %s)", k, args[1],
                           k, args[1], args[2])
    elseif exact_ops[n.op] and after_prod(n, tainted) then
      text = cfmt.spell(exact_ops[n.op], args)
    else
      text = cfmt.spell(assert(spell[n.op], n.op), args)
    end
    out[#out + 1] = string.format("%sconst double %s = %s;", pad, name, text)
  end
  for _, n in ipairs(reachable(roots)) do
    if n.op == "prod" then
      nprod = nprod + 1
      used.t = true
      local p, x = "optk_prod" .. nprod, n.args[1]
      local c = p .. "_cache"
      -- The product depends on t and on the hyperparameters x reads (the
      -- translator refuses a prod() of a norm): the cache keeps those.
      local hps, seen = {}, {}
      for _, m in ipairs(reachable({ x })) do
        if m.op == "hparam" and not seen[m.value] then
          seen[m.value] = true
          hps[#hps + 1] = m.value
        end
      end
      table.sort(hps)
      if #hps > 0 then used.hp = true end
      -- Per thread, its address taken once (OPTK_TLS_ONCE, optk_internal.h:
      -- each use of a thread-local is otherwise a __tls_get_addr call in
      -- the shared library).
      add("static __thread struct %s_slot { int64_t t; double hp[%d]; double v; } %s_tls;", p, math.max(#hps, 1), p)
      add("struct %s_slot *%s = &%s_tls;", p, c, p)
      add("OPTK_TLS_ONCE(%s);", c)
      -- The same hyperparameters, bit for bit (memcmp: -0 is not 0, and a
      -- NaN matches itself); 8-byte compares the compiler inlines.
      local same = { c .. "->t >= 1" }
      for i, h in ipairs(hps) do
        same[#same + 1] = string.format("memcmp(&%s->hp[%d], &hp[%d], sizeof(double)) == 0", c, i - 1, h)
      end
      add("const int %s_same = %s;", p, table.concat(same, " && "))
      add("double %s;", p)
      -- Training's case, t one on from the call before: the loop below
      -- would multiply one factor, x at s = t, which is x's value above (the
      -- same operations, and optk__pow_t(b, t) is optk__pow(b, (double)t)),
      -- so without the loop and without evaluating x again.
      add("if (%s_same && %s->t + 1 == t && t <= %d) {", p, c, M.PROD_MAX_STEPS)
      add("  %s = %s->v != 0 ? optk__mul_exact(%s->v, %s) : %s->v;", p, c, c, ref[x], c)
      add("} else {")
      add("  %s = 1.0;", p)
      add("  int64_t %s_s = 1;", p)
      add("  if (%s_same && %s->t <= t) {", p, c)
      add("    %s = %s->v;", p, c)
      add("    %s_s = %s->t + 1;", p, c)
      add("  }")
      -- Zero stays zero (the loop stops there), and a t beyond PROD_MAX_STEPS
      -- makes the product NaN, which the runtime refuses (a non-finite
      -- per-call constant) rather than loop for hours.
      add("  if (t > %d)", M.PROD_MAX_STEPS)
      add("    %s = NAN;", p)
      add("  for (; %s_s <= t && t <= %d && %s != 0; %s_s++) {", p, M.PROD_MAX_STEPS, p, p)
      -- The step-dependent part of x, again, with s for t; the rest is
      -- named already.
      local names, body = setmetatable({}, { __index = ref }), {}
      for _, m in ipairs(reachable({ x })) do
        if on_step(m, dep) then value(m, names, body, "(double)" .. p .. "_s", "    ") end
      end
      for _, l in ipairs(body) do lines[#lines + 1] = l end
      add("    %s = optk__mul_exact(%s, %s);", p, p, names[x])
      add("  }")
      add("}")
      -- Only a computed product is kept (so cache.t + 1 cannot overflow).
      add("if (t <= %d) {", M.PROD_MAX_STEPS)
      add("  %s->t = t;", c)
      for i, h in ipairs(hps) do add("  memcpy(&%s->hp[%d], &hp[%d], sizeof(double));", c, i - 1, h) end
      add("  %s->v = %s;", c, p)
      add("}")
      ref[n] = p
    else
      local body = {}
      value(n, ref, body, "(double)t", "")
      for _, l in ipairs(body) do lines[#lines + 1] = l end
    end
  end
  for i, r in ipairs(roots) do lines[#lines + 1] = string.format("%s[%d] = %s;", out_name, i - 1, ref[r]) end
  return lines, used
end

return M
