/* Exec without the runtime: the plan (built here in arcad) and its run (in a forked child).
 * The order of the steps is runc's setns init: namespaces and cgroups, terminal, rlimits,
 * no_new_privs, seccomp while still privileged (unless no_new_privs lets it wait), the
 * bounding set, user and groups with capabilities kept, the process's capability sets,
 * working directory, then the filter when it waited, and execve. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/lx_nsexec.h"
#include "runtime/linux/oci_defaults.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* ---- building the plan (in arcad) ------------------------------------------------ */

int lx_rlimit_resource(const char *name) {
  static const struct {
    const char *name;
    int resource;
  } table[] = {{"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},
               {"RLIMIT_CPU", RLIMIT_CPU},       {"RLIMIT_DATA", RLIMIT_DATA},
               {"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_LOCKS", RLIMIT_LOCKS},
               {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
               {"RLIMIT_NICE", RLIMIT_NICE},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
               {"RLIMIT_NPROC", RLIMIT_NPROC},   {"RLIMIT_RSS", RLIMIT_RSS},
               {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
               {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK}};
  for (size_t i = 0; name && i < ARRAY_LEN(table); i++)
    if (!strcmp(name, table[i].name)) return table[i].resource;
  return -1;
}

int lx_caps_mask(const json_t *names, uint64_t *mask, arca_err *err) {
  *mask = 0;
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    const char *name = json_string_value(v);
    size_t k = 0;
    while (k < oci_all_caps_len && (!name || strcmp(oci_all_caps[k], name))) k++;
    if (k == oci_all_caps_len) return err_set(err, 400, "unknown capability: \"%s\"", name ? name : "");
    *mask |= 1ull << k;
  }
  return 0;
}

static char **string_vector(const json_t *arr, const char *extra) {
  size_t n = json_array_size(arr);
  char **v = xcalloc(n + 2, sizeof *v);
  size_t k = 0, i;
  json_t *s;
  json_array_foreach(arr, i, s) if (json_is_string(s)) v[k++] = xstrdup(json_string_value(s));
  if (extra) v[k++] = xstrdup(extra);
  return v;
}

static void vector_free(char **v) {
  for (size_t i = 0; v && v[i]; i++) free(v[i]);
  free(v);
}

static bool env_has(const json_t *env, const char *name) {
  size_t len = strlen(name), i;
  json_t *v;
  json_array_foreach(env, i, v) {
    const char *s = json_string_value(v);
    if (s && !strncmp(s, name, len) && s[len] == '=') return true;
  }
  return false;
}

static int open_ns(pid_t pid, const char *name, int *out, arca_err *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, name);
  *out = open(path, O_RDONLY | O_CLOEXEC);
  if (*out < 0) return err_errno(err, errno == ENOENT ? 409 : 500, errno, "open %s", path);
  return 0;
}

/* The mount point of the hierarchy a /proc/<pid>/cgroup line names, from mountinfo text. */
static char *hierarchy_dir(const char *mountinfo, const char *controllers, const char *cg_path) {
  autofree char *first = xstrdup(controllers);
  char *comma = strchr(first, ',');
  if (comma) *comma = '\0';
  for (const char *line = mountinfo; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    autofree char *l = xstrndup(line, len);
    line = end ? end + 1 : NULL;
    /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
    char *fields[6] = {0};
    char *save = NULL, *tok = strtok_r(l, " ", &save);
    for (int i = 0; tok && i < 6; i++, tok = strtok_r(NULL, " ", &save)) fields[i] = tok;
    if (!fields[4]) continue;
    char *sep = tok;
    while (sep && strcmp(sep, "-")) sep = strtok_r(NULL, " ", &save);
    char *fstype = sep ? strtok_r(NULL, " ", &save) : NULL;
    char *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
    char *superopts = source ? strtok_r(NULL, " ", &save) : NULL;
    if (!superopts) continue;
    bool match = false;
    if (!*first) {
      match = !strcmp(fstype, "cgroup2");
    } else if (!strcmp(fstype, "cgroup")) {
      char *s2 = NULL;
      for (char *o = strtok_r(superopts, ",", &s2); o && !match; o = strtok_r(NULL, ",", &s2))
        match = !strcmp(o, first);
    }
    if (!match) continue;
    const char *root = fields[3];
    const char *rel = cg_path;
    if (strcmp(root, "/")) {
      size_t rl = strlen(root);
      if (strncmp(cg_path, root, rl) || (cg_path[rl] && cg_path[rl] != '/')) continue;
      rel = cg_path + rl;
    }
    return xasprintf("%s%s", fields[4], rel);
  }
  return NULL;
}

static int open_cgroups(pid_t pid, lx_exec_plan *plan, arca_err *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
  autofree char *cgroups = NULL, *mountinfo = NULL;
  if (read_file(path, 1 << 16, &cgroups, NULL, err) < 0) return -1;
  if (read_file("/proc/self/mountinfo", 4 << 20, &mountinfo, NULL, err) < 0) return -1;
  for (char *save = NULL, *line = strtok_r(cgroups, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = '\0';
    const char *controllers = c1 + 1, *cg_path = c2 + 1;
    autofree char *dir = hierarchy_dir(mountinfo, controllers, cg_path);
    if (!dir) continue; /* a hierarchy not mounted here: nothing to join */
    if (!*controllers) {
      if (plan->cgroup_v2_dir >= 0) continue;
      plan->cgroup_v2_dir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (plan->cgroup_v2_dir < 0) return err_errno(err, 500, errno, "open %s", dir);
      autofree char *procs = xasprintf("%s/cgroup.procs", dir);
      plan->cgroup_v2_procs = open(procs, O_WRONLY | O_CLOEXEC);
      if (plan->cgroup_v2_procs < 0) return err_errno(err, 500, errno, "open %s", procs);
      continue;
    }
    if (plan->ncgroups == LX_PLAN_MAX_CGROUPS) return err_set(err, 500, "too many cgroup hierarchies");
    autofree char *tasks = xasprintf("%s/tasks", dir);
    int fd = open(tasks, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return err_errno(err, 500, errno, "open %s", tasks);
    plan->cgroup_tasks[plan->ncgroups++] = fd;
  }
  return 0;
}

static int plan_user(const json_t *user, lx_exec_plan *plan) {
  plan->uid = (uint32_t)json_integer_value(json_object_get(user, "uid"));
  plan->gid = (uint32_t)json_integer_value(json_object_get(user, "gid"));
  const json_t *gids = json_object_get(user, "additionalGids");
  plan->ngids = json_array_size(gids);
  plan->gids = xcalloc(plan->ngids + 1, sizeof *plan->gids);
  for (size_t i = 0; i < plan->ngids; i++) plan->gids[i] = (gid_t)json_integer_value(json_array_get(gids, i));
  const json_t *umask = json_object_get(user, "umask");
  plan->umask = json_is_integer(umask) ? (mode_t)json_integer_value(umask) : 022;
  return 0;
}

static int plan_caps(const json_t *caps, lx_exec_plan *plan, arca_err *err) {
  if (lx_caps_mask(json_object_get(caps, "bounding"), &plan->bounding, err) < 0 ||
      lx_caps_mask(json_object_get(caps, "effective"), &plan->effective, err) < 0 ||
      lx_caps_mask(json_object_get(caps, "permitted"), &plan->permitted, err) < 0 ||
      lx_caps_mask(json_object_get(caps, "inheritable"), &plan->inheritable, err) < 0 ||
      lx_caps_mask(json_object_get(caps, "ambient"), &plan->ambient, err) < 0)
    return -1;
  return 0;
}

static int plan_rlimits(const json_t *rlimits, lx_exec_plan *plan, arca_err *err) {
  size_t i;
  json_t *r;
  json_array_foreach(rlimits, i, r) {
    const char *type = json_string_value(json_object_get(r, "type"));
    int res = lx_rlimit_resource(type);
    if (res < 0) return err_set(err, 400, "unknown rlimit type %s", type ? type : "(none)");
    if (plan->nrlimits == LX_PLAN_MAX_RLIMITS) return err_set(err, 400, "too many rlimits");
    plan->rlimits[plan->nrlimits].resource = res;
    plan->rlimits[plan->nrlimits].lim.rlim_cur = (rlim_t)json_integer_value(json_object_get(r, "soft"));
    plan->rlimits[plan->nrlimits].lim.rlim_max = (rlim_t)json_integer_value(json_object_get(r, "hard"));
    plan->nrlimits++;
  }
  return 0;
}

static int plan_fill(pid_t init_pid, const json_t *process, const json_t *seccomp, const char *path,
                     const char *home, lx_exec_plan *plan, arca_err *err) {
  static const char *const ns_names[] = {"ipc", "uts", "net", "cgroup", "mnt"};
  if (open_ns(init_pid, "pid", &plan->pid_ns, err) < 0) return -1;
  for (size_t i = 0; i < ARRAY_LEN(ns_names); i++) {
    if (open_ns(init_pid, ns_names[i], &plan->ns[plan->nns], err) < 0) return -1;
    plan->nns++;
  }
  if (open_cgroups(init_pid, plan, err) < 0) return -1;

  const json_t *env = json_object_get(process, "env");
  autofree char *home_var = NULL;
  if (!env_has(env, "HOME")) home_var = xasprintf("HOME=%s", home && *home ? home : "/");
  plan->path = xstrdup(path);
  plan->argv = string_vector(json_object_get(process, "args"), NULL);
  plan->envp = string_vector(env, home_var);
  const char *cwd = json_string_value(json_object_get(process, "cwd"));
  plan->cwd = xstrdup(cwd && *cwd ? cwd : "/");
  plan_user(json_object_get(process, "user"), plan);
  if (plan_caps(json_object_get(process, "capabilities"), plan, err) < 0) return -1;
  if (plan_rlimits(json_object_get(process, "rlimits"), plan, err) < 0) return -1;
  plan->no_new_privs = json_is_true(json_object_get(process, "noNewPrivileges"));
  const json_t *oom = json_object_get(process, "oomScoreAdj");
  if (json_is_integer(oom)) {
    plan->has_oom_score_adj = true;
    plan->oom_score_adj = (int)json_integer_value(oom);
  }
  plan->terminal = json_is_true(json_object_get(process, "terminal"));
  const json_t *size = json_object_get(process, "consoleSize");
  plan->rows = (unsigned short)json_integer_value(json_object_get(size, "height"));
  plan->cols = (unsigned short)json_integer_value(json_object_get(size, "width"));
  return lx_seccomp_compile_cached(seccomp, &plan->seccomp, err);
}

int lx_exec_plan_build(pid_t init_pid, const json_t *process, const json_t *seccomp, const char *path,
                       const char *home, lx_exec_plan *plan, arca_err *err) {
  memset(plan, 0, sizeof *plan);
  plan->pid_ns = plan->cgroup_v2_dir = plan->cgroup_v2_procs = -1;
  if (plan_fill(init_pid, process, seccomp, path, home, plan, err) < 0) {
    lx_exec_plan_free(plan);
    return -1;
  }
  return 0;
}

void lx_exec_plan_free(lx_exec_plan *plan) {
  if (plan->pid_ns >= 0) close(plan->pid_ns);
  plan->pid_ns = -1;
  for (size_t i = 0; i < plan->nns; i++) close(plan->ns[i]);
  plan->nns = 0;
  for (size_t i = 0; i < plan->ncgroups; i++) close(plan->cgroup_tasks[i]);
  plan->ncgroups = 0;
  if (plan->cgroup_v2_dir >= 0) close(plan->cgroup_v2_dir);
  if (plan->cgroup_v2_procs >= 0) close(plan->cgroup_v2_procs);
  free(plan->path);
  vector_free(plan->argv);
  vector_free(plan->envp);
  free(plan->cwd);
  free(plan->gids);
  lx_bpf_free(&plan->seccomp);
  memset(plan, 0, sizeof *plan);
  plan->pid_ns = plan->cgroup_v2_dir = plan->cgroup_v2_procs = -1;
}

void lx_exec_failure_text(const lx_exec_plan *plan, const lx_exec_failure *f, char *out, size_t n) {
  char reason[128];
  snprintf(reason, sizeof reason, "%s", strerror(f->err));
  if (reason[0] >= 'A' && reason[0] <= 'Z') reason[0] = (char)(reason[0] - 'A' + 'a');
  char step[sizeof f->step + 1];
  memcpy(step, f->step, sizeof f->step);
  step[sizeof f->step] = '\0';
  if (!strcmp(step, "chdir"))
    snprintf(out, n, "chdir to cwd (\"%s\") set in config.json failed: %s", plan->cwd, reason);
  else if (!strcmp(step, "exec"))
    snprintf(out, n, "exec %s: %s", plan->path, reason);
  else
    snprintf(out, n, "%s: %s", step, reason);
}

/* ---- running it (in the forked child: system calls only) ------------------------- */

static void __attribute__((noreturn)) fail_step(int err_fd, const char *step) {
  lx_exec_failure f;
  memset(&f, 0, sizeof f);
  f.err = errno;
  for (size_t i = 0; i < sizeof f.step && step[i]; i++) f.step[i] = step[i];
  if (write(err_fd, &f, sizeof f) < 0) {
    /* the parent is gone: nothing to tell */
  }
  _exit(127);
}

size_t lx_exec_plan_fds(const lx_exec_plan *plan, int *out, size_t max) {
  size_t n = 0;
  if (plan->pid_ns >= 0 && n < max) out[n++] = plan->pid_ns;
  for (size_t i = 0; i < plan->nns && n < max; i++) out[n++] = plan->ns[i];
  for (size_t i = 0; i < plan->ncgroups && n < max; i++) out[n++] = plan->cgroup_tasks[i];
  if (plan->cgroup_v2_dir >= 0 && n < max) out[n++] = plan->cgroup_v2_dir;
  if (plan->cgroup_v2_procs >= 0 && n < max) out[n++] = plan->cgroup_v2_procs;
  return n;
}

pid_t lx_exec_plan_spawn(const lx_exec_plan *plan, bool *in_cgroup) {
  *in_cgroup = false;
  if (plan->pid_ns >= 0 && setns(plan->pid_ns, CLONE_NEWPID) < 0) return -1;
  if (plan->cgroup_v2_dir >= 0) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)plan->cgroup_v2_dir;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) {
      *in_cgroup = true;
      return (pid_t)pid;
    }
    /* older kernels (ENOSYS, E2BIG) or a cgroup that refuses it: fork, then write procs */
  }
  return fork();
}

static int send_fd(int sock, int fd) {
  char byte = 0;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t r;
  while ((r = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  return r < 0 ? -1 : 0;
}

/* The terminal inside the container's devpts, its master sent to arcad, the slave our stdio
 * and controlling terminal (runc's setupConsole for exec). */
static int setup_terminal(const lx_exec_plan *plan, int console_fd) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return -1;
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) return -1;
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) return -1;
  if (plan->rows || plan->cols) {
    struct winsize ws = {.ws_row = plan->rows, .ws_col = plan->cols};
    ioctl(master, TIOCSWINSZ, &ws);
  }
  if (send_fd(console_fd, master) < 0) return -1;
  close(master);
  close(console_fd);
  if (setsid() < 0) return -1;
  if (ioctl(slave, TIOCSCTTY, 0) < 0) return -1;
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0) return -1;
  if (slave > 2) close(slave);
  return 0;
}

static int load_seccomp(const lx_exec_plan *plan) {
  if (!plan->seccomp.len) return 0;
  struct sock_fprog prog = {.len = plan->seccomp.len, .filter = plan->seccomp.filter};
  if (plan->seccomp.flags)
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, plan->seccomp.flags, &prog);
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static int set_capabilities(const lx_exec_plan *plan) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  for (int w = 0; w < 2; w++) {
    data[w].effective = (uint32_t)(plan->effective >> (32 * w));
    data[w].permitted = (uint32_t)(plan->permitted >> (32 * w));
    data[w].inheritable = (uint32_t)(plan->inheritable >> (32 * w));
  }
  if (syscall(SYS_capset, &hdr, data) < 0) return -1;
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap = 0; cap < 64; cap++)
    if ((plan->ambient >> cap) & 1) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
  return 0;
}

void lx_exec_plan_run(const lx_exec_plan *plan, bool in_cgroup, int err_fd, int console_fd) {
  for (size_t i = 0; i < plan->ncgroups; i++)
    if (write(plan->cgroup_tasks[i], "0", 1) < 0) fail_step(err_fd, "cgroup");
  if (!in_cgroup && plan->cgroup_v2_procs >= 0 && write(plan->cgroup_v2_procs, "0", 1) < 0)
    fail_step(err_fd, "cgroup");
  for (size_t i = 0; i < plan->nns; i++)
    if (setns(plan->ns[i], 0) < 0) fail_step(err_fd, "setns");
  if (chdir("/") < 0) fail_step(err_fd, "chdir /");
  if (plan->has_oom_score_adj) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[16];
      int v = plan->oom_score_adj, k = 0;
      char digits[12];
      int nd = 0;
      unsigned u = v < 0 ? (unsigned)-v : (unsigned)v;
      do digits[nd++] = (char)('0' + u % 10); while ((u /= 10) && nd < 11);
      if (v < 0) buf[k++] = '-';
      while (nd) buf[k++] = digits[--nd];
      if (write(fd, buf, (size_t)k) < 0) {
        /* runc ignores a refused adjustment as well */
      }
      close(fd);
    }
  }
  if (plan->terminal && setup_terminal(plan, console_fd) < 0) fail_step(err_fd, "terminal");
  for (size_t i = 0; i < plan->nrlimits; i++)
    if (setrlimit(plan->rlimits[i].resource, &plan->rlimits[i].lim) < 0) fail_step(err_fd, "setrlimit");
  /* nothing of arcad's reaches the process, except err_fd until execve */
  syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
  if (plan->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail_step(err_fd, "no_new_privs");
  /* without no_new_privs loading a filter needs CAP_SYS_ADMIN: before the capabilities go */
  if (!plan->no_new_privs && load_seccomp(plan) < 0) fail_step(err_fd, "seccomp");
  for (int cap = 0; cap < 64; cap++)
    if (!((plan->bounding >> cap) & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      fail_step(err_fd, "capbset");
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail_step(err_fd, "keepcaps");
  if (syscall(SYS_setgroups, plan->ngids, plan->gids) < 0) fail_step(err_fd, "setgroups");
  if (syscall(SYS_setresgid, plan->gid, plan->gid, plan->gid) < 0) fail_step(err_fd, "setgid");
  if (syscall(SYS_setresuid, plan->uid, plan->uid, plan->uid) < 0) fail_step(err_fd, "setuid");
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail_step(err_fd, "keepcaps");
  if (set_capabilities(plan) < 0) fail_step(err_fd, "capset");
  if (chdir(plan->cwd) < 0) fail_step(err_fd, "chdir");
  if (plan->no_new_privs && load_seccomp(plan) < 0) fail_step(err_fd, "seccomp");
  umask(plan->umask);
  sigset_t none;
  sigemptyset(&none);
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(plan->path, plan->argv, plan->envp);
  fail_step(err_fd, "exec");
}
