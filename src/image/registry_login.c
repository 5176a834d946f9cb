/* POST /auth (moby daemon/pkg/registry auth.go loginV2, service.go Auth) and the v1 search of
 * an index (search.go, search_endpoint_v1.go). */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "image/registry_internal.h"

int registry_login(const registry_endpoint *eps, size_t n, const registry_auth *auth,
                   const char *user_agent, char **identity_token, arca_err *err) {
  *identity_token = NULL;
  if (n == 0) return err_set(err, 500, "registry: no endpoint");
  for (size_t i = 0; i < n; i++) {
    registry_client *c = NULL;
    if (registry_client_new(&eps[i], auth, user_agent, &c, err) < 0) return -1;
    c->login_mode = true;
    autofree char *url = reg_url(c, "/v2/");
    reg_request rq;
    reg_request_init(&rq, "GET", url);
    rq.total_timeout_ms = 15000;
    reg_response rs;
    reg_response_init(&rs);
    bool unauthorized = false;
    int rc = registry_client_ping(c, err);
    if (rc == 0) rc = reg_send(c, &rq, &rs, &unauthorized, err);
    if (rc == 0 && rs.status != 200)
      rc = err_set(err, 500, "login attempt to %s failed with status: %ld %s", url, rs.status,
                   reg_status_text(rs.status));
    if (rc == 0) {
      const char *tok = c->refresh_token ? c->refresh_token : auth ? auth->identity_token : NULL;
      if (tok && *tok) *identity_token = xstrdup(tok);
    }
    reg_response_free(&rs);
    registry_client_free(c);
    if (rc == 0) return 0;
    /* wrong credentials: no point in trying plain HTTP next */
    if (unauthorized) {
      if (err) err->status = 401;
      return -1;
    }
    if (err) err->status = 500;
  }
  return -1;
}

/* ---- search ----------------------------------------------------------------------------- */

#define SEARCH_DEFAULT_LIMIT 25

static int v1_ping(registry_client *c, arca_err *err) {
  autofree char *url = reg_url(c, "/v1/_ping");
  reg_request rq;
  reg_request_init(&rq, "GET", url);
  rq.no_auth = true;
  rq.total_timeout_ms = 15000;
  reg_response rs;
  reg_response_init(&rs);
  int rc = reg_perform(c, &rq, &rs, err); /* any answer will do, as in moby */
  reg_response_free(&rs);
  return rc;
}

static int search_endpoint(const char *index, const char *const *insecure, size_t ninsecure,
                           const char *user_agent, registry_client **out, arca_err *err) {
  *out = NULL;
  if (!strcmp(index, REGISTRY_HUB_DOMAIN)) {
    registry_endpoint ep = {(char *)index, (char *)REGISTRY_HUB_INDEX_URL, false, false};
    return registry_client_new(&ep, NULL, user_agent, out, err);
  }
  bool weak = registry_is_insecure(index, insecure, ninsecure);
  autofree char *https = xasprintf("https://%s", index);
  registry_endpoint ep = {(char *)index, https, weak, false};
  registry_client *c = NULL;
  if (registry_client_new(&ep, NULL, user_agent, &c, err) < 0) return -1;
  arca_err e1;
  if (v1_ping(c, &e1) == 0) {
    *out = c;
    return 0;
  }
  registry_client_free(c);
  if (!weak)
    return err_set(err, 400,
                   "invalid registry endpoint %s/v1/: %s. If this private registry supports only "
                   "HTTP or HTTPS with an unknown CA certificate, add `--insecure-registry %s` "
                   "to the daemon's arguments. In the case of HTTPS, if you have access to the "
                   "registry's CA certificate, no need for the flag; place the CA certificate "
                   "at /etc/docker/certs.d/%s/ca.crt", https, e1.msg, index, index);
  autofree char *http = xasprintf("http://%s", index);
  ep.base_url = http;
  if (registry_client_new(&ep, NULL, user_agent, &c, err) < 0) return -1;
  arca_err e2;
  if (v1_ping(c, &e2) == 0) {
    *out = c;
    return 0;
  }
  registry_client_free(c);
  return err_set(err, 400,
                 "invalid registry endpoint \"%s/v1/\". HTTPS attempt: %s. HTTP attempt: %s", http,
                 e1.msg, e2.msg);
}

int registry_search(const char *term, int limit, const registry_auth *auth,
                    const char *const *insecure, size_t ninsecure, const char *user_agent,
                    json_t **results, arca_err *err) {
  *results = NULL;
  if (strstr(term, "://"))
    return err_set(err, 400,
                   "invalid repository name: repository name (%s) should not have a scheme", term);
  /* splitReposSearchTerm */
  autofree char *index = NULL;
  const char *remote = term;
  const char *slash = strchr(term, '/');
  if (slash) {
    autofree char *first = xstrndup(term, (size_t)(slash - term));
    if (strchr(first, '.') || strchr(first, ':') || !strcmp(first, "localhost")) {
      index = steal_ptr(first);
      remote = slash + 1;
    }
  }
  if (!index || !strcmp(index, REGISTRY_HUB_INDEX_HOST)) {
    free(index);
    index = xstrdup(REGISTRY_HUB_DOMAIN);
  }
  if (!strcmp(index, REGISTRY_HUB_DOMAIN) && str_has_prefix(remote, "library/")) remote += 8;
  if (limit == 0) limit = SEARCH_DEFAULT_LIMIT;
  if (limit < 1 || limit > 100)
    return err_set(err, 400, "limit %d is outside the range of [1, 100]", limit);

  registry_client *c = NULL;
  if (search_endpoint(index, insecure, ninsecure, user_agent, &c, err) < 0) return -1;
  autofree char *q = reg_query_escape(remote);
  autofree char *url = reg_url(c, "/v1/search?q=%s&n=%d", q, limit);
  struct curl_slist *hdrs = curl_slist_append(NULL, "X-Docker-Token: true");
  autofree char *basic = NULL;
  if (auth && auth->username && *auth->username && auth->password && *auth->password) {
    autofree char *value = reg_basic_auth(auth->username, auth->password);
    basic = xasprintf("Authorization: %s", value);
    explicit_bzero(value, strlen(value));
    hdrs = curl_slist_append(hdrs, basic);
  }
  reg_request rq;
  reg_request_init(&rq, "GET", url);
  rq.no_auth = true;
  rq.headers = hdrs;
  rq.max_body = 8 << 20;
  rq.total_timeout_ms = 60000;
  reg_response rs;
  reg_response_init(&rs);
  int rc = reg_perform(c, &rq, &rs, err);
  for (struct curl_slist *h = hdrs; h; h = h->next) explicit_bzero(h->data, strlen(h->data));
  curl_slist_free_all(hdrs);
  if (basic) explicit_bzero(basic, strlen(basic));
  if (rc == 0 && rs.status != 200)
    rc = err_set(err, 500, "unexpected status code %ld", rs.status);
  if (rc == 0) {
    json_error_t jerr;
    json_t *root = json_loadb(rs.body.buf ? rs.body.buf : "", rs.body.len, 0, &jerr);
    json_t *list = json_object_get(root, "results");
    if (!root || (list && !json_is_array(list) && !json_is_null(list))) {
      rc = err_set(err, 500, "error decoding registry search results: %s",
                   root ? "unexpected shape" : jerr.text);
    } else {
      *results = json_is_array(list) ? json_incref(list) : json_array();
    }
    json_decref(root);
  }
  reg_response_free(&rs);
  registry_client_free(c);
  return rc;
}
