-- Per-call code: the C statements, in double, that compute a kernel's
-- invariant nodes (its per-call constants, or its state's initial values)
-- once per call.  Spelled by the scalar backend's f64 table, whose pow, exp
-- and log are the runtime's libm-free ones (runtime/ieee_math.c), so the
-- constants have the same bits with every C library.
--
-- prod(x) is the product of x over the steps 1..t: a loop that evaluates
-- x's step-dependent part with each s in turn and multiplies in step order.
-- A thread-local cache keeps the last (t, hyperparameters, product): when
-- the next call asks for a later t it multiplies only the missing factors,
-- in the same order, so the bits do not depend on the cache.  Once the
-- product is zero it stays zero.
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

-- roots: invariant IR nodes; scalar: the scalar backend; out_name: the
-- array receiving root i at index i-1; nhparams: how many hyperparameters
-- the caller passes (prod's cache compares them).  Returns the C lines and
-- { hp = used, t = used }.
function M.lines(roots, scalar, out_name, nhparams)
  local lines, used, ref, nprod = {}, {}, {}, 0
  local spell = scalar.f64
  local dep = {}
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
    if n.op == "pow" and n.args[2].op == "t" and step == "(double)t" then
      -- beta^t, the common case: the same bits as pow(beta, (double)t)
      -- without pow's tests of the exponent (a new t every step).
      text = string.format("optk__pow_t(%s, t)", args[1])
    else
      text = cfmt.spell(assert(spell[n.op], n.op), args)
    end
    out[#out + 1] = string.format("%sconst double %s = %s;", pad, name, text)
  end
  for _, n in ipairs(reachable(roots)) do
    if n.op == "prod" then
      nprod = nprod + 1
      used.t = true
      local p = "optk_prod" .. nprod
      local x = n.args[1]
      -- Per thread, its address taken once (OPTK_TLS_ONCE, optk_internal.h:
      -- each use of a thread-local is otherwise a __tls_get_addr call in
      -- the shared library).
      lines[#lines + 1] = string.format(
        "static __thread struct %s_slot { int64_t t; double hp[%d]; double v; } %s_tls;", p, math.max(nhparams, 1), p)
      lines[#lines + 1] = string.format("struct %s_slot *%s_cache = &%s_tls;", p, p, p)
      lines[#lines + 1] = string.format("OPTK_TLS_ONCE(%s_cache);", p)
      lines[#lines + 1] = string.format("double %s = 1.0;", p)
      lines[#lines + 1] = "int64_t " .. p .. "_s = 1;"
      if nhparams > 0 then
        used.hp = true
        lines[#lines + 1] = string.format("if (%s_cache->t >= 1 && %s_cache->t <= t && memcmp(%s_cache->hp, hp, "
                                          .. "sizeof(double) * %d) == 0) {", p, p, p, nhparams)
      else
        lines[#lines + 1] = string.format("if (%s_cache->t >= 1 && %s_cache->t <= t) {", p, p)
      end
      lines[#lines + 1] = string.format("  %s = %s_cache->v;", p, p)
      lines[#lines + 1] = string.format("  %s_s = %s_cache->t + 1;", p, p)
      lines[#lines + 1] = "}"
      -- Zero stays zero (the loop stops there), and a t beyond PROD_MAX_STEPS
      -- makes the product NaN, which the runtime refuses (a non-finite
      -- per-call constant) rather than loop for hours.
      lines[#lines + 1] = string.format("if (t > %d)", M.PROD_MAX_STEPS)
      lines[#lines + 1] = string.format("  %s = NAN;", p)
      lines[#lines + 1] = string.format("for (; %s_s <= t && t <= %d && %s != 0; %s_s++) {", p, M.PROD_MAX_STEPS, p, p)
      -- The step-dependent part of x, again, with s for t; the rest is
      -- named already.
      local names, body = setmetatable({}, { __index = ref }), {}
      for _, m in ipairs(reachable({ x })) do
        if on_step(m, dep) then value(m, names, body, "(double)" .. p .. "_s", "  ") end
      end
      for _, l in ipairs(body) do lines[#lines + 1] = l end
      lines[#lines + 1] = string.format("  %s = %s * %s;", p, p, names[x])
      lines[#lines + 1] = "}"
      -- Only a computed product is kept (so cache.t + 1 cannot overflow).
      lines[#lines + 1] = string.format("if (t <= %d) {", M.PROD_MAX_STEPS)
      lines[#lines + 1] = string.format("  %s_cache->t = t;", p)
      if nhparams > 0 then
        lines[#lines + 1] = string.format("  memcpy(%s_cache->hp, hp, sizeof(double) * %d);", p, nhparams)
      end
      lines[#lines + 1] = string.format("  %s_cache->v = %s;", p, p)
      lines[#lines + 1] = "}"
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
