/* Step images of the classic builder: the cache probe (local cache and --cache-from), the
 * step's container, its layer, and the image config as moby's image.NewChildImage writes
 * it (container_config, history with "#(nop)" CreatedBy, empty_layer for steps that add
 * no files). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/run_config.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "engine/build_internal.h"
#include "engine/engine.h"
#include "image/layer.h"

static void platform_of(const dispatch_state *st, char *out, size_t n) {
  if (st->variant[0])
    snprintf(out, n, "%s/%s/%s", st->os, st->arch, st->variant);
  else
    snprintf(out, n, "%s/%s", st->os, st->arch);
}

static void cache_key(const dispatch_state *st, const json_t *cfg, char key[DIGEST_STR_SIZE]) {
  char plat[64];
  platform_of(st, plat, sizeof plat);
  runcfg_cache_key(cfg, plat, key);
}

/* The layers of an image record, copied (images->lock taken here). */
static image_layer *layers_of(engine *e, const char *id, size_t *n) {
  *n = 0;
  if (!id || !*id) return xcalloc(1, sizeof(image_layer));
  pthread_rwlock_rdlock(&e->images.lock);
  image *img = strmap_get(&e->images.by_id, id);
  image_layer *out = xcalloc((img ? img->nlayers : 0) + 2, sizeof *out);
  if (img) {
    memcpy(out, img->layers, img->nlayers * sizeof *out);
    *n = img->nlayers;
  }
  pthread_rwlock_unlock(&e->images.lock);
  return out;
}

bool build_image_has_layers(build_job *j, const dispatch_state *st) {
  size_t n;
  free(layers_of(j->e, st->image_id, &n));
  return n > 0;
}

static char *join_cmd(const json_t *cmd) {
  strbuf sb;
  sb_init(&sb);
  size_t i;
  json_t *v;
  json_array_foreach(cmd, i, v) {
    if (i) sb_puts(&sb, " ");
    sb_puts(&sb, json_string_value(v) ?: "");
  }
  return sb.buf ? sb_steal(&sb) : xstrdup("");
}

/* ---- --cache-from (moby image/cache ImageCache) ---- */

static bool is_ancestor(engine *e, const char *of, const char *id) {
  pthread_rwlock_rdlock(&e->images.lock);
  image *img = strmap_get(&e->images.by_id, of);
  bool found = false;
  for (int depth = 0; img && img->parent[0] && depth < 10000; depth++) {
    if (!strcmp(img->parent, id)) {
      found = true;
      break;
    }
    img = strmap_get(&e->images.by_id, img->parent);
  }
  pthread_rwlock_unlock(&e->images.lock);
  return found;
}

static json_t *diff_ids(const json_t *cfg) {
  return json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
}

static bool valid_parent(const json_t *img, const json_t *parent) {
  json_t *ih = json_object_get(img, "history");
  if (!json_array_size(ih)) return false;
  json_t *ph = json_object_get(parent, "history");
  if (!parent || (!json_array_size(ph) && !json_array_size(diff_ids(parent)))) return true;
  if (json_array_size(ph) >= json_array_size(ih)) return false;
  if (json_array_size(diff_ids(parent)) > json_array_size(diff_ids(img))) return false;
  for (size_t i = 0; i < json_array_size(ph); i++)
    if (!json_equal(json_array_get(ph, i), json_array_get(ih, i))) return false;
  for (size_t i = 0; i < json_array_size(diff_ids(parent)); i++)
    if (!json_equal(json_array_get(diff_ids(parent), i), json_array_get(diff_ids(img), i)))
      return false;
  return true;
}

/* getLayerForHistoryIndex: the layer index of history entry idx, -1 for an empty one. */
static int layer_index(const json_t *img, size_t idx) {
  json_t *h = json_object_get(img, "history");
  int li = 0;
  for (size_t i = 0; i < json_array_size(h); i++) {
    bool empty = json_is_true(json_object_get(json_array_get(h, i), "empty_layer"));
    if (i == idx) return empty ? -1 : li;
    if (!empty) li++;
  }
  return -1;
}

static int restore_cached(build_job *j, const dispatch_state *st, const json_t *parent_cfg,
                          const char *target_id, const json_t *target, const json_t *cfg,
                          char out[DIGEST_STR_SIZE], arca_err *err) {
  size_t plen = json_array_size(json_object_get(parent_cfg, "history"));
  json_t *history = parent_cfg ? json_deep_copy(json_object_get(parent_cfg, "history")) : NULL;
  if (!json_is_array(history)) {
    json_decref(history);
    history = json_array();
  }
  json_t *entry = json_array_get(json_object_get(target, "history"), plen);
  json_array_append(history, entry);
  json_t *diffs = parent_cfg && json_is_array(diff_ids(parent_cfg))
                      ? json_deep_copy(diff_ids(parent_cfg))
                      : json_array();
  size_t nparent;
  image_layer *layers = layers_of(j->e, st->image_id, &nparent);
  int li = layer_index(target, plen);
  if (li >= 0) {
    json_array_append(diffs, json_array_get(diff_ids(target), (size_t)li));
    size_t nt;
    image_layer *tl = layers_of(j->e, target_id, &nt);
    if ((size_t)li < nt) layers[nparent++] = tl[li];
    free(tl);
  }
  json_t *c = json_object();
  json_object_set(c, "created", json_object_get(entry, "created"));
  json_object_set_new(c, "container_config", runcfg_normalize(NULL));
  json_object_set_new(c, "docker_version", json_string(ARCA_VERSION));
  const char *author = json_string_value(json_object_get(target, "author"));
  if (author && *author) json_object_set_new(c, "author", json_string(author));
  json_object_set_new(c, "config", runcfg_normalize(cfg));
  json_object_set(c, "architecture", json_object_get(target, "architecture"));
  json_object_set(c, "os", json_object_get(target, "os"));
  json_t *rootfs = json_pack("{s:s}", "type", "layers");
  if (json_array_size(diffs)) json_object_set(rootfs, "diff_ids", diffs);
  json_decref(diffs);
  json_object_set_new(c, "rootfs", rootfs);
  json_object_set_new(c, "history", history);
  if (json_object_get(target, "os.version"))
    json_object_set(c, "os.version", json_object_get(target, "os.version"));
  if (json_object_get(target, "os.features"))
    json_object_set(c, "os.features", json_object_get(target, "os.features"));
  autofree char *text = json_dumps(c, JSON_COMPACT);
  json_decref(c);
  image_new in = {.config_text = text,
                  .config_len = strlen(text),
                  .layers = layers,
                  .nlayers = nparent,
                  .parent = st->image_id[0] ? st->image_id : NULL};
  int rc = image_create(j->e, &in, out, err);
  free(layers);
  return rc;
}

static int probe_sources(build_job *j, const dispatch_state *st, const json_t *cfg, const char *key,
                         char hit[DIGEST_STR_SIZE], arca_err *err) {
  char local[DIGEST_STR_SIZE];
  if (build_cache_lookup(j->e, st->image_id, key, st->arch, local)) {
    for (size_t i = 0; i < j->ncache_from; i++)
      if (is_ancestor(j->e, j->cache_from[i], local)) {
        memcpy(hit, local, DIGEST_STR_SIZE);
        return 1;
      }
  }
  autojson json_t *parent = NULL;
  if (st->image_id[0] && image_config(j->e, st->image_id, &parent, err) < 0) return -1;
  size_t plen = json_array_size(json_object_get(parent, "history"));
  autofree char *created_by = join_cmd(json_object_get(cfg, "Cmd"));
  for (size_t i = 0; i < j->ncache_from; i++) {
    autojson json_t *target = NULL;
    if (image_config(j->e, j->cache_from[i], &target, NULL) < 0) continue;
    if (!valid_parent(target, parent)) continue;
    json_t *th = json_object_get(target, "history");
    if (plen >= json_array_size(th)) continue;
    const char *cb =
        json_string_value(json_object_get(json_array_get(th, plen), "created_by")) ?: "";
    if (strcmp(cb, created_by)) continue;
    if (json_array_size(th) - 1 == plen) {
      memcpy(hit, j->cache_from[i], DIGEST_STR_SIZE);
    } else if (restore_cached(j, st, parent, j->cache_from[i], target, cfg, hit, err) < 0) {
      return err_wrap(err, "failed to restore cached image from %s to %s", st->image_id,
                      j->cache_from[i]);
    }
    /* avoid jumping to a different target, as dockerd */
    memcpy(j->cache_from[0], j->cache_from[i], DIGEST_STR_SIZE);
    j->ncache_from = 1;
    return 1;
  }
  return 0;
}

int build_probe(build_job *j, dispatch_state *st, const json_t *probe_cfg, arca_err *err) {
  if (j->o.nocache || st->cache_busted) return 0;
  char key[DIGEST_STR_SIZE], hit[DIGEST_STR_SIZE];
  cache_key(st, probe_cfg, key);
  int found;
  if (j->ncache_from) {
    found = probe_sources(j, st, probe_cfg, key, hit, err);
    if (found < 0) return -1;
  } else {
    found = build_cache_lookup(j->e, st->image_id, key, st->arch, hit);
  }
  if (!found) {
    st->cache_busted = true;
    return 0;
  }
  bout_stdout(j, " ---> Using cache\n");
  memcpy(st->image_id, hit, DIGEST_STR_SIZE);
  build_cache_used(j->e, hit);
  return 1;
}

/* ---- containers of steps ---- */

int build_container_create(build_job *j, dispatch_state *st, const json_t *cfg, bool for_run,
                           bool announce, char id[65], arca_err *err) {
  engine *e = j->e;
  if (!e->driver) return err_set(err, 500, "the container runtime is not available");
  autojson json_t *body = json_deep_copy(cfg);
  json_object_set_new(body, "Image", json_string(st->image_id));
  if (for_run) {
    json_object_set_new(body, "HostConfig", build_run_host_config(j));
  } else {
    json_object_set_new(body, "WorkingDir", json_string("/"));
    json_object_set_new(
        body, "HostConfig",
        json_pack("{s:s,s:{s:s}}", "NetworkMode", "none", "LogConfig", "Type", "none"));
  }
  autojson json_t *warnings = NULL;
  if (container_create(e, body, NULL, NULL, 51, id, &warnings, err) < 0) return -1;
  if (!announce) return 0;
  size_t i;
  json_t *w;
  json_array_foreach(warnings, i, w)
      bout_stdout(j, " ---> [Warning] %s\n", json_string_value(w) ?: "");
  j->tmp = xrealloc(j->tmp, (j->ntmp + 1) * sizeof *j->tmp);
  j->tmp[j->ntmp] = (tmp_ctr){.real = true};
  memcpy(j->tmp[j->ntmp++].id, id, 65);
  bout_stdout(j, " ---> Running in %.12s\n", id);
  return 0;
}

void build_containers_cleanup(build_job *j, bool step_ok) {
  if (j->o.forcerm || (j->o.rm && step_ok)) {
    for (size_t i = 0; i < j->ntmp; i++) {
      if (j->tmp[i].real) {
        arca_err err;
        if (container_remove(j->e, j->tmp[i].id, true, true, false, &err) < 0 &&
            err.status != 404) {
          bout_stdout(j, "Removing intermediate container %.12s: %s\n", j->tmp[i].id, err.msg);
          continue;
        }
      }
      bout_stdout(j, " ---> Removed intermediate container %.12s\n", j->tmp[i].id);
    }
  }
  j->ntmp = 0;
}

/* ---- layers ---- */

static int finish_layer(build_job *j, const dispatch_state *st, blob_writer *w, const char *diff_id,
                        const char *digest, int64_t csize, step_layer *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  if (!strcmp(diff_id, BUILD_EMPTY_LAYER)) {
    blobs_writer_free(w);
    out->empty = true;
    return 0;
  }
  if (blobs_writer_commit_trusted(w, digest, err) < 0) {
    blobs_writer_free(w);
    return -1;
  }
  blobs_writer_free(w);
  size_t n;
  image_layer *parent = layers_of(j->e, st->image_id, &n);
  const char *parent_chain = n ? parent[n - 1].chain_id : "";
  int bfd;
  layer_rec rec;
  int rc = blobs_open_read(j->e->images.blobs, digest, &bfd, err);
  if (rc == 0) {
    rc = layers_unpack(j->e->images.layers, parent_chain, bfd, diff_id, NULL, NULL, &rec, err);
    close(bfd);
  }
  if (rc == 0) {
    image_layer *l = &out->layer;
    snprintf(l->chain_id, sizeof l->chain_id, "%s", rec.chain_id);
    snprintf(l->diff_id, sizeof l->diff_id, "%s", diff_id);
    snprintf(l->digest, sizeof l->digest, "%s", digest);
    snprintf(l->media_type, sizeof l->media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
    l->blob_size = csize;
    l->size = rec.size;
  }
  free(parent);
  return rc;
}

int build_layer_from_container(build_job *j, const dispatch_state *st, const char *cid,
                               step_layer *out, arca_err *err) {
  blob_writer *w;
  if (blobs_writer_new(j->e->images.blobs, NULL, &w, err) < 0) return -1;
  char diff_id[72], digest[72];
  int64_t size = 0, csize = 0;
  if (j->e->driver->ops->commit_layer(j->e->driver, cid, blobs_writer_fd(w), diff_id, digest, &size,
                                      &csize, err) < 0) {
    blobs_writer_free(w);
    return err_wrap(err, "failed to export image");
  }
  return finish_layer(j, st, w, diff_id, digest, csize, out, err);
}

int build_layer_from_dir(build_job *j, const dispatch_state *st, const char *dir, step_layer *out,
                         arca_err *err) {
  blob_writer *w;
  if (blobs_writer_new(j->e->images.blobs, NULL, &w, err) < 0) return -1;
  layer_diff_result res;
  if (layer_diff_dir(dir, blobs_writer_fd(w), true, &res, err) < 0) {
    blobs_writer_free(w);
    return -1;
  }
  return finish_layer(j, st, w, res.diff_id, res.digest, (int64_t)res.compressed_size, out, err);
}

/* ---- images ---- */

int build_commit_image(build_job *j, dispatch_state *st, const json_t *cc, const json_t *key_cfg,
                       const char *cid, const step_layer *layer, arca_err *err) {
  engine *e = j->e;
  autojson json_t *parent = NULL;
  if (st->image_id[0] && image_config(e, st->image_id, &parent, err) < 0) return -1;
  bool empty = !layer || layer->empty;
  char now[64];
  format_rfc3339nano(now_ns(), now, sizeof now);
  json_t *history = json_deep_copy(json_object_get(parent, "history"));
  if (!json_is_array(history)) {
    json_decref(history);
    history = json_array();
  }
  autofree char *created_by = join_cmd(json_object_get(cc, "Cmd"));
  json_t *h = json_pack("{s:s,s:s}", "created", now, "created_by", created_by);
  if (st->maintainer && *st->maintainer)
    json_object_set_new(h, "author", json_string(st->maintainer));
  if (empty) json_object_set_new(h, "empty_layer", json_true());
  json_array_append_new(history, h);
  json_t *diffs = json_is_array(diff_ids(parent)) ? json_deep_copy(diff_ids(parent)) : json_array();
  if (!empty) json_array_append_new(diffs, json_string(layer->layer.diff_id));

  json_t *c = json_object();
  json_object_set_new(c, "created", json_string(now));
  if (cid && *cid) json_object_set_new(c, "container", json_string(cid));
  json_object_set_new(c, "container_config", runcfg_normalize(cc));
  json_object_set_new(c, "docker_version", json_string(ARCA_VERSION));
  if (st->maintainer && *st->maintainer)
    json_object_set_new(c, "author", json_string(st->maintainer));
  json_object_set_new(c, "config", runcfg_normalize(st->cfg));
  const char *arch = json_string_value(json_object_get(parent, "architecture"));
  json_object_set_new(c, "architecture", json_string(arch && *arch ? arch : st->arch));
  const char *variant =
      parent ? json_string_value(json_object_get(parent, "variant")) : st->variant;
  if (variant && *variant) json_object_set_new(c, "variant", json_string(variant));
  json_object_set_new(c, "os", json_string(st->os[0] ? st->os : "linux"));
  json_t *rootfs = json_pack("{s:s}", "type", "layers");
  if (json_array_size(diffs)) json_object_set(rootfs, "diff_ids", diffs);
  json_decref(diffs);
  json_object_set_new(c, "rootfs", rootfs);
  json_object_set_new(c, "history", history);
  if (json_object_get(parent, "os.version"))
    json_object_set(c, "os.version", json_object_get(parent, "os.version"));
  if (json_object_get(parent, "os.features"))
    json_object_set(c, "os.features", json_object_get(parent, "os.features"));
  autofree char *text = json_dumps(c, JSON_COMPACT);
  json_decref(c);

  size_t n;
  image_layer *layers = layers_of(e, st->image_id, &n);
  if (!empty) layers[n++] = layer->layer;
  char id[DIGEST_STR_SIZE];
  image_new in = {.config_text = text,
                  .config_len = strlen(text),
                  .layers = layers,
                  .nlayers = n,
                  .parent = st->image_id[0] ? st->image_id : NULL};
  int rc = image_create(e, &in, id, err);
  free(layers);
  if (rc < 0) return err_wrap(err, "failed to export image");
  char key[DIGEST_STR_SIZE];
  cache_key(st, key_cfg ? key_cfg : cc, key);
  build_cache_record(e, id, st->image_id, key);
  /* dockerd logs "create" for images it commits from a container, not for COPY/ADD */
  if (cid && *cid) events_publish(e->events, "image", "create", id, json_pack("{s:s}", "name", id));
  memcpy(st->image_id, id, DIGEST_STR_SIZE);
  return 0;
}

/* What dockerd's container create does to the configuration a step hands it (merge with
 * the image's config): the container_config gets the container's hostname and Labels {},
 * and a health check left incomplete takes the image's values, also in the stage's own
 * configuration, which shares that health check with it (the classic builder copies it
 * by pointer). */
void build_mimic_create(build_job *j, dispatch_state *st, json_t *cc, const char *cid,
                        bool shares_health) {
  json_object_set_new(cc, "Hostname", json_sprintf("%.12s", cid));
  if (!st->image_id[0]) return;
  autojson json_t *parent = NULL;
  if (image_config(j->e, st->image_id, &parent, NULL) < 0) return;
  json_t *pc = json_object_get(parent, "config");
  if (!json_is_object(json_object_get(cc, "Labels")))
    json_object_set_new(cc, "Labels", json_object());
  json_t *labels = json_object_get(cc, "Labels");
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(pc, "Labels"), k, v) if (!json_object_get(labels, k))
      json_object_set(labels, k, v);
  json_t *ph = json_object_get(pc, "Healthcheck");
  json_t *hc = json_object_get(cc, "Healthcheck");
  if (!json_is_object(ph) || !json_is_object(hc)) return;
  json_t *targets[2] = {hc, shares_health ? json_object_get(st->cfg, "Healthcheck") : NULL};
  for (size_t t = 0; t < 2; t++) {
    json_t *h = targets[t];
    if (!json_is_object(h)) continue;
    if (!json_array_size(json_object_get(h, "Test")) &&
        json_array_size(json_object_get(ph, "Test")))
      json_object_set_new(h, "Test", json_deep_copy(json_object_get(ph, "Test")));
    static const char *const nums[] = {"Interval", "Timeout", "StartPeriod", "StartInterval",
                                       "Retries"};
    for (size_t i = 0; i < ARRAY_LEN(nums); i++)
      if (!json_integer_value(json_object_get(h, nums[i])) &&
          json_integer_value(json_object_get(ph, nums[i])))
        json_object_set(h, nums[i], json_object_get(ph, nums[i]));
  }
}

int build_commit_meta(build_job *j, dispatch_state *st, const char *comment, arca_err *err) {
  autojson json_t *probe = json_deep_copy(st->cfg);
  json_t *sh = json_object_get(st->cfg, "Shell");
  json_t *cmd = json_array_size(sh) ? json_deep_copy(sh) : json_pack("[s,s]", "/bin/sh", "-c");
  json_array_append_new(cmd, json_string("#(nop) "));
  json_array_append_new(cmd, json_string(comment));
  json_object_set_new(probe, "Cmd", cmd);
  int hit = build_probe(j, st, probe, err);
  if (hit != 0) return hit < 0 ? -1 : 0;
  /* no container runs for a step that only changes the configuration: the ID printed and
   * recorded as the image's "container" names the step */
  char cid[65];
  random_hex(cid, 32);
  j->tmp = xrealloc(j->tmp, (j->ntmp + 1) * sizeof *j->tmp);
  j->tmp[j->ntmp] = (tmp_ctr){.real = false};
  memcpy(j->tmp[j->ntmp++].id, cid, 65);
  bout_stdout(j, " ---> Running in %.12s\n", cid);
  autojson json_t *key_cfg = json_deep_copy(probe);
  build_mimic_create(j, st, probe, cid, true);
  return build_commit_image(j, st, probe, key_cfg, cid, NULL, err);
}
