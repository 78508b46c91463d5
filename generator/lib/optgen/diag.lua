-- Diagnostics: every error names its file, line and column, and is raised as
-- a table so callers can collect several before giving up.
local M = {}

local Err = {}
Err.__index = Err
Err.__tostring = function(e)
  if e.line then
    return string.format("%s:%d:%d: error: %s", e.file, e.line, e.col or 1, e.msg)
  end
  return string.format("%s: error: %s", e.file, e.msg)
end

-- Raises an error at file:line:col (line and col may be nil).
function M.fail(file, line, col, fmt, ...)
  error(setmetatable({ file = file, line = line, col = col,
                       msg = string.format(fmt, ...) }, Err), 0)
end

-- A source position: the file, and where a piece of text starts in it, so
-- positions inside that text map back to the file.
function M.origin(file, line, col)
  return { file = file, line = line or 1, col = col or 1 }
end

-- Raises an error at (line, col) of a text that starts at origin o.
function M.at(o, line, col, fmt, ...)
  local fl = o.line + line - 1
  local fc = line == 1 and o.col + col - 1 or col
  M.fail(o.file, fl, fc, fmt, ...)
end

function M.is_error(e)
  return getmetatable(e) == Err
end

-- Runs f(...) and returns true, results or false, error; Lua runtime errors
-- (bugs in the generator) are re-raised with their traceback.
function M.try(f, ...)
  local res = { xpcall(f, function(e)
    if M.is_error(e) then return e end
    return debug.traceback(tostring(e), 2)
  end, ...) }
  if res[1] then return true, unpack(res, 2) end
  if M.is_error(res[2]) then return false, res[2] end
  error(res[2], 0)
end

return M
