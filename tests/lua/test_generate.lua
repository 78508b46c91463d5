-- The whole generator through its command line: reproducible output, the
-- --check listing, nothing written on a spec error, show and list.
local generate = require("optgen.generate")
local fs = require("optgen.fsutil")
local h = require("helpers")

local root = h.root
local optgen = "luajit " .. fs.quote(root .. "/generator/optgen")

local sh = h.sh

return {
  { "output is identical from run to run and names no machine", function()
    local a, b = generate.files(root), generate.files(root)
    h.eq(#a, #b, "file count")
    for i = 1, #a do
      h.eq(a[i].path, b[i].path, "path")
      h.eq(a[i].text == b[i].text, true, a[i].path .. " identical")
      h.eq(a[i].text:find(os.getenv("HOME") or "/root", 1, true), nil, a[i].path .. " names no home directory")
      h.eq(a[i].text:find(os.date("%Y"), 1, true), nil, a[i].path .. " names no date")
    end
  end },
  { "kernels carry stable names", function()
    local found = {}
    for _, f in ipairs(generate.files(root)) do found[f.path] = f.text end
    local k = found["avx2/adam_f32_avx2_u4.c"]
    h.eq(k ~= nil, true, "adam avx2 file")
    h.eq(k:find("void optk_adam_f32_avx2_u4(", 1, true) ~= nil, true, "symbol")
    h.eq(k:find("DO NOT EDIT", 1, true) ~= nil, true, "marked as generated")
  end },
  { "--check lists stale, missing and extra files", function()
    local d = h.dir()
    h.eq((sh(optgen .. " generate --out " .. fs.quote(d .. "/g"))), 0, "generate")
    h.eq((sh(optgen .. " generate --check --out " .. fs.quote(d .. "/g"))), 0, "fresh output checks clean")
    fs.write(d .. "/g/registry.c", "changed\n")
    os.remove(d .. "/g/optk_kernels.h")
    fs.write(d .. "/g/stray.c", "x\n")
    local status, out = sh(optgen .. " generate --check --out " .. fs.quote(d .. "/g"))
    h.eq(status, 1, "exit status")
    h.eq(out:find("stale: registry.c", 1, true) ~= nil, true, "stale listed:\n" .. out)
    h.eq(out:find("missing: optk_kernels.h", 1, true) ~= nil, true, "missing listed")
    h.eq(out:find("extra: stray.c", 1, true) ~= nil, true, "extra listed")
    h.rm(d)
  end },
  { "a spec error writes nothing", function()
    local d = h.dir()
    os.execute(string.format("cp -r %s %s %s", fs.quote(root .. "/generator"), fs.quote(root .. "/templates"),
                             fs.quote(d)))
    fs.write(d .. "/generator/specs/zbad.lua", h.spec_text({ name = 'name = "zbad",',
      variants = 'variants = { { "zbad" } },', update = 'update = [[\n    v = v +\n    p = p\n  ]],' }))
    local status, out = sh("luajit " .. fs.quote(d .. "/generator/optgen") .. " generate --out "
                           .. fs.quote(d .. "/out"))
    h.eq(status, 1, "exit status")
    h.eq(out:find("generator/specs/zbad.lua:9:12: error: expected an expression before end of line", 1, true) ~= nil,
         true, "diagnostic:\n" .. out)
    h.eq(out:find("no output written", 1, true) ~= nil, true, "says nothing was written")
    h.eq(fs.is_dir(d .. "/out"), false, "no output directory")
    h.rm(d)
  end },
  { "show prints one kernel; bad arguments are refused", function()
    local status, out = sh(optgen .. " show sgd --isa avx512 --dtype bf16")
    h.eq(status, 0, "exit status")
    h.eq(out:find("void optk_sgd_bf16_avx512_u4(", 1, true) ~= nil, true, "kernel printed")
    status, out = sh(optgen .. " show sgd --isa mmx --dtype f32")
    h.eq(status, 2, "unknown ISA status")
    h.eq(out, "optgen: show: unknown ISA 'mmx'\n", "unknown ISA message")
    status, out = sh(optgen .. " show nosuch --isa avx2 --dtype f32")
    h.eq(status, 2, "unknown optimizer status")
    h.eq(out, "optgen: show: no optimizer named 'nosuch' (see 'optgen list')\n", "unknown optimizer message")
  end },
  { "list names every optimizer with its hyperparameters", function()
    local status, out = sh(optgen .. " list")
    h.eq(status, 0, "exit status")
    for _, name in ipairs({ "sgd", "sgd_momentum", "sgd_nesterov", "adagrad", "rmsprop", "rmsprop_momentum",
                            "rmsprop_centered", "rmsprop_centered_momentum", "adam", "adam_amsgrad", "adamax" }) do
      h.eq(out:find("kernel " .. name .. "\n", 1, true) ~= nil, true, name .. " listed")
    end
    h.eq(out:find("hparam initial_accumulator_value", 1, true) ~= nil, true, "hyperparameters listed")
  end },
  { "--help works for every command", function()
    for _, cmd in ipairs({ "", "generate ", "list ", "show " }) do
      local status, out = sh(optgen .. " " .. cmd .. "--help")
      h.eq(status, 0, cmd .. "--help status")
      h.eq(out:find("usage: optgen", 1, true) ~= nil, true, cmd .. "--help text")
    end
  end },
}
