/* Statistics and top of the Linux driver.
 *
 * The parsers run on fake cgroup trees (v1 and v2 files written here, so every figure is
 * known). The live tests need root: they make a cgroup /arca/test-<random> in each
 * hierarchy, move a busy child into it, read stats and top, and remove it all after,
 * assertion failed or not. A network namespace with a veth end checks the networks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/lx_cgroup.h"
#include "runtime/linux/lx_files.h"

/* ---- helpers ---------------------------------------------------------------------- */

static char *g_tmp;

static void write_text(const char *dir, const char *name, const char *text) {
  char *p = xasprintf("%s/%s", dir, name);
  arca_err err;
  assert_int_equal(write_file_atomic(p, text, strlen(text), 0644, &err), 0);
  free(p);
}

static char *make_dir(const char *parent, const char *name) {
  char *p = xasprintf("%s/%s", parent, name);
  arca_err err;
  assert_int_equal(mkdir_p(p, 0755, &err), 0);
  return p;
}

static int tmp_setup(void **state) {
  (void)state;
  const char *tmp = getenv("TMPDIR");
  g_tmp = xasprintf("%s/arca-lxstats-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(g_tmp));
  return 0;
}

static int tmp_teardown(void **state) {
  (void)state;
  arca_err err;
  rm_rf(g_tmp, &err);
  free(g_tmp);
  g_tmp = NULL;
  return 0;
}

static uint64_t meminfo_total(void) {
  char *text = NULL;
  arca_err err;
  assert_int_equal(read_file("/proc/meminfo", 1 << 20, &text, NULL, &err), 0);
  uint64_t kb = strtoull(strstr(text, "MemTotal:") + 9, NULL, 10);
  free(text);
  return kb * 1024;
}

static json_int_t jint(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  if (!json_is_integer(v)) fail_msg("%s is not a number", key);
  return json_integer_value(v);
}

/* ---- parsers on fake trees ------------------------------------------------------------ */

static void test_stats_v2_files(void **state) {
  (void)state;
  char *root = make_dir(g_tmp, "unified");
  char *cg = make_dir(root, "arca/c1");
  write_text(cg, "cpu.stat",
             "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 7\nnr_throttled 3\n"
             "throttled_usec 40\n");
  write_text(cg, "memory.current", "1048576\n");
  write_text(cg, "memory.max", "max\n");
  write_text(cg, "memory.stat",
             "anon 4096\nfile 8192\ninactive_file 100\nshmem 5\nunknown_key 9\n");
  write_text(cg, "memory.events", "low 0\nhigh 0\nmax 2\noom 3\noom_kill 1\n");
  write_text(cg, "pids.current", "4\n");
  write_text(cg, "pids.max", "max\n");
  write_text(cg, "io.stat",
             "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
             "253:1 rbytes=5 wbytes=6 rios=1 wios=1 dbytes=0 dios=0\n");
  lx_cgroup_roots r = {.v2 = true, .unified = root};
  rt_stats s;
  arca_err err;
  assert_int_equal(lx_stats_at(&r, "/arca/c1", NULL, &s, &err), 0);
  assert_int_equal(s.cpu_total_ns, 5000000);
  assert_int_equal(s.cpu_user_ns, 3000000);
  assert_int_equal(s.cpu_kernel_ns, 2000000);
  assert_int_equal(s.npercpu, 0);
  assert_int_equal(s.throttling_periods, 7);
  assert_int_equal(s.throttled_periods, 3);
  assert_int_equal(s.throttled_ns, 40000);
  assert_int_equal(s.mem_usage, 1048576);
  assert_int_equal(s.mem_limit, meminfo_total()); /* "max": the host's memory */
  assert_int_equal(s.mem_failcnt, 3);
  assert_int_equal(json_object_size(s.mem_stats), 31);
  assert_int_equal(jint(s.mem_stats, "anon"), 4096);
  assert_int_equal(jint(s.mem_stats, "inactive_file"), 100);
  assert_int_equal(jint(s.mem_stats, "thp_collapse_alloc"), 0);
  assert_null(json_object_get(s.mem_stats, "unknown_key"));
  assert_int_equal(s.pids_current, 4);
  assert_int_equal(s.pids_limit, 0);
  json_t *bytes = json_object_get(s.blkio, "io_service_bytes_recursive");
  assert_int_equal(json_array_size(bytes), 4);
  json_t *e = json_array_get(bytes, 1);
  assert_int_equal(jint(e, "major"), 8);
  assert_int_equal(jint(e, "minor"), 0);
  assert_string_equal(json_string_value(json_object_get(e, "op")), "write");
  assert_int_equal(jint(e, "value"), 200);
  assert_true(json_is_null(json_object_get(s.blkio, "io_serviced_recursive")));
  assert_true(json_is_null(json_object_get(s.blkio, "sectors_recursive")));
  assert_null(s.networks);
  assert_true(s.system_cpu_ns > 0);
  assert_int_equal(s.online_cpus, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
  assert_true(s.read_ns > 0);
  rt_stats_free(&s);

  /* A limit below the host's memory is kept as is; a missing cgroup is 404. */
  write_text(cg, "memory.max", "268435456\n");
  assert_int_equal(lx_stats_at(&r, "/arca/c1", NULL, &s, &err), 0);
  assert_int_equal(s.mem_limit, 268435456);
  rt_stats_free(&s);
  assert_int_equal(lx_stats_at(&r, "/arca/none", NULL, &s, &err), -1);
  assert_int_equal(err.status, 404);
  free(cg);
  free(root);
}

static void test_stats_v1_files(void **state) {
  (void)state;
  lx_cgroup_roots r = {0};
  r.memory = make_dir(g_tmp, "memory");
  r.cpu = make_dir(g_tmp, "cpu");
  r.cpuacct = make_dir(g_tmp, "cpuacct");
  r.pids = make_dir(g_tmp, "pids");
  r.blkio = make_dir(g_tmp, "blkio");
  char *mem = make_dir(r.memory, "arca/c1"), *cpu = make_dir(r.cpu, "arca/c1"),
       *acct = make_dir(r.cpuacct, "arca/c1"), *pids = make_dir(r.pids, "arca/c1"),
       *blkio = make_dir(r.blkio, "arca/c1");
  long hz = sysconf(_SC_CLK_TCK);
  write_text(acct, "cpuacct.usage", "123456789\n");
  write_text(acct, "cpuacct.usage_percpu", "100000000 23456789 \n");
  char *ticks = xasprintf("user %ld\nsystem %ld\n", hz * 2, hz / 2);
  write_text(acct, "cpuacct.stat", ticks);
  free(ticks);
  write_text(cpu, "cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 999\n");
  write_text(mem, "memory.usage_in_bytes", "2000000\n");
  write_text(mem, "memory.max_usage_in_bytes", "3000000\n");
  write_text(mem, "memory.failcnt", "6\n");
  write_text(mem, "memory.limit_in_bytes", "9223372036854771712\n");
  write_text(mem, "memory.stat", "cache 10\nrss 20\nshmem 7\ntotal_inactive_file 30\n");
  write_text(pids, "pids.current", "2\n");
  write_text(pids, "pids.max", "50\n");
  /* No CFQ figures: containerd's fallback to the throttle files. */
  write_text(blkio, "blkio.io_serviced_recursive", "Total 0\n");
  write_text(blkio, "blkio.throttle.io_serviced", "8:0 Read 3\n8:0 Write 4\n8:0 Sync 7\nTotal 7\n");
  write_text(blkio, "blkio.throttle.io_service_bytes",
             "8:0 Read 4096\n8:0 Write 8192\nTotal 12288\n");

  rt_stats s;
  arca_err err;
  assert_int_equal(lx_stats_at(&r, "/arca/c1", NULL, &s, &err), 0);
  assert_int_equal(s.cpu_total_ns, 123456789);
  assert_int_equal(s.npercpu, 2);
  assert_int_equal(s.percpu_ns[0], 100000000);
  assert_int_equal(s.percpu_ns[1], 23456789);
  assert_int_equal(s.cpu_user_ns, 2000000000);
  assert_int_equal(s.cpu_kernel_ns, (uint64_t)(hz / 2) * 1000000000 / (uint64_t)hz);
  assert_int_equal(s.throttled_ns, 999);
  assert_int_equal(s.throttled_periods, 4);
  assert_int_equal(s.mem_usage, 2000000);
  assert_int_equal(s.mem_max_usage, 3000000);
  assert_int_equal(s.mem_failcnt, 6);
  assert_int_equal(s.mem_limit, meminfo_total());
  assert_int_equal(json_object_size(s.mem_stats), 32);
  assert_int_equal(jint(s.mem_stats, "cache"), 10);
  assert_int_equal(jint(s.mem_stats, "total_inactive_file"), 30);
  assert_int_equal(jint(s.mem_stats, "hierarchical_memsw_limit"), 0);
  assert_null(json_object_get(s.mem_stats, "shmem"));
  assert_int_equal(s.pids_current, 2);
  assert_int_equal(s.pids_limit, 50);
  json_t *serviced = json_object_get(s.blkio, "io_serviced_recursive");
  assert_int_equal(json_array_size(serviced), 3);
  assert_string_equal(json_string_value(json_object_get(json_array_get(serviced, 2), "op")),
                      "Sync");
  json_t *bytes = json_object_get(s.blkio, "io_service_bytes_recursive");
  assert_int_equal(json_array_size(bytes), 2);
  assert_int_equal(jint(json_array_get(bytes, 1), "value"), 8192);
  assert_int_equal(json_array_size(json_object_get(s.blkio, "io_queue_recursive")), 0);
  assert_true(json_is_array(json_object_get(s.blkio, "sectors_recursive")));
  rt_stats_free(&s);

  /* CFQ figures when there are some; time_recursive lines carry no op. */
  write_text(blkio, "blkio.io_serviced_recursive", "8:16 Read 1\n8:16 Write 2\nTotal 3\n");
  write_text(blkio, "blkio.time_recursive", "8:16 55\n");
  assert_int_equal(lx_stats_at(&r, "/arca/c1", NULL, &s, &err), 0);
  serviced = json_object_get(s.blkio, "io_serviced_recursive");
  assert_int_equal(json_array_size(serviced), 2);
  assert_int_equal(jint(json_array_get(serviced, 0), "minor"), 16);
  json_t *t = json_array_get(json_object_get(s.blkio, "io_time_recursive"), 0);
  assert_string_equal(json_string_value(json_object_get(t, "op")), "");
  assert_int_equal(jint(t, "value"), 55);
  assert_int_equal(json_array_size(json_object_get(s.blkio, "io_service_bytes_recursive")), 0);
  rt_stats_free(&s);

  free(mem);
  free(cpu);
  free(acct);
  free(pids);
  free(blkio);
  lx_cgroup_roots_free(&r);
}

static void test_cgroup_roots_of_this_host(void **state) {
  (void)state;
  lx_cgroup_roots r;
  arca_err err;
  assert_int_equal(lx_cgroup_roots_read(&r, &err), 0);
  /* Whatever the layout, the memory controller is somewhere. */
  if (r.v2) {
    assert_non_null(r.unified);
  } else {
    assert_non_null(r.memory);
    char *p = xasprintf("%s/memory.usage_in_bytes", r.memory);
    assert_int_equal(access(p, F_OK), 0);
    free(p);
  }
  lx_cgroup_roots_free(&r);
}

/* ---- live cgroup ------------------------------------------------------------------------ */

typedef struct live {
  lx_cgroup_roots roots;
  char cg[64];      /* "/arca/test-<hex>" */
  char *dirs[8];    /* created cgroup directories */
  char *parents[8]; /* "/arca" directories this test created */
  size_t ndirs, nparents;
  pid_t child;
  char netns[64];
} live;

static live L;

static void kill_child(void) {
  if (L.child > 0) {
    kill(L.child, SIGKILL);
    waitpid(L.child, NULL, 0);
    L.child = 0;
  }
}

static int live_teardown(void **state) {
  (void)state;
  kill_child();
  for (size_t i = 0; i < L.ndirs; i++) {
    for (int tries = 0; tries < 50 && rmdir(L.dirs[i]) < 0 && errno == EBUSY; tries++)
      usleep(20000);
    free(L.dirs[i]);
  }
  for (size_t i = 0; i < L.nparents; i++) {
    rmdir(L.parents[i]);
    free(L.parents[i]);
  }
  if (L.netns[0]) {
    char *cmd = xasprintf("ip netns del %s 2>/dev/null", L.netns);
    if (system(cmd) != 0) { /* already gone */
    }
    free(cmd);
  }
  lx_cgroup_roots_free(&L.roots);
  memset(&L, 0, sizeof L);
  return 0;
}

/* Makes the test cgroup in every v1 hierarchy the stats read (or in the unified one). */
static int live_setup(void **state) {
  (void)state;
  memset(&L, 0, sizeof L);
  if (geteuid() != 0) return 0;
  arca_err err;
  if (lx_cgroup_roots_read(&L.roots, &err) < 0) return 0;
  char hex[17];
  random_hex(hex, 8);
  snprintf(L.cg, sizeof L.cg, "/arca/test-%s", hex);
  const char *roots[] = {L.roots.memory, L.roots.cpu, L.roots.cpuacct, L.roots.pids, L.roots.blkio};
  size_t nroots = L.roots.v2 ? 1 : ARRAY_LEN(roots);
  for (size_t i = 0; i < nroots; i++) {
    const char *root = L.roots.v2 ? L.roots.unified : roots[i];
    if (!root) continue;
    bool dup = false; /* cpu and cpuacct may share one hierarchy */
    for (size_t j = 0; j < L.ndirs; j++)
      dup |= str_has_prefix(L.dirs[j], root) && L.dirs[j][strlen(root)] == '/';
    if (dup) continue;
    char *parent = xasprintf("%s/arca", root);
    if (mkdir(parent, 0755) == 0)
      L.parents[L.nparents++] = parent;
    else
      free(parent);
    char *dir = xasprintf("%s%s", root, L.cg);
    if (mkdir(dir, 0755) < 0) {
      free(dir);
      continue;
    }
    L.dirs[L.ndirs++] = dir;
  }
  return 0;
}

static void require_live(void) {
  if (geteuid() != 0) skip();
  if (L.ndirs == 0) skip(); /* cgroups not writable here */
}

static void cg_write(const char *root, const char *file, const char *value) {
  char *p = xasprintf("%s%s/%s", root, L.cg, file);
  int fd = open(p, O_WRONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, value, strlen(value)), (ssize_t)strlen(value));
  close(fd);
  free(p);
}

/* A child that waits until it is in the cgroup, then spins in a shell loop. */
static void start_busy_child(void) {
  int go[2];
  assert_int_equal(pipe2(go, O_CLOEXEC), 0);
  L.child = fork();
  assert_true(L.child >= 0);
  if (L.child == 0) {
    char c;
    close(go[1]);
    if (read(go[0], &c, 1) != 1) _exit(1);
    execl("/bin/sh", "sh", "-c", "while :; do :; done", (char *)NULL);
    _exit(127);
  }
  close(go[0]);
  char pid[32];
  snprintf(pid, sizeof pid, "%d\n", L.child);
  for (size_t i = 0; i < L.ndirs; i++) {
    char *procs = xasprintf("%s/cgroup.procs", L.dirs[i]);
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, pid, strlen(pid)), (ssize_t)strlen(pid));
    close(fd);
    free(procs);
  }
  assert_int_equal(write(go[1], "x", 1), 1);
  close(go[1]);
}

static void test_live_stats(void **state) {
  (void)state;
  require_live();
  const char *mem_root = L.roots.v2 ? L.roots.unified : L.roots.memory;
  cg_write(mem_root, L.roots.v2 ? "memory.max" : "memory.limit_in_bytes", "268435456");
  cg_write(L.roots.v2 ? L.roots.unified : L.roots.pids, "pids.max", "100");
  start_busy_child();
  usleep(300000);

  rt_stats a, b;
  arca_err err;
  if (lx_stats(L.cg, NULL, &a, &err) < 0) fail_msg("stats: %s", err.msg);
  usleep(200000);
  assert_int_equal(lx_stats(L.cg, NULL, &b, &err), 0);
  assert_true(a.cpu_total_ns > 50000000); /* 0.3 s of spinning, more than 0.05 s counted */
  assert_true(b.cpu_total_ns > a.cpu_total_ns);
  assert_true(b.cpu_user_ns + b.cpu_kernel_ns > 0);
  assert_true(b.system_cpu_ns > a.system_cpu_ns);
  assert_true(b.read_ns > a.read_ns);
  if (!L.roots.v2) {
    assert_true(b.npercpu >= (size_t)sysconf(_SC_NPROCESSORS_ONLN));
    uint64_t sum = 0;
    for (size_t i = 0; i < b.npercpu; i++) sum += b.percpu_ns[i];
    assert_true(sum > a.cpu_total_ns && sum <= b.cpu_total_ns + 100000000);
    assert_non_null(json_object_get(b.mem_stats, "total_rss"));
    assert_true(json_is_array(json_object_get(b.blkio, "io_service_bytes_recursive")));
  }
  assert_true(b.mem_usage > 0);
  assert_int_equal(b.mem_limit, 268435456);
  assert_int_equal(b.pids_current, 1);
  assert_int_equal(b.pids_limit, 100);
  assert_null(b.networks);
  rt_stats_free(&a);
  rt_stats_free(&b);

  /* Without a limit: the host's memory, as Docker caps it. */
  cg_write(mem_root, L.roots.v2 ? "memory.max" : "memory.limit_in_bytes",
           L.roots.v2 ? "max" : "-1");
  assert_int_equal(lx_stats(L.cg, NULL, &b, &err), 0);
  assert_int_equal(b.mem_limit, meminfo_total());
  rt_stats_free(&b);

  kill_child();
  assert_int_equal(lx_stats("/arca/test-none", NULL, &b, &err), -1);
  assert_int_equal(err.status, 404);
}

static void test_live_networks(void **state) {
  (void)state;
  require_live();
  if (system("command -v ip >/dev/null 2>&1") != 0) skip();
  char hex[9];
  random_hex(hex, 4);
  snprintf(L.netns, sizeof L.netns, "arcat-%s", hex);
  char *cmd =
      xasprintf("ip netns add %s && ip link add arh%s type veth peer name arc%s netns %s && "
                "ip -n %s link set arc%s up",
                L.netns, hex, hex, L.netns, L.netns, hex);
  if (system(cmd) != 0) {
    free(cmd);
    skip();
  }
  free(cmd);
  char *path = xasprintf("/run/netns/%s", L.netns);
  char before[64] = {0}, after[64] = {0};
  assert_true(readlink("/proc/thread-self/ns/net", before, sizeof before - 1) > 0);
  rt_stats s;
  arca_err err;
  if (lx_stats(L.cg, path, &s, &err) < 0) fail_msg("stats: %s", err.msg);
  char *inside = xasprintf("arc%s", hex), *outside = xasprintf("arh%s", hex);
  char *dump = json_dumps(s.networks, JSON_COMPACT);
  if (json_object_size(s.networks) != 1 || !json_object_get(s.networks, inside))
    fail_msg("networks: %s", dump);
  free(dump);
  assert_null(json_object_get(s.networks, "lo"));
  assert_null(json_object_get(s.networks, outside));
  json_t *eth = json_object_get(s.networks, inside);
  const char *keys[] = {"rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
                        "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"};
  assert_int_equal(json_object_size(eth), ARRAY_LEN(keys));
  for (size_t i = 0; i < ARRAY_LEN(keys); i++) assert_true(jint(eth, keys[i]) >= 0);
  rt_stats_free(&s);

  /* The calling thread stays in its own namespace. */
  assert_true(readlink("/proc/thread-self/ns/net", after, sizeof after - 1) > 0);
  assert_string_equal(before, after);

  char *missing = xasprintf("/run/netns/%s-none", L.netns);
  assert_int_equal(lx_stats(L.cg, missing, &s, &err), -1);
  assert_int_equal(err.status, 500);
  free(missing);
  free(path);
  free(inside);
  free(outside);
}

static void test_live_top(void **state) {
  (void)state;
  require_live();
  start_busy_child();
  usleep(100000);
  json_t *titles = NULL, *procs = NULL;
  arca_err err;
  if (lx_top(L.cg, NULL, &titles, &procs, &err) < 0) fail_msg("top: %s", err.msg);
  const char *want[] = {"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"};
  assert_int_equal(json_array_size(titles), ARRAY_LEN(want));
  for (size_t i = 0; i < ARRAY_LEN(want); i++)
    assert_string_equal(json_string_value(json_array_get(titles, i)), want[i]);
  assert_int_equal(json_array_size(procs), 1);
  json_t *row = json_array_get(procs, 0);
  assert_int_equal(json_array_size(row), ARRAY_LEN(want));
  char pid[16];
  snprintf(pid, sizeof pid, "%d", L.child);
  assert_string_equal(json_string_value(json_array_get(row, 1)), pid);
  assert_string_equal(json_string_value(json_array_get(row, 0)), "root");
  /* The last column keeps its spaces. */
  assert_string_equal(json_string_value(json_array_get(row, 7)), "sh -c while :; do :; done");
  json_decref(titles);
  json_decref(procs);

  /* Other ps arguments, split on single spaces as Docker does. */
  assert_int_equal(lx_top(L.cg, "-o pid,comm", &titles, &procs, &err), 0);
  assert_int_equal(json_array_size(titles), 2);
  assert_string_equal(json_string_value(json_array_get(titles, 0)), "PID");
  assert_int_equal(json_array_size(procs), 1);
  assert_string_equal(json_string_value(json_array_get(json_array_get(procs, 0), 1)), "sh");
  json_decref(titles);
  json_decref(procs);

  /* Docker's refusals. */
  assert_int_equal(lx_top(L.cg, "-o comm", &titles, &procs, &err), -1);
  assert_int_equal(err.status, 500);
  assert_string_equal(err.msg, "Couldn't find PID field in ps output");
  assert_int_equal(lx_top(L.cg, "-o user=PID", &titles, &procs, &err), -1);
  assert_string_equal(err.msg, "specifying \"user=PID\" is not allowed");
  assert_int_equal(lx_top(L.cg, "-o pid=PID", &titles, &procs, &err), 0);
  json_decref(titles);
  json_decref(procs);
  assert_int_equal(lx_top(L.cg, "--no-such-option", &titles, &procs, &err), -1);
  assert_int_equal(err.status, 500);
  assert_true(str_has_prefix(err.msg, "ps: "));
  assert_null(titles);

  /* A container without processes lists none; an unknown cgroup is 404. */
  kill_child();
  assert_int_equal(lx_top(L.cg, NULL, &titles, &procs, &err), 0);
  assert_int_equal(json_array_size(procs), 0);
  json_decref(titles);
  json_decref(procs);
  assert_int_equal(lx_top("/arca/test-none", NULL, &titles, &procs, &err), -1);
  assert_int_equal(err.status, 404);
}

/* A crash (sanitizer abort) skips teardown: stop the child and remove the cgroups anyway. */
static void on_crash(int sig) {
  live_teardown(NULL);
  signal(sig, SIG_DFL);
  raise(sig);
}

int main(void) {
  signal(SIGABRT, on_crash);
  signal(SIGSEGV, on_crash);
  signal(SIGBUS, on_crash);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_stats_v2_files, tmp_setup, tmp_teardown),
      cmocka_unit_test_setup_teardown(test_stats_v1_files, tmp_setup, tmp_teardown),
      cmocka_unit_test(test_cgroup_roots_of_this_host),
      cmocka_unit_test_setup_teardown(test_live_stats, live_setup, live_teardown),
      cmocka_unit_test_setup_teardown(test_live_networks, live_setup, live_teardown),
      cmocka_unit_test_setup_teardown(test_live_top, live_setup, live_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
