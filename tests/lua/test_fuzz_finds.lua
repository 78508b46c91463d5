-- What tests/fuzz/lua/fuzz.lua found, kept as tests: a carriage return in a
-- spec made LuaJIT's line numbers and the generator's disagree, and an
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
  { "messages show control characters in arguments escaped, on one line", function()
    local status, out = s.sh(s.optgen .. " 'a\tb'")
    h.eq(status, 2, "status")
    h.eq(out, "optgen: unknown command 'a\\9b' (see 'optgen --help')\n", "message")
    status, out = s.sh(s.optgen .. " generate --out out '--x\ny'")
    h.eq(status, 2, "status")
    h.eq(out, "optgen: generate: unexpected argument '--x\\10y' (see 'optgen generate --help')\n", "message")
  end },
}
