/* Hijacked connections for attach and exec. A client that asks for an upgrade gets 101
 * Switching Protocols with Upgrade: tcp, then the raw socket belongs to the session, which runs
 * in its own thread. A client that does not (the older "200 form" dockerd also serves) gets
 * 200 and a raw body that ends when the connection closes; there the session talks to one end
 * of a socket pair: its output drains into the response, and a pump thread copies what the
 * client sends (stdin) from the connection into the pair. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/internal.h"
#include "common/log.h"

struct api_hijack {
  api_server *server;
  api_live live;
  int fd;
  char *extra;
  size_t extra_len;
  struct MHD_UpgradeResponseHandle *urh;
  api_hijack_fn fn;
  void *ctx;
  void (*free_ctx)(void *);
  bool started;
  /* the 200 form */
  bool plain;
  int pair_fd;       /* our end of the pair: the response reads it, the pump writes it */
  int conn_fd;       /* the client's connection; MHD owns it */
  int cancel_fd;     /* eventfd that stops the pump */
  pthread_t pump;
  bool pumping;
  atomic_int refs;   /* the session thread + the response */
};

const char *api_hijack_extra(api_hijack *h, size_t *len) {
  *len = h->extra_len;
  return h->extra;
}
int api_hijack_fd(api_hijack *h) { return h->fd; }
void api_hijack_shutdown_write(api_hijack *h) { shutdown(h->fd, SHUT_WR); }

static void hijack_free(api_hijack *h) {
  if (h->free_ctx && h->ctx) h->free_ctx(h->ctx);
  free(h->extra);
  free(h);
}

static void plain_unref(api_hijack *h) {
  if (atomic_fetch_sub(&h->refs, 1) != 1) return;
  close(h->pair_fd);
  close(h->fd);
  close(h->cancel_fd);
  hijack_free(h);
}

static void *session_main(void *arg) {
  api_hijack *h = arg;
  h->fn(h, h->ctx);
  if (h->plain) {
    /* the response sees end of stream once the pair's other end closes */
    shutdown(h->fd, SHUT_RDWR);
    plain_unref(h);
    return NULL;
  }
  api_live_remove(h->server, &h->live);
  MHD_upgrade_action(h->urh, MHD_UPGRADE_ACTION_CLOSE);
  hijack_free(h);
  return NULL;
}

void api_hijack_discard(void *hijack) { hijack_free(hijack); }

static void on_upgraded(void *cls, struct MHD_Connection *conn, void *req_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh) {
  (void)conn;
  api_hijack *h = cls;
  if (req_cls) ((api_req *)req_cls)->hijack_started = true;
  h->fd = sock;
  h->urh = urh;
  h->started = true;
  if (extra_in_size) {
    h->extra = xmalloc(extra_in_size);
    memcpy(h->extra, extra_in, extra_in_size);
    h->extra_len = extra_in_size;
  }
  int fl = fcntl(sock, F_GETFL);
  if (fl >= 0) fcntl(sock, F_SETFL, fl & ~O_NONBLOCK);
  h->live.cancel_fd = -1;
  h->live.sock_fd = sock;
  if (api_live_add(h->server, &h->live) < 0) {
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    hijack_free(h);
    return;
  }
  /* Never block here: with TLS, MHD forwards the upgraded stream only after we return. */
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, API_THREAD_STACK);
  if (pthread_create(&t, &attr, session_main, h) != 0) {
    log_error("cannot start a session thread");
    api_live_remove(h->server, &h->live);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    hijack_free(h);
  }
  pthread_attr_destroy(&attr);
}

/* ---- the 200 form ---- */

static void *pump_main(void *arg) {
  api_hijack *h = arg;
  char buf[32768];
  for (;;) {
    struct pollfd p[2] = {{.fd = h->conn_fd, .events = POLLIN}, {.fd = h->cancel_fd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break;
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t r = recv(h->conn_fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) break; /* the client closed its write side: stdin ends */
    if (write_all(h->pair_fd, buf, (size_t)r) < 0) break;
  }
  shutdown(h->pair_fd, SHUT_WR);
  return NULL;
}

static ssize_t plain_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  api_hijack *h = cls;
  for (;;) {
    ssize_t r = read(h->pair_fd, buf, max);
    if (r > 0) return r;
    if (r == 0) return MHD_CONTENT_READER_END_OF_STREAM;
    if (errno == EINTR) continue;
    return MHD_CONTENT_READER_END_WITH_ERROR;
  }
}

/* Runs when MHD is done with the response, before it closes the connection: stop the pump
 * (it polls the connection's fd, which must not be touched once MHD closes it). A session still
 * running sees end of input and EPIPE on its next write, and frees the rest when it ends. */
static void plain_gone(void *cls) {
  api_hijack *h = cls;
  uint64_t one = 1;
  (void)!write(h->cancel_fd, &one, sizeof one);
  if (h->pumping) pthread_join(h->pump, NULL);
  shutdown(h->pair_fd, SHUT_RDWR);
  api_live_remove(h->server, &h->live);
  plain_unref(h);
}

static struct MHD_Response *plain_response(api_req *req, api_hijack *h) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return NULL;
  h->plain = true;
  h->fd = sv[0];
  h->pair_fd = sv[1];
  h->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  h->conn_fd = ci ? ci->connect_fd : -1;
  h->live.cancel_fd = h->cancel_fd;
  h->live.sock_fd = h->pair_fd;
  if (h->cancel_fd < 0 || h->conn_fd < 0 || api_live_add(req->server, &h->live) < 0) {
    close(sv[0]);
    close(sv[1]);
    if (h->cancel_fd >= 0) close(h->cancel_fd);
    return NULL;
  }
  struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, plain_read, h, plain_gone);
  if (!resp) {
    api_live_remove(req->server, &h->live);
    close(sv[0]);
    close(sv[1]);
    close(h->cancel_fd);
    return NULL;
  }
  /* HTTP/1.0 framing: no chunks, the body ends when the connection closes, as dockerd does */
  MHD_set_response_options(resp, MHD_RF_HTTP_VERSION_1_0_RESPONSE, MHD_RO_END);
  req->ctx = NULL;
  h->started = true;
  atomic_store(&h->refs, 2);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, API_THREAD_STACK);
  if (pthread_create(&t, &attr, session_main, h) != 0) {
    log_error("cannot start a session thread");
    shutdown(h->fd, SHUT_RDWR);
    atomic_store(&h->refs, 1);
  }
  pthread_attr_destroy(&attr);
  h->pumping = pthread_create(&h->pump, NULL, pump_main, h) == 0;
  return resp;
}

static bool wants_upgrade(api_req *req) {
  const char *c = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Connection");
  const char *u = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Upgrade");
  return c && u && strcasestr(c, "upgrade");
}

struct MHD_Response *api_hijack_response(api_req *req) {
  api_hijack *h = xcalloc(1, sizeof *h);
  h->server = req->server;
  h->fd = -1;
  h->fn = (api_hijack_fn)req->fn;
  h->ctx = req->ctx;
  h->free_ctx = req->free_ctx;
  if (!wants_upgrade(req)) {
    struct MHD_Response *plain = plain_response(req, h);
    if (!plain) free(h);
    else req->hijack_plain = true;
    return plain;
  }
  struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgraded, h);
  if (!resp) {
    free(h);
    return NULL;
  }
  req->ctx = NULL; /* the session owns it now */
  req->hijack = h;  /* freed by the request if the upgrade never happens */
  bool own_upgrade = false;
  for (size_t i = 0; i < req->nheaders; i++)
    if (!strcasecmp(req->headers[i].name, "Upgrade")) own_upgrade = true;
  if (!own_upgrade) MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "tcp");
  return resp;
}
