/* Chunked streams: the producer runs in its own thread and writes into a pipe; the
 * connection's thread drains the pipe in libmicrohttpd's content reader, and while it waits
 * it also watches the client's socket, so a client that goes away is noticed at once and
 * not only at the next write (LINUX-STACK-NOTES: vanished clients). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "api/internal.h"
#include "common/log.h"

struct api_stream {
  atomic_int refs;       /* the producer thread + the MHD response */
  int pipe_rd, pipe_wr;
  int cancel_fd;         /* eventfd: readable once the client is gone or we shut down */
  atomic_bool closed;
  int conn_fd;
  pthread_mutex_t write_lock; /* several producer threads may share a stream (attach) */
  api_server *server;
  api_live live;
  api_stream_fn fn;
  void *ctx;
  void (*free_ctx)(void *);
};

static void stream_unref(api_stream *s) {
  if (atomic_fetch_sub(&s->refs, 1) != 1) return;
  if (s->pipe_rd >= 0) close(s->pipe_rd);
  if (s->pipe_wr >= 0) close(s->pipe_wr);
  close(s->cancel_fd);
  pthread_mutex_destroy(&s->write_lock);
  free(s);
}

static void stream_cancel(api_stream *s) {
  if (atomic_exchange(&s->closed, true)) return;
  uint64_t one = 1;
  (void)!write(s->cancel_fd, &one, sizeof one);
}

bool api_stream_closed(api_stream *s) { return atomic_load(&s->closed); }
int api_stream_cancel_fd(api_stream *s) { return s->cancel_fd; }

int api_stream_write(api_stream *s, const void *buf, size_t n) {
  if (atomic_load(&s->closed)) return -1;
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(s->pipe_wr, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      stream_cancel(s); /* EPIPE: the reader end is gone with the client */
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int api_stream_json(api_stream *s, const json_t *obj) {
  char *text = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!text) return -1;
  size_t n = strlen(text);
  text = xrealloc(text, n + 2);
  text[n] = '\n';
  pthread_mutex_lock(&s->write_lock);
  int rc = api_stream_write(s, text, n + 1);
  pthread_mutex_unlock(&s->write_lock);
  free(text);
  return rc;
}

void api_frame_header(unsigned char hdr[8], int stream_no, uint32_t len) {
  hdr[0] = (unsigned char)stream_no;
  hdr[1] = hdr[2] = hdr[3] = 0;
  hdr[4] = (unsigned char)(len >> 24);
  hdr[5] = (unsigned char)(len >> 16);
  hdr[6] = (unsigned char)(len >> 8);
  hdr[7] = (unsigned char)len;
}

int api_stream_frame(api_stream *s, int stream_no, const void *buf, size_t n) {
  unsigned char hdr[8];
  api_frame_header(hdr, stream_no, (uint32_t)n);
  pthread_mutex_lock(&s->write_lock);
  int rc = api_stream_write(s, hdr, sizeof hdr);
  if (rc == 0 && n) rc = api_stream_write(s, buf, n);
  pthread_mutex_unlock(&s->write_lock);
  return rc;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  api_stream *s = cls;
  for (;;) {
    struct pollfd p[3] = {
        {.fd = s->pipe_rd, .events = POLLIN},
        {.fd = s->conn_fd, .events = POLLRDHUP},
        {.fd = s->cancel_fd, .events = POLLIN},
    };
    int n = poll(p, s->conn_fd >= 0 ? 3 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
      stream_cancel(s);
      return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (p[0].revents & (POLLIN | POLLHUP)) {
      ssize_t r = read(s->pipe_rd, buf, max);
      if (r > 0) return r;
      if (r == 0) return MHD_CONTENT_READER_END_OF_STREAM;
      if (errno == EINTR || errno == EAGAIN) continue;
      return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (p[2].revents & POLLIN) {
      /* shutdown: let the producer finish its last write, then end cleanly */
      struct pollfd q = {.fd = s->pipe_rd, .events = POLLIN};
      if (poll(&q, 1, 2000) > 0) continue;
      return MHD_CONTENT_READER_END_OF_STREAM;
    }
  }
}

static void stream_response_gone(void *cls) {
  api_stream *s = cls;
  stream_cancel(s);
  /* closing the read end makes a blocked producer's write fail with EPIPE */
  int fd = s->pipe_rd;
  s->pipe_rd = -1;
  close(fd);
  stream_unref(s);
}

static void *producer_main(void *arg) {
  api_stream *s = arg;
  s->fn(s, s->ctx);
  if (s->free_ctx) s->free_ctx(s->ctx);
  int fd = s->pipe_wr;
  s->pipe_wr = -1;
  close(fd); /* the reader sees end of stream once it has drained the pipe */
  api_live_remove(s->server, &s->live);
  stream_unref(s);
  return NULL;
}

struct MHD_Response *api_stream_response(api_req *req) {
  api_stream *s = xcalloc(1, sizeof *s);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    free(s);
    return NULL;
  }
  fcntl(p[1], F_SETPIPE_SZ, 1 << 18);
  s->pipe_rd = p[0];
  s->pipe_wr = p[1];
  s->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  pthread_mutex_init(&s->write_lock, NULL);
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  s->conn_fd = ci ? ci->connect_fd : -1;
  s->server = req->server;
  s->fn = (api_stream_fn)req->fn;
  s->ctx = req->ctx;
  s->free_ctx = req->free_ctx;
  s->live.cancel_fd = s->cancel_fd;
  s->live.sock_fd = -1;
  atomic_store(&s->refs, 2);

  if (api_live_add(req->server, &s->live) < 0) {
    close(s->pipe_rd);
    close(s->pipe_wr);
    close(s->cancel_fd);
    pthread_mutex_destroy(&s->write_lock);
    free(s);
    return NULL; /* shutting down; ctx stays with the request, which frees it */
  }
  struct MHD_Response *resp =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s, stream_response_gone);
  if (!resp) {
    api_live_remove(req->server, &s->live);
    close(s->pipe_rd);
    close(s->pipe_wr);
    close(s->cancel_fd);
    pthread_mutex_destroy(&s->write_lock);
    free(s);
    return NULL;
  }
  req->ctx = NULL; /* the stream owns it now */
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, API_THREAD_STACK);
  if (pthread_create(&t, &attr, producer_main, s) != 0) {
    /* no producer: end the stream at once */
    log_error("cannot start a stream thread");
    if (s->free_ctx) s->free_ctx(s->ctx);
    close(s->pipe_wr);
    s->pipe_wr = -1;
    api_live_remove(s->server, &s->live);
    stream_unref(s);
  }
  pthread_attr_destroy(&attr);
  return resp;
}
