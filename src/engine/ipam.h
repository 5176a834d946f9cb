/* IP addresses and prefixes, and the address management Docker's default IPAM driver does:
 * subnets carved from the daemon's address pools, the gateway, addresses handed out one
 * after the other from the subnet (or its ip-range), never the network or broadcast
 * address, never one already taken.
 *
 * Parsing follows Go's net/netip (what dockerd uses): dotted quads without leading zeros,
 * IPv6 in any RFC 4291 form, no zones; a prefix's bits must fit its family. Pure functions
 * over values; no locks, no state. */
#ifndef ARCA_ENGINE_IPAM_H
#define ARCA_ENGINE_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ip_addr {
  uint8_t family; /* 4 or 6; 0 for "none" */
  uint8_t b[16];  /* IPv4 in b[0..3] */
} ip_addr;

typedef struct ip_prefix {
  ip_addr addr;
  int bits;
} ip_prefix;

#define IP_STR_MAX 46
#define IP_PREFIX_STR_MAX 50

bool ip_parse(const char *s, ip_addr *out);
bool ip_prefix_parse(const char *s, ip_prefix *out);
/* inet_ntop's canonical text */
void ip_format(const ip_addr *a, char out[IP_STR_MAX]);
void ip_prefix_format(const ip_prefix *p, char out[IP_PREFIX_STR_MAX]);
int ip_cmp(const ip_addr *a, const ip_addr *b);
bool ip_equal(const ip_addr *a, const ip_addr *b);
bool ip_is_unspecified(const ip_addr *a);

/* The prefix with its host bits cleared (Go's Masked). */
ip_prefix ip_prefix_masked(const ip_prefix *p);
bool ip_prefix_is_masked(const ip_prefix *p);
bool ip_prefix_contains(const ip_prefix *p, const ip_addr *a);
bool ip_prefix_overlaps(const ip_prefix *p, const ip_prefix *q);
/* First and last address of the prefix (network and broadcast for IPv4). */
ip_addr ip_prefix_first(const ip_prefix *p);
ip_addr ip_prefix_last(const ip_prefix *p);
/* a + n (wraps silently past the end of the family's space: callers stay in a prefix). */
ip_addr ip_add(const ip_addr *a, uint64_t n);

/* The next free address of subnet for a new endpoint: inside range when range is given
 * (else the whole subnet), never the subnet's first address nor (IPv4) its last, none of
 * used[], searching upwards from the address after `after` (NULL: the start) and wrapping
 * once, as Docker's serial allocation does. Returns false when the range is full. */
bool ipam_next_free(const ip_prefix *subnet, const ip_prefix *range, const ip_addr *used, size_t nused,
                    const ip_addr *after, ip_addr *out);

/* One of the daemon's default-address-pools: base prefix, carved into prefixes of size
 * bits. */
typedef struct ipam_pool {
  ip_prefix base;
  int size;
} ipam_pool;

/* The first subnet, pool by pool in order and inside a pool in address order, that
 * overlaps none of taken[]. Returns false when every pool is used up. */
bool ipam_pick_subnet(const ipam_pool *pools, size_t npools, const ip_prefix *taken, size_t ntaken,
                      ip_prefix *out);

/* The host's IPv4 and IPv6 routes (main table, /proc/net/route and ipv6_route) and the
 * nameservers of /etc/resolv.conf, as prefixes: Docker keeps new subnets clear of them.
 * Routes through skip_if (may be NULL) are left out. Appends to *out (realloc'd). */
void ipam_host_reserved(ip_prefix **out, size_t *n, const char *skip_if);

#endif
