/* Container statistics in Docker's terms, from cgroup v1 or v2 files and the container's
 * network namespace, as moby's daemon/stats_unix.go builds them from containerd's cgroups
 * metrics.
 *
 * cgroup v1: cpuacct.usage (total), cpuacct.usage_percpu, cpuacct.stat (user/system, clock
 * ticks turned into ns), cpu.stat (throttling), memory.usage_in_bytes / max_usage_in_bytes /
 * failcnt / limit_in_bytes, memory.stat as Docker's 32 keys (cache, rss ... total_unevictable),
 * pids.current / pids.max, blkio.* *_recursive (or the throttle.* files when those are
 * empty, as containerd) as Docker's blkio_stats arrays.
 * cgroup v2: cpu.stat (usage/user/system usec, nr_periods, nr_throttled, throttled_usec),
 * memory.current, memory.max, memory.stat as Docker's 31 keys, memory.events oom as failcnt,
 * pids, io.stat rbytes/wbytes as io_service_bytes_recursive read/write pairs.
 * Both: a memory limit above the host's memory is the host's memory; system_cpu_usage and
 * online_cpus from /proc/stat as Docker (the first seven fields of "cpu", at 100 ticks a
 * second, in ns; the number of cpuN lines). Networks: /proc/net/dev read by a short-lived
 * thread that joined the container's network namespace, every interface but lo. */
#include "runtime/linux/lx_cgroup.h"
#include "runtime/linux/lx_files.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define SMALL_FILE_MAX (1u << 20)

void rt_stats_free(rt_stats *s) {
  if (!s) return;
  free(s->percpu_ns);
  json_decref(s->mem_stats);
  json_decref(s->blkio);
  json_decref(s->networks);
  s->percpu_ns = NULL;
  s->mem_stats = s->blkio = s->networks = NULL;
  s->npercpu = 0;
}

/* ---- hierarchies --------------------------------------------------------------------- */

void lx_cgroup_roots_free(lx_cgroup_roots *r) {
  free(r->unified);
  free(r->memory);
  free(r->cpu);
  free(r->cpuacct);
  free(r->pids);
  free(r->blkio);
  free(r->devices);
  free(r->freezer);
  memset(r, 0, sizeof *r);
}

/* mountinfo escapes spaces and such as \040 */
static char *unescape_mountinfo(const char *s) {
  char *out = xmalloc(strlen(s) + 1), *o = out;
  while (*s) {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
        s[3] <= '7') {
      *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
      s += 4;
    } else {
      *o++ = *s++;
    }
  }
  *o = '\0';
  return out;
}

static bool has_option(const char *opts, const char *name) {
  size_t n = strlen(name);
  for (const char *p = opts; p && *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0) return true;
    p = comma ? comma + 1 : NULL;
  }
  return false;
}

static void set_root(char **slot, const char *mountpoint) {
  if (!*slot) *slot = xstrdup(mountpoint);
}

int lx_cgroup_roots_read(lx_cgroup_roots *r, arca_err *err) {
  memset(r, 0, sizeof *r);
  autofree char *text = NULL;
  if (read_file("/proc/self/mountinfo", 4u << 20, &text, NULL, err) < 0) return -1;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    /* id parent maj:min root mountpoint options [optional...] - fstype source superoptions */
    char *sep = strstr(line, " - ");
    if (!sep) continue;
    *sep = '\0';
    char *right = sep + 3;
    char *fields[5] = {0};
    char *save_f = NULL;
    size_t n = 0;
    for (char *f = strtok_r(line, " ", &save_f); f && n < 5; f = strtok_r(NULL, " ", &save_f))
      fields[n++] = f;
    char *save_r = NULL;
    char *fstype = strtok_r(right, " ", &save_r);
    char *source = fstype ? strtok_r(NULL, " ", &save_r) : NULL;
    char *super = source ? strtok_r(NULL, " ", &save_r) : NULL;
    if (n < 5 || !fstype) continue;
    autofree char *mountpoint = unescape_mountinfo(fields[4]);
    if (strcmp(fstype, "cgroup2") == 0) {
      set_root(&r->unified, mountpoint);
    } else if (strcmp(fstype, "cgroup") == 0 && super) {
      if (has_option(super, "memory")) set_root(&r->memory, mountpoint);
      if (has_option(super, "cpu")) set_root(&r->cpu, mountpoint);
      if (has_option(super, "cpuacct")) set_root(&r->cpuacct, mountpoint);
      if (has_option(super, "pids")) set_root(&r->pids, mountpoint);
      if (has_option(super, "blkio")) set_root(&r->blkio, mountpoint);
      if (has_option(super, "devices")) set_root(&r->devices, mountpoint);
      if (has_option(super, "freezer")) set_root(&r->freezer, mountpoint);
    }
  }
  r->v2 =
      !r->memory && !r->cpu && !r->cpuacct && !r->pids && !r->blkio && !r->devices && !r->freezer;
  if (r->v2 && !r->unified) return err_set(err, 500, "no cgroup hierarchy is mounted");
  return 0;
}

/* ---- small files -------------------------------------------------------------------- */

/* Contents of root/cgroup/file, or NULL when absent. */
static char *cg_read(const char *root, const char *cgroup, const char *file) {
  if (!root) return NULL;
  autofree char *path = xasprintf("%s%s/%s", root, cgroup, file);
  char *text = NULL;
  if (read_file(path, SMALL_FILE_MAX, &text, NULL, NULL) < 0) return NULL;
  return text;
}

/* A number file; "max" (no limit) gives max_value. */
static uint64_t cg_u64(const char *root, const char *cgroup, const char *file, uint64_t max_value) {
  autofree char *text = cg_read(root, cgroup, file);
  if (!text) return 0;
  if (str_has_prefix(text, "max")) return max_value;
  return strtoull(text, NULL, 10);
}

/* Value of `key` in a "key value" file (memory.stat, cpu.stat ...). */
static uint64_t kv_get(const char *text, const char *key) {
  size_t n = strlen(key);
  for (const char *line = text; line && *line;) {
    if (strncmp(line, key, n) == 0 && line[n] == ' ') return strtoull(line + n + 1, NULL, 10);
    line = strchr(line, '\n');
    if (line) line++;
  }
  return 0;
}

static bool cg_exists(const char *root, const char *cgroup) {
  if (!root) return false;
  autofree char *path = xasprintf("%s%s", root, cgroup);
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- host facts --------------------------------------------------------------------- */

static uint64_t host_memory(void) {
  autofree char *text = NULL;
  if (read_file("/proc/meminfo", SMALL_FILE_MAX, &text, NULL, NULL) < 0) return 0;
  const char *p = strstr(text, "MemTotal:");
  return p ? strtoull(p + 9, NULL, 10) * 1024 : 0;
}

/* Docker's getSystemCPUUsage: total ticks of the first seven "cpu" fields in ns (at a fixed
 * 100 ticks a second) and the number of cpuN lines. */
static void system_cpu(uint64_t *ns, uint32_t *cpus) {
  *ns = 0;
  *cpus = 0;
  autofree char *text = NULL;
  if (read_file("/proc/stat", 4u << 20, &text, NULL, NULL) < 0) return;
  for (char *line = text; line && str_has_prefix(line, "cpu");) {
    if (line[3] == ' ') {
      uint64_t total = 0;
      char *p = line + 3;
      for (int i = 0; i < 7; i++) total += strtoull(p, &p, 10);
      *ns = total * 1000000000ull / 100;
    } else if (line[3] >= '0' && line[3] <= '9') {
      (*cpus)++;
    }
    line = strchr(line, '\n');
    if (line) line++;
  }
}

/* ---- v1 ------------------------------------------------------------------------------- */

static const char *const v1_memory_keys[] = {
    "cache",
    "rss",
    "rss_huge",
    "mapped_file",
    "dirty",
    "writeback",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "pgmajfault",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "hierarchical_memory_limit",
    "hierarchical_memsw_limit",
    "total_cache",
    "total_rss",
    "total_rss_huge",
    "total_mapped_file",
    "total_dirty",
    "total_writeback",
    "total_pgpgin",
    "total_pgpgout",
    "total_pgfault",
    "total_pgmajfault",
    "total_inactive_anon",
    "total_active_anon",
    "total_inactive_file",
    "total_active_file",
    "total_unevictable",
};

static const char *const v2_memory_keys[] = {
    "anon",
    "file",
    "kernel_stack",
    "slab",
    "sock",
    "shmem",
    "file_mapped",
    "file_dirty",
    "file_writeback",
    "anon_thp",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "slab_reclaimable",
    "slab_unreclaimable",
    "pgfault",
    "pgmajfault",
    "workingset_refault",
    "workingset_activate",
    "workingset_nodereclaim",
    "pgrefill",
    "pgscan",
    "pgsteal",
    "pgactivate",
    "pgdeactivate",
    "pglazyfree",
    "pglazyfreed",
    "thp_fault_alloc",
    "thp_collapse_alloc",
};

static json_t *memory_stats_object(const char *text, const char *const *keys, size_t n) {
  json_t *o = json_object();
  for (size_t i = 0; i < n; i++)
    json_object_set_new(o, keys[i], json_integer((json_int_t)(text ? kv_get(text, keys[i]) : 0)));
  return o;
}

/* containerd's blkio line parser: "8:0 Read 4096" or "8:0 4096"; "Total n" skipped. */
static json_t *blkio_entries(const char *text) {
  json_t *arr = json_array();
  if (!text) return arr;
  for (const char *line = text; *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    autofree char *copy = xstrndup(line, len);
    unsigned long long major, minor, value;
    char op[32];
    if (sscanf(copy, "%llu:%llu %31s %llu", &major, &minor, op, &value) == 4) {
      json_array_append_new(arr,
                            json_pack("{s:I, s:I, s:s, s:I}", "major", (json_int_t)major, "minor",
                                      (json_int_t)minor, "op", op, "value", (json_int_t)value));
    } else if (sscanf(copy, "%llu:%llu %llu", &major, &minor, &value) == 3) {
      json_array_append_new(arr,
                            json_pack("{s:I, s:I, s:s, s:I}", "major", (json_int_t)major, "minor",
                                      (json_int_t)minor, "op", "", "value", (json_int_t)value));
    }
    line = end ? end + 1 : line + len;
  }
  return arr;
}

static json_t *blkio_v1(const char *root, const char *cg) {
  static const struct {
    const char *json, *file;
  } cfq[] = {
      {"io_service_bytes_recursive", "blkio.io_service_bytes_recursive"},
      {"io_serviced_recursive", "blkio.io_serviced_recursive"},
      {"io_queue_recursive", "blkio.io_queued_recursive"},
      {"io_service_time_recursive", "blkio.io_service_time_recursive"},
      {"io_wait_time_recursive", "blkio.io_wait_time_recursive"},
      {"io_merged_recursive", "blkio.io_merged_recursive"},
      {"io_time_recursive", "blkio.time_recursive"},
      {"sectors_recursive", "blkio.sectors_recursive"},
  };
  json_t *o = json_object();
  size_t total = 0;
  autofree char *probe = cg_read(root, cg, "blkio.io_serviced_recursive");
  for (size_t i = 0; i < ARRAY_LEN(cfq); i++) {
    autofree char *text = probe ? cg_read(root, cg, cfq[i].file) : NULL;
    json_t *arr = blkio_entries(text);
    total += json_array_size(arr);
    json_object_set_new(o, cfq[i].json, arr);
  }
  if (total == 0) {
    /* No CFQ figures: the throttle files, as containerd falls back to. */
    autofree char *serviced = cg_read(root, cg, "blkio.throttle.io_serviced");
    autofree char *bytes = cg_read(root, cg, "blkio.throttle.io_service_bytes");
    json_object_set_new(o, "io_serviced_recursive", blkio_entries(serviced));
    json_object_set_new(o, "io_service_bytes_recursive", blkio_entries(bytes));
  }
  return o;
}

static void stats_v1(const lx_cgroup_roots *r, const char *cg, rt_stats *s) {
  s->cpu_total_ns = cg_u64(r->cpuacct, cg, "cpuacct.usage", 0);
  autofree char *percpu = cg_read(r->cpuacct, cg, "cpuacct.usage_percpu");
  if (percpu) {
    char *p = percpu, *end;
    for (;;) {
      uint64_t v = strtoull(p, &end, 10);
      if (end == p) break;
      s->percpu_ns = xrealloc(s->percpu_ns, (s->npercpu + 1) * sizeof *s->percpu_ns);
      s->percpu_ns[s->npercpu++] = v;
      p = end;
    }
  }
  autofree char *cpuacct_stat = cg_read(r->cpuacct, cg, "cpuacct.stat");
  if (cpuacct_stat) {
    long ticks = sysconf(_SC_CLK_TCK);
    if (ticks <= 0) ticks = 100;
    s->cpu_user_ns = kv_get(cpuacct_stat, "user") * 1000000000ull / (uint64_t)ticks;
    s->cpu_kernel_ns = kv_get(cpuacct_stat, "system") * 1000000000ull / (uint64_t)ticks;
  }
  autofree char *cpu_stat = cg_read(r->cpu, cg, "cpu.stat");
  if (cpu_stat) {
    s->throttling_periods = kv_get(cpu_stat, "nr_periods");
    s->throttled_periods = kv_get(cpu_stat, "nr_throttled");
    s->throttled_ns = kv_get(cpu_stat, "throttled_time");
  }
  if (cg_exists(r->memory, cg)) {
    s->mem_usage = cg_u64(r->memory, cg, "memory.usage_in_bytes", 0);
    s->mem_max_usage = cg_u64(r->memory, cg, "memory.max_usage_in_bytes", 0);
    s->mem_failcnt = cg_u64(r->memory, cg, "memory.failcnt", 0);
    s->mem_limit = cg_u64(r->memory, cg, "memory.limit_in_bytes", UINT64_MAX);
    autofree char *stat = cg_read(r->memory, cg, "memory.stat");
    s->mem_stats = memory_stats_object(stat, v1_memory_keys, ARRAY_LEN(v1_memory_keys));
  }
  s->pids_current = cg_u64(r->pids, cg, "pids.current", 0);
  s->pids_limit = cg_u64(r->pids, cg, "pids.max", 0);
  if (cg_exists(r->blkio, cg)) s->blkio = blkio_v1(r->blkio, cg);
}

/* ---- v2 ------------------------------------------------------------------------------- */

static json_t *blkio_v2(const char *text) {
  json_t *o = json_object();
  json_t *arr = json_array();
  for (const char *line = text; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    autofree char *copy = xstrndup(line, len);
    unsigned long long major, minor;
    if (sscanf(copy, "%llu:%llu", &major, &minor) == 2) {
      uint64_t rbytes = 0, wbytes = 0;
      const char *rb = strstr(copy, " rbytes="), *wb = strstr(copy, " wbytes=");
      if (rb) rbytes = strtoull(rb + 8, NULL, 10);
      if (wb) wbytes = strtoull(wb + 8, NULL, 10);
      json_array_append_new(arr, json_pack("{s:I, s:I, s:s, s:I}", "major", (json_int_t)major,
                                           "minor", (json_int_t)minor, "op", "read", "value",
                                           (json_int_t)rbytes));
      json_array_append_new(arr, json_pack("{s:I, s:I, s:s, s:I}", "major", (json_int_t)major,
                                           "minor", (json_int_t)minor, "op", "write", "value",
                                           (json_int_t)wbytes));
    }
    line = end ? end + 1 : line + len;
  }
  /* Docker fills only this one from v2; the others are null. */
  json_object_set_new(o, "io_service_bytes_recursive",
                      json_array_size(arr) ? arr : (json_decref(arr), json_null()));
  static const char *const unsupported[] = {"io_serviced_recursive",     "io_queue_recursive",
                                            "io_service_time_recursive", "io_wait_time_recursive",
                                            "io_merged_recursive",       "io_time_recursive",
                                            "sectors_recursive"};
  for (size_t i = 0; i < ARRAY_LEN(unsupported); i++)
    json_object_set_new(o, unsupported[i], json_null());
  return o;
}

static void stats_v2(const char *root, const char *cg, rt_stats *s) {
  autofree char *cpu_stat = cg_read(root, cg, "cpu.stat");
  if (cpu_stat) {
    s->cpu_total_ns = kv_get(cpu_stat, "usage_usec") * 1000;
    s->cpu_user_ns = kv_get(cpu_stat, "user_usec") * 1000;
    s->cpu_kernel_ns = kv_get(cpu_stat, "system_usec") * 1000;
    s->throttling_periods = kv_get(cpu_stat, "nr_periods");
    s->throttled_periods = kv_get(cpu_stat, "nr_throttled");
    s->throttled_ns = kv_get(cpu_stat, "throttled_usec") * 1000;
  }
  autofree char *mem_stat = cg_read(root, cg, "memory.stat");
  autofree char *current = cg_read(root, cg, "memory.current");
  if (mem_stat || current) {
    s->mem_usage = current ? strtoull(current, NULL, 10) : 0;
    s->mem_limit = cg_u64(root, cg, "memory.max", UINT64_MAX);
    s->mem_stats = memory_stats_object(mem_stat, v2_memory_keys, ARRAY_LEN(v2_memory_keys));
    autofree char *events = cg_read(root, cg, "memory.events");
    if (events) s->mem_failcnt = kv_get(events, "oom");
  }
  s->pids_current = cg_u64(root, cg, "pids.current", 0);
  s->pids_limit = cg_u64(root, cg, "pids.max", 0);
  autofree char *io = cg_read(root, cg, "io.stat");
  s->blkio = blkio_v2(io);
}

/* ---- networks ------------------------------------------------------------------------ */

typedef struct netns_read {
  int nsfd;
  char *text; /* /proc/net/dev as the namespace sees it */
  int error;
} netns_read;

/* Runs on its own thread: a thread may join another network namespace without touching
 * the rest of the process, and ends with it. */
static void *read_net_dev(void *arg) {
  netns_read *nr = arg;
  if (setns(nr->nsfd, CLONE_NEWNET) < 0) {
    nr->error = errno;
    return NULL;
  }
  arca_err err;
  if (read_file("/proc/thread-self/net/dev", SMALL_FILE_MAX, &nr->text, NULL, &err) < 0)
    nr->error = EIO;
  return NULL;
}

static int networks(const char *netns_path, json_t **out, arca_err *err) {
  *out = NULL;
  netns_read nr = {.nsfd = open(netns_path, O_RDONLY | O_CLOEXEC)};
  if (nr.nsfd < 0) return err_errno(err, 500, errno, "open network namespace %s", netns_path);
  pthread_t t;
  int rc = pthread_create(&t, NULL, read_net_dev, &nr);
  if (rc == 0) pthread_join(t, NULL);
  close(nr.nsfd);
  if (rc != 0) return err_errno(err, 500, rc, "network statistics thread");
  if (nr.error) {
    free(nr.text);
    return err_errno(err, 500, nr.error, "network statistics of %s", netns_path);
  }
  json_t *o = json_object();
  char *save = NULL;
  int lineno = 0;
  for (char *line = strtok_r(nr.text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (++lineno <= 2) continue; /* two header lines */
    char *colon = strchr(line, ':');
    if (!colon) continue;
    *colon = '\0';
    while (*line == ' ') line++;
    if (strcmp(line, "lo") == 0) continue;
    uint64_t v[16] = {0};
    char *p = colon + 1;
    for (int i = 0; i < 16; i++) v[i] = strtoull(p, &p, 10);
    json_object_set_new(o, line,
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_bytes",
                                  (json_int_t)v[0], "rx_packets", (json_int_t)v[1], "rx_errors",
                                  (json_int_t)v[2], "rx_dropped", (json_int_t)v[3], "tx_bytes",
                                  (json_int_t)v[8], "tx_packets", (json_int_t)v[9], "tx_errors",
                                  (json_int_t)v[10], "tx_dropped", (json_int_t)v[11]));
  }
  free(nr.text);
  *out = o;
  return 0;
}

/* ---- entry points --------------------------------------------------------------------- */

int lx_stats_at(const lx_cgroup_roots *r, const char *cgroup_path, const char *netns_path,
                rt_stats *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  bool exists = r->v2 ? cg_exists(r->unified, cgroup_path)
                      : cg_exists(r->memory, cgroup_path) || cg_exists(r->cpuacct, cgroup_path) ||
                            cg_exists(r->pids, cgroup_path) || cg_exists(r->cpu, cgroup_path);
  if (!exists) return err_set(err, 404, "cgroup %s not found", cgroup_path);
  out->read_ns = now_ns();
  if (r->v2)
    stats_v2(r->unified, cgroup_path, out);
  else
    stats_v1(r, cgroup_path, out);
  uint64_t machine = host_memory();
  if (machine > 0 && out->mem_limit > machine) out->mem_limit = machine;
  system_cpu(&out->system_cpu_ns, &out->online_cpus);
  if (netns_path && networks(netns_path, &out->networks, err) < 0) {
    rt_stats_free(out);
    return -1;
  }
  return 0;
}

int lx_stats(const char *cgroup_path, const char *netns_path, rt_stats *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  lx_cgroup_roots r;
  if (lx_cgroup_roots_read(&r, err) < 0) return -1;
  int rc = lx_stats_at(&r, cgroup_path, netns_path, out, err);
  lx_cgroup_roots_free(&r);
  return rc;
}
