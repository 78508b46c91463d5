-- Lowers a kernel IR to C through an ISA backend table: the declarations,
-- the unrolled main loop and the remainder (a one-vector loop, then a scalar
-- tail, a masked tail or nothing, as the backend says), or one loop of
-- predicated vectors for a vector-length-agnostic backend.  Nothing here
-- knows which ISA it is spelling.
local cfmt = require("optgen.cfmt")
local guard = require("optgen.guard")
local isas = require("optgen.isas")

local M = {}

M.ctype = {}
for _, d in ipairs(isas.dtypes) do M.ctype[d.name] = d.ctype end

-- The type the arithmetic and the state use (isas.dtypes).
function M.arith(dtype) return isas.dtype[dtype].compute end

-- Storage type of an array: p and g as the kernel's dtype, state in the
-- arithmetic type.
local function storage(array, dtype)
  if array == "p" or array == "g" then return dtype end
  return M.arith(dtype)
end
M.storage = storage

-- Index of unroll slot j's first element.  lanes is a number, or for a
-- vector-length-agnostic backend a C expression.
local function index(j, lanes)
  if j == 0 then return "i" end
  if type(lanes) == "number" then return "i + " .. j * lanes end
  return j == 1 and "i + " .. lanes or "i + " .. j .. " * " .. lanes
end

-- Per-element statements for unroll slot j.  cx: the lowering context
-- (backend, dtype, name prefix, element index, optional mask name prefix:
-- slot j's mask is named prefix .. j).
local function element(kir, cx, j, out)
  local be, at, dtype = cx.be, cx.be[M.arith(cx.dtype)], cx.dtype
  local sched, names, ops = kir.sched, {}, 0
  local sfx = cx.unrolled and "_" .. j or ""
  local idx = index(j, at.lanes)
  local mask = cx.mask and cx.mask .. j
  local function ref(n)
    local s = sched.slot_of[n]
    if s then return cx.prefix .. (s.slot and "k" .. s.slot or "l" .. s.literal) end
    return names[n]
  end
  for _, n in ipairs(sched.elem) do
    local text
    if n.op == "load" then
      names[n] = cx.prefix .. "v" .. n.name .. sfx
      local src = storage(n.name, dtype)
      text = mask and cfmt.spell(be.load_masked[src], { n.name, idx, mask })
                      or cfmt.spell(be.load[src], { n.name, idx })
    else
      ops = ops + 1
      names[n] = cx.prefix .. "t" .. ops .. sfx
      local args = {}
      for i, a in ipairs(n.args) do args[i] = ref(a) end
      text = cfmt.spell(assert(guard.spelling(at, n.op), "backend lacks " .. n.op), args)
    end
    out[#out + 1] = string.format("const %s %s = %s;", n.ty == "mask" and at.mtype or at.vtype, names[n], text)
  end
  for _, s in ipairs(kir.stores) do
    local dst = storage(s.array, dtype)
    local store = not mask and (cx.nt and be.store_nt and be.store_nt[dst] or be.store[dst])
    out[#out + 1] = (mask and cfmt.spell(be.store_masked[dst], { s.array, idx, ref(s.node), mask })
                     or cfmt.spell(store, { s.array, idx, ref(s.node) })) .. ";"
  end
end

local function block(kir, cx, unroll)
  local out = {}
  for j = 0, unroll - 1 do element(kir, cx, j, out) end
  return out
end

local function indent(lines, pad)
  local r = {}
  for i, l in ipairs(lines) do r[i] = pad .. l end
  return r
end

local function loop(head, lines, out)
  out[#out + 1] = head .. " {"
  for _, l in ipairs(indent(lines, "  ")) do out[#out + 1] = l end
  out[#out + 1] = "}"
end

-- Declarations of the constants a backend's code uses: k<slot> from the
-- per-call array c, l<n> literals.
local function constants(kir, be, dtype, prefix, out)
  local at = be[M.arith(dtype)]
  for i = 1, #kir.sched.slots do
    out[#out + 1] = string.format("const %s %sk%d = %s;", at.vtype, prefix, i,
                                  cfmt.spell(at.splat, { "c[" .. (i - 1) .. "]" }))
  end
  for i, n in ipairs(kir.sched.literals) do
    local value = cfmt.literal(n.value, M.arith(dtype))
    out[#out + 1] = string.format("const %s %sl%d = %s;", at.vtype, prefix, i, cfmt.spell(at.splat, { value }))
  end
end

M.bytes = {}
for _, d in ipairs(isas.dtypes) do M.bytes[d.name] = d.bytes end
M.LINE = 64 -- cache line bytes, for prefetch distances

-- The arrays a kernel streams (loaded or stored), each once, in order.
local function arrays(kir)
  local out, seen = {}, {}
  local function add(a) if not seen[a] then seen[a], out[#out + 1] = true, a end end
  for _, n in ipairs(kir.sched.elem) do if n.op == "load" then add(n.name) end end
  for _, s in ipairs(kir.stores) do add(s.array) end
  return out
end

-- Prefetches of the main loop: for every streamed array, each cache line of
-- the tile dist lines ahead.  The backend spells one (array, index, byte
-- offset); without a spelling, __builtin_prefetch.
local function prefetches(kir, be, dtype, tile, dist)
  local out = {}
  if not dist or dist == 0 then return out end
  local spell = be.prefetch or "__builtin_prefetch((const char *)((uintptr_t)($1 + $2) + $3))"
  for _, a in ipairs(arrays(kir)) do
    local lines = math.ceil(M.bytes[storage(a, dtype)] * tile / M.LINE)
    for k = 0, lines - 1 do
      out[#out + 1] = cfmt.spell(spell, { a, "i", tostring((dist + k) * M.LINE) }) .. ";"
    end
  end
  return out
end

-- The arrays stored with non-temporal stores (their storage type has one).
local function nt_arrays(kir, be, dtype)
  local out = {}
  for _, s in ipairs(kir.stores) do
    if be.store_nt and be.store_nt[storage(s.array, dtype)] then out[#out + 1] = s.array end
  end
  return out
end

-- Whether knobs (a variant: { unroll, pf, al, nt }) apply to backend be.
function M.supports(be, knobs)
  if knobs.al and (knobs.nt or not be.nt_align or be.tail == "predicated") then
    return false, "no aligning peel"
  end
  if knobs.nt and not (be.store_nt and be.tail ~= "predicated") then return false, "no non-temporal stores" end
  if (knobs.pf or 0) > 0 and be.tail == "predicated" then return false, "no prefetch" end
  return true
end

-- Returns { setup = lines, loops = lines } for kernel IR kir on backend be
-- (tail_be: the backend of the scalar tail, when be has one), dtype and
-- unroll (vectors per main-loop iteration); knobs (optional) adds software
-- prefetch (pf: cache lines ahead) and non-temporal stores (nt) to the main
-- loop, which then runs over an aligned stretch after a peel; al peels to
-- align without streaming.
function M.kernel(kir, be, tail_be, dtype, unroll, knobs)
  knobs = knobs or {}
  local at = be[M.arith(dtype)]
  local setup, loops = {}, {}
  local ct, act = M.ctype[dtype], M.ctype[M.arith(dtype)]
  setup[#setup + 1] = string.format("%s *restrict p = param;", ct)
  setup[#setup + 1] = string.format("const %s *restrict g = grad;", ct)
  for i, s in ipairs(kir.spec.state) do
    setup[#setup + 1] = string.format("%s *restrict %s = state[%d];", act, s.name, i - 1)
  end
  -- A two-phase kernel's scratch arrays follow the state (optgen.phases).
  local nscratch = kir.nscratch or 0
  for i = 0, nscratch - 1 do
    setup[#setup + 1] = string.format("%s *restrict n%d = state[%d];", act, i, #kir.spec.state + i)
  end
  if #kir.spec.state + nscratch == 0 then setup[#setup + 1] = "(void)state;" end
  -- One phase of a two-phase kernel may leave arrays alone.
  local touched, declared = {}, { "p", "g" }
  for _, a in ipairs(arrays(kir)) do touched[a] = true end
  for _, s in ipairs(kir.spec.state) do declared[#declared + 1] = s.name end
  for i = 0, nscratch - 1 do declared[#declared + 1] = "n" .. i end
  for _, a in ipairs(declared) do
    if not touched[a] then setup[#setup + 1] = "(void)" .. a .. ";" end
  end
  if #kir.sched.slots > 0 then
    setup[#setup + 1] = string.format("const %s *c = consts;", act)
  else
    setup[#setup + 1] = "(void)consts;"
  end
  constants(kir, be, dtype, "", setup)
  local lanes = at.lanes
  local function cx(b, prefix, unrolled, mask)
    return { be = b, dtype = dtype, prefix = prefix, unrolled = unrolled, mask = mask }
  end
  if be.tail == "scalar" then constants(kir, tail_be, dtype, "s", setup) end
  setup[#setup + 1] = "size_t i = 0;"
  if be.tail == "predicated" then
    -- Lanes are known at run time only: every vector is predicated by its
    -- own mask m<j> (the backend's predicate from the slot's first index), so no tail.
    local body = {}
    for j = 0, unroll - 1 do
      local mask = cfmt.spell(at.predicate, { index(j, lanes) })
      body[#body + 1] = string.format("const %s m%d = %s;", at.mtype, j, mask)
    end
    for _, l in ipairs(block(kir, cx(be, "", unroll > 1, "m"), unroll)) do body[#body + 1] = l end
    loop(string.format("for (; i < n; i += %s)", unroll == 1 and lanes or unroll .. " * " .. lanes), body, loops)
    return { setup = setup, loops = loops }
  end
  local tile = lanes * unroll
  if tile == 1 then
    loop("for (; i < n; i++)", block(kir, cx(be, "", false), 1), loops)
    return { setup = setup, loops = loops }
  end
  local pf = prefetches(kir, be, dtype, tile, knobs.pf)
  local function main(c)
    local body = {}
    for _, l in ipairs(pf) do body[#body + 1] = l end
    for _, l in ipairs(block(kir, c, unroll)) do body[#body + 1] = l end
    loop(string.format("for (; i + %d <= n; i += %d)", tile, tile), body, loops)
  end
  local nt = knobs.nt and nt_arrays(kir, be, dtype) or {}
  if #nt > 0 or knobs.al then
    -- Peel r0 elements (fewer than one vector) so the first streamed (al:
    -- stored state, else p) array is aligned; the streaming loop runs only
    -- if every streamed array is.
    local a = nt[1] or nt_arrays(kir, be, dtype)[1] or "p"
    -- A masked peel covers at most one vector of a's elements.
    local align = be.nt_align
    if type(lanes) == "number" then align = math.min(align, lanes * M.bytes[storage(a, dtype)]) end
    loops[#loops + 1] = string.format("size_t r0 = (size_t)((0u - (uintptr_t)%s) & %du) / sizeof *%s;", a, align - 1, a)
    loops[#loops + 1] = "if (r0 > n) r0 = n;"
    if be.tail == "scalar" then
      loop("for (; i < r0; i++)", block(kir, cx(tail_be, "s", false), 1), loops)
    else
      local body = { string.format("const %s m0 = %s;", at.tail_mtype, cfmt.spell(at.tail_mask, { "r0" })) }
      for _, l in ipairs(block(kir, cx(be, "", true, "m"), 1)) do body[#body + 1] = l end
      body[#body + 1] = "i = r0;"
      loop("if (r0 > 0)", body, loops)
    end
  end
  if #nt > 0 then
    local align = be.nt_align
    local addrs = {}
    for _, x in ipairs(nt) do addrs[#addrs + 1] = "(uintptr_t)(" .. x .. " + i)" end
    loops[#loops + 1] = string.format("if (((%s) & %du) == 0) {", table.concat(addrs, " | "), align - 1)
    local outer = loops
    loops = {}
    local c = cx(be, "", true)
    c.nt = true
    main(c)
    loops[#loops + 1] = be.nt_fence .. ";"
    for _, l in ipairs(indent(loops, "  ")) do outer[#outer + 1] = l end
    outer[#outer + 1] = "}"
    loops = outer
  end
  main(cx(be, "", true))
  if unroll > 1 then
    loop(string.format("for (; i + %d <= n; i += %d)", lanes, lanes), block(kir, cx(be, "", true), 1), loops)
  end
  if be.tail == "scalar" then
    loop("for (; i < n; i++)", block(kir, cx(tail_be, "s", false), 1), loops)
  elseif be.tail == "none" then
    assert(lanes == 1, "backend " .. be.isa .. ": only one-lane backends need no tail")
  elseif be.tail == "masked" then
    -- m0: letter+digit names cannot name arrays (optgen.spec), so no clash.
    local body = { string.format("const %s m0 = %s;", at.tail_mtype, cfmt.spell(at.tail_mask, { "n - i" })) }
    for _, l in ipairs(block(kir, cx(be, "", true, "m"), 1)) do body[#body + 1] = l end
    loop("if (i < n)", body, loops)
  else
    error("backend " .. be.isa .. ": unknown tail '" .. tostring(be.tail) .. "'")
  end
  return { setup = setup, loops = loops }
end

-- Operation counts per element, for the kernel's header comment.
function M.cost(kir)
  local loads, counts, order = 0, {}, {}
  for _, n in ipairs(kir.sched.elem) do
    if n.op == "load" then
      loads = loads + 1
    else
      if not counts[n.op] then counts[n.op] = 0; order[#order + 1] = n.op end
      counts[n.op] = counts[n.op] + 1
    end
  end
  local parts = { loads .. " loads", #kir.stores .. " stores" }
  for _, op in ipairs(order) do parts[#parts + 1] = counts[op] .. " " .. op end
  return table.concat(parts, ", ")
end

return M
