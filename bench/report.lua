-- bench/report.lua: turns optk_bench's CSV (plus torch rows, if any) into
-- bench/out/report.md, results.json, the gnuplot data files and plots.gp.
--
--   luajit bench/report.lua OUTDIR MACHINE_FILE QUICK(0|1) SECONDS
--
-- Reads OUTDIR/results.csv and the generated kernels' per-element operation
-- counts (generated/<isa>/<name>_<dtype>_<isa>_u*.c); writes everything else
-- into OUTDIR.  gnuplot is run by bench/run.

local outdir, machine_file, quick_arg, seconds = arg[1], arg[2], arg[3], arg[4]
if not outdir then
  io.stderr:write("usage: luajit bench/report.lua OUTDIR MACHINE_FILE QUICK SECONDS\n")
  os.exit(2)
end
local quick = quick_arg == "1"

local function readfile(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function writefile(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
end

-- The report's parts, each a file run with R, which holds what they share:
-- the arguments, readfile and writefile, and what each part exports.
local R = { outdir = outdir, machine_file = machine_file, quick = quick, seconds = seconds, readfile = readfile,
  writefile = writefile }
local here = arg[0]:match("^(.*[/\\])") or ""
-- The ISA and storage-type lists: the generator's (generator/lib/optgen/isas.lua).
R.root = here .. ".."
package.path = R.root .. "/generator/lib/?.lua;" .. package.path
for _, part in ipairs({ "report_rows", "report_targets", "report_targets_threads", "report_md", "report_plots" }) do
  assert(loadfile(here .. part .. ".lua"))(R)
end
local rows, targets = R.rows, R.targets

local function jstr(s) return '"' .. tostring(s):gsub('[%c"\\]', function(c)
  return string.format("\\u%04x", c:byte())
end) .. '"' end
local js = { "{\n", '  "quick": ', quick and "true" or "false", ',\n  "seconds": ', tonumber(seconds) or "null",
  ',\n  "machine": ', jstr(readfile(machine_file) or ""), ',\n  "targets": [\n' }
for i, t in ipairs(targets) do
  js[#js + 1] = string.format('    {"target": %s, "measured": %s, "met": %s, "why": %s}%s\n', jstr(t.name),
    jstr(t.measured), t.met == nil and "null" or tostring(t.met), jstr(t.why), i < #targets and "," or "")
end
js[#js + 1] = '  ],\n  "rows": [\n'
for i, r in ipairs(rows) do
  js[#js + 1] = string.format('    {"section": %s, "optimizer": %s, "dtype": %s, "isa": %s, "variant": %s, ' ..
    '"threads": %d, "n": %d, "bytes_per_elem": %g, "ns_per_elem": %.6g, "ns_lo": %.6g, "ns_hi": %.6g, ' ..
    '"gb_per_s": %s}%s\n', jstr(r.section), jstr(r.optimizer), jstr(r.dtype), jstr(r.isa), jstr(r.variant),
    r.threads, r.n, r.bytes, r.med, r.lo, r.hi, (r.bytes > 0 and r.med > 0) and string.format("%.4g",
      r.bytes / r.med) or "null", i < #rows and "," or "")
end
js[#js + 1] = "  ]\n}\n"
writefile(outdir .. "/results.json", table.concat(js))

-- The summary table on stdout, for bench/run's closing lines.
io.write("Targets:\n")
for _, t in ipairs(targets) do
  io.write(string.format("  [%s] %s: %s\n", t.met == true and "met" or t.met == false and "NOT met" or "info",
    t.name, t.measured))
end
