/* The classic builder's cache: which image a build step made from which parent image and
 * step configuration (moby's image/cache LocalImageCache, where dockerd asks its image
 * store for children "built locally"). Kept in memory, written through to the store
 * (migration 5), loaded at start.
 *
 * The cache's images are ordinary images: those that some tagged image is built on are
 * "shared" (their space counts under Images and no prune of the cache frees it); the
 * others (steps of failed or superseded builds) are what POST /build/prune removes.
 *
 * Lock: bc->lock guards the map. It may be held while taking images->lock (read), never
 * the other way round. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/filters.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/build_internal.h"
#include "engine/engine.h"
#include "store/store_build.h"

typedef struct bc_entry {
  char parent[DIGEST_STR_SIZE];
  char key[DIGEST_STR_SIZE];
  int64_t created_ns, last_used_ns, usage;
} bc_entry;

struct build_cache {
  pthread_mutex_t lock;
  strmap by_image; /* image id -> bc_entry* */
};

static void load_row(void *ctx, const build_cache_row *row) {
  struct build_cache *bc = ctx;
  bc_entry *en = xcalloc(1, sizeof *en);
  snprintf(en->parent, sizeof en->parent, "%s", row->parent ? row->parent : "");
  snprintf(en->key, sizeof en->key, "%s", row->cache_key ? row->cache_key : "");
  en->created_ns = row->created_ns;
  en->last_used_ns = row->last_used_ns;
  en->usage = row->usage_count;
  free(strmap_put(&bc->by_image, row->image_id, en));
}

int build_cache_open(engine *e, arca_err *err) {
  struct build_cache *bc = xcalloc(1, sizeof *bc);
  pthread_mutex_init(&bc->lock, NULL);
  strmap_init(&bc->by_image);
  e->build_cache = bc;
  return store_build_cache_load(e->store, load_row, bc, err);
}

void build_cache_close(engine *e) {
  struct build_cache *bc = e->build_cache;
  if (!bc) return;
  size_t i = 0;
  void *v;
  while (strmap_next(&bc->by_image, &i, NULL, &v)) free(v);
  strmap_free(&bc->by_image);
  pthread_mutex_destroy(&bc->lock);
  free(bc);
  e->build_cache = NULL;
}

static bool image_exists(engine *e, const char *id) {
  pthread_rwlock_rdlock(&e->images.lock);
  bool ok = strmap_get(&e->images.by_id, id) != NULL;
  pthread_rwlock_unlock(&e->images.lock);
  return ok;
}

/* Drops entries whose image is gone (deleted with docker rmi / image prune). */
static void forget_locked(engine *e, const char *id) {
  free(strmap_del(&e->build_cache->by_image, id));
  store_build_cache_delete(e->store, id, NULL);
}

bool build_cache_lookup(engine *e, const char *parent, const char *key, const char *arch,
                        char out[DIGEST_STR_SIZE]) {
  (void)arch;
  struct build_cache *bc = e->build_cache;
  bool found = false;
  int64_t best = 0;
  pthread_mutex_lock(&bc->lock);
  for (bool again = true; again;) {
    again = false;
    size_t i = 0;
    const char *k;
    void *v;
    while (strmap_next(&bc->by_image, &i, &k, &v)) {
      bc_entry *en = v;
      if (strcmp(en->parent, parent) || strcmp(en->key, key)) continue;
      if (!image_exists(e, k)) {
        autofree char *id = xstrdup(k);
        forget_locked(e, id);
        again = true;
        break;
      }
      if (!found || en->created_ns > best) {
        snprintf(out, DIGEST_STR_SIZE, "%s", k);
        best = en->created_ns;
        found = true;
      }
    }
    if (again) found = false;
  }
  pthread_mutex_unlock(&bc->lock);
  return found;
}

void build_cache_record(engine *e, const char *image_id, const char *parent, const char *key) {
  struct build_cache *bc = e->build_cache;
  bc_entry *en = xcalloc(1, sizeof *en);
  snprintf(en->parent, sizeof en->parent, "%s", parent);
  snprintf(en->key, sizeof en->key, "%s", key);
  en->created_ns = now_ns();
  pthread_mutex_lock(&bc->lock);
  free(strmap_put(&bc->by_image, image_id, en));
  build_cache_row row = {image_id, parent, key, en->created_ns, 0, 0};
  arca_err err;
  if (store_build_cache_put(e->store, &row, &err) < 0)
    log_kv(LOG_WARN, "build cache entry not persisted", "image", image_id, "error", err.msg, NULL);
  pthread_mutex_unlock(&bc->lock);
}

void build_cache_used(engine *e, const char *image_id) {
  struct build_cache *bc = e->build_cache;
  pthread_mutex_lock(&bc->lock);
  bc_entry *en = strmap_get(&bc->by_image, image_id);
  if (en) {
    en->last_used_ns = now_ns();
    en->usage++;
    store_build_cache_touch(e->store, image_id, en->last_used_ns, en->usage, NULL);
  }
  pthread_mutex_unlock(&bc->lock);
}

/* ---- what the cache holds ---- */

typedef struct bc_record {
  char id[DIGEST_STR_SIZE];
  char parent[DIGEST_STR_SIZE];
  char *description;
  bool in_use, shared;
  int64_t size, created_ns, last_used_ns, usage;
  bool has_children;
} bc_record;

static void records_free(bc_record *r, size_t n) {
  for (size_t i = 0; i < n; i++) free(r[i].description);
  free(r);
}

/* Images some reference reaches through its parent chain (images->lock held). */
static void mark_shared_locked(engine *e, strmap *shared) {
  size_t i = 0;
  void *v;
  while (strmap_next(&e->images.refs, &i, NULL, &v)) {
    const char *id = v;
    for (int depth = 0; id && *id && depth < 10000; depth++) {
      if (strmap_get(shared, id)) break;
      strmap_put(shared, id, (void *)1);
      image *img = strmap_get(&e->images.by_id, id);
      id = img ? img->parent : NULL;
    }
  }
}

static bc_record *collect(engine *e, size_t *n) {
  struct build_cache *bc = e->build_cache;
  bc_record *out = NULL;
  *n = 0;
  pthread_mutex_lock(&bc->lock);
  pthread_rwlock_rdlock(&e->images.lock);
  strmap shared;
  strmap_init(&shared);
  mark_shared_locked(e, &shared);
  out = xcalloc(bc->by_image.len + 1, sizeof *out);
  size_t i = 0;
  const char *k;
  void *v;
  while (strmap_next(&bc->by_image, &i, &k, &v)) {
    bc_entry *en = v;
    image *img = strmap_get(&e->images.by_id, k);
    if (!img) continue;
    bc_record *r = &out[(*n)++];
    snprintf(r->id, sizeof r->id, "%s", k);
    snprintf(r->parent, sizeof r->parent, "%s", en->parent);
    json_t *hist = json_object_get(img->config, "history");
    r->description = xstrdup(json_string_value(json_object_get(
                                 json_array_get(hist, json_array_size(hist) - 1), "created_by"))
                                 ?: "");
    r->in_use = img->containers > 0;
    r->shared = strmap_get(&shared, k) != NULL;
    image *parent = en->parent[0] ? strmap_get(&e->images.by_id, en->parent) : NULL;
    size_t pl = parent ? parent->nlayers : 0;
    r->size = img->nlayers > pl ? img->layers[img->nlayers - 1].size : 0;
    r->created_ns = en->created_ns;
    r->last_used_ns = en->last_used_ns;
    r->usage = en->usage;
    size_t c = 0;
    void *cv;
    while (strmap_next(&e->images.by_id, &c, NULL, &cv))
      if (!strcmp(((image *)cv)->parent, k)) r->has_children = true;
  }
  strmap_free(&shared);
  pthread_rwlock_unlock(&e->images.lock);
  pthread_mutex_unlock(&bc->lock);
  return out;
}

static json_t *record_json(const bc_record *r) {
  char created[64], used[64];
  format_rfc3339nano(r->created_ns, created, sizeof created);
  format_rfc3339nano(r->last_used_ns, used, sizeof used);
  json_t *parents = r->parent[0] ? json_pack("[s]", r->parent + 7) : json_null();
  return json_pack("{s:s,s:o,s:s,s:s,s:b,s:b,s:I,s:s,s:o,s:I}", "ID", r->id + 7, "Parents", parents,
                   "Type", "regular", "Description", r->description, "InUse", r->in_use, "Shared",
                   r->shared, "Size", (json_int_t)r->size, "CreatedAt", created, "LastUsedAt",
                   r->last_used_ns ? json_string(used) : json_null(), "UsageCount",
                   (json_int_t)r->usage);
}

json_t *build_cache_df_json(engine *e) {
  size_t n;
  bc_record *r = collect(e, &n);
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, record_json(&r[i]));
  records_free(r, n);
  return a;
}

/* ---- prune ---- */

static bool old_enough(const bc_record *r, int64_t until_ns, int64_t unused_ns, int64_t now) {
  if (until_ns && r->created_ns >= until_ns) return false;
  int64_t last = r->last_used_ns ? r->last_used_ns : r->created_ns;
  if (unused_ns && now - last < unused_ns) return false;
  return true;
}

int build_cache_prune(engine *e, const char *filters_json, bool all, int64_t keep_bytes,
                      json_t **out, arca_err *err) {
  static const char *const accepted[] = {"until", "unused-for", "id", NULL};
  filters *f = NULL;
  if (filters_parse(filters_json, &f, err) < 0) return -1;
  if (filters_validate(f, accepted, err) < 0) {
    filters_free(f);
    return -1;
  }
  int64_t now = now_ns(), until = 0, unused = 0;
  if (filters_has(f, "until") &&
      parse_docker_time(filters_value(f, "until", 0), now, &until, err) < 0) {
    filters_free(f);
    return -1;
  }
  if (filters_has(f, "unused-for")) {
    if (parse_go_duration(filters_value(f, "unused-for", 0), &unused) < 0) {
      err_set(err, 400, "invalid unused-for filter: %s", filters_value(f, "unused-for", 0));
      filters_free(f);
      return -1;
    }
  }
  const char *want_id = filters_has(f, "id") ? filters_value(f, "id", 0) : NULL;
  int64_t before = layers_total_size(e->images.layers);
  json_t *deleted = json_array();
  /* leaves first: an image with children cannot go before them */
  for (bool progress = true; progress;) {
    progress = false;
    size_t n;
    bc_record *r = collect(e, &n);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
      if (!r[i].shared) total += r[i].size;
    for (size_t i = 0; i < n; i++) {
      if (r[i].shared || r[i].in_use || r[i].has_children) continue;
      if (!old_enough(&r[i], until, unused, now)) continue;
      if (want_id && !str_has_prefix(r[i].id + 7, want_id)) continue;
      if (keep_bytes > 0 && total <= keep_bytes) break;
      json_t *recs = NULL;
      arca_err derr;
      if (image_delete(e, r[i].id, false, true, &recs, &derr) < 0) continue;
      json_decref(recs);
      total -= r[i].size;
      json_array_append_new(deleted, json_string(r[i].id + 7));
      pthread_mutex_lock(&e->build_cache->lock);
      forget_locked(e, r[i].id);
      pthread_mutex_unlock(&e->build_cache->lock);
      progress = true;
    }
    records_free(r, n);
  }
  if (all) {
    /* the rest of the cache is forgotten; the images stay (tagged images need them) */
    size_t n;
    bc_record *r = collect(e, &n);
    for (size_t i = 0; i < n; i++) {
      if (r[i].in_use || !old_enough(&r[i], until, unused, now)) continue;
      if (want_id && !str_has_prefix(r[i].id + 7, want_id)) continue;
      json_array_append_new(deleted, json_string(r[i].id + 7));
      pthread_mutex_lock(&e->build_cache->lock);
      forget_locked(e, r[i].id);
      pthread_mutex_unlock(&e->build_cache->lock);
    }
    records_free(r, n);
  }
  filters_free(f);
  int64_t reclaimed = before - layers_total_size(e->images.layers);
  if (reclaimed < 0) reclaimed = 0;
  char rec[32];
  snprintf(rec, sizeof rec, "%lld", (long long)reclaimed);
  events_publish(e->events, "builder", "prune", "", json_pack("{s:s}", "reclaimed", rec));
  if (!json_array_size(deleted)) {
    json_decref(deleted);
    deleted = json_null();
  }
  *out = json_pack("{s:o,s:I}", "CachesDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed);
  return 0;
}
