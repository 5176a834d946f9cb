#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

extern char **environ;

#define PROC_OUTPUT_MAX (8u << 20)

char *proc_find(const char *name, const char *const extra_dirs[]) {
  if (strchr(name, '/')) return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
  const char *path = getenv("PATH");
  autofree char *copy = xstrdup(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  char *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    char *p = xasprintf("%s/%s", dir, name);
    struct stat st;
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0) return p;
    free(p);
  }
  for (size_t i = 0; extra_dirs && extra_dirs[i]; i++) {
    char *p = xasprintf("%s/%s", extra_dirs[i], name);
    if (access(p, X_OK) == 0) return p;
    free(p);
  }
  return NULL;
}

void proc_result_free(proc_result *r) {
  free(r->out);
  free(r->err);
  r->out = r->err = NULL;
}

int proc_run(const char *const argv[], const char *const extra_env[], const char *in, size_t in_len,
             proc_result *res, arca_err *err) {
  memset(res, 0, sizeof *res);
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
    int e = errno;
    for (int i = 0; i < 2; i++) {
      if (pin[i] >= 0) close(pin[i]);
      if (pout[i] >= 0) close(pout[i]);
      if (perr[i] >= 0) close(perr[i]);
    }
    return err_errno(err, 500, e, "pipe");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
  posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
  posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  char **envp = environ;
  char **merged = NULL;
  if (extra_env && extra_env[0]) {
    size_t n = 0, m = 0;
    while (environ[n]) n++;
    while (extra_env[m]) m++;
    merged = xcalloc(n + m + 1, sizeof *merged);
    for (size_t i = 0; i < n; i++) merged[i] = environ[i];
    for (size_t i = 0; i < m; i++) merged[n + i] = (char *)extra_env[i];
    envp = merged;
  }
  pid_t pid;
  int rc = strchr(argv[0], '/') ? posix_spawn(&pid, argv[0], &fa, &attr, (char *const *)argv, envp)
                                : posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, envp);
  free(merged);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(pin[0]);
  close(pout[1]);
  close(perr[1]);
  if (rc != 0) {
    close(pin[1]);
    close(pout[0]);
    close(perr[0]);
    return err_errno(err, 500, rc, "run %s", argv[0]);
  }
  strbuf out, errb;
  sb_init(&out);
  sb_init(&errb);
  size_t in_off = 0;
  int in_fd = pin[1];
  if (!in || in_len == 0) {
    close(in_fd);
    in_fd = -1;
  } else {
    fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  int open_fds = 2;
  while (open_fds > 0 || in_fd >= 0) {
    struct pollfd p[3] = {{.fd = pout[0], .events = POLLIN}, {.fd = perr[0], .events = POLLIN},
                          {.fd = in_fd, .events = POLLOUT}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[16384];
      ssize_t r = read(p[i].fd, buf, sizeof buf);
      if (r <= 0) {
        close(p[i].fd);
        if (i == 0) pout[0] = -1;
        else perr[0] = -1;
        open_fds--;
        continue;
      }
      strbuf *sb = i == 0 ? &out : &errb;
      if (sb->len + (size_t)r <= PROC_OUTPUT_MAX) sb_append(sb, buf, (size_t)r);
    }
    if (in_fd >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(in_fd, in + in_off, in_len - in_off);
      if (w > 0) in_off += (size_t)w;
      if (w < 0 && errno != EAGAIN && errno != EINTR) in_off = in_len;
      if (in_off >= in_len) {
        close(in_fd);
        in_fd = -1;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  res->out = sb_steal(&out);
  res->err = sb_steal(&errb);
  return 0;
}
