/* Addresses, prefixes and Docker's default IPAM rules (see ipam.h). */
#include "engine/ipam.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

static int addr_len(const ip_addr *a) { return a->family == 4 ? 4 : 16; }

/* Go's netip rejects octets with leading zeros and anything but digits and dots. */
static bool parse_v4(const char *s, ip_addr *out) {
  int octets = 0;
  const char *p = s;
  memset(out, 0, sizeof *out);
  out->family = 4;
  while (octets < 4) {
    if (!isdigit((unsigned char)*p)) return false;
    unsigned v = 0;
    const char *start = p;
    while (isdigit((unsigned char)*p)) {
      v = v * 10 + (unsigned)(*p - '0');
      if (v > 255) return false;
      p++;
    }
    if (p - start > 1 && *start == '0') return false;
    out->b[octets++] = (uint8_t)v;
    if (octets < 4) {
      if (*p != '.') return false;
      p++;
    }
  }
  return *p == '\0';
}

bool ip_parse(const char *s, ip_addr *out) {
  if (!s || !*s) return false;
  if (!strchr(s, ':')) return parse_v4(s, out);
  if (strchr(s, '%')) return false; /* zones are not addresses of a network */
  memset(out, 0, sizeof *out);
  out->family = 6;
  return inet_pton(AF_INET6, s, out->b) == 1;
}

bool ip_prefix_parse(const char *s, ip_prefix *out) {
  if (!s) return false;
  const char *slash = strchr(s, '/');
  if (!slash || slash == s || !slash[1]) return false;
  autofree char *addr = xstrndup(s, (size_t)(slash - s));
  if (!ip_parse(addr, &out->addr)) return false;
  const char *b = slash + 1;
  if (strlen(b) > 3 || (b[0] == '0' && b[1])) return false;
  int bits = 0;
  for (const char *c = b; *c; c++) {
    if (!isdigit((unsigned char)*c)) return false;
    bits = bits * 10 + (*c - '0');
  }
  if (bits > addr_len(&out->addr) * 8) return false;
  out->bits = bits;
  return true;
}

void ip_format(const ip_addr *a, char out[IP_STR_MAX]) {
  if (a->family != 4 && a->family != 6) {
    out[0] = '\0';
    return;
  }
  inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, out, IP_STR_MAX);
}

void ip_prefix_format(const ip_prefix *p, char out[IP_PREFIX_STR_MAX]) {
  char a[IP_STR_MAX];
  ip_format(&p->addr, a);
  snprintf(out, IP_PREFIX_STR_MAX, "%s/%d", a, p->bits);
}

int ip_cmp(const ip_addr *a, const ip_addr *b) {
  if (a->family != b->family) return a->family < b->family ? -1 : 1;
  return memcmp(a->b, b->b, (size_t)addr_len(a));
}

bool ip_equal(const ip_addr *a, const ip_addr *b) { return ip_cmp(a, b) == 0; }

bool ip_is_unspecified(const ip_addr *a) {
  for (int i = 0; i < addr_len(a); i++)
    if (a->b[i]) return false;
  return true;
}

static void mask_bits(uint8_t *b, int len, int bits, bool set_host) {
  for (int i = 0; i < len; i++) {
    int keep = bits - i * 8;
    uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    b[i] = set_host ? (uint8_t)(b[i] | ~mask) : (uint8_t)(b[i] & mask);
  }
}

ip_prefix ip_prefix_masked(const ip_prefix *p) {
  ip_prefix m = *p;
  mask_bits(m.addr.b, addr_len(&m.addr), m.bits, false);
  return m;
}

bool ip_prefix_is_masked(const ip_prefix *p) {
  ip_prefix m = ip_prefix_masked(p);
  return ip_equal(&m.addr, &p->addr);
}

bool ip_prefix_contains(const ip_prefix *p, const ip_addr *a) {
  if (p->addr.family != a->family) return false;
  ip_prefix q = {.addr = *a, .bits = p->bits};
  ip_prefix mq = ip_prefix_masked(&q), mp = ip_prefix_masked(p);
  return ip_equal(&mq.addr, &mp.addr);
}

bool ip_prefix_overlaps(const ip_prefix *p, const ip_prefix *q) {
  if (p->addr.family != q->addr.family) return false;
  int bits = p->bits < q->bits ? p->bits : q->bits;
  ip_prefix a = {.addr = p->addr, .bits = bits}, b = {.addr = q->addr, .bits = bits};
  a = ip_prefix_masked(&a);
  b = ip_prefix_masked(&b);
  return ip_equal(&a.addr, &b.addr);
}

ip_addr ip_prefix_first(const ip_prefix *p) { return ip_prefix_masked(p).addr; }

ip_addr ip_prefix_last(const ip_prefix *p) {
  ip_addr a = p->addr;
  mask_bits(a.b, addr_len(&a), p->bits, true);
  return a;
}

ip_addr ip_add(const ip_addr *a, uint64_t n) {
  ip_addr r = *a;
  int len = addr_len(a);
  unsigned carry = 0;
  for (int i = len - 1; i >= 0 && (n || carry); i--) {
    unsigned sum = r.b[i] + (unsigned)(n & 0xff) + carry;
    r.b[i] = (uint8_t)sum;
    carry = sum >> 8;
    n >>= 8;
  }
  return r;
}

static bool is_used(const ip_addr *a, const ip_addr *used, size_t nused) {
  for (size_t i = 0; i < nused; i++)
    if (ip_equal(a, &used[i])) return true;
  return false;
}

bool ipam_next_free(const ip_prefix *subnet, const ip_prefix *range, const ip_addr *used, size_t nused,
                    const ip_addr *after, ip_addr *out) {
  const ip_prefix *pool = range ? range : subnet;
  ip_addr lo = ip_prefix_first(pool), hi = ip_prefix_last(pool);
  ip_addr net = ip_prefix_first(subnet), bcast = ip_prefix_last(subnet);
  if (ip_equal(&lo, &net)) lo = ip_add(&lo, 1);
  if (subnet->addr.family == 4 && ip_equal(&hi, &bcast) && subnet->bits < 31) {
    /* hi - 1: walk down one by adding all-ones to the last octets */
    hi = ip_add(&hi, 0xffffffffu);
  }
  if (ip_cmp(&lo, &hi) > 0) return false;
  ip_addr start = lo;
  if (after && after->family == lo.family && ip_cmp(after, &lo) >= 0 && ip_cmp(after, &hi) < 0)
    start = ip_add(after, 1);
  /* scan start..hi then lo..start-1; bounded by the addresses in use + 1 probes per part */
  for (int pass = 0; pass < 2; pass++) {
    ip_addr a = pass == 0 ? start : lo;
    ip_addr stop = pass == 0 ? hi : start;
    for (size_t probes = 0; probes <= nused + 1; probes++) {
      if (pass == 1 && ip_cmp(&a, &stop) >= 0) break;
      if (pass == 0 && ip_cmp(&a, &stop) > 0) break;
      if (!is_used(&a, used, nused)) {
        *out = a;
        return true;
      }
      if (ip_equal(&a, &hi)) break;
      a = ip_add(&a, 1);
    }
  }
  return false;
}

bool ipam_pick_subnet(const ipam_pool *pools, size_t npools, const ip_prefix *taken, size_t ntaken,
                      ip_prefix *out) {
  for (size_t i = 0; i < npools; i++) {
    const ipam_pool *pool = &pools[i];
    int maxbits = pool->base.addr.family == 4 ? 32 : 128;
    if (pool->size < pool->base.bits || pool->size > maxbits) continue;
    int extra = pool->size - pool->base.bits;
    uint64_t count = extra >= 20 ? (1u << 20) : (1ull << extra);
    ip_prefix base = ip_prefix_masked(&pool->base);
    for (uint64_t k = 0; k < count; k++) {
      ip_prefix cand = {.addr = base.addr, .bits = pool->size};
      /* k << (maxbits - size), added as bytes */
      int shift = maxbits - pool->size;
      ip_addr step = {.family = base.addr.family};
      memset(step.b, 0, sizeof step.b);
      int len = addr_len(&step);
      for (int bit = 0; bit < 64; bit++) {
        if (!(k >> bit & 1)) continue;
        int pos = shift + bit; /* bit position from the least significant end */
        if (pos >= len * 8) continue;
        step.b[len - 1 - pos / 8] |= (uint8_t)(1u << (pos % 8));
      }
      unsigned carry = 0;
      for (int b = len - 1; b >= 0; b--) {
        unsigned sum = cand.addr.b[b] + step.b[b] + carry;
        cand.addr.b[b] = (uint8_t)sum;
        carry = sum >> 8;
      }
      if (!ip_prefix_contains(&base, &cand.addr)) break;
      bool clash = false;
      for (size_t t = 0; t < ntaken && !clash; t++) clash = ip_prefix_overlaps(&cand, &taken[t]);
      if (!clash) {
        *out = cand;
        return true;
      }
    }
  }
  return false;
}

static void push(ip_prefix **out, size_t *n, const ip_prefix *p) {
  *out = xrealloc(*out, (*n + 1) * sizeof **out);
  (*out)[(*n)++] = *p;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void ipam_host_reserved(ip_prefix **out, size_t *n, const char *skip_if) {
  autofree char *text = NULL;
  if (read_file("/proc/net/route", 1 << 20, &text, NULL, NULL) == 0) {
    char *save = NULL;
    bool first = true;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      if (first) {
        first = false;
        continue;
      }
      char ifname[64];
      unsigned dest, gw, flags, mask;
      int refcnt, use, metric;
      if (sscanf(line, "%63s %x %x %x %d %d %d %x", ifname, &dest, &gw, &flags, &refcnt, &use, &metric, &mask) != 8)
        continue;
      if (mask == 0) continue; /* the default route reserves nothing */
      if (skip_if && !strcmp(ifname, skip_if)) continue;
      ip_prefix p = {.addr = {.family = 4}, .bits = 0};
      memcpy(p.addr.b, &dest, 4); /* the kernel prints network order as a host integer */
      uint32_t m = mask;
      for (int i = 0; i < 4; i++)
        for (int b = 7; b >= 0; b--)
          if ((((uint8_t *)&m)[i] >> b) & 1) p.bits++;
      push(out, n, &p);
    }
  }
  free(text);
  text = NULL;
  if (read_file("/proc/net/ipv6_route", 1 << 20, &text, NULL, NULL) == 0) {
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      if (strlen(line) < 35) continue;
      ip_prefix p = {.addr = {.family = 6}};
      bool ok = true;
      for (int i = 0; i < 16 && ok; i++) {
        int h = hexval(line[2 * i]), l = hexval(line[2 * i + 1]);
        ok = h >= 0 && l >= 0;
        p.addr.b[i] = (uint8_t)(h << 4 | l);
      }
      int bh = hexval(line[33]), bl = hexval(line[34]);
      if (!ok || bh < 0 || bl < 0) continue;
      const char *dev = strrchr(line, ' ');
      if (skip_if && dev && !strcmp(dev + 1, skip_if)) continue;
      p.bits = bh << 4 | bl;
      /* the default route, link-local, multicast and host routes say nothing about subnets */
      if (p.bits == 0 || p.bits == 128 || p.addr.b[0] == 0xff || (p.addr.b[0] == 0xfe && (p.addr.b[1] & 0xc0) == 0x80))
        continue;
      push(out, n, &p);
    }
  }
  free(text);
  text = NULL;
  if (read_file("/etc/resolv.conf", 1 << 20, &text, NULL, NULL) == 0) {
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char word[32], addr[64];
      if (sscanf(line, "%31s %63s", word, addr) != 2 || strcmp(word, "nameserver")) continue;
      ip_prefix p;
      if (!ip_parse(addr, &p.addr)) continue;
      p.bits = p.addr.family == 4 ? 32 : 128;
      if (p.addr.family == 4 && p.addr.b[0] == 127) continue; /* loopback resolvers clash with nothing */
      push(out, n, &p);
    }
  }
}
