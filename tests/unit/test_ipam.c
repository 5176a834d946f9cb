/* Addresses, prefixes and Docker's default IPAM rules: Go's netip parsing, containment and
 * overlap, serial allocation skipping what is taken, subnets carved from address pools. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/ipam.h"

static ip_addr A(const char *s) {
  ip_addr a;
  if (!ip_parse(s, &a)) fail_msg("ip_parse(%s) failed", s);
  return a;
}

static ip_prefix P(const char *s) {
  ip_prefix p;
  if (!ip_prefix_parse(s, &p)) fail_msg("ip_prefix_parse(%s) failed", s);
  return p;
}

static void assert_addr(const ip_addr *a, const char *want) {
  char s[IP_STR_MAX];
  ip_format(a, s);
  assert_string_equal(s, want);
}

static void test_parse(void **state) {
  (void)state;
  ip_addr a;
  ip_prefix p;
  assert_true(ip_parse("172.17.0.1", &a));
  assert_int_equal(a.family, 4);
  assert_true(ip_parse("fd00::1", &a));
  assert_int_equal(a.family, 6);
  /* Go's netip: no leading zeros, no short forms, no zones */
  assert_false(ip_parse("010.1.1.1", &a));
  assert_false(ip_parse("10.1.1", &a));
  assert_false(ip_parse("10.1.1.256", &a));
  assert_false(ip_parse("fe80::1%eth0", &a));
  assert_false(ip_parse("", &a));
  assert_true(ip_prefix_parse("10.0.0.0/8", &p));
  assert_int_equal(p.bits, 8);
  assert_false(ip_prefix_parse("10.0.0.0/33", &p));
  assert_false(ip_prefix_parse("10.0.0.0/08", &p));
  assert_false(ip_prefix_parse("10.0.0.0", &p));
  assert_true(ip_prefix_parse("fd00::/64", &p));
  assert_false(ip_prefix_parse("fd00::/129", &p));
}

static void test_prefix_ops(void **state) {
  (void)state;
  ip_prefix p = P("10.1.2.3/16");
  assert_false(ip_prefix_is_masked(&p));
  ip_prefix m = ip_prefix_masked(&p);
  char s[IP_PREFIX_STR_MAX];
  ip_prefix_format(&m, s);
  assert_string_equal(s, "10.1.0.0/16");
  ip_addr in = A("10.1.255.254"), out = A("10.2.0.1"), v6 = A("fd00::1");
  assert_true(ip_prefix_contains(&p, &in));
  assert_false(ip_prefix_contains(&p, &out));
  assert_false(ip_prefix_contains(&p, &v6));
  ip_prefix a = P("172.18.0.0/16"), b = P("172.18.5.0/24"), c = P("172.19.0.0/16");
  assert_true(ip_prefix_overlaps(&a, &b));
  assert_true(ip_prefix_overlaps(&b, &a));
  assert_false(ip_prefix_overlaps(&a, &c));
  ip_addr first = ip_prefix_first(&a), last = ip_prefix_last(&a);
  assert_addr(&first, "172.18.0.0");
  assert_addr(&last, "172.18.255.255");
  ip_addr x = A("10.0.0.255");
  ip_addr y = ip_add(&x, 1);
  assert_addr(&y, "10.0.1.0");
  ip_addr z = A("fd00::ffff");
  ip_addr w = ip_add(&z, 2);
  assert_addr(&w, "fd00::1:1");
}

static void test_next_free(void **state) {
  (void)state;
  ip_prefix net = P("10.5.0.0/29"); /* .1 .. .6 usable */
  ip_addr used[] = {A("10.5.0.1"), A("10.5.0.2")};
  ip_addr got;
  assert_true(ipam_next_free(&net, NULL, used, 2, NULL, &got));
  assert_addr(&got, "10.5.0.3");
  /* serial: after .3 comes .4 even when .3 is released */
  ip_addr after = A("10.5.0.3");
  assert_true(ipam_next_free(&net, NULL, used, 2, &after, &got));
  assert_addr(&got, "10.5.0.4");
  /* wraps around past the end, never the broadcast */
  after = A("10.5.0.6");
  assert_true(ipam_next_free(&net, NULL, used, 2, &after, &got));
  assert_addr(&got, "10.5.0.3");
  ip_addr full[] = {A("10.5.0.1"), A("10.5.0.2"), A("10.5.0.3"), A("10.5.0.4"), A("10.5.0.5"), A("10.5.0.6")};
  assert_false(ipam_next_free(&net, NULL, full, 6, NULL, &got));
  /* ip-range: only inside it */
  ip_prefix big = P("10.6.0.0/24"), range = P("10.6.0.128/25");
  assert_true(ipam_next_free(&big, &range, NULL, 0, NULL, &got));
  assert_addr(&got, "10.6.0.128");
  ip_prefix six = P("fd00:1::/64");
  ip_addr gw = A("fd00:1::1");
  assert_true(ipam_next_free(&six, NULL, &gw, 1, NULL, &got));
  assert_addr(&got, "fd00:1::2");
}

static void test_pick_subnet(void **state) {
  (void)state;
  ipam_pool pools[] = {{P("172.17.0.0/16"), 16}, {P("172.18.0.0/16"), 16}, {P("192.168.0.0/16"), 20}};
  ip_prefix taken[] = {P("172.17.0.0/16"), P("172.18.3.0/24"), P("192.168.0.0/20")};
  ip_prefix got;
  char s[IP_PREFIX_STR_MAX];
  assert_true(ipam_pick_subnet(pools, 3, taken, 1, &got));
  ip_prefix_format(&got, s);
  assert_string_equal(s, "172.18.0.0/16");
  assert_true(ipam_pick_subnet(pools, 3, taken, 3, &got));
  ip_prefix_format(&got, s);
  assert_string_equal(s, "192.168.16.0/20");
  ip_prefix all[] = {P("0.0.0.0/1"), P("128.0.0.0/1")};
  assert_false(ipam_pick_subnet(pools, 3, all, 2, &got));
  ipam_pool ula[] = {{P("fd12:3456:789a::/48"), 64}};
  assert_true(ipam_pick_subnet(ula, 1, NULL, 0, &got));
  ip_prefix_format(&got, s);
  assert_string_equal(s, "fd12:3456:789a::/64");
  ip_prefix first = got;
  assert_true(ipam_pick_subnet(ula, 1, &first, 1, &got));
  ip_prefix_format(&got, s);
  assert_string_equal(s, "fd12:3456:789a:1::/64");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_prefix_ops),
      cmocka_unit_test(test_next_free),
      cmocka_unit_test(test_pick_subnet),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
