/* Container records (migration 3). */
#ifndef ARCA_STORE_STORE_CONTAINERS_H
#define ARCA_STORE_STORE_CONTAINERS_H

#include "store/store.h"

int store_container_put(store *s, const char *id, const char *name, const char *doc, arca_err *err);
int store_container_delete(store *s, const char *id, arca_err *err);
typedef void (*store_container_cb)(void *ctx, const char *id, const char *name, const char *doc);
int store_containers_load(store *s, store_container_cb cb, void *ctx, arca_err *err);

#endif
