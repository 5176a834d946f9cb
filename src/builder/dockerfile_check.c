/* The per-instruction checks of buildkit's frontend/dockerfile/instructions (parse.go,
 * bflag.go): argument counts, flags each instruction accepts, HEALTHCHECK options, stage
 * names, ONBUILD triggers; same order of checks and same texts, so that the first error
 * dockerd reports is the one we report. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile_internal.h"
#include "builder/runes.h"
#include "common/cleanup.h"
#include "common/util.h"

/* ---- suggestions: buildkit's util/suggest ---- */

/* matchCase: the suggestion takes the case of what was written, when that is uniform. */
static char *match_case(const char *lower_opt, const char *orig) {
  autofree char *l = str_to_lower(orig);
  autofree char *u = str_to_upper(orig);
  if (!strcmp(orig, l)) return df_lower(lower_opt);
  if (!strcmp(orig, u)) return df_upper(lower_opt);
  return xstrdup(lower_opt);
}

/* Appends " (did you mean X?)" when an option is less than 3 edits away from val. Go walks
 * a map (random order) where we walk the list; ties are the only difference. */
static void suggest(strbuf *msg, const char *val, const char *const *opts, size_t nopts,
                    bool case_sensitive) {
  autofree char *v = case_sensitive ? xstrdup(val) : str_to_lower(val);
  char *match = NULL;
  size_t mindist = 3;
  for (size_t i = 0; i < nopts; i++) {
    autofree char *o = case_sensitive ? xstrdup(opts[i]) : str_to_lower(opts[i]);
    if (!strcmp(v, o)) {
      free(match);
      return; /* an exact match means the error is about something else */
    }
    size_t d = rune_levenshtein(v, o);
    if (d < mindist) {
      free(match);
      match = case_sensitive ? xstrdup(o) : match_case(o, val);
      mindist = d;
    }
  }
  if (match) sb_printf(msg, " (did you mean %s?)", match);
  free(match);
}

static int fail_suggest(arca_err *err, strbuf *msg) {
  err_set(err, 400, "%s", msg->buf);
  sb_free(msg);
  return -1;
}

/* ---- flags: bflag.go ---- */

typedef enum { FL_BOOL, FL_STRING, FL_STRINGS } fl_type;
typedef struct fl_def {
  const char *name;
  fl_type type;
} fl_def;

static const fl_def no_flags[] = {{NULL, FL_BOOL}};
static const fl_def from_flags[] = {{"platform", FL_STRING}, {NULL, FL_BOOL}};
static const fl_def copy_flags[] = {{"chown", FL_STRING}, {"from", FL_STRING},
                                    {"chmod", FL_STRING}, {"link", FL_BOOL},
                                    {"exclude", FL_STRINGS}, {NULL, FL_BOOL}};
static const fl_def add_flags[] = {{"chown", FL_STRING},        {"chmod", FL_STRING},
                                   {"link", FL_BOOL},           {"keep-git-dir", FL_BOOL},
                                   {"checksum", FL_STRING},     {"unpack", FL_BOOL},
                                   {"exclude", FL_STRINGS},     {NULL, FL_BOOL}};
/* --security exists only in buildkit builds tagged dfrunsecurity, which moby is not */
static const fl_def run_flags[] = {{"device", FL_STRINGS}, {"mount", FL_STRINGS},
                                   {"network", FL_STRING}, {NULL, FL_BOOL}};
static const fl_def health_flags[] = {{"interval", FL_STRING},     {"timeout", FL_STRING},
                                      {"start-period", FL_STRING}, {"start-interval", FL_STRING},
                                      {"retries", FL_STRING},      {NULL, FL_BOOL}};

/* BFlags.Parse over the raw flags of nd; then converts them to df_flag. */
static int flags_parse(df_node *nd, const fl_def *defs, arca_err *err) {
  size_t ndefs = 0;
  while (defs[ndefs].name) ndefs++;
  bool used[8] = {0};
  for (size_t i = 0; i < nd->raw_flags.n; i++) {
    const char *a = nd->raw_flags.v[i];
    if (!strcmp(a, "--")) break; /* the end of the flags */
    if (!str_has_prefix(a, "--")) return err_set(err, 400, "arg should start with -- : %s", a);
    const char *eq = strchr(a, '=');
    autofree char *flag_name = eq ? xstrndup(a, (size_t)(eq - a)) : xstrdup(a);
    const char *value = eq ? eq + 1 : NULL;
    const char *arg = flag_name + 2;
    size_t k = 0;
    while (k < ndefs && strcmp(defs[k].name, arg) != 0) k++;
    if (k == ndefs) {
      strbuf msg;
      sb_init(&msg);
      sb_printf(&msg, "unknown flag: %s", flag_name);
      const char *names[8];
      for (size_t j = 0; j < ndefs; j++) names[j] = defs[j].name;
      suggest(&msg, arg, names, ndefs, true);
      return fail_suggest(err, &msg);
    }
    if (used[k] && defs[k].type != FL_STRINGS)
      return err_set(err, 400, "duplicate flag specified: %s", flag_name);
    used[k] = true;
    if (defs[k].type == FL_BOOL) {
      if (value && !*value) return err_set(err, 400, "missing a value on flag: %s", flag_name);
      if (value && strcasecmp(value, "true") != 0 && strcasecmp(value, "false") != 0)
        return err_set(err, 400, "expecting boolean value for flag %s, not: %s", flag_name,
                       value);
    } else if (!value) {
      return err_set(err, 400, "missing a value on flag: %s", flag_name);
    }
  }
  df_node_take_flags(nd);
  return 0;
}

/* ---- Go number parsing, for HEALTHCHECK ---- */

/* time's own quote(): non-ASCII and control bytes as \x.. */
static char *time_quote(const char *s) {
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p >= 0x80 || *p < ' ') sb_printf(&sb, "\\x%02x", *p);
    else if (*p == '"' || *p == '\\') sb_printf(&sb, "\\%c", *p);
    else sb_append(&sb, p, 1);
  }
  sb_puts(&sb, "\"");
  return sb_steal(&sb);
}

/* time.ParseDuration with its error texts. */
static int go_parse_duration(const char *orig, int64_t *out, arca_err *err) {
  autofree char *q = time_quote(orig);
  const char *s = orig;
  bool neg = false;
  if (*s == '-' || *s == '+') neg = *s++ == '-';
  if (!strcmp(s, "0")) {
    *out = 0;
    return 0;
  }
  if (!*s) return err_set(err, 400, "time: invalid duration %s", q);
  const uint64_t limit = 1ULL << 63;
  uint64_t d = 0;
  while (*s) {
    if (!(*s == '.' || isdigit((unsigned char)*s)))
      return err_set(err, 400, "time: invalid duration %s", q);
    uint64_t v = 0, f = 0;
    double scale = 1;
    const char *start = s;
    for (; isdigit((unsigned char)*s); s++) {
      if (v > limit / 10) return err_set(err, 400, "time: invalid duration %s", q);
      v = v * 10 + (uint64_t)(*s - '0');
      if (v > limit) return err_set(err, 400, "time: invalid duration %s", q);
    }
    bool pre = s != start, post = false;
    if (*s == '.') {
      s++;
      const char *fs = s;
      bool overflow = false;
      for (; isdigit((unsigned char)*s); s++) {
        if (overflow) continue;
        if (f > (limit - 1) / 10) {
          overflow = true;
          continue;
        }
        uint64_t y = f * 10 + (uint64_t)(*s - '0');
        if (y > limit) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = s != fs;
    }
    if (!pre && !post) return err_set(err, 400, "time: invalid duration %s", q);
    const char *u = s;
    while (*s && *s != '.' && !isdigit((unsigned char)*s)) s++;
    size_t ulen = (size_t)(s - u);
    if (ulen == 0) return err_set(err, 400, "time: missing unit in duration %s", q);
    uint64_t unit = 0;
    static const struct {
      const char *name;
      uint64_t ns;
    } units[] = {{"ns", 1ULL},           {"us", 1000ULL},          {"\xc2\xb5s", 1000ULL},
                 {"\xce\xbcs", 1000ULL}, {"ms", 1000000ULL},       {"s", 1000000000ULL},
                 {"m", 60000000000ULL},  {"h", 3600000000000ULL}};
    for (size_t i = 0; i < ARRAY_LEN(units); i++)
      if (strlen(units[i].name) == ulen && !memcmp(units[i].name, u, ulen)) unit = units[i].ns;
    if (!unit) {
      autofree char *un = xstrndup(u, ulen);
      autofree char *uq = time_quote(un);
      return err_set(err, 400, "time: unknown unit %s in duration %s", uq, q);
    }
    if (v > limit / unit) return err_set(err, 400, "time: invalid duration %s", q);
    v *= unit;
    if (f > 0) {
      v += (uint64_t)((double)f * ((double)unit / scale));
      if (v > limit) return err_set(err, 400, "time: invalid duration %s", q);
    }
    d += v;
    if (d > limit) return err_set(err, 400, "time: invalid duration %s", q);
  }
  if (neg) {
    *out = d == limit ? INT64_MIN : -(int64_t)d;
    return 0;
  }
  if (d > limit - 1) return err_set(err, 400, "time: invalid duration %s", q);
  *out = (int64_t)d;
  return 0;
}

/* strconv.ParseInt(s, 10, 32) with its error texts. */
static int go_parse_int32(const char *orig, int *out, arca_err *err) {
  autofree char *q = go_quote(orig);
  const char *s = orig;
  bool neg = false;
  if (*s == '+' || *s == '-') neg = *s++ == '-';
  if (!*s) return err_set(err, 400, "strconv.ParseInt: parsing %s: invalid syntax", q);
  uint64_t n = 0;
  for (; *s; s++) {
    if (!isdigit((unsigned char)*s))
      return err_set(err, 400, "strconv.ParseInt: parsing %s: invalid syntax", q);
    n = n * 10 + (uint64_t)(*s - '0');
    if (n > 0xffffffffULL)
      return err_set(err, 400, "strconv.ParseInt: parsing %s: value out of range", q);
  }
  if ((!neg && n >= (1ULL << 31)) || (neg && n > (1ULL << 31)))
    return err_set(err, 400, "strconv.ParseInt: parsing %s: value out of range", q);
  *out = neg ? (int)-(int64_t)n : (int)n;
  return 0;
}

/* parseOptInterval: empty is 0, anything below 1ms other than 0 is refused. */
static int opt_interval(const df_instr *in, const char *name, int64_t *out, arca_err *err) {
  const df_flag *f = df_instr_flag(in, name);
  *out = 0;
  if (!f || !f->value || !*f->value) return 0;
  int64_t d = 0;
  if (go_parse_duration(f->value, &d, err) < 0) return -1;
  if (d == 0) return 0;
  if (d < 1000000) return err_set(err, 400, "Interval \"%s\" cannot be less than 1ms", name);
  *out = d;
  return 0;
}

/* ---- instructions ---- */

static int err_at_least_one(arca_err *err, const char *cmd) {
  return err_set(err, 400, "%s requires at least one argument", cmd);
}
static int err_exactly_one(arca_err *err, const char *cmd) {
  return err_set(err, 400, "%s requires exactly one argument", cmd);
}

static int check_kvps(const df_instr *in, const char *cmd, arca_err *err) {
  if (in->nkvs == 0) return err_at_least_one(err, cmd);
  for (size_t i = 0; i < in->nkvs; i++)
    if (!in->kvs[i].key[0]) return err_set(err, 400, "%s names can not be blank", cmd);
  return 0;
}

static int check_copy(df_node *nd, const char *cmd, const fl_def *defs, arca_err *err) {
  df_instr *in = &nd->in;
  if (in->nargs < 2)
    return err_set(err, 400,
                   "%s requires at least two arguments, but only one was provided. Destination "
                   "could not be determined",
                   cmd);
  if (flags_parse(nd, defs, err) < 0) return -1;
  df_heredoc h;
  arca_err ignored;
  if (df_parse_heredoc_word(in->args[in->nargs - 1], &h, &ignored) == 1) {
    df_heredoc_clear(&h);
    return err_set(err, 400, "%s cannot accept a heredoc as a destination", cmd);
  }
  return 0;
}

static bool valid_stage_name(const char *s) {
  if (!(*s >= 'a' && *s <= 'z')) return false;
  for (s++; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || isdigit((unsigned char)*s) || *s == '-' || *s == '_' ||
          *s == '.'))
      return false;
  return true;
}

static int check_from(df_node *nd, arca_err *err) {
  df_instr *in = &nd->in;
  if (in->nargs == 3 && !strcasecmp(in->args[1], "as")) {
    char *name = df_lower(in->args[2]);
    if (!valid_stage_name(name)) {
      free(name);
      autofree char *q = go_quote(in->args[2]);
      return err_set(err, 400,
                     "invalid name for build stage: %s, name can't start with a number or "
                     "contain symbols",
                     q);
    }
    in->stage_name = name;
  } else if (in->nargs != 1) {
    return err_set(err, 400, "FROM requires either one or three arguments");
  }
  return flags_parse(nd, from_flags, err);
}

static int check_onbuild(df_node *nd, arca_err *err) {
  df_instr *in = &nd->in;
  if (in->nargs == 0) return err_at_least_one(err, "ONBUILD");
  if (flags_parse(nd, no_flags, err) < 0) return -1;
  size_t a, b;
  str_trim_space(in->args[0], strlen(in->args[0]), &a, &b);
  autofree char *trimmed = xstrndup(in->args[0] + a, b - a);
  autofree char *trigger = df_upper(trimmed);
  if (!strcmp(trigger, "ONBUILD"))
    return err_set(err, 400, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (!strcmp(trigger, "MAINTAINER") || !strcmp(trigger, "FROM"))
    return err_set(err, 400, "%s isn't allowed as an ONBUILD trigger", trigger);

  /* (?i)^\s*ONBUILD\s* removed from the original line, heredoc bodies appended */
  const char *p = nd->line;
  while (re_space(*p)) p++;
  if (!strncasecmp(p, "onbuild", 7)) {
    p += 7;
    while (re_space(*p)) p++;
  } else {
    p = nd->line;
  }
  strbuf expr;
  sb_init(&expr);
  sb_puts(&expr, p);
  for (size_t i = 0; i < in->nheredocs; i++) {
    sb_puts(&expr, "\n");
    sb_puts(&expr, in->heredocs[i].content ? in->heredocs[i].content : "");
    sb_puts(&expr, in->heredocs[i].name);
  }
  in->onbuild_expr = sb_steal(&expr);
  return 0;
}

static int check_healthcheck(df_node *nd, arca_err *err) {
  df_instr *in = &nd->in;
  if (in->nargs == 0) return err_at_least_one(err, "HEALTHCHECK");
  autofree char *typ = df_upper(in->args[0]);
  df_health *h = xcalloc(1, sizeof *h);
  in->health = h;
  if (!strcmp(typ, "NONE")) {
    if (in->nargs != 1) return err_set(err, 400, "HEALTHCHECK NONE takes no arguments");
    df_node_take_flags(nd); /* NONE never looks at its flags */
    h->test = xcalloc(2, sizeof *h->test);
    h->test[h->ntest++] = xstrdup("NONE");
    return 0;
  }
  if (flags_parse(nd, health_flags, err) < 0) return -1;
  if (strcmp(typ, "CMD") != 0) {
    autofree char *q = go_quote(typ);
    return err_set(err, 400, "Unknown type %s in HEALTHCHECK (try CMD)", q);
  }
  if (in->nargs < 2) return err_set(err, 400, "Missing command after HEALTHCHECK CMD");
  h->test = xcalloc(in->nargs + 1, sizeof *h->test);
  if (in->json_form) {
    h->test[h->ntest++] = xstrdup("CMD");
    for (size_t i = 1; i < in->nargs; i++) h->test[h->ntest++] = xstrdup(in->args[i]);
  } else {
    strbuf cmd;
    sb_init(&cmd);
    for (size_t i = 1; i < in->nargs; i++) {
      if (i > 1) sb_puts(&cmd, " ");
      sb_puts(&cmd, in->args[i]);
    }
    h->test[h->ntest++] = xstrdup("CMD-SHELL");
    h->test[h->ntest++] = sb_steal(&cmd);
  }
  if (opt_interval(in, "interval", &h->interval_ns, err) < 0 ||
      opt_interval(in, "timeout", &h->timeout_ns, err) < 0 ||
      opt_interval(in, "start-period", &h->start_period_ns, err) < 0 ||
      opt_interval(in, "start-interval", &h->start_interval_ns, err) < 0)
    return -1;
  const df_flag *retries = df_instr_flag(in, "retries");
  if (retries && retries->value && *retries->value) {
    int r = 0;
    if (go_parse_int32(retries->value, &r, err) < 0) return -1;
    if (r < 0) return err_set(err, 400, "--retries cannot be negative (%d)", r);
    h->retries = r;
  }
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_arg(df_node *nd, arca_err *err) {
  df_instr *in = &nd->in;
  if (in->nargs < 1) return err_at_least_one(err, "ARG");
  in->kvs = xcalloc(in->nargs, sizeof *in->kvs);
  for (size_t i = 0; i < in->nargs; i++) {
    const char *a = in->args[i];
    const char *eq = strchr(a, '=');
    if (eq == a) return err_set(err, 400, "ARG names can not be blank");
    df_kv *kv = &in->kvs[in->nkvs++];
    kv->key = eq ? xstrndup(a, (size_t)(eq - a)) : xstrdup(a);
    kv->value = eq ? xstrdup(eq + 1) : NULL;
  }
  return 0;
}

static const char *const instruction_names[] = {
    "ADD",     "ARG", "CMD",   "COPY",       "ENTRYPOINT", "ENV",    "EXPOSE",
    "FROM",    "HEALTHCHECK",  "LABEL",      "MAINTAINER", "ONBUILD", "RUN",
    "SHELL",   "STOPSIGNAL",   "USER",       "VOLUME",     "WORKDIR"};

int df_check_instr(df_node *nd, arca_err *err) {
  df_instr *in = &nd->in;
  const char *kw = in->keyword;
  if (!nd->known) {
    strbuf msg;
    sb_init(&msg);
    sb_printf(&msg, "unknown instruction: %s", nd->cmd_raw);
    suggest(&msg, nd->cmd_raw, instruction_names, ARRAY_LEN(instruction_names), false);
    return fail_suggest(err, &msg);
  }
  if (!strcmp(kw, "env")) {
    if (flags_parse(nd, no_flags, err) < 0) return -1;
    return check_kvps(in, "ENV", err);
  }
  if (!strcmp(kw, "label")) {
    if (flags_parse(nd, no_flags, err) < 0) return -1;
    return check_kvps(in, "LABEL", err);
  }
  if (!strcmp(kw, "maintainer")) {
    if (in->nargs != 1) return err_exactly_one(err, "MAINTAINER");
    return flags_parse(nd, no_flags, err);
  }
  if (!strcmp(kw, "add")) return check_copy(nd, "ADD", add_flags, err);
  if (!strcmp(kw, "copy")) return check_copy(nd, "COPY", copy_flags, err);
  if (!strcmp(kw, "from")) return check_from(nd, err);
  if (!strcmp(kw, "onbuild")) return check_onbuild(nd, err);
  if (!strcmp(kw, "workdir") || !strcmp(kw, "user")) {
    if (in->nargs != 1) return err_exactly_one(err, kw[0] == 'w' ? "WORKDIR" : "USER");
    return flags_parse(nd, no_flags, err);
  }
  if (!strcmp(kw, "run")) {
    if (flags_parse(nd, run_flags, err) < 0) return -1;
    const df_flag *net = df_instr_flag(in, "network");
    if (net && strcmp(net->value, "default") && strcmp(net->value, "none") &&
        strcmp(net->value, "host")) {
      autofree char *q = go_quote(net->value);
      return err_set(err, 400, "invalid network mode %s", q);
    }
    return 0;
  }
  if (!strcmp(kw, "cmd") || !strcmp(kw, "entrypoint")) return flags_parse(nd, no_flags, err);
  if (!strcmp(kw, "healthcheck")) return check_healthcheck(nd, err);
  if (!strcmp(kw, "expose")) {
    if (in->nargs == 0) return err_at_least_one(err, "EXPOSE");
    if (flags_parse(nd, no_flags, err) < 0) return -1;
    qsort(in->args, in->nargs, sizeof *in->args, cmp_str);
    return 0;
  }
  if (!strcmp(kw, "volume")) {
    if (in->nargs == 0) return err_at_least_one(err, "VOLUME");
    if (flags_parse(nd, no_flags, err) < 0) return -1;
    for (size_t i = 0; i < in->nargs; i++) {
      size_t a, b;
      str_trim_space(in->args[i], strlen(in->args[i]), &a, &b);
      if (a == b) return err_set(err, 400, "VOLUME specified can not be an empty string");
      char *t = xstrndup(in->args[i] + a, b - a);
      free(in->args[i]);
      in->args[i] = t;
    }
    return 0;
  }
  if (!strcmp(kw, "stopsignal")) {
    if (in->nargs != 1) return err_exactly_one(err, "STOPSIGNAL");
    df_node_take_flags(nd); /* STOPSIGNAL never looks at its flags */
    return 0;
  }
  if (!strcmp(kw, "arg")) {
    df_node_take_flags(nd); /* nor does ARG */
    return check_arg(nd, err);
  }
  if (!strcmp(kw, "shell")) {
    if (flags_parse(nd, no_flags, err) < 0) return -1;
    if (in->nargs == 0) return err_at_least_one(err, "SHELL");
    if (!in->json_form) return err_set(err, 400, "SHELL requires the arguments to be in JSON form");
    return 0;
  }
  return 0;
}
