/* Containers on networks: the hooks of the state machine (attach at start, detach at exit
 * and removal, create-time checks), live connect and disconnect, and the netavark request
 * of each endpoint.
 *
 * An endpoint exists while its container runs. At start every network of the container's
 * EndpointsConfig gets one: addresses from Arca's IPAM (static ones as asked), the host
 * ports of the primary network reserved, then one netavark setup per network in the
 * sandbox's namespace (a setup with only the new network also works for a namespace that
 * already has others, which is what connect does). The request is kept with the endpoint
 * and replayed for teardown, so that exactly what was set up is removed. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/container_internal.h"
#include "engine/engine.h"
#include "engine/networks_internal.h"
#include "engine/volumes.h"

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

const char *container_netmode_network(const container *c) {
  const char *mode = jstr(c->host_config, "NetworkMode");
  if (!*mode || !strcmp(mode, "default") || !strcmp(mode, "bridge")) return "bridge";
  if (!strcmp(mode, "host") || !strcmp(mode, "none") || !strncmp(mode, "container:", 10)) return NULL;
  return mode;
}

static json_t *endpoints_config(const container *c) {
  return json_object_get(c->networking, "EndpointsConfig");
}

endpoint *endpoint_of_locked(networks_state *ns, const char *container_id, const char *network_id) {
  for (endpoint *ep = ns->endpoints; ep; ep = ep->next)
    if (!strcmp(ep->container_id, container_id) && !strcmp(ep->network_id, network_id)) return ep;
  return NULL;
}

static void unlink_endpoint_locked(networks_state *ns, endpoint *ep) {
  for (endpoint **pp = &ns->endpoints; *pp; pp = &(*pp)->next)
    if (*pp == ep) {
      *pp = ep->next;
      return;
    }
}

void network_detach_one_locked(engine *e, endpoint *ep, bool events) {
  networks_state *ns = NETS(e);
  arca_err err;
  network *n = strmap_get(&ns->by_id, ep->network_id);
  bool last = true;
  for (endpoint *o = ns->endpoints; o && last; o = o->next) last = o == ep || strcmp(o->network_id, ep->network_id);
  json_t *request = ep->request ? json_incref(ep->request) : NULL;
  /* netavark 1.4 removes a network's port-forwarding chain only when the last teardown
   * names port mappings: an empty list is enough */
  if (request && n && last && n->port_chain && !json_array_size(json_object_get(request, "port_mappings"))) {
    json_decref(request);
    request = json_deep_copy(ep->request);
    json_object_set_new(request, "port_mappings", json_array());
  }
  if (request && e->driver && e->driver->ops->network_detach(e->driver, ep->container_id, request, &err) < 0)
    log_kv(LOG_WARN, "network teardown failed", "container", ep->container_id, "error", err.msg, NULL);
  json_decref(request);
  /* n->port_chain stays set: the driver may keep the network warm (chains included) until
   * it is released */
  unlink_endpoint_locked(ns, ep);
  endpoint_forget(e, ep);
  if (n && events) network_event(e, n, "disconnect", ep->container_id);
  endpoint_free(ep);
}

int endpoints_teardown_locked(engine *e, const char *container_id, bool events) {
  networks_state *ns = NETS(e);
  int count = 0;
  /* secondary endpoints first, the one with the published ports last, as set up in reverse */
  for (int pass = 0; pass < 2; pass++) {
    endpoint *ep = ns->endpoints;
    while (ep) {
      endpoint *next = ep->next;
      if (!strcmp(ep->container_id, container_id) && ep->primary == (pass == 1)) {
        network_detach_one_locked(e, ep, events);
        count++;
      }
      ep = next;
    }
  }
  return count;
}

/* ---- the netavark request ---- */

static json_t *subnets_json(const network *n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n->npools; i++) {
    const net_pool *p = &n->pools[i];
    if ((p->subnet.addr.family == 4 && !n->ipv4) || (p->subnet.addr.family == 6 && !n->ipv6)) continue;
    char s[IP_PREFIX_STR_MAX], g[IP_STR_MAX];
    ip_prefix_format(&p->subnet, s);
    ip_format(&p->gateway, g);
    json_array_append_new(a, json_pack("{s:s,s:s}", "subnet", s, "gateway", g));
  }
  return a;
}

/* Names aardvark-dns answers for this endpoint besides the container name: Docker's
 * DNSNames (aliases, short ID, hostname) without the name itself. */
static json_t *dns_aliases(const container *c, const json_t *cfg) {
  json_t *names = dns_names_json(c, json_object_get(cfg, "Aliases"));
  json_t *out = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    if (strcmp(json_string_value(v), c->name)) json_array_append(out, v);
  }
  json_decref(names);
  return out;
}

/* netavark's description of the network (its "network_info" entry). */
static json_t *netavark_info(networks_state *ns, const network *n) {
  json_t *info = json_pack("{s:s,s:s,s:s,s:s,s:o,s:b,s:b,s:b,s:{s:s}}", "name", n->id, "id", n->id, "driver", "bridge",
                           "network_interface", n->default_bridge ? ns->default_bridge_if : n->bridge, "subnets",
                           subnets_json(n), "ipv6_enabled", n->ipv6, "internal", n->internal, "dns_enabled",
                           !n->default_bridge, "ipam_options", "driver", "host-local");
  const char *mtu = jstr(json_object_get(n->doc, "Options"), "com.docker.network.driver.mtu");
  if (*mtu && strcmp(mtu, "0") != 0) json_object_set_new(info, "options", json_pack("{s:s}", "mtu", mtu));
  return info;
}

static json_t *build_request(engine *e, const container *c, const network *n, const endpoint *ep, const json_t *cfg,
                             json_t *mappings) {
  networks_state *ns = NETS(e);
  json_t *ips = json_array();
  char a[IP_STR_MAX];
  if (ep->ip4.family) {
    ip_format(&ep->ip4, a);
    json_array_append_new(ips, json_string(a));
  }
  if (ep->ip6.family) {
    ip_format(&ep->ip6, a);
    json_array_append_new(ips, json_string(a));
  }
  json_t *per = json_pack("{s:s,s:o,s:o}", "interface_name", ep->ifname, "static_ips", ips, "aliases",
                          n->default_bridge ? json_array() : dns_aliases(c, cfg));
  const char *mac = jstr(cfg, "MacAddress");
  if (*mac) json_object_set_new(per, "static_mac", json_string(mac));
  json_t *req = json_pack("{s:s,s:s,s:{s:o},s:{s:o}}", "container_id", c->id, "container_name", c->name, "networks",
                          n->id, per, "network_info", n->id, netavark_info(ns, n));
  if (mappings && json_array_size(mappings)) json_object_set(req, "port_mappings", mappings);
  return req;
}

/* What the driver needs to let a network go (networks.h: the driver's network_release): a
 * setup request for a sandbox of its own, on an address no container holds (there is none
 * when the network goes; at shutdown the request is used only if the bridge is unused). */
static json_t *release_request(engine *e, const network *n) {
  networks_state *ns = NETS(e);
  json_t *ips = json_array();
  for (size_t i = 0; i < n->npools; i++) {
    const net_pool *p = &n->pools[i];
    ip_addr first = ip_prefix_first(&p->subnet);
    ip_addr a = ip_add(&first, 2);
    if (ip_equal(&a, &p->gateway)) a = ip_add(&first, 3);
    char s[IP_STR_MAX];
    ip_format(&a, s);
    json_array_append_new(ips, json_string(s));
  }
  char sandbox[65];
  random_hex(sandbox, 32);
  json_t *per = json_pack("{s:s,s:o,s:[]}", "interface_name", "eth0", "static_ips", ips, "aliases");
  json_t *req = json_pack("{s:s,s:s,s:{s:o},s:{s:o}}", "container_id", sandbox, "container_name",
                          "arca-network-release", "networks", n->id, per, "network_info", n->id, netavark_info(ns, n));
  /* netavark 1.4 drops a network's port-forwarding chain only when the teardown names port
   * mappings: an empty list is enough */
  if (n->port_chain) json_object_set_new(req, "port_mappings", json_array());
  return req;
}

void network_release_locked(engine *e, network *n) {
  if (strcmp(n->driver, "bridge") != 0 || !e->driver || !e->driver->ops->network_release) return;
  json_t *req = release_request(e, n);
  arca_err err;
  if (e->driver->ops->network_release(e->driver, req, &err) < 0)
    log_kv(LOG_WARN, "network not released", "network", n->name, "error", err.msg, NULL);
  json_decref(req);
  if (n->port_chain && endpoints_on_locked(NETS(e), n->id) == 0) {
    n->port_chain = false;
    if (network_save(e, n, &err) < 0) log_kv(LOG_WARN, "network record not saved", "error", err.msg, NULL);
  }
}

/* ---- addresses ---- */

static const net_pool *first_pool(const network *n, int family) {
  for (size_t i = 0; i < n->npools; i++)
    if (n->pools[i].subnet.addr.family == family) return &n->pools[i];
  return NULL;
}

static int assign_address(networks_state *ns, network *n, int family, const char *wanted, ip_addr *out, int *bits,
                          ip_addr *gw, arca_err *err) {
  const net_pool *pool = first_pool(n, family);
  if (!pool) return 0;
  ip_addr *used = NULL;
  size_t nused = 0;
  network_used_addrs_locked(ns, n, &used, &nused);
  int rc = 0;
  if (wanted && *wanted) {
    ip_addr a;
    const net_pool *in = NULL;
    if (!ip_parse(wanted, &a) || a.family != family) rc = err_set(err, 400, "invalid IPv%d address: %s", family, wanted);
    for (size_t i = 0; rc == 0 && i < n->npools && !in; i++)
      if (n->pools[i].user_subnet && ip_prefix_contains(&n->pools[i].subnet, &a)) in = &n->pools[i];
    if (rc == 0 && !in) {
      bool any_user = false;
      for (size_t i = 0; i < n->npools; i++) any_user |= n->pools[i].user_subnet;
      rc = any_user ? err_set(err, 400, "no configured subnet or ip-range contain the IP address %s", wanted)
                    : err_set(err, 400, "user specified IP address is supported only when connecting to networks with user configured subnets");
    }
    for (size_t i = 0; rc == 0 && i < nused; i++)
      if (ip_equal(&used[i], &a)) rc = err_set(err, 403, "Address already in use");
    if (rc == 0) {
      *out = a;
      *bits = in->subnet.bits;
      *gw = in->gateway;
    }
  } else {
    ip_addr *cursor = family == 4 ? &n->cursor4 : &n->cursor6;
    ip_addr a;
    if (!ipam_next_free(&pool->subnet, pool->has_range ? &pool->range : NULL, used, nused,
                        cursor->family ? cursor : NULL, &a)) {
      char s[IP_PREFIX_STR_MAX];
      ip_prefix_format(&pool->subnet, s);
      rc = err_set(err, 503, "no available IPv%d addresses on this network's address pools: %s (%s)", family, n->name, s);
    } else {
      *cursor = a;
      *out = a;
      *bits = pool->subnet.bits;
      *gw = pool->gateway;
    }
  }
  free(used);
  return rc;
}

static void next_ifname(networks_state *ns, const char *container_id, char out[16]) {
  for (int i = 0; i < 64; i++) {
    snprintf(out, 16, "eth%d", i);
    bool taken = false;
    for (endpoint *ep = ns->endpoints; ep && !taken; ep = ep->next)
      taken = !strcmp(ep->container_id, container_id) && !strcmp(ep->ifname, out);
    if (!taken) return;
  }
}

static void mac_from_result(const json_t *result, const network *n, const char *ifname, char out[24]) {
  const json_t *iface = json_object_get(json_object_get(json_object_get(result, n->id), "interfaces"), ifname);
  snprintf(out, 24, "%s", jstr(iface, "mac_address"));
}

int network_attach_one(engine *e, container *c, network *n, const json_t *cfg, bool primary, arca_err *err) {
  networks_state *ns = NETS(e);
  if (strcmp(n->driver, "bridge") != 0) return 0; /* host and none have nothing to set up */
  if (endpoint_of_locked(ns, c->id, n->id))
    return err_set(err, 403, "endpoint with name %s already exists in network %s", c->name, n->name);
  if (!e->driver) return err_set(err, 500, "the container runtime is not available on this host");
  network_check_subnets_locked(e, n);
  endpoint *ep = xcalloc(1, sizeof *ep);
  snprintf(ep->container_id, sizeof ep->container_id, "%s", c->id);
  snprintf(ep->network_id, sizeof ep->network_id, "%s", n->id);
  random_hex(ep->endpoint_id, 32);
  next_ifname(ns, c->id, ep->ifname);
  ep->primary = primary;
  const json_t *ipam = json_object_get(cfg, "IPAMConfig");
  json_t *mappings = NULL;
  json_t *result = NULL;
  int rc = 0;
  if (n->ipv4) rc = assign_address(ns, n, 4, jstr(ipam, "IPv4Address"), &ep->ip4, &ep->bits4, &ep->gw4, err);
  if (rc == 0 && n->ipv6) rc = assign_address(ns, n, 6, jstr(ipam, "IPv6Address"), &ep->ip6, &ep->bits6, &ep->gw6, err);
  if (rc == 0 && primary)
    rc = ports_reserve_locked(e, c, ep->endpoint_id, &ep->ip4, &mappings, &ep->ports, &ep->fds, &ep->nfds, err);
  if (rc == 0) {
    ep->request = build_request(e, c, n, ep, cfg, mappings);
    rc = e->driver->ops->network_attach(e->driver, c->id, ep->request, &result, err);
  }
  json_decref(mappings);
  if (rc < 0) {
    endpoint_free(ep);
    json_decref(result);
    return -1;
  }
  mac_from_result(result, n, ep->ifname, ep->mac);
  json_decref(result);
  if (json_array_size(json_object_get(ep->request, "port_mappings")) && !n->port_chain) {
    arca_err serr;
    n->port_chain = true;
    if (network_save(e, n, &serr) < 0) log_kv(LOG_WARN, "network record not saved", "error", serr.msg, NULL);
  }
  ep->next = ns->endpoints;
  ns->endpoints = ep;
  endpoint_save(e, ep);
  network_event(e, n, "connect", c->id);
  return 0;
}

/* ---- the state machine's hooks ---- */

static bool own_namespace(const container *c) { return container_netmode_network(c) != NULL; }

/* The networks to join, primary first: the NetworkMode's network, then the others. */
static size_t networks_to_join(const container *c, const char **names, size_t max) {
  size_t k = 0;
  const char *mode_net = container_netmode_network(c);
  json_t *eps = endpoints_config(c);
  if (!json_object_size(eps)) {
    if (mode_net && max) names[k++] = mode_net;
    return k;
  }
  const char *key;
  json_t *v;
  json_object_foreach(eps, key, v) {
    if (k < max && mode_net && !strcmp(key, mode_net)) names[k++] = key;
  }
  json_object_foreach(eps, key, v) {
    if (k < max && !(mode_net && !strcmp(key, mode_net))) names[k++] = key;
  }
  return k;
}

int networks_attach_container(engine *e, container *c, bool files_in_place, arca_err *err) {
  networks_state *ns = NETS(e);
  if (!own_namespace(c)) return 0;
  const char *names[64];
  size_t nn = networks_to_join(c, names, ARRAY_LEN(names));
  networks_lock_write(ns);
  endpoints_teardown_locked(e, c->id, false); /* left by a daemon that died */
  int rc = 0;
  bool primary_done = false;
  for (size_t i = 0; i < nn && rc == 0; i++) {
    network *n = network_find_locked(ns, names[i], err);
    if (!n) {
      rc = -1;
      break;
    }
    const json_t *cfg = json_object_get(endpoints_config(c), names[i]);
    bool primary = !primary_done && !strcmp(n->driver, "bridge");
    rc = network_attach_one(e, c, n, cfg, primary, err);
    if (primary) primary_done = true;
  }
  if (rc < 0) endpoints_teardown_locked(e, c->id, false);
  pthread_mutex_unlock(&ns->lock);
  if (rc < 0) return err_wrap(err, "failed to set up container networking");
  /* /etc/hosts names the addresses just handed out; once the runtime may have bind-mounted
   * the files, only their contents may change */
  if ((files_in_place ? container_write_files_in_place(e, c, err) : container_write_files(e, c, err)) < 0) {
    networks_detach_container(e, c);
    return -1;
  }
  return 0;
}

void networks_detach_container(engine *e, container *c) {
  networks_state *ns = NETS(e);
  networks_lock_write(ns);
  endpoints_teardown_locked(e, c->id, true);
  pthread_mutex_unlock(&ns->lock);
  volumes_stop(e, c);
}

/* ---- connect and disconnect: the recorded configuration ---- */

static int validate_endpoint_locked(networks_state *ns, const network *n, const json_t *epcfg, arca_err *err) {
  strbuf sb;
  sb_init(&sb);
  int nerr = 0;
#define ADD(...) (sb_printf(&sb, "%s", nerr ? "\n* " : ""), sb_printf(&sb, __VA_ARGS__), nerr++)
  const json_t *ipam = json_object_get(epcfg, "IPAMConfig");
  const char *v4 = jstr(ipam, "IPv4Address"), *v6 = jstr(ipam, "IPv6Address");
  bool user_defined = !n->predefined;
  if (!user_defined) {
    if (*v4 || *v6) ADD("user specified IP address is supported on user defined networks only");
    if (json_array_size(json_object_get(epcfg, "Aliases")))
      ADD("network-scoped alias is supported only for containers in user defined networks");
  }
  ip_addr a;
  if (*v4 && (!ip_parse(v4, &a) || a.family != 4 || ip_is_unspecified(&a))) ADD("invalid IPv4 address: %s", v4);
  if (*v6 && (!ip_parse(v6, &a) || a.family != 6 || ip_is_unspecified(&a))) ADD("invalid IPv6 address: %s", v6);
  if (user_defined) {
    for (int fam = 4; fam <= 6; fam += 2) {
      const char *want = fam == 4 ? v4 : v6;
      if (!*want || !ip_parse(want, &a) || a.family != fam) continue;
      bool any_user = false, inside = false;
      for (size_t i = 0; i < n->npools; i++) {
        if (n->pools[i].subnet.addr.family != fam || !n->pools[i].user_subnet) continue;
        any_user = true;
        inside |= ip_prefix_contains(&n->pools[i].subnet, &a);
      }
      if (!any_user) ADD("user specified IP address is supported only when connecting to networks with user configured subnets");
      else if (!inside) ADD("no configured subnet or ip-range contain the IP address %s", want);
    }
  }
#undef ADD
  (void)ns;
  int rc = 0;
  if (nerr) rc = err_set(err, 400, "invalid endpoint settings:\n%s%s", nerr > 1 ? "* " : "", sb.buf);
  sb_free(&sb);
  return rc;
}

int networks_connect_config_locked(engine *e, container *c, const char *net_name, const json_t *epcfg, arca_err *err) {
  networks_state *ns = NETS(e);
  const char *mode = jstr(c->host_config, "NetworkMode");
  if (!strncmp(mode, "container:", 10))
    return err_set(err, 400, "container sharing network namespace with another container or host cannot be connected to any other network");
  networks_lock_write(ns);
  network *n = network_by_name_locked(ns, net_name);
  int rc = 0;
  if (!n) rc = err_set(err, 404, "network %s not found", net_name);
  else if (strcmp(mode, "host") && !strcmp(n->driver, "host"))
    rc = err_set(err, 400, "cannot connect container to host network - container must be created in host network mode");
  json_t *eps = endpoints_config(c);
  bool running = container_is_running(c) && c->state != CS_RESTARTING;
  if (rc == 0 && json_object_get(eps, net_name)) {
    rc = running ? err_set(err, 403, "endpoint with name %s already exists in network %s", c->name, net_name) : 1;
  }
  const char *key;
  json_t *v;
  if (rc == 0)
    json_object_foreach(eps, key, v) {
      network *other = network_by_name_locked(ns, key);
      if (!other) continue;
      if (strcmp(other->driver, "bridge") || strcmp(n->driver, "bridge")) {
        if (!strcmp(other->driver, "null") || !strcmp(n->driver, "null"))
          rc = err_set(err, 400, "container cannot be connected to multiple networks with one of the networks in private (none) mode");
        else
          rc = err_set(err, 400, "container sharing network namespace with another container or host cannot be connected to any other network");
        break;
      }
    }
  if (rc == 0) rc = validate_endpoint_locked(ns, n, epcfg, err);
  char net_id[65] = "";
  if (n) snprintf(net_id, sizeof net_id, "%s", n->id);
  pthread_mutex_unlock(&ns->lock);
  if (rc == 1) return 0; /* already configured: nothing to do, as dockerd */
  if (rc < 0) return -1;
  if (!c->networking) c->networking = json_object();
  if (!json_is_object(endpoints_config(c))) json_object_set_new(c->networking, "EndpointsConfig", json_object());
  json_t *cfg = json_is_object(epcfg) ? json_deep_copy(epcfg) : json_object();
  json_object_set_new(cfg, "NetworkID", json_string(net_id));
  json_object_set_new(endpoints_config(c), net_name, cfg);
  return 0;
}

void networks_forget_config_locked(container *c, const char *net_name) {
  json_object_del(endpoints_config(c), net_name);
}

void networks_refresh_hosts_locked(engine *e, container *c) {
  autofree char *dir = container_dir(e, c->id);
  autofree char *hosts = xasprintf("%s/hosts", dir);
  autofree char *live = xasprintf("%s/hosts.live", dir);
  unlink(live);
  if (link(hosts, live) < 0) return;
  arca_err err;
  autofree char *text = NULL;
  size_t len = 0;
  if (container_write_files(e, c, &err) == 0 && read_file(hosts, 1 << 20, &text, &len, &err) == 0) {
    /* the container's bind mount holds the old inode: write the new text into it */
    int fd = open(live, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd >= 0) {
      if (write_all(fd, text, len) < 0) log_kv(LOG_WARN, "hosts file not updated", "container", c->id, NULL);
      close(fd);
      rename(live, hosts);
      return;
    }
  }
  unlink(live);
}

/* ---- create-time checks ---- */

int networks_validate_create(engine *e, container *c, arca_err *err) {
  networks_state *ns = NETS(e);
  const char *mode = jstr(c->host_config, "NetworkMode");
  if (!strncmp(mode, "container:", 10)) {
    container *o;
    if (container_get(e, mode + 10, &o, err) < 0) return -1;
    container_put(e, o);
  }
  if (!c->networking) c->networking = json_object();
  json_t *eps = endpoints_config(c);
  if (!json_is_object(eps)) {
    json_object_set_new(c->networking, "EndpointsConfig", json_object());
    eps = endpoints_config(c);
  }
  const char *mode_net = container_netmode_network(c);
  if (!mode_net && (!strcmp(mode, "host") || !strcmp(mode, "none")) && !json_object_get(eps, mode))
    json_object_set_new(eps, mode, json_object());
  if (mode_net && !json_object_get(eps, mode_net)) json_object_set_new(eps, mode_net, json_object());
  /* each endpoint under its network's name, with the network's ID */
  json_t *fixed = json_object();
  networks_lock_write(ns);
  int rc = 0;
  const char *key;
  json_t *v;
  json_object_foreach(eps, key, v) {
    if (!strcmp(key, "container")) continue;
    /* as dockerd, a network that does not exist (yet) fails the start, not the create */
    arca_err lerr;
    network *n = network_find_locked(ns, key, &lerr);
    if (!n) {
      json_object_set_new(fixed, key, json_is_object(v) ? json_deep_copy(v) : json_object());
      continue;
    }
    json_t *cfg = json_is_object(v) ? json_deep_copy(v) : json_object();
    if (validate_endpoint_locked(ns, n, cfg, err) < 0) {
      err_wrap(err, "invalid config for network %s", n->name);
      json_decref(cfg);
      rc = -1;
      break;
    }
    json_object_set_new(cfg, "NetworkID", json_string(n->id));
    json_object_set_new(fixed, n->name, cfg);
  }
  pthread_mutex_unlock(&ns->lock);
  if (rc == 0) json_object_set_new(c->networking, "EndpointsConfig", fixed);
  else json_decref(fixed);
  if (rc == 0) rc = volumes_validate_create(e, c, err);
  return rc;
}
