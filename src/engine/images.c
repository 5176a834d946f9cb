/* Image records and references: loading, lookup, creation, tag, delete, prune. */
#include "engine/images.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/engine.h"
#include "image/reference.h"
#include "store/store_images.h"

#define IS(e) (&(e)->images)

/* ---- records ---- */

static void image_free(image *img) {
  if (!img) return;
  free(img->config_text);
  json_decref(img->config);
  free(img->layers);
  json_decref(img->extra);
  free(img);
}

static json_t *layers_to_json(const image_layer *l, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I,s:s,s:I}", "chain_id", l[i].chain_id, "diff_id",
                                       l[i].diff_id, "digest", l[i].digest, "blob_size",
                                       (json_int_t)l[i].blob_size, "media_type", l[i].media_type,
                                       "size", (json_int_t)l[i].size));
  return a;
}

static int layers_from_json(const char *text, image_layer **out, size_t *n) {
  json_t *a = json_loads(text, 0, NULL);
  if (!json_is_array(a)) {
    json_decref(a);
    return -1;
  }
  *n = json_array_size(a);
  *out = xcalloc(*n + 1, sizeof **out);
  for (size_t i = 0; i < *n; i++) {
    json_t *o = json_array_get(a, i);
    image_layer *l = &(*out)[i];
    snprintf(l->chain_id, sizeof l->chain_id, "%s", json_string_value(json_object_get(o, "chain_id")) ?: "");
    snprintf(l->diff_id, sizeof l->diff_id, "%s", json_string_value(json_object_get(o, "diff_id")) ?: "");
    snprintf(l->digest, sizeof l->digest, "%s", json_string_value(json_object_get(o, "digest")) ?: "");
    snprintf(l->media_type, sizeof l->media_type, "%s", json_string_value(json_object_get(o, "media_type")) ?: "");
    l->blob_size = json_integer_value(json_object_get(o, "blob_size"));
    l->size = json_integer_value(json_object_get(o, "size"));
  }
  json_decref(a);
  return 0;
}

static int64_t config_created(const json_t *config) {
  int64_t ns = 0;
  const char *c = json_string_value(json_object_get(config, "created"));
  if (c) parse_rfc3339(c, &ns);
  return ns;
}

static void load_image(void *ctx, const image_row *row) {
  engine *e = ctx;
  image *img = xcalloc(1, sizeof *img);
  snprintf(img->id, sizeof img->id, "%s", row->id);
  img->config_text = xstrdup(row->config);
  img->config = json_loads(row->config, 0, NULL);
  snprintf(img->parent, sizeof img->parent, "%s", row->parent);
  img->stored_ns = row->created_ns;
  img->last_tag_ns = row->last_tag_ns;
  img->size = row->size;
  img->extra = json_loads(row->extra, 0, NULL);
  if (!img->extra) img->extra = json_object();
  if (!img->config || layers_from_json(row->layers, &img->layers, &img->nlayers) < 0) {
    log_kv(LOG_WARN, "image record unreadable; ignored", "id", row->id, NULL);
    image_free(img);
    return;
  }
  img->created_ns = config_created(img->config);
  strmap_put(&IS(e)->by_id, img->id, img);
}

static void load_ref(void *ctx, const char *name, const char *id) {
  engine *e = ctx;
  free(strmap_put(&IS(e)->refs, name, xstrdup(id)));
}

int images_open(engine *e, arca_err *err) {
  image_store *is = IS(e);
  pthread_rwlock_init(&is->lock, NULL);
  strmap_init(&is->by_id);
  strmap_init(&is->refs);
  if (blobs_open(e->cfg.data_root, &is->blobs, err) < 0) return -1;
  if (layers_open(e->cfg.data_root, e->store, &is->layers, err) < 0) return -1;
  if (store_images_load(e->store, load_image, e, err) < 0) return -1;
  if (store_refs_load(e->store, load_ref, e, err) < 0) return -1;
  /* images whose layers went missing cannot run: drop them */
  size_t i = 0;
  void *v;
  const char *k;
  for (bool again = true; again;) {
    again = false;
    i = 0;
    while (strmap_next(&is->by_id, &i, &k, &v)) {
      image *img = v;
      bool ok = true;
      for (size_t l = 0; l < img->nlayers; l++)
        if (!layers_get(is->layers, img->layers[l].chain_id, NULL)) ok = false;
      if (ok) continue;
      log_kv(LOG_WARN, "image with missing layers removed", "id", img->id, NULL);
      store_lock(e->store);
      store_image_delete_tx(e->store, img->id, NULL);
      store_unlock(e->store);
      strmap_del(&is->by_id, img->id);
      image_free(img);
      again = true;
      break;
    }
  }
  /* references to images that are gone */
  for (bool again = true; again;) {
    again = false;
    i = 0;
    while (strmap_next(&is->refs, &i, &k, &v)) {
      if (strmap_get(&is->by_id, v)) continue;
      autofree char *name = xstrdup(k);
      store_lock(e->store);
      store_ref_delete_tx(e->store, name, NULL);
      store_unlock(e->store);
      free(strmap_del(&is->refs, name));
      again = true;
      break;
    }
  }
  i = 0;
  while (strmap_next(&is->by_id, &i, NULL, &v)) {
    image *img = v;
    for (size_t l = 0; l < img->nlayers; l++) layers_ref(is->layers, img->layers[l].chain_id);
  }
  /* containers take their layer references when they are loaded, before any GC could
   * run; layers nobody references now were left by a pull that died half way */
  return 0;
}

void images_close(engine *e) {
  image_store *is = IS(e);
  size_t i = 0;
  void *v;
  while (strmap_next(&is->by_id, &i, NULL, &v)) image_free(v);
  strmap_free(&is->by_id);
  i = 0;
  while (strmap_next(&is->refs, &i, NULL, &v)) free(v);
  strmap_free(&is->refs);
  layers_close(is->layers);
  blobs_close(is->blobs);
  pthread_rwlock_destroy(&is->lock);
}

size_t images_count(engine *e) {
  pthread_rwlock_rdlock(&IS(e)->lock);
  size_t n = IS(e)->by_id.len;
  pthread_rwlock_unlock(&IS(e)->lock);
  return n;
}

/* ---- lookup ---- */

static image *by_id_locked(engine *e, const char *id) { return strmap_get(&IS(e)->by_id, id); }

/* Unique ID prefix ("sha256:ab", "ab"); NULL when none or ambiguous. */
static image *by_prefix_locked(engine *e, const char *term) {
  const char *hex = str_has_prefix(term, "sha256:") ? term + 7 : term;
  size_t n = strlen(hex);
  if (n == 0 || n > 64 || !str_is_hex(hex, n)) return NULL;
  image *found = NULL;
  size_t i = 0;
  void *v;
  while (strmap_next(&IS(e)->by_id, &i, NULL, &v)) {
    image *img = v;
    if (strncmp(img->id + 7, hex, n) != 0) continue;
    if (found) return NULL;
    found = img;
  }
  return found;
}

static void not_found(arca_err *err, const image_ref *r, const char *raw) {
  if (r && r->path) {
    image_ref copy = {0};
    ref_copy(&copy, r);
    if (!copy.tag && !copy.digest) ref_with_default_tag(&copy);
    autofree char *fam = ref_familiar(&copy);
    ref_free(&copy);
    err_set(err, 404, "No such image: %s", fam);
  } else {
    err_set(err, 404, "No such image: %s", r && r->digest ? r->digest : raw);
  }
}

static image *resolve_locked(engine *e, const char *name, arca_err *err) {
  image_ref r = {0};
  if (ref_parse_any(name, &r, err) < 0) {
    err->status = 400;
    return NULL;
  }
  image *img = NULL;
  if (!r.path) {
    img = by_id_locked(e, r.digest);
  } else {
    image_ref lookup = {0};
    ref_copy(&lookup, &r);
    if (!lookup.tag && !lookup.digest) ref_with_default_tag(&lookup);
    autofree char *full = ref_full(&lookup);
    ref_free(&lookup);
    const char *id = strmap_get(&IS(e)->refs, full);
    if (id) img = by_id_locked(e, id);
  }
  if (!img) img = by_prefix_locked(e, name);
  if (!img) not_found(err, &r, name);
  ref_free(&r);
  return img;
}

int image_resolve(engine *e, const char *name, char id_out[DIGEST_STR_SIZE], arca_err *err) {
  pthread_rwlock_rdlock(&IS(e)->lock);
  image *img = resolve_locked(e, name, err);
  if (img) memcpy(id_out, img->id, DIGEST_STR_SIZE);
  pthread_rwlock_unlock(&IS(e)->lock);
  return img ? 0 : -1;
}

int image_config(engine *e, const char *id, json_t **config, arca_err *err) {
  pthread_rwlock_rdlock(&IS(e)->lock);
  image *img = by_id_locked(e, id);
  if (img) *config = json_deep_copy(img->config);
  pthread_rwlock_unlock(&IS(e)->lock);
  if (!img) return err_set(err, 404, "No such image: %s", id);
  return 0;
}

int image_layer_dirs(engine *e, const char *id, char ***dirs, size_t *n, arca_err *err) {
  pthread_rwlock_rdlock(&IS(e)->lock);
  image *img = by_id_locked(e, id);
  if (img) {
    *n = img->nlayers;
    *dirs = xcalloc(img->nlayers + 1, sizeof **dirs);
    for (size_t i = 0; i < img->nlayers; i++) (*dirs)[i] = layers_dir(IS(e)->layers, img->layers[i].chain_id);
  }
  pthread_rwlock_unlock(&IS(e)->lock);
  if (!img) return err_set(err, 404, "No such image: %s", id);
  return 0;
}

void image_hold(engine *e, const char *id, const char *const *chain_ids, size_t n) {
  pthread_rwlock_wrlock(&IS(e)->lock);
  image *img = by_id_locked(e, id);
  if (img) img->containers++;
  for (size_t i = 0; i < n; i++) layers_ref(IS(e)->layers, chain_ids[i]);
  pthread_rwlock_unlock(&IS(e)->lock);
}

/* Layers outlive a force-removed image while containers still use them. */
void image_release(engine *e, const char *id, const char *const *chain_ids, size_t n) {
  pthread_rwlock_wrlock(&IS(e)->lock);
  image *img = by_id_locked(e, id);
  if (img && img->containers > 0) img->containers--;
  for (size_t i = n; i > 0; i--) layers_unref(IS(e)->layers, chain_ids[i - 1], NULL, NULL, NULL);
  pthread_rwlock_unlock(&IS(e)->lock);
}

int image_chain_ids(engine *e, const char *id, char ***chain_ids, size_t *n, arca_err *err) {
  pthread_rwlock_rdlock(&IS(e)->lock);
  image *img = by_id_locked(e, id);
  if (img) {
    *n = img->nlayers;
    *chain_ids = xcalloc(img->nlayers + 1, sizeof **chain_ids);
    for (size_t i = 0; i < img->nlayers; i++) (*chain_ids)[i] = xstrdup(img->layers[i].chain_id);
  }
  pthread_rwlock_unlock(&IS(e)->lock);
  if (!img) return err_set(err, 404, "No such image: %s", id);
  return 0;
}

bool image_has_all_layers(engine *e, const char *id) {
  pthread_rwlock_rdlock(&IS(e)->lock);
  image *img = by_id_locked(e, id);
  bool ok = img != NULL;
  for (size_t i = 0; img && i < img->nlayers; i++)
    if (!layers_get(IS(e)->layers, img->layers[i].chain_id, NULL)) ok = false;
  pthread_rwlock_unlock(&IS(e)->lock);
  return ok;
}

/* ---- events ---- */

static void publish(engine *e, const image *img, const char *actor, const char *name, const char *action) {
  json_t *attrs = json_object();
  json_t *labels = img ? json_object_get(json_object_get(img->config, "config"), "Labels") : NULL;
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v) if (json_is_string(v)) json_object_set(attrs, k, v);
  json_object_set_new(attrs, "name", json_string(name));
  events_publish(e->events, "image", action, actor, attrs);
}

/* ---- creation ---- */

static int persist_image(engine *e, const image *img, arca_err *err) {
  autojson json_t *layers = layers_to_json(img->layers, img->nlayers);
  autofree char *layers_text = json_dumps(layers, JSON_COMPACT);
  autofree char *extra_text = json_dumps(img->extra, JSON_COMPACT);
  image_row row = {img->id, img->config_text, layers_text, img->parent, img->stored_ns,
                   img->last_tag_ns, img->size, extra_text};
  return store_image_put_tx(e->store, &row, err);
}

static void record_repo_digest(image *img, const char *canonical) {
  /* extra.manifests[name] = digest, from "name@sha256:..." */
  const char *at = strrchr(canonical, '@');
  if (!at) return;
  json_t *m = json_object_get(img->extra, "manifests");
  if (!m) {
    m = json_object();
    json_object_set_new(img->extra, "manifests", m);
  }
  autofree char *name = xstrndup(canonical, (size_t)(at - canonical));
  json_object_set_new(m, name, json_string(at + 1));
}

int image_create(engine *e, const image_new *in, char id_out[DIGEST_STR_SIZE], arca_err *err) {
  image_store *is = IS(e);
  char id[DIGEST_STR_SIZE];
  if (blobs_put(is->blobs, in->config_text, in->config_len, id, err) < 0) return err_wrap(err, "store image config");
  json_error_t jerr;
  json_t *config = json_loadb(in->config_text, in->config_len, 0, &jerr);
  if (!json_is_object(config)) {
    json_decref(config);
    return err_set(err, 400, "invalid image config: %s", jerr.text);
  }
  for (size_t i = 0; i < in->nlayers; i++)
    if (!layers_get(is->layers, in->layers[i].chain_id, NULL)) {
      json_decref(config);
      return err_set(err, 500, "layer %s of image %s is not in the store", in->layers[i].chain_id, id);
    }

  pthread_rwlock_wrlock(&is->lock);
  image *img = by_id_locked(e, id);
  bool fresh = img == NULL;
  if (fresh) {
    img = xcalloc(1, sizeof *img);
    memcpy(img->id, id, sizeof img->id);
    img->config_text = xstrndup(in->config_text, in->config_len);
    img->config = config;
    config = NULL;
    img->nlayers = in->nlayers;
    img->layers = xcalloc(in->nlayers + 1, sizeof *img->layers);
    memcpy(img->layers, in->layers, in->nlayers * sizeof *img->layers);
    for (size_t i = 0; i < in->nlayers; i++) {
      layer_rec r;
      if (layers_get(is->layers, in->layers[i].chain_id, &r)) img->layers[i].size = r.size;
      img->size += img->layers[i].size;
    }
    snprintf(img->parent, sizeof img->parent, "%s", in->parent ? in->parent : "");
    img->created_ns = config_created(img->config);
    img->stored_ns = now_ns();
    img->extra = json_object();
  } else {
    /* same content pulled again: refresh missing blob descriptors */
    for (size_t i = 0; i < in->nlayers && i < img->nlayers; i++)
      if (!img->layers[i].digest[0] && in->layers[i].digest[0]) img->layers[i] = in->layers[i];
  }
  json_decref(config);
  for (size_t i = 0; i < in->ndigest_refs; i++) record_repo_digest(img, in->digest_refs[i]);
  if (in->ntags) img->last_tag_ns = now_ns();

  int rc = store_tx_begin(e->store, err);
  if (rc == 0) {
    rc = persist_image(e, img, err);
    for (size_t i = 0; rc == 0 && i < in->ntags; i++) rc = store_ref_put_tx(e->store, in->tags[i], id, err);
    for (size_t i = 0; rc == 0 && i < in->ndigest_refs; i++) rc = store_ref_put_tx(e->store, in->digest_refs[i], id, err);
    if (rc == 0) rc = store_tx_commit(e->store, err);
    else store_tx_rollback(e->store);
  }
  if (rc < 0) {
    if (fresh) image_free(img);
    pthread_rwlock_unlock(&is->lock);
    return err_wrap(err, "record image %s", id);
  }
  if (fresh) {
    strmap_put(&is->by_id, img->id, img);
    for (size_t i = 0; i < img->nlayers; i++) layers_ref(is->layers, img->layers[i].chain_id);
  }
  for (size_t i = 0; i < in->ntags; i++) free(strmap_put(&is->refs, in->tags[i], xstrdup(id)));
  for (size_t i = 0; i < in->ndigest_refs; i++) free(strmap_put(&is->refs, in->digest_refs[i], xstrdup(id)));
  pthread_rwlock_unlock(&is->lock);
  memcpy(id_out, id, DIGEST_STR_SIZE);
  return 0;
}

int image_set_ref(engine *e, const char *full_ref, const char *id, arca_err *err) {
  image_store *is = IS(e);
  pthread_rwlock_wrlock(&is->lock);
  image *img = by_id_locked(e, id);
  int rc = -1;
  if (!img) {
    err_set(err, 404, "No such image: %s", id);
    goto out;
  }
  if (!strchr(full_ref, '@')) img->last_tag_ns = now_ns();
  if (store_tx_begin(e->store, err) < 0) goto out;
  if (store_ref_put_tx(e->store, full_ref, id, err) < 0 || persist_image(e, img, err) < 0) {
    store_tx_rollback(e->store);
    goto out;
  }
  if (store_tx_commit(e->store, err) < 0) goto out;
  free(strmap_put(&is->refs, full_ref, xstrdup(id)));
  rc = 0;
out:
  pthread_rwlock_unlock(&is->lock);
  return rc;
}

/* ---- tag ---- */

int image_tag(engine *e, const char *source, const char *repo, const char *tag, arca_err *err) {
  image_ref r = {0};
  if (ref_repo_tag_reference(repo ? repo : "", tag ? tag : "", &r, err) < 0) return -1;
  if (!r.path) {
    ref_free(&r);
    return err_set(err, 400, "repository name must have at least one component");
  }
  if (r.digest) {
    ref_free(&r);
    return err_set(err, 400, "refusing to create a tag with a digest reference");
  }
  if (ref_check_tag_name(&r, err) < 0) {
    ref_free(&r);
    return -1;
  }
  autofree char *full = ref_full(&r);
  autofree char *fam = ref_familiar(&r);
  ref_free(&r);
  char id[DIGEST_STR_SIZE];
  if (image_resolve(e, source, id, err) < 0) return -1;
  if (image_set_ref(e, full, id, err) < 0) return -1;
  pthread_rwlock_rdlock(&IS(e)->lock);
  publish(e, by_id_locked(e, id), id, fam, "tag");
  pthread_rwlock_unlock(&IS(e)->lock);
  return 0;
}

/* ---- references of an image ---- */

typedef struct refname {
  char *full;
  char *familiar;
  bool canonical;
  char *name; /* repository part, full form */
} refname;

static int cmp_ref(const void *a, const void *b) {
  return strcmp(((const refname *)a)->full, ((const refname *)b)->full);
}

static void refs_free(refname *r, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(r[i].full);
    free(r[i].familiar);
    free(r[i].name);
  }
  free(r);
}

/* The references of an image, sorted as Docker's reference store sorts them. */
static refname *refs_of_locked(engine *e, const char *id, size_t *n) {
  refname *out = NULL;
  *n = 0;
  size_t i = 0;
  const char *k;
  void *v;
  while (strmap_next(&IS(e)->refs, &i, &k, &v)) {
    if (strcmp(v, id) != 0) continue;
    image_ref r = {0};
    if (ref_parse(k, &r, NULL) < 0) continue;
    out = xrealloc(out, (*n + 1) * sizeof *out);
    out[*n].full = xstrdup(k);
    out[*n].familiar = ref_familiar(&r);
    out[*n].canonical = r.digest != NULL;
    out[*n].name = ref_full_name(&r);
    (*n)++;
    ref_free(&r);
  }
  if (*n > 1) qsort(out, *n, sizeof *out, cmp_ref);
  return out;
}

json_t *image_repo_tags(engine *e, const char *id) {
  pthread_rwlock_rdlock(&IS(e)->lock);
  size_t n;
  refname *r = refs_of_locked(e, id, &n);
  pthread_rwlock_unlock(&IS(e)->lock);
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    if (!r[i].canonical) json_array_append_new(a, json_string(r[i].familiar));
  refs_free(r, n);
  return a;
}

/* ---- delete ---- */

/* Which containers use an image: provided by the containers module. */
int engine_image_users(engine *e, const char *image_id, bool running, char short_id[13]);

static bool has_children_locked(engine *e, const char *id) {
  size_t i = 0;
  void *v;
  while (strmap_next(&IS(e)->by_id, &i, NULL, &v))
    if (!strcmp(((image *)v)->parent, id)) return true;
  return false;
}

static size_t ref_count_locked(engine *e, const char *id) {
  size_t n = 0, i = 0;
  void *v;
  while (strmap_next(&IS(e)->refs, &i, NULL, &v))
    if (!strcmp(v, id)) n++;
  return n;
}

enum { CONFLICT_CHILD = 1, CONFLICT_RUNNING = 2, CONFLICT_REFERENCE = 4, CONFLICT_STOPPED = 8 };
#define CONFLICT_HARD (CONFLICT_CHILD | CONFLICT_RUNNING)
#define CONFLICT_SOFT (CONFLICT_REFERENCE | CONFLICT_STOPPED)

/* 0 when no conflict; else fills err (409) and returns 1 (hard) or 2 (soft); *used says
 * whether a container caused it. */
static int check_conflict_locked(engine *e, const char *id, int mask, bool *used, arca_err *err) {
  char short_id[13];
  char sid[13];
  snprintf(sid, sizeof sid, "%.12s", id + 7);
  *used = false;
  if ((mask & CONFLICT_CHILD) && has_children_locked(e, id)) {
    err_set(err, 409, "conflict: unable to delete %s (cannot be forced) - image has dependent child images", sid);
    return 1;
  }
  if ((mask & CONFLICT_RUNNING) && engine_image_users(e, id, true, short_id)) {
    *used = true;
    err_set(err, 409, "conflict: unable to delete %s (cannot be forced) - image is being used by running container %s", sid, short_id);
    return 1;
  }
  if ((mask & CONFLICT_REFERENCE) && ref_count_locked(e, id) > 0) {
    err_set(err, 409, "conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", sid);
    return 2;
  }
  if ((mask & CONFLICT_STOPPED) && engine_image_users(e, id, false, short_id)) {
    *used = true;
    err_set(err, 409, "conflict: unable to delete %s (must be forced) - image is being used by stopped container %s", sid, short_id);
    return 2;
  }
  return 0;
}

static int remove_ref_locked(engine *e, const char *full, arca_err *err) {
  store_lock(e->store);
  int rc = store_ref_delete_tx(e->store, full, err);
  store_unlock(e->store);
  if (rc == 0) free(strmap_del(&IS(e)->refs, full));
  return rc;
}

static void add_record(json_t *records, const char *key, const char *value) {
  json_array_append_new(records, json_pack("{s:s}", key, value));
}

static int untag_all_locked(engine *e, const char *id, json_t *records, arca_err *err) {
  size_t n;
  refname *r = refs_of_locked(e, id, &n);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    rc = remove_ref_locked(e, r[i].full, err);
    if (rc == 0) {
      add_record(records, "Untagged", r[i].familiar);
      publish(e, by_id_locked(e, id), id, id, "untag");
    }
  }
  refs_free(r, n);
  return rc;
}

/* imageDeleteHelper: removes the image record and the layers it alone used; with prune,
 * walks up the parents while they are dangling. quiet: a conflict ends the walk silently. */
static int delete_helper_locked(engine *e, const char *id_in, json_t *records, bool force, bool prune,
                                bool quiet, arca_err *err) {
  char id[DIGEST_STR_SIZE];
  snprintf(id, sizeof id, "%s", id_in);
  int mask = CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT);
  bool used;
  arca_err cerr;
  if (check_conflict_locked(e, id, mask, &used, &cerr)) {
    bool dangling = ref_count_locked(e, id) == 0 && !has_children_locked(e, id);
    if (quiet && (!dangling || used)) return 0;
    err_copy(err, &cerr);
    return -1;
  }
  image *img = by_id_locked(e, id);
  if (!img) return 0;
  char parent[DIGEST_STR_SIZE];
  snprintf(parent, sizeof parent, "%s", img->parent);
  if (untag_all_locked(e, id, records, err) < 0) return -1;
  store_lock(e->store);
  int rc = store_image_delete_tx(e->store, id, err);
  store_unlock(e->store);
  if (rc < 0) return -1;
  publish(e, img, id, id, "delete");
  strmap_del(&IS(e)->by_id, id);
  char **removed = NULL;
  size_t nremoved = 0;
  for (size_t i = img->nlayers; i > 0; i--)
    layers_unref(IS(e)->layers, img->layers[i - 1].chain_id, &removed, &nremoved, NULL);
  /* the blobs of this image's manifest-level data and layers it alone had */
  blobs_delete(IS(e)->blobs, id, NULL);
  add_record(records, "Deleted", id);
  for (size_t i = 0; i < nremoved; i++) {
    add_record(records, "Deleted", removed[i]);
    free(removed[i]);
  }
  free(removed);
  image_free(img);
  if (!prune || !parent[0]) return 0;
  return delete_helper_locked(e, parent, records, false, true, true, err);
}

static bool is_id_prefix(const char *id, const char *s) {
  return str_has_prefix(id, s) || str_has_prefix(id + 7, s);
}

static bool single_reference(const refname *r, size_t n) {
  if (n <= 1) return n == 1;
  const refname *single = NULL;
  size_t ncanon = 0;
  const char *canon_name = NULL;
  bool multiple_canon_names = false;
  for (size_t i = 0; i < n; i++) {
    if (r[i].canonical) {
      if (canon_name && strcmp(canon_name, r[i].name)) multiple_canon_names = true;
      canon_name = r[i].name;
      ncanon++;
    } else if (!single) single = &r[i];
    else return false;
  }
  if (!single) single = &r[0];
  return ncanon > 0 && !multiple_canon_names && !strcmp(canon_name, single->name);
}

int image_delete(engine *e, const char *name, bool force, bool noprune, json_t **out, arca_err *err) {
  image_store *is = IS(e);
  json_t *records = json_array();
  pthread_rwlock_wrlock(&is->lock);
  image *img = resolve_locked(e, name, err);
  int rc = -1;
  char id[DIGEST_STR_SIZE];
  size_t n = 0;
  refname *refs = NULL;
  bool removed_repo_ref = false;
  if (!img) goto out;
  memcpy(id, img->id, sizeof id);
  refs = refs_of_locked(e, id, &n);
  char short_id[13];
  if (!is_id_prefix(id, name)) {
    if (!force && single_reference(refs, n) && engine_image_users(e, id, false, short_id) +
                                                   engine_image_users(e, id, true, short_id) > 0) {
      err_set(err, 409, "conflict: unable to remove repository reference \"%s\" (must force) - container %s is using its referenced image %.12s",
              name, short_id, id + 7);
      refs_free(refs, n);
      goto out;
    }
    image_ref r = {0};
    if (ref_parse(name, &r, err) < 0) {
      refs_free(refs, n);
      goto out;
    }
    if (!r.tag && !r.digest) ref_with_default_tag(&r);
    autofree char *full = ref_full(&r);
    autofree char *fam = ref_familiar(&r);
    autofree char *repo = ref_full_name(&r);
    bool canonical = r.digest != NULL;
    ref_free(&r);
    if (remove_ref_locked(e, full, err) < 0) {
      refs_free(refs, n);
      goto out;
    }
    add_record(records, "Untagged", fam);
    publish(e, img, id, id, "untag");
    refs_free(refs, n);
    refs = refs_of_locked(e, id, &n);
    if (!canonical) {
      /* no tag of that repository left: its digest references go too */
      bool tag_left = false;
      for (size_t i = 0; i < n; i++)
        if (!refs[i].canonical && !strcmp(refs[i].name, repo)) tag_left = true;
      if (!tag_left) {
        for (size_t i = 0; i < n; i++) {
          if (!refs[i].canonical || strcmp(refs[i].name, repo)) continue;
          if (remove_ref_locked(e, refs[i].full, err) < 0) {
            refs_free(refs, n);
            goto done_partial;
          }
          add_record(records, "Untagged", refs[i].familiar);
        }
        refs_free(refs, n);
        refs = refs_of_locked(e, id, &n);
      }
    }
    if (n > 0) {
      refs_free(refs, n);
      rc = 0;
      goto out;
    }
    removed_repo_ref = true;
  } else if (single_reference(refs, n)) {
    int mask = CONFLICT_HARD | (force ? 0 : CONFLICT_STOPPED);
    bool used;
    if (check_conflict_locked(e, id, mask, &used, err)) {
      refs_free(refs, n);
      goto out;
    }
    for (size_t i = 0; i < n; i++) {
      if (remove_ref_locked(e, refs[i].full, err) < 0) {
        refs_free(refs, n);
        goto out;
      }
      add_record(records, "Untagged", refs[i].familiar);
      publish(e, img, id, id, "untag");
    }
  }
  refs_free(refs, n);
  rc = delete_helper_locked(e, id, records, force, !noprune, removed_repo_ref, err);
  goto out;
done_partial:
  rc = 0;
out:
  pthread_rwlock_unlock(&is->lock);
  if (rc == 0) *out = records;
  else json_decref(records);
  return rc;
}

/* ---- prune ---- */

int images_prune(engine *e, const char *filters_json, json_t **out, arca_err *err) {
  static const char *const accepted[] = {"dangling", "label", "label!", "until", NULL};
  filters *f = NULL;
  if (filters_parse(filters_json, &f, err) < 0) return -1;
  if (filters_validate(f, accepted, err) < 0) {
    filters_free(f);
    return -1;
  }
  int dangling = 1;
  if (filters_get_bool(f, "dangling", 1, &dangling, err) < 0) {
    filters_free(f);
    return -1;
  }
  int64_t until = 0;
  if (filters_has(f, "until")) {
    if (parse_docker_time(filters_value(f, "until", 0), now_ns(), &until, err) < 0) {
      filters_free(f);
      return -1;
    }
  }
  int64_t before = layers_total_size(IS(e)->layers);
  json_t *deleted = json_array();
  pthread_rwlock_wrlock(&IS(e)->lock);
  for (bool again = true; again;) {
    again = false;
    size_t i = 0;
    void *v;
    while (strmap_next(&IS(e)->by_id, &i, NULL, &v)) {
      image *img = v;
      /* candidates: heads (no children); dangling only: without references */
      if (img->containers > 0 || has_children_locked(e, img->id)) continue;
      if (dangling && ref_count_locked(e, img->id) > 0) continue;
      if (until && img->created_ns >= until) continue;
      json_t *labels = json_object_get(json_object_get(img->config, "config"), "Labels");
      if (!filters_match_label_rules(f, labels)) continue;
      char short_id[13];
      if (engine_image_users(e, img->id, false, short_id) || engine_image_users(e, img->id, true, short_id)) continue;
      arca_err derr;
      json_t *records = json_array();
      char id[DIGEST_STR_SIZE];
      memcpy(id, img->id, sizeof id);
      if (untag_all_locked(e, id, records, &derr) == 0 &&
          delete_helper_locked(e, id, records, false, true, false, &derr) == 0)
        again = true;
      json_array_extend(deleted, records);
      json_decref(records);
      if (again) break; /* the map changed under the iterator */
    }
  }
  pthread_rwlock_unlock(&IS(e)->lock);
  filters_free(f);
  int64_t reclaimed = before - layers_total_size(IS(e)->layers);
  if (reclaimed < 0) reclaimed = 0;
  char rec[32];
  snprintf(rec, sizeof rec, "%lld", (long long)reclaimed);
  events_publish(e->events, "image", "prune", "", json_pack("{s:s}", "reclaimed", rec));
  if (json_array_size(deleted) == 0) {
    json_decref(deleted);
    deleted = json_null();
  }
  *out = json_pack("{s:o,s:I}", "ImagesDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed);
  return 0;
}
