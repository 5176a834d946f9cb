/* Rows of the classic builder's cache (migration 5): for each image a build step created,
 * the image it was built on and the digest of the step's configuration. Each call takes
 * the store lock itself. */
#ifndef ARCA_STORE_STORE_BUILD_H
#define ARCA_STORE_STORE_BUILD_H

#include <stdint.h>

#include "store/store.h"

typedef struct build_cache_row {
  const char *image_id;
  const char *parent;    /* "" for a step on scratch */
  const char *cache_key; /* runcfg_cache_key of the step */
  int64_t created_ns, last_used_ns, usage_count;
} build_cache_row;

int store_build_cache_put(store *s, const build_cache_row *row, arca_err *err);
int store_build_cache_delete(store *s, const char *image_id, arca_err *err);
int store_build_cache_touch(store *s, const char *image_id, int64_t last_used_ns,
                            int64_t usage_count, arca_err *err);
typedef void (*store_build_cache_cb)(void *ctx, const build_cache_row *row);
int store_build_cache_load(store *s, store_build_cache_cb cb, void *ctx, arca_err *err);

#endif
