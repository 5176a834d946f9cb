/* POST /commit: a new image from a container's writable layer, with Docker's changes,
 * comment, author and pause. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "engine/commit.h"
#include "engine/container_internal.h"
#include "engine/engine.h"
#include "engine/image_archive.h"
#include "image/reference.h"

int container_commit(engine *e, const char *name, const char *repo, const char *tag, const char *comment,
                     const char *author, bool pause, const char *const *changes, size_t nchanges,
                     const json_t *config_override, char id_out[72], arca_err *err) {
  image_ref r = {0};
  autofree char *full = NULL;
  if (repo && *repo) {
    if (ref_repo_tag_reference(repo, tag ? tag : "", &r, err) < 0) return -1;
    if (r.digest) {
      ref_free(&r);
      return err_set(err, 400, "cannot commit to digest reference");
    }
    full = ref_full(&r);
  }
  container *c;
  if (container_get(e, name, &c, err) < 0) {
    ref_free(&r);
    return -1;
  }
  int rc = 0;
  json_t *base = NULL, *config = NULL;
  bool paused_here = false;
  blob_writer *w = NULL;
  char diff_id[72], digest[72];
  int64_t size = 0, csize = 0;
  json_t *cfg = NULL;
  char image_id[72];
  size_t nchain = 0;
  char **chain = NULL;
  if (!e->driver) {
    rc = err_set(err, 500, "the container runtime is not available");
    goto out;
  }
  pthread_mutex_lock(&c->lock);
  if (pause && c->state == CS_RUNNING && e->driver->ops->pause(e->driver, c->id, err) == 0) paused_here = true;
  cfg = json_deep_copy(c->config);
  memcpy(image_id, c->image_id, sizeof image_id);
  nchain = c->nchain;
  chain = xcalloc(nchain + 1, sizeof *chain);
  for (size_t i = 0; i < nchain; i++) chain[i] = xstrdup(c->chain_ids[i]);
  pthread_mutex_unlock(&c->lock);
  rc = blobs_writer_new(e->images.blobs, NULL, &w, err);
  if (rc == 0) rc = e->driver->ops->commit_layer(e->driver, c->id, blobs_writer_fd(w), diff_id, digest, &size, &csize, err);
  if (paused_here) e->driver->ops->resume(e->driver, c->id, NULL);
  if (rc == 0) rc = blobs_writer_commit_trusted(w, digest, err);
  if (rc == 0) {
    /* the new layer on top of the container's image layers */
    int bfd;
    rc = blobs_open_read(e->images.blobs, digest, &bfd, err);
    if (rc == 0) {
      layer_rec rec;
      rc = layers_unpack(e->images.layers, nchain ? chain[nchain - 1] : "", bfd, diff_id, NULL, NULL, &rec, err);
      close(bfd);
    }
  }
  if (rc == 0 && image_config(e, image_id, &base, err) < 0) {
    /* the image was force-removed: start from an empty config */
    base = json_pack("{s:s,s:s,s:{s:s,s:[]}}", "architecture", e->host.go_arch, "os", "linux", "rootfs", "type",
                     "layers", "diff_ids");
  }
  if (rc == 0) {
    /* the container's config becomes the image's, with the changes applied */
    json_t *cc = json_is_object(config_override) ? json_deep_copy(config_override) : json_deep_copy(cfg);
    static const char *const drop[] = {"Hostname", "Domainname", "AttachStdin", "AttachStdout", "AttachStderr",
                                       "OpenStdin", "StdinOnce", "Tty", "Image", "NetworkDisabled", "MacAddress"};
    for (size_t i = 0; i < ARRAY_LEN(drop); i++) json_object_del(cc, drop[i]);
    rc = image_apply_changes(cc, changes, nchanges, err);
    config = base;
    base = NULL;
    json_object_set_new(config, "config", cc);
    char now[64];
    format_rfc3339nano(now_ns(), now, sizeof now);
    json_object_set_new(config, "created", json_string(now));
    json_object_set_new(config, "container", json_string(c->id));
    if (author && *author) json_object_set_new(config, "author", json_string(author));
    if (comment && *comment) json_object_set_new(config, "comment", json_string(comment));
    else json_object_del(config, "comment");
    json_t *rootfs = json_object_get(config, "rootfs");
    if (!json_is_object(rootfs)) {
      rootfs = json_pack("{s:s,s:[]}", "type", "layers", "diff_ids");
      json_object_set_new(config, "rootfs", rootfs);
    }
    json_array_append_new(json_object_get(rootfs, "diff_ids"), json_string(diff_id));
    json_t *history = json_object_get(config, "history");
    if (!json_is_array(history)) {
      history = json_array();
      json_object_set_new(config, "history", history);
    }
    json_t *h = json_pack("{s:s}", "created", now);
    if (author && *author) json_object_set_new(h, "author", json_string(author));
    if (comment && *comment) json_object_set_new(h, "comment", json_string(comment));
    json_array_append_new(history, h);
  }
  if (rc == 0) {
    char **chain_ids = NULL;
    size_t n = 0;
    image_layer *layers = NULL;
    if (image_chain_ids(e, image_id, &chain_ids, &n, NULL) == 0) {
      pthread_rwlock_rdlock(&e->images.lock);
      image *img = strmap_get(&e->images.by_id, image_id);
      layers = xcalloc(n + 2, sizeof *layers);
      if (img) memcpy(layers, img->layers, img->nlayers * sizeof *layers);
      pthread_rwlock_unlock(&e->images.lock);
    } else {
      layers = xcalloc(nchain + 2, sizeof *layers);
      n = 0;
    }
    image_layer *top = &layers[n];
    snprintf(top->diff_id, sizeof top->diff_id, "%s", diff_id);
    snprintf(top->digest, sizeof top->digest, "%s", digest);
    snprintf(top->media_type, sizeof top->media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
    top->blob_size = csize;
    layers_chain_id(n ? layers[n - 1].chain_id : "", diff_id, top->chain_id);
    autofree char *text = json_dumps(config, JSON_COMPACT);
    const char *tags[1] = {full};
    image_new in = {.config_text = text, .config_len = strlen(text), .layers = layers, .nlayers = n + 1,
                    .parent = image_id, .tags = tags, .ntags = full ? 1 : 0};
    rc = image_create(e, &in, id_out, err);
    for (size_t i = 0; i < n; i++) free(chain_ids[i]);
    free(chain_ids);
    free(layers);
  }
  if (rc == 0) {
    autofree char *fam = full ? ref_familiar(&r) : xstrdup("");
    container_event(e, c, "commit", json_pack("{s:s}", "comment", comment ? comment : ""));
    events_publish(e->events, "image", "commit", id_out, json_pack("{s:s}", "name", fam));
  }
out:
  for (size_t i = 0; i < nchain; i++) free(chain[i]);
  free(chain);
  json_decref(cfg);
  if (w) blobs_writer_free(w);
  json_decref(base);
  json_decref(config);
  ref_free(&r);
  container_put(e, c);
  return rc;
}
