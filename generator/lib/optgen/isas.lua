-- The one list of ISAs and the one list of storage types.
--
-- Each backend (generator/backends/<isa>.lua) declares its name, its
-- optk_isa number (id), its architecture and the ISA dispatch falls back to
-- when a cap or the CPU rules it out.  Each storage type is declared once
-- below.  The generator writes both as X-macro lists into optk_tables.h,
-- which the runtime, the tests and the bench include, and the Lua and
-- Python bindings read the ISA names from the library (optk_isa_name).
local M = {}

-- Storage types in optk_dtype order (runtime/optkern.h): the name, the C type
-- of an element in memory (and as the typed API spells it), its bytes, and
-- the type the arithmetic and the state use (f32 for the 16-bit types: they
-- are converted on load and store).
M.dtypes = {
  { name = "f32", id = 0, ctype = "float", api_ctype = "float", bytes = 4, compute = "f32" },
  { name = "f64", id = 1, ctype = "double", api_ctype = "double", bytes = 8, compute = "f64" },
  { name = "bf16", id = 2, ctype = "uint16_t", api_ctype = "optk_bf16", bytes = 2, compute = "f32" },
  { name = "f16", id = 3, ctype = "uint16_t", api_ctype = "optk_f16", bytes = 2, compute = "f32" },
}
M.dtype = {}
for _, d in ipairs(M.dtypes) do M.dtype[d.name] = d end

-- Checks the backends' declarations (ids 0..n-1 once each, scalar 0, every
-- fallback a known ISA of a lower id on the same architecture or none) and
-- returns them in id order.  Raises an error naming the backend otherwise.
function M.order(backends)
  local by_name, by_id = {}, {}
  for _, be in ipairs(backends) do
    assert(type(be.id) == "number" and be.id >= 0 and be.id % 1 == 0,
           "backend " .. be.isa .. ": id must be its optk_isa number")
    if by_id[be.id] then error("backends " .. by_id[be.id].isa .. " and " .. be.isa .. " share id " .. be.id, 0) end
    by_name[be.isa], by_id[be.id] = be, be
  end
  local out = {}
  for id = 0, #backends - 1 do
    out[#out + 1] = assert(by_id[id], "no backend has id " .. id .. " (ids run from 0 without gaps)")
  end
  assert(out[1].isa == "scalar", "id 0 is the scalar baseline")
  for _, be in ipairs(out) do
    local fb = be.fallback and by_name[be.fallback]
    if be.id ~= 0 then
      assert(fb, "backend " .. be.isa .. ": fallback names no backend")
      assert(fb.id < be.id and (fb.arch == nil or fb.arch == be.arch),
             "backend " .. be.isa .. ": fallback must be a lower id on its architecture")
    end
  end
  return out
end

-- The names, in id order, joined with sep (default ", ").
function M.names(backends, sep)
  local names = {}
  for _, be in ipairs(M.order(backends)) do names[#names + 1] = be.isa end
  return table.concat(names, sep or ", ")
end

local function list_macro(name, doc, rows)
  local lines = { doc, "#define " .. name .. "(X) \\" }
  for i, r in ipairs(rows) do lines[#lines + 1] = "  " .. r .. (i < #rows and " \\" or "") end
  return table.concat(lines, "\n")
end

-- The text of optk_tables.h after banner.
function M.header(backends, banner)
  local bes = M.order(backends)
  local isa_rows, ids = {}, {}
  for _, be in ipairs(bes) do
    local fb = be.fallback and be.fallback or be.isa
    local fallback_id
    for _, o in ipairs(bes) do if o.isa == fb then fallback_id = o.id end end
    isa_rows[#isa_rows + 1] = string.format("X(%s, %s, %d, %d, %s)", be.isa, be.isa:upper(), be.id, fallback_id,
                                            be.arch and "OPTK_ARCH_" .. be.arch:upper() or "1")
    -- 1-based, so that an unknown name (0 in #if) is told apart.
    ids[#ids + 1] = string.format("#define OPTK_ISA_ID_%s %d", be.isa, be.id + 1)
  end
  local dt_rows = {}
  for _, d in ipairs(M.dtypes) do
    local c = M.dtype[d.compute]
    dt_rows[#dt_rows + 1] = string.format("X(%s, %s, %d, %d, %s, %d)", d.name, d.name:upper(), d.id, d.bytes,
                                          c.name:upper(), c.bytes)
  end
  return table.concat({
    banner,
    "#ifndef OPTK_TABLES_H",
    "#define OPTK_TABLES_H",
    "",
    list_macro("OPTK_ISA_LIST", "/* X(name, NAME, optk_isa number, fallback's number, built on this architecture) */",
               isa_rows),
    string.format("#define OPTK_ISA_COUNT %d", #bes),
    string.format('#define OPTK_ISA_NAMES "%s" /* for messages */', M.names(backends)),
    "",
    "/* OPTK_STATIC_ISA=<name> (optk_internal.h): the number + 1 */",
    table.concat(ids, "\n"),
    "",
    list_macro("OPTK_DTYPE_LIST",
               "/* X(name, NAME, optk_dtype number, bytes stored, COMPUTE TYPE, its bytes) */", dt_rows),
    string.format("#define OPTK_DTYPE_COUNT %d", #M.dtypes),
    "",
    "#endif",
    "",
  }, "\n")
end

return M
