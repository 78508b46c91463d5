-- The two fuzz targets and their oracles.  Each run(input) returns nil when
-- the case passed, or a string saying what went wrong.
--   spec: the spec loader, parser and translation, and the emission of the
--         kernels of a spec that loads: any error that is not a clean
--         file:line:col diagnostic (inside the file) fails.
--   args: optgen's command line run in-process from a scratch working
--         directory: an exit other than 0, 1 or 2, an error escaping as a Lua
--         error, a traceback in its messages, a file written outside the
--         working directory (or generated/, generate's default), or a
--         temporary directory left behind fails.
-- The args target runs optgen in-process, so it swaps os.exit, print and
-- io's output for the length of a case:
-- luacheck: ignore 121 122
local ffi = require("ffi")
local cli = require("optgen.cli")
local diag = require("optgen.diag")
local emit = require("optgen.emit")
local fs = require("optgen.fsutil")
local generate = require("optgen.generate")
local spec = require("optgen.spec")
local translate = require("optgen.translate")
local cover = require("cover")
local mutate = require("mutate")

pcall(ffi.cdef, "int chdir(const char *path); int setenv(const char *name, const char *value, int overwrite);")

local M = {}

local function sh_lines(cmd)
  local p = io.popen(cmd)
  local out = {}
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

-- Runs f under the instruction budget; true, results or false, error.
local function budgeted(n, f, ...)
  cover.budget(n)
  local res = { pcall(f, ...) }
  cover.budget(math.huge)
  return unpack(res, 1, table.maxn(res))
end

-- ---------------------------------------------------------------- spec

function M.spec_setup(ctx)
  ctx.backends = generate.backends(ctx.root)
  ctx.spec_path = ctx.work .. "/fz.lua"
end

local function clean_diag(e, text)
  if not diag.is_error(e) then return false end
  if e.file ~= "fz.lua" or not e.line then return false end
  local _, nl = text:gsub("\n", "")
  return e.line >= 1 and e.line <= nl + 1 and (e.col or 1) >= 1
end

function M.spec_run(ctx, text)
  local fh = assert(io.open(ctx.spec_path, "wb"))
  fh:write(text)
  fh:close()
  local ok, tok, ks = budgeted(20000, diag.try, spec.load, ctx.spec_path, "fz.lua")
  if not ok then
    -- A spec may loop forever or run out its budget in its own Lua code:
    -- that is the spec's business and spec.load reports it as a diagnostic.
    return "Lua error from spec.load: " .. tostring(tok)
  end
  if not tok then
    if clean_diag(ks, text) then return nil end
    return "unclean diagnostic from spec.load: " .. tostring(ks)
  end
  for _, k in ipairs(ks) do
    local ok2, tok2, kir = budgeted(20000, diag.try, translate.kernel, k)
    if not ok2 then return "Lua error from translate.kernel: " .. tostring(tok2) end
    if not tok2 then
      if not clean_diag(kir, text) then return "unclean diagnostic from translate.kernel: " .. tostring(kir) end
    else
      local be = mutate.pick(ctx.backends)
      local dtype = mutate.pick(emit.dtypes)
      local ok3, err = budgeted(50000, emit.kernel_file, kir, be, be.tail == "scalar" and ctx.backends[1] or nil,
                                dtype, { unroll = mutate.rand(4) }, ctx.root .. "/templates")
      if not ok3 then
        return "Lua error from emit.kernel_file (" .. be.isa .. ", " .. dtype .. "): " .. tostring(err)
      end
    end
  end
  return nil
end

-- ---------------------------------------------------------------- args

local EXIT = "\1fuzz-exit:"

-- The scratch repository's files outside generated/ (which is generate's
-- own default output), which no run may change: their count.
local function repo_count(ctx)
  return #sh_lines("cd " .. fs.quote(ctx.repo) .. " && find . -path ./generated -prune -o -type f -print")
end

function M.args_setup(ctx)
  ctx.repo_count = repo_count(ctx)
  ctx.scratch_top = table.concat(sh_lines("ls -A " .. fs.quote(ctx.scratch)), " ")
  -- tune stops at its compiler check: no candidates are built.
  ffi.C.setenv("CC", "optk-fuzz-no-such-cc", 1)
  ffi.C.setenv("OPTK_PROFILE", "", 1)
  assert(ffi.C.chdir(ctx.work) == 0)
end

-- The working directory, emptied and seeded again now and then so that it
-- does not grow without bound.
function M.args_reset(ctx)
  assert(ffi.C.chdir(ctx.scratch) == 0)
  os.execute("rm -rf " .. fs.quote(ctx.work) .. " && mkdir " .. fs.quote(ctx.work) .. " && cp -R "
             .. fs.quote(ctx.here .. "/corpus/files") .. "/. " .. fs.quote(ctx.work) .. "/")
  fs.write(ctx.work .. "/bc.lua", string.dump(function() return { format = 1, kernels = {} } end))
  assert(ffi.C.chdir(ctx.work) == 0)
end

local function clean_output(err)
  if err:find("stack traceback", 1, true) or err:find("attempt to", 1, true) then return false end
  for line in err:gmatch("[^\n]+") do
    if not (line:match("^optgen: ") or line:match("^[^:]+:%d+:%d+: error: ") or line:match("^[^:]+: error: ")
            or line:match("^  ")) then
      return false
    end
  end
  return true
end

-- What the run left outside the working directory, or nil.
local function escaped(ctx)
  local temps = sh_lines("find " .. fs.quote(ctx.scratch) .. " -name '*.optgen-*' 2>/dev/null")
  if #temps > 0 then return "left a temporary directory: " .. temps[1] end
  local top = table.concat(sh_lines("ls -A " .. fs.quote(ctx.scratch)), " ")
  if top ~= ctx.scratch_top then return "wrote beside the working directory: " .. top end
  local newer = sh_lines("cd " .. fs.quote(ctx.repo) .. " && find . -path ./generated -prune -o -newer "
                         .. fs.quote(ctx.stamp) .. " -type f -print")
  if #newer > 0 then return "changed " .. ctx.repo .. "/" .. newer[1]:sub(3) end
  if repo_count(ctx) ~= ctx.repo_count then return "added or removed files in " .. ctx.repo end
  return nil
end

function M.args_run(ctx, args)
  ctx.cases = (ctx.cases or 0) + 1
  if ctx.cases % 25 == 0 then M.args_reset(ctx) end
  local err_out = {}
  local saved = { exit = os.exit, print = print, write = io.write, stderr = io.stderr }
  os.exit = function(code) error(EXIT .. tostring(code or 0), 0) end
  print = function() end
  io.write = function() end
  io.stderr = { write = function(_, ...)
    for _, v in ipairs({ ... }) do err_out[#err_out + 1] = tostring(v) end
  end }
  local ok, err = budgeted(2000000, cli.main, ctx.repo, args)
  os.exit, print, io.write, io.stderr = saved.exit, saved.print, saved.write, saved.stderr
  local stderr = table.concat(err_out)
  if not ok then
    local text = tostring(err)
    if text:sub(1, #EXIT) ~= EXIT then return "Lua error from optgen: " .. text end
    local code = tonumber(text:match("^%d+", #EXIT + 1))
    if code ~= 0 and code ~= 1 and code ~= 2 then return "exit status " .. code end
    if code ~= 0 and not clean_output(stderr) then return "unclean message (exit " .. code .. "):\n" .. stderr end
  elseif not clean_output(stderr) then
    return "unclean message:\n" .. stderr
  end
  return escaped(ctx)
end

return M
