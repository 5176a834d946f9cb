/* A rune-at-a-time reading of buildkit's shell/lex.go; the structure (one scanner shared by
 * nested expansions, one shared word buffer) is kept because its quirks are observable. */
#include "builder/shell_lex.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/runes.h"
#include "common/cleanup.h"
#include "common/util.h"

typedef struct lexer {
  shell_lex_opts opts;
  bool raw_escapes; /* current value: ${x#...} and ${x/...} switch it on for their words */
  const char *src;
  size_t len, pos;
  const char *const *env;
  size_t nenv;
  strbuf words_buf; /* shared by every nesting level, as in lex.go */
  char msg[ARCA_ERR_MSG_MAX];
} lexer;

typedef struct words {
  strbuf *buf;
  char **v;
  size_t n, cap;
  bool in_word;
} words;

static int lex_fail(lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lex_fail(lexer *lx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(lx->msg, sizeof lx->msg, fmt, ap);
  va_end(ap);
  return -1;
}

static int32_t peek(lexer *lx) {
  size_t w;
  return rune_decode(lx->src + lx->pos, lx->len - lx->pos, &w);
}

static int32_t next(lexer *lx) {
  size_t w;
  int32_t r = rune_decode(lx->src + lx->pos, lx->len - lx->pos, &w);
  lx->pos += w;
  return r;
}

static bool is_escape(const lexer *lx, int32_t r) {
  return r == (int32_t)(unsigned char)lx->opts.escape;
}

/* string(rune) in Go: EOF (-1) becomes U+FFFD. */
static void put_go_rune(strbuf *sb, int32_t r) { rune_put(sb, r == RUNE_EOF ? 0xfffd : r); }

/* ---- words: lex.go's wordsStruct ---- */

static void words_push(words *w) {
  if (w->n == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 4;
    w->v = xrealloc(w->v, w->cap * sizeof *w->v);
  }
  w->v[w->n++] = xstrndup(w->buf->buf, w->buf->len);
  w->buf->len = 0;
}

static void words_add_raw_char(words *w, int32_t r) {
  rune_put(w->buf, r);
  w->in_word = true;
}

static void words_add_char(words *w, int32_t r) {
  if (rune_is_space(r) && w->in_word) {
    if (w->buf->len != 0) {
      words_push(w);
      w->in_word = false;
    }
  } else if (!rune_is_space(r)) {
    words_add_raw_char(w, r);
  }
}

static void words_add_string(words *w, const char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    size_t width;
    int32_t r = rune_decode(s + i, n - i, &width);
    words_add_char(w, r);
    i += width;
  }
}

static void words_add_raw_string(words *w, const char *s, size_t n) {
  sb_append(w->buf, s, n);
  w->in_word = true;
}

static void words_finish(words *w) {
  if (w->buf->len > 0) {
    words_push(w);
    w->in_word = false;
  }
}

static void words_free(words *w) {
  shell_lex_free_words(w->v, w->n);
  w->v = NULL;
  w->n = w->cap = 0;
}

void shell_lex_free_words(char **v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

/* ---- environment ---- */

static const char *env_get(const lexer *lx, const char *name) {
  size_t nlen = strlen(name);
  for (size_t i = lx->nenv; i-- > 0;) {
    const char *e = lx->env[i];
    if (!e) continue;
    const char *eq = strchr(e, '=');
    size_t klen = eq ? (size_t)(eq - e) : strlen(e);
    if (klen == nlen && memcmp(e, name, nlen) == 0) return eq ? eq + 1 : "";
  }
  return NULL;
}

/* ---- shell patterns (convertShellPatternToRegex and the regexp calls that use it) ---- */

typedef enum { PAT_LIT, PAT_ANY, PAT_STAR } pat_kind;
typedef struct pat_tok {
  pat_kind kind;
  int32_t r;
} pat_tok;

typedef struct runes {
  int32_t *v;
  size_t n;
} runes;

static runes runes_of(const char *s, size_t n) {
  runes out = {xmalloc((n + 1) * sizeof(int32_t)), 0};
  for (size_t i = 0; i < n;) {
    size_t w;
    out.v[out.n++] = rune_decode(s + i, n - i, &w);
    i += w;
  }
  return out;
}

static char *runes_str(const int32_t *v, size_t n) {
  strbuf sb;
  sb_init(&sb);
  for (size_t i = 0; i < n; i++) rune_put(&sb, v[i]);
  return sb_steal(&sb);
}

static int pattern_compile(lexer *lx, const runes *pat, pat_tok **out, size_t *nout) {
  pat_tok *toks = xmalloc((pat->n + 1) * sizeof *toks);
  size_t n = 0;
  for (size_t i = 0; i < pat->n;) {
    int32_t tok = pat->v[i++];
    if (tok == '*') {
      toks[n++] = (pat_tok){PAT_STAR, 0};
    } else if (tok == '?') {
      toks[n++] = (pat_tok){PAT_ANY, 0};
    } else if (tok == '\\') {
      int32_t following = i < pat->n ? pat->v[i] : RUNE_EOF;
      if (following == '}' || following == '/') continue; /* escape of ${} syntax only */
      i++;
      if (following != '*' && following != '?' && following != '\\') {
        free(toks);
        strbuf sb;
        sb_init(&sb);
        put_go_rune(&sb, following); /* %c of EOF prints U+FFFD */
        lex_fail(lx, "invalid escape '\\%s'", sb.buf);
        sb_free(&sb);
        return -1;
      }
      toks[n++] = (pat_tok){PAT_LIT, following};
    } else {
      toks[n++] = (pat_tok){PAT_LIT, tok};
    }
  }
  *out = toks;
  *nout = n;
  return 0;
}

/* Backtracking in the order a Perl-style regexp engine tries alternatives (leftmost-first,
 * as Go's regexp answers); memoised since the answer depends only on (token, position).
 * '*' and '?' do not match '\n', as '.' in Go's regexp. Go's engine is linear; ours is
 * bounded instead: past PAT_MAX_CELLS or PAT_MAX_STEPS the expansion fails. */
#define PAT_MAX_CELLS (1L << 22)
#define PAT_MAX_STEPS (1L << 24)

typedef struct matcher {
  const pat_tok *toks;
  size_t ntoks;
  const int32_t *v;
  size_t nv;
  bool greedy;
  long steps_left;
  int32_t *memo; /* (ntoks+1) x (nv+1); -2 unknown, -1 no match, else end position */
} matcher;

static long match_at(matcher *m, size_t ti, size_t vi) {
  if (ti == m->ntoks) return (long)vi;
  if (m->steps_left-- <= 0) return -1;
  int32_t *slot = &m->memo[ti * (m->nv + 1) + vi];
  if (*slot != -2) return *slot;
  long res = -1;
  const pat_tok *t = &m->toks[ti];
  if (t->kind == PAT_LIT) {
    if (vi < m->nv && m->v[vi] == t->r) res = match_at(m, ti + 1, vi + 1);
  } else if (t->kind == PAT_ANY) {
    if (vi < m->nv && m->v[vi] != '\n') res = match_at(m, ti + 1, vi + 1);
  } else {
    size_t max = vi;
    while (max < m->nv && m->v[max] != '\n') max++;
    if (m->greedy) {
      for (size_t k = max + 1; k-- > vi && res < 0;) res = match_at(m, ti + 1, k);
    } else {
      for (size_t k = vi; k <= max && res < 0; k++) res = match_at(m, ti + 1, k);
    }
  }
  *slot = (int32_t)res;
  return res;
}

static int matcher_init(lexer *lx, matcher *m, const pat_tok *toks, size_t ntoks,
                        const runes *value, bool greedy) {
  m->toks = toks;
  m->ntoks = ntoks;
  m->v = value->v;
  m->nv = value->n;
  m->greedy = greedy;
  m->steps_left = PAT_MAX_STEPS;
  m->memo = NULL;
  size_t cells = (ntoks + 1) * (value->n + 1);
  if (cells > PAT_MAX_CELLS) return lex_fail(lx, "pattern too large for a value this long");
  m->memo = xmalloc(cells * sizeof *m->memo);
  for (size_t i = 0; i < cells; i++) m->memo[i] = -2;
  return 0;
}

static int matcher_done(lexer *lx, matcher *m) {
  free(m->memo);
  m->memo = NULL;
  if (m->steps_left < 0) return lex_fail(lx, "pattern too complex for a value this long");
  return 0;
}

/* Leftmost match starting at or after from: *start and *end, or false. */
static bool match_find(matcher *m, size_t from, size_t *start, size_t *end) {
  for (size_t s = from; s <= m->nv; s++) {
    long e = match_at(m, 0, s);
    if (e >= 0) {
      *start = s;
      *end = (size_t)e;
      return true;
    }
  }
  return false;
}

static bool name_rune(int32_t r) { return rune_is_letter(r) || rune_is_digit(r) || r == '_'; }

/* Regexp.ReplaceAllString's template: $0 / ${0} is the match, $$ a dollar, any other
 * reference names a group that does not exist and expands to nothing. */
static void expand_template(strbuf *out, const runes *tmpl, const int32_t *match, size_t mlen) {
  for (size_t i = 0; i < tmpl->n;) {
    if (tmpl->v[i] != '$') {
      rune_put(out, tmpl->v[i++]);
      continue;
    }
    if (i + 1 < tmpl->n && tmpl->v[i + 1] == '$') {
      rune_put(out, '$');
      i += 2;
      continue;
    }
    size_t j = i + 1;
    bool brace = j < tmpl->n && tmpl->v[j] == '{';
    if (brace) j++;
    size_t name_start = j;
    while (j < tmpl->n && name_rune(tmpl->v[j])) j++;
    size_t name_len = j - name_start;
    if (name_len == 0 || (brace && (j >= tmpl->n || tmpl->v[j] != '}'))) {
      rune_put(out, '$'); /* malformed: a literal dollar */
      i++;
      continue;
    }
    if (brace) j++;
    if (name_len == 1 && tmpl->v[name_start] == '0')
      for (size_t k = 0; k < mlen; k++) rune_put(out, match[k]);
    i = j;
  }
}

static int pattern_prepare(lexer *lx, const char *pattern, bool reverse, pat_tok **toks,
                           size_t *ntoks) {
  runes pat = runes_of(pattern, strlen(pattern));
  if (reverse && pat.n > 0) {
    /* reversePattern: mirror the runes but keep each "\x" pair in order */
    int32_t *out = xmalloc(pat.n * sizeof *out);
    size_t last = pat.n - 1;
    for (size_t i = 0; i <= last;) {
      size_t o = last - i;
      if (pat.v[i] == '\\' && i != last) {
        out[o - 1] = pat.v[i];
        out[o] = pat.v[i + 1];
        i += 2;
      } else {
        out[o] = pat.v[i];
        i++;
      }
    }
    free(pat.v);
    pat.v = out;
  }
  int rc = pattern_compile(lx, &pat, toks, ntoks);
  if (rc < 0) {
    /* buildkit names the pattern as it compiled it: reversed for a suffix */
    char msg[ARCA_ERR_MSG_MAX];
    memcpy(msg, lx->msg, sizeof msg);
    autofree char *shown = runes_str(pat.v, pat.n);
    lex_fail(lx, "invalid pattern (%s) in substitution: %s", shown, msg);
  }
  free(pat.v);
  return rc;
}

static void runes_reverse(runes *r) {
  for (size_t i = 0, j = r->n; i + 1 < j; i++, j--) {
    int32_t t = r->v[i];
    r->v[i] = r->v[j - 1];
    r->v[j - 1] = t;
  }
}

/* ${x#pat} ${x##pat} and, with suffix, ${x%pat} ${x%%pat}. */
static int trim_affix(lexer *lx, const char *pattern, const char *value, bool greedy,
                      bool suffix, char **out) {
  pat_tok *toks;
  size_t ntoks;
  if (pattern_prepare(lx, pattern, suffix, &toks, &ntoks) < 0) return -1;
  runes v = runes_of(value, strlen(value));
  if (suffix) runes_reverse(&v);
  matcher m;
  int rc = matcher_init(lx, &m, toks, ntoks, &v, greedy);
  if (rc == 0) {
    long end = match_at(&m, 0, 0);
    rc = matcher_done(lx, &m);
    size_t from = end >= 0 ? (size_t)end : 0;
    runes rest = {v.v + from, v.n - from};
    if (suffix) runes_reverse(&rest);
    if (rc == 0) *out = runes_str(rest.v, rest.n);
  }
  free(v.v);
  free(toks);
  return rc;
}

/* ${x/pat/repl} and ${x//pat/repl}. */
static int replace_pattern(lexer *lx, const char *pattern, const char *repl, const char *value,
                           bool all, char **out) {
  pat_tok *toks;
  size_t ntoks;
  if (pattern_prepare(lx, pattern, false, &toks, &ntoks) < 0) return -1;
  runes v = runes_of(value, strlen(value));
  runes r = runes_of(repl, strlen(repl));
  matcher m;
  if (matcher_init(lx, &m, toks, ntoks, &v, true) < 0) {
    free(v.v);
    free(r.v);
    free(toks);
    return -1;
  }
  strbuf sb;
  sb_init(&sb);
  size_t a, b;
  if (!all) {
    if (match_find(&m, 0, &a, &b)) {
      for (size_t i = 0; i < a; i++) rune_put(&sb, v.v[i]);
      sb_puts(&sb, repl);
      for (size_t i = b; i < v.n; i++) rune_put(&sb, v.v[i]);
    } else {
      sb_puts(&sb, value);
    }
  } else {
    size_t last_end = 0, search = 0;
    while (search <= v.n && match_find(&m, search, &a, &b)) {
      for (size_t i = last_end; i < a; i++) rune_put(&sb, v.v[i]);
      if (b > last_end || a == 0) expand_template(&sb, &r, v.v + a, b - a);
      last_end = b;
      /* always advance at least one character */
      search = (search + 1 > b) ? search + 1 : b;
    }
    for (size_t i = last_end; i < v.n; i++) rune_put(&sb, v.v[i]);
  }
  int rc = matcher_done(lx, &m);
  if (rc == 0) *out = sb_steal(&sb);
  else sb_free(&sb);
  free(v.v);
  free(r.v);
  free(toks);
  return rc;
}

/* ---- the lexer proper ---- */

static int process_stop_on(lexer *lx, int32_t stop, bool raw_escapes, strbuf *result,
                           words *w);

static bool is_special_param(int32_t r) {
  switch (r) {
  case '@': case '*': case '#': case '?': case '-': case '$': case '!': case '0':
    return true;
  }
  return false;
}

static char *process_name(lexer *lx) {
  strbuf name;
  sb_init(&name);
  while (peek(lx) != RUNE_EOF) {
    int32_t ch = peek(lx);
    if (name.len == 0 && rune_is_digit(ch)) {
      while (peek(lx) != RUNE_EOF && rune_is_digit(peek(lx))) rune_put(&name, next(lx));
      return sb_steal(&name);
    }
    if (name.len == 0 && is_special_param(ch)) {
      rune_put(&name, next(lx));
      return sb_steal(&name);
    }
    if (!name_rune(ch)) break;
    rune_put(&name, next(lx));
  }
  return sb_steal(&name);
}

static int process_single_quote(lexer *lx, strbuf *out) {
  int32_t ch = next(lx);
  if (lx->opts.raw_quotes) rune_put(out, ch);
  for (;;) {
    ch = next(lx);
    if (ch == RUNE_EOF)
      return lex_fail(lx, "unexpected end of statement while looking for matching single-quote");
    if (ch == '\'') {
      if (lx->opts.raw_quotes) rune_put(out, ch);
      return 0;
    }
    rune_put(out, ch);
  }
}

static int process_dollar(lexer *lx, strbuf *out);

static int process_double_quote(lexer *lx, strbuf *out) {
  int32_t ch = next(lx);
  if (lx->opts.raw_quotes) rune_put(out, ch);
  for (;;) {
    int32_t p = peek(lx);
    if (p == RUNE_EOF)
      return lex_fail(lx, "unexpected end of statement while looking for matching double-quote");
    if (p == '"') {
      ch = next(lx);
      if (lx->opts.raw_quotes) rune_put(out, ch);
      return 0;
    }
    if (p == '$') {
      if (process_dollar(lx, out) < 0) return -1;
      continue;
    }
    ch = next(lx);
    if (is_escape(lx, ch)) {
      if (lx->raw_escapes) rune_put(out, ch);
      int32_t following = peek(lx);
      if (following == RUNE_EOF) continue; /* reported as the missing quote */
      if (following == '"' || following == '$' || is_escape(lx, following)) ch = next(lx);
    }
    rune_put(out, ch);
  }
}

static int process_possible_heredoc(lexer *lx, strbuf *out) {
  next(lx);
  if (peek(lx) != '<') {
    sb_puts(out, "<");
    return 0;
  }
  next(lx);
  sb_puts(out, "<<");
  /* whitespace between << and the terminator word belongs to the marker */
  for (int32_t p = peek(lx); p == '\t' || p == '\r' || p == ' '; p = peek(lx))
    rune_put(out, next(lx));
  return 0;
}

/* A nested word up to stop; what it expands to lands in *word. The error for running off
 * the end is rewritten as the caller's missing-delimiter message. */
static int nested_word(lexer *lx, int32_t stop, bool raw_escapes, const char *missing,
                       char **word) {
  strbuf sb;
  sb_init(&sb);
  words w = {0};
  int rc = process_stop_on(lx, stop, raw_escapes, &sb, &w);
  words_free(&w);
  if (rc < 0) {
    sb_free(&sb);
    if (peek(lx) == RUNE_EOF) lex_fail(lx, "%s", missing);
    return -1;
  }
  *word = sb_steal(&sb);
  return 0;
}

static int dollar_modifier(lexer *lx, const char *name, int32_t ch, bool null_is_unset,
                           const char *chs, strbuf *out) {
  bool raw = ch == '#' || ch == '%';
  if (null_is_unset && raw) return lex_fail(lx, "unsupported modifier (%s) in substitution", chs);
  autofree char *word = NULL;
  if (nested_word(lx, '}', raw, "syntax error: missing '}'", &word) < 0) return -1;

  const char *value = env_get(lx, name);
  bool set = value != NULL;
  if (!set) value = "";
  if (lx->opts.skip_unset_env && !set) {
    sb_printf(out, "${%s%s%s}", name, chs, word);
    return 0;
  }
  bool unset_or_null = !set || (null_is_unset && value[0] == '\0');
  switch (ch) {
  case '-':
    sb_puts(out, unset_or_null ? word : value);
    return 0;
  case '+':
    if (!unset_or_null) sb_puts(out, word);
    return 0;
  case '?':
    if (!set) return lex_fail(lx, "%s: %s", name, word[0] ? word : "is not allowed to be unset");
    if (null_is_unset && value[0] == '\0')
      return lex_fail(lx, "%s: %s", name, word[0] ? word : "is not allowed to be empty");
    sb_puts(out, value);
    return 0;
  case '%':
  case '#': {
    /* %/# trim the shortest match, %%/## the longest */
    const char *pattern = word;
    bool greedy = false;
    if (pattern[0] == (char)ch) {
      greedy = true;
      pattern++;
    }
    autofree char *trimmed = NULL;
    if (trim_affix(lx, pattern, value, greedy, ch == '%', &trimmed) < 0) return -1;
    sb_puts(out, trimmed);
    return 0;
  }
  default:
    return lex_fail(lx, "unsupported modifier (%s) in substitution", chs);
  }
}

static int dollar_replace(lexer *lx, const char *name, strbuf *out) {
  bool all = peek(lx) == '/';
  if (all) next(lx);
  autofree char *pattern = NULL;
  autofree char *repl = NULL;
  if (nested_word(lx, '/', true, "syntax error: missing '/' in ${}", &pattern) < 0) return -1;
  if (nested_word(lx, '}', true, "syntax error: missing '}'", &repl) < 0) return -1;
  const char *value = env_get(lx, name);
  if (!value && lx->opts.skip_unset_env) {
    sb_printf(out, "${%s/%s/%s}", name, pattern, repl);
    return 0;
  }
  autofree char *replaced = NULL;
  if (replace_pattern(lx, pattern, repl, value ? value : "", all, &replaced) < 0) return -1;
  sb_puts(out, replaced);
  return 0;
}

static int process_dollar(lexer *lx, strbuf *out) {
  next(lx);
  if (peek(lx) != '{') {
    autofree char *name = process_name(lx);
    if (!name[0]) {
      sb_puts(out, "$");
      return 0;
    }
    const char *value = env_get(lx, name);
    if (!value && lx->opts.skip_unset_env) sb_printf(out, "$%s", name);
    else if (value) sb_puts(out, value);
    return 0;
  }
  next(lx);
  int32_t p = peek(lx);
  if (p == RUNE_EOF) return lex_fail(lx, "syntax error: missing '}'");
  if (p == '{' || p == '}' || p == ':') return lex_fail(lx, "syntax error: bad substitution");

  autofree char *name = process_name(lx);
  int32_t ch = next(lx);
  strbuf chs;
  sb_init(&chs);
  put_go_rune(&chs, ch);
  int rc;
  if (ch == '}') {
    const char *value = env_get(lx, name);
    if (!value && lx->opts.skip_unset_env) sb_printf(out, "${%s}", name);
    else if (value) sb_puts(out, value);
    rc = 0;
  } else if (ch == ':') {
    ch = next(lx);
    put_go_rune(&chs, ch);
    rc = dollar_modifier(lx, name, ch, true, chs.buf, out);
  } else if (ch == '+' || ch == '-' || ch == '?' || ch == '#' || ch == '%') {
    rc = dollar_modifier(lx, name, ch, false, chs.buf, out);
  } else if (ch == '/') {
    rc = dollar_replace(lx, name, out);
  } else {
    rc = lex_fail(lx, "unsupported modifier (%s) in substitution", chs.buf);
  }
  sb_free(&chs);
  return rc;
}

static int process_stop_on(lexer *lx, int32_t stop, bool raw_escapes, strbuf *result,
                           words *w) {
  lx->words_buf.len = 0;
  w->buf = &lx->words_buf;
  bool saved_raw = lx->raw_escapes;
  lx->raw_escapes = raw_escapes;
  int rc = 0;

  for (int32_t ch = peek(lx); ch != RUNE_EOF; ch = peek(lx)) {
    if (stop != RUNE_EOF && ch == stop) {
      next(lx);
      words_finish(w);
      goto out;
    }
    bool quote = !lx->opts.skip_process_quotes && (ch == '\'' || ch == '"');
    if (ch == '$' || ch == '<' || quote) {
      strbuf tmp;
      sb_init(&tmp);
      if (ch == '$') rc = process_dollar(lx, &tmp);
      else if (ch == '<') rc = process_possible_heredoc(lx, &tmp);
      else if (ch == '\'') rc = process_single_quote(lx, &tmp);
      else rc = process_double_quote(lx, &tmp);
      if (rc < 0) {
        sb_free(&tmp);
        goto out;
      }
      sb_append(result, tmp.buf ? tmp.buf : "", tmp.len);
      if (ch == '$') words_add_string(w, tmp.buf, tmp.len);
      else words_add_raw_string(w, tmp.buf ? tmp.buf : "", tmp.len);
      sb_free(&tmp);
      continue;
    }
    ch = next(lx);
    if (is_escape(lx, ch)) {
      if (lx->raw_escapes) {
        words_add_raw_char(w, ch);
        rune_put(result, ch);
      }
      ch = next(lx); /* the escape takes the next character; at the end it is dropped */
      if (ch == RUNE_EOF) break;
      words_add_raw_char(w, ch);
    } else {
      words_add_char(w, ch);
    }
    rune_put(result, ch);
  }
  if (stop != RUNE_EOF) {
    strbuf s;
    sb_init(&s);
    rune_put(&s, stop);
    rc = lex_fail(lx, "unexpected end of statement while looking for matching %s", s.buf);
    sb_free(&s);
    goto out;
  }
  words_finish(w);
out:
  lx->raw_escapes = saved_raw;
  return rc;
}

int shell_lex_process(const char *word, const shell_lex_opts *opts, const char *const *env,
                      size_t nenv, char **out_word, char ***out_words, size_t *nout_words,
                      arca_err *err) {
  lexer lx = {.opts = *opts, .raw_escapes = opts->raw_escapes, .src = word,
              .len = strlen(word), .env = env, .nenv = nenv};
  if (lx.opts.escape != '`') lx.opts.escape = '\\';
  sb_init(&lx.words_buf);
  /* Go's text/scanner skips a byte order mark at the start */
  if (lx.len >= 3 && memcmp(word, "\xef\xbb\xbf", 3) == 0) lx.pos = 3;

  strbuf result;
  sb_init(&result);
  words w = {0};
  int rc = process_stop_on(&lx, RUNE_EOF, opts->raw_escapes, &result, &w);
  sb_free(&lx.words_buf);
  if (rc < 0) {
    sb_free(&result);
    words_free(&w);
    autofree char *quoted = go_quote(word);
    return err_set(err, 400, "failed to process %s: %s", quoted, lx.msg);
  }
  if (out_word) *out_word = sb_steal(&result);
  else sb_free(&result);
  if (out_words) {
    *out_words = w.v ? w.v : xcalloc(1, sizeof(char *));
    *nout_words = w.n;
  } else {
    words_free(&w);
  }
  return 0;
}

int shell_lex_word(const char *word, char escape, const char *const *env, size_t nenv,
                   char **out, arca_err *err) {
  shell_lex_opts opts = {.escape = escape};
  return shell_lex_process(word, &opts, env, nenv, out, NULL, NULL, err);
}

int shell_lex_words(const char *word, char escape, const char *const *env, size_t nenv,
                    char ***out, size_t *nout, arca_err *err) {
  shell_lex_opts opts = {.escape = escape};
  return shell_lex_process(word, &opts, env, nenv, NULL, out, nout, err);
}
