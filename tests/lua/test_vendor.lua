-- optgen vendor: its output, and a clear message with nothing written for
-- every kind of bad input.
local fs = require("optgen.fsutil")
local generate = require("optgen.generate")
local h = require("helpers")
local isas = require("optgen.isas")

local optgen = "luajit " .. fs.quote(h.root .. "/generator/optgen")

local sh = h.sh

-- A path where nothing is yet (in a fresh directory, the second value,
-- which h.rm removes with it).
local function newpath()
  local top = h.dir()
  return top .. "/out", top
end

local base = " --optim adam,sgd_momentum --dtype f32,bf16 --isa scalar,avx2 --prefix my_"

-- Runs vendor with args into a fresh directory; returns status, output and
-- whether the directory exists afterwards.
local function vendor(args)
  local d, top = newpath()
  local status, out = sh(optgen .. " vendor --out " .. fs.quote(d) .. args)
  local exists = fs.is_dir(d)
  h.rm(top)
  return status, out, exists
end

local function refused(args, message)
  return function()
    local status, out, exists = vendor(args)
    h.eq(status, 2, "exit status")
    h.eq(out, "optgen: vendor: " .. message .. "\n", "message")
    h.eq(exists, false, "nothing written")
  end
end

return {
  { "writes the file, header, README and LICENSE", function()
    local d, top = newpath()
    local status, out = sh(optgen .. " vendor --out " .. fs.quote(d) .. base .. " --hp adam.beta1=0.9")
    h.eq(status, 0, "exit status:\n" .. out)
    for _, name in ipairs({ "my_optk.c", "my_optk.h", "README.md", "LICENSE" }) do
      h.eq(fs.read(d .. "/" .. name) ~= nil, true, name)
    end
    local c, hdr = fs.read(d .. "/my_optk.c"), fs.read(d .. "/my_optk.h")
    h.eq(c:find("my_optk_adam_f32_avx2_u4", 1, true) ~= nil, true, "prefixed kernel")
    h.eq(c:find("%f[%w_]optk_") == nil, true, "no unprefixed optk_ name")
    h.eq(c:find("%f[%w_]OPTK") == nil, true, "no unprefixed OPTK macro")
    h.eq(hdr:find("adam.beta1 = 0.9 (0x1.ccccccccccccdp-1)", 1, true) ~= nil, true, "baked value documented")
    h.eq(c:find("_avx512_u", 1, true) == nil, true, "no kernels of ISAs not asked for")
    -- A second run into the same directory replaces its own files.
    status = sh(optgen .. " vendor --out " .. fs.quote(d) .. base)
    h.eq(status, 0, "rerun")
    h.rm(top)
  end },
  { "vendors a selection of ISAs that skips some (the lists stay whole)", function()
    local d, top = newpath()
    local status, out = sh(optgen .. " vendor --out " .. fs.quote(d) .. " --optim sgd --dtype f64 --isa sve"
                           .. " --prefix my_")
    h.eq(status, 0, "exit status:\n" .. out)
    local c = fs.read(d .. "/my_optk.c")
    h.eq(c:find("#define MY_OPTK_ISA_COUNT " .. #generate.backends(h.root), 1, true) ~= nil, true, "every ISA listed")
    h.eq(c:find("my_optk_sgd_f64_sve_u", 1, true) ~= nil, true, "the kernel asked for")
    h.eq(c:find("my_optk_sgd_f64_avx2_u", 1, true) == nil, true, "no other")
    h.rm(top)
  end },
  { "takes 'all' for every name of a list", function()
    local d, top = newpath()
    local status, out = sh(optgen .. " vendor --out " .. fs.quote(d) .. " --optim sgd --dtype all --isa all,scalar"
                           .. " --prefix my_")
    h.eq(status, 0, "exit status:\n" .. out)
    local readme = fs.read(d .. "/README.md")
    h.eq(readme:find("- storage types: f32, f64, bf16, f16\n", 1, true) ~= nil, true, "every storage type")
    h.eq(readme:find("- ISAs: " .. isas.names(generate.backends(h.root)) .. "\n", 1, true) ~= nil, true,
         "every ISA, once")
    h.rm(top)
  end },
  { "refuses a directory holding other files", function()
    local d, top = newpath()
    fs.mkdir(d)
    fs.write(d .. "/mine.c", "int x;\n")
    local status, out = sh(optgen .. " vendor --out " .. fs.quote(d) .. base)
    h.eq(status, 2, "exit status")
    h.eq(out, "optgen: vendor: " .. d .. " holds mine.c, which optgen vendor did not write for the prefix my_;"
         .. " choose an empty or new directory\n", "message")
    h.eq(fs.read(d .. "/my_optk.c"), nil, "nothing written")
    h.rm(top)
  end },
  { "refuses an unknown optimizer", function()
    local names = {}
    for _, kir in ipairs((require("optgen.generate").kernel_irs(h.root))) do names[#names + 1] = kir.spec.name end
    refused(base .. " --optim adamv", "unknown optim 'adamv' (" .. table.concat(names, ", ") .. ", or all)")()
  end },
  { "refuses an unknown dtype", refused(" --optim adam --dtype f8 --isa scalar --prefix my_",
    "unknown dtype 'f8' (f32, f64, bf16, f16, or all)") },
  { "refuses an unknown ISA", refused(" --optim adam --dtype f32 --isa sse2 --prefix my_",
    "unknown isa 'sse2' (" .. isas.names(generate.backends(h.root)) .. ", or all)") },
  { "refuses an unknown hyperparameter", refused(base .. " --hp adam.beta3=0.5",
    "--hp adam.beta3=0.5: adam has no hyperparameter 'beta3' (lr, beta1, beta2, eps)") },
  { "refuses a baked value outside its domain", refused(base .. " --hp adam.beta1=1",
    "--hp adam.beta1=1: 1 lies outside the domain [0, 1) of adam.beta1") },
  { "refuses a hyperparameter of an optimizer not vendored", refused(base .. " --hp rmsprop.rho=0.5",
    "--hp rmsprop.rho=0.5: 'rmsprop' is not among the vendored optimizers") },
  { "refuses a prefix that is no C identifier", refused(" --optim adam --dtype f32 --isa scalar --prefix 1abc",
    "prefix '1abc' is not a C identifier") },
}
