/* Hijacked connections for attach and exec: 101 Switching Protocols with Upgrade: tcp, then
 * the raw socket belongs to the session, which runs in its own thread. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

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

static void *session_main(void *arg) {
  api_hijack *h = arg;
  h->fn(h, h->ctx);
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

struct MHD_Response *api_hijack_response(api_req *req) {
  api_hijack *h = xcalloc(1, sizeof *h);
  h->server = req->server;
  h->fd = -1;
  h->fn = (api_hijack_fn)req->fn;
  h->ctx = req->ctx;
  h->free_ctx = req->free_ctx;
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
