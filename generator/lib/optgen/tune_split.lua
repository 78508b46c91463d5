-- optgen tune's split threshold: how much work a part of a step must hold
-- before splitting it across the pool pays on this machine.  The runtime
-- splits a step of n elements into parts of at least min_part_ns of one
-- thread's time, estimated as n times the kernel's in-cache time per
-- element (runtime/split.c); this measures, with the library's own pool
-- (build/liboptkern.so, through the FFI), one thread against a forced split
-- over every core at sizes from in-cache to beyond it, for a light kernel
-- (SGD) and a heavy one (Adam), and returns the smallest estimated part
-- time from which every larger step gained.  Steps run back to back, as a
-- model's tensors do, so the workers spin between them.
local ffi = require("ffi")
local ffi_ = require("optgen.tune_ffi")
local timing = require("optgen.tune_time")

local M = {}

ffi.cdef([[
typedef struct optk_kernel optk_kernel;
const optk_kernel *optk_find(const char *name, int dtype);
int optk_nstate(const optk_kernel *k);
void optk_default_hparams(const optk_kernel *k, double *hp);
int optk_init_state(const optk_kernel *k, size_t n, void *const *state, const double *hp);
int optk_step(const optk_kernel *k, size_t n, void *param, const void *grad, void *const *state,
              const double *hp, int64_t t);
void optk_set_num_threads(int n);
int optk_get_num_threads(void);
void optk__set_split_min_part_ns(unsigned long ns);
unsigned long optk__split_default_ns(void);
int optk__pool_settle(void);
int posix_memalign(void **p, size_t align, size_t n);
]])

-- The bounds of the result: below 1 µs a part is about one wake of spinning
-- workers; above 200 µs nothing a pool could do would need more.
M.FLOOR_NS, M.CEIL_NS = 1000, 200000
-- A split must gain this much over one thread to count as paying (the
-- noise of a shared machine is about 5%).
M.GAIN = 0.9

-- From rows { n, t1 (ns per step, one thread), ts (split) } in rising n and
-- the kernel's in-cache ns per element, for threads: the smallest estimated
-- part time (n * cost / threads) from which every larger size gained, and
-- whether any size did.  Pure: the tests call it with made-up rows.
function M.break_even(rows, cost, threads)
  local need = nil
  for i = #rows, 1, -1 do
    local r = rows[i]
    if r.ts > M.GAIN * r.t1 then break end
    need = r.n * cost / threads
  end
  return need
end

-- The threshold from the kernels' break-evens: the largest (every kernel
-- must gain), one and a half times over for the workers that have slept,
-- within the bounds; nil when no kernel gained at any size.
function M.threshold(needs)
  local worst
  for _, v in pairs(needs) do
    if not v then return nil end
    worst = math.max(worst or 0, v)
  end
  if not worst then return nil end
  return math.floor(math.min(M.CEIL_NS, math.max(M.FLOOR_NS, worst * 1.5)) / 100 + 0.5) * 100
end

local F32 = 0 -- OPTK_F32 (runtime/optkern.h)

-- Measures with the library at lib.  Returns the profile's split entry, or
-- nil and why not.
function M.measure(lib, o, log)
  local ok, L = pcall(ffi.load, lib)
  if not ok then return nil, "cannot load " .. lib .. " (build it with ninja): " .. tostring(L) end
  local threads = L.optk_get_num_threads()
  if threads < 2 then return nil, "this process may use one core: nothing to split" end
  local sizes = {}
  local n = 4096
  while n <= (o.quick and 4194304 or 16777216) do sizes[#sizes + 1], n = n, n * 2 end
  local entry = { threads = threads, kernels = {} }
  local needs = {}
  for _, name in ipairs({ "sgd", "adam" }) do
    local k = L.optk_find(name, F32)
    if k == nil then return nil, name .. " f32 is not in " .. lib end
    local hp = ffi.new("double[32]")
    L.optk_default_hparams(k, hp)
    local cap, ns = sizes[#sizes], L.optk_nstate(k)
    -- 64-byte aligned, as frameworks allocate: arrays 16 bytes off a line
    -- boundary split in two gain far less here (1.1-1.4x against 1.9x at
    -- 256 Ki Adam elements on the 2-core Zen VM), which would measure the
    -- misalignment, not the pool.
    local bufs = {}
    local function arr()
      local q = ffi.new("void *[1]")
      if ffi.C.posix_memalign(q, 64, cap * 4) ~= 0 then error("out of memory", 0) end
      local a = ffi.gc(ffi.cast("float *", q[0]), ffi.C.free)
      bufs[#bufs + 1] = a
      return a
    end
    local p, g = arr(), arr()
    local st = ffi.new("void *[8]")
    for i = 0, ns - 1 do st[i] = arr() end
    for i = 0, cap - 1 do p[i], g[i] = 1 + (i % 7) * 0.01, ((i % 13) - 6) * 1e-3 end
    L.optk_init_state(k, cap, st, hp)
    local t = 1
    -- ns per step of reps steps at nn elements on th threads (more than one:
    -- split into th parts whatever the size).
    local function sample(nn, th, reps)
      L.optk_set_num_threads(th)
      L.optk__set_split_min_part_ns(th > 1 and 0 or M.CEIL_NS)
      L.optk_step(k, nn, p, g, st, hp, t)
      local a = ffi_.now_ns()
      for _ = 1, reps do
        t = t % 1000 + 1
        L.optk_step(k, nn, p, g, st, hp, t)
      end
      return (ffi_.now_ns() - a) / reps
    end
    local rows = {}
    for _, nn in ipairs(sizes) do
      -- Interleaved samples, each long enough to dwarf the clock.
      local xs1, xs2 = {}, {}
      local reps = math.max(1, math.floor(2e6 / (nn * 0.5 + 1000)))
      for s = 1, (o.quick and 5 or 9) do
        xs1[s], xs2[s] = sample(nn, 1, reps), sample(nn, threads, reps)
      end
      rows[#rows + 1] = { n = nn, t1 = timing.median(xs1), ts = timing.median(xs2) }
    end
    L.optk_set_num_threads(0) -- back to the default count
    L.optk__set_split_min_part_ns(L.optk__split_default_ns())
    L.optk__pool_settle()
    local cost = rows[1].t1 / rows[1].n -- in cache: the runtime's own estimate of the time per element
    needs[name] = M.break_even(rows, cost, threads) or false
    local show = {}
    for _, r in ipairs(rows) do
      show[#show + 1] = { n = r.n, one = math.floor(r.t1 + 0.5), split = math.floor(r.ts + 0.5) }
    end
    entry.kernels[name] = { cost = math.floor(cost * 1e4 + 0.5) / 1e4, rows = show,
                            break_even_ns = needs[name] and math.floor(needs[name] + 0.5) or "none" }
    if log then
      log(string.format("  split: %s f32, %d threads: %s", name, threads,
                        needs[name] and string.format("gains from %.1f us per part", needs[name] / 1e3)
                        or "no size gained"))
    end
    bufs = nil -- luacheck: ignore 311
  end
  entry.min_part_ns = M.threshold(needs)
  if not entry.min_part_ns then return nil, "no size gained from splitting; the default stays" end
  return entry
end

return M
