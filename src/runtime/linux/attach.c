/* Attachments to a sandbox's main process through conmon's attach socket
 * (<run dir>/attach/attach, SOCK_SEQPACKET, the "attach" folder being conmon's symlink to
 * the bundle). Each packet conmon sends is [1 byte: 2 stdout, 3 stderr][data] of at most
 * 8192 data bytes; what we send is raw stdin; shutdown(SHUT_WR) closes the container's
 * stdin (unless conmon runs with --leave-stdin-open).
 *
 * An attachment made before start is pending: start connects it after `runc create` and
 * before `runc start`, so it sees the first byte of output. Its reads and writes wait for
 * that moment (ready_fd); if start fails the attachment ends and reads return 0. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"
#include "runtime/linux/lx_paths.h"

#define PACKET_MAX 8192 /* conmon's STDIO_BUF_SIZE, also the most it takes per stdin read */

struct rt_attach {
  lx_driver *d;
  char id[65];
  int ready_fd; /* eventfd, written when a pending attachment connects or ends */
  /* Guarded by d->lock while pending; owned by the caller's threads afterwards. */
  int fd; /* -1 while pending */
  bool pending, ended, stdin_closed;
  struct rt_attach *next_pending;
  /* Reader state: the packet being handed out. */
  char packet[PACKET_MAX + 2];
  size_t off, len;
  int stream;
};

/* Connects to conmon's socket through /proc/self/fd, whatever the length of the path. */
static int connect_socket(lx_driver *d, const char *id) {
  autofree char *link = lx_attach_link(d->exec_root, id);
  autoclose int dir_fd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return -errno;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/attach", dir_fd);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  for (;;) {
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) return fd;
    if (errno != EINTR) break;
  }
  int e = errno;
  close(fd);
  return -e;
}

int lx_attach(rt_driver *rd, const char *id, rt_attach **out, arca_err *err) {
  lx_driver *d = lx_of(rd);
  if (lx_check_id(id, err) < 0) return -1;
  autofree char *config = lx_config_path(d->data_root, id);
  if (access(config, F_OK) != 0) return err_set(err, 404, "no such sandbox: %s", id);
  rt_attach *a = xcalloc(1, sizeof *a);
  a->d = d;
  snprintf(a->id, sizeof a->id, "%s", id);
  a->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (a->ready_fd < 0) {
    free(a);
    return err_errno(err, 500, errno, "eventfd");
  }
  a->fd = -1;
  if (lx_conmon_alive(d, id)) {
    /* Running (or exiting: then conmon has closed its socket and the attachment ends). */
    int fd = connect_socket(d, id);
    if (fd >= 0)
      a->fd = fd;
    else
      a->ended = true;
  } else {
    pthread_mutex_lock(&d->lock);
    lx_ctr *c = lx_ctr_lookup(d, id, true);
    a->pending = true;
    a->next_pending = c->pending;
    c->pending = a;
    pthread_mutex_unlock(&d->lock);
  }
  *out = a;
  return 0;
}

static void signal_ready(rt_attach *a) {
  uint64_t one = 1;
  if (write(a->ready_fd, &one, sizeof one) < 0) {
    /* eventfd counter overflow only: it is readable anyway */
  }
}

void lx_attach_connect_pending(lx_driver *d, const char *id) {
  pthread_mutex_lock(&d->lock);
  lx_ctr *c = lx_ctr_lookup(d, id, false);
  rt_attach *list = c ? c->pending : NULL;
  if (c) c->pending = NULL;
  pthread_mutex_unlock(&d->lock);
  while (list) {
    rt_attach *a = list;
    list = a->next_pending;
    int fd = connect_socket(d, id);
    pthread_mutex_lock(&d->lock);
    a->next_pending = NULL;
    a->pending = false;
    if (fd >= 0) {
      a->fd = fd;
      if (a->stdin_closed) shutdown(fd, SHUT_WR);
    } else {
      a->ended = true;
    }
    pthread_mutex_unlock(&d->lock);
    signal_ready(a);
  }
}

void lx_attach_end_pending(lx_driver *d, const char *id) {
  pthread_mutex_lock(&d->lock);
  lx_ctr *c = lx_ctr_lookup(d, id, false);
  rt_attach *list = c ? c->pending : NULL;
  if (c) c->pending = NULL;
  for (rt_attach *a = list; a; a = a->next_pending) {
    a->pending = false;
    a->ended = true;
  }
  while (list) {
    rt_attach *a = list;
    list = a->next_pending;
    a->next_pending = NULL;
    signal_ready(a);
  }
  pthread_mutex_unlock(&d->lock);
}

/* Waits while pending. Returns the socket, -1 once ended, -2 when cancel_fd fired. */
static int wait_connected(rt_attach *a, int cancel_fd) {
  for (;;) {
    pthread_mutex_lock(&a->d->lock);
    bool pending = a->pending, ended = a->ended;
    int fd = a->fd;
    pthread_mutex_unlock(&a->d->lock);
    if (!pending) return ended || fd < 0 ? -1 : fd;
    struct pollfd p[2] = {{.fd = a->ready_fd, .events = POLLIN},
                          {.fd = cancel_fd, .events = POLLIN}};
    int r = poll(p, 2, -1);
    if (r < 0 && errno != EINTR) return -1;
    if (r > 0 && p[1].revents) return -2;
  }
}

int lx_attach_read(rt_attach *a, int cancel_fd, int *stream, char *buf, size_t cap, size_t *len) {
  for (;;) {
    if (a->off < a->len) {
      size_t n = a->len - a->off < cap ? a->len - a->off : cap;
      memcpy(buf, a->packet + a->off, n);
      a->off += n;
      *stream = a->stream;
      *len = n;
      return 1;
    }
    int fd = wait_connected(a, cancel_fd);
    if (fd == -2) return 0;
    if (fd < 0) return 0;
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = cancel_fd, .events = POLLIN}};
    int r = poll(p, 2, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (p[1].revents) return 0;
    ssize_t got = recv(fd, a->packet, sizeof a->packet, 0);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno == ECONNRESET ? 0 : -1;
    }
    if (got == 0) return 0;
    if (got < 2) continue;
    a->stream = a->packet[0] == 3 ? 2 : 1;
    a->off = 1;
    a->len = (size_t)got;
  }
}

int lx_attach_write(rt_attach *a, const void *buf, size_t n) {
  int fd = wait_connected(a, -1);
  if (fd < 0) return -1;
  const char *p = buf;
  while (n > 0) {
    size_t chunk = n < PACKET_MAX ? n : PACKET_MAX;
    ssize_t w = send(fd, p, chunk, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

void lx_attach_close_stdin(rt_attach *a) {
  pthread_mutex_lock(&a->d->lock);
  a->stdin_closed = true;
  int fd = a->pending ? -1 : a->fd;
  pthread_mutex_unlock(&a->d->lock);
  if (fd >= 0) shutdown(fd, SHUT_WR);
}

void lx_attach_free(rt_attach *a) {
  if (!a) return;
  lx_driver *d = a->d;
  pthread_mutex_lock(&d->lock);
  if (a->pending) {
    lx_ctr *c = lx_ctr_lookup(d, a->id, false);
    for (rt_attach **pp = c ? &c->pending : NULL; pp && *pp; pp = &(*pp)->next_pending) {
      if (*pp == a) {
        *pp = a->next_pending;
        break;
      }
    }
  }
  pthread_mutex_unlock(&d->lock);
  if (a->fd >= 0) close(a->fd);
  close(a->ready_fd);
  free(a);
}
