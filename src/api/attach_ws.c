/* GET /containers/{id}/attach/ws: the container's stdio over a WebSocket (RFC 6455), as
 * dockerd serves it: binary frames (API >= 1.28), never multiplexed. */
#include <errno.h>
#include "common/lazy_crypto.h"
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

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

typedef struct ws_job {
  engine *e;
  container *c;
  rt_attach *att;
  bool want_stdin, want_stdout, want_stderr, logs, stream, tty, binary;
  char *log_path;
  pthread_mutex_t write_lock;
} ws_job;

static void ws_job_free(void *p) {
  ws_job *j = p;
  if (j->att) j->e->driver->ops->attach_free(j->att);
  container_put(j->e, j->c);
  free(j->log_path);
  pthread_mutex_destroy(&j->write_lock);
  free(j);
}

static int ws_send(ws_job *j, int fd, int opcode, const void *buf, size_t n) {
  unsigned char hdr[10];
  size_t h = 0;
  hdr[h++] = (unsigned char)(0x80 | opcode);
  if (n < 126) hdr[h++] = (unsigned char)n;
  else if (n < 65536) {
    hdr[h++] = 126;
    hdr[h++] = (unsigned char)(n >> 8);
    hdr[h++] = (unsigned char)n;
  } else {
    hdr[h++] = 127;
    for (int i = 7; i >= 0; i--) hdr[h++] = (unsigned char)((uint64_t)n >> (8 * i));
  }
  pthread_mutex_lock(&j->write_lock);
  int rc = write_all(fd, hdr, h) < 0 || (n && write_all(fd, buf, n) < 0) ? -1 : 0;
  pthread_mutex_unlock(&j->write_lock);
  return rc;
}

struct ws_in {
  ws_job *j;
  int fd;
  const char *extra;
  size_t extra_len, extra_off;
};

static ssize_t ws_read(struct ws_in *in, void *buf, size_t n) {
  if (in->extra_off < in->extra_len) {
    size_t k = in->extra_len - in->extra_off < n ? in->extra_len - in->extra_off : n;
    memcpy(buf, in->extra + in->extra_off, k);
    in->extra_off += k;
    return (ssize_t)k;
  }
  for (;;) {
    ssize_t r = read(in->fd, buf, n);
    if (r < 0 && errno == EINTR) continue;
    return r;
  }
}

static int ws_read_full(struct ws_in *in, void *buf, size_t n) {
  char *p = buf;
  while (n) {
    ssize_t r = ws_read(in, p, n);
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* Client frames: data frames go to stdin, close ends, ping gets a pong. */
static void *ws_stdin_main(void *p) {
  struct ws_in *in = p;
  ws_job *j = in->j;
  rt_driver *d = j->e->driver;
  unsigned char *payload = xmalloc(1 << 20);
  for (;;) {
    unsigned char h[2];
    if (ws_read_full(in, h, 2) < 0) break;
    int opcode = h[0] & 0x0f;
    bool masked = h[1] & 0x80;
    uint64_t len = h[1] & 0x7f;
    if (len == 126) {
      unsigned char e[2];
      if (ws_read_full(in, e, 2) < 0) break;
      len = (uint64_t)e[0] << 8 | e[1];
    } else if (len == 127) {
      unsigned char e[8];
      if (ws_read_full(in, e, 8) < 0) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | e[i];
    }
    unsigned char mask[4] = {0};
    if (masked && ws_read_full(in, mask, 4) < 0) break;
    if (len > (1 << 20)) break; /* no client sends such frames; refuse rather than buffer */
    if (ws_read_full(in, payload, (size_t)len) < 0) break;
    for (uint64_t i = 0; masked && i < len; i++) payload[i] ^= mask[i % 4];
    if (opcode == 0x8) break;
    if (opcode == 0x9) {
      ws_send(j, in->fd, 0xA, payload, (size_t)len);
      continue;
    }
    if ((opcode == 0x1 || opcode == 0x2 || opcode == 0x0) && j->want_stdin && len)
      if (d->ops->attach_write(j->att, payload, (size_t)len) < 0) break;
  }
  free(payload);
  return NULL;
}

struct ws_replay {
  ws_job *j;
  int fd;
};

static int ws_replay_write(void *ctx, const void *buf, size_t n) {
  struct ws_replay *r = ctx;
  return ws_send(r->j, r->fd, r->j->binary ? 0x2 : 0x1, buf, n);
}

static void ws_session(api_hijack *h, void *p) {
  ws_job *j = p;
  int fd = api_hijack_fd(h);
  if (j->logs && j->log_path) {
    logs_opts o = {.stdout_ = j->want_stdout, .stderr_ = j->want_stderr, .tail = -1, .tty = true};
    struct ws_replay rp = {j, fd};
    arca_err err;
    if (o.stdout_ || o.stderr_) logs_read(j->log_path, &o, ws_replay_write, &rp, -1, NULL, NULL, &err);
  }
  if (j->stream && j->att) {
    container_event(j->e, j->c, "attach", NULL);
    struct ws_in in = {j, fd, NULL, 0, 0};
    in.extra = api_hijack_extra(h, &in.extra_len);
    pthread_t t;
    bool pumping = pthread_create(&t, NULL, ws_stdin_main, &in) == 0;
    rt_driver *d = j->e->driver;
    char buf[65536];
    for (;;) {
      int stream = 1;
      size_t len = 0;
      if (d->ops->attach_read(j->att, -1, &stream, buf, sizeof buf, &len) <= 0) break;
      if ((stream == 1 && !j->want_stdout) || (stream == 2 && !j->want_stderr)) continue;
      if (ws_send(j, fd, j->binary ? 0x2 : 0x1, buf, len) < 0) break;
    }
    unsigned char close_code[2] = {0x03, 0xE8}; /* 1000: normal closure */
    ws_send(j, fd, 0x8, close_code, 2);
    shutdown(fd, SHUT_RDWR);
    if (pumping) pthread_join(t, NULL);
  }
}

static char *ws_accept_key(const char *key) {
  unsigned char sha[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  autofree char *s = xasprintf("%s" WS_GUID, key);
  EVP_Digest(s, strlen(s), sha, &n, EVP_sha1(), NULL);
  char *out = xmalloc(4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)out, sha, (int)n);
  return out;
}

void api_container_attach_ws(api_req *req) {
  arca_err err;
  engine *e = api_engine(req);
  const char *key = api_header(req, "Sec-WebSocket-Key");
  const char *upgrade = api_header(req, "Upgrade");
  if (!key || !upgrade || strcasecmp(upgrade, "websocket") != 0) {
    api_reply_errorf(req, 400, "websocket: the client is not using the websocket protocol: 'websocket' token not found in 'Upgrade' header");
    return;
  }
  ws_job *j = xcalloc(1, sizeof *j);
  pthread_mutex_init(&j->write_lock, NULL);
  j->e = e;
  if (container_get(e, api_param(req, "id"), &j->c, &err) < 0) {
    pthread_mutex_destroy(&j->write_lock);
    free(j);
    api_reply_error(req, &err);
    return;
  }
  bool v142 = api_version_at_least(req, 1, 42);
  j->want_stdin = (!v142 || api_query_bool(req, "stdin", false)) && json_is_true(json_object_get(j->c->config, "OpenStdin"));
  j->want_stdout = !v142 || api_query_bool(req, "stdout", false);
  j->want_stderr = !v142 || api_query_bool(req, "stderr", false);
  j->logs = api_query_bool(req, "logs", false);
  j->stream = api_query_bool(req, "stream", false);
  j->binary = api_version_at_least(req, 1, 28);
  if (!e->driver) {
    ws_job_free(j);
    api_reply_errorf(req, 500, "the container runtime is not available");
    return;
  }
  if (j->logs) j->log_path = e->driver->ops->log_path(e->driver, j->c->id);
  if (j->stream && e->driver->ops->attach(e->driver, j->c->id, &j->att, &err) < 0) {
    ws_job_free(j);
    api_reply_error(req, &err);
    return;
  }
  autofree char *accept = ws_accept_key(key);
  api_reply_header(req, "Upgrade", "websocket");
  api_reply_header(req, "Sec-WebSocket-Accept", accept);
  api_reply_hijack(req, NULL, ws_session, j, ws_job_free);
}
