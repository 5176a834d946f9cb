/* Container endpoints: create, list, inspect, start/stop/restart/kill, wait, delete,
 * rename, update, pause/unpause, prune, top, stats, changes, export, archive, logs, commit
 * (attach and exec are in attach.c and exec.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/routes.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "engine/container_internal.h"
#include "engine/engine.h"
#include "engine/logs.h"

static void reply_ok_or_error(api_req *req, int rc, const arca_err *err, int ok_status) {
  if (rc == 0) {
    api_reply_empty(req, ok_status);
    return;
  }
  if (err->status == 304) {
    api_reply_empty(req, 304);
    return;
  }
  api_reply_error(req, err);
}

void api_containers_create(api_req *req) {
  arca_err err;
  json_t *body = NULL;
  if (api_body_json(req, &body, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  if (!body) {
    api_reply_errorf(req, 400, "config cannot be empty in order to create a container");
    return;
  }
  char id[65];
  json_t *warnings = NULL;
  int rc = container_create(api_engine(req), body, api_query(req, "name"), api_query(req, "platform"), api_version_minor(req), id,
                            &warnings, &err);
  json_decref(body);
  if (rc < 0) {
    json_decref(warnings);
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 201, json_pack("{s:s,s:o}", "Id", id, "Warnings", warnings));
}

void api_containers_list(api_req *req) {
  arca_err err;
  long long limit = -1;
  if (api_query_int(req, "limit", -1, &limit, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  char *out;
  size_t len;
  if (containers_list_text(api_engine(req), api_query_bool(req, "all", false), (int)limit,
                           api_query_bool(req, "size", false), api_query(req, "filters"), api_version_minor(req), &out, &len,
                           &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json_text(req, 200, out, len);
}

void api_container_inspect(api_req *req) {
  arca_err err;
  container *c;
  if (container_get(api_engine(req), api_param(req, "id"), &c, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  json_t *doc = container_inspect_json(api_engine(req), c, api_query_bool(req, "size", false), api_version_minor(req));
  container_put(api_engine(req), c);
  api_reply_json(req, 200, doc);
}

void api_container_start(api_req *req) {
  arca_err err;
  const char *ck = api_query(req, "checkpoint");
  if (ck && *ck) {
    api_reply_errorf(req, 400, "checkpoints are not supported by Arca");
    return;
  }
  int rc = container_start(api_engine(req), api_param(req, "id"), &err);
  reply_ok_or_error(req, rc, &err, 204);
}

static int timeout_param(api_req *req, int *timeout, arca_err *err) {
  long long t = -1;
  if (api_query_int(req, "t", -1, &t, err) < 0) return -1;
  *timeout = (int)t;
  return 0;
}

void api_container_stop(api_req *req) {
  arca_err err;
  int t;
  if (timeout_param(req, &t, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  int rc = container_stop(api_engine(req), api_param(req, "id"), t, api_query(req, "signal"), &err);
  reply_ok_or_error(req, rc, &err, 204);
}

void api_container_restart(api_req *req) {
  arca_err err;
  int t;
  if (timeout_param(req, &t, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  int rc = container_restart(api_engine(req), api_param(req, "id"), t, api_query(req, "signal"), &err);
  reply_ok_or_error(req, rc, &err, 204);
}

void api_container_kill(api_req *req) {
  arca_err err;
  int rc = container_kill(api_engine(req), api_param(req, "id"), api_query(req, "signal"), &err);
  reply_ok_or_error(req, rc, &err, 204);
}

void api_container_pause(api_req *req) {
  arca_err err;
  reply_ok_or_error(req, container_pause(api_engine(req), api_param(req, "id"), &err), &err, 204);
}

void api_container_unpause(api_req *req) {
  arca_err err;
  reply_ok_or_error(req, container_unpause(api_engine(req), api_param(req, "id"), &err), &err, 204);
}

void api_container_delete(api_req *req) {
  arca_err err;
  int rc = container_remove(api_engine(req), api_param(req, "id"), api_query_bool(req, "force", false),
                            api_query_bool(req, "v", false), api_query_bool(req, "link", false), &err);
  reply_ok_or_error(req, rc, &err, 204);
}

void api_container_rename(api_req *req) {
  arca_err err;
  reply_ok_or_error(req, container_rename(api_engine(req), api_param(req, "id"), api_query(req, "name"), &err), &err, 204);
}

void api_container_update(api_req *req) {
  arca_err err;
  json_t *body = NULL;
  if (api_body_json(req, &body, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  json_t *warnings = NULL;
  int rc = container_update(api_engine(req), api_param(req, "id"), body ? body : json_object(), &warnings, &err);
  json_decref(body);
  if (rc < 0) {
    json_decref(warnings);
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 200, json_pack("{s:o}", "Warnings", warnings));
}

void api_containers_prune(api_req *req) {
  arca_err err;
  json_t *out;
  if (containers_prune(api_engine(req), api_query(req, "filters"), &out, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 200, out);
}

/* ---- wait: headers at once, the body when the condition holds ---- */

struct wait_job {
  engine *e;
  wait_handle *w;
};

static void wait_free(void *p) {
  struct wait_job *j = p;
  container_wait_free(j->w);
  free(j);
}

static void wait_produce(api_stream *s, void *p) {
  struct wait_job *j = p;
  int code = 0;
  char *error = NULL;
  if (container_wait_end(j->e, j->w, api_stream_cancel_fd(s), &code, &error) != 0) return;
  json_t *body = json_pack("{s:i}", "StatusCode", code);
  json_object_set_new(body, "Error", error ? json_pack("{s:s}", "Message", error) : json_null());
  api_stream_json(s, body);
  json_decref(body);
  free(error);
}

void api_container_wait(api_req *req) {
  arca_err err;
  const char *cond = api_query(req, "condition");
  wait_cond wc = WAIT_NOT_RUNNING;
  if (cond && *cond) {
    if (!strcmp(cond, "next-exit")) wc = WAIT_NEXT_EXIT;
    else if (!strcmp(cond, "removed")) wc = WAIT_REMOVED;
    else if (strcmp(cond, "not-running") != 0) {
      api_reply_errorf(req, 400, "invalid condition: \"%s\"", cond);
      return;
    }
  }
  wait_handle *w;
  if (container_wait_begin(api_engine(req), api_param(req, "id"), wc, &w, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  struct wait_job *j = xcalloc(1, sizeof *j);
  j->e = api_engine(req);
  j->w = w;
  api_reply_stream(req, 200, "application/json", wait_produce, j, wait_free);
}

/* ---- top, stats, changes ---- */

void api_container_top(api_req *req) {
  arca_err err;
  container *c;
  engine *e = api_engine(req);
  if (container_get(e, api_param(req, "id"), &c, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  pthread_mutex_lock(&c->lock);
  bool running = c->state == CS_RUNNING || c->state == CS_PAUSED;
  pthread_mutex_unlock(&c->lock);
  if (!running) {
    api_reply_errorf(req, 409, "container %s is not running", c->id);
    container_put(e, c);
    return;
  }
  json_t *titles = NULL, *procs = NULL;
  const char *ps = api_query(req, "ps_args");
  int rc = e->driver->ops->top(e->driver, c->id, ps && *ps ? ps : "-ef", &titles, &procs, &err);
  container_put(e, c);
  if (rc < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 200, json_pack("{s:o,s:o}", "Titles", titles, "Processes", procs));
}

void api_container_changes(api_req *req) {
  arca_err err;
  container *c;
  engine *e = api_engine(req);
  if (container_get(e, api_param(req, "id"), &c, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  json_t *out = NULL;
  int rc = e->driver->ops->changes(e->driver, c->id, &out, &err);
  container_put(e, c);
  if (rc < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 200, json_array_size(out) ? out : (json_decref(out), json_null()));
}

/* ---- logs ---- */

struct logs_job {
  engine *e;
  container *c;
  char *path;
  logs_opts o;
};

static void logs_free(void *p) {
  struct logs_job *j = p;
  container_put(j->e, j->c);
  free(j->path);
  free(j);
}

static int logs_write(void *ctx, const void *buf, size_t n) { return api_stream_write(ctx, buf, n); }

static bool still_running(void *ctx) {
  struct logs_job *j = ctx;
  pthread_mutex_lock(&j->c->lock);
  bool r = j->c->state == CS_RUNNING || j->c->state == CS_PAUSED || j->c->state == CS_RESTARTING;
  pthread_mutex_unlock(&j->c->lock);
  return r;
}

static void logs_produce(api_stream *s, void *p) {
  struct logs_job *j = p;
  arca_err err;
  logs_read(j->path, &j->o, logs_write, s, api_stream_cancel_fd(s), still_running, j, &err);
}

void api_container_logs(api_req *req) {
  arca_err err;
  engine *e = api_engine(req);
  struct logs_job *j = xcalloc(1, sizeof *j);
  j->e = e;
  logs_opts *o = &j->o;
  o->stdout_ = api_query_bool(req, "stdout", false);
  o->stderr_ = api_query_bool(req, "stderr", false);
  o->timestamps = api_query_bool(req, "timestamps", false);
  o->follow = api_query_bool(req, "follow", false);
  o->details = api_query_bool(req, "details", false);
  o->tail = -1;
  const char *tail = api_query(req, "tail");
  if (tail && *tail && strcmp(tail, "all") != 0) {
    char *end;
    long t = strtol(tail, &end, 10);
    if (!*end && t >= 0) o->tail = t;
  }
  const char *since = api_query(req, "since"), *until = api_query(req, "until");
  if ((since && *since && strcmp(since, "0") && parse_docker_time(since, now_ns(), &o->since_ns, &err) < 0) ||
      (until && *until && strcmp(until, "0") && parse_docker_time(until, now_ns(), &o->until_ns, &err) < 0)) {
    free(j);
    api_reply_error(req, &err);
    return;
  }
  if (!o->stdout_ && !o->stderr_) {
    free(j);
    api_reply_errorf(req, 400, "Bad parameters: you must choose at least one stream");
    return;
  }
  if (container_get(e, api_param(req, "id"), &j->c, &err) < 0) {
    free(j);
    api_reply_error(req, &err);
    return;
  }
  o->tty = json_is_true(json_object_get(j->c->config, "Tty"));
  j->path = e->driver ? e->driver->ops->log_path(e->driver, j->c->id) : NULL;
  if (!j->path) j->path = xstrdup("/nonexistent");
  api_reply_stream(req, 200, o->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream",
                   logs_produce, j, logs_free);
}

/* ---- export and archive ---- */

struct fd_job {
  engine *e;
  container *c;
  int kind; /* 0 export, 1 archive */
  char *path;
};

static void fd_job_free(void *p) {
  struct fd_job *j = p;
  container_put(j->e, j->c);
  free(j->path);
  free(j);
}

/* The driver writes a tar into a pipe; the stream sends what comes out of it. */
struct pipe_writer {
  struct fd_job *j;
  int fd;
  arca_err err;
  int rc;
};

static void *pipe_writer_main(void *p) {
  struct pipe_writer *w = p;
  rt_driver *d = w->j->e->driver;
  rt_path_stat st;
  if (w->j->kind == 0) w->rc = d->ops->export_rootfs(d, w->j->c->id, w->fd, &w->err);
  else w->rc = d->ops->archive_get(d, w->j->c->id, w->j->path, w->fd, &st, &w->err);
  close(w->fd);
  return NULL;
}

static void fd_produce(api_stream *s, void *p) {
  struct fd_job *j = p;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) return;
  struct pipe_writer w = {j, pfd[1], {0}, 0};
  pthread_t t;
  if (pthread_create(&t, NULL, pipe_writer_main, &w) != 0) {
    close(pfd[0]);
    close(pfd[1]);
    return;
  }
  char buf[65536];
  ssize_t r;
  while ((r = read(pfd[0], buf, sizeof buf)) > 0)
    if (api_stream_write(s, buf, (size_t)r) < 0) break;
  close(pfd[0]); /* a writer still writing gets EPIPE and ends */
  pthread_join(t, NULL);
}

void api_container_export(api_req *req) {
  arca_err err;
  engine *e = api_engine(req);
  struct fd_job *j = xcalloc(1, sizeof *j);
  j->e = e;
  if (container_get(e, api_param(req, "id"), &j->c, &err) < 0) {
    free(j);
    api_reply_error(req, &err);
    return;
  }
  api_reply_stream(req, 200, "application/x-tar", fd_produce, j, fd_job_free);
}

static int path_stat_header(api_req *req, engine *e, container *c, const char *path, arca_err *err) {
  rt_path_stat st;
  if (e->driver->ops->path_stat(e->driver, c->id, path, &st, err) < 0) {
    if (err->status == 404) err_set(err, 404, "Could not find the file %s in container %s", path, api_param(req, "id"));
    return -1;
  }
  char mtime[64];
  format_rfc3339nano(st.mtime_ns, mtime, sizeof mtime);
  json_t *j = json_pack("{s:s,s:I,s:I,s:s,s:s}", "name", st.name, "size", (json_int_t)st.size, "mode",
                        (json_int_t)st.mode, "mtime", mtime, "linkTarget", st.link_target);
  char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  /* base64 of the JSON, as dockerd sends it */
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = strlen(text);
  char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned char)text[i] << 16 | (i + 1 < n ? (unsigned char)text[i + 1] << 8 : 0) |
                 (i + 2 < n ? (unsigned char)text[i + 2] : 0);
    b64[o++] = tbl[(v >> 18) & 63];
    b64[o++] = tbl[(v >> 12) & 63];
    b64[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
    b64[o++] = i + 2 < n ? tbl[v & 63] : '=';
  }
  b64[o] = '\0';
  api_reply_header(req, "X-Docker-Container-Path-Stat", b64);
  free(b64);
  free(text);
  return 0;
}

void api_container_archive_head(api_req *req) {
  arca_err err;
  engine *e = api_engine(req);
  const char *path = api_query(req, "path");
  if (!path || !*path) {
    api_reply_errorf(req, 400, "bad parameter: path cannot be empty");
    return;
  }
  container *c;
  if (container_get(e, api_param(req, "id"), &c, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  int rc = path_stat_header(req, e, c, path, &err);
  container_put(e, c);
  if (rc < 0) api_reply_error(req, &err);
  else api_reply_empty(req, 200);
}

void api_container_archive_get(api_req *req) {
  arca_err err;
  engine *e = api_engine(req);
  const char *path = api_query(req, "path");
  if (!path || !*path) {
    api_reply_errorf(req, 400, "bad parameter: path cannot be empty");
    return;
  }
  struct fd_job *j = xcalloc(1, sizeof *j);
  j->e = e;
  j->kind = 1;
  j->path = xstrdup(path);
  if (container_get(e, api_param(req, "id"), &j->c, &err) < 0 || path_stat_header(req, e, j->c, path, &err) < 0) {
    if (j->c) container_put(e, j->c);
    free(j->path);
    free(j);
    api_reply_error(req, &err);
    return;
  }
  api_reply_stream(req, 200, "application/x-tar", fd_produce, j, fd_job_free);
}

void api_container_archive_put(api_req *req) {
  arca_err err;
  engine *e = api_engine(req);
  const char *path = api_query(req, "path");
  if (!path || !*path) {
    api_reply_errorf(req, 400, "bad parameter: path cannot be empty");
    return;
  }
  container *c;
  if (container_get(e, api_param(req, "id"), &c, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  int fd = api_body_fd(req);
  int rc = fd < 0 ? err_set(&err, 400, "no archive in the request body")
                  : e->driver->ops->archive_put(e->driver, c->id, path, fd, api_query_bool(req, "noOverwriteDirNonDir", false),
                                                api_query_bool(req, "copyUIDGID", false), &err);
  if (rc == 0) container_event(e, c, "extract-to-dir", NULL);
  container_put(e, c);
  if (rc < 0) api_reply_error(req, &err);
  else api_reply_empty(req, 200);
}

/* ---- stats ---- */

static json_t *cpu_json(const rt_stats *s) {
  json_t *percpu = json_array();
  for (size_t i = 0; i < s->npercpu; i++) json_array_append_new(percpu, json_integer((json_int_t)s->percpu_ns[i]));
  json_t *usage = json_pack("{s:I,s:I,s:I}", "total_usage", (json_int_t)s->cpu_total_ns, "usage_in_kernelmode",
                            (json_int_t)s->cpu_kernel_ns, "usage_in_usermode", (json_int_t)s->cpu_user_ns);
  if (s->npercpu) json_object_set_new(usage, "percpu_usage", percpu);
  else json_decref(percpu);
  return json_pack("{s:o,s:I,s:i,s:{s:I,s:I,s:I}}", "cpu_usage", usage, "system_cpu_usage", (json_int_t)s->system_cpu_ns,
                   "online_cpus", (int)s->online_cpus, "throttling_data", "periods", (json_int_t)s->throttling_periods,
                   "throttled_periods", (json_int_t)s->throttled_periods, "throttled_time", (json_int_t)s->throttled_ns);
}

static json_t *stats_json(container *c, const rt_stats *s, const rt_stats *pre) {
  char read[64], preread[64];
  format_rfc3339nano(s->read_ns, read, sizeof read);
  format_rfc3339nano(pre ? pre->read_ns : 0, preread, sizeof preread);
  json_t *mem = json_pack("{s:I,s:O,s:I}", "usage", (json_int_t)s->mem_usage, "stats", s->mem_stats ? s->mem_stats : json_object(),
                          "limit", (json_int_t)s->mem_limit);
  if (s->mem_max_usage) json_object_set_new(mem, "max_usage", json_integer((json_int_t)s->mem_max_usage));
  if (s->mem_failcnt) json_object_set_new(mem, "failcnt", json_integer((json_int_t)s->mem_failcnt));
  json_t *pids = json_pack("{s:I}", "current", (json_int_t)s->pids_current);
  if (s->pids_limit) json_object_set_new(pids, "limit", json_integer((json_int_t)s->pids_limit));
  json_t *doc = json_pack("{s:s,s:s,s:o,s:O,s:i,s:{},s:o,s:o,s:o,s:s,s:s}", "read", read, "preread", preread, "pids_stats",
                          pids, "blkio_stats", s->blkio ? s->blkio : json_pack("{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}",
                          "io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
                          "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
                          "io_time_recursive", "sectors_recursive"),
                          "num_procs", 0, "storage_stats", "cpu_stats", cpu_json(s), "precpu_stats",
                          pre ? cpu_json(pre) : json_pack("{s:{s:i,s:i,s:i},s:i,s:{s:i,s:i,s:i}}", "cpu_usage", "total_usage", 0,
                                                          "usage_in_kernelmode", 0, "usage_in_usermode", 0, "online_cpus", 0,
                                                          "throttling_data", "periods", 0, "throttled_periods", 0,
                                                          "throttled_time", 0),
                          "memory_stats", mem, "name", "", "id", c->id);
  json_object_set_new(doc, "name", json_sprintf("/%s", c->name));
  if (s->networks && json_object_size(s->networks)) json_object_set(doc, "networks", s->networks);
  return doc;
}

struct stats_job {
  engine *e;
  container *c;
  bool stream, one_shot;
};

static void stats_free(void *p) {
  struct stats_job *j = p;
  container_put(j->e, j->c);
  free(j);
}

static bool sample(struct stats_job *j, rt_stats *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_lock(&j->c->lock);
  bool running = j->c->state == CS_RUNNING || j->c->state == CS_PAUSED;
  pthread_mutex_unlock(&j->c->lock);
  arca_err err;
  if (!running || j->e->driver->ops->stats(j->e->driver, j->c->id, s, &err) < 0) {
    memset(s, 0, sizeof *s);
    s->read_ns = now_ns();
    return false;
  }
  return true;
}

static void stats_produce(api_stream *s, void *p) {
  struct stats_job *j = p;
  rt_stats prev = {0}, cur;
  bool have_prev = false;
  if (!j->stream && !j->one_shot) {
    /* like dockerd: two samples a second apart so that cpu figures make sense */
    have_prev = sample(j, &prev);
    struct pollfd pf = {.fd = api_stream_cancel_fd(s), .events = POLLIN};
    if (poll(&pf, 1, 1000) > 0) goto out;
  }
  for (;;) {
    bool ok = sample(j, &cur);
    json_t *doc = stats_json(j->c, &cur, have_prev ? &prev : NULL);
    int rc = api_stream_json(s, doc);
    json_decref(doc);
    if (have_prev) rt_stats_free(&prev);
    prev = cur;
    have_prev = ok;
    if (rc < 0 || !j->stream || !ok) break;
    struct pollfd pf = {.fd = api_stream_cancel_fd(s), .events = POLLIN};
    if (poll(&pf, 1, 1000) > 0) break;
  }
out:
  if (have_prev) rt_stats_free(&prev);
}

void api_container_stats(api_req *req) {
  arca_err err;
  engine *e = api_engine(req);
  struct stats_job *j = xcalloc(1, sizeof *j);
  j->e = e;
  j->stream = api_query_bool(req, "stream", true);
  j->one_shot = api_query_bool(req, "one-shot", false);
  if (container_get(e, api_param(req, "id"), &j->c, &err) < 0) {
    free(j);
    api_reply_error(req, &err);
    return;
  }
  if (!e->driver) {
    stats_free(j);
    api_reply_errorf(req, 500, "the container runtime is not available");
    return;
  }
  api_reply_stream(req, 200, "application/json", stats_produce, j, stats_free);
}

/* ---- commit ---- */

#include "engine/commit.h"

void api_commit(api_req *req) {
  arca_err err;
  json_t *body = NULL;
  if (api_body_json(req, &body, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  const char *changes[64];
  size_t n = api_query_all(req, "changes", changes, 64);
  if (n > 64) n = 64;
  char id[72];
  int rc = container_commit(api_engine(req), api_query(req, "container"), api_query(req, "repo"), api_query(req, "tag"),
                            api_query(req, "comment"), api_query(req, "author"), api_query_bool(req, "pause", true),
                            changes, n, body, id, &err);
  json_decref(body);
  if (rc < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 201, json_pack("{s:s}", "Id", id));
}
