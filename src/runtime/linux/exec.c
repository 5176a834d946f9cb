/* Exec: `runc exec --detach` under a small subreaper shim, without conmon.
 *
 * runc hands a terminal's master over --console-socket only when it detaches, and a
 * detached runc exits as soon as the process runs, so its exit status is not the
 * process's. The shim, a forked child of ours with PR_SET_CHILD_SUBREAPER, runs runc, then
 * inherits the process when runc exits and reaps it: its status comes back over a pipe:
 *   "F<status>\n"  runc failed (its JSON log names the reason)
 *   "P<pid>\n"     the process runs
 *   "E<code>\n"    the process exited (0-255, 128+signal)
 * Without a terminal the process inherits runc's stdio, our pipes, so nothing copies.
 *
 * Before any of that, args[0] is looked up in the container's mount namespace (through
 * /proc/<init>/root, symlinks resolved inside it) as runc would, so that a missing or
 * non-executable binary fails with Docker's text and 127/126 before streams exist.
 *
 * Between fork and exec/_exit the shim makes system calls only: arcad has other threads. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"
#include "runtime/linux/lx_paths.h"
#include "runtime/linux/oci_defaults.h"

extern char **environ;

#define EXEC_START_TIMEOUT_MS (60 * 1000)

struct lx_exec {
  lx_exec *next;
  lx_driver *d;
  char id[65];
  char *exec_id;
  int pty;       /* our own dup of the terminal master, for resize; -1 without one */
  int report_fd; /* the shim's report pipe */
  pid_t shim;
};

/* ---- the shim -------------------------------------------------------------------- */

static size_t fmt_int(char *out, char tag, long v) {
  char digits[24];
  size_t n = 0;
  bool neg = v < 0;
  unsigned long u = neg ? (unsigned long)-v : (unsigned long)v;
  do {
    digits[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  size_t k = 0;
  out[k++] = tag;
  if (neg) out[k++] = '-';
  while (n) out[k++] = digits[--n];
  out[k++] = '\n';
  return k;
}

static void shim_report(int fd, char tag, long v) {
  char line[32];
  size_t n = fmt_int(line, tag, v);
  if (write(fd, line, n) < 0) {
    /* nobody listens any more */
  }
}

static int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

/* fds: runc's stdin, stdout, stderr, the report pipe. */
static void __attribute__((noreturn))
shim_main(const int fds[4], const char *runtime, char *const argv[], char *const envp[],
          const char *pidfile) {
  int high[4];
  for (int i = 0; i < 4; i++) {
    high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
    if (high[i] < 0) _exit(120);
  }
  for (int i = 0; i < 4; i++)
    if (dup2(high[i], i) < 0) _exit(120);
  close_range(4, ~0U, 0);
  fcntl(3, F_SETFD, FD_CLOEXEC);
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_IGN);

  pid_t runc = fork();
  if (runc < 0) {
    shim_report(3, 'F', 255 << 8);
    _exit(0);
  }
  if (runc == 0) {
    signal(SIGPIPE, SIG_DFL);
    execve(runtime, argv, envp);
    _exit(127);
  }
  int status = 0;
  while (waitpid(runc, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    shim_report(3, 'F', status);
    _exit(0);
  }
  char buf[32];
  long pid = 0;
  int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) pid = pid * 10 + (buf[i] - '0');
  shim_report(3, 'P', pid);
  /* The process holds the stdio now; the shim keeps no end of it. */
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int i = 0; i < 3; i++) dup2(null_fd, i);
  for (;;) {
    pid_t r = waitpid(-1, &status, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      shim_report(3, 'E', 255);
      _exit(0);
    }
    if (r == pid || pid == 0) {
      shim_report(3, 'E', status_code(status));
      _exit(0);
    }
  }
}

/* ---- reading the shim ------------------------------------------------------------ */

/* Next report line; tag 0 at EOF, -1 on timeout or cancellation. */
static int read_report(int fd, int cancel_fd, int timeout_ms, char *tag, long *value) {
  char line[32];
  size_t n = 0;
  for (;;) {
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = cancel_fd, .events = POLLIN}};
    int r = poll(p, 2, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || p[1].revents) return -1;
    char c;
    ssize_t got = read(fd, &c, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      *tag = 0;
      return 0;
    }
    if (c != '\n' && n < sizeof line - 1) {
      line[n++] = c;
      continue;
    }
    line[n] = '\0';
    *tag = line[0];
    *value = strtol(line + 1, NULL, 10);
    return 0;
  }
}

static void reap(pid_t pid) {
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

static void exec_free(lx_exec *x) {
  if (x->pty >= 0) close(x->pty);
  if (x->report_fd >= 0) close(x->report_fd);
  free(x->exec_id);
  free(x);
}

static void *waiter_main(void *arg) {
  lx_exec *x = arg;
  lx_driver *d = x->d;
  char tag = 0;
  long value = 255;
  bool stopping = false;
  for (;;) {
    if (read_report(x->report_fd, d->stop_fd, -1, &tag, &value) < 0) {
      stopping = true;
      break;
    }
    if (tag == 'E' || tag == 0) break;
  }
  if (!stopping) reap(x->shim);
  pthread_mutex_lock(&d->lock);
  for (lx_exec **pp = &d->execs; *pp; pp = &(*pp)->next) {
    if (*pp == x) {
      *pp = x->next;
      break;
    }
  }
  pthread_mutex_unlock(&d->lock);
  if (!stopping && d->base.on_exit) {
    rt_exit ex = {.exit_code = tag == 'E' ? (int)value : 255, .finished_ns = now_ns()};
    d->base.on_exit(d->base.cb_ctx, x->id, x->exec_id, &ex);
  }
  exec_free(x);
  pthread_mutex_lock(&d->lock);
  d->exec_threads--;
  pthread_cond_broadcast(&d->execs_done);
  pthread_mutex_unlock(&d->lock);
  return NULL;
}

void lx_execs_stop(lx_driver *d) {
  pthread_mutex_lock(&d->lock);
  while (d->exec_threads > 0) pthread_cond_wait(&d->execs_done, &d->lock);
  pthread_mutex_unlock(&d->lock);
}

/* ---- the process spec ------------------------------------------------------------ */

static const char *env_value(const rt_process *p, const char *name) {
  size_t len = strlen(name);
  for (size_t i = 0; i < p->nenv; i++)
    if (!strncmp(p->env[i], name, len) && p->env[i][len] == '=') return p->env[i] + len + 1;
  return NULL;
}

/* Docker's text for an exec the runtime could not start; exit code and status as moby's
 * translateContainerdStartErr gives them, 126 when it gives none (ContainerExecStart). */
static int exec_error(arca_err *err, const char *cmd, const char *msg) {
  err_set(err, 500,
          "OCI runtime exec failed: exec failed: unable to start container process: %s: unknown",
          msg);
  lx_translate_start_error(cmd, err);
  if (!err->exit_code) err->exit_code = 126;
  return -1;
}

/* The container's process with the exec's args, env, cwd, terminal and user. */
static int build_process(lx_driver *d, const char *id, const rt_process *p, pid_t init_pid,
                         json_t **out, arca_err *err) {
  autofree char *config_path = lx_config_path(d->data_root, id);
  autojson json_t *config = json_load_file(config_path, 0, NULL);
  json_t *base = json_object_get(config, "process");
  if (!base) return err_set(err, 404, "sandbox %s is not prepared", id);
  autojson json_t *process = json_deep_copy(base);
  json_t *args = json_array(), *env = json_array();
  for (size_t i = 0; i < p->nargs; i++) json_array_append_new(args, json_string(p->args[i]));
  for (size_t i = 0; i < p->nenv; i++) json_array_append_new(env, json_string(p->env[i]));
  json_object_set_new(process, "args", args);
  json_object_set_new(process, "env", env);
  const char *cwd = p->cwd && *p->cwd ? p->cwd : json_string_value(json_object_get(base, "cwd"));
  json_object_set_new(process, "cwd", json_string(cwd ? cwd : "/"));
  json_object_set_new(process, "terminal", json_boolean(p->terminal));
  json_object_del(process, "consoleSize");
  if (p->terminal && (p->rows || p->cols))
    json_object_set_new(process, "consoleSize",
                        json_pack("{s:i, s:i}", "height", p->rows, "width", p->cols));

  if (p->user && *p->user) {
    /* Docker reads the user from the container's root filesystem (BaseFS). */
    autofree char *rootfs = lx_rootfs_dir(d->data_root, id);
    autoclose int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) return err_errno(err, 500, errno, "open %s", rootfs);
    lx_user user;
    if (lx_user_resolve(root_fd, p->user, (const char *const *)p->extra_groups, p->nextra_groups,
                        &user, err) < 0) {
      err->exit_code = 126;
      return -1;
    }
    json_object_set_new(process, "user", lx_user_json(&user));
    lx_user_free(&user);
  }
  if (p->privileged) {
    autojson json_t *caps = NULL;
    if (oci_caps_resolve(NULL, NULL, true, &caps, err) < 0) return -1;
    json_object_set_new(process, "capabilities", oci_process_capabilities(caps));
  }

  /* runc's own check, made here so that it fails before any stream exists. */
  autofree char *root_path = xasprintf("/proc/%d/root", (int)init_pid);
  autoclose int ns_root = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ns_root < 0) return err_set(err, 409, "container %s is not running", id);
  char msg[1024];
  int code = lx_inroot_lookpath(ns_root, p->args[0], env_value(p, "PATH"), cwd, msg, sizeof msg);
  if (code) return exec_error(err, p->args[0], msg);
  *out = steal_ptr(process);
  return 0;
}

/* ---- terminal -------------------------------------------------------------------- */

static int console_listen(lx_driver *d, const char *id, char **path_out, arca_err *err) {
  char rnd[17];
  random_hex(rnd, 8);
  char *path = xasprintf("%s/c/%s/t%s", d->exec_root, id, rnd);
  if (strlen(path) >= sizeof((struct sockaddr_un *)0)->sun_path) {
    free(path);
    path = xasprintf("%s/t%s", d->exec_root, rnd);
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    free(path);
    return err_set(err, 500, "exec root %s is too long for a console socket", d->exec_root);
  }
  memcpy(addr.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 1) < 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    free(path);
    return err_errno(err, 500, e, "console socket");
  }
  *path_out = path;
  return fd;
}

/* Receives the master runc sends (SCM_RIGHTS), unless the shim reports first. */
static int console_receive(int listen_fd, int report_fd, arca_err *err) {
  struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN}, {.fd = report_fd, .events = POLLIN}};
  int r;
  while ((r = poll(p, 2, EXEC_START_TIMEOUT_MS)) < 0 && errno == EINTR) {
  }
  if (r <= 0) return err_set(err, 500, "exec: no terminal from the runtime");
  if (!(p[0].revents & POLLIN)) return -2; /* runc failed: the report says why */
  autoclose int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) return err_errno(err, 500, errno, "console socket");
  char name[256];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = control.buf,
                       .msg_controllen = sizeof control.buf};
  ssize_t got;
  while ((got = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  struct cmsghdr *c = got >= 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
    return err_set(err, 500, "exec: the runtime sent no terminal");
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* ---- exec ------------------------------------------------------------------------ */

typedef struct exec_fds {
  int child[3];  /* runc's stdio */
  int parent[3]; /* the engine's ends: stdin write, stdout read, stderr read */
} exec_fds;

static void close_fds(int *fds, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (fds[i] >= 0) close(fds[i]), fds[i] = -1;
}

static int make_pipes(bool terminal, bool with_stdin, exec_fds *f, arca_err *err) {
  for (int i = 0; i < 3; i++) f->child[i] = f->parent[i] = -1;
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return err_errno(err, 500, errno, "open /dev/null");
  if (terminal) {
    /* runc's own output (errors) still goes somewhere we can read. */
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
      close(null_fd);
      return err_errno(err, 500, errno, "pipe");
    }
    f->child[0] = null_fd;
    f->child[1] = p[1];
    f->child[2] = fcntl(p[1], F_DUPFD_CLOEXEC, 0);
    f->parent[2] = p[0];
    return 0;
  }
  for (int i = 0; i < 3; i++) {
    if (i == 0 && !with_stdin) {
      f->child[0] = null_fd;
      null_fd = -1;
      continue;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
      int e = errno;
      close_fds(f->child, 3);
      close_fds(f->parent, 3);
      if (null_fd >= 0) close(null_fd);
      return err_errno(err, 500, e, "pipe");
    }
    f->child[i] = i == 0 ? p[0] : p[1];
    f->parent[i] = i == 0 ? p[1] : p[0];
  }
  if (null_fd >= 0) close(null_fd);
  return 0;
}

static void runc_failure(const char *log_path, int stderr_fd, const char *cmd, arca_err *err) {
  autofree char *log = NULL;
  read_file(log_path, 1 << 20, &log, NULL, NULL);
  char text[ARCA_ERR_MSG_MAX - 160] = "";
  lx_runc_error_text(log, text, sizeof text);
  if (!*text && stderr_fd >= 0) {
    char buf[2048];
    fcntl(stderr_fd, F_SETFL, O_NONBLOCK);
    ssize_t got = read(stderr_fd, buf, sizeof buf - 1);
    if (got > 0) {
      buf[got] = '\0';
      lx_runc_error_text(buf, text, sizeof text);
    }
  }
  const char *prefix = "exec failed: unable to start container process: ";
  const char *reason = strncmp(text, prefix, strlen(prefix)) == 0 ? text + strlen(prefix) : text;
  exec_error(err, cmd, *reason ? reason : "runc exec failed");
}

int lx_exec_start(rt_driver *rd, const char *id, const char *exec_id, const rt_process *p,
                  bool with_stdin, rt_stdio *stdio, arca_err *err) {
  lx_driver *d = lx_of(rd);
  if (lx_check_id(id, err) < 0) return -1;
  if (!lx_id_valid(exec_id)) return err_set(err, 400, "invalid exec id");
  if (p->nargs == 0) return err_set(err, 400, "No exec command specified");
  char status[16];
  pid_t init_pid = 0;
  int known = lx_runc_state(d, id, status, &init_pid, err);
  if (known < 0) return -1;
  if (!known || strcmp(status, "running"))
    return err_set(err, 409, "container %s is %s", id, known ? status : "not running");

  autojson json_t *process = NULL;
  if (build_process(d, id, p, init_pid, &process, err) < 0) return -1;
  autofree char *run_dir = lx_run_dir(d->exec_root, id);
  autofree char *spec_path = xasprintf("%s/exec-%s.json", run_dir, exec_id);
  autofree char *pid_path = xasprintf("%s/exec-%s.pid", run_dir, exec_id);
  autofree char *log_path = xasprintf("%s/exec-%s.log", run_dir, exec_id);
  autofree char *text = json_dumps(process, JSON_COMPACT);
  if (write_file_replace(spec_path, text, strlen(text), 0600, err) < 0) return -1;
  unlink(pid_path);
  unlink(log_path);

  autofree char *console_path = NULL;
  autoclose int listen_fd = -1;
  if (p->terminal && (listen_fd = console_listen(d, id, &console_path, err)) < 0) {
    unlink(spec_path);
    return -1;
  }
  exec_fds f;
  if (make_pipes(p->terminal, with_stdin, &f, err) < 0) {
    unlink(spec_path);
    if (console_path) unlink(console_path);
    return -1;
  }
  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) {
    int e = errno;
    close_fds(f.child, 3);
    close_fds(f.parent, 3);
    unlink(spec_path);
    if (console_path) unlink(console_path);
    return err_errno(err, 500, e, "pipe");
  }

  const char *argv[24];
  size_t n = 0;
  const char *fixed[] = {d->runtime_path, "--root",     d->runc_root, "--log",     log_path,
                         "--log-format",  "json",       "exec",       "--process", spec_path,
                         "--detach",      "--pid-file", pid_path};
  for (size_t i = 0; i < ARRAY_LEN(fixed); i++) argv[n++] = fixed[i];
  if (console_path) {
    argv[n++] = "--console-socket";
    argv[n++] = console_path;
  }
  argv[n++] = id;
  argv[n] = NULL;

  int shim_fds[4] = {f.child[0], f.child[1], f.child[2], report[1]};
  pid_t shim = fork();
  if (shim == 0) shim_main(shim_fds, d->runtime_path, (char *const *)argv, environ, pid_path);
  int fork_errno = errno;
  close_fds(f.child, 3);
  close(report[1]);
  autoclose int report_fd = report[0];
  if (shim < 0) {
    close_fds(f.parent, 3);
    unlink(spec_path);
    if (console_path) unlink(console_path);
    return err_errno(err, 500, fork_errno, "fork");
  }

  int master = -1;
  if (p->terminal) {
    master = console_receive(listen_fd, report_fd, err);
    if (master == -1) {
      kill(shim, SIGKILL);
      reap(shim);
      close_fds(f.parent, 3);
      unlink(spec_path);
      unlink(console_path);
      return -1;
    }
    if (master == -2) master = -1;
  }
  char tag = 0;
  long value = 0;
  int rc = read_report(report_fd, -1, EXEC_START_TIMEOUT_MS, &tag, &value);
  unlink(spec_path);
  if (console_path) unlink(console_path);
  if (rc < 0 || tag != 'P') {
    if (tag == 'F')
      runc_failure(log_path, f.parent[2], p->args[0], err);
    else
      err_set(err, 500, "exec in %s: the runtime did not start the process", id);
    if (master >= 0) close(master);
    close_fds(f.parent, 3);
    kill(shim, SIGKILL);
    reap(shim);
    unlink(log_path);
    unlink(pid_path);
    return -1;
  }
  unlink(log_path);
  unlink(pid_path);

  lx_exec *x = xcalloc(1, sizeof *x);
  x->d = d;
  snprintf(x->id, sizeof x->id, "%s", id);
  x->exec_id = xstrdup(exec_id);
  x->shim = shim;
  x->report_fd = steal_fd(report_fd);
  x->pty = -1;
  memset(stdio, 0, sizeof *stdio);
  if (master >= 0) {
    x->pty = fcntl(master, F_DUPFD_CLOEXEC, 0);
    stdio->pty = master;
    stdio->stdin_fd = stdio->stdout_fd = stdio->stderr_fd = -1;
    close_fds(f.parent, 3);
  } else {
    stdio->pty = -1;
    stdio->stdin_fd = f.parent[0];
    stdio->stdout_fd = f.parent[1];
    stdio->stderr_fd = f.parent[2];
  }
  pthread_mutex_lock(&d->lock);
  x->next = d->execs;
  d->execs = x;
  d->exec_threads++;
  pthread_mutex_unlock(&d->lock);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int trc = pthread_create(&t, &attr, waiter_main, x);
  pthread_attr_destroy(&attr);
  if (trc != 0) {
    /* Without a waiter nobody reports this exec: reap it here at least. */
    log_error("exec %s: cannot start its waiter: %s", exec_id, strerror(trc));
    pthread_mutex_lock(&d->lock);
    d->exec_threads--;
    for (lx_exec **pp = &d->execs; *pp; pp = &(*pp)->next)
      if (*pp == x) {
        *pp = x->next;
        break;
      }
    pthread_mutex_unlock(&d->lock);
    exec_free(x);
  }
  return 0;
}

int lx_exec_resize(lx_driver *d, const char *id, const char *exec_id, uint16_t rows, uint16_t cols,
                   arca_err *err) {
  pthread_mutex_lock(&d->lock);
  lx_exec *x = d->execs;
  while (x && (strcmp(x->id, id) || strcmp(x->exec_id, exec_id))) x = x->next;
  int rc = 0;
  if (!x)
    rc = err_set(err, 404, "no such exec: %s", exec_id);
  else if (x->pty < 0)
    rc = err_set(err, 400, "exec %s has no terminal", exec_id);
  else {
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    if (ioctl(x->pty, TIOCSWINSZ, &ws) < 0)
      rc = err_errno(err, 500, errno, "resize exec %s", exec_id);
  }
  pthread_mutex_unlock(&d->lock);
  return rc;
}
