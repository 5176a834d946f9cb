/* Structured logging to stderr: logfmt by default, JSON lines with --log-format json.
 * Each line is written with one write(2), so lines of different threads never mix.
 * Never log credentials or X-Registry-Auth. */
#ifndef ARCA_COMMON_LOG_H
#define ARCA_COMMON_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };
enum log_format { LOG_FMT_TEXT = 0, LOG_FMT_JSON };

void log_setup(enum log_level level, enum log_format format);
enum log_level log_current_level(void);
bool log_enabled(enum log_level level);
/* "debug" "info" "warn" "error" "fatal" (and "warning"); -1 when unknown. */
int log_level_parse(const char *s, enum log_level *out);
int log_format_parse(const char *s, enum log_format *out);

/* msg, then key/value string pairs, NULL-terminated: log_kv(LOG_INFO, "x", "k", "v", NULL) */
void log_kv(enum log_level level, const char *msg, ...) __attribute__((sentinel));
void log_printf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_printf(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) log_printf(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_printf(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_printf(LOG_ERROR, __VA_ARGS__)

#endif
