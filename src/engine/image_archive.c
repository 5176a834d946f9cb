/* save, load and import (see image_archive.h). */
#include "engine/image_archive.h"

#include "common/lazy_archive.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/pattern.h"
#include "common/util.h"
#include "engine/engine.h"
#include "image/reference.h"
#include "image/registry.h"

#define IS(e) (&(e)->images)
#define SMALL_MAX (16u << 20)

#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"

/* ================================ save ================================ */

typedef struct save_item {
  char id[DIGEST_STR_SIZE];
  char **tags;        /* familiar "busybox:latest" */
  size_t ntags;
  char **full_tags;   /* "docker.io/library/busybox:latest" */
} save_item;

struct save_plan {
  engine *e;
  save_item *items;
  size_t n;
};

void image_save_plan_free(save_plan *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) {
    for (size_t t = 0; t < p->items[i].ntags; t++) {
      free(p->items[i].tags[t]);
      free(p->items[i].full_tags[t]);
    }
    free(p->items[i].tags);
    free(p->items[i].full_tags);
  }
  free(p->items);
  free(p);
}

static save_item *item_for(save_plan *p, const char *id) {
  for (size_t i = 0; i < p->n; i++)
    if (!strcmp(p->items[i].id, id)) return &p->items[i];
  p->items = xrealloc(p->items, (p->n + 1) * sizeof *p->items);
  save_item *it = &p->items[p->n++];
  memset(it, 0, sizeof *it);
  snprintf(it->id, sizeof it->id, "%s", id);
  return it;
}

static void item_add_tag(save_item *it, const image_ref *r) {
  char *full = ref_full(r);
  for (size_t i = 0; i < it->ntags; i++)
    if (!strcmp(it->full_tags[i], full)) {
      free(full);
      return;
    }
  it->tags = xrealloc(it->tags, (it->ntags + 1) * sizeof *it->tags);
  it->full_tags = xrealloc(it->full_tags, (it->ntags + 1) * sizeof *it->full_tags);
  it->tags[it->ntags] = ref_familiar(r);
  it->full_tags[it->ntags++] = full;
}

int image_save_prepare(engine *e, const char *const *names, size_t n, save_plan **out, arca_err *err) {
  save_plan *p = xcalloc(1, sizeof *p);
  p->e = e;
  for (size_t i = 0; i < n; i++) {
    char id[DIGEST_STR_SIZE];
    if (image_resolve(e, names[i], id, err) < 0) goto fail;
    save_item *it = item_for(p, id);
    image_ref r = {0};
    bool is_id = str_has_prefix(id, names[i]) || str_has_prefix(id + 7, names[i]);
    if (is_id || ref_parse(names[i], &r, NULL) < 0 || r.digest) {
      ref_free(&r);
      continue;
    }
    if (r.tag) {
      item_add_tag(it, &r);
    } else {
      /* a repository name alone: every tag of that repository on this image */
      autofree char *name = ref_full_name(&r);
      pthread_rwlock_rdlock(&IS(e)->lock);
      size_t k = 0;
      const char *key;
      void *v;
      while (strmap_next(&IS(e)->refs, &k, &key, &v)) {
        image_ref t = {0};
        if (strcmp(v, id) || ref_parse(key, &t, NULL) < 0) continue;
        autofree char *tn = ref_full_name(&t);
        if (!t.digest && !strcmp(tn, name)) item_add_tag(it, &t);
        ref_free(&t);
      }
      pthread_rwlock_unlock(&IS(e)->lock);
    }
    ref_free(&r);
  }
  *out = p;
  return 0;
fail:
  image_save_plan_free(p);
  return -1;
}

struct tar_out {
  struct archive *a;
  img_write_fn write;
  void *ctx;
  bool gone;
};

/* A reader that has gone makes later output vanish rather than putting the archive in
 * libarchive's fatal state, whose buffers archive_write_free leaks (libarchive 3.6). */
static la_ssize_t tar_write_cb(struct archive *a, void *ctx, const void *buf, size_t n) {
  (void)a;
  struct tar_out *t = ctx;
  if (!t->gone && t->write(t->ctx, buf, n) < 0) t->gone = true;
  return (la_ssize_t)n;
}

static int tar_header(struct tar_out *t, const char *path, mode_t type, int64_t size, arca_err *err) {
  if (t->gone) return err_set(err, 499, "client went away");
  struct archive_entry *en = archive_entry_new();
  archive_entry_set_pathname(en, path);
  archive_entry_set_filetype(en, type);
  archive_entry_set_perm(en, type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size(en, type == AE_IFDIR ? 0 : size);
  archive_entry_set_mtime(en, 0, 0);
  int r = archive_write_header(t->a, en);
  archive_entry_free(en);
  if (r != ARCHIVE_OK) return err_set(err, 500, "write archive: %s", archive_error_string(t->a));
  return 0;
}

static int tar_buffer(struct tar_out *t, const char *path, const void *data, size_t n, arca_err *err) {
  if (tar_header(t, path, AE_IFREG, (int64_t)n, err) < 0) return -1;
  if (n && archive_write_data(t->a, data, n) < 0) return err_set(err, 500, "write archive: %s", archive_error_string(t->a));
  return 0;
}

static int tar_blob(struct tar_out *t, blob_store *b, const char *digest, arca_err *err) {
  int fd;
  if (blobs_open_read(b, digest, &fd, err) < 0) return -1;
  struct stat st;
  fstat(fd, &st);
  autofree char *path = xasprintf("blobs/sha256/%s", digest + 7);
  int rc = tar_header(t, path, AE_IFREG, st.st_size, err);
  char buf[65536];
  ssize_t r;
  while (rc == 0 && (r = read(fd, buf, sizeof buf)) > 0)
    if (archive_write_data(t->a, buf, (size_t)r) < 0) rc = err_set(err, 500, "write archive: %s", archive_error_string(t->a));
  close(fd);
  return rc;
}

/* An OCI manifest for an image from what the store knows. */
static json_t *manifest_for(const image *img, int64_t config_size) {
  json_t *layers = json_array();
  for (size_t i = 0; i < img->nlayers; i++) {
    const image_layer *l = &img->layers[i];
    const char *mt = l->media_type[0] ? l->media_type : MT_OCI_LAYER;
    if (!strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar.gzip")) mt = MT_OCI_LAYER_GZIP;
    json_array_append_new(layers, json_pack("{s:s,s:s,s:I}", "mediaType", mt, "digest", l->digest, "size",
                                            (json_int_t)l->blob_size));
  }
  return json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType", REGISTRY_MT_OCI_MANIFEST,
                   "config", "mediaType", MT_OCI_CONFIG, "digest", img->id, "size", (json_int_t)config_size,
                   "layers", layers);
}

int image_save_run(save_plan *p, img_write_fn write, void *ctx, arca_err *err) {
  engine *e = p->e;
  struct tar_out t = {archive_write_new(), write, ctx, false};
  archive_write_set_format_pax_restricted(t.a);
  archive_write_set_bytes_in_last_block(t.a, 1);
  if (archive_write_open2(t.a, &t, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK) {
    archive_write_free(t.a);
    return err_set(err, 500, "write archive");
  }
  int rc = 0;
  json_t *index_manifests = json_array();
  json_t *docker_manifest = json_array();
  json_t *repositories = json_object();
  strmap written;
  strmap_init(&written);
  rc = tar_header(&t, "blobs/", AE_IFDIR, 0, err);
  if (rc == 0) rc = tar_header(&t, "blobs/sha256/", AE_IFDIR, 0, err);
  for (size_t i = 0; i < p->n && rc == 0; i++) {
    save_item *it = &p->items[i];
    pthread_rwlock_rdlock(&IS(e)->lock);
    image *img = strmap_get(&IS(e)->by_id, it->id);
    if (!img) {
      pthread_rwlock_unlock(&IS(e)->lock);
      rc = err_set(err, 404, "No such image: %s", it->id);
      break;
    }
    /* copy what we need and let go of the lock before the slow part */
    size_t nl = img->nlayers;
    image_layer *layers = xcalloc(nl + 1, sizeof *layers);
    memcpy(layers, img->layers, nl * sizeof *layers);
    json_t *manifest = manifest_for(img, (int64_t)strlen(img->config_text));
    pthread_rwlock_unlock(&IS(e)->lock);

    const char *blobs_needed[1] = {it->id};
    for (size_t b = 0; b < 1 && rc == 0; b++)
      if (!strmap_get(&written, blobs_needed[b])) {
        rc = tar_blob(&t, IS(e)->blobs, blobs_needed[b], err);
        strmap_put(&written, blobs_needed[b], (void *)1);
      }
    json_t *layer_paths = json_array();
    for (size_t l = 0; l < nl && rc == 0; l++) {
      if (!layers[l].digest[0]) {
        rc = err_set(err, 500, "layer %s of image %s has no stored blob", layers[l].diff_id, it->id);
        break;
      }
      if (!strmap_get(&written, layers[l].digest)) {
        rc = tar_blob(&t, IS(e)->blobs, layers[l].digest, err);
        strmap_put(&written, layers[l].digest, (void *)1);
      }
      json_array_append_new(layer_paths, json_sprintf("blobs/sha256/%s", layers[l].digest + 7));
    }
    char mdigest[DIGEST_STR_SIZE];
    autofree char *mtext = json_dumps(manifest, JSON_COMPACT);
    digest_buffer(mtext, strlen(mtext), mdigest);
    if (rc == 0 && !strmap_get(&written, mdigest)) {
      autofree char *path = xasprintf("blobs/sha256/%s", mdigest + 7);
      rc = tar_buffer(&t, path, mtext, strlen(mtext), err);
      strmap_put(&written, mdigest, (void *)1);
    }
    json_t *tags = json_array();
    for (size_t k = 0; k < it->ntags; k++) {
      json_array_append_new(tags, json_string(it->tags[k]));
      json_t *desc = json_pack("{s:s,s:s,s:I}", "mediaType", REGISTRY_MT_OCI_MANIFEST, "digest", mdigest, "size",
                               (json_int_t)strlen(mtext));
      const char *colon = strrchr(it->full_tags[k], ':');
      json_object_set_new(desc, "annotations",
                          json_pack("{s:s,s:s}", "io.containerd.image.name", it->full_tags[k],
                                    "org.opencontainers.image.ref.name", colon ? colon + 1 : "latest"));
      json_array_append_new(index_manifests, desc);
      /* repositories: {"busybox": {"latest": "<top layer id>"}} as older docker load wants */
      autofree char *name = xstrndup(it->tags[k], (size_t)(strrchr(it->tags[k], ':') - it->tags[k]));
      json_t *repo = json_object_get(repositories, name);
      if (!repo) {
        repo = json_object();
        json_object_set_new(repositories, name, repo);
      }
      if (nl) json_object_set_new(repo, strrchr(it->tags[k], ':') + 1, json_string(layers[nl - 1].digest + 7));
    }
    if (!it->ntags)
      json_array_append_new(index_manifests, json_pack("{s:s,s:s,s:I}", "mediaType", REGISTRY_MT_OCI_MANIFEST,
                                                       "digest", mdigest, "size", (json_int_t)strlen(mtext)));
    if (!it->ntags) {
      json_decref(tags);
      tags = json_null();
    }
    json_array_append_new(docker_manifest, json_pack("{s:o,s:o,s:o}", "Config", json_sprintf("blobs/sha256/%s", it->id + 7),
                                                     "RepoTags", tags, "Layers", layer_paths));
    json_decref(manifest);
    free(layers);
  }
  if (rc == 0) {
    json_t *index = json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType", REGISTRY_MT_OCI_INDEX, "manifests",
                              json_incref(index_manifests));
    autofree char *itext = json_dumps(index, JSON_COMPACT);
    autofree char *mtext = json_dumps(docker_manifest, JSON_COMPACT);
    autofree char *rtext = json_dumps(repositories, JSON_COMPACT);
    json_decref(index);
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    rc = tar_buffer(&t, "index.json", itext, strlen(itext), err);
    if (rc == 0) rc = tar_buffer(&t, "manifest.json", mtext, strlen(mtext), err);
    if (rc == 0) rc = tar_buffer(&t, "oci-layout", layout, sizeof layout - 1, err);
    if (rc == 0 && json_object_size(repositories)) rc = tar_buffer(&t, "repositories", rtext, strlen(rtext), err);
  }
  if (rc == 0 && archive_write_close(t.a) != ARCHIVE_OK)
    rc = err_set(err, 500, "write archive: %s", archive_error_string(t.a));
  archive_write_free(t.a);
  json_decref(index_manifests);
  json_decref(docker_manifest);
  json_decref(repositories);
  strmap_free(&written);
  if (rc == 0)
    for (size_t i = 0; i < p->n; i++) {
      json_t *attrs = json_pack("{s:s}", "name", p->items[i].ntags ? p->items[i].tags[0] : p->items[i].id);
      events_publish(e->events, "image", "save", p->items[i].id, attrs);
    }
  if (t.gone && rc < 0) err_set(err, 499, "client went away");
  return rc;
}

/* ================================ load ================================ */

typedef struct load_image {
  char *config_path;   /* inside the extracted dir */
  char **layer_paths;
  size_t nlayers;
  char **tags;         /* as given (familiar or full) */
  size_t ntags;
} load_image;

struct load_plan {
  engine *e;
  char *dir;            /* extracted archive */
  load_image *images;
  size_t n;
};

void image_load_plan_free(load_plan *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) {
    free(p->images[i].config_path);
    for (size_t k = 0; k < p->images[i].nlayers; k++) free(p->images[i].layer_paths[k]);
    free(p->images[i].layer_paths);
    for (size_t k = 0; k < p->images[i].ntags; k++) free(p->images[i].tags[k]);
    free(p->images[i].tags);
  }
  free(p->images);
  if (p->dir) rm_rf(p->dir, NULL);
  free(p->dir);
  free(p);
}

/* Extracts a (possibly compressed) tar into dir, refusing anything that is not a plain
 * file or directory, and any path that would leave dir. */
static int extract_archive(int fd, const char *dir, arca_err *err) {
  struct archive *a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  int rc = 0, r = ARCHIVE_OK, dirfd = -1;
  struct archive_entry *en;
  size_t count = 0;
  if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
    rc = err_set(err, 400, "invalid tar archive: %s", archive_error_string(a));
    goto out;
  }
  dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while ((r = archive_read_next_header(a, &en)) == ARCHIVE_OK) {
    const char *path = archive_entry_pathname(en);
    count++;
    autofree char *clean = path_clean(path ? path : "");
    if (!path || path[0] == '/' || !strcmp(clean, "..") || str_has_prefix(clean, "../") || strstr(clean, "/../")) {
      rc = err_set(err, 400, "invalid archive: entry %s leaves the archive", path ? path : "(null)");
      break;
    }
    if (!strcmp(clean, ".")) continue;
    mode_t type = archive_entry_filetype(en);
    if (type == AE_IFDIR) {
      if (mkdirat(dirfd, clean, 0700) < 0 && errno != EEXIST) {
        /* parents first */
        autofree char *full = xasprintf("%s/%s", dir, clean);
        if (mkdir_p(full, 0700, err) < 0) { rc = -1; break; }
      }
      continue;
    }
    if (type == AE_IFLNK || type == AE_IFREG) {
      autofree char *full = xasprintf("%s/%s", dir, clean);
      autofree char *parent = xstrdup(full);
      *strrchr(parent, '/') = '\0';
      if (mkdir_p(parent, 0700, err) < 0) { rc = -1; break; }
      /* never write through a symlink planted by an earlier entry */
      autofree char *rel_parent = xstrdup(clean);
      char *slash = strrchr(rel_parent, '/');
      if (slash) {
        *slash = '\0';
        autofree char *real = realpath(parent, NULL);
        autofree char *rdir = realpath(dir, NULL);
        if (!real || !rdir || !str_has_prefix(real, rdir)) {
          rc = err_set(err, 400, "invalid archive: entry %s goes through a link out of the archive", path);
          break;
        }
      }
      if (type == AE_IFLNK) {
        /* symlinks (docker archives link layers of identical content): kept only when
         * they resolve inside the archive, checked when followed */
        const char *target = archive_entry_symlink(en);
        unlinkat(dirfd, clean, 0);
        if (!target || symlinkat(target, dirfd, clean) < 0) {
          rc = err_errno(err, 500, errno, "extract %s", path);
          break;
        }
        continue;
      }
      int out = openat(dirfd, clean, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (out < 0) {
        rc = err_errno(err, 400, errno, "invalid archive: cannot extract %s", path);
        break;
      }
      const void *buf;
      size_t size;
      la_int64_t off;
      int dr;
      while ((dr = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK)
        if (pwrite(out, buf, size, off) < 0) {
          dr = ARCHIVE_FATAL;
          break;
        }
      close(out);
      if (dr != ARCHIVE_EOF) {
        rc = err_set(err, 400, "invalid archive: %s: %s", path, archive_error_string(a) ? archive_error_string(a) : "truncated");
        break;
      }
      continue;
    }
    rc = err_set(err, 400, "invalid archive: unsupported entry type for %s", path);
    break;
  }
  if (rc == 0 && r != ARCHIVE_EOF)
    rc = err_set(err, 400, "invalid tar archive: %s", archive_error_string(a) ? archive_error_string(a) : "unexpected end of file");
  if (rc == 0 && count == 0) rc = err_set(err, 400, "invalid tar archive: empty");
out:
  if (dirfd >= 0) close(dirfd);
  archive_read_free(a);
  return rc;
}

/* Resolves a path inside the extracted archive, following symlinks only within it. */
static char *inside(load_plan *p, const char *rel, arca_err *err) {
  autofree char *clean = path_clean(rel);
  if (clean[0] == '/' || str_has_prefix(clean, "..")) {
    err_set(err, 400, "invalid archive: %s points out of the archive", rel);
    return NULL;
  }
  autofree char *full = xasprintf("%s/%s", p->dir, clean);
  char *real = realpath(full, NULL);
  autofree char *root = realpath(p->dir, NULL);
  if (!real) {
    err_set(err, 400, "invalid archive: %s is missing", rel);
    return NULL;
  }
  if (!root || !str_has_prefix(real, root) || (real[strlen(root)] != '/' && real[strlen(root)] != '\0')) {
    free(real);
    err_set(err, 400, "invalid archive: %s points out of the archive", rel);
    return NULL;
  }
  return real;
}

static int read_json_file(const char *path, json_t **out, arca_err *err) {
  autofree char *text = NULL;
  size_t n;
  if (read_file(path, SMALL_MAX, &text, &n, err) < 0) return -1;
  json_error_t jerr;
  *out = json_loadb(text, n, 0, &jerr);
  if (!*out) return err_set(err, 400, "invalid archive: %s: %s", path, jerr.text);
  return 0;
}

static int plan_from_docker_manifest(load_plan *p, json_t *manifest, arca_err *err) {
  if (!json_is_array(manifest)) return err_set(err, 400, "invalid archive: manifest.json is not a list");
  size_t i;
  json_t *m;
  json_array_foreach(manifest, i, m) {
    const char *config = json_string_value(json_object_get(m, "Config"));
    json_t *layers = json_object_get(m, "Layers");
    if (!config || !json_is_array(layers)) return err_set(err, 400, "invalid archive: manifest.json entry %zu lacks Config or Layers", i);
    p->images = xrealloc(p->images, (p->n + 1) * sizeof *p->images);
    load_image *li = &p->images[p->n++];
    memset(li, 0, sizeof *li);
    if (!(li->config_path = inside(p, config, err))) return -1;
    li->nlayers = json_array_size(layers);
    li->layer_paths = xcalloc(li->nlayers + 1, sizeof *li->layer_paths);
    for (size_t k = 0; k < li->nlayers; k++) {
      const char *lp = json_string_value(json_array_get(layers, k));
      if (!lp || !(li->layer_paths[k] = inside(p, lp, err))) return err_set(err, 400, "invalid archive: layer %zu of entry %zu is missing", k, i);
    }
    json_t *tags = json_object_get(m, "RepoTags");
    li->ntags = json_array_size(tags);
    li->tags = xcalloc(li->ntags + 1, sizeof *li->tags);
    for (size_t k = 0; k < li->ntags; k++) li->tags[k] = xstrdup(json_string_value(json_array_get(tags, k)) ?: "");
  }
  return 0;
}

/* An OCI layout without manifest.json: index.json → (nested index →) manifests for our
 * platform, named by their ref annotations. */
static int plan_from_oci_index(load_plan *p, const char *index_path, const char *arch, arca_err *err) {
  autojson json_t *index = NULL;
  if (read_json_file(index_path, &index, err) < 0) return -1;
  json_t *stack[8];
  int depth = 0;
  stack[depth++] = json_incref(index);
  int rc = 0;
  const char *ref_name = NULL;
  while (depth > 0 && rc == 0) {
    json_t *idx = stack[--depth];
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(idx, "manifests"), i, d) {
      const char *mt = json_string_value(json_object_get(d, "mediaType"));
      const char *dg = json_string_value(json_object_get(d, "digest"));
      json_t *ann = json_object_get(d, "annotations");
      const char *name = json_string_value(json_object_get(ann, "io.containerd.image.name"));
      if (!name) name = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
      if (name) ref_name = name;
      if (!dg || !digest_is_sha256(dg)) continue;
      autofree char *rel = xasprintf("blobs/sha256/%s", dg + 7);
      autofree char *path = inside(p, rel, err);
      if (!path) { rc = -1; break; }
      json_t *pf = json_object_get(d, "platform");
      const char *parch = json_string_value(json_object_get(pf, "architecture"));
      if (parch && strcmp(parch, arch) != 0) continue;
      json_t *blob = NULL;
      if (read_json_file(path, &blob, err) < 0) { rc = -1; break; }
      if ((mt && (!strcmp(mt, REGISTRY_MT_OCI_INDEX) || !strcmp(mt, REGISTRY_MT_DOCKER_LIST))) ||
          json_object_get(blob, "manifests")) {
        if (depth < 8) stack[depth++] = blob;
        else json_decref(blob);
        continue;
      }
      json_t *cfg = json_object_get(blob, "config");
      const char *cd = json_string_value(json_object_get(cfg, "digest"));
      json_t *layers = json_object_get(blob, "layers");
      if (!cd || !digest_is_sha256(cd) || !json_is_array(layers)) {
        json_decref(blob);
        rc = err_set(err, 400, "invalid archive: manifest %s is malformed", dg);
        break;
      }
      p->images = xrealloc(p->images, (p->n + 1) * sizeof *p->images);
      load_image *li = &p->images[p->n++];
      memset(li, 0, sizeof *li);
      autofree char *crel = xasprintf("blobs/sha256/%s", cd + 7);
      li->config_path = inside(p, crel, err);
      li->nlayers = json_array_size(layers);
      li->layer_paths = xcalloc(li->nlayers + 1, sizeof *li->layer_paths);
      for (size_t k = 0; k < li->nlayers && li->config_path; k++) {
        const char *ld = json_string_value(json_object_get(json_array_get(layers, k), "digest"));
        autofree char *lrel = xasprintf("blobs/sha256/%s", ld && digest_is_sha256(ld) ? ld + 7 : "missing");
        if (!(li->layer_paths[k] = inside(p, lrel, err))) break;
      }
      if (ref_name) {
        li->tags = xcalloc(2, sizeof *li->tags);
        /* a bare "latest" annotation names no repository: no tag then */
        if (strchr(ref_name, '/') || strchr(ref_name, ':') || strchr(ref_name, '.')) li->tags[li->ntags++] = xstrdup(ref_name);
      }
      json_decref(blob);
      if (!li->config_path) { rc = -1; break; }
      for (size_t k = 0; k < li->nlayers; k++)
        if (!li->layer_paths[k]) rc = -1;
    }
    json_decref(idx);
  }
  while (depth > 0) json_decref(stack[--depth]);
  return rc;
}

int image_load_prepare(engine *e, int fd, load_plan **out, arca_err *err) {
  autofree char *mpath = NULL, *ipath = NULL;
  load_plan *p = xcalloc(1, sizeof *p);
  p->e = e;
  char rnd[17];
  random_hex(rnd, 8);
  p->dir = xasprintf("%s/load-%s", engine_tmp_dir(e), rnd);
  if (mkdir(p->dir, 0700) < 0) {
    err_errno(err, 500, errno, "create %s", p->dir);
    free(p->dir);
    p->dir = NULL;
    goto fail;
  }
  if (fd < 0) {
    err_set(err, 400, "no image archive in the request body");
    goto fail;
  }
  if (extract_archive(fd, p->dir, err) < 0) goto fail;
  mpath = xasprintf("%s/manifest.json", p->dir);
  ipath = xasprintf("%s/index.json", p->dir);
  if (access(mpath, F_OK) == 0) {
    autojson json_t *m = NULL;
    if (read_json_file(mpath, &m, err) < 0 || plan_from_docker_manifest(p, m, err) < 0) goto fail;
  } else if (access(ipath, F_OK) == 0) {
    if (plan_from_oci_index(p, ipath, e->host.go_arch, err) < 0) goto fail;
  } else {
    err_set(err, 400, "invalid archive: no manifest.json or index.json (not a docker save or OCI image archive)");
    goto fail;
  }
  if (p->n == 0) {
    err_set(err, 400, "invalid archive: it holds no image");
    goto fail;
  }
  *out = p;
  return 0;
fail:
  image_load_plan_free(p);
  return -1;
}

static const char *detect_layer_media_type(int fd) {
  unsigned char magic[6] = {0};
  ssize_t n = pread(fd, magic, sizeof magic, 0);
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return MT_OCI_LAYER_GZIP;
  if (n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) return MT_OCI_LAYER_ZSTD;
  if (n >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h') return "bzip2";
  if (n >= 6 && magic[0] == 0xfd && !memcmp(magic + 1, "7zXZ", 4)) return "xz";
  return MT_OCI_LAYER;
}

struct load_progress {
  img_emit_fn emit;
  void *ctx;
  char id[13];
  int64_t total;
  int64_t last;
};

static void on_load_progress(void *c, uint64_t consumed) {
  struct load_progress *lp = c;
  int64_t now = monotonic_ns();
  if (!lp->emit || (now - lp->last < 100000000LL && (int64_t)consumed < lp->total)) return;
  lp->last = now;
  json_t *m = progress_message(lp->id, "Loading layer", (int64_t)consumed, lp->total);
  lp->emit(lp->ctx, m);
  json_decref(m);
}

static int emit_stream_line(img_emit_fn emit, void *ctx, const char *line) {
  if (!emit) return 0;
  json_t *m = json_pack("{s:s}", "stream", line);
  int rc = emit(ctx, m);
  json_decref(m);
  return rc;
}

static int load_one(load_plan *p, load_image *li, bool quiet, img_emit_fn emit, void *ctx, arca_err *err) {
  engine *e = p->e;
  autofree char *config_text = NULL;
  size_t config_len = 0;
  if (read_file(li->config_path, SMALL_MAX, &config_text, &config_len, err) < 0) return -1;
  autojson json_t *config = json_loadb(config_text, config_len, 0, NULL);
  json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
  if (!json_is_object(config) || json_array_size(diff_ids) != li->nlayers)
    return err_set(err, 400, "invalid archive: the image config does not match its %zu layers", li->nlayers);
  image_layer *layers = xcalloc(li->nlayers + 1, sizeof *layers);
  char parent[DIGEST_STR_SIZE] = "";
  int rc = 0;
  for (size_t k = 0; k < li->nlayers && rc == 0; k++) {
    const char *diff = json_string_value(json_array_get(diff_ids, k));
    if (!diff || !digest_is_sha256(diff)) {
      rc = err_set(err, 400, "invalid archive: invalid diff ID in the image config");
      break;
    }
    image_layer *l = &layers[k];
    snprintf(l->diff_id, sizeof l->diff_id, "%s", diff);
    layers_chain_id(parent, diff, l->chain_id);
    int fd = open(li->layer_paths[k], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      rc = err_errno(err, 400, errno, "invalid archive: layer %s", li->layer_paths[k]);
      break;
    }
    struct stat st;
    fstat(fd, &st);
    const char *mt = detect_layer_media_type(fd);
    /* the layer file becomes a blob as it is (bzip2/xz are no OCI layer types: those are
     * stored decompressed by unpacking first and re-reading is not possible, so refuse) */
    if (!strcmp(mt, "bzip2") || !strcmp(mt, "xz")) {
      close(fd);
      rc = err_set(err, 400, "invalid archive: layer %zu is %s-compressed; only plain, gzip and zstd layers can be loaded", k, mt);
      break;
    }
    char digest[DIGEST_STR_SIZE];
    uint64_t size = 0;
    if (digest_fd(fd, digest, &size, err) < 0) {
      close(fd);
      rc = -1;
      break;
    }
    if (!blobs_exists(IS(e)->blobs, digest, NULL)) {
      blob_writer *w;
      rc = blobs_writer_new(IS(e)->blobs, digest, &w, err);
      if (rc == 0) {
        char buf[65536];
        ssize_t r;
        off_t off = 0;
        while (rc == 0 && (r = pread(fd, buf, sizeof buf, off)) > 0) {
          rc = blobs_writer_write(w, buf, (size_t)r, err);
          off += r;
        }
        if (rc == 0) rc = blobs_writer_commit(w, NULL, err);
        blobs_writer_free(w);
      }
    }
    snprintf(l->digest, sizeof l->digest, "%s", digest);
    snprintf(l->media_type, sizeof l->media_type, "%s", mt);
    l->blob_size = (int64_t)size;
    struct load_progress lp = {quiet ? NULL : emit, ctx, "", st.st_size, 0};
    snprintf(lp.id, sizeof lp.id, "%.12s", diff + 7);
    if (rc == 0) {
      lseek(fd, 0, SEEK_SET);
      layer_rec rec;
      rc = layers_unpack(IS(e)->layers, parent, fd, diff, on_load_progress, &lp, &rec, err);
      if (rc == 0 && !quiet && emit) {
        json_t *m = progress_message(lp.id, "Loading layer", st.st_size, st.st_size);
        emit(ctx, m);
        json_decref(m);
      }
    }
    close(fd);
    memcpy(parent, l->chain_id, sizeof parent);
  }
  if (rc < 0) {
    free(layers);
    return -1;
  }
  /* tags: full references; an existing tag on another image moves (Docker says so) */
  char **full = xcalloc(li->ntags + 1, sizeof *full);
  size_t nfull = 0;
  for (size_t k = 0; k < li->ntags && rc == 0; k++) {
    image_ref r = {0};
    if (ref_parse(li->tags[k], &r, err) < 0) {
      rc = -1;
      break;
    }
    if (!r.tag && !r.digest) ref_with_default_tag(&r);
    full[nfull++] = ref_full(&r);
    /* messages name the tag the way dockerd prints it: familiar */
    free(li->tags[k]);
    li->tags[k] = ref_familiar(&r);
    ref_free(&r);
  }
  char cfg_digest[DIGEST_STR_SIZE];
  digest_buffer(config_text, config_len, cfg_digest);
  for (size_t k = 0; k < nfull && rc == 0; k++) {
    char old[DIGEST_STR_SIZE];
    arca_err lerr;
    if (image_resolve(e, full[k], old, &lerr) == 0 && strcmp(old, cfg_digest) != 0) {
      autofree char *line = xasprintf("The image %s already exists, renaming the old one with ID %s to empty string\n",
                                      li->tags[k], old);
      emit_stream_line(emit, ctx, line);
    }
  }
  char id[DIGEST_STR_SIZE];
  if (rc == 0) {
    image_new in = {.config_text = config_text, .config_len = config_len, .layers = layers, .nlayers = li->nlayers,
                    .tags = (const char *const *)full, .ntags = nfull};
    rc = image_create(e, &in, id, err);
  }
  if (rc == 0) {
    for (size_t k = 0; k < li->ntags; k++) {
      autofree char *line = xasprintf("Loaded image: %s\n", li->tags[k]);
      emit_stream_line(emit, ctx, line);
    }
    if (!li->ntags) {
      autofree char *line = xasprintf("Loaded image ID: %s\n", id);
      emit_stream_line(emit, ctx, line);
    }
    json_t *attrs = json_pack("{s:s}", "name", li->ntags ? li->tags[0] : id);
    events_publish(e->events, "image", "load", id, attrs);
  }
  for (size_t k = 0; k < nfull; k++) free(full[k]);
  free(full);
  free(layers);
  return rc;
}

int image_load_run(load_plan *p, bool quiet, img_emit_fn emit, void *ctx, arca_err *err) {
  for (size_t i = 0; i < p->n; i++)
    if (load_one(p, &p->images[i], quiet, emit, ctx, err) < 0) return -1;
  return 0;
}

/* ================================ import ================================ */

/* Decompresses fd into a temp file (the layer blob, uncompressed: its digest is the diff
 * ID) and returns that file's fd. */
static int decompress_to_blob(engine *e, int fd, char diff_id[DIGEST_STR_SIZE], int64_t *size, arca_err *err) {
  struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  blob_writer *w = NULL;
  int rc = 0;
  if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
    rc = err_set(err, 400, "invalid tar archive: %s", archive_error_string(a));
    goto out;
  }
  struct archive_entry *en;
  if (archive_read_next_header(a, &en) != ARCHIVE_OK) {
    rc = err_set(err, 400, "invalid tar archive: %s", archive_error_string(a) ? archive_error_string(a) : "empty");
    goto out;
  }
  if ((rc = blobs_writer_new(IS(e)->blobs, NULL, &w, err)) < 0) goto out;
  char buf[65536];
  la_ssize_t r;
  while ((r = archive_read_data(a, buf, sizeof buf)) > 0)
    if ((rc = blobs_writer_write(w, buf, (size_t)r, err)) < 0) goto out;
  if (r < 0) {
    rc = err_set(err, 400, "invalid tar archive: %s", archive_error_string(a));
    goto out;
  }
  *size = blobs_writer_size(w);
  if (*size == 0) {
    rc = err_set(err, 400, "invalid tar archive: empty");
    goto out;
  }
  rc = blobs_writer_commit(w, diff_id, err);
out:
  if (w) blobs_writer_free(w);
  archive_read_free(a);
  return rc;
}

int image_import(engine *e, int fd, const char *src, const char *repo, const char *tag, const char *const *changes,
                 size_t nchanges, const char *message, const char *platform, char id_out[DIGEST_STR_SIZE],
                 arca_err *err) {
  if (fd < 0) return err_set(err, 400, "no archive in the request body");
  char os[16] = "linux", arch[16], variant[16] = "";
  snprintf(arch, sizeof arch, "%s", e->host.go_arch);
  if (platform && *platform && platform_parse(platform, os, arch, variant, err) < 0) return -1;
  image_ref r = {0};
  char *full = NULL;
  if (repo && *repo) {
    if (ref_repo_tag_reference(repo, tag ? tag : "", &r, err) < 0) return -1;
    if (r.digest) {
      ref_free(&r);
      return err_set(err, 400, "cannot import digest reference");
    }
    full = ref_full(&r);
  }
  char diff_id[DIGEST_STR_SIZE];
  int64_t size = 0;
  int rc = decompress_to_blob(e, fd, diff_id, &size, err);
  json_t *config = NULL;
  if (rc == 0) {
    int bfd;
    rc = blobs_open_read(IS(e)->blobs, diff_id, &bfd, err);
    if (rc == 0) {
      layer_rec rec;
      rc = layers_unpack(IS(e)->layers, "", bfd, diff_id, NULL, NULL, &rec, err);
      close(bfd);
    }
  }
  if (rc == 0) {
    char now[64];
    format_rfc3339nano(now_ns(), now, sizeof now);
    json_t *cc = json_object();
    rc = image_apply_changes(cc, changes, nchanges, err);
    autofree char *comment = message && *message ? xstrdup(message) : xasprintf("Imported from %s", src && *src ? src : "-");
    config = json_pack("{s:s,s:s,s:s,s:o,s:{s:s,s:[s]},s:[{s:s,s:s,s:s}]}", "architecture", arch, "os", os, "created",
                       now, "config", cc, "rootfs", "type", "layers", "diff_ids", diff_id, "history", "created", now,
                       "created_by", "", "comment", comment);
    if (variant[0]) json_object_set_new(config, "variant", json_string(variant));
    if (message && *message) json_object_set_new(config, "comment", json_string(message));
  }
  if (rc == 0) {
    autofree char *text = json_dumps(config, JSON_COMPACT);
    image_layer l = {0};
    snprintf(l.diff_id, sizeof l.diff_id, "%s", diff_id);
    snprintf(l.chain_id, sizeof l.chain_id, "%s", diff_id);
    snprintf(l.digest, sizeof l.digest, "%s", diff_id);
    snprintf(l.media_type, sizeof l.media_type, "%s", MT_OCI_LAYER);
    l.blob_size = size;
    const char *tags[1] = {full};
    image_new in = {.config_text = text, .config_len = strlen(text), .layers = &l, .nlayers = 1, .tags = tags,
                    .ntags = full ? 1 : 0};
    rc = image_create(e, &in, id_out, err);
  }
  if (rc == 0) {
    autofree char *fam = full ? ref_familiar(&r) : xstrdup(id_out);
    events_publish(e->events, "image", "import", id_out, json_pack("{s:s}", "name", fam));
  }
  json_decref(config);
  free(full);
  ref_free(&r);
  return rc;
}

/* ================================ changes ================================ */

#include "builder/config_apply.h"

int image_apply_changes(json_t *config, const char *const *changes, size_t n, arca_err *err) {
  /* config is the container-config object; wrap it the way config_apply expects */
  json_t *image_config = json_pack("{s:O}", "config", config);
  config_apply_state st = {.escape = '\\'};
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (!changes[i] || !*changes[i]) continue;
    df_instr *in = NULL;
    if (dockerfile_parse_trigger(changes[i], &in, err) < 0) {
      rc = -1;
      break;
    }
    if (!config_is_commit_change(in->keyword)) {
      char upper[32];
      snprintf(upper, sizeof upper, "%s", in->keyword);
      for (char *c = upper; *c; c++) *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
      rc = err_set(err, 400, "%s is not a valid change command", upper);
    } else {
      rc = config_apply_instruction(image_config, in, &st, err);
    }
    df_instr_free(in);
  }
  /* config_apply may have replaced nothing but members: copy them back */
  json_t *c = json_object_get(image_config, "config");
  if (c != config) json_object_update(config, c);
  json_decref(image_config);
  return rc;
}
