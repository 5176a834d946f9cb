/* Small helpers shared by every module: strings, files, ids, time. */
#ifndef ARCA_COMMON_UTIL_H
#define ARCA_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/err.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocating printf; aborts on out of memory (as every allocation here does). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);

bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
bool str_is_hex(const char *s, size_t n);

/* Growable byte buffer. */
typedef struct strbuf {
  char *buf;
  size_t len, cap;
} strbuf;
void sb_init(strbuf *sb);
void sb_free(strbuf *sb);
void sb_append(strbuf *sb, const void *data, size_t n);
void sb_puts(strbuf *sb, const char *s);
void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *sb_steal(strbuf *sb); /* NUL-terminated, caller frees */

/* Files */
int mkdir_p(const char *path, mode_t mode, arca_err *err);
/* Writes data to path.tmp, fsyncs, renames over path. */
int write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, arca_err *err);
/* The same without fsync, for files that are regenerated when lost (bundles). */
int write_file_replace(const char *path, const void *data, size_t n, mode_t mode, arca_err *err);
/* Reads a whole (small) file; *out is NUL-terminated. max bounds the size. */
int read_file(const char *path, size_t max, char **out, size_t *out_len, arca_err *err);
int rm_rf(const char *path, arca_err *err);
ssize_t write_all(int fd, const void *buf, size_t n);
ssize_t read_all(int fd, void *buf, size_t n);
int fsync_dir_of(const char *path);

/* Random lowercase hex of n bytes of entropy (2n chars) into out (2n+1 bytes). */
void random_hex(char *out, size_t nbytes);

/* Time */
int64_t now_ns(void);          /* CLOCK_REALTIME nanoseconds */
int64_t monotonic_ns(void);
/* RFC3339 with nanoseconds, UTC: 2006-01-02T15:04:05.999999999Z (Docker's format). */
void format_rfc3339nano(int64_t ns, char *out, size_t n);
/* Parses RFC3339/RFC3339Nano (with Z or offset); returns ns. */
int parse_rfc3339(const char *s, int64_t *ns);
/* Docker's since/until forms: unix seconds ("1700000000", "1700000000.123"), RFC3339
 * timestamps, date-only, or a Go duration relative to now ("10m", "1h30m"). */
int parse_docker_time(const char *s, int64_t now, int64_t *ns, arca_err *err);
/* Go duration: "1h2m3.5s", "150ms", "10us", "0". */
int parse_go_duration(const char *s, int64_t *ns);
/* Docker's HumanDuration: "About a minute", "2 hours", "Less than a second". */
void human_duration(int64_t ns, char *out, size_t n);
/* Docker's units.HumanSize (decimal, 3 significant digits): "1.23MB". */
void human_size(double bytes, char *out, size_t n);

#endif
