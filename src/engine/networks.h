/* Networks: Docker's three predefined networks (bridge with the default bridge's
 * semantics, host, none), user-defined bridge networks with Arca's own IPAM (netavark does
 * no allocation), their endpoints in containers (set up and torn down through the runtime
 * driver's network_attach/network_detach, i.e. netavark and aardvark-dns on Linux),
 * published host ports, names resolved on user networks, and the Docker documents of all
 * of it (network inspect and list, a container's NetworkSettings).
 *
 * The container hooks the state machine calls (networks_attach_container ...) are declared
 * in container_internal.h; they run with the container's lock held.
 *
 * Locks: networks->lock (one mutex, networks*.c) guards the networks, the endpoints and the
 * host port reservations; it may be taken with a container lock held, never the other way
 * round. Calls to the driver (netavark) are made with it held, so that an address handed
 * out is set up before anyone else looks at the pool. */
#ifndef ARCA_ENGINE_NETWORKS_H
#define ARCA_ENGINE_NETWORKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct engine;
typedef struct networks_state networks_state;

/* Loads the records, makes the predefined networks when missing, re-reserves the host
 * ports of endpoints that were up when the daemon stopped. */
int networks_open(struct engine *e, arca_err *err);
void networks_close(struct engine *e);
/* Lets the driver release what it keeps of each network between containers (a warm
 * bridge): every network at shutdown, those without endpoints at start-up (idle_only). */
void networks_release_all(struct engine *e, bool idle_only);
/* Changes whenever a network or an endpoint may have changed (see networks_lock_write). */
uint64_t networks_revision(struct engine *e);

/* POST /networks/create: body is Docker's NetworkCreateRequest. *out: {"Id","Warning"}.
 * api_minor < 48 ignores EnableIPv4 as dockerd does. */
int network_create(struct engine *e, const json_t *body, int api_minor, json_t **out, arca_err *err);
/* GET /networks with Docker's filters (driver, id, label, name, scope, type, dangling). */
int networks_list_json(struct engine *e, const char *filters_json, json_t **out, arca_err *err);
/* GET /networks/{id}: full ID, name, or unique ID prefix. */
int network_inspect_json(struct engine *e, const char *term, json_t **out, arca_err *err);
/* DELETE /networks/{id}: 403 for the predefined ones and while containers run on it. */
int network_remove(struct engine *e, const char *term, arca_err *err);
/* POST /networks/prune (filters until, label, label!). *out: {"NetworksDeleted": [...]} */
int networks_prune(struct engine *e, const char *filters_json, json_t **out, arca_err *err);
/* POST /networks/{id}/connect: body {"Container", "EndpointConfig"}; live for a running
 * container. */
int network_connect(struct engine *e, const char *term, const json_t *body, arca_err *err);
/* POST /networks/{id}/disconnect: body {"Container", "Force"}. */
int network_disconnect(struct engine *e, const char *term, const json_t *body, arca_err *err);

#endif
