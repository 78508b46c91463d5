-- Fills a C template: @name@ is replaced by slot name's text.  A line that
-- holds only @name@ takes a block of lines, each indented like that line; an
-- empty block removes the line.  Templates hold layout only, no logic.
local diag = require("optgen.diag")

local M = {}

local cache = {}

function M.read(dir, name)
  local path = dir .. "/" .. name
  if not cache[path] then
    local fh = io.open(path, "rb")
    if not fh then diag.fail("templates/" .. name, nil, nil, "cannot read template") end
    cache[path] = fh:read("*a")
    fh:close()
  end
  return cache[path]
end

-- Returns the filled text; slots maps names to strings (blocks may hold
-- several lines).  Unknown and unused slots are errors.
function M.fill(text, slots, display)
  local used, out, lineno = {}, {}, 0
  for line in (text .. "\n"):gmatch("(.-)\n") do
    lineno = lineno + 1
    local indent, whole = line:match("^(%s*)@([%w_]+)@%s*$")
    if whole then
      local v = slots[whole]
      if v == nil then diag.fail(display, lineno, #indent + 1, "unknown slot @%s@", whole) end
      used[whole] = true
      for l in (v .. "\n"):gmatch("(.-)\n") do
        if v ~= "" then out[#out + 1] = l == "" and "" or indent .. l end
      end
    else
      out[#out + 1] = line:gsub("()@([%w_]+)@", function(col, name)
        local v = slots[name]
        if v == nil then diag.fail(display, lineno, col, "unknown slot @%s@", name) end
        used[name] = true
        return v
      end)
    end
  end
  for name in pairs(slots) do
    if not used[name] then diag.fail(display, nil, nil, "slot @%s@ is supplied but never used", name) end
  end
  -- The text ended with a newline, which the loop turned into a last empty line.
  if out[#out] == "" then out[#out] = nil end
  return table.concat(out, "\n") .. "\n"
end

return M
