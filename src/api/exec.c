/* Exec endpoints: create, start (detached or hijacked), resize, inspect. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/routes.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "engine/engine.h"
#include "engine/execs.h"

typedef struct detach_scan {
  unsigned char keys[16];
  size_t nkeys, matched;
} detach_scan;
int detach_keys_parse(const char *s, unsigned char out[16], size_t *n, arca_err *err);
size_t detach_filter(detach_scan *d, const unsigned char *in, size_t n, unsigned char *out, bool *detached);

void api_exec_create(api_req *req) {
  arca_err err;
  json_t *body = NULL;
  if (api_body_json(req, &body, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  if (!body) body = json_object();
  unsigned char keys[16];
  size_t nkeys;
  const char *dk = json_string_value(json_object_get(body, "DetachKeys"));
  if (dk && *dk && detach_keys_parse(dk, keys, &nkeys, &err) < 0) {
    json_decref(body);
    api_reply_error(req, &err);
    return;
  }
  char id[65];
  int rc = exec_create(api_engine(req), api_param(req, "id"), body, false, id, &err);
  json_decref(body);
  if (rc < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 201, json_pack("{s:s}", "Id", id));
}

void api_exec_inspect(api_req *req) {
  arca_err err;
  exec_inst *x;
  if (exec_get(api_engine(req), api_param(req, "id"), &x, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  json_t *doc = exec_inspect_json(api_engine(req), x);
  exec_put(api_engine(req), x);
  api_reply_json(req, 200, doc);
}

void api_exec_resize(api_req *req) {
  arca_err err;
  long long h = 0, w = 0;
  if (api_query_int(req, "h", 0, &h, &err) < 0 || api_query_int(req, "w", 0, &w, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  if (exec_resize(api_engine(req), api_param(req, "id"), (int)h, (int)w, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_empty(req, 201);
}

typedef struct exec_job {
  engine *e;
  exec_inst *x;
  bool tty;
  int console[2];
  bool has_console;
  detach_scan detach;
} exec_job;

static void exec_job_free(void *p) {
  exec_job *j = p;
  exec_put(j->e, j->x);
  free(j);
}

static void drain(void *p) {
  int *fds = p;
  for (int k = 0; k < 3; k++) {
    if (fds[k] < 0) continue;
    char buf[8192];
    while (read(fds[k], buf, sizeof buf) > 0) {
    }
    close(fds[k]);
  }
  free(fds);
}

static int out_frame(int fd, bool tty, int stream, const void *buf, size_t n) {
  if (!tty) {
    unsigned char hdr[8];
    api_frame_header(hdr, stream, (uint32_t)n);
    if (write_all(fd, hdr, 8) < 0) return -1;
  }
  return write_all(fd, buf, n) < 0 ? -1 : 0;
}

struct exec_stdin {
  exec_job *j;
  int sock;
  int target; /* pty or stdin pipe */
  bool is_pty;
  const char *extra;
  size_t extra_len;
  bool detached;
};

static void *exec_stdin_main(void *p) {
  struct exec_stdin *s = p;
  unsigned char buf[32768], out[32768 + 16];
  if (s->extra_len) {
    size_t n = s->extra_len > sizeof buf ? sizeof buf : s->extra_len;
    size_t m = detach_filter(&s->j->detach, (const unsigned char *)s->extra, n, out, &s->detached);
    if (m) write_all(s->target, out, m);
  }
  while (!s->detached) {
    ssize_t r = read(s->sock, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    size_t m = detach_filter(&s->j->detach, buf, (size_t)r, out, &s->detached);
    if (m && write_all(s->target, out, m) < 0) break;
  }
  /* stdin EOF reaches the process: close its pipe (a pty gets ^D from the client itself) */
  if (!s->is_pty) close(s->target);
  if (s->detached) shutdown(s->sock, SHUT_RDWR);
  return NULL;
}

static void exec_session(api_hijack *h, void *p) {
  exec_job *j = p;
  int sock = api_hijack_fd(h);
  rt_stdio io = {-1, -1, -1, -1};
  arca_err err;
  if (exec_start(j->e, j->x, j->tty, j->has_console ? j->console : NULL, &io, &err) < 0) {
    /* dockerd writes the error into the stream; the client reads the exit code from inspect */
    char line[ARCA_ERR_MSG_MAX + 4];
    int n = snprintf(line, sizeof line, "%s\r\n", err.msg);
    out_frame(sock, j->tty, 1, line, (size_t)n);
    return;
  }
  bool want_in = exec_attach_stdin(j->x);
  pthread_t t;
  bool pumping = false;
  struct exec_stdin in = {j, sock, -1, io.pty >= 0, NULL, 0, false};
  if (io.pty >= 0) in.target = io.pty;
  else in.target = io.stdin_fd;
  if (want_in && in.target >= 0) {
    in.extra = api_hijack_extra(h, &in.extra_len);
    pumping = pthread_create(&t, NULL, exec_stdin_main, &in) == 0;
  } else if (io.stdin_fd >= 0) {
    close(io.stdin_fd);
    io.stdin_fd = -1;
  }
  int fds[2] = {io.pty >= 0 ? io.pty : io.stdout_fd, io.pty >= 0 ? -1 : io.stderr_fd};
  bool want[2] = {exec_attach_stdout(j->x) || io.pty >= 0, exec_attach_stderr(j->x)};
  bool client_gone = false;
  while (fds[0] >= 0 || fds[1] >= 0) {
    struct pollfd pf[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; k++) {
      if (fds[k] < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t r = read(fds[k], buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        /* a pty whose last holder closed reads EIO: the process is done; the pty itself is
         * closed at the end, after the stdin pump stopped writing to it */
        if (fds[k] != io.pty) close(fds[k]);
        fds[k] = -1;
        continue;
      }
      if (want[k] && !client_gone && out_frame(sock, io.pty >= 0, k + 1, buf, (size_t)r) < 0) client_gone = true;
    }
  }
  int code;
  exec_wait(j->e, j->x, 10000, -1, &code);
  shutdown(sock, SHUT_RDWR);
  if (pumping) pthread_join(t, NULL);
  if (io.pty >= 0) close(io.pty);
}

void api_exec_start(api_req *req) {
  arca_err err;
  engine *e = api_engine(req);
  json_t *body = NULL;
  if (api_body_json(req, &body, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  exec_job *j = xcalloc(1, sizeof *j);
  j->e = e;
  if (exec_get(e, api_param(req, "id"), &j->x, &err) < 0) {
    json_decref(body);
    free(j);
    api_reply_error(req, &err);
    return;
  }
  bool detach = json_is_true(json_object_get(body, "Detach"));
  j->tty = exec_tty(j->x) || json_is_true(json_object_get(body, "Tty"));
  json_t *cs = json_object_get(body, "ConsoleSize");
  if (json_array_size(cs) == 2 && j->tty && api_version_at_least(req, 1, 42)) {
    j->console[0] = (int)json_integer_value(json_array_get(cs, 0));
    j->console[1] = (int)json_integer_value(json_array_get(cs, 1));
    j->has_console = true;
  }
  json_decref(body);
  detach_keys_parse(exec_detach_keys(j->x), j->detach.keys, &j->detach.nkeys, NULL);
  if (!j->tty) j->detach.nkeys = 0; /* as dockerd: detach keys only apply with a TTY */
  if (detach) {
    rt_stdio io = {-1, -1, -1, -1};
    int rc = exec_start(e, j->x, j->tty, j->has_console ? j->console : NULL, &io, &err);
    exec_job_free(j);
    if (rc < 0) {
      api_reply_error(req, &err);
      return;
    }
    int *fds = xmalloc(3 * sizeof *fds);
    if (io.stdin_fd >= 0) close(io.stdin_fd);
    fds[0] = io.pty;
    fds[1] = io.stdout_fd;
    fds[2] = io.stderr_fd;
    sched_spawn(drain, fds);
    api_reply_empty(req, 200);
    return;
  }
  const char *ctype = j->tty || api_version_less_than(req, 1, 42) ? "application/vnd.docker.raw-stream"
                                                                  : "application/vnd.docker.multiplexed-stream";
  api_reply_hijack(req, ctype, exec_session, j, exec_job_free);
}
