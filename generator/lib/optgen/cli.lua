-- optgen's command line: generate, list, show, vendor and tune.
local diag = require("optgen.diag")
local emit = require("optgen.emit")
local fs = require("optgen.fsutil")
local generate = require("optgen.generate")
local tune = require("optgen.tune")
local vendor = require("optgen.vendor")

local M = {}

local usage = {
  main = [=[
usage: optgen COMMAND [OPTIONS]

Emits optkern's SIMD kernels from the optimizer specs in generator/specs/.

commands:
  generate   write every generated file (into generated/), or check them
  list       list specs, kernels, hyperparameters and state
  show       print one kernel's C
  vendor     write one self-contained C file and header with chosen kernels
  tune       measure kernels' knob settings on this machine and write a tuning profile

'optgen COMMAND --help' describes each.]=],
  generate = [=[
usage: optgen generate [--out DIR] [--check] [--unroll ISA=N[,ISA=N...]] [--depfile FILE]
                       [--profile FILE --out DIR]

Regenerates every file from the specs, backends and templates.
  --out DIR      write into DIR (created if missing) instead of generated/
  --check        write nothing; list stale, missing and extra files and exit 1 if any
  --unroll LIST  vectors per main-loop iteration for the named ISAs (default: each backend's)
  --depfile FILE also write a make-style list of the files read (for the build)
  --profile FILE emit the knob settings a tuning profile (optgen tune) chose; needs --out,
                 since generated/ never depends on the machine
A spec error writes nothing.]=],
  tune = [=[
usage: optgen tune [--optim LIST] [--dtype LIST] [--isa LIST] [--quick] [--out FILE]
                   [--samples FILE]
       optgen tune --profile-path

Finds the fastest knob setting (such as u4_pf8_nt) of each kernel on this machine: for
every optimizer, storage type and ISA (default: all, and every SIMD ISA this CPU runs) it
emits candidate settings (unroll 1/2/4/8, software prefetch, non-temporal stores), compiles
them with $CC (or cc) into a shared object, checks each against the scalar baseline bit for
bit (rejecting and reporting any that differ), times each in L1, in L2 and beyond the
last-level cache, and writes a profile: generator/tuning/<vendor>-fam<F>-model<M>-<isas>.lua
(or FILE), with the fastest setting per size class, the one to emit and the medians they
rest on.  It then times each ISA's chosen setting against the others and records the ISA
to run per size class (on AVX-512 CPUs the AVX2 kernel is the 256-bit one), and measures
with the library's thread pool the smallest part worth splitting a step into; every sample
goes to build/tuning/<profile name>.samples.lua.  Apply it with
'optgen generate --profile FILE --out DIR' (tests/tuned.sh builds and tests a library so).
  --quick          fewer candidates and samples (about 1.3 s a kernel: 5 minutes for all 248
                   on a busy 2-core machine)
  --out FILE       write the profile to FILE
  --samples FILE   write every sample to FILE
  --profile-path   print this CPU's profile path and exit
  --sizes L1,L2,BIG  elements per size class instead of the cache-derived ones (tests)
  --lib FILE       the library whose thread pool the split threshold is measured with
                   (default build/liboptkern.so; without it no threshold is recorded)
  --no-split       measure no split threshold
Nothing is written unless every kernel was tuned, and no file tune did not write is replaced.]=],
  list = [=[
usage: optgen list

Lists each spec with its kernels, their hyperparameters (default, domain),
state arrays, and the kernel symbols emitted per storage type and ISA.]=],
  vendor = [=[
usage: optgen vendor --optim LIST --dtype LIST --isa LIST --prefix PREFIX --out DIR
                     [--hp OPT.NAME=VALUE ...] [--unroll ISA=N[,ISA=N...]] [--profile FILE]

Writes DIR/PREFIXoptk.c and DIR/PREFIXoptk.h (plus README.md and LICENSE): the chosen
optimizers, storage types and ISAs (the scalar baseline always comes along) with runtime
dispatch, every external symbol prefixed with PREFIX and every macro with its upper case.
They compile with gcc or clang, C99 or later, -O2, no other flags.  A LIST is names
separated by commas; "all" stands for every one.
  --hp adam.beta1=0.9   bake a hyperparameter in as an exact constant (repeatable)
  --profile FILE        use the knob settings a tuning profile (optgen tune) chose
DIR must be new or hold only the files an earlier vendor run wrote with the same PREFIX;
nothing is written on error.
Example:
  optgen vendor --optim adam,sgd_momentum --dtype f32,bf16 --isa scalar,avx2,avx512 \
                --prefix mylib_ --out third_party/optk/]=],
  show = [=[
usage: optgen show NAME --isa ISA --dtype TYPE [--unroll N]

Prints the C of one kernel, e.g. 'optgen show adam --isa avx2 --dtype bf16'.]=],
}

-- Each command's options, by name: "flag", "value" (one value) or "list"
-- (repeatable); "positional" first when it takes a NAME.  (tests/lua
-- checks the README's commands against these.)
M.options = {
  generate = { out = "value", check = "flag", unroll = "value", depfile = "value", profile = "value" },
  list = {},
  show = { "positional", isa = "value", dtype = "value", unroll = "value" },
  vendor = { optim = "value", dtype = "value", isa = "value", prefix = "value", out = "value", hp = "list",
             unroll = "value", profile = "value" },
  tune = { optim = "value", dtype = "value", isa = "value", quick = "flag", out = "value", samples = "value",
           sizes = "value", ["profile-path"] = "flag", lib = "value", ["no-split"] = "flag" },
}

-- Exits with a one-line message: control characters in what it quotes
-- (arguments, file names) are shown as \ and their code.
local function die(fmt, ...)
  local n, args = select("#", ...), { ... }
  for i = 1, n do
    if type(args[i]) == "string" then
      args[i] = args[i]:gsub("%c", function(c) return "\\" .. c:byte() end)
    end
  end
  io.stderr:write("optgen: " .. string.format(fmt, unpack(args, 1, n)) .. "\n")
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
    elseif name and (allowed[name] == "value" or allowed[name] == "list") then
      if args[i + 1] == nil then die("%s: --%s needs a value", cmd, name) end
      if allowed[name] == "list" then
        o[name] = o[name] or {}
        table.insert(o[name], args[i + 1])
      else
        o[name] = args[i + 1]
      end
      i = i + 1
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

-- The knob settings a tuning profile chooses (what emit calls `variants`),
-- checked against the kernels and backends; dies with the profile's error.
local function profile_settings(root, path, cmd)
  local kernels, errors = generate.kernel_irs(root)
  if #errors > 0 then report(errors) end
  local known = { kernels = {}, isas = {}, backends = {} }
  for _, kir in ipairs(kernels) do known.kernels[kir.spec.name] = true end
  for _, be in ipairs(generate.backends(root)) do known.isas[be.isa], known.backends[be.isa] = true, be end
  local ok, _, settings, dispatch, split = pcall(tune.load_profile, path, known)
  if not ok then
    local err = _
    if type(err) == "table" and err.tune then die("%s: %s", cmd, err.tune) end
    error(err, 0)
  end
  return settings, dispatch, split
end

local commands = {}

function commands.generate(root, args)
  local o = options(args, M.options.generate, "generate")
  local unroll = parse_unroll(o.unroll, generate.backends(root))
  local variants, dispatch, split
  if o.profile then
    if not o.out then die("generate: --profile needs --out DIR (generated/ stays independent of the machine)") end
    variants, dispatch, split = profile_settings(root, o.profile, "generate")
  end
  local files, errors = generate.files(root, { unroll = unroll, variants = variants, dispatch = dispatch,
                                               split = split })
  if not files then report(errors) end
  if o.out and not fs.clean_dir(o.out) then die("generate: --out needs a directory name") end
  local out = fs.clean_dir(o.out) or (root == "." and "generated" or root .. "/generated")
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
  local ok, changed, kept = pcall(generate.write, files, out)
  if not ok then
    if type(changed) == "table" and changed.generate then die("generate: %s", changed.generate) end
    error(changed, 0)
  end
  for _, p in ipairs(kept) do
    io.stderr:write("optgen: warning: ", out, "/", p, " was not written by optgen; left alone\n")
  end
  if o.depfile then
    local deps = generate.inputs(root)
    if o.profile then deps[#deps + 1] = o.profile end
    local dok, err = pcall(fs.write, o.depfile, out .. "/sources.ninja: " .. table.concat(deps, " \\\n  ") .. "\n")
    if not dok then die("generate: %s", tostring(err)) end
  end
  print(string.format("optgen: %d files, %d changed", #files, #changed))
end

function commands.list(root, args)
  options(args, M.options.list, "list")
  local kernels, errors = generate.kernel_irs(root)
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
  local o = options(args, M.options.show, "show")
  if not o[1] or not o.isa or not o.dtype then die("show: needs NAME, --isa and --dtype (see 'optgen show --help')") end
  local known = false
  for _, d in ipairs(emit.dtypes) do known = known or d == o.dtype end
  if not known then die("show: unknown dtype '%s' (%s)", o.dtype, table.concat(emit.dtypes, ", ")) end
  local backends = generate.backends(root)
  local be
  for _, b in ipairs(backends) do if b.isa == o.isa then be = b end end
  if not be then die("show: unknown ISA '%s'", o.isa) end
  local kernels, errors = generate.kernel_irs(root)
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

function commands.vendor(root, args)
  local o = options(args, M.options.vendor, "vendor")
  if not o.out then die("vendor: --out DIR is required (see 'optgen vendor --help')") end
  o.out = fs.clean_dir(o.out) or die("vendor: --out needs a directory name")
  o.unroll = parse_unroll(o.unroll, generate.backends(root))
  if o.profile then o.variants, o.dispatch, o.split = profile_settings(root, o.profile, "vendor") end
  local function check(ok, err)
    if not ok and type(err) == "table" and err.vendor then die("vendor: %s", err.vendor) end
    if not ok then error(err, 0) end
  end
  local ok, files, errors = pcall(vendor.assemble, root, o, args)
  check(ok, files)
  if not files then report(errors) end
  check(pcall(vendor.write, files, o.out, o.prefix))
  for _, f in ipairs(files) do print(string.format("optgen: wrote %s/%s (%d bytes)", o.out, f[1], #f[2])) end
end

function commands.tune(root, args)
  local o = options(args, M.options.tune, "tune")
  if o["profile-path"] then
    print(tune.default_path(root, tune.cpu(), generate.backends(root)))
    return
  end
  if o.sizes then
    local a, b, c = o.sizes:match("^(%d+),(%d+),(%d+)$")
    if not a then die("tune: --sizes wants L1,L2,BIG element counts, not '%s'", o.sizes) end
    o.sizes = { l1 = tonumber(a), l2 = tonumber(b), big = tonumber(c) }
  end
  local ok, path, lines = pcall(tune.run, root, o)
  if not ok then
    if type(path) == "table" and path.tune then -- may quote a compiler's messages, lines and all
      io.stderr:write("optgen: tune: ", path.tune, "; no profile written\n")
      os.exit(2)
    end
    error(path, 0)
  end
  if not path then report(lines) end
  for _, l in ipairs(lines) do print(l) end
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
