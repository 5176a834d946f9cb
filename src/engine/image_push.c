/* docker push: blobs the registry lacks (mounted from another repository when it has them
 * there), the config, then the manifest, with Docker's progress messages. */
#include "engine/image_push.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "engine/engine.h"
#include "engine/image_remote.h"
#include "image/reference.h"
#include "image/registry.h"

#define IS(e) (&(e)->images)
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"

struct push_plan {
  engine *e;
  image_ref ref;      /* repository (tag given separately) */
  char *repo_path;    /* "library/busybox" */
  char *familiar_name;
  char **tags;        /* tags to push */
  size_t ntags;
  char **ids;         /* image per tag */
  registry_client *client;
};

void image_push_plan_free(push_plan *p) {
  if (!p) return;
  ref_free(&p->ref);
  free(p->repo_path);
  free(p->familiar_name);
  for (size_t i = 0; i < p->ntags; i++) {
    free(p->tags[i]);
    free(p->ids[i]);
  }
  free(p->tags);
  free(p->ids);
  if (p->client) registry_client_free(p->client);
  free(p);
}

int image_push_prepare(engine *e, const char *name, const char *tag, const char *auth_header, push_plan **out,
                       arca_err *err) {
  autofree char *full_name = NULL;
  push_plan *p = xcalloc(1, sizeof *p);
  p->e = e;
  if (ref_parse(name, &p->ref, err) < 0) goto fail;
  if (tag && *tag) {
    if (ref_with_tag(&p->ref, tag, err) < 0) goto fail;
  }
  p->repo_path = xstrdup(ref_repository_path(&p->ref));
  p->familiar_name = ref_familiar_name(&p->ref);
  full_name = ref_full_name(&p->ref);
  if (p->ref.tag || p->ref.digest) {
    autofree char *full = ref_full(&p->ref);
    char id[DIGEST_STR_SIZE];
    arca_err lerr;
    if (image_resolve(e, full, id, &lerr) < 0) {
      autofree char *fam = ref_familiar(&p->ref);
      err_set(err, 404, "tag does not exist: %s", fam);
      goto fail;
    }
    p->tags = xcalloc(2, sizeof *p->tags);
    p->ids = xcalloc(2, sizeof *p->ids);
    p->tags[0] = xstrdup(p->ref.tag ? p->ref.tag : p->ref.digest);
    p->ids[0] = xstrdup(id);
    p->ntags = 1;
  } else {
    /* every tag of the repository */
    pthread_rwlock_rdlock(&IS(e)->lock);
    size_t i = 0;
    const char *k;
    void *v;
    while (strmap_next(&IS(e)->refs, &i, &k, &v)) {
      image_ref r = {0};
      if (ref_parse(k, &r, NULL) < 0) continue;
      autofree char *n = ref_full_name(&r);
      if (r.tag && !strcmp(n, full_name)) {
        p->tags = xrealloc(p->tags, (p->ntags + 1) * sizeof *p->tags);
        p->ids = xrealloc(p->ids, (p->ntags + 1) * sizeof *p->ids);
        p->tags[p->ntags] = xstrdup(r.tag);
        p->ids[p->ntags++] = xstrdup(v);
      }
      ref_free(&r);
    }
    pthread_rwlock_unlock(&IS(e)->lock);
    if (!p->ntags) {
      err_set(err, 404, "An image does not exist locally with the tag: %s", p->familiar_name);
      goto fail;
    }
  }
  if (image_registry_client(e, p->ref.domain, false, auth_header, &p->client, err) < 0) goto fail;
  *out = p;
  return 0;
fail:
  image_push_plan_free(p);
  return -1;
}

static int emit(img_emit_fn fn, void *ctx, json_t *m) {
  int rc = fn ? fn(ctx, m) : 0;
  json_decref(m);
  return rc;
}

struct up_ctx {
  img_emit_fn emit;
  void *ctx;
  char id[13];
  int64_t last;
};

static void on_upload(void *c, int64_t done, int64_t total) {
  struct up_ctx *u = c;
  int64_t now = monotonic_ns();
  if (now - u->last < 100000000LL && done < total) return;
  u->last = now;
  emit(u->emit, u->ctx, progress_message(u->id, "Pushing", done, total));
}

/* Repositories of the same registry that already hold this blob: the ones the image was
 * pulled from. */
static char *mount_source(engine *e, const char *image_id, const char *domain, const char *repo_path) {
  char *from = NULL;
  pthread_rwlock_rdlock(&IS(e)->lock);
  image *img = strmap_get(&IS(e)->by_id, image_id);
  json_t *m = img ? json_object_get(img->extra, "manifests") : NULL;
  const char *name;
  json_t *v;
  json_object_foreach(m, name, v) {
    image_ref r = {0};
    if (ref_parse(name, &r, NULL) < 0) continue;
    if (r.domain && !strcmp(r.domain, domain) && strcmp(ref_repository_path(&r), repo_path) != 0 && !from)
      from = xstrdup(ref_repository_path(&r));
    ref_free(&r);
  }
  pthread_rwlock_unlock(&IS(e)->lock);
  return from;
}

static int push_blob(push_plan *p, const char *image_id, const char *digest, int64_t size, bool show,
                     img_emit_fn fn, void *ctx, arca_err *err) {
  char sid[13];
  snprintf(sid, sizeof sid, "%.12s", digest + 7);
  bool exists = false;
  if (registry_blob_exists(p->client, p->repo_path, digest, &exists, NULL, err) < 0) return -1;
  if (exists) {
    if (show) emit(fn, ctx, progress_message(sid, "Layer already exists", 0, 0));
    return 0;
  }
  autofree char *from = mount_source(p->e, image_id, p->ref.domain, p->repo_path);
  if (from) {
    bool mounted = false;
    arca_err merr;
    if (registry_mount_blob(p->client, p->repo_path, from, digest, &mounted, &merr) == 0 && mounted) {
      if (show) {
        autofree char *msg = xasprintf("Mounted from %s", from);
        emit(fn, ctx, progress_message(sid, msg, 0, 0));
      }
      return 0;
    }
  }
  int fd;
  if (blobs_open_read(IS(p->e)->blobs, digest, &fd, err) < 0) return -1;
  struct up_ctx u = {show ? fn : NULL, ctx, "", 0};
  memcpy(u.id, sid, sizeof sid);
  int rc = registry_upload_blob(p->client, p->repo_path, fd, size, digest, on_upload, &u, err);
  close(fd);
  if (rc == 0 && show) emit(fn, ctx, progress_message(sid, "Pushed", 0, 0));
  return rc;
}

static int put_manifest(push_plan *p, const char *tag, const char *image_id, const image_layer *layers, size_t nl,
                        int64_t config_size, img_emit_fn fn, void *ctx, arca_err *err);

static int push_tag(push_plan *p, const char *tag, const char *image_id, img_emit_fn fn, void *ctx, arca_err *err) {
  engine *e = p->e;
  pthread_rwlock_rdlock(&IS(e)->lock);
  image *img = strmap_get(&IS(e)->by_id, image_id);
  if (!img) {
    pthread_rwlock_unlock(&IS(e)->lock);
    return err_set(err, 404, "No such image: %s", image_id);
  }
  size_t nl = img->nlayers;
  image_layer *layers = xcalloc(nl + 1, sizeof *layers);
  memcpy(layers, img->layers, nl * sizeof *layers);
  int64_t config_size = (int64_t)strlen(img->config_text);
  pthread_rwlock_unlock(&IS(e)->lock);

  int rc = 0;
  /* Preparing every layer, topmost first as dockerd lists them */
  for (size_t i = nl; i > 0; i--) {
    char sid[13];
    snprintf(sid, sizeof sid, "%.12s", layers[i - 1].digest + 7);
    if (!layers[i - 1].digest[0]) {
      rc = err_set(err, 500, "layer %s has no stored blob to push", layers[i - 1].diff_id);
      goto out;
    }
    emit(fn, ctx, progress_message(sid, "Preparing", 0, 0));
  }
  for (size_t i = nl; i > 0 && rc == 0; i--) {
    char sid[13];
    snprintf(sid, sizeof sid, "%.12s", layers[i - 1].digest + 7);
    emit(fn, ctx, progress_message(sid, "Waiting", 0, 0));
  }
  for (size_t i = 0; i < nl && rc == 0; i++)
    rc = push_blob(p, image_id, layers[i].digest, layers[i].blob_size, true, fn, ctx, err);
  if (rc == 0) rc = push_blob(p, image_id, image_id, config_size, false, fn, ctx, err);
  if (rc == 0) rc = put_manifest(p, tag, image_id, layers, nl, config_size, fn, ctx, err);
out:
  free(layers);
  return rc;
}

/* Docker v2 schema2 manifest, as dockerd pushes, then the digest line and aux message. */
static int put_manifest(push_plan *p, const char *tag, const char *image_id, const image_layer *layers, size_t nl,
                        int64_t config_size, img_emit_fn fn, void *ctx, arca_err *err) {
  engine *e = p->e;
  json_t *ls = json_array();
  for (size_t i = 0; i < nl; i++) {
    const char *mt = layers[i].media_type;
    if (!strcmp(mt, "application/vnd.oci.image.layer.v1.tar+gzip") || !*mt) mt = MT_DOCKER_LAYER_GZIP;
    else if (!strcmp(mt, "application/vnd.oci.image.layer.v1.tar")) mt = MT_DOCKER_LAYER;
    json_array_append_new(ls, json_pack("{s:s,s:I,s:s}", "mediaType", mt, "size", (json_int_t)layers[i].blob_size,
                                        "digest", layers[i].digest));
  }
  json_t *manifest = json_pack("{s:i,s:s,s:{s:s,s:I,s:s},s:o}", "schemaVersion", 2, "mediaType",
                               REGISTRY_MT_DOCKER_MANIFEST, "config", "mediaType", MT_DOCKER_CONFIG, "size",
                               (json_int_t)config_size, "digest", image_id, "layers", ls);
  autofree char *text = json_dumps(manifest, JSON_INDENT(3) | JSON_PRESERVE_ORDER);
  json_decref(manifest);
  char digest[DIGEST_STR_SIZE];
  if (registry_put_manifest(p->client, p->repo_path, tag, REGISTRY_MT_DOCKER_MANIFEST, text, strlen(text), digest, err) < 0)
    return -1;
  blobs_put(IS(e)->blobs, text, strlen(text), NULL, NULL);
  autofree char *line = xasprintf("%s: digest: %s size: %zu", tag, digest, strlen(text));
  emit(fn, ctx, progress_message(NULL, line, -1, -1));
  emit(fn, ctx, json_pack("{s:{},s:{s:s,s:s,s:I}}", "progressDetail", "aux", "Tag", tag, "Digest", digest, "Size",
                          (json_int_t)strlen(text)));
  /* remember the repository digest, as dockerd records it after a push */
  autofree char *full_name = ref_full_name(&p->ref);
  autofree char *canonical = xasprintf("%s@%s", full_name, digest);
  image_set_ref(e, canonical, image_id, NULL);
  autofree char *fam = xasprintf("%s:%s", p->familiar_name, tag);
  events_publish(e->events, "image", "push", fam, json_pack("{s:s}", "name", p->familiar_name));
  return 0;
}

int image_push_run(push_plan *p, img_emit_fn fn, void *ctx, arca_err *err) {
  autofree char *full_name = ref_full_name(&p->ref);
  /* "The push refers to repository [docker.io/library/busybox]" names the full repository */
  autofree char *line = xasprintf("The push refers to repository [%s]", full_name);
  emit(fn, ctx, progress_message(NULL, line, -1, -1));
  for (size_t i = 0; i < p->ntags; i++)
    if (push_tag(p, p->tags[i], p->ids[i], fn, ctx, err) < 0) return -1;
  return 0;
}
