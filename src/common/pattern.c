#include "common/pattern.h"

#include <stdint.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

#define BAD_PATTERN "syntax error in pattern"
#define RUNE_ERROR 0xFFFDu

/* ---- UTF-8, the way Go reads it ---------------------------------------------------- */

/* One rune; an invalid or cut-short sequence reads as U+FFFD of width 1. */
static uint32_t utf8_decode(const char *text, size_t len, size_t *width) {
  const unsigned char *s = (const unsigned char *)text;
  *width = 1;
  if (len == 0) return RUNE_ERROR;
  if (s[0] < 0x80) return s[0];
  size_t n;
  uint32_t rune, min;
  if (s[0] >= 0xC2 && s[0] <= 0xDF) {
    n = 2, rune = s[0] & 0x1F, min = 0x80;
  } else if ((s[0] & 0xF0) == 0xE0) {
    n = 3, rune = s[0] & 0x0F, min = 0x800;
  } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
    n = 4, rune = s[0] & 0x07, min = 0x10000;
  } else {
    return RUNE_ERROR;
  }
  if (len < n) return RUNE_ERROR;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return RUNE_ERROR;
    rune = (rune << 6) | (s[i] & 0x3F);
  }
  if (rune < min || rune > 0x10FFFF || (rune >= 0xD800 && rune <= 0xDFFF)) return RUNE_ERROR;
  *width = n;
  return rune;
}

/* Go's unicode.IsSpace. */
static bool rune_is_space(uint32_t r) {
  switch (r) {
  case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
  case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
  case 0x3000:
    return true;
  default:
    return r >= 0x2000 && r <= 0x200A;
  }
}

/* Go's strings.TrimSpace on s[0..len): returns the kept length, *start its offset. */
static size_t trim_space(const char *s, size_t len, size_t *start) {
  size_t begin = 0, end = len, width;
  while (begin < end && rune_is_space(utf8_decode(s + begin, end - begin, &width)))
    begin += width;
  while (end > begin) {
    size_t last = end - 1;
    while (last > begin && end - last < 4 && ((unsigned char)s[last] & 0xC0) == 0x80) last--;
    uint32_t r = utf8_decode(s + last, end - last, &width);
    if (last + width != end) break; /* a stray continuation byte: not a space */
    if (!rune_is_space(r)) break;
    end = last;
  }
  *start = begin;
  return end - begin;
}

/* ---- paths ------------------------------------------------------------------------- */

char *path_clean(const char *path) {
  size_t n = strlen(path);
  if (n == 0) return xstrdup(".");
  bool rooted = path[0] == '/';
  char *out = xmalloc(n + 2);
  size_t w = 0, r = 0, dotdot = 0; /* dotdot: where ".." can no longer back up */
  if (rooted) out[w++] = '/', r = 1, dotdot = 1;
  while (r < n) {
    if (path[r] == '/') {
      r++;
    } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
      r++;
    } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
      r += 2;
      if (w > dotdot) {
        w--;
        while (w > dotdot && out[w] != '/') w--;
      } else if (!rooted) {
        if (w > 0) out[w++] = '/';
        out[w++] = '.', out[w++] = '.';
        dotdot = w;
      }
    } else {
      if ((rooted && w != 1) || (!rooted && w != 0)) out[w++] = '/';
      while (r < n && path[r] != '/') out[w++] = path[r++];
    }
  }
  if (w == 0) out[w++] = '.';
  out[w] = '\0';
  return out;
}

/* ---- Go's path.Match --------------------------------------------------------------- */

/* A leading run of '*' (sets *star), then the chunk up to the next '*' outside a class:
 * returns where the chunk starts, *chunk_len its length. */
static const char *scan_chunk(const char *pat, bool *star, size_t *chunk_len) {
  *star = false;
  while (*pat == '*') pat++, *star = true;
  bool in_class = false;
  size_t i = 0;
  for (; pat[i]; i++) {
    if (pat[i] == '\\') {
      if (pat[i + 1]) i++;
    } else if (pat[i] == '[') {
      in_class = true;
    } else if (pat[i] == ']') {
      in_class = false;
    } else if (pat[i] == '*' && !in_class) {
      break;
    }
  }
  *chunk_len = i;
  return pat;
}

/* One character of a class, maybe `\`-escaped; -1 when the class is malformed (a bare
 * '-' or ']', a bad UTF-8 sequence, or nothing after it). */
static int class_char(const char **cursor, const char *end, uint32_t *rune) {
  const char *c = *cursor;
  if (c == end || *c == '-' || *c == ']') return -1;
  if (*c == '\\' && ++c == end) return -1;
  size_t width;
  *rune = utf8_decode(c, (size_t)(end - c), &width);
  if (*rune == RUNE_ERROR && width == 1) return -1;
  c += width;
  if (c == end) return -1;
  *cursor = c;
  return 0;
}

/* Matches chunk against the start of s: *ok, and *used bytes of s. -1 for a malformed
 * chunk. After a mismatch it reads on through the chunk so that a malformed one is
 * reported whatever s holds, as Go does. */
static int match_chunk(const char *chunk, size_t chunk_len, const char *s, size_t s_len,
                       bool *ok, size_t *used) {
  const char *c = chunk, *end = chunk + chunk_len;
  size_t pos = 0, width;
  bool failed = false;
  while (c < end) {
    if (!failed && pos == s_len) failed = true;
    switch (*c) {
    case '[': {
      uint32_t r = 0;
      if (!failed) {
        r = utf8_decode(s + pos, s_len - pos, &width);
        pos += width;
      }
      c++;
      bool negated = c < end && *c == '^';
      if (negated) c++;
      bool in_class = false;
      for (size_t nranges = 0;; nranges++) {
        if (c < end && *c == ']' && nranges > 0) {
          c++;
          break;
        }
        uint32_t lo, hi;
        if (class_char(&c, end, &lo) < 0) return -1;
        hi = lo;
        if (*c == '-') {
          c++;
          if (class_char(&c, end, &hi) < 0) return -1;
        }
        if (lo <= r && r <= hi) in_class = true;
      }
      if (in_class == negated) failed = true;
      break;
    }
    case '?':
      if (!failed) {
        if (s[pos] == '/') failed = true;
        utf8_decode(s + pos, s_len - pos, &width);
        pos += width;
      }
      c++;
      break;
    case '\\':
      if (++c == end) return -1;
      /* the escaped character is a literal */
      __attribute__((fallthrough));
    default:
      if (!failed) {
        if (*c != s[pos]) failed = true;
        pos++;
      }
      c++;
    }
  }
  *ok = !failed;
  *used = pos;
  return 0;
}

static int glob_match_n(const char *pat, const char *name, size_t name_len, bool *matched) {
  *matched = false;
  while (*pat) {
    bool star, ok;
    size_t chunk_len, used;
    const char *chunk = scan_chunk(pat, &star, &chunk_len);
    const char *rest = chunk + chunk_len;
    if (star && chunk_len == 0) {
      *matched = memchr(name, '/', name_len) == NULL;
      return 0;
    }
    if (match_chunk(chunk, chunk_len, name, name_len, &ok, &used) < 0) return -1;
    /* The last chunk must use up the name, or a star before it may still do so. */
    if (ok && (used == name_len || *rest)) {
      name += used, name_len -= used, pat = rest;
      continue;
    }
    bool advanced = false;
    for (size_t i = 0; star && !advanced && i < name_len && name[i] != '/'; i++) {
      size_t left = name_len - i - 1;
      if (match_chunk(chunk, chunk_len, name + i + 1, left, &ok, &used) < 0) return -1;
      if (!ok || (!*rest && used != left)) continue;
      name += i + 1 + used, name_len = left - used, pat = rest;
      advanced = true;
    }
    if (advanced) continue;
    while (*rest) {
      rest = scan_chunk(rest, &star, &chunk_len);
      if (match_chunk(rest, chunk_len, "", 0, &ok, &used) < 0) return -1;
      rest += chunk_len;
    }
    return 0;
  }
  *matched = name_len == 0;
  return 0;
}

int glob_match(const char *pattern, const char *name, bool *matched, arca_err *err) {
  if (glob_match_n(pattern, name, strlen(name), matched) < 0)
    return err_set(err, 400, BAD_PATTERN);
  return 0;
}

/* ---- patternmatcher ---------------------------------------------------------------- */

/* patternmatcher turns a pattern into a Go regexp only when it needs one; plain patterns,
 * "dir" + "/" + "**" and "**" + plain are compared as strings, and the difference shows (a '^' is a
 * character there but an anchor in a regexp), so the same four kinds are kept here. */
typedef enum { MATCH_EXACT, MATCH_PREFIX, MATCH_SUFFIX, MATCH_REGEXP } match_kind;

typedef enum {
  TOK_BYTE,  /* one literal byte */
  TOK_STAR,  /* [^/]* */
  TOK_ONE,   /* [^/] */
  TOK_DIRS,  /* (.*\/)? : nothing, or anything up to and including a '/' */
  TOK_ANY,   /* .* */
  TOK_CLASS, /* [...] */
  TOK_START, /* a bare '^' or \A: start of text */
  TOK_END,   /* \z: end of text */
  TOK_WORD_BOUNDARY,     /* \b */
  TOK_NOT_WORD_BOUNDARY, /* \B */
} token_kind;

typedef struct rune_range {
  uint32_t lo, hi;
} rune_range;

typedef struct token {
  token_kind kind;
  unsigned char byte;
  bool negated;
  rune_range *ranges;
  size_t nranges;
} token;

typedef struct pattern {
  char *text;          /* as cleaned, with the '!' of an exception */
  const char *cleaned; /* text without the '!' */
  size_t cleaned_len;
  bool exclusion;
  match_kind kind;
  token *tokens;
  size_t ntokens;
} pattern;

struct pattern_list {
  pattern *patterns;
  size_t npatterns;
  bool exclusions;
  bool only_prefix_exceptions; /* no exception holds a wildcard (see must_descend) */
};

static token *token_push(pattern *pt, token_kind kind) {
  pt->tokens = xrealloc(pt->tokens, (pt->ntokens + 1) * sizeof *pt->tokens);
  token *t = &pt->tokens[pt->ntokens++];
  memset(t, 0, sizeof *t);
  t->kind = kind;
  return t;
}

static void class_add(token *t, uint32_t lo, uint32_t hi) {
  t->ranges = xrealloc(t->ranges, (t->nranges + 1) * sizeof *t->ranges);
  t->ranges[t->nranges++] = (rune_range){lo, hi};
}

/* The escapes a pattern may hold are those of Go's regexp, since patternmatcher hands "\x"
 * to it unchanged. Control characters: */
static int control_escape(char c) {
  switch (c) {
  case 'a': return '\a';
  case 'f': return '\f';
  case 'n': return '\n';
  case 'r': return '\r';
  case 't': return '\t';
  case 'v': return '\v';
  default: return -1;
  }
}

/* Perl classes \d \s \w and their complements \D \S \W, added to t as ranges. */
static bool perl_class(char c, token *t) {
  static const rune_range digit[] = {{'0', '9'}};
  static const rune_range space[] = {{'\t', '\n'}, {'\f', '\r'}, {' ', ' '}};
  static const rune_range word[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
  const rune_range *ranges;
  size_t n;
  switch (c | 0x20) {
  case 'd': ranges = digit, n = ARRAY_LEN(digit); break;
  case 's': ranges = space, n = ARRAY_LEN(space); break;
  case 'w': ranges = word, n = ARRAY_LEN(word); break;
  default: return false;
  }
  if (c >= 'a') {
    for (size_t i = 0; i < n; i++) class_add(t, ranges[i].lo, ranges[i].hi);
    return true;
  }
  uint32_t next = 0;
  for (size_t i = 0; i < n; i++) {
    if (ranges[i].lo > next) class_add(t, next, ranges[i].lo - 1);
    next = ranges[i].hi + 1;
  }
  class_add(t, next, 0x10FFFF);
  return true;
}

/* One item of a class: a character (*rune) or, for \d and the like, a set added to t
 * (*is_set). -1 for what Go's regexp refuses. */
static int class_item(const char **cursor, const char *end, token *t, uint32_t *rune,
                      bool *is_set) {
  const char *c = *cursor;
  size_t width;
  *is_set = false;
  if (c == end || *c == '-' || *c == ']') return -1;
  if (*c == '\\') {
    if (++c == end || (unsigned char)*c >= 0x80) return -1;
    if (control_escape(*c) >= 0) {
      *rune = (uint32_t)control_escape(*c);
    } else if (perl_class(*c, t)) {
      *is_set = true;
    } else if ((*c >= '0' && *c <= '9') || ((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z')) {
      return -1;
    } else {
      *rune = (unsigned char)*c;
    }
    *cursor = c + 1;
    return 0;
  }
  *rune = utf8_decode(c, (size_t)(end - c), &width);
  *cursor = c + width;
  return 0;
}

/* s[*pos] is the '[' of a class whose shape glob_match_n has already checked. */
static int compile_class(pattern *pt, const char *s, size_t len, size_t *pos) {
  const char *c = s + *pos + 1, *end = s + len;
  token *t = token_push(pt, TOK_CLASS);
  if (c < end && *c == '^') t->negated = true, c++;
  for (size_t nitems = 0;; nitems++) {
    if (c < end && *c == ']' && nitems > 0) {
      c++;
      break;
    }
    uint32_t lo = 0, hi = 0;
    bool lo_set, hi_set;
    if (class_item(&c, end, t, &lo, &lo_set) < 0) return -1;
    if (c < end && *c == '-') {
      c++;
      if (lo_set || class_item(&c, end, t, &hi, &hi_set) < 0 || hi_set || lo > hi) return -1;
      class_add(t, lo, hi);
    } else if (!lo_set) {
      class_add(t, lo, lo);
    }
  }
  *pos = (size_t)(c - s);
  return 0;
}

/* s[*pos] is a '\\' with something after it. */
static int compile_escape(pattern *pt, const char *s, size_t len, size_t *pos) {
  char c = s[*pos + 1];
  *pos += 2;
  if ((unsigned char)c >= 0x80) return -1;
  if (control_escape(c) >= 0) {
    token_push(pt, TOK_BYTE)->byte = (unsigned char)control_escape(c);
  } else if (c == 'A') {
    token_push(pt, TOK_START);
  } else if (c == 'z') {
    token_push(pt, TOK_END);
  } else if (c == 'b' || c == 'B') {
    token_push(pt, c == 'b' ? TOK_WORD_BOUNDARY : TOK_NOT_WORD_BOUNDARY);
  } else if (c && strchr("dswDSW", c)) {
    perl_class(c, token_push(pt, TOK_CLASS));
  } else if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) {
    return -1; /* \x41, \pL, \Q..\E, back-references: rare, refused */
  } else {
    token_push(pt, TOK_BYTE)->byte = (unsigned char)c;
  }
  return 0;
}

static int compile_pattern(pattern *pt) {
  const char *s = pt->cleaned;
  size_t len = pt->cleaned_len, pos = 0;
  match_kind kind = MATCH_EXACT;
  while (pos < len) {
    size_t start = pos;
    char ch = s[pos];
    if (ch == '*' && s[pos + 1] == '*') {
      pos += 2;
      if (s[pos] == '/') pos++; /* "**" followed by '/' is the same as "**" */
      if (pos == len && kind == MATCH_EXACT) {
        kind = MATCH_PREFIX;
      } else {
        token_push(pt, pos == len ? TOK_ANY : TOK_DIRS);
        kind = MATCH_REGEXP;
      }
      if (start == 0) kind = MATCH_SUFFIX;
    } else if (ch == '*') {
      token_push(pt, TOK_STAR);
      kind = MATCH_REGEXP, pos++;
    } else if (ch == '?') {
      token_push(pt, TOK_ONE);
      kind = MATCH_REGEXP, pos++;
    } else if (ch == '\\' && pos + 1 < len) {
      if (compile_escape(pt, s, len, &pos) < 0) return -1;
      kind = MATCH_REGEXP;
    } else if (ch == '[') {
      if (compile_class(pt, s, len, &pos) < 0) return -1;
      kind = MATCH_REGEXP;
    } else if (ch == ']') {
      token_push(pt, TOK_BYTE)->byte = ']';
      kind = MATCH_REGEXP, pos++;
    } else if (ch == '^') {
      token_push(pt, TOK_START);
      pos++;
    } else {
      token_push(pt, TOK_BYTE)->byte = (unsigned char)ch;
      pos++;
    }
  }
  pt->kind = kind;
  return 0;
}

static bool is_word_byte(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool class_has(const token *t, uint32_t rune) {
  bool found = false;
  for (size_t i = 0; i < t->nranges && !found; i++)
    found = t->ranges[i].lo <= rune && rune <= t->ranges[i].hi;
  return found != t->negated;
}

/* Backtracking over the tokens, remembering (token, offset) states that failed so that
 * many stars cannot make it exponential. Recursion only at star-like tokens. */
typedef struct regexp_run {
  const token *tokens;
  size_t ntokens;
  const char *path;
  size_t len;
  uint8_t *failed; /* bit per (token, offset) */
} regexp_run;

static bool run_from(regexp_run *run, size_t ti, size_t pos) {
  const char *path = run->path;
  size_t len = run->len, width = 0;
  while (ti < run->ntokens) {
    size_t state = ti * (len + 1) + pos;
    if (run->failed[state / 8] & (1u << (state % 8))) return false;
    const token *t = &run->tokens[ti];
    bool step = false;
    switch (t->kind) {
    case TOK_BYTE:
      step = pos < len && (unsigned char)path[pos] == t->byte;
      width = 1;
      break;
    case TOK_ONE:
      step = pos < len && path[pos] != '/';
      utf8_decode(path + pos, len - pos, &width);
      break;
    case TOK_CLASS:
      step = pos < len && class_has(t, utf8_decode(path + pos, len - pos, &width));
      break;
    case TOK_START:
      step = pos == 0;
      width = 0;
      break;
    case TOK_END:
      step = pos == len;
      width = 0;
      break;
    case TOK_WORD_BOUNDARY:
    case TOK_NOT_WORD_BOUNDARY: {
      bool before = pos > 0 && is_word_byte(path[pos - 1]);
      bool after = pos < len && is_word_byte(path[pos]);
      step = (before != after) == (t->kind == TOK_WORD_BOUNDARY);
      width = 0;
      break;
    }
    case TOK_STAR: /* runs of non-'/' characters, shortest first */
    case TOK_ANY:  /* any run but '\n', which Go's '.' does not match */
      for (size_t k = pos;; k += width) {
        if (run_from(run, ti + 1, k)) return true;
        if (k == len || path[k] == (t->kind == TOK_STAR ? '/' : '\n')) break;
        utf8_decode(path + k, len - k, &width);
      }
      break;
    case TOK_DIRS:
      if (run_from(run, ti + 1, pos)) return true;
      for (size_t k = pos; k < len && path[k] != '\n'; k++)
        if (path[k] == '/' && run_from(run, ti + 1, k + 1)) return true;
      break;
    }
    if (!step) {
      run->failed[state / 8] |= (uint8_t)(1u << (state % 8));
      return false;
    }
    ti++, pos += width;
  }
  return pos == len;
}

static bool regexp_matches(const pattern *pt, const char *path, size_t len) {
  size_t states = (pt->ntokens + 1) * (len + 1);
  uint8_t small[512];
  autofree uint8_t *big = NULL;
  uint8_t *failed = small;
  if (states / 8 + 1 > sizeof small) failed = big = xcalloc(states / 8 + 1, 1);
  else memset(small, 0, sizeof small);
  regexp_run run = {pt->tokens, pt->ntokens, path, len, failed};
  return run_from(&run, 0, 0);
}

static bool pattern_matches(const pattern *pt, const char *path, size_t len) {
  switch (pt->kind) {
  case MATCH_EXACT:
    return len == pt->cleaned_len && memcmp(path, pt->cleaned, len) == 0;
  case MATCH_PREFIX: /* "dir" "/" "**": everything that starts with "dir/" */
    return len >= pt->cleaned_len - 2 && memcmp(path, pt->cleaned, pt->cleaned_len - 2) == 0;
  case MATCH_SUFFIX: { /* "**" + plain: everything that ends so, and "**\/foo" matches "foo" */
    const char *suffix = pt->cleaned + 2;
    size_t suffix_len = pt->cleaned_len - 2;
    if (len >= suffix_len && memcmp(path + len - suffix_len, suffix, suffix_len) == 0)
      return true;
    return suffix_len > 0 && suffix[0] == '/' && len == suffix_len - 1 &&
           memcmp(path, suffix + 1, len) == 0;
  }
  case MATCH_REGEXP:
    return regexp_matches(pt, path, len);
  }
  return false;
}

/* Does pt match path, or one of the directories above it? */
static bool pattern_matches_or_parent(const pattern *pt, const char *path, size_t len,
                                      const char *parent) {
  if (pattern_matches(pt, path, len)) return true;
  if (!parent) return false;
  for (const char *slash = parent;; slash++) {
    if (*slash == '/' || *slash == '\0') {
      if (pattern_matches(pt, parent, (size_t)(slash - parent))) return true;
      if (*slash == '\0') return false;
    }
  }
}

/* filepath.Dir(path), or NULL when that is "." (no parents to look at). */
static char *parent_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return NULL;
  autofree char *head = xstrndup(path, (size_t)(slash - path + 1));
  char *parent = path_clean(head);
  if (strcmp(parent, ".") == 0) {
    free(parent);
    return NULL;
  }
  return parent;
}

bool pattern_list_matches(const pattern_list *p, const char *relpath) {
  if (!p || p->npatterns == 0) return false;
  size_t len = strlen(relpath);
  autofree char *parent = parent_of(relpath);
  bool matched = false;
  for (size_t i = 0; i < p->npatterns; i++) {
    const pattern *pt = &p->patterns[i];
    /* An inclusion cannot change a match, nor an exception a non-match. */
    if (pt->exclusion != matched) continue;
    if (pattern_matches_or_parent(pt, relpath, len, parent)) matched = !pt->exclusion;
  }
  return matched;
}

bool pattern_list_matches_in_walk(const pattern_list *p, const char *relpath,
                                  const bool *parent_results, bool *results) {
  if (!p) return false;
  size_t len = strlen(relpath);
  autofree char *parent = parent_results ? NULL : parent_of(relpath);
  bool matched = false;
  for (size_t i = 0; i < p->npatterns; i++) {
    const pattern *pt = &p->patterns[i];
    bool match = parent_results && parent_results[i];
    if (!match) {
      if (pt->exclusion != matched) {
        if (results) results[i] = false;
        continue;
      }
      match = pattern_matches_or_parent(pt, relpath, len, parent);
    }
    if (results) results[i] = match;
    if (match) matched = !pt->exclusion;
  }
  return matched;
}

bool pattern_list_has_exclusions(const pattern_list *p) { return p && p->exclusions; }

/* BuildKit's patternWithoutTrailingGlob: "dir" followed by a slash and one or two stars
 * names "dir". */
static size_t without_trailing_glob(const char *s, size_t len) {
  if (len >= 3 && memcmp(s + len - 3, "/**", 3) == 0) len -= 3;
  if (len >= 2 && memcmp(s + len - 2, "/*", 2) == 0) len -= 2;
  return len;
}

bool pattern_list_must_descend(const pattern_list *p, const char *reldir) {
  if (!p || !p->exclusions) return false;
  if (!p->only_prefix_exceptions) return true;
  size_t dir_len = strlen(reldir);
  for (size_t i = 0; i < p->npatterns; i++) {
    const pattern *pt = &p->patterns[i];
    if (!pt->exclusion) continue;
    /* Is pattern + "/" a prefix-extension of reldir + "/"? */
    size_t n = without_trailing_glob(pt->cleaned, pt->cleaned_len);
    if (n >= dir_len && memcmp(pt->cleaned, reldir, dir_len) == 0 &&
        (n == dir_len || pt->cleaned[dir_len] == '/'))
      return true;
  }
  return false;
}

size_t pattern_list_len(const pattern_list *p) { return p ? p->npatterns : 0; }

const char *pattern_list_pattern(const pattern_list *p, size_t i) {
  return p && i < p->npatterns ? p->patterns[i].text : NULL;
}

static void pattern_clear(pattern *pt) {
  for (size_t i = 0; i < pt->ntokens; i++) free(pt->tokens[i].ranges);
  free(pt->tokens);
  free(pt->text);
}

void pattern_list_free(pattern_list *p) {
  if (!p) return;
  for (size_t i = 0; i < p->npatterns; i++) pattern_clear(&p->patterns[i]);
  free(p->patterns);
  free(p);
}

/* Adds one raw pattern as patternmatcher.New reads it. */
static int pattern_list_add(pattern_list *p, const char *raw, arca_err *err) {
  size_t start, len = trim_space(raw, strlen(raw), &start);
  if (len == 0) return 0;
  autofree char *trimmed = xstrndup(raw + start, len);
  /* Cleaned before the '!' comes off, as Docker does ("!./a" stays "./a"). */
  char *text = path_clean(trimmed);
  pattern pt = {.text = text, .cleaned = text};
  if (text[0] == '!') {
    if (text[1] == '\0') {
      free(text);
      return err_set(err, 400, "illegal exclusion pattern: \"!\"");
    }
    pt.exclusion = true;
    pt.cleaned++;
  }
  pt.cleaned_len = strlen(pt.cleaned);
  bool unused;
  if (glob_match_n(pt.cleaned, ".", 1, &unused) < 0 || compile_pattern(&pt) < 0) {
    pattern_clear(&pt);
    return err_set(err, 400, BAD_PATTERN);
  }
  if (pt.exclusion) {
    p->exclusions = true;
    size_t n = without_trailing_glob(pt.cleaned, pt.cleaned_len);
    for (size_t i = 0; i < n; i++)
      if (strchr("*[]?^\\", pt.cleaned[i])) p->only_prefix_exceptions = false;
  }
  p->patterns = xrealloc(p->patterns, (p->npatterns + 1) * sizeof *p->patterns);
  p->patterns[p->npatterns++] = pt;
  return 0;
}

int pattern_list_new(const char *const *patterns, size_t n, pattern_list **out,
                     arca_err *err) {
  pattern_list *p = xcalloc(1, sizeof *p);
  p->only_prefix_exceptions = true;
  for (size_t i = 0; i < n; i++) {
    if (pattern_list_add(p, patterns[i], err) < 0) {
      pattern_list_free(p);
      *out = NULL;
      return -1;
    }
  }
  *out = p;
  return 0;
}

/* One .dockerignore line as BuildKit's ReadAll turns it into a pattern; NULL to skip. */
static char *dockerignore_line(const char *line, size_t len) {
  if (len > 0 && line[0] == '#') return NULL; /* before trimming, as Docker */
  size_t start;
  len = trim_space(line, len, &start);
  line += start;
  if (len == 0) return NULL;
  bool invert = line[0] == '!';
  if (invert) {
    len = trim_space(line + 1, len - 1, &start);
    line += 1 + start;
  }
  autofree char *raw = xstrndup(line, len);
  autofree char *cleaned = len > 0 ? path_clean(raw) : xstrdup("");
  /* "/a/b" and "a/b" are the same: the context is the root. */
  const char *relative = strlen(cleaned) > 1 && cleaned[0] == '/' ? cleaned + 1 : cleaned;
  return xasprintf("%s%s", invert ? "!" : "", relative);
}

int pattern_list_parse_dockerignore(const char *content, pattern_list **out, arca_err *err) {
  size_t count = 0, cap = 0;
  char **lines = NULL;
  const char *cursor = content ? content : "";
  if (str_has_prefix(cursor, "\xEF\xBB\xBF")) cursor += 3;
  while (*cursor) {
    const char *newline = strchr(cursor, '\n');
    size_t len = newline ? (size_t)(newline - cursor) : strlen(cursor);
    /* A '\r' before the '\n' goes with the trimming of whitespace. */
    char *line = dockerignore_line(cursor, len);
    if (line) {
      if (count == cap) lines = xrealloc(lines, (cap = cap ? cap * 2 : 16) * sizeof *lines);
      lines[count++] = line;
    }
    cursor += newline ? len + 1 : len;
  }
  int rc = pattern_list_new((const char *const *)lines, count, out, err);
  for (size_t i = 0; i < count; i++) free(lines[i]);
  free(lines);
  return rc;
}
