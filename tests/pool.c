/* The thread pool's life cycle, one check per defect it once had:
 *  - the default count follows the affinity mask (`taskset -c 0
 *    optk_pool_test --expect-threads 1`) and the cgroup CPU quota (fake
 *    v1 and v2 trees);
 *  - a failed pthread_create is tried once, not on every large step, and
 *    again after optk_set_num_threads;
 *  - a child forked after a large step finishes its own large steps;
 *  - a caller cancelled while stepping leaves the pool usable;
 *  - dlclose of liboptkern.so (beside this program) leaves no worker
 *    running.
 * Linked with -Wl,--wrap=pthread_create so that creation can be made to
 * fail.  Every hang is turned into a failure by alarm().  Prints "N passed,
 * M failed" last; exits non-zero on a failure.  No Check dependency. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "optk_internal.h"

static int passed, failed;

static void expect(int ok, const char *what)
{
  if (ok) {
    passed++;
  } else {
    failed++;
    fprintf(stderr, "FAIL: %s\n", what);
  }
}

/* pthread_create, failing on request: the library's calls come here. */
int __real_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
static int fail_creates, create_calls;
int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
  __atomic_fetch_add(&create_calls, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&fail_creates, __ATOMIC_SEQ_CST))
    return EAGAIN;
  return __real_pthread_create(th, attr, fn, arg);
}

/* An Adam f32 step over N elements; ref holds the one-thread result. */
#define N 40000
static float p[N], g[N], m[N], v[N];
static float rp[N], rm[N], rv[N];
static const optk_kernel *adam;
static double hp[4];

static void reset(void)
{
  for (int i = 0; i < N; i++) {
    p[i] = (float)(i % 97) * 0.01f - 0.5f;
    g[i] = (float)(i % 89) * 0.002f - 0.09f;
    m[i] = (float)(i % 13) * 0.001f;
    v[i] = (float)(i % 7) * 0.0001f;
  }
}

static int step(void)
{
  void *st[2] = { m, v };
  return optk_step(adam, N, p, g, st, hp, 5);
}

static int same_as_ref(void)
{
  return memcmp(p, rp, sizeof p) == 0 && memcmp(m, rm, sizeof m) == 0 && memcmp(v, rv, sizeof v) == 0;
}

/* Steps until worker 1 has been woken (a sleeping worker may wake after the
 * step has run its part itself), at most 5 s; 1 if it was. */
static int pool_used(void)
{
  unsigned long before = optk__pool_wakes(1);
  for (int i = 0; i < 5000; i++) {
    reset();
    if (step() != OPTK_OK || !same_as_ref())
      return 0;
    if (optk__pool_wakes(1) != before)
      return 1;
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
  }
  return 0;
}

static void test_create_failure(void)
{
  /* First in the program: the pool has no worker yet. */
  __atomic_store_n(&fail_creates, 1, __ATOMIC_SEQ_CST);
  int calls0 = __atomic_load_n(&create_calls, __ATOMIC_SEQ_CST);
  optk_set_num_threads(3);
  int ok = 1;
  for (int i = 0; i < 20; i++) {
    reset();
    ok &= step() == OPTK_OK && same_as_ref();
  }
  expect(ok, "steps run on the caller when pthread_create fails");
  expect(__atomic_load_n(&create_calls, __ATOMIC_SEQ_CST) - calls0 == 1,
         "a failed pthread_create is tried once, not on every large step");
  expect(optk__pool_workers() == 0, "no worker after a failed pthread_create");
  __atomic_store_n(&fail_creates, 0, __ATOMIC_SEQ_CST);
  optk_set_num_threads(3); /* a new request tries again */
  reset();
  ok = step() == OPTK_OK && same_as_ref();
  expect(ok && optk__pool_workers() == 2, "optk_set_num_threads lets the pool grow again");
}

static void test_fork(void)
{
  optk_set_num_threads(2);
  reset();
  expect(step() == OPTK_OK && same_as_ref() && optk__pool_workers() >= 1, "large step before fork");
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(20); /* a hang kills the child: the parent sees a signal */
    int ok = pool_used();
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  expect(pid > 0 && waitpid(pid, &status, 0) == pid, "fork and wait");
  expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
         "a child forked after a large step runs its own large steps on its own workers");
  if (WIFSIGNALED(status))
    fprintf(stderr, "  (the child was killed by signal %d: it hung)\n", WTERMSIG(status));
  expect(pool_used(), "the parent's pool still works after fork");
}

static void *cancel_target(void *arg)
{
  (void)arg;
  for (;;) {
    reset();
    step();
    pthread_testcancel();
  }
  return NULL;
}

static void test_cancel(void)
{
  optk_set_num_threads(2);
  for (int round = 0; round < 20; round++) {
    pthread_t th;
    pthread_create(&th, NULL, cancel_target, NULL);
    struct timespec ts = { 0, 2000000 + 500000 * round };
    nanosleep(&ts, NULL);
    pthread_cancel(th);
    pthread_join(th, NULL);
  }
  /* The cancelled thread's arrays are the shared ones: recompute the reference state. */
  expect(pool_used(), "a caller cancelled while stepping leaves the pool usable");
}

static int count_tasks(void)
{
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL)
    n += e->d_name[0] != '.';
  if (d != NULL)
    closedir(d);
  return n;
}

static void test_dlclose(const char *so)
{
  int tasks0 = count_tasks();
  void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  expect(h != NULL, "dlopen liboptkern.so");
  if (h == NULL) {
    fprintf(stderr, "  %s: %s\n", so, dlerror());
    return;
  }
  const optk_kernel *(*find)(const char *, optk_dtype);
  int (*stepf)(const optk_kernel *, size_t, void *, const void *, void *const *, const double *, int64_t);
  int (*set)(int);
  *(void **)&find = dlsym(h, "optk_find");
  *(void **)&stepf = dlsym(h, "optk_step");
  *(void **)&set = dlsym(h, "optk_set_num_threads");
  expect(find && stepf && set, "dlsym");
  if (find && stepf && set) {
    set(3);
    const optk_kernel *k = find("adam", OPTK_F32);
    static float big[4][1 << 20]; /* 4 MiB per array: split by the library's default model */
    void *st[2] = { big[2], big[3] };
    for (int i = 0; i < 10; i++)
      stepf(k, 1 << 20, big[0], big[1], st, hp, 1);
    expect(count_tasks() > tasks0, "the loaded library started workers");
  }
  dlclose(h);
  expect(dlopen(so, RTLD_NOW | RTLD_NOLOAD) == NULL, "liboptkern.so unloaded by dlclose");
  expect(count_tasks() == tasks0, "dlclose leaves no worker running");
}

static void test_cgroup(void)
{
  char root[] = "/tmp/optk_cgroup_XXXXXX";
  if (mkdtemp(root) == NULL) {
    expect(0, "mkdtemp");
    return;
  }
  char path[512];
  struct {
    const char *file, *text;
  } files[] = {
    { "v2/proc", "0::/a/b\n" },
    { "v2/sys/a/b/cpu.max", "max 100000\n" },
    { "v2/sys/a/cpu.max", "150000 100000\n" },
    { "v2b/proc", "0::/a/b\n" },
    { "v2b/sys/a/b/cpu.max", "50000 100000\n" },
    { "v2b/sys/a/cpu.max", "400000 100000\n" },
    { "v2ns/proc", "0::/\n" },
    { "v2ns/sys/cpu.max", "200000 100000\n" },
    { "v2none/proc", "0::/x\n" },
    { "v2none/sys/x/cpu.max", "max 100000\n" },
    { "v1/proc", "5:memory:/c\n4:cpu,cpuacct:/c\n" },
    { "v1/sys/cpu,cpuacct/c/cpu.cfs_quota_us", "300000\n" },
    { "v1/sys/cpu,cpuacct/c/cpu.cfs_period_us", "100000\n" },
    { "v1none/proc", "4:cpu,cpuacct:/c\n" },
    { "v1none/sys/cpu,cpuacct/c/cpu.cfs_quota_us", "-1\n" },
    { "v1none/sys/cpu,cpuacct/c/cpu.cfs_period_us", "100000\n" },
    /* A container without a cgroup namespace: its path is not under the mount. */
    { "v1mnt/proc", "4:cpu:/docker/abc\n" },
    { "v1mnt/sys/cpu/cpu.cfs_quota_us", "200000\n" },
    { "v1mnt/sys/cpu/cpu.cfs_period_us", "100000\n" },
  };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", root, files[i].file);
    for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
      *s = '\0';
      mkdir(path, 0700);
      *s = '/';
    }
    FILE *f = fopen(path, "w");
    if (f != NULL) {
      fputs(files[i].text, f);
      fclose(f);
    }
  }
  static const struct {
    const char *dir;
    int cpus;
  } cases[] = { { "v2", 2 }, { "v2b", 1 }, { "v2ns", 2 }, { "v2none", 0 }, { "v1", 3 }, { "v1none", 0 },
                { "v1mnt", 2 }, { "missing", 0 } };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char proc[512], sys[512], what[128];
    snprintf(proc, sizeof proc, "%s/%s/proc", root, cases[i].dir);
    snprintf(sys, sizeof sys, "%s/%s/sys", root, cases[i].dir);
    int got = optk__cgroup_cpus(proc, sys);
    snprintf(what, sizeof what, "cgroup quota %s: %d CPUs (got %d)", cases[i].dir, cases[i].cpus, got);
    expect(got == cases[i].cpus, what);
  }
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  expect(system(cmd) == 0, "remove the fake cgroup trees");
}

int main(int argc, char **argv)
{
  alarm(300); /* a hang anywhere is a failure */
  /* Before anything else: the default count is resolved once. */
  cpu_set_t set;
  CPU_ZERO(&set);
  int affinity = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
  int def = optk_get_num_threads();
  char what[128];
  if (argc == 3 && strcmp(argv[1], "--expect-threads") == 0) {
    snprintf(what, sizeof what, "default thread count %d (expected %s)", def, argv[2]);
    expect(def == atoi(argv[2]), what);
  } else if (getenv("OPTK_NUM_THREADS") == NULL) {
    snprintf(what, sizeof what, "default thread count %d within the affinity mask (%d CPUs)", def, affinity);
    expect(def >= 1 && (affinity == 0 || def <= affinity), what);
  }

  adam = optk_find("adam", OPTK_F32);
  optk_default_hparams(adam, hp);
  optk__set_split_min_part_ns(0); /* split every step: the pool is always used */
  optk_set_num_threads(1);
  reset();
  step();
  memcpy(rp, p, sizeof p);
  memcpy(rm, m, sizeof m);
  memcpy(rv, v, sizeof v);

  fprintf(stderr, "pool: %s\n", "create_failure");
  test_create_failure();
  fprintf(stderr, "pool: %s\n", "fork");
  test_fork();
  fprintf(stderr, "pool: %s\n", "cancel");
  test_cancel();
  fprintf(stderr, "pool: %s\n", "cgroup");
  test_cgroup();
  {
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
      exe[len] = '\0';
      char so[4200];
      snprintf(so, sizeof so, "%s/liboptkern.so", dirname(exe));
      fprintf(stderr, "pool: dlclose\n");
      test_dlclose(so);
    } else {
      expect(0, "readlink /proc/self/exe");
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
