#include "engine/execs.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/util.h"
#include "engine/container_internal.h"
#include "engine/engine.h"

struct exec_inst {
  char id[65];
  char container_id[65];
  json_t *config;     /* ExecConfig as given */
  bool internal;
  bool started, running, exited;
  int exit_code;
  bool tty;
  int refs;
  bool forgotten;
};

static pthread_mutex_t execs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t execs_cond = PTHREAD_COND_INITIALIZER;
static strmap execs_map;

int execs_open(engine *e, arca_err *err) {
  (void)e;
  (void)err;
  strmap_init(&execs_map);
  return 0;
}

static void exec_free(exec_inst *x) {
  json_decref(x->config);
  free(x);
}

void execs_close(engine *e) {
  (void)e;
  pthread_mutex_lock(&execs_lock);
  size_t i = 0;
  void *v;
  while (strmap_next(&execs_map, &i, NULL, &v)) exec_free(v);
  strmap_free(&execs_map);
  pthread_mutex_unlock(&execs_lock);
}

static char *cmd_string(const json_t *config) {
  strbuf sb;
  sb_init(&sb);
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(config, "Cmd"), i, a) {
    if (i) sb_puts(&sb, " ");
    sb_puts(&sb, json_string_value(a) ?: "");
  }
  return sb_steal(&sb);
}

static void exec_event(engine *e, container *c, const exec_inst *x, const char *what, json_t *extra) {
  if (x->internal) {
    json_decref(extra);
    return;
  }
  autofree char *cmd = cmd_string(x->config);
  autofree char *action = xasprintf("%s: %s", what, cmd);
  json_t *attrs = extra ? extra : json_object();
  json_object_set_new(attrs, "execID", json_string(x->id));
  container_event(e, c, !strcmp(what, "exec_die") ? "exec_die" : action, attrs);
}

int exec_create(engine *e, const char *name, const json_t *body, bool internal, char id_out[65], arca_err *err) {
  json_t *cmd = json_object_get(body, "Cmd");
  if (!json_is_array(cmd) || json_array_size(cmd) == 0) return err_set(err, 400, "No exec command specified");
  size_t i;
  json_t *a;
  json_array_foreach(cmd, i, a) if (!json_is_string(a)) return err_set(err, 400, "json: cannot unmarshal number into Go struct field ExecOptions.Cmd of type string");
  container *c;
  if (container_get(e, name, &c, err) < 0) return -1;
  pthread_mutex_lock(&c->lock);
  int rc = 0;
  if (c->state == CS_PAUSED) rc = err_set(err, 409, "Container %s is paused, unpause the container before exec", c->id);
  else if (c->state == CS_RESTARTING) rc = err_set(err, 409, "Container %s is restarting, wait until the container is running", c->id);
  else if (c->state != CS_RUNNING) rc = err_set(err, 409, "container %s is not running", c->id);
  if (rc == 0) {
    exec_inst *x = xcalloc(1, sizeof *x);
    random_hex(x->id, 32);
    memcpy(x->container_id, c->id, sizeof x->container_id);
    x->config = json_deep_copy(body);
    x->internal = internal;
    x->tty = json_is_true(json_object_get(body, "Tty"));
    x->exit_code = -1;
    pthread_mutex_lock(&execs_lock);
    strmap_put(&execs_map, x->id, x);
    pthread_mutex_unlock(&execs_lock);
    if (!internal) {
      c->exec_ids = xrealloc(c->exec_ids, (c->nexec + 1) * sizeof *c->exec_ids);
      c->exec_ids[c->nexec++] = xstrdup(x->id);
    }
    memcpy(id_out, x->id, 65);
    pthread_mutex_unlock(&c->lock);
    exec_event(e, c, x, "exec_create", NULL);
  } else {
    pthread_mutex_unlock(&c->lock);
  }
  container_put(e, c);
  return rc;
}

int exec_get(engine *e, const char *id, exec_inst **out, arca_err *err) {
  (void)e;
  pthread_mutex_lock(&execs_lock);
  exec_inst *x = id ? strmap_get(&execs_map, id) : NULL;
  if (x) x->refs++;
  pthread_mutex_unlock(&execs_lock);
  if (!x) return err_set(err, 404, "No such exec instance: %s", id ? id : "");
  *out = x;
  return 0;
}

void exec_put(engine *e, exec_inst *x) {
  (void)e;
  if (!x) return;
  pthread_mutex_lock(&execs_lock);
  bool gone = --x->refs <= 0 && x->forgotten;
  pthread_mutex_unlock(&execs_lock);
  if (gone) exec_free(x);
}

bool exec_tty(const exec_inst *x) { return x->tty; }
bool exec_attach_stdin(const exec_inst *x) { return json_is_true(json_object_get(x->config, "AttachStdin")); }
bool exec_attach_stdout(const exec_inst *x) { return json_is_true(json_object_get(x->config, "AttachStdout")); }
bool exec_attach_stderr(const exec_inst *x) { return json_is_true(json_object_get(x->config, "AttachStderr")); }
const char *exec_detach_keys(const exec_inst *x) { return json_string_value(json_object_get(x->config, "DetachKeys")); }
const char *exec_container_id(const exec_inst *x) { return x->container_id; }

static char **strv_from_json(const json_t *a, size_t *n) {
  *n = json_array_size(a);
  char **v = xcalloc(*n + 1, sizeof *v);
  for (size_t i = 0; i < *n; i++) v[i] = xstrdup(json_string_value(json_array_get(a, i)) ?: "");
  return v;
}

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

/* The process env of an exec: the container's, then the exec's own entries override. */
static char **exec_env(container *c, const json_t *config, size_t *n) {
  json_t *env = json_array();
  json_array_append_new(env, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  json_array_append_new(env, json_sprintf("HOSTNAME=%s", json_string_value(json_object_get(c->config, "Hostname")) ?: ""));
  if (json_is_true(json_object_get(config, "Tty"))) json_array_append_new(env, json_string("TERM=xterm"));
  json_t *lists[2] = {json_object_get(c->config, "Env"), json_object_get(config, "Env")};
  for (int l = 0; l < 2; l++) {
    size_t i;
    json_t *v;
    json_array_foreach(lists[l], i, v) {
      const char *s = json_string_value(v);
      if (!s) continue;
      size_t klen = strcspn(s, "=");
      size_t j;
      json_t *w;
      bool replaced = false;
      json_array_foreach(env, j, w) {
        const char *t = json_string_value(w);
        if (!strncmp(t, s, klen) && t[klen] == '=') {
          json_array_set(env, j, v);
          replaced = true;
          break;
        }
      }
      if (!replaced) json_array_append(env, v);
    }
  }
  char **out = strv_from_json(env, n);
  json_decref(env);
  return out;
}

int exec_start(engine *e, exec_inst *x, bool tty_override, const int console[2], rt_stdio *stdio, arca_err *err) {
  (void)tty_override;
  pthread_mutex_lock(&execs_lock);
  if (x->started) {
    pthread_mutex_unlock(&execs_lock);
    if (x->running) return err_set(err, 409, "Error: Exec command %s is already running", x->id);
    return err_set(err, 409, "Error: Exec command %s has already run", x->id);
  }
  x->started = true;
  pthread_mutex_unlock(&execs_lock);
  container *c;
  if (container_get(e, x->container_id, &c, err) < 0) return -1;
  pthread_mutex_lock(&c->lock);
  int rc = 0;
  if (c->state == CS_PAUSED) rc = err_set(err, 409, "Container %s is paused, unpause the container before exec", c->id);
  else if (c->state != CS_RUNNING) rc = err_set(err, 409, "container %s is not running", c->id);
  if (rc == 0 && !e->driver) rc = err_set(err, 500, "the container runtime is not available");
  if (rc == 0) {
    rt_process p = {0};
    p.args = strv_from_json(json_object_get(x->config, "Cmd"), &p.nargs);
    p.env = exec_env(c, x->config, &p.nenv);
    const char *wd = json_string_value(json_object_get(x->config, "WorkingDir"));
    if (!wd || !*wd) wd = json_string_value(json_object_get(c->config, "WorkingDir"));
    p.cwd = (char *)(wd && *wd ? wd : "/");
    const char *user = json_string_value(json_object_get(x->config, "User"));
    if (!user || !*user) user = json_string_value(json_object_get(c->config, "User"));
    p.user = (char *)(user ? user : "");
    json_t *groups = json_object_get(c->host_config, "GroupAdd");
    p.extra_groups = strv_from_json(groups, &p.nextra_groups);
    p.terminal = x->tty;
    if (console) {
      p.rows = (uint16_t)console[0];
      p.cols = (uint16_t)console[1];
    }
    p.privileged = json_is_true(json_object_get(x->config, "Privileged"));
    pthread_mutex_lock(&execs_lock);
    x->running = true;
    pthread_mutex_unlock(&execs_lock);
    rc = e->driver->ops->exec(e->driver, c->id, x->id, &p, exec_attach_stdin(x), stdio, err);
    strv_free(p.args, p.nargs);
    strv_free(p.env, p.nenv);
    strv_free(p.extra_groups, p.nextra_groups);
    if (rc < 0) {
      pthread_mutex_lock(&execs_lock);
      x->running = false;
      x->exited = true;
      x->exit_code = err->exit_code ? err->exit_code : 126;
      pthread_cond_broadcast(&execs_cond);
      pthread_mutex_unlock(&execs_lock);
    }
  }
  pthread_mutex_unlock(&c->lock);
  if (rc == 0) exec_event(e, c, x, "exec_start", NULL);
  container_put(e, c);
  return rc;
}

void execs_on_exit(engine *e, const char *id, const char *exec_id, const void *exit_p) {
  const rt_exit *xt = exit_p;
  exec_inst *x;
  arca_err err;
  if (exec_get(e, exec_id, &x, &err) < 0) return;
  pthread_mutex_lock(&execs_lock);
  x->running = false;
  x->exited = true;
  x->exit_code = xt->exit_code;
  pthread_cond_broadcast(&execs_cond);
  pthread_mutex_unlock(&execs_lock);
  container *c;
  if (!x->internal && container_get(e, id, &c, &err) == 0) {
    char code[16];
    snprintf(code, sizeof code, "%d", xt->exit_code);
    exec_event(e, c, x, "exec_die", json_pack("{s:s}", "exitCode", code));
    container_put(e, c);
  }
  exec_put(e, x);
}

int exec_wait(engine *e, exec_inst *x, int timeout_ms, int cancel_fd, int *code) {
  (void)e;
  int64_t deadline = timeout_ms >= 0 ? monotonic_ns() + (int64_t)timeout_ms * 1000000LL : 0;
  pthread_mutex_lock(&execs_lock);
  while (!x->exited) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&execs_cond, &execs_lock, &ts);
    if (deadline && monotonic_ns() > deadline) {
      pthread_mutex_unlock(&execs_lock);
      return 1;
    }
    if (cancel_fd >= 0) {
      struct pollfd p = {.fd = cancel_fd, .events = POLLIN};
      if (poll(&p, 1, 0) > 0) {
        pthread_mutex_unlock(&execs_lock);
        return 1;
      }
    }
  }
  *code = x->exit_code;
  pthread_mutex_unlock(&execs_lock);
  return 0;
}

int exec_resize(engine *e, const char *id, int rows, int cols, arca_err *err) {
  exec_inst *x;
  if (exec_get(e, id, &x, err) < 0) return -1;
  int rc = 0;
  if (!x->tty) rc = err_set(err, 409, "Error: Exec %s is not running with a TTY", id);
  else if (!x->running) rc = err_set(err, 409, "Error: Exec %s is not running", id);
  else if (!e->driver) rc = err_set(err, 500, "the container runtime is not available");
  else rc = e->driver->ops->resize(e->driver, x->container_id, x->id, (uint16_t)rows, (uint16_t)cols, err);
  exec_put(e, x);
  return rc;
}

json_t *exec_inspect_json(engine *e, exec_inst *x) {
  (void)e;
  pthread_mutex_lock(&execs_lock);
  json_t *cmd = json_object_get(x->config, "Cmd");
  json_t *args = json_deep_copy(cmd);
  const char *entry = json_string_value(json_array_get(args, 0)) ?: "";
  json_t *pc = json_pack("{s:b,s:s,s:s,s:b}", "tty", x->tty, "entrypoint", entry,
                         "user", json_string_value(json_object_get(x->config, "User")) ?: "", "privileged",
                         json_is_true(json_object_get(x->config, "Privileged")));
  json_array_remove(args, 0);
  json_object_set_new(pc, "arguments", args);
  json_t *doc = json_pack("{s:b,s:s,s:b,s:b,s:b,s:o,s:b,s:b,s:b,s:s,s:s,s:i}", "CanRemove", 0, "ID", x->id,
                          "Running", x->running, "OpenStdin", exec_attach_stdin(x), "OpenStderr",
                          exec_attach_stderr(x), "ProcessConfig", pc, "OpenStdout", exec_attach_stdout(x),
                          "Privileged", json_is_true(json_object_get(x->config, "Privileged")), "Tty", x->tty,
                          "ContainerID", x->container_id, "DetachKeys", exec_detach_keys(x) ?: "", "Pid", 0);
  json_object_set_new(doc, "ExitCode", x->exited ? json_integer(x->exit_code) : json_null());
  pthread_mutex_unlock(&execs_lock);
  return doc;
}

void execs_forget_container(engine *e, const char *container_id) {
  (void)e;
  pthread_mutex_lock(&execs_lock);
  for (bool again = true; again;) {
    again = false;
    size_t i = 0;
    const char *k;
    void *v;
    while (strmap_next(&execs_map, &i, &k, &v)) {
      exec_inst *x = v;
      if (strcmp(x->container_id, container_id) != 0) continue;
      strmap_del(&execs_map, x->id);
      x->forgotten = true;
      if (x->refs <= 0) exec_free(x);
      again = true;
      break;
    }
  }
  pthread_mutex_unlock(&execs_lock);
}

int exec_probe(engine *e, const char *container_id, char *const *argv, size_t argc, int timeout_ms, int *code,
               char **output, arca_err *err) {
  json_t *cmd = json_array();
  for (size_t i = 0; i < argc; i++) json_array_append_new(cmd, json_string(argv[i]));
  json_t *body = json_pack("{s:o,s:b,s:b}", "Cmd", cmd, "AttachStdout", 1, "AttachStderr", 1);
  char id[65];
  int rc = exec_create(e, container_id, body, true, id, err);
  json_decref(body);
  if (rc < 0) return -1;
  exec_inst *x;
  if (exec_get(e, id, &x, err) < 0) return -1;
  rt_stdio io = {-1, -1, -1, -1};
  if (exec_start(e, x, false, NULL, &io, err) < 0) {
    *code = err->exit_code ? err->exit_code : 126;
    *output = xstrdup(err->msg);
    pthread_mutex_lock(&execs_lock);
    strmap_del(&execs_map, x->id);
    x->forgotten = true;
    pthread_mutex_unlock(&execs_lock);
    exec_put(e, x);
    return 0;
  }
  if (io.stdin_fd >= 0) close(io.stdin_fd);
  strbuf out;
  sb_init(&out);
  int64_t deadline = monotonic_ns() + (int64_t)timeout_ms * 1000000LL;
  int fds[2] = {io.pty >= 0 ? io.pty : io.stdout_fd, io.pty >= 0 ? -1 : io.stderr_fd};
  bool timed_out = false;
  while (fds[0] >= 0 || fds[1] >= 0) {
    int64_t left = (deadline - monotonic_ns()) / 1000000LL;
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
    if (poll(p, 2, (int)left) <= 0) continue;
    for (int k = 0; k < 2; k++) {
      if (fds[k] < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t r = read(fds[k], buf, sizeof buf);
      if (r <= 0) {
        close(fds[k]);
        fds[k] = -1;
      } else if (out.len < 4096) {
        sb_append(&out, buf, (size_t)r > 4096 - out.len ? 4096 - out.len : (size_t)r);
      }
    }
  }
  for (int k = 0; k < 2; k++)
    if (fds[k] >= 0) close(fds[k]);
  int result = 1;
  if (!timed_out) {
    int64_t left = (deadline - monotonic_ns()) / 1000000LL;
    result = exec_wait(e, x, left > 0 ? (int)left : 0, -1, code);
  }
  *output = sb_steal(&out);
  pthread_mutex_lock(&execs_lock);
  strmap_del(&execs_map, x->id);
  x->forgotten = true;
  pthread_mutex_unlock(&execs_lock);
  exec_put(e, x);
  return result;
}
