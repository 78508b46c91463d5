-- Scratch directories, shell commands and directory snapshots for the tests
-- that run the tools on throwaway copies (never on the checkout itself).
local fs = require("optgen.fsutil")
local h = require("helpers")

local M = {}

-- The checkout, absolute, so commands may run from another directory.
local pwd = io.popen("cd " .. fs.quote(h.root) .. " && pwd -P")
M.root = pwd:read("*l")
pwd:close()
M.optgen = "luajit " .. fs.quote(M.root .. "/generator/optgen")

-- Runs a shell command; returns its exit status and output (both streams).
function M.sh(cmd)
  local p = io.popen("(" .. cmd .. ") 2>&1; echo \"exit=$?\"")
  local out = p:read("*a")
  p:close()
  return tonumber(out:match("exit=(%d+)\n$")), (out:gsub("exit=%d+\n$", ""))
end

-- A fresh empty directory (absolute path).
function M.dir()
  local tmp = os.getenv("TMPDIR")
  return assert(fs.mkdtemp(((tmp and tmp ~= "") and tmp or "/tmp") .. "/optk-test-"))
end

function M.rm(dir) os.execute("rm -rf -- " .. fs.quote(dir)) end

-- Every entry under dir (dot files too) with its kind and, for files, a
-- checksum of its bytes: one string, equal for equal trees.
function M.snapshot(dir)
  local p = io.popen("cd " .. fs.quote(dir) .. " && find . -printf '%y %p\\n' | LC_ALL=C sort"
                     .. " && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r md5sum")
  local s = p:read("*a")
  p:close()
  return s
end

-- Paths in snapshot a that are missing or different in b (at most 10).
function M.lost(a, b)
  local have, out = {}, {}
  for line in b:gmatch("[^\n]+") do have[line] = true end
  for line in a:gmatch("[^\n]+") do
    if not have[line] and #out < 10 then out[#out + 1] = line end
  end
  return table.concat(out, "\n")
end

-- Copies the parts of the checkout the generator reads (and the given
-- extra paths) into dir.
function M.copy_repo(dir, extra)
  local parts = { "generator", "templates", "runtime", "LICENSE" }
  for _, p in ipairs(extra or {}) do parts[#parts + 1] = p end
  for _, p in ipairs(parts) do
    assert(os.execute("cp -R " .. fs.quote(M.root .. "/" .. p) .. " " .. fs.quote(dir .. "/")) == 0, p)
  end
end

-- Names of the temporary directories the tools make (".NAME.optgen-XXXXXX"
-- and the old "NAME.optgen-tmp") in dir.
function M.temps(dir)
  local out = {}
  for _, e in ipairs(fs.entries(dir)) do
    if e.name:find(".optgen-", 1, true) then out[#out + 1] = e.name end
  end
  return table.concat(out, " ")
end

return M
