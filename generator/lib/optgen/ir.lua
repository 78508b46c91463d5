-- The IR: a DAG of hash-consed nodes, so equal subexpressions are one node
-- (common-subexpression elimination) and constant operands fold as nodes are
-- made.  A node is invariant (inv) when it depends on no array element: such
-- nodes are hoisted out of the loop and computed once per call, in double.
local M = {}

-- op -> arity, operand types, result type ("num" or "mask").
local ops = {
  add = { 2, "nn", "num" }, sub = { 2, "nn", "num" }, mul = { 2, "nn", "num" }, div = { 2, "nn", "num" },
  neg = { 1, "n", "num" }, sqrt = { 1, "n", "num" }, abs = { 1, "n", "num" },
  min = { 2, "nn", "num" }, max = { 2, "nn", "num" },
  fma = { 3, "nnn", "num" },   -- a*b + c, one rounding
  fms = { 3, "nnn", "num" },   -- a*b - c
  fnma = { 3, "nnn", "num" },  -- c - a*b
  lt = { 2, "nn", "mask" }, le = { 2, "nn", "mask" }, gt = { 2, "nn", "mask" },
  ge = { 2, "nn", "mask" }, eq = { 2, "nn", "mask" }, ne = { 2, "nn", "mask" },
  select = { 3, "mnn", "num" }, -- m ? a : b
  pow = { 2, "nn", "num" },    -- x^y: y per call; per element too (the runtime's pow, lane by lane)
  exp = { 1, "n", "num" }, log = { 1, "n", "num" }, -- per call only (optgen.translate checks)
  prod = { 1, "n", "num" },   -- per call: the product of the operand over the steps 1..t
  norm = { 1, "n", "num" },   -- per tensor: the L2 norm of a per-element operand (optgen.phases)
}
M.ops = ops

-- Folding in double precision, as the per-call code computes.  pow, exp and
-- log are not folded: the per-call code computes them with the runtime's own
-- functions (runtime/ieee_math.c), whose bits LuaJIT's libm need not share.
local fold = {
  add = function(a, b) return a + b end, sub = function(a, b) return a - b end,
  mul = function(a, b) return a * b end, div = function(a, b) return a / b end,
  neg = function(a) return -a end, sqrt = math.sqrt, abs = math.abs,
  min = function(a, b) if a < b then return a end return b end,
  max = function(a, b) if a > b then return a end return b end,
}
local commutative = { add = true, mul = true, eq = true, ne = true }

local Builder = {}
Builder.__index = Builder

function M.builder()
  return setmetatable({ nodes = {}, index = {} }, Builder)
end

local function const_key(v)
  if v ~= v then return "nan" end
  if v == 0 then return 1 / v > 0 and "+0" or "-0" end
  return string.format("%a", v)
end

function Builder:intern(op, args, attrs)
  local parts = { op }
  for i, a in ipairs(args) do parts[i + 1] = a.id end
  if attrs.value ~= nil then parts[#parts + 1] = const_key(attrs.value) end
  if attrs.name then parts[#parts + 1] = attrs.name end
  if attrs.pinned then parts[#parts + 1] = "pinned" end
  local key = table.concat(parts, ",")
  local n = self.index[key]
  if n then return n end
  local inv, tensor = attrs.inv, attrs.tensor or false
  if inv == nil then
    inv = true
    for _, a in ipairs(args) do inv = inv and a.inv end
  end
  for _, a in ipairs(args) do tensor = tensor or a.tensor end
  -- tensor: depends on a per-tensor norm, so known only after a first pass
  -- over the arrays (optgen.phases).
  n = { id = #self.nodes + 1, op = op, args = args, value = attrs.value, name = attrs.name,
        inv = inv, ty = attrs.ty or "num", pinned = attrs.pinned, tensor = tensor }
  self.nodes[n.id] = n
  self.index[key] = n
  return n
end

function Builder:const(v) return self:intern("const", {}, { value = v, inv = true }) end
function Builder:hparam(name, index) return self:intern("hparam", {}, { name = name, value = index, inv = true }) end
function Builder:step() return self:intern("t", {}, { inv = true }) end
function Builder:load(array) return self:intern("load", {}, { name = array, inv = false }) end
-- norm(x): the L2 norm of per-element x over the tensor, the index-th norm
-- of the kernel; tnorm(index): its value, a leaf of the second phase.
function Builder:norm(x, index) return self:intern("norm", { x }, { value = index, inv = true, tensor = true }) end
function Builder:tnorm(index) return self:intern("tnorm", {}, { value = index, inv = true, tensor = true }) end

-- A per-call condition made per-element: the per-call code computes m as
-- 1 or 0 (an invariant select), and each element tests that value against
-- zero.  The test is pinned per element although its operands are
-- invariant, because a mask cannot travel through the per-call constants
-- (they are numbers); the C compiler hoists it out of the loop.
function Builder:truth(m)
  assert(m.ty == "mask" and m.inv)
  return self:pinned_ne(self:op("select", m, self:const(1), self:const(0)))
end

function Builder:pinned_ne(x)
  return self:intern("ne", { x, self:const(0) }, { inv = false, ty = "mask", pinned = true })
end

local function is_const(n, v)
  return n.op == "const" and n.value == v and (v ~= 0 or 1 / n.value == 1 / v)
end

-- Makes op(args...), folding constants and exact identities (x*1, x/1,
-- x-0, x+(-0), --x): those hold bit for bit in IEEE arithmetic.
function Builder:op(op, ...)
  local args = { ... }
  local spec = assert(ops[op], op)
  assert(#args == spec[1], op)
  local a, b = args[1], args[2]
  if fold[op] then
    local all = true
    for _, x in ipairs(args) do all = all and x.op == "const" end
    if all then return self:const(fold[op](a.value, b and b.value)) end
  end
  if op == "mul" and is_const(b, 1) or op == "div" and is_const(b, 1)
     or op == "sub" and is_const(b, 0) or op == "add" and is_const(b, -0.0) then
    return a
  end
  if op == "mul" and is_const(a, 1) or op == "add" and is_const(a, -0.0) then return b end
  if op == "neg" and a.op == "neg" then return a.args[1] end
  if commutative[op] and b.id < a.id then args[1], args[2] = b, a end
  return self:intern(op, args, { ty = spec[3] })
end

-- Contraction: a*b + c, a*b - c and c - a*b become one fused operation when
-- the product is per-element and used only there.  The IR, not the C
-- compiler, decides every fusion, so every ISA rounds the same way.
-- Returns the roots rebuilt in a new builder.
function M.contract(roots)
  local uses, seen = {}, {}
  local function count(n)
    if seen[n] then return end
    seen[n] = true
    for _, a in ipairs(n.args) do
      if not n.inv then uses[a] = (uses[a] or 0) + 1 end
      count(a)
    end
  end
  for _, r in ipairs(roots) do
    uses[r] = (uses[r] or 0) + 1 -- a stored value is a use
    count(r)
  end
  local nb, memo = M.builder(), {}
  local function product(x)
    return x.op == "mul" and not x.inv and uses[x] == 1
  end
  local tr
  local function rebuild(n)
    local op, a, b = n.op, n.args[1], n.args[2]
    if op == "add" and product(a) then return nb:op("fma", tr(a.args[1]), tr(a.args[2]), tr(b)) end
    if op == "add" and product(b) then return nb:op("fma", tr(b.args[1]), tr(b.args[2]), tr(a)) end
    if op == "sub" and product(b) then return nb:op("fnma", tr(b.args[1]), tr(b.args[2]), tr(a)) end
    if op == "sub" and product(a) then return nb:op("fms", tr(a.args[1]), tr(a.args[2]), tr(b)) end
    if op == "const" then return nb:const(n.value) end
    if op == "hparam" then return nb:hparam(n.name, n.value) end
    if op == "t" then return nb:step() end
    if op == "load" then return nb:load(n.name) end
    if op == "tnorm" then return nb:tnorm(n.value) end
    if n.pinned then return nb:pinned_ne(tr(a)) end
    local args = {}
    for i, x in ipairs(n.args) do args[i] = tr(x) end
    return nb:op(op, unpack(args))
  end
  tr = function(n)
    local r = memo[n]
    if not r then r = rebuild(n); memo[n] = r end
    return r
  end
  local out = {}
  for i, r in ipairs(roots) do out[i] = tr(r) end
  return out, nb
end

-- Schedules a finished update: the per-element nodes in order, the
-- invariant nodes they use, split into literals (emitted as constants) and
-- slots (computed per call into the consts array), and the invariant nodes
-- the per-call code must compute, in order.
function M.schedule(roots)
  local reach = {}
  local function mark(n)
    if reach[n] then return end
    reach[n] = true
    for _, a in ipairs(n.args) do mark(a) end
  end
  for _, r in ipairs(roots) do mark(r) end
  local all = {}
  for n in pairs(reach) do all[#all + 1] = n end
  table.sort(all, function(x, y) return x.id < y.id end)

  local elem, literals, slots, slot_of = {}, {}, {}, {}
  local function use_inv(n)
    if slot_of[n] then return end
    if n.op == "const" then
      literals[#literals + 1] = n
      slot_of[n] = { literal = #literals }
    else
      slots[#slots + 1] = n
      slot_of[n] = { slot = #slots }
    end
  end
  for _, n in ipairs(all) do
    if not n.inv then
      elem[#elem + 1] = n
      for _, a in ipairs(n.args) do
        if a.inv then use_inv(a) end
      end
    end
  end
  for _, r in ipairs(roots) do
    if r.inv then use_inv(r) end
  end
  -- Invariant nodes the slots need, in dependency (id) order.
  local need = {}
  local function want(n)
    if need[n] then return end
    need[n] = true
    for _, a in ipairs(n.args) do want(a) end
  end
  for _, s in ipairs(slots) do want(s) end
  local prep = {}
  for _, n in ipairs(all) do
    if need[n] then prep[#prep + 1] = n end
  end
  return { elem = elem, literals = literals, slots = slots, slot_of = slot_of, prep = prep }
end

return M
