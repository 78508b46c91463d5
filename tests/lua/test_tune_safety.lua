-- optgen tune's inputs and scratch space: a profile is read as text only,
-- never as LuaJIT bytecode (issue 13, defect 8), and the directory that
-- receives the candidates' shared object is a fresh mkdtemp directory, not a
-- guessable name another user can take first (defect 9).
local fs = require("optgen.fsutil")
local generate = require("optgen.generate")
local tune = require("optgen.tune")
local h = require("helpers")
local s = require("scratch")

-- A fake compiler that records the mode and path of the directory it is run
-- in the parent of (tune compiles in TMP/<optimizer>/), then fails.
local function fake_cc(d)
  local path = d .. "/fakecc"
  fs.write(path, "#!/bin/sh\n[ \"$1\" = --version ] && exit 0\nstat -c '%a %n' \"$(cd .. && pwd -P)\" >>"
           .. fs.quote(d .. "/seen") .. "\nexit 1\n")
  os.execute("chmod +x " .. fs.quote(path))
  return path
end

return {
  { "a bytecode profile is refused", function()
    local d = s.dir()
    local chunk = string.dump(function() return { format = 1, kernels = {} } end)
    fs.write(d .. "/p.lua", chunk)
    local ok, err = pcall(tune.load_profile, d .. "/p.lua")
    h.eq(ok, false, "refused")
    h.eq(type(err) == "table" and err.tune, "profile " .. d .. "/p.lua is not text (bytecode is refused)",
         "message")
    local status, out = s.sh(s.optgen .. " generate --profile " .. fs.quote(d .. "/p.lua") .. " --out "
                             .. fs.quote(d .. "/g"))
    h.eq(status, 2, "generate --profile status")
    h.eq(out, "optgen: generate: profile " .. d .. "/p.lua is not text (bytecode is refused)\n", "message")
    h.eq(fs.exists(d .. "/g"), false, "nothing written")
    -- The same profile as text is read.
    fs.write(d .. "/p.lua", "return { format = 1, kernels = {} }\n")
    h.eq((pcall(tune.load_profile, d .. "/p.lua")), true, "text accepted")
    s.rm(d)
  end },
  { "tune works in a fresh mkdtemp directory of its own and removes it", function()
    local runnable = tune.cpu_isas(tune.cpu(), generate.backends(h.root))[1]
    if not runnable then return end
    local d = s.dir()
    fs.mkdir(d .. "/tmp")
    -- A directory someone else made at the name os.tmpname would give.
    fs.mkdir(d .. "/theirs")
    fs.write(d .. "/theirs/keep", "theirs\n")
    local status, out = s.sh("TMPDIR=" .. fs.quote(d .. "/tmp") .. " CC=" .. fs.quote(fake_cc(d)) .. " luajit -e "
                             .. fs.quote("os.tmpname = function() return '" .. d .. "/theirs' end") .. " "
                             .. fs.quote(s.root .. "/generator/optgen") .. " tune --quick --optim sgd --dtype f32"
                             .. " --isa " .. runnable .. " --sizes 256,1024,4096 --out " .. fs.quote(d .. "/p.lua"))
    h.eq(status, 2, "status")
    h.eq(out:find("failed to compile", 1, true) ~= nil, true, "the fake compiler failed:\n" .. out)
    local seen = fs.read(d .. "/seen") or ""
    local mode, dir = seen:match("^(%d+) ([^\n]+)\n")
    h.eq(mode, "700", "mode of the directory the compiler ran in: " .. seen)
    h.eq(dir:match("^(.*)/optgen%-tune%-%w+$"), d .. "/tmp", "made in $TMPDIR by mkdtemp")
    h.eq(#fs.entries(d .. "/tmp"), 0, "removed afterwards")
    h.eq(#fs.entries(d .. "/theirs"), 1, "someone else's directory untouched")
    h.eq(fs.read(d .. "/theirs/keep"), "theirs\n", "someone else's file untouched")
    h.eq(fs.exists(d .. "/p.lua"), false, "no profile")
    s.rm(d)
  end },
  { "fs.mkdtemp makes a fresh private directory each time", function()
    local d = s.dir()
    local a, b = fs.mkdtemp(d .. "/x-"), fs.mkdtemp(d .. "/x-")
    h.eq(a ~= nil and b ~= nil and a ~= b, true, "two distinct directories")
    h.eq(fs.is_dir(a) and fs.is_dir(b), true, "made")
    local _, mode = s.sh("stat -c %a " .. fs.quote(a))
    h.eq(mode, "700\n", "mode")
    local none, err = fs.mkdtemp(d .. "/missing/x-")
    h.eq(none, nil, "no directory in a missing parent")
    h.eq(err, "No such file or directory", "reason")
    s.rm(d)
  end },
}
