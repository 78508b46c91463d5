-- The few file-system operations the generator needs, with plain Lua, the
-- shell's find/mkdir/test and, for mkdtemp, LuaJIT's FFI (LuaJIT has no
-- directory API).
local ffi = require("ffi")

ffi.cdef([[
char *mkdtemp(char *template);
char *strerror(int errnum);
unsigned int umask(unsigned int mask);
int chmod(const char *path, unsigned int mode);
]])

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
  local ok, werr = fh:write(text)
  if ok then ok, werr = fh:close() else fh:close() end
  if not ok then os.remove(tmp); error("cannot write " .. path .. ": " .. tostring(werr), 0) end
  local rok, rerr = os.rename(tmp, path)
  if not rok then os.remove(tmp); error("cannot write " .. path .. ": " .. tostring(rerr), 0) end
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

-- Every entry of dir itself (dot files too, nothing below), sorted by name,
-- as { name = , kind = } with kind "f" (regular file), "d" (directory), "l"
-- (symbolic link) or another letter of find's %y.  Names may hold any byte.
function M.entries(dir)
  local p = io.popen("find " .. quote(dir) .. " -mindepth 1 -maxdepth 1 -printf '%y%P\\0' 2>/dev/null")
  local text = p:read("*a")
  p:close()
  local out = {}
  for kind, name in text:gmatch("(.)([^%z]*)%z") do out[#out + 1] = { name = name, kind = kind } end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

function M.mkdir(dir)
  return os.execute("mkdir -p -- " .. quote(dir)) == 0
end

function M.is_dir(dir)
  return os.execute("test -d " .. quote(dir)) == 0
end

-- Whether anything (a file, a directory, a dangling link) is at path.
function M.exists(path)
  return os.execute("test -e " .. quote(path) .. " || test -L " .. quote(path)) == 0
end

-- A fresh directory, mode 0700, named prefix .. six random characters
-- (mkdtemp(3): no other process can have made it or a link in its place).
-- Returns its path, or nil and the reason.
function M.mkdtemp(prefix)
  local buf = ffi.new("char[?]", #prefix + 7, prefix .. "XXXXXX")
  if ffi.C.mkdtemp(buf) == nil then
    return nil, ffi.string(ffi.C.strerror(ffi.errno()))
  end
  return ffi.string(buf)
end

-- dir as given on a command line, without its trailing slashes ("/" stays
-- "/"); nil for "".
function M.clean_dir(dir)
  if dir == nil or dir == "" then return nil end
  return dir:match("^(.-)/*$") ~= "" and dir:match("^(.-)/*$") or "/"
end

-- The directory holding dir, and dir's name in it, for making a temporary
-- directory beside dir.  "." and ".." are resolved first, so the temporary
-- directory is never inside dir.
function M.beside(dir)
  local name = dir:match("([^/]*)$")
  if name == "." or name == ".." or dir == "/" then
    local p = io.popen("cd -- " .. quote(dir) .. " 2>/dev/null && pwd -P")
    local abs = p:read("*l")
    p:close()
    if not abs or abs == "" then return nil end
    dir, name = abs, abs:match("([^/]*)$")
  end
  local parent = dir:match("^(.*)/[^/]*$")
  if parent == nil then parent = "." elseif parent == "" then parent = "/" end
  return parent, name
end

-- Removes the temporary directory tmp that this process made and the
-- files it wrote there (paths relative to tmp): those and only those, so
-- anything another process put there stays (and so does tmp).
function M.remove_made(tmp, paths)
  local dirs, seen = {}, {}
  for _, path in ipairs(paths) do
    os.remove(tmp .. "/" .. path)
    local d = path:match("^(.*)/[^/]*$")
    while d and not seen[d] do
      seen[d], dirs[#dirs + 1] = true, d
      d = d:match("^(.*)/[^/]*$")
    end
  end
  table.sort(dirs, function(a, b) return #a > #b end)
  for _, d in ipairs(dirs) do os.remove(tmp .. "/" .. d) end
  os.remove(tmp)
end

-- Writes files ({ {path, text} }, paths relative to dir, at most one
-- directory deep) into dir through a fresh temporary directory beside it.
-- Every file is written there first; then the temporary directory becomes
-- dir if there was none, or else each file is renamed into dir, replacing
-- the one of that name.  So the files in dir stay as they were until every
-- new one is written, and a failure before that removes the temporary
-- directory (and the parents of dir it made), touching nothing else.
-- Raises an error string on failure.
function M.stage(dir, files)
  local parent, name = M.beside(dir)
  if not parent then error("cannot resolve " .. dir, 0) end
  local made = {} -- missing parents of dir, made here, deepest last
  local d = parent
  while not M.exists(d) do
    table.insert(made, 1, d)
    d = d:match("^(.*)/[^/]*$")
    if d == nil or d == "" then break end
  end
  if d and d ~= "" and not M.is_dir(d) then error(d .. " is not a directory", 0) end
  local function unmake() for i = #made, 1, -1 do os.remove(made[i]) end end
  if #made > 0 and not M.mkdir(parent) then unmake(); error("cannot create " .. parent, 0) end
  local tmp, err = M.mkdtemp(parent .. "/." .. name:sub(1, 64) .. ".optgen-")
  if not tmp then unmake(); error("cannot create a temporary directory in " .. parent .. ": " .. err, 0) end
  local written = {}
  local ok, werr = pcall(function()
    for _, f in ipairs(files) do
      local sub = f[1]:match("^(.*)/[^/]*$")
      if sub and not M.is_dir(tmp .. "/" .. sub) and not M.mkdir(tmp .. "/" .. sub) then
        error("cannot create " .. tmp .. "/" .. sub, 0)
      end
      written[#written + 1] = f[1]
      M.write(tmp .. "/" .. f[1], f[2])
    end
  end)
  if not ok then M.remove_made(tmp, written); unmake(); error(werr, 0) end
  if not M.is_dir(dir) then
    -- mkdtemp made it 0700; a directory made by mkdir gets 0777 less the umask.
    local mask = ffi.C.umask(18)
    ffi.C.umask(mask)
    ffi.C.chmod(tmp, bit.band(511, bit.bnot(mask)))
    local rok, rerr = os.rename(tmp, dir)
    if not rok then M.remove_made(tmp, written); unmake(); error("cannot create " .. dir .. ": " .. rerr, 0) end
    return
  end
  for i, f in ipairs(files) do
    local sub = f[1]:match("^(.*)/[^/]*$")
    local rok, rerr = true, nil
    if sub and not M.is_dir(dir .. "/" .. sub) and not M.mkdir(dir .. "/" .. sub) then
      rok, rerr = false, "cannot create " .. dir .. "/" .. sub
    end
    if rok then rok, rerr = os.rename(tmp .. "/" .. f[1], dir .. "/" .. f[1]) end
    if not rok then
      M.remove_made(tmp, written)
      error(string.format("cannot write %s/%s (%d of %d files replaced): %s", dir, f[1], i - 1, #files, rerr), 0)
    end
  end
  M.remove_made(tmp, written)
end

return M
