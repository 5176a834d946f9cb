/* Network records and the network endpoints of the API: create (with Arca's IPAM), list,
 * inspect, remove, prune, connect, disconnect; the predefined networks. */
#include "engine/networks.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/filters.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/container_internal.h"
#include "engine/engine.h"
#include "engine/networks_internal.h"
#include "store/store_networks.h"

/* ---- small helpers ---- */

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static bool is_predefined_name(const char *name) {
  return !strcmp(name, "bridge") || !strcmp(name, "host") || !strcmp(name, "none") || !strcmp(name, "default");
}

static void new_hex_id(char out[65]) {
  for (;;) {
    random_hex(out, 32);
    bool digits = true;
    for (int i = 0; i < 12; i++)
      if (out[i] < '0' || out[i] > '9') digits = false;
    if (!digits) return;
  }
}

static void network_free(network *n) {
  if (!n) return;
  json_decref(n->doc);
  for (size_t i = 0; i < n->npools; i++) free(n->pools[i].aux);
  free(n->pools);
  free(n);
}

void endpoint_free(endpoint *ep) {
  if (!ep) return;
  ports_release(ep);
  json_decref(ep->request);
  json_decref(ep->ports);
  free(ep);
}

/* ---- records <-> documents ---- */

/* Parses IPAM.Config into pools (IPv4 first). Checked at create; loading trusts it. */
static int parse_pools(const json_t *config, bool user_given, net_pool **out, size_t *n, arca_err *err) {
  *out = NULL;
  *n = 0;
  size_t cnt = json_array_size(config);
  net_pool *pools = xcalloc(cnt ? cnt : 1, sizeof *pools);
  size_t k = 0;
  for (int fam = 4; fam <= 6; fam += 2) {
    size_t i;
    const json_t *c;
    json_array_foreach(config, i, c) {
      net_pool p = {0};
      if (!ip_prefix_parse(jstr(c, "Subnet"), &p.subnet)) continue;
      if (p.subnet.addr.family != fam) continue;
      if (*jstr(c, "Gateway") && !ip_parse(jstr(c, "Gateway"), &p.gateway)) {
        free(pools);
        return err_set(err, 400, "invalid gateway address %s in Ipam configuration", jstr(c, "Gateway"));
      }
      if (*jstr(c, "IPRange")) p.has_range = ip_prefix_parse(jstr(c, "IPRange"), &p.range);
      const json_t *aux = json_object_get(c, "AuxiliaryAddresses");
      p.aux = xcalloc(json_object_size(aux) + 1, sizeof *p.aux);
      const char *key;
      const json_t *v;
      json_object_foreach((json_t *)aux, key, v) {
        if (ip_parse(json_string_value(v), &p.aux[p.naux])) p.naux++;
      }
      p.user_subnet = user_given || json_is_true(json_object_get(c, "ArcaUserSubnet"));
      pools[k++] = p;
    }
  }
  *out = pools;
  *n = k;
  return 0;
}

static network *network_from_doc(json_t *doc) {
  network *n = xcalloc(1, sizeof *n);
  n->doc = doc;
  snprintf(n->id, sizeof n->id, "%s", jstr(doc, "Id"));
  snprintf(n->name, sizeof n->name, "%s", jstr(doc, "Name"));
  snprintf(n->driver, sizeof n->driver, "%s", jstr(doc, "Driver"));
  snprintf(n->bridge, sizeof n->bridge, "%s", jstr(doc, "ArcaBridge"));
  n->predefined = is_predefined_name(n->name);
  n->default_bridge = !strcmp(n->name, "bridge");
  n->internal = json_is_true(json_object_get(doc, "Internal"));
  n->ipv4 = !json_is_false(json_object_get(doc, "EnableIPv4"));
  n->ipv6 = json_is_true(json_object_get(doc, "EnableIPv6"));
  n->port_chain = json_is_true(json_object_get(doc, "ArcaPortChain"));
  parse_rfc3339(jstr(doc, "Created"), &n->created_ns);
  arca_err err;
  json_t *ipam = json_object_get(doc, "IPAM");
  if (parse_pools(json_object_get(ipam, "Config"), false, &n->pools, &n->npools, &err) < 0) {
    n->pools = NULL;
    n->npools = 0;
  }
  /* the user gave the subnets unless Arca chose them (recorded in ArcaAuto) */
  for (size_t i = 0; i < n->npools; i++) {
    char s[IP_PREFIX_STR_MAX];
    ip_prefix_format(&n->pools[i].subnet, s);
    const json_t *autos = json_object_get(doc, "ArcaAuto");
    bool chosen = false;
    size_t j;
    const json_t *a;
    json_array_foreach(autos, j, a) chosen |= !strcmp(json_string_value(a) ?: "", s);
    n->pools[i].user_subnet = !chosen && !n->predefined;
  }
  return n;
}

int network_save(engine *e, const network *n, arca_err *err) {
  json_object_set_new(n->doc, "ArcaPortChain", json_boolean(n->port_chain));
  autofree char *text = json_dumps(n->doc, JSON_COMPACT);
  return store_net_put(e->store, STORE_NETWORKS, n->id, n->name, text, err);
}

static json_t *endpoint_doc(const endpoint *ep) {
  char a4[IP_STR_MAX], a6[IP_STR_MAX], g4[IP_STR_MAX], g6[IP_STR_MAX];
  ip_format(&ep->ip4, a4);
  ip_format(&ep->ip6, a6);
  ip_format(&ep->gw4, g4);
  ip_format(&ep->gw6, g6);
  return json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:s,s:s,s:b,s:O,s:O}", "endpoint_id", ep->endpoint_id, "ifname",
                   ep->ifname, "ipv4", a4, "bits4", ep->bits4, "gateway4", g4, "ipv6", a6, "bits6", ep->bits6,
                   "gateway6", g6, "mac", ep->mac, "primary", ep->primary, "request",
                   ep->request ? ep->request : json_null(), "ports", ep->ports ? ep->ports : json_null());
}

void endpoint_save(engine *e, const endpoint *ep) {
  json_t *doc = endpoint_doc(ep);
  autofree char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  arca_err err;
  if (store_net_put(e->store, STORE_ENDPOINTS, ep->container_id, ep->network_id, text, &err) < 0)
    log_kv(LOG_WARN, "endpoint not persisted", "container", ep->container_id, "error", err.msg, NULL);
}

void endpoint_forget(engine *e, const endpoint *ep) {
  arca_err err;
  if (store_net_delete(e->store, STORE_ENDPOINTS, ep->container_id, ep->network_id, &err) < 0)
    log_kv(LOG_WARN, "endpoint record not removed", "container", ep->container_id, "error", err.msg, NULL);
}

static void load_network(void *ctx, const char *id, const char *name, const char *text) {
  engine *e = ctx;
  json_t *doc = json_loads(text, 0, NULL);
  if (!doc) {
    log_kv(LOG_WARN, "network record unreadable; ignored", "id", id, "name", name, NULL);
    return;
  }
  network *n = network_from_doc(doc);
  strmap_put(&NETS(e)->by_id, n->id, n);
}

static void load_endpoint(void *ctx, const char *cid, const char *nid, const char *text) {
  engine *e = ctx;
  json_t *doc = json_loads(text, 0, NULL);
  if (!doc) return;
  endpoint *ep = xcalloc(1, sizeof *ep);
  snprintf(ep->container_id, sizeof ep->container_id, "%s", cid);
  snprintf(ep->network_id, sizeof ep->network_id, "%s", nid);
  snprintf(ep->endpoint_id, sizeof ep->endpoint_id, "%s", jstr(doc, "endpoint_id"));
  snprintf(ep->ifname, sizeof ep->ifname, "%s", jstr(doc, "ifname"));
  snprintf(ep->mac, sizeof ep->mac, "%s", jstr(doc, "mac"));
  ip_parse(jstr(doc, "ipv4"), &ep->ip4);
  ip_parse(jstr(doc, "ipv6"), &ep->ip6);
  ip_parse(jstr(doc, "gateway4"), &ep->gw4);
  ip_parse(jstr(doc, "gateway6"), &ep->gw6);
  ep->bits4 = (int)json_integer_value(json_object_get(doc, "bits4"));
  ep->bits6 = (int)json_integer_value(json_object_get(doc, "bits6"));
  ep->primary = json_is_true(json_object_get(doc, "primary"));
  json_t *req = json_object_get(doc, "request");
  ep->request = json_is_object(req) ? json_incref(req) : NULL;
  json_t *ports = json_object_get(doc, "ports");
  ep->ports = json_is_object(ports) ? json_incref(ports) : NULL;
  json_decref(doc);
  ep->next = NETS(e)->endpoints;
  NETS(e)->endpoints = ep;
}

/* ---- lookups ---- */

network *network_by_name_locked(networks_state *ns, const char *name) {
  size_t i = 0;
  void *v;
  while (strmap_next(&ns->by_id, &i, NULL, &v))
    if (!strcmp(((network *)v)->name, name)) return v;
  return NULL;
}

network *network_find_locked(networks_state *ns, const char *term, arca_err *err) {
  if (!term) term = "";
  network *n = strmap_get(&ns->by_id, term);
  if (n) return n;
  n = network_by_name_locked(ns, term);
  if (n) return n;
  size_t len = strlen(term), i = 0, matches = 0;
  network *found = NULL;
  void *v;
  if (len > 0)
    while (strmap_next(&ns->by_id, &i, NULL, &v)) {
      if (strncmp(((network *)v)->id, term, len)) continue;
      found = v;
      matches++;
    }
  if (matches == 1) return found;
  if (matches > 1) {
    err_set(err, 400, "network %s is ambiguous (%zu matches found based on ID prefix)", term, matches);
    return NULL;
  }
  err_set(err, 404, "network %s not found", term);
  return NULL;
}

void network_used_addrs_locked(networks_state *ns, const network *n, ip_addr **out, size_t *nout) {
  size_t cap = 8, k = 0;
  ip_addr *v = xmalloc(cap * sizeof *v);
#define PUSH(a)                                                                                                        \
  do {                                                                                                                 \
    if (k == cap) v = xrealloc(v, (cap *= 2) * sizeof *v);                                                             \
    v[k++] = (a);                                                                                                      \
  } while (0)
  for (size_t i = 0; i < n->npools; i++) {
    PUSH(n->pools[i].gateway);
    for (size_t j = 0; j < n->pools[i].naux; j++) PUSH(n->pools[i].aux[j]);
  }
  for (endpoint *ep = ns->endpoints; ep; ep = ep->next) {
    if (strcmp(ep->network_id, n->id)) continue;
    if (ep->ip4.family) PUSH(ep->ip4);
    if (ep->ip6.family) PUSH(ep->ip6);
  }
#undef PUSH
  *out = v;
  *nout = k;
}

size_t endpoints_on_locked(networks_state *ns, const char *network_id) {
  size_t k = 0;
  for (endpoint *ep = ns->endpoints; ep; ep = ep->next) k += !strcmp(ep->network_id, network_id);
  return k;
}

void network_event(engine *e, const network *n, const char *action, const char *container_id) {
  json_t *attrs = json_pack("{s:s,s:s}", "name", n->name, "type", n->driver);
  if (container_id) json_object_set_new(attrs, "container", json_string(container_id));
  events_publish(e->events, "network", action, n->id, attrs);
}

/* ---- predefined networks and address pools ---- */

static void collect_taken(networks_state *ns, ip_prefix **taken, size_t *ntaken, bool host) {
  size_t i = 0;
  void *v;
  while (strmap_next(&ns->by_id, &i, NULL, &v)) {
    network *n = v;
    for (size_t j = 0; j < n->npools; j++) {
      *taken = xrealloc(*taken, (*ntaken + 1) * sizeof **taken);
      (*taken)[(*ntaken)++] = n->pools[j].subnet;
    }
  }
  if (host) ipam_host_reserved(taken, ntaken, NULL);
}

static bool pick_subnet_locked(networks_state *ns, int family, ip_prefix *out) {
  ip_prefix *taken = NULL;
  size_t ntaken = 0;
  collect_taken(ns, &taken, &ntaken, true);
  ipam_pool *pools = xcalloc(ns->npools + 1, sizeof *pools);
  size_t np = 0;
  for (size_t i = 0; i < ns->npools; i++)
    if (ns->pools[i].base.addr.family == family) pools[np++] = ns->pools[i];
  bool ok = ipam_pick_subnet(pools, np, taken, ntaken, out);
  free(pools);
  free(taken);
  return ok;
}

static ip_addr *family_cursor(network *n, int family) { return family == 4 ? &n->cursor4 : &n->cursor6; }

static json_t *predefined_doc(const char *name, const char *driver, const char *id) {
  char created[64];
  format_rfc3339nano(now_ns(), created, sizeof created);
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:{s:s,s:n,s:[]},s:b,s:b,s:b,s:{s:s},s:b,s:{},s:{}}", "Name", name,
                   "Id", id, "Created", created, "Scope", "local", "Driver", driver, "EnableIPv4", 1, "EnableIPv6", 0,
                   "IPAM", "Driver", "default", "Options", "Config", "Internal", 0, "Attachable", 0, "Ingress", 0,
                   "ConfigFrom", "Network", "", "ConfigOnly", 0, "Options", "Labels");
}

static int ensure_predefined_locked(engine *e, arca_err *err) {
  networks_state *ns = NETS(e);
  static const char *const names[][2] = {{"bridge", "bridge"}, {"host", "host"}, {"none", "null"}};
  for (size_t i = 0; i < ARRAY_LEN(names); i++) {
    if (network_by_name_locked(ns, names[i][0])) continue;
    char id[65];
    new_hex_id(id);
    json_t *doc = predefined_doc(names[i][0], names[i][1], id);
    if (!strcmp(names[i][0], "bridge")) {
      ip_prefix subnet;
      if (!pick_subnet_locked(ns, 4, &subnet)) {
        json_decref(doc);
        return err_set(err, 500, "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the default bridge network");
      }
      char s[IP_PREFIX_STR_MAX], g[IP_STR_MAX];
      ip_prefix_format(&subnet, s);
      ip_addr gw = ip_add(&subnet.addr, 1);
      ip_format(&gw, g);
      json_array_append_new(json_object_get(json_object_get(doc, "IPAM"), "Config"),
                            json_pack("{s:s,s:s}", "Subnet", s, "Gateway", g));
      json_object_set_new(doc, "Options",
                          json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "com.docker.network.bridge.default_bridge", "true",
                                    "com.docker.network.bridge.enable_icc", "true",
                                    "com.docker.network.bridge.enable_ip_masquerade", "true",
                                    "com.docker.network.bridge.host_binding_ipv4", "0.0.0.0",
                                    "com.docker.network.bridge.name", ns->default_bridge_if,
                                    "com.docker.network.driver.mtu", "1500"));
      json_object_set_new(doc, "ArcaBridge", json_string(ns->default_bridge_if));
    }
    network *n = network_from_doc(doc);
    if (network_save(e, n, err) < 0) {
      network_free(n);
      return -1;
    }
    strmap_put(&ns->by_id, n->id, n);
  }
  return 0;
}

void network_check_subnets_locked(engine *e, network *n) {
  networks_state *ns = NETS(e);
  if (strcmp(n->driver, "bridge") || endpoints_on_locked(ns, n->id) > 0) return;
  ip_prefix *host = NULL;
  size_t nhost = 0;
  ipam_host_reserved(&host, &nhost, n->default_bridge ? ns->default_bridge_if : n->bridge);
  bool changed = false;
  for (size_t i = 0; i < n->npools; i++) {
    net_pool *p = &n->pools[i];
    if (p->user_subnet) continue; /* the user's choice stands, as in Docker */
    bool clash = false;
    for (size_t j = 0; j < nhost && !clash; j++) clash = ip_prefix_overlaps(&host[j], &p->subnet);
    if (!clash) continue;
    ip_prefix fresh;
    char old_s[IP_PREFIX_STR_MAX], new_s[IP_PREFIX_STR_MAX], gw_s[IP_STR_MAX];
    ip_prefix_format(&p->subnet, old_s);
    if (!pick_subnet_locked(ns, p->subnet.addr.family, &fresh)) {
      log_kv(LOG_WARN, "network subnet is routed elsewhere on this host and no other is free", "network", n->name,
             "subnet", old_s, NULL);
      continue;
    }
    p->subnet = fresh;
    p->gateway = ip_add(&fresh.addr, 1);
    p->has_range = false;
    ip_prefix_format(&fresh, new_s);
    ip_format(&p->gateway, gw_s);
    size_t k;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(n->doc, "IPAM"), "Config"), k, c) {
      if (strcmp(jstr(c, "Subnet"), old_s)) continue;
      json_object_set_new(c, "Subnet", json_string(new_s));
      json_object_set_new(c, "Gateway", json_string(gw_s));
    }
    json_array_foreach(json_object_get(n->doc, "ArcaAuto"), k, c) {
      if (!strcmp(json_string_value(c) ?: "", old_s)) json_array_set_new(json_object_get(n->doc, "ArcaAuto"), k, json_string(new_s));
    }
    memset(family_cursor(n, fresh.addr.family), 0, sizeof(ip_addr));
    log_kv(LOG_INFO, "network subnet taken on this host meanwhile: moved", "network", n->name, "from", old_s, "to",
           new_s, NULL);
    changed = true;
  }
  free(host);
  arca_err err;
  if (changed && network_save(e, n, &err) < 0)
    log_kv(LOG_WARN, "network record not saved", "network", n->name, "error", err.msg, NULL);
}

/* A stable IPv6 ULA /48 of this daemon (RFC 4193 global ID from the engine ID), in /64s. */
static void ula_pool(const char *engine_id, ipam_pool *out) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const char *c = engine_id; *c; c++) h = (h ^ (uint8_t)*c) * 1099511628211ull;
  memset(out, 0, sizeof *out);
  out->base.addr.family = 6;
  out->base.addr.b[0] = 0xfd;
  for (int i = 1; i < 6; i++) out->base.addr.b[i] = (uint8_t)(h >> (8 * (i - 1)));
  out->base.bits = 48;
  out->size = 64;
}

int networks_open(engine *e, arca_err *err) {
  networks_state *ns = xcalloc(1, sizeof *ns);
  pthread_mutex_init(&ns->lock, NULL);
  strmap_init(&ns->by_id);
  e->networks = ns;
  ns->pools = xcalloc(e->cfg.n_address_pools + 1, sizeof *ns->pools);
  for (size_t i = 0; i < e->cfg.n_address_pools; i++) {
    ipam_pool p;
    if (!ip_prefix_parse(e->cfg.address_pools[i].base, &p.base)) {
      log_kv(LOG_WARN, "default-address-pools: base ignored", "base", e->cfg.address_pools[i].base, NULL);
      continue;
    }
    p.size = e->cfg.address_pools[i].size;
    ns->pools[ns->npools++] = p;
  }
  ula_pool(e->id, &ns->pools[ns->npools++]);
  /* The default bridge: "arca0" for the default data root; another daemon on the same host
   * (tests, a second data root) gets a name of its own. */
  if (!strcmp(e->cfg.data_root, ARCA_DEFAULT_DATA_ROOT))
    snprintf(ns->default_bridge_if, sizeof ns->default_bridge_if, "arca0");
  else
    snprintf(ns->default_bridge_if, sizeof ns->default_bridge_if, "arca%.6s", e->id);
  networks_lock_write(ns);
  int rc = store_net_load(e->store, STORE_NETWORKS, load_network, e, err);
  if (rc == 0) rc = store_net_load(e->store, STORE_ENDPOINTS, load_endpoint, e, err);
  if (rc == 0) rc = ensure_predefined_locked(e, err);
  if (rc == 0)
    for (endpoint *ep = ns->endpoints; ep; ep = ep->next) ports_rebind_locked(ep);
  pthread_mutex_unlock(&ns->lock);
  return rc;
}

void networks_release_all(engine *e, bool idle_only) {
  networks_state *ns = NETS(e);
  if (!ns) return;
  networks_lock_write(ns);
  size_t i = 0;
  void *v;
  while (strmap_next(&ns->by_id, &i, NULL, &v)) {
    network *n = v;
    if (!idle_only || endpoints_on_locked(ns, n->id) == 0) network_release_locked(e, n);
  }
  pthread_mutex_unlock(&ns->lock);
}

void networks_close(engine *e) {
  networks_state *ns = NETS(e);
  if (!ns) return;
  size_t i = 0;
  void *v;
  while (strmap_next(&ns->by_id, &i, NULL, &v)) network_free(v);
  strmap_free(&ns->by_id);
  while (ns->endpoints) {
    endpoint *ep = ns->endpoints;
    ns->endpoints = ep->next;
    endpoint_free(ep);
  }
  free(ns->pools);
  pthread_mutex_destroy(&ns->lock);
  free(ns);
  e->networks = NULL;
}

/* ---- create ---- */

static bool opt_bool(const json_t *opts, const char *key, bool def, bool *bad) {
  const char *s = json_string_value(json_object_get(opts, key));
  if (!s) return def;
  if (!strcmp(s, "1") || !strcasecmp(s, "t") || !strcasecmp(s, "true")) return true;
  if (!strcmp(s, "0") || !strcasecmp(s, "f") || !strcasecmp(s, "false")) return false;
  *bad = true;
  return def;
}

/* api/types/network ValidateIPAM: every problem, joined as Go's errors.Join prints them. */
static int validate_ipam(const json_t *config, bool ipv6, arca_err *err) {
  strbuf sb;
  sb_init(&sb);
  int nerr = 0;
#define ADD(...) (sb_printf(&sb, "%s", nerr ? "\n* " : ""), sb_printf(&sb, __VA_ARGS__), nerr++)
  size_t i;
  const json_t *c;
  json_array_foreach(config, i, c) {
    ip_prefix subnet;
    const char *s = jstr(c, "Subnet");
    if (!ip_prefix_parse(s, &subnet)) {
      ADD("invalid subnet %s: invalid CIDR block notation", s);
      continue;
    }
    int fam = subnet.addr.family;
    const char *famname = fam == 4 ? "IPv4" : "IPv6";
    if (!ipv6 && fam == 6) continue;
    if (!ip_prefix_is_masked(&subnet)) {
      ip_prefix m = ip_prefix_masked(&subnet);
      char a[IP_PREFIX_STR_MAX], b[IP_PREFIX_STR_MAX];
      ip_prefix_format(&subnet, a);
      ip_prefix_format(&m, b);
      ADD("invalid subnet %s: it should be %s", a, b);
    }
    char sn[IP_PREFIX_STR_MAX];
    ip_prefix_format(&subnet, sn);
    const char *r = jstr(c, "IPRange");
    if (*r) {
      ip_prefix range;
      if (!ip_prefix_parse(r, &range)) ADD("invalid ip-range %s: invalid CIDR block notation", r);
      else if (range.addr.family != fam) ADD("invalid ip-range %s: parent subnet is an %s block", r, famname);
      else {
        if (range.bits < subnet.bits) ADD("invalid ip-range %s: CIDR block is bigger than its parent subnet %s", r, sn);
        if (!ip_prefix_is_masked(&range)) {
          ip_prefix m = ip_prefix_masked(&range);
          char a[IP_PREFIX_STR_MAX], b[IP_PREFIX_STR_MAX];
          ip_prefix_format(&range, a);
          ip_prefix_format(&m, b);
          ADD("invalid ip-range %s: it should be %s", a, b);
        }
        if (!ip_prefix_overlaps(&subnet, &range))
          ADD("invalid ip-range %s: parent subnet %s doesn't contain ip-range", r, sn);
      }
    }
    const char *g = jstr(c, "Gateway");
    if (*g) {
      ip_addr a;
      if (!ip_parse(g, &a)) ADD("invalid gateway %s: invalid address", g);
      else if (a.family != fam) ADD("invalid gateway %s: parent subnet is an %s block", g, famname);
      else if (!ip_prefix_contains(&subnet, &a)) ADD("invalid gateway %s: parent subnet %s doesn't contain this address", g, sn);
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)json_object_get(c, "AuxiliaryAddresses"), k, v) {
      const char *x = json_string_value(v) ? json_string_value(v) : "";
      ip_addr a;
      if (!ip_parse(x, &a)) ADD("invalid auxiliary address %s: invalid address", k);
      else if (a.family != fam) ADD("invalid auxiliary address %s: parent subnet is an %s block", k, famname);
      else if (!ip_prefix_contains(&subnet, &a))
        ADD("invalid auxiliary address %s: parent subnet %s doesn't contain this address", k, sn);
    }
  }
#undef ADD
  int rc = 0;
  if (nerr) rc = err_set(err, 400, "invalid network config:\n%s%s", nerr > 1 ? "* " : "", sb.buf);
  sb_free(&sb);
  return rc;
}

/* The IPAM.Config to record: the user's entries (IPv6 ones only with IPv6 on), gateways
 * filled in, and a subnet of the pools for each family that has none. */
static int build_ipam_config_locked(networks_state *ns, const json_t *given, bool ipv4, bool ipv6, json_t **config,
                                    json_t **autos, arca_err *err) {
  json_t *out = json_array();
  json_t *chosen = json_array();
  bool have4 = false, have6 = false;
  size_t i;
  const json_t *c;
  ip_prefix *taken = NULL;
  size_t ntaken = 0;
  collect_taken(ns, &taken, &ntaken, false);
  int rc = 0;
  json_array_foreach(given, i, c) {
    ip_prefix subnet;
    if (!ip_prefix_parse(jstr(c, "Subnet"), &subnet)) {
      if (!*jstr(c, "Subnet")) continue; /* an entry with only options: nothing to allocate */
      continue;
    }
    if (subnet.addr.family == 6 && !ipv6) continue;
    if (subnet.addr.family == 4 && !ipv4) continue;
    for (size_t t = 0; t < ntaken; t++)
      if (ip_prefix_overlaps(&subnet, &taken[t])) {
        rc = err_set(err, 403, "invalid pool request: Pool overlaps with other one on this address space");
        goto out;
      }
    taken = xrealloc(taken, (ntaken + 1) * sizeof *taken);
    taken[ntaken++] = subnet;
    json_t *entry = json_deep_copy(c);
    if (!*jstr(c, "Gateway")) {
      ip_addr gw = ip_add(&subnet.addr, 1);
      char g[IP_STR_MAX];
      ip_format(&gw, g);
      json_object_set_new(entry, "Gateway", json_string(g));
    }
    json_array_append_new(out, entry);
    if (subnet.addr.family == 4) have4 = true;
    else have6 = true;
  }
  for (int fam = 4; fam <= 6; fam += 2) {
    if ((fam == 4 && (!ipv4 || have4)) || (fam == 6 && (!ipv6 || have6))) continue;
    ip_prefix subnet;
    if (!pick_subnet_locked(ns, fam, &subnet)) {
      rc = err_set(err, 400, "all predefined address pools have been fully subnetted");
      goto out;
    }
    char s[IP_PREFIX_STR_MAX], g[IP_STR_MAX];
    ip_prefix_format(&subnet, s);
    ip_addr gw = ip_add(&subnet.addr, 1);
    ip_format(&gw, g);
    json_array_append_new(out, json_pack("{s:s,s:s}", "Subnet", s, "Gateway", g));
    json_array_append_new(chosen, json_string(s));
  }
out:
  free(taken);
  if (rc < 0) {
    json_decref(out);
    json_decref(chosen);
    return -1;
  }
  *config = out;
  *autos = chosen;
  return 0;
}

static int create_locked(engine *e, const json_t *body, const char *name, const char *ipam_driver, bool ipv4,
                         bool ipv6, json_t **out, arca_err *err) {
  networks_state *ns = NETS(e);
  const json_t *ipam = json_object_get(body, "IPAM");
  const json_t *opts = json_object_get(body, "Options");
  if (network_by_name_locked(ns, name)) return err_set(err, 409, "network with name %s already exists", name);
  json_t *config = NULL, *autos = NULL;
  if (build_ipam_config_locked(ns, json_object_get(ipam, "Config"), ipv4, ipv6, &config, &autos, err) < 0) return -1;
  char id[65];
  do new_hex_id(id);
  while (strmap_get(&ns->by_id, id));
  char created[64];
  format_rfc3339nano(now_ns(), created, sizeof created);
  const json_t *labels = json_object_get(body, "Labels");
  const json_t *ipam_opts = json_object_get(ipam, "Options");
  const char *bridge_name = json_string_value(json_object_get(opts, "com.docker.network.bridge.name"));
  char bridge[16];
  if (bridge_name && *bridge_name) snprintf(bridge, sizeof bridge, "%s", bridge_name);
  else snprintf(bridge, sizeof bridge, "br-%.12s", id);
  json_t *doc = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:{s:s,s:o,s:o},s:b,s:b,s:b,s:{s:s},s:b,s:o,s:o,s:s,s:o}", "Name", name, "Id", id,
      "Created", created, "Scope", "local", "Driver", "bridge", "EnableIPv4", ipv4, "EnableIPv6", ipv6, "IPAM", "Driver",
      ipam_driver, "Options", json_is_object(ipam_opts) ? json_deep_copy(ipam_opts) : json_object(), "Config", config,
      "Internal", json_is_true(json_object_get(body, "Internal")), "Attachable",
      json_is_true(json_object_get(body, "Attachable")), "Ingress", json_is_true(json_object_get(body, "Ingress")),
      "ConfigFrom", "Network", "", "ConfigOnly", json_is_true(json_object_get(body, "ConfigOnly")), "Options",
      json_is_object(opts) ? json_deep_copy(opts) : json_object(), "Labels",
      json_is_object(labels) ? json_deep_copy(labels) : json_object(), "ArcaBridge", bridge, "ArcaAuto", autos);
  network *n = network_from_doc(doc);
  if (network_save(e, n, err) < 0) {
    network_free(n);
    return -1;
  }
  strmap_put(&ns->by_id, n->id, n);
  *out = json_pack("{s:s,s:s}", "Id", n->id, "Warning", "");
  network_event(e, n, "create", NULL);
  return 0;
}

int network_create(engine *e, const json_t *body, int api_minor, json_t **out, arca_err *err) {
  networks_state *ns = NETS(e);
  if (!json_is_object(body)) return err_set(err, 400, "invalid JSON: expected a network create request");
  const char *name = jstr(body, "Name");
  if (is_predefined_name(name)) return err_set(err, 403, "operation is not permitted on predefined %s network ", name);
  const char *driver = *jstr(body, "Driver") ? jstr(body, "Driver") : "bridge";
  if (!strcmp(driver, "overlay"))
    return err_set(err, 403, "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.");
  const json_t *opts = json_object_get(body, "Options");
  bool bad = false;
  bool ipv4 = true, ipv6 = false;
  const json_t *e4 = json_object_get(body, "EnableIPv4"), *e6 = json_object_get(body, "EnableIPv6");
  if (api_minor >= 48 && json_is_boolean(e4)) ipv4 = json_is_true(e4);
  else {
    ipv4 = opt_bool(opts, "com.docker.network.enable_ipv4", true, &bad);
    if (bad) return err_set(err, 400, "driver-opt \"com.docker.network.enable_ipv4\" is not a valid bool");
  }
  if (json_is_boolean(e6)) ipv6 = json_is_true(e6);
  else {
    ipv6 = opt_bool(opts, "com.docker.network.enable_ipv6", false, &bad);
    if (bad) return err_set(err, 400, "driver-opt \"com.docker.network.enable_ipv6\" is not a valid bool");
  }
  const json_t *ipam = json_object_get(body, "IPAM");
  const json_t *given = json_object_get(ipam, "Config");
  if (validate_ipam(given, ipv6, err) < 0) return -1;
  if (!name[strspn(name, " \t\r\n\v\f")]) return err_set(err, 400, "invalid name: name is empty");
  if (!strcmp(driver, "host") || !strcmp(driver, "null"))
    return err_set(err, 403, "only one instance of \"%s\" network is allowed", driver);
  if (strcmp(driver, "bridge") != 0)
    return err_set(err, 404, "could not find plugin %s in v1 plugin registry: plugin not found", driver);
  const char *ipam_driver = *jstr(ipam, "Driver") ? jstr(ipam, "Driver") : "default";
  if (strcmp(ipam_driver, "default") != 0)
    return err_set(err, 404, "could not find plugin %s in v1 plugin registry: plugin not found", ipam_driver);
  if (!ipv4 && !ipv6) return err_set(err, 400, "IPv4 or IPv6 must be enabled");

  const char *bridge_name = json_string_value(json_object_get(opts, "com.docker.network.bridge.name"));
  if (bridge_name && strlen(bridge_name) > 15)
    return err_set(err, 400, "bridge name %s is too long: interface names have at most 15 characters", bridge_name);
  networks_lock_write(ns);
  int rc = create_locked(e, body, name, ipam_driver, ipv4, ipv6, out, err);
  pthread_mutex_unlock(&ns->lock);
  return rc;
}

/* ---- inspect, list ---- */

typedef struct member {
  char container_id[65];
  json_t *info; /* {EndpointID, MacAddress, IPv4Address, IPv6Address} */
} member;

static void members_locked(networks_state *ns, const network *n, member **out, size_t *nout) {
  *out = NULL;
  *nout = 0;
  for (endpoint *ep = ns->endpoints; ep; ep = ep->next) {
    if (strcmp(ep->network_id, n->id)) continue;
    char a4[IP_STR_MAX] = "", a6[IP_STR_MAX] = "";
    if (ep->ip4.family) {
      ip_format(&ep->ip4, a4);
      snprintf(a4 + strlen(a4), sizeof a4 - strlen(a4), "/%d", ep->bits4);
    }
    if (ep->ip6.family) {
      ip_format(&ep->ip6, a6);
      snprintf(a6 + strlen(a6), sizeof a6 - strlen(a6), "/%d", ep->bits6);
    }
    *out = xrealloc(*out, (*nout + 1) * sizeof **out);
    member *m = &(*out)[(*nout)++];
    snprintf(m->container_id, sizeof m->container_id, "%s", ep->container_id);
    m->info = json_pack("{s:s,s:s,s:s,s:s}", "EndpointID", ep->endpoint_id, "MacAddress", ep->mac, "IPv4Address", a4,
                        "IPv6Address", a6);
  }
}

/* Containers map: container names are looked up with the networks lock released. */
static json_t *containers_map(engine *e, member *m, size_t n) {
  json_t *map = json_object();
  for (size_t i = 0; i < n; i++) {
    container *c;
    arca_err err;
    if (container_get(e, m[i].container_id, &c, &err) == 0) {
      pthread_mutex_lock(&c->lock);
      json_object_set_new(m[i].info, "Name", json_string(c->name));
      pthread_mutex_unlock(&c->lock);
      container_put(e, c);
      json_object_set(map, m[i].container_id, m[i].info);
    }
    json_decref(m[i].info);
  }
  free(m);
  return map;
}

static json_t *public_doc(const network *n) {
  json_t *doc = json_deep_copy(n->doc);
  json_object_del(doc, "ArcaBridge");
  json_object_del(doc, "ArcaAuto");
  json_object_del(doc, "ArcaPortChain");
  return doc;
}

int network_inspect_json(engine *e, const char *term, json_t **out, arca_err *err) {
  networks_state *ns = NETS(e);
  networks_lock_write(ns);
  network *n = network_find_locked(ns, term, err);
  if (!n) {
    pthread_mutex_unlock(&ns->lock);
    return -1;
  }
  json_t *doc = public_doc(n);
  member *m;
  size_t nm;
  members_locked(ns, n, &m, &nm);
  pthread_mutex_unlock(&ns->lock);
  json_object_set_new(doc, "Containers", containers_map(e, m, nm));
  *out = doc;
  return 0;
}

static bool include_network(const filters *f, const network *n, bool in_use) {
  if (filters_contains(f, "driver") && !filters_exact_match(f, "driver", n->driver)) return false;
  if (filters_contains(f, "name") && !filters_regex_match(f, "name", n->name)) return false;
  if (filters_contains(f, "id") && !filters_regex_match(f, "id", n->id)) return false;
  if (filters_contains(f, "label") && !filters_match_labels(f, "label", json_object_get(n->doc, "Labels")))
    return false;
  if (filters_contains(f, "scope") && !filters_exact_match(f, "scope", "local")) return false;
  if (filters_has(f, "dangling")) {
    const char *v = filters_value(f, "dangling", 0);
    bool dangling_only = !strcmp(v, "1") || !strcmp(v, "true");
    bool keep = dangling_only ? (!n->predefined && !in_use) : (n->predefined || in_use);
    if (!keep) return false;
  }
  if (filters_has(f, "type")) {
    bool any = false;
    for (size_t i = 0; i < filters_count(f, "type"); i++) {
      const char *t = filters_value(f, "type", i);
      if (!strcmp(t, "builtin")) any |= n->predefined;
      else if (!strcmp(t, "custom")) any |= !n->predefined;
    }
    if (!any) return false;
  }
  return true;
}

int networks_list_json(engine *e, const char *filters_json, json_t **out, arca_err *err) {
  static const char *const accepted[] = {"dangling", "driver", "id", "label", "name", "scope", "type", NULL};
  networks_state *ns = NETS(e);
  filters *f;
  if (filters_parse(filters_json, &f, err) < 0) return -1;
  int rc = filters_validate(f, accepted, err);
  if (rc == 0 && filters_has(f, "dangling")) {
    const char *v = filters_value(f, "dangling", 0);
    if (filters_count(f, "dangling") > 1)
      rc = err_set(err, 400, "got more than one value for filter key \"dangling\"");
    else if (strcmp(v, "0") && strcmp(v, "1") && strcmp(v, "true") && strcmp(v, "false"))
      rc = err_set(err, 400, "invalid value for filter 'dangling', must be \"true\" (or \"1\"), or \"false\" (or \"0\")");
  }
  for (size_t i = 0; rc == 0 && i < filters_count(f, "type"); i++) {
    const char *t = filters_value(f, "type", i);
    if (strcmp(t, "builtin") && strcmp(t, "custom")) rc = err_set(err, 400, "invalid filter: 'type'='%s'", t);
  }
  if (rc < 0) {
    filters_free(f);
    return -1;
  }
  json_t *list = json_array();
  networks_lock_write(ns);
  size_t i = 0;
  void *v;
  while (strmap_next(&ns->by_id, &i, NULL, &v)) {
    network *n = v;
    if (!include_network(f, n, endpoints_on_locked(ns, n->id) > 0)) continue;
    json_t *doc = public_doc(n);
    json_object_set_new(doc, "Containers", json_object());
    json_array_append_new(list, doc);
  }
  pthread_mutex_unlock(&ns->lock);
  filters_free(f);
  *out = list;
  return 0;
}

/* ---- remove, prune ---- */

static int remove_locked(engine *e, network *n, arca_err *err) {
  networks_state *ns = NETS(e);
  if (n->predefined) return err_set(err, 403, "%s is a pre-defined network and cannot be removed", n->name);
  if (endpoints_on_locked(ns, n->id) > 0) {
    strbuf sb;
    sb_init(&sb);
    for (endpoint *ep = ns->endpoints; ep; ep = ep->next) {
      if (strcmp(ep->network_id, n->id)) continue;
      if (sb.len) sb_puts(&sb, ", ");
      sb_printf(&sb, "id:\"%.12s\"", ep->endpoint_id);
    }
    err_set(err, 403, "error while removing network: network %s has active endpoints (%s)", n->name, sb.buf);
    sb_free(&sb);
    return -1;
  }
  network_release_locked(e, n);
  if (store_net_delete(e->store, STORE_NETWORKS, n->id, NULL, err) < 0) return -1;
  strmap_del(&ns->by_id, n->id);
  network_event(e, n, "destroy", NULL);
  network_free(n);
  return 0;
}

int network_remove(engine *e, const char *term, arca_err *err) {
  networks_state *ns = NETS(e);
  networks_lock_write(ns);
  network *n = network_find_locked(ns, term, err);
  int rc = n ? remove_locked(e, n, err) : -1;
  pthread_mutex_unlock(&ns->lock);
  return rc;
}

int networks_prune(engine *e, const char *filters_json, json_t **out, arca_err *err) {
  static const char *const accepted[] = {"until", "label", "label!", NULL};
  networks_state *ns = NETS(e);
  filters *f;
  if (filters_parse(filters_json, &f, err) < 0) return -1;
  int64_t until = 0;
  if (filters_validate(f, accepted, err) < 0 ||
      (filters_has(f, "until") && parse_docker_time(filters_value(f, "until", 0), now_ns(), &until, err) < 0)) {
    filters_free(f);
    return -1;
  }
  json_t *deleted = json_array();
  networks_lock_write(ns);
  bool again = true;
  while (again) {
    again = false;
    size_t i = 0;
    void *v;
    while (strmap_next(&ns->by_id, &i, NULL, &v)) {
      network *n = v;
      if (n->predefined || endpoints_on_locked(ns, n->id) > 0) continue;
      if (until && n->created_ns >= until) continue;
      if (!filters_match_label_rules(f, json_object_get(n->doc, "Labels"))) continue;
      char name[256];
      snprintf(name, sizeof name, "%s", n->name);
      arca_err rerr;
      if (remove_locked(e, n, &rerr) == 0) {
        json_array_append_new(deleted, json_string(name));
        again = true; /* the map changed under the iteration */
        break;
      }
    }
  }
  pthread_mutex_unlock(&ns->lock);
  filters_free(f);
  events_publish(e->events, "network", "prune", "", json_pack("{s:s}", "reclaimed", "0"));
  if (!json_array_size(deleted)) {
    json_decref(deleted);
    deleted = json_null();
  }
  *out = json_pack("{s:o}", "NetworksDeleted", deleted);
  return 0;
}

/* ---- connect, disconnect ---- */

int network_connect(engine *e, const char *term, const json_t *body, arca_err *err) {
  networks_state *ns = NETS(e);
  const char *cname = jstr(body, "Container");
  const json_t *epcfg = json_object_get(body, "EndpointConfig");
  container *c;
  if (container_get(e, cname, &c, err) < 0) return -1;
  pthread_mutex_lock(&c->lock);
  int rc = 0;
  networks_lock_write(ns);
  network *n = network_find_locked(ns, term, err);
  char net_name[256] = "", net_id[65] = "";
  if (n) {
    snprintf(net_name, sizeof net_name, "%s", n->name);
    snprintf(net_id, sizeof net_id, "%s", n->id);
  }
  pthread_mutex_unlock(&ns->lock);
  if (!n) rc = -1;
  else if (c->removal_in_progress || c->state == CS_DEAD || c->state == CS_REMOVING)
    rc = err_set(err, 400, "Container %s is marked for removal and cannot be connected or disconnected to the network",
                 c->id);
  if (rc == 0) rc = networks_connect_config_locked(e, c, net_name, epcfg, err);
  if (rc == 0 && container_is_running(c) && c->state != CS_RESTARTING) {
    networks_lock_write(ns);
    n = strmap_get(&ns->by_id, net_id);
    if (!n) rc = err_set(err, 404, "network %s not found", term);
    else {
      json_t *cfg = json_object_get(json_object_get(c->networking, "EndpointsConfig"), net_name);
      rc = network_attach_one(e, c, n, cfg, false, err);
    }
    pthread_mutex_unlock(&ns->lock);
    if (rc < 0) networks_forget_config_locked(c, net_name);
    else networks_refresh_hosts_locked(e, c);
  }
  if (rc == 0) container_save(e, c, NULL);
  pthread_mutex_unlock(&c->lock);
  container_put(e, c);
  return rc;
}

int network_disconnect(engine *e, const char *term, const json_t *body, arca_err *err) {
  networks_state *ns = NETS(e);
  const char *cname = jstr(body, "Container");
  bool force = json_is_true(json_object_get(body, "Force"));
  container *c;
  if (container_get(e, cname, &c, err) < 0) return -1;
  pthread_mutex_lock(&c->lock);
  int rc = 0;
  networks_lock_write(ns);
  network *n = network_find_locked(ns, term, err);
  char net_name[256];
  snprintf(net_name, sizeof net_name, "%s", n ? n->name : term);
  if (!n && !force) rc = -1;
  if (rc == 0 && (c->removal_in_progress || c->state == CS_DEAD || c->state == CS_REMOVING))
    rc = err_set(err, 400, "Container %s is marked for removal and cannot be connected or disconnected to the network",
                 c->id);
  const char *mode = json_string_value(json_object_get(c->host_config, "NetworkMode"));
  if (rc == 0 && n && mode && !strcmp(mode, "host") && !strcmp(n->driver, "host"))
    rc = err_set(err, 400, "cannot disconnect container from host network - container was created in host network mode");
  json_t *eps = json_object_get(c->networking, "EndpointsConfig");
  if (rc == 0 && !json_object_get(eps, net_name)) {
    if (container_is_running(c))
      rc = err_set(err, 403, "container %s is not connected to network %s", c->id, net_name);
    else
      rc = err_set(err, 400, "container %s is not connected to the network %s", c->id, net_name);
  }
  if (rc == 0 && n) {
    endpoint *ep = endpoint_of_locked(ns, c->id, n->id);
    if (ep) network_detach_one_locked(e, ep, true);
  }
  pthread_mutex_unlock(&ns->lock);
  if (rc == 0) {
    networks_forget_config_locked(c, net_name);
    if (container_is_running(c)) networks_refresh_hosts_locked(e, c);
    container_save(e, c, NULL);
  }
  pthread_mutex_unlock(&c->lock);
  container_put(e, c);
  return rc;
}
