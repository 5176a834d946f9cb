#include "api/router.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "common/util.h"

void api_params_free(api_params *p) {
  for (size_t i = 0; i < p->n; i++) {
    free(p->values[i]);
    free(p->names[i]);
  }
  p->n = 0;
}

bool api_split_version(const char *path, char *version, size_t vlen, const char **rest) {
  *rest = path;
  version[0] = '\0';
  if (path[0] != '/' || path[1] != 'v') return false;
  const char *p = path + 2;
  size_t n = 0;
  while (p[n] && (isdigit((unsigned char)p[n]) || p[n] == '.')) n++;
  if (n == 0 || (p[n] != '/' && p[n] != '\0') || n >= vlen) return false;
  memcpy(version, p, n);
  version[n] = '\0';
  *rest = p + n;
  return true;
}

int api_version_compare(const char *a, const char *b) {
  /* Docker's versions.compare: split on dots, compare numerically, missing parts are 0. */
  while (*a || *b) {
    long x = strtol(a, (char **)&a, 10);
    long y = strtol(b, (char **)&b, 10);
    if (x != y) return x < y ? -1 : 1;
    if (*a == '.') a++;
    else if (*a) a += strlen(a);
    if (*b == '.') b++;
    else if (*b) b += strlen(b);
  }
  return 0;
}

/* Segment-wise match; "{x*}" swallows one or more segments (greedy with backtracking). */
static bool match_from(const char *pat, const char *path, api_params *params) {
  if (*pat == '\0') return *path == '\0';
  if (*pat != '/' || *path != '/') return false;
  pat++;
  path++;
  const char *pend = strchr(pat, '/');
  size_t plen = pend ? (size_t)(pend - pat) : strlen(pat);
  if (plen >= 2 && pat[0] == '{' && pat[plen - 1] == '}') {
    bool greedy = plen >= 3 && pat[plen - 2] == '*';
    size_t name_len = plen - 2 - (greedy ? 1 : 0);
    const char *seg_end = strchr(path, '/');
    size_t first_len = seg_end ? (size_t)(seg_end - path) : strlen(path);
    if (first_len == 0) return false;
    if (params->n >= API_MAX_PARAMS) return false;
    size_t slot = params->n;
    if (!greedy) {
      params->names[slot] = NULL;
      params->values[slot] = xstrndup(path, first_len);
      params->n++;
      if (match_from(pat + plen, path + first_len, params)) {
        params->names[slot] = xstrndup(pat + 1, name_len);
        return true;
      }
      free(params->values[slot]);
      params->n = slot;
      return false;
    }
    /* Try the longest span first: image names contain slashes. */
    size_t total = strlen(path);
    for (size_t len = total; len >= first_len; len--) {
      if (len != total && path[len] != '/') continue;
      params->values[slot] = xstrndup(path, len);
      params->names[slot] = NULL;
      params->n = slot + 1;
      if (match_from(pat + plen, path + len, params)) {
        params->names[slot] = xstrndup(pat + 1, name_len);
        return true;
      }
      free(params->values[slot]);
      params->n = slot;
      if (len == first_len) break;
    }
    return false;
  }
  const char *send = strchr(path, '/');
  size_t slen = send ? (size_t)(send - path) : strlen(path);
  if (slen != plen || memcmp(pat, path, plen) != 0) return false;
  return match_from(pat + plen, path + slen, params);
}

const api_route *api_route_match(const char *method, const char *path, api_params *params) {
  size_t n;
  const api_route *routes = api_routes(&n);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(routes[i].method, method) != 0) continue;
    params->n = 0;
    if (match_from(routes[i].pattern, path, params)) return &routes[i];
    api_params_free(params);
  }
  return NULL;
}
