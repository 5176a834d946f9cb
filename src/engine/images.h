/* Images: records, references, lookups and Docker's image operations (list, inspect,
 * history, tag, delete, prune). Pull, push, save, load and import live in image_*.c.
 *
 * Lock: images->lock (rwlock) guards the image map, the reference map and the per-image
 * container counts. Blob and layer stores have their own locks and are never called with
 * images->lock held for writing across a long operation (downloads, unpacking). */
#ifndef ARCA_ENGINE_IMAGES_H
#define ARCA_ENGINE_IMAGES_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/filters.h"
#include "common/strmap.h"
#include "image/blobs.h"
#include "image/digest.h"
#include "image/layerstore.h"

struct engine;

typedef struct image_layer {
  char chain_id[DIGEST_STR_SIZE];
  char diff_id[DIGEST_STR_SIZE];
  char digest[DIGEST_STR_SIZE];  /* compressed blob in the content store, or "" */
  int64_t blob_size;             /* its size */
  char media_type[96];
  int64_t size;                  /* unpacked content size */
} image_layer;

typedef struct image {
  char id[DIGEST_STR_SIZE];      /* digest of the config blob */
  char *config_text;             /* the config exactly as stored */
  json_t *config;                /* parsed */
  image_layer *layers;
  size_t nlayers;
  char parent[DIGEST_STR_SIZE];  /* built images: the image of the previous step */
  int64_t created_ns;            /* config "created", 0 when absent */
  int64_t stored_ns;
  int64_t last_tag_ns;
  int64_t size;                  /* sum of the layers' content */
  json_t *extra;                 /* {"manifests": {"<repo>": "<manifest digest>"}} */
  int containers;                /* containers created from it */
} image;

typedef struct image_store {
  pthread_rwlock_t lock;
  strmap by_id;     /* id -> image* */
  strmap refs;      /* full reference ("docker.io/library/busybox:latest", "...@sha256:") -> id (char*) */
  blob_store *blobs;
  layer_store *layers;
} image_store;

int images_open(struct engine *e, arca_err *err);
void images_close(struct engine *e);
size_t images_count(struct engine *e);

/* Docker's GetImage: full or short ID, name[:tag] (latest by default), name@digest.
 * 404 "No such image: <name>", 400 for a malformed reference. */
int image_resolve(struct engine *e, const char *name, char id_out[DIGEST_STR_SIZE], arca_err *err);
/* A copy of an image's config (caller decrefs), and its layer directories lowest first. */
int image_config(struct engine *e, const char *id, json_t **config, arca_err *err);
int image_layer_dirs(struct engine *e, const char *id, char ***dirs, size_t *n, arca_err *err);
/* Containers hold their image: counted for `docker images` and delete conflicts, and the
 * layers (chain IDs, recorded with the container) stay while they exist, even when the
 * image itself is force-removed. */
int image_chain_ids(struct engine *e, const char *id, char ***chain_ids, size_t *n, arca_err *err);
void image_hold(struct engine *e, const char *id, const char *const *chain_ids, size_t n);
void image_release(struct engine *e, const char *id, const char *const *chain_ids, size_t n);

/* A new image in the store: the config blob (stored here), its layers (already unpacked,
 * blobs already stored), references to point at it (full names), the repository digests to
 * record (full "name@sha256:" forms), and the parent for built images. Publishes one
 * transaction; returns the image ID. Emits no event (callers know which). */
typedef struct image_new {
  const char *config_text;
  size_t config_len;
  const image_layer *layers;
  size_t nlayers;
  const char *parent;
  const char *const *tags;        /* full tag references */
  size_t ntags;
  const char *const *digest_refs; /* full canonical references */
  size_t ndigest_refs;
} image_new;
int image_create(struct engine *e, const image_new *in, char id_out[DIGEST_STR_SIZE], arca_err *err);

/* Points a full reference at an image (replacing where it pointed). */
int image_set_ref(struct engine *e, const char *full_ref, const char *id, arca_err *err);
bool image_has_all_layers(struct engine *e, const char *id);

/* Docker documents */
json_t *image_inspect_json(struct engine *e, const char *id, int api_minor);
int images_list_json(struct engine *e, bool all, bool digests, bool shared_size, const char *filters_json,
                     int api_minor, json_t **out, arca_err *err);
int image_history_json(struct engine *e, const char *name, json_t **out, arca_err *err);
/* POST /images/{name}/tag */
int image_tag(struct engine *e, const char *source, const char *repo, const char *tag, arca_err *err);
/* DELETE /images/{name}: Docker's list of {"Untagged"} / {"Deleted"} */
int image_delete(struct engine *e, const char *name, bool force, bool noprune, json_t **out, arca_err *err);
/* POST /images/prune */
int images_prune(struct engine *e, const char *filters_json, json_t **out, arca_err *err);
/* system df: Images array and LayersSize */
json_t *images_df_json(struct engine *e, int64_t *layers_size);

/* Familiar forms of an image's tags and digests (caller decrefs). */
json_t *image_repo_tags(struct engine *e, const char *id);

#endif
