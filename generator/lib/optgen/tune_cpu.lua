-- optgen tune's view of this machine: the CPU (/proc/cpuinfo), the ISAs it
-- runs, the profile's file name for it, and the cache sizes (sysfs).
local fs = require("optgen.fsutil")

local M = {}

-- What /proc/cpuinfo says of the first CPU: vendor, family, model, name,
-- flags (a set), arch.  Missing fields are nil.
function M.cpu(text)
  text = text or fs.read("/proc/cpuinfo") or ""
  local c = { flags = {}, arch = jit.arch }
  local function field(name) return text:match("\n" .. name .. "%s*:%s*([^\n]*)") or
                                    text:match("^" .. name .. "%s*:%s*([^\n]*)") end
  c.vendor = field("vendor_id") or field("CPU implementer")
  c.family = field("cpu family") or field("CPU architecture")
  c.model = field("model") or field("CPU part")
  c.name = field("model name")
  for f in ((field("flags") or field("Features") or "") .. " "):gmatch("(%S+)%s") do c.flags[f] = true end
  return c
end

-- The /proc/cpuinfo flags backend be needs: the features its compiler
-- target attribute enables ("avx2,fma,f16c"; "+sve"), which are the ones
-- the runtime's probe (runtime/cpu_*.c) asks cpuid or the OS for.  A
-- backend without a target attribute uses its architecture's baseline.
function M.needs(be)
  local out = {}
  for f in (be.target or ""):gmatch("[^,%s]+") do out[#out + 1] = (f:gsub("^%+", "")) end
  return out
end

local ARCH = { x86_64 = "x64", aarch64 = "arm64" } -- backend arch -> jit.arch

-- Whether this CPU runs backend be's ISA; false and the reason otherwise.
function M.runs(cpu, be)
  if be.isa == "scalar" then return true end
  local arch = ARCH[be.arch] or be.arch
  if arch ~= cpu.arch then return false, "it is a " .. tostring(be.arch) .. " ISA and this is " .. cpu.arch end
  if next(cpu.flags) == nil then return false, "/proc/cpuinfo lists no CPU flags" end
  local missing = {}
  for _, f in ipairs(M.needs(be)) do
    if not cpu.flags[f] then missing[#missing + 1] = f end
  end
  if #missing > 0 then return false, "its flags lack " .. table.concat(missing, ", ") end
  return true
end

local function slug(s) return (tostring(s or "unknown"):gsub("[^%w]+", "_"):gsub("^_+", ""):gsub("_+$", "")) end

-- The profile's file name for this CPU and the ISAs it runs: vendor,
-- family, model and features, e.g. AuthenticAMD-fam25-model17-avx2-avx512.lua.
function M.profile_name(cpu, isas)
  return string.format("%s-fam%s-model%s-%s.lua", slug(cpu.vendor), slug(cpu.family), slug(cpu.model),
                       table.concat(isas, "-"))
end

-- The ISAs (not scalar) of backends this CPU runs, in backend order.
function M.cpu_isas(cpu, backends)
  local out = {}
  for _, be in ipairs(backends) do
    if be.isa ~= "scalar" and M.runs(cpu, be) then out[#out + 1] = be.isa end
  end
  return out
end

-- Default path of this CPU's profile under root.
function M.default_path(root, cpu, backends)
  return ((root .. "/generator/tuning/"):gsub("^%./", "")) .. M.profile_name(cpu, M.cpu_isas(cpu, backends))
end

-- Cache sizes in bytes (L1d, L2, last level) from sysfs, with fallbacks.
function M.caches()
  local c = { l1 = 32768, l2 = 1048576, llc = 33554432 }
  for i = 0, 7 do
    local dir = "/sys/devices/system/cpu/cpu0/cache/index" .. i .. "/"
    local level, ctype, size = fs.read(dir .. "level"), fs.read(dir .. "type"), fs.read(dir .. "size")
    if not level then break end
    level, ctype = tonumber(level), (ctype or ""):match("%a+")
    local num, unit = (size or ""):match("(%d+)([KMG]?)")
    if num and ctype ~= "Instruction" then
      local bytes = tonumber(num) * ({ K = 1024, M = 1048576, G = 1073741824 })[unit] or tonumber(num)
      if level == 1 then c.l1 = bytes elseif level == 2 then c.l2 = bytes end
      if level >= 3 or (level == 2 and bytes > c.llc) then c.llc = bytes end
    end
  end
  return c
end

return M
