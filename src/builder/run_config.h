/* The builder's run configuration: Docker's container.Config as the classic builder holds
 * it between steps and writes it into image configs ("config" and "container_config").
 *
 * runcfg_normalize gives the exact shape Go's encoding/json writes for that struct (every
 * field, in declaration order, omitempty where the struct says so), so built images carry
 * the same keys as dockerd's. runcfg_cache_key condenses what image/cache/compare.go
 * compares into one digest: two configs have the same key exactly when compare() calls
 * them equal (for one platform).
 *
 * Pure functions; reentrant. */
#ifndef ARCA_BUILDER_RUN_CONFIG_H
#define ARCA_BUILDER_RUN_CONFIG_H

#include <jansson.h>

#include "image/digest.h"

/* A new object: in's fields in container.Config's order and shape (strings for missing
 * strings, null for missing slices and maps, StrSlice strings made arrays). in may be
 * NULL (an empty config). */
json_t *runcfg_normalize(const json_t *in);
/* "sha256:..." over the compared fields of cfg and the platform string ("linux/amd64"). */
void runcfg_cache_key(const json_t *cfg, const char *platform, char out[DIGEST_STR_SIZE]);
/* cfg[key] = a copy of the string array v (NULL: JSON null). */
void runcfg_set_strv(json_t *cfg, const char *key, const char *const *v, size_t n);

#endif
