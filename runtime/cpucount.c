/* How many threads a large step uses by default: the CPUs this process may
 * run on (its affinity mask, so `taskset -c 0` gives 1), capped by the CPU
 * quota of its cgroup (a container limited to 2 CPUs on a 64-core host gets
 * 2: more threads than the quota only wait for their turn), or
 * OPTK_NUM_THREADS when it is set to a positive count. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT_S */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "optk_internal.h"

static int optk_affinity_cpus(void)
{
#ifdef CPU_COUNT_S
  /* Up to 8192 CPUs: a larger mask than glibc's fixed cpu_set_t. */
  static unsigned long mask[8192 / (8 * sizeof(unsigned long))];
  if (sched_getaffinity(0, sizeof mask, (cpu_set_t *)(void *)mask) == 0) {
    int c = CPU_COUNT_S(sizeof mask, (cpu_set_t *)(void *)mask);
    if (c > 0)
      return c;
  }
#endif
  long c = sysconf(_SC_NPROCESSORS_ONLN);
  return c < 1 ? 1 : c > INT_MAX ? INT_MAX : (int)c;
}

/* Reads a file's first line into buf; 0 on success. */
static int optk_read_line(const char *path, char *buf, size_t size)
{
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  char *ok = fgets(buf, (int)size, f);
  fclose(f);
  return ok == NULL ? -1 : 0;
}

/* CPUs a quota of `quota` per `period` microseconds allows, rounded up;
 * 0 when there is no quota. */
static int optk_quota_cpus(long long quota, long long period)
{
  if (quota <= 0 || period <= 0)
    return 0;
  long long c = (quota + period - 1) / period;
  return c > INT_MAX ? INT_MAX : (int)c;
}

/* The quota in one cgroup directory: v2's cpu.max ("max 100000" or "200000
 * 100000"), else v1's cpu.cfs_quota_us (-1 for none) and cpu.cfs_period_us. */
static int optk_dir_quota(const char *dir)
{
  char path[4096 + 32], line[128]; /* dir holds at most 4095 characters */
  snprintf(path, sizeof path, "%s/cpu.max", dir);
  if (optk_read_line(path, line, sizeof line) == 0) {
    long long q, p;
    return sscanf(line, "%lld %lld", &q, &p) == 2 ? optk_quota_cpus(q, p) : 0;
  }
  snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
  if (optk_read_line(path, line, sizeof line) != 0)
    return 0;
  long long q = strtoll(line, NULL, 10);
  snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
  if (optk_read_line(path, line, sizeof line) != 0)
    return 0;
  return optk_quota_cpus(q, strtoll(line, NULL, 10));
}

/* The tightest quota on the way from the process's cgroup up to the root
 * of the hierarchy mounted at mount (a limit on any ancestor applies). */
static int optk_walk_quota(const char *mount, const char *cgpath)
{
  char dir[4096];
  int best = 0;
  if (snprintf(dir, sizeof dir, "%s%s", mount, cgpath) >= (int)sizeof dir)
    return 0; /* no such path */
  size_t root = strlen(mount);
  for (;;) {
    int q = optk_dir_quota(dir);
    if (q > 0 && (best == 0 || q < best))
      best = q;
    char *slash = strrchr(dir + root, '/');
    if (slash == NULL)
      break;
    *slash = '\0';
  }
  return best;
}

int optk__cgroup_cpus(const char *proc_cgroup, const char *sysfs)
{
  FILE *f = fopen(proc_cgroup, "r");
  if (f == NULL)
    return 0;
  char line[4096];
  int best = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    /* "hierarchy-id:controllers:path"; v2 is "0::path". */
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c2 == NULL || c2[1] != '/')
      continue;
    *c1 = '\0';
    *c2 = '\0';
    const char *ctrl = c1 + 1, *cgpath = c2 + 1;
    char mount[512];
    int q = 0;
    if (strlen(sysfs) > 256)
      break;
    if (strcmp(line, "0") == 0 && *ctrl == '\0') {
      snprintf(mount, sizeof mount, "%s", sysfs);
      q = optk_walk_quota(mount, strcmp(cgpath, "/") == 0 ? "" : cgpath);
    } else {
      /* v1: the cpu controller, mounted alone or with cpuacct. */
      char list[256];
      snprintf(list, sizeof list, ",%s,", ctrl);
      if (strstr(list, ",cpu,") == NULL)
        continue;
      static const char *const names[] = { "cpu", "cpu,cpuacct", "cpuacct,cpu" };
      for (size_t i = 0; i < sizeof names / sizeof names[0] && q == 0; i++) {
        snprintf(mount, sizeof mount, "%s/%s", sysfs, names[i]);
        q = optk_walk_quota(mount, strcmp(cgpath, "/") == 0 ? "" : cgpath);
      }
    }
    if (q > 0 && (best == 0 || q < best))
      best = q;
  }
  fclose(f);
  return best;
}

int optk__default_threads(int max)
{
  int n = optk_affinity_cpus();
  int q = optk__cgroup_cpus("/proc/self/cgroup", "/sys/fs/cgroup");
  if (q > 0 && q < n)
    n = q;
  const char *env = getenv("OPTK_NUM_THREADS");
  if (env != NULL && *env != '\0') {
    char *end;
    errno = 0;
    long v = strtol(env, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0)
      fprintf(stderr, "optkern: OPTK_NUM_THREADS=%s is not a thread count; ignored\n", env);
    else if (v > 0)
      n = v > max ? max : (int)v;
  }
  return n < 1 ? 1 : n > max ? max : n;
}
