-- Assertions and fixtures shared by the generator's tests.
local diag = require("optgen.diag")
local fs = require("optgen.fsutil")

local M = {}

function M.eq(got, want, what)
  if got ~= want then
    error(string.format("%s:\n  got  %s\n  want %s", what or "value", tostring(got), tostring(want)), 2)
  end
end

-- The error message f(...) raises (a diag error), or a failure if none.
function M.error_of(f, ...)
  local ok, err = diag.try(f, ...)
  if ok then error("expected an error", 2) end
  return tostring(err)
end

M.root = (arg and arg[0] or ""):match("^(.*)/tests/lua/[^/]*$") or "."

-- Writes text to a fresh temporary file and returns its path.
function M.tmpfile(text, suffix)
  local path = os.tmpname() .. (suffix or "")
  local fh = assert(io.open(path, "wb"))
  fh:write(text)
  fh:close()
  return path
end

-- Runs a shell command; returns its exit status and output (both streams).
function M.sh(cmd)
  local p = io.popen("(" .. cmd .. ") 2>&1; echo \"exit=$?\"")
  local out = p:read("*a")
  p:close()
  return tonumber(out:match("exit=(%d+)\n$")), (out:gsub("exit=%d+\n$", ""))
end

-- A fresh empty directory of this process's own (mkdtemp, in $TMPDIR or
-- /tmp; an absolute path).
function M.dir()
  local tmp = os.getenv("TMPDIR")
  return assert(fs.mkdtemp(((tmp and tmp ~= "") and tmp or "/tmp") .. "/optk-test-"))
end

-- Removes a directory M.dir made, and everything in it.
function M.rm(dir) os.execute("rm -rf -- " .. fs.quote(dir)) end

-- A minimal valid spec, with pieces replaceable by name.
function M.spec_text(over)
  local parts = {
    name = 'name = "toy",',
    doc = 'doc = [[A toy optimizer for tests.]],',
    variants = 'variants = { { "toy" } },',
    hparams = 'hparams = { { "lr", 0.5, "[0, inf)" } },',
    state = 'state = { { "v", 0 } },',
    scalars = '',
    update = 'update = [[\n    v = v + g\n    p = p - lr * v\n  ]],',
  }
  for k, v in pairs(over or {}) do parts[k] = v end
  return table.concat({ "return {", "  " .. parts.name, "  " .. parts.doc, "  " .. parts.variants,
                        "  " .. parts.hparams, "  " .. parts.state, "  " .. parts.scalars,
                        "  " .. parts.update, "}", "" }, "\n")
end

-- Loads and translates a spec built from M.spec_text(over); returns the
-- kernel IRs, or the error message when err is true.
function M.load_spec(over, err)
  local path = M.tmpfile(M.spec_text(over), ".lua")
  local function go()
    local out = {}
    for _, k in ipairs(require("optgen.spec").load(path, "toy.lua")) do
      out[#out + 1] = require("optgen.translate").kernel(k)
    end
    return out
  end
  if err then
    local msg = M.error_of(go)
    os.remove(path)
    return msg
  end
  local r = go()
  os.remove(path)
  return r
end

return M
