/* Answering a registry's challenge: the ping that learns it, Basic credentials, and bearer
 * tokens from the realm (docker/distribution registry/client/auth/session.go), cached per
 * scope set. Everything here runs under client->lock. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "image/registry_internal.h"

#define TOKEN_MIN_LIFETIME_S 60 /* as distribution: older clients assumed 60 s */
#define AUTH_CLIENT_ID "docker"
#define AUTH_TIMEOUT_MS 15000   /* distribution's token and ping clients */

static void set_challenges_locked(registry_client *c, const reg_response *rs) {
  registry_challenges_free(c->challenges, c->nchallenges);
  c->challenges = NULL;
  c->nchallenges = 0;
  if (rs->status == 401)
    c->nchallenges = registry_parse_challenges((const char *const *)rs->www_auth,
                                               rs->nwww_auth, &c->challenges);
}

void reg_set_challenges(registry_client *c, const reg_response *rs) {
  pthread_mutex_lock(&c->lock);
  set_challenges_locked(c, rs);
  c->pinged = true;
  pthread_mutex_unlock(&c->lock);
}

int reg_ping_locked(registry_client *c, arca_err *err) {
  autofree char *url = reg_url(c, "/v2/");
  reg_request rq;
  reg_request_init(&rq, "GET", url);
  rq.no_auth = true;
  rq.total_timeout_ms = AUTH_TIMEOUT_MS;
  reg_response rs;
  reg_response_init(&rs);
  int rc = reg_perform(c, &rq, &rs, err);
  if (rc == 0) {
    set_challenges_locked(c, &rs);
    c->pinged = true;
  }
  reg_response_free(&rs);
  return rc;
}

void reg_forget_token(registry_client *c, const char *scope) {
  const char *key = scope ? scope : "";
  pthread_mutex_lock(&c->lock);
  for (size_t i = 0; i < c->ntokens; i++) {
    if (strcmp(c->tokens[i].scope_key, key)) continue;
    c->tokens[i].expires_ns = 0;
  }
  pthread_mutex_unlock(&c->lock);
}

static const char *cached_token(registry_client *c, const char *key) {
  int64_t now = monotonic_ns();
  for (size_t i = 0; i < c->ntokens; i++)
    if (!strcmp(c->tokens[i].scope_key, key) && c->tokens[i].expires_ns > now)
      return c->tokens[i].token;
  return NULL;
}

static const char *cache_token(registry_client *c, const char *key, char *token, int64_t ttl_s) {
  reg_token *slot = NULL;
  for (size_t i = 0; i < c->ntokens && !slot; i++)
    if (!strcmp(c->tokens[i].scope_key, key)) slot = &c->tokens[i];
  if (!slot) {
    c->tokens = xrealloc(c->tokens, (c->ntokens + 1) * sizeof *c->tokens);
    slot = &c->tokens[c->ntokens++];
    slot->scope_key = xstrdup(key);
    slot->token = NULL;
  }
  if (slot->token) explicit_bzero(slot->token, strlen(slot->token));
  free(slot->token);
  slot->token = token;
  slot->expires_ns = monotonic_ns() + ttl_s * 1000000000LL;
  return token;
}

char *reg_basic_auth(const char *user, const char *pass) {
  autofree char *pair = xasprintf("%s:%s", user, pass);
  size_t n = strlen(pair);
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, "Basic ");
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)(unsigned char)pair[i] << 16;
    if (i + 1 < n) v |= (uint32_t)(unsigned char)pair[i + 1] << 8;
    if (i + 2 < n) v |= (uint32_t)(unsigned char)pair[i + 2];
    char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63], i + 1 < n ? tbl[(v >> 6) & 63] : '=',
                 i + 2 < n ? tbl[v & 63] : '='};
    sb_append(&sb, q, 4);
  }
  explicit_bzero(pair, n);
  return sb_steal(&sb);
}

static bool have_basic(const registry_client *c) {
  return c->auth.username && *c->auth.username && c->auth.password && *c->auth.password;
}

/* Adds "&scope=<s>" for every scope of the ' '-separated list. */
static void add_scopes(strbuf *q, const char *scopes) {
  if (!scopes) return;
  autofree char *copy = xstrdup(scopes);
  char *save = NULL;
  for (char *s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
    autofree char *e = reg_query_escape(s);
    sb_printf(q, "&scope=%s", e);
  }
}

/* Reads a token answer; fills *token (caller frees), *ttl_s and c->refresh_token. */
static int read_token_answer(registry_client *c, const reg_response *rs, bool oauth,
                             char **token, int64_t *ttl_s, arca_err *err) {
  json_error_t jerr;
  autojson json_t *root = json_loadb(rs->body.buf ? rs->body.buf : "", rs->body.len, 0, &jerr);
  if (!root || !json_is_object(root))
    return err_set(err, 500, "unable to decode token response: %s",
                   root ? "not a JSON object" : jerr.text);
  const char *tok = json_string_value(json_object_get(root, "access_token"));
  if (!oauth && (!tok || !*tok)) tok = json_string_value(json_object_get(root, "token"));
  if (!tok || !*tok)
    return err_set(err, 500, "authorization server did not include a token in the response");
  json_t *exp = json_object_get(root, "expires_in");
  int64_t ttl = json_is_integer(exp) ? json_integer_value(exp) : 0;
  if (ttl < TOKEN_MIN_LIFETIME_S) ttl = TOKEN_MIN_LIFETIME_S;
  const char *refresh = json_string_value(json_object_get(root, "refresh_token"));
  if (refresh && *refresh) {
    free(c->refresh_token);
    c->refresh_token = xstrdup(refresh);
  }
  *token = xstrdup(tok);
  *ttl_s = ttl;
  return 0;
}

static int fetch_token(registry_client *c, const registry_challenge *ch, const char *scopes,
                       char **token, int64_t *ttl_s, bool *unauthorized, arca_err *err) {
  const char *realm = registry_challenge_param(ch, "realm");
  if (!realm) return err_set(err, 500, "no realm specified for token auth challenge");
  const char *service = registry_challenge_param(ch, "service");
  if (!str_has_prefix(realm, "http://") && !str_has_prefix(realm, "https://"))
    return err_set(err, 500, "invalid token auth challenge realm: %s", realm);
  const char *refresh = c->auth.identity_token && *c->auth.identity_token
                            ? c->auth.identity_token : NULL;
  reg_request rq;
  reg_response rs;
  reg_response_init(&rs);
  strbuf q;
  sb_init(&q);
  autofree char *url = NULL;
  struct curl_slist *hdrs = NULL;
  autofree char *basic = NULL;
  if (refresh) {
    /* OAuth2 refresh grant (fetchTokenWithOAuth) */
    autofree char *es = reg_query_escape(service ? service : "");
    autofree char *er = reg_query_escape(refresh);
    autofree char *esc = reg_query_escape(scopes ? scopes : "");
    sb_printf(&q, "client_id=%s&grant_type=refresh_token&refresh_token=%s&scope=%s&service=%s",
              AUTH_CLIENT_ID, er, esc, es);
    url = xstrdup(realm);
    reg_request_init(&rq, "POST", url);
    rq.body = q.buf;
    rq.body_len = q.len;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
  } else {
    /* GET with Basic credentials (fetchTokenWithBasicAuth) */
    if (have_basic(c)) {
      autofree char *a = reg_query_escape(c->auth.username);
      sb_printf(&q, "&account=%s", a);
    }
    if (c->login_mode) sb_printf(&q, "&client_id=%s&offline_token=true", AUTH_CLIENT_ID);
    add_scopes(&q, scopes);
    if (service) {
      autofree char *es = reg_query_escape(service);
      sb_printf(&q, "&service=%s", es);
    }
    const char *sep = strchr(realm, '?') ? "&" : "?";
    url = q.len ? xasprintf("%s%s%s", realm, sep, q.buf + 1) : xstrdup(realm);
    reg_request_init(&rq, "GET", url);
    if (have_basic(c)) {
      basic = reg_basic_auth(c->auth.username, c->auth.password);
      autofree char *line = xasprintf("Authorization: %s", basic);
      hdrs = curl_slist_append(hdrs, line);
      explicit_bzero(line, strlen(line));
    }
  }
  rq.no_auth = true;
  rq.headers = hdrs;
  rq.total_timeout_ms = AUTH_TIMEOUT_MS;
  int rc = reg_perform(c, &rq, &rs, err);
  if (rc == 0 && (rs.status < 200 || rs.status >= 400)) {
    char text[1024];
    const char *id = reg_error_text(&rs, text, sizeof text, NULL);
    if (id && !strcmp(id, "UNAUTHORIZED")) *unauthorized = true;
    rc = err_set(err, *unauthorized ? 401 : 500, "%s", text);
  } else if (rc == 0) {
    rc = read_token_answer(c, &rs, refresh != NULL, token, ttl_s, err);
  }
  if (refresh) explicit_bzero(q.buf, q.len);
  for (struct curl_slist *h = hdrs; h; h = h->next) explicit_bzero(h->data, strlen(h->data));
  if (basic) explicit_bzero(basic, strlen(basic));
  curl_slist_free_all(hdrs);
  sb_free(&q);
  reg_response_free(&rs);
  return rc;
}

int reg_authorization(registry_client *c, const char *scope, char **header, bool *unauthorized,
                      arca_err *err) {
  *header = NULL;
  *unauthorized = false;
  const char *key = scope ? scope : "";
  int rc = 0;
  pthread_mutex_lock(&c->lock);
  if (!c->pinged && reg_ping_locked(c, err) < 0) rc = -2; /* names its own URL already */
  const registry_challenge *bearer = NULL, *basic = NULL;
  for (size_t i = 0; rc == 0 && i < c->nchallenges; i++) {
    if (!strcmp(c->challenges[i].scheme, "bearer") && !bearer) bearer = &c->challenges[i];
    if (!strcmp(c->challenges[i].scheme, "basic") && !basic) basic = &c->challenges[i];
  }
  if (rc < 0) {
  } else if (bearer && c->auth.registry_token && *c->auth.registry_token) {
    *header = xasprintf("Bearer %s", c->auth.registry_token);
  } else if (bearer) {
    const char *tok = cached_token(c, key);
    if (!tok) {
      char *fresh = NULL;
      int64_t ttl = 0;
      rc = fetch_token(c, bearer, scope, &fresh, &ttl, unauthorized, err);
      if (rc == 0) tok = cache_token(c, key, fresh, ttl);
    }
    if (tok) *header = xasprintf("Bearer %s", tok);
  } else if (basic) {
    if (have_basic(c)) *header = reg_basic_auth(c->auth.username, c->auth.password);
    else rc = err_set(err, 500, "no basic auth credentials");
  }
  pthread_mutex_unlock(&c->lock);
  return rc;
}
