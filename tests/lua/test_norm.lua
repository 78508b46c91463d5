-- norm(x), the per-tensor L2 norm (optgen.phases): a kernel that uses one
-- runs in two phases; each misuse is an exact file:line:column diagnostic.
local h = require("helpers")

local load = h.load_spec

local function update(body) return "update = [[\n" .. body .. "\n  ]]," end

return {
  { "a trust ratio splits the kernel in two phases", function()
    local k = load({ update = update("    v = v + g\n    u = v / 2\n"
                                     .. "    p = p - lr * norm(p) / norm(u) * u") })[1]
    h.eq(k.nscratch, 1, "u in scratch")
    h.eq(#k.norms, 2, "two norms")
    h.eq(k.norms[1], "p", "the first is of p")
    h.eq(k.norms[2], "n0", "the second of the scratch array")
    h.eq(#k.stores, 2, "phase 1 stores v and n0")
    h.eq(k.stores[1].array, "v", "v")
    h.eq(#k.phase2.stores, 1, "phase 2 stores p")
    h.eq(k.phase2.stores[1].array, "p", "p")
  end },
  { "the same norm twice is one norm", function()
    local k = load({ update = update("    v = v + g\n    p = p - lr * norm(p) * norm(p) * v") })[1]
    h.eq(#k.norms, 1, "one norm")
  end },
  { "phase 2 never reads the gradient", function()
    local k = load({ update = update("    v = v + g\n    p = p - lr * norm(v) * g") })[1]
    local loads = {}
    for _, n in ipairs(k.phase2.sched.elem) do
      if n.op == "load" then loads[#loads + 1] = n.name end
    end
    table.sort(loads)
    h.eq(table.concat(loads, ","), "n0,p", "phase 2 loads (n0: g, carried from phase 1)")
    h.eq(k.nscratch, 2, "v's new value and g in scratch")
  end },
  { "error: norm() in a per-call scalar", function()
    h.eq(load({ scalars = "scalars = [[ w = norm(p) ]],",
                update = update("    v = v + g\n    p = p - w * v") }, true),
         "toy.lua:7:20: error: norm() is per tensor: it cannot be used in a per-call scalar")
  end },
  { "error: norm() in an initial value", function()
    h.eq(load({ state = 'state = { { "v", "norm(lr)" } },' }, true),
         "toy.lua:6:21: error: norm() is per tensor: it cannot be used in a state array's initial value")
  end },
  { "error: nested norm()", function()
    h.eq(load({ update = update("    v = v + g\n    p = p - lr * norm(norm(v) * v) * v") }, true),
         "toy.lua:10:18: error: nested norm(): its operand depends on another norm()")
  end },
  { "error: norm() of a per-call value", function()
    h.eq(load({ update = update("    v = v + g\n    p = p - norm(lr) * v") }, true),
         "toy.lua:10:13: error: norm() needs a per-element operand (p, g, state or values computed from them), "
         .. "not a per-call one")
  end },
  { "error: norm() of a comparison", function()
    h.eq(load({ update = update("    v = v + g\n    p = p - norm(v > 0) * v") }, true),
         "toy.lua:10:20: error: a comparison cannot be used as an argument of norm()")
  end },
  { "error: norm() with two arguments", function()
    h.eq(load({ update = update("    v = v + g\n    p = p - norm(v, g) * v") }, true),
         "toy.lua:10:13: error: norm() takes 1 argument, not 2")
  end },
  { "error: prod() of a norm", function()
    h.eq(load({ update = update("    v = v + g\n    p = p - prod(norm(v)) * v") }, true),
         "toy.lua:10:13: error: prod() cannot take a value that depends on a norm()")
  end },
  { "state that depends on a norm is stored in phase 2 with p", function()
    local k = load({ update = update("    v = v * norm(g)\n    p = p - lr * v") })[1]
    h.eq(#k.phase2.stores, 2, "phase 2 stores p and v")
  end },
  { "error: a norm only the state uses", function()
    h.eq(load({ update = update("    v = v * norm(g)\n    p = p - lr * g") }, true),
         "toy.lua:9:1: error: toy: norm() is used, but the parameter's update does not depend on it (a "
         .. "two-phase kernel's phase 1 must leave p alone)")
  end },
}
