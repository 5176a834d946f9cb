#include "engine/image_pull.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/engine.h"
#include "image/reference.h"
#include "image/registry.h"

#define IS(e) (&(e)->images)
#define CONFIG_MAX (8u << 20)

typedef struct pull_layer {
  char digest[DIGEST_STR_SIZE];
  char diff_id[DIGEST_STR_SIZE];
  char chain_id[DIGEST_STR_SIZE];
  char short_id[13];
  char media_type[96];
  int64_t size;
  bool exists;      /* unpacked already: "Already exists" */
  /* download state, guarded by pull_plan.lock */
  int state;        /* 0 waiting, 1 downloading, 2 done, -1 failed */
  arca_err err;
} pull_layer;

struct pull_plan {
  engine *e;
  image_ref ref;              /* normalised, with tag or digest */
  char *familiar;             /* "busybox:latest" */
  char *familiar_name;        /* "busybox" */
  char *full;                 /* "docker.io/library/busybox:latest" */
  char *full_name;
  char *repo;                 /* "library/busybox" */
  char *reference;            /* tag or digest asked for */
  registry_client *client;
  char pulled_digest[DIGEST_STR_SIZE];   /* of what the tag points to (index or manifest) */
  char *index_text;
  size_t index_len;
  char *manifest_text;
  size_t manifest_len;
  char manifest_digest[DIGEST_STR_SIZE];
  char *config_text;
  size_t config_len;
  char config_digest[DIGEST_STR_SIZE];
  pull_layer *layers;
  size_t nlayers;
  bool up_to_date;
  bool client_borrowed;       /* a tag of an all-tags pull: the client is the parent's */

  /* all tags (docker pull -a): the tags listed by the registry, pulled in turn */
  bool all_tags;
  char **tags;
  size_t ntags;
  char *platform;
  pull_plan *first;           /* tags[0], resolved while preparing (see image_pull_prepare) */
  bool first_failed;          /* ... or why it could not be, after its manifest was found */
  arca_err first_err;

  /* run state */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  img_emit_fn emit;
  void *emit_ctx;
  int cancel_fd;
  bool cancelled;
  size_t next_download;
};

const char *image_pull_familiar(const pull_plan *p) { return p->familiar; }

/* ---- progress messages ---- */

void progress_bar(int64_t current, int64_t total, char *out, size_t n) {
  char cur[32], tot[32];
  if (current <= 0 && total <= 0) {
    out[0] = '\0';
    return;
  }
  human_size((double)current, cur, sizeof cur);
  if (total <= 0) {
    snprintf(out, n, "%8s", cur);
    return;
  }
  human_size((double)total, tot, sizeof tot);
  int pct = (int)((double)current / (double)total * 100) / 2;
  if (pct > 50) pct = 50;
  char bar[64];
  memset(bar, '=', (size_t)pct);
  bar[pct] = '>';
  memset(bar + pct + 1, ' ', (size_t)(50 - pct));
  bar[51] = '\0';
  if (current > total) snprintf(out, n, "[%s] %8s", bar, cur);
  else snprintf(out, n, "[%s] %8s/%s", bar, cur, tot);
}

json_t *progress_message(const char *id, const char *status, int64_t current, int64_t total) {
  json_t *m = json_object();
  json_object_set_new(m, "status", json_string(status));
  if (current >= 0 || total >= 0) {
    json_t *detail = json_object();
    if (current > 0) json_object_set_new(detail, "current", json_integer(current));
    if (total > 0) json_object_set_new(detail, "total", json_integer(total));
    json_object_set_new(m, "progressDetail", detail);
    char bar[128];
    progress_bar(current, total, bar, sizeof bar);
    if (bar[0]) json_object_set_new(m, "progress", json_string(bar));
  }
  if (id && *id) json_object_set_new(m, "id", json_string(id));
  return m;
}

json_t *progress_error(const char *message) {
  return json_pack("{s:{s:s},s:s}", "errorDetail", "message", message, "error", message);
}

static int emit(pull_plan *p, json_t *msg) {
  int rc = 0;
  if (p->emit) rc = p->emit(p->emit_ctx, msg);
  json_decref(msg);
  if (rc < 0) {
    pthread_mutex_lock(&p->lock);
    p->cancelled = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
  }
  return rc;
}

static void emit_layer(pull_plan *p, pull_layer *l, const char *status) {
  emit(p, progress_message(l->short_id, status, 0, 0));
}

/* ---- platform ---- */

int platform_parse(const char *s, char os[16], char arch[16], char variant[16], arca_err *err) {
  os[0] = arch[0] = variant[0] = '\0';
  autofree char *copy = xstrdup(s);
  char *parts[4] = {0};
  int n = 0;
  char *save = NULL;
  for (char *t = strtok_r(copy, "/", &save); t && n < 4; t = strtok_r(NULL, "/", &save)) parts[n++] = t;
  if (n == 0 || n > 3) return err_set(err, 400, "\"%s\": unknown operating system or architecture: invalid argument", s);
  for (int i = 0; i < n; i++)
    for (char *c = parts[i]; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
  const char *a = NULL, *v = NULL;
  if (n == 1) {
    if (!strcmp(parts[0], "linux") || !strcmp(parts[0], "windows") || !strcmp(parts[0], "darwin")) {
      snprintf(os, 16, "%s", parts[0]);
    } else {
      snprintf(os, 16, "linux");
      a = parts[0];
    }
  } else {
    snprintf(os, 16, "%s", parts[0]);
    a = parts[1];
    v = n == 3 ? parts[2] : NULL;
  }
  if (a) {
    if (!strcmp(a, "x86_64") || !strcmp(a, "x86-64")) a = "amd64";
    else if (!strcmp(a, "aarch64")) a = "arm64";
    else if (!strcmp(a, "armhf")) { a = "arm"; v = v ? v : "v7"; }
    else if (!strcmp(a, "armel")) { a = "arm"; v = v ? v : "v6"; }
    else if (!strcmp(a, "i386") || !strcmp(a, "i686")) a = "386";
    snprintf(arch, 16, "%s", a);
  }
  if (v) snprintf(variant, 16, "%s", v);
  if (!strcmp(arch, "arm64") && !strcmp(variant, "v8")) variant[0] = '\0';
  if (strcmp(os, "linux") != 0)
    return err_set(err, 400, "operating system \"%s\" is not supported: Arca runs linux images", os);
  return 0;
}

static bool platform_matches(const json_t *pf, const char *os, const char *arch, const char *variant) {
  const char *pos = json_string_value(json_object_get(pf, "os"));
  const char *parch = json_string_value(json_object_get(pf, "architecture"));
  const char *pvar = json_string_value(json_object_get(pf, "variant"));
  if (!pos || !parch || strcmp(pos, os) || strcmp(parch, arch)) return false;
  if (!strcmp(arch, "arm64") && pvar && !strcmp(pvar, "v8")) pvar = NULL;
  if (!*variant) return true;
  return pvar && !strcmp(pvar, variant);
}

/* ---- prepare ---- */

static void plan_free(pull_plan *p) {
  if (!p) return;
  ref_free(&p->ref);
  free(p->familiar);
  free(p->familiar_name);
  free(p->full);
  free(p->full_name);
  free(p->repo);
  free(p->reference);
  if (p->client && !p->client_borrowed) registry_client_free(p->client);
  registry_tags_free(p->tags, p->ntags);
  free(p->platform);
  plan_free(p->first);
  free(p->index_text);
  free(p->manifest_text);
  free(p->config_text);
  free(p->layers);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->cond);
  free(p);
}
void image_pull_plan_free(pull_plan *p) { plan_free(p); }

static bool is_index(const char *mt) {
  return !strcmp(mt, REGISTRY_MT_OCI_INDEX) || !strcmp(mt, REGISTRY_MT_DOCKER_LIST);
}

static int parse_manifest(pull_plan *p, arca_err *err) {
  json_error_t jerr;
  autojson json_t *m = json_loadb(p->manifest_text, p->manifest_len, 0, &jerr);
  if (!json_is_object(m)) return err_set(err, 500, "invalid manifest for %s: %s", p->familiar, jerr.text);
  json_t *config = json_object_get(m, "config");
  const char *cd = json_string_value(json_object_get(config, "digest"));
  if (!cd || !digest_is_sha256(cd)) return err_set(err, 500, "manifest for %s has no valid config digest", p->familiar);
  snprintf(p->config_digest, sizeof p->config_digest, "%s", cd);
  json_t *layers = json_object_get(m, "layers");
  if (!json_is_array(layers)) return err_set(err, 500, "manifest for %s has no layers list", p->familiar);
  p->nlayers = json_array_size(layers);
  p->layers = xcalloc(p->nlayers + 1, sizeof *p->layers);
  for (size_t i = 0; i < p->nlayers; i++) {
    json_t *l = json_array_get(layers, i);
    const char *d = json_string_value(json_object_get(l, "digest"));
    const char *mt = json_string_value(json_object_get(l, "mediaType"));
    if (!d || !digest_is_sha256(d)) return err_set(err, 500, "manifest for %s has an invalid layer digest", p->familiar);
    snprintf(p->layers[i].digest, sizeof p->layers[i].digest, "%s", d);
    snprintf(p->layers[i].short_id, sizeof p->layers[i].short_id, "%.12s", d + 7);
    snprintf(p->layers[i].media_type, sizeof p->layers[i].media_type, "%s", mt ? mt : "");
    p->layers[i].size = json_integer_value(json_object_get(l, "size"));
  }
  return 0;
}

static int parse_config(pull_plan *p, arca_err *err) {
  json_error_t jerr;
  autojson json_t *c = json_loadb(p->config_text, p->config_len, 0, &jerr);
  if (!json_is_object(c)) return err_set(err, 500, "invalid image config for %s: %s", p->familiar, jerr.text);
  json_t *diff_ids = json_object_get(json_object_get(c, "rootfs"), "diff_ids");
  if (json_array_size(diff_ids) != p->nlayers)
    return err_set(err, 500, "image config for %s lists %zu layers but its manifest has %zu", p->familiar,
                   json_array_size(diff_ids), p->nlayers);
  char parent[DIGEST_STR_SIZE] = "";
  for (size_t i = 0; i < p->nlayers; i++) {
    const char *d = json_string_value(json_array_get(diff_ids, i));
    if (!d || !digest_is_sha256(d)) return err_set(err, 500, "image config for %s has an invalid diff ID", p->familiar);
    snprintf(p->layers[i].diff_id, sizeof p->layers[i].diff_id, "%s", d);
    layers_chain_id(parent, d, p->layers[i].chain_id);
    memcpy(parent, p->layers[i].chain_id, sizeof parent);
    p->layers[i].exists = layers_get(IS(p->e)->layers, p->layers[i].chain_id, NULL);
  }
  return 0;
}

static int open_client(pull_plan *p, const char *auth_header, arca_err *err) {
  engine *e = p->e;
  registry_auth auth = {0};
  if (auth_header && *auth_header && registry_auth_decode(auth_header, &auth, err) < 0) return -1;
  pthread_rwlock_rdlock(&e->cfg_lock);
  registry_endpoint *eps = NULL;
  size_t neps = 0;
  int rc = registry_endpoints(p->ref.domain, (const char *const *)e->cfg.insecure_registries.v,
                              e->cfg.insecure_registries.n, (const char *const *)e->cfg.registry_mirrors.v,
                              e->cfg.registry_mirrors.n, &eps, &neps, err);
  pthread_rwlock_unlock(&e->cfg_lock);
  if (rc == 0) rc = registry_client_open(eps, neps, &auth, "Arca/" ARCA_VERSION, &p->client, err);
  registry_endpoints_free(eps, neps);
  registry_auth_free(&auth);
  return rc;
}

static pull_plan *plan_new(engine *e) {
  pull_plan *p = xcalloc(1, sizeof *p);
  p->e = e;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  p->cancel_fd = -1;
  return p;
}

/* The names messages and references use, from p->ref (a bare name when pulling all tags). */
static void plan_names(pull_plan *p) {
  p->familiar = ref_familiar(&p->ref);
  p->familiar_name = ref_familiar_name(&p->ref);
  p->full = ref_full(&p->ref);
  p->full_name = ref_full_name(&p->ref);
  p->repo = xstrdup(ref_repository_path(&p->ref));
  if (p->ref.digest || p->ref.tag) p->reference = xstrdup(p->ref.digest ? p->ref.digest : p->ref.tag);
}

/* Fetches what p->reference points to, the manifest for the platform (from an index) and the
 * image config. *found is set once the registry has given the tag's manifest: dockerd says
 * "Pulling from" there, so whatever fails later fails after that line. */
static int plan_resolve(pull_plan *p, const char *platform, bool *found, arca_err *err) {
  engine *e = p->e;
  char *body = NULL, *mt = NULL;
  size_t len = 0;
  char os[16], arch[16], variant[16];
  if (platform && *platform) {
    if (platform_parse(platform, os, arch, variant, err) < 0) return -1;
  } else {
    snprintf(os, sizeof os, "linux");
    snprintf(arch, sizeof arch, "%s", e->host.go_arch);
    variant[0] = '\0';
  }
  if (registry_get_manifest(p->client, p->repo, p->reference, &body, &len, &mt, p->pulled_digest, err) < 0)
    return -1;
  *found = true;
  if (is_index(mt)) {
    p->index_text = body;
    p->index_len = len;
    free(mt);
    json_error_t jerr;
    autojson json_t *idx = json_loadb(body, len, 0, &jerr);
    json_t *manifests = json_object_get(idx, "manifests");
    const char *chosen = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(manifests, i, m) {
      if (platform_matches(json_object_get(m, "platform"), os, arch, variant)) {
        chosen = json_string_value(json_object_get(m, "digest"));
        break;
      }
    }
    if (!chosen)
      return err_set(err, 404, "no matching manifest for %s/%s%s%s in the manifest list entries", os, arch,
                     variant[0] ? "/" : "", variant);
    char got[DIGEST_STR_SIZE];
    if (registry_get_manifest(p->client, p->repo, chosen, &body, &len, &mt, got, err) < 0) return -1;
    if (is_index(mt)) {
      free(body);
      free(mt);
      return err_set(err, 500, "nested manifest lists are not supported (%s)", p->familiar);
    }
    memcpy(p->manifest_digest, got, sizeof got);
  } else {
    memcpy(p->manifest_digest, p->pulled_digest, sizeof p->manifest_digest);
  }
  p->manifest_text = body;
  p->manifest_len = len;
  free(mt);
  if (parse_manifest(p, err) < 0) return -1;

  /* the config: from the content store when we have it, else from the registry */
  if (blobs_get(IS(e)->blobs, p->config_digest, CONFIG_MAX, &p->config_text, &p->config_len, NULL) < 0) {
    blob_writer *w;
    if (blobs_writer_new(IS(e)->blobs, p->config_digest, &w, err) < 0) return -1;
    int rc = registry_fetch_blob(p->client, p->repo, p->config_digest, -1, blobs_writer_fd(w), NULL, NULL, -1, err);
    if (rc == 0) rc = blobs_writer_commit_trusted(w, p->config_digest, err);
    blobs_writer_free(w);
    if (rc < 0) return -1;
    if (blobs_get(IS(e)->blobs, p->config_digest, CONFIG_MAX, &p->config_text, &p->config_len, err) < 0) return -1;
  }
  if (parse_config(p, err) < 0) return -1;
  if (platform && *platform && !p->index_text) {
    autojson json_t *c = json_loadb(p->config_text, p->config_len, 0, NULL);
    const char *carch = json_string_value(json_object_get(c, "architecture"));
    if (carch && strcmp(carch, arch) != 0)
      return err_set(err, 404, "image with reference %s was found but its platform (linux/%s) does not match the specified platform (%s/%s%s%s)",
                     p->familiar, carch, os, arch, variant[0] ? "/" : "", variant);
  }
  p->up_to_date = image_has_all_layers(e, p->config_digest);
  return 0;
}

/* One tag of an all-tags pull: a plan of its own on the parent's client. */
static int plan_for_tag(pull_plan *all, const char *tag, pull_plan **out, bool *found, arca_err *err) {
  *found = false;
  pull_plan *p = plan_new(all->e);
  ref_copy(&p->ref, &all->ref);
  p->client = all->client;
  p->client_borrowed = true;
  if (ref_with_tag(&p->ref, tag, err) < 0) {
    plan_free(p);
    return -1;
  }
  plan_names(p);
  if (plan_resolve(p, all->platform, found, err) < 0) {
    plan_free(p);
    return -1;
  }
  *out = p;
  return 0;
}

/* all_tags_when_bare: a name without tag or digest means every tag (the API), else latest. */
static int prepare(engine *e, const char *from_image, const char *tag, const char *platform,
                   const char *auth_header, bool all_tags_when_bare, pull_plan **out, arca_err *err) {
  pull_plan *p = plan_new(e);
  char os[16], arch[16], variant[16];
  bool found = false;
  if (ref_parse_repo_tag(from_image, tag ? tag : "", &p->ref, err) < 0) goto fail;
  if (!p->ref.path) {
    err_set(err, 400, "invalid reference format");
    goto fail;
  }
  if (ref_check_not_reserved(&p->ref, err) < 0) goto fail;
  if (!p->ref.tag && !p->ref.digest) {
    if (all_tags_when_bare) p->all_tags = true;
    else ref_with_default_tag(&p->ref);
  }
  plan_names(p);
  if (platform && *platform && platform_parse(platform, os, arch, variant, err) < 0) goto fail;
  if (open_client(p, auth_header, err) < 0) goto fail;
  if (!p->all_tags) {
    if (plan_resolve(p, platform, &found, err) < 0) goto fail;
  } else {
    p->platform = platform && *platform ? xstrdup(platform) : NULL;
    if (registry_list_tags(p->client, p->repo, &p->tags, &p->ntags, err) < 0) goto fail;
    /* The first tag now, as dockerd: until its "Pulling from" nothing has been written, so
     * a failure before that line is the answer's status; one after it goes in the stream. */
    if (p->ntags > 0 && plan_for_tag(p, p->tags[0], &p->first, &found, &p->first_err) < 0) {
      if (!found) {
        err_copy(err, &p->first_err);
        goto fail;
      }
      p->first_failed = true;
    }
  }
  *out = p;
  return 0;
fail:
  plan_free(p);
  return -1;
}

int image_pull_prepare(engine *e, const char *from_image, const char *tag, const char *platform,
                       const char *auth_header, pull_plan **out, arca_err *err) {
  return prepare(e, from_image, tag, platform, auth_header, true, out, err);
}

/* ---- run ---- */

struct dl_ctx {
  pull_plan *p;
  pull_layer *l;
  int64_t last_emit_ns;
};

static void on_download_progress(void *ctx, int64_t done, int64_t total) {
  struct dl_ctx *d = ctx;
  int64_t now = monotonic_ns();
  if (now - d->last_emit_ns < 100000000LL && done < total) return;
  d->last_emit_ns = now;
  emit(d->p, progress_message(d->l->short_id, "Downloading", done, total > 0 ? total : d->l->size));
}

static int download_layer(pull_plan *p, pull_layer *l, arca_err *err) {
  if (blobs_exists(IS(p->e)->blobs, l->digest, NULL)) {
    emit_layer(p, l, "Download complete");
    return 0;
  }
  blob_writer *w;
  if (blobs_writer_new(IS(p->e)->blobs, l->digest, &w, err) < 0) return -1;
  struct dl_ctx d = {p, l, 0};
  emit(p, progress_message(l->short_id, "Downloading", 0, l->size));
  int rc = registry_fetch_blob(p->client, p->repo, l->digest, l->size, blobs_writer_fd(w), on_download_progress, &d,
                               p->cancel_fd, err);
  if (rc == 0) {
    emit_layer(p, l, "Verifying Checksum");
    rc = blobs_writer_commit_trusted(w, l->digest, err);
  }
  blobs_writer_free(w);
  if (rc == 0) emit_layer(p, l, "Download complete");
  return rc;
}

static void *download_worker(void *arg) {
  pull_plan *p = arg;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    pull_layer *l = NULL;
    while (p->next_download < p->nlayers && !p->cancelled) {
      pull_layer *c = &p->layers[p->next_download++];
      if (c->exists) continue;
      l = c;
      l->state = 1;
      break;
    }
    pthread_mutex_unlock(&p->lock);
    if (!l) return NULL;
    arca_err err;
    int rc = download_layer(p, l, &err);
    pthread_mutex_lock(&p->lock);
    if (rc < 0) {
      l->state = -1;
      err_copy(&l->err, &err);
      p->cancelled = true;
    } else {
      l->state = 2;
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
  }
}

struct ex_ctx {
  pull_plan *p;
  pull_layer *l;
  int64_t last_emit_ns;
};

static void on_extract_progress(void *ctx, uint64_t consumed) {
  struct ex_ctx *x = ctx;
  int64_t now = monotonic_ns();
  if (now - x->last_emit_ns < 100000000LL && (int64_t)consumed < x->l->size) return;
  x->last_emit_ns = now;
  emit(x->p, progress_message(x->l->short_id, "Extracting", (int64_t)consumed, x->l->size));
}

static int extract_layer(pull_plan *p, pull_layer *l, const char *parent, arca_err *err) {
  int fd;
  if (blobs_open_read(IS(p->e)->blobs, l->digest, &fd, err) < 0) return -1;
  struct ex_ctx x = {p, l, 0};
  layer_rec rec;
  int rc = layers_unpack(IS(p->e)->layers, parent, fd, l->diff_id, on_extract_progress, &x, &rec, err);
  close(fd);
  if (rc < 0) return err_wrap(err, "failed to register layer");
  emit_layer(p, l, "Pull complete");
  return 0;
}

static int finish(pull_plan *p, arca_err *err) {
  engine *e = p->e;
  /* keep the manifests with the content */
  char d[DIGEST_STR_SIZE];
  blobs_put(IS(e)->blobs, p->manifest_text, p->manifest_len, d, NULL);
  if (p->index_text) blobs_put(IS(e)->blobs, p->index_text, p->index_len, d, NULL);
  image_layer *layers = xcalloc(p->nlayers + 1, sizeof *layers);
  for (size_t i = 0; i < p->nlayers; i++) {
    memcpy(layers[i].chain_id, p->layers[i].chain_id, DIGEST_STR_SIZE);
    memcpy(layers[i].diff_id, p->layers[i].diff_id, DIGEST_STR_SIZE);
    memcpy(layers[i].digest, p->layers[i].digest, DIGEST_STR_SIZE);
    layers[i].blob_size = p->layers[i].size;
    snprintf(layers[i].media_type, sizeof layers[i].media_type, "%s", p->layers[i].media_type);
  }
  autofree char *canonical = xasprintf("%s@%s", p->full_name, p->pulled_digest);
  const char *tags[1] = {p->full};
  const char *digests[1] = {canonical};
  image_new in = {.config_text = p->config_text, .config_len = p->config_len, .layers = layers,
                  .nlayers = p->nlayers, .tags = tags, .ntags = p->ref.digest ? 0 : 1,
                  .digest_refs = digests, .ndigest_refs = 1};
  char id[DIGEST_STR_SIZE];
  int rc = image_create(e, &in, id, err);
  free(layers);
  return rc;
}

/* dockerd names the repository by its path on the registry: "library/busybox" */
static void say_pulling(pull_plan *p, const char *tag_or_digest) {
  autofree char *pulling = xasprintf("Pulling from %s", p->repo);
  emit(p, progress_message(tag_or_digest, pulling, -1, -1));
}

/* One tag or digest, from "Pulling from" to "Digest:". *tag_updated: the reference did not
 * point at this image before: dockerd's "Downloaded newer image", also when the image itself
 * was here under another name. */
static int run_one(pull_plan *p, img_emit_fn emit_fn, void *ctx, int cancel_fd, bool *tag_updated,
                   arca_err *err) {
  engine *e = p->e;
  p->emit = emit_fn;
  p->emit_ctx = ctx;
  p->cancel_fd = cancel_fd;
  say_pulling(p, p->reference);

  if (!p->up_to_date) {
    for (size_t i = 0; i < p->nlayers; i++)
      emit_layer(p, &p->layers[i], p->layers[i].exists ? "Already exists" : "Pulling fs layer");
    int workers;
    pthread_rwlock_rdlock(&e->cfg_lock);
    workers = e->cfg.max_concurrent_downloads;
    pthread_rwlock_unlock(&e->cfg_lock);
    size_t missing = 0;
    for (size_t i = 0; i < p->nlayers; i++)
      if (!p->layers[i].exists) {
        if (missing >= (size_t)workers) emit_layer(p, &p->layers[i], "Waiting");
        missing++;
      }
    if ((size_t)workers > missing) workers = (int)missing;
    pthread_t threads[64];
    if (workers > 64) workers = 64;
    int started = 0;
    for (int i = 0; i < workers; i++)
      if (pthread_create(&threads[started], NULL, download_worker, p) == 0) started++;
    int rc = 0;
    char parent[DIGEST_STR_SIZE] = "";
    for (size_t i = 0; i < p->nlayers && rc == 0; i++) {
      pull_layer *l = &p->layers[i];
      if (!l->exists) {
        pthread_mutex_lock(&p->lock);
        while (l->state != 2 && l->state != -1 && !p->cancelled) {
          struct timespec ts;
          clock_gettime(CLOCK_REALTIME, &ts);
          ts.tv_sec += 1;
          pthread_cond_timedwait(&p->cond, &p->lock, &ts);
          if (cancel_fd >= 0) {
            struct pollfd pf = {.fd = cancel_fd, .events = POLLIN};
            if (poll(&pf, 1, 0) > 0) p->cancelled = true;
          }
        }
        int state = l->state;
        bool cancelled = p->cancelled;
        pthread_mutex_unlock(&p->lock);
        if (state != 2) {
          /* the first failed layer tells why */
          rc = -1;
          bool told = false;
          for (size_t k = 0; k < p->nlayers; k++)
            if (p->layers[k].state == -1) {
              err_copy(err, &p->layers[k].err);
              told = true;
              break;
            }
          if (!told) err_set(err, 499, cancelled ? "context canceled" : "download failed");
          break;
        }
        if (extract_layer(p, l, parent, err) < 0) {
          rc = -1;
          pthread_mutex_lock(&p->lock);
          p->cancelled = true;
          pthread_cond_broadcast(&p->cond);
          pthread_mutex_unlock(&p->lock);
          break;
        }
      }
      memcpy(parent, l->chain_id, sizeof parent);
    }
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    if (rc < 0) return -1;
  }
  char old_id[DIGEST_STR_SIZE];
  *tag_updated = image_resolve(e, p->full, old_id, NULL) < 0 || strcmp(old_id, p->config_digest) != 0;
  if (finish(p, err) < 0) return -1;
  autofree char *digest_line = xasprintf("Digest: %s", p->pulled_digest);
  emit(p, progress_message(NULL, digest_line, -1, -1));
  return 0;
}

/* The last line and the event, once per pull (also when pulling all tags). */
static void say_done(pull_plan *p, bool downloaded) {
  autofree char *status = xasprintf("Status: %s for %s", downloaded ? "Downloaded newer image" : "Image is up to date",
                                    p->familiar);
  emit(p, progress_message(NULL, status, -1, -1));
  json_t *attrs = json_pack("{s:s}", "name", p->familiar_name);
  events_publish(p->e->events, "image", "pull", p->familiar, attrs);
}

static bool cancel_requested(pull_plan *p, int cancel_fd) {
  struct pollfd pf = {.fd = cancel_fd, .events = POLLIN};
  if (cancel_fd >= 0 && poll(&pf, 1, 0) > 0) return true;
  pthread_mutex_lock(&p->lock);
  bool cancelled = p->cancelled;
  pthread_mutex_unlock(&p->lock);
  return cancelled;
}

/* docker pull -a, as dockerd's pullRepository: each tag in the registry's order with its own
 * "Pulling from" and "Digest:", the first failure ends the pull (tags pulled so far stay),
 * then one Status line for the bare name ("Downloaded newer image" when any tag moved) and one
 * pull event. A repository without tags is "up to date". */
static int run_all(pull_plan *all, int cancel_fd, arca_err *err) {
  bool downloaded = false;
  for (size_t i = 0; i < all->ntags; i++) {
    if (cancel_requested(all, cancel_fd)) return err_set(err, 499, "context canceled");
    pull_plan *p = NULL;
    bool found = false;
    int rc;
    if (i == 0) {
      p = all->first;
      all->first = NULL;
      found = all->first_failed;
      rc = all->first_failed ? -1 : 0;
      if (rc < 0) err_copy(err, &all->first_err);
    } else {
      rc = plan_for_tag(all, all->tags[i], &p, &found, err);
    }
    if (rc < 0) {
      if (found) say_pulling(all, all->tags[i]);
      return -1;
    }
    bool updated = false;
    rc = run_one(p, all->emit, all->emit_ctx, cancel_fd, &updated, err);
    bool gone = p->cancelled;
    plan_free(p);
    if (rc < 0) return -1;
    if (gone) return err_set(err, 499, "context canceled");
    downloaded = downloaded || updated;
  }
  say_done(all, downloaded);
  return 0;
}

int image_pull_run(pull_plan *p, img_emit_fn emit_fn, void *ctx, int cancel_fd, arca_err *err) {
  if (p->all_tags) {
    p->emit = emit_fn;
    p->emit_ctx = ctx;
    p->cancel_fd = cancel_fd;
    return run_all(p, cancel_fd, err);
  }
  bool updated;
  if (run_one(p, emit_fn, ctx, cancel_fd, &updated, err) < 0) return -1;
  say_done(p, updated);
  return 0;
}

int image_pull(engine *e, const char *name, const char *platform, const char *auth_header, img_emit_fn emit_fn,
               void *ctx, int cancel_fd, arca_err *err) {
  pull_plan *p;
  if (prepare(e, name, "", platform, auth_header, false, &p, err) < 0) return -1;
  int rc = image_pull_run(p, emit_fn, ctx, cancel_fd, err);
  plan_free(p);
  return rc;
}
