#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum log_level g_level = LOG_INFO;
static enum log_format g_format = LOG_FMT_TEXT;

static const char *const level_names[] = {"debug", "info", "warning", "error", "fatal"};

void log_setup(enum log_level level, enum log_format format) {
  g_level = level;
  g_format = format;
}

enum log_level log_current_level(void) { return g_level; }
bool log_enabled(enum log_level level) { return level >= g_level; }

int log_level_parse(const char *s, enum log_level *out) {
  static const struct { const char *name; enum log_level level; } names[] = {
      {"debug", LOG_DEBUG}, {"info", LOG_INFO},   {"warn", LOG_WARN},
      {"warning", LOG_WARN}, {"error", LOG_ERROR}, {"fatal", LOG_FATAL},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (s && strcasecmp(s, names[i].name) == 0) {
      *out = names[i].level;
      return 0;
    }
  return -1;
}

int log_format_parse(const char *s, enum log_format *out) {
  if (s && strcmp(s, "text") == 0) *out = LOG_FMT_TEXT;
  else if (s && strcmp(s, "json") == 0) *out = LOG_FMT_JSON;
  else return -1;
  return 0;
}

struct line {
  char buf[8192];
  size_t len;
};

static void put(struct line *l, const char *s, size_t n) {
  if (l->len + n >= sizeof l->buf - 2) n = sizeof l->buf - 2 - l->len;
  memcpy(l->buf + l->len, s, n);
  l->len += n;
}
static void puts_(struct line *l, const char *s) { put(l, s, strlen(s)); }

static void put_json_string(struct line *l, const char *s) {
  put(l, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\') { esc[0] = '\\'; esc[1] = (char)*p; put(l, esc, 2); }
    else if (*p == '\n') put(l, "\\n", 2);
    else if (*p == '\t') put(l, "\\t", 2);
    else if (*p < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", *p); puts_(l, esc); }
    else put(l, (const char *)p, 1);
  }
  put(l, "\"", 1);
}

static void put_logfmt_value(struct line *l, const char *s) {
  bool quote = *s == '\0' || strpbrk(s, " =\"\t\n") != NULL;
  if (!quote) { puts_(l, s); return; }
  put_json_string(l, s); /* logfmt quoting follows the same escapes */
}

static void put_field(struct line *l, const char *k, const char *v) {
  if (g_format == LOG_FMT_JSON) {
    put(l, ",", 1);
    put_json_string(l, k);
    put(l, ":", 1);
    put_json_string(l, v);
  } else {
    put(l, " ", 1);
    puts_(l, k);
    put(l, "=", 1);
    put_logfmt_value(l, v);
  }
}

static void begin(struct line *l, enum log_level level, const char *msg) {
  struct timespec ts;
  struct tm tm;
  char when[64], frac[16];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(frac, sizeof frac, ".%06ldZ", ts.tv_nsec / 1000);
  strncat(when, frac, sizeof when - strlen(when) - 1);
  l->len = 0;
  if (g_format == LOG_FMT_JSON) {
    puts_(l, "{\"time\":\"");
    puts_(l, when);
    puts_(l, "\",\"level\":\"");
    puts_(l, level_names[level]);
    puts_(l, "\",\"msg\":");
    put_json_string(l, msg);
  } else {
    puts_(l, "time=\"");
    puts_(l, when);
    puts_(l, "\" level=");
    puts_(l, level_names[level]);
    puts_(l, " msg=");
    put_json_string(l, msg);
  }
}

static void finish(struct line *l) {
  if (g_format == LOG_FMT_JSON) put(l, "}", 1);
  l->buf[l->len++] = '\n';
  ssize_t off = 0;
  while (off < (ssize_t)l->len) {
    ssize_t w = write(STDERR_FILENO, l->buf + off, l->len - off);
    if (w <= 0) break;
    off += w;
  }
}

void log_kv(enum log_level level, const char *msg, ...) {
  if (!log_enabled(level)) return;
  struct line l;
  begin(&l, level, msg);
  va_list ap;
  va_start(ap, msg);
  for (;;) {
    const char *k = va_arg(ap, const char *);
    if (!k) break;
    const char *v = va_arg(ap, const char *);
    put_field(&l, k, v ? v : "");
  }
  va_end(ap);
  finish(&l);
}

void log_printf(enum log_level level, const char *fmt, ...) {
  if (!log_enabled(level)) return;
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct line l;
  begin(&l, level, msg);
  finish(&l);
}
