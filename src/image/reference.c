/* Image references, matched by hand against the grammar of distribution/reference.
 *
 * The grammar is regular and its pieces never overlap in a way that needs backtracking:
 * tags and digests hold no '/', path components hold no ':' or '@', and only the first
 * component may be a domain. So the name always ends at the first ':' or '@' after the last
 * '/', and each piece is checked on its own. */
#include "image/reference.h"

#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "common/cleanup.h"
#include "common/util.h"

#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_REPO_PREFIX "library/"

static const char err_invalid_format[] = "invalid reference format";

/* ---- character classes (ASCII only: the grammar is ASCII) ---- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_alpha(char c) { return is_lower(c) || is_upper(c); }
static bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
static bool is_lower_alnum(char c) { return is_lower(c) || is_digit(c); }
static bool is_word(char c) { return is_alnum(c) || c == '_'; }
static bool is_xdigit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static bool is_lower_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f')) return false;
  return true;
}

/* ---- the grammar's pieces; each matches the whole of s[0..n) ---- */

/* [a-z0-9]+ ( ("." | "_" | "__" | "-"+) [a-z0-9]+ )* */
static bool match_path_component(const char *s, size_t n) {
  size_t i = 0;
  for (;;) {
    if (i >= n || !is_lower_alnum(s[i])) return false;
    while (i < n && is_lower_alnum(s[i])) i++;
    if (i == n) return true;
    if (s[i] == '.') {
      i++;
    } else if (s[i] == '_') {
      i++;
      if (i < n && s[i] == '_') i++;
    } else if (s[i] == '-') {
      while (i < n && s[i] == '-') i++;
    } else {
      return false;
    }
  }
}

static bool match_remote_name(const char *s, size_t n) {
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '/') {
      if (!match_path_component(s + start, i - start)) return false;
      start = i + 1;
    }
  }
  return true;
}

/* [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool match_domain_component(const char *s, size_t n) {
  if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1])) return false;
  for (size_t i = 1; i + 1 < n; i++)
    if (!is_alnum(s[i]) && s[i] != '-') return false;
  return true;
}

static bool match_domain_name(const char *s, size_t n) {
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '.') {
      if (!match_domain_component(s + start, i - start)) return false;
      start = i + 1;
    }
  }
  return true;
}

/* host [":" port], host being a domain name or "[" [a-fA-F0-9:]+ "]". */
static bool match_domain_and_port(const char *s, size_t n) {
  size_t host_len;
  if (n > 0 && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close || close == s + 1) return false;
    for (const char *p = s + 1; p < close; p++)
      if (!is_xdigit(*p) && *p != ':') return false;
    host_len = (size_t)(close - s) + 1;
  } else {
    const char *colon = memchr(s, ':', n);
    host_len = colon ? (size_t)(colon - s) : n;
    if (!match_domain_name(s, host_len)) return false;
  }
  if (host_len == n) return true;
  if (s[host_len] != ':' || host_len + 1 == n) return false;
  for (size_t i = host_len + 1; i < n; i++)
    if (!is_digit(s[i])) return false;
  return true;
}

/* [\w][\w.-]{0,127} */
static bool match_tag(const char *s, size_t n) {
  if (n == 0 || n > REF_TAG_MAX || !is_word(s[0])) return false;
  for (size_t i = 1; i < n; i++)
    if (!is_word(s[i]) && s[i] != '.' && s[i] != '-') return false;
  return true;
}

/* [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)* ":" [[:xdigit:]]{32,} */
static bool match_digest(const char *s, size_t n) {
  size_t i = 0;
  for (;;) {
    if (i >= n || !is_alpha(s[i])) return false;
    while (i < n && is_alnum(s[i])) i++;
    if (i < n && (s[i] == '-' || s[i] == '_' || s[i] == '+' || s[i] == '.')) {
      i++;
      continue;
    }
    break;
  }
  if (i >= n || s[i] != ':') return false;
  i++;
  if (n - i < 32) return false;
  for (; i < n; i++)
    if (!is_xdigit(s[i])) return false;
  return true;
}

/* go-digest's own looser digest grammar, used only to tell a malformed digest from one
 * with an unknown algorithm: [a-z0-9]+([.+_-][a-z0-9]+)* ":" [a-zA-Z0-9=_-]+ */
static bool match_go_digest(const char *s, size_t n) {
  size_t i = 0;
  for (;;) {
    if (i >= n || !is_lower_alnum(s[i])) return false;
    while (i < n && is_lower_alnum(s[i])) i++;
    if (i < n && (s[i] == '.' || s[i] == '+' || s[i] == '_' || s[i] == '-')) {
      i++;
      continue;
    }
    break;
  }
  if (i >= n || s[i] != ':' || i + 1 == n) return false;
  for (i++; i < n; i++)
    if (!is_alnum(s[i]) && s[i] != '=' && s[i] != '_' && s[i] != '-') return false;
  return true;
}

/* ---- whole references ---- */

typedef struct ref_parts {
  size_t domain_len; /* 0: no domain */
  const char *path;
  size_t path_len;
  const char *tag; /* NULL when absent */
  size_t tag_len;
  const char *digest; /* NULL when absent */
} ref_parts;

/* [domain "/"] path, preferring a domain as Docker's leftmost-first regexp does. */
static bool split_name(const char *s, size_t n, ref_parts *p) {
  const char *slash = memchr(s, '/', n);
  if (slash) {
    size_t dlen = (size_t)(slash - s);
    if (match_domain_and_port(s, dlen) && match_remote_name(slash + 1, n - dlen - 1)) {
      p->domain_len = dlen;
      p->path = slash + 1;
      p->path_len = n - dlen - 1;
      return true;
    }
  }
  if (!match_remote_name(s, n)) return false;
  p->domain_len = 0;
  p->path = s;
  p->path_len = n;
  return true;
}

static bool match_reference(const char *s, ref_parts *p) {
  memset(p, 0, sizeof *p);
  const char *last_slash = strrchr(s, '/');
  const char *name_end = last_slash ? last_slash + 1 : s;
  name_end += strcspn(name_end, ":@");
  if (!split_name(s, (size_t)(name_end - s), p)) return false;
  const char *rest = name_end;
  if (*rest == ':') {
    const char *at = strchr(rest, '@');
    size_t len = at ? (size_t)(at - rest - 1) : strlen(rest + 1);
    if (!match_tag(rest + 1, len)) return false;
    p->tag = rest + 1;
    p->tag_len = len;
    rest += 1 + len;
  }
  if (*rest == '@') {
    if (!match_digest(rest + 1, strlen(rest + 1))) return false;
    p->digest = rest + 1;
    rest += 1 + strlen(rest + 1);
  }
  return *rest == '\0';
}

/* Go's strings.ToLower(s) for the only purpose Docker uses it here: a lowered string that
 * then must fit an ASCII grammar. Besides ASCII, only KELVIN SIGN and LATIN CAPITAL I WITH
 * DOT lower to ASCII; every other byte stays and cannot match anyway. */
static char *go_lower_for_grammar(const char *s) {
  strbuf sb;
  sb_init(&sb);
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    if (p[0] == 0xE2 && p[1] == 0x84 && p[2] == 0xAA) {
      sb_puts(&sb, "k");
      p += 3;
    } else if (p[0] == 0xC4 && p[1] == 0xB0) {
      sb_puts(&sb, "i");
      p += 2;
    } else {
      char c = is_upper((char)*p) ? (char)(*p - 'A' + 'a') : (char)*p;
      sb_append(&sb, &c, 1);
      p++;
    }
  }
  return sb_steal(&sb);
}

/* One UTF-8 sequence as Go decodes it; returns its length, or 0 for an invalid byte (which
 * Go turns into U+FFFD). */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp) {
  if (p[0] < 0x80) {
    *cp = p[0];
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((p[0] & 0xE0) == 0xC0) len = 2, min = 0x80, *cp = p[0] & 0x1F;
  else if ((p[0] & 0xF0) == 0xE0) len = 3, min = 0x800, *cp = p[0] & 0x0F;
  else if ((p[0] & 0xF8) == 0xF0) len = 4, min = 0x10000, *cp = p[0] & 0x07;
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (p[i] & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

/* The C.UTF-8 locale, made once and never changed, for Unicode lowercase mapping. */
static locale_t utf8_locale;
static pthread_once_t utf8_locale_once = PTHREAD_ONCE_INIT;
static void utf8_locale_init(void) {
  utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* strings.ToLower(s) != s: an uppercase letter anywhere, or bytes that are not UTF-8. */
static bool go_lower_differs(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    if (p[i] < 0x80) {
      if (is_upper((char)p[i])) return true;
      i++;
      continue;
    }
    uint32_t cp;
    size_t len = utf8_decode(p + i, n - i, &cp);
    if (len == 0) return true;
    pthread_once(&utf8_locale_once, utf8_locale_init);
    if (utf8_locale && towlower_l((wint_t)cp, utf8_locale) != (wint_t)cp) return true;
    i += len;
  }
  return false;
}

/* Hex length of the algorithms go-digest knows, 0 for any other. */
static size_t known_hex_len(const char *alg, size_t n) {
  static const struct {
    const char *name;
    size_t hex_len;
  } known[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
  for (size_t i = 0; i < ARRAY_LEN(known); i++)
    if (strlen(known[i].name) == n && memcmp(alg, known[i].name, n) == 0) return known[i].hex_len;
  return 0;
}

int digest_validate(const char *d, arca_err *err) {
  const char *colon = strchr(d, ':');
  if (!colon || colon == d || colon[1] == '\0')
    return err_set(err, 400, "invalid checksum digest format");
  size_t hex_len = known_hex_len(d, (size_t)(colon - d));
  if (hex_len == 0) {
    if (!match_go_digest(d, strlen(d))) return err_set(err, 400, "invalid checksum digest format");
    return err_set(err, 400, "unsupported digest algorithm");
  }
  const char *encoded = colon + 1;
  if (strlen(encoded) != hex_len) return err_set(err, 400, "invalid checksum digest length");
  if (!is_lower_hex(encoded, hex_len)) return err_set(err, 400, "invalid checksum digest format");
  return 0;
}

bool digest_is_valid(const char *d) { return d && digest_validate(d, NULL) == 0; }

int ref_validate_tag(const char *tag, arca_err *err) {
  if (!tag || !match_tag(tag, strlen(tag))) return err_set(err, 400, "invalid tag format");
  return 0;
}

/* reference.Parse: the strict grammar, no defaults. */
static int parse_strict(const char *s, image_ref *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  if (!*s) return err_set(err, 400, "repository name must have at least one component");
  ref_parts p;
  if (!match_reference(s, &p)) {
    autofree char *lowered = go_lower_for_grammar(s);
    ref_parts ignored;
    if (strcmp(lowered, s) != 0 && match_reference(lowered, &ignored))
      return err_set(err, 400, "repository name must be lowercase");
    return err_set(err, 400, "%s", err_invalid_format);
  }
  if (p.path_len > REF_NAME_MAX)
    return err_set(err, 400, "repository name must not be more than %d characters", REF_NAME_MAX);
  if (p.digest && digest_validate(p.digest, err) < 0) return -1;
  out->domain = xstrndup(s, p.domain_len);
  out->path = xstrndup(p.path, p.path_len);
  out->tag = p.tag ? xstrndup(p.tag, p.tag_len) : NULL;
  out->digest = p.digest ? xstrdup(p.digest) : NULL;
  return 0;
}

/* splitDockerDomain: returns the domain (not NUL-terminated: *domain_len long) and points
 * *remainder at the rest of s, which is all of s when the domain is the default one taken
 * by assumption. *library tells whether "library/" goes before the rest. */
static const char *split_docker_domain(const char *s, size_t *domain_len, const char **remainder,
                                       bool *library) {
  const char *slash = strchr(s, '/');
  *library = false;
  if (!slash) {
    *library = true;
    *remainder = s;
    *domain_len = strlen(REF_DEFAULT_DOMAIN);
    return REF_DEFAULT_DOMAIN;
  }
  size_t n = (size_t)(slash - s);
  const char *domain = s;
  *remainder = slash + 1;
  if (n == strlen(LEGACY_DEFAULT_DOMAIN) && memcmp(s, LEGACY_DEFAULT_DOMAIN, n) == 0) {
    domain = REF_DEFAULT_DOMAIN;
    n = strlen(REF_DEFAULT_DOMAIN);
  } else if (!(n == 9 && memcmp(s, "localhost", 9) == 0) && !memchr(s, '.', n) &&
             !memchr(s, ':', n) && !go_lower_differs(s, n)) {
    domain = REF_DEFAULT_DOMAIN;
    n = strlen(REF_DEFAULT_DOMAIN);
    *remainder = s;
  }
  bool hub = n == strlen(REF_DEFAULT_DOMAIN) && memcmp(domain, REF_DEFAULT_DOMAIN, n) == 0;
  if (hub && !strchr(*remainder, '/')) *library = true;
  *domain_len = n;
  return domain;
}

int ref_parse(const char *s, image_ref *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  if (!s) s = "";
  if (strlen(s) == 64 && is_lower_hex(s, 64))
    return err_set(err, 400,
                   "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);
  size_t domain_len;
  const char *remainder;
  bool library;
  const char *domain = split_docker_domain(s, &domain_len, &remainder, &library);
  autofree char *rest = xasprintf("%s%s", library ? OFFICIAL_REPO_PREFIX : "", remainder);
  size_t remote_len = strcspn(rest, ":");
  if (go_lower_differs(rest, remote_len))
    return err_set(err, 400, "%s: repository name (%.*s) must be lowercase", err_invalid_format,
                   (int)remote_len, rest);
  autofree char *full = xasprintf("%.*s/%s", (int)domain_len, domain, rest);
  return parse_strict(full, out, err);
}

int ref_parse_any(const char *s, image_ref *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  if (s && strlen(s) == 64 && is_lower_hex(s, 64)) {
    out->digest = xasprintf("sha256:%s", s);
    return 0;
  }
  if (s && digest_validate(s, NULL) == 0) {
    out->digest = xstrdup(s);
    return 0;
  }
  return ref_parse(s, out, err);
}

int ref_parse_docker_ref(const char *s, image_ref *out, arca_err *err) {
  if (ref_parse(s, out, err) < 0) return -1;
  if (out->tag && out->digest) {
    free(out->tag);
    out->tag = NULL;
  }
  ref_with_default_tag(out);
  return 0;
}

void ref_free(image_ref *r) {
  if (!r) return;
  free(r->domain);
  free(r->path);
  free(r->tag);
  free(r->digest);
  memset(r, 0, sizeof *r);
}

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

void ref_copy(image_ref *dst, const image_ref *src) {
  dst->domain = dup_or_null(src->domain);
  dst->path = dup_or_null(src->path);
  dst->tag = dup_or_null(src->tag);
  dst->digest = dup_or_null(src->digest);
}

void ref_with_default_tag(image_ref *r) {
  if (!r->tag && !r->digest) r->tag = xstrdup(REF_DEFAULT_TAG);
}

int ref_with_tag(image_ref *r, const char *tag, arca_err *err) {
  if (ref_validate_tag(tag, err) < 0) return -1;
  free(r->tag);
  r->tag = xstrdup(tag);
  return 0;
}

int ref_with_digest(image_ref *r, const char *digest, arca_err *err) {
  if (!digest || !match_digest(digest, strlen(digest)))
    return err_set(err, 400, "invalid digest format");
  free(r->digest);
  r->digest = xstrdup(digest);
  return 0;
}

void ref_trim(image_ref *r) {
  free(r->tag);
  free(r->digest);
  r->tag = r->digest = NULL;
}

/* Appends domain/path, or the familiar form of it: Docker Hub's domain dropped, and
 * "library/" too when nothing nests below it. */
static void put_name(strbuf *sb, const image_ref *r, bool familiar) {
  if (!r->path) return;
  const char *path = r->path;
  if (familiar && ref_is_docker_hub(r)) {
    if (str_has_prefix(path, OFFICIAL_REPO_PREFIX) &&
        !strchr(path + strlen(OFFICIAL_REPO_PREFIX), '/'))
      path += strlen(OFFICIAL_REPO_PREFIX);
  } else if (r->domain && *r->domain) {
    sb_printf(sb, "%s/", r->domain);
  }
  sb_puts(sb, path);
}

static char *format_ref(const image_ref *r, bool familiar, bool with_suffixes) {
  strbuf sb;
  sb_init(&sb);
  put_name(&sb, r, familiar);
  if (with_suffixes && r->tag && r->path) sb_printf(&sb, ":%s", r->tag);
  if (with_suffixes && r->digest) sb_printf(&sb, "%s%s", r->path ? "@" : "", r->digest);
  return sb_steal(&sb);
}

char *ref_full(const image_ref *r) { return format_ref(r, false, true); }
char *ref_full_name(const image_ref *r) { return format_ref(r, false, false); }
char *ref_familiar(const image_ref *r) { return format_ref(r, true, true); }
char *ref_familiar_name(const image_ref *r) { return format_ref(r, true, false); }

bool ref_is_docker_hub(const image_ref *r) {
  return r->domain && strcmp(r->domain, REF_DEFAULT_DOMAIN) == 0;
}

const char *ref_repository_path(const image_ref *r) { return r->path; }

int ref_parse_repo_tag(const char *repo, const char *tag, image_ref *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  autofree char *name = xstrdup(repo);
  size_t n = strlen(name);
  if (n > 0 && name[n - 1] == ':') name[n - 1] = '\0';
  if (ref_parse(name, out, err) < 0) return -1;
  if (!tag || !*tag) return 0;
  int rc;
  if (digest_validate(tag, NULL) == 0) {
    ref_trim(out);
    rc = ref_with_digest(out, tag, err);
  } else {
    rc = ref_with_tag(out, tag, err);
  }
  if (rc < 0) ref_free(out);
  return rc;
}

int ref_repo_tag_reference(const char *repo, const char *tag, image_ref *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  if (!repo || !*repo) return 0;
  if (ref_parse(repo, out, err) < 0) return -1;
  if (out->digest) {
    ref_free(out);
    return err_set(err, 400, "cannot import digest reference");
  }
  if (tag && *tag) {
    if (ref_with_tag(out, tag, err) < 0) {
      ref_free(out);
      return -1;
    }
    return 0;
  }
  ref_with_default_tag(out);
  return 0;
}

int ref_check_not_reserved(const image_ref *r, arca_err *err) {
  autofree char *name = ref_familiar_name(r);
  if (strcmp(name, "scratch") == 0) return err_set(err, 403, "'%s' is a reserved name", name);
  return 0;
}

int ref_check_tag_name(const image_ref *r, arca_err *err) {
  autofree char *name = ref_familiar_name(r);
  if (strcmp(name, "sha256") == 0)
    return err_set(err, 400, "refusing to create an ambiguous tag using digest algorithm as name");
  return 0;
}
