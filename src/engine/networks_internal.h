/* Shared between networks.c (records and the network endpoints), networks_attach.c (the
 * container hooks), networks_ports.c (host ports) and networks_settings.c (a container's
 * NetworkSettings, /etc/hosts and resolv.conf). Everything here is guarded by
 * networks_state.lock unless said otherwise. */
#ifndef ARCA_ENGINE_NETWORKS_INTERNAL_H
#define ARCA_ENGINE_NETWORKS_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/strmap.h"
#include "common/util.h"
#include "engine/containers.h"
#include "engine/ipam.h"
#include "engine/networks.h"

struct engine;

/* One IPAM.Config entry, parsed. */
typedef struct net_pool {
  ip_prefix subnet;
  ip_addr gateway;
  bool has_range;
  ip_prefix range;
  ip_addr *aux;       /* AuxiliaryAddresses: never handed out */
  size_t naux;
  bool user_subnet;   /* given by the user (static addresses allowed) */
} net_pool;

typedef struct network {
  char id[65];
  char name[256];
  char driver[16];     /* "bridge", "host", "null" */
  char bridge[16];     /* the bridge interface (bridge driver) */
  bool predefined;     /* bridge, host, none */
  bool default_bridge; /* no name resolution, legacy links */
  bool internal, ipv4, ipv6;
  int64_t created_ns;
  json_t *doc;         /* Docker's document without Containers, plus "ArcaBridge" */
  net_pool *pools;     /* IPv4 entries first */
  size_t npools;
  ip_addr cursor4, cursor6; /* last addresses handed out (serial allocation) */
  bool port_chain;     /* netavark made its port-forwarding chain for this network: the last
                        * endpoint's teardown must ask for it to go ("ArcaPortChain") */
} network;

/* An endpoint: a container attached to a network while it runs. */
typedef struct endpoint {
  char container_id[65];
  char network_id[65];
  char endpoint_id[65];
  char ifname[16];
  ip_addr ip4, ip6, gw4, gw6; /* family 0 when absent */
  int bits4, bits6;
  char mac[24];
  bool primary;          /* carries the published ports */
  json_t *request;       /* the netavark request, replayed at teardown */
  json_t *ports;         /* primary: NetworkSettings.Ports ({"80/tcp": [{HostIp, HostPort}]}) */
  int *fds;              /* bound host ports, held while the endpoint lives */
  size_t nfds;
  struct endpoint *next;
} endpoint;

struct networks_state {
  pthread_mutex_t lock;
  uint64_t rev;          /* bumps in every section that may change networks or endpoints */
  strmap by_id;          /* id -> network* */
  endpoint *endpoints;
  ipam_pool *pools;      /* default-address-pools, then an IPv6 ULA pool of this daemon */
  size_t npools;
  char default_bridge_if[16];
};

#define NETS(e) ((e)->networks)

/* Takes ns->lock for a section that may change networks or endpoints: container rows cached
 * for GET /containers/json are rebuilt after it. */
static inline void networks_lock_write(networks_state *ns) {
  pthread_mutex_lock(&ns->lock);
  __atomic_add_fetch(&ns->rev, 1, __ATOMIC_RELEASE);
}

/* networks.c */
/* Docker's FindNetwork: full ID, exact name, unique ID prefix. 404 "network x not found". */
network *network_find_locked(networks_state *ns, const char *term, arca_err *err);
network *network_by_name_locked(networks_state *ns, const char *name);
void network_event(struct engine *e, const network *n, const char *action, const char *container_id);
/* Bridges exist only while containers use them, so another daemon on the host may have
 * routed a subnet Arca chose (pools, default bridge) since: before the first endpoint such a
 * subnet moves to a free one. The user's own subnets stay, as in Docker. */
void network_check_subnets_locked(struct engine *e, network *n);
int network_save(struct engine *e, const network *n, arca_err *err);
/* Persists an endpoint (or deletes it when gone). */
void endpoint_save(struct engine *e, const endpoint *ep);
void endpoint_forget(struct engine *e, const endpoint *ep);
void endpoint_free(endpoint *ep);
/* The addresses taken in a network: gateways, auxiliary addresses, endpoints. */
void network_used_addrs_locked(networks_state *ns, const network *n, ip_addr **out, size_t *nout);

/* networks_attach.c */
/* Tears every endpoint of container id down (driver detach, ports released, records
 * dropped); returns how many there were. */
int endpoints_teardown_locked(struct engine *e, const char *container_id, bool events);
/* Sets the container up on one more network while it runs (network connect). c->lock held. */
int network_attach_one(struct engine *e, container *c, network *n, const json_t *epcfg, bool primary,
                       arca_err *err);
/* How many endpoints the network has. */
size_t endpoints_on_locked(networks_state *ns, const char *network_id);
/* The driver may let the network go from the host (its removal, shutdown, start-up without
 * endpoints): a bridge it kept warm between containers and its rules. */
void network_release_locked(struct engine *e, network *n);
/* Tears one endpoint down (network disconnect). */
void network_detach_one_locked(struct engine *e, endpoint *ep, bool events);
endpoint *endpoint_of_locked(networks_state *ns, const char *container_id, const char *network_id);
/* The network a container's NetworkMode names, resolved: "bridge" for the default bridge,
 * a user network's name; NULL for host, none and container:<id>. */
const char *container_netmode_network(const container *c);
/* Checks an endpoint configuration for a network the container is to join and records it
 * in c->networking (network connect); c->lock held, networks lock not. */
int networks_connect_config_locked(struct engine *e, container *c, const char *net_name, const json_t *epcfg,
                                   arca_err *err);
void networks_forget_config_locked(container *c, const char *net_name);
/* Rewrites a running container's /etc/hosts in place (its bind mount keeps the inode). */
void networks_refresh_hosts_locked(struct engine *e, container *c);

/* networks_ports.c */
/* Reserves host ports for the container's published ports (binding them, as dockerd does)
 * and fills the netavark port_mappings and Docker's Ports map. cip is the container's address
 * for the texts. */
int ports_reserve_locked(struct engine *e, container *c, const char *endpoint_id, const ip_addr *cip,
                         json_t **mappings, json_t **ports_map, int **fds, size_t *nfds, arca_err *err);
/* Binds again what a daemon that stopped held (best effort). */
void ports_rebind_locked(endpoint *ep);
void ports_release(endpoint *ep);

/* networks_settings.c: the documents */
json_t *endpoint_settings_json(struct engine *e, const container *c, const char *net_name, const json_t *cfg,
                               const network *n, const endpoint *ep);
json_t *dns_names_json(const container *c, const json_t *aliases);

#endif
