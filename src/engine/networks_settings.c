/* What a container's networking looks like from outside and inside: NetworkSettings of
 * inspect and list, the Ports of `docker ps`, the network filter of `docker ps`, and the
 * lines of /etc/hosts and resolv.conf that depend on its networks. All of these are called
 * with the container's lock held and take the networks lock themselves. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "engine/container_internal.h"
#include "engine/engine.h"
#include "engine/networks_internal.h"

json_t *container_network_settings(engine *e, const container *c, bool summary);
json_t *container_ports_summary(engine *e, const container *c);
bool container_on_network(engine *e, const container *c, const char *net);
void networks_hosts_entries(engine *e, const container *c, strbuf *sb);
bool networks_resolv_conf(engine *e, const container *c, strbuf *sb);

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static json_t *copy_or_null(const json_t *v) { return v && !json_is_null(v) ? json_deep_copy(v) : json_null(); }

uint64_t networks_revision(engine *e) { return __atomic_load_n(&NETS(e)->rev, __ATOMIC_ACQUIRE); }

static bool running(const container *c) { return c->state == CS_RUNNING || c->state == CS_PAUSED; }

json_t *dns_names_json(const container *c, const json_t *aliases) {
  json_t *names = json_array();
  char shortid[13];
  snprintf(shortid, sizeof shortid, "%.12s", c->id);
  const char *hostname = jstr(c->config, "Hostname");
  const char *cand[3] = {c->name, shortid, hostname};
  /* name, aliases, short ID, hostname; each once */
  json_t *all = json_array();
  json_array_append_new(all, json_string(cand[0]));
  size_t i;
  json_t *a;
  json_array_foreach(aliases, i, a) if (json_is_string(a)) json_array_append(all, a);
  json_array_append_new(all, json_string(cand[1]));
  if (*hostname) json_array_append_new(all, json_string(cand[2]));
  json_array_foreach(all, i, a) {
    bool dup = false;
    size_t j;
    json_t *b;
    json_array_foreach(names, j, b) dup |= !strcmp(json_string_value(a), json_string_value(b));
    if (!dup && *json_string_value(a)) json_array_append(names, a);
  }
  json_decref(all);
  return names;
}

json_t *endpoint_settings_json(engine *e, const container *c, const char *net_name, const json_t *cfg,
                               const network *n, const endpoint *ep) {
  (void)e;
  char a4[IP_STR_MAX] = "", g4[IP_STR_MAX] = "", a6[IP_STR_MAX] = "", g6[IP_STR_MAX] = "";
  if (ep && ep->ip4.family) {
    ip_format(&ep->ip4, a4);
    ip_format(&ep->gw4, g4);
  }
  if (ep && ep->ip6.family) {
    ip_format(&ep->ip6, a6);
    ip_format(&ep->gw6, g6);
  }
  const char *mac = ep ? ep->mac : jstr(cfg, "MacAddress");
  bool user_defined = n ? !n->predefined : strcmp(net_name, "bridge") && strcmp(net_name, "host") && strcmp(net_name, "none");
  json_t *aliases = json_object_get(cfg, "Aliases");
  json_t *doc = json_pack("{s:o,s:o,s:o,s:s,s:o,s:I,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:i}", "IPAMConfig",
                          copy_or_null(json_object_get(cfg, "IPAMConfig")), "Links",
                          copy_or_null(json_object_get(cfg, "Links")), "Aliases", copy_or_null(aliases), "MacAddress",
                          mac, "DriverOpts", copy_or_null(json_object_get(cfg, "DriverOpts")), "GwPriority",
                          (json_int_t)json_integer_value(json_object_get(cfg, "GwPriority")), "NetworkID",
                          n ? n->id : jstr(cfg, "NetworkID"), "EndpointID", ep ? ep->endpoint_id : "", "Gateway", g4,
                          "IPAddress", a4, "IPPrefixLen", ep && ep->ip4.family ? ep->bits4 : 0, "IPv6Gateway", g6,
                          "GlobalIPv6Address", a6, "GlobalIPv6PrefixLen", ep && ep->ip6.family ? ep->bits6 : 0);
  json_object_set_new(doc, "DNSNames", user_defined ? dns_names_json(c, aliases) : json_null());
  return doc;
}

static json_t *networks_map_locked(engine *e, const container *c, endpoint **bridge_ep, endpoint **primary) {
  networks_state *ns = NETS(e);
  json_t *map = json_object();
  json_t *eps = json_object_get(c->networking, "EndpointsConfig");
  const char *key;
  json_t *cfg;
  json_object_foreach(eps, key, cfg) {
    if (!strcmp(key, "container")) continue;
    network *n = network_by_name_locked(ns, key);
    if (!n && *jstr(cfg, "NetworkID")) n = strmap_get(&ns->by_id, jstr(cfg, "NetworkID"));
    endpoint *ep = n && running(c) ? endpoint_of_locked(ns, c->id, n->id) : NULL;
    if (ep && n->default_bridge && bridge_ep) *bridge_ep = ep;
    if (ep && ep->primary && primary) *primary = ep;
    json_object_set_new(map, key, endpoint_settings_json(e, c, key, cfg, n, ep));
  }
  return map;
}

json_t *container_network_settings(engine *e, const container *c, bool summary) {
  networks_state *ns = NETS(e);
  endpoint *bep = NULL, *pep = NULL;
  pthread_mutex_lock(&ns->lock);
  json_t *nets = networks_map_locked(e, c, &bep, &pep);
  if (summary) {
    pthread_mutex_unlock(&ns->lock);
    return json_pack("{s:o}", "Networks", nets);
  }
  char a4[IP_STR_MAX] = "", g4[IP_STR_MAX] = "", a6[IP_STR_MAX] = "", g6[IP_STR_MAX] = "";
  if (bep && bep->ip4.family) {
    ip_format(&bep->ip4, a4);
    ip_format(&bep->gw4, g4);
  }
  if (bep && bep->ip6.family) {
    ip_format(&bep->ip6, a6);
    ip_format(&bep->gw6, g6);
  }
  json_t *ports = pep && pep->ports ? json_deep_copy(pep->ports) : json_object();
  bool sandbox = running(c) && container_netmode_network(c) != NULL;
  autofree char *key = sandbox ? xasprintf("%s/netns/%s", e->cfg.exec_root, c->id) : xstrdup("");
  json_t *doc = json_pack("{s:s,s:s,s:s,s:o,s:b,s:s,s:i,s:n,s:n,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:s,s:o}", "Bridge", "",
                          "SandboxID", sandbox ? c->id : "", "SandboxKey", key, "Ports", ports, "HairpinMode", 0,
                          "LinkLocalIPv6Address", "", "LinkLocalIPv6PrefixLen", 0, "SecondaryIPAddresses",
                          "SecondaryIPv6Addresses", "EndpointID", bep ? bep->endpoint_id : "", "Gateway", g4,
                          "GlobalIPv6Address", a6, "GlobalIPv6PrefixLen", bep && bep->ip6.family ? bep->bits6 : 0,
                          "IPAddress", a4, "IPPrefixLen", bep && bep->ip4.family ? bep->bits4 : 0, "IPv6Gateway", g6,
                          "MacAddress", bep ? bep->mac : "", "Networks", nets);
  pthread_mutex_unlock(&ns->lock);
  return doc;
}

json_t *container_ports_summary(engine *e, const container *c) {
  networks_state *ns = NETS(e);
  json_t *out = json_array();
  if (!running(c)) return out;
  pthread_mutex_lock(&ns->lock);
  for (endpoint *ep = ns->endpoints; ep; ep = ep->next) {
    if (strcmp(ep->container_id, c->id) || !ep->primary || !ep->ports) continue;
    const char *key;
    json_t *list;
    json_object_foreach(ep->ports, key, list) {
      int port = atoi(key);
      const char *slash = strchr(key, '/');
      const char *proto = slash ? slash + 1 : "tcp";
      if (!json_array_size(list)) {
        json_array_append_new(out, json_pack("{s:i,s:s}", "PrivatePort", port, "Type", proto));
        continue;
      }
      size_t i;
      json_t *b;
      json_array_foreach(list, i, b) {
        json_array_append_new(out, json_pack("{s:s,s:i,s:i,s:s}", "IP", jstr(b, "HostIp"), "PrivatePort", port,
                                             "PublicPort", atoi(jstr(b, "HostPort")), "Type", proto));
      }
    }
  }
  pthread_mutex_unlock(&ns->lock);
  return out;
}

bool container_on_network(engine *e, const container *c, const char *net) {
  (void)e;
  json_t *eps = json_object_get(c->networking, "EndpointsConfig");
  if (!json_object_size(eps)) {
    const char *mode = jstr(c->host_config, "NetworkMode");
    return !strcmp(mode, net);
  }
  const char *key;
  json_t *cfg;
  json_object_foreach(eps, key, cfg) {
    if (!strcmp(key, net)) return true;
    const char *id = jstr(cfg, "NetworkID");
    if (*id && *net && str_has_prefix(id, net)) return true;
  }
  return false;
}

/* ---- /etc/hosts and resolv.conf ---- */

static void host_line(strbuf *sb, const ip_addr *a, const container *c) {
  char s[IP_STR_MAX];
  ip_format(a, s);
  const char *host = jstr(c->config, "Hostname"), *domain = jstr(c->config, "Domainname");
  if (*domain) sb_printf(sb, "%s\t%s.%s %s\n", s, host, domain, host);
  else sb_printf(sb, "%s\t%s\n", s, host);
}

/* "name:alias" (as the CLI sends), "/name:/ctr/alias" (as dockerd stores) */
static void split_link(const char *link, char *name, size_t nn, char *alias, size_t na) {
  const char *colon = strchr(link, ':');
  const char *n = link[0] == '/' ? link + 1 : link;
  size_t len = colon ? (size_t)(colon - n) : strlen(n);
  snprintf(name, nn, "%.*s", (int)len, n);
  const char *a = colon ? colon + 1 : n;
  const char *slash = strrchr(a, '/');
  snprintf(alias, na, "%s", slash ? slash + 1 : a);
}

static void link_lines_locked(engine *e, const container *c, const json_t *links, strbuf *sb) {
  networks_state *ns = NETS(e);
  size_t i;
  json_t *l;
  json_array_foreach(links, i, l) {
    if (!json_is_string(l)) continue;
    char name[256], alias[256];
    split_link(json_string_value(l), name, sizeof name, alias, sizeof alias);
    container *child;
    arca_err err;
    if (container_get(e, name, &child, &err) < 0) continue;
    /* the child's address on a network both share */
    for (endpoint *cep = ns->endpoints; cep; cep = cep->next) {
      if (strcmp(cep->container_id, child->id) || !cep->ip4.family) continue;
      if (!endpoint_of_locked(ns, c->id, cep->network_id)) continue;
      char s[IP_STR_MAX];
      ip_format(&cep->ip4, s);
      /* the child's hostname is fixed at its creation: read without its lock */
      const char *host = jstr(child->config, "Hostname");
      sb_printf(sb, "%s\t%s %s", s, alias, host);
      if (strcmp(alias, child->name)) sb_printf(sb, " %s", child->name);
      sb_puts(sb, "\n");
      break;
    }
    container_put(e, child);
  }
}

void networks_hosts_entries(engine *e, const container *c, strbuf *sb) {
  networks_state *ns = NETS(e);
  pthread_mutex_lock(&ns->lock);
  /* the list holds the newest endpoint first: lines go in the order of attachment */
  endpoint *mine[64];
  size_t n = 0;
  for (endpoint *ep = ns->endpoints; ep && n < ARRAY_LEN(mine); ep = ep->next)
    if (!strcmp(ep->container_id, c->id)) mine[n++] = ep;
  for (int fam = 4; fam <= 6; fam += 2)
    for (size_t i = n; i > 0; i--) {
      const ip_addr *a = fam == 4 ? &mine[i - 1]->ip4 : &mine[i - 1]->ip6;
      if (a->family) host_line(sb, a, c);
    }
  link_lines_locked(e, c, json_object_get(c->host_config, "Links"), sb);
  const char *key;
  json_t *cfg;
  json_object_foreach(json_object_get(c->networking, "EndpointsConfig"), key, cfg) {
    link_lines_locked(e, c, json_object_get(cfg, "Links"), sb);
  }
  pthread_mutex_unlock(&ns->lock);
}

/* On user-defined networks the resolver is aardvark-dns on each network's gateway: it
 * answers the containers' names and forwards the rest to the host's resolvers. */
bool networks_resolv_conf(engine *e, const container *c, strbuf *sb) {
  networks_state *ns = NETS(e);
  if (!container_netmode_network(c)) return false;
  strbuf ns_lines;
  sb_init(&ns_lines);
  pthread_mutex_lock(&ns->lock);
  const char *key;
  json_t *cfg;
  json_object_foreach(json_object_get(c->networking, "EndpointsConfig"), key, cfg) {
    network *n = network_by_name_locked(ns, key);
    if (!n || n->predefined || strcmp(n->driver, "bridge")) continue;
    for (size_t i = 0; i < n->npools; i++) {
      const net_pool *p = &n->pools[i];
      if ((p->subnet.addr.family == 4 && !n->ipv4) || (p->subnet.addr.family == 6 && !n->ipv6)) continue;
      char g[IP_STR_MAX];
      ip_format(&p->gateway, g);
      sb_printf(&ns_lines, "nameserver %s\n", g);
      break; /* one resolver address per network is enough */
    }
  }
  pthread_mutex_unlock(&ns->lock);
  if (!ns_lines.len) {
    sb_free(&ns_lines);
    return false;
  }
  json_t *dns = json_object_get(c->host_config, "Dns");
  json_t *search = json_object_get(c->host_config, "DnsSearch");
  json_t *opts = json_object_get(c->host_config, "DnsOptions");
  autofree char *host = NULL;
  read_file("/etc/resolv.conf", 1 << 20, &host, NULL, NULL);
  if (json_array_size(search)) {
    sb_puts(sb, "search");
    size_t i;
    json_t *d;
    json_array_foreach(search, i, d) sb_printf(sb, " %s", json_string_value(d) ?: "");
    sb_puts(sb, "\n");
  } else if (host) {
    char *save = NULL;
    for (char *line = strtok_r(host, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
      if (str_has_prefix(line, "search ") || str_has_prefix(line, "domain ")) sb_printf(sb, "%s\n", line);
  }
  sb_append(sb, ns_lines.buf, ns_lines.len);
  sb_free(&ns_lines);
  /* explicit servers of the container come after the network's resolver */
  size_t i;
  json_t *d;
  json_array_foreach(dns, i, d) sb_printf(sb, "nameserver %s\n", json_string_value(d) ?: "");
  /* Docker's embedded resolver answers single-label names: ndots:0 unless asked otherwise */
  bool ndots = false;
  json_array_foreach(opts, i, d) ndots |= str_has_prefix(json_string_value(d) ?: "", "ndots:");
  sb_puts(sb, ndots ? "options" : "options ndots:0");
  json_array_foreach(opts, i, d) sb_printf(sb, " %s", json_string_value(d) ?: "");
  sb_puts(sb, "\n");
  return true;
}
