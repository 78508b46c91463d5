-- Mutations of spec texts and argument vectors, from a seeded generator so
-- a run is reproducible (--seed).
local M = {}

-- xorshift32: the same sequence on every LuaJIT, whatever math.random is.
local state = 2463534242
function M.seed(n) state = (n % 4294967295) + 1 end
local function rand(n)
  state = bit.bxor(state, bit.lshift(state, 13))
  state = bit.bxor(state, bit.rshift(state, 17))
  state = bit.bxor(state, bit.lshift(state, 5))
  return (state % n + n) % n + 1 -- 1..n
end
M.rand = rand
local function pick(list) return list[rand(#list)] end
M.pick = pick

-- Pieces that specs are made of, so mutants get past the Lua loader.
local SPEC_TOKENS = {
  "name", "doc", "variants", "hparams", "state", "scalars", "update", "when", " = ", "{", "}", "{ ", " }", ",",
  '"', "[[", "]]", "[=[", "]=]", "\n", " if ", " if not ", " and ", " and not ", "(", ")", "+", "-", "*", "/", "^",
  "<", "<=", ">", ">=", "==", "!=", "~=", "sqrt(", "abs(", "min(", "max(", "sign(", "fma(", "select(", "exp(",
  "log(", "p", "g", "t", "lr", "m", "v", "beta1", "eps", "x1", "optk_x", "param", "p = p - lr * g\n",
  "v = v + g * g\n", '{ "lr", 0.1, "[0, inf)" }', '{ "v", 0 }', '{ "v", "lr * 2" }', '{ "toy", "flag" }',
  '"[0, 1)"', '"(0, 1]"', '"[1, 0]"', '"[-inf, inf]"', '"[0, nan]"', "0", "-0", "1", "0.5", "1e308", "1e-320",
  "-1", "2^53", "0x10", "1/0", "0/0", "1e999", "--", "-- x\n", ";", ".", "..", "#", "nil", "true", "false",
  "return ", "local x = 1\n", "\t", "\r\n", "\0", "\255", "é",
}

local NUMBERS = { "0", "-0", "1", "-1", "0.5", "1e308", "-1e308", "1e-320", "1e999", "0x7fffffff", "2^63",
                  "1/0", "-1/0", "0/0", "4294967297", "nil", '"1"' }

local function insert(s, at, piece) return s:sub(1, at - 1) .. piece .. s:sub(at) end

local function lines(s)
  local out = {}
  for l in (s .. "\n"):gmatch("(.-)\n") do out[#out + 1] = l end
  return out
end

local spec_ops = {
  function(s) -- a byte replaced
    if #s == 0 then return s end
    local at = rand(#s)
    return s:sub(1, at - 1) .. string.char(rand(256) - 1) .. s:sub(at + 1)
  end,
  function(s) -- a span deleted
    if #s == 0 then return s end
    local at = rand(#s)
    return s:sub(1, at - 1) .. s:sub(at + rand(8))
  end,
  function(s) return insert(s, rand(#s + 1), pick(SPEC_TOKENS)) end,
  function(s) return insert(s, rand(#s + 1), pick(SPEC_TOKENS)) end,
  function(s) -- a number replaced
    local spans = {}
    for a, b in s:gmatch("()%-?%d[%w.]*()") do spans[#spans + 1] = { a, b } end
    if #spans == 0 then return s end
    local sp = pick(spans)
    return s:sub(1, sp[1] - 1) .. pick(NUMBERS) .. s:sub(sp[2])
  end,
  function(s) -- a line duplicated, deleted or swapped with another
    local ls = lines(s)
    local i, j = rand(#ls), rand(#ls)
    local k = rand(3)
    if k == 1 then table.insert(ls, i, ls[i])
    elseif k == 2 then table.remove(ls, i)
    else ls[i], ls[j] = ls[j], ls[i] end
    return table.concat(ls, "\n")
  end,
  function(s, other) -- the head of this one and the tail of another
    local a, b = lines(s), lines(other)
    local out = {}
    for i = 1, rand(#a) do out[#out + 1] = a[i] end
    for i = rand(#b), #b do out[#out + 1] = b[i] end
    return table.concat(out, "\n")
  end,
}

-- One to four mutations of spec text s; other: another corpus entry.
function M.spec(s, other)
  for _ = 1, rand(4) do s = spec_ops[rand(#spec_ops)](s, other) end
  if #s > 65536 then s = s:sub(1, 65536) end
  return s
end

-- Arguments: commands, options and values optgen knows, and odd ones.
local ARG_TOKENS = {
  "generate", "list", "show", "vendor", "tune", "help", "--help", "-h", "nosuch", "",
  "--out", "--check", "--unroll", "--depfile", "--profile", "--optim", "--dtype", "--isa", "--prefix", "--hp",
  "--quick", "--sizes", "--profile-path", "--", "-", "--out=", "---out",
  "adam", "sgd", "sgd_momentum", "adagrad,adam", "adam,adam", "nosuch", ",", ",,",
  "f32", "f64", "bf16", "f16", "f32,bf16", "f8", "scalar", "avx2", "avx512", "neon", "sve", "scalar,avx2", "mmx",
  "avx2=2", "avx512=8", "avx2=0", "avx2=17", "avx2=x", "scalar=1,avx2=2", "=", "avx2=99999999999999999999",
  "my_", "q_", "Q_", "_", "1abc", "a-b", "optk_", "x", "é_",
  "adam.beta1=0.9", "adam.eps=1e-8", "adam.beta1=1", "adam.beta1=nan", "adam.beta1=inf", "adam.lr=-0",
  "adam.beta3=1", "sgd.lr=1e39", "adam.beta1=", "adam.=1", ".=", "sgd.lr=0x1p-1074",
  "out", "out/", "out//", ".", "./", "out/sub", "v", "v/x", "g", "prof.lua", "bc.lua", "notes.txt", "d.d",
  "a*/b", "a/*b", "a??/b", "a b", "a'b", 'a"b', "a\\b", "a\nb", "a$b", "a`b", "-x", "256,1024,4096", "1,2",
}

local arg_ops = {
  function(a) if #a > 0 then a[rand(#a)] = pick(ARG_TOKENS) end end,
  function(a) table.insert(a, rand(#a + 1), pick(ARG_TOKENS)) end,
  function(a) if #a > 0 then table.remove(a, rand(#a)) end end,
  function(a) if #a > 0 then local i = rand(#a); table.insert(a, i, a[i]) end end,
  function(a) -- a byte of one argument replaced or inserted
    if #a == 0 then return end
    local i = rand(#a)
    local s, at = a[i], rand(#a[i] + 1)
    a[i] = s:sub(1, at - 1) .. string.char(rand(256) - 1) .. s:sub(at + (rand(2) - 1))
  end,
  function(a) if #a > 1 then local i, j = rand(#a), rand(#a); a[i], a[j] = a[j], a[i] end end,
}

-- Paths stay inside the working directory: no absolute paths, no "..", no
-- "~", and no NUL (which no real argument holds).
local function confine(s)
  s = s:gsub("%z", ""):gsub("^[/~]+", ""):gsub("%.%.+", ".")
  return s
end

-- One to four mutations of argument vector args (a new table); other:
-- another corpus entry, spliced in now and then.
function M.args(args, other)
  local a = {}
  for i, v in ipairs(args) do a[i] = v end
  if other and rand(8) == 1 then
    local cut = rand(#a + 1)
    for i = rand(#other), #other do a[cut] = other[i]; cut = cut + 1 end
  end
  for _ = 1, rand(4) do arg_ops[rand(#arg_ops)](a) end
  for i = #a, 1, -1 do a[i] = confine(a[i]) end
  while #a > 24 do table.remove(a) end
  return a
end
M.confine = confine

return M
