/* Rows of images, references and layers (migration 2). Writers call these inside a
 * transaction (store_tx_begin/commit); loaders take the lock themselves. */
#ifndef ARCA_STORE_STORE_IMAGES_H
#define ARCA_STORE_STORE_IMAGES_H

#include <stdint.h>

#include "store/store.h"

typedef struct image_row {
  const char *id;           /* sha256:... of the config */
  const char *config;       /* the config JSON as stored in the blob */
  const char *layers;       /* JSON: [{"chain_id","diff_id","digest","size","media_type"}] */
  const char *parent;       /* parent image id (built images) or "" */
  int64_t created_ns;       /* when this daemon stored it */
  int64_t last_tag_ns;
  int64_t size;
  const char *extra;        /* JSON object: manifest digests per repository, ... */
} image_row;

int store_image_put_tx(store *s, const image_row *row, arca_err *err);
int store_image_delete_tx(store *s, const char *id, arca_err *err);
int store_ref_put_tx(store *s, const char *name, const char *image_id, arca_err *err);
int store_ref_delete_tx(store *s, const char *name, arca_err *err);
int store_layer_put_tx(store *s, const char *chain_id, const char *diff_id, const char *parent,
                       int64_t size, arca_err *err);
int store_layer_delete_tx(store *s, const char *chain_id, arca_err *err);

typedef void (*store_image_cb)(void *ctx, const image_row *row);
typedef void (*store_ref_cb)(void *ctx, const char *name, const char *image_id);
typedef void (*store_layer_cb)(void *ctx, const char *chain_id, const char *diff_id,
                               const char *parent, int64_t size);
int store_images_load(store *s, store_image_cb cb, void *ctx, arca_err *err);
int store_refs_load(store *s, store_ref_cb cb, void *ctx, arca_err *err);
int store_layers_load(store *s, store_layer_cb cb, void *ctx, arca_err *err);

#endif
