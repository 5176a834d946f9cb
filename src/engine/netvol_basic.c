/* Networks and volumes as containers need them before the networks and volumes module
 * exists: no network attachment (the sandbox has its own namespace with loopback), and
 * named volumes as plain directories of the local driver. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "engine/container_internal.h"
#include "engine/engine.h"

json_t *container_network_settings(engine *e, const container *c, bool summary);
json_t *container_ports_summary(engine *e, const container *c);
bool container_on_network(engine *e, const container *c, const char *network);

int networks_attach_container(engine *e, container *c, arca_err *err) {
  (void)e;
  (void)c;
  (void)err;
  return 0;
}

void networks_detach_container(engine *e, container *c) {
  (void)e;
  (void)c;
}

int volume_mount_for(engine *e, container *c, const char *name, const char *dest, bool read_only, rt_mount **mounts,
                     size_t *n, arca_err *err) {
  (void)c;
  char anon[65];
  if (!name || !*name) {
    random_hex(anon, 32);
    name = anon;
  }
  char *dir = xasprintf("%s/volumes/%s/_data", e->cfg.data_root, name);
  if (mkdir_p(dir, 0755, err) < 0) {
    free(dir);
    return -1;
  }
  *mounts = xrealloc(*mounts, (*n + 1) * sizeof **mounts);
  rt_mount *m = &(*mounts)[(*n)++];
  m->type = xstrdup("bind");
  m->source = dir;
  m->destination = xstrdup(dest);
  m->noptions = 3;
  m->options = xcalloc(4, sizeof *m->options);
  m->options[0] = xstrdup("rbind");
  m->options[1] = xstrdup(read_only ? "ro" : "rw");
  m->options[2] = xstrdup("rprivate");
  return 0;
}

void volumes_remove_anonymous(engine *e, container *c) {
  (void)e;
  (void)c;
}

void volumes_release(engine *e, container *c) {
  (void)e;
  (void)c;
}

json_t *container_network_settings(engine *e, const container *c, bool summary) {
  (void)e;
  (void)c;
  if (summary) return json_pack("{s:{}}", "Networks");
  return json_pack("{s:s,s:s,s:s,s:{},s:b,s:s,s:i,s:n,s:n,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:s,s:{}}", "Bridge", "",
                   "SandboxID", "", "SandboxKey", "", "Ports", "HairpinMode", 0, "LinkLocalIPv6Address", "",
                   "LinkLocalIPv6PrefixLen", 0, "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID", "",
                   "Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "IPAddress", "", "IPPrefixLen", 0,
                   "IPv6Gateway", "", "MacAddress", "", "Networks");
}

json_t *container_ports_summary(engine *e, const container *c) {
  (void)e;
  (void)c;
  return json_array();
}

bool container_on_network(engine *e, const container *c, const char *network) {
  (void)e;
  const char *mode = json_string_value(json_object_get(c->host_config, "NetworkMode"));
  return mode && !strcmp(mode, network);
}

/* /etc/hosts lines for the container's own addresses and links (networks module). */
void networks_hosts_entries(engine *e, const container *c, strbuf *sb) {
  (void)e;
  (void)c;
  (void)sb;
}

/* Writes the container's resolv.conf when one of its networks has its own resolver;
 * returns false to use the host's. */
bool networks_resolv_conf(engine *e, const container *c, strbuf *sb) {
  (void)e;
  (void)c;
  (void)sb;
  return false;
}

/* Create-time checks of NetworkMode and NetworkingConfig that need the networks (their
 * existence, static addresses in range); may normalise c->networking. */
int networks_validate_create(engine *e, container *c, arca_err *err) {
  (void)e;
  (void)c;
  (void)err;
  return 0;
}
