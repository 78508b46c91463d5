-- What tests/fuzz/lua/fuzz.lua found, kept as tests: a carriage return in a
-- spec made LuaJIT's line numbers and the generator's disagree, a number
-- where a hyperparameter or state list belongs raised a Lua error, and an
-- argument holding a newline split optgen's one-line messages.
local spec = require("optgen.spec")
local h = require("helpers")
local s = require("scratch")

return {
  { "a carriage return in a spec is refused where it is", function()
    local path = h.tmpfile(h.spec_text({ doc = 'doc = [[A toy\r\noptimizer]],' }), ".lua")
    local msg = h.error_of(spec.load, path, "toy.lua")
    os.remove(path)
    h.eq(msg, "toy.lua:3:16: error: carriage return (spec lines end with \\n alone)", "diagnostic")
  end },
  { "a hyperparameter or state entry that is no list is a diagnostic", function()
    for _, c in ipairs({ { "hparams", "hparams = { 1 },", "toy.lua:5:3: error: each hyperparameter must be a list" },
                         { "state", 'state = { "v" },', "toy.lua:6:3: error: each state array must be a list" } }) do
      local path = h.tmpfile(h.spec_text({ [c[1]] = c[2] }), ".lua")
      local msg = h.error_of(spec.load, path, "toy.lua")
      os.remove(path)
      h.eq(msg:sub(1, #c[3]), c[3], "diagnostic")
    end
  end },
  { "messages show control characters in arguments escaped, on one line", function()
    local status, out = s.sh(s.optgen .. " 'a\tb'")
    h.eq(status, 2, "status")
    h.eq(out, "optgen: unknown command 'a\\9b' (see 'optgen --help')\n", "message")
    status, out = s.sh(s.optgen .. " generate --out out '--x\ny'")
    h.eq(status, 2, "status")
    h.eq(out, "optgen: generate: unexpected argument '--x\\10y' (see 'optgen generate --help')\n", "message")
  end },
}
