/* Published ports. As dockerd does, Arca binds each host port itself (SO_REUSEADDR; TCP
 * ports listen with a zero backlog) and holds the socket while the container runs: a port
 * another program holds fails the start with dockerd's text, nothing else can take the port
 * later, and HostPort "" or "0" lets the kernel choose a free one. The traffic itself never
 * reaches these sockets: netavark's DNAT rules (from the port_mappings of the request) send
 * it to the container before local delivery, from 127.0.0.1, the host's addresses and other
 * containers alike. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "engine/container_config.h"
#include "engine/engine.h"
#include "engine/networks_internal.h"

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* Binds host_ip:port (port 0: the kernel's choice); returns the fd and the port, or -errno. */
static int bind_port(const ip_addr *host_ip, const char *proto, uint16_t port, uint16_t *bound) {
  bool v6 = host_ip->family == 6;
  int type = !strcmp(proto, "udp") ? SOCK_DGRAM : SOCK_STREAM;
  int fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (v6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    memcpy(&s6->sin6_addr, host_ip->b, 16);
    len = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    memcpy(&s4->sin_addr, host_ip->b, 4);
    len = sizeof *s4;
  }
  /* with SO_REUSEADDR bind() misses a listener on an overlapping address; listen() sees it */
  if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (type == SOCK_STREAM && listen(fd, 0) < 0)) {
    int saved = errno;
    close(fd);
    return -saved;
  }
  socklen_t sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  *bound = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

/* Another running container of ours publishes this port on an overlapping address. */
static bool allocated_locked(networks_state *ns, const ip_addr *ip, const char *proto, uint16_t port) {
  char want[16];
  snprintf(want, sizeof want, "%u", port);
  for (endpoint *ep = ns->endpoints; ep; ep = ep->next) {
    const char *key;
    json_t *list;
    json_object_foreach(ep->ports, key, list) {
      const char *slash = strchr(key, '/');
      if (strcmp(slash ? slash + 1 : "tcp", proto)) continue;
      size_t i;
      json_t *b;
      json_array_foreach(list, i, b) {
        if (strcmp(jstr(b, "HostPort"), want)) continue;
        ip_addr other;
        if (!ip_parse(jstr(b, "HostIp"), &other) || other.family != ip->family) continue;
        if (ip_is_unspecified(&other) || ip_is_unspecified(ip) || ip_equal(&other, ip)) return true;
      }
    }
  }
  return false;
}

static void push_fd(int **fds, size_t *nfds, int fd) {
  *fds = xrealloc(*fds, (*nfds + 1) * sizeof **fds);
  (*fds)[(*nfds)++] = fd;
}

/* Binds one published port; fills *fd and *bound or fails with dockerd's texts. */
static int reserve_one(networks_state *ns, const container *c, const char *endpoint_id, const char *cip_s,
                       const port_mapping *pm, const char *hip, int *fd_out, uint16_t *bound_out, arca_err *err) {
  ip_addr host_ip;
  if (!ip_parse(hip, &host_ip)) return err_set(err, 400, "invalid host IP address %s", hip);
  uint16_t lo = pm->host_port_start, hi = pm->host_port_end ? pm->host_port_end : pm->host_port_start;
  bool single = lo != 0 && lo == hi;
  int fd = -ENOENT;
  uint16_t bound = 0;
  if (lo == 0) {
    /* the kernel's ephemeral range, skipping ports another container of ours holds */
    for (int tries = 0; tries < 16; tries++) {
      fd = bind_port(&host_ip, pm->proto, 0, &bound);
      if (fd < 0 || !allocated_locked(ns, &host_ip, pm->proto, bound)) break;
      close(fd);
      fd = -EADDRINUSE;
    }
  } else {
    for (uint32_t p = lo; p <= hi; p++) {
      if (allocated_locked(ns, &host_ip, pm->proto, (uint16_t)p)) {
        fd = -EEXIST;
        bound = (uint16_t)p;
        continue;
      }
      fd = bind_port(&host_ip, pm->proto, (uint16_t)p, &bound);
      if (fd >= 0) break;
      bound = (uint16_t)p;
    }
  }
  if (fd == -EEXIST)
    return err_set(err, 500,
                   "driver failed programming external connectivity on endpoint %s (%s): Bind for %s:%u failed: port is "
                   "already allocated",
                   c->name, endpoint_id, hip, bound);
  if (fd < 0) {
    char desc[160], why[128];
    snprintf(desc, sizeof desc, "%s:%u:%s:%u/%s", hip, bound, cip_s, pm->container_port, pm->proto);
    /* Go's syscall texts are lower case */
    snprintf(why, sizeof why, "%s", strerror(-fd));
    for (char *p = why; *p; p++)
      if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    if (single)
      return err_set(err, 500, "driver failed programming external connectivity on endpoint %s (%s): failed to bind host port for %s: %s",
                     c->name, endpoint_id, desc, why);
    return err_set(err, 500, "driver failed programming external connectivity on endpoint %s (%s): failed to bind host port %u for %s: %s",
                   c->name, endpoint_id, bound, desc, why);
  }
  *fd_out = fd;
  *bound_out = bound;
  return 0;
}

int ports_reserve_locked(engine *e, container *c, const char *endpoint_id, const ip_addr *cip, json_t **mappings,
                         json_t **ports_map, int **fds, size_t *nfds, arca_err *err) {
  networks_state *ns = NETS(e);
  port_mapping *pm = NULL;
  size_t n = 0;
  *mappings = json_array();
  *ports_map = json_object();
  *fds = NULL;
  *nfds = 0;
  int rc = container_ports_list(json_object_get(c->config, "ExposedPorts"), json_object_get(c->host_config, "PortBindings"),
                                json_is_true(json_object_get(c->host_config, "PublishAllPorts")), &pm, &n, err);
  char cip_s[IP_STR_MAX] = "";
  if (cip && cip->family) ip_format(cip, cip_s);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    char key[32];
    snprintf(key, sizeof key, "%u/%s", pm[i].container_port, pm[i].proto);
    json_t *list = json_object_get(*ports_map, key);
    if (!pm[i].published) {
      if (!list) json_object_set_new(*ports_map, key, json_null());
      continue;
    }
    if (strcmp(pm[i].proto, "tcp") && strcmp(pm[i].proto, "udp")) {
      rc = err_set(err, 500, "driver failed programming external connectivity on endpoint %s (%s): protocol %s is not supported",
                   c->name, endpoint_id, pm[i].proto);
      break;
    }
    const char *hip = *pm[i].host_ip ? pm[i].host_ip : "0.0.0.0";
    int fd = -1;
    uint16_t bound = 0;
    rc = reserve_one(ns, c, endpoint_id, cip_s, &pm[i], hip, &fd, &bound, err);
    if (rc < 0) break;
    push_fd(fds, nfds, fd);
    json_array_append_new(*mappings, json_pack("{s:s,s:i,s:i,s:i,s:s}", "host_ip", pm[i].host_ip, "container_port",
                                               pm[i].container_port, "host_port", bound, "range", 1, "protocol",
                                               pm[i].proto));
    if (!json_is_array(list)) {
      list = json_array();
      json_object_set_new(*ports_map, key, list);
    }
    char hp[8];
    snprintf(hp, sizeof hp, "%u", bound);
    json_array_append_new(list, json_pack("{s:s,s:s}", "HostIp", hip, "HostPort", hp));
  }
  free(pm);
  if (rc == 0) return 0;
  for (size_t i = 0; i < *nfds; i++) close((*fds)[i]);
  free(*fds);
  *fds = NULL;
  *nfds = 0;
  json_decref(*mappings);
  json_decref(*ports_map);
  *mappings = *ports_map = NULL;
  return -1;
}

void ports_rebind_locked(endpoint *ep) {
  const char *key;
  json_t *list;
  json_object_foreach(ep->ports, key, list) {
    const char *slash = strchr(key, '/');
    const char *proto = slash ? slash + 1 : "tcp";
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b) {
      ip_addr ip;
      if (!ip_parse(jstr(b, "HostIp"), &ip)) continue;
      uint16_t bound;
      int fd = bind_port(&ip, proto, (uint16_t)atoi(jstr(b, "HostPort")), &bound);
      if (fd >= 0) push_fd(&ep->fds, &ep->nfds, fd);
    }
  }
}

void ports_release(endpoint *ep) {
  for (size_t i = 0; i < ep->nfds; i++) close(ep->fds[i]);
  free(ep->fds);
  ep->fds = NULL;
  ep->nfds = 0;
}
