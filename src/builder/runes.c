#include "builder/runes.h"

#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

int32_t rune_decode(const char *s, size_t n, size_t *width) {
  if (n == 0) {
    *width = 0;
    return RUNE_EOF;
  }
  const uint8_t *p = (const uint8_t *)s;
  uint8_t b = p[0];
  *width = 1;
  if (b < 0x80) return b;
  size_t len;
  int32_t r, min;
  if ((b & 0xe0) == 0xc0) len = 2, r = b & 0x1f, min = 0x80;
  else if ((b & 0xf0) == 0xe0) len = 3, r = b & 0x0f, min = 0x800;
  else if ((b & 0xf8) == 0xf0) len = 4, r = b & 0x07, min = 0x10000;
  else return RUNE_RAW(b);
  if (n < len) return RUNE_RAW(b);
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80) return RUNE_RAW(b);
    r = (r << 6) | (p[i] & 0x3f);
  }
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return RUNE_RAW(b);
  *width = len;
  return r;
}

void rune_put(strbuf *sb, int32_t r) {
  char out[4];
  if (r >= RUNE_RAW_BASE) {
    out[0] = (char)(r - RUNE_RAW_BASE);
    sb_append(sb, out, 1);
  } else if (r < 0x80) {
    out[0] = (char)r;
    sb_append(sb, out, 1);
  } else if (r < 0x800) {
    out[0] = (char)(0xc0 | (r >> 6));
    out[1] = (char)(0x80 | (r & 0x3f));
    sb_append(sb, out, 2);
  } else if (r < 0x10000) {
    out[0] = (char)(0xe0 | (r >> 12));
    out[1] = (char)(0x80 | ((r >> 6) & 0x3f));
    out[2] = (char)(0x80 | (r & 0x3f));
    sb_append(sb, out, 3);
  } else {
    out[0] = (char)(0xf0 | (r >> 18));
    out[1] = (char)(0x80 | ((r >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((r >> 6) & 0x3f));
    out[3] = (char)(0x80 | (r & 0x3f));
    sb_append(sb, out, 4);
  }
}

bool rune_is_space(int32_t r) {
  switch (r) {
  case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xa0:
  case 0x1680: case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000:
    return true;
  }
  return r >= 0x2000 && r <= 0x200a;
}

/* Go classifies non-ASCII letters by Unicode tables; glibc's C.UTF-8 locale carries the
 * same tables, so borrow them rather than shipping our own. */
static locale_t utf8_locale;
static pthread_once_t utf8_locale_once = PTHREAD_ONCE_INIT;
static void utf8_locale_init(void) {
  utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static int32_t toupper_ascii(int32_t r) { return r >= 'a' && r <= 'z' ? r - 32 : r; }
static int32_t tolower_ascii(int32_t r) { return r >= 'A' && r <= 'Z' ? r + 32 : r; }

bool rune_is_letter(int32_t r) {
  if (r < 0x80) return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
  if (r >= RUNE_RAW_BASE) return false;
  pthread_once(&utf8_locale_once, utf8_locale_init);
  if (!utf8_locale) return false;
  return iswalpha_l((wint_t)r, utf8_locale) != 0;
}

static char *str_map_case(const char *s, bool upper) {
  strbuf sb;
  sb_init(&sb);
  size_t n = strlen(s);
  pthread_once(&utf8_locale_once, utf8_locale_init);
  for (size_t i = 0; i < n;) {
    size_t w;
    int32_t r = rune_decode(s + i, n - i, &w);
    if (r < 0x80) r = upper ? toupper_ascii(r) : tolower_ascii(r);
    else if (r < RUNE_RAW_BASE && utf8_locale && upper)
      r = (int32_t)towupper_l((wint_t)r, utf8_locale);
    else if (r < RUNE_RAW_BASE && utf8_locale)
      r = (int32_t)towlower_l((wint_t)r, utf8_locale);
    rune_put(&sb, r);
    i += w;
  }
  return sb_steal(&sb);
}

char *str_to_lower(const char *s) { return str_map_case(s, false); }
char *str_to_upper(const char *s) { return str_map_case(s, true); }

bool rune_is_digit(int32_t r) { return r >= '0' && r <= '9'; }

void str_trim_space(const char *s, size_t n, size_t *start, size_t *end) {
  size_t i = str_skip_space(s, n);
  /* UTF-8 cannot be decoded backwards reliably with raw bytes around: scan forward */
  size_t last_end = i;
  for (size_t k = i; k < n;) {
    size_t w;
    int32_t r = rune_decode(s + k, n - k, &w);
    k += w;
    if (!rune_is_space(r)) last_end = k;
  }
  *start = i;
  *end = last_end;
}

size_t str_skip_space(const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t w;
    int32_t r = rune_decode(s + i, n - i, &w);
    if (!rune_is_space(r)) break;
    i += w;
  }
  return i;
}

/* strconv.IsPrint, close enough: Go prints every graphic rune as is; the runes it escapes
 * that matter in practice are the C1 controls, the no-break space and the soft hyphen. */
static bool go_is_print(int32_t r) {
  if (r < 0x20 || r == 0x7f) return false;
  if (r >= 0x80 && r <= 0xa0) return false;
  if (r == 0xad || r == 0xfeff || (r >= 0x2028 && r <= 0x2029)) return false;
  if (r >= 0xe000 && r <= 0xf8ff) return false; /* private use */
  return true;
}

char *go_quote(const char *s) {
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, "\"");
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    size_t w;
    int32_t r = rune_decode(s + i, n - i, &w);
    if (r >= RUNE_RAW_BASE) {
      sb_printf(&sb, "\\x%02x", (unsigned)(r - RUNE_RAW_BASE));
    } else if (r == '"' || r == '\\') {
      sb_printf(&sb, "\\%c", (char)r);
    } else if (go_is_print(r)) {
      sb_append(&sb, s + i, w);
    } else {
      switch (r) {
      case '\a': sb_puts(&sb, "\\a"); break;
      case '\b': sb_puts(&sb, "\\b"); break;
      case '\f': sb_puts(&sb, "\\f"); break;
      case '\n': sb_puts(&sb, "\\n"); break;
      case '\r': sb_puts(&sb, "\\r"); break;
      case '\t': sb_puts(&sb, "\\t"); break;
      case '\v': sb_puts(&sb, "\\v"); break;
      default:
        if (r < 0x80) sb_printf(&sb, "\\x%02x", (unsigned)r);
        else if (r < 0x10000) sb_printf(&sb, "\\u%04x", (unsigned)r);
        else sb_printf(&sb, "\\U%08x", (unsigned)r);
      }
    }
    i += w;
  }
  sb_puts(&sb, "\"");
  return sb_steal(&sb);
}

static size_t to_runes(const char *s, int32_t **out) {
  size_t n = strlen(s), count = 0;
  int32_t *runes = xmalloc((n + 1) * sizeof *runes);
  for (size_t i = 0; i < n;) {
    size_t w;
    runes[count++] = rune_decode(s + i, n - i, &w);
    i += w;
  }
  *out = runes;
  return count;
}

size_t rune_levenshtein(const char *a, const char *b) {
  int32_t *ra, *rb;
  size_t na = to_runes(a, &ra), nb = to_runes(b, &rb);
  size_t *row = xmalloc((nb + 1) * sizeof *row);
  for (size_t j = 0; j <= nb; j++) row[j] = j;
  for (size_t i = 1; i <= na; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= nb; j++) {
      size_t up = row[j];
      size_t best = diag + (ra[i - 1] == rb[j - 1] ? 0 : 1);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  size_t d = row[nb];
  free(row);
  free(ra);
  free(rb);
  return d;
}
