/* Starting a sandbox: resolve what depends on the moment (user, HOME, working directory,
 * other containers' namespaces), launch conmon, which runs `runc create` and owns the
 * container's stdio, log and exit file, wait on its sync pipe, connect the attachments
 * made before start, then `runc start`.
 *
 * conmon reads one byte from _OCI_STARTPIPE before it forks, daemonizes (the process we
 * spawned exits within milliseconds) and writes {"data": <pid>} to _OCI_SYNCPIPE once the
 * container is created, or a negative "data" with runc's error in "message". Its cwd is the
 * run dir, where it also drops an "oom" file. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/linux/lx_cgroup.h"
#include "runtime/linux/lx_driver.h"
#include "runtime/linux/lx_paths.h"

extern char **environ;

#define SYNC_TIMEOUT_MS (120 * 1000)

static pid_t read_pid_file(const char *path) {
  autofree char *text = NULL;
  if (read_file(path, 64, &text, NULL, NULL) < 0) return 0;
  long v = strtol(text, NULL, 10);
  return v > 0 ? (pid_t)v : 0;
}

pid_t lx_init_pid(lx_driver *d, const char *id) {
  autofree char *path = xasprintf("%s/c/%s/pid", d->exec_root, id);
  return read_pid_file(path);
}

pid_t lx_running_init(lx_driver *d, const char *id) {
  pid_t pid = lx_init_pid(d, id);
  if (pid <= 0) return 0;
  /* the pid may be reused once the container ended: it must still be in its cgroup, alive */
  autofree char *stat_path = xasprintf("/proc/%d/stat", (int)pid);
  autofree char *stat = NULL;
  if (read_file(stat_path, 4096, &stat, NULL, NULL) < 0) return 0;
  const char *paren = strrchr(stat, ')');
  if (!paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X') return 0;
  autofree char *cg_path = xasprintf("/proc/%d/cgroup", (int)pid);
  autofree char *cgroups = NULL;
  if (read_file(cg_path, 1 << 16, &cgroups, NULL, NULL) < 0) return 0;
  autofree char *want = lx_cgroup_path(id);
  return strstr(cgroups, want) ? pid : 0;
}

pid_t lx_conmon_alive(lx_driver *d, const char *id) {
  autofree char *path = xasprintf("%s/c/%s/conmon.pid", d->exec_root, id);
  pid_t pid = read_pid_file(path);
  if (pid <= 0) return 0;
  /* The pid may have been reused since: it is ours only if it is conmon for this id. */
  autofree char *cmdline_path = xasprintf("/proc/%d/cmdline", (int)pid);
  autofree char *cmdline = NULL;
  size_t len = 0;
  if (read_file(cmdline_path, 1 << 16, &cmdline, &len, NULL) < 0 || len == 0) return 0;
  const char *arg0 = strrchr(cmdline, '/') ? strrchr(cmdline, '/') + 1 : cmdline;
  if (strcmp(arg0, "conmon") != 0 && !strstr(cmdline, "conmon")) return 0;
  bool after_c = false;
  for (size_t off = 0; off < len; off += strlen(cmdline + off) + 1) {
    const char *arg = cmdline + off;
    if (after_c && !strcmp(arg, id)) return pid;
    after_c = !strcmp(arg, "-c") || !strcmp(arg, "--cid");
  }
  return 0;
}

/* ---- start-time resolution ------------------------------------------------------- */

/* Init pid of another running container (for container:<id> namespaces), and its state in
 * Docker's words when it does not run. */
static pid_t running_pid_of(lx_driver *d, const char *other, const char **state) {
  *state = "created";
  if (!lx_id_valid(other)) return 0;
  char status[16];
  pid_t pid = 0;
  int known = lx_runc_state(d, other, status, &pid, NULL);
  if (known != 1) return 0;
  if (!strcmp(status, "running") || !strcmp(status, "paused")) return pid;
  *state = !strcmp(status, "stopped") ? "exited" : "created";
  return 0;
}

static void set_namespace_path(json_t *config, const char *type, const char *path) {
  json_t *namespaces = json_object_get(json_object_get(config, "linux"), "namespaces");
  size_t i;
  json_t *n;
  json_array_foreach(namespaces, i, n) {
    if (!strcmp(json_string_value(json_object_get(n, "type")), type)) {
      json_object_set_new(n, "path", json_string(path));
      return;
    }
  }
  json_array_append_new(namespaces, json_pack("{s:s, s:s}", "type", type, "path", path));
}

/* container:<id> modes, with moby's texts (getNetworkedContainer, getIPCContainer,
 * getPIDContainer). */
static int resolve_namespaces(lx_driver *d, const char *id, json_t *config, const json_t *inputs,
                              arca_err *err) {
  const char *state;
  const char *net = json_string_value(json_object_get(inputs, "net_container"));
  if (net) {
    if (!strcmp(net, id)) return err_set(err, 500, "cannot join own network namespace");
    pid_t pid = running_pid_of(d, net, &state);
    if (!pid)
      return err_set(err, 409,
                     "cannot join network namespace of a non running container: container %s is %s",
                     net, state);
    autofree char *netns = lx_netns_path(d->exec_root, net);
    autofree char *path = xasprintf("/proc/%d/ns/net", (int)pid);
    set_namespace_path(config, "network", lx_is_mountpoint(netns) ? netns : path);
  }
  const char *ipc = json_string_value(json_object_get(inputs, "ipc_container"));
  if (ipc) {
    pid_t pid = running_pid_of(d, ipc, &state);
    if (!pid)
      return err_set(err, 409, "failed to join IPC namespace: container %s is not running", ipc);
    autofree char *shm = lx_shm_dir(d->data_root, ipc);
    if (!lx_is_mountpoint(shm))
      return err_set(err, 400,
                     "failed to join IPC namespace: container %s: non-shareable IPC (hint: use "
                     "IpcMode:shareable for the donor container)",
                     ipc);
    autofree char *path = xasprintf("/proc/%d/ns/ipc", (int)pid);
    set_namespace_path(config, "ipc", path);
  }
  const char *pidc = json_string_value(json_object_get(inputs, "pid_container"));
  if (pidc) {
    pid_t pid = running_pid_of(d, pidc, &state);
    if (!pid)
      return err_set(err, 409, "failed to join PID namespace: container %s is not running", pidc);
    autofree char *path = xasprintf("/proc/%d/ns/pid", (int)pid);
    set_namespace_path(config, "pid", path);
  }
  return 0;
}

static int resolve_user(lx_driver *d, const char *id, json_t *config, const json_t *inputs,
                        arca_err *err) {
  autofree char *rootfs = lx_rootfs_dir(d->data_root, id);
  autoclose int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return err_errno(err, 500, errno, "open %s", rootfs);
  json_t *groups = json_object_get(inputs, "group_add");
  size_t ngroups = json_array_size(groups);
  const char **group_add = xcalloc(ngroups + 1, sizeof *group_add);
  for (size_t i = 0; i < ngroups; i++) {
    const char *g = json_string_value(json_array_get(groups, i));
    group_add[i] = g ? g : "";
  }
  lx_user user;
  int rc = lx_user_resolve(root_fd, json_string_value(json_object_get(inputs, "user")), group_add,
                           ngroups, &user, err);
  free(group_add);
  if (rc < 0) return -1;
  json_t *process = json_object_get(config, "process");
  json_object_set_new(process, "user", lx_user_json(&user));
  if (json_is_true(json_object_get(inputs, "home"))) {
    json_t *env = json_object_get(process, "env");
    for (size_t i = json_array_size(env); i > 0; i--)
      if (!strncmp(json_string_value(json_array_get(env, i - 1)), "HOME=", 5))
        json_array_remove(env, i - 1);
    json_array_append_new(env, json_sprintf("HOME=%s", user.home));
  }
  lx_user_free(&user);
  const char *cwd = json_string_value(json_object_get(inputs, "cwd"));
  if (cwd && strcmp(cwd, "/") && lx_inroot_mkdir_p(root_fd, cwd, 0755, err) < 0) return -1;
  return 0;
}

/* ---- conmon ---------------------------------------------------------------------- */

static void remove_run_state(lx_driver *d, const char *id) {
  const char *names[] = {"pid", "conmon.pid", "exit", "oom"};
  for (size_t i = 0; i < ARRAY_LEN(names); i++) {
    autofree char *p = xasprintf("%s/c/%s/%s", d->exec_root, id, names[i]);
    unlink(p);
  }
  autofree char *exit_file = lx_exit_file(d->exec_root, id);
  unlink(exit_file);
}

/* Waits (bounded) for conmon to finish after its container was killed. */
static void wait_conmon_gone(lx_driver *d, const char *id) {
  for (int i = 0; i < 250; i++) {
    pid_t pid = lx_conmon_alive(d, id);
    if (!pid) return;
    if (i == 200) kill(pid, SIGKILL);
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
  }
}

/* The container's init exited (conmon wrote its exit file) and no process is left in its
 * cgroup: then `runc delete` would only remove its state directory and the cgroups. */
static bool sandbox_finished(lx_driver *d, const char *id) {
  autofree char *exit_file = lx_exit_file(d->exec_root, id);
  if (access(exit_file, F_OK) != 0 || lx_conmon_alive(d, id)) return false;
  lx_cgroup_roots roots;
  arca_err err;
  if (lx_cgroup_roots_read(&roots, &err) < 0) return false;
  autofree char *path = lx_cgroup_path(id);
  int *pids = NULL;
  size_t n = 0;
  int rc = lx_cgroup_pids(&roots, path, &pids, &n, &err);
  lx_cgroup_roots_free(&roots);
  free(pids);
  return rc == 0 ? n == 0 : err.status == 404;
}

/* Undoes a start that failed after conmon was launched (or what a crashed daemon left):
 * nothing may be left that would stop the container from being started again or removed. */
void lx_runtime_cleanup(lx_driver *d, const char *id) {
  autofree char *state_dir = xasprintf("%s/%s", d->runc_root, id);
  if (access(state_dir, F_OK) == 0) {
    if (sandbox_finished(d, id)) {
      /* what runc delete does for a stopped container, without a Go program's start-up */
      arca_err err;
      if (rm_rf(state_dir, &err) < 0) log_kv(LOG_WARN, "runtime state not removed", "error", err.msg, NULL);
    } else {
      const char *del[] = {"delete", "--force", id, NULL};
      lx_runc(d, del, NULL, 0, NULL, NULL);
    }
  }
  wait_conmon_gone(d, id);
  remove_run_state(d, id);
  lx_cgroup_remove(id);
}

static void start_cleanup(lx_driver *d, const char *id) {
  lx_runtime_cleanup(d, id);
  lx_attach_end_pending(d, id);
}

static int spawn_conmon(lx_driver *d, const char *id, const json_t *inputs, int sync_w, int start_r,
                        int stderr_w, pid_t *pid, arca_err *err) {
  autofree char *run_dir = lx_run_dir(d->exec_root, id);
  autofree char *bundle = lx_bundle_dir(d->data_root, id);
  autofree char *pidfile = xasprintf("%s/pid", run_dir);
  autofree char *conmon_pidfile = xasprintf("%s/conmon.pid", run_dir);
  autofree char *log = lx_log_path(d->data_root, id);
  autofree char *log_arg = xasprintf("k8s-file:%s", log);
  autofree char *root_arg = xasprintf("--root=%s", d->runc_root);
  const char *argv[48];
  size_t n = 0;
  const char *fixed[] = {d->conmon_path,
                         "--api-version",
                         "1",
                         "-c",
                         id,
                         "-u",
                         "attach",
                         "-r",
                         d->runtime_path,
                         "-b",
                         bundle,
                         "-p",
                         pidfile,
                         "-n",
                         id,
                         "--exit-dir",
                         d->exits_dir,
                         "--persist-dir",
                         run_dir,
                         "--socket-dir-path",
                         run_dir,
                         "-l",
                         log_arg,
                         "--conmon-pidfile",
                         conmon_pidfile,
                         "--runtime-arg",
                         root_arg,
                         "--runtime-arg",
                         "--log-format=json"};
  for (size_t i = 0; i < ARRAY_LEN(fixed); i++) argv[n++] = fixed[i];
  bool tty = json_is_true(json_object_get(inputs, "tty"));
  if (tty) argv[n++] = "-t";
  if (json_is_true(json_object_get(inputs, "open_stdin"))) {
    argv[n++] = "-i";
    /* Docker closes the container's stdin when the attached client does only for
     * StdinOnce without a TTY. */
    if (!json_is_true(json_object_get(inputs, "stdin_once")) || tty)
      argv[n++] = "--leave-stdin-open";
  }
  argv[n] = NULL;

  size_t nenv = 0;
  while (environ[nenv]) nenv++;
  char **envp = xcalloc(nenv + 3, sizeof *envp);
  size_t k = 0;
  for (size_t i = 0; i < nenv; i++)
    if (strncmp(environ[i], "_OCI_", 5) && strncmp(environ[i], "NOTIFY_SOCKET=", 14))
      envp[k++] = environ[i];
  envp[k++] = "_OCI_SYNCPIPE=3";
  envp[k++] = "_OCI_STARTPIPE=4";

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, stderr_w, 2);
  posix_spawn_file_actions_adddup2(&fa, sync_w, 3);
  posix_spawn_file_actions_adddup2(&fa, start_r, 4);
  posix_spawn_file_actions_addclosefrom_np(&fa, 5);
  posix_spawn_file_actions_addchdir_np(&fa, run_dir);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
  int rc = posix_spawn(pid, d->conmon_path, &fa, &attr, (char *const *)argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  free(envp);
  if (rc != 0) return err_errno(err, 500, rc, "run %s", d->conmon_path);
  return 0;
}

/* One line from the sync pipe: {"data": N, "message": "..."}. */
static int read_sync(int fd, json_t **out, arca_err *err) {
  strbuf sb;
  sb_init(&sb);
  int64_t deadline = monotonic_ns() + (int64_t)SYNC_TIMEOUT_MS * 1000000;
  for (;;) {
    int64_t left_ms = (deadline - monotonic_ns()) / 1000000;
    if (left_ms <= 0) {
      sb_free(&sb);
      return err_set(err, 500, "container creation timeout");
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, (int)left_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[4096];
    ssize_t got = read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    sb_append(&sb, buf, (size_t)got);
    if (memchr(buf, '\n', (size_t)got)) break;
  }
  *out = sb.len ? json_loadb(sb.buf, sb.len, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
  sb_free(&sb);
  return 0;
}

void lx_translate_start_error(const char *cmd, arca_err *err) {
  autofree char *lower = xstrdup(err->msg);
  for (char *p = lower; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  autofree char *lower_cmd = xstrdup(cmd ? cmd : "");
  for (char *p = lower_cmd; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  if (strstr(lower, lower_cmd) &&
      (strstr(lower, "executable file not found") || strstr(lower, "no such file or directory") ||
       strstr(lower, "system cannot find the file specified"))) {
    err->exit_code = 127;
    err->status = 400;
  }
  if (strstr(lower, "permission denied")) {
    err->exit_code = 126;
    err->status = 400;
  }
  if (strstr(lower, "not a directory")) {
    size_t len = strlen(err->msg);
    snprintf(err->msg + len, sizeof err->msg - len,
             ": Are you trying to mount a directory onto a file (or vice-versa)? Check if the "
             "specified host path exists and is the expected type");
    err->exit_code = 127;
    err->status = 400;
  }
}

/* A runtime that could not create the container, in Docker's words. */
static int create_error(const char *message, const char *cmd, arca_err *err) {
  char text[ARCA_ERR_MSG_MAX - 400];
  lx_runc_error_text(message, text, sizeof text);
  err_set(err, 500,
          "failed to create task for container: failed to create shim task: OCI runtime create "
          "failed: %s: unknown",
          *text ? text : "container create failed");
  lx_translate_start_error(cmd, err);
  return -1;
}

static int prepare_start(lx_driver *d, const char *id, json_t **inputs_out, arca_err *err) {
  autofree char *config_path = lx_config_path(d->data_root, id);
  autofree char *inputs_path = lx_start_inputs(d->data_root, id);
  autojson json_t *config = json_load_file(config_path, 0, NULL);
  autojson json_t *inputs = json_load_file(inputs_path, 0, NULL);
  if (!config || !inputs) return err_set(err, 404, "sandbox %s is not prepared", id);

  char status[16];
  int known = lx_runc_state(d, id, status, NULL, err);
  if (known < 0) return -1;
  if (known && (!strcmp(status, "running") || !strcmp(status, "paused")))
    return err_set(err, 409, "container %s is already running", id);
  if (known || lx_conmon_alive(d, id)) lx_runtime_cleanup(d, id);
  remove_run_state(d, id);

  /* After a reboot neither the overlay nor the network namespace survive. */
  if (lx_rootfs_mount(d, id, json_object_get(inputs, "layers"), err) < 0) return -1;
  if (!strcmp(json_string_value(json_object_get(inputs, "network_mode")), "sandbox") &&
      lx_netns_create(d, id, err) < 0)
    return -1;
  json_t *shm_size = json_object_get(inputs, "shm_size");
  if (shm_size && lx_shm_mount(d, id, json_integer_value(shm_size), err) < 0) return -1;
  if (resolve_user(d, id, config, inputs, err) < 0) return -1;
  if (resolve_namespaces(d, id, config, inputs, err) < 0) return -1;
  autofree char *text = json_dumps(config, JSON_COMPACT);
  if (write_file_replace(config_path, text, strlen(text), 0600, err) < 0) return -1;
  autofree char *run_dir = lx_run_dir(d->exec_root, id);
  if (mkdir_p(run_dir, 0700, err) < 0) return -1;
  *inputs_out = steal_ptr(inputs);
  return 0;
}

static int run_conmon(lx_driver *d, const char *id, const json_t *inputs, arca_err *err) {
  int sync_pipe[2], start_pipe[2], err_pipe[2];
  if (pipe2(sync_pipe, O_CLOEXEC) < 0) return err_errno(err, 500, errno, "pipe");
  if (pipe2(start_pipe, O_CLOEXEC) < 0) {
    close(sync_pipe[0]);
    close(sync_pipe[1]);
    return err_errno(err, 500, errno, "pipe");
  }
  if (pipe2(err_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
    close(sync_pipe[0]), close(sync_pipe[1]), close(start_pipe[0]), close(start_pipe[1]);
    return err_errno(err, 500, errno, "pipe");
  }
  autoclose int sync_r = sync_pipe[0];
  autoclose int err_r = err_pipe[0];
  pid_t pid = 0;
  int rc = spawn_conmon(d, id, inputs, sync_pipe[1], start_pipe[0], err_pipe[1], &pid, err);
  close(sync_pipe[1]);
  close(start_pipe[0]);
  close(err_pipe[1]);
  if (rc == 0 && write(start_pipe[1], "", 1) != 1)
    log_warn("conmon start pipe: %s", strerror(errno));
  close(start_pipe[1]);
  if (rc < 0) return -1;

  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  char stderr_text[2048] = "";
  ssize_t got = read(err_r, stderr_text, sizeof stderr_text - 1);
  if (got > 0) stderr_text[got] = '\0';
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return err_set(err, 500, "conmon failed: %s",
                   *stderr_text ? stderr_text : "exited with an error");

  autojson json_t *sync = NULL;
  if (read_sync(sync_r, &sync, err) < 0) return -1;
  json_t *data = json_object_get(sync, "data");
  if (!json_is_integer(data))
    return err_set(err, 500, "container create failed (no answer from conmon)%s%s",
                   *stderr_text ? ": " : "", stderr_text);
  if (json_integer_value(data) < 0) {
    const char *cmd = json_string_value(json_object_get(inputs, "cmd"));
    return create_error(json_string_value(json_object_get(sync, "message")), cmd, err);
  }
  return 0;
}

static void ms_since(char *out, size_t n, int64_t since_ns) {
  snprintf(out, n, "%.1fms", (double)(monotonic_ns() - since_ns) / 1e6);
}

/* What `runc start` does for a created container without poststart hooks, without starting
 * a Go program (about 6 ms): runc's init waits, blocked, to open the state directory's
 * exec.fifo for writing; opening it for reading lets init go on to exec the process, and
 * the fifo's removal is what marks the container running for runc itself. Returns 1 when
 * this path does not apply (another runtime, no fifo) so the caller runs `runc start`. */
static int release_exec_fifo(lx_driver *d, const char *id, arca_err *err) {
  const char *slash = strrchr(d->runtime_path, '/');
  if (strcmp(slash ? slash + 1 : d->runtime_path, "runc") != 0) return 1;
  autofree char *fifo = xasprintf("%s/%s/exec.fifo", d->runc_root, id);
  struct stat st;
  if (lstat(fifo, &st) < 0 || !S_ISFIFO(st.st_mode)) return 1;
  autoclose int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return 1;
  /* A fifo opened without a writer yet polls neither readable nor hung up until one comes. */
  for (int waited = 0;; waited += 100) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, 100);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return err_errno(err, 500, errno, "poll %s", fifo);
    if (n > 0) break;
    if (!lx_conmon_alive(d, id) || waited >= 30000)
      return err_set(err, 500, "container %s: its init process went away before it was started", id);
  }
  char buf[16];
  ssize_t got = read(fd, buf, sizeof buf);
  if (got <= 0) return err_set(err, 500, "cannot start an already running container");
  if (unlink(fifo) < 0 && errno != ENOENT) return err_errno(err, 500, errno, "remove %s", fifo);
  return 0;
}

int lx_start(lx_driver *d, const char *id, const rt_start_gate *gate, arca_err *err) {
  /* An exit of an earlier run that was never reported must not pass for this one's. */
  pthread_mutex_lock(&d->lock);
  lx_ctr *c = lx_ctr_lookup(d, id, false);
  if (c) c->monitored = false;
  pthread_mutex_unlock(&d->lock);
  int64_t t0 = monotonic_ns();
  autojson json_t *inputs = NULL;
  if (prepare_start(d, id, &inputs, err) < 0) {
    lx_attach_end_pending(d, id);
    return -1;
  }
  char t_prepare[24], t_create[24], t_start[24];
  ms_since(t_prepare, sizeof t_prepare, t0);
  int64_t t1 = monotonic_ns();
  if (run_conmon(d, id, inputs, err) < 0) {
    start_cleanup(d, id);
    return -1;
  }
  ms_since(t_create, sizeof t_create, t1);
  if (gate && gate->fn(gate->ctx, err) < 0) {
    start_cleanup(d, id);
    return -1;
  }
  pid_t conmon_pid = lx_conmon_alive(d, id);
  pthread_mutex_lock(&d->lock);
  c = lx_ctr_lookup(d, id, true);
  c->conmon_pid = conmon_pid;
  /* Watched before the process runs, so that an instant exit is seen. */
  c->monitored = true;
  pthread_mutex_unlock(&d->lock);

  lx_attach_connect_pending(d, id);
  const char *args[] = {"start", id, NULL};
  arca_err e = {0};
  int64_t t2 = monotonic_ns();
  int fifo = release_exec_fifo(d, id, &e);
  if (fifo < 0 || (fifo > 0 && lx_runc(d, args, NULL, 0, NULL, &e) < 0)) {
    pthread_mutex_lock(&d->lock);
    c = lx_ctr_lookup(d, id, false);
    if (c) c->monitored = false;
    pthread_mutex_unlock(&d->lock);
    start_cleanup(d, id);
    char text[ARCA_ERR_MSG_MAX - 80];
    snprintf(text, sizeof text, "%s", e.msg);
    return err_set(err, 500, "OCI runtime start failed: %s: unknown", text);
  }
  ms_since(t_start, sizeof t_start, t2);
  log_kv(LOG_DEBUG, "sandbox started", "id", id, "prepare", t_prepare, "conmon+create", t_create,
         "start", t_start, NULL);
  return 0;
}
