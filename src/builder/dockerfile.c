/* The line grammar of a Dockerfile, after buildkit's frontend/dockerfile/parser: lines,
 * parser directives, comments, continuations, heredoc bodies, then each instruction's
 * arguments split by the form its keyword takes (line_parsers.go). */
#include "builder/dockerfile.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile_internal.h"
#include "builder/runes.h"
#include "builder/shell_lex.h"
#include "common/cleanup.h"
#include "common/util.h"

/* bufio.Scanner's limit: a longer line ends the scan with an error. */
#define DF_MAX_LINE 65536

/* ---- small helpers ---- */

void svec_push(svec *s, char *owned) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 4;
    s->v = xrealloc(s->v, s->cap * sizeof *s->v);
  }
  s->v[s->n++] = owned;
}

void svec_free(svec *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

char *df_lower(const char *s) {
  char *out = xstrdup(s);
  for (char *p = out; *p; p++) *p = (char)tolower((unsigned char)*p);
  return out;
}

char *df_upper(const char *s) {
  char *out = xstrdup(s);
  for (char *p = out; *p; p++) *p = (char)toupper((unsigned char)*p);
  return out;
}

/* The separator of regexp [\t\v\f\r ]+ that buildkit splits words with. */
static bool ws_sep(char c) { return c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == ' '; }
/* unicode.IsSpace(rune(b)) on one byte, as the byte-wise loops of buildkit do */
static bool byte_space(char c) { return rune_is_space((unsigned char)c); }

static char *trim_dup(const char *s, size_t n) {
  size_t a, b;
  str_trim_space(s, n, &a, &b);
  return xstrndup(s + a, b - a);
}

static void instr_set_args(df_instr *in, svec *args) {
  in->args = args->v;
  in->nargs = args->n;
  args->v = NULL;
  args->n = args->cap = 0;
}

void df_heredoc_clear(df_heredoc *h) {
  if (!h) return;
  free(h->name);
  free(h->content);
  memset(h, 0, sizeof *h);
}

void df_instr_free(df_instr *in);

static void instr_clear(df_instr *in) {
  free(in->keyword);
  free(in->original);
  for (size_t i = 0; i < in->nflags; i++) {
    free(in->flags[i].name);
    free(in->flags[i].value);
  }
  free(in->flags);
  for (size_t i = 0; i < in->nargs; i++) free(in->args[i]);
  free(in->args);
  for (size_t i = 0; i < in->nheredocs; i++) df_heredoc_clear(&in->heredocs[i]);
  free(in->heredocs);
  for (size_t i = 0; i < in->nkvs; i++) {
    free(in->kvs[i].key);
    free(in->kvs[i].value);
  }
  free(in->kvs);
  free(in->stage_name);
  if (in->health) {
    for (size_t i = 0; i < in->health->ntest; i++) free(in->health->test[i]);
    free(in->health->test);
    free(in->health);
  }
  if (in->onbuild) df_instr_free(in->onbuild);
  free(in->onbuild_expr);
  memset(in, 0, sizeof *in);
}

void df_instr_free(df_instr *in) {
  if (!in) return;
  instr_clear(in);
  free(in);
}

void df_node_clear(df_node *nd) {
  instr_clear(&nd->in);
  free(nd->cmd_raw);
  free(nd->line);
  svec_free(&nd->raw_flags);
  memset(nd, 0, sizeof *nd);
}

void df_node_take_flags(df_node *nd) {
  df_instr *in = &nd->in;
  in->flags = xcalloc(nd->raw_flags.n + 1, sizeof *in->flags);
  for (size_t i = 0; i < nd->raw_flags.n; i++) {
    const char *f = nd->raw_flags.v[i];
    if (str_has_prefix(f, "--")) f += 2;
    const char *eq = strchr(f, '=');
    in->flags[i].name = eq ? xstrndup(f, (size_t)(eq - f)) : xstrdup(f);
    in->flags[i].value = eq ? xstrdup(eq + 1) : NULL;
  }
  in->nflags = nd->raw_flags.n;
  svec_free(&nd->raw_flags);
}

const df_flag *df_instr_flag(const df_instr *in, const char *name) {
  for (size_t i = in->nflags; i-- > 0;)
    if (strcmp(in->flags[i].name, name) == 0) return &in->flags[i];
  return NULL;
}

char *df_heredoc_chomp(const char *content) {
  strbuf sb;
  sb_init(&sb);
  bool line_start = true;
  for (const char *p = content; *p; p++) {
    if (line_start && *p == '\t') continue;
    line_start = *p == '\n';
    sb_append(&sb, p, 1);
  }
  return sb_steal(&sb);
}

/* ---- splitting a line: split_command.go ---- */

static void push_word(svec *words, const strbuf *word) {
  svec_push(words, xstrndup(word->buf ? word->buf : "", word->len));
}

/* Takes the leading --flag words off line[0..n); returns where the arguments start. */
static size_t extract_builder_flags(const char *line, size_t n, char esc, svec *flags) {
  enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
  strbuf word;
  sb_init(&word);
  char quote = 0, ch = 0;
  bool blank_ok = false;
  size_t rest = n;
  for (size_t pos = 0; pos <= n; pos++) {
    if (pos != n) ch = line[pos];
    if (phase == IN_SPACES) {
      if (pos == n) break;
      if (byte_space(ch)) continue;
      if (ch != '-' || pos + 1 == n || line[pos + 1] != '-') {
        rest = pos;
        goto out;
      }
      phase = IN_WORD;
    }
    if (pos == n) { /* in a word or quote at the end */
      bool dashdash = word.len == 2 && memcmp(word.buf, "--", 2) == 0;
      if (!dashdash && (blank_ok || word.len > 0)) push_word(flags, &word);
      break;
    }
    if (phase == IN_WORD) {
      if (byte_space(ch)) {
        phase = IN_SPACES;
        if (word.len == 2 && memcmp(word.buf, "--", 2) == 0) {
          rest = pos; /* "--" ends the flags */
          goto out;
        }
        if (blank_ok || word.len > 0) push_word(flags, &word);
        word.len = 0;
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = IN_QUOTE;
        continue;
      }
      if (ch == esc) {
        if (pos + 1 == n) continue; /* a trailing escape is dropped */
        ch = line[++pos];
      }
      sb_append(&word, &ch, 1);
      continue;
    }
    /* IN_QUOTE */
    if (ch == quote) {
      phase = IN_WORD;
      continue;
    }
    if (ch == esc) {
      if (pos + 1 == n) {
        phase = IN_WORD;
        continue;
      }
      ch = line[++pos];
    }
    sb_append(&word, &ch, 1);
  }
  rest = n;
out:
  sb_free(&word);
  return rest;
}

/* Splits into keyword, flags and the trimmed argument text. */
static void split_command(const char *line, char esc, char **cmd, svec *flags, char **rest) {
  size_t a, b;
  str_trim_space(line, strlen(line), &a, &b);
  size_t k = a;
  while (k < b && !ws_sep(line[k])) k++;
  *cmd = xstrndup(line + a, k - a);
  if (k == b) {
    *rest = xstrdup("");
    return;
  }
  while (k < b && ws_sep(line[k])) k++;
  size_t off = extract_builder_flags(line + k, b - k, esc, flags);
  *rest = trim_dup(line + k + off, b - k - off);
}

/* ---- argument forms: line_parsers.go ---- */

/* Words separated by spaces, quotes and escapes kept in the words (expanded later). */
static void parse_words(const char *rest, char esc, svec *out) {
  enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
  size_t n = strlen(rest);
  strbuf word;
  sb_init(&word);
  int32_t quote = 0, ch = 0;
  bool blank_ok = false;
  size_t width = 0;
  for (size_t pos = 0; pos <= n; pos += width) {
    if (pos != n) ch = rune_decode(rest + pos, n - pos, &width);
    if (phase == IN_SPACES) {
      if (pos == n) break;
      if (rune_is_space(ch)) continue;
      phase = IN_WORD;
    }
    if (pos == n) {
      if (blank_ok || word.len > 0) push_word(out, &word);
      break;
    }
    if (phase == IN_WORD) {
      if (rune_is_space(ch)) {
        phase = IN_SPACES;
        if (blank_ok || word.len > 0) push_word(out, &word);
        word.len = 0;
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = IN_QUOTE;
      }
      if (ch == (unsigned char)esc) {
        if (pos + width == n) continue; /* a trailing escape is dropped */
        /* an escape outside quotes stays in the word with the character it escapes */
        rune_put(&word, ch);
        pos += width;
        ch = rune_decode(rest + pos, n - pos, &width);
      }
      rune_put(&word, ch);
      continue;
    }
    /* IN_QUOTE */
    if (ch == quote) phase = IN_WORD;
    if (ch == (unsigned char)esc && quote != '\'') {
      if (pos + width == n) {
        phase = IN_WORD;
        continue;
      }
      pos += width;
      rune_put(&word, ch);
      ch = rune_decode(rest + pos, n - pos, &width);
    }
    rune_put(&word, ch);
  }
  sb_free(&word);
}

static void split_whitespace(const char *rest, svec *out) {
  const char *p = rest;
  if (!*p) return;
  for (;;) {
    const char *q = p;
    while (*q && !ws_sep(*q)) q++;
    svec_push(out, xstrndup(p, (size_t)(q - p)));
    if (!*q) break;
    while (*q && ws_sep(*q)) q++;
    p = q;
  }
}

/* 1: rest is a JSON array of strings (into out); 0: not JSON; -1: an array of non-strings. */
static int parse_json(const char *rest, svec *out, arca_err *err) {
  size_t n = strlen(rest);
  size_t skip = str_skip_space(rest, n);
  if (rest[skip] != '[') return 0;
  json_error_t jerr;
  autojson json_t *arr = json_loadb(rest + skip, n - skip, 0, &jerr);
  if (!arr || !json_is_array(arr)) return 0;
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (!json_is_string(v))
      return err_set(err, 400,
                     "when using JSON array syntax, arrays must be comprised of strings only");
  }
  json_array_foreach(arr, i, v) svec_push(out, xstrdup(json_string_value(v)));
  return 1;
}

static int parse_maybe_json(const char *rest, df_instr *in, arca_err *err) {
  if (!*rest) return 0;
  svec args = {0};
  int rc = parse_json(rest, &args, err);
  if (rc < 0) return -1;
  if (rc == 0) svec_push(&args, xstrdup(rest));
  in->json_form = rc == 1;
  instr_set_args(in, &args);
  return 0;
}

static int parse_maybe_json_to_list(const char *rest, df_instr *in, arca_err *err) {
  svec args = {0};
  int rc = parse_json(rest, &args, err);
  if (rc < 0) return -1;
  if (rc == 0) split_whitespace(rest, &args);
  in->json_form = rc == 1;
  instr_set_args(in, &args);
  return 0;
}

static void kv_push(df_instr *in, char *key, char *value, bool no_delim) {
  in->kvs = xrealloc(in->kvs, (in->nkvs + 1) * sizeof *in->kvs);
  in->kvs[in->nkvs++] = (df_kv){key, value, no_delim};
}

/* ENV and LABEL: "key value" (legacy, when the first word has no '=') or key=value... */
static int parse_name_val(const char *rest, const char *key, char esc, df_instr *in,
                          arca_err *err) {
  svec words = {0};
  parse_words(rest, esc, &words);
  int rc = 0;
  if (words.n == 0) goto out;
  if (!strchr(words.v[0], '=')) {
    const char *p = rest;
    while (*p && !ws_sep(*p)) p++;
    if (!*p) {
      rc = err_set(err, 400, "%s must have two arguments", key);
      goto out;
    }
    const char *value = p;
    while (*value && ws_sep(*value)) value++;
    kv_push(in, xstrndup(rest, (size_t)(p - rest)), xstrdup(value), true);
    goto out;
  }
  for (size_t i = 0; i < words.n; i++) {
    const char *eq = strchr(words.v[i], '=');
    if (!eq) {
      autofree char *q = go_quote(words.v[i]);
      rc = err_set(err, 400,
                   "Syntax error - can't find = in %s. Must be of the form: name=value", q);
      goto out;
    }
    kv_push(in, xstrndup(words.v[i], (size_t)(eq - words.v[i])), xstrdup(eq + 1), false);
  }
out:
  svec_free(&words);
  if (rc == 0) {
    svec args = {0};
    for (size_t i = 0; i < in->nkvs; i++) {
      svec_push(&args, xstrdup(in->kvs[i].key));
      svec_push(&args, xstrdup(in->kvs[i].value));
    }
    instr_set_args(in, &args);
  }
  return rc;
}

static int node_from_line(const char *line, char esc, df_node *nd, arca_err *err);

/* HEALTHCHECK: the type word, then the command as CMD takes it. */
static int parse_health_config(const char *rest, df_instr *in, arca_err *err) {
  size_t sep = 0, n = strlen(rest);
  while (sep < n && !byte_space(rest[sep])) sep++;
  if (sep == 0) return 0;
  size_t next = sep;
  while (next < n && byte_space(rest[next])) next++;
  df_instr cmd = {0};
  if (parse_maybe_json(rest + next, &cmd, err) < 0) return -1;
  svec args = {0};
  svec_push(&args, xstrndup(rest, sep));
  for (size_t i = 0; i < cmd.nargs; i++) svec_push(&args, cmd.args[i]);
  free(cmd.args);
  in->json_form = cmd.json_form;
  instr_set_args(in, &args);
  return 0;
}

/* ONBUILD: the rest is an instruction of its own. */
static int parse_sub_command(const char *rest, char esc, df_instr *in, arca_err *err) {
  if (!*rest) return 0;
  df_node child = {0};
  if (node_from_line(rest, esc, &child, err) < 0) {
    df_node_clear(&child);
    return -1;
  }
  svec args = {0};
  svec_push(&args, xstrdup(child.cmd_raw));
  for (size_t i = 0; i < child.in.nargs; i++) svec_push(&args, xstrdup(child.in.args[i]));
  instr_set_args(in, &args);
  df_node_take_flags(&child);
  child.in.original = trim_dup(child.line, strlen(child.line));
  in->onbuild = xmalloc(sizeof *in->onbuild);
  *in->onbuild = child.in;
  memset(&child.in, 0, sizeof child.in);
  df_node_clear(&child);
  return 0;
}

static int node_from_line(const char *line, char esc, df_node *nd, arca_err *err) {
  autofree char *rest = NULL;
  split_command(line, esc, &nd->cmd_raw, &nd->raw_flags, &rest);
  nd->line = xstrdup(line);
  nd->in.keyword = df_lower(nd->cmd_raw);
  const char *kw = nd->in.keyword;
  df_instr *in = &nd->in;
  nd->known = true;
  if (!strcmp(kw, "add") || !strcmp(kw, "copy") || !strcmp(kw, "volume"))
    return parse_maybe_json_to_list(rest, in, err);
  if (!strcmp(kw, "cmd") || !strcmp(kw, "entrypoint") || !strcmp(kw, "run") ||
      !strcmp(kw, "shell"))
    return parse_maybe_json(rest, in, err);
  if (!strcmp(kw, "env")) return parse_name_val(rest, "ENV", esc, in, err);
  if (!strcmp(kw, "label")) return parse_name_val(rest, "LABEL", esc, in, err);
  if (!strcmp(kw, "healthcheck")) return parse_health_config(rest, in, err);
  if (!strcmp(kw, "onbuild")) return parse_sub_command(rest, esc, in, err);
  svec args = {0};
  if (!strcmp(kw, "arg")) {
    parse_words(rest, esc, &args);
  } else if (!strcmp(kw, "expose") || !strcmp(kw, "from")) {
    split_whitespace(rest, &args);
  } else if (!strcmp(kw, "maintainer") || !strcmp(kw, "stopsignal") || !strcmp(kw, "user") ||
             !strcmp(kw, "workdir")) {
    if (*rest) svec_push(&args, xstrdup(rest));
  } else {
    nd->known = false; /* reported by the instruction checks, after the whole file parsed */
    svec_push(&args, xstrdup("")); /* buildkit's parseIgnore leaves one empty argument */
  }
  instr_set_args(in, &args);
  return 0;
}

/* ---- heredocs ---- */

static size_t count_quotes(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += *s == '\'' || *s == '"';
  return n;
}

int df_parse_heredoc_word(const char *word, df_heredoc *out, arca_err *err) {
  /* ^(\d*)<<(-?)\s*([^<]*)$ */
  const char *p = word;
  while (isdigit((unsigned char)*p)) p++;
  size_t ndigits = (size_t)(p - word);
  if (p[0] != '<' || p[1] != '<') return 0;
  p += 2;
  bool chomp = *p == '-';
  if (chomp) p++;
  while (re_space(*p)) p++;
  if (strchr(p, '<') || !*p) return 0;

  /* Lex the word with and without quote removal: a quoted terminator (or part of one)
   * means the body is taken literally. */
  shell_lex_opts opts = {.escape = '\\', .skip_unset_env = true};
  char **words = NULL, **raw = NULL;
  size_t nwords = 0, nraw = 0;
  if (shell_lex_process(p, &opts, NULL, 0, NULL, &words, &nwords, err) < 0) return -1;
  if (nwords != 1) {
    shell_lex_free_words(words, nwords);
    return 0;
  }
  opts.raw_quotes = true;
  if (shell_lex_process(p, &opts, NULL, 0, NULL, &raw, &nraw, err) < 0) {
    shell_lex_free_words(words, nwords);
    return -1;
  }
  if (nraw != nwords) {
    shell_lex_free_words(words, nwords);
    shell_lex_free_words(raw, nraw);
    return err_set(err, 400, "internal lexing of heredoc produced inconsistent results: %s", p);
  }
  unsigned long long fd = 0;
  bool fd_ok = true;
  for (size_t i = 0; i < ndigits; i++) {
    if (fd > (~0ULL - 9) / 10) fd_ok = false;
    fd = fd * 10 + (unsigned)(word[i] - '0');
  }
  memset(out, 0, sizeof *out);
  out->name = words[0];
  out->expand = count_quotes(words[0]) == count_quotes(raw[0]);
  out->chomp = chomp;
  out->fd = fd_ok && fd <= 0xffffffffULL ? (unsigned)fd : 0;
  free(words);
  shell_lex_free_words(raw, nraw);
  return 1;
}

int df_heredoc_from_word(const char *word, df_heredoc *out, arca_err *err) {
  return df_parse_heredoc_word(word, out, err);
}

static int heredocs_from_line(const char *line, df_instr *in, arca_err *err) {
  shell_lex_opts opts = {.escape = '\\', .raw_quotes = true, .raw_escapes = true,
                         .skip_unset_env = true};
  char **words = NULL;
  size_t nwords = 0;
  arca_err ignored;
  if (shell_lex_process(line, &opts, NULL, 0, NULL, &words, &nwords, &ignored) < 0) return 0;
  int rc = 0;
  for (size_t i = 0; i < nwords; i++) {
    df_heredoc h;
    int found = df_parse_heredoc_word(words[i], &h, err);
    if (found < 0) {
      rc = -1;
      break;
    }
    if (found) {
      in->heredocs = xrealloc(in->heredocs, (in->nheredocs + 1) * sizeof *in->heredocs);
      in->heredocs[in->nheredocs++] = h;
    }
  }
  shell_lex_free_words(words, nwords);
  return rc;
}

static bool can_contain_heredoc(const df_instr *in) {
  if (!strcmp(in->keyword, "onbuild") && in->onbuild) in = in->onbuild;
  if (strcmp(in->keyword, "add") && strcmp(in->keyword, "copy") && strcmp(in->keyword, "run"))
    return false;
  return !in->json_form;
}

/* ---- lines and directives ---- */

typedef struct src_line {
  const char *p;
  size_t len; /* with its line end */
} src_line;

typedef struct scan {
  src_line *lines;
  size_t n, next;
  bool too_long; /* the scan stopped at a line over DF_MAX_LINE */
} scan;

static void scan_init(scan *sc, const char *text, size_t len) {
  memset(sc, 0, sizeof *sc);
  size_t cap = 0;
  for (size_t pos = 0; pos < len;) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t content = nl ? (size_t)(nl - (text + pos)) : len - pos;
    if (content >= DF_MAX_LINE) {
      sc->too_long = true;
      break;
    }
    size_t total = nl ? content + 1 : content;
    if (sc->n == cap) {
      cap = cap ? cap * 2 : 64;
      sc->lines = xrealloc(sc->lines, cap * sizeof *sc->lines);
    }
    sc->lines[sc->n++] = (src_line){text + pos, total};
    pos += total;
  }
}

static bool scan_next(scan *sc, src_line *out) {
  if (sc->next >= sc->n) return false;
  *out = sc->lines[sc->next++];
  return true;
}

static size_t trim_newline(const char *p, size_t n) {
  while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r')) n--;
  return n;
}

static bool is_comment(const char *p, size_t n) {
  size_t i = str_skip_space(p, n);
  return i < n && p[i] == '#';
}

typedef struct directives {
  char escape;
  bool done, seen_escape, seen_syntax, seen_check;
  char *syntax, *check;
} directives;

/* DirectiveParser.ParseLine: "# key=value" lines at the very top; the first other line
 * (blank lines and plain comments included) ends them. Returns 1 for a directive. */
/* Matches ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ on s[0..n): key and value bounds. */
static bool match_directive(const char *s, size_t n, size_t key[2], size_t value[2]) {
  if (n == 0 || s[0] != '#' || memchr(s, '\n', n)) return false;
  size_t i = 1;
  while (i < n && re_space(s[i])) i++;
  key[0] = i;
  if (i >= n || !isalpha((unsigned char)s[i])) return false;
  while (i < n && isalnum((unsigned char)s[i])) i++;
  key[1] = i;
  while (i < n && re_space(s[i])) i++;
  if (i >= n || s[i] != '=') return false;
  if (++i >= n) return false;
  size_t v0 = i, v1 = n;
  while (v0 < n && re_space(s[v0])) v0++;
  while (v1 > v0 && re_space(s[v1 - 1])) v1--;
  if (v0 == v1) v0 = n - 1, v1 = n; /* only blanks: the lazy group keeps the last one */
  value[0] = v0;
  value[1] = v1;
  return true;
}

/* DirectiveParser.ParseLine: "# key=value" lines at the very top; the first other line
 * (blank lines and plain comments included) ends them. Returns 1 for a directive. */
static int directive_line(directives *d, const char *s, size_t n, arca_err *err) {
  if (d->done) return 0;
  size_t key[2], value[2];
  if (!match_directive(s, n, key, value)) {
    d->done = true;
    return 0;
  }
  autofree char *name = xstrndup(s + key[0], key[1] - key[0]);
  for (char *k = name; *k; k++) *k = (char)tolower((unsigned char)*k);
  bool *seen;
  char **slot = NULL;
  if (!strcmp(name, "escape")) {
    seen = &d->seen_escape;
  } else if (!strcmp(name, "syntax")) {
    seen = &d->seen_syntax;
    slot = &d->syntax;
  } else if (!strcmp(name, "check")) {
    seen = &d->seen_check;
    slot = &d->check;
  } else {
    d->done = true; /* an unknown directive is a comment, and ends the directives */
    return 0;
  }
  if (*seen) return err_set(err, 400, "only one %s parser directive can be used", name);
  *seen = true;
  char *val = xstrndup(s + value[0], value[1] - value[0]);
  if (slot) {
    *slot = val;
    return 1;
  }
  if (strcmp(val, "`") != 0 && strcmp(val, "\\") != 0) {
    err_set(err, 400, "invalid escape token '%s' does not match ` or \\", val);
    free(val);
    return -1;
  }
  d->escape = val[0];
  free(val);
  return 1;
}

/* The line continuation: ([^E])E[ \t]*$ or ^E[ \t]*$ with E the escape character.
 * Returns the new length (escape and what follows removed), or n when the line ends. */
static size_t trim_continuation(const char *p, size_t n, char esc, bool *eol) {
  size_t k = n;
  while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t')) k--;
  *eol = true;
  if (k == 0 || p[k - 1] != esc) return n;
  if (k == 1) {
    *eol = false;
    return 0;
  }
  if (p[k - 2] == esc) return n;
  *eol = false;
  return k - 1;
}

static bool is_empty_continuation(const char *p, size_t n) {
  n = trim_newline(p, n);
  return str_skip_space(p, n) == n;
}

/* ---- the parse ---- */

typedef struct node_list {
  df_node *v;
  size_t n, cap;
} node_list;

static void node_list_free(node_list *l) {
  for (size_t i = 0; i < l->n; i++) df_node_clear(&l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static void free_dir(directives *d) {
  free(d->syntax);
  free(d->check);
}

/* parser.Parse. On error err holds the bare cause and *err_line the line it concerns. */
static int parse_nodes(const char *text, size_t len, node_list *out, directives *d, svec *warns,
                       int *err_line, arca_err *err) {
  scan sc;
  scan_init(&sc, text, len);
  int current = 0, rc = 0;
  src_line ln;
  strbuf buf;
  sb_init(&buf);
  d->escape = '\\';
  while (scan_next(&sc, &ln)) {
    const char *p = ln.p;
    size_t n = ln.len;
    if (current == 0 && n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) p += 3, n -= 3;
    n = trim_newline(p, n);
    size_t skip = str_skip_space(p, n);
    p += skip, n -= skip;
    if (directive_line(d, p, n, err) < 0) {
      *err_line = current + 1;
      rc = -1;
      goto out;
    }
    if (is_comment(p, n)) n = 0;
    current++;
    int start = current;
    bool eol;
    n = trim_continuation(p, n, d->escape, &eol);
    if (eol && n == 0) continue;
    buf.len = 0;
    sb_append(&buf, p, n);

    bool empty_continuation = false;
    while (!eol && scan_next(&sc, &ln)) {
      size_t cn = trim_newline(ln.p, ln.len);
      if (directive_line(d, ln.p, cn, err) < 0) {
        *err_line = current + 1;
        rc = -1;
        goto out;
      }
      current++;
      if (is_comment(ln.p, ln.len)) continue;
      if (is_empty_continuation(ln.p, cn)) {
        empty_continuation = true;
        continue;
      }
      cn = trim_continuation(ln.p, cn, d->escape, &eol);
      sb_append(&buf, ln.p, cn);
    }
    const char *joined = buf.buf ? buf.buf : "";
    if (empty_continuation)
      svec_push(warns, xasprintf("Empty continuation line found in: %s", joined));

    if (out->n == out->cap) {
      out->cap = out->cap ? out->cap * 2 : 16;
      out->v = xrealloc(out->v, out->cap * sizeof *out->v);
    }
    df_node *nd = &out->v[out->n++];
    memset(nd, 0, sizeof *nd);
    *err_line = start;
    if (node_from_line(joined, d->escape, nd, err) < 0) {
      rc = -1;
      goto out;
    }

    if (can_contain_heredoc(&nd->in) && strstr(joined, "<<")) {
      if (heredocs_from_line(joined, &nd->in, err) < 0) {
        rc = -1;
        goto out;
      }
      for (size_t h = 0; h < nd->in.nheredocs; h++) {
        df_heredoc *doc = &nd->in.heredocs[h];
        strbuf body;
        sb_init(&body);
        bool terminated = false;
        while (scan_next(&sc, &ln)) {
          current++;
          const char *t = ln.p;
          size_t tn = trim_newline(ln.p, ln.len);
          if (doc->chomp)
            while (tn > 0 && *t == '\t') t++, tn--;
          if (tn == strlen(doc->name) && memcmp(t, doc->name, tn) == 0) {
            terminated = true;
            break;
          }
          sb_append(&body, ln.p, ln.len);
        }
        doc->content = sb_steal(&body);
        if (!terminated) {
          rc = err_set(err, 400, "unterminated heredoc");
          goto out;
        }
      }
    }
    nd->in.start_line = start;
    nd->in.end_line = current;
  }
  *err_line = current;
  if (out->n == 0) {
    rc = err_set(err, 400, "file with no instructions");
  } else if (sc.too_long) {
    *err_line = (int)sc.n + 1; /* the line after the last one scanned */
    rc = err_set(err, 400, "dockerfile line greater than max allowed size of %d", DF_MAX_LINE - 1);
  } else {
    *err_line = 0;
  }
out:
  sb_free(&buf);
  free(sc.lines);
  return rc;
}

static void move_node(df_node *nd, df_instr *dst) {
  *dst = nd->in;
  dst->original = trim_dup(nd->line, strlen(nd->line));
  memset(&nd->in, 0, sizeof nd->in);
}

/* instructions.Parse: checks each instruction in order, then that one comes before any
 * FROM only if it is an ARG. */
static int check_nodes(node_list *nodes, int *err_line, arca_err *err) {
  bool in_stage = false;
  for (size_t i = 0; i < nodes->n; i++) {
    df_node *nd = &nodes->v[i];
    if (df_check_instr(nd, err) < 0) {
      *err_line = nd->in.start_line;
      return err_wrap(err, "dockerfile parse error on line %d", nd->in.start_line);
    }
    if (!strcmp(nd->in.keyword, "from")) {
      in_stage = true;
    } else if (!in_stage && strcmp(nd->in.keyword, "arg") != 0) {
      *err_line = nd->in.start_line;
      return err_set(err, 400, "no build stage in current context");
    }
  }
  return 0;
}

int dockerfile_parse(const char *name, const char *text, size_t len, dockerfile *out,
                     arca_err *err) {
  memset(out, 0, sizeof *out);
  if (!name || !*name) name = "Dockerfile";
  if (len == 0) return err_set(err, 400, "the Dockerfile (%s) cannot be empty", name);

  node_list nodes = {0};
  directives d = {0};
  svec warns = {0};
  int err_line = 0;
  if (parse_nodes(text, len, &nodes, &d, &warns, &err_line, err) < 0) {
    if (err) err->status = 400;
    err_wrap(err, "failed to parse %s", name);
    goto fail;
  }
  if (check_nodes(&nodes, &err_line, err) < 0) {
    if (err) err->status = 400;
    goto fail;
  }
  out->instrs = xcalloc(nodes.n + 1, sizeof *out->instrs);
  for (size_t i = 0; i < nodes.n; i++) move_node(&nodes.v[i], &out->instrs[i]);
  out->n = nodes.n;
  out->escape = d.escape;
  out->syntax = d.syntax;
  out->check = d.check;
  out->warnings = warns.v;
  out->nwarnings = warns.n;
  node_list_free(&nodes);
  return 0;
fail:
  node_list_free(&nodes);
  free_dir(&d);
  svec_free(&warns);
  out->error_line = err_line;
  return -1;
}

int dockerfile_parse_trigger(const char *expr, df_instr **out, arca_err *err) {
  *out = NULL;
  node_list nodes = {0};
  directives d = {0};
  svec warns = {0};
  int err_line = 0, rc = -1;
  if (parse_nodes(expr, strlen(expr), &nodes, &d, &warns, &err_line, err) < 0) goto out;
  if (nodes.n != 1) {
    err_set(err, 400, "onbuild trigger should be a single expression");
    goto out;
  }
  if (df_check_instr(&nodes.v[0], err) < 0) goto out;
  if (!strcmp(nodes.v[0].in.keyword, "from")) {
    err_set(err, 400, "*instructions.Stage is not a command type");
    goto out;
  }
  *out = xcalloc(1, sizeof **out);
  move_node(&nodes.v[0], *out);
  rc = 0;
out:
  if (rc < 0 && err) err->status = 400;
  node_list_free(&nodes);
  free_dir(&d);
  svec_free(&warns);
  return rc;
}

void dockerfile_free(dockerfile *df) {
  if (!df) return;
  for (size_t i = 0; i < df->n; i++) instr_clear(&df->instrs[i]);
  free(df->instrs);
  free(df->syntax);
  free(df->check);
  for (size_t i = 0; i < df->nwarnings; i++) free(df->warnings[i]);
  free(df->warnings);
  memset(df, 0, sizeof *df);
}
