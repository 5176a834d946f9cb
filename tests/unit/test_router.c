#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/router.h"

static void test_split_version(void **state) {
  (void)state;
  char v[16];
  const char *rest;
  assert_true(api_split_version("/v1.50/containers/json", v, sizeof v, &rest));
  assert_string_equal(v, "1.50");
  assert_string_equal(rest, "/containers/json");
  assert_true(api_split_version("/v1.24", v, sizeof v, &rest));
  assert_string_equal(rest, "");
  assert_false(api_split_version("/version", v, sizeof v, &rest));
  assert_string_equal(rest, "/version");
  assert_false(api_split_version("/vx/info", v, sizeof v, &rest));
  assert_false(api_split_version("/v1.5x/info", v, sizeof v, &rest));
  assert_false(api_split_version("/volumes", v, sizeof v, &rest));
}

static void test_version_compare(void **state) {
  (void)state;
  assert_true(api_version_compare("1.51", "1.51") == 0);
  assert_true(api_version_compare("1.9", "1.24") < 0);
  assert_true(api_version_compare("1.100", "1.51") > 0);
  assert_true(api_version_compare("2", "1.51") > 0);
  assert_true(api_version_compare("1.24.0", "1.24") == 0);
  assert_true(api_version_compare("1.24.1", "1.24") > 0);
  assert_true(api_version_compare("1", "1.24") < 0);
}

static const char *param(api_params *p, const char *name) {
  for (size_t i = 0; i < p->n; i++)
    if (p->names[i] && !strcmp(p->names[i], name)) return p->values[i];
  return NULL;
}

static void test_match(void **state) {
  (void)state;
  api_params p = {0};
  const api_route *r = api_route_match("GET", "/_ping", &p);
  assert_non_null(r);
  assert_string_equal(r->pattern, "/_ping");
  api_params_free(&p);
  assert_null(api_route_match("DELETE", "/_ping", &p));
  assert_null(api_route_match("GET", "/_ping/x", &p));
  assert_null(api_route_match("GET", "/", &p));
  assert_null(api_route_match("GET", "", &p));
  r = api_route_match("GET", "/nodes/abc", &p);
  assert_non_null(r);
  assert_string_equal(param(&p, "id"), "abc");
  api_params_free(&p);
  assert_null(api_route_match("GET", "/nodes/", &p));
  assert_null(api_route_match("GET", "/nodes//", &p));
  /* greedy parameters span slashes: plugin and image names */
  r = api_route_match("GET", "/plugins/127.0.0.1:5000/org/plug:1.0/json", &p);
  assert_non_null(r);
  assert_string_equal(r->pattern, "/plugins/{name*}/json");
  assert_string_equal(param(&p, "name"), "127.0.0.1:5000/org/plug:1.0");
  api_params_free(&p);
  r = api_route_match("DELETE", "/plugins/a/b/c", &p);
  assert_non_null(r);
  assert_string_equal(param(&p, "name"), "a/b/c");
  api_params_free(&p);
  /* a greedy name may itself end in a segment that looks like a suffix */
  r = api_route_match("GET", "/plugins/x/json/json", &p);
  assert_non_null(r);
  assert_string_equal(param(&p, "name"), "x/json");
  api_params_free(&p);
  assert_null(api_route_match("GET", "/plugins/json", &p));
}

static void test_table_sane(void **state) {
  (void)state;
  size_t n;
  const api_route *r = api_routes(&n);
  assert_true(n > 10);
  for (size_t i = 0; i < n; i++) {
    assert_non_null(r[i].handler);
    assert_true(r[i].pattern[0] == '/');
    for (size_t j = i + 1; j < n; j++)
      assert_false(!strcmp(r[i].method, r[j].method) && !strcmp(r[i].pattern, r[j].pattern));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_version),
      cmocka_unit_test(test_version_compare),
      cmocka_unit_test(test_match),
      cmocka_unit_test(test_table_sane),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
