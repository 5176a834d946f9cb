/* Go's small parsers as dockerd's checks use them, and accessors over decoded configs. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "engine/container_config_internal.h"

const char *cc_str(const json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : "";
}

int64_t cc_int(const json_t *obj, const char *key) {
  return json_integer_value(json_object_get(obj, key));
}

bool cc_bool(const json_t *obj, const char *key) {
  return json_is_true(json_object_get(obj, key));
}

const json_t *cc_arr(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  return json_is_array(v) ? v : NULL;
}

const json_t *cc_obj(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  return json_is_object(v) ? v : NULL;
}

size_t cc_len(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  if (json_is_array(v)) return json_array_size(v);
  if (json_is_object(v)) return json_object_size(v);
  return 0;
}

void cc_set_str(json_t *obj, const char *key, const char *value) {
  json_object_set_new(obj, key, json_string(value));
}

void cc_set_int(json_t *obj, const char *key, int64_t value) {
  json_object_set_new(obj, key, json_integer(value));
}

void cc_warn(json_t *warnings, const char *text) {
  if (warnings) json_array_append_new(warnings, json_string(text));
}

bool go_parse_ip(const char *s, unsigned char out[16], bool *is4) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, s, buf) == 1) {
    memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, buf, 4);
    *is4 = true;
    return true;
  }
  if (strchr(s, '%') || inet_pton(AF_INET6, s, out) != 1) return false;
  static const unsigned char v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  *is4 = memcmp(out, v4_prefix, 12) == 0; /* Go's To4() accepts v4-mapped addresses */
  return true;
}

bool go_parse_uint(const char *s, int bits, uint64_t *out) {
  if (!*s) return false;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (bits < 64 && v >= ((uint64_t)1 << bits)) return false;
  *out = v;
  return true;
}

bool go_atoi(const char *s, int64_t *out) {
  bool neg = false;
  if (*s == '+' || *s == '-') neg = *s++ == '-';
  uint64_t v;
  if (!go_parse_uint(s, 64, &v) || v > (uint64_t)INT64_MAX) return false;
  *out = neg ? -(int64_t)v : (int64_t)v;
  return true;
}

bool go_parse_bool(const char *s, bool *out) {
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < ARRAY_LEN(yes); i++)
    if (!strcmp(s, yes[i])) return *out = true, true;
  for (size_t i = 0; i < ARRAY_LEN(no); i++)
    if (!strcmp(s, no[i])) return *out = false, true;
  return false;
}

/* ---- go-connections/nat ------------------------------------------------------------ */

void nat_split_proto_port(const char *raw, char *proto, size_t proto_n, char *port,
                          size_t port_n) {
  proto[0] = port[0] = '\0';
  if (!*raw || raw[0] == '/') return;
  const char *slash = strchr(raw, '/');
  if (!slash) {
    snprintf(proto, proto_n, "tcp");
    snprintf(port, port_n, "%s", raw);
    return;
  }
  snprintf(port, port_n, "%.*s", (int)(slash - raw), raw);
  /* parts[1]: up to a second '/' */
  const char *p1 = slash + 1;
  const char *end = strchr(p1, '/');
  size_t len = end ? (size_t)(end - p1) : strlen(p1);
  if (len == 0)
    snprintf(proto, proto_n, "tcp");
  else
    snprintf(proto, proto_n, "%.*s", (int)len, p1);
}

bool nat_parse_port_range(const char *s, uint64_t *start, uint64_t *end) {
  if (!*s) return false;
  const char *dash = strchr(s, '-');
  if (!dash) {
    if (!go_parse_uint(s, 16, start)) return false;
    *end = *start;
    return true;
  }
  /* strings.Split(ports, "-"): parts[0] and parts[1], anything after a second '-' ignored */
  char first[32], second[32];
  if ((size_t)(dash - s) >= sizeof first) return false;
  snprintf(first, sizeof first, "%.*s", (int)(dash - s), s);
  const char *p2 = dash + 1;
  const char *dash2 = strchr(p2, '-');
  size_t len2 = dash2 ? (size_t)(dash2 - p2) : strlen(p2);
  if (len2 >= sizeof second) return false;
  snprintf(second, sizeof second, "%.*s", (int)len2, p2);
  if (!go_parse_uint(first, 16, start) || !go_parse_uint(second, 16, end)) return false;
  return *end >= *start;
}
