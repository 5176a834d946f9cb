/* Where a registry is reached: Docker's endpoint list and its insecure-registry test
 * (moby daemon/pkg/registry service_v2.go and config.go). */
#include <arpa/inet.h>
#include "common/lazy_curl.h"
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "image/registry.h"

typedef struct ip_addr {
  int family;
  unsigned char b[16];
} ip_addr;

static bool parse_ip(const char *s, ip_addr *ip) {
  if (inet_pton(AF_INET, s, ip->b) == 1) {
    ip->family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s, ip->b) == 1) {
    ip->family = AF_INET6;
    return true;
  }
  return false;
}

static bool prefix_contains(const char *cidr, const ip_addr *ip) {
  const char *slash = strchr(cidr, '/');
  if (!slash) return false;
  autofree char *addr = xstrndup(cidr, (size_t)(slash - cidr));
  char *end = NULL;
  long bits = strtol(slash + 1, &end, 10);
  ip_addr net;
  if (!end || *end || !parse_ip(addr, &net) || net.family != ip->family) return false;
  long max = net.family == AF_INET ? 32 : 128;
  if (bits < 0 || bits > max) return false;
  for (long i = 0; i < bits; i++) {
    unsigned char m = (unsigned char)(0x80 >> (i % 8));
    if ((net.b[i / 8] & m) != (ip->b[i / 8] & m)) return false;
  }
  return true;
}

static const char *strip_scheme(const char *s) {
  if (!strncasecmp(s, "http://", 7)) return s + 7;
  if (!strncasecmp(s, "https://", 8)) return s + 8;
  return s;
}

/* host of "host:port", "[v6]:port", "v6" or "host" */
static char *host_part(const char *hostport) {
  if (hostport[0] == '[') {
    const char *e = strchr(hostport, ']');
    return e ? xstrndup(hostport + 1, (size_t)(e - hostport - 1)) : xstrdup(hostport);
  }
  const char *colon = strchr(hostport, ':');
  if (colon && !strchr(colon + 1, ':')) return xstrndup(hostport, (size_t)(colon - hostport));
  return xstrdup(hostport);
}

static bool any_prefix(const char *const *cidrs, size_t n, const ip_addr *ip) {
  static const char *const loopback[] = {"127.0.0.0/8", "::1/128"};
  for (size_t i = 0; i < ARRAY_LEN(loopback); i++)
    if (prefix_contains(loopback[i], ip)) return true;
  for (size_t i = 0; i < n; i++)
    if (strchr(cidrs[i], '/') && prefix_contains(strip_scheme(cidrs[i]), ip)) return true;
  return false;
}

bool registry_is_insecure(const char *host, const char *const *insecure, size_t ninsecure) {
  if (!host || !*host || !strcmp(host, REGISTRY_HUB_DOMAIN)) return false;
  for (size_t i = 0; i < ninsecure; i++)
    if (!strchr(insecure[i], '/') || strstr(insecure[i], "://")) {
      const char *e = strip_scheme(insecure[i]);
      if (!strchr(e, '/') && !strcmp(e, host)) return true;
    }
  autofree char *h = host_part(host);
  ip_addr ip;
  if (parse_ip(h, &ip)) return any_prefix(insecure, ninsecure, &ip);
  /* a name: every address it resolves to is tried, as Docker does */
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
  if (getaddrinfo(h, NULL, &hints, &res) != 0) return false;
  bool hit = false;
  for (struct addrinfo *a = res; a && !hit; a = a->ai_next) {
    ip_addr cand = {.family = a->ai_family};
    if (a->ai_family == AF_INET)
      memcpy(cand.b, &((struct sockaddr_in *)a->ai_addr)->sin_addr, 4);
    else if (a->ai_family == AF_INET6)
      memcpy(cand.b, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, 16);
    else
      continue;
    hit = any_prefix(insecure, ninsecure, &cand);
  }
  freeaddrinfo(res);
  return hit;
}

static char *url_hostport(const char *url) {
  CURLU *u = curl_url();
  char *res = NULL, *h = NULL, *p = NULL;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK) {
    curl_url_get(u, CURLUPART_PORT, &p, 0);
    res = p ? xasprintf("%s:%s", h, p) : xstrdup(h);
  }
  curl_free(h);
  curl_free(p);
  curl_url_cleanup(u);
  return res;
}

static void add_ep(registry_endpoint **eps, size_t *n, const char *domain, char *base_url,
                   bool insecure, bool mirror) {
  *eps = xrealloc(*eps, (*n + 1) * sizeof **eps);
  size_t len = strlen(base_url);
  while (len > 0 && base_url[len - 1] == '/') base_url[--len] = '\0';
  (*eps)[(*n)++] = (registry_endpoint){xstrdup(domain), base_url, insecure, mirror};
}

int registry_endpoints(const char *domain, const char *const *insecure, size_t ninsecure,
                       const char *const *mirrors, size_t nmirrors, registry_endpoint **out,
                       size_t *n, arca_err *err) {
  *out = NULL;
  *n = 0;
  if (!domain || !*domain) return err_set(err, 400, "invalid registry: empty domain");
  if (!strcmp(domain, REGISTRY_HUB_DOMAIN) || !strcmp(domain, REGISTRY_HUB_INDEX_HOST)) {
    for (size_t i = 0; i < nmirrors; i++) {
      const char *m = mirrors[i];
      char *url = str_has_prefix(m, "http://") || str_has_prefix(m, "https://")
                      ? xstrdup(m) : xasprintf("https://%s", m);
      autofree char *hp = url_hostport(url);
      if (!hp) {
        free(url);
        registry_endpoints_free(*out, *n);
        *out = NULL;
        *n = 0;
        return err_set(err, 400, "invalid mirror: %s", m);
      }
      add_ep(out, n, REGISTRY_HUB_DOMAIN, url, registry_is_insecure(hp, insecure, ninsecure),
             true);
    }
    add_ep(out, n, REGISTRY_HUB_DOMAIN, xstrdup(REGISTRY_HUB_URL), false, false);
    return 0;
  }
  bool weak = registry_is_insecure(domain, insecure, ninsecure);
  add_ep(out, n, domain, xasprintf("https://%s", domain), weak, false);
  if (weak) add_ep(out, n, domain, xasprintf("http://%s", domain), true, false);
  return 0;
}

void registry_endpoints_free(registry_endpoint *eps, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(eps[i].domain);
    free(eps[i].base_url);
  }
  free(eps);
}
