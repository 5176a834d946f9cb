#include "common/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

static void oom(void) {
  static const char m[] = "arcad: out of memory\n";
  (void)!write(2, m, sizeof m - 1);
  abort();
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom();
  return p;
}
void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) oom();
  return p;
}
void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) oom();
  return p;
}
char *xstrdup(const char *s) {
  char *p = strdup(s ? s : "");
  if (!p) oom();
  return p;
}
char *xstrndup(const char *s, size_t n) {
  char *p = strndup(s, n);
  if (!p) oom();
  return p;
}
char *xasprintf(const char *fmt, ...) {
  va_list ap;
  char *out = NULL;
  va_start(ap, fmt);
  int r = vasprintf(&out, fmt, ap);
  va_end(ap);
  if (r < 0) oom();
  return out;
}

bool str_has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}
bool str_has_suffix(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && memcmp(s + a - b, suffix, b) == 0;
}
bool str_is_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!s[i] || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

void sb_init(strbuf *sb) { sb->buf = NULL; sb->len = sb->cap = 0; }
void sb_free(strbuf *sb) { free(sb->buf); sb_init(sb); }
void sb_append(strbuf *sb, const void *data, size_t n) {
  if (sb->len + n + 1 > sb->cap) {
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + n + 1) cap *= 2;
    sb->buf = xrealloc(sb->buf, cap);
    sb->cap = cap;
  }
  if (n) memcpy(sb->buf + sb->len, data, n);
  sb->len += n;
  sb->buf[sb->len] = '\0';
}
void sb_puts(strbuf *sb, const char *s) { sb_append(sb, s, strlen(s)); }
void sb_printf(strbuf *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0) oom();
  sb_append(sb, s, (size_t)n);
  free(s);
}
char *sb_steal(strbuf *sb) {
  if (!sb->buf) sb_append(sb, "", 0);
  char *p = sb->buf;
  sb_init(sb);
  return p;
}

int mkdir_p(const char *path, mode_t mode, arca_err *err) {
  autofree char *p = xstrdup(path);
  size_t n = strlen(p);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] != '/' && p[i] != '\0') continue;
    char saved = p[i];
    p[i] = '\0';
    if (mkdir(p, mode) < 0 && errno != EEXIST) return err_errno(err, 500, errno, "mkdir %s", p);
    p[i] = saved;
  }
  struct stat st;
  if (stat(path, &st) < 0) return err_errno(err, 500, errno, "stat %s", path);
  if (!S_ISDIR(st.st_mode)) return err_set(err, 500, "%s exists and is not a directory", path);
  return 0;
}

ssize_t write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(fd, p + off, n - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    off += (size_t)w;
  }
  return (ssize_t)off;
}

ssize_t read_all(int fd, void *buf, size_t n) {
  char *p = buf;
  size_t off = 0;
  while (off < n) {
    ssize_t r = read(fd, p + off, n - off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    off += (size_t)r;
  }
  return (ssize_t)off;
}

int fsync_dir_of(const char *path) {
  autofree char *copy = xstrdup(path);
  autoclose int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  return fsync(fd);
}

int write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, arca_err *err) {
  autofree char *tmp = xasprintf("%s.tmp.%d", path, (int)gettid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return err_errno(err, 500, errno, "create %s", tmp);
  if (write_all(fd, data, n) < 0 || fsync(fd) < 0) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return err_errno(err, 500, e, "write %s", tmp);
  }
  close(fd);
  if (rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return err_errno(err, 500, e, "rename %s", path);
  }
  fsync_dir_of(path);
  return 0;
}

int write_file_replace(const char *path, const void *data, size_t n, mode_t mode, arca_err *err) {
  autofree char *tmp = xasprintf("%s.tmp.%d", path, (int)gettid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return err_errno(err, 500, errno, "create %s", tmp);
  if (write_all(fd, data, n) < 0) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return err_errno(err, 500, e, "write %s", tmp);
  }
  close(fd);
  if (rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return err_errno(err, 500, e, "rename %s", path);
  }
  return 0;
}

int read_file(const char *path, size_t max, char **out, size_t *out_len, arca_err *err) {
  autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err_errno(err, errno == ENOENT ? 404 : 500, errno, "open %s", path);
  strbuf sb;
  sb_init(&sb);
  char chunk[16384];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      sb_free(&sb);
      return err_errno(err, 500, e, "read %s", path);
    }
    if (r == 0) break;
    if (sb.len + (size_t)r > max) {
      sb_free(&sb);
      return err_set(err, 500, "%s is larger than %zu bytes", path, max);
    }
    sb_append(&sb, chunk, (size_t)r);
  }
  if (out_len) *out_len = sb.len;
  *out = sb_steal(&sb);
  return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (flag == FTW_DP || flag == FTW_D) return rmdir(p) < 0 && errno != ENOENT ? -1 : 0;
  return unlink(p) < 0 && errno != ENOENT ? -1 : 0;
}

int rm_rf(const char *path, arca_err *err) {
  struct stat st;
  if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : err_errno(err, 500, errno, "stat %s", path);
  if (!S_ISDIR(st.st_mode)) {
    if (unlink(path) < 0 && errno != ENOENT) return err_errno(err, 500, errno, "remove %s", path);
    return 0;
  }
  if (nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
    return err_errno(err, 500, errno, "remove %s", path);
  return 0;
}

void random_hex(char *out, size_t nbytes) {
  unsigned char raw[64];
  static const char digits[] = "0123456789abcdef";
  size_t done = 0;
  while (done < nbytes) {
    size_t want = nbytes - done > sizeof raw ? sizeof raw : nbytes - done;
    ssize_t r = getrandom(raw, want, 0);
    if (r <= 0) continue;
    for (ssize_t i = 0; i < r; i++) {
      out[2 * (done + i)] = digits[raw[i] >> 4];
      out[2 * (done + i) + 1] = digits[raw[i] & 15];
    }
    done += (size_t)r;
  }
  out[2 * nbytes] = '\0';
}

int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
int64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void format_rfc3339nano(int64_t ns, char *out, size_t n) {
  if (ns <= 0) {
    snprintf(out, n, "0001-01-01T00:00:00Z");
    return;
  }
  time_t sec = (time_t)(ns / 1000000000LL);
  long frac = (long)(ns % 1000000000LL);
  struct tm tm;
  gmtime_r(&sec, &tm);
  char base[40];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  if (frac == 0) {
    snprintf(out, n, "%sZ", base);
    return;
  }
  char f[16];
  snprintf(f, sizeof f, "%09ld", frac);
  for (int i = 8; i > 0 && f[i] == '0'; i--) f[i] = '\0'; /* Go trims trailing zeros */
  snprintf(out, n, "%s.%sZ", base, f);
}

static int parse_digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)**p)) return -1;
    v = v * 10 + (**p - '0');
    (*p)++;
  }
  *out = v;
  return 0;
}

int parse_rfc3339(const char *s, int64_t *ns) {
  const char *p = s;
  int Y, M, D, h = 0, m = 0, sec = 0;
  if (parse_digits(&p, 4, &Y) || *p++ != '-' || parse_digits(&p, 2, &M) || *p++ != '-' ||
      parse_digits(&p, 2, &D))
    return -1;
  long frac = 0;
  long offset = 0;
  if (*p == 'T' || *p == 't' || *p == ' ') {
    p++;
    if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &m)) return -1;
    if (*p == ':') {
      p++;
      if (parse_digits(&p, 2, &sec)) return -1;
    }
    if (*p == '.') {
      p++;
      int digits = 0;
      while (isdigit((unsigned char)*p)) {
        if (digits < 9) { frac = frac * 10 + (*p - '0'); digits++; }
        p++;
      }
      while (digits++ < 9) frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') p++;
    else if (*p == '+' || *p == '-') {
      int sign = *p == '-' ? -1 : 1, oh, om;
      p++;
      if (parse_digits(&p, 2, &oh)) return -1;
      if (*p == ':') p++;
      if (parse_digits(&p, 2, &om)) return -1;
      offset = sign * (oh * 3600L + om * 60L);
    }
  }
  if (*p) return -1;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return -1;
  struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
  time_t t = timegm(&tm);
  *ns = ((int64_t)t - offset) * 1000000000LL + frac;
  return 0;
}

int parse_go_duration(const char *s, int64_t *ns) {
  const char *p = s;
  int sign = 1;
  if (*p == '-' || *p == '+') { if (*p == '-') sign = -1; p++; }
  if (strcmp(p, "0") == 0) { *ns = 0; return 0; }
  if (!*p) return -1;
  double total = 0;
  while (*p) {
    char *end;
    if (!isdigit((unsigned char)*p) && *p != '.') return -1;
    double v = strtod(p, &end);
    if (end == p) return -1;
    p = end;
    double unit;
    if (str_has_prefix(p, "ns")) { unit = 1; p += 2; }
    else if (str_has_prefix(p, "us") || str_has_prefix(p, "\xc2\xb5s")) { unit = 1e3; p += (*p == 'u') ? 2 : 3; }
    else if (str_has_prefix(p, "ms")) { unit = 1e6; p += 2; }
    else if (*p == 's') { unit = 1e9; p++; }
    else if (*p == 'm') { unit = 60e9; p++; }
    else if (*p == 'h') { unit = 3600e9; p++; }
    else return -1;
    total += v * unit;
  }
  *ns = (int64_t)(sign * total);
  return 0;
}

int parse_docker_time(const char *s, int64_t now, int64_t *ns, arca_err *err) {
  if (!s || !*s) return err_set(err, 400, "empty timestamp");
  int64_t d;
  if (parse_go_duration(s, &d) == 0 && strpbrk(s, "hmsu") != NULL) {
    *ns = now - d;
    return 0;
  }
  /* unix seconds with optional fraction */
  const char *p = s;
  bool numeric = *p != '\0';
  int dots = 0;
  for (; *p; p++) {
    if (*p == '.') dots++;
    else if (!isdigit((unsigned char)*p) && !(p == s && *p == '-')) numeric = false;
  }
  if (numeric && dots <= 1) {
    char *dot = strchr(s, '.');
    int64_t sec = strtoll(s, NULL, 10);
    int64_t frac = 0;
    if (dot) {
      int digits = 0;
      for (const char *q = dot + 1; *q && digits < 9; q++, digits++) frac = frac * 10 + (*q - '0');
      while (digits++ < 9) frac *= 10;
    }
    *ns = sec * 1000000000LL + frac;
    return 0;
  }
  if (parse_rfc3339(s, ns) == 0) return 0;
  return err_set(err, 400, "failed to parse value as time or duration: \"%s\"", s);
}

void human_duration(int64_t ns, char *out, size_t n) {
  double seconds = (double)ns / 1e9;
  long s = (long)seconds;
  if (seconds < 1) snprintf(out, n, "Less than a second");
  else if (s == 1) snprintf(out, n, "1 second");
  else if (seconds < 60) snprintf(out, n, "%ld seconds", s);
  else if ((long)(seconds / 60) == 1) snprintf(out, n, "About a minute");
  else if (seconds / 60 < 60) snprintf(out, n, "%ld minutes", (long)(seconds / 60));
  else {
    long hours = (long)(seconds / 3600 + 0.5);
    if (hours == 1) snprintf(out, n, "About an hour");
    else if (hours < 48) snprintf(out, n, "%ld hours", hours);
    else if (hours < 24 * 7 * 2) snprintf(out, n, "%ld days", hours / 24);
    else if (hours < 24 * 30 * 2) snprintf(out, n, "%ld weeks", hours / 24 / 7);
    else if (hours < 24 * 365 * 2) snprintf(out, n, "%ld months", hours / 24 / 30);
    else snprintf(out, n, "%ld years", (long)(hours / 24 / 365));
  }
}

void human_size(double bytes, char *out, size_t n) {
  static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  int i = 0;
  while (bytes >= 1000 && i < 8) {
    bytes /= 1000;
    i++;
  }
  /* %.4g then trim, as Go's units.HumanSizeWithPrecision(size, 3) */
  char num[32];
  snprintf(num, sizeof num, "%.3g", bytes);
  snprintf(out, n, "%s%s", num, units[i]);
}
