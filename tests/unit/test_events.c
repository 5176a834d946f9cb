#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <string.h>

#include "common/filters.h"
#include "engine/events.h"
#include "engine/events_filter.h"

static void test_ring_and_subscribers(void **state) {
  (void)state;
  event_bus *bus = events_new();
  events_publish(bus, "container", "create", "abc", json_pack("{s:s,s:s}", "name", "web", "image", "busybox"));
  event_sub *sub = events_subscribe(bus);
  assert_int_equal(events_sub_live_seq(sub), 2);
  arca_event e = {0};
  assert_int_equal(events_next(bus, sub, &e), 1);
  assert_string_equal(e.action, "create");
  assert_int_equal(e.seq, 1);
  json_t *j = event_to_json(&e);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "create");
  assert_string_equal(json_string_value(json_object_get(j, "from")), "busybox");
  assert_string_equal(json_string_value(json_object_get(j, "Type")), "container");
  assert_string_equal(json_string_value(json_object_get(json_object_get(j, "Actor"), "ID")), "abc");
  assert_true(json_integer_value(json_object_get(j, "timeNano")) > 0);
  json_decref(j);
  event_clear(&e);
  assert_int_equal(events_next(bus, sub, &e), 0);
  struct pollfd p = {.fd = events_sub_fd(sub), .events = POLLIN};
  assert_int_equal(poll(&p, 1, 0), 0);
  events_publish(bus, "daemon", "reload", "id", NULL);
  assert_int_equal(poll(&p, 1, 0), 1);
  assert_int_equal(events_next(bus, sub, &e), 1);
  assert_string_equal(e.type, "daemon");
  /* daemon events carry no legacy status field */
  j = event_to_json(&e);
  assert_null(json_object_get(j, "status"));
  json_decref(j);
  event_clear(&e);
  assert_int_equal(events_subscriber_count(bus), 1);
  events_unsubscribe(bus, sub);
  assert_int_equal(events_subscriber_count(bus), 0);
  events_free(bus);
}

static void test_ring_overflow(void **state) {
  (void)state;
  event_bus *bus = events_new();
  for (int i = 0; i < EVENTS_RING_SIZE + 10; i++) events_publish(bus, "container", "start", "x", NULL);
  event_sub *sub = events_subscribe(bus);
  arca_event e = {0};
  int n = 0;
  uint64_t first = 0;
  while (events_next(bus, sub, &e) == 1) {
    if (!n) first = e.seq;
    n++;
    event_clear(&e);
  }
  assert_int_equal(n, EVENTS_RING_SIZE);
  assert_int_equal(first, 11);
  events_unsubscribe(bus, sub);
  events_free(bus);
}

static bool include(const char *filter_json, const char *type, const char *action, const char *id, json_t *attrs) {
  filters *f = NULL;
  assert_int_equal(filters_parse(filter_json, &f, NULL), 0);
  arca_event e = {.type = (char *)type, .action = (char *)action, .actor_id = (char *)id,
                  .attributes = attrs, .scope = (char *)"local"};
  bool r = events_filter_include(f, &e);
  filters_free(f);
  json_decref(attrs);
  return r;
}

static void test_filters(void **state) {
  (void)state;
  assert_true(include("", "container", "start", "abcdef", json_object()));
  assert_true(include("{\"type\":{\"container\":true}}", "container", "start", "abcdef", json_object()));
  assert_false(include("{\"type\":{\"image\":true}}", "container", "start", "abcdef", json_object()));
  assert_true(include("{\"event\":{\"start\":true}}", "container", "start", "abcdef", json_object()));
  assert_false(include("{\"event\":{\"sta\":true}}", "container", "start", "abcdef", json_object()));
  /* exec_start matches by prefix */
  assert_true(include("{\"event\":{\"exec_start\":true}}", "container", "exec_start: sh -c true", "abc", json_object()));
  /* container by id prefix and by name */
  assert_true(include("{\"container\":{\"abc\":true}}", "container", "start", "abcdef", json_object()));
  assert_true(include("{\"container\":{\"web\":true}}", "container", "start", "abcdef", json_pack("{s:s}", "name", "web")));
  assert_false(include("{\"container\":{\"db\":true}}", "container", "start", "abcdef", json_pack("{s:s}", "name", "web")));
  /* image: container events match their image attribute, with or without tag */
  assert_true(include("{\"image\":{\"busybox\":true}}", "container", "start", "abc", json_pack("{s:s}", "image", "busybox:latest")));
  assert_true(include("{\"image\":{\"busybox:latest\":true}}", "container", "start", "abc", json_pack("{s:s}", "image", "busybox:latest")));
  assert_false(include("{\"image\":{\"alpine\":true}}", "container", "start", "abc", json_pack("{s:s}", "image", "busybox")));
  /* labels */
  assert_true(include("{\"label\":{\"a=b\":true}}", "container", "start", "abc", json_pack("{s:s}", "a", "b")));
  assert_false(include("{\"label\":{\"a=c\":true}}", "container", "start", "abc", json_pack("{s:s}", "a", "b")));
  assert_true(include("{\"label\":{\"a\":true}}", "container", "start", "abc", json_pack("{s:s}", "a", "b")));
  /* a network filter excludes other resource events (fuzzy on actor id) */
  assert_false(include("{\"network\":{\"net1\":true}}", "container", "start", "abc", json_object()));
  assert_true(include("{\"network\":{\"net1\":true}}", "network", "connect", "net1xyz", json_object()));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ring_and_subscribers),
      cmocka_unit_test(test_ring_overflow),
      cmocka_unit_test(test_filters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
