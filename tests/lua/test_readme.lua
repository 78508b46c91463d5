-- The README's commands: every invocation of generator/optgen or bench/run
-- in its code (fenced blocks and inline spans) names a subcommand and
-- options that the tool accepts, read from the tools themselves: optgen's
-- option tables (optgen.cli's options) and bench/run's `case` of options.
local cli = require("optgen.cli")
local fs = require("optgen.fsutil")
local h = require("helpers")

-- The README's code: fenced blocks line by line (continuations joined) and
-- inline spans.
local function code_lines(text)
  local out, fenced, pending = {}, false, ""
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if line:match("^%s*```") then
      fenced = not fenced
    elseif fenced then
      local body = line:match("^(.-)%s*\\$")
      if body then pending = pending .. body .. " " else out[#out + 1], pending = pending .. line, "" end
    else
      for span in line:gmatch("`([^`]+)`") do out[#out + 1] = span end
    end
  end
  return out
end

-- The commands in a line of code: { tool = "optgen" | "bench/run", words }
-- from each mention of a tool to the end of its command (a comment, `;`,
-- `&&`, `|` or the end of the line).
local function commands(line)
  local out = {}
  line = line:gsub("%s#.*$", "")
  for cmd in (line .. ";"):gmatch("([^;|&]+)") do
    local words = {}
    for w in cmd:gmatch("%S+") do words[#words + 1] = w end
    for i, w in ipairs(words) do
      local tool = (w == "generator/optgen" or w == "optgen") and "optgen" or w == "bench/run" and "bench/run"
      if tool then
        out[#out + 1] = { tool = tool, words = { unpack(words, i + 1) } }
        break
      end
    end
  end
  return out
end

-- bench/run's options: the patterns of its `case $1 in` over the arguments
-- (--name and --name=*, each as "value" when its branch takes the next word).
local function bench_options(text)
  local body = assert(text:match("case %$1 in\n(.-)\n%s*esac"), "bench/run's case of options")
  local o = {}
  for pats, branch in body:gmatch("\n?%s*([^\n)]+)%)([^\n]*)") do
    for p in pats:gmatch("[^|]+") do
      local name = p:match("^%-%-([%w-]+)$")
      if name then o[name] = branch:find("shift", 1, true) and "value" or "flag" end
      name = p:match("^%-%-([%w-]+)=%*$")
      if name then o[name] = "value" end
    end
  end
  return o
end

-- What is wrong with the words after a tool's name, or nil.
local function check(tool, words, bench)
  local allowed, i = bench, 1
  if tool == "optgen" then
    local sub = words[1]
    if sub == nil or sub == "--help" then return nil end
    allowed = cli.options[sub]
    if not allowed then return "optgen has no command '" .. sub .. "'" end
    i = 2
  end
  while i <= #words do
    local w = words[i]:gsub("^%[", ""):gsub("%]+$", "")
    local name = w:match("^%-%-([%w-]+)")
    if name and name ~= "help" then
      local kind = allowed[name]
      if not kind then return tool .. (tool == "optgen" and " " .. words[1] or "") .. " has no option --" .. name end
      if kind ~= "flag" and not w:find("=", 1, true) then i = i + 1 end
    end
    i = i + 1
  end
end

local function readme_commands()
  local text = assert(fs.read(h.root .. "/README.md"))
  local out = {}
  for _, line in ipairs(code_lines(text)) do
    for _, c in ipairs(commands(line)) do c.line = line; out[#out + 1] = c end
  end
  return out
end

return {
  { "the README's optgen and bench/run commands are ones the tools accept", function()
    local bench = bench_options(assert(fs.read(h.root .. "/bench/run")))
    h.eq(bench.quick, "flag", "bench/run --quick read from its case")
    h.eq(bench.filter, "value", "bench/run --filter read from its case")
    local cmds, n = readme_commands(), { optgen = 0, ["bench/run"] = 0 }
    for _, c in ipairs(cmds) do
      n[c.tool] = n[c.tool] + 1
      local bad = check(c.tool, c.words, bench)
      h.eq(bad, nil, "README: " .. c.line)
    end
    h.eq(n.optgen >= 8 and n["bench/run"] >= 2, true, "commands found (optgen " .. n.optgen .. ", bench/run "
         .. n["bench/run"] .. ")")
  end },
  { "the check itself refuses what the tools refuse", function()
    local bench = { quick = "flag", filter = "value" }
    h.eq(check("optgen", { "frobnicate" }, bench), "optgen has no command 'frobnicate'", "command")
    h.eq(check("optgen", { "generate", "--nosuch" }, bench), "optgen generate has no option --nosuch", "option")
    h.eq(check("optgen", { "show", "adam", "--isa", "avx2" }, bench), nil, "value skipped")
    h.eq(check("bench/run", { "--fast" }, bench), "bench/run has no option --fast", "bench/run")
    h.eq(check("bench/run", { "[--filter", "adam]" }, bench), nil, "usage brackets")
    local got = commands("generator/optgen generate --check    # compare; list stale --nosuch")
    h.eq(#got == 1 and got[1].words[2], "--check", "comment dropped")
  end },
  { "every optgen command has an option table, and its help names each option", function()
    for cmd, allowed in pairs(cli.options) do
      local status, out = h.sh("luajit " .. fs.quote(h.root .. "/generator/optgen") .. " " .. cmd .. " --help")
      h.eq(status, 0, cmd .. " --help")
      for name in pairs(allowed) do
        if type(name) == "string" then
          h.eq(out:find("--" .. name, 1, true) ~= nil, true, "optgen " .. cmd .. " --help names --" .. name)
        end
      end
    end
  end },
}
