/* A sandbox's own network namespace (network mode "sandbox"): made at prepare, with lo up,
 * and bind-mounted at <exec_root>/netns/<id> so that netavark can join it to networks
 * before and after the container runs; runc joins it by that path. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"
#include "runtime/linux/lx_paths.h"

/* On a thread of its own (unshare moves only the calling thread, which then ends): a new
 * namespace, lo up, the namespace bind-mounted on target. */
static int make_netns_here(void *arg) {
  const char *target = arg;
  if (unshare(CLONE_NEWNET) < 0) return -errno;
  autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return -errno;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) return -errno;
  if (mount("/proc/thread-self/ns/net", target, NULL, MS_BIND, NULL) < 0) return -errno;
  return 0;
}

static int make_netns(const char *target) { return lx_isolated(make_netns_here, (void *)target); }

int lx_netns_create(lx_driver *d, const char *id, arca_err *err) {
  autofree char *path = lx_netns_path(d->exec_root, id);
  if (lx_is_mountpoint(path)) return 0;
  autofree char *dir = lx_netns_dir(d->exec_root);
  if (mkdir_p(dir, 0755, err) < 0) return err_wrap(err, "network namespace");
  int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0) return err_errno(err, 500, errno, "create %s", path);
  close(fd);
  int rc = make_netns(path);
  if (rc < 0) {
    unlink(path);
    return err_errno(err, 500, -rc, "network namespace of %s", id);
  }
  return 0;
}

void lx_netns_remove(lx_driver *d, const char *id) {
  /* a deletion under way holds the namespace open: it finishes without the mount */
  autofree char *path = lx_netns_path(d->exec_root, id);
  for (int i = 0; i < 4 && lx_is_mountpoint(path); i++) umount2(path, MNT_DETACH);
  unlink(path);
  autofree char *dir = lx_netns_dir(d->exec_root);
  rmdir(dir); /* when it was the last one */
}

static int run_netavark(lx_driver *d, const char *id, const char *command, const json_t *request,
                        json_t **result, arca_err *err) {
  if (lx_check_id(id, err) < 0) return -1;
  if (!d->netavark_path) return err_set(err, 500, "netavark is not installed");
  autofree char *netns = lx_netns_path(d->exec_root, id);
  if (!lx_is_mountpoint(netns))
    return err_set(err, 409, "sandbox %s has no network namespace of its own", id);
  autofree char *config_dir = lx_netavark_dir(d->exec_root);
  if (mkdir_p(config_dir, 0700, err) < 0) return -1;
  autofree char *input = json_dumps(request, JSON_COMPACT);
  if (!input) return err_set(err, 400, "invalid network request");
  const char *argv[10];
  size_t n = 0;
  argv[n++] = d->netavark_path;
  argv[n++] = "--config";
  argv[n++] = config_dir;
  if (d->aardvark_path) {
    argv[n++] = "--aardvark-binary";
    argv[n++] = d->aardvark_path;
  }
  argv[n++] = command;
  argv[n++] = netns;
  argv[n] = NULL;
  proc_result res;
  int64_t t0 = monotonic_ns();
  if (proc_run(argv, NULL, input, strlen(input), &res, err) < 0) return -1;
  if (log_enabled(LOG_DEBUG)) {
    char ms[24];
    snprintf(ms, sizeof ms, "%.1fms", (double)(monotonic_ns() - t0) / 1e6);
    log_kv(LOG_DEBUG, "netavark", "command", command, "id", id, "duration", ms, NULL);
  }
  json_t *answer = res.out && *res.out ? json_loads(res.out, 0, NULL) : NULL;
  if (res.exit_code != 0) {
    const char *msg = json_string_value(json_object_get(answer, "error"));
    err_set(err, 500, "netavark %s: %s", command,
            msg                   ? msg
            : res.err && *res.err ? res.err
                                  : "failed");
    json_decref(answer);
    proc_result_free(&res);
    return -1;
  }
  proc_result_free(&res);
  if (result)
    *result = answer ? answer : json_object();
  else
    json_decref(answer);
  return 0;
}

int lx_network_attach_raw(lx_driver *d, const char *id, const json_t *request, json_t **result,
                          arca_err *err) {
  return run_netavark(d, id, "setup", request, result, err);
}

int lx_network_attach(rt_driver *rd, const char *id, const json_t *request, json_t **result,
                      arca_err *err) {
  lx_driver *d = lx_of(rd);
  if (lx_check_id(id, err) < 0) return -1;
  int fast = lx_veth_attach(d, id, request, result, err);
  if (fast != 0) return fast < 0 ? -1 : 0;
  lx_veth_settle(d, id);
  if (run_netavark(d, id, "setup", request, result, err) < 0) return -1;
  lx_network_warm(d, request);
  return 0;
}

int lx_network_detach(rt_driver *rd, const char *id, const json_t *request, arca_err *err) {
  lx_driver *d = lx_of(rd);
  if (lx_check_id(id, err) < 0) return -1;
  int fast = lx_veth_detach(d, id, request, err);
  if (fast != 0) return fast < 0 ? -1 : 0;
  lx_veth_settle(d, id);
  return run_netavark(d, id, "teardown", request, NULL, err);
}
