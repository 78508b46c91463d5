-- optgen tune's compile driver: writes the C of an optimizer's candidates
-- (emitted by the generator's own code, emit.kernel_file), the scalar
-- baselines and the per-call code, and compiles them with the system C
-- compiler into one shared object.
local emit = require("optgen.emit")
local fail = require("optgen.tune_fail")
local fs = require("optgen.fsutil")
local candidates = require("optgen.tune_candidates").candidates

local M = {}

local function sh_ok(cmd) return os.execute(cmd) == 0 end

local function capture(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  local out = p:read("*a")
  p:close()
  return out
end

-- The C compiler: $CC or cc, and its version line; fails with a clear
-- message if there is none.
function M.compiler()
  local cc = os.getenv("CC")
  if cc == nil or cc == "" then cc = "cc" end
  local exe = cc:match("^%S+")
  if not sh_ok("command -v " .. fs.quote(exe) .. " >/dev/null 2>&1") then
    fail("no C compiler: '%s' not found (install gcc or clang, or set CC)", exe)
  end
  local version = capture(cc .. " --version"):match("^[^\n]*") or cc
  return cc, version
end

M.CFLAGS = "-std=c11 -O2 -fPIC -ffp-contract=off -Wall -Wextra -Werror"

-- The headers the candidates include (the preludes and optk_kernels.h),
-- written into dir.
function M.headers(dir, kernels, backends, root)
  local files = emit.all({ kernels = kernels, backends = backends, templates = root .. "/templates" })
  for _, f in ipairs(files) do
    if f.path:match("^[%w_]+%.h$") then fs.write(dir .. "/" .. f.path, f.text) end
  end
end

-- Writes into dir the sources of optimizer kir's candidates: the per-call
-- code (optk_tune_prep), the runtime's libm-free arithmetic, the scalar
-- baselines, then one unit per ISA and storage type holding its candidates.
-- Returns the units (file names without .c), the plan ({ dtype, isa, be,
-- cands, syms } per unit of candidates) and the baselines' symbols by dtype.
function M.sources(dir, kir, backends, by_isa, dtypes, isas, quick, root)
  local scalar = backends[1]
  local prep = emit.percall(kir.sched.slots, scalar, "c")
  if #kir.sched.slots == 0 then prep[#prep + 1] = "(void)c;" end
  -- optk_internal.h: the runtime's libm-free pow, exp and log, and the
  -- products and sums a prod()'s values take (optk__mul_exact, inline).
  local shim = { "#include <math.h>", "#include <stdint.h>", "#include <string.h>", '#include "optk_internal.h"',
                 "void optk_tune_prep(const double *hp, int64_t t, double *c);",
                 "void optk_tune_prep(const double *hp, int64_t t, double *c)", "{",
                 "  (void)hp; (void)t;" }
  for _, l in ipairs(prep) do shim[#shim + 1] = "  " .. l end
  shim[#shim + 1] = "}"
  fs.write(dir .. "/prep.c", table.concat(shim, "\n") .. "\n")
  -- The runtime's libm-free arithmetic, which per-call code and per-element
  -- powers call.
  fs.write(dir .. "/rt_math.c", '#include "ieee_math.c" /* runtime/, through -I */\n')
  local units, plan, base = { "prep", "rt_math" }, {}, {}
  local templates = root .. "/templates"
  for _, dtype in ipairs(dtypes) do
    local _, text, s = emit.kernel_file(kir, scalar, nil, dtype, { unroll = 1 }, templates)
    fs.write(dir .. "/base_" .. dtype .. ".c", text)
    units[#units + 1], base[dtype] = "base_" .. dtype, s
    for _, isa in ipairs(isas) do
      local be = by_isa[isa]
      local cands = candidates(kir, be, dtype, quick)
      local texts, syms = {}, {}
      for i, setting in ipairs(cands) do
        local _, t, s2 = emit.kernel_file(kir, be, be.tail == "scalar" and scalar or nil, dtype, setting, templates)
        texts[i], syms[i] = t, s2
      end
      local u = isa .. "_" .. dtype
      fs.write(dir .. "/" .. u .. ".c", table.concat(texts, "\n"))
      units[#units + 1] = u
      plan[#plan + 1] = { dtype = dtype, isa = isa, be = be, cands = cands, syms = syms }
    end
  end
  return units, plan, base
end

-- Compiles units (.c files in dir, named without the suffix; headers in
-- dir/../include) into dir/name.so, several at once; fails naming what did
-- not compile.
function M.build(cc, root, dir, units, name)
  local list = dir .. "/units.txt"
  fs.write(list, table.concat(units, "\n") .. "\n")
  local jobs = tonumber(capture("nproc")) or 2
  local abs = capture("cd " .. fs.quote(root) .. " && pwd"):match("[^\n]+") or root
  local inc = "-I" .. fs.quote(abs .. "/runtime") .. " -I" .. fs.quote(dir .. "/../include")
  local cmd = string.format("cd %s && xargs -P %d -I{} sh -c %s < units.txt", fs.quote(dir), jobs,
                            fs.quote(cc .. " " .. M.CFLAGS .. " " .. inc .. " -c {}.c -o {}.o 2>{}.log"))
  if not sh_ok(cmd .. " >/dev/null 2>&1") then
    local msgs = {}
    for _, u in ipairs(units) do
      local log = fs.read(dir .. "/" .. u .. ".log") or ""
      if (log ~= "" or not fs.read(dir .. "/" .. u .. ".o")) and #msgs < 2 then
        local lines, shown = {}, 0
        for l in log:gmatch("[^\n]+") do
          if shown < 8 then lines[#lines + 1] = "    " .. l; shown = shown + 1 end
        end
        msgs[#msgs + 1] = "  " .. dir .. "/" .. u .. ".c:\n" .. table.concat(lines, "\n")
      end
    end
    fail("candidates of %s failed to compile with '%s %s':\n%s", name, cc, M.CFLAGS, table.concat(msgs, "\n"))
  end
  local objs = {}
  for _, u in ipairs(units) do objs[#objs + 1] = u .. ".o" end
  local so = name .. ".so"
  if not sh_ok(string.format("cd %s && %s -shared -o %s %s -lm >link.log 2>&1", fs.quote(dir), cc, so,
                             table.concat(objs, " "))) then
    fail("candidates of %s failed to link:\n%s", name, fs.read(dir .. "/link.log") or "")
  end
  return dir .. "/" .. so
end

return M
