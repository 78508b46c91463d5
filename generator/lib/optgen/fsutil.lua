-- The few file-system operations the generator needs, with plain Lua and
-- the shell's ls/mkdir/rm (LuaJIT has no directory API).
local M = {}

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
M.quote = quote

function M.read(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local s = fh:read("*a")
  fh:close()
  return s
end

-- Writes through a temporary file and a rename, so no reader sees half a file.
function M.write(path, text)
  local tmp = path .. ".tmp"
  local fh, err = io.open(tmp, "wb")
  if not fh then error("cannot write " .. path .. ": " .. tostring(err), 0) end
  fh:write(text)
  fh:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then error("cannot write " .. path .. ": " .. tostring(rerr), 0) end
end

-- Sorted names (not paths) of the entries of dir matching a Lua pattern.
function M.list(dir, pattern)
  local p = io.popen("ls -1 " .. quote(dir) .. " 2>/dev/null")
  local names = {}
  for name in p:lines() do
    if not pattern or name:match(pattern) then names[#names + 1] = name end
  end
  p:close()
  table.sort(names)
  return names
end

-- Every regular file under dir, as sorted paths relative to dir.
function M.walk(dir)
  local p = io.popen("cd " .. quote(dir) .. " 2>/dev/null && find . -type f | sort")
  local paths = {}
  for path in p:lines() do paths[#paths + 1] = path:gsub("^%./", "") end
  p:close()
  return paths
end

function M.mkdir(dir)
  return os.execute("mkdir -p " .. quote(dir)) == 0
end

function M.is_dir(dir)
  return os.execute("test -d " .. quote(dir)) == 0
end

return M
