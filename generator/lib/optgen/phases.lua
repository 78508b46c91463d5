-- Two-phase kernels, for updates that use a per-tensor norm (LAMB's trust
-- ratio).  norm(x) needs every element's x before any element can use it,
-- so such a kernel runs twice over the arrays:
--   phase 1 stores what does not depend on a norm (the state), and writes
--     each per-element value that phase 2 needs, or that a norm is taken
--     of, into a scratch array (n0, n1, ...; letter+digit names cannot
--     name state arrays, so they never clash);
--   the runtime takes the norms of those arrays with its reproducible sum;
--   phase 2 stores the rest (the parameter), reading the scratch arrays,
--     with the per-tensor values computed from the norms by prep2.
-- Phase 2 never recomputes phase 1's values, so it cannot read an array
-- phase 1 overwrote: such a value is carried in scratch too.  Nor does it
-- read the gradient (the group step forms a scaled one block by block in
-- phase 1 only), and every norm is of p or of a scratch array: the
-- runtime takes the norms block by block in phase 1, on the values the
-- kernel used.  The parameter's update must use a norm, so phase 1 never
-- writes p (the norm of p is of p before the step).
local diag = require("optgen.diag")
local ir = require("optgen.ir")
local limits = require("optgen.limits")

local M = {}

-- k: the kernel spec; roots: the final value of each array in names (p,
-- then state); inits: state initial values; nnorms: how many norms.
function M.split(k, roots, names, inits, nnorms)
  local later, stored_first = {}, {}
  for i, r in ipairs(roots) do
    if r.tensor then later[#later + 1] = i else stored_first[names[i]] = true end
  end
  if #later == 0 then
    diag.at(k.update_origin, 1, 1, "%s: a norm() that no stored value uses", k.name)
  end
  if not roots[1].tensor then
    diag.at(k.update_origin, 1, 1, "%s: norm() is used, but the parameter's update does not depend on it "
            .. "(a two-phase kernel's phase 1 must leave p alone)", k.name)
  end

  -- Scratch arrays: per-element nodes of phase 1 that phase 2 or a norm
  -- reads, each computed once.
  local scratch, index_of = {}, {}
  local function materialize(n)
    if not index_of[n] then
      scratch[#scratch + 1] = n
      index_of[n] = #scratch - 1
    end
    return "n" .. index_of[n]
  end

  -- Phase 2's roots, rebuilt: norms become tnorm leaves, invariant and mask
  -- nodes are rebuilt, other per-element values come from scratch.
  local b2, memo = ir.builder(), {}
  local function cut(n)
    local r = memo[n]
    if r then return r end
    if n.op == "norm" then
      r = b2:tnorm(n.value)
    elseif n.op == "const" then
      r = b2:const(n.value)
    elseif n.op == "hparam" then
      r = b2:hparam(n.name, n.value)
    elseif n.op == "t" then
      r = b2:step()
    elseif n.op == "load" and n.name ~= "g" and not stored_first[n.name] then
      r = b2:load(n.name)
    elseif n.pinned then
      r = b2:pinned_ne(cut(n.args[1]))
    elseif n.inv or n.tensor or n.ty == "mask" then
      local args = {}
      for i, a in ipairs(n.args) do args[i] = cut(a) end
      r = b2:op(n.op, unpack(args))
    else
      r = b2:load(materialize(n))
    end
    memo[n] = r
    return r
  end
  local later_roots = {}
  for i, idx in ipairs(later) do later_roots[i] = cut(roots[idx]) end

  -- The arrays the runtime takes the norms of.
  local norm_arrays = {}
  local function collect(n, seen)
    if seen[n] then return end
    seen[n] = true
    if n.op == "norm" then
      local x = n.args[1]
      norm_arrays[n.value + 1] = x.op == "load" and x.name == "p" and "p" or materialize(x)
    end
    for _, a in ipairs(n.args) do collect(a, seen) end
  end
  local seen = {}
  for _, idx in ipairs(later) do collect(roots[idx], seen) end
  for i = 1, nnorms do
    if not norm_arrays[i] then diag.at(k.update_origin, 1, 1, "%s: norm %d is not used", k.name, i) end
  end
  if #k.state + #scratch > limits.state then
    diag.at(k.update_origin, 1, 1, "%s: %d state and scratch arrays, more than the runtime's %d", k.name,
            #k.state + #scratch, limits.state)
  end

  -- Phase 1: the stores that need no norm, then the scratch values.
  local first_roots, first_names = {}, {}
  for i, r in ipairs(roots) do
    if not r.tensor then first_roots[#first_roots + 1], first_names[#first_names + 1] = r, names[i] end
  end
  for i, n in ipairs(scratch) do first_roots[#first_roots + 1], first_names[#first_names + 1] = n, "n" .. i - 1 end
  local function phase(rs, ns)
    local fused = ir.contract(rs)
    local stores = {}
    for i, name in ipairs(ns) do stores[i] = { array = name, node = fused[i] } end
    local sched = ir.schedule(fused)
    if #sched.slots > limits.consts then
      diag.at(k.update_origin, 1, 1, "%s: %d per-call constants, more than the runtime's %d", k.name,
              #sched.slots, limits.consts)
    end
    return stores, sched
  end
  local stores, sched = phase(first_roots, first_names)
  local later_names = {}
  for i, idx in ipairs(later) do later_names[i] = names[idx] end
  local stores2, sched2 = phase(later_roots, later_names)
  return { spec = k, stores = stores, sched = sched, inits = inits, nscratch = #scratch,
           norms = norm_arrays, phase2 = { spec = k, stores = stores2, sched = sched2, nscratch = #scratch } }
end

return M
