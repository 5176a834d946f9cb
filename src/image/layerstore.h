/* Unpacked layers, one directory per chain ID under <data-root>/layers/<hex>, each an
 * overlay lower directory. A layer is unpacked once into layers/tmp-<random> and renamed to
 * its chain ID only when complete, then recorded in the store; a crash leaves at worst a
 * temp directory, removed at the next start.
 *
 * Lock: ls->lock guards the map and the reference counts. References are taken by images
 * (each chain ID of their rootfs) and by containers; a layer whose count drops to zero is
 * removed. */
#ifndef ARCA_IMAGE_LAYERSTORE_H
#define ARCA_IMAGE_LAYERSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "image/digest.h"
#include "store/store.h"

typedef struct layer_rec {
  char chain_id[DIGEST_STR_SIZE];
  char diff_id[DIGEST_STR_SIZE];
  char parent[DIGEST_STR_SIZE]; /* parent chain ID or "" */
  int64_t size;                 /* bytes of regular files in the layer */
  int refs;
} layer_rec;

typedef struct layer_store layer_store;

int layers_open(const char *data_root, store *db, layer_store **out, arca_err *err);
void layers_close(layer_store *ls);

/* ChainID(parent, diff) as the OCI image spec defines it; parent may be "" or NULL. */
void layers_chain_id(const char *parent_chain, const char *diff_id, char out[DIGEST_STR_SIZE]);
char *layers_dir(layer_store *ls, const char *chain_id);
bool layers_get(layer_store *ls, const char *chain_id, layer_rec *out);

/* Unpacks a layer tar read from fd on top of parent_chain. expected_diff_id (may be NULL)
 * must match what the tar hashes to. When the layer exists already the stream is not read
 * and *out describes the existing one. progress (may be NULL) gets compressed bytes read. */
int layers_unpack(layer_store *ls, const char *parent_chain, int fd, const char *expected_diff_id,
                  void (*progress)(void *ctx, uint64_t consumed), void *ctx, layer_rec *out,
                  arca_err *err);

void layers_ref(layer_store *ls, const char *chain_id);
/* Drops one reference; a layer that falls to zero is removed (directory and record) and its
 * chain ID appended to *removed (caller frees each and the array). */
int layers_unref(layer_store *ls, const char *chain_id, char ***removed, size_t *nremoved, arca_err *err);
/* Removes layers nobody references (after a crash mid-pull). Returns how many. */
int layers_gc(layer_store *ls);
/* Sum of the sizes of all layers (system df LayersSize). */
int64_t layers_total_size(layer_store *ls);

#endif
