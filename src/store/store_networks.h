/* Networks, endpoints, volumes and the volumes each container uses (migration 4). Each row
 * is a JSON document under one or two text keys; the engine's networks and volumes modules
 * own the documents' shape:
 *   networks      id, name (unique)            the network as Docker shows it + Arca's own
 *   endpoints     container_id, network_id     an attached (running) endpoint: addresses,
 *                                              the netavark request to replay at teardown
 *   volumes       name                         driver, options, labels, creation time
 *   volume_refs   container_id, destination    which volume a container mounts where
 * Locking: the store's own mutex, per call. */
#ifndef ARCA_STORE_STORE_NETWORKS_H
#define ARCA_STORE_STORE_NETWORKS_H

#include "store/store.h"

typedef enum store_net_table {
  STORE_NETWORKS = 0,
  STORE_ENDPOINTS,
  STORE_VOLUMES,
  STORE_VOLUME_REFS,
} store_net_table;

/* Inserts or replaces the row (k1, k2); k2 is ignored by the one-key table (volumes). */
int store_net_put(store *s, store_net_table t, const char *k1, const char *k2, const char *doc,
                  arca_err *err);
/* Deletes row (k1, k2), or every row of k1 when k2 is NULL. */
int store_net_delete(store *s, store_net_table t, const char *k1, const char *k2, arca_err *err);
typedef void (*store_net_cb)(void *ctx, const char *k1, const char *k2, const char *doc);
/* Calls cb for every row, with the store locked: cb must not call the store. */
int store_net_load(store *s, store_net_table t, store_net_cb cb, void *ctx, arca_err *err);

#endif
