/* The Linux runtime driver against the real runc, conmon and netavark, with a busybox root
 * built here from Debian's busybox-static. The pure parts (user resolution, tmpfs options,
 * device rules, resources) run anywhere; the rest needs root, runc and conmon and is skipped
 * with a message otherwise.
 *
 * Everything a test makes (containers, mounts, cgroups, network namespaces, the bridge) is
 * removed in its teardown, which cmocka runs even when an assertion failed, and the group
 * teardown sweeps whatever is left under the temporary roots. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/proc.h"
#include "common/util.h"
#include "runtime/driver.h"
#include "runtime/linux/lx_driver.h"
#include "runtime/linux/lx_paths.h"
#include "runtime/linux/oci_defaults.h"

/* ---- fixture ---------------------------------------------------------------------- */

#define MAX_EVENTS 256
#define MAX_IDS 128

typedef struct event {
  char id[65];
  char exec_id[65];
  rt_exit exit;
  bool oom;
} event;

static struct {
  char tmp[64];
  char data_root[96], exec_root[96];
  char busybox_layer[128], etc_layer[128];
  char *runc, *conmon, *netavark, *aardvark, *tini;
  rt_driver *drv;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  event events[MAX_EVENTS];
  size_t nevents;
  char ooms[16][65];
  size_t nooms;
  char ids[MAX_IDS][65]; /* containers this test made, removed in teardown */
  size_t nids;
} fx = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void on_exit_cb(void *ctx, const char *id, const char *exec_id, const rt_exit *exit) {
  (void)ctx;
  pthread_mutex_lock(&fx.lock);
  if (fx.nevents < MAX_EVENTS) {
    event *e = &fx.events[fx.nevents++];
    snprintf(e->id, sizeof e->id, "%s", id);
    snprintf(e->exec_id, sizeof e->exec_id, "%s", exec_id ? exec_id : "");
    e->exit = *exit;
  }
  pthread_cond_broadcast(&fx.cond);
  pthread_mutex_unlock(&fx.lock);
}

static void on_oom_cb(void *ctx, const char *id) {
  (void)ctx;
  pthread_mutex_lock(&fx.lock);
  if (fx.nooms < 16) snprintf(fx.ooms[fx.nooms++], 65, "%s", id);
  pthread_mutex_unlock(&fx.lock);
}

/* The exit event of id (exec_id NULL: the main process); fails the test after timeout. */
static rt_exit wait_exit(const char *id, const char *exec_id, int timeout_ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
  if (deadline.tv_nsec >= 1000000000) deadline.tv_sec++, deadline.tv_nsec -= 1000000000;
  pthread_mutex_lock(&fx.lock);
  for (;;) {
    for (size_t i = 0; i < fx.nevents; i++) {
      event *e = &fx.events[i];
      if (strcmp(e->id, id) || strcmp(e->exec_id, exec_id ? exec_id : "")) continue;
      rt_exit ex = e->exit;
      memmove(e, e + 1, (fx.nevents - i - 1) * sizeof *e);
      fx.nevents--;
      pthread_mutex_unlock(&fx.lock);
      return ex;
    }
    if (pthread_cond_timedwait(&fx.cond, &fx.lock, &deadline) == ETIMEDOUT) break;
  }
  pthread_mutex_unlock(&fx.lock);
  fail_msg("no exit event for %s %s within %d ms", id, exec_id ? exec_id : "", timeout_ms);
  return (rt_exit){0};
}

/* No further exit event for id within ms. */
static bool no_exit_within(const char *id, int ms) {
  int64_t end = monotonic_ns() + (int64_t)ms * 1000000;
  while (monotonic_ns() < end) {
    pthread_mutex_lock(&fx.lock);
    bool found = false;
    for (size_t i = 0; i < fx.nevents; i++)
      found |= !strcmp(fx.events[i].id, id) && !fx.events[i].exec_id[0];
    pthread_mutex_unlock(&fx.lock);
    if (found) return false;
    usleep(20000);
  }
  return true;
}

static void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }

/* Waits until the container's init has a child process (its handlers are set by then, for
 * the shells and inits used here). */
static void wait_for_child_of_init(const char *id) {
  autofree char *pidfile = xasprintf("%s/c/%s/pid", fx.exec_root, id);
  for (int i = 0; i < 250; i++) {
    autofree char *pid = NULL;
    if (read_file(pidfile, 64, &pid, NULL, NULL) == 0) {
      long p = strtol(pid, NULL, 10);
      autofree char *children = xasprintf("/proc/%ld/task/%ld/children", p, p);
      autofree char *text = NULL;
      if (read_file(children, 4096, &text, NULL, NULL) == 0 && text[0]) return;
    }
    sleep_ms(20);
  }
  fail_msg("the init of %s started no process", id);
}

static void *sleep_then_signal(void *arg) {
  sleep_ms(200);
  uint64_t one = 1;
  if (write(*(int *)arg, &one, sizeof one) != sizeof one) abort();
  return NULL;
}

static int run_cmd(const char *const argv[], char **out) {
  proc_result res;
  arca_err err = {0};
  if (proc_run(argv, NULL, NULL, 0, &res, &err) < 0) return -1;
  if (out) *out = steal_ptr(res.out);
  proc_result_free(&res);
  return res.exit_code;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *read_text(const char *path) {
  char *text = NULL;
  if (read_file(path, 1 << 24, &text, NULL, NULL) < 0) return NULL;
  return text;
}

static void new_id(char out[65]) {
  random_hex(out, 32);
  assert_true(fx.nids < MAX_IDS);
  snprintf(fx.ids[fx.nids++], 65, "%s", out);
}

/* ---- specs ------------------------------------------------------------------------ */

typedef struct test_ctr {
  char id[65];
  char *args[16];
  size_t nargs;
  char *env[8];
  size_t nenv;
  json_t *config, *host_config;
  rt_mount mounts[4];
  size_t nmounts;
  const char *layers[128];
  size_t nlayers;
  rt_process process;
  rt_sandbox_spec spec;
} test_ctr;

static void ctr_free(test_ctr *c) {
  json_decref(c->config);
  json_decref(c->host_config);
  free(c);
}

/* A container running args in the busybox image; hc (stolen) may be NULL. */
static test_ctr *ctr_new(json_t *hc, const char *arg0, ...) {
  test_ctr *c = calloc(1, sizeof *c);
  new_id(c->id);
  va_list ap;
  va_start(ap, arg0);
  for (const char *a = arg0; a && c->nargs < 15; a = va_arg(ap, const char *))
    c->args[c->nargs++] = (char *)a;
  va_end(ap);
  c->env[c->nenv++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  c->env[c->nenv++] = "HOSTNAME=arca-test";
  c->config = json_object();
  c->host_config = hc ? hc : json_object();
  c->layers[c->nlayers++] = fx.busybox_layer;
  c->layers[c->nlayers++] = fx.etc_layer;
  c->process = (rt_process){
      .args = c->args, .nargs = c->nargs, .env = c->env, .nenv = c->nenv, .cwd = "/", .user = ""};
  c->spec = (rt_sandbox_spec){.id = c->id,
                              .name = "test",
                              .layers = c->layers,
                              .config = c->config,
                              .host_config = c->host_config,
                              .hostname = "arca-test",
                              .network_mode = "none"};
  return c;
}

static void ctr_sync(test_ctr *c) {
  c->process.args = c->args;
  c->process.nargs = c->nargs;
  c->process.env = c->env;
  c->process.nenv = c->nenv;
  c->spec.process = c->process;
  c->spec.layers = c->layers;
  c->spec.nlayers = c->nlayers;
  c->spec.mounts = c->mounts;
  c->spec.nmounts = c->nmounts;
}

static void prepare_ok(test_ctr *c) {
  ctr_sync(c);
  arca_err err = {0};
  int rc = fx.drv->ops->prepare(fx.drv, &c->spec, &err);
  if (rc < 0) fail_msg("prepare: %s", err.msg);
}

static void start_ok(test_ctr *c) {
  arca_err err = {0};
  if (fx.drv->ops->start(fx.drv, c->id, NULL, &err) < 0) fail_msg("start: %s", err.msg);
}

static test_ctr *run_ctr(test_ctr *c) {
  prepare_ok(c);
  start_ok(c);
  return c;
}

static rt_status status_of(const char *id, rt_exit *ex) {
  rt_status st;
  arca_err err = {0};
  rt_exit tmp;
  assert_int_equal(fx.drv->ops->status(fx.drv, id, &st, ex ? ex : &tmp, &err), 0);
  return st;
}

static char *log_of(const char *id) {
  autofree char *path = fx.drv->ops->log_path(fx.drv, id);
  return read_text(path);
}

/* The text of the log lines of one stream, joined ("P" lines continue). */
static char *log_stream(const char *id, const char *stream) {
  autofree char *log = log_of(id);
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, "");
  char *save = NULL;
  for (char *line = log ? strtok_r(log, "\n", &save) : NULL; line;
       line = strtok_r(NULL, "\n", &save)) {
    char ts[64], s[16], tag[4];
    int off = 0;
    if (sscanf(line, "%63s %15s %3s %n", ts, s, tag, &off) < 3) continue;
    if (strcmp(s, stream)) continue;
    sb_puts(&sb, line + off);
    if (!strcmp(tag, "F")) sb_puts(&sb, "\n");
  }
  return sb_steal(&sb);
}

/* ---- attach helpers --------------------------------------------------------------- */

typedef struct collected {
  strbuf out, err;
} collected;

/* Reads an attachment to its end (or timeout). */
static void attach_collect(rt_attach *a, collected *c, int timeout_ms) {
  sb_init(&c->out);
  sb_init(&c->err);
  sb_puts(&c->out, "");
  sb_puts(&c->err, "");
  int64_t end = monotonic_ns() + (int64_t)timeout_ms * 1000000;
  for (;;) {
    assert_true(monotonic_ns() < end);
    char buf[4096];
    int stream = 0;
    size_t len = 0;
    int rc = fx.drv->ops->attach_read(a, -1, &stream, buf, sizeof buf, &len);
    assert_true(rc >= 0);
    if (rc == 0) return;
    sb_append(stream == 2 ? &c->err : &c->out, buf, len);
  }
}

static void collected_free(collected *c) {
  sb_free(&c->out);
  sb_free(&c->err);
}

/* Reads from fd until needle shows up or the time runs out; returns what was read. */
static char *read_until(int fd, const char *needle, int timeout_ms) {
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, "");
  int64_t end = monotonic_ns() + (int64_t)timeout_ms * 1000000;
  while (!strstr(sb.buf, needle) && monotonic_ns() < end) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[1024];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) break;
    sb_append(&sb, buf, (size_t)r);
  }
  return sb_steal(&sb);
}

static char *read_all_fd(int fd) {
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, "");
  char buf[4096];
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0) sb_append(&sb, buf, (size_t)r);
  return sb_steal(&sb);
}

/* ---- leftovers -------------------------------------------------------------------- */

static bool mounted_under(const char *prefix) {
  autofree char *info = read_text("/proc/self/mountinfo");
  return info && strstr(info, prefix);
}

static bool cgroup_exists(const char *id) {
  DIR *dir = opendir("/sys/fs/cgroup");
  if (!dir) return false;
  bool found = false;
  struct dirent *de;
  while ((de = readdir(dir))) {
    autofree char *p = xasprintf("/sys/fs/cgroup/%s/arca/%s", de->d_name, id);
    found |= access(p, F_OK) == 0;
  }
  autofree char *v2 = xasprintf("/sys/fs/cgroup/arca/%s", id);
  found |= access(v2, F_OK) == 0;
  closedir(dir);
  return found;
}

static void assert_nothing_left(const char *id) {
  autofree char *ctr_dir = lx_ctr_dir(fx.data_root, id);
  autofree char *run_dir = lx_run_dir(fx.exec_root, id);
  autofree char *netns = lx_netns_path(fx.exec_root, id);
  autofree char *exit_file = lx_exit_file(fx.exec_root, id);
  autofree char *state = xasprintf("%s/runc/%s", fx.exec_root, id);
  assert_int_not_equal(access(ctr_dir, F_OK), 0);
  assert_int_not_equal(access(run_dir, F_OK), 0);
  assert_int_not_equal(access(netns, F_OK), 0);
  assert_int_not_equal(access(exit_file, F_OK), 0);
  assert_int_not_equal(access(state, F_OK), 0);
  assert_false(mounted_under(id));
  assert_false(cgroup_exists(id));
  assert_int_equal(status_of(id, NULL), RT_STATUS_UNKNOWN);
}

/* Removes what the test made, and checks that removal left nothing of any of it. */
static int test_teardown(void **state) {
  (void)state;
  int rc = 0;
  for (size_t i = 0; i < fx.nids; i++) {
    arca_err err = {0};
    if (fx.drv && fx.drv->ops->remove(fx.drv, fx.ids[i], &err) < 0) {
      fprintf(stderr, "teardown: remove %s: %s\n", fx.ids[i], err.msg);
      rc = -1;
    }
  }
  for (size_t i = 0; i < fx.nids; i++) {
    autofree char *ctr_dir = lx_ctr_dir(fx.data_root, fx.ids[i]);
    autofree char *run_dir = lx_run_dir(fx.exec_root, fx.ids[i]);
    if (cgroup_exists(fx.ids[i]) || mounted_under(fx.ids[i]) || access(ctr_dir, F_OK) == 0 ||
        access(run_dir, F_OK) == 0) {
      fprintf(stderr, "teardown: %s left cgroup %d, mounts %d, dirs %d %d\n", fx.ids[i],
              cgroup_exists(fx.ids[i]), mounted_under(fx.ids[i]), access(ctr_dir, F_OK) == 0,
              access(run_dir, F_OK) == 0);
      rc = -1;
    }
  }
  fx.nids = 0;
  pthread_mutex_lock(&fx.lock);
  fx.nevents = 0;
  fx.nooms = 0;
  pthread_mutex_unlock(&fx.lock);
  return rc;
}

/* ---- pure parts (no root) ---------------------------------------------------------- */

static const char passwd_text[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "  \n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "user:x:1000:1000:user:/home/user:/bin/sh\n"
    "toor:x:0:0:second root:/toor:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char group_text[] =
    "root:x:0:\n"
    "# a comment:x:77:user\n"
    "daemon:x:1:\n"
    "audio:x:29:user,other\n"
    "staff:x:50:user\n"
    "user:x:1000:\n"
    "nogroup:x:65534:\n";

static void check_user(const char *spec, const char *const *groups, size_t ngroups, uint32_t uid,
                       uint32_t gid, const char *gids, const char *home) {
  lx_user u;
  arca_err err = {0};
  if (lx_user_resolve_text(spec, passwd_text, group_text, groups, ngroups, &u, &err) < 0)
    fail_msg("%s: %s", spec, err.msg);
  assert_int_equal(u.uid, uid);
  assert_int_equal(u.gid, gid);
  char buf[256] = "";
  for (size_t i = 0; i < u.ngids; i++)
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%u", i ? "," : "", u.gids[i]);
  assert_string_equal(buf, gids);
  assert_string_equal(u.home, home);
  lx_user_free(&u);
}

static void check_user_error(const char *spec, const char *const *groups, size_t ngroups,
                             const char *passwd, const char *msg) {
  lx_user u;
  arca_err err = {0};
  assert_int_equal(lx_user_resolve_text(spec, passwd, group_text, groups, ngroups, &u, &err), -1);
  assert_string_equal(err.msg, msg);
}

static void test_user_resolution(void **state) {
  (void)state;
  check_user("", NULL, 0, 0, 0, "0", "/root");
  check_user("root", NULL, 0, 0, 0, "0", "/root");
  check_user("user", NULL, 0, 1000, 1000, "1000,29,50", "/home/user");
  check_user("1000", NULL, 0, 1000, 1000, "1000,29,50", "/home/user");
  check_user("user:audio", NULL, 0, 1000, 29, "29", "/home/user");
  check_user("1000:50", NULL, 0, 1000, 50, "50", "/home/user");
  check_user("user:4242", NULL, 0, 1000, 4242, "4242", "/home/user");
  /* numeric ids absent from passwd are allowed, HOME then is "/" as runc sets it */
  check_user("4242", NULL, 0, 4242, 0, "0", "/");
  check_user("4242:4343", NULL, 0, 4242, 4343, "4343", "/");
  check_user("toor", NULL, 0, 0, 0, "0", "/root"); /* HOME by uid, as runc */
  check_user("nobody", NULL, 0, 65534, 65534, "65534", "/nonexistent");
  check_user("user:audio:ignored", NULL, 0, 1000, 29, "29", "/home/user");
  const char *add[] = {"staff", "7", "audio", "staff"};
  check_user("nobody", add, 4, 65534, 65534, "65534,50,7,29", "/nonexistent");

  check_user_error("nosuch", NULL, 0, passwd_text,
                   "unable to find user nosuch: no matching entries in passwd file");
  check_user_error("user:nosuch", NULL, 0, passwd_text,
                   "unable to find group nosuch: no matching entries in group file");
  check_user_error("-1", NULL, 0, passwd_text, "uids and gids must be in range 0-2147483647");
  check_user_error("2147483648", NULL, 0, passwd_text,
                   "uids and gids must be in range 0-2147483647");
  const char *bad[] = {"nosuchgroup"};
  check_user_error("user", bad, 1, passwd_text,
                   "unable to find group nosuchgroup: no matching entries in group file");
  /* without /etc/passwd: names fail, numbers work */
  check_user_error("user", NULL, 0, NULL,
                   "unable to find user user: no matching entries in passwd file");
  lx_user u;
  arca_err err = {0};
  assert_int_equal(lx_user_resolve_text("33:44", NULL, NULL, NULL, 0, &u, &err), 0);
  assert_int_equal(u.uid, 33);
  assert_int_equal(u.gid, 44);
  assert_string_equal(u.home, "/");
  lx_user_free(&u);
}

static void check_tmpfs(const char *data, const char *expected) {
  json_t *opts = NULL;
  arca_err err = {0};
  if (lx_spec_tmpfs_options(data, &opts, &err) < 0) fail_msg("%s: %s", data, err.msg);
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, "");
  size_t i;
  json_t *v;
  json_array_foreach(opts, i, v) sb_printf(&sb, "%s%s", i ? "," : "", json_string_value(v));
  assert_string_equal(sb.buf, expected);
  sb_free(&sb);
  json_decref(opts);
}

static void test_tmpfs_options(void **state) {
  (void)state;
  check_tmpfs("", "noexec,nosuid,nodev,rprivate");
  check_tmpfs("size=64m", "noexec,nosuid,nodev,rprivate,size=64m");
  check_tmpfs("rw,exec,size=1m,mode=1777", "nosuid,nodev,rprivate,rw,exec,size=1m,mode=1777");
  check_tmpfs("size=1m,size=2m,shared", "noexec,nosuid,nodev,size=2m,shared");
  check_tmpfs("defaults,ro", "noexec,nosuid,nodev,rprivate,ro");
  json_t *opts = NULL;
  arca_err err = {0};
  assert_int_equal(lx_spec_tmpfs_options("size=1m,bogus", &opts, &err), -1);
  assert_string_equal(err.msg, "invalid tmpfs option \"bogus\"");
  assert_int_equal(err.status, 400);
  assert_int_equal(lx_spec_tmpfs_options("foo=1", &opts, &err), -1);
  assert_string_equal(err.msg, "invalid tmpfs option \"foo\"");
}

static void test_device_rules(void **state) {
  (void)state;
  json_t *rule = NULL;
  arca_err err = {0};
  assert_int_equal(lx_spec_device_rule("c 1:3 rwm", &rule, &err), 0);
  autofree char *text = json_dumps(rule, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(text,
                      "{\"access\":\"rwm\",\"allow\":true,\"major\":1,\"minor\":3,\"type\":\"c\"}");
  json_decref(rule);
  assert_int_equal(lx_spec_device_rule("b *:* m", &rule, &err), 0);
  assert_int_equal(json_integer_value(json_object_get(rule, "major")), -1);
  assert_int_equal(json_integer_value(json_object_get(rule, "minor")), -1);
  json_decref(rule);
  const char *bad[] = {"c 1:3", "x 1:3 rwm", "c 1:3 rwx", "c 1 3 rwm", "c a:3 r", "", "c 1:3 rwmr"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    assert_int_equal(lx_spec_device_rule(bad[i], &rule, &err), -1);
    autofree char *expected = xasprintf("invalid device cgroup rule format: '%s'", bad[i]);
    assert_string_equal(err.msg, expected);
  }
}

static void test_resources(void **state) {
  (void)state;
  json_t *hc = json_pack("{s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:b, s:I}", "Memory",
                         (json_int_t)64 << 20, "MemorySwap", (json_int_t)128 << 20, "NanoCpus",
                         (json_int_t)1500000000, "CpuShares", (json_int_t)512, "CpusetCpus", "0",
                         "PidsLimit", (json_int_t)0, "BlkioWeight", (json_int_t)300,
                         "OomKillDisable", 1, "MemorySwappiness", (json_int_t)-1);
  json_t *res = NULL;
  arca_err err = {0};
  assert_int_equal(lx_spec_resources(hc, &res, &err), 0);
  autofree char *text = json_dumps(res, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(text,
                      "{\"blockIO\":{\"weight\":300},\"cpu\":{\"cpus\":\"0\",\"period\":100000,"
                      "\"quota\":150000,\"shares\":512},\"memory\":{\"disableOOMKiller\":true,"
                      "\"limit\":67108864,\"swap\":134217728},\"pids\":{\"limit\":-1}}");
  json_decref(res);
  json_object_set_new(hc, "CpuQuota", json_integer(50000));
  json_object_set_new(hc, "PidsLimit", json_integer(42));
  assert_int_equal(lx_spec_resources(hc, &res, &err), 0);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "cpu"), "quota")),
                   50000);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "pids"), "limit")), 42);
  json_decref(res);
  json_object_set_new(hc, "CpuShares", json_integer(-1));
  assert_int_equal(lx_spec_resources(hc, &res, &err), -1);
  assert_int_equal(err.status, 400);
  json_decref(hc);
}

static void test_runc_error_text(void **state) {
  (void)state;
  char out[512];
  lx_runc_error_text(
      "{\"level\":\"warning\",\"msg\":\"w\"}\n{\"level\":\"error\",\"msg\":\"runc create "
      "failed: exec: \\\"x\\\": permission denied\",\"time\":\"t\"}\n",
      out, sizeof out);
  assert_string_equal(out, "runc create failed: exec: \"x\": permission denied");
  lx_runc_error_text("time=\"t\" level=error msg=\"container \\\"a\\\" does not exist\"\n", out,
                     sizeof out);
  assert_string_equal(out, "container \"a\" does not exist");
  lx_runc_error_text("plain failure\n", out, sizeof out);
  assert_string_equal(out, "plain failure");
}

/* ---- lifecycle --------------------------------------------------------------------- */

static void test_exit_code_and_log(void **state) {
  (void)state;
  test_ctr *c =
      run_ctr(ctr_new(NULL, "sh", "-c", "echo out; echo err >&2; printf part; exit 3", NULL));
  rt_exit ex = wait_exit(c->id, NULL, 10000);
  assert_int_equal(ex.exit_code, 3);
  assert_false(ex.oom_killed);
  int64_t now = now_ns();
  assert_true(ex.finished_ns <= now && ex.finished_ns > now - 10LL * 1000000000);
  rt_exit st_exit;
  assert_int_equal(status_of(c->id, &st_exit), RT_STATUS_STOPPED);
  assert_int_equal(st_exit.exit_code, 3);
  assert_true(st_exit.finished_ns == ex.finished_ns);

  /* k8s-file: "<RFC3339Nano> stdout|stderr F|P <text>" */
  autofree char *log = log_of(c->id);
  assert_non_null(log);
  char *save = NULL;
  int lines = 0;
  for (char *line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++) {
    int64_t ts;
    char stamp[64];
    assert_int_equal(sscanf(line, "%63s", stamp), 1);
    assert_int_equal(parse_rfc3339(stamp, &ts), 0);
    assert_true(ts > now - 10LL * 1000000000 && ts <= now);
  }
  assert_int_equal(lines, 3);
  autofree char *out = log_stream(c->id, "stdout");
  autofree char *err_text = log_stream(c->id, "stderr");
  assert_string_equal(out, "out\npart");
  assert_string_equal(err_text, "err\n");
  autofree char *raw = log_of(c->id);
  assert_non_null(strstr(raw, " stdout F out\n"));
  assert_non_null(strstr(raw, " stderr F err\n"));
  assert_non_null(strstr(raw, " stdout P part\n"));
  ctr_free(c);
}

static void test_attach_before_start(void **state) {
  (void)state;
  test_ctr *c = ctr_new(NULL, "echo", "hello", NULL);
  prepare_ok(c);
  for (int round = 0; round < 50; round++) {
    rt_attach *a = NULL;
    arca_err err = {0};
    assert_int_equal(fx.drv->ops->attach(fx.drv, c->id, &a, &err), 0);
    start_ok(c);
    collected got;
    attach_collect(a, &got, 10000);
    if (strcmp(got.out.buf, "hello\n")) fail_msg("round %d: stdout \"%s\"", round, got.out.buf);
    assert_string_equal(got.err.buf, "");
    collected_free(&got);
    fx.drv->ops->attach_free(a);
    assert_int_equal(wait_exit(c->id, NULL, 10000).exit_code, 0);
    assert_int_equal(fx.drv->ops->reset(fx.drv, c->id, &err), 0);
    assert_int_equal(status_of(c->id, NULL), RT_STATUS_CREATED);
  }
  /* 50 runs, 50 lines in the one log */
  autofree char *out = log_stream(c->id, "stdout");
  size_t lines = 0;
  for (char *p = out; (p = strstr(p, "hello\n")); p += 6) lines++;
  assert_int_equal(lines, 50);
  ctr_free(c);
}

static void test_attach_stdin(void **state) {
  (void)state;
  test_ctr *c = ctr_new(NULL, "sh", "-c", "cat; echo done >&2", NULL);
  json_object_set_new(c->config, "OpenStdin", json_true());
  json_object_set_new(c->config, "StdinOnce", json_true());
  prepare_ok(c);
  rt_attach *a = NULL;
  arca_err err = {0};
  assert_int_equal(fx.drv->ops->attach(fx.drv, c->id, &a, &err), 0);
  /* written before start: delivered once the process runs */
  static char big[200000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + i % 26);
  big[sizeof big - 1] = '\n';
  start_ok(c);
  assert_int_equal(fx.drv->ops->attach_write(a, "hello stdin\n", 12), 0);
  assert_int_equal(fx.drv->ops->attach_write(a, big, sizeof big), 0);
  fx.drv->ops->attach_close_stdin(a);
  collected got;
  attach_collect(a, &got, 20000);
  assert_int_equal(got.out.len, 12 + sizeof big);
  assert_memory_equal(got.out.buf, "hello stdin\n", 12);
  assert_memory_equal(got.out.buf + 12, big, sizeof big);
  assert_string_equal(got.err.buf, "done\n");
  collected_free(&got);
  fx.drv->ops->attach_free(a);
  assert_int_equal(wait_exit(c->id, NULL, 10000).exit_code, 0);
  ctr_free(c);
}

static void test_tty_resize(void **state) {
  (void)state;
  test_ctr *c = ctr_new(NULL, "sh", "-c", "stty size; read x; stty size; echo bye", NULL);
  json_object_set_new(c->config, "OpenStdin", json_true());
  json_object_set_new(c->config, "Tty", json_true());
  c->process.terminal = true;
  c->process.rows = 30;
  c->process.cols = 100;
  prepare_ok(c);
  rt_attach *a = NULL;
  arca_err err = {0};
  assert_int_equal(fx.drv->ops->attach(fx.drv, c->id, &a, &err), 0);
  start_ok(c);
  strbuf got;
  sb_init(&got);
  sb_puts(&got, "");
  bool resized = false;
  int64_t end = monotonic_ns() + 10LL * 1000000000;
  while (!strstr(got.buf, "bye") && monotonic_ns() < end) {
    char buf[256];
    int stream = 0;
    size_t len = 0;
    int rc = fx.drv->ops->attach_read(a, -1, &stream, buf, sizeof buf, &len);
    if (rc <= 0) break;
    assert_int_equal(stream, 1); /* a terminal has one stream */
    sb_append(&got, buf, len);
    if (!resized && strstr(got.buf, "30 100\r\n")) {
      assert_int_equal(fx.drv->ops->resize(fx.drv, c->id, NULL, 45, 132, &err), 0);
      sleep_ms(200); /* conmon applies it from its own loop */
      assert_int_equal(fx.drv->ops->attach_write(a, "\n", 1), 0);
      resized = true;
    }
  }
  if (!strstr(got.buf, "45 132\r\n")) fail_msg("terminal output: %s", got.buf);
  assert_non_null(strstr(got.buf, "30 100\r\n"));
  sb_free(&got);
  fx.drv->ops->attach_free(a);
  assert_int_equal(wait_exit(c->id, NULL, 10000).exit_code, 0);
  ctr_free(c);
}

static void test_signals(void **state) {
  (void)state;
  arca_err err = {0};
  /* sleep as PID 1 has no handler: TERM is ignored, KILL is not */
  test_ctr *c = run_ctr(ctr_new(NULL, "sleep", "100", NULL));
  assert_int_equal(status_of(c->id, NULL), RT_STATUS_RUNNING);
  assert_int_equal(fx.drv->ops->signal(fx.drv, c->id, SIGTERM, &err), 0);
  assert_true(no_exit_within(c->id, 1000));
  assert_int_equal(status_of(c->id, NULL), RT_STATUS_RUNNING);
  assert_int_equal(fx.drv->ops->signal(fx.drv, c->id, SIGKILL, &err), 0);
  assert_int_equal(wait_exit(c->id, NULL, 10000).exit_code, 137);
  /* signalling a stopped container: Docker's conflict */
  assert_int_equal(fx.drv->ops->signal(fx.drv, c->id, SIGKILL, &err), -1);
  assert_int_equal(err.status, 409);
  ctr_free(c);

  /* a handler that exits 143 */
  test_ctr *h = run_ctr(ctr_new(
      NULL, "sh", "-c", "trap 'exit 143' TERM; while :; do sleep 0.1; done", NULL));
  wait_for_child_of_init(h->id); /* a sleep runs: the trap is set */
  assert_int_equal(fx.drv->ops->signal(fx.drv, h->id, SIGTERM, &err), 0);
  assert_int_equal(wait_exit(h->id, NULL, 10000).exit_code, 143);
  ctr_free(h);
}

static long counter_of(const char *id) {
  autofree char *path = xasprintf("%s/containers/%s/rootfs/tmp/c", fx.data_root, id);
  autofree char *text = read_text(path);
  return text ? strtol(text, NULL, 10) : -1;
}

static void test_pause_resume(void **state) {
  (void)state;
  arca_err err = {0};
  test_ctr *c = run_ctr(ctr_new(
      /* rename: a reader from outside never sees the file empty */
      NULL, "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; mv /tmp/n /tmp/c; sleep 0.02; done", NULL));
  sleep_ms(300);
  assert_true(counter_of(c->id) > 0);
  assert_int_equal(fx.drv->ops->pause(fx.drv, c->id, &err), 0);
  assert_int_equal(status_of(c->id, NULL), RT_STATUS_PAUSED);
  long frozen = counter_of(c->id);
  sleep_ms(400);
  assert_int_equal(counter_of(c->id), frozen);
  assert_int_equal(fx.drv->ops->resume(fx.drv, c->id, &err), 0);
  assert_int_equal(status_of(c->id, NULL), RT_STATUS_RUNNING);
  sleep_ms(400);
  assert_true(counter_of(c->id) > frozen);
  assert_int_equal(fx.drv->ops->resume(fx.drv, c->id, &err), -1);
  assert_int_equal(err.status, 409);
  assert_int_equal(fx.drv->ops->signal(fx.drv, c->id, SIGKILL, &err), 0);
  assert_int_equal(wait_exit(c->id, NULL, 10000).exit_code, 137);
  ctr_free(c);
}

/* ---- exec -------------------------------------------------------------------------- */

typedef struct exec_result {
  char *out, *err;
  int exit_code;
} exec_result;

static int exec_run(const char *id, const char *exec_id, rt_process *p, const char *input,
                    exec_result *r, arca_err *err) {
  rt_stdio io;
  memset(r, 0, sizeof *r);
  if (fx.drv->ops->exec(fx.drv, id, exec_id, p, input != NULL, &io, err) < 0) return -1;
  assert_int_equal(io.pty, -1);
  if (input) {
    assert_true(io.stdin_fd >= 0);
    assert_int_equal(write_all(io.stdin_fd, input, strlen(input)), (ssize_t)strlen(input));
    close(io.stdin_fd);
  } else {
    assert_int_equal(io.stdin_fd, -1);
  }
  r->out = read_all_fd(io.stdout_fd);
  r->err = read_all_fd(io.stderr_fd);
  close(io.stdout_fd);
  close(io.stderr_fd);
  r->exit_code = wait_exit(id, exec_id, 10000).exit_code;
  return 0;
}

static void exec_result_free(exec_result *r) {
  free(r->out);
  free(r->err);
}

static void test_exec_pipes(void **state) {
  (void)state;
  test_ctr *c = run_ctr(ctr_new(NULL, "sleep", "100", NULL));
  char *args[] = {"sh", "-c",
                  "echo out; echo err >&2; pwd; id -u; id -G; echo $FOO; echo $HOME; exit 5"};
  char *env[] = {"PATH=/bin", "FOO=bar"};
  rt_process p = {.args = args, .nargs = 3, .env = env, .nenv = 2, .cwd = "/tmp", .user = "user"};
  exec_result r;
  arca_err err = {0};
  if (exec_run(c->id, "e1", &p, NULL, &r, &err) < 0) fail_msg("exec: %s", err.msg);
  assert_string_equal(r.out, "out\n/tmp\n1000\n1000 29 50\nbar\n/home/user\n");
  assert_string_equal(r.err, "err\n");
  assert_int_equal(r.exit_code, 5);
  exec_result_free(&r);

  /* stdin through, and the main process's user (root) when none is given */
  char *cat_args[] = {"sh", "-c", "cat; id -u"};
  rt_process q = {.args = cat_args, .nargs = 3, .env = env, .nenv = 2};
  if (exec_run(c->id, "e2", &q, "piped\n", &r, &err) < 0) fail_msg("exec: %s", err.msg);
  assert_string_equal(r.out, "piped\n0\n");
  assert_int_equal(r.exit_code, 0);
  exec_result_free(&r);

  /* killed by a signal: 128+n */
  char *kill_args[] = {"sh", "-c", "kill -9 $$"};
  rt_process k = {.args = kill_args, .nargs = 3, .env = env, .nenv = 2};
  if (exec_run(c->id, "e3", &k, NULL, &r, &err) < 0) fail_msg("exec: %s", err.msg);
  assert_int_equal(r.exit_code, 137);
  exec_result_free(&r);

  /* many at once */
  rt_stdio io[8];
  char ids[8][8];
  char *echo_args[] = {"echo", "x"};
  rt_process e = {.args = echo_args, .nargs = 2, .env = env, .nenv = 2};
  for (int i = 0; i < 8; i++) {
    snprintf(ids[i], sizeof ids[i], "m%d", i);
    assert_int_equal(fx.drv->ops->exec(fx.drv, c->id, ids[i], &e, false, &io[i], &err), 0);
  }
  for (int i = 0; i < 8; i++) {
    autofree char *out = read_all_fd(io[i].stdout_fd);
    assert_string_equal(out, "x\n");
    close(io[i].stdout_fd);
    close(io[i].stderr_fd);
    assert_int_equal(wait_exit(c->id, ids[i], 10000).exit_code, 0);
  }
  assert_int_equal(fx.drv->ops->signal(fx.drv, c->id, SIGKILL, &err), 0);
  assert_int_equal(wait_exit(c->id, NULL, 10000).exit_code, 137);
  ctr_free(c);
}

static void test_exec_pty(void **state) {
  (void)state;
  test_ctr *c = run_ctr(ctr_new(NULL, "sleep", "100", NULL));
  char *args[] = {"sh", "-c", "stty size; tty; read x; stty size; exit 7"};
  char *env[] = {"PATH=/bin", "TERM=xterm"};
  rt_process p = {
      .args = args, .nargs = 3, .env = env, .nenv = 2, .terminal = true, .rows = 25, .cols = 90};
  rt_stdio io;
  arca_err err = {0};
  if (fx.drv->ops->exec(fx.drv, c->id, "t1", &p, true, &io, &err) < 0)
    fail_msg("exec: %s", err.msg);
  assert_true(io.pty >= 0);
  assert_int_equal(io.stdout_fd, -1);
  autofree char *first = read_until(io.pty, "/dev/pts/", 5000);
  if (!strstr(first, "25 90\r\n")) fail_msg("first output: %s", first);
  assert_int_equal(fx.drv->ops->resize(fx.drv, c->id, "t1", 50, 132, &err), 0);
  assert_int_equal(write(io.pty, "\n", 1), 1);
  autofree char *second = read_until(io.pty, "50 132", 5000);
  if (!strstr(second, "50 132\r\n")) fail_msg("after resize: %s", second);
  assert_int_equal(wait_exit(c->id, "t1", 10000).exit_code, 7);
  close(io.pty);
  /* the exec is gone: resizing it is an error */
  assert_int_equal(fx.drv->ops->resize(fx.drv, c->id, "t1", 10, 10, &err), -1);
  assert_int_equal(err.status, 404);
  assert_int_equal(fx.drv->ops->signal(fx.drv, c->id, SIGKILL, &err), 0);
  assert_int_equal(wait_exit(c->id, NULL, 10000).exit_code, 137);
  ctr_free(c);
}

static void check_exec_fails(const char *id, const char *arg0, const char *user, int code,
                             int status, const char *msg) {
  char *args[] = {(char *)arg0};
  char *env[] = {"PATH=/usr/bin:/bin"};
  rt_process p = {.args = args, .nargs = 1, .env = env, .nenv = 1, .user = (char *)user};
  rt_stdio io;
  arca_err err = {0};
  assert_int_equal(fx.drv->ops->exec(fx.drv, id, "bad", &p, false, &io, &err), -1);
  assert_int_equal(err.exit_code, code);
  assert_int_equal(err.status, status);
  assert_string_equal(err.msg, msg);
}

static void test_exec_errors(void **state) {
  (void)state;
  test_ctr *c = run_ctr(ctr_new(NULL, "sleep", "100", NULL));
  check_exec_fails(c->id, "nosuch", NULL, 127, 400,
                   "OCI runtime exec failed: exec failed: unable to start container process: "
                   "exec: \"nosuch\": executable file not found in $PATH: unknown");
  check_exec_fails(c->id, "/nosuch", NULL, 127, 400,
                   "OCI runtime exec failed: exec failed: unable to start container process: "
                   "exec: \"/nosuch\": stat /nosuch: no such file or directory: unknown");
  check_exec_fails(c->id, "/etc/passwd", NULL, 126, 400,
                   "OCI runtime exec failed: exec failed: unable to start container process: "
                   "exec: \"/etc/passwd\": permission denied: unknown");
  check_exec_fails(c->id, "/tmp", NULL, 126, 400,
                   "OCI runtime exec failed: exec failed: unable to start container process: "
                   "exec: \"/tmp\": permission denied: unknown");
  /* a file without an x bit in $PATH is "not found", as Go's LookPath says */
  autofree char *plain = xasprintf("%s/containers/%s/rootfs/bin/plainfile", fx.data_root, c->id);
  write_text(plain, "not a program\n");
  check_exec_fails(c->id, "plainfile", NULL, 127, 400,
                   "OCI runtime exec failed: exec failed: unable to start container process: "
                   "exec: \"plainfile\": executable file not found in $PATH: unknown");
  check_exec_fails(c->id, "true", "nosuch", 126, 500,
                   "unable to find user nosuch: no matching entries in passwd file");
  /* runc's own refusal (a missing working directory): its text, 126 and 500 as Docker */
  char *true_args[] = {"true"};
  char *path_env[] = {"PATH=/bin"};
  rt_process nowd = {
      .args = true_args, .nargs = 1, .env = path_env, .nenv = 1, .cwd = "/nosuchdir"};
  rt_stdio io0;
  arca_err werr = {0};
  assert_int_equal(fx.drv->ops->exec(fx.drv, c->id, "wd", &nowd, false, &io0, &werr), -1);
  assert_int_equal(werr.exit_code, 126);
  assert_int_equal(werr.status, 500);
  assert_string_equal(werr.msg,
                      "OCI runtime exec failed: exec failed: unable to start container "
                      "process: chdir to cwd (\"/nosuchdir\") set in config.json failed: no "
                      "such file or directory: unknown");
  /* a symlink to an absolute path resolves inside the container, not on the host */
  autofree char *link = xasprintf("%s/containers/%s/rootfs/bin/hostonly", fx.data_root, c->id);
  assert_int_equal(symlink("/usr/bin/tini-static", link), 0);
  check_exec_fails(c->id, "hostonly", NULL, 127, 400,
                   "OCI runtime exec failed: exec failed: unable to start container process: "
                   "exec: \"hostonly\": executable file not found in $PATH: unknown");
  /* no exec into a stopped container */
  arca_err err = {0};
  assert_int_equal(fx.drv->ops->signal(fx.drv, c->id, SIGKILL, &err), 0);
  assert_int_equal(wait_exit(c->id, NULL, 10000).exit_code, 137);
  char *args[] = {"true"};
  rt_process p = {.args = args, .nargs = 1};
  rt_stdio io;
  assert_int_equal(fx.drv->ops->exec(fx.drv, c->id, "late", &p, false, &io, &err), -1);
  assert_int_equal(err.status, 409);
  ctr_free(c);
}

static void check_start_fails(const char *arg0, int code, const char *msg) {
  test_ctr *c = ctr_new(NULL, arg0, NULL);
  prepare_ok(c);
  rt_attach *a = NULL;
  arca_err err = {0};
  assert_int_equal(fx.drv->ops->attach(fx.drv, c->id, &a, &err), 0);
  assert_int_equal(fx.drv->ops->start(fx.drv, c->id, NULL, &err), -1);
  assert_int_equal(err.exit_code, code);
  assert_int_equal(err.status, 400);
  assert_string_equal(err.msg, msg);
  /* the attachment made before start ends */
  char buf[16];
  int stream;
  size_t len;
  assert_int_equal(fx.drv->ops->attach_read(a, -1, &stream, buf, sizeof buf, &len), 0);
  fx.drv->ops->attach_free(a);
  assert_int_equal(status_of(c->id, NULL), RT_STATUS_CREATED);
  assert_false(cgroup_exists(c->id));
  assert_true(no_exit_within(c->id, 300));
  assert_int_equal(fx.drv->ops->remove(fx.drv, c->id, &err), 0);
  assert_nothing_left(c->id);
  ctr_free(c);
}

static void test_start_errors(void **state) {
  (void)state;
  check_start_fails("nosuch", 127,
                    "failed to create task for container: failed to create shim task: OCI runtime "
                    "create failed: runc create failed: unable to start container process: exec: "
                    "\"nosuch\": executable file not found in $PATH: unknown");
  check_start_fails("/etc/passwd", 126,
                    "failed to create task for container: failed to create shim task: OCI runtime "
                    "create failed: runc create failed: unable to start container process: exec: "
                    "\"/etc/passwd\": permission denied: unknown");
  /* an unknown user fails at start, not at prepare, as Docker */
  test_ctr *c = ctr_new(NULL, "true", NULL);
  c->process.user = "nosuch";
  prepare_ok(c);
  arca_err err = {0};
  assert_int_equal(fx.drv->ops->start(fx.drv, c->id, NULL, &err), -1);
  assert_string_equal(err.msg, "unable to find user nosuch: no matching entries in passwd file");
  assert_int_equal(err.status, 500);
  assert_int_equal(status_of(c->id, NULL), RT_STATUS_CREATED);
  ctr_free(c);
}

/* ---- users, filesystems, init ------------------------------------------------------ */

/* Runs args to completion and returns its stdout from the log. */
static char *output_of(test_ctr *c, int expected_code) {
  run_ctr(c);
  rt_exit ex = wait_exit(c->id, NULL, 15000);
  char *out = log_stream(c->id, "stdout");
  if (ex.exit_code != expected_code) {
    autofree char *errs = log_stream(c->id, "stderr");
    fail_msg("exit %d (expected %d); stdout: %s stderr: %s", ex.exit_code, expected_code, out,
             errs);
  }
  return out;
}

static void check_user_in_container(const char *user, const char *expected) {
  test_ctr *c = ctr_new(NULL, "sh", "-c", "echo $(id -u):$(id -g):$(id -G):$HOME", NULL);
  c->process.user = (char *)user;
  autofree char *out = output_of(c, 0);
  assert_string_equal(out, expected);
  ctr_free(c);
}

static void test_users_in_container(void **state) {
  (void)state;
  check_user_in_container("", "0:0:0:/root\n");
  check_user_in_container("user", "1000:1000:1000 29 50:/home/user\n");
  check_user_in_container("1000:50", "1000:50:50:/home/user\n");
  check_user_in_container("user:audio", "1000:29:29:/home/user\n");
  check_user_in_container("4242", "4242:0:0:/\n");
  check_user_in_container("nobody", "65534:65534:65534:/nonexistent\n");
  /* GroupAdd, and HOME from the environment wins */
  test_ctr *c = ctr_new(NULL, "sh", "-c", "echo $(id -G):$HOME", NULL);
  c->process.user = "nobody";
  char *groups[] = {"staff", "4000"};
  c->process.extra_groups = groups;
  c->process.nextra_groups = 2;
  c->env[c->nenv++] = "HOME=/custom";
  autofree char *out = output_of(c, 0);
  assert_string_equal(out, "65534 50 4000:/custom\n");
  ctr_free(c);
  /* a working directory that does not exist is made (root-owned, as Docker) */
  test_ctr *w = ctr_new(NULL, "sh", "-c", "pwd; stat -c %u:%a .", NULL);
  w->process.cwd = "/new/work/dir";
  w->process.user = "user";
  autofree char *wout = output_of(w, 0);
  assert_string_equal(wout, "/new/work/dir\n0:755\n");
  ctr_free(w);
}

static void test_readonly_rootfs_and_tmpfs(void **state) {
  (void)state;
  json_t *hc =
      json_pack("{s:b, s:{s:s}}", "ReadonlyRootfs", 1, "Tmpfs", "/scratch", "size=1m,exec");
  test_ctr *c = ctr_new(hc, "sh", "-c",
                        "touch /x 2>/dev/null && echo rootfs-writable; "
                        "touch /dev/shm/x && echo shm-ok; "
                        "echo hi > /scratch/f && cat /scratch/f; "
                        "echo hi > /tmpfs2/f && echo tmpfs2-ok; "
                        "grep -E ' /scratch | /tmpfs2 ' /proc/mounts | cut -d' ' -f2-4; "
                        "echo data > /etc/hosts 2>/dev/null || echo hosts-ro",
                        NULL);
  c->mounts[c->nmounts++] = (rt_mount){.type = "tmpfs",
                                       .destination = "/tmpfs2",
                                       .options = (char *[]){"size=65536k", "mode=1777"},
                                       .noptions = 2};
  autofree char *hosts = xasprintf("%s/hosts", fx.tmp);
  write_text(hosts, "127.0.0.1 localhost\n");
  c->spec.hosts_file = hosts;
  autofree char *out = output_of(c, 0);
  assert_string_equal(
      out,
      "shm-ok\nhi\ntmpfs2-ok\n/tmpfs2 tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k\n"
      "/scratch tmpfs rw,nosuid,nodev,relatime,size=1024k\nhosts-ro\n");
  ctr_free(c);
}

static void test_bind_mounts(void **state) {
  (void)state;
  autofree char *dir = xasprintf("%s/bind-src", fx.tmp);
  assert_int_equal(mkdir_p(dir, 0755, NULL), 0);
  autofree char *file = xasprintf("%s/file", dir);
  write_text(file, "from the host\n");
  autofree char *rw_dir = xasprintf("%s/bind-rw", fx.tmp);
  assert_int_equal(mkdir_p(rw_dir, 0755, NULL), 0);
  test_ctr *c =
      ctr_new(NULL, "sh", "-c",
              "cat /data/file; echo x > /data/new 2>/dev/null || echo ro-refused; "
              "echo written > /rw/out; grep ' /data ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1",
              NULL);
  c->mounts[c->nmounts++] = (rt_mount){.type = "bind",
                                       .source = dir,
                                       .destination = "/data",
                                       .options = (char *[]){"rbind", "ro", "rprivate"},
                                       .noptions = 3};
  c->mounts[c->nmounts++] = (rt_mount){.type = "bind", .source = rw_dir, .destination = "/rw"};
  autofree char *out = output_of(c, 0);
  assert_string_equal(out, "from the host\nro-refused\nro\n");
  autofree char *written_path = xasprintf("%s/out", rw_dir);
  autofree char *written = read_text(written_path);
  assert_string_equal(written, "written\n");
  autofree char *not_created = xasprintf("%s/new", dir);
  assert_int_not_equal(access(not_created, F_OK), 0);
  ctr_free(c);
}

static void test_init(void **state) {
  (void)state;
  if (!fx.tini) {
    fprintf(stderr, "test_init: tini-static not installed, skipped\n");
    skip();
  }
  json_t *hc = json_pack("{s:b}", "Init", 1);
  test_ctr *c = ctr_new(hc, "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo", NULL);
  autofree char *out = output_of(c, 0);
  assert_string_equal(out, "/sbin/docker-init -- sh -c tr '\\0' ' ' < /proc/1/cmdline; echo \n");
  ctr_free(c);
  /* tini forwards TERM to sleep, which dies of it: 128+15 */
  test_ctr *s = run_ctr(ctr_new(json_pack("{s:b}", "Init", 1), "sleep", "100", NULL));
  wait_for_child_of_init(s->id); /* tini forwards signals once its child runs */
  arca_err err = {0};
  assert_int_equal(fx.drv->ops->signal(fx.drv, s->id, SIGTERM, &err), 0);
  assert_int_equal(wait_exit(s->id, NULL, 10000).exit_code, 143);
  ctr_free(s);
}

static void test_security_defaults(void **state) {
  (void)state;
  const char *probe =
      "grep -E '^(CapBnd|Seccomp|NoNewPrivs):' /proc/self/status | tr -s '\\t' ' '; "
      "echo nofile=$(ulimit -n); hostname";
  test_ctr *c = ctr_new(NULL, "sh", "-c", probe, NULL);
  autofree char *out = output_of(c, 0);
  assert_string_equal(
      out, "CapBnd: 00000000a80425fb\nNoNewPrivs: 0\nSeccomp: 2\nnofile=20000\narca-test\n");
  ctr_free(c);
  json_t *hc =
      json_pack("{s:[s,s], s:[s], s:[s], s:[{s:s, s:i, s:i}]}", "SecurityOpt", "seccomp=unconfined",
                "no-new-privileges", "CapAdd", "NET_ADMIN", "CapDrop", "MKNOD", "Ulimits", "Name",
                "nofile", "Soft", 1024, "Hard", 4096);
  test_ctr *u = ctr_new(hc, "sh", "-c", probe, NULL);
  autofree char *uout = output_of(u, 0);
  /* a80425fb - MKNOD (bit 27) + NET_ADMIN (bit 12) */
  assert_string_equal(
      uout, "CapBnd: 00000000a00435fb\nNoNewPrivs: 1\nSeccomp: 0\nnofile=1024\narca-test\n");
  ctr_free(u);
}

/* ---- cgroups, restart, removal ------------------------------------------------------ */

static char *cgroup_file(const char *id, const char *v1_controller, const char *file) {
  autofree char *path = lx_cgroup_v2()
                            ? xasprintf("/sys/fs/cgroup/arca/%s/%s", id, file)
                            : xasprintf("/sys/fs/cgroup/%s/arca/%s/%s", v1_controller, id, file);
  char *text = read_text(path);
  if (text) text[strcspn(text, "\n")] = '\0';
  return text;
}

static void test_resources_in_cgroup(void **state) {
  (void)state;
  bool v2 = lx_cgroup_v2();
  json_t *hc = json_pack("{s:I, s:I, s:I, s:I}", "Memory", (json_int_t)64 << 20, "MemorySwap",
                         (json_int_t)128 << 20, "PidsLimit", (json_int_t)50, "NanoCpus",
                         (json_int_t)500000000);
  test_ctr *c = run_ctr(ctr_new(hc, "sleep", "100", NULL));
  autofree char *mem = cgroup_file(c->id, "memory", v2 ? "memory.max" : "memory.limit_in_bytes");
  assert_non_null(mem);
  assert_string_equal(mem, "67108864");
  autofree char *pids = cgroup_file(c->id, "pids", "pids.max");
  assert_string_equal(pids, "50");
  autofree char *quota = cgroup_file(c->id, "cpu", v2 ? "cpu.max" : "cpu.cfs_quota_us");
  assert_string_equal(quota, v2 ? "50000 100000" : "50000");

  /* docker update: live, and kept in the bundle for the next start */
  json_t *update = json_pack("{s:I, s:I, s:I}", "Memory", (json_int_t)96 << 20, "MemorySwap",
                             (json_int_t)192 << 20, "PidsLimit", (json_int_t)70);
  arca_err err = {0};
  if (fx.drv->ops->update(fx.drv, c->id, update, &err) < 0) fail_msg("update: %s", err.msg);
  json_decref(update);
  autofree char *mem2 = cgroup_file(c->id, "memory", v2 ? "memory.max" : "memory.limit_in_bytes");
  assert_string_equal(mem2, "100663296");
  autofree char *pids2 = cgroup_file(c->id, "pids", "pids.max");
  assert_string_equal(pids2, "70");
  autofree char *config_path = lx_config_path(fx.data_root, c->id);
  json_t *config = json_load_file(config_path, 0, NULL);
  json_t *res = json_object_get(json_object_get(config, "linux"), "resources");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "memory"), "limit")),
                   96 << 20);
  assert_true(json_array_size(json_object_get(res, "devices")) > 0);
  json_decref(config);
  assert_int_equal(fx.drv->ops->signal(fx.drv, c->id, SIGKILL, &err), 0);
  assert_int_equal(wait_exit(c->id, NULL, 10000).exit_code, 137);
  /* stopped: the bundle alone changes, and the next start uses it */
  json_t *later = json_pack("{s:I}", "PidsLimit", (json_int_t)33);
  assert_int_equal(fx.drv->ops->update(fx.drv, c->id, later, &err), 0);
  json_decref(later);
  assert_int_equal(fx.drv->ops->reset(fx.drv, c->id, &err), 0);
  start_ok(c);
  autofree char *pids3 = cgroup_file(c->id, "pids", "pids.max");
  assert_string_equal(pids3, "33");
  assert_int_equal(fx.drv->ops->signal(fx.drv, c->id, SIGKILL, &err), 0);
  assert_int_equal(wait_exit(c->id, NULL, 10000).exit_code, 137);
  ctr_free(c);
}

static void test_oom(void **state) {
  (void)state;
  json_t *hc =
      json_pack("{s:I, s:I}", "Memory", (json_int_t)16 << 20, "MemorySwap", (json_int_t)16 << 20);
  /* tail keeps the whole unterminated line in memory */
  test_ctr *c =
      run_ctr(ctr_new(hc, "sh", "-c", "head -c 200000000 /dev/zero | tail >/dev/null", NULL));
  rt_exit ex = wait_exit(c->id, NULL, 30000);
  assert_true(ex.oom_killed);
  assert_int_equal(ex.exit_code, 137);
  pthread_mutex_lock(&fx.lock);
  bool reported = fx.nooms == 1 && !strcmp(fx.ooms[0], c->id);
  pthread_mutex_unlock(&fx.lock);
  assert_true(reported);
  rt_exit st;
  assert_int_equal(status_of(c->id, &st), RT_STATUS_STOPPED);
  assert_true(st.oom_killed);
  ctr_free(c);
}

static rt_driver *new_driver(void) {
  rt_linux_config cfg = {.data_root = fx.data_root,
                         .exec_root = fx.exec_root,
                         .runtime = "runc",
                         .runtime_path = fx.runc,
                         .conmon_path = fx.conmon,
                         .netavark_path = fx.netavark,
                         .aardvark_path = fx.aardvark,
                         .init_path = fx.tini};
  rt_driver *d = NULL;
  arca_err err = {0};
  if (rt_linux_new(&cfg, on_exit_cb, on_oom_cb, NULL, &d, &err) < 0)
    fail_msg("driver: %s", err.msg);
  return d;
}

static void test_daemon_restart(void **state) {
  (void)state;
  test_ctr *running = run_ctr(ctr_new(NULL, "sh", "-c", "echo before; sleep 100", NULL));
  test_ctr *quick = run_ctr(ctr_new(NULL, "sh", "-c", "sleep 1; exit 4", NULL));
  rt_attach *a = NULL;
  arca_err err = {0};
  assert_int_equal(fx.drv->ops->attach(fx.drv, running->id, &a, &err), 0);
  fx.drv->ops->attach_free(a);

  /* the daemon goes away; conmon and the containers do not */
  fx.drv->ops->destroy(fx.drv);
  fx.drv = NULL;
  sleep_ms(2000);
  fx.drv = new_driver();

  rt_exit ex;
  assert_int_equal(status_of(running->id, &ex), RT_STATUS_RUNNING);
  assert_int_equal(status_of(quick->id, &ex), RT_STATUS_STOPPED);
  assert_int_equal(ex.exit_code, 4);
  assert_true(ex.finished_ns > 0 && ex.finished_ns < now_ns());
  /* the re-adopted container: attach, exec, signals, exit event */
  assert_int_equal(fx.drv->ops->attach(fx.drv, running->id, &a, &err), 0);
  char *args[] = {"echo", "exec-after-restart"};
  char *env[] = {"PATH=/bin"};
  rt_process p = {.args = args, .nargs = 2, .env = env, .nenv = 1};
  exec_result r;
  if (exec_run(running->id, "after", &p, NULL, &r, &err) < 0) fail_msg("exec: %s", err.msg);
  assert_string_equal(r.out, "exec-after-restart\n");
  exec_result_free(&r);
  assert_int_equal(fx.drv->ops->signal(fx.drv, running->id, SIGKILL, &err), 0);
  assert_int_equal(wait_exit(running->id, NULL, 10000).exit_code, 137);
  char buf[64];
  int stream;
  size_t len;
  assert_int_equal(fx.drv->ops->attach_read(a, -1, &stream, buf, sizeof buf, &len), 0);
  fx.drv->ops->attach_free(a);
  autofree char *out = log_stream(running->id, "stdout");
  assert_string_equal(out, "before\n");
  /* a stopped one is not reported again by the new driver */
  assert_true(no_exit_within(quick->id, 1500));
  ctr_free(running);
  ctr_free(quick);
}

static void test_remove_leaves_nothing(void **state) {
  (void)state;
  arca_err err = {0};
  /* running, with a network namespace, an exec and an attachment pending elsewhere */
  test_ctr *c = ctr_new(NULL, "sleep", "100", NULL);
  c->spec.network_mode = "sandbox";
  run_ctr(c);
  autofree char *netns = lx_netns_path(fx.exec_root, c->id);
  assert_true(lx_is_mountpoint(netns));
  assert_true(cgroup_exists(c->id));
  char *args[] = {"/bin/sleep", "100"};
  rt_process p = {.args = args, .nargs = 2};
  rt_stdio io;
  assert_int_equal(fx.drv->ops->exec(fx.drv, c->id, "x", &p, false, &io, &err), 0);
  assert_int_equal(fx.drv->ops->remove(fx.drv, c->id, &err), 0);
  assert_nothing_left(c->id);
  /* the exec died with its container and its pipes end */
  autofree char *rest = read_all_fd(io.stdout_fd);
  assert_string_equal(rest, "");
  close(io.stdout_fd);
  close(io.stderr_fd);
  assert_int_equal(wait_exit(c->id, "x", 10000).exit_code, 137);
  /* a paused one */
  test_ctr *paused = run_ctr(ctr_new(NULL, "sleep", "100", NULL));
  assert_int_equal(fx.drv->ops->pause(fx.drv, paused->id, &err), 0);
  assert_int_equal(fx.drv->ops->remove(fx.drv, paused->id, &err), 0);
  assert_nothing_left(paused->id);
  ctr_free(paused);
  /* one whose process ended by itself: the runtime's state goes without runc delete */
  test_ctr *ended = run_ctr(ctr_new(NULL, "true", NULL));
  assert_int_equal(wait_exit(ended->id, NULL, 10000).exit_code, 0);
  autofree char *ended_state = xasprintf("%s/runc/%s", fx.exec_root, ended->id);
  assert_int_equal(access(ended_state, F_OK), 0);
  assert_int_equal(fx.drv->ops->remove(fx.drv, ended->id, &err), 0);
  assert_nothing_left(ended->id);
  ctr_free(ended);
  /* removing twice is fine; a prepared, never started one too */
  assert_int_equal(fx.drv->ops->remove(fx.drv, c->id, &err), 0);
  test_ctr *never = ctr_new(NULL, "true", NULL);
  prepare_ok(never);
  assert_int_equal(status_of(never->id, NULL), RT_STATUS_CREATED);
  assert_int_equal(fx.drv->ops->remove(fx.drv, never->id, &err), 0);
  assert_nothing_left(never->id);
  ctr_free(c);
  ctr_free(never);
  /* their directories went to the trash at once; the trash empties in the background */
  lx_trash_settle(lx_of(fx.drv));
  const char *roots[] = {fx.data_root, fx.exec_root};
  for (size_t i = 0; i < 2; i++) {
    autofree char *trash = xasprintf("%s/trash", roots[i]);
    DIR *dir = opendir(trash);
    assert_non_null(dir);
    size_t entries = 0;
    for (struct dirent *de; (de = readdir(dir));) entries += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(dir);
    assert_int_equal(entries, 0);
  }
}

/* ---- layers, network ---------------------------------------------------------------- */

static void test_many_layers(void **state) {
  (void)state;
  test_ctr *c = ctr_new(NULL, "sh", "-c", "cat /etc/v; ls /layers | wc -l", NULL);
  for (int i = 0; i < 100; i++) {
    /* long paths on purpose: 100 of them exceed a page */
    autofree char *dir =
        xasprintf("%s/layers/a-rather-long-layer-directory-name-%03d-padding-padding", fx.tmp, i);
    autofree char *etc = xasprintf("%s/etc", dir);
    autofree char *ldir = xasprintf("%s/layers", dir);
    assert_int_equal(mkdir_p(etc, 0755, NULL), 0);
    assert_int_equal(mkdir_p(ldir, 0755, NULL), 0);
    autofree char *v = xasprintf("%s/v", etc);
    autofree char *vtext = xasprintf("%d\n", i);
    write_text(v, vtext);
    autofree char *f = xasprintf("%s/f%03d", ldir, i);
    write_text(f, "x");
    c->layers[c->nlayers++] = xstrdup(dir);
  }
  autofree char *out = output_of(c, 0);
  assert_string_equal(out, "99\n100\n");
  for (size_t i = 2; i < c->nlayers; i++) free((char *)c->layers[i]);
  ctr_free(c);
}

static void test_empty_image(void **state) {
  (void)state;
  /* no layers: the root is the upper dir alone; busybox comes in by bind mount */
  test_ctr *c = ctr_new(NULL, "/bb/busybox", "echo", "empty", NULL);
  c->nlayers = 0;
  autofree char *bb = xasprintf("%s/bin", fx.busybox_layer);
  c->mounts[c->nmounts++] = (rt_mount){.type = "bind",
                                       .source = bb,
                                       .destination = "/bb",
                                       .options = (char *[]){"ro"},
                                       .noptions = 1};
  autofree char *out = output_of(c, 0);
  assert_string_equal(out, "empty\n");
  ctr_free(c);
}

static void test_network(void **state) {
  (void)state;
  if (!fx.netavark) {
    fprintf(stderr, "test_network: netavark not installed, skipped\n");
    skip();
  }
  test_ctr *c =
      ctr_new(NULL, "sh", "-c", "read x; ip -4 addr show eth0 | grep -o 'inet [0-9./]*'", NULL);
  json_object_set_new(c->config, "OpenStdin", json_true());
  c->spec.network_mode = "sandbox";
  prepare_ok(c);
  char net_id[65];
  random_hex(net_id, 32);
  json_t *req = json_pack(
      "{s:s, s:s, s:{s:{s:s, s:[s], s:[]}}, s:{s:{s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:b, s:b, "
      "s:b, s:{s:s}}}}",
      "container_id", c->id, "container_name", "nettest", "networks", "arcatest", "interface_name",
      "eth0", "static_ips", "10.99.0.2", "aliases", "network_info", "arcatest", "name", "arcatest",
      "id", net_id, "driver", "bridge", "network_interface", "arca-test0", "subnets", "subnet",
      "10.99.0.0/24", "gateway", "10.99.0.1", "ipv6_enabled", 0, "internal", 0, "dns_enabled", 0,
      "ipam_options", "driver", "host-local");
  json_t *result = NULL;
  arca_err err = {0};
  if (fx.drv->ops->network_attach(fx.drv, c->id, req, &result, &err) < 0) {
    json_decref(req);
    fail_msg("network_attach: %s", err.msg);
  }
  json_t *subnets = json_object_get(
      json_object_get(json_object_get(json_object_get(result, "arcatest"), "interfaces"), "eth0"),
      "subnets");
  assert_string_equal(json_string_value(json_object_get(json_array_get(subnets, 0), "ipnet")),
                      "10.99.0.2/24");
  json_decref(result);
  assert_int_not_equal(if_nametoindex("arca-test0"), 0);

  rt_attach *a = NULL;
  assert_int_equal(fx.drv->ops->attach(fx.drv, c->id, &a, &err), 0);
  start_ok(c);
  assert_int_equal(fx.drv->ops->attach_write(a, "\n", 1), 0);
  collected got;
  attach_collect(a, &got, 10000);
  assert_string_equal(got.out.buf, "inet 10.99.0.2/24\n");
  collected_free(&got);
  fx.drv->ops->attach_free(a);
  assert_int_equal(wait_exit(c->id, NULL, 10000).exit_code, 0);

  int rc = fx.drv->ops->network_detach(fx.drv, c->id, req, &err);
  if (rc < 0) {
    json_decref(req);
    fail_msg("network_detach: %s", err.msg);
  }
  /* the bridge stays warm for the next container, held by the driver's own link */
  char anchor[16];
  snprintf(anchor, sizeof anchor, "aw%.13s", net_id);
  assert_int_not_equal(if_nametoindex("arca-test0"), 0);
  assert_int_not_equal(if_nametoindex(anchor), 0);
  /* released: the driver lets netavark tear everything down through a sandbox of its own */
  char sandbox[65];
  random_hex(sandbox, 32);
  json_object_set_new(req, "container_id", json_string(sandbox));
  json_array_set_new(json_object_get(json_object_get(json_object_get(req, "networks"), "arcatest"), "static_ips"), 0,
                     json_string("10.99.0.3"));
  rc = fx.drv->ops->network_release(fx.drv, req, &err);
  json_decref(req);
  if (rc < 0) fail_msg("network_release: %s", err.msg);
  assert_int_equal(if_nametoindex("arca-test0"), 0);
  assert_int_equal(if_nametoindex(anchor), 0);
  autofree char *sandbox_ns = lx_netns_path(fx.exec_root, sandbox);
  assert_int_not_equal(access(sandbox_ns, F_OK), 0);
  /* a bad request: netavark's own error */
  json_t *bad = json_pack("{s:s}", "container_id", c->id);
  assert_int_equal(fx.drv->ops->network_attach(fx.drv, c->id, bad, &result, &err), -1);
  assert_non_null(strstr(err.msg, "netavark setup: "));
  json_decref(bad);
  ctr_free(c);
}

/* ---- devices, sysctls, shared namespaces, privileged ----------------------------- */

static void test_devices_sysctls_shm(void **state) {
  (void)state;
  json_t *hc =
      json_pack("{s:[{s:s, s:s, s:s}], s:[s], s:{s:s}, s:I, s:i, s:s}", "Devices", "PathOnHost",
                "/dev/null", "PathInContainer", "/dev/mynull", "CgroupPermissions", "rwm",
                "DeviceCgroupRules", "b 7:* r", "Sysctls", "net.ipv4.ip_forward", "1", "ShmSize",
                (json_int_t)8 << 20, "OomScoreAdj", 100, "IpcMode", "private");
  const char *probe =
      "echo x > /dev/mynull && echo mynull-ok; mknod /tmp/l b 7 7; "
      "(: < /tmp/l) 2>&1 && echo opened; cat /proc/sys/net/ipv4/ip_forward; "
      "cat /proc/sys/net/ipv4/ip_unprivileged_port_start; "
      "grep ' /dev/shm ' /proc/mounts | grep -o 'size=[0-9]*k'; "
      "cat /proc/self/oom_score_adj; cat /proc/sys/kernel/domainname";
  test_ctr *c = ctr_new(hc, "sh", "-c", probe, NULL);
  json_object_set_new(c->config, "Domainname", json_string("example.test"));
  autofree char *out = output_of(c, 0);
  assert_string_equal(out, "mynull-ok\nopened\n1\n0\nsize=8192k\n100\nexample.test\n");
  ctr_free(c);
  /* without the rule the device cgroup refuses it; the default shm is 64 MiB */
  test_ctr *d = ctr_new(json_pack("{s:s}", "IpcMode", "private"), "sh", "-c",
                        "mknod /tmp/l b 7 7; (: < /tmp/l) 2>&1 | sed 's/.*: //'; "
                        "grep ' /dev/shm ' /proc/mounts | grep -o 'size=[0-9]*k'",
                        NULL);
  autofree char *dout = output_of(d, 0);
  assert_string_equal(dout, "Operation not permitted\nsize=65536k\n");
  ctr_free(d);
  /* a device that is not one */
  test_ctr *e = ctr_new(json_pack("{s:[{s:s, s:s, s:s}]}", "Devices", "PathOnHost", "/etc/hostname",
                                  "PathInContainer", "/dev/x", "CgroupPermissions", "rwm"),
                        "true", NULL);
  ctr_sync(e);
  arca_err err = {0};
  assert_int_equal(fx.drv->ops->prepare(fx.drv, &e->spec, &err), -1);
  assert_string_equal(err.msg,
                      "error gathering device information while adding custom device "
                      "\"/etc/hostname\": not a device node");
  ctr_free(e);
}

static void test_custom_seccomp(void **state) {
  (void)state;
  json_t *hc = json_pack("{s:[s]}", "SecurityOpt",
                         "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                         "[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\"}]}");
  test_ctr *c = ctr_new(
      hc, "sh", "-c",
      "mkdir /tmp/d 2>&1 | sed 's/.*: //'; grep Seccomp: /proc/self/status | tr -s '\\t' ' '",
      NULL);
  autofree char *out = output_of(c, 0);
  assert_string_equal(out, "Operation not permitted\nSeccomp: 2\n");
  ctr_free(c);
  test_ctr *bad = ctr_new(json_pack("{s:[s]}", "SecurityOpt", "bogus=1"), "true", NULL);
  ctr_sync(bad);
  arca_err err = {0};
  assert_int_equal(fx.drv->ops->prepare(fx.drv, &bad->spec, &err), -1);
  assert_int_equal(err.status, 400);
  assert_string_equal(err.msg, "invalid --security-opt 2: \"bogus=1\"");
  ctr_free(bad);
}

static void test_shared_namespaces(void **state) {
  (void)state;
  arca_err err = {0};
  test_ctr *a = ctr_new(json_pack("{s:s}", "IpcMode", "shareable"), "sleep", "100", NULL);
  a->spec.network_mode = "sandbox";
  run_ctr(a);
  char *touch[] = {"/bin/touch", "/dev/shm/marker"};
  rt_process p = {.args = touch, .nargs = 2};
  exec_result r;
  if (exec_run(a->id, "touch", &p, NULL, &r, &err) < 0) fail_msg("exec: %s", err.msg);
  exec_result_free(&r);

  autofree char *net = xasprintf("container:%s", a->id);
  json_t *hc = json_pack("{s:s, s:s}", "IpcMode", net, "PidMode", net);
  test_ctr *b = ctr_new(
      hc, "sh", "-c",
      "ls /dev/shm; readlink /proc/self/ns/net; tr '\\0' ' ' < /proc/1/cmdline; echo", NULL);
  b->spec.network_mode = net;
  b->spec.ipc_container = a->id;
  b->spec.pid_container = a->id;
  autofree char *out = output_of(b, 0);
  autofree char *netns = lx_netns_path(fx.exec_root, a->id);
  struct stat st;
  assert_int_equal(stat(netns, &st), 0);
  autofree char *expected = xasprintf("marker\nnet:[%lu]\nsleep 100 \n", (unsigned long)st.st_ino);
  assert_string_equal(out, expected);
  ctr_free(b);

  /* host network: the host's sysctls, none of the defaults */
  test_ctr *h = ctr_new(
      NULL, "sh", "-c",
      "cat /proc/sys/net/ipv4/ip_unprivileged_port_start; readlink /proc/self/ns/net", NULL);
  h->spec.network_mode = "host";
  autofree char *hout = output_of(h, 0);
  autofree char *host_ns = NULL;
  char link[64];
  ssize_t n = readlink("/proc/self/ns/net", link, sizeof link - 1);
  assert_true(n > 0);
  link[n] = '\0';
  autofree char *host_port = read_text("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  autofree char *hexpected = xasprintf("%s%s\n", host_port, link);
  assert_string_equal(hout, hexpected);
  ctr_free(h);

  assert_int_equal(fx.drv->ops->signal(fx.drv, a->id, SIGKILL, &err), 0);
  assert_int_equal(wait_exit(a->id, NULL, 10000).exit_code, 137);
  /* joining a container that is not running */
  autofree char *pid_mode = xasprintf("container:%s", a->id);
  test_ctr *late = ctr_new(json_pack("{s:s}", "PidMode", pid_mode), "true", NULL);
  late->spec.pid_container = a->id;
  prepare_ok(late);
  assert_int_equal(fx.drv->ops->start(fx.drv, late->id, NULL, &err), -1);
  assert_int_equal(err.status, 409);
  autofree char *msg =
      xasprintf("failed to join PID namespace: container %s is not running", a->id);
  assert_string_equal(err.msg, msg);
  ctr_free(late);
  /* IPC of a container whose IPC is private */
  test_ctr *priv = run_ctr(ctr_new(json_pack("{s:s}", "IpcMode", "private"), "sleep", "100", NULL));
  autofree char *ipc_mode = xasprintf("container:%s", priv->id);
  test_ctr *joiner = ctr_new(json_pack("{s:s}", "IpcMode", ipc_mode), "true", NULL);
  joiner->spec.ipc_container = priv->id;
  prepare_ok(joiner);
  assert_int_equal(fx.drv->ops->start(fx.drv, joiner->id, NULL, &err), -1);
  assert_int_equal(err.status, 400);
  autofree char *ipc_msg = xasprintf(
      "failed to join IPC namespace: container %s: non-shareable IPC "
      "(hint: use IpcMode:shareable for the donor container)",
      priv->id);
  assert_string_equal(err.msg, ipc_msg);
  assert_int_equal(fx.drv->ops->signal(fx.drv, priv->id, SIGKILL, &err), 0);
  assert_int_equal(wait_exit(priv->id, NULL, 10000).exit_code, 137);
  ctr_free(joiner);
  ctr_free(priv);
  ctr_free(a);
}

static void test_attach_cancel(void **state) {
  (void)state;
  int cancel = eventfd(0, EFD_CLOEXEC);
  assert_true(cancel >= 0);
  test_ctr *c = ctr_new(NULL, "sleep", "100", NULL);
  prepare_ok(c);
  rt_attach *pending = NULL, *live = NULL;
  arca_err err = {0};
  assert_int_equal(fx.drv->ops->attach(fx.drv, c->id, &pending, &err), 0);
  start_ok(c);
  assert_int_equal(fx.drv->ops->attach(fx.drv, c->id, &live, &err), 0);
  /* nothing to read: a cancel from another thread ends the wait */
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, sleep_then_signal, &cancel), 0);
  int64_t t0 = monotonic_ns();
  char buf[16];
  int stream;
  size_t len;
  assert_int_equal(fx.drv->ops->attach_read(live, cancel, &stream, buf, sizeof buf, &len), 0);
  int64_t waited = monotonic_ns() - t0;
  assert_true(waited >= 150LL * 1000000 && waited < 5000LL * 1000000);
  pthread_join(t, NULL);
  assert_int_equal(fx.drv->ops->attach_read(pending, cancel, &stream, buf, sizeof buf, &len), 0);
  fx.drv->ops->attach_free(live);
  fx.drv->ops->attach_free(pending);
  /* and one never connected: freed while pending */
  test_ctr *d = ctr_new(NULL, "true", NULL);
  prepare_ok(d);
  rt_attach *never = NULL;
  assert_int_equal(fx.drv->ops->attach(fx.drv, d->id, &never, &err), 0);
  assert_int_equal(fx.drv->ops->attach_read(never, cancel, &stream, buf, sizeof buf, &len), 0);
  fx.drv->ops->attach_free(never);
  close(cancel);
  assert_int_equal(fx.drv->ops->signal(fx.drv, c->id, SIGKILL, &err), 0);
  assert_int_equal(wait_exit(c->id, NULL, 10000).exit_code, 137);
  ctr_free(c);
  ctr_free(d);
}

static void test_privileged(void **state) {
  (void)state;
  json_t *hc = json_pack("{s:b}", "Privileged", 1);
  test_ctr *c = ctr_new(
      hc, "sh", "-c",
      "grep -E '^(CapEff|Seccomp):' /proc/self/status | tr -s '\\t' ' '; "
      "grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1; "
      "test -c /dev/net/tun && echo host-devices; cat /proc/kcore >/dev/null 2>&1 | head -c0; "
      "mkdir -p /mnt && mount -t tmpfs none /mnt && echo mount-ok",
      NULL);
  prepare_ok(c);
  arca_err err = {0};
  if (fx.drv->ops->start(fx.drv, c->id, NULL, &err) < 0) {
    fprintf(stderr, "test_privileged: start refused on this host (%s), skipped\n", err.msg);
    ctr_free(c);
    skip();
  }
  rt_exit ex = wait_exit(c->id, NULL, 15000);
  autofree char *out = log_stream(c->id, "stdout");
  autofree char *errs = log_stream(c->id, "stderr");
  if (ex.exit_code != 0) fail_msg("exit %d; stdout: %s stderr: %s", ex.exit_code, out, errs);
  char expected[256];
  snprintf(expected, sizeof expected, "CapEff: %016llx\nSeccomp: 0\nrw\nhost-devices\nmount-ok\n",
           (unsigned long long)oci_caps_host_available());
  assert_string_equal(out, expected);
  ctr_free(c);
}

/* ---- group fixture ------------------------------------------------------------------ */

static const char *skip_reason;

static int copy_file(const char *from, const char *to, mode_t mode) {
  autofree char *data = NULL;
  size_t len = 0;
  if (read_file(from, 64u << 20, &data, &len, NULL) < 0) return -1;
  autoclose int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0 || write_all(fd, data, len) != (ssize_t)len) return -1;
  return 0;
}

static int build_image(void) {
  snprintf(fx.busybox_layer, sizeof fx.busybox_layer, "%s/layers/busybox", fx.tmp);
  snprintf(fx.etc_layer, sizeof fx.etc_layer, "%s/layers/etc", fx.tmp);
  const char *dirs[] = {"bin", "proc", "sys", "dev", "tmp", "root", "etc"};
  for (size_t i = 0; i < ARRAY_LEN(dirs); i++) {
    autofree char *d = xasprintf("%s/%s", fx.busybox_layer, dirs[i]);
    if (mkdir_p(d, 0755, NULL) < 0) return -1;
  }
  autofree char *tmpdir = xasprintf("%s/tmp", fx.busybox_layer);
  chmod(tmpdir, 01777);
  autofree char *bb = xasprintf("%s/bin/busybox", fx.busybox_layer);
  autofree char *host_bb = proc_find("busybox", NULL);
  if (!host_bb || copy_file(host_bb, bb, 0755) < 0) return -1;
  const char *install[] = {"chroot", fx.busybox_layer, "/bin/busybox", "--install", "-s", "/bin",
                           NULL};
  if (run_cmd(install, NULL) != 0) return -1;

  autofree char *etc = xasprintf("%s/etc", fx.etc_layer);
  autofree char *home = xasprintf("%s/home/user", fx.etc_layer);
  if (mkdir_p(etc, 0755, NULL) < 0 || mkdir_p(home, 0755, NULL) < 0) return -1;
  if (chown(home, 1000, 1000) < 0) return -1;
  autofree char *passwd = xasprintf("%s/passwd", etc);
  autofree char *group = xasprintf("%s/group", etc);
  write_text(passwd,
             "root:x:0:0:root:/root:/bin/sh\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
             "user:x:1000:1000:user:/home/user:/bin/sh\n");
  write_text(group,
             "root:x:0:\n"
             "audio:x:29:user\n"
             "staff:x:50:user\n"
             "user:x:1000:\n"
             "nogroup:x:65534:\n");
  return 0;
}

static int count_fds(void) {
  DIR *dir = opendir("/proc/self/fd");
  int n = 0;
  while (dir && readdir(dir)) n++;
  if (dir) closedir(dir);
  return n;
}

static int fds_after_setup;

static int group_setup(void **state) {
  (void)state;
  if (geteuid() != 0) {
    skip_reason = "not root";
    return 0;
  }
  fx.runc = proc_find("runc", NULL);
  fx.conmon = proc_find("conmon", NULL);
  if (!fx.runc || !fx.conmon) {
    skip_reason = "runc or conmon missing";
    return 0;
  }
  const char *const podman_dirs[] = {"/usr/lib/podman", "/usr/libexec/podman", NULL};
  fx.netavark = proc_find("netavark", podman_dirs);
  fx.aardvark = proc_find("aardvark-dns", podman_dirs);
  fx.tini = proc_find("tini-static", NULL);
  snprintf(fx.tmp, sizeof fx.tmp, "/tmp/arca-drv-XXXXXX");
  if (!mkdtemp(fx.tmp)) return -1;
  snprintf(fx.data_root, sizeof fx.data_root, "%s/data", fx.tmp);
  snprintf(fx.exec_root, sizeof fx.exec_root, "%s/run", fx.tmp);
  if (build_image() < 0) {
    fprintf(stderr, "cannot build the busybox image\n");
    return -1;
  }
  rt_linux_config cfg = {.data_root = fx.data_root,
                         .exec_root = fx.exec_root,
                         .runtime = "runc",
                         .runtime_path = fx.runc,
                         .conmon_path = fx.conmon,
                         .netavark_path = fx.netavark,
                         .aardvark_path = fx.aardvark,
                         .init_path = fx.tini};
  arca_err err = {0};
  if (rt_linux_new(&cfg, on_exit_cb, on_oom_cb, NULL, &fx.drv, &err) < 0) {
    fprintf(stderr, "driver: %s\n", err.msg);
    return -1;
  }
  fds_after_setup = count_fds();
  return 0;
}

/* Runs last: every descriptor the tests made is closed again (the driver was replaced once,
 * by the restart test, with as many of its own). */
static void test_no_fd_leak(void **state) {
  (void)state;
  sleep_ms(300); /* exec waiters finish their last close */
  assert_int_equal(count_fds(), fds_after_setup);
}

/* Whatever a crashed test left: runc containers, mounts, cgroups, the test bridge. */
static void sweep(void) {
  autofree char *runc_root = xasprintf("%s/run/runc", fx.tmp);
  DIR *dir = opendir(runc_root);
  struct dirent *de;
  while (dir && (de = readdir(dir))) {
    if (de->d_name[0] == '.') continue;
    const char *del[] = {fx.runc, "--root", runc_root, "delete", "--force", de->d_name, NULL};
    run_cmd(del, NULL);
    lx_cgroup_remove(de->d_name);
  }
  if (dir) closedir(dir);
  for (int round = 0; round < 4; round++) {
    autofree char *info = read_text("/proc/self/mountinfo");
    if (!info || !strstr(info, fx.tmp)) break;
    char *save = NULL;
    for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char mp[4096];
      if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strstr(mp, fx.tmp))
        umount2(mp, MNT_DETACH);
    }
  }
  if (if_nametoindex("arca-test0")) {
    const char *del[] = {"ip", "link", "del", "arca-test0", NULL};
    run_cmd(del, NULL);
  }
}

static int group_teardown(void **state) {
  (void)state;
  if (fx.drv) fx.drv->ops->destroy(fx.drv);
  fx.drv = NULL;
  if (fx.tmp[0]) {
    sweep();
    rm_rf(fx.tmp, NULL);
  }
  free(fx.runc), free(fx.conmon), free(fx.netavark), free(fx.aardvark), free(fx.tini);
  return 0;
}

static int test_setup(void **state) {
  (void)state;
  if (skip_reason) {
    fprintf(stderr, "skipped: %s\n", skip_reason);
    skip();
  }
  return 0;
}

#define DRIVER_TEST(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

int main(void) {
  const struct CMUnitTest pure[] = {
      cmocka_unit_test(test_user_resolution), cmocka_unit_test(test_tmpfs_options),
      cmocka_unit_test(test_device_rules),    cmocka_unit_test(test_resources),
      cmocka_unit_test(test_runc_error_text),
  };
  const struct CMUnitTest driver[] = {
      DRIVER_TEST(test_exit_code_and_log),
      DRIVER_TEST(test_attach_before_start),
      DRIVER_TEST(test_attach_stdin),
      DRIVER_TEST(test_tty_resize),
      DRIVER_TEST(test_signals),
      DRIVER_TEST(test_pause_resume),
      DRIVER_TEST(test_exec_pipes),
      DRIVER_TEST(test_exec_pty),
      DRIVER_TEST(test_exec_errors),
      DRIVER_TEST(test_start_errors),
      DRIVER_TEST(test_users_in_container),
      DRIVER_TEST(test_readonly_rootfs_and_tmpfs),
      DRIVER_TEST(test_bind_mounts),
      DRIVER_TEST(test_init),
      DRIVER_TEST(test_security_defaults),
      DRIVER_TEST(test_resources_in_cgroup),
      DRIVER_TEST(test_oom),
      DRIVER_TEST(test_daemon_restart),
      DRIVER_TEST(test_remove_leaves_nothing),
      DRIVER_TEST(test_many_layers),
      DRIVER_TEST(test_empty_image),
      DRIVER_TEST(test_network),
      DRIVER_TEST(test_devices_sysctls_shm),
      DRIVER_TEST(test_custom_seccomp),
      DRIVER_TEST(test_shared_namespaces),
      DRIVER_TEST(test_attach_cancel),
      DRIVER_TEST(test_privileged),
      DRIVER_TEST(test_no_fd_leak),
  };
  /* ARCA_TEST_FILTER=test_exec* runs only the matching tests */
  if (getenv("ARCA_TEST_FILTER")) cmocka_set_test_filter(getenv("ARCA_TEST_FILTER"));
  int failed = cmocka_run_group_tests_name("driver_linux_pure", pure, NULL, NULL);
  failed += cmocka_run_group_tests_name("driver_linux", driver, group_setup, group_teardown);
  return failed;
}
