/* tail N: find where the last N messages begin by reading the file backwards in blocks, so
 * that `logs --tail 10` of a huge log reads a few kilobytes, not the whole file.
 *
 * Walking backwards, a message of a stream begins (from this side) at its F record, or at
 * a trailing P record that no F of its stream follows yet; the P records before it of the
 * same stream belong to it, possibly interleaved with records of the other stream. Each
 * stream is thus in one of three states: nothing seen yet, inside a message we keep
 * (its P records move the start back), or inside messages too old to keep. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "engine/logs_internal.h"

#define TAIL_BLOCK (64 * 1024)

enum { STREAM_UNSEEN, STREAM_KEPT, STREAM_OLD };

typedef struct tail_scan {
  long want, found;
  int state[3]; /* by stream number */
  int64_t start, boundary;
} tail_scan;

static bool tail_done(const tail_scan *t) {
  return t->found == t->want && t->state[LOG_STDOUT] != STREAM_KEPT &&
         t->state[LOG_STDERR] != STREAM_KEPT;
}

static void tail_record(tail_scan *t, const char *line, size_t n, int64_t off) {
  log_record rec;
  if (!log_record_parse(line, n, &rec)) return;
  int *state = &t->state[rec.stream];
  if (rec.partial && *state == STREAM_KEPT) {
    t->start = off;
    return;
  }
  if (rec.partial && *state == STREAM_OLD) return;
  /* an F record, or a trailing P: the end of a message, seen from behind */
  if (t->found < t->want) {
    t->found++;
    *state = STREAM_KEPT;
    t->start = t->boundary = off;
  } else {
    *state = STREAM_OLD;
  }
}

static int pread_full(int fd, char *buf, size_t n, int64_t off, arca_err *err) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + (int64_t)got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return err_errno(err, 500, errno, "read log file");
    if (r == 0) return err_set(err, 500, "read log file: file shrank while reading its tail");
    got += (size_t)r;
  }
  return 0;
}

int log_tail_start(int fd, int64_t size, long n, int64_t *start, int64_t *boundary,
                   arca_err *err) {
  tail_scan t = {.want = n};
  /* Until the last newline is found nothing is a record: bytes after it are a record
   * being written. */
  bool before_last_newline = false;
  autofree char *buf = NULL;
  size_t cap = 0, carry = 0; /* buf[0..carry) starts at file offset pos: a line's tail */
  int64_t pos = size;
  while (pos > 0 && (!before_last_newline || !tail_done(&t))) {
    size_t block = pos < TAIL_BLOCK ? (size_t)pos : TAIL_BLOCK;
    if (block + carry > cap) {
      cap = (block + carry) * 2;
      buf = xrealloc(buf, cap);
    }
    memmove(buf + block, buf, carry);
    pos -= (int64_t)block;
    if (pread_full(fd, buf, block, pos, err) < 0) return -1;
    size_t line_end = block + carry;
    char *nl;
    while ((nl = memrchr(buf, '\n', line_end))) {
      size_t i = (size_t)(nl - buf);
      if (!before_last_newline) {
        before_last_newline = true;
        t.start = t.boundary = pos + (int64_t)i + 1; /* where tail 0 begins */
      } else {
        tail_record(&t, nl + 1, line_end - i - 1, pos + (int64_t)i + 1);
      }
      line_end = i;
      if (tail_done(&t)) break;
    }
    carry = line_end;
  }
  if (pos == 0 && before_last_newline && !tail_done(&t)) tail_record(&t, buf, carry, 0);
  if (t.found < t.want) t.boundary = 0; /* everything is wanted */
  *start = t.start;
  *boundary = t.boundary;
  return 0;
}
