-- Tuning: the knobs' code and names (defaults unchanged), profiles read and
-- written back, generate/vendor --profile, bad input, and one tiny tuning
-- run on one kernel.
local emit = require("optgen.emit")
local fs = require("optgen.fsutil")
local generate = require("optgen.generate")
local tune = require("optgen.tune")
local h = require("helpers")

local root = h.root
local optgen = "luajit " .. fs.quote(root .. "/generator/optgen")

local sh = h.sh

local function has(text, s, what) h.eq(text:find(s, 1, true) ~= nil, true, (what or s) .. " in:\n" .. text) end
local function lacks(text, s, what) h.eq(text:find(s, 1, true), nil, (what or s) .. " absent from:\n" .. text) end

local kernels = generate.kernel_irs(root)
local backends = generate.backends(root)
local by_isa = {}
for _, be in ipairs(backends) do by_isa[be.isa] = be end
local function kir_of(name)
  for _, k in ipairs(kernels) do if k.spec.name == name then return k end end
end
local function variant_text(name, isa, dtype, vname)
  local be = by_isa[isa]
  local path, text, sym = emit.kernel_file(kir_of(name), be, be.tail == "scalar" and by_isa.scalar or nil, dtype,
                                           assert(emit.parse_variant(vname), vname), root .. "/templates")
  return text, sym, path
end

-- A minimal profile choosing variants.
local function profile_text(chosen)
  local ks = {}
  for k, v in pairs(chosen) do
    ks[k] = { default = "u4", chosen = v, best = { l1 = v, l2 = v, big = v },
              speedup = { l1 = 1, l2 = 1, big = 1 }, n = { l1 = 256, l2 = 1024, big = 4096 },
              ns = { { setting = "u4", l1 = { 2, 2 }, l2 = { 2, 2 }, big = { 2, 2 } } } }
  end
  return tune.profile_text({ format = tune.FORMAT, cpu = { vendor = "Test", family = "1", model = "2" },
                             compiler = "cc", quick = true, seconds = 1, kernels = ks })
end

return {
  { "variant names round-trip; the default keeps its name", function()
    for _, name in ipairs({ "u4", "u1_pf8", "u2_pf16_nt", "u8_nt", "u4_al", "u2_pf8_al" }) do
      h.eq(emit.variant_name(emit.parse_variant(name)), name, "round trip")
    end
    for _, bad in ipairs({ "u0", "x4", "u4_nt_pf8", "u4_pf", "u4_pf08", "u4_foo", "u17" }) do
      h.eq(emit.parse_variant(bad), nil, bad .. " refused")
    end
    h.eq(emit.symbol("adam", "f32", "avx512", 4), "optk_adam_f32_avx512_u4", "numeric form")
    h.eq(emit.symbol("adam", "f32", "avx512", emit.parse_variant("u2_pf8_nt")), "optk_adam_f32_avx512_u2_pf8_nt",
         "variant symbol")
  end },
  { "prefetch and non-temporal knobs produce their code", function()
    local text, sym, path = variant_text("adam", "avx512", "f32", "u2_pf8_nt")
    h.eq(sym, "optk_adam_f32_avx512_u2_pf8_nt", "symbol")
    h.eq(path, "avx512/adam_f32_avx512_u2_pf8_nt.c", "path")
    has(text, "void optk_adam_f32_avx512_u2_pf8_nt(")
    has(text, "_mm_prefetch((const char *)((uintptr_t)(p + i) + 512), _MM_HINT_T0);", "prefetch 8 lines ahead")
    has(text, "_mm_prefetch((const char *)((uintptr_t)(p + i) + 576), _MM_HINT_T0);", "second line of the tile")
    has(text, "_mm512_stream_ps(m + i, t", "streaming store")
    has(text, "_mm_sfence();", "fence after streaming")
    has(text, "& 63u) == 0) {", "run-time alignment check")
    has(text, "i = r0;", "masked peel")
    text = variant_text("sgd", "avx2", "f64", "u1_al")
    has(text, "size_t r0 = (size_t)((0u - (uintptr_t)p) & 31u) / sizeof *p;", "peel to 32 bytes")
    lacks(text, "_mm256_stream_pd", "no streaming in al")
    lacks(text, "_mm_prefetch", "no prefetch without pf")
    -- bf16 storage has no streaming store: p keeps its store, state streams.
    text = variant_text("adam", "avx2", "bf16", "u4_nt")
    has(text, "optk_avx2_store_bf16(p + i", "bf16 param stored normally")
    has(text, "_mm256_stream_ps(m + i", "state streamed")
  end },
  { "default variants are unchanged and plain", function()
    local text = variant_text("adam", "avx512", "f32", "u4")
    for _, f in ipairs(generate.files(root)) do
      if f.path == "avx512/adam_f32_avx512_u4.c" then h.eq(f.text, text, "default variant = generated file") end
    end
    lacks(text, "_mm_prefetch")
    lacks(text, "stream")
    lacks(text, "r0")
  end },
  { "a profile round-trips and drives emit", function()
    local path = h.tmpfile(profile_text({ ["adam/f32/avx512"] = "u2_pf8_nt", ["sgd/bf16/avx2"] = "u8" }))
    local p, variants = tune.load_profile(path)
    os.remove(path)
    h.eq(p.cpu.vendor, "Test", "cpu read back")
    h.eq(emit.variant_name(variants["adam/f32/avx512"]), "u2_pf8_nt", "variant read back")
    local files = emit.all({ kernels = kernels, backends = backends, variants = variants,
                             templates = root .. "/templates" })
    local by = {}
    for _, f in ipairs(files) do by[f.path] = f.text end
    h.eq(by["avx512/adam_f32_avx512_u4.c"], nil, "default replaced")
    has(by["avx512/adam_f32_avx512_u2_pf8_nt.c"], "_mm512_stream_ps")
    has(by["avx2/sgd_bf16_avx2_u8.c"], "void optk_sgd_bf16_avx2_u8(")
    has(by["common/adam.c"], "[OPTK_ISA_AVX512] = optk_adam_f32_avx512_u2_pf8_nt,", "record names the variant")
    has(by["common/adam.c"], "[OPTK_ISA_AVX2] = optk_adam_f32_avx2_u4,", "others stay default")
    has(by["units/adam_avx512.c"], '#include "../avx512/adam_f32_avx512_u2_pf8_nt.c"', "translation unit")
    h.eq(tune.literal({ b = 1, a = { 1.5, "x" } }), '{ a = { 1.5, "x" }, b = 1 }', "literal")
  end },
  { "choose picks the default unless a variant clearly wins", function()
    local function m(v, a, b, c) return { setting = v, l1 = { a }, l2 = { b }, big = { c } } end
    local chosen, best, speed, _ = tune.choose({ m("u4", 10, 10, 10), m("u2", 9.9, 10, 10.1), m("u8", 8, 20, 10) })
    h.eq(chosen, "u4", "noise and a loss in one class keep the default")
    h.eq(best.l1, "u8", "fastest in L1")
    h.eq(speed.l1, 1, "speed-up of the default")
    chosen, _, speed = tune.choose({ m("u4", 10, 10, 10), m("u1", 9, 9, 10) })
    h.eq(chosen, "u1", "a clear win")
    h.eq(speed.l2, 1.111, "speed-up")
  end },
  { "generate --profile needs --out and writes the variants", function()
    local d = h.dir()
    local prof = d .. "/p.lua"
    fs.write(prof, profile_text({ ["sgd/f32/avx2"] = "u2_pf4" }))
    local _
    local status, out = sh(optgen .. " generate --profile " .. fs.quote(prof))
    h.eq(status, 2, "status without --out")
    has(out, "--profile needs --out DIR")
    status, out = sh(optgen .. " generate --profile " .. fs.quote(prof) .. " --out " .. fs.quote(d .. "/g"))
    h.eq(status, 0, "status:\n" .. out)
    h.eq(fs.read(d .. "/g/avx2/sgd_f32_avx2_u2_pf4.c") ~= nil, true, "variant written")
    h.eq(fs.read(d .. "/g/avx2/sgd_f32_avx2_u4.c"), nil, "default not written")
    fs.write(prof, profile_text({ ["nosuch/f32/avx2"] = "u2" }))
    status, out = sh(optgen .. " generate --profile " .. fs.quote(prof) .. " --out " .. fs.quote(d .. "/h"))
    h.eq(status, 2, "unknown optimizer status")
    has(out, "unknown optimizer 'nosuch'")
    fs.write(prof, profile_text({ ["sgd/f32/avx2"] = "u2_zz" }))
    _, out = sh(optgen .. " generate --profile " .. fs.quote(prof) .. " --out " .. fs.quote(d .. "/h"))
    has(out, "bad knob setting 'u2_zz'")
    fs.write(prof, "return 42\n")
    status, out = sh(optgen .. " vendor --optim sgd --dtype f32 --isa avx2 --prefix x_ --profile "
                     .. fs.quote(prof) .. " --out " .. fs.quote(d .. "/v"))
    h.eq(status, 2, "vendor bad profile status")
    has(out, "not an optgen tuning profile")
    h.eq(fs.is_dir(d .. "/h") or fs.is_dir(d .. "/v"), false, "nothing written on error")
    h.rm(d)
  end },
  { "vendor --profile carries the variants", function()
    local d = h.dir()
    fs.write(d .. "/p.lua", profile_text({ ["sgd/f32/avx2"] = "u2_pf4_nt" }))
    local status, out = sh(optgen .. " vendor --optim sgd --dtype f32 --isa avx2 --prefix x_ --profile "
                           .. fs.quote(d .. "/p.lua") .. " --out " .. fs.quote(d .. "/v"))
    h.eq(status, 0, "status:\n" .. out)
    local c = fs.read(d .. "/v/x_optk.c")
    has(c, "void x_optk_sgd_f32_avx2_u2_pf4_nt(", "variant vendored")
    has(c, "[X_OPTK_ISA_AVX2] = x_optk_sgd_f32_avx2_u2_pf4_nt,", "and dispatched to")
    h.rm(d)
  end },
  { "tune refuses bad input and writes nothing", function()
    local d = h.dir()
    local out_path = d .. "/prof.lua"
    local base = optgen .. " tune --out " .. fs.quote(out_path)
    local cases = {
      { " --optim nosuch", "tune: unknown optim 'nosuch' (" },
      { " --dtype f8", "tune: unknown dtype 'f8' (f32, f64, bf16, f16, or all); no profile written" },
      { " --isa mmx", "tune: unknown isa 'mmx' (" },
      { " --isa scalar", "tune: scalar is the baseline" },
      { " --sizes 1,2", "tune: --sizes wants L1,L2,BIG", nil, true },
    }
    local cpu = tune.cpu()
    for _, isa in ipairs({ "neon", "sve", "avx512", "avx2" }) do
      if by_isa[isa] and not tune.runs(cpu, by_isa[isa]) then
        cases[#cases + 1] = { " --isa " .. isa, "tune: this CPU cannot run " .. isa .. ": " }
        break
      end
    end
    local runnable = tune.cpu_isas(cpu, backends)[1]
    if runnable then
      local sel = " --optim sgd --dtype f32 --isa " .. runnable
      cases[#cases + 1] = { sel, "tune: no C compiler: '/nonexistent/cc' not found", "CC=/nonexistent/cc " }
      cases[#cases + 1] = { sel, "tune: candidates of sgd failed to compile with 'false ", "CC=false " }
    end
    for _, c in ipairs(cases) do
      local status, out = sh((c[3] or "") .. base .. c[1])
      h.eq(status, 2, c[1] .. " status:\n" .. out)
      has(out, c[2], c[1])
      if not c[4] then has(out, "no profile written", c[1]) end
    end
    h.eq(fs.read(out_path), nil, "no profile")
    h.eq(#fs.walk(d), 0, "no temporary file left")
    h.rm(d)
  end },
  { "a tiny tuning run writes a profile that generate accepts", function()
    local runnable = tune.cpu_isas(tune.cpu(), backends)[1]
    if not runnable or os.execute("command -v cc >/dev/null 2>&1") ~= 0 then return end
    local d = h.dir()
    local status, out = sh(optgen .. " tune --quick --optim sgd --dtype f32 --isa " .. runnable
                           .. " --sizes 256,1024,4096 --out " .. fs.quote(d .. "/p.lua") .. " --samples "
                           .. fs.quote(d .. "/s.lua"))
    h.eq(status, 0, "status:\n" .. out)
    has(out, "1/1 sgd/f32/" .. runnable, "progress")
    has(out, "optgen: tuned 1 kernels", "summary")
    local p, variants = tune.load_profile(d .. "/p.lua")
    local e = p.kernels["sgd/f32/" .. runnable]
    h.eq(e.n.l1, 256, "sizes recorded")
    h.eq(e.median[e.default].l1 > 0 and e.median[e.chosen].big > 0, true, "medians of the default and the chosen")
    h.eq(e.ns, nil, "no samples in the profile")
    has(fs.read(d .. "/p.lua"), "samples, beside the build:\n--   " .. d .. "/s.lua", "the profile names its samples")
    local samples = dofile(d .. "/s.lua").kernels["sgd/f32/" .. runnable]
    h.eq(#samples.ns >= 5, true, "every candidate measured")
    h.eq(#samples.ns[1].l1 >= 2, true, "median and samples")
    h.eq(samples.ns[1].l1[1], e.median[e.default].l1, "the profile's median is the samples'")
    h.eq(variants["sgd/f32/" .. runnable] ~= nil, true, "a choice")
    status, out = sh(optgen .. " generate --profile " .. fs.quote(d .. "/p.lua") .. " --out " .. fs.quote(d .. "/g"))
    h.eq(status, 0, "generate from it:\n" .. out)
    h.rm(d)
  end },
  { "a kernel whose per-call code has a prod() (Nadam) compiles and is tuned", function()
    -- Its per-call code calls the runtime's optk__pow_t and the inline
    -- optk__mul_exact / optk__sub_exact of optk_internal.h.
    local runnable = tune.cpu_isas(tune.cpu(), backends)[1]
    if not runnable or os.execute("command -v cc >/dev/null 2>&1") ~= 0 then return end
    local d = h.dir()
    local status, out = sh(optgen .. " tune --quick --optim nadam --dtype f32 --isa " .. runnable
                           .. " --sizes 256,1024,4096 --no-split --out " .. fs.quote(d .. "/p.lua"))
    h.eq(status, 0, "status:\n" .. out)
    has(out, "1/1 nadam/f32/" .. runnable, "progress")
    h.eq(tune.load_profile(d .. "/p.lua").kernels["nadam/f32/" .. runnable] ~= nil, true, "tuned")
    h.rm(d)
  end },
  { "a two-phase kernel (LAMB) is tuned with its scratch arrays", function()
    local runnable = tune.cpu_isas(tune.cpu(), backends)[1]
    if not runnable or os.execute("command -v cc >/dev/null 2>&1") ~= 0 then return end
    local d = h.dir()
    local status, out = sh(optgen .. " tune --quick --optim lamb --dtype f32 --isa " .. runnable
                           .. " --sizes 256,1024,4096 --no-split --out " .. fs.quote(d .. "/p.lua") .. " --samples "
                           .. fs.quote(d .. "/s.lua"))
    h.eq(status, 0, "status:\n" .. out)
    has(out, "split threshold: not measured (--no-split)", "--no-split")
    local p = tune.load_profile(d .. "/p.lua")
    h.eq(p.kernels["lamb/f32/" .. runnable] ~= nil, true, "tuned")
    h.eq(p.split, nil, "no split entry")
    h.rm(d)
  end },
  { "a format 1 profile (every sample in it) is still read", function()
    local path = h.tmpfile("return { format = 1, kernels = { [\"sgd/f32/avx2\"] = { default = \"u4\", chosen = \"u2\","
                           .. " ns = { { variant = \"u4\", l1 = { 1, 1 }, l2 = { 1, 1 }, big = { 1, 1 } } } } } }\n")
    local _, variants = tune.load_profile(path)
    os.remove(path)
    h.eq(emit.variant_name(variants["sgd/f32/avx2"]), "u2", "chosen read")
  end },
  { "the profile keeps the medians the choice rests on, one line each", function()
    local function m(v, a, b, c) return { setting = v, l1 = { a, a }, l2 = { b, b }, big = { c, c } } end
    local ns = { m("u4", 10, 10, 10), m("u1", 9, 9, 10), m("u8", 8, 20, 11), m("u2", 11, 11, 11) }
    local chosen, best, speedup = tune.choose(ns)
    local text = tune.profile_text({ format = tune.FORMAT, cpu = { vendor = "T" }, compiler = "cc", quick = true,
                                     seconds = 1, kernels = { ["sgd/f32/avx2"] = { default = "u4", chosen = chosen,
                                     best = best, speedup = speedup, n = { l1 = 1, l2 = 2, big = 3 }, ns = ns } } })
    has(text, "        u4 = { l1 = 10, l2 = 10, big = 10 },", "default")
    has(text, "        u1 = { l1 = 9, l2 = 9, big = 10 },", "chosen")
    has(text, "        u8 = { l1 = 8, l2 = 20, big = 11 },", "fastest in L1")
    lacks(text, "u2 =", "a setting the choice does not rest on")
  end },
  { "tune replaces no file it did not write", function()
    local runnable = tune.cpu_isas(tune.cpu(), backends)[1]
    if not runnable then return end
    local d = h.dir()
    fs.write(d .. "/p.lua", "mine\n")
    local status, out = sh(optgen .. " tune --quick --optim sgd --dtype f32 --isa " .. runnable
                           .. " --out " .. fs.quote(d .. "/p.lua") .. " --samples " .. fs.quote(d .. "/s.lua"))
    h.eq(status, 2, "status:\n" .. out)
    has(out, d .. "/p.lua exists and was not written by optgen tune; left alone")
    h.eq(fs.read(d .. "/p.lua"), "mine\n", "left as it was")
    fs.write(d .. "/p.lua", profile_text({ ["sgd/f32/avx2"] = "u4" }))
    fs.write(d .. "/s.lua", "mine\n")
    status, out = sh(optgen .. " tune --quick --optim sgd --dtype f32 --isa " .. runnable
                     .. " --out " .. fs.quote(d .. "/p.lua") .. " --samples " .. fs.quote(d .. "/s.lua"))
    h.eq(status, 2, "status:\n" .. out)
    has(out, d .. "/s.lua exists and was not written by optgen tune; left alone")
    h.rm(d)
  end },
  { "the ISA per size class: the highest unless another beats it by the margin", function()
    local isa_choice = require("optgen.tune_isa")
    local med = { avx2 = { l1 = 100, l2 = 90, big = 50 }, avx512 = { l1 = 60, l2 = 91, big = 52 } }
    local pick = isa_choice.pick(med, { "avx2", "avx512" })
    h.eq(pick.l1, "avx512", "faster")
    h.eq(pick.l2, "avx512", "within the margin: the default stays")
    h.eq(pick.big, "avx2", "4% faster: taken")
    local cm = isa_choice.class_max({ l1 = 1024, l2 = 65536, big = 4194304 })
    h.eq(cm[1], 2048, "L1 bound: the whole L1")
    h.eq(cm[2], 524288, "L2 bound: the geometric mean of the L2 and beyond-cache sizes")
  end },
  { "the split threshold: the smallest part from which every larger step gained", function()
    local sp = require("optgen.tune_split")
    local rows = { { n = 1000, t1 = 100, ts = 150 }, { n = 2000, t1 = 200, ts = 150 }, { n = 4000, t1 = 400, ts = 390 },
                   { n = 8000, t1 = 800, ts = 420 }, { n = 16000, t1 = 1600, ts = 820 } }
    h.eq(sp.break_even(rows, 0.1, 2), 400, "8000 elements x 0.1 ns / 2 parts (4000 did not gain 10%)")
    h.eq(sp.break_even({ { n = 1, t1 = 1, ts = 2 } }, 1, 2), nil, "never gained")
    h.eq(sp.threshold({ sgd = 4000, adam = 2000 }), 6000, "the larger, one and a half times over")
    h.eq(sp.threshold({ sgd = 10 }), sp.FLOOR_NS, "floor")
    h.eq(sp.threshold({ sgd = 4000, adam = false }), nil, "a kernel that never gained: no threshold")
  end },
  { "a format 3 profile's ISA per class and split threshold reach the records and the registry", function()
    local d = h.dir()
    local text = profile_text({ ["sgd/f32/avx2"] = "u4" }):gsub("}\n$", "  dispatch = {\n"
      .. "    [\"sgd/f32\"] = { isa = { l1 = \"avx2\", l2 = \"avx512\", big = \"avx2\" },"
      .. " class_max = { l1 = 4096, l2 = 500000 } },\n  },\n  split = { min_part_ns = 3200 },\n}\n")
    fs.write(d .. "/p.lua", text)
    local gen = optgen .. " generate --profile "
    local status, out = sh(gen .. fs.quote(d .. "/p.lua") .. " --out " .. fs.quote(d .. "/g"))
    h.eq(status, 0, "generate:\n" .. out)
    local common = fs.read(d .. "/g/common/sgd.c")
    has(common, "  { 4096, 500000 }, { 1 + OPTK_ISA_AVX2, 1 + OPTK_ISA_AVX512, 1 + OPTK_ISA_AVX2 },", "sgd f32 record")
    has(common, "{ 0, 0 }, { 0, 0, 0 }, /* no tuned dispatch", "the other storage types untouched")
    has(fs.read(d .. "/g/registry.c"), "optk_tuned_min_part_ns = 3200ul", "split threshold")
    has(fs.read(root .. "/generated/registry.c"), "optk_tuned_min_part_ns = 0;", "generated/ stays untuned")
    for _, bad in ipairs({ { "isa = { l1 = \"avx2\", l2 = \"avx9\", big = \"avx2\" }", "unknown ISA 'avx9'" },
                           { "class_max = { l1 = -1, l2 = 5 }", "bad class bound -1" },
                           { "split = { min_part_ns = 0.5 }", "split.min_part_ns must be a whole number" } }) do
      local t2 = text
      if bad[1]:find("^isa") then t2 = t2:gsub("isa = %b{}", bad[1], 1) end
      if bad[1]:find("^class_max") then t2 = t2:gsub("class_max = %b{}", bad[1], 1) end
      if bad[1]:find("^split") then t2 = t2:gsub("split = %b{}", bad[1], 1) end
      fs.write(d .. "/bad.lua", t2)
      status, out = sh(gen .. fs.quote(d .. "/bad.lua") .. " --out " .. fs.quote(d .. "/g2"))
      h.eq(status ~= 0, true, bad[1] .. " refused")
      has(out, bad[2])
    end
    h.rm(d)
  end },
  { "the flags tune needs are the backends' target features, which the runtime's probes check", function()
    local cpu_ = require("optgen.tune_cpu")
    local probes = { x86_64 = fs.read(root .. "/runtime/cpu_x86.c"), aarch64 = fs.read(root .. "/runtime/cpu_arm.c") }
    h.eq(table.concat(cpu_.needs(by_isa.avx2), ","), "avx2,fma,f16c", "avx2")
    h.eq(table.concat(cpu_.needs(by_isa.sve), ","), "sve", "sve")
    for _, be in ipairs(backends) do
      for _, f in ipairs(cpu_.needs(be)) do
        local word = be.arch == "aarch64" and "HWCAP_" .. f:upper() or f
        local found = probes[be.arch]:find("%f[%w_]" .. word .. "%f[^%w_]") ~= nil
        h.eq(found, true, be.isa .. ": " .. word .. " in the probe")
      end
    end
  end },
}
