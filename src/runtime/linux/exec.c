/* Exec: a process started in a running container by a small shim of ours, not by the runtime.
 *
 * The shim is a forked child of arcad (a subreaper, so it reaps what it starts); it joins the
 * container's pid namespace and forks the process, which joins the rest of the init's
 * namespaces and cgroups and sets itself up as runc's setns init would (nsexec.c). The shim
 * reports over a pipe:
 *   "F<errno> <step>\n"  the process could not be set up or exec'd (the step says where)
 *   "P<pid>\n"           the process runs
 *   "E<code>\n"          the process exited (0-255, 128+signal)
 * With a terminal, the process opens it in the container's devpts and sends the master back
 * over a socket pair; without one it inherits our pipes, so nothing copies.
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
#include "runtime/linux/lx_nsexec.h"
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

static void shim_report_failure(int fd, int err, const char *step) {
  char line[64];
  size_t n = fmt_int(line, 'F', err);
  line[n - 1] = ' ';
  for (size_t i = 0; step[i] && n < sizeof line - 1; i++) line[n++] = step[i];
  line[n++] = '\n';
  if (write(fd, line, n) < 0) {
    /* nobody listens any more */
  }
}

static int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

/* fds: the process's stdin, stdout, stderr, the report pipe, the terminal socket (or -1). */
static void __attribute__((noreturn)) shim_main(const int fds[5], const lx_exec_plan *plan) {
  int high[5];
  for (int i = 0; i < 5; i++) {
    high[i] = fds[i] < 0 ? -1 : fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
    if (fds[i] >= 0 && high[i] < 0) _exit(120);
  }
  for (int i = 0; i < 4; i++)
    if (dup2(high[i], i) < 0) _exit(120);
  int console = high[4] >= 0 ? dup2(high[4], 4) : -1;
  if (console < 0) close(4);
  for (int i = 0; i < 5; i++)
    if (high[i] >= 0) close(high[i]);
  /* arcad's descriptors are close-on-exec, but nothing execs here: close all but ours */
  int keep[LX_PLAN_MAX_NS + LX_PLAN_MAX_CGROUPS + 4];
  size_t nkeep = lx_exec_plan_fds(plan, keep, ARRAY_LEN(keep));
  for (size_t i = 1; i < nkeep; i++) /* insertion sort: no allocation after fork */
    for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  unsigned from = 5;
  for (size_t i = 0; i < nkeep; i++) {
    if (keep[i] < 5) _exit(120); /* never: the plan's files were open before these */
    if ((unsigned)keep[i] > from) close_range(from, (unsigned)keep[i] - 1, 0);
    from = (unsigned)keep[i] + 1;
  }
  close_range(from, ~0U, 0);
  fcntl(3, F_SETFD, FD_CLOEXEC);
  if (console >= 0) fcntl(console, F_SETFD, FD_CLOEXEC);
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_IGN);

  lx_exec_failure failure;
  int errp[2];
  if (pipe2(errp, O_CLOEXEC) < 0) {
    shim_report_failure(3, errno, "pipe");
    _exit(0);
  }
  bool in_cgroup = false;
  pid_t pid = lx_exec_plan_spawn(plan, &in_cgroup);
  if (pid < 0) {
    shim_report_failure(3, errno, "spawn");
    _exit(0);
  }
  if (pid == 0) {
    close(errp[0]);
    close(3);
    lx_exec_plan_run(plan, in_cgroup, errp[1], console);
  }
  close(errp[1]);
  if (console >= 0) close(console);
  ssize_t got;
  while ((got = read(errp[0], &failure, sizeof failure)) < 0 && errno == EINTR) {
  }
  close(errp[0]);
  int status = 0;
  if (got == (ssize_t)sizeof failure) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    char step[sizeof failure.step + 1];
    memcpy(step, failure.step, sizeof failure.step);
    step[sizeof failure.step] = '\0';
    shim_report_failure(3, failure.err, step);
    _exit(0);
  }
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
    if (r == pid) {
      shim_report(3, 'E', status_code(status));
      _exit(0);
    }
  }
}

/* ---- reading the shim ------------------------------------------------------------ */

/* Next report line; tag 0 at EOF, -1 on timeout or cancellation. text (may be NULL) gets
 * what follows the number after a space ("F<errno> <step>"). */
static int read_report(int fd, int cancel_fd, int timeout_ms, char *tag, long *value, char *text,
                       size_t textn) {
  char line[64];
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
    char *end = NULL;
    *value = strtol(line + 1, &end, 10);
    if (text && textn) snprintf(text, textn, "%s", end && *end == ' ' ? end + 1 : "");
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
    if (read_report(x->report_fd, d->stop_fd, -1, &tag, &value, NULL, 0) < 0) {
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

/* The container's process with the exec's args, env, cwd, terminal and user, made into a
 * plan against the container's init. */
static int build_plan(lx_driver *d, const char *id, const rt_process *p, pid_t init_pid,
                      lx_exec_plan *plan, arca_err *err) {
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

  /* Docker reads the user from the container's root filesystem (BaseFS); runc sets HOME from
   * the same entry when the environment has none. */
  autofree char *rootfs = lx_rootfs_dir(d->data_root, id);
  autoclose int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return err_errno(err, 500, errno, "open %s", rootfs);
  autofree char *home = NULL;
  if (p->user && *p->user) {
    lx_user user;
    if (lx_user_resolve(root_fd, p->user, (const char *const *)p->extra_groups, p->nextra_groups,
                        &user, err) < 0) {
      err->exit_code = 126;
      return -1;
    }
    json_object_set_new(process, "user", lx_user_json(&user));
    home = steal_ptr(user.home);
    lx_user_free(&user);
  } else if (!env_value(p, "HOME")) {
    char spec[16];
    snprintf(spec, sizeof spec, "%lld", json_integer_value(json_object_get(json_object_get(base, "user"), "uid")));
    lx_user user;
    arca_err ignored = {0};
    if (lx_user_resolve(root_fd, spec, NULL, 0, &user, &ignored) == 0) {
      home = steal_ptr(user.home);
      lx_user_free(&user);
    }
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
  autofree char *found = NULL;
  int code = lx_inroot_lookpath(ns_root, p->args[0], env_value(p, "PATH"), cwd, msg, sizeof msg, &found);
  if (code) return exec_error(err, p->args[0], msg);
  const json_t *seccomp = json_object_get(json_object_get(config, "linux"), "seccomp");
  if (lx_exec_plan_build(init_pid, process, seccomp, found, home, plan, err) < 0) {
    if (err->status == 409) err_set(err, 409, "container %s is not running", id);
    return -1;
  }
  return 0;
}

/* ---- terminal -------------------------------------------------------------------- */

/* Receives the master the process sends (SCM_RIGHTS), unless the shim reports first (-2). */
static int console_receive(int sock, int report_fd, arca_err *err) {
  struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = report_fd, .events = POLLIN}};
  int r;
  while ((r = poll(p, 2, EXEC_START_TIMEOUT_MS)) < 0 && errno == EINTR) {
  }
  if (r <= 0) return err_set(err, 500, "exec: no terminal from the process");
  if (!(p[0].revents & POLLIN)) return -2; /* the setup failed: the report says why */
  char byte;
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = control.buf,
                       .msg_controllen = sizeof control.buf};
  ssize_t got;
  while ((got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  struct cmsghdr *c = got > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return -2;
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
    /* the process replaces these with its terminal */
    f->child[0] = null_fd;
    f->child[1] = fcntl(null_fd, F_DUPFD_CLOEXEC, 0);
    f->child[2] = fcntl(null_fd, F_DUPFD_CLOEXEC, 0);
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

int lx_exec_start(rt_driver *rd, const char *id, const char *exec_id, const rt_process *p,
                  bool with_stdin, rt_stdio *stdio, arca_err *err) {
  lx_driver *d = lx_of(rd);
  if (lx_check_id(id, err) < 0) return -1;
  if (!lx_id_valid(exec_id)) return err_set(err, 400, "invalid exec id");
  if (p->nargs == 0) return err_set(err, 400, "No exec command specified");
  pid_t init_pid = lx_running_init(d, id);
  if (init_pid <= 0) {
    char status[16];
    int known = lx_runc_state(d, id, status, &init_pid, err);
    if (known < 0) return -1;
    if (!known || strcmp(status, "running"))
      return err_set(err, 409, "container %s is %s", id, known ? status : "not running");
  }

  lx_exec_plan plan;
  if (build_plan(d, id, p, init_pid, &plan, err) < 0) return -1;
  int console[2] = {-1, -1};
  if (p->terminal && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0) {
    lx_exec_plan_free(&plan);
    return err_errno(err, 500, errno, "socketpair");
  }
  exec_fds f;
  int report[2] = {-1, -1};
  int prc = make_pipes(p->terminal, with_stdin, &f, err);
  if (prc == 0 && pipe2(report, O_CLOEXEC) < 0) prc = err_errno(err, 500, errno, "pipe");
  if (prc < 0) {
    close_fds(f.child, 3);
    close_fds(f.parent, 3);
    close_fds(console, 2);
    lx_exec_plan_free(&plan);
    return -1;
  }

  int shim_fds[5] = {f.child[0], f.child[1], f.child[2], report[1], console[1]};
  pid_t shim = fork();
  if (shim == 0) shim_main(shim_fds, &plan);
  int fork_errno = errno;
  close_fds(f.child, 3);
  close(report[1]);
  if (console[1] >= 0) close(console[1]);
  autoclose int console_fd = console[0];
  autoclose int report_fd = report[0];
  if (shim < 0) {
    close_fds(f.parent, 3);
    lx_exec_plan_free(&plan);
    return err_errno(err, 500, fork_errno, "fork");
  }

  int master = -1;
  if (p->terminal) {
    master = console_receive(console_fd, report_fd, err);
    if (master == -1) {
      kill(shim, SIGKILL);
      reap(shim);
      close_fds(f.parent, 3);
      lx_exec_plan_free(&plan);
      return -1;
    }
  }
  char tag = 0, text[64] = "";
  long value = 0;
  int rc = read_report(report_fd, -1, EXEC_START_TIMEOUT_MS, &tag, &value, text, sizeof text);
  if (rc < 0 || tag != 'P') {
    if (tag == 'F') {
      lx_exec_failure fail = {.err = (int)value};
      snprintf(fail.step, sizeof fail.step, "%s", text);
      char msg[512];
      lx_exec_failure_text(&plan, &fail, msg, sizeof msg);
      exec_error(err, p->args[0], msg);
    } else {
      err_set(err, 500, "exec in %s: the process did not start", id);
    }
    if (master >= 0) close(master);
    close_fds(f.parent, 3);
    kill(shim, SIGKILL);
    reap(shim);
    lx_exec_plan_free(&plan);
    return -1;
  }
  lx_exec_plan_free(&plan);

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
