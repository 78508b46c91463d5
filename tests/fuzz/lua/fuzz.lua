-- Fuzzes the spec parser and optgen's command line, coverage-guided, under
-- LuaJIT (targets.lua says what fails a case):
--   luajit tests/fuzz/lua/fuzz.lua [--seconds N] [--target spec|args|all] [--seed N]
--   luajit tests/fuzz/lua/fuzz.lua --target spec|args --replay FILE
-- --seconds is per target (default $OPTK_FUZZ_SECONDS or 60).  Seeds come
-- from tests/fuzz/lua/corpus/ (and generator/specs/); every run starts from
-- them.  All writing happens in a fresh scratch directory; a failing input
-- is saved as build/fuzz-lua/crash-<target>-<n>.lua (a spec, or a Lua list
-- of arguments) for --replay, and the input being run is always in
-- build/fuzz-lua/current-<target>.lua, for a crash of LuaJIT itself.
local ffi = require("ffi")
io.stdout:setvbuf("line")

local here0 = arg[0]:match("^(.*)/[^/]*$") or "."
local p = io.popen("cd '" .. here0:gsub("'", "'\\''") .. "' && pwd -P")
local here = p:read("*l")
p:close()
local root = here:match("^(.*)/tests/fuzz/lua$")
package.path = root .. "/generator/lib/?.lua;" .. here .. "/?.lua;" .. package.path

local cover = require("cover")
local fs = require("optgen.fsutil")
local mutate = require("mutate")

-- A fixed seed by default, so that a CI run repeats (up to the machine's
-- speed); $OPTK_FUZZ_SEED or --seed explores further.
local o = { seconds = tonumber(os.getenv("OPTK_FUZZ_SECONDS")) or 60, target = "all",
            seed = tonumber(os.getenv("OPTK_FUZZ_SEED")) or 1 }
local i = 1
while i <= #arg do
  local k, v = arg[i]:match("^%-%-(%w+)$"), arg[i + 1]
  if not k or v == nil or o[k] == nil and k ~= "replay" then
    io.stderr:write("usage: fuzz.lua [--seconds N] [--target spec|args|all] [--seed N] [--replay FILE]\n")
    os.exit(2)
  end
  o[k] = tonumber(v) or v
  i = i + 2
end

ffi.cdef("struct optk_fuzz_tv { long sec; long usec; }; int gettimeofday(struct optk_fuzz_tv *tv, void *tz);")
local tv = ffi.new("struct optk_fuzz_tv")
local function now() ffi.C.gettimeofday(tv, nil); return tonumber(tv.sec) + tonumber(tv.usec) / 1e6 end

-- The scratch directory: work/ (the only place a run may write), repo/ (the
-- generator's inputs, which optgen reads as its root), stamp.
local tmp = os.getenv("TMPDIR")
local scratch = assert(fs.mkdtemp(((tmp and tmp ~= "") and tmp or "/tmp") .. "/optk-fuzz-"))
local ctx = { root = root, here = here, scratch = scratch, work = scratch .. "/work", repo = scratch .. "/repo",
              stamp = scratch .. "/stamp" }
fs.mkdir(ctx.repo)
for _, part in ipairs({ "generator", "templates", "runtime", "LICENSE", "generated" }) do
  assert(os.execute("cp -R " .. fs.quote(root .. "/" .. part) .. " " .. fs.quote(ctx.repo .. "/")) == 0)
end
-- Two specs are enough for the command line, and keep each run short.
for _, n in ipairs(fs.list(ctx.repo .. "/generator/specs", "%.lua$")) do
  if n ~= "sgd.lua" and n ~= "adam.lua" then os.remove(ctx.repo .. "/generator/specs/" .. n) end
end
assert(os.execute("luajit " .. fs.quote(ctx.repo .. "/generator/optgen") .. " generate >/dev/null") == 0)
fs.mkdir(ctx.work)
fs.write(ctx.stamp, "")
local outdir = root .. "/build/fuzz-lua"
fs.mkdir(outdir)
if not o.replay then -- a run's failures are its own
  for _, n in ipairs(fs.list(outdir, "^crash%-.*%.lua$")) do os.remove(outdir .. "/" .. n) end
end

local targets = require("targets")

-- Corpus entries: spec texts, or argument lists read from Lua files.
local function load_list(path)
  local chunk = assert(loadfile(path, "t"))
  setfenv(chunk, {})
  return chunk()
end
local function corpus(target)
  local out = {}
  if target == "spec" then
    for _, dir in ipairs({ root .. "/generator/specs", here .. "/corpus/spec" }) do
      for _, n in ipairs(fs.list(dir, "%.lua$")) do out[#out + 1] = fs.read(dir .. "/" .. n) end
    end
  else
    for _, n in ipairs(fs.list(here .. "/corpus/args", "%.lua$")) do
      out[#out + 1] = load_list(here .. "/corpus/args/" .. n)
    end
  end
  return out
end

local function serialize(target, input)
  if target == "spec" then return input end
  local parts = {}
  for j, a in ipairs(input) do parts[j] = string.format("%q", a) end
  return "return { " .. table.concat(parts, ", ") .. " }\n"
end

local setup = { spec = targets.spec_setup, args = function(c) targets.args_setup(c); targets.args_reset(c) end }
local run = { spec = targets.spec_run, args = targets.args_run }
local mut = { spec = mutate.spec, args = mutate.args }

local failures = 0
local function fuzz(target)
  setup[target](ctx)
  local seeds = corpus(target)
  local queue = {}
  for j, s in ipairs(seeds) do queue[j] = s end
  local execs, t0, crashes = 0, now(), 0
  local current = outdir .. "/current-" .. target .. ".lua"
  local j = 0
  while now() - t0 < o.seconds and crashes < 5 do
    j = j + 1
    local input = j <= #seeds and seeds[j] or mut[target](mutate.pick(queue), mutate.pick(queue))
    fs.write(current, serialize(target, input))
    local why = run[target](ctx, input)
    execs = execs + 1
    if why then
      crashes = crashes + 1
      local path = string.format("%s/crash-%s-%d.lua", outdir, target, crashes)
      fs.write(path, serialize(target, input))
      io.stderr:write("fuzz: ", target, ": FAILED: ", why, "\n  input saved as ", path, "\n")
    end
    if cover.take_fresh() > 0 and j > #seeds then queue[#queue + 1] = input end
  end
  local dt = now() - t0
  print(string.format("fuzz: %s: %d executions in %.1f s (%.0f/s), corpus %d -> %d, %d failing",
                      target, execs, dt, execs / dt, #seeds, #queue, crashes))
  failures = failures + crashes
end

local function cleanup()
  cover.stop()
  pcall(ffi.cdef, "int chdir(const char *path);")
  ffi.C.chdir(root)
  os.execute("rm -rf -- " .. fs.quote(scratch))
end

mutate.seed(o.seed)
cover.start(root .. "/generator/lib/")
if o.replay then
  -- Read before setting up: the args target works from the scratch directory.
  local input = o.target == "spec" and fs.read(o.replay) or load_list(o.replay)
  if input == nil or not run[o.target] then cleanup(); error("cannot replay " .. o.replay .. " as " .. o.target) end
  setup[o.target](ctx)
  local why = run[o.target](ctx, input)
  cleanup()
  print(why and "fuzz: FAILED: " .. why or "fuzz: passed")
  os.exit(why and 1 or 0)
end
print(string.format("fuzz: seed %d, %d s per target, scratch %s", o.seed, o.seconds, scratch))
local ok, err = pcall(function()
  for _, target in ipairs(o.target == "all" and { "spec", "args" } or { o.target }) do fuzz(target) end
end)
if not ok then cleanup(); error(err, 0) end
cover.stop()

local paths = {}
for _, n in ipairs(fs.list(root .. "/generator/lib/optgen", "%.lua$")) do
  paths[#paths + 1] = root .. "/generator/lib/optgen/" .. n
end
local rows, hit, total = cover.report(paths)
local parts = {}
for _, r in ipairs(rows) do parts[#parts + 1] = string.format("%s %d/%d", r.path:match("[^/]+$"), r.hit, r.total) end
print(string.format("fuzz: coverage of generator/lib/optgen: %d of %d lines (%.1f%%): %s", hit, total,
                    100 * hit / total, table.concat(parts, ", ")))
cleanup()
os.exit(failures == 0 and 0 or 1)
