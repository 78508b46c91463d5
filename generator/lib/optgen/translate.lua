-- Translates a kernel spec's statements into the IR: names are resolved,
-- types checked, per-call scalars and state initial values made invariant.
local diag = require("optgen.diag")
local ir = require("optgen.ir")
local limits = require("optgen.limits")
local phases = require("optgen.phases")

local M = {}

local calls = { sqrt = 1, abs = 1, min = 2, max = 2, sign = 1, select = 3, fma = 3, exp = 1, log = 1, prod = 1,
                norm = 1 }

-- Converts an expression AST into IR nodes.  env maps names to nodes.
local function expr(b, e, env, o)
  local function fail(fmt, ...) diag.at(o, e.line, e.col, fmt, ...) end
  local function num(x, what)
    local n = expr(b, x, env, o)
    if n.ty ~= "num" then diag.at(o, x.line, x.col, "a comparison cannot be used as %s", what) end
    return n
  end
  if e.k == "num" then return b:const(e.v) end
  if e.k == "name" then
    local n = env[e.name]
    if not n then fail("unknown name '%s'", e.name) end
    return n
  end
  if e.k == "neg" then return b:op("neg", num(e.a, "an operand of '-'")) end
  if e.k == "bin" then
    local a, c = num(e.a, "an operand"), num(e.b, "an operand")
    if e.op == "pow" and not c.inv then
      fail("'^' needs a per-call exponent (hyperparameters, t, scalars)")
    end
    return b:op(e.op, a, c)
  end
  -- e.k == "call"
  local want = calls[e.fn]
  if not want then fail("unknown function '%s'", e.fn) end
  if #e.args ~= want then fail("%s() takes %d argument%s, not %d", e.fn, want, want == 1 and "" or "s", #e.args) end
  -- b.context: where per-element values do not exist (per-call scalars,
  -- initial values), so neither does a per-tensor norm.
  if e.fn == "norm" and b.context then fail("norm() is per tensor: it cannot be used in %s", b.context) end
  if e.fn == "select" then
    local m = expr(b, e.args[1], env, o)
    if m.ty ~= "mask" then
      diag.at(o, e.args[1].line, e.args[1].col, "select() needs a comparison as its first argument")
    end
    local x, y = num(e.args[2], "a select() value"), num(e.args[3], "a select() value")
    -- A per-call condition choosing between per-element values.
    if m.inv and not (x.inv and y.inv) then m = b:truth(m) end
    return b:op("select", m, x, y)
  end
  local args = {}
  for i, x in ipairs(e.args) do args[i] = num(x, "an argument of " .. e.fn .. "()") end
  if (e.fn == "exp" or e.fn == "log" or e.fn == "prod") and not args[1].inv then
    fail("%s() needs a per-call operand (hyperparameters, t, scalars)", e.fn)
  end
  if e.fn == "prod" and args[1].tensor then fail("prod() cannot take a value that depends on a norm()") end
  if e.fn == "norm" then
    if args[1].tensor then fail("nested norm(): its operand depends on another norm()") end
    if args[1].inv then
      fail("norm() needs a per-element operand (p, g, state or values computed from them), not a per-call one")
    end
    b.norms = b.norms or {}
    for i, x in ipairs(b.norms) do
      if x == args[1] then return b:norm(x, i - 1) end
    end
    b.norms[#b.norms + 1] = args[1]
    return b:norm(args[1], #b.norms - 1)
  end
  if e.fn == "sign" then
    -- sign(x): 1 for x > 0, -1 for x < 0, and x itself for +-0 and NaN.
    local x, zero = args[1], b:const(0)
    return b:op("select", b:op("gt", x, zero), b:const(1),
                b:op("select", b:op("lt", x, zero), b:const(-1), x))
  end
  return b:op(e.fn, unpack(args))
end

-- Returns the kernel IR of kernel spec k:
--   stores: { {array, node} } in array order (p first, then state)
--   sched: ir.schedule of the stored values
--   inits: { node } per state array, invariant (double) expressions of hparams
-- Baked hyperparameters (k.baked: { {name, value} }) are constants, folded
-- like any other.
function M.kernel(k)
  local b = ir.builder()
  local env, kinds = {}, {}
  local function bind(name, node, kind) env[name], kinds[name] = node, kind end
  for i, h in ipairs(k.hparams) do bind(h.name, b:hparam(h.name, i - 1), "hyperparameter") end
  for _, h in ipairs(k.baked or {}) do bind(h.name, b:const(h.value), "hyperparameter") end
  bind("t", b:step(), "step")

  -- State initial values: functions of the hyperparameters only.
  local inits = {}
  local ib, ienv = ir.builder(), {}
  ib.context = "a state array's initial value"
  for i, h in ipairs(k.hparams) do ienv[h.name] = ib:hparam(h.name, i - 1) end
  for _, h in ipairs(k.baked or {}) do ienv[h.name] = ib:const(h.value) end
  for _, s in ipairs(k.state) do
    inits[#inits + 1] = expr(ib, s.init, ienv, s.origin)
  end

  b.context = "a per-call scalar"
  for _, st in ipairs(k.scalars) do
    local o = k.scalars_origin
    if kinds[st.target] then diag.at(o, st.line, st.col, "'%s' is already a %s", st.target, kinds[st.target]) end
    local n = expr(b, st.expr, env, o)
    if n.ty ~= "num" then diag.at(o, st.line, st.col, "scalar '%s' must be a number, not a comparison", st.target) end
    bind(st.target, n, "scalar")
  end

  b.context = nil
  bind("p", b:load("p"), "param")
  bind("g", b:load("g"), "gradient")
  for _, s in ipairs(k.state) do bind(s.name, b:load(s.name), "state") end
  local assigned = {}
  for _, st in ipairs(k.update) do
    local o, kind = k.update_origin, kinds[st.target]
    if kind and kind ~= "param" and kind ~= "state" and kind ~= "local" then
      diag.at(o, st.line, st.col, "cannot assign to %s '%s'", kind, st.target)
    end
    local n = expr(b, st.expr, env, o)
    if n.ty ~= "num" then diag.at(o, st.line, st.col, "'%s' must be a number, not a comparison", st.target) end
    bind(st.target, n, kind or "local")
    assigned[st.target] = true
  end
  local names = { "p" }
  for _, s in ipairs(k.state) do names[#names + 1] = s.name end
  local roots = {}
  for i, name in ipairs(names) do
    if not assigned[name] then
      diag.at(k.update_origin, 1, 1, "%s: the update never assigns %s '%s'", k.name,
              name == "p" and "the parameter" or "state array", name)
    end
    roots[i] = env[name]
  end
  if b.norms then return phases.split(k, roots, names, inits, #b.norms) end
  local fused = ir.contract(roots)
  local stores = {}
  for i, name in ipairs(names) do stores[i] = { array = name, node = fused[i] } end
  local sched = ir.schedule(fused)
  if #sched.slots > limits.consts then
    diag.at(k.update_origin, 1, 1, "%s: %d per-call constants, more than the runtime's %d", k.name,
            #sched.slots, limits.consts)
  end
  return { spec = k, stores = stores, sched = sched, inits = inits }
end

return M
