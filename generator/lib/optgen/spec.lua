-- Loads an optimizer spec (generator/specs/<family>.lua), checks it, and
-- expands its variants into kernel specs: one per optimizer name, with the
-- hyperparameters, state arrays and statements that variant uses.
local diag = require("optgen.diag")
local limits = require("optgen.limits")
local parser = require("optgen.parser")

local M = {}

-- Names the expressions or the emitted C use.  State arrays become C
-- identifiers in the kernels, where letter+digits names are temporaries;
-- hyperparameters never do (hp[i], hp->name), so l1 and l2 may name them.
local reserved = { p = true, g = true, t = true, sqrt = true, abs = true, min = true, max = true,
                   sign = true, select = true, fma = true, exp = true, log = true, prod = true, norm = true,
                   i = true, n = true, c = true, param = true, grad = true, state = true, consts = true }
local function is_reserved(name, what)
  return reserved[name] or what == "state array" and name:match("^%a%d+$") ~= nil or name:match("^optk") ~= nil
end

-- Line and column of byte offset pos in src.
local function line_col(src, pos)
  local line, last = 1, 0
  for nl in src:sub(1, pos - 1):gmatch("()\n") do line, last = line + 1, nl end
  return line, pos - last
end

-- Where a string literal with exactly this text starts in src, searching
-- from byte offset from: returns the origin of its first character.
local function locate(file, src, text, from)
  local at = from or 1
  while true do
    local s = src:find(text, at, true)
    if not s then break end
    local before = src:sub(1, s - 1)
    if before:match("[\"']$") or before:match("%[=*%[\r?\n?$") then
      return diag.origin(file, line_col(src, s)), s
    end
    at = s + 1
  end
  return diag.origin(file, 1, 1), from or 1
end

-- Byte offset and origin of "key =" in src (for errors about a whole field).
local function key_offset(src, key)
  return src:find("%f[%w_]" .. key .. "%s*=") or 1
end
local function key_origin(file, src, key)
  return diag.origin(file, line_col(src, key_offset(src, key)))
end

local function parse_bound(s)
  if s == "inf" or s == "+inf" then return math.huge end
  if s == "-inf" then return -math.huge end
  return tonumber(s)
end

-- "[lo, hi)" style interval, inf allowed as a bound; or "{0, 1}", a switch
-- (only 0 and 1 are allowed).
local function parse_domain(text, o)
  if tostring(text):match("^%s*{%s*0%s*,%s*1%s*}%s*$") then
    return { lo = 0, hi = 1, lo_open = false, hi_open = false, bool = true }
  end
  local lb, lo, hi, rb = tostring(text):match("^%s*([%[%(])%s*([^,%s]+)%s*,%s*([^%]%)%s]+)%s*([%]%)])%s*$")
  local d = lb and { lo = parse_bound(lo), hi = parse_bound(hi), lo_open = lb == "(", hi_open = rb == ")" }
  if not (d and d.lo and d.hi) or d.lo > d.hi then
    diag.at(o, 1, 1, "malformed domain '%s' (expected an interval such as '[0, 1)' or '[0, inf)', or '{0, 1}')",
            tostring(text))
  end
  return d
end

function M.in_domain(d, x)
  if x ~= x then return false end
  if d.bool then return x == 0 or x == 1 end
  if x < d.lo or x == d.lo and d.lo_open then return false end
  if x > d.hi or x == d.hi and d.hi_open then return false end
  return true
end

local function check_ident(o, what, name)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    diag.at(o, 1, 1, "%s must be an identifier, not '%s'", what, tostring(name))
  end
end

local function flags_hold(guard, flags)
  for _, c in ipairs(guard or {}) do
    if (flags[c.flag] == true) == c.negated then return false end
  end
  return true
end

-- Reads and checks one spec file; returns a list of kernel specs.
function M.load(path, display)
  local file = display or path
  local fh = io.open(path, "rb")
  if not fh then diag.fail(file, nil, nil, "cannot read spec") end
  local src = fh:read("*a")
  fh:close()
  -- LuaJIT counts a carriage return as a line break and line_col does not,
  -- so their diagnostics would name different lines: specs end lines with \n.
  local cr = src:find("\r", 1, true)
  if cr then
    local l, c = line_col(src, cr)
    diag.fail(file, l, c, "carriage return (spec lines end with \\n alone)")
  end
  local chunk, err = loadstring(src, "=" .. file)
  if not chunk then
    local line, msg = err:match("^[^:]*:(%d+): (.*)$")
    diag.fail(file, tonumber(line) or 1, 1, "%s", msg or err)
  end
  setfenv(chunk, {})
  local ok, s = pcall(chunk)
  if not ok then
    local line, msg = tostring(s):match("^[^:]*:(%d+): (.*)$")
    diag.fail(file, tonumber(line) or 1, 1, "%s", msg or tostring(s))
  end
  local whole = diag.origin(file, 1, 1)
  if type(s) ~= "table" then diag.at(whole, 1, 1, "a spec must return a table") end
  local function field(key, ty, optional)
    local v = s[key]
    if v == nil and optional then return nil end
    if type(v) ~= ty then
      diag.at(key_origin(file, src, key), 1, 1, "field '%s' must be a %s", key, ty)
    end
    return v
  end
  for k in pairs(s) do
    if not ({ name = 1, doc = 1, variants = 1, hparams = 1, state = 1, scalars = 1, update = 1 })[k] then
      diag.at(key_origin(file, src, tostring(k)), 1, 1, "unknown field '%s'", tostring(k))
    end
  end
  local family, doc = field("name", "string"), field("doc", "string")
  local variants, hparams = field("variants", "table"), field("hparams", "table")
  local state, scalars_src = field("state", "table", true) or {}, field("scalars", "string", true)
  local update_src = field("update", "string")
  check_ident(key_origin(file, src, "name"), "name", family)

  -- Variants and their flags.
  local flag_set, seen = {}, {}
  local vo = key_origin(file, src, "variants")
  for _, v in ipairs(variants) do
    if type(v) ~= "table" then diag.at(vo, 1, 1, "each variant must be a list { name, flag... }") end
    check_ident(vo, "variant name", v[1])
    if seen[v[1]] then diag.at(vo, 1, 1, "variant '%s' listed twice", v[1]) end
    seen[v[1]] = true
    for j = 2, #v do check_ident(vo, "variant flag", v[j]); flag_set[v[j]] = true end
  end
  if #variants == 0 then diag.at(vo, 1, 1, "a spec needs at least one variant") end
  local function check_when(o, when)
    if when ~= nil and not flag_set[when] then diag.at(o, 1, 1, "unknown variant flag '%s'", tostring(when)) end
    return when
  end

  -- Hyperparameters and state arrays.
  local names = {}
  local function declare(o, what, name)
    check_ident(o, what, name)
    if is_reserved(name, what) then diag.at(o, 1, 1, "'%s' is reserved and cannot name a %s", name, what) end
    if names[name] then diag.at(o, 1, 1, "'%s' is declared twice", name) end
    names[name] = true
  end
  local hp, from = {}, key_offset(src, "hparams")
  for _, h in ipairs(hparams) do
    if type(h) ~= "table" then
      diag.at(key_origin(file, src, "hparams"), 1, 1, "each hyperparameter must be a list { name, default, domain }")
    end
    local o
    o, from = locate(file, src, tostring(h[1]), from)
    declare(o, "hyperparameter", h[1])
    if type(h[2]) ~= "number" then diag.at(o, 1, 1, "hyperparameter '%s' needs a numeric default", h[1]) end
    local d = parse_domain(h[3], (locate(file, src, tostring(h[3]), from)))
    if not M.in_domain(d, h[2]) then
      diag.at(o, 1, 1, "default %s of '%s' lies outside its domain %s", tostring(h[2]), h[1], h[3])
    end
    hp[#hp + 1] = { name = h[1], default = h[2], domain = d, domain_text = h[3], when = check_when(o, h.when) }
  end
  local st = {}
  from = key_offset(src, "state")
  for _, a in ipairs(state) do
    if type(a) ~= "table" then
      diag.at(key_origin(file, src, "state"), 1, 1, "each state array must be a list { name, initial value }")
    end
    local o
    o, from = locate(file, src, tostring(a[1]), from)
    declare(o, "state array", a[1])
    local init = type(a[2]) == "number" and tostring(a[2]) or a[2]
    if type(init) ~= "string" then diag.at(o, 1, 1, "state '%s' needs an initial value", a[1]) end
    local io = type(a[2]) == "string" and locate(file, src, a[2], from) or o
    local io_ = diag.origin(io.file, io.line, io.col - 7) -- "init = " is not in the file
    local stmts = parser.parse("init = " .. init, io_)
    st[#st + 1] = { name = a[1], init = stmts[1].expr, origin = io_, when = check_when(o, a.when) }
  end

  local function parse_block(text, key)
    if not text then return {} end
    local stmts = parser.parse(text, (locate(file, src, text)))
    for _, stm in ipairs(stmts) do
      for _, c in ipairs(stm.guard or {}) do
        if not flag_set[c.flag] then
          diag.at(locate(file, src, text), c.line, c.col, "unknown variant flag '%s' in %s", c.flag, key)
        end
      end
    end
    return stmts, (locate(file, src, text))
  end
  local scalars, scalars_o = parse_block(scalars_src, "scalars")
  local update, update_o = parse_block(update_src, "update")

  local out = {}
  for _, v in ipairs(variants) do
    local flags = {}
    for j = 2, #v do flags[v[j]] = true end
    local function pick(list)
      local r = {}
      for _, x in ipairs(list) do
        if x.when == nil or flags[x.when] then r[#r + 1] = x end
      end
      return r
    end
    local function pick_stmts(list)
      local r = {}
      for _, x in ipairs(list) do
        if flags_hold(x.guard, flags) then r[#r + 1] = x end
      end
      return r
    end
    local khp, kst = pick(hp), pick(st)
    if #khp > limits.hparams then
      diag.at(key_origin(file, src, "hparams"), 1, 1, "%s: %d hyperparameters, more than the runtime's %d",
              v[1], #khp, limits.hparams)
    end
    if #kst > limits.state then
      diag.at(key_origin(file, src, "state"), 1, 1, "%s: %d state arrays, more than the runtime's %d",
              v[1], #kst, limits.state)
    end
    out[#out + 1] = {
      name = v[1], family = family, file = file, doc = doc, flags = flags,
      hparams = khp, state = kst,
      scalars = pick_stmts(scalars), scalars_origin = scalars_o,
      update = pick_stmts(update), update_origin = update_o,
    }
  end
  return out
end

return M
