#include "builder/build_fmt.h"

#include <inttypes.h>
#include <string.h>

#include "builder/runes.h"
#include "common/cleanup.h"

void go_fmt_q_strv(strbuf *sb, const json_t *arr) {
  sb_puts(sb, "[");
  for (size_t i = 0; json_is_array(arr) && i < json_array_size(arr); i++) {
    if (i) sb_puts(sb, " ");
    autofree char *q = go_quote(json_string_value(json_array_get(arr, i)) ?: "");
    sb_puts(sb, q);
  }
  sb_puts(sb, "]");
}

void go_fmt_v_strv(strbuf *sb, const json_t *arr) {
  sb_puts(sb, "[");
  for (size_t i = 0; json_is_array(arr) && i < json_array_size(arr); i++) {
    if (i) sb_puts(sb, " ");
    sb_puts(sb, json_string_value(json_array_get(arr, i)) ?: "");
  }
  sb_puts(sb, "]");
}

/* Go's fmtFrac: the fraction of v below 10^prec, trailing zeros dropped. */
static void frac(char *buf, size_t *w, uint64_t *v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; i++) {
    int digit = (int)(*v % 10);
    print = print || digit != 0;
    if (print) buf[--(*w)] = (char)('0' + digit);
    *v /= 10;
  }
  if (print) buf[--(*w)] = '.';
}

static void put_int(char *buf, size_t *w, uint64_t v) {
  if (v == 0) {
    buf[--(*w)] = '0';
    return;
  }
  while (v > 0) {
    buf[--(*w)] = (char)('0' + v % 10);
    v /= 10;
  }
}

void go_duration(strbuf *sb, int64_t d) {
  char buf[32];
  size_t w = sizeof buf;
  uint64_t u = d < 0 ? (uint64_t)(-(d + 1)) + 1 : (uint64_t)d;
  bool neg = d < 0;
  if (u < 1000000000ULL) {
    int prec = 0;
    w--;
    buf[w] = 's';
    w--;
    if (u == 0) {
      sb_puts(sb, "0s");
      return;
    } else if (u < 1000ULL) {
      prec = 0;
      buf[w] = 'n';
    } else if (u < 1000000ULL) {
      prec = 3;
      /* "µ" is two bytes in UTF-8 */
      w--;
      memcpy(buf + w, "\xc2\xb5", 2);
    } else {
      prec = 6;
      buf[w] = 'm';
    }
    frac(buf, &w, &u, prec);
    put_int(buf, &w, u);
  } else {
    w--;
    buf[w] = 's';
    frac(buf, &w, &u, 9);
    put_int(buf, &w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      put_int(buf, &w, u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        put_int(buf, &w, u);
      }
    }
  }
  if (neg) buf[--w] = '-';
  sb_append(sb, buf + w, sizeof buf - w);
}

/* fmt's %q of an int: a quoted rune literal (strconv.QuoteRune). */
static void quote_rune(strbuf *sb, int64_t v) {
  int32_t r = v < 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ? 0xfffd : (int32_t)v;
  switch (r) {
  case '\a':
    sb_puts(sb, "'\\a'");
    return;
  case '\b':
    sb_puts(sb, "'\\b'");
    return;
  case '\f':
    sb_puts(sb, "'\\f'");
    return;
  case '\n':
    sb_puts(sb, "'\\n'");
    return;
  case '\r':
    sb_puts(sb, "'\\r'");
    return;
  case '\t':
    sb_puts(sb, "'\\t'");
    return;
  case '\v':
    sb_puts(sb, "'\\v'");
    return;
  case '\'':
    sb_puts(sb, "'\\''");
    return;
  case '\\':
    sb_puts(sb, "'\\\\'");
    return;
  default:
    break;
  }
  if (r < 0x20 || r == 0x7f) {
    sb_printf(sb, "'\\x%02x'", (unsigned)r);
    return;
  }
  if (r >= 0x80 && r < 0xa0) {
    sb_printf(sb, "'\\u%04x'", (unsigned)r);
    return;
  }
  sb_puts(sb, "'");
  rune_put(sb, r);
  sb_puts(sb, "'");
}

static int64_t int_field(const json_t *o, const char *k) {
  return json_integer_value(json_object_get(o, k));
}

void go_fmt_q_health(strbuf *sb, const json_t *h) {
  if (!json_is_object(h)) {
    sb_puts(sb, "%!q(<nil>)");
    return;
  }
  sb_puts(sb, "&{");
  go_fmt_q_strv(sb, json_object_get(h, "Test"));
  static const char *const durs[] = {"Interval", "Timeout", "StartPeriod", "StartInterval"};
  for (size_t i = 0; i < ARRAY_LEN(durs); i++) {
    strbuf d;
    sb_init(&d);
    go_duration(&d, int_field(h, durs[i]));
    autofree char *q = go_quote(d.buf ? d.buf : "");
    sb_free(&d);
    sb_printf(sb, " %s", q);
  }
  sb_puts(sb, " ");
  quote_rune(sb, int_field(h, "Retries"));
  sb_puts(sb, "}");
}

void go_json_string(strbuf *sb, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  sb_puts(sb, "\"");
  size_t start = 0, i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) {
      if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
        i++;
        continue;
      }
      sb_append(sb, s + start, i - start);
      switch (c) {
      case '"':
        sb_puts(sb, "\\\"");
        break;
      case '\\':
        sb_puts(sb, "\\\\");
        break;
      case '\n':
        sb_puts(sb, "\\n");
        break;
      case '\r':
        sb_puts(sb, "\\r");
        break;
      case '\t':
        sb_puts(sb, "\\t");
        break;
      case '\b':
        sb_puts(sb, "\\b");
        break;
      case '\f':
        sb_puts(sb, "\\f");
        break;
      default: {
        char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf], 0};
        sb_puts(sb, u);
      }
      }
      i++;
      start = i;
      continue;
    }
    size_t w;
    int32_t r = rune_decode(s + i, n - i, &w);
    if (r >= RUNE_RAW_BASE || r == 0x2028 || r == 0x2029) {
      sb_append(sb, s + start, i - start);
      if (r >= RUNE_RAW_BASE)
        sb_puts(sb, "\\ufffd");
      else
        sb_printf(sb, "\\u%04x", (unsigned)r);
      i += w;
      start = i;
      continue;
    }
    i += w;
  }
  sb_append(sb, s + start, n - start);
  sb_puts(sb, "\"");
}
