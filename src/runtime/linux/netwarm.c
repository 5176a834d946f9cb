/* Warm bridges.
 *
 * netavark 1.4 deletes a bridge and all of its network's firewall rules when the last
 * container leaves it (some fifteen iptables runs, ~140 ms), and makes them again for the
 * next container (~40 ms): `docker run --rm` would pay both every time. dockerd keeps its
 * bridges while their networks exist; the driver does the same: once netavark has set up a
 * bridge, a link "aw<13 hex of the network id>" is enslaved to it, so that netavark always
 * sees another user and leaves the bridge and its rules in place. The link is one end of a
 * veth pair whose other end ("ax...") stays down and unattached: kernels without the dummy
 * driver have veth, which netavark itself needs.
 *
 * Releasing a network (its removal, the daemon's shutdown, a leftover found at start-up)
 * takes the pair away; when no container uses the bridge any more, netavark's complete
 * teardown then runs through a short-lived sandbox of the driver's own, so nothing of the
 * network is left on the host. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"

#define IFNAME_MAX 15

static void anchor_name(const char *network_id, char out[IFNAME_MAX + 1]) {
  snprintf(out, IFNAME_MAX + 1, "aw%.13s", network_id);
}

static void anchor_peer_name(const char *network_id, char out[IFNAME_MAX + 1]) {
  snprintf(out, IFNAME_MAX + 1, "ax%.13s", network_id);
}

static bool link_exists(const char *name) {
  char path[64];
  snprintf(path, sizeof path, "/sys/class/net/%s", name);
  return access(path, F_OK) == 0;
}

/* Links enslaved to the bridge other than `except`. */
static size_t bridge_ports(const char *bridge, const char *except) {
  char path[64];
  snprintf(path, sizeof path, "/sys/class/net/%s/brif", bridge);
  DIR *dir = opendir(path);
  if (!dir) return 0;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(dir)))
    if (de->d_name[0] != '.' && strcmp(de->d_name, except)) n++;
  closedir(dir);
  return n;
}

static int run_ip(const char *const args[], arca_err *err) {
  const char *argv[16] = {"ip"};
  size_t n = 1;
  for (size_t i = 0; args[i] && n < ARRAY_LEN(argv) - 1; i++) argv[n++] = args[i];
  argv[n] = NULL;
  proc_result res;
  if (proc_run(argv, NULL, NULL, 0, &res, err) < 0) return -1;
  int rc = 0;
  if (res.exit_code != 0)
    rc = err_set(err, 500, "ip %s %s: %s", args[0], args[1], res.err && *res.err ? res.err : "failed");
  proc_result_free(&res);
  return rc;
}

/* A Linux bridge whose address was never set takes the lowest address of its ports, and
 * changes it as ports come and go: containers then keep sending to a gateway address that
 * no port owns any more (the frames are lost until their ARP entry expires). Setting the
 * address, even to the one it has, fixes it for the bridge's life, as dockerd does. */
static void pin_bridge_mac(const char *bridge) {
  autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", bridge);
  if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0 || ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
    log_kv(LOG_WARN, "bridge address not pinned", "bridge", bridge, "error", strerror(errno), NULL);
}

void lx_network_warm(lx_driver *d, const json_t *request) {
  (void)d;
  const char *key;
  json_t *info;
  json_object_foreach(json_object_get(request, "network_info"), key, info) {
    const char *driver = json_string_value(json_object_get(info, "driver"));
    const char *bridge = json_string_value(json_object_get(info, "network_interface"));
    const char *id = json_string_value(json_object_get(info, "id"));
    if (!driver || strcmp(driver, "bridge") || !bridge || !id || !link_exists(bridge)) continue;
    pin_bridge_mac(bridge);
    char anchor[IFNAME_MAX + 1], peer[IFNAME_MAX + 1];
    anchor_name(id, anchor);
    anchor_peer_name(id, peer);
    if (link_exists(anchor)) continue;
    const char *args[] = {"link", "add", anchor, "master", bridge, "type", "veth", "peer", "name", peer, NULL};
    arca_err err;
    if (run_ip(args, &err) < 0)
      log_kv(LOG_WARN, "bridge not kept warm", "bridge", bridge, "error", err.msg, NULL);
  }
}

int lx_network_release(rt_driver *rd, const json_t *request, arca_err *err) {
  lx_driver *d = lx_of(rd);
  const char *key;
  json_t *info;
  int rc = 0;
  json_object_foreach(json_object_get(request, "network_info"), key, info) {
    const char *bridge = json_string_value(json_object_get(info, "network_interface"));
    const char *id = json_string_value(json_object_get(info, "id"));
    if (!bridge || !id) return err_set(err, 400, "network release: the request names no bridge");
    char anchor[IFNAME_MAX + 1];
    anchor_name(id, anchor);
    if (!link_exists(anchor)) continue; /* never warmed, or released already */
    const char *del[] = {"link", "del", anchor, NULL}; /* its peer goes with it */
    if (run_ip(del, err) < 0) return -1;
    if (!link_exists(bridge) || bridge_ports(bridge, anchor) > 0) continue; /* containers still use it */
    /* Nobody uses the bridge: let netavark tear the network down completely, through a
     * sandbox that joins it for an instant. */
    const char *sandbox = json_string_value(json_object_get(request, "container_id"));
    if (!sandbox || lx_netns_create(d, sandbox, err) < 0) return -1;
    json_t *result = NULL;
    rc = lx_network_attach_raw(d, sandbox, request, &result, err);
    json_decref(result);
    if (rc == 0) rc = lx_network_detach(rd, sandbox, request, err);
    lx_netns_remove(d, sandbox);
    if (rc < 0) return err_wrap(err, "release network %s", id);
    log_kv(LOG_DEBUG, "network released", "network", id, "bridge", bridge, NULL);
  }
  return rc;
}
