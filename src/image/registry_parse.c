/* The registry client's pure parsers: base64, X-Registry-Auth, WWW-Authenticate, Link,
 * scope strings. No I/O, no shared state. */
#include <ctype.h>
#include "common/lazy_curl.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "image/registry.h"
#include "image/registry_internal.h"

/* ---- base64 ----------------------------------------------------------------------------- */

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

int registry_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len) {
  /* Go's decoders skip CR and LF anywhere; padding may only close the input. */
  size_t pad = 0;
  while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == '\r')) len--;
  while (len > 0 && in[len - 1] == '=' && pad < 2) {
    len--;
    pad++;
  }
  unsigned char *buf = xmalloc(len * 3 / 4 + 3);
  size_t n = 0, chars = 0;
  uint32_t acc = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)in[i];
    if (ch == '\r' || ch == '\n') continue;
    int v = b64_value(ch);
    if (v < 0) {
      free(buf);
      return -1;
    }
    acc = (acc << 6) | (uint32_t)v;
    if (++chars % 4 == 0) {
      buf[n++] = (unsigned char)(acc >> 16);
      buf[n++] = (unsigned char)(acc >> 8);
      buf[n++] = (unsigned char)acc;
      acc = 0;
    }
  }
  switch (chars % 4) {
  case 0:
    if (pad) goto bad; /* "QUJD=" */
    break;
  case 1:
    goto bad;
  case 2:
    if (pad && pad != 2) goto bad;
    buf[n++] = (unsigned char)(acc >> 4);
    break;
  case 3:
    if (pad && pad != 1) goto bad;
    buf[n++] = (unsigned char)(acc >> 10);
    buf[n++] = (unsigned char)(acc >> 2);
    break;
  }
  buf[n] = '\0';
  *out = buf;
  *out_len = n;
  return 0;
bad:
  free(buf);
  return -1;
}

/* ---- credentials ------------------------------------------------------------------------ */

void registry_auth_free(registry_auth *a) {
  if (!a) return;
  free(a->username);
  free(a->password);
  free(a->identity_token);
  free(a->registry_token);
  free(a->server_address);
  memset(a, 0, sizeof *a);
}

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

void registry_auth_copy(registry_auth *dst, const registry_auth *src) {
  memset(dst, 0, sizeof *dst);
  if (!src) return;
  dst->username = dup_or_null(src->username);
  dst->password = dup_or_null(src->password);
  dst->identity_token = dup_or_null(src->identity_token);
  dst->registry_token = dup_or_null(src->registry_token);
  dst->server_address = dup_or_null(src->server_address);
}

static bool blank(const char *s) { return !s || !*s; }

bool registry_auth_is_empty(const registry_auth *a) {
  return !a || (blank(a->username) && blank(a->password) && blank(a->identity_token) &&
                blank(a->registry_token));
}

static const char *go_json_type(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "object";
  case JSON_ARRAY: return "array";
  case JSON_STRING: return "string";
  case JSON_INTEGER:
  case JSON_REAL: return "number";
  case JSON_TRUE:
  case JSON_FALSE: return "bool";
  default: return "null";
  }
}

#define AUTH_INVALID "invalid X-Registry-Auth header: "

int registry_auth_from_json(const char *json, size_t len, registry_auth *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  size_t start = 0;
  while (start < len && isspace((unsigned char)json[start])) start++;
  if (start == len) return err_set(err, 400, AUTH_INVALID "invalid JSON: EOF");
  json_error_t jerr;
  autojson json_t *root =
      json_loadb(json, len, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &jerr);
  if (!root) return err_set(err, 400, AUTH_INVALID "invalid JSON: %s", jerr.text);
  /* Go's Decoder.More(): anything but white space, ']' or '}' after the value. */
  for (size_t i = (size_t)jerr.position; i < len; i++) {
    unsigned char ch = (unsigned char)json[i];
    if (isspace(ch)) continue;
    if (ch != ']' && ch != '}')
      return err_set(err, 400, AUTH_INVALID "multiple JSON documents not allowed");
    break;
  }
  if (json_is_null(root)) return 0;
  if (!json_is_object(root))
    return err_set(err, 400,
                   AUTH_INVALID "invalid JSON: json: cannot unmarshal %s into Go value of type "
                   "registry.AuthConfig", go_json_type(root));
  static const char *const names[] = {"username", "password", "auth", "serveraddress",
                                      "identitytoken", "registrytoken"};
  char *vals[ARRAY_LEN(names)] = {0};
  const char *key;
  json_t *v;
  int rc = 0;
  json_object_foreach(root, key, v) {
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
      if (strcasecmp(key, names[i])) continue;
      if (json_is_null(v)) break;
      if (!json_is_string(v)) {
        if (rc == 0)
          rc = err_set(err, 400,
                       AUTH_INVALID "invalid JSON: json: cannot unmarshal %s into Go struct "
                       "field AuthConfig.%s of type string", go_json_type(v), names[i]);
        break;
      }
      free(vals[i]);
      vals[i] = xstrdup(json_string_value(v));
      break;
    }
  }
  if (rc < 0) {
    for (size_t i = 0; i < ARRAY_LEN(names); i++) free(vals[i]);
    return rc;
  }
  out->username = vals[0];
  out->password = vals[1];
  out->server_address = vals[3];
  out->identity_token = vals[4];
  out->registry_token = vals[5];
  /* "auth" is what the CLI's config file keeps; clients that forward it as is expect the
   * pair inside to be used. */
  if (vals[2] && blank(out->username) && blank(out->password)) {
    unsigned char *pair = NULL;
    size_t plen = 0;
    if (registry_base64_decode(vals[2], strlen(vals[2]), &pair, &plen) == 0) {
      char *colon = memchr(pair, ':', plen);
      if (colon && strlen((char *)pair) == plen) {
        free(out->username);
        free(out->password);
        out->username = xstrndup((char *)pair, (size_t)(colon - (char *)pair));
        out->password = xstrdup(colon + 1);
      }
      explicit_bzero(pair, plen);
      free(pair);
    }
  }
  free(vals[2]);
  return 0;
}

int registry_auth_decode(const char *header, registry_auth *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  if (blank(header)) return 0;
  unsigned char *raw = NULL;
  size_t len = 0;
  if (registry_base64_decode(header, strlen(header), &raw, &len) < 0)
    return err_set(err, 400, AUTH_INVALID "must be a valid base64url-encoded string");
  int rc = 0;
  if (!(len == 2 && !memcmp(raw, "{}", 2)))
    rc = registry_auth_from_json((char *)raw, len, out, err);
  explicit_bzero(raw, len);
  free(raw);
  return rc;
}

char *registry_login_host(const char *server_address, arca_err *err) {
  if (blank(server_address)) return xstrdup(REGISTRY_HUB_INDEX_HOST);
  autofree char *url = str_has_prefix(server_address, "https://") ||
                               str_has_prefix(server_address, "http://")
                           ? xstrdup(server_address)
                           : xasprintf("https://%s", server_address);
  CURLU *u = curl_url();
  char *host = NULL, *port = NULL;
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
  if (uc == CURLUE_OK) uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
  if (uc != CURLUE_OK) {
    curl_url_cleanup(u);
    err_set(err, 400, "unable to parse server address: %s", curl_url_strerror(uc));
    return NULL;
  }
  curl_url_get(u, CURLUPART_PORT, &port, 0);
  char *res = port ? xasprintf("%s:%s", host, port) : xstrdup(host);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return res;
}

/* ---- WWW-Authenticate ------------------------------------------------------------------- */

static bool is_tchar(unsigned char c) {
  return c > 31 && c < 127 && !strchr(" \t\"(),/:;<=>?@[]\\{}", c);
}
static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
  return p;
}
static const char *skip_token(const char *p) {
  while (*p && is_tchar((unsigned char)*p)) p++;
  return p;
}
static char *lower_dup(const char *s, size_t n) {
  char *r = xstrndup(s, n);
  for (char *q = r; *q; q++) *q = (char)tolower((unsigned char)*q);
  return r;
}

/* A quoted-string at *pp, or else the bare text up to a comma, semicolon or white space
 * (wider than RFC 7230's token, so that an unquoted realm URL still reads); NULL when a
 * quote never closes. */
static char *token_or_quoted(const char **pp) {
  const char *p = *pp;
  if (*p != '"') {
    const char *e = p + strcspn(p, ", \t;\"");
    *pp = e;
    return xstrndup(p, (size_t)(e - p));
  }
  strbuf sb;
  sb_init(&sb);
  for (p++; *p; p++) {
    if (*p == '"') {
      *pp = p + 1;
      return sb_steal(&sb);
    }
    if (*p == '\\' && p[1]) p++;
    sb_append(&sb, p, 1);
  }
  sb_free(&sb);
  return NULL;
}

static void challenge_set(registry_challenge *c, char *key, char *value) {
  for (size_t i = 0; i < c->nparams; i++) {
    if (!strcmp(c->keys[i], key)) { /* the last one wins, as in Go's map */
      free(key);
      free(c->values[i]);
      c->values[i] = value;
      return;
    }
  }
  c->keys = xrealloc(c->keys, (c->nparams + 1) * sizeof *c->keys);
  c->values = xrealloc(c->values, (c->nparams + 1) * sizeof *c->values);
  c->keys[c->nparams] = key;
  c->values[c->nparams++] = value;
}

static void parse_one_header(const char *p, registry_challenge **out, size_t *n) {
  for (;;) {
    while (*p == ',' || *p == ' ' || *p == '\t') p++;
    const char *s = p;
    p = skip_token(p);
    if (p == s) return; /* end, or something that is no scheme */
    *out = xrealloc(*out, (*n + 1) * sizeof **out);
    registry_challenge *c = &(*out)[(*n)++];
    memset(c, 0, sizeof *c);
    c->scheme = lower_dup(s, (size_t)(p - s));
    for (;;) {
      p = skip_ws(p);
      while (*p == ',') p = skip_ws(p + 1);
      const char *k = p;
      const char *ke = skip_token(p);
      if (ke == k) return;
      const char *q = skip_ws(ke);
      if (*q != '=') { /* not a parameter: the next challenge's scheme */
        p = k;
        break;
      }
      q = skip_ws(q + 1);
      char *value = token_or_quoted(&q);
      if (!value) return;
      challenge_set(c, lower_dup(k, (size_t)(ke - k)), value);
      p = skip_ws(q);
      if (*p == ',') continue;
      if (*p == '\0') return;
      return; /* garbage after a value */
    }
  }
}

size_t registry_parse_challenges(const char *const *headers, size_t nheaders,
                                 registry_challenge **out) {
  size_t n = 0;
  *out = NULL;
  for (size_t i = 0; i < nheaders; i++)
    if (headers[i]) parse_one_header(headers[i], out, &n);
  return n;
}

void registry_challenges_free(registry_challenge *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(c[i].scheme);
    for (size_t j = 0; j < c[i].nparams; j++) {
      free(c[i].keys[j]);
      free(c[i].values[j]);
    }
    free(c[i].keys);
    free(c[i].values);
  }
  free(c);
}

const char *registry_challenge_param(const registry_challenge *c, const char *key) {
  for (size_t i = 0; i < c->nparams; i++)
    if (!strcasecmp(c->keys[i], key)) return c->values[i];
  return NULL;
}

char *registry_scope_repository(const char *repo, bool push) {
  return xasprintf("repository:%s:%s", repo, push ? "pull,push" : "pull");
}

/* ---- Link ------------------------------------------------------------------------------- */

static bool rel_has_next(const char *rel) {
  const char *p = rel;
  while (*p) {
    while (*p == ' ' || *p == '\t') p++;
    const char *s = p;
    while (*p && *p != ' ' && *p != '\t') p++;
    if (p - s == 4 && !strncasecmp(s, "next", 4)) return true;
  }
  return false;
}

char *registry_link_next(const char *link, const char *base_url) {
  if (!link) return NULL;
  const char *p = link;
  for (;;) {
    while (*p == ',' || *p == ' ' || *p == '\t') p++;
    if (*p != '<') return NULL;
    const char *us = ++p;
    while (*p && *p != '>') p++;
    if (*p != '>') return NULL;
    autofree char *target = xstrndup(us, (size_t)(p - us));
    p++;
    bool next = false;
    for (;;) {
      p = skip_ws(p);
      if (*p != ';') break;
      p = skip_ws(p + 1);
      const char *k = p;
      p = skip_token(p);
      size_t klen = (size_t)(p - k);
      p = skip_ws(p);
      if (*p != '=') break;
      p = skip_ws(p + 1);
      autofree char *v = token_or_quoted(&p);
      if (!v) return NULL;
      if (klen == 3 && !strncasecmp(k, "rel", 3) && rel_has_next(v)) next = true;
    }
    if (next) return reg_resolve_url(base_url, target);
    /* skip to the next link-value */
    while (*p && *p != ',') {
      if (*p == '"') {
        autofree char *skipped = token_or_quoted(&p);
        if (!skipped) return NULL;
      } else {
        p++;
      }
    }
    if (!*p) return NULL;
  }
}

char *reg_resolve_url(const char *base, const char *ref) {
  CURLU *u = curl_url();
  char *res = NULL;
  if ((!base || curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK) &&
      curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK) {
    char *s = NULL;
    if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) {
      res = xstrdup(s);
      curl_free(s);
    }
  }
  curl_url_cleanup(u);
  return res;
}

char *reg_query_escape(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  strbuf sb;
  sb_init(&sb);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
      sb_append(&sb, p, 1);
    } else if (*p == ' ') {
      sb_append(&sb, "+", 1);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      sb_append(&sb, e, 3);
    }
  }
  return sb_steal(&sb);
}
