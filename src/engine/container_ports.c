/* Port bindings as dockerd checks them at create (validatePortBindings) and turns them into
 * published ports when it connects a container (go-connections/nat, SortPortMap). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "engine/container_config_internal.h"

int port_bindings_validate(const json_t *port_bindings, arca_err *err) {
  const char *key;
  const json_t *list;
  json_object_foreach((json_t *)port_bindings, key, list) {
    char proto[32], port[64];
    nat_split_proto_port(key, proto, sizeof proto, port, sizeof port);
    uint64_t n;
    if (*port && !go_parse_uint(port, 16, &n)) {
      autofree char *q = go_quote(port);
      return err_set(err, 400, "invalid port specification: %s", q);
    }
    size_t i;
    const json_t *b;
    json_array_foreach(list, i, b) {
      const char *host_port = cc_str(b, "HostPort");
      nat_split_proto_port(host_port, proto, sizeof proto, port, sizeof port);
      uint64_t start, end;
      if (*port && !nat_parse_port_range(port, &start, &end)) {
        autofree char *q = go_quote(host_port);
        return err_set(err, 400, "invalid port specification: %s", q);
      }
    }
  }
  return 0;
}

typedef struct sort_entry {
  char port[72];       /* the nat.Port key */
  int port_num;        /* Port.Int(): 0 for ranges and junk */
  bool tcp;
  const json_t *binding;
  bool empty_list;     /* PortBindings has the port with []: Go binds it to an ephemeral port */
  uint64_t host_port;  /* toInt(HostPort): start of the range, 0 when unparsable */
} sort_entry;

static int port_int(const char *key) {
  char proto[32], port[64];
  nat_split_proto_port(key, proto, sizeof proto, port, sizeof port);
  uint64_t n;
  return *port && go_parse_uint(port, 16, &n) ? (int)n : 0;
}

/* portMapSorter.Less, a comparison Go's sort.Sort uses as is (it is not a strict order;
 * a stable insertion sort with it gives the order Go gives for the small lists seen). */
static bool entry_less(const sort_entry *i, const sort_entry *j) {
  return i->host_port > j->host_port || i->port_num > j->port_num ||
         (i->port_num == j->port_num && i->tcp);
}

int container_ports_list(const json_t *exposed_ports, const json_t *port_bindings,
                         bool publish_all, port_mapping **out, size_t *n_out, arca_err *err) {
  *out = NULL;
  *n_out = 0;
  size_t cap = 0, n = 0;
  sort_entry *entries = NULL;
  const char *key;
  const json_t *unused;
  json_object_foreach((json_t *)exposed_ports, key, unused) {
    const json_t *list = json_object_get(port_bindings, key);
    size_t nb = json_is_array(list) ? json_array_size(list) : 0;
    for (size_t i = 0; i < (nb ? nb : 1); i++) {
      if (n == cap) entries = xrealloc(entries, (cap = cap ? cap * 2 : 8) * sizeof *entries);
      sort_entry *e = &entries[n++];
      memset(e, 0, sizeof *e);
      snprintf(e->port, sizeof e->port, "%s", key);
      e->port_num = port_int(key);
      char proto[32], port[64];
      nat_split_proto_port(key, proto, sizeof proto, port, sizeof port);
      e->tcp = strcasecmp(proto, "tcp") == 0;
      e->binding = nb ? json_array_get(list, i) : NULL;
      e->empty_list = json_is_array(list) && nb == 0;
      uint64_t start, end;
      const char *hp = cc_str(e->binding, "HostPort");
      e->host_port = nat_parse_port_range(hp, &start, &end) ? start : 0;
    }
  }
  for (size_t i = 1; i < n; i++) {
    sort_entry tmp = entries[i];
    size_t j = i;
    while (j > 0 && entry_less(&tmp, &entries[j - 1])) {
      entries[j] = entries[j - 1];
      j--;
    }
    entries[j] = tmp;
  }

  /* grouped by port, ports in the order of their first entry (as Go rebuilds the list) */
  port_mapping *res = xcalloc(n ? n : 1, sizeof *res);
  bool *done = xcalloc(n ? n : 1, sizeof *done);
  size_t count = 0;
  int rc = 0;
  for (size_t first = 0; first < n && rc == 0; first++) {
    if (done[first]) continue;
    for (size_t i = first; i < n && rc == 0; i++) {
      sort_entry *e = &entries[i];
      if (done[i] || strcmp(e->port, entries[first].port) != 0) continue;
      done[i] = true;
      port_mapping *m = &res[count++];
      char proto[32], port[64];
      nat_split_proto_port(e->port, proto, sizeof proto, port, sizeof port);
      for (char *c = proto; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
      snprintf(m->proto, sizeof m->proto, "%s", proto);
      m->container_port = (uint16_t)e->port_num;
      if (e->binding) {
        const char *hp = cc_str(e->binding, "HostPort");
        char hproto[32], hport[64];
        nat_split_proto_port(hp, hproto, sizeof hproto, hport, sizeof hport);
        uint64_t start = 0, end = 0;
        if (*hport && !nat_parse_port_range(hport, &start, &end)) {
          rc = err_set(err, 400, "error parsing HostPort value (%s): invalid port range", hp);
          break;
        }
        m->published = true;
        m->host_port_start = (uint16_t)start;
        m->host_port_end = (uint16_t)end;
        snprintf(m->host_ip, sizeof m->host_ip, "%s", cc_str(e->binding, "HostIp"));
      } else if (e->empty_list || publish_all) {
        m->published = true; /* an ephemeral port on every address */
      }
    }
  }
  free(done);
  free(entries);
  if (rc < 0) {
    free(res);
    return -1;
  }
  *out = res;
  *n_out = count;
  return 0;
}
