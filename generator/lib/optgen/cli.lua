-- optgen's command line: generate, list, show.
local diag = require("optgen.diag")
local emit = require("optgen.emit")
local fs = require("optgen.fsutil")
local generate = require("optgen.generate")

local M = {}

local usage = {
  main = [=[
usage: optgen COMMAND [OPTIONS]

Emits optkern's SIMD kernels from the optimizer specs in generator/specs/.

commands:
  generate   write every generated file (into generated/), or check them
  list       list specs, kernels, hyperparameters and state
  show       print one kernel's C

'optgen COMMAND --help' describes each.]=],
  generate = [=[
usage: optgen generate [--out DIR] [--check] [--unroll ISA=N[,ISA=N...]] [--depfile FILE]

Regenerates every file from the specs, backends and templates.
  --out DIR      write into DIR (created if missing) instead of generated/
  --check        write nothing; list stale, missing and extra files and exit 1 if any
  --unroll LIST  vectors per main-loop iteration for the named ISAs (default: each backend's)
  --depfile FILE also write a make-style list of the files read (for the build)
A spec error writes nothing.]=],
  list = [=[
usage: optgen list

Lists each spec with its kernels, their hyperparameters (default, domain),
state arrays, and the kernel symbols emitted per storage type and ISA.]=],
  show = [=[
usage: optgen show NAME --isa ISA --dtype TYPE [--unroll N]

Prints the C of one kernel, e.g. 'optgen show adam --isa avx2 --dtype bf16'.]=],
}

local function die(fmt, ...)
  io.stderr:write("optgen: " .. string.format(fmt, ...) .. "\n")
  os.exit(2)
end

-- Parses --flag VALUE and --flag options against the allowed set.
local function options(args, allowed, cmd)
  local o, i = {}, 1
  while i <= #args do
    local a = args[i]
    local name = a:match("^%-%-([%w-]+)$")
    if a == "--help" or a == "-h" then
      print(usage[cmd])
      os.exit(0)
    elseif name and allowed[name] == "flag" then
      o[name] = true
    elseif name and allowed[name] == "value" then
      if args[i + 1] == nil then die("%s: --%s needs a value", cmd, name) end
      o[name], i = args[i + 1], i + 1
    elseif not name and allowed[1] == "positional" and o[1] == nil then
      o[1] = a
    else
      die("%s: unexpected argument '%s' (see 'optgen %s --help')", cmd, a, cmd)
    end
    i = i + 1
  end
  return o
end

local function report(errors)
  for _, e in ipairs(errors) do io.stderr:write(tostring(e), "\n") end
  io.stderr:write("optgen: ", #errors, " error", #errors == 1 and "" or "s", "; no output written\n")
  os.exit(1)
end

local function parse_unroll(text, backends)
  local known, r = {}, {}
  for _, be in ipairs(backends) do known[be.isa] = true end
  for item in (text or ""):gmatch("[^,]+") do
    local isa, n = item:match("^(%w+)=(%d+)$")
    if not isa then die("generate: --unroll wants ISA=N, not '%s'", item) end
    if not known[isa] then die("generate: --unroll: unknown ISA '%s'", isa) end
    n = tonumber(n)
    if n < 1 or n > 16 then die("generate: --unroll: %s=%d is outside 1..16", isa, n) end
    r[isa] = n
  end
  return r
end

local commands = {}

function commands.generate(root, args)
  local o = options(args, { out = "value", check = "flag", unroll = "value", depfile = "value" }, "generate")
  local unroll = parse_unroll(o.unroll, generate.backends(root))
  local files, errors = generate.files(root, { unroll = unroll })
  if not files then report(errors) end
  local out = o.out or (root == "." and "generated" or root .. "/generated")
  if o.check then
    local stale, missing, extra = generate.compare(files, out)
    for _, p in ipairs(stale) do print("stale: " .. p) end
    for _, p in ipairs(missing) do print("missing: " .. p) end
    for _, p in ipairs(extra) do print("extra: " .. p) end
    local bad = #stale + #missing + #extra
    if bad > 0 then
      print(string.format("optgen: %s is out of date (%d file%s); run 'generator/optgen generate'",
                          out, bad, bad == 1 and "" or "s"))
      os.exit(1)
    end
    print(string.format("optgen: %s is up to date (%d files)", out, #files))
    return
  end
  if not fs.mkdir(out) then die("generate: cannot create %s", out) end
  local changed, kept = generate.write(files, out, "sources.ninja")
  for _, p in ipairs(kept) do
    io.stderr:write("optgen: warning: ", out, "/", p, " was not written by optgen; left alone\n")
  end
  if o.depfile then
    local deps = {}
    for _, p in ipairs(generate.inputs(root)) do deps[#deps + 1] = p end
    fs.write(o.depfile, "generated/sources.ninja: " .. table.concat(deps, " \\\n  ") .. "\n")
  end
  print(string.format("optgen: %d files, %d changed", #files, #changed))
end

function commands.list(root, args)
  options(args, {}, "list")
  local kernels, errors = generate.kernels(root)
  if #errors > 0 then report(errors) end
  local backends = generate.backends(root)
  local family
  for _, kir in ipairs(kernels) do
    local k = kir.spec
    if k.family ~= family then
      family = k.family
      print(string.format("spec generator/specs/%s.lua", family))
    end
    print("  kernel " .. k.name)
    for _, h in ipairs(k.hparams) do
      print(string.format("    hparam %-26s default %-8s domain %s", h.name, tostring(h.default), h.domain_text))
    end
    for _, s in ipairs(k.state) do print("    state  " .. s.name) end
    local syms = {}
    for _, dtype in ipairs(emit.dtypes) do
      for _, be in ipairs(backends) do syms[#syms + 1] = emit.symbol(k.name, dtype, be.isa, be.default_unroll) end
    end
    print("    emits  " .. table.concat(syms, " "))
  end
end

function commands.show(root, args)
  local o = options(args, { "positional", isa = "value", dtype = "value", unroll = "value" }, "show")
  if not o[1] or not o.isa or not o.dtype then die("show: needs NAME, --isa and --dtype (see 'optgen show --help')") end
  local known = false
  for _, d in ipairs(emit.dtypes) do known = known or d == o.dtype end
  if not known then die("show: unknown dtype '%s' (f32, f64, bf16, f16)", o.dtype) end
  local backends = generate.backends(root)
  local be
  for _, b in ipairs(backends) do if b.isa == o.isa then be = b end end
  if not be then die("show: unknown ISA '%s'", o.isa) end
  local kernels, errors = generate.kernels(root)
  if #errors > 0 then report(errors) end
  local unroll = { [o.isa] = tonumber(o.unroll) }
  if o.unroll and not unroll[o.isa] then die("show: --unroll wants a number") end
  local files = emit.all({ kernels = kernels, backends = backends, unroll = unroll,
                           templates = root .. "/templates" })
  local want = string.format("%s/%s_%s_%s_u%d.c", o.isa, o[1], o.dtype, o.isa, unroll[o.isa] or be.default_unroll)
  for _, f in ipairs(files) do
    if f.path == want then io.write(f.text); return end
  end
  die("show: no optimizer named '%s' (see 'optgen list')", o[1])
end

function M.main(root, args)
  local cmd = args[1]
  if cmd == nil or cmd == "--help" or cmd == "-h" or cmd == "help" then
    print(usage.main)
    os.exit(cmd == nil and 2 or 0)
  end
  if not commands[cmd] then die("unknown command '%s' (see 'optgen --help')", cmd) end
  local ok, err = diag.try(commands[cmd], root, { unpack(args, 2) })
  if not ok then report({ err }) end
end

return M
