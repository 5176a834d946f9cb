#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static void test_rfc3339(void **state) {
  (void)state;
  char out[64];
  format_rfc3339nano(1700000000123456789LL, out, sizeof out);
  assert_string_equal(out, "2023-11-14T22:13:20.123456789Z");
  format_rfc3339nano(1700000000100000000LL, out, sizeof out);
  assert_string_equal(out, "2023-11-14T22:13:20.1Z");
  format_rfc3339nano(1700000000000000000LL, out, sizeof out);
  assert_string_equal(out, "2023-11-14T22:13:20Z");
  format_rfc3339nano(0, out, sizeof out);
  assert_string_equal(out, "0001-01-01T00:00:00Z");
  int64_t ns;
  assert_int_equal(parse_rfc3339("2023-11-14T22:13:20.123456789Z", &ns), 0);
  assert_true(ns == 1700000000123456789LL);
  assert_int_equal(parse_rfc3339("2023-11-14T23:13:20+01:00", &ns), 0);
  assert_true(ns == 1700000000000000000LL);
  assert_int_equal(parse_rfc3339("2023-11-14", &ns), 0);
  assert_int_equal(parse_rfc3339("2023-13-14T00:00:00Z", &ns), -1);
  assert_int_equal(parse_rfc3339("yesterday", &ns), -1);
}

static void test_durations_and_docker_time(void **state) {
  (void)state;
  int64_t ns;
  assert_int_equal(parse_go_duration("1h30m", &ns), 0);
  assert_true(ns == 5400LL * 1000000000LL);
  assert_int_equal(parse_go_duration("150ms", &ns), 0);
  assert_true(ns == 150000000LL);
  assert_int_equal(parse_go_duration("1.5s", &ns), 0);
  assert_true(ns == 1500000000LL);
  assert_int_equal(parse_go_duration("0", &ns), 0);
  assert_int_equal(parse_go_duration("5", &ns), -1);
  assert_int_equal(parse_go_duration("5x", &ns), -1);
  arca_err err;
  int64_t now = 1700000000LL * 1000000000LL;
  assert_int_equal(parse_docker_time("1700000000.5", now, &ns, &err), 0);
  assert_true(ns == 1700000000500000000LL);
  assert_int_equal(parse_docker_time("1699999999", now, &ns, &err), 0);
  assert_true(ns == 1699999999000000000LL);
  assert_int_equal(parse_docker_time("10m", now, &ns, &err), 0);
  assert_true(ns == now - 600LL * 1000000000LL);
  assert_int_equal(parse_docker_time("2023-11-14T22:13:20Z", now, &ns, &err), 0);
  assert_true(ns == now);
  assert_int_equal(parse_docker_time("abc", now, &ns, &err), -1);
  assert_int_equal(err.status, 400);
  assert_string_equal(err.msg, "failed to parse value as time or duration: \"abc\"");
}

static void test_human(void **state) {
  (void)state;
  char out[64];
  human_size(0, out, sizeof out);
  assert_string_equal(out, "0B");
  human_size(4261000, out, sizeof out);
  assert_string_equal(out, "4.26MB");
  human_size(1000, out, sizeof out);
  assert_string_equal(out, "1kB");
  human_duration(500000000LL, out, sizeof out);
  assert_string_equal(out, "Less than a second");
  human_duration(90LL * 1000000000LL, out, sizeof out);
  assert_string_equal(out, "About a minute");
  human_duration(3LL * 3600 * 1000000000LL, out, sizeof out);
  assert_string_equal(out, "3 hours");
}

static void test_strbuf_and_files(void **state) {
  (void)state;
  strbuf sb;
  sb_init(&sb);
  sb_printf(&sb, "%d-%s", 42, "x");
  sb_puts(&sb, "!");
  char *s = sb_steal(&sb);
  assert_string_equal(s, "42-x!");
  free(s);
  char dir[] = "/tmp/arca-unit-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *p = xasprintf("%s/a/b/c", dir);
  assert_int_equal(mkdir_p(p, 0755, NULL), 0);
  char *f = xasprintf("%s/file", p);
  assert_int_equal(write_file_atomic(f, "hello", 5, 0644, NULL), 0);
  char *data = NULL;
  size_t n = 0;
  assert_int_equal(read_file(f, 100, &data, &n, NULL), 0);
  assert_int_equal(n, 5);
  assert_string_equal(data, "hello");
  free(data);
  arca_err err;
  assert_int_equal(read_file(f, 2, &data, &n, &err), -1);
  assert_int_equal(rm_rf(dir, NULL), 0);
  assert_int_equal(read_file(f, 100, &data, &n, &err), -1);
  assert_int_equal(err.status, 404);
  free(f);
  free(p);
  char hex[65];
  random_hex(hex, 32);
  assert_int_equal(strlen(hex), 64);
  assert_true(str_is_hex(hex, 64));
}

static void test_err(void **state) {
  (void)state;
  arca_err e;
  assert_int_equal(err_set(&e, 404, "No such container: %s", "x"), -1);
  assert_int_equal(e.status, 404);
  err_wrap(&e, "start");
  assert_string_equal(e.msg, "start: No such container: x");
  assert_int_equal(e.status, 404);
  err_errno(&e, 500, 2, "open %s", "/x");
  assert_string_equal(e.msg, "open /x: No such file or directory");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc3339),
      cmocka_unit_test(test_durations_and_docker_time),
      cmocka_unit_test(test_human),
      cmocka_unit_test(test_strbuf_and_files),
      cmocka_unit_test(test_err),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
