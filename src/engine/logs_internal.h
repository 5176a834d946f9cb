/* Pieces of the log reader shared between its files (logs.c, logs_record.c, logs_tail.c);
 * nothing outside engine/logs*.c uses them. */
#ifndef ARCA_ENGINE_LOGS_INTERNAL_H
#define ARCA_ENGINE_LOGS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum { LOG_STDOUT = 1, LOG_STDERR = 2 }; /* also the stdcopy stream numbers */

/* One k8s-file record; text points into the line it was parsed from. */
typedef struct log_record {
  int64_t ts_ns;
  int stream; /* LOG_STDOUT or LOG_STDERR */
  bool partial;
  const char *text;
  size_t text_len;
} log_record;

/* Parses one line (without its '\n'); false when it is not a k8s-file record. */
bool log_record_parse(const char *line, size_t n, log_record *rec);

/* Parses an RFC3339 time with 0 to 9 fractional digits and Z or ±hh:mm, exactly n bytes. */
bool log_time_parse(const char *s, size_t n, int64_t *ns);

#define LOG_TIME_LEN 30 /* "2006-01-02T15:04:05.000000000Z" */

/* Formats ns as Docker's rfc3339NanoFixed in UTC into out (LOG_TIME_LEN bytes, no NUL).
 * The cache keeps the last second's date and time so that a run of messages only
 * formats their nanoseconds. */
typedef struct log_time_cache {
  int64_t sec;
  bool valid;
  char prefix[20]; /* "2006-01-02T15:04:05." */
} log_time_cache;
void log_time_format(log_time_cache *cache, int64_t ns, char out[LOG_TIME_LEN]);

/* Where reading must begin to see the last n messages (n >= 0) of the complete records in
 * the first size bytes of fd: *start is the offset of the first record of the oldest of
 * them, *boundary the offset of the record that completes it; messages completed before
 * *boundary belong to older messages and must be dropped. Reads backwards in blocks. */
int log_tail_start(int fd, int64_t size, long n, int64_t *start, int64_t *boundary,
                   arca_err *err);

#endif
