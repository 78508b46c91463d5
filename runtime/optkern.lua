-- optkern for LuaJIT: the registry and steps of build/liboptkern.so through
-- the FFI.
--
--   local optkern = require("optkern")       -- LUA_PATH="./runtime/?.lua;;"
--   local k = optkern.find("adam", "f32")
--   local w, g = ffi.new("float[?]", n), ffi.new("float[?]", n)
--   local state = k:new_state(n, { lr = 0.05 })   -- or k:init_state({m, v}, hp)
--   k:step(w, g, state, { lr = 0.05 }, t)          -- unnamed hparams keep defaults
--   local r = k:step_group({ { param = w, grad = g, state = state }, ... }, { lr = 0.05 }, t,
--                          { grad_scale = 2^-10, max_grad_norm = 1, skip_nonfinite = true })
--
-- Errors of the C API are raised as Lua errors with optk_strerror's text.
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

-- Number of elements of an FFI array of the kernel's storage type.
local function count(self, param)
  return math.floor(ffi.sizeof(param) / self.elem_size)
end

function Kernel:state_ptrs(state)
  state = state or {}
  if #state ~= #self.state then
    error(string.format("optkern: %s needs %d state arrays, not %d", self.name, #self.state, #state), 3)
  end
  local ptrs = ffi.new("void *[?]", math.max(#state, 1))
  for i, s in ipairs(state) do ptrs[i - 1] = s end
  return ptrs
end

-- Sets the state arrays (a list, in the kernel's state order) to their
-- initial values.
function Kernel:init_state(state, hparams)
  local n = #state > 0 and math.floor(ffi.sizeof(state[1]) / self.state_size) or 0
  check(lib.optk_init_state(self.ptr, n, self:state_ptrs(state), self:hp(hparams)))
  return state
end

-- New state arrays for n elements, initialised.
function Kernel:new_state(n, hparams)
  local state = {}
  for i = 1, #self.state do state[i] = ffi.new(self.state_ctype .. "[?]", n) end
  return self:init_state(state, hparams)
end

-- One step in place over every element of param.
function Kernel:step(param, grad, state, hparams, t)
  local n = count(self, param)
  if ffi.sizeof(grad) < n * self.elem_size then error("optkern: grad is smaller than param", 2) end
  local ptrs, hp = self:state_ptrs(state), self:hp(hparams)
  if M.forced then
    check(lib.optk_step_isa(self.ptr, M.forced, n, param, grad, ptrs, hp, t))
  else
    check(lib.optk_step(self.ptr, n, param, grad, ptrs, hp, t))
  end
end

-- One step on a given ISA ("scalar", "avx2", ...).
function Kernel:step_isa(isa, param, grad, state, hparams, t)
  local n = count(self, param)
  if ffi.sizeof(grad) < n * self.elem_size then error("optkern: grad is smaller than param", 2) end
  check(lib.optk_step_isa(self.ptr, isa_id(isa), n, param, grad, self:state_ptrs(state), self:hp(hparams), t))
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
    local n = x.n
    if n == nil then -- arrays: every element of param, and grad as large
      n = count(self, x.param)
      if ffi.sizeof(x.grad) < n * self.elem_size then
        error("optkern: tensor " .. i .. ": grad is smaller than param", 2)
      end
    end
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
