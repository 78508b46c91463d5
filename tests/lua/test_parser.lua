-- The expression parser: structure, precedence and exact diagnostics.
local diag = require("optgen.diag")
local parser = require("optgen.parser")
local h = require("helpers")

local o = diag.origin("s.lua", 10, 5)

local function show(e)
  if e.k == "num" then return tostring(e.v) end
  if e.k == "name" then return e.name end
  if e.k == "neg" then return "(-" .. show(e.a) .. ")" end
  if e.k == "bin" then return "(" .. show(e.a) .. " " .. e.op .. " " .. show(e.b) .. ")" end
  local args = {}
  for i, a in ipairs(e.args) do args[i] = show(a) end
  return e.fn .. "(" .. table.concat(args, ", ") .. ")"
end

return {
  { "precedence and associativity", function()
    local s = parser.parse("x = a - b - c * d / e ^ f ^ g\n", o)
    h.eq(show(s[1].expr), "((a sub b) sub ((c mul d) div (e pow (f pow g))))", "tree")
  end },
  { "unary minus binds looser than ^", function()
    h.eq(show(parser.parse("x = -a ^ 2", o)[1].expr), "(-(a pow 2))", "tree")
  end },
  { "calls, comparisons and guards", function()
    local s = parser.parse("y = select(g < 0, max(a, b), 1.5e-3) if not am and c\n\n", o)
    h.eq(#s, 1, "statements")
    h.eq(show(s[1].expr), "select((g lt 0), max(a, b), 0.0015)", "tree")
    h.eq(#s[1].guard, 2, "guard terms")
    h.eq(s[1].guard[1].negated, true, "negated")
    h.eq(s[1].guard[2].flag, "c", "flag")
  end },
  { "newlines inside parentheses continue a statement", function()
    h.eq(#parser.parse("x = (a +\n  b)\ny = 1", o), 2, "statements")
  end },
  { "comments are ignored", function()
    h.eq(#parser.parse("-- nothing\nx = 1 -- one\n", o), 1, "statements")
  end },
  { "error: missing parenthesis names file, line and column", function()
    h.eq(h.error_of(parser.parse, "x = (a + b\ny = 1", o), "s.lua:11:1: error: expected ')' before 'y'")
    h.eq(h.error_of(parser.parse, "x = (a + b", o), "s.lua:10:15: error: expected ')' before end of text")
  end },
  { "error: columns on later lines are the file's own", function()
    h.eq(h.error_of(parser.parse, "x = 1\n    y = a $ b", o), "s.lua:11:11: error: unexpected character '$'")
  end },
  { "error: missing operand", function()
    h.eq(h.error_of(parser.parse, "x = a *", o), "s.lua:10:12: error: expected an expression before end of line")
  end },
  { "error: comparisons do not chain", function()
    h.eq(h.error_of(parser.parse, "x = a < b < c", o),
         "s.lua:10:15: error: comparisons do not chain; use parentheses")
  end },
  { "error: malformed number", function()
    h.eq(h.error_of(parser.parse, "x = 12ab", o), "s.lua:10:9: error: malformed number '12ab'")
  end },
  { "error: statement must be an assignment", function()
    h.eq(h.error_of(parser.parse, "a + b", o), "s.lua:10:7: error: expected '=' before '+'")
  end },
  { "error: trailing tokens", function()
    h.eq(h.error_of(parser.parse, "x = a b", o), "s.lua:10:11: error: expected end of line before 'b'")
  end },
}
