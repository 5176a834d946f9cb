/* POST /containers/{id}/attach and POST /containers/{id}/resize: the hijacked connection
 * carries the container's output (framed unless it has a TTY) and its stdin. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/routes.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/container_internal.h"
#include "engine/engine.h"
#include "engine/logs.h"

/* Docker's detach keys: "ctrl-p,ctrl-q" by default; "ctrl-<x>" or single characters. */
int detach_keys_parse(const char *s, unsigned char out[16], size_t *n, arca_err *err) {
  *n = 0;
  if (!s || !*s) s = "ctrl-p,ctrl-q";
  autofree char *copy = xstrdup(s);
  char *save = NULL;
  for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
    if (*n >= 16) return err_set(err, 400, "Invalid detach keys (%s) provided", s);
    if (strlen(k) == 1) {
      out[(*n)++] = (unsigned char)k[0];
      continue;
    }
    if (strncmp(k, "ctrl-", 5) != 0 || strlen(k) != 6)
      return err_set(err, 400, "Invalid detach keys (%s) provided", s);
    char c = k[5];
    if (c >= 'a' && c <= 'z') out[(*n)++] = (unsigned char)(c - 'a' + 1);
    else if (c == '@') out[(*n)++] = 0;
    else if (c == '[') out[(*n)++] = 27;
    else if (c == '\\') out[(*n)++] = 28;
    else if (c == ']') out[(*n)++] = 29;
    else if (c == '^') out[(*n)++] = 30;
    else if (c == '_') out[(*n)++] = 31;
    else return err_set(err, 400, "Invalid detach keys (%s) provided", s);
  }
  return 0;
}

/* Scans stdin for the detach sequence; returns true when it completed. Bytes that were a
 * prefix of the sequence but turned out not to be are passed through. */
typedef struct detach_scan {
  unsigned char keys[16];
  size_t nkeys, matched;
} detach_scan;

/* Copies in to out (capacity n + 16) without the detach sequence; bytes that began the
 * sequence but turned out not to be it are passed through in order. */
size_t detach_filter(detach_scan *d, const unsigned char *in, size_t n, unsigned char *out, bool *detached) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (d->nkeys && in[i] == d->keys[d->matched]) {
      if (++d->matched == d->nkeys) {
        *detached = true;
        return o;
      }
      continue;
    }
    for (size_t k = 0; k < d->matched; k++) out[o++] = d->keys[k];
    d->matched = 0;
    if (d->nkeys && in[i] == d->keys[0]) {
      d->matched = 1;
      continue;
    }
    out[o++] = in[i];
  }
  return o;
}

typedef struct attach_job {
  engine *e;
  container *c;
  rt_attach *att;
  bool want_stdin, want_stdout, want_stderr, logs, stream, tty, stdin_once;
  detach_scan detach;
  char *log_path;
} attach_job;

static void attach_job_free(void *p) {
  attach_job *j = p;
  if (j->att) j->e->driver->ops->attach_free(j->att);
  container_put(j->e, j->c);
  free(j->log_path);
  free(j);
}

static int sock_write(int fd, const void *buf, size_t n) { return write_all(fd, buf, n) < 0 ? -1 : 0; }

static int write_out(int fd, bool tty, int stream, const void *buf, size_t n) {
  if (tty) return sock_write(fd, buf, n);
  unsigned char hdr[8];
  api_frame_header(hdr, stream, (uint32_t)n);
  if (sock_write(fd, hdr, 8) < 0) return -1;
  return sock_write(fd, buf, n);
}

struct replay_ctx {
  int fd;
};

static int replay_write(void *ctx, const void *buf, size_t n) { return sock_write(((struct replay_ctx *)ctx)->fd, buf, n); }

struct stdin_pump {
  attach_job *j;
  int fd;
  const char *extra;
  size_t extra_len;
  bool detached;
};

static void *stdin_main(void *p) {
  struct stdin_pump *s = p;
  attach_job *j = s->j;
  rt_driver *d = j->e->driver;
  unsigned char buf[32768], out[32768 + 16];
  if (s->extra_len) {
    size_t n = s->extra_len > sizeof buf ? sizeof buf : s->extra_len;
    size_t m = detach_filter(&j->detach, (const unsigned char *)s->extra, n, out, &s->detached);
    if (m) d->ops->attach_write(j->att, out, m);
  }
  while (!s->detached) {
    ssize_t r = read(s->fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      /* stdin EOF: the process's stdin closes when the container was started for one attach */
      if (r == 0 && j->stdin_once) d->ops->attach_close_stdin(j->att);
      break;
    }
    size_t m = detach_filter(&j->detach, buf, (size_t)r, out, &s->detached);
    if (m && d->ops->attach_write(j->att, out, m) < 0) break;
  }
  if (s->detached) shutdown(s->fd, SHUT_RDWR); /* ends the output side too */
  return NULL;
}

static void attach_session(api_hijack *h, void *p) {
  attach_job *j = p;
  int fd = api_hijack_fd(h);
  if (j->logs && j->log_path) {
    logs_opts o = {.stdout_ = j->want_stdout, .stderr_ = j->want_stderr, .tail = -1, .tty = j->tty};
    struct replay_ctx rc = {fd};
    arca_err err;
    if (o.stdout_ || o.stderr_) logs_read(j->log_path, &o, replay_write, &rc, -1, NULL, NULL, &err);
  }
  if (!j->stream || !j->att) return;
  container_event(j->e, j->c, "attach", NULL);
  pthread_t t;
  struct stdin_pump pump = {j, fd, NULL, 0, false};
  bool pumping = false;
  if (j->want_stdin) {
    pump.extra = api_hijack_extra(h, &pump.extra_len);
    pumping = pthread_create(&t, NULL, stdin_main, &pump) == 0;
  }
  rt_driver *d = j->e->driver;
  char buf[65536];
  for (;;) {
    int stream = 1;
    size_t len = 0;
    int r = d->ops->attach_read(j->att, -1, &stream, buf, sizeof buf, &len);
    if (r <= 0) {
      log_kv(LOG_DEBUG, "attach output ended", "container", j->c->id, "reason", r == 0 ? "end" : "error", NULL);
      break;
    }
    if ((stream == 1 && !j->want_stdout) || (stream == 2 && !j->want_stderr)) continue;
    if (write_out(fd, j->tty, stream, buf, len) < 0) {
      log_kv(LOG_DEBUG, "attach client gone", "container", j->c->id, "error", strerror(errno), NULL);
      break;
    }
  }
  /* the process ended (or the client left): close the connection so the stdin side ends */
  shutdown(fd, SHUT_RDWR);
  if (pumping) pthread_join(t, NULL);
}

void api_container_attach(api_req *req) {
  arca_err err;
  engine *e = api_engine(req);
  attach_job *j = xcalloc(1, sizeof *j);
  cstate st;
  const char *ctype;
  j->e = e;
  if (container_get(e, api_param(req, "id"), &j->c, &err) < 0) {
    free(j);
    api_reply_error(req, &err);
    return;
  }
  if (detach_keys_parse(api_query(req, "detachKeys"), j->detach.keys, &j->detach.nkeys, &err) < 0) goto fail;
  pthread_mutex_lock(&j->c->lock);
  st = j->c->state;
  pthread_mutex_unlock(&j->c->lock);
  if (st == CS_PAUSED) {
    err_set(&err, 409, "container %s is paused, unpause the container before attach", api_param(req, "id"));
    goto fail;
  }
  if (st == CS_RESTARTING) {
    err_set(&err, 409, "container %s is restarting, wait until the container is running", api_param(req, "id"));
    goto fail;
  }
  j->want_stdin = api_query_bool(req, "stdin", false) && json_is_true(json_object_get(j->c->config, "OpenStdin"));
  j->want_stdout = api_query_bool(req, "stdout", false);
  j->want_stderr = api_query_bool(req, "stderr", false);
  j->logs = api_query_bool(req, "logs", false);
  j->stream = api_query_bool(req, "stream", false);
  j->tty = json_is_true(json_object_get(j->c->config, "Tty"));
  j->stdin_once = json_is_true(json_object_get(j->c->config, "StdinOnce"));
  if (!j->tty) j->detach.nkeys = 0; /* as dockerd: detach keys only apply with a TTY */
  if (!e->driver) {
    err_set(&err, 500, "the container runtime is not available");
    goto fail;
  }
  if (j->logs) j->log_path = e->driver->ops->log_path(e->driver, j->c->id);
  if (j->stream && e->driver->ops->attach(e->driver, j->c->id, &j->att, &err) < 0) goto fail;
  ctype = j->tty || api_version_less_than(req, 1, 42) ? "application/vnd.docker.raw-stream"
                                                      : "application/vnd.docker.multiplexed-stream";
  api_reply_hijack(req, ctype, attach_session, j, attach_job_free);
  return;
fail:
  attach_job_free(j);
  api_reply_error(req, &err);
}

void api_container_resize(api_req *req) {
  arca_err err;
  engine *e = api_engine(req);
  long long h = 0, w = 0;
  if (api_query_int(req, "h", 0, &h, &err) < 0 || api_query_int(req, "w", 0, &w, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  container *c;
  if (container_get(e, api_param(req, "id"), &c, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  pthread_mutex_lock(&c->lock);
  bool running = c->state == CS_RUNNING;
  pthread_mutex_unlock(&c->lock);
  int rc = 0;
  if (!running) rc = err_set(&err, 409, "container %s is not running", c->id);
  else if (!json_is_true(json_object_get(c->config, "Tty")))
    rc = 0; /* dockerd accepts a resize of a container without a TTY and does nothing */
  else rc = e->driver->ops->resize(e->driver, c->id, NULL, (uint16_t)h, (uint16_t)w, &err);
  if (rc == 0) {
    char hs[16], ws[16];
    snprintf(hs, sizeof hs, "%lld", h);
    snprintf(ws, sizeof ws, "%lld", w);
    container_event(e, c, "resize", json_pack("{s:s,s:s}", "height", hs, "width", ws));
  }
  container_put(e, c);
  if (rc < 0) api_reply_error(req, &err);
  else api_reply_empty(req, 200);
}
