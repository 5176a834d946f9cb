/* Docker's `filters` parameter: both JSON shapes, errors with Docker's texts, and the
 * matching rules list and prune endpoints build on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/filters.h"

static filters *parse_ok(const char *text) {
  filters *f = NULL;
  arca_err err = {0};
  int rc = filters_parse(text, &f, &err);
  if (rc != 0) fail_msg("filters_parse(%s) failed: %s", text, err.msg);
  assert_non_null(f);
  return f;
}

static void test_empty_forms(void **state) {
  (void)state;
  const char *empties[] = {NULL, "", "null", "{}", " { } "};
  for (size_t i = 0; i < sizeof empties / sizeof *empties; i++) {
    filters *f = parse_ok(empties[i]);
    assert_int_equal(filters_len(f), 0);
    assert_false(filters_contains(f, "label"));
    assert_true(filters_exact_match(f, "label", "anything"));
    filters_free(f);
  }
}

static void test_set_form(void **state) {
  (void)state;
  filters *f = parse_ok("{\"label\":{\"a=b\":true,\"c\":true},\"dangling\":{\"true\":true}}");
  assert_int_equal(filters_len(f), 2);
  assert_true(filters_has(f, "label"));
  assert_int_equal(filters_count(f, "label"), 2);
  assert_string_equal(filters_value(f, "label", 0), "a=b");
  assert_string_equal(filters_value(f, "label", 1), "c");
  assert_null(filters_value(f, "label", 2));
  assert_int_equal(filters_count(f, "dangling"), 1);
  assert_int_equal(filters_count(f, "name"), 0);
  assert_null(filters_value(f, "name", 0));
  assert_false(filters_has(f, "name"));
  filters_free(f);
}

static void test_legacy_list_form(void **state) {
  (void)state;
  filters *f = parse_ok("{\"label\":[\"a=b\",\"c\",\"a=b\"],\"name\":[\"web\"]}");
  assert_int_equal(filters_len(f), 2);
  assert_int_equal(filters_count(f, "label"), 2); /* a set: the repeat is dropped */
  assert_string_equal(filters_value(f, "label", 0), "a=b");
  assert_string_equal(filters_value(f, "label", 1), "c");
  assert_string_equal(filters_value(f, "name", 0), "web");
  assert_true(filters_exact_match(f, "name", "web"));
  filters_free(f);

  /* A key that is null in the legacy form is present with no values. */
  f = parse_ok("{\"a\":null,\"b\":[\"x\"]}");
  assert_true(filters_contains(f, "a"));
  assert_false(filters_has(f, "a"));
  assert_true(filters_has(f, "b"));
  filters_free(f);
}

static void test_present_without_values(void **state) {
  (void)state;
  filters *f = parse_ok("{\"label\":{},\"name\":null}");
  assert_int_equal(filters_len(f), 2);
  assert_true(filters_contains(f, "label"));
  assert_false(filters_has(f, "label"));
  assert_true(filters_contains(f, "name"));
  assert_true(filters_exact_match(f, "label", "x"));
  assert_true(filters_match_labels(f, "label", NULL));
  filters_free(f);
}

static void test_bad_json(void **state) {
  (void)state;
  const char *bad[] = {
      "{",                                   /* not JSON */
      "label=a",                             /* not JSON */
      "[]",                                  /* not an object */
      "5",                                   /* not an object */
      "\"label\"",                           /* not an object */
      "{\"label\":\"a=b\"}",                 /* a string, neither shape */
      "{\"label\":{\"a\":1}}",               /* set of numbers */
      "{\"label\":{\"a\":\"yes\"}}",         /* set of strings */
      "{\"label\":[1]}",                     /* list of numbers */
      "{\"label\":[[\"a\"]]}",               /* list of lists */
      "{\"a\":{\"x\":true},\"b\":[\"y\"]}",  /* the two shapes mixed */
      "{\"a\":[\"x\"]} trailing",            /* garbage after the object */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    filters *f = (filters *)0x1;
    arca_err err = {0};
    assert_int_equal(filters_parse(bad[i], &f, &err), -1);
    assert_null(f);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, "invalid filter");
  }
}

static void test_validate(void **state) {
  (void)state;
  static const char *const accepted[] = {"label", "name", "dangling", NULL};
  filters *f = parse_ok("{\"label\":{\"a\":true},\"name\":{\"x\":true}}");
  arca_err err = {0};
  assert_int_equal(filters_validate(f, accepted, &err), 0);
  filters_free(f);

  f = parse_ok("{\"label\":{\"a\":true},\"foo\":{\"x\":true}}");
  assert_int_equal(filters_validate(f, accepted, &err), -1);
  assert_int_equal(err.status, 400);
  assert_string_equal(err.msg, "invalid filter 'foo'");
  filters_free(f);

  /* A name with no values is still checked. */
  f = parse_ok("{\"bogus\":{}}");
  assert_int_equal(filters_validate(f, accepted, &err), -1);
  assert_string_equal(err.msg, "invalid filter 'bogus'");
  filters_free(f);

  f = parse_ok("");
  static const char *const none[] = {NULL};
  assert_int_equal(filters_validate(f, none, &err), 0);
  filters_free(f);
}

static void test_exact_and_fuzzy(void **state) {
  (void)state;
  filters *f = parse_ok("{\"id\":{\"abc\":true,\"def012\":true},\"status\":{\"running\":true}}");
  assert_true(filters_exact_match(f, "status", "running"));
  assert_false(filters_exact_match(f, "status", "exited"));
  assert_false(filters_exact_match(f, "status", "runnin"));
  assert_true(filters_exact_match(f, "absent", "whatever"));

  assert_true(filters_fuzzy_match(f, "id", "abc"));
  assert_true(filters_fuzzy_match(f, "id", "abcdef"));
  assert_true(filters_fuzzy_match(f, "id", "def0123456"));
  assert_false(filters_fuzzy_match(f, "id", "ab"));
  assert_false(filters_fuzzy_match(f, "id", "xabc"));
  assert_true(filters_fuzzy_match(f, "absent", "x"));
  filters_free(f);
}

static void test_false_flag(void **state) {
  (void)state;
  /* Docker keeps a value given as false: listed and used as a prefix, not for equality. */
  filters *f = parse_ok("{\"id\":{\"abc\":false}}");
  assert_int_equal(filters_count(f, "id"), 1);
  assert_string_equal(filters_value(f, "id", 0), "abc");
  assert_false(filters_exact_match(f, "id", "abc"));
  assert_true(filters_fuzzy_match(f, "id", "abc"));
  assert_true(filters_fuzzy_match(f, "id", "abcd"));
  filters_free(f);

  f = parse_ok("{\"id\":{\"abc\":null}}"); /* null reads as false, as in Go */
  assert_false(filters_exact_match(f, "id", "abc"));
  filters_free(f);
}

static void test_regex_match(void **state) {
  (void)state;
  filters *f = parse_ok("{\"name\":{\"^/?web\":true,\"db[0-9]+$\":true,\"(\":true}}");
  assert_true(filters_regex_match(f, "name", "web"));
  assert_true(filters_regex_match(f, "name", "/web-1"));
  assert_true(filters_regex_match(f, "name", "/app_db12"));
  assert_false(filters_regex_match(f, "name", "/db12x"));
  assert_false(filters_regex_match(f, "name", "/myweb"));
  assert_true(filters_regex_match(f, "name", "(")); /* exact match beats a bad regex */
  assert_true(filters_regex_match(f, "absent", "x"));
  filters_free(f);
}

static void test_match_labels(void **state) {
  (void)state;
  autojson json_t *labels = json_pack("{s:s, s:s, s:s}", "a", "b", "c", "d", "k", "v=w");
  autojson json_t *empty = json_object();
  static const struct {
    const char *filter;
    bool expected;
  } cases[] = {
      {"{\"label\":{\"a=b\":true}}", true},
      {"{\"label\":{\"a\":true}}", true},
      {"{\"label\":{\"a=x\":true}}", false},
      {"{\"label\":{\"a=\":true}}", false},
      {"{\"label\":{\"e\":true}}", false},
      {"{\"label\":{\"a=b\":true,\"c\":true}}", true},   /* every value must hold */
      {"{\"label\":{\"a=b\":true,\"e\":true}}", false},
      {"{\"label\":{\"k=v=w\":true}}", true},            /* split at the first '=' */
      {"{\"label\":{\"k=v\":true}}", false},
      {"{\"label\":[\"c=d\"]}", true},
      {"{\"other\":{\"x\":true}}", true},                /* no label filter */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    filters *f = parse_ok(cases[i].filter);
    if (filters_match_labels(f, "label", labels) != cases[i].expected)
      fail_msg("match_labels(%s) != %d", cases[i].filter, cases[i].expected);
    filters_free(f);
  }

  filters *f = parse_ok("{\"label\":{\"a\":true}}");
  assert_false(filters_match_labels(f, "label", NULL));
  assert_false(filters_match_labels(f, "label", empty));
  filters_free(f);
  f = parse_ok("");
  assert_true(filters_match_labels(f, "label", NULL));
  filters_free(f);
}

static void test_label_rules_with_negation(void **state) {
  (void)state;
  autojson json_t *with_a = json_pack("{s:s, s:s}", "a", "1", "b", "2");
  autojson json_t *without_a = json_pack("{s:s}", "b", "2");
  static const struct {
    const char *filter;
    bool with_a, without_a, no_labels;
  } cases[] = {
      {"{\"label!\":{\"a\":true}}", false, true, true},
      {"{\"label!\":{\"a=1\":true}}", false, true, true},
      {"{\"label!\":{\"a=2\":true}}", true, true, true},
      /* label! drops an object only when all its values match */
      {"{\"label!\":{\"a\":true,\"b\":true}}", false, true, true},
      {"{\"label!\":{\"a\":true,\"c\":true}}", true, true, true},
      {"{\"label\":{\"b\":true},\"label!\":{\"a\":true}}", false, true, false},
      {"{\"label\":{\"a\":true}}", true, false, false},
      {"{}", true, true, true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    filters *f = parse_ok(cases[i].filter);
    if (filters_match_label_rules(f, with_a) != cases[i].with_a ||
        filters_match_label_rules(f, without_a) != cases[i].without_a ||
        filters_match_label_rules(f, NULL) != cases[i].no_labels)
      fail_msg("label rules for %s", cases[i].filter);
    filters_free(f);
  }
}

static void test_get_bool(void **state) {
  (void)state;
  static const struct {
    const char *filter;
    int default_value, expected;
  } ok_cases[] = {
      {"", 1, 1},
      {"{\"other\":[\"x\"]}", 0, 0},
      {"{\"dangling\":{\"true\":true}}", 0, 1},
      {"{\"dangling\":{\"1\":true}}", 0, 1},
      {"{\"dangling\":[\"false\"]}", 1, 0},
      {"{\"dangling\":[\"0\"]}", 1, 0},
      {"{\"dangling\":[\"1\",\"true\"]}", 0, 1},
  };
  for (size_t i = 0; i < sizeof ok_cases / sizeof *ok_cases; i++) {
    filters *f = parse_ok(ok_cases[i].filter);
    int out = -7;
    arca_err err = {0};
    assert_int_equal(filters_get_bool(f, "dangling", ok_cases[i].default_value, &out, &err), 0);
    if (out != ok_cases[i].expected) fail_msg("%s gave %d", ok_cases[i].filter, out);
    filters_free(f);
  }

  static const struct {
    const char *filter, *message;
  } bad_cases[] = {
      {"{\"dangling\":{\"maybe\":true}}", "invalid filter 'dangling=[maybe]'"},
      {"{\"dangling\":[\"true\",\"false\"]}", "invalid filter 'dangling=[true false]'"},
      {"{\"dangling\":[\"1\",\"0\",\"x\"]}", "invalid filter 'dangling=[1 0 x]'"},
      {"{\"dangling\":[\"TRUE\"]}", "invalid filter 'dangling=[TRUE]'"},
      {"{\"dangling\":{\"true\":false}}", "invalid filter 'dangling=[true]'"},
      {"{\"dangling\":{}}", "invalid filter 'dangling'"},
      {"{\"dangling\":null}", "invalid filter 'dangling'"},
  };
  for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
    filters *f = parse_ok(bad_cases[i].filter);
    int out = -7;
    arca_err err = {0};
    assert_int_equal(filters_get_bool(f, "dangling", 1, &out, &err), -1);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, bad_cases[i].message);
    assert_int_equal(out, 1); /* the default is left in place */
    filters_free(f);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty_forms),
      cmocka_unit_test(test_set_form),
      cmocka_unit_test(test_legacy_list_form),
      cmocka_unit_test(test_present_without_values),
      cmocka_unit_test(test_bad_json),
      cmocka_unit_test(test_validate),
      cmocka_unit_test(test_exact_and_fuzzy),
      cmocka_unit_test(test_false_flag),
      cmocka_unit_test(test_regex_match),
      cmocka_unit_test(test_match_labels),
      cmocka_unit_test(test_label_rules_with_negation),
      cmocka_unit_test(test_get_bool),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
