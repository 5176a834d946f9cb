/* Forward reading and following of a k8s-file log (see logs.h for the semantics).
 *
 * Speed matters (`docker logs` of a million lines): the file is read in 1 MiB blocks,
 * lines are found with memchr, records parsed without libc time functions, and messages
 * framed into a 128 KiB output batch, so there is no syscall or callback per line. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "engine/logs.h"
#include "engine/logs_internal.h"

#define READ_BLOCK (1024 * 1024)
#define OUT_FLUSH (128 * 1024)
#define FOLLOW_WAKE_MS 200
#define WATCH_MASK (IN_MODIFY | IN_CLOSE_WRITE | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB)

/* A message of one stream still being joined from P records. */
typedef struct partial_msg {
  bool open;
  int64_t ts_ns;
  uint64_t order; /* which was opened first, to flush them in order at the end */
  strbuf text;
} partial_msg;

typedef struct reader {
  const logs_opts *o;
  logs_write_fn write;
  void *write_ctx;
  int cancel_fd;

  char *out; /* batch of framed messages not yet handed to write */
  size_t out_len, out_cap;

  char *in; /* bytes read but not yet consumed: an unfinished line; in[0] is at file
             * offset in_off */
  size_t in_len, in_cap;
  int64_t in_off;

  partial_msg part[3]; /* by stream number */
  uint64_t next_order;
  int64_t boundary;  /* tail: messages completed before this offset are older ones */
  int64_t since_ns;  /* cleared once a message at or after it passed, as Docker does */
  log_time_cache time_cache;
  int stop;          /* LOGS_* once the stream must end early; -1 while going on */
  bool until_passed; /* the stream ended at until: nothing more, not even partials */
} reader;

static void reader_init(reader *r, const logs_opts *o, logs_write_fn write, void *ctx,
                        int cancel_fd) {
  *r = (reader){.o = o, .write = write, .write_ctx = ctx, .cancel_fd = cancel_fd,
                .since_ns = o->since_ns, .stop = -1};
  for (int s = 0; s < 3; s++) sb_init(&r->part[s].text);
  r->in_cap = READ_BLOCK;
  r->in = xmalloc(r->in_cap);
}

static void reader_free(reader *r) {
  free(r->out);
  free(r->in);
  for (int s = 0; s < 3; s++) sb_free(&r->part[s].text);
}

/* Hands the batch to write; false once the client is gone or the reader was cancelled. */
static bool flush_out(reader *r) {
  if (r->stop == LOGS_CLIENT_GONE || r->stop == LOGS_CANCELLED) return false;
  if (!r->out_len) return true;
  int rc = r->write(r->write_ctx, r->out, r->out_len);
  r->out_len = 0;
  if (rc < 0) {
    r->stop = LOGS_CLIENT_GONE;
    return false;
  }
  return true;
}

static char *out_reserve(reader *r, size_t n) {
  if (r->out_len + n > r->out_cap) {
    size_t cap = r->out_cap ? r->out_cap : OUT_FLUSH + 64 * 1024;
    while (cap < r->out_len + n) cap *= 2;
    r->out = xrealloc(r->out, cap);
    r->out_cap = cap;
  }
  return r->out + r->out_len;
}

/* Frames one message (head + tail, plus a newline when it ended with one) into the batch
 * after Docker's filters: tail boundary, since, until, then the stream selection.
 * done_off is the offset of the record that completed it. False once the stream ends. */
static bool emit(reader *r, int stream, int64_t ts_ns, const char *head, size_t head_len,
                 const char *tail, size_t tail_len, bool newline, int64_t done_off) {
  if (done_off < r->boundary) return true;
  if (r->since_ns) {
    if (ts_ns < r->since_ns) return true;
    r->since_ns = 0;
  }
  if (r->o->until_ns && ts_ns > r->o->until_ns) {
    r->until_passed = true;
    r->stop = LOGS_END;
    return false;
  }
  if (!(stream == LOG_STDOUT ? r->o->stdout_ : r->o->stderr_)) return true;

  const logs_opts *o = r->o;
  size_t size = (o->timestamps ? LOG_TIME_LEN + 1 : 0) + (o->details ? 1 : 0) + head_len +
                tail_len + (newline ? 1 : 0);
  char *p = out_reserve(r, size + 8);
  if (!o->tty) {
    uint32_t be = (uint32_t)size;
    p[0] = (char)stream;
    p[1] = p[2] = p[3] = 0;
    p[4] = (char)(be >> 24);
    p[5] = (char)(be >> 16);
    p[6] = (char)(be >> 8);
    p[7] = (char)be;
    p += 8;
  }
  if (o->timestamps) {
    log_time_format(&r->time_cache, ts_ns, p);
    p[LOG_TIME_LEN] = ' ';
    p += LOG_TIME_LEN + 1;
  }
  if (o->details) *p++ = ' ';
  if (head_len) memcpy(p, head, head_len);
  p += head_len;
  if (tail_len) memcpy(p, tail, tail_len);
  p += tail_len;
  if (newline) *p++ = '\n';
  r->out_len = (size_t)(p - r->out);
  if (r->out_len >= OUT_FLUSH) return flush_out(r);
  return true;
}

static bool emit_partial(reader *r, int stream, int64_t done_off) {
  partial_msg *pm = &r->part[stream];
  bool ok = emit(r, stream, pm->ts_ns, pm->text.buf, pm->text.len, NULL, 0, false, done_off);
  pm->open = false;
  pm->text.len = 0;
  return ok;
}

static bool handle_line(reader *r, const char *line, size_t n, int64_t off) {
  log_record rec;
  if (!log_record_parse(line, n, &rec)) return true; /* Docker-incompatible line: skip */
  partial_msg *pm = &r->part[rec.stream];
  if (rec.partial) {
    if (!pm->open) {
      pm->open = true;
      pm->ts_ns = rec.ts_ns;
      pm->order = r->next_order++;
    }
    sb_append(&pm->text, rec.text, rec.text_len);
    /* a line that never ends must not grow without bound: send it in pieces */
    if (pm->text.len >= LOGS_MESSAGE_MAX) return emit_partial(r, rec.stream, off);
    return true;
  }
  if (!pm->open) return emit(r, rec.stream, rec.ts_ns, NULL, 0, rec.text, rec.text_len, true, off);
  bool ok = emit(r, rec.stream, pm->ts_ns, pm->text.buf, pm->text.len, rec.text, rec.text_len,
                 true, off);
  pm->open = false;
  pm->text.len = 0;
  return ok;
}

/* At the very end: what the process wrote without a newline yet is still a message. */
static void flush_partials(reader *r) {
  partial_msg *a = &r->part[LOG_STDOUT], *b = &r->part[LOG_STDERR];
  int first = LOG_STDOUT, second = LOG_STDERR;
  if (a->open && b->open && b->order < a->order) {
    first = LOG_STDERR;
    second = LOG_STDOUT;
  }
  if (r->part[first].open && !emit_partial(r, first, INT64_MAX)) return;
  if (r->part[second].open) emit_partial(r, second, INT64_MAX);
}

/* Handles every complete line in the input buffer and keeps the unfinished rest. */
static bool consume_lines(reader *r) {
  char *p = r->in, *end = r->in + r->in_len;
  bool ok = true;
  while (p < end) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) break;
    ok = handle_line(r, p, (size_t)(nl - p), r->in_off + (p - r->in));
    p = nl + 1;
    if (!ok) break;
  }
  size_t used = (size_t)(p - r->in);
  if (used) {
    memmove(r->in, p, r->in_len - used);
    r->in_len -= used;
    r->in_off += (int64_t)used;
  }
  return ok;
}

/* Forgets the input state for reading another file (or the same one again) from 0. */
static void restart_input(reader *r) {
  r->in_len = 0;
  r->in_off = 0;
  r->boundary = 0;
}

static bool cancel_requested(int cancel_fd, int timeout_ms) {
  if (cancel_fd < 0) return false;
  struct pollfd p = {.fd = cancel_fd, .events = POLLIN};
  return poll(&p, 1, timeout_ms) > 0;
}

static int report_read_error(reader *r, arca_err *err) {
  /* Headers are out: tell the client in band as Docker does (systemerr stream). */
  if (r->stop < 0) {
    flush_out(r);
    autofree char *text = xasprintf("Error grabbing logs: %s\n", err->msg);
    size_t len = strlen(text);
    char *p = out_reserve(r, len + 8);
    if (!r->o->tty) {
      memcpy(p, (char[]){3, 0, 0, 0, (char)(len >> 24), (char)(len >> 16), (char)(len >> 8),
                         (char)len}, 8);
      p += 8;
    }
    memcpy(p, text, len);
    r->out_len = (size_t)(p - r->out) + len;
    flush_out(r);
  }
  return -1;
}

/* Reads and handles what fd holds up to limit (-1: its end). Returns 1 when data was
 * read, 0 at the end, -1 on error. */
static int read_some(reader *r, int fd, int64_t limit, arca_err *err) {
  if (r->in_len == r->in_cap) { /* a line longer than the buffer */
    r->in_cap *= 2;
    r->in = xrealloc(r->in, r->in_cap);
  }
  size_t room = r->in_cap - r->in_len;
  if (limit >= 0) {
    int64_t left = limit - (r->in_off + (int64_t)r->in_len);
    if (left <= 0) return 0;
    if ((int64_t)room > left) room = (size_t)left;
  }
  ssize_t n;
  do n = read(fd, r->in + r->in_len, room);
  while (n < 0 && errno == EINTR);
  if (n < 0) return err_errno(err, 500, errno, "read log file");
  if (n == 0) return 0;
  r->in_len += (size_t)n;
  consume_lines(r);
  return 1;
}

/* Reads to the end of fd (or limit), or until the stream must end (r->stop set); -1 on a
 * read error. */
static int drain(reader *r, int fd, int64_t limit, arca_err *err) {
  for (;;) {
    int rc = read_some(r, fd, limit, err);
    if (rc < 0) return -1;
    if (rc == 0 || r->stop >= 0) return 0;
    if (cancel_requested(r->cancel_fd, 0)) {
      r->stop = LOGS_CANCELLED;
      return 0;
    }
  }
}

static int open_log(const char *path, arca_err *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) return err_errno(err, 500, errno, "open log file %s", path);
  if (fd < 0) return -2;
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return fd;
}

typedef struct follower {
  reader *r;
  const char *path;
  int fd;
  int inotify_fd, watch;
  bool (*still_running)(void *);
  void *run_ctx;
} follower;

static void watch_file(follower *f) {
  if (f->inotify_fd < 0) return;
  if (f->watch >= 0) inotify_rm_watch(f->inotify_fd, f->watch);
  f->watch = inotify_add_watch(f->inotify_fd, f->path, WATCH_MASK);
}

/* After the end of the file: has it been truncated or replaced? Then go on with the new
 * content from its start, after what the old file still held. */
static int check_rotation(follower *f, arca_err *err) {
  reader *r = f->r;
  if (f->fd < 0) {
    int fd = open_log(f->path, err);
    if (fd == -1) return -1;
    if (fd >= 0) {
      f->fd = fd;
      restart_input(r);
      watch_file(f);
      return 1;
    }
    return 0;
  }
  struct stat fst, pst;
  if (fstat(f->fd, &fst) < 0) return err_errno(err, 500, errno, "stat log file");
  if (fst.st_size < r->in_off + (int64_t)r->in_len) {
    if (lseek(f->fd, 0, SEEK_SET) < 0) return err_errno(err, 500, errno, "seek log file");
    restart_input(r);
    return 1;
  }
  if (stat(f->path, &pst) < 0 || (pst.st_ino == fst.st_ino && pst.st_dev == fst.st_dev))
    return 0; /* unchanged, or removed with nothing new in its place yet */
  if (drain(r, f->fd, -1, err) < 0) return -1; /* the old file's last records */
  int fd = open_log(f->path, err);
  if (fd == -1) return -1;
  close(f->fd);
  f->fd = fd; /* -2 when it vanished again: wait for the next one */
  restart_input(r);
  watch_file(f);
  return 1;
}

static int wait_for_more(follower *f, int timeout_ms) {
  struct pollfd p[2] = {{.fd = f->inotify_fd, .events = POLLIN},
                        {.fd = f->r->cancel_fd, .events = POLLIN}};
  int n = poll(p, 2, timeout_ms);
  if (n < 0 && errno != EINTR) return -1;
  if (n <= 0) return 0;
  if (p[1].revents) return LOGS_CANCELLED;
  if (p[0].revents & POLLIN) { /* the events only wake us: what changed is checked anyway */
    char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (read(f->inotify_fd, events, sizeof events) > 0) {}
  }
  return 0;
}

static int follow(follower *f, arca_err *err) {
  reader *r = f->r;
  bool last_round = false;
  for (;;) {
    if (f->fd >= 0 && drain(r, f->fd, -1, err) < 0) return report_read_error(r, err);
    if (r->stop >= 0 || !flush_out(r)) break;
    int rot = check_rotation(f, err);
    if (rot < 0) return report_read_error(r, err);
    if (rot > 0) continue;
    if (last_round) {
      flush_partials(r);
      break;
    }
    int timeout = FOLLOW_WAKE_MS;
    if (r->o->until_ns) {
      int64_t left_ms = (r->o->until_ns - now_ns()) / 1000000;
      if (left_ms <= 0) {
        last_round = true;
        continue;
      }
      if (left_ms < timeout) timeout = (int)left_ms + 1;
    }
    if (f->still_running && !f->still_running(f->run_ctx)) {
      last_round = true; /* drain what the container wrote before it stopped, then end */
      continue;
    }
    if (wait_for_more(f, timeout) == LOGS_CANCELLED) {
      r->stop = LOGS_CANCELLED;
      break;
    }
  }
  flush_out(r);
  return r->stop >= 0 ? r->stop : LOGS_END;
}

/* Reads the whole log, or from where tail says, then follows it if asked. *fd (-2: no
 * file yet) is the caller's to close and may be replaced when the file rotates. */
static int read_log(reader *r, const char *path, int *fd, bool (*still_running)(void *),
                    void *run_ctx, arca_err *err) {
  const logs_opts *o = r->o;
  int64_t size = 0;
  if (*fd >= 0) {
    struct stat st;
    if (fstat(*fd, &st) < 0) return err_errno(err, 500, errno, "stat log file %s", path);
    size = st.st_size;
    int64_t start = 0;
    if (o->tail >= 0) {
      if (log_tail_start(*fd, size, o->tail, &start, &r->boundary, err) < 0) return -1;
      if (start && lseek(*fd, (off_t)start, SEEK_SET) < 0)
        return err_errno(err, 500, errno, "seek log file %s", path);
    }
    r->in_off = start;
  }
  if (!o->follow) {
    if (*fd >= 0 && drain(r, *fd, size, err) < 0) return report_read_error(r, err);
    if (r->stop < 0) flush_partials(r);
    flush_out(r);
    return r->stop >= 0 ? r->stop : LOGS_END;
  }
  follower f = {.r = r, .path = path, .fd = *fd, .watch = -1, .still_running = still_running,
                .run_ctx = run_ctx};
  /* Without inotify (out of instances) the 200 ms wake-up still finds new lines. */
  f.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (f.fd >= 0) watch_file(&f);
  int rc = follow(&f, err);
  if (f.inotify_fd >= 0) close(f.inotify_fd);
  *fd = f.fd;
  return rc;
}

int logs_read(const char *path, const logs_opts *o, logs_write_fn write, void *ctx,
              int cancel_fd, bool (*still_running)(void *run_ctx), void *run_ctx,
              arca_err *err) {
  autoclose int fd = open_log(path, err);
  if (fd == -1) return -1;
  reader r;
  reader_init(&r, o, write, ctx, cancel_fd);
  int rc = read_log(&r, path, &fd, still_running, run_ctx, err);
  reader_free(&r);
  return rc;
}

long logs_parse_tail(const char *value) {
  if (!value || !*value) return -1;
  const char *p = value;
  if (*p == '+' || *p == '-') p++;
  if (!*p) return -1;
  for (const char *q = p; *q; q++)
    if (*q < '0' || *q > '9') return -1;
  errno = 0;
  long n = strtol(value, NULL, 10);
  if (errno == ERANGE || n < 0) return -1;
  return n;
}
