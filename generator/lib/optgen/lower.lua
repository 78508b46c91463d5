-- Lowers a kernel IR to C through an ISA backend table: the declarations,
-- the unrolled main loop and the remainder (a one-vector loop, then a scalar
-- tail, a masked tail or nothing, as the backend says).  Nothing here knows
-- which ISA it is spelling.
local cfmt = require("optgen.cfmt")

local M = {}

M.ctype = { f32 = "float", f64 = "double", bf16 = "uint16_t", f16 = "uint16_t" }

function M.arith(dtype) return dtype == "f64" and "f64" or "f32" end

-- Storage type of an array: p and g as the kernel's dtype, state in the
-- arithmetic type.
local function storage(array, dtype)
  if array == "p" or array == "g" then return dtype end
  return M.arith(dtype)
end

-- Per-element statements for unroll slot j.  cx: the lowering context
-- (backend, dtype, name prefix, element index, optional tail mask).
local function element(kir, cx, j, out)
  local be, at, dtype = cx.be, cx.be[M.arith(cx.dtype)], cx.dtype
  local sched, names, ops = kir.sched, {}, 0
  local sfx = cx.unrolled and "_" .. j or ""
  local idx = j == 0 and "i" or "i + " .. j * at.lanes
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
      text = cx.mask and cfmt.spell(be.load_masked[src], { n.name, idx, cx.mask })
                      or cfmt.spell(be.load[src], { n.name, idx })
    else
      ops = ops + 1
      names[n] = cx.prefix .. "t" .. ops .. sfx
      local args = {}
      for i, a in ipairs(n.args) do args[i] = ref(a) end
      text = cfmt.spell(assert(at[n.op], "backend lacks " .. n.op), args)
    end
    out[#out + 1] = string.format("const %s %s = %s;", n.ty == "mask" and at.mtype or at.vtype, names[n], text)
  end
  for _, s in ipairs(kir.stores) do
    local dst = storage(s.array, dtype)
    out[#out + 1] = (cx.mask and cfmt.spell(be.store_masked[dst], { s.array, idx, ref(s.node), cx.mask })
                     or cfmt.spell(be.store[dst], { s.array, idx, ref(s.node) })) .. ";"
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
  local lit = M.arith(dtype) == "f64" and cfmt.double or cfmt.float
  for i = 1, #kir.sched.slots do
    out[#out + 1] = string.format("const %s %sk%d = %s;", at.vtype, prefix, i,
                                  cfmt.spell(at.splat, { "c[" .. (i - 1) .. "]" }))
  end
  for i, n in ipairs(kir.sched.literals) do
    out[#out + 1] = string.format("const %s %sl%d = %s;", at.vtype, prefix, i, cfmt.spell(at.splat, { lit(n.value) }))
  end
end

-- Returns { setup = lines, loops = lines } for kernel IR kir on backend be
-- (tail_be: the backend of the scalar tail, when be has one), dtype and
-- unroll (vectors per main-loop iteration).
function M.kernel(kir, be, tail_be, dtype, unroll)
  local at = be[M.arith(dtype)]
  local setup, loops = {}, {}
  local ct, act = M.ctype[dtype], M.ctype[M.arith(dtype)]
  setup[#setup + 1] = string.format("%s *restrict p = param;", ct)
  setup[#setup + 1] = string.format("const %s *restrict g = grad;", ct)
  for i, s in ipairs(kir.spec.state) do
    setup[#setup + 1] = string.format("%s *restrict %s = state[%d];", act, s.name, i - 1)
  end
  if #kir.spec.state == 0 then setup[#setup + 1] = "(void)state;" end
  if #kir.sched.slots > 0 then
    setup[#setup + 1] = string.format("const %s *c = consts;", act)
  else
    setup[#setup + 1] = "(void)consts;"
  end
  constants(kir, be, dtype, "", setup)
  local lanes, tile = at.lanes, at.lanes * unroll
  local function cx(b, prefix, unrolled, mask)
    return { be = b, dtype = dtype, prefix = prefix, unrolled = unrolled, mask = mask }
  end
  if be.tail == "scalar" then constants(kir, tail_be, dtype, "s", setup) end
  setup[#setup + 1] = "size_t i = 0;"
  if tile == 1 then
    loop("for (; i < n; i++)", block(kir, cx(be, "", false), 1), loops)
    return { setup = setup, loops = loops }
  end
  loop(string.format("for (; i + %d <= n; i += %d)", tile, tile), block(kir, cx(be, "", true), unroll), loops)
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
    for _, l in ipairs(block(kir, cx(be, "", true, "m0"), 1)) do body[#body + 1] = l end
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
