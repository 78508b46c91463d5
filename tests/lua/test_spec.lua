-- Spec loading and translation: every malformed spec gets an exact
-- file:line:column diagnostic.
local spec = require("optgen.spec")
local h = require("helpers")

local load = h.load_spec

return {
  { "a valid spec loads", function()
    local ks = load()
    h.eq(#ks, 1, "kernels")
    h.eq(ks[1].spec.name, "toy", "name")
    h.eq(#ks[1].stores, 2, "p and v stored")
  end },
  { "variants select hyperparameters, state and statements", function()
    local ks = load({
      variants = 'variants = { { "toy" }, { "toy_m", "mom" } },',
      hparams = 'hparams = { { "lr", 0.5, "[0, inf)" }, { "beta", 0.9, "[0, 1)", when = "mom" } },',
      state = 'state = { { "v", 0 }, { "w", "beta", when = "mom" } },',
      update = 'update = [[\n    v = v + g\n    w = beta * w + g   if mom\n    p = p - lr * v\n  ]],',
    })
    h.eq(#ks, 2, "kernels")
    h.eq(#ks[1].spec.hparams, 1, "toy hparams")
    h.eq(#ks[2].spec.hparams, 2, "toy_m hparams")
    h.eq(#ks[2].stores, 3, "toy_m stores")
    h.eq(ks[2].inits[2].op, "hparam", "w starts at beta")
  end },
  { "error: unknown name in the update", function()
    h.eq(load({ update = 'update = [[\n    v = v + gg\n    p = p - lr * v\n  ]],' }, true),
         "toy.lua:9:13: error: unknown name 'gg'")
  end },
  { "error: '^' with a per-element exponent", function()
    h.eq(load({ update = 'update = [[\n    v = v + 2 ^ g\n    p = p - lr * v\n  ]],' }, true),
         "toy.lua:9:15: error: '^' needs a per-call exponent (hyperparameters, t, scalars)")
  end },
  { "per-element '^' with a per-call exponent", function()
    local ks = load({ update = 'update = [[\n    v = v + g ^ lr\n    p = p - lr * v\n  ]],' })
    h.eq(ks[1].stores[2].node.op, "add", "v")
  end },
  { "a per-call condition chooses per element through a pinned test", function()
    local ks = load({ update = 'update = [[\n    v = select(t == 1, g, v + g)\n    p = p - lr * v\n  ]],' })
    local sel = ks[1].stores[2].node
    h.eq(sel.op, "select", "v")
    h.eq(sel.args[1].op, "ne", "mask")
    h.eq(sel.args[1].pinned, true, "pinned")
    h.eq(sel.args[1].inv, false, "per element")
    h.eq(sel.args[1].args[1].inv, true, "the 0/1 value is per call")
  end },
  { "prod() of per-call values", function()
    local ks = load({ scalars = 'scalars = [[ mu = prod(1 - lr ^ t) ]],',
                      update = 'update = [[\n    v = v + g\n    p = p - mu * v\n  ]],' })
    h.eq(ks[1].sched.slots[1].op, "prod", "slot")
  end },
  { "error: prod() of a per-element value", function()
    h.eq(load({ update = 'update = [[\n    v = prod(g)\n    p = p - lr * v\n  ]],' }, true),
         "toy.lua:9:9: error: prod() needs a per-call operand (hyperparameters, t, scalars)")
  end },
  { "a switch domain allows 0 and 1 only", function()
    local ks = load({ hparams = 'hparams = { { "lr", 0.5, "[0, inf)" }, { "on", 1, "{0, 1}" } },' })
    local d = ks[1].spec.hparams[2].domain
    h.eq(d.bool, true, "bool")
    h.eq(spec.in_domain(d, 0) and spec.in_domain(d, 1), true, "0 and 1")
    h.eq(spec.in_domain(d, 0.5), false, "0.5")
    h.eq(load({ hparams = 'hparams = { { "lr", 0.5, "[0, inf)" }, { "on", 2, "{0, 1}" } },' }, true),
         "toy.lua:5:45: error: default 2 of 'on' lies outside its domain {0, 1}")
  end },
  { "error: more state arrays than the runtime allows", function()
    local names, upd = {}, {}
    for i = 1, 9 do names[#names + 1] = '{ "s' .. string.char(96 + i) .. '", 0 }' end
    for i = 1, 9 do upd[#upd + 1] = "s" .. string.char(96 + i) .. " = g" end
    h.eq(load({ state = "state = { " .. table.concat(names, ", ") .. " },",
                update = "update = [[\n    " .. table.concat(upd, "\n    ") .. "\n    p = p - lr * g\n  ]]," }, true),
         "toy.lua:6:3: error: toy: 9 state arrays, more than the runtime's 8")
  end },
  { "error: more hyperparameters than the runtime allows", function()
    local hs = {}
    for i = 1, 33 do
      hs[#hs + 1] = '{ "h' .. string.char(96 + (i - 1) % 26 + 1) .. (i > 26 and "x" or "") .. '", 1, "[0, inf)" }'
    end
    h.eq(load({ hparams = "hparams = { { \"lr\", 0.5, \"[0, inf)\" }, " .. table.concat(hs, ", ") .. " }," }, true),
         "toy.lua:5:3: error: toy: 34 hyperparameters, more than the runtime's 32")
  end },
  { "error: more per-call constants than the runtime allows", function()
    local terms = {}
    for i = 1, 17 do terms[#terms + 1] = "(lr + " .. i .. ") * v" end
    local update = "update = [[\n    v = " .. table.concat(terms, " + ") .. "\n    p = p - lr * v\n  ]],"
    h.eq(load({ update = update }, true),
         "toy.lua:9:1: error: toy: 18 per-call constants, more than the runtime's 16")
  end },
  { "the generator's limits are the runtime's", function()
    local limits = require("optgen.limits")
    local text = assert(io.open(h.root .. "/runtime/optk_internal.h")):read("*a")
    for key, macro in pairs({ state = "OPTK_MAX_STATE", hparams = "OPTK_MAX_HPARAMS", consts = "OPTK_MAX_CONSTS" }) do
      h.eq(tonumber(text:match("#define " .. macro .. " (%d+)")), limits[key], macro)
    end
  end },
  { "error: a comparison used as a number", function()
    h.eq(load({ update = 'update = [[\n    v = v + (g > 0)\n    p = p - lr * v\n  ]],' }, true),
         "toy.lua:9:16: error: a comparison cannot be used as an operand")
  end },
  { "error: select needs a comparison", function()
    h.eq(load({ update = 'update = [[\n    v = select(g, 1, 2)\n    p = p - lr * v\n  ]],' }, true),
         "toy.lua:9:16: error: select() needs a comparison as its first argument")
  end },
  { "error: wrong argument count", function()
    h.eq(load({ update = 'update = [[\n    v = max(g)\n    p = p - lr * v\n  ]],' }, true),
         "toy.lua:9:9: error: max() takes 2 arguments, not 1")
  end },
  { "error: unknown function", function()
    h.eq(load({ update = 'update = [[\n    v = tanh(g)\n    p = p - lr * v\n  ]],' }, true),
         "toy.lua:9:9: error: unknown function 'tanh'")
  end },
  { "error: assigning the gradient", function()
    h.eq(load({ update = 'update = [[\n    g = v\n    p = p - lr * v\n  ]],' }, true),
         "toy.lua:9:5: error: cannot assign to gradient 'g'")
  end },
  { "error: state never updated", function()
    h.eq(load({ update = 'update = [[\n    p = p - lr * g\n  ]],' }, true),
         "toy.lua:9:1: error: toy: the update never assigns state array 'v'")
  end },
  { "error: malformed domain", function()
    h.eq(load({ hparams = 'hparams = { { "lr", 0.5, "0..1" } },' }, true),
         "toy.lua:5:29: error: malformed domain '0..1' (expected an interval such as '[0, 1)' or '[0, inf)', "
         .. "or '{0, 1}')")
  end },
  { "error: default outside its domain", function()
    h.eq(load({ hparams = 'hparams = { { "lr", 1, "[0, 1)" } },' }, true),
         "toy.lua:5:18: error: default 1 of 'lr' lies outside its domain [0, 1)")
  end },
  { "error: unknown variant flag", function()
    h.eq(load({ update = 'update = [[\n    v = v + g   if fast\n    p = p - lr * v\n  ]],' }, true),
         "toy.lua:9:20: error: unknown variant flag 'fast' in update")
  end },
  { "error: reserved names", function()
    h.eq(load({ state = 'state = { { "k1", 0 } },' }, true),
         "toy.lua:6:16: error: 'k1' is reserved and cannot name a state array")
  end },
  { "error: unknown field", function()
    h.eq(load({ scalars = 'scalar = [[ x = 1 ]],' }, true), "toy.lua:7:3: error: unknown field 'scalar'")
  end },
  { "error: Lua syntax error names the line", function()
    h.eq(load({ state = 'state = { { "v", 0 } ,, },' }, true), "toy.lua:6:1: error: unexpected symbol near ','")
  end },
  { "error: state initial value may use hyperparameters only", function()
    h.eq(load({ state = 'state = { { "v", "lr * t" } },' }, true), "toy.lua:6:26: error: unknown name 't'")
  end },
}
