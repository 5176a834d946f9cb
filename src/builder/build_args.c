#include "builder/build_args.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* The value stored for an ARG without a default (Go's nil *string). */
static char no_value_marker;
#define NO_VALUE ((void *)&no_value_marker)

static const char *const builtins[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                       "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                       "ALL_PROXY",  "all_proxy"};

bool build_args_is_builtin(const char *key) {
  for (size_t i = 0; i < ARRAY_LEN(builtins); i++)
    if (!strcmp(builtins[i], key)) return true;
  return false;
}

static void map_clear(strmap *m) {
  size_t i = 0;
  void *v;
  while (strmap_next(m, &i, NULL, &v))
    if (v != NO_VALUE) free(v);
  strmap_free(m);
  strmap_init(m);
}

static void map_copy(strmap *dst, const strmap *src) {
  size_t i = 0;
  const char *k;
  void *v;
  while (strmap_next(src, &i, &k, &v)) strmap_put(dst, k, v == NO_VALUE ? NO_VALUE : xstrdup(v));
}

static void map_set(strmap *m, const char *key, const char *value) {
  void *old = strmap_put(m, key, value ? xstrdup(value) : NO_VALUE);
  if (old && old != NO_VALUE) free(old);
}

build_args *build_args_new(json_t *options) {
  build_args *b = xcalloc(1, sizeof *b);
  strmap_init(&b->allowed);
  strmap_init(&b->meta);
  strmap_init(&b->referenced);
  b->options = json_is_object(options) ? json_incref(options) : json_object();
  return b;
}

build_args *build_args_clone(const build_args *src) {
  build_args *b = build_args_new(src->options);
  map_copy(&b->allowed, &src->allowed);
  map_copy(&b->meta, &src->meta);
  map_copy(&b->referenced, &src->referenced);
  return b;
}

void build_args_free(build_args *b) {
  if (!b) return;
  map_clear(&b->allowed);
  map_clear(&b->meta);
  map_clear(&b->referenced);
  strmap_free(&b->allowed);
  strmap_free(&b->meta);
  strmap_free(&b->referenced);
  json_decref(b->options);
  free(b);
}

void build_args_reset_allowed(build_args *b) { map_clear(&b->allowed); }

void build_args_add(build_args *b, const char *key, const char *value) {
  map_set(&b->allowed, key, value);
  map_set(&b->referenced, key, NULL);
}

void build_args_add_meta(build_args *b, const char *key, const char *value) {
  map_set(&b->meta, key, value);
}

void build_args_merge_referenced(build_args *b, const build_args *other) {
  size_t i = 0;
  const char *k;
  while (strmap_next(&other->referenced, &i, &k, NULL)) map_set(&b->referenced, k, NULL);
}

bool build_args_referenced_or_not_builtin(const build_args *b, const char *key) {
  return strmap_get(&b->allowed, key) || !build_args_is_builtin(key);
}

/* getBuildArg: the request's value wins; an ARG without default falls back to the meta
 * ARG of the same name. */
static const char *lookup(const build_args *b, const strmap *mapping, const char *key) {
  void *def = strmap_get(mapping, key);
  json_t *opt = json_object_get(b->options, key);
  if (json_is_string(opt)) return json_string_value(opt);
  if (!def || def == NO_VALUE) {
    void *m = strmap_get(&b->meta, key);
    return m && m != NO_VALUE ? m : NULL;
  }
  return def;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **all_from(const build_args *b, const strmap *mapping, const json_t *skip_env,
                       size_t *n) {
  size_t cap = mapping->len + ARRAY_LEN(builtins) + 1;
  char **keys = xcalloc(cap, sizeof *keys);
  size_t nk = 0, i = 0;
  const char *k;
  while (strmap_next(mapping, &i, &k, NULL)) keys[nk++] = (char *)k;
  for (size_t j = 0; j < ARRAY_LEN(builtins); j++)
    if (!strmap_get(mapping, builtins[j])) keys[nk++] = (char *)builtins[j];
  char **out = xcalloc(nk + 1, sizeof *out);
  *n = 0;
  for (size_t j = 0; j < nk; j++) {
    const char *v = lookup(b, mapping, keys[j]);
    if (!v) continue;
    if (skip_env) {
      bool present = false;
      size_t ei;
      json_t *ev;
      size_t klen = strlen(keys[j]);
      json_array_foreach(skip_env, ei, ev) {
        const char *s = json_string_value(ev);
        if (s && !strncmp(s, keys[j], klen) && (s[klen] == '=' || !s[klen])) present = true;
      }
      if (present) continue;
    }
    out[(*n)++] = xasprintf("%s=%s", keys[j], v);
  }
  free(keys);
  qsort(out, *n, sizeof *out, cmp_str);
  return out;
}

char **build_args_all_allowed(const build_args *b, size_t *n) {
  return all_from(b, &b->allowed, NULL, n);
}
char **build_args_all_meta(const build_args *b, size_t *n) {
  return all_from(b, &b->meta, NULL, n);
}

char **build_args_filter_allowed(const build_args *b, const json_t *env, size_t *n) {
  json_t *empty = json_array();
  char **out = all_from(b, &b->allowed, json_is_array(env) ? env : empty, n);
  json_decref(empty);
  return out;
}

void build_args_free_list(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

char *build_args_unused_warning(const build_args *b) {
  const char *k;
  json_t *v;
  size_t n = 0;
  char **left = xcalloc(json_object_size(b->options) + 1, sizeof *left);
  json_object_foreach(b->options, k, v) {
    if (build_args_is_builtin(k) || strmap_get(&b->referenced, k)) continue;
    left[n++] = (char *)k;
  }
  char *out = NULL;
  if (n) {
    qsort(left, n, sizeof *left, cmp_str);
    strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "[Warning] One or more build-args [");
    for (size_t i = 0; i < n; i++) sb_printf(&sb, "%s%s", i ? " " : "", left[i]);
    sb_puts(&sb, "] were not consumed\n");
    out = sb_steal(&sb);
  }
  free(left);
  return out;
}
