-- optkern for LuaJIT: the registry and steps of build/liboptkern.so through
-- the FFI.
--
--   local optkern = require("optkern")       -- LUA_PATH="./runtime/?.lua;;"
--   local k = optkern.find("adam", "f32")
--   local w, g = ffi.new("float[?]", n), ffi.new("float[?]", n)
--   local state = k:new_state(n, { lr = 0.05 })   -- or k:init_state({m, v}, hp)
--   k:step(w, g, state, { lr = 0.05 }, t)          -- unnamed hparams keep defaults
--   k:step(wp, gp, state, {}, t, n)                -- pointers (ffi.cast) need n
--   local r = k:step_group({ { param = w, grad = g, state = state }, ... }, { lr = 0.05 }, t,
--                          { grad_scale = 2^-10, max_grad_norm = 1, skip_nonfinite = true })
--
-- Arrays are checked before the C call: each must be an FFI array or
-- pointer of the kernel's element type (param and grad: float, double or
-- uint16_t for bf16/f16; state: double for f64 kernels, else float).  n is
-- param's length (state[1]'s for init_state) unless given; every array whose
-- size is known must hold n elements, and a pointer, whose size is not, is
-- accepted only with an explicit n.  A bad argument raises a Lua error that
-- names it; errors of the C API are raised with optk_strerror's text.
local ffi = require("ffi")

ffi.cdef([[
typedef struct optk_kernel optk_kernel;
const optk_kernel *optk_find(const char *name, int dtype);
size_t optk_count(void);
const optk_kernel *optk_at(size_t i);
const char *optk_name(const optk_kernel *k);
int optk_dtype_of(const optk_kernel *k);
int optk_nstate(const optk_kernel *k);
const char *optk_state_name(const optk_kernel *k, int i);
int optk_nhparams(const optk_kernel *k);
const char *optk_hparam_name(const optk_kernel *k, int i);
double optk_hparam_default(const optk_kernel *k, int i);
int optk_init_state(const optk_kernel *k, size_t n, void *const *state, const double *hp);
int optk_step(const optk_kernel *k, size_t n, void *param, const void *grad, void *const *state,
              const double *hp, int64_t t);
int optk_step_isa(const optk_kernel *k, int isa, size_t n, void *param, const void *grad,
                  void *const *state, const double *hp, int64_t t);
int optk_active_isa(void);
int optk_isa_available(int isa);
const char *optk_isa_name(int isa);
const char *optk_strerror(int err);
typedef struct optk_tensor {
  size_t n;
  void *param;
  const void *grad;
  void *const *state;
  float *master;
} optk_tensor;
typedef struct optk_group_opts {
  double grad_scale;
  double max_grad_norm;
  int skip_nonfinite;
  uint64_t sr_seed;
} optk_group_opts;
typedef struct optk_group_result {
  double grad_norm;
  int found_nonfinite;
  int skipped;
} optk_group_result;
int optk_step_group(const optk_kernel *k, size_t count, const optk_tensor *tensors, const double *hparams,
                    int64_t t, const optk_group_opts *opts, optk_group_result *result);
int optk__step_group_isa(const optk_kernel *k, int isa, size_t count, const optk_tensor *tensors,
                         const double *hparams, int64_t t, const optk_group_opts *opts,
                         optk_group_result *result);
]])

-- The library beside this file: <root>/runtime/optkern.lua -> <root>/build/.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local lib = ffi.load(os.getenv("OPTKERN_LIB") or here .. "/../build/liboptkern.so")

local M = { lib = lib }

local dtypes = { f32 = 0, f64 = 1, bf16 = 2, f16 = 3 }
local dtype_names = { [0] = "f32", "f64", "bf16", "f16" }
local isa_ids = { scalar = 0, avx2 = 1, avx512 = 2, neon = 3, sve = 4 }
-- Element types of param/grad and of the state arrays, per storage type.
local ctypes = { f32 = "float", f64 = "double", bf16 = "uint16_t", f16 = "uint16_t" }
local state_ctypes = { f32 = "float", f64 = "double", bf16 = "float", f16 = "float" }

local function check(rc)
  if rc ~= 0 then error("optkern: " .. ffi.string(lib.optk_strerror(rc)), 3) end
end

local function isa_id(name)
  local id = isa_ids[name]
  if not id then error("optkern: unknown ISA '" .. tostring(name) .. "'", 3) end
  return id
end

local Kernel = {}
Kernel.__index = Kernel

local function wrap(ptr)
  local k = setmetatable({ ptr = ptr, name = ffi.string(lib.optk_name(ptr)),
                           dtype = dtype_names[lib.optk_dtype_of(ptr)], hparams = {}, state = {} }, Kernel)
  for i = 0, lib.optk_nhparams(ptr) - 1 do
    k.hparams[i + 1] = { name = ffi.string(lib.optk_hparam_name(ptr, i)), default = lib.optk_hparam_default(ptr, i) }
  end
  for i = 0, lib.optk_nstate(ptr) - 1 do k.state[i + 1] = ffi.string(lib.optk_state_name(ptr, i)) end
  k.ctype, k.state_ctype = ctypes[k.dtype], state_ctypes[k.dtype]
  k.elem_size, k.state_size = ffi.sizeof(k.ctype), ffi.sizeof(k.state_ctype)
  return k
end

-- The kernel of optimizer name and storage type dtype ("f32", "f64",
-- "bf16", "f16"), or nil.
function M.find(name, dtype)
  local d = dtypes[dtype]
  if d == nil then error("optkern: unknown dtype '" .. tostring(dtype) .. "'", 2) end
  local ptr = lib.optk_find(name, d)
  if ptr == nil then return nil end
  return wrap(ptr)
end

-- Every kernel in the registry.
function M.kernels()
  local out = {}
  for i = 0, tonumber(lib.optk_count()) - 1 do out[#out + 1] = wrap(lib.optk_at(i)) end
  return out
end

function M.active_isa() return ffi.string(lib.optk_isa_name(lib.optk_active_isa())) end
function M.isa_available(name) return lib.optk_isa_available(isa_id(name)) ~= 0 end

-- Forces every later step of this module onto one ISA (nil: back to the
-- library's choice).  An ISA this CPU lacks fails at the step.
function M.force_isa(name)
  M.forced = name and isa_id(name) or nil
end

-- The hyperparameters as a C array, in the kernel's order, defaults filled
-- in; unknown names are errors.
function Kernel:hp(values)
  local hp = ffi.new("double[?]", math.max(#self.hparams, 1))
  local known = {}
  for i, h in ipairs(self.hparams) do
    known[h.name] = true
    local v = values and values[h.name]
    hp[i - 1] = v == nil and h.default or v
  end
  for name in pairs(values or {}) do
    if not known[name] then
      error("optkern: " .. self.name .. " has no hyperparameter '" .. tostring(name) .. "'", 3)
    end
  end
  return hp
end

-- Element counts of cdata values: their size over the element size for an
-- FFI array (or reference to one), nil for a pointer.  x must convert to a
-- pointer of element type ct without a cast (a const array does not convert
-- to a non-const pointer, double[] not to float *); anything else is an error
-- naming the argument.
local boxes = {}
local function box_of(ct)
  local b = boxes[ct]
  if not b then b = ffi.new(ct .. " *[1]"); boxes[ct] = b end
  return b
end
local function store(b, x) b[0] = x end

local function extent(ctx, x, ct, what)
  if type(x) ~= "cdata" then
    error(string.format("optkern: %s: %s must be an FFI array or pointer of %s, not a %s", ctx, what, ct,
                        type(x)), 4)
  end
  local tname = tostring(ffi.typeof(x)):match("^ctype<(.*)>$")
  if not pcall(store, box_of(ct), x) then
    error(string.format("optkern: %s: %s is %s, not an array of %s", ctx, what, tname, ct), 4)
  end
  if not tname:find("[", 1, true) then return nil end
  return ffi.sizeof(x) / ffi.sizeof(ct)
end

-- n for a call on arrays { {value, ctype, name} }: the explicit n, else the
-- first array's length; checked against every array of known size.
local function check_n(ctx, arrays, n)
  if n ~= nil and (type(n) ~= "number" or n < 0 or n ~= math.floor(n) or n >= 2 ^ 53) then
    error(string.format("optkern: %s: n must be a non-negative integer, not %s", ctx, tostring(n)), 3)
  end
  local sizes = {}
  for i, a in ipairs(arrays) do sizes[i] = extent(ctx, a[1], a[2], a[3]) end
  if n == nil then
    for i, a in ipairs(arrays) do
      if sizes[i] == nil then
        error(string.format("optkern: %s: %s is a pointer (%s *), whose size is unknown: pass n", ctx, a[3],
                            a[2]), 3)
      end
    end
    n = sizes[1] or 0
  end
  for i, a in ipairs(arrays) do
    if sizes[i] ~= nil and sizes[i] < n then
      error(string.format("optkern: %s: %s holds %d elements, fewer than n = %d", ctx, a[3], sizes[i], n), 3)
    end
  end
  return n
end

function Kernel:state_ptrs(state)
  state = state or {}
  if type(state) ~= "table" or #state ~= #self.state then
    error(string.format("optkern: %s needs a list of %d state arrays, not %s", self.name, #self.state,
                        type(state) == "table" and #state or type(state)), 3)
  end
  local ptrs = ffi.new("void *[?]", math.max(#state, 1))
  for i, s in ipairs(state) do ptrs[i - 1] = s end
  return ptrs
end

-- The arrays of a step, for check_n.
local function step_arrays(self, param, grad, state)
  local arrays = { { param, self.ctype, "param" }, { grad, "const " .. self.ctype, "grad" } }
  for i, s in ipairs(state or {}) do
    arrays[#arrays + 1] = { s, self.state_ctype, string.format("state[%d] (%s)", i, self.state[i] or "?") }
  end
  return arrays
end

-- Sets the state arrays (a list, in the kernel's state order) to their
-- initial values.
function Kernel:init_state(state, hparams, n)
  local ptrs = self:state_ptrs(state)
  local arrays = {}
  for i, s in ipairs(state) do
    arrays[i] = { s, self.state_ctype, string.format("state[%d] (%s)", i, self.state[i]) }
  end
  n = check_n(self.name .. "/" .. self.dtype .. " init_state", arrays, n)
  check(lib.optk_init_state(self.ptr, n, ptrs, self:hp(hparams)))
  return state
end

-- New state arrays for n elements, initialised.
function Kernel:new_state(n, hparams)
  local state = {}
  for i = 1, #self.state do state[i] = ffi.new(self.state_ctype .. "[?]", n) end
  return self:init_state(state, hparams)
end

-- One step in place over n elements (default: every element of param).
function Kernel:step(param, grad, state, hparams, t, n)
  local ptrs = self:state_ptrs(state)
  n = check_n(self.name .. "/" .. self.dtype .. " step", step_arrays(self, param, grad, state), n)
  local hp = self:hp(hparams)
  if M.forced then
    check(lib.optk_step_isa(self.ptr, M.forced, n, param, grad, ptrs, hp, t))
  else
    check(lib.optk_step(self.ptr, n, param, grad, ptrs, hp, t))
  end
end

-- One step on a given ISA ("scalar", "avx2", ...).
function Kernel:step_isa(isa, param, grad, state, hparams, t, n)
  local id = isa_id(isa)
  local ptrs = self:state_ptrs(state)
  n = check_n(self.name .. "/" .. self.dtype .. " step_isa", step_arrays(self, param, grad, state), n)
  check(lib.optk_step_isa(self.ptr, id, n, param, grad, ptrs, self:hp(hparams), t))
end

local group_opt_names = { grad_scale = true, max_grad_norm = true, skip_nonfinite = true, sr_seed = true }

-- One step over a whole model: tensors is a list of { param = , grad = ,
-- state = { ... }, master = (bf16/f16: an f32 array, optional), n =
-- (optional: every element of param) }; opts (optional) names grad_scale
-- (1), max_grad_norm (0: no clipping), skip_nonfinite (false) and sr_seed
-- (0: none; a number or a uint64_t).  Returns { grad_norm, found_nonfinite,
-- skipped }; grad_norm is computed (every call then reads the gradients
-- once more, as optk_step_group does for a result).
function Kernel:step_group(tensors, hparams, t, opts)
  local ntensors = #tensors
  local ts = ffi.new("optk_tensor[?]", math.max(ntensors, 1))
  local keep = {} -- state pointer arrays, alive until the call returns
  for i, x in ipairs(tensors) do
    -- n: every element of param unless given; every array checked against it
    local arrays = step_arrays(self, x.param, x.grad, x.state)
    if x.master ~= nil then arrays[#arrays + 1] = { x.master, "float", "master" } end
    local n = check_n(self.name .. ": tensor " .. i, arrays, x.n)
    local ptrs = self:state_ptrs(x.state)
    keep[i] = ptrs
    ts[i - 1].n, ts[i - 1].param, ts[i - 1].grad, ts[i - 1].state = n, x.param, x.grad, ptrs
    ts[i - 1].master = x.master
  end
  local o
  if opts then
    for name in pairs(opts) do
      if not group_opt_names[name] then error("optkern: no group option '" .. tostring(name) .. "'", 2) end
    end
    o = ffi.new("optk_group_opts", opts.grad_scale or 1, opts.max_grad_norm or 0,
                opts.skip_nonfinite and 1 or 0, opts.sr_seed or 0)
  end
  local r = ffi.new("optk_group_result")
  local hp = self:hp(hparams)
  if M.forced then
    check(lib.optk__step_group_isa(self.ptr, M.forced, ntensors, ts, hp, t, o, r))
  else
    check(lib.optk_step_group(self.ptr, ntensors, ts, hp, t, o, r))
  end
  local _ = keep
  return { grad_norm = r.grad_norm, found_nonfinite = r.found_nonfinite ~= 0, skipped = r.skipped ~= 0 }
end

return M
