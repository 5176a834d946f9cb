/* k8s-file records and their times. Hand-rolled rather than parse_rfc3339/gmtime because
 * they run once per log line: a million-line log must not cost a million timegm calls. */
#include <string.h>

#include "engine/logs_internal.h"

static inline bool is_digit(char c) { return (unsigned char)(c - '0') < 10; }
static inline int two_digits(const char *p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

bool log_time_parse(const char *s, size_t n, int64_t *ns) {
  static const char shape[] = "dddd-dd-ddTdd:dd:dd";
  if (n < 20) return false;
  for (size_t i = 0; i < 19; i++) {
    if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i]) return false;
  }
  int year = two_digits(s) * 100 + two_digits(s + 2);
  int month = two_digits(s + 5), day = two_digits(s + 8);
  int hour = two_digits(s + 11), min = two_digits(s + 14), sec = two_digits(s + 17);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
    return false;
  size_t i = 19;
  int64_t frac = 0;
  if (s[i] == '.') {
    i++;
    size_t digits = 0;
    while (i < n && is_digit(s[i])) {
      if (digits < 9) frac = frac * 10 + (s[i] - '0');
      digits++;
      i++;
    }
    if (digits == 0) return false;
    for (; digits < 9; digits++) frac *= 10;
  }
  if (i >= n) return false;
  int64_t offset = 0;
  if (s[i] == 'Z') {
    i++;
  } else if (s[i] == '+' || s[i] == '-') {
    if (n - i < 6 || !is_digit(s[i + 1]) || !is_digit(s[i + 2]) || s[i + 3] != ':' ||
        !is_digit(s[i + 4]) || !is_digit(s[i + 5]))
      return false;
    int oh = two_digits(s + i + 1), om = two_digits(s + i + 4);
    if (oh > 23 || om > 59) return false;
    offset = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return false;
  }
  if (i != n) return false;
  int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
  *ns = (secs - offset) * 1000000000LL + frac;
  return true;
}

bool log_record_parse(const char *line, size_t n, log_record *rec) {
  /* the longest time conmon writes is 35 bytes; leave room for longer fractions */
  const char *sp = memchr(line, ' ', n < 48 ? n : 48);
  if (!sp) return false;
  size_t time_len = (size_t)(sp - line);
  if (!log_time_parse(line, time_len, &rec->ts_ns)) return false;
  const char *p = sp + 1;
  size_t left = n - time_len - 1;
  if (left < 8) return false; /* "stdout F" */
  if (memcmp(p, "stdout ", 7) == 0) rec->stream = LOG_STDOUT;
  else if (memcmp(p, "stderr ", 7) == 0) rec->stream = LOG_STDERR;
  else return false;
  p += 7;
  left -= 7;
  if (*p == 'F') rec->partial = false;
  else if (*p == 'P') rec->partial = true;
  else return false;
  p++;
  left--;
  if (left == 0) { /* tolerated: an empty text without its separating space */
    rec->text = p;
    rec->text_len = 0;
    return true;
  }
  if (*p != ' ') return false;
  rec->text = p + 1;
  rec->text_len = left - 1;
  return true;
}

static inline void put2(char *p, int v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
}

void log_time_format(log_time_cache *cache, int64_t ns, char out[LOG_TIME_LEN]) {
  int64_t sec = ns / 1000000000LL, frac = ns % 1000000000LL;
  if (frac < 0) { /* floor, for times before 1970 */
    frac += 1000000000LL;
    sec--;
  }
  if (!cache->valid || cache->sec != sec) {
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
      rem += 86400;
      days--;
    }
    int64_t year;
    int month, day;
    civil_from_days(days, &year, &month, &day);
    if (year < 0) year = 0; /* Go would print more digits; no container logged then */
    if (year > 9999) year = 9999;
    char *p = cache->prefix;
    put2(p, (int)(year / 100));
    put2(p + 2, (int)(year % 100));
    p[4] = '-';
    put2(p + 5, month);
    p[7] = '-';
    put2(p + 8, day);
    p[10] = 'T';
    put2(p + 11, (int)(rem / 3600));
    p[13] = ':';
    put2(p + 14, (int)(rem / 60 % 60));
    p[16] = ':';
    put2(p + 17, (int)(rem % 60));
    p[19] = '.';
    cache->sec = sec;
    cache->valid = true;
  }
  memcpy(out, cache->prefix, 20);
  for (int i = 28; i >= 20; i--) {
    out[i] = (char)('0' + frac % 10);
    frac /= 10;
  }
  out[29] = 'Z';
}
