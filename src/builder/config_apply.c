#include "builder/config_apply.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/shell_lex.h"
#include "common/cleanup.h"
#include "common/pattern.h"
#include "common/util.h"

static const struct {
  const char *name;
  int num;
} signals[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},   {"CHLD", SIGCHLD}, {"CLD", SIGCHLD},
    {"CONT", SIGCONT}, {"FPE", SIGFPE},   {"HUP", SIGHUP},   {"ILL", SIGILL},   {"INT", SIGINT},
    {"IO", SIGIO},     {"IOT", SIGIOT},   {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},
    {"PROF", SIGPROF}, {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV}, {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM}, {"TRAP", SIGTRAP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
    {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

int signal_parse(const char *s) {
  if (!s || !*s) return -1;
  char *end;
  long n = strtol(s, &end, 10);
  if (!*end) return n > 0 && n <= 64 ? (int)n : -1;
  const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
  for (size_t i = 0; i < ARRAY_LEN(signals); i++)
    if (!strcasecmp(name, signals[i].name)) return signals[i].num;
  /* RTMIN+n, RTMAX-n */
  if (!strncasecmp(name, "RTMIN+", 6)) return SIGRTMIN + atoi(name + 6);
  if (!strncasecmp(name, "RTMAX-", 6)) return SIGRTMAX - atoi(name + 6);
  return -1;
}

bool config_is_commit_change(const char *kw) {
  static const char *const ok[] = {"cmd", "entrypoint", "healthcheck", "env", "expose", "label", "onbuild",
                                   "stopsignal", "user", "volume", "workdir"};
  for (size_t i = 0; i < ARRAY_LEN(ok); i++)
    if (!strcasecmp(kw, ok[i])) return true;
  return false;
}

static json_t *cfg_obj(json_t *image_config) {
  json_t *c = json_object_get(image_config, "config");
  if (!json_is_object(c)) {
    c = json_object();
    json_object_set_new(image_config, "config", c);
  }
  return c;
}

/* Env of the config plus build args, for expansion (build args first: config Env wins). */
static char **expansion_env(json_t *c, const config_apply_state *st, size_t *n) {
  json_t *env = json_object_get(c, "Env");
  size_t ne = json_array_size(env);
  char **out = xcalloc(ne + st->nbuild_env + 1, sizeof *out);
  *n = 0;
  for (size_t i = 0; i < st->nbuild_env; i++) out[(*n)++] = xstrdup(st->build_env[i]);
  for (size_t i = 0; i < ne; i++) out[(*n)++] = xstrdup(json_string_value(json_array_get(env, i)) ?: "");
  return out;
}

static void free_env(char **env, size_t n) {
  for (size_t i = 0; i < n; i++) free(env[i]);
  free(env);
}

static int expand(json_t *c, const config_apply_state *st, const char *word, char **out, arca_err *err) {
  size_t n;
  char **env = expansion_env(c, st, &n);
  /* later entries win in Docker's lookups: reverse so the first match is the newest */
  for (size_t i = 0; i < n / 2; i++) {
    char *t = env[i];
    env[i] = env[n - 1 - i];
    env[n - 1 - i] = t;
  }
  int rc = shell_lex_word(word, st->escape ? st->escape : '\\', (const char *const *)env, n, out, err);
  free_env(env, n);
  return rc;
}

static json_t *args_array(const df_instr *in) {
  json_t *a = json_array();
  for (size_t i = 0; i < in->nargs; i++) json_array_append_new(a, json_string(in->args[i]));
  return a;
}

/* Shell form: the stage's SHELL (default /bin/sh -c) followed by the command line. */
static json_t *command(json_t *c, const df_instr *in) {
  if (in->json_form) return args_array(in);
  json_t *shell = json_object_get(c, "Shell");
  json_t *a = json_array_size(shell) ? json_deep_copy(shell) : json_pack("[s,s]", "/bin/sh", "-c");
  strbuf sb;
  sb_init(&sb);
  for (size_t i = 0; i < in->nargs; i++) {
    if (i) sb_puts(&sb, " ");
    sb_puts(&sb, in->args[i]);
  }
  json_array_append_new(a, json_string(sb.buf ? sb.buf : ""));
  sb_free(&sb);
  return a;
}

static void set_env(json_t *c, const char *key, const char *value) {
  json_t *env = json_object_get(c, "Env");
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(c, "Env", env);
  }
  size_t klen = strlen(key);
  size_t i;
  json_t *v;
  json_array_foreach(env, i, v) {
    const char *s = json_string_value(v);
    if (s && !strncmp(s, key, klen) && s[klen] == '=') {
      json_array_set_new(env, i, json_sprintf("%s=%s", key, value));
      return;
    }
  }
  json_array_append_new(env, json_sprintf("%s=%s", key, value));
}

int expose_ports(const char *spec, json_t *exposed, arca_err *err) {
  autofree char *copy = xstrdup(spec);
  char *proto = strchr(copy, '/');
  const char *p = "tcp";
  if (proto) {
    *proto = '\0';
    p = proto + 1;
    for (char *q = proto + 1; *q; q++) *q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
    if (strcmp(p, "tcp") && strcmp(p, "udp") && strcmp(p, "sctp"))
      return err_set(err, 400, "invalid proto: %s", p);
  }
  char *dash = strchr(copy, '-');
  char *end;
  long lo = strtol(copy, &end, 10), hi = lo;
  if (end == copy || (dash ? end != dash : *end)) return err_set(err, 400, "invalid containerPort: %s", copy);
  if (dash) {
    hi = strtol(dash + 1, &end, 10);
    if (*end || end == dash + 1) return err_set(err, 400, "invalid containerPort: %s", copy);
  }
  if (lo < 0 || hi > 65535 || hi < lo) return err_set(err, 400, "invalid range specified for container port: %s", copy);
  for (long port = lo; port <= hi; port++) {
    char key[32];
    snprintf(key, sizeof key, "%ld/%s", port, p);
    json_object_set_new(exposed, key, json_object());
  }
  return 0;
}

static char *join_workdir(const char *current, const char *dir) {
  if (dir[0] == '/') return path_clean(dir);
  autofree char *joined = xasprintf("%s/%s", current && *current ? current : "/", dir);
  return path_clean(joined);
}

static json_t *duration(int64_t ns) { return json_integer(ns); }

int config_apply_instruction(json_t *image_config, const df_instr *in, config_apply_state *st, arca_err *err) {
  json_t *c = cfg_obj(image_config);
  const char *kw = in->keyword;
  if (!strcmp(kw, "cmd")) {
    json_object_set_new(c, "Cmd", command(c, in));
    st->cmd_set = true;
  } else if (!strcmp(kw, "entrypoint")) {
    if (in->nargs == 0 || (in->nargs == 1 && !in->json_form && !*in->args[0]))
      json_object_set_new(c, "Entrypoint", json_null());
    else json_object_set_new(c, "Entrypoint", command(c, in));
    if (!st->cmd_set) json_object_set_new(c, "Cmd", json_null());
  } else if (!strcmp(kw, "env")) {
    for (size_t i = 0; i < in->nkvs; i++) {
      autofree char *key = NULL, *value = NULL;
      if (expand(c, st, in->kvs[i].key, &key, err) < 0) return -1;
      if (expand(c, st, in->kvs[i].value ? in->kvs[i].value : "", &value, err) < 0) return -1;
      if (!*key) return err_set(err, 400, "ENV names can not be blank");
      set_env(c, key, value);
    }
  } else if (!strcmp(kw, "label")) {
    json_t *labels = json_object_get(c, "Labels");
    if (!json_is_object(labels)) {
      labels = json_object();
      json_object_set_new(c, "Labels", labels);
    }
    for (size_t i = 0; i < in->nkvs; i++) {
      autofree char *key = NULL, *value = NULL;
      if (expand(c, st, in->kvs[i].key, &key, err) < 0) return -1;
      if (expand(c, st, in->kvs[i].value ? in->kvs[i].value : "", &value, err) < 0) return -1;
      json_object_set_new(labels, key, json_string(value));
    }
  } else if (!strcmp(kw, "expose")) {
    json_t *exposed = json_object_get(c, "ExposedPorts");
    if (!json_is_object(exposed)) {
      exposed = json_object();
      json_object_set_new(c, "ExposedPorts", exposed);
    }
    for (size_t i = 0; i < in->nargs; i++) {
      autofree char *v = NULL;
      if (expand(c, st, in->args[i], &v, err) < 0) return -1;
      if (expose_ports(v, exposed, err) < 0) return -1;
    }
  } else if (!strcmp(kw, "user")) {
    autofree char *v = NULL;
    if (expand(c, st, in->nargs ? in->args[0] : "", &v, err) < 0) return -1;
    json_object_set_new(c, "User", json_string(v));
  } else if (!strcmp(kw, "workdir")) {
    autofree char *v = NULL;
    if (expand(c, st, in->nargs ? in->args[0] : "", &v, err) < 0) return -1;
    char *wd = join_workdir(json_string_value(json_object_get(c, "WorkingDir")), v);
    json_object_set_new(c, "WorkingDir", json_string(wd));
    free(wd);
  } else if (!strcmp(kw, "volume")) {
    json_t *vols = json_object_get(c, "Volumes");
    if (!json_is_object(vols)) {
      vols = json_object();
      json_object_set_new(c, "Volumes", vols);
    }
    for (size_t i = 0; i < in->nargs; i++) {
      autofree char *v = NULL;
      if (expand(c, st, in->args[i], &v, err) < 0) return -1;
      if (!*v) return err_set(err, 400, "VOLUME specified can not be an empty string");
      json_object_set_new(vols, v, json_object());
    }
  } else if (!strcmp(kw, "stopsignal")) {
    autofree char *v = NULL;
    if (expand(c, st, in->nargs ? in->args[0] : "", &v, err) < 0) return -1;
    if (signal_parse(v) < 0) return err_set(err, 400, "Invalid signal: %s", v);
    json_object_set_new(c, "StopSignal", json_string(v));
  } else if (!strcmp(kw, "onbuild")) {
    json_t *ob = json_object_get(c, "OnBuild");
    if (!json_is_array(ob)) {
      ob = json_array();
      json_object_set_new(c, "OnBuild", ob);
    }
    json_array_append_new(ob, json_string(in->onbuild_expr ? in->onbuild_expr : ""));
  } else if (!strcmp(kw, "healthcheck")) {
    const df_health *h = in->health;
    if (!h) return err_set(err, 400, "HEALTHCHECK requires an argument");
    json_t *test = json_array();
    for (size_t i = 0; i < h->ntest; i++) json_array_append_new(test, json_string(h->test[i]));
    json_t *hc = json_pack("{s:o}", "Test", test);
    if (h->interval_ns) json_object_set_new(hc, "Interval", duration(h->interval_ns));
    if (h->timeout_ns) json_object_set_new(hc, "Timeout", duration(h->timeout_ns));
    if (h->start_period_ns) json_object_set_new(hc, "StartPeriod", duration(h->start_period_ns));
    if (h->start_interval_ns) json_object_set_new(hc, "StartInterval", duration(h->start_interval_ns));
    if (h->retries) json_object_set_new(hc, "Retries", json_integer(h->retries));
    json_object_set_new(c, "Healthcheck", hc);
  } else if (!strcmp(kw, "shell")) {
    json_object_set_new(c, "Shell", args_array(in));
  } else if (!strcmp(kw, "maintainer")) {
    strbuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < in->nargs; i++) {
      if (i) sb_puts(&sb, " ");
      sb_puts(&sb, in->args[i]);
    }
    json_object_set_new(image_config, "author", json_string(sb.buf ? sb.buf : ""));
    sb_free(&sb);
  } else {
    return err_set(err, 400, "%s is not a metadata instruction", kw);
  }
  return 0;
}
