/* optk_bench: options (the --filter tokens), timing (measure, one CSV row) and the
 * arrays every section steps. */
#define _GNU_SOURCE
#include "bench.h"

/* ---- options ------------------------------------------------------------ */

int quick;
char filter_tokens[64][64];
int nfilter;
FILE *csv;
int ncores;


int is_dtype(const char *s)
{
  for (int i = 0; i < 4; i++)
    if (strcmp(s, tu_dtype_name(i)) == 0)
      return 1;
  return 0;
}

int is_isa(const char *s)
{
  for (int i = 0; i < OPTK_ISA_COUNT; i++)
    if (strcmp(s, optk_isa_name((optk_isa)i)) == 0)
      return 1;
  return 0;
}

/* kind: 0 optimizer, 1 dtype, 2 isa.  Passes if no token of that kind. */
int kind_passes(int kind, const char *value)
{
  int any = 0;
  for (int i = 0; i < nfilter; i++) {
    const char *t = filter_tokens[i];
    int k = is_dtype(t) ? 1 : is_isa(t) ? 2 : 0;
    if (k != kind)
      continue;
    any = 1;
    if (strcmp(t, value) == 0)
      return 1;
  }
  return !any;
}

int kernel_passes(const optk_kernel *k)
{
  return kind_passes(0, optk_name(k)) && kind_passes(1, tu_dtype_name(optk_dtype_of(k)));
}

/* ---- timing ------------------------------------------------------------- */

double now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Times body: calibrates the repetitions per sample, warms up, then takes
 * the samples.  Returns ns per call divided by per. */
struct stat3 measure(body_fn body, void *ctx, double per)
{
  const double target = quick ? 2e6 : 5e6, warm = quick ? 8e6 : 30e6;
  const int nsamples = quick ? 5 : 11;
  double t0 = now_ns();
  body(ctx, 1);
  double one = now_ns() - t0;
  long reps = one >= target ? 1 : (long)(target / (one > 1 ? one : 1)) + 1;
  double start = now_ns();
  do
    body(ctx, reps);
  while (now_ns() - start < warm);
  double s[32];
  for (int i = 0; i < nsamples; i++) {
    t0 = now_ns();
    body(ctx, reps);
    s[i] = (now_ns() - t0) / (double)reps / per;
  }
  qsort(s, (size_t)nsamples, sizeof s[0], cmp_double);
  struct stat3 r = { s[nsamples / 2], s[0], s[nsamples - 1] };
  return r;
}

void row(const char *section, const char *opt, const char *dt, const char *isa, const char *variant,
                int threads, size_t n, double bytes, struct stat3 st)
{
  fprintf(csv, "%s,%s,%s,%s,%s,%d,%zu,%g,%.6g,%.6g,%.6g\n", section, opt, dt, isa, variant, threads, n, bytes,
          st.med, st.lo, st.hi);
  fflush(csv);
}

/* ---- arrays --------------------------------------------------------------- */

size_t nmax;
unsigned char *arr_p, *arr_g, *arr_s[OPTK_MAX_STATE];

void *xalloc(size_t bytes)
{
  void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (p == NULL) {
    fprintf(stderr, "optk_bench: out of memory (%zu bytes)\n", bytes);
    exit(1);
  }
  memset(p, 0, bytes);
  return p;
}

static uint64_t rng = 0x2545f4914f6cdd1du;
static float frand(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

void fill(void *a, optk_dtype d, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    float f = frand();
    uint32_t u;
    memcpy(&u, &f, 4);
    switch (d) {
    case OPTK_F32: ((float *)a)[i] = f; break;
    case OPTK_F64: ((double *)a)[i] = f; break;
    case OPTK_BF16: ((uint16_t *)a)[i] = (uint16_t)(u >> 16); break;
    case OPTK_F16: ((uint16_t *)a)[i] = (uint16_t)(0x3000 | (u & 0x83ff)); break;
    }
  }
}

/* p and g read, p written, each state read and written. */
double bytes_per_elem(optk_dtype d, int nstate) { return 3.0 * (double)tu_esize(d) + 2.0 * nstate * (double)tu_esize(tu_state_type(d)); }

size_t sizes[16];
int nsizes;
