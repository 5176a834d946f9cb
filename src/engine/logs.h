/* Reading a container's log for GET /containers/{id}/logs with Docker's semantics.
 *
 * The file is written by conmon in k8s-file format, one record a line:
 *   <RFC3339Nano time with Z or ±hh:mm> <stdout|stderr> <F|P> <text>\n
 * P marks a piece of a line the process has not finished (or one conmon split): the P
 * records of a stream are joined with that stream's next F record into one message, which
 * ends with "\n" (F's text does not hold it). A joined message carries the time of its
 * first piece, as Docker's copier stamps partial messages. Lines that do not parse
 * (no timestamp, unknown stream or flag) are skipped.
 *
 * What Docker does and this copies (moby daemon/logs.go, loggerutils/logfile.go,
 * httputils/logstream):
 *  - tail N keeps the last N messages of the file, whatever their stream; the stream
 *    selection is applied afterwards, so `stdout=1&tail=5` may show fewer than 5.
 *  - since and until are applied after tail. since is inclusive and, once a message at or
 *    after it has passed, is not checked again (times need not be monotonic). until is
 *    inclusive: the first message after it ends the whole stream, follow included.
 *  - timestamps=1 prefixes each message with its time in UTC with nine fractional digits
 *    ("2006-01-02T15:04:05.000000000Z", Docker's rfc3339NanoFixed) and a space.
 *  - details=1 prefixes the message attributes and a space; k8s-file has none, so a lone
 *    space (after the timestamp when both are asked for).
 *  - Without a TTY every message is one stdcopy frame [stream, 0, 0, 0, size BE32] with
 *    stream 1 (stdout) or 2 (stderr), however long. With a TTY the text is raw.
 *  - A read error once the stream has begun is reported in band as Docker does:
 *    "Error grabbing logs: <reason>\n" on stream 3 (raw with a TTY).
 * Where this goes further: with follow, until in the future also ends the stream once the
 * clock passes it (Docker waits for a later message); a piece of a line that is still
 * open when the stream ends is sent without a newline; a message that grows beyond
 * LOGS_MESSAGE_MAX while being joined is sent in pieces of that size (Docker's own
 * logger splits at 16 KiB when writing).
 *
 * No shared state: each call owns its file descriptors and buffers, so any number of
 * readers may run at once on the same file from different threads. */
#ifndef ARCA_ENGINE_LOGS_H
#define ARCA_ENGINE_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define LOGS_MESSAGE_MAX (1024 * 1024)

typedef struct logs_opts {
  bool stdout_, stderr_; /* which streams; Docker's API refuses neither: caller validates */
  bool timestamps;       /* prefix each message with its time, as above */
  bool follow;           /* keep reading what is appended until the container stops */
  int64_t since_ns;      /* 0: unbounded; else messages before it are skipped */
  int64_t until_ns;      /* 0: unbounded; else the first message after it ends the stream */
  long tail;             /* < 0: all; N >= 0: only the last N messages (see logs_parse_tail) */
  bool tty;              /* raw output, no stdcopy frames */
  bool details;          /* a space before each message (no attributes in k8s-file) */
} logs_opts;

/* Output. buf holds one or more whole messages, already framed unless tty; the reader
 * batches messages up to about 128 KiB and hands over what it has whenever it is about to
 * wait for the writer, so a following client sees each line promptly. Return -1 to stop
 * (client gone), anything else to go on. */
typedef int (*logs_write_fn)(void *ctx, const void *buf, size_t n);

/* Why logs_read stopped, when it did not fail. */
enum {
  LOGS_END = 0,         /* all asked for was sent: end of file, container stopped, until */
  LOGS_CANCELLED = 1,   /* cancel_fd became readable (or hung up) */
  LOGS_CLIENT_GONE = 2, /* write returned -1 */
};

/* Streams the log at path through write with the semantics above. Returns a LOGS_* value,
 * or -1 with err filled when the file cannot be opened or read (500).
 *
 * A missing file is an empty log (a container that never ran). Without follow the file is
 * read up to the size it had when the call began. With follow, after the end of the file
 * the call waits (inotify on the file and cancel_fd in one poll, woken at least every
 * 200 ms) for more, and ends once still_running(run_ctx) returns false and the file is
 * drained, once until passes, or when cancel_fd (-1: none) is readable. still_running
 * NULL means "always running". A file replaced under the same path (conmon's
 * --log-size-max renames a fresh file over it) or truncated is followed into its new
 * content from the start, after what the old file still held has been sent. */
int logs_read(const char *path, const logs_opts *o, logs_write_fn write, void *ctx,
              int cancel_fd, bool (*still_running)(void *run_ctx), void *run_ctx,
              arca_err *err);

/* Docker's reading of the tail query value (strconv.Atoi): a decimal integer, optionally
 * signed; anything else ("all", "", "10x") means all (-1); negative values mean all. */
long logs_parse_tail(const char *value);

#endif
