/* Registry lookups that store nothing: distribution inspect, search, login. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/filters.h"
#include "common/util.h"
#include "engine/engine.h"
#include "engine/image_remote.h"
#include "image/reference.h"
#include "image/registry.h"

#define USER_AGENT "Arca/" ARCA_VERSION

static int endpoints_for(engine *e, const char *domain, bool with_mirrors, registry_endpoint **eps, size_t *n,
                         arca_err *err) {
  pthread_rwlock_rdlock(&e->cfg_lock);
  int rc = registry_endpoints(domain, (const char *const *)e->cfg.insecure_registries.v, e->cfg.insecure_registries.n,
                              with_mirrors ? (const char *const *)e->cfg.registry_mirrors.v : NULL,
                              with_mirrors ? e->cfg.registry_mirrors.n : 0, eps, n, err);
  pthread_rwlock_unlock(&e->cfg_lock);
  return rc;
}

int image_registry_client(engine *e, const char *domain, bool with_mirrors, const char *auth_header,
                          registry_client **out, arca_err *err) {
  registry_auth auth = {0};
  if (auth_header && *auth_header && registry_auth_decode(auth_header, &auth, err) < 0) return -1;
  registry_endpoint *eps = NULL;
  size_t n = 0;
  int rc = endpoints_for(e, domain, with_mirrors, &eps, &n, err);
  if (rc == 0) rc = registry_client_open(eps, n, &auth, USER_AGENT, out, err);
  registry_endpoints_free(eps, n);
  registry_auth_free(&auth);
  return rc;
}

static bool is_index(const char *mt) {
  return !strcmp(mt, REGISTRY_MT_OCI_INDEX) || !strcmp(mt, REGISTRY_MT_DOCKER_LIST);
}

int image_distribution_inspect(engine *e, const char *name, const char *auth_header, json_t **out, arca_err *err) {
  image_ref r = {0};
  if (ref_parse(name, &r, err) < 0) return -1;
  if (!r.tag && !r.digest) ref_with_default_tag(&r);
  registry_client *c = NULL;
  int rc = -1;
  char *body = NULL, *mt = NULL;
  size_t len = 0;
  char digest[DIGEST_STR_SIZE];
  json_t *platforms = NULL;
  autojson json_t *m = NULL;
  if (image_registry_client(e, r.domain, true, auth_header, &c, err) < 0) goto out;
  if (registry_get_manifest(c, ref_repository_path(&r), r.digest ? r.digest : r.tag, &body, &len, &mt, digest, err) < 0)
    goto out;
  platforms = json_array();
  m = json_loadb(body, len, 0, NULL);
  if (is_index(mt)) {
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(m, "manifests"), i, d) {
      json_t *pf = json_object_get(d, "platform");
      if (json_is_object(pf)) json_array_append_new(platforms, json_deep_copy(pf));
    }
  } else {
    const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
    char *cbody = NULL, *cmt = NULL;
    size_t clen = 0;
    char cdig[DIGEST_STR_SIZE];
    (void)cmt;
    /* the config tells the platform; fetch it as a blob */
    if (cd) {
      char tmpl[] = "/tmp/arca-dist-XXXXXX";
      int fd = mkstemp(tmpl);
      if (fd >= 0) {
        unlink(tmpl);
        arca_err ferr;
        if (registry_fetch_blob(c, ref_repository_path(&r), cd, -1, fd, NULL, NULL, -1, &ferr) == 0) {
          lseek(fd, 0, SEEK_SET);
          strbuf sb;
          sb_init(&sb);
          char buf[8192];
          ssize_t k;
          while ((k = read(fd, buf, sizeof buf)) > 0 && sb.len < (8u << 20)) sb_append(&sb, buf, (size_t)k);
          cbody = sb_steal(&sb);
          clen = strlen(cbody);
        }
        close(fd);
      }
    }
    (void)cdig;
    autojson json_t *cfg = cbody ? json_loadb(cbody, clen, 0, NULL) : NULL;
    free(cbody);
    if (cfg) {
      json_t *pf = json_pack("{s:s,s:s}", "architecture", json_string_value(json_object_get(cfg, "architecture")) ?: "",
                             "os", json_string_value(json_object_get(cfg, "os")) ?: "");
      const char *variant = json_string_value(json_object_get(cfg, "variant"));
      if (variant) json_object_set_new(pf, "variant", json_string(variant));
      json_array_append_new(platforms, pf);
    }
  }
  *out = json_pack("{s:{s:s,s:s,s:I},s:o}", "Descriptor", "mediaType", mt, "digest", digest, "size", (json_int_t)len,
                   "Platforms", platforms);
  rc = 0;
out:
  free(body);
  free(mt);
  if (c) registry_client_free(c);
  ref_free(&r);
  return rc;
}

int image_search(engine *e, const char *term, int limit, const char *filters_json, const char *auth_header,
                 json_t **out, arca_err *err) {
  static const char *const accepted[] = {"is-automated", "is-official", "stars", NULL};
  filters *f = NULL;
  if (filters_parse(filters_json, &f, err) < 0) return -1;
  if (filters_validate(f, accepted, err) < 0) {
    filters_free(f);
    return -1;
  }
  int official = -1, automated = -1, rc;
  long stars = 0;
  registry_auth auth = {0};
  json_t *results = NULL, *kept = NULL;
  if (filters_has(f, "is-official") && filters_get_bool(f, "is-official", -1, &official, err) < 0) goto fail;
  if (filters_has(f, "is-automated") && filters_get_bool(f, "is-automated", -1, &automated, err) < 0) goto fail;
  for (size_t i = 0; i < filters_count(f, "stars"); i++) {
    char *end;
    long v = strtol(filters_value(f, "stars", i), &end, 10);
    if (*end) {
      err_set(err, 400, "invalid filter 'stars=%s'", filters_value(f, "stars", i));
      goto fail;
    }
    if (v > stars) stars = v;
  }
  if (auth_header && *auth_header && registry_auth_decode(auth_header, &auth, err) < 0) goto fail;
  pthread_rwlock_rdlock(&e->cfg_lock);
  rc = registry_search(term ? term : "", limit, &auth, (const char *const *)e->cfg.insecure_registries.v,
                           e->cfg.insecure_registries.n, USER_AGENT, &results, err);
  pthread_rwlock_unlock(&e->cfg_lock);
  registry_auth_free(&auth);
  if (rc < 0) goto fail;
  kept = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(results, i, r) {
    if (official >= 0 && json_is_true(json_object_get(r, "is_official")) != (official == 1)) continue;
    if (automated >= 0 && json_is_true(json_object_get(r, "is_automated")) != (automated == 1)) continue;
    if (json_integer_value(json_object_get(r, "star_count")) < stars) continue;
    json_array_append(kept, r);
  }
  json_decref(results);
  filters_free(f);
  *out = kept;
  return 0;
fail:
  filters_free(f);
  return -1;
}

int image_login(engine *e, const char *body, size_t len, json_t **out, arca_err *err) {
  registry_auth auth = {0};
  if (registry_auth_from_json(body ? body : "{}", body ? len : 2, &auth, err) < 0) return -1;
  autofree char *host = registry_login_host(auth.server_address, err);
  if (!host) {
    registry_auth_free(&auth);
    return -1;
  }
  const char *domain = !strcmp(host, REGISTRY_HUB_INDEX_HOST) ? REGISTRY_HUB_DOMAIN : host;
  registry_endpoint *eps = NULL;
  size_t n = 0;
  char *token = NULL;
  int rc = endpoints_for(e, domain, false, &eps, &n, err);
  if (rc == 0) rc = registry_login(eps, n, &auth, USER_AGENT, &token, err);
  registry_endpoints_free(eps, n);
  registry_auth_free(&auth);
  if (rc < 0) return -1;
  *out = json_pack("{s:s}", "Status", "Login Succeeded");
  if (token) json_object_set_new(*out, "IdentityToken", json_string(token));
  free(token);
  return 0;
}
