-- The LuaJIT binding (runtime/optkern.lua): trains a linear regression on
-- synthetic data with a sample of the seed optimizers and storage types,
-- checks that the loss falls well below its start, that every kernel of the
-- registry has the C API's metadata and gives the C API's bits through the
-- binding, and that errors become Lua errors.  Run from the repository root:
--   LUA_PATH="./runtime/?.lua;;" luajit tests/binding.lua
local ffi = require("ffi")
local optkern = require("optkern")

ffi.cdef("int memcmp(const void *a, const void *b, size_t n);")

local passed, failed = 0, 0
local function test(name, f)
  local ok, err = pcall(f)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    io.stderr:write("FAIL ", name, ": ", tostring(err), "\n")
  end
end

-- Synthetic data: y = X w* + noise, N samples of D features, fixed seed.
local N, D = 256, 16
local seed = 12345
local function rand()
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648 * 2 - 1
end
local X, Y, W = {}, {}, {}
for j = 1, D do W[j] = rand() end
for i = 1, N do
  local row, y = {}, 0
  for j = 1, D do row[j] = rand(); y = y + row[j] * W[j] end
  X[i], Y[i] = row, y + 0.01 * rand()
end

-- bf16 weights and gradients: decoded exactly, encoded with round to
-- nearest even (gradients only; NaN never occurs here).
local function f32_bits(x) return ffi.cast("uint32_t *", ffi.new("float[1]", x))[0] end
local function bf16_to_f32(h)
  return ffi.cast("float *", ffi.new("uint32_t[1]", bit.lshift(h, 16)))[0]
end
local function f32_to_bf16(x)
  local h = f32_bits(x)
  return bit.rshift(h + 0x7fff + bit.band(bit.rshift(h, 16), 1), 16)
end
local decode = { f32 = tonumber, f64 = tonumber, bf16 = bf16_to_f32 }
local encode = { f32 = tonumber, f64 = tonumber, bf16 = f32_to_bf16 }

-- Mean squared error at weights w (an FFI array), and its gradient into g.
local function loss_and_grad(k, w, g)
  local dec, loss, grad = decode[k.dtype], 0, {}
  for j = 1, D do grad[j] = 0 end
  for i = 1, N do
    local r = -Y[i]
    for j = 1, D do r = r + X[i][j] * dec(w[j - 1]) end
    loss = loss + r * r / N
    for j = 1, D do grad[j] = grad[j] + 2 * r * X[i][j] / N end
  end
  if g then
    for j = 1, D do g[j - 1] = encode[k.dtype](grad[j]) end
  end
  return loss
end

-- A sample of the seed optimizers, with learning rates that train this
-- problem in 300 steps (the binding is under test, not the optimizers).
local settings = {
  { "sgd", { lr = 0.1 } },
  { "sgd_momentum", { lr = 0.05 } },
  { "sgd_nesterov", { lr = 0.05 } },
  { "adagrad", { lr = 0.5 } },
  { "rmsprop", { lr = 0.01 } },
  { "rmsprop_centered_momentum", { lr = 0.005 } },
  { "adam", { lr = 0.05 } },
  { "adam_amsgrad", { lr = 0.05 } },
  { "adamax", { lr = 0.05 } },
}

for _, s in ipairs(settings) do
  for _, dtype in ipairs({ "f32", "f64", "bf16" }) do
    test(string.format("%s/%s trains", s[1], dtype), function()
      local k = assert(optkern.find(s[1], dtype), "kernel")
      local w, g = ffi.new(k.ctype .. "[?]", D), ffi.new(k.ctype .. "[?]", D)
      local state = k:new_state(D, s[2])
      local first = loss_and_grad(k, w)
      for t = 1, 300 do
        loss_and_grad(k, w, g)
        k:step(w, g, state, s[2], t)
      end
      local last = loss_and_grad(k, w)
      assert(last < 0.02 * first, string.format("loss %g -> %g", first, last))
    end)
  end
end

test("the binding gives the C API's bits", function()
  for _, kt in ipairs(optkern.kernels()) do
    local n = 97
    local a, b, g = ffi.new(kt.ctype .. "[?]", n), ffi.new(kt.ctype .. "[?]", n), ffi.new(kt.ctype .. "[?]", n)
    for i = 0, n - 1 do
      local x = math.sin(i) * 0.5
      if kt.ctype == "uint16_t" then a[i], g[i] = 0x3c00 + i, 0x3800 + 3 * i else a[i], g[i] = x, math.cos(i) end
      b[i] = a[i]
    end
    local sa, sb = kt:new_state(n), kt:new_state(n)
    local hp = ffi.new("double[?]", #kt.hparams + 1)
    for i, h in ipairs(kt.hparams) do hp[i - 1] = h.default end
    local ptrs = ffi.new("void *[?]", #sb + 1)
    for i, s in ipairs(sb) do ptrs[i - 1] = s end
    for t = 1, 3 do
      kt:step(a, g, sa, {}, t)
      assert(optkern.lib.optk_step(kt.ptr, n, b, g, ptrs, hp, t) == 0)
    end
    assert(ffi.C.memcmp(a, b, ffi.sizeof(a)) == 0, kt.name .. "/" .. kt.dtype .. " param")
    for i = 1, #sa do assert(ffi.C.memcmp(sa[i], sb[i], ffi.sizeof(sa[i])) == 0, kt.name .. " state") end
  end
end)

test("every kernel's metadata is the C API's", function()
  local lib, seen = optkern.lib, 0
  for _, k in ipairs(optkern.kernels()) do
    seen = seen + 1
    assert(optkern.find(k.name, k.dtype).ptr == k.ptr, k.name)
    assert(#k.hparams == lib.optk_nhparams(k.ptr) and #k.state == lib.optk_nstate(k.ptr), k.name)
    for i, h in ipairs(k.hparams) do
      assert(h.name == ffi.string(lib.optk_hparam_name(k.ptr, i - 1)), k.name .. " hparam " .. i)
      assert(h.default == lib.optk_hparam_default(k.ptr, i - 1), k.name .. " default " .. h.name)
    end
    for i, name in ipairs(k.state) do
      assert(name == ffi.string(lib.optk_state_name(k.ptr, i - 1)), k.name .. " state " .. i)
    end
  end
  assert(seen == tonumber(lib.optk_count()), "optkern.kernels() lists " .. seen .. " kernels")
end)

test("adagrad's metadata and initial accumulator, by name", function()
  local k = optkern.find("adagrad", "f16")
  assert(k.name == "adagrad" and k.dtype == "f16")
  assert(k.hparams[3].name == "initial_accumulator_value" and k.hparams[3].default == 0.1)
  assert(k.state[1] == "acc")
  local s = k:new_state(4, { initial_accumulator_value = 0.5 })
  assert(s[1][3] == 0.5)
  assert(optkern.find("nosuch", "f32") == nil)
end)

test("ISA query and forcing", function()
  assert(optkern.isa_available("scalar"))
  local k = optkern.find("adam", "f32")
  local a, b, g = ffi.new("float[33]"), ffi.new("float[33]"), ffi.new("float[33]")
  for i = 0, 32 do a[i], b[i], g[i] = i, i, 33 - i end
  local sa, sb = k:new_state(33), k:new_state(33)
  optkern.force_isa("scalar")
  k:step(a, g, sa, {}, 1)
  optkern.force_isa(nil)
  k:step_isa(optkern.active_isa(), b, g, sb, {}, 1)
  assert(ffi.C.memcmp(a, b, ffi.sizeof(a)) == 0)
end)

test("errors are Lua errors with optk_strerror's text", function()
  local k = optkern.find("sgd", "f32")
  local w, g = ffi.new("float[4]"), ffi.new("float[4]")
  local ok, err = pcall(k.step, k, w, g, nil, { lr = -1 }, 1)
  assert(not ok and tostring(err):find("optkern: invalid argument", 1, true), tostring(err))
  ok, err = pcall(k.step, k, w, g, nil, {}, 0)
  assert(not ok and tostring(err):find("invalid argument", 1, true))
  ok, err = pcall(k.step, k, w, g, nil, { rate = 1 }, 1)
  assert(not ok and tostring(err):find("no hyperparameter 'rate'", 1, true))
  ok, err = pcall(optkern.force_isa, "mmx")
  assert(not ok and tostring(err):find("unknown ISA", 1, true))
end)

-- Array checks (issue 13): the binding refuses, naming the argument, what
-- would make the C call read or write past an array.
local function refuses(pattern, f, ...)
  local ok, err = pcall(function(...) f(...) end, ...) -- not a tail call: the error has a line here
  assert(not ok, "accepted; wanted an error matching '" .. pattern .. "'")
  err = tostring(err)
  assert(err:find(pattern, 1, true), "error '" .. err .. "' lacks '" .. pattern .. "'")
  -- raised at the caller's line, not inside the binding
  assert(err:find("binding.lua:", 1, true), "error '" .. err .. "' does not point at the caller")
end

test("state arrays shorter than n are refused", function()
  local k = optkern.find("adam", "f32")
  local w, g = ffi.new("float[8]"), ffi.new("float[8]")
  local m, v = ffi.new("float[8]"), ffi.new("float[7]")
  refuses("state[2] (v) holds 7 elements, fewer than n = 8", k.step, k, w, g, { m, v }, {}, 1)
  refuses("state[2] (v) holds 7 elements, fewer than n = 8", k.init_state, k, { m, v }, {}, 8)
  refuses("grad holds 4 elements, fewer than n = 8", k.step, k, w, ffi.new("float[4]"), { m, m }, {}, 1)
  refuses("param holds 8 elements, fewer than n = 9", k.step, k, w, g, { m, v }, {}, 1, 9)
  refuses("state[1] (m) holds 8 elements, fewer than n = 9", k.step_isa, k, "scalar", ffi.new("float[9]"),
          ffi.new("float[9]"), { m, ffi.new("float[9]") }, {}, 1)
  -- init_state without n takes state[1]'s length and checks the others
  refuses("state[2] (v) holds 7 elements, fewer than n = 8", k.init_state, k, { m, v }, {})
end)

test("a pointer needs n, and then gives the array's bits", function()
  local k = optkern.find("sgd_momentum", "f32")
  local n = 37
  local a, b, g = ffi.new("float[?]", n), ffi.new("float[?]", n), ffi.new("float[?]", n)
  for i = 0, n - 1 do a[i], b[i], g[i] = i, i, n - i end
  local pa, pg = ffi.cast("float *", b), ffi.cast("float *", g)
  local sa, sb = k:new_state(n), k:new_state(n)
  refuses("param is a pointer (float *), whose size is unknown: pass n", k.step, k, pa, g, sb, {}, 1)
  refuses("grad is a pointer (const float *), whose size is unknown: pass n", k.step, k, a, pg, sa, {}, 1)
  local ps = ffi.cast("float *", sb[1])
  refuses("state[1] (v) is a pointer (float *), whose size is unknown: pass n", k.init_state, k, { ps }, {})
  k:step(a, g, sa, {}, 1)
  k:step(pa, pg, { ps }, {}, 1, n)
  assert(ffi.C.memcmp(a, b, ffi.sizeof(a)) == 0 and ffi.C.memcmp(sa[1], sb[1], ffi.sizeof(sa[1])) == 0)
  -- an explicit n below the arrays' length steps only the first n
  k:step(a, g, sa, {}, 2, 5)
  assert(a[4] ~= b[4] and a[5] == b[5])
  refuses("n must be a non-negative integer", k.step, k, a, g, sa, {}, 1, -1)
  refuses("n must be a non-negative integer", k.step, k, a, g, sa, {}, 1, 2.5)
  refuses("n must be a non-negative integer", k.step, k, a, g, sa, {}, 1, "3")
end)

test("element types are checked", function()
  local k64 = optkern.find("adam", "f64")
  local w, g = ffi.new("double[8]"), ffi.new("double[8]")
  local mf, vf = ffi.new("float[16]"), ffi.new("float[16]")
  refuses("state[1] (m) is float [16], not an array of double", k64.step, k64, w, g, { mf, vf }, {}, 1)
  refuses("state[1] (m) is float [16], not an array of double", k64.init_state, k64, { mf, vf }, {})
  local k32 = optkern.find("adam", "f32")
  local s = k32:new_state(8)
  refuses("param is double [8], not an array of float", k32.step, k32, w, ffi.new("float[8]"), s, {}, 1)
  refuses("grad is double [8], not an array of const float", k32.step, k32, ffi.new("float[8]"), g, s, {}, 1)
  local kb = optkern.find("sgd", "bf16")
  refuses("param is float [8], not an array of uint16_t", kb.step, kb, ffi.new("float[8]"),
          ffi.new("uint16_t[8]"), {}, {}, 1)
  refuses("param must be an FFI array or pointer of float, not a table", k32.step, k32, { 1, 2 },
          ffi.new("float[8]"), s, {}, 1)
  refuses("param must be an FFI array or pointer of float, not a nil", k32.step, k32, nil,
          ffi.new("float[8]"), s, {}, 1)
  refuses("param is const float [8], not an array of float", k32.step, k32, ffi.new("const float[8]"),
          ffi.new("float[8]"), s, {}, 1)
  refuses("needs a list of 2 state arrays, not 1", k32.step, k32, ffi.new("float[8]"), ffi.new("float[8]"),
          { s[1] }, {}, 1)
end)

-- Three tensors of adam f32 with random values.
local function group_model(k, sizes)
  local ts = {}
  for i, n in ipairs(sizes) do
    local p, g = ffi.new(k.ctype .. "[?]", n), ffi.new(k.ctype .. "[?]", n)
    for j = 0, n - 1 do p[j], g[j] = rand(), rand() * 0.1 end
    ts[i] = { param = p, grad = g, state = k:new_state(n, {}) }
  end
  return ts
end

test("step_group: optk_step's bits per tensor, the norm, clipping", function()
  local k = optkern.find("adam", "f32")
  local sizes = { 1000, 3, 4097 }
  local a, b = group_model(k, sizes), {}
  for i, x in ipairs(a) do
    local n = sizes[i]
    local p, g = ffi.new("float[?]", n), ffi.new("float[?]", n)
    ffi.copy(p, x.param, n * 4)
    ffi.copy(g, x.grad, n * 4)
    b[i] = { param = p, grad = g, state = k:new_state(n, {}) }
  end
  local r = k:step_group(a, { lr = 0.01 }, 1)
  local sum = 0
  for i, x in ipairs(b) do
    for j = 0, sizes[i] - 1 do sum = sum + x.grad[j] * x.grad[j] end
    k:step(x.param, x.grad, x.state, { lr = 0.01 }, 1)
  end
  for i = 1, #sizes do
    assert(ffi.C.memcmp(a[i].param, b[i].param, sizes[i] * 4) == 0, "param " .. i)
    assert(ffi.C.memcmp(a[i].state[2], b[i].state[2], sizes[i] * 4) == 0, "v " .. i)
  end
  assert(math.abs(r.grad_norm - math.sqrt(sum)) <= 1e-12 * math.sqrt(sum), r.grad_norm)
  assert(not r.found_nonfinite and not r.skipped)
  -- clipping to a tenth of the norm
  local c = k:step_group(a, { lr = 0.01 }, 2, { grad_scale = 0.5, max_grad_norm = r.grad_norm / 20 })
  assert(math.abs(c.grad_norm - r.grad_norm / 2) <= 1e-12 * r.grad_norm, c.grad_norm)
end)

test("step_group: skip on NaN, masters, errors", function()
  local k = optkern.find("adam", "f32")
  local a = group_model(k, { 10, 20 })
  a[2].grad[7] = 0 / 0
  local before = ffi.new("float[10]")
  ffi.copy(before, a[1].param, 40)
  local r = k:step_group(a, {}, 1, { skip_nonfinite = true, max_grad_norm = 1 })
  assert(r.skipped and r.found_nonfinite and r.grad_norm ~= r.grad_norm)
  assert(ffi.C.memcmp(before, a[1].param, 40) == 0)
  local ok, err = pcall(k.step_group, k, a, {}, 1, { clip = 1 })
  assert(not ok and tostring(err):find("no group option 'clip'", 1, true), tostring(err))
  a[1].master = ffi.new("float[10]") -- a master for an f32 kernel
  ok, err = pcall(k.step_group, k, a, {}, 1)
  assert(not ok and tostring(err):find("invalid argument", 1, true), tostring(err))
  -- bf16 with an f32 master: param is the master rounded to nearest even
  local kb = optkern.find("adam", "bf16")
  local n = 100
  local p, g, m = ffi.new("uint16_t[?]", n), ffi.new("uint16_t[?]", n), ffi.new("float[?]", n)
  for j = 0, n - 1 do
    m[j] = rand()
    p[j], g[j] = f32_to_bf16(m[j]), f32_to_bf16(rand())
  end
  kb:step_group({ { param = p, grad = g, state = kb:new_state(n, {}), master = m } }, { lr = 0.01 }, 1,
                { sr_seed = 5 })
  for j = 0, n - 1 do assert(p[j] == f32_to_bf16(m[j]), j) end
end)

test("lamb (two phases, per-tensor norms): step and step_group agree, and it moves p", function()
  local k = optkern.find("lamb", "f32")
  assert(k and k.state[1] == "m" and k.state[2] == "v" and k.hparams[4].name == "eps")
  local sizes = { 300, 5000 }
  local a, b = group_model(k, sizes), {}
  for i, x in ipairs(a) do
    local n = sizes[i]
    local p, g = ffi.new("float[?]", n), ffi.new("float[?]", n)
    ffi.copy(p, x.param, n * 4)
    ffi.copy(g, x.grad, n * 4)
    b[i] = { param = p, grad = g, state = k:new_state(n, {}) }
  end
  local p0 = a[1].param[0]
  k:step_group(a, { lr = 0.01 }, 1)
  for _, x in ipairs(b) do k:step(x.param, x.grad, x.state, { lr = 0.01 }, 1) end
  for i = 1, #sizes do
    assert(ffi.C.memcmp(a[i].param, b[i].param, sizes[i] * 4) == 0, "param " .. i)
    assert(ffi.C.memcmp(a[i].state[1], b[i].state[1], sizes[i] * 4) == 0, "m " .. i)
  end
  assert(a[1].param[0] ~= p0)
end)

print(string.format("binding: %d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
