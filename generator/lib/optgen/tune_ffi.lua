-- What optgen tune calls through LuaJIT's FFI: the clock, the dynamic
-- loader (the candidates' shared object) and the C library's memory calls.
local ffi = require("ffi")
local fail = require("optgen.tune_fail")

local M = {}

ffi.cdef([[
typedef void (*optk_tune_fn)(size_t, void *, const void *, void *const *, const void *);
typedef void (*optk_tune_prep_fn)(const double *, int64_t, double *);
struct optk_tune_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct optk_tune_timespec *ts);
void *dlopen(const char *file, int mode);
void *dlsym(void *handle, const char *name);
char *dlerror(void);
void *malloc(size_t n);
void free(void *p);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
]])

local ts = ffi.new("struct optk_tune_timespec")

-- CLOCK_MONOTONIC in nanoseconds.
function M.now_ns()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1e9 + tonumber(ts.tv_nsec)
end

function M.dlopen(path)
  local h = ffi.C.dlopen(path, 2) -- RTLD_NOW, local
  if h == nil then fail("cannot load %s: %s", path, ffi.string(ffi.C.dlerror())) end
  return h
end

-- Symbol name of the shared object h, as a pointer of C type ctype.
function M.sym(h, name, ctype)
  local p = ffi.C.dlsym(h, name)
  if p == nil then fail("symbol %s missing from the candidates' shared object", name) end
  return ffi.cast(ctype, p)
end

return M
