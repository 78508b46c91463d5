/* Internal to optkern: the kernel record the generated registry fills, and
 * the runtime's private entry points.  Not installed; tests may use it. */
#ifndef OPTK_INTERNAL_H
#define OPTK_INTERNAL_H

#include <string.h>

#include "optkern.h"

#if defined(__x86_64__) || defined(_M_X64)
#define OPTK_ARCH_X86_64 1
#else
#define OPTK_ARCH_X86_64 0
#endif
#if defined(__aarch64__)
#define OPTK_ARCH_AARCH64 1
#else
#define OPTK_ARCH_AARCH64 0
#endif

/* The ISAs and storage types, each listed once (generated from the
 * backends and generator/lib/optgen/isas.lua): OPTK_ISA_LIST,
 * OPTK_ISA_COUNT, OPTK_DTYPE_LIST. */
#include "optk_tables.h"

/* The shared library exports optkern.h's API and these few internal entry
 * points, which tools reach through it by LuaJIT's FFI: optgen tune's split
 * threshold and pool hooks (tune_split.lua) and the binding's forced-ISA
 * group step (optkern.lua).  Everything else is hidden (-fvisibility=hidden);
 * a vendored copy (no OPTK_EXPORTS) keeps its builder's visibility. */
#if defined(__GNUC__) && defined(OPTK_EXPORTS)
#define OPTK_TOOL_API __attribute__((visibility("default")))
#else
#define OPTK_TOOL_API
#endif

/* Static dispatch: building with -DOPTK_STATIC_ISA=<name> (a name of
 * OPTK_ISA_LIST) compiles only the scalar baseline and that ISA's kernels,
 * for a known target (the vendored file's mode); dispatch still checks the
 * CPU and falls back where that ISA is missing.
 * OPTK_STATIC_ALLOWS(id) says whether ISA number id is built. */
#define OPTK_ISA_ID_(x) OPTK_ISA_ID__(x)
#define OPTK_ISA_ID__(x) OPTK_ISA_ID_##x
#ifdef OPTK_STATIC_ISA
#define OPTK_STATIC (OPTK_ISA_ID_(OPTK_STATIC_ISA) - 1)
#if OPTK_STATIC < 0
#error "OPTK_STATIC_ISA must name an ISA of OPTK_ISA_LIST (optk_tables.h)"
#endif
#define OPTK_STATIC_ALLOWS(id) ((id) == 0 || (id) == OPTK_STATIC)
#else
#define OPTK_STATIC_ALLOWS(id) 1
#endif
/* The generator refuses specs beyond these (generator/lib/optgen/limits.lua). */
#define OPTK_MAX_STATE 8
#define OPTK_MAX_HPARAMS 32
#define OPTK_MAX_CONSTS 16

/* Keeps the address p of a thread-local object in a register for the rest
 * of the function.  A compiler computes such an address again at each use,
 * and in position-independent code (the shared library) each computation is
 * a call to the C library's __tls_get_addr: the per-call code of a step
 * (api.c's constants, ieee_math.c's powers) takes it once. */
#define OPTK_TLS_ONCE(p) __asm__("" : "+r"(p))

/* Per storage type (OPTK_DTYPE_LIST): the bytes of a stored element, and
 * the type (and its bytes) of the arithmetic and the state.  0 for a value
 * that is no optk_dtype. */
static inline size_t optk__dtype_bytes(optk_dtype d)
{
#define OPTK_X(name, NAME, id, bytes, COMPUTE, cbytes) if (d == OPTK_##NAME) return bytes;
  OPTK_DTYPE_LIST(OPTK_X)
#undef OPTK_X
  return 0;
}
static inline optk_dtype optk__compute_type(optk_dtype d)
{
#define OPTK_X(name, NAME, id, bytes, COMPUTE, cbytes) if (d == OPTK_##NAME) return OPTK_##COMPUTE;
  OPTK_DTYPE_LIST(OPTK_X)
#undef OPTK_X
  return d;
}
static inline size_t optk__compute_bytes(optk_dtype d)
{
#define OPTK_X(name, NAME, id, bytes, COMPUTE, cbytes) if (d == OPTK_##NAME) return cbytes;
  OPTK_DTYPE_LIST(OPTK_X)
#undef OPTK_X
  return 0;
}

/* A kernel updates n elements in place.  consts holds the loop invariants the
 * generator hoisted out of the update, in the arithmetic type (float, or
 * double for f64 kernels), computed once per call by the record's prep(). */
typedef void (*optk_kernel_fn)(size_t n, void *param, const void *grad, void *const *state,
                               const void *consts);

/* Domain of a hyperparameter: lo <(=) x <(=) hi, bounds may be +-inf.  NaN is
 * never in a domain; an infinite bound that is open also rules out infinity. */
struct optk_hparam {
  const char *name;
  double def, lo, hi;
  unsigned char lo_open, hi_open;
  unsigned char is_bool; /* a switch: only 0 and 1 (a domain "{0, 1}" in the spec) */
};

struct optk_kernel {
  const char *name;
  optk_dtype dtype;
  int nhparams;
  const struct optk_hparam *hparams;
  int nstate;
  const char *const *state_names;
  void (*state_init)(const double *hp, double *init); /* nstate initial values */
  int nconsts;
  void (*prep)(const double *hp, int64_t t, double *consts); /* nconsts values */
  optk_kernel_fn impl[OPTK_ISA_COUNT];                        /* NULL where not built */
  /* Two-phase kernels: an update that uses a per-tensor norm (LAMB's trust
   * ratio; generator/lib/optgen/phases.lua).  impl writes the state and
   * nscratch scratch arrays (after the state in the state list, n elements
   * of the arithmetic type each); the runtime takes the L2 norm of each
   * array norm_arrays names (-1: param, else an index into state + scratch)
   * with its reproducible sum; prep2 turns them into impl2's constants; impl2
   * writes the parameter.  nnorms is 0 for one-phase kernels. */
  int nnorms, nscratch;
  const signed char *norm_arrays;
  void (*prep2)(const double *hp, int64_t t, const double *norms, double *consts);
  int nconsts2;
  optk_kernel_fn impl2[OPTK_ISA_COUNT];
  /* Tuned dispatch (optgen tune): by the step's size class, n <=
   * class_max[0] (L1), n <= class_max[1] (L2) or larger, the ISA this CPU
   * ran the kernel fastest with, as 1 + its optk_isa; 0 where tune chose
   * none (every untuned build): the active ISA then.  Every ISA gives the
   * same bits, so this changes only the time.  optk__tuned_isa applies it. */
  size_t class_max[2];
  unsigned char tuned_isa[3];
};

/* The ISA optk_step and optk_step_group run k with for a step of n
 * elements: the tuned one for n's size class where the record has one, it
 * runs here, and it lies at or below active (the OPTK_ISA cap) on active's
 * fallback chain; else active. */
optk_isa optk__tuned_isa(const optk_kernel *k, size_t n, optk_isa active);

/* Generated registry (generated/registry.c), in spec and dtype order. */
extern const optk_kernel *const optk_registry[];
extern const size_t optk_registry_count;
extern const unsigned long optk_tuned_min_part_ns; /* a tuning profile's split threshold; 0: none */

/* Test hook: forget the resolved ISA so the next call re-reads the CPU and
 * OPTK_ISA.  Not thread-safe; tests only. */
void optk__dispatch_reset(void);

/* Features this CPU and OS support, as a bit set over optk_isa: the probe
 * of this architecture (optk__cpu_detect), cached by optk__cpu_isas. */
unsigned optk__cpu_isas(void);
unsigned optk__cpu_detect(void);

/* Threads (parallel.c, split.c, cpucount.c).  A step is split into
 * cache-line aligned chunks across up to optk_get_num_threads() threads when
 * its estimated one-thread time fills at least two parts of
 * optk__split_min_part_ns() each (split.c says why); a smaller one runs on the
 * caller's thread.  parallel_run returns the floating-point exception flags
 * the workers raised (fpenv.c). */
#define OPTK_MAX_THREADS 256
#define OPTK_CHUNK_GRAIN 64 /* elements: 64 bytes of the narrowest (2-byte) array, times 2 */
#define OPTK_SPIN_NS 100000ul /* an idle worker spins this long before it sleeps */
#define OPTK_SPLIT_MIN_PART_NS 10000ul
#define OPTK_SPLIT_MAX_NS_PER_ELEM 20.0 /* above any kernel's in-cache time (scalar f64: a few ns) */
unsigned optk__parallel_run(const optk_kernel *k, optk_kernel_fn fn, size_t n, void *param, const void *grad,
                            void *const *state, const void *consts);
int optk__split_parts(const optk_kernel *k, optk_kernel_fn fn, size_t n, const void *consts, int want);
void optk__split_atfork_child(void);
int optk__default_threads(int max);
/* CPUs the cgroup CPU quota allows (0: no quota), from a /proc/self/cgroup
 * file and the cgroup mount (v2 at its root, v1 under cpu/ or cpu,cpuacct/);
 * tests pass a fake pair. */
int optk__cgroup_cpus(const char *proc_cgroup, const char *sysfs);
/* Tests and benchmarks: the minimum work per part (0 splits every step of
 * two grains or more into the requested count), the spin before sleeping,
 * the workers started, the jobs worker i (1..) was woken for and the parts
 * it ran (the step runs those a late worker has not started), and a kernel
 * function's measured in-cache ns per element. */
OPTK_TOOL_API void optk__set_split_min_part_ns(unsigned long ns);
unsigned long optk__split_min_part_ns(void);
OPTK_TOOL_API unsigned long optk__split_default_ns(void); /* the tuned threshold, else OPTK_SPLIT_MIN_PART_NS */
void optk__set_spin_ns(unsigned long ns);
int optk__pool_workers(void);
int optk__pool_settled(void); /* every worker has seen its last wake */
OPTK_TOOL_API int optk__pool_settle(void); /* waits up to 2 s for that; returns optk__pool_settled() */
unsigned long optk__pool_wakes(int worker);
unsigned long optk__pool_runs(int worker);
float optk__split_cost(const optk_kernel *k, optk_kernel_fn fn, const void *consts);

/* The floating-point environment of a step: enter and leave, inline, in
 * fpenv.h; a worker resets its own before a part and reports the flags the
 * part raised (fpenv.c). */
void optk__fpenv_worker_begin(void);
unsigned optk__fpenv_worker_flags(void);
/* Runs task(arg, part) for every part in [0, nparts) across the pool, the
 * caller taking part 0, and returns when all are done with the workers'
 * floating-point exception flags.  Parts run one per thread when the pool
 * has threads for them; otherwise some run on the caller (all of them when
 * the pool is busy with another step).  The tasks must not depend on which
 * thread runs them. */
unsigned optk__parallel_tasks(int nparts, void (*task)(void *arg, int part), void *arg);

/* Argument checks shared by optk_step and optk_step_group (api.c), each
 * OPTK_OK or OPTK_EINVAL: the hyperparameters (and k, hp non-NULL) and t;
 * one array set (param, grad and state present when n > 0). */
int optk__check_hparams(const optk_kernel *k, const double *hp, int64_t t);
int optk__check_arrays(const optk_kernel *k, size_t n, const void *param, const void *grad,
                       void *const *state);
/* The per-call constants of k for hp and t in the compute type (cached per
 * thread), or NULL if one is not finite there; call under the IEEE default
 * environment (fpenv.c). */
const void *optk__step_consts(const optk_kernel *k, const double *hp, int64_t t);

/* Reproducible sums of squares (reprosum.c): the same bits whatever the
 * order, the grouping into blocks and the vector width.  A block is at most
 * OPTK_RSUM_BLOCK finite values, amax the largest magnitude among them. */
#define OPTK_RSUM_BLOCK 2048
#define OPTK_RSUM_NBINS 112
typedef struct {
  int top; /* highest bin a block reached, -1 while empty */
  uint64_t lo[OPTK_RSUM_NBINS];
  int64_t hi[OPTK_RSUM_NBINS];
} optk_rsum;
void optk__rsum_init(optk_rsum *a);
/* isa: the vector width the deposit may use (the bits are the same);
 * next, next_bytes: memory the caller reads next, prefetched meanwhile
 * (NULL, 0: none). */
void optk__rsum_block(optk_rsum *a, const double *x, size_t n, double amax, optk_isa isa, const void *next,
                      size_t next_bytes);
void optk__rsum_block_f32(optk_rsum *a, const float *x, size_t n, double amax, optk_isa isa, const void *next,
                          size_t next_bytes);
void optk__rsum_merge(optk_rsum *a, const optk_rsum *b); /* a += b */
double optk__rsum_sqrt(const optk_rsum *a);              /* sqrt of the sum */

/* The group step's gradient loops (gradscale.c), vectorized for isa, the
 * same bits on every ISA.  scan: out = g * s, returns max |out| and sets
 * *bad if one is not finite; mul: out = (g * s) * c.  The f32 ones read f32
 * g, or bf16 g16 when g is NULL. */
float optk__gscan_f32(const float *g, const uint16_t *g16, size_t n, float s, float *out, int *bad,
                      optk_isa isa);
void optk__gmul_f32(const float *g, const uint16_t *g16, size_t n, float s, float c, float *out, optk_isa isa);
double optk__gscan_f64(const double *g, size_t n, double s, double *out, int *bad, optk_isa isa);
void optk__gmul_f64(const double *g, size_t n, double s, double c, double *out, optk_isa isa);

/* Two-phase kernels (two_phase.c): one tensor's step in two passes with
 * its per-tensor norms between them.  Modes: DIRECT, the kernel on the
 * tensor's arrays (optk_step); GBUF, the kernel with the gradient formed by
 * gload a block at a time (f32/f64 in a group); VIA32, a 16-bit tensor
 * stepped by the f32 kernel on f32 copies of p, rounded back by put16;
 * MASTER, the f32 kernel on master, put16 rounding it to p (rne set). */
enum { OPTK_TP_DIRECT, OPTK_TP_GBUF, OPTK_TP_VIA32, OPTK_TP_MASTER };
struct optk_tp {
  const optk_kernel *k;
  optk_isa isa;
  optk_kernel_fn fn1, fn2;       /* k's phases on the ISA */
  optk_kernel_fn fn1_32, fn2_32; /* the f32 twin's (VIA32, MASTER) */
  void (*gload)(const void *ctx, const void *grad, size_t i, size_t n, void *out);
  void (*put16)(const void *ctx, const float *v, uint16_t *p, size_t n, uint64_t index, int rne);
  const void *ctx;
  /* workspace (optk__tp_alloc): nscratch arrays of scratch_n elements in
   * the compute type, and a sum and NaN/Inf flags per part and norm */
  void *scratch;
  size_t scratch_n;
  optk_rsum *acc;
  unsigned char *bad;
  int maxparts;
};
/* Allocates the workspace for tensors of up to n elements split in up to
 * maxparts parts: OPTK_OK, or OPTK_ENOMEM with nothing to free. */
int optk__tp_alloc(struct optk_tp *r, size_t n, int maxparts);
void optk__tp_free(struct optk_tp *r);
/* The parts a step of n elements splits into, at most most. */
int optk__tp_parts(const optk_kernel *k, optk_kernel_fn fn1, size_t n, const void *c1, int most);
/* One tensor (n <= scratch_n); base: its first element's index in the
 * group (stochastic rounding's counter); c1: phase 1's constants (optk_step's).
 * Returns the workers' floating-point exception flags. */
unsigned optk__tp_step(const struct optk_tp *r, int mode, size_t n, void *param, const void *grad,
                       void *const *state, float *master, uint64_t base, const double *hp, int64_t t,
                       const void *c1);
/* Tests: the next count workspace allocations fail (OPTK_ENOMEM). */
void optk__tp_fail_allocs(int count);

/* optk_step_group on a given ISA (tests); OPTK_ENOTSUP where not here. */
OPTK_TOOL_API int optk__step_group_isa(const optk_kernel *k, optk_isa isa, size_t count, const optk_tensor *tensors,
                         const double *hp, int64_t t, const optk_group_opts *opts,
                         optk_group_result *result);

/* Per-call arithmetic without libm (ieee_math.c): the same bits with every C
 * library.  pow with an integral exponent is binary powering. */
double optk__pow(double x, double y);
/* x^t for the step t: optk__pow(x, (double)t)'s bits without its tests of
 * y (the per-call code's beta^t). */
double optk__pow_t(double x, int64_t t);
double optk__exp(double x);
double optk__log(double x);
float optk__powf(float x, float y); /* the kernels' per-element pow, via optk__pow */
double optk__pow_uncached(double x, double y); /* tests: x^y, y a positive integer, no cache */
unsigned long optk__pow_steps(void); /* tests: powers this thread's cache gave by one multiplication */
void optk__pow_use_fma(int on);        /* tests: the cache's step with FMA (1) or Dekker's product (0), where both exist */

/* a * b and a + b, IEEE's bits, for per-call values that may be subnormal
 * (prod() of factors above 1/2 ends at 2^-1074 and stays there): such an
 * operand or product never reaches the FPU, where it costs a microcode
 * assist of tens of nanoseconds on x86.  The common case is one test. */
double optk__mul_slow(double a, double b);
double optk__add_slow(double a, double b);
#if defined(__GNUC__)
#define OPTK_MAYBE_UNUSED __attribute__((unused)) /* a vendored file without the optimizers that use them */
#else
#define OPTK_MAYBE_UNUSED
#endif
OPTK_MAYBE_UNUSED static inline uint64_t optk__bits(double x)
{
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  return b;
}
OPTK_MAYBE_UNUSED static inline int optk__subnormal(uint64_t b) { return (b << 1) - 1 < ((uint64_t)1 << 53) - 1; }
/* Whether a and b are normal (or infinite, or NaN) and |a b| >= 2^-1021. */
OPTK_MAYBE_UNUSED static inline int optk__product_normal(double a, double b)
{
  const uint64_t ea = optk__bits(a) >> 52 & 0x7ff, eb = optk__bits(b) >> 52 & 0x7ff;
  return ea != 0 && eb != 0 && ea + eb >= 1025;
}
/* Whether a subnormal s = m 2^-1074 times f is s itself: for f in [1/2, 2],
 * f - 1 is exact, and m |f - 1| < 1/2 puts m f nearest to m (the rounded
 * product is below 1/2 exactly where the exact one is: 1/2 is a double).
 * The case of a product over the steps stuck at the bottom (Nadam's, of
 * factors near 0.9, at 5 2^-1074 from t = 7000 on): its next value and its
 * products with factors near 1 take no arithmetic and no call. */
OPTK_MAYBE_UNUSED static inline int optk__keeps(double s, double f)
{
  const double m = (double)(int64_t)(optk__bits(s) & 0x000fffffffffffffu);
  return f >= 0.5 && f <= 2 && m * (f >= 1 ? f - 1.0 : 1.0 - f) < 0.5;
}
OPTK_MAYBE_UNUSED static inline double optk__mul_exact(double a, double b)
{
  if (optk__product_normal(a, b))
    return a * b;
  if (optk__subnormal(optk__bits(a)) && optk__keeps(a, b))
    return a;
  if (optk__subnormal(optk__bits(b)) && optk__keeps(b, a))
    return b;
  return optk__mul_slow(a, b);
}
/* A subnormal against a number of at least 2^-968 is below a quarter of
 * its ulp: the sum is that number (the common case, 1 - u_product). */
OPTK_MAYBE_UNUSED static inline double optk__add_exact(double a, double b)
{
  const int sa = optk__subnormal(optk__bits(a)), sb = optk__subnormal(optk__bits(b));
  if (!sa && !sb)
    return a + b;
  if (sb && a - a == 0 && (a >= 0x1p-968 || a <= -0x1p-968))
    return a;
  if (sa && b - b == 0 && (b >= 0x1p-968 || b <= -0x1p-968))
    return b;
  return optk__add_slow(a, b);
}
OPTK_MAYBE_UNUSED static inline double optk__sub_exact(double a, double b) { return optk__add_exact(a, -b); }

#endif
