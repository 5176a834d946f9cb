/* The exit monitor: one thread for every container. conmon writes <exits>/<id> (by rename,
 * so one IN_MOVED_TO) when the container's init is gone; inotify on that one directory
 * tells us at once. A scan every second covers what inotify cannot: an event that came
 * before the container was marked monitored, or a conmon that died without writing the
 * file (then the exit is reported with code 255 once the container's init is gone too).
 *
 * A container is reported once per start: `monitored` is cleared under the driver lock by
 * whoever reports it, and callbacks run with no lock held. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"
#include "runtime/linux/lx_paths.h"

#define SCAN_INTERVAL_MS 1000

int lx_exit_read(lx_driver *d, const char *id, rt_exit *out) {
  autofree char *path = lx_exit_file(d->exec_root, id);
  autofree char *text = NULL;
  struct stat st;
  if (stat(path, &st) < 0 || read_file(path, 64, &text, NULL, NULL) < 0) return -1;
  char *end;
  long code = strtol(text, &end, 10);
  if (end == text) return -1;
  memset(out, 0, sizeof *out);
  out->exit_code = code < 0 || code > 255 ? 255 : (int)code;
  out->finished_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  autofree char *oom = xasprintf("%s/c/%s/oom", d->exec_root, id);
  out->oom_killed = access(oom, F_OK) == 0 || lx_cgroup_oom_killed(id);
  return 0;
}

/* Reports id's exit if it is monitored and its exit is known (or forced). */
static void report(lx_driver *d, const char *id, const rt_exit *forced) {
  rt_exit ex;
  if (forced)
    ex = *forced;
  else if (lx_exit_read(d, id, &ex) < 0)
    return;
  pthread_mutex_lock(&d->lock);
  lx_ctr *c = lx_ctr_lookup(d, id, false);
  bool mine = c && c->monitored;
  if (mine) c->monitored = false;
  pthread_mutex_unlock(&d->lock);
  if (!mine) return;
  if (ex.oom_killed && d->base.on_oom) d->base.on_oom(d->base.cb_ctx, id);
  if (d->base.on_exit) d->base.on_exit(d->base.cb_ctx, id, NULL, &ex);
}

static void scan(lx_driver *d) {
  pthread_mutex_lock(&d->lock);
  size_t n = 0;
  for (lx_ctr *c = d->ctrs; c; c = c->next) n += c->monitored;
  char(*ids)[65] = n ? xcalloc(n, sizeof *ids) : NULL;
  size_t k = 0;
  for (lx_ctr *c = d->ctrs; c && k < n; c = c->next)
    if (c->monitored) snprintf(ids[k++], sizeof ids[0], "%s", c->id);
  pthread_mutex_unlock(&d->lock);
  for (size_t i = 0; i < k; i++) {
    /* conmon writes the file before it exits: dead conmon and no file means no file ever. */
    bool alive = lx_conmon_alive(d, ids[i]) != 0;
    rt_exit ex;
    if (lx_exit_read(d, ids[i], &ex) == 0) {
      report(d, ids[i], &ex);
      continue;
    }
    if (alive) continue;
    char status[16];
    int known = lx_runc_state(d, ids[i], status, NULL, NULL);
    if (known == 1 &&
        (!strcmp(status, "running") || !strcmp(status, "paused") || !strcmp(status, "created")))
      continue; /* orphaned but alive: nobody can learn its exit code now */
    log_warn("container %s: conmon vanished without an exit file; reporting exit 255", ids[i]);
    rt_exit lost = {
        .exit_code = 255, .finished_ns = now_ns(), .oom_killed = lx_cgroup_oom_killed(ids[i])};
    report(d, ids[i], &lost);
  }
  free(ids);
}

static void drain_inotify(lx_driver *d) {
  char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t r = read(d->inotify_fd, buf, sizeof buf);
    if (r <= 0) return;
    for (char *p = buf; p < buf + r;) {
      struct inotify_event *ev = (struct inotify_event *)p;
      if (ev->len && lx_id_valid(ev->name)) report(d, ev->name, NULL);
      p += sizeof *ev + ev->len;
    }
  }
}

static void *monitor_main(void *arg) {
  lx_driver *d = arg;
  int64_t next_scan = monotonic_ns();
  for (;;) {
    int64_t wait_ms = (next_scan - monotonic_ns()) / 1000000;
    if (wait_ms < 0) wait_ms = 0;
    struct pollfd p[2] = {{.fd = d->stop_fd, .events = POLLIN},
                          {.fd = d->inotify_fd, .events = POLLIN}};
    int r = poll(p, 2, (int)wait_ms);
    if (r < 0 && errno != EINTR) break;
    if (p[0].revents) break;
    if (r > 0 && p[1].revents) drain_inotify(d);
    if (monotonic_ns() >= next_scan) {
      scan(d);
      next_scan = monotonic_ns() + (int64_t)SCAN_INTERVAL_MS * 1000000;
    }
  }
  return NULL;
}

int lx_monitor_start(lx_driver *d, arca_err *err) {
  d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (d->inotify_fd < 0) return err_errno(err, 500, errno, "inotify");
  if (inotify_add_watch(d->inotify_fd, d->exits_dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
    return err_errno(err, 500, errno, "watch %s", d->exits_dir);
  int rc = pthread_create(&d->monitor, NULL, monitor_main, d);
  if (rc != 0) return err_errno(err, 500, rc, "start the exit monitor");
  d->monitor_started = true;
  return 0;
}

void lx_monitor_stop(lx_driver *d) {
  if (d->monitor_started) pthread_join(d->monitor, NULL);
  d->monitor_started = false;
  if (d->inotify_fd >= 0) close(d->inotify_fd);
  d->inotify_fd = -1;
}
