/* The registry client's life and the pull-side reads: manifests and tag lists. */
#include "image/registry.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "image/reference.h"
#include "image/registry_internal.h"

#define ACCEPT_MANIFESTS                                                                        \
  "Accept: " REGISTRY_MT_OCI_INDEX ", " REGISTRY_MT_OCI_MANIFEST ", " REGISTRY_MT_DOCKER_LIST  \
  ", " REGISTRY_MT_DOCKER_MANIFEST
#define DEFAULT_CHUNK (16LL << 20)
#define TAG_PAGES_MAX 10000

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud) {
  registry_client *c = ud;
  pthread_mutex_lock(&c->share_locks[data]);
}
static void share_unlock(CURL *h, curl_lock_data data, void *ud) {
  registry_client *c = ud;
  pthread_mutex_unlock(&c->share_locks[data]);
}

static const registry_tuning default_tuning = {
    .max_attempts = 5,
    .retry_delay_ms = 5000,
    .chunk_size = DEFAULT_CHUNK,
    .connect_timeout_ms = 15000,
    .stall_timeout_ms = 60000,
};

int registry_client_new(const registry_endpoint *ep, const registry_auth *auth,
                        const char *user_agent, registry_client **out, arca_err *err) {
  pthread_once(&curl_once, curl_init_once);
  *out = NULL;
  if (!ep || !ep->base_url || !ep->domain) return err_set(err, 500, "registry: no endpoint");
  registry_client *c = xcalloc(1, sizeof *c);
  c->ep.domain = xstrdup(ep->domain);
  c->ep.base_url = xstrdup(ep->base_url);
  c->ep.insecure = ep->insecure;
  c->ep.mirror = ep->mirror;
  registry_auth_copy(&c->auth, auth);
  c->user_agent = user_agent ? xstrdup(user_agent) : NULL;
  c->tune = default_tuning;
  const char *chunk = getenv("ARCA_REGISTRY_CHUNK_SIZE");
  if (chunk && atoll(chunk) > 0) c->tune.chunk_size = atoll(chunk);
  pthread_mutex_init(&c->lock, NULL);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_init(&c->share_locks[i], NULL);
  c->share = curl_share_init();
  if (c->share) {
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  *out = c;
  return 0;
}

void registry_client_free(registry_client *c) {
  if (!c) return;
  if (c->share) curl_share_cleanup(c->share);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_destroy(&c->share_locks[i]);
  pthread_mutex_destroy(&c->lock);
  registry_challenges_free(c->challenges, c->nchallenges);
  for (size_t i = 0; i < c->ntokens; i++) {
    explicit_bzero(c->tokens[i].token, strlen(c->tokens[i].token));
    free(c->tokens[i].token);
    free(c->tokens[i].scope_key);
  }
  free(c->tokens);
  if (c->refresh_token) explicit_bzero(c->refresh_token, strlen(c->refresh_token));
  free(c->refresh_token);
  if (c->auth.password) explicit_bzero(c->auth.password, strlen(c->auth.password));
  registry_auth_free(&c->auth);
  free(c->ep.domain);
  free(c->ep.base_url);
  free(c->user_agent);
  free(c);
}

void registry_client_tune(registry_client *c, const registry_tuning *t) {
  if (t->max_attempts > 0) c->tune.max_attempts = t->max_attempts;
  if (t->retry_delay_ms >= 0) c->tune.retry_delay_ms = t->retry_delay_ms;
  if (t->chunk_size > 0) c->tune.chunk_size = t->chunk_size;
  if (t->connect_timeout_ms > 0) c->tune.connect_timeout_ms = t->connect_timeout_ms;
  if (t->stall_timeout_ms > 0) c->tune.stall_timeout_ms = t->stall_timeout_ms;
  c->tune.on_retry = t->on_retry;
}

const registry_endpoint *registry_client_endpoint(const registry_client *c) { return &c->ep; }

int registry_client_ping(registry_client *c, arca_err *err) {
  pthread_mutex_lock(&c->lock);
  int rc = reg_ping_locked(c, err);
  pthread_mutex_unlock(&c->lock);
  return rc;
}

int registry_client_open(const registry_endpoint *eps, size_t n, const registry_auth *auth,
                         const char *user_agent, registry_client **out, arca_err *err) {
  *out = NULL;
  if (n == 0) return err_set(err, 500, "registry: no endpoint");
  for (size_t i = 0; i < n; i++) {
    registry_client *c = NULL;
    if (registry_client_new(&eps[i], auth, user_agent, &c, err) < 0) return -1;
    if (registry_client_ping(c, err) == 0) {
      *out = c;
      return 0;
    }
    registry_client_free(c);
  }
  return -1;
}

/* ---- manifests -------------------------------------------------------------------------- */

static bool is_digest_ref(const char *reference) { return strchr(reference, ':') != NULL; }

static image_ref ref_of(const registry_client *c, const char *repo, const char *reference) {
  image_ref r = {.domain = c->ep.domain, .path = (char *)repo};
  if (reference && is_digest_ref(reference)) r.digest = (char *)reference;
  else r.tag = (char *)reference;
  return r;
}

static int schema1_error(const registry_client *c, const char *repo, const char *reference,
                         arca_err *err) {
  image_ref r = ref_of(c, repo, reference);
  autofree char *full = ref_full(&r);
  return err_set(err, 400,
                 "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support "
                 "has been removed. Suggest the author of %s to upgrade the image to the OCI "
                 "Format or Docker Image manifest v2, schema 2. More information at "
                 "https://docs.docker.com/go/deprecated-image-specs/", full);
}

/* translatePullError of moby's distribution/errors.go */
static int pull_error(const registry_client *c, const reg_response *rs, const char *repo,
                      const char *reference, arca_err *err) {
  char text[1024];
  bool bare = false;
  const char *id = reg_error_text(rs, text, sizeof text, &bare);
  image_ref r = ref_of(c, repo, reference);
  if (id && !bare && !strcmp(id, "DENIED")) {
    autofree char *name = ref_familiar_name(&r);
    return err_set(err, 404,
                   "pull access denied for %s, repository does not exist or may require "
                   "'docker login': %s", name, text);
  }
  if (id && !bare && !strcmp(id, "MANIFEST_UNKNOWN")) {
    autofree char *s = ref_familiar(&r);
    return err_set(err, 404, "manifest for %s not found: %s", s, text);
  }
  if (id && !bare && !strcmp(id, "NAME_UNKNOWN")) {
    autofree char *name = ref_familiar_name(&r);
    return err_set(err, 404, "repository %s not found: %s", name, text);
  }
  if (id && !bare && !strcmp(id, "UNAUTHORIZED")) return err_set(err, 401, "%s", text);
  return err_set(err, 500, "%s", text);
}

static char *media_type_base(const char *ct) {
  if (!ct) return xstrdup("");
  size_t n = strcspn(ct, ";");
  while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
  char *s = xstrndup(ct, n);
  for (char *p = s; *p; p++) *p = (char)tolower((unsigned char)*p);
  return s;
}

static bool known_manifest_type(const char *mt) {
  return !strcmp(mt, REGISTRY_MT_OCI_MANIFEST) || !strcmp(mt, REGISTRY_MT_OCI_INDEX) ||
         !strcmp(mt, REGISTRY_MT_DOCKER_MANIFEST) || !strcmp(mt, REGISTRY_MT_DOCKER_LIST);
}

static bool schema1_type(const char *mt) {
  return !strcmp(mt, REGISTRY_MT_SCHEMA1) || !strcmp(mt, REGISTRY_MT_SCHEMA1_SIGNED);
}

/* moby's detectManifestBlobMediaType, for answers whose Content-Type says nothing useful */
static int detect_media_type(const registry_client *c, const char *repo, const char *reference,
                             const char *body, size_t len, char **out, arca_err *err) {
  json_error_t jerr;
  autojson json_t *m = json_loadb(body, len, 0, &jerr);
  if (!m || !json_is_object(m))
    return err_set(err, 500, "error detecting media type: %s", m ? "not a JSON object" : jerr.text);
  const char *mt = json_string_value(json_object_get(m, "mediaType"));
  bool manifests = json_object_get(m, "manifests"), config = json_object_get(m, "config");
  bool layers = json_object_get(m, "layers"), fslayers = json_object_get(m, "fsLayers");
  if (mt && (!strcmp(mt, REGISTRY_MT_DOCKER_MANIFEST) || !strcmp(mt, REGISTRY_MT_OCI_MANIFEST))) {
    if (manifests || fslayers)
      return err_set(err, 500,
                     "media-type: \"%s\" should not have \"manifests\" or \"fsLayers\"", mt);
  } else if (mt && (!strcmp(mt, REGISTRY_MT_DOCKER_LIST) || !strcmp(mt, REGISTRY_MT_OCI_INDEX))) {
    if (config || layers || fslayers)
      return err_set(err, 500,
                     "media-type: \"%s\" should not have \"config\", \"layers\", or \"fsLayers\"",
                     mt);
  } else if (mt && schema1_type(mt)) {
    return schema1_error(c, repo, reference, err);
  }
  if (mt && *mt) {
    *out = xstrdup(mt);
    return 0;
  }
  if (fslayers && !manifests && !layers && !config) return schema1_error(c, repo, reference, err);
  if ((config && !manifests && !fslayers) || (layers && !manifests && !fslayers)) {
    *out = xstrdup(REGISTRY_MT_OCI_MANIFEST);
    return 0;
  }
  if (!config && !layers && !fslayers) {
    *out = xstrdup(REGISTRY_MT_OCI_INDEX);
    return 0;
  }
  return err_set(err, 500, "media-type: cannot determine");
}

static int manifest_request(registry_client *c, const char *method, const char *repo,
                            const char *reference, reg_response *rs, arca_err *err) {
  autofree char *url = reg_url(c, "/v2/%s/manifests/%s", repo, reference);
  autofree char *scope = registry_scope_repository(repo, false);
  struct curl_slist *hdrs = curl_slist_append(NULL, ACCEPT_MANIFESTS);
  reg_request rq;
  reg_request_init(&rq, method, url);
  rq.scope = scope;
  rq.headers = hdrs;
  rq.max_body = REGISTRY_MANIFEST_MAX + 1;
  int rc = reg_send(c, &rq, rs, NULL, err);
  curl_slist_free_all(hdrs);
  if (rc < 0 && err) err->status = 500; /* moby's pull treats a url.Error as Unknown */
  return rc;
}

int registry_get_manifest(registry_client *c, const char *repo, const char *reference,
                          char **body, size_t *len, char **media_type, char digest_out[72],
                          arca_err *err) {
  *body = NULL;
  *len = 0;
  if (media_type) *media_type = NULL;
  bool by_digest = is_digest_ref(reference);
  if (by_digest && !digest_is_sha256(reference)) {
    if (digest_validate(reference, err) < 0) return -1;
    return err_set(err, 400, "unsupported digest algorithm");
  }
  reg_response rs;
  reg_response_init(&rs);
  if (manifest_request(c, "GET", repo, reference, &rs, err) < 0) {
    reg_response_free(&rs);
    return -1;
  }
  int rc = 0;
  char computed[DIGEST_STR_SIZE];
  autofree char *mt = NULL;
  autofree char *ct = NULL; /* declared before the first goto: cleanup must see it set */
  if (rs.status < 200 || rs.status >= 300) {
    rc = pull_error(c, &rs, repo, reference, err);
    goto out;
  }
  if (rs.body_truncated) {
    rc = err_set(err, 500, "manifest too large: more than %d bytes", REGISTRY_MANIFEST_MAX);
    goto out;
  }
  digest_buffer(rs.body.buf ? rs.body.buf : "", rs.body.len, computed);
  if (by_digest && strcmp(computed, reference)) {
    rc = err_set(err, 500, "manifest verification failed for digest %s", reference);
    goto out;
  }
  if (!by_digest && rs.docker_digest && digest_is_sha256(rs.docker_digest) &&
      strcmp(computed, rs.docker_digest)) {
    rc = err_set(err, 500, "manifest verification failed for digest %s", rs.docker_digest);
    goto out;
  }
  ct = media_type_base(rs.content_type);
  if (schema1_type(ct)) {
    rc = schema1_error(c, repo, reference, err);
    goto out;
  }
  if (known_manifest_type(ct)) {
    mt = xstrdup(ct);
  } else if (detect_media_type(c, repo, reference, rs.body.buf ? rs.body.buf : "", rs.body.len,
                               &mt, err) < 0) {
    rc = -1;
    goto out;
  }
  if (digest_out) memcpy(digest_out, computed, DIGEST_STR_SIZE);
  if (media_type) *media_type = steal_ptr(mt);
  *len = rs.body.len;
  *body = sb_steal(&rs.body);
out:
  reg_response_free(&rs);
  return rc;
}

int registry_head_manifest(registry_client *c, const char *repo, const char *reference,
                           char **media_type, char digest_out[72], int64_t *size,
                           arca_err *err) {
  if (media_type) *media_type = NULL;
  reg_response rs;
  reg_response_init(&rs);
  if (manifest_request(c, "HEAD", repo, reference, &rs, err) < 0) {
    reg_response_free(&rs);
    return -1;
  }
  if (rs.status >= 200 && rs.status < 300 && rs.docker_digest &&
      digest_is_valid(rs.docker_digest)) {
    int rc = 0;
    autofree char *ct = media_type_base(rs.content_type);
    if (is_digest_ref(reference) && strcmp(reference, rs.docker_digest)) {
      rc = err_set(err, 500, "manifest verification failed for digest %s", reference);
    } else if (schema1_type(ct)) {
      rc = schema1_error(c, repo, reference, err);
    } else if (!known_manifest_type(ct)) {
      rc = 1; /* the body will tell */
    } else {
      if (media_type) *media_type = steal_ptr(ct);
      if (digest_out) snprintf(digest_out, DIGEST_STR_SIZE, "%s", rs.docker_digest);
      if (size) *size = rs.content_length;
    }
    reg_response_free(&rs);
    if (rc <= 0) return rc;
  } else {
    reg_response_free(&rs);
  }
  /* no digest in the answer, an error (HEAD has no body to explain it), or an unclear type */
  char *body = NULL;
  size_t len = 0;
  char dg[DIGEST_STR_SIZE];
  if (registry_get_manifest(c, repo, reference, &body, &len, media_type, dg, err) < 0) return -1;
  free(body);
  if (digest_out) memcpy(digest_out, dg, DIGEST_STR_SIZE);
  if (size) *size = (int64_t)len;
  return 0;
}

/* ---- tags ------------------------------------------------------------------------------- */

void registry_tags_free(char **tags, size_t n) {
  for (size_t i = 0; i < n; i++) free(tags[i]);
  free(tags);
}

int registry_list_tags(registry_client *c, const char *repo, char ***tags, size_t *n,
                       arca_err *err) {
  *tags = NULL;
  *n = 0;
  autofree char *scope = registry_scope_repository(repo, false);
  char *url = reg_url(c, "/v2/%s/tags/list", repo);
  int rc = 0;
  for (int page = 0; url && page < TAG_PAGES_MAX; page++) {
    reg_request rq;
    reg_request_init(&rq, "GET", url);
    rq.scope = scope;
    rq.max_body = 16 << 20;
    reg_response rs;
    reg_response_init(&rs);
    rc = reg_send(c, &rq, &rs, NULL, err);
    if (rc == 0 && (rs.status < 200 || rs.status >= 300))
      rc = pull_error(c, &rs, repo, NULL, err);
    json_t *list = NULL;
    autojson json_t *root = NULL;
    if (rc == 0) {
      json_error_t jerr;
      root = json_loadb(rs.body.buf ? rs.body.buf : "", rs.body.len, 0, &jerr);
      list = json_object_get(root, "tags");
      if (!root || !json_is_object(root) || (list && !json_is_array(list) && !json_is_null(list)))
        rc = err_set(err, 500, "error decoding tag list: %s",
                     root ? "unexpected shape" : jerr.text);
    }
    size_t i;
    json_t *t;
    if (rc == 0 && json_is_array(list)) {
      json_array_foreach(list, i, t) {
        if (!json_is_string(t)) continue;
        *tags = xrealloc(*tags, (*n + 1) * sizeof **tags);
        (*tags)[(*n)++] = xstrdup(json_string_value(t));
      }
    }
    char *next = rc == 0 ? registry_link_next(rs.link, url) : NULL;
    reg_response_free(&rs);
    free(url);
    url = next;
    if (rc < 0) break;
  }
  free(url);
  if (rc < 0) {
    registry_tags_free(*tags, *n);
    *tags = NULL;
    *n = 0;
  }
  return rc;
}
