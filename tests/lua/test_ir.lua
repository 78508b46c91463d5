-- The IR: constant folding, common subexpressions, contraction, hoisting.
local ir = require("optgen.ir")
local h = require("helpers")

local function count(sched, op)
  local c = 0
  for _, n in ipairs(sched.elem) do if n.op == op then c = c + 1 end end
  return c
end

return {
  { "constants fold in double", function()
    local b = ir.builder()
    local n = b:op("sub", b:const(1), b:op("mul", b:const(0.5), b:const(0.25)))
    h.eq(n.op, "const", "op")
    h.eq(n.value, 0.875, "value")
    h.eq(b:op("sqrt", b:const(4)).value, 2, "sqrt")
  end },
  { "exact identities fold, inexact ones do not", function()
    local b = ir.builder()
    local x = b:load("g")
    h.eq(b:op("mul", x, b:const(1)), x, "x*1")
    h.eq(b:op("div", x, b:const(1)), x, "x/1")
    h.eq(b:op("sub", x, b:const(0)), x, "x-0")
    h.eq(b:op("add", x, b:const(-0.0)), x, "x+(-0)")
    h.eq(b:op("neg", b:op("neg", x)), x, "--x")
    h.eq(b:op("add", x, b:const(0)).op, "add", "x+0 is not x when x is -0")
  end },
  { "equal subexpressions are one node", function()
    local b = ir.builder()
    local g, m = b:load("g"), b:load("m")
    h.eq(b:op("sub", g, m), b:op("sub", g, m), "same node")
    h.eq(b:op("mul", g, m), b:op("mul", m, g), "commutative")
    h.eq(b:op("max", g, m) == b:op("max", m, g), false, "max is not commutative on NaN")
  end },
  { "invariance propagates", function()
    local b = ir.builder()
    local lr = b:hparam("lr", 0)
    h.eq(b:op("sub", b:const(1), lr).inv, true, "1 - lr")
    h.eq(b:op("mul", lr, b:load("g")).inv, false, "lr * g")
  end },
  { "a*b + c contracts when the product has one use", function()
    local b = ir.builder()
    local g, p, lr = b:load("g"), b:load("p"), b:hparam("lr", 0)
    local roots = ir.contract({ b:op("sub", p, b:op("mul", lr, g)) })
    h.eq(roots[1].op, "fnma", "p - lr*g")
    local prod = b:op("mul", g, g)
    roots = ir.contract({ b:op("add", prod, p), prod })
    h.eq(roots[1].op, "add", "a shared product stays")
    roots = ir.contract({ b:op("sub", b:op("mul", g, g), p) })
    h.eq(roots[1].op, "fms", "g*g - p")
  end },
  { "invariant products are hoisted, not contracted", function()
    local b = ir.builder()
    local lr, beta = b:hparam("lr", 0), b:hparam("beta", 1)
    local roots = ir.contract({ b:op("add", b:op("mul", lr, beta), b:load("p")) })
    h.eq(roots[1].op, "add", "op")
    local s = ir.schedule(roots)
    h.eq(#s.slots, 1, "one per-call constant")
    h.eq(s.slots[1].op, "mul", "lr*beta computed per call")
  end },
  { "schedule splits literals, slots and per-call work", function()
    local b = ir.builder()
    local g, v, rho = b:load("g"), b:load("v"), b:hparam("rho", 0)
    local one_minus = b:op("sub", b:const(1), rho)
    local vnew = b:op("add", b:op("mul", rho, v), b:op("mul", one_minus, b:op("mul", g, g)))
    local roots = ir.contract({ b:op("select", b:op("gt", vnew, b:const(0)), vnew, b:const(2)) })
    local s = ir.schedule(roots)
    h.eq(#s.slots, 2, "rho and 1 - rho")
    h.eq(#s.literals, 2, "0 and 2")
    h.eq(#s.prep, 3, "rho, 1, 1 - rho")
    h.eq(count(s, "fma"), 1, "fused")
    for _, n in ipairs(s.elem) do h.eq(n.inv, false, "no invariant in the loop") end
  end },
}
