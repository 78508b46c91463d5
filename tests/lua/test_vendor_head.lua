-- optgen vendor's head comment and prefixes: the recorded command line can
-- break neither the comment nor the compile, and reruns as given (issue 13,
-- defect 2); prefixes differing only in case are refused (defect 3).
local fs = require("optgen.fsutil")
local h = require("helpers")
local s = require("scratch")

local sel = " --optim sgd --dtype f32 --isa scalar"

local function cc()
  for _, c in ipairs({ "gcc", "clang", "cc" }) do
    if os.execute("command -v " .. c .. " >/dev/null 2>&1") == 0 then return c end
  end
end

return {
  { "an --out holding */, /*, ??/ or shell characters gives a file that compiles and a command that reruns", function()
    local d = s.dir()
    local out = d .. "/a*/b/*c??/d e'f\"g$h`i\\j;k"
    local status, text = s.sh(s.optgen .. " vendor" .. sel .. " --prefix q_ --out " .. fs.quote(out))
    h.eq(status, 0, "status:\n" .. text)
    local c = fs.read(out .. "/q_optk.c")
    local head = c:match("^/%*.-%*/")
    h.eq(head:find("*/", 3, true), #head - 1, "the head comment ends where it should:\n" .. head)
    h.eq(head:find("/*", 3, true), nil, "no nested comment opener")
    h.eq(head:find("??", 1, true), nil, "no trigraph")
    -- sh reads the recorded words back as the arguments given.
    local words = head:match("\n %*   generator/optgen vendor ([^\n]*)\n")
    local _, back = s.sh("printf '[%s]' " .. words)
    h.eq(back, "[--optim][sgd][--dtype][f32][--isa][scalar][--prefix][q_][--out][" .. out .. "]", "words")
    h.eq(fs.read(out .. "/README.md"):find("    generator/optgen vendor " .. words, 1, true) ~= nil, true, "README")
    local compiler = cc()
    if compiler then
      -- Compiled from a plain path: the assembler chokes on some file names.
      fs.mkdir(d .. "/plain")
      os.execute("cp " .. fs.quote(out) .. "/q_optk.* " .. fs.quote(d .. "/plain/"))
      local st, log = s.sh(compiler .. " -std=c99 -Wall -Wextra -Wpedantic -Werror -Wtrigraphs -O2 -c "
                           .. fs.quote(d .. "/plain/q_optk.c") .. " -o /dev/null")
      h.eq(st, 0, compiler .. " compiles it:\n" .. log)
    end
    s.rm(d)
  end },
  { "an argument with a control character is refused", function()
    local d = s.dir()
    local status, out = s.sh(s.optgen .. " vendor" .. sel .. " --prefix q_ --out " .. fs.quote(d .. "/a\nb"))
    h.eq(status, 2, "status")
    h.eq(out, "optgen: vendor: argument '" .. d .. "/a\\10b' holds a control character, which the file's head cannot"
         .. " record\n", "message")
    h.eq(#fs.entries(d), 0, "nothing written")
    s.rm(d)
  end },
  { "prefixes that differ only in case are refused", function()
    local d = s.dir()
    h.eq((s.sh(s.optgen .. " vendor" .. sel .. " --prefix q_ --out " .. fs.quote(d .. "/lower"))), 0, "q_")
    local status, out = s.sh(s.optgen .. " vendor" .. sel .. " --prefix Q_ --out " .. fs.quote(d .. "/upper"))
    h.eq(status, 2, "status")
    h.eq(out, "optgen: vendor: prefix 'Q_' has upper-case letters: the macros take the prefix in upper case"
         .. " (Q_OPTK_...), so it would share them with 'q_'; use lower case\n", "message")
    h.eq(fs.exists(d .. "/upper"), false, "nothing written")
    status = s.sh(s.optgen .. " vendor" .. sel .. " --prefix MyLib_ --out " .. fs.quote(d .. "/mixed"))
    h.eq(status, 2, "mixed case refused")
    s.rm(d)
  end },
}
