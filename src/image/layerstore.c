#include "image/layerstore.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/util.h"
#include "image/layer.h"
#include "store/store_images.h"

struct layer_store {
  char *root; /* <data-root>/layers */
  store *db;
  pthread_mutex_t lock;
  strmap layers;          /* chain id -> layer_rec* */
  pthread_mutex_t unpack; /* one unpack at a time per store: avoids unpacking a layer twice */
};

static const char *hex_of(const char *digest) {
  const char *c = strchr(digest, ':');
  return c ? c + 1 : digest;
}

void layers_chain_id(const char *parent_chain, const char *diff_id, char out[DIGEST_STR_SIZE]) {
  if (!parent_chain || !*parent_chain) {
    snprintf(out, DIGEST_STR_SIZE, "%s", diff_id);
    return;
  }
  autofree char *s = xasprintf("%s %s", parent_chain, diff_id);
  digest_buffer(s, strlen(s), out);
}

char *layers_dir(layer_store *ls, const char *chain_id) {
  return xasprintf("%s/%s", ls->root, hex_of(chain_id));
}

static void load_row(void *ctx, const char *chain_id, const char *diff_id, const char *parent, int64_t size) {
  layer_store *ls = ctx;
  autofree char *dir = layers_dir(ls, chain_id);
  struct stat st;
  if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
    log_kv(LOG_WARN, "layer record without its directory; dropped", "chain_id", chain_id, NULL);
    store_lock(ls->db);
    store_layer_delete_tx(ls->db, chain_id, NULL);
    store_unlock(ls->db);
    return;
  }
  layer_rec *r = xcalloc(1, sizeof *r);
  snprintf(r->chain_id, sizeof r->chain_id, "%s", chain_id);
  snprintf(r->diff_id, sizeof r->diff_id, "%s", diff_id);
  snprintf(r->parent, sizeof r->parent, "%s", parent);
  r->size = size;
  strmap_put(&ls->layers, chain_id, r);
}

/* Directories that are no recorded layer: temp dirs of a crashed unpack, or layers whose
 * record never got written. */
static void sweep_dirs(layer_store *ls) {
  DIR *d = opendir(ls->root);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    autofree char *digest = xasprintf("sha256:%s", e->d_name);
    if (strmap_get(&ls->layers, digest)) continue;
    autofree char *p = xasprintf("%s/%s", ls->root, e->d_name);
    rm_rf(p, NULL);
  }
  closedir(d);
}

int layers_open(const char *data_root, store *db, layer_store **out, arca_err *err) {
  layer_store *ls = xcalloc(1, sizeof *ls);
  ls->root = xasprintf("%s/layers", data_root);
  ls->db = db;
  pthread_mutex_init(&ls->lock, NULL);
  pthread_mutex_init(&ls->unpack, NULL);
  strmap_init(&ls->layers);
  if (mkdir_p(ls->root, 0700, err) < 0 || store_layers_load(db, load_row, ls, err) < 0) {
    layers_close(ls);
    return -1;
  }
  sweep_dirs(ls);
  *out = ls;
  return 0;
}

void layers_close(layer_store *ls) {
  if (!ls) return;
  size_t i = 0;
  void *v;
  while (strmap_next(&ls->layers, &i, NULL, &v)) free(v);
  strmap_free(&ls->layers);
  pthread_mutex_destroy(&ls->lock);
  pthread_mutex_destroy(&ls->unpack);
  free(ls->root);
  free(ls);
}

bool layers_get(layer_store *ls, const char *chain_id, layer_rec *out) {
  pthread_mutex_lock(&ls->lock);
  layer_rec *r = strmap_get(&ls->layers, chain_id);
  if (r && out) *out = *r;
  pthread_mutex_unlock(&ls->lock);
  return r != NULL;
}

int layers_unpack(layer_store *ls, const char *parent_chain, int fd, const char *expected_diff_id,
                  void (*progress)(void *ctx, uint64_t consumed), void *ctx, layer_rec *out,
                  arca_err *err) {
  if (parent_chain && *parent_chain && !layers_get(ls, parent_chain, NULL))
    return err_set(err, 500, "parent layer %s does not exist", parent_chain);
  if (expected_diff_id) {
    char chain[DIGEST_STR_SIZE];
    layers_chain_id(parent_chain, expected_diff_id, chain);
    if (layers_get(ls, chain, out)) return 0;
  }
  pthread_mutex_lock(&ls->unpack);
  char rnd[17];
  random_hex(rnd, 8);
  autofree char *tmp = xasprintf("%s/tmp-%s", ls->root, rnd);
  autofree char *final = NULL;
  int rc = -1;
  layer_rec r = {0};
  layer_rec *heap = NULL;
  layer_unpack_result res;
  if (mkdir(tmp, 0755) < 0) {
    err_errno(err, 500, errno, "create %s", tmp);
    goto out;
  }
  if (layer_unpack_fd(fd, tmp, progress, ctx, &res, err) < 0) {
    rm_rf(tmp, NULL);
    goto out;
  }
  if (expected_diff_id && strcmp(res.diff_id, expected_diff_id) != 0) {
    rm_rf(tmp, NULL);
    err_set(err, 400, "layer content does not match its diff ID: expected %s, got %s", expected_diff_id, res.diff_id);
    goto out;
  }
  layers_chain_id(parent_chain, res.diff_id, r.chain_id);
  snprintf(r.diff_id, sizeof r.diff_id, "%s", res.diff_id);
  snprintf(r.parent, sizeof r.parent, "%s", parent_chain ? parent_chain : "");
  r.size = (int64_t)res.content_size;
  if (layers_get(ls, r.chain_id, out)) { /* someone made it meanwhile */
    rm_rf(tmp, NULL);
    rc = 0;
    goto out;
  }
  final = layers_dir(ls, r.chain_id);
  rm_rf(final, NULL); /* a directory without record, from a crash */
  if (rename(tmp, final) < 0) {
    err_errno(err, 500, errno, "publish layer %s", r.chain_id);
    rm_rf(tmp, NULL);
    goto out;
  }
  fsync_dir_of(final);
  store_lock(ls->db);
  rc = store_layer_put_tx(ls->db, r.chain_id, r.diff_id, r.parent, r.size, err);
  store_unlock(ls->db);
  if (rc < 0) {
    rm_rf(final, NULL);
    goto out;
  }
  heap = xmalloc(sizeof *heap);
  *heap = r;
  pthread_mutex_lock(&ls->lock);
  strmap_put(&ls->layers, r.chain_id, heap);
  pthread_mutex_unlock(&ls->lock);
  *out = r;
  rc = 0;
out:
  pthread_mutex_unlock(&ls->unpack);
  return rc;
}

void layers_ref(layer_store *ls, const char *chain_id) {
  pthread_mutex_lock(&ls->lock);
  layer_rec *r = strmap_get(&ls->layers, chain_id);
  if (r) r->refs++;
  pthread_mutex_unlock(&ls->lock);
}

static int remove_layer_locked(layer_store *ls, layer_rec *r, arca_err *err) {
  store_lock(ls->db);
  int rc = store_layer_delete_tx(ls->db, r->chain_id, err);
  store_unlock(ls->db);
  if (rc < 0) return -1;
  autofree char *dir = layers_dir(ls, r->chain_id);
  /* rename first so that a half-removed tree never sits under a chain ID */
  autofree char *trash = xasprintf("%s/tmp-rm-%s", ls->root, hex_of(r->chain_id));
  if (rename(dir, trash) == 0) rm_rf(trash, NULL);
  else rm_rf(dir, NULL);
  strmap_del(&ls->layers, r->chain_id);
  free(r);
  return 0;
}

int layers_unref(layer_store *ls, const char *chain_id, char ***removed, size_t *nremoved, arca_err *err) {
  pthread_mutex_lock(&ls->lock);
  layer_rec *r = strmap_get(&ls->layers, chain_id);
  int rc = 0;
  if (r && --r->refs <= 0) {
    char id[DIGEST_STR_SIZE];
    snprintf(id, sizeof id, "%s", r->chain_id);
    rc = remove_layer_locked(ls, r, err);
    if (rc == 0 && removed) {
      *removed = xrealloc(*removed, (*nremoved + 1) * sizeof **removed);
      (*removed)[(*nremoved)++] = xstrdup(id);
    }
  }
  pthread_mutex_unlock(&ls->lock);
  return rc;
}

int layers_gc(layer_store *ls) {
  int n = 0;
  pthread_mutex_lock(&ls->lock);
  for (bool again = true; again;) {
    again = false;
    size_t i = 0;
    void *v;
    while (strmap_next(&ls->layers, &i, NULL, &v)) {
      layer_rec *r = v;
      if (r->refs > 0) continue;
      log_kv(LOG_INFO, "removing an unreferenced layer", "chain_id", r->chain_id, NULL);
      if (remove_layer_locked(ls, r, NULL) == 0) n++;
      again = true; /* the map changed under the iterator */
      break;
    }
  }
  pthread_mutex_unlock(&ls->lock);
  return n;
}

int64_t layers_total_size(layer_store *ls) {
  int64_t total = 0;
  pthread_mutex_lock(&ls->lock);
  size_t i = 0;
  void *v;
  while (strmap_next(&ls->layers, &i, NULL, &v)) total += ((layer_rec *)v)->size;
  pthread_mutex_unlock(&ls->lock);
  return total;
}
