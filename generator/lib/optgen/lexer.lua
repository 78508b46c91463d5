-- Tokens of the expression language used by specs (scalars and update).
-- Newlines end statements, except inside parentheses.
local diag = require("optgen.diag")

local M = {}

local two_char = { ["<="] = true, [">="] = true, ["=="] = true, ["!="] = true }
local one_char = "+-*/^()<>=,"
local keywords = { ["if"] = true, ["not"] = true, ["and"] = true }

-- Returns the list of tokens {kind, text, line, col}; kinds are "num",
-- "name", "kw", "op", "nl" and "eof".
function M.tokenize(src, origin)
  local toks, line, col, i, depth = {}, 1, 1, 1, 0
  local function push(kind, text, l, c)
    toks[#toks + 1] = { kind = kind, text = text, line = l, col = c }
  end
  while i <= #src do
    local ch = src:sub(i, i)
    if ch == "\n" then
      if depth == 0 then push("nl", "\n", line, col) end
      i, line, col = i + 1, line + 1, 1
    elseif ch:match("[ \t\r]") then
      i, col = i + 1, col + 1
    elseif src:sub(i, i + 1) == "--" then
      local e = src:find("\n", i, true) or #src + 1
      col, i = col + (e - i), e
    else
      local num = src:match("^%d+%.?%d*[eE][%+%-]?%d+", i) or src:match("^%d+%.?%d*", i)
                  or src:match("^%.%d+[eE][%+%-]?%d+", i) or src:match("^%.%d+", i)
      local name = src:match("^[%a_][%w_]*", i)
      local two = src:sub(i, i + 1)
      local kind, text
      if num then
        if src:match("^[%a_]", i + #num) then
          diag.at(origin, line, col, "malformed number '%s'", src:match("^[%w_.]+", i))
        end
        kind, text = "num", num
      elseif name then
        kind, text = keywords[name] and "kw" or "name", name
      elseif two_char[two] then
        kind, text = "op", two
      elseif one_char:find(ch, 1, true) then
        kind, text = "op", ch
        if ch == "(" then depth = depth + 1 elseif ch == ")" then depth = math.max(depth - 1, 0) end
      else
        diag.at(origin, line, col, "unexpected character '%s'", ch)
      end
      push(kind, text, line, col)
      i, col = i + #text, col + #text
    end
  end
  if depth == 0 then push("nl", "\n", line, col) end
  push("eof", "", line, col)
  return toks
end

return M
