#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "engine/logs.h"
#include "engine/logs_internal.h"

/* ---- helpers ---- */

static char tmpdir[256];

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "%s/arca-logs-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  assert_non_null(mkdtemp(tmpdir));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  arca_err err;
  rm_rf(tmpdir, &err);
  return 0;
}

static char *log_path(const char *name) { return xasprintf("%s/%s", tmpdir, name); }

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void append_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write_all(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

/* Collects the output; thread-safe so that follow tests can watch it grow. */
typedef struct sink {
  pthread_mutex_t lock;
  strbuf data;
  int calls;
  int fail_after; /* write returns -1 after this many calls (0: never) */
} sink;

static void sink_init(sink *s) {
  pthread_mutex_init(&s->lock, NULL);
  sb_init(&s->data);
  s->calls = 0;
  s->fail_after = 0;
}

static void sink_free(sink *s) {
  sb_free(&s->data);
  pthread_mutex_destroy(&s->lock);
}

static int sink_write(void *ctx, const void *buf, size_t n) {
  sink *s = ctx;
  pthread_mutex_lock(&s->lock);
  s->calls++;
  int rc = 0;
  if (s->fail_after && s->calls > s->fail_after)
    rc = -1;
  else
    sb_append(&s->data, buf, n);
  pthread_mutex_unlock(&s->lock);
  return rc;
}

static bool sink_contains(sink *s, const char *needle) {
  pthread_mutex_lock(&s->lock);
  bool found = s->data.len && memmem(s->data.buf, s->data.len, needle, strlen(needle));
  pthread_mutex_unlock(&s->lock);
  return found;
}

static void frame(strbuf *sb, int stream, const char *text) {
  size_t n = strlen(text);
  unsigned char h[8] = {(unsigned char)stream,
                        0,
                        0,
                        0,
                        (unsigned char)(n >> 24),
                        (unsigned char)(n >> 16),
                        (unsigned char)(n >> 8),
                        (unsigned char)n};
  sb_append(sb, h, 8);
  sb_append(sb, text, n);
}

static void assert_bytes(const strbuf *got, const strbuf *want) {
  if (got->len != want->len || (want->len && memcmp(got->buf, want->buf, want->len))) {
    fprintf(stderr, "got %zu bytes, want %zu\n", got->len, want->len);
    for (size_t i = 0; i < got->len; i++)
      fputc(got->buf[i] >= 32 && got->buf[i] < 127 ? got->buf[i] : '.', stderr);
    fputc('\n', stderr);
    for (size_t i = 0; i < want->len; i++)
      fputc(want->buf[i] >= 32 && want->buf[i] < 127 ? want->buf[i] : '.', stderr);
    fputc('\n', stderr);
    fail_msg("output differs");
  }
}

static logs_opts both(void) { return (logs_opts){.stdout_ = true, .stderr_ = true, .tail = -1}; }

/* Runs a non-follow read and returns its output. */
static void read_to(const char *path, const logs_opts *o, strbuf *out) {
  sink s;
  sink_init(&s);
  arca_err err = {0};
  assert_int_equal(logs_read(path, o, sink_write, &s, -1, NULL, NULL, &err), LOGS_END);
  sb_init(out);
  sb_append(out, s.data.buf, s.data.len);
  sink_free(&s);
}

static void expect(const char *path, const logs_opts *o, const strbuf *want) {
  strbuf got;
  read_to(path, o, &got);
  assert_bytes(&got, want);
  sb_free(&got);
}

static int64_t ns_of(const char *rfc3339) {
  int64_t ns;
  assert_int_equal(parse_rfc3339(rfc3339, &ns), 0);
  return ns;
}

/* ---- records and times ---- */

static void test_time_parse_and_format(void **state) {
  (void)state;
  const char *cases[] = {"2024-05-01T12:00:00.123456789Z", "2024-05-01T14:00:00.123456789+02:00",
                         "2024-05-01T07:30:00.5-04:30",    "2024-02-29T23:59:59Z",
                         "1999-12-31T23:59:59.000000001Z", "2100-03-01T00:00:00.010Z"};
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    int64_t fast;
    assert_true(log_time_parse(cases[i], strlen(cases[i]), &fast));
    assert_int_equal(fast, ns_of(cases[i]));
  }
  const char *bad[] = {"2024-05-01T12:00:00",   "2024-05-01 12:00:00Z",     "2024-13-01T12:00:00Z",
                       "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+0200", "2024-05-01T12:00:00Zx",
                       "x024-05-01T12:00:00Z",  "2024-05-01T24:00:00Z"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    int64_t ns;
    assert_false(log_time_parse(bad[i], strlen(bad[i]), &ns));
  }
  log_time_cache cache = {0};
  char out[LOG_TIME_LEN + 1] = {0};
  log_time_format(&cache, ns_of("2024-05-01T14:00:00.1234+02:00"), out);
  assert_string_equal(out, "2024-05-01T12:00:00.123400000Z");
  log_time_format(&cache, ns_of("2024-05-01T12:00:00.000000007Z"), out); /* cached second */
  assert_string_equal(out, "2024-05-01T12:00:00.000000007Z");
  log_time_format(&cache, ns_of("2024-12-31T23:59:59Z"), out);
  assert_string_equal(out, "2024-12-31T23:59:59.000000000Z");
  log_time_format(&cache, ns_of("1969-12-31T23:59:59.5Z"), out);
  assert_string_equal(out, "1969-12-31T23:59:59.500000000Z");
}

static void test_record_parse(void **state) {
  (void)state;
  log_record rec;
  const char *l1 = "2024-05-01T12:00:00.123456789+00:00 stderr P some text";
  assert_true(log_record_parse(l1, strlen(l1), &rec));
  assert_int_equal(rec.stream, LOG_STDERR);
  assert_true(rec.partial);
  assert_int_equal(rec.text_len, 9);
  assert_memory_equal(rec.text, "some text", 9);
  const char *l2 = "2024-05-01T12:00:00Z stdout F ";
  assert_true(log_record_parse(l2, strlen(l2), &rec));
  assert_int_equal(rec.text_len, 0);
  assert_false(rec.partial);
  const char *bad[] = {"",
                       "hello world",
                       "2024-05-01T12:00:00Z stdin F x",
                       "2024-05-01T12:00:00Z stdout X x",
                       "2024-05-01T12:00:00Z stdout Fx",
                       "2024-05-01T12:00:00Z stdout",
                       "notatime stdout F x"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++)
    assert_false(log_record_parse(bad[i], strlen(bad[i]), &rec));
  assert_int_equal(logs_parse_tail("10"), 10);
  assert_int_equal(logs_parse_tail("0"), 0);
  assert_int_equal(logs_parse_tail("+3"), 3);
  assert_int_equal(logs_parse_tail("all"), -1);
  assert_int_equal(logs_parse_tail(""), -1);
  assert_int_equal(logs_parse_tail("-5"), -1);
  assert_int_equal(logs_parse_tail("10x"), -1);
  assert_int_equal(logs_parse_tail("99999999999999999999999"), -1);
}

/* ---- whole reads ---- */

#define T(s) "2024-05-01T12:00:" s

static const char *SAMPLE =
    T("01.000000000Z") " stdout F one\n"
    T("02.000000000+00:00") " stderr F two\n"
    "garbage without a timestamp\n"
    T("03.100000000Z") " stdout P thr\n"
    T("03.200000000Z") " stderr P e-part\n"
    T("03.300000000Z") " stdout P e\n"
    T("04.000000000+02:00") " stdout F e!\n" /* 10:00:04Z: earlier, yet joined later */
    T("05.000000000Z") " stderr F rr\n"
    "\n"
    T("06.000000000Z") " stdout F \n"
    T("07.000000000Z") " stdin F nope\n"
    T("08.000000000Z") " stdout F last\n"
    T("09.000000000Z") " stdout F unterminated";

static void test_framing_streams_and_joining(void **state) {
  (void)state;
  autofree char *path = log_path("sample.log");
  write_text(path, SAMPLE);
  strbuf want;
  sb_init(&want);
  frame(&want, 1, "one\n");
  frame(&want, 2, "two\n");
  frame(&want, 1, "three!\n");
  frame(&want, 2, "e-partrr\n");
  frame(&want, 1, "\n");
  frame(&want, 1, "last\n");
  logs_opts o = both();
  expect(path, &o, &want);

  sb_free(&want);
  frame(&want, 1, "one\n");
  frame(&want, 1, "three!\n");
  frame(&want, 1, "\n");
  frame(&want, 1, "last\n");
  o.stderr_ = false;
  expect(path, &o, &want);

  sb_free(&want);
  frame(&want, 2, "two\n");
  frame(&want, 2, "e-partrr\n");
  o = both();
  o.stdout_ = false;
  expect(path, &o, &want);

  /* timestamps: UTC, nine digits; a joined message has its first piece's time */
  sb_free(&want);
  frame(&want, 1, T("01.000000000Z") " one\n");
  frame(&want, 2, T("02.000000000Z") " two\n");
  frame(&want, 1, T("03.100000000Z") " three!\n");
  frame(&want, 2, T("03.200000000Z") " e-partrr\n");
  frame(&want, 1, T("06.000000000Z") " \n");
  frame(&want, 1, T("08.000000000Z") " last\n");
  o = both();
  o.timestamps = true;
  expect(path, &o, &want);

  /* details: Docker prefixes (empty) attributes and a space */
  sb_free(&want);
  frame(&want, 1, T("01.000000000Z") "  one\n");
  o.details = true;
  o.tail = 6;
  o.until_ns = ns_of(T("01.5Z"));
  expect(path, &o, &want);

  /* tty: no frames */
  sb_free(&want);
  sb_puts(&want, "one\ntwo\nthree!\ne-partrr\n\nlast\n");
  o = both();
  o.tty = true;
  expect(path, &o, &want);
  sb_free(&want);
}

static void test_partial_at_end_and_long_lines(void **state) {
  (void)state;
  autofree char *path = log_path("partial.log");
  /* the process printed a prompt without a newline, on both streams */
  write_text(path, T("01Z") " stderr P err-no-nl\n" T("02Z") " stdout P out\n" T(
                       "03Z") " stdout P -no-nl\n");
  strbuf want;
  sb_init(&want);
  frame(&want, 2, "err-no-nl");
  frame(&want, 1, "out-no-nl");
  logs_opts o = both();
  expect(path, &o, &want);
  sb_free(&want);
  o.tail = 1; /* the last message is stdout's unfinished one */
  frame(&want, 1, "out-no-nl");
  expect(path, &o, &want);
  sb_free(&want);

  /* a 2 MiB line (longer than the read buffer) between short ones: one frame, as is */
  size_t big = 2 * 1024 * 1024 + 3;
  autofree char *text = xmalloc(big + 1);
  for (size_t i = 0; i < big; i++) text[i] = (char)('a' + i % 26);
  text[big] = 0;
  FILE *f = fopen(path, "w");
  fprintf(f, T("01Z") " stdout F a\n" T("02Z") " stdout F %s\n" T("03Z") " stderr F b\n", text);
  fclose(f);
  autofree char *line = xasprintf("%s\n", text);
  frame(&want, 1, "a\n");
  frame(&want, 1, line);
  frame(&want, 2, "b\n");
  o = both();
  expect(path, &o, &want);
  sb_free(&want);
  o.tail = 2; /* the backward scan carries the long line over many blocks */
  frame(&want, 1, line);
  frame(&want, 2, "b\n");
  expect(path, &o, &want);
  sb_free(&want);

  /* a line that never ends is sent in LOGS_MESSAGE_MAX pieces instead of growing forever */
  f = fopen(path, "w");
  for (int i = 0; i < LOGS_MESSAGE_MAX / 8192 + 2; i++)
    fprintf(f, T("01Z") " stdout P %.8192s\n", text);
  fprintf(f, T("02Z") " stdout F end\n");
  fclose(f);
  o = both();
  autofree char *piece = xstrndup(text, 8192);
  strbuf first, rest;
  sb_init(&first);
  sb_init(&rest);
  for (int i = 0; i < LOGS_MESSAGE_MAX / 8192; i++) sb_puts(&first, piece);
  sb_puts(&rest, piece);
  sb_puts(&rest, piece);
  sb_puts(&rest, "end\n");
  frame(&want, 1, first.buf);
  frame(&want, 1, rest.buf);
  expect(path, &o, &want);
  sb_free(&want);
  sb_free(&first);
  sb_free(&rest);
}

static void test_tail(void **state) {
  (void)state;
  autofree char *path = log_path("sample.log");
  write_text(path, SAMPLE);
  strbuf want;
  sb_init(&want);
  logs_opts o = both();
  o.tail = 0;
  expect(path, &o, &want);

  o.tail = 2;
  frame(&want, 1, "\n");
  frame(&want, 1, "last\n");
  expect(path, &o, &want);

  /* the third last is stderr's joined message: its P piece lies before stdout's
   * three! message, whose pieces must not show */
  sb_free(&want);
  o.tail = 3;
  frame(&want, 2, "e-partrr\n");
  frame(&want, 1, "\n");
  frame(&want, 1, "last\n");
  expect(path, &o, &want);

  sb_free(&want);
  o.tail = 4;
  frame(&want, 1, "three!\n");
  frame(&want, 2, "e-partrr\n");
  frame(&want, 1, "\n");
  frame(&want, 1, "last\n");
  expect(path, &o, &want);

  /* Docker counts messages of both streams, then filters: stderr=0 shows 3 of 4 */
  sb_free(&want);
  o.stderr_ = false;
  frame(&want, 1, "three!\n");
  frame(&want, 1, "\n");
  frame(&want, 1, "last\n");
  expect(path, &o, &want);

  sb_free(&want);
  o = both();
  o.tail = 100;
  frame(&want, 1, "one\n");
  frame(&want, 2, "two\n");
  frame(&want, 1, "three!\n");
  frame(&want, 2, "e-partrr\n");
  frame(&want, 1, "\n");
  frame(&want, 1, "last\n");
  expect(path, &o, &want);
  sb_free(&want);

  /* a stream's partial far behind the others' lines */
  write_text(path,
             T("01Z") " stdout F zero\n" T("02Z") " stdout P start-\n" T("03Z") " stderr F e1\n" T(
                 "04Z") " stderr F e2\n" T("05Z") " stdout F end\n");
  o.tail = 1;
  frame(&want, 1, "start-end\n");
  expect(path, &o, &want);
  sb_free(&want);
  o.tail = 2;
  frame(&want, 2, "e2\n");
  frame(&want, 1, "start-end\n");
  expect(path, &o, &want);
  sb_free(&want);
}

static void test_since_until(void **state) {
  (void)state;
  autofree char *path = log_path("times.log");
  write_text(path, T("01Z") " stdout F a\n" T("02Z") " stdout F b\n" T("03.5Z") " stderr F c\n" T(
                       "02.5Z") " stdout F d\n" /* out of order: shown once since has matched */
             T("04Z") " stdout F e\n" T("05Z") " stdout F f\n" T("03Z") " stdout F g\n");
  strbuf want;
  sb_init(&want);
  logs_opts o = both();
  o.since_ns = ns_of(T("02Z")); /* inclusive */
  frame(&want, 1, "b\n");
  frame(&want, 2, "c\n");
  frame(&want, 1, "d\n");
  frame(&want, 1, "e\n");
  frame(&want, 1, "f\n");
  frame(&want, 1, "g\n");
  expect(path, &o, &want);

  /* until is inclusive and the first message after it ends the stream (g is not shown) */
  sb_free(&want);
  o.until_ns = ns_of(T("04Z"));
  frame(&want, 1, "b\n");
  frame(&want, 2, "c\n");
  frame(&want, 1, "d\n");
  frame(&want, 1, "e\n");
  expect(path, &o, &want);

  /* since matched by a stderr message still disarms the check for stdout=1 */
  sb_free(&want);
  o = both();
  o.stderr_ = false;
  o.since_ns = ns_of(T("03Z"));
  frame(&want, 1, "d\n");
  frame(&want, 1, "e\n");
  frame(&want, 1, "f\n");
  frame(&want, 1, "g\n");
  expect(path, &o, &want);

  /* tail first, then since: of the last 3, those from 04.5 on */
  sb_free(&want);
  o = both();
  o.tail = 3;
  o.since_ns = ns_of(T("04.5Z"));
  frame(&want, 1, "f\n");
  frame(&want, 1, "g\n");
  expect(path, &o, &want);

  /* nothing in the window */
  sb_free(&want);
  o = both();
  o.until_ns = ns_of(T("00Z"));
  expect(path, &o, &want);
  sb_free(&want);
}

static void test_errors_and_client_gone(void **state) {
  (void)state;
  logs_opts o = both();
  sink s;
  sink_init(&s);
  arca_err err = {0};

  /* a missing file is an empty log, following or not (the container never ran) */
  autofree char *absent = log_path("absent.log");
  assert_int_equal(logs_read(absent, &o, sink_write, &s, -1, NULL, NULL, &err), LOGS_END);
  assert_int_equal(s.data.len, 0);

  /* a path that cannot be opened */
  autofree char *notdir = log_path("plain");
  write_text(notdir, "x");
  autofree char *under = xasprintf("%s/child.log", notdir);
  assert_int_equal(logs_read(under, &o, sink_write, &s, -1, NULL, NULL, &err), -1);
  assert_int_equal(err.status, 500);
  assert_non_null(strstr(err.msg, "Not a directory"));
  assert_int_equal(s.calls, 0);

  /* a read error once the stream began goes in band on stream 3, as Docker does */
  assert_int_equal(logs_read(tmpdir, &o, sink_write, &s, -1, NULL, NULL, &err), -1);
  strbuf want;
  sb_init(&want);
  frame(&want, 3, "Error grabbing logs: read log file: Is a directory\n");
  assert_bytes(&s.data, &want);
  sb_free(&want);
  sink_free(&s);

  /* the client goes away: the reader stops at the next batch */
  autofree char *path = log_path("many.log");
  FILE *f = fopen(path, "w");
  for (int i = 0; i < 50000; i++) fprintf(f, T("01Z") " stdout F line %d\n", i);
  fclose(f);
  sink_init(&s);
  s.fail_after = 1;
  assert_int_equal(logs_read(path, &o, sink_write, &s, -1, NULL, NULL, &err), LOGS_CLIENT_GONE);
  assert_int_equal(s.calls, 2);
  assert_true(s.data.len >= 128 * 1024 && s.data.len < 512 * 1024);
  sink_free(&s);
}

/* ---- follow ---- */

typedef struct follow_run {
  char *path;
  logs_opts o;
  sink s;
  int cancel_fd;
  atomic_bool running;
  atomic_int running_checks;
  int rc;
  arca_err err;
  int64_t end_ns;
  pthread_t thread;
} follow_run;

static bool run_is_running(void *ctx) {
  follow_run *fr = ctx;
  atomic_fetch_add(&fr->running_checks, 1);
  return atomic_load(&fr->running);
}

static void *follow_main(void *arg) {
  follow_run *fr = arg;
  fr->rc =
      logs_read(fr->path, &fr->o, sink_write, &fr->s, fr->cancel_fd, run_is_running, fr, &fr->err);
  fr->end_ns = monotonic_ns();
  return NULL;
}

static void follow_start(follow_run *fr, const char *path, logs_opts o) {
  memset(fr, 0, sizeof *fr);
  fr->path = xstrdup(path);
  fr->o = o;
  fr->o.follow = true;
  sink_init(&fr->s);
  fr->cancel_fd = eventfd(0, EFD_CLOEXEC);
  assert_true(fr->cancel_fd >= 0);
  atomic_store(&fr->running, true);
  assert_int_equal(pthread_create(&fr->thread, NULL, follow_main, fr), 0);
}

/* Stops the container; returns how long the reader took to end after that, in ms. */
static int64_t follow_stop(follow_run *fr) {
  int64_t t0 = monotonic_ns();
  atomic_store(&fr->running, false);
  pthread_join(fr->thread, NULL);
  return (fr->end_ns - t0) / 1000000;
}

static void follow_free(follow_run *fr) {
  close(fr->cancel_fd);
  sink_free(&fr->s);
  free(fr->path);
}

static void wait_for(sink *s, const char *needle) {
  for (int i = 0; i < 1000; i++) {
    if (sink_contains(s, needle)) return;
    usleep(5000);
  }
  fail_msg("never saw %s", needle);
}

static void test_follow_writer_then_exit(void **state) {
  (void)state;
  autofree char *path = log_path("follow.log");
  write_text(path, T("01Z") " stdout F first\n");
  follow_run fr;
  follow_start(&fr, path, both());
  wait_for(&fr.s, "first\n");
  /* a line written in pieces, the record itself cut mid-way by the writer */
  append_text(path, T("02Z") " stdout P hel");
  usleep(30000);
  append_text(path, "\n" T("02.5Z") " stderr F oops\n");
  wait_for(&fr.s, "oops\n");
  append_text(path, T("03Z") " stdout P lo");
  usleep(30000);
  append_text(path, "\n" T("04Z") " stdout F  world\n");
  wait_for(&fr.s, "hello world\n");
  append_text(path, T("05Z") " stderr F late\n" T("06Z") " stdout P prompt> \n");
  int64_t ms = follow_stop(&fr);
  assert_int_equal(fr.rc, LOGS_END);
  assert_true(ms < 1000);
  strbuf want;
  sb_init(&want);
  frame(&want, 1, "first\n");
  frame(&want, 2, "oops\n");
  frame(&want, 1, "hello world\n");
  frame(&want, 2, "late\n");
  frame(&want, 1, "prompt> ");
  assert_bytes(&fr.s.data, &want);
  sb_free(&want);
  follow_free(&fr);
  printf("follow: ended %lld ms after the container stopped\n", (long long)ms);
}

static void test_follow_cancel_and_tail(void **state) {
  (void)state;
  autofree char *path = log_path("cancel.log");
  write_text(path, T("01Z") " stdout F a\n" T("02Z") " stdout F b\n" T("03Z") " stderr F c\n");
  logs_opts o = both();
  o.tail = 1;
  o.timestamps = true;
  follow_run fr;
  follow_start(&fr, path, o);
  wait_for(&fr.s, "c\n");
  append_text(path, T("04Z") " stdout F d\n");
  wait_for(&fr.s, "d\n");
  /* idle: the reader sleeps in poll and wakes every 200 ms, no busy loop */
  int checks = atomic_load(&fr.running_checks);
  usleep(600000);
  checks = atomic_load(&fr.running_checks) - checks;
  assert_true(checks >= 2 && checks <= 6);
  int64_t t0 = monotonic_ns();
  uint64_t one = 1;
  assert_int_equal(write(fr.cancel_fd, &one, sizeof one), sizeof one);
  pthread_join(fr.thread, NULL);
  assert_int_equal(fr.rc, LOGS_CANCELLED);
  assert_true((fr.end_ns - t0) / 1000000 < 500);
  strbuf want;
  sb_init(&want);
  frame(&want, 2, T("03.000000000Z") " c\n");
  frame(&want, 1, T("04.000000000Z") " d\n");
  assert_bytes(&fr.s.data, &want);
  sb_free(&want);
  follow_free(&fr);
}

static void test_follow_truncate_and_rotate(void **state) {
  (void)state;
  autofree char *path = log_path("rotate.log");
  write_text(path, T("01Z") " stdout F old-line-one-with-some-length\n" T(
                       "02Z") " stdout F old-line-two\n");
  follow_run fr;
  follow_start(&fr, path, both());
  wait_for(&fr.s, "old-line-two\n");
  /* truncated in place, then shorter content: read from the start again */
  write_text(path, T("03Z") " stdout F trunc\n");
  wait_for(&fr.s, "trunc\n");

  /* conmon's --log-size-max: a last record in the old file, a new file renamed over it */
  int old_fd = open(path, O_WRONLY | O_APPEND);
  assert_true(old_fd >= 0);
  autofree char *tmp = xasprintf("%s.tmp", path);
  write_text(tmp, T("05Z") " stdout F new-one\n");
  const char *last_old = T("04Z") " stdout F old-last\n";
  assert_int_equal(write_all(old_fd, last_old, strlen(last_old)), (ssize_t)strlen(last_old));
  assert_int_equal(rename(tmp, path), 0);
  close(old_fd);
  append_text(path, T("06Z") " stdout F new-two\n");
  wait_for(&fr.s, "new-two\n");

  /* removed, then created again */
  assert_int_equal(unlink(path), 0);
  usleep(250000);
  write_text(path, T("07Z") " stdout F reborn\n");
  wait_for(&fr.s, "reborn\n");

  int64_t ms = follow_stop(&fr);
  assert_int_equal(fr.rc, LOGS_END);
  assert_true(ms < 1000);
  strbuf want;
  sb_init(&want);
  frame(&want, 1, "old-line-one-with-some-length\n");
  frame(&want, 1, "old-line-two\n");
  frame(&want, 1, "trunc\n");
  frame(&want, 1, "old-last\n");
  frame(&want, 1, "new-one\n");
  frame(&want, 1, "new-two\n");
  frame(&want, 1, "reborn\n");
  assert_bytes(&fr.s.data, &want);
  sb_free(&want);
  follow_free(&fr);
}

static void test_follow_missing_file_and_until(void **state) {
  (void)state;
  autofree char *path = log_path("later.log");
  logs_opts o = both();
  o.follow = true;
  sink s;
  sink_init(&s);
  arca_err err = {0};
  follow_run stopped = {0}; /* still_running false: the missing log ends at once */
  assert_int_equal(logs_read(path, &o, sink_write, &s, -1, run_is_running, &stopped, &err),
                   LOGS_END);
  assert_int_equal(s.data.len, 0);
  sink_free(&s);

  /* the file appears after the reader started (container starting) */
  follow_run fr;
  follow_start(&fr, path, both());
  usleep(50000);
  write_text(path, T("01Z") " stdout F hello\n");
  wait_for(&fr.s, "hello\n");
  follow_stop(&fr);
  assert_int_equal(fr.rc, LOGS_END);
  follow_free(&fr);

  /* until in the future: the stream ends when the clock passes it, container running */
  o = both();
  int64_t start = now_ns();
  o.until_ns = start + 300 * 1000000LL;
  follow_start(&fr, path, o);
  char stamp[64];
  format_rfc3339nano(now_ns(), stamp, sizeof stamp);
  autofree char *line = xasprintf("%s stdout F in-window\n", stamp);
  append_text(path, line);
  wait_for(&fr.s, "in-window\n");
  pthread_join(fr.thread, NULL);
  int64_t took_ms = (now_ns() - start) / 1000000;
  assert_int_equal(fr.rc, LOGS_END);
  assert_true(took_ms >= 280 && took_ms < 1500);
  strbuf want;
  sb_init(&want);
  frame(&want, 1, "hello\n");
  frame(&want, 1, "in-window\n");
  assert_bytes(&fr.s.data, &want);
  sb_free(&want);
  follow_free(&fr);
}

/* ---- a million lines ---- */

typedef struct counter {
  size_t bytes, calls;
} counter;

static int count_write(void *ctx, const void *buf, size_t n) {
  counter *c = ctx;
  (void)buf;
  c->bytes += n;
  c->calls++;
  return 0;
}

static void test_million_lines(void **state) {
  (void)state;
  enum { LINES = 1000000 };
  autofree char *path = log_path("million.log");
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  setvbuf(f, NULL, _IOFBF, 1 << 20);
  size_t want_bytes = 0;
  for (int i = 0; i < LINES; i++) {
    int n = fprintf(f, "2024-05-01T12:%02d:%02d.%09d+00:00 %s F message number %07d of the test\n",
                    i / 60000 % 60, i / 1000 % 60, i % 1000 * 1000,
                    i % 10 == 9 ? "stderr" : "stdout", i);
    want_bytes += 8 + (size_t)n - 45; /* frame header instead of time, stream, flag */
  }
  fclose(f);
  logs_opts o = both();
  counter c = {0};
  arca_err err = {0};
  int64_t t0 = monotonic_ns();
  assert_int_equal(logs_read(path, &o, count_write, &c, -1, NULL, NULL, &err), LOGS_END);
  int64_t dt = monotonic_ns() - t0;
  assert_int_equal(c.bytes, want_bytes);
  printf("logs of %d lines: %.0f ms, %.2f M lines/s, %zu writes\n", LINES, dt / 1e6,
         LINES / (dt / 1e9) / 1e6, c.calls);
  assert_true(dt < 20LL * 1000000000LL); /* generous: sanitizers, a loaded machine */

  o.timestamps = true;
  c = (counter){0};
  t0 = monotonic_ns();
  assert_int_equal(logs_read(path, &o, count_write, &c, -1, NULL, NULL, &err), LOGS_END);
  dt = monotonic_ns() - t0;
  assert_int_equal(c.bytes, want_bytes + (size_t)LINES * 31);
  printf("logs --timestamps of %d lines: %.0f ms, %.2f M lines/s\n", LINES, dt / 1e6,
         LINES / (dt / 1e9) / 1e6);

  o = both();
  o.tail = 10;
  sink s;
  sink_init(&s);
  t0 = monotonic_ns();
  assert_int_equal(logs_read(path, &o, sink_write, &s, -1, NULL, NULL, &err), LOGS_END);
  dt = monotonic_ns() - t0;
  printf("logs --tail 10 of %d lines: %.3f ms\n", LINES, dt / 1e6);
  assert_true(dt < 50 * 1000000LL);
  strbuf want;
  sb_init(&want);
  for (int i = LINES - 10; i < LINES; i++) {
    char text[64];
    snprintf(text, sizeof text, "message number %07d of the test\n", i);
    frame(&want, i % 10 == 9 ? 2 : 1, text);
  }
  assert_bytes(&s.data, &want);
  sb_free(&want);
  sink_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_time_parse_and_format),
      cmocka_unit_test(test_record_parse),
      cmocka_unit_test(test_framing_streams_and_joining),
      cmocka_unit_test(test_partial_at_end_and_long_lines),
      cmocka_unit_test(test_tail),
      cmocka_unit_test(test_since_until),
      cmocka_unit_test(test_errors_and_client_gone),
      cmocka_unit_test(test_follow_writer_then_exit),
      cmocka_unit_test(test_follow_cancel_and_tail),
      cmocka_unit_test(test_follow_truncate_and_rotate),
      cmocka_unit_test(test_follow_missing_file_and_until),
      cmocka_unit_test(test_million_lines),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
