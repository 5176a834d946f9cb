#include "builder/run_config.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

static json_t *str_or_empty(const json_t *v) {
  return json_string(json_is_string(v) ? json_string_value(v) : "");
}

static json_t *boolean(const json_t *v) { return json_boolean(json_is_true(v)); }

/* strslice.StrSlice and []string: an array of strings, a lone string as one element. */
static json_t *strv(const json_t *v) {
  if (json_is_string(v)) return json_pack("[s]", json_string_value(v));
  if (!json_is_array(v)) return json_null();
  json_t *a = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e)
      json_array_append_new(a, json_string(json_is_string(e) ? json_string_value(e) : ""));
  return a;
}

static json_t *set_of_keys(const json_t *v) {
  if (!json_is_object(v)) return json_null();
  json_t *o = json_object();
  const char *k;
  json_t *e;
  json_object_foreach((json_t *)v, k, e) json_object_set_new(o, k, json_object());
  return o;
}

static json_t *labels(const json_t *v) {
  if (!json_is_object(v)) return json_null();
  json_t *o = json_object();
  const char *k;
  json_t *e;
  json_object_foreach((json_t *)v, k, e) json_object_set_new(o, k, str_or_empty(e));
  return o;
}

static json_t *health(const json_t *h) {
  json_t *o = json_object();
  json_t *test = json_object_get(h, "Test");
  if (json_array_size(test)) json_object_set_new(o, "Test", strv(test));
  static const char *const nums[] = {"Interval", "Timeout", "StartPeriod", "StartInterval",
                                     "Retries"};
  for (size_t i = 0; i < ARRAY_LEN(nums); i++) {
    json_int_t n = json_integer_value(json_object_get(h, nums[i]));
    if (n) json_object_set_new(o, nums[i], json_integer(n));
  }
  return o;
}

json_t *runcfg_normalize(const json_t *in) {
  json_t *o = json_object();
#define G(k) json_object_get(in, k)
  json_object_set_new(o, "Hostname", str_or_empty(G("Hostname")));
  json_object_set_new(o, "Domainname", str_or_empty(G("Domainname")));
  json_object_set_new(o, "User", str_or_empty(G("User")));
  json_object_set_new(o, "AttachStdin", boolean(G("AttachStdin")));
  json_object_set_new(o, "AttachStdout", boolean(G("AttachStdout")));
  json_object_set_new(o, "AttachStderr", boolean(G("AttachStderr")));
  if (json_object_size(G("ExposedPorts")))
    json_object_set_new(o, "ExposedPorts", set_of_keys(G("ExposedPorts")));
  json_object_set_new(o, "Tty", boolean(G("Tty")));
  json_object_set_new(o, "OpenStdin", boolean(G("OpenStdin")));
  json_object_set_new(o, "StdinOnce", boolean(G("StdinOnce")));
  json_object_set_new(o, "Env", strv(G("Env")));
  json_object_set_new(o, "Cmd", strv(G("Cmd")));
  if (json_is_object(G("Healthcheck")))
    json_object_set_new(o, "Healthcheck", health(G("Healthcheck")));
  if (json_is_true(G("ArgsEscaped"))) json_object_set_new(o, "ArgsEscaped", json_true());
  json_object_set_new(o, "Image", str_or_empty(G("Image")));
  json_object_set_new(o, "Volumes", set_of_keys(G("Volumes")));
  json_object_set_new(o, "WorkingDir", str_or_empty(G("WorkingDir")));
  json_object_set_new(o, "Entrypoint", strv(G("Entrypoint")));
  if (json_is_true(G("NetworkDisabled"))) json_object_set_new(o, "NetworkDisabled", json_true());
  if (json_is_string(G("MacAddress")) && *json_string_value(G("MacAddress")))
    json_object_set_new(o, "MacAddress", json_incref(G("MacAddress")));
  json_object_set_new(o, "OnBuild", strv(G("OnBuild")));
  json_object_set_new(o, "Labels", labels(G("Labels")));
  if (json_is_string(G("StopSignal")) && *json_string_value(G("StopSignal")))
    json_object_set_new(o, "StopSignal", json_incref(G("StopSignal")));
  if (json_is_integer(G("StopTimeout")))
    json_object_set_new(o, "StopTimeout", json_incref(G("StopTimeout")));
  if (json_array_size(G("Shell")) || json_is_string(G("Shell")))
    json_object_set_new(o, "Shell", strv(G("Shell")));
#undef G
  return o;
}

static void key_strv(strbuf *sb, const char *name, const json_t *v) {
  json_t *a = strv(v);
  sb_printf(sb, "%s[", name);
  size_t i;
  json_t *e;
  json_array_foreach(a, i, e) {
    const char *s = json_string_value(e);
    sb_printf(sb, "%zu:", strlen(s));
    sb_puts(sb, s);
  }
  sb_puts(sb, "]");
  json_decref(a);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void key_map(strbuf *sb, const char *name, const json_t *v, bool values) {
  size_t n = json_is_object(v) ? json_object_size(v) : 0;
  const char **keys = xcalloc(n + 1, sizeof *keys);
  size_t k = 0;
  const char *key;
  json_t *e;
  if (n) json_object_foreach((json_t *)v, key, e) keys[k++] = key;
  qsort(keys, k, sizeof *keys, cmp_str);
  sb_printf(sb, "%s{", name);
  for (size_t i = 0; i < k; i++) {
    sb_printf(sb, "%zu:%s", strlen(keys[i]), keys[i]);
    if (values) {
      const char *s = json_string_value(json_object_get(v, keys[i])) ?: "";
      sb_printf(sb, "=%zu:%s", strlen(s), s);
    }
  }
  sb_puts(sb, "}");
  free(keys);
}

static void key_str(strbuf *sb, const char *name, const json_t *v) {
  const char *s = json_string_value(v) ?: "";
  sb_printf(sb, "%s=%zu:%s;", name, strlen(s), s);
}

void runcfg_cache_key(const json_t *cfg, const char *platform, char out[DIGEST_STR_SIZE]) {
  strbuf sb;
  sb_init(&sb);
#define G(k) json_object_get(cfg, k)
  sb_printf(&sb, "platform=%s;", platform ? platform : "");
  key_strv(&sb, "Env", G("Env"));
  key_strv(&sb, "Cmd", G("Cmd"));
  key_strv(&sb, "Entrypoint", G("Entrypoint"));
  key_strv(&sb, "Shell", G("Shell"));
  key_strv(&sb, "OnBuild", G("OnBuild"));
  key_map(&sb, "ExposedPorts", G("ExposedPorts"), false);
  key_map(&sb, "Volumes", G("Volumes"), false);
  key_map(&sb, "Labels", G("Labels"), true);
  static const char *const bools[] = {"AttachStdin",     "AttachStdout", "AttachStderr",
                                      "NetworkDisabled", "Tty",          "OpenStdin",
                                      "StdinOnce",       "ArgsEscaped"};
  for (size_t i = 0; i < ARRAY_LEN(bools); i++)
    sb_printf(&sb, "%s=%d;", bools[i], json_is_true(G(bools[i])));
  key_str(&sb, "User", G("User"));
  key_str(&sb, "WorkingDir", G("WorkingDir"));
  key_str(&sb, "StopSignal", G("StopSignal"));
  if (json_is_integer(G("StopTimeout")))
    sb_printf(&sb, "StopTimeout=%lld;", (long long)json_integer_value(G("StopTimeout")));
  else
    sb_puts(&sb, "StopTimeout=nil;");
  json_t *h = G("Healthcheck");
  if (json_is_object(h)) {
    sb_puts(&sb, "Health{");
    static const char *const nums[] = {"Interval", "StartInterval", "StartPeriod", "Timeout",
                                       "Retries"};
    for (size_t i = 0; i < ARRAY_LEN(nums); i++)
      sb_printf(&sb, "%s=%lld;", nums[i],
                (long long)json_integer_value(json_object_get(h, nums[i])));
    key_strv(&sb, "Test", json_object_get(h, "Test"));
    sb_puts(&sb, "}");
  } else {
    sb_puts(&sb, "Health=nil;");
  }
#undef G
  digest_buffer(sb.buf, sb.len, out);
  sb_free(&sb);
}

void runcfg_set_strv(json_t *cfg, const char *key, const char *const *v, size_t n) {
  if (!v) {
    json_object_set_new(cfg, key, json_null());
    return;
  }
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
  json_object_set_new(cfg, key, a);
}
