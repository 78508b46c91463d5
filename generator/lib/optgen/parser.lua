-- Parser of the spec expression language.
--
--   block  := { [stmt] NL }
--   stmt   := NAME '=' expr [ 'if' guard ]
--   guard  := ['not'] NAME { 'and' ['not'] NAME }
--   expr   := sum [ ('<' | '<=' | '>' | '>=' | '==' | '!=') sum ]
--   sum    := prod { ('+' | '-') prod }
--   prod   := unary { ('*' | '/') unary }
--   unary  := '-' unary | power
--   power  := atom [ '^' unary ]            (right-associative; -x^2 is -(x^2))
--   atom   := NUMBER | NAME | NAME '(' expr { ',' expr } ')' | '(' expr ')'
--
-- Every AST node carries the line and column where it starts.
local diag = require("optgen.diag")
local lexer = require("optgen.lexer")

local M = {}

local cmp_ops = { ["<"] = "lt", ["<="] = "le", [">"] = "gt", [">="] = "ge", ["=="] = "eq", ["!="] = "ne" }
local sum_ops = { ["+"] = "add", ["-"] = "sub" }
local prod_ops = { ["*"] = "mul", ["/"] = "div" }

local function describe(tok)
  if tok.kind == "nl" then return "end of line" end
  if tok.kind == "eof" then return "end of text" end
  return "'" .. tok.text .. "'"
end

-- Parses src (text that starts at origin) into a list of statements
-- {target, expr, guard, line, col}; guard is a list of {flag, negated}.
function M.parse(src, origin)
  local toks = lexer.tokenize(src, origin)
  local pos = 1
  local function peek() return toks[pos] end
  local function fail(tok, fmt, ...) diag.at(origin, tok.line, tok.col, fmt, ...) end
  local function next_tok() local t = toks[pos]; pos = pos + 1; return t end
  local function accept(kind, text)
    local t = toks[pos]
    if t.kind == kind and (text == nil or t.text == text) then pos = pos + 1; return t end
  end
  local function expect(kind, text, what)
    return accept(kind, text) or fail(peek(), "expected %s before %s", what, describe(peek()))
  end

  local expr
  local function atom()
    local t = next_tok()
    if t.kind == "num" then
      return { k = "num", v = tonumber(t.text), line = t.line, col = t.col }
    elseif t.kind == "name" then
      if accept("op", "(") then
        local args = { expr() }
        while accept("op", ",") do args[#args + 1] = expr() end
        expect("op", ")", "')'")
        return { k = "call", fn = t.text, args = args, line = t.line, col = t.col }
      end
      return { k = "name", name = t.text, line = t.line, col = t.col }
    elseif t.kind == "op" and t.text == "(" then
      local e = expr()
      expect("op", ")", "')'")
      return e
    end
    fail(t, "expected an expression before %s", describe(t))
  end
  local unary
  local function power()
    local base = atom()
    local t = accept("op", "^")
    if t then
      return { k = "bin", op = "pow", a = base, b = unary(), line = t.line, col = t.col }
    end
    return base
  end
  unary = function()
    local t = accept("op", "-")
    if t then return { k = "neg", a = unary(), line = t.line, col = t.col } end
    return power()
  end
  local function chain(sub, ops)
    return function()
      local a = sub()
      while peek().kind == "op" and ops[peek().text] do
        local t = next_tok()
        a = { k = "bin", op = ops[t.text], a = a, b = sub(), line = t.line, col = t.col }
      end
      return a
    end
  end
  local sum = chain(chain(unary, prod_ops), sum_ops)
  expr = function()
    local a = sum()
    local t = peek()
    if t.kind == "op" and cmp_ops[t.text] then
      next_tok()
      a = { k = "bin", op = cmp_ops[t.text], a = a, b = sum(), line = t.line, col = t.col }
      local u = peek()
      if u.kind == "op" and cmp_ops[u.text] then fail(u, "comparisons do not chain; use parentheses") end
    end
    return a
  end

  local stmts = {}
  while peek().kind ~= "eof" do
    if not accept("nl") then
      local t = expect("name", nil, "a name to assign")
      expect("op", "=", "'='")
      local st = { target = t.text, expr = expr(), line = t.line, col = t.col }
      if accept("kw", "if") then
        st.guard = {}
        repeat
          local neg = accept("kw", "not") ~= nil
          local f = expect("name", nil, "a variant flag")
          st.guard[#st.guard + 1] = { flag = f.text, negated = neg, line = f.line, col = f.col }
        until not accept("kw", "and")
      end
      if not accept("nl") then fail(peek(), "expected end of line before %s", describe(peek())) end
      stmts[#stmts + 1] = st
    end
  end
  return stmts
end

return M
