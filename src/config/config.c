#include "config/config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

void strlist_add(strlist *l, const char *s) {
  l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
  l->v[l->n++] = xstrdup(s);
}
void strlist_free(strlist *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}
bool strlist_contains(const strlist *l, const char *s) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i], s) == 0) return true;
  return false;
}

enum opt_type { OPT_STRING, OPT_BOOL, OPT_LIST, OPT_INT, OPT_POOLS };

/* Every configuration key, with its daemon.json name and its flag. */
static const struct option_def {
  const char *key;    /* daemon.json name, also the long flag unless flag is set */
  const char *flag;   /* long flag name when it differs from key */
  int short_flag;
  enum opt_type type;
  const char *help;
} options[] = {
    {"hosts", "host", 'H', OPT_LIST, "daemon socket(s) to listen on: unix:///path or tcp://host:port"},
    {"data-root", NULL, 0, OPT_STRING, "root of persisted state (default " ARCA_DEFAULT_DATA_ROOT ")"},
    {"exec-root", NULL, 0, OPT_STRING, "root of run-time state: sockets, pids (default " ARCA_DEFAULT_EXEC_ROOT ")"},
    {"pidfile", NULL, 'p', OPT_STRING, "path of the daemon's PID file (default: none)"},
    {"log-level", NULL, 'l', OPT_STRING, "debug, info, warn, error or fatal (default info)"},
    {"log-format", NULL, 0, OPT_STRING, "text (logfmt) or json (default text)"},
    {"debug", NULL, 'D', OPT_BOOL, "debug mode: log-level debug"},
    {"runtime", NULL, 0, OPT_STRING, "OCI runtime: runc or crun (default runc)"},
    {"insecure-registries", "insecure-registry", 0, OPT_LIST, "registry (host:port or CIDR) reached over plain HTTP"},
    {"registry-mirrors", "registry-mirror", 0, OPT_LIST, "mirror for docker.io pulls (URL)"},
    {"default-address-pools", "default-address-pool", 0, OPT_POOLS, "pool for network subnets: base=172.30.0.0/16,size=24"},
    {"tls", NULL, 0, OPT_BOOL, "serve TCP listeners over TLS"},
    {"tlsverify", NULL, 0, OPT_BOOL, "TLS and require client certificates signed by tlscacert"},
    {"tlscacert", NULL, 0, OPT_STRING, "CA that signs client certificates"},
    {"tlscert", NULL, 0, OPT_STRING, "server certificate"},
    {"tlskey", NULL, 0, OPT_STRING, "server key"},
    {"group", NULL, 'G', OPT_STRING, "group owning the unix socket (default docker, when it exists)"},
    {"docker-socket-symlink", NULL, 0, OPT_BOOL, "point /var/run/docker.sock at Arca's socket"},
    {"max-concurrent-downloads", NULL, 0, OPT_INT, "layers downloaded at once per pull (default 3)"},
    {"max-concurrent-uploads", NULL, 0, OPT_INT, "layers uploaded at once per push (default 5)"},
    {"labels", "label", 0, OPT_LIST, "daemon label key=value"},
    {"skip-prereq-check", NULL, 0, OPT_BOOL, "start even when a prerequisite is missing (API only)"},
};

static const char *flag_name(const struct option_def *o) { return o->flag ? o->flag : o->key; }

/* Flags seen on the command line, in daemon.json shape; kept for SIGHUP reloads. */
static json_t *g_flag_json;

void config_usage(FILE *out) {
  fprintf(out,
          "Usage: arcad [OPTIONS]\n"
          "       arcad doctor     check every prerequisite and say how to fix what is missing\n"
          "       arcad setup      install the prerequisites (scripts/deps.sh)\n"
          "       arcad routes     print the API route table\n\n"
          "Arca: a Docker Engine API v1.51 daemon.\n\nOptions:\n"
          "      --config-file string   daemon configuration file (default %s)\n",
          ARCA_DEFAULT_CONFIG_FILE);
  for (size_t i = 0; i < ARRAY_LEN(options); i++) {
    const struct option_def *o = &options[i];
    char left[64];
    if (o->short_flag) snprintf(left, sizeof left, "-%c, --%s", o->short_flag, flag_name(o));
    else snprintf(left, sizeof left, "    --%s", flag_name(o));
    fprintf(out, "  %-28s %s\n", left, o->help);
  }
  fprintf(out, "  -v, --version                print the version and exit\n"
               "  -h, --help                   print this help\n");
}

static int bool_from_string(const char *s, bool *out) {
  if (!s || !strcmp(s, "true") || !strcmp(s, "1")) *out = true;
  else if (!strcmp(s, "false") || !strcmp(s, "0")) *out = false;
  else return -1;
  return 0;
}

static int parse_pool(const char *s, json_t **out, arca_err *err) {
  autofree char *copy = xstrdup(s);
  autojson json_t *pool = json_object();
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq) return err_set(err, 0, "invalid default-address-pool %s: expected base=CIDR,size=N", s);
    *eq = '\0';
    if (!strcmp(tok, "base")) json_object_set_new(pool, "base", json_string(eq + 1));
    else if (!strcmp(tok, "size")) {
      char *end;
      long v = strtol(eq + 1, &end, 10);
      if (*end || v < 1 || v > 32) return err_set(err, 0, "invalid default-address-pool size %s", eq + 1);
      json_object_set_new(pool, "size", json_integer(v));
    } else return err_set(err, 0, "invalid default-address-pool field %s", tok);
  }
  if (!json_object_get(pool, "base") || !json_object_get(pool, "size"))
    return err_set(err, 0, "invalid default-address-pool %s: base and size are required", s);
  *out = steal_ptr(pool);
  return 0;
}

/* Command-line flags → daemon.json-shaped object. */
static int parse_flags(int argc, char **argv, json_t *flags, char **config_file, int *exit_now,
                       arca_err *err) {
  size_t n = ARRAY_LEN(options);
  struct option *longopts = xcalloc(n + 4, sizeof *longopts);
  strbuf shorts;
  sb_init(&shorts);
  sb_puts(&shorts, "+vh");
  for (size_t i = 0; i < n; i++) {
    longopts[i].name = flag_name(&options[i]);
    longopts[i].has_arg = options[i].type == OPT_BOOL ? optional_argument : required_argument;
    longopts[i].val = 1000 + (int)i;
    if (options[i].short_flag) {
      char s[3] = {(char)options[i].short_flag, options[i].type == OPT_BOOL ? 0 : ':', 0};
      sb_puts(&shorts, s);
    }
  }
  longopts[n] = (struct option){"config-file", required_argument, NULL, 999};
  longopts[n + 1] = (struct option){"version", no_argument, NULL, 'v'};
  longopts[n + 2] = (struct option){"help", no_argument, NULL, 'h'};

  int rc = 0;
  optind = 1;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, shorts.buf, longopts, NULL);
    if (c == -1) break;
    const struct option_def *o = NULL;
    if (c >= 1000) o = &options[c - 1000];
    else if (c == 999) {
      free(*config_file);
      *config_file = xstrdup(optarg);
      continue;
    } else if (c == 'v') {
      printf("Arca version %s, build %s\n", ARCA_VERSION, ARCA_GIT_COMMIT);
      *exit_now = 1;
      break;
    } else if (c == 'h') {
      config_usage(stdout);
      *exit_now = 1;
      break;
    } else if (c == '?') {
      rc = err_set(err, 0, "unknown flag: %s", argv[optind - 1]);
      break;
    } else {
      for (size_t i = 0; i < n; i++)
        if (options[i].short_flag == c) o = &options[i];
    }
    if (!o) { rc = err_set(err, 0, "unknown flag -%c", c); break; }
    switch (o->type) {
    case OPT_STRING:
      json_object_set_new(flags, o->key, json_string(optarg));
      break;
    case OPT_BOOL: {
      bool v;
      if (bool_from_string(optarg, &v) < 0) {
        rc = err_set(err, 0, "invalid argument \"%s\" for \"--%s\" flag: expected true or false", optarg, flag_name(o));
        goto out;
      }
      json_object_set_new(flags, o->key, json_boolean(v));
      break;
    }
    case OPT_INT: {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (*end || *optarg == '\0') {
        rc = err_set(err, 0, "invalid argument \"%s\" for \"--%s\" flag: not a number", optarg, flag_name(o));
        goto out;
      }
      json_object_set_new(flags, o->key, json_integer(v));
      break;
    }
    case OPT_LIST:
    case OPT_POOLS: {
      json_t *arr = json_object_get(flags, o->key);
      if (!arr) {
        arr = json_array();
        json_object_set_new(flags, o->key, arr);
      }
      if (o->type == OPT_LIST) json_array_append_new(arr, json_string(optarg));
      else {
        json_t *pool = NULL;
        if (parse_pool(optarg, &pool, err) < 0) { rc = -1; goto out; }
        json_array_append_new(arr, pool);
      }
      break;
    }
    }
  }
  if (!rc && !*exit_now && optind < argc)
    rc = err_set(err, 0, "unexpected argument: %s (see arcad --help)", argv[optind]);
out:
  free(longopts);
  sb_free(&shorts);
  return rc;
}

static const struct option_def *find_option(const char *key) {
  for (size_t i = 0; i < ARRAY_LEN(options); i++)
    if (!strcmp(options[i].key, key)) return &options[i];
  return NULL;
}

static char *value_text(const json_t *v) {
  if (json_is_array(v)) {
    strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "[");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      if (i) sb_puts(&sb, " ");
      autofree char *t = value_text(e);
      sb_puts(&sb, t);
    }
    sb_puts(&sb, "]");
    return sb_steal(&sb);
  }
  if (json_is_string(v)) return xstrdup(json_string_value(v));
  return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Reads the file (absent is fine unless it was named explicitly) and checks its keys and
 * the conflicts with flags, with dockerd's texts. */
static int load_file(const char *path, bool must_exist, const json_t *flags, json_t **out,
                     arca_err *err) {
  autofree char *text = NULL;
  arca_err ferr;
  if (read_file(path, 1 << 20, &text, NULL, &ferr) < 0) {
    if (ferr.status == 404 && !must_exist) {
      *out = json_object();
      return 0;
    }
    return err_set(err, 0, "unable to configure the Arca daemon with file %s: %s", path, ferr.msg);
  }
  json_error_t jerr;
  autojson json_t *file = json_loads(text, 0, &jerr);
  if (!file || !json_is_object(file))
    return err_set(err, 0, "unable to configure the Arca daemon with file %s: %s (line %d)", path,
                   file ? "the configuration must be a JSON object" : jerr.text, jerr.line);

  strbuf unknown, conflicts;
  sb_init(&unknown);
  sb_init(&conflicts);
  const char *key;
  json_t *v;
  json_object_foreach(file, key, v) {
    const struct option_def *o = find_option(key);
    if (!o) {
      if (unknown.len) sb_puts(&unknown, ", ");
      sb_puts(&unknown, key);
      continue;
    }
    json_t *fv = json_object_get(flags, key);
    if (fv && !json_equal(fv, v)) {
      autofree char *a = value_text(fv);
      autofree char *b = value_text(v);
      if (conflicts.len) sb_puts(&conflicts, ", ");
      sb_printf(&conflicts, "%s: (from flag: %s, from file: %s)", key, a, b);
    }
  }
  int rc = 0;
  if (unknown.len)
    rc = err_set(err, 0, "unable to configure the Arca daemon with file %s: the following directives don't match any configuration option: %s",
                 path, unknown.buf);
  else if (conflicts.len)
    rc = err_set(err, 0, "unable to configure the Arca daemon with file %s: the following directives are specified both as a flag and in the configuration file: %s",
                 path, conflicts.buf);
  sb_free(&unknown);
  sb_free(&conflicts);
  if (rc == 0) *out = steal_ptr(file);
  return rc;
}

static int expect_type(const char *key, const json_t *v, json_type t, const char *what, arca_err *err) {
  if (json_typeof(v) != t) return err_set(err, 0, "invalid value for %s: expected %s", key, what);
  return 0;
}

static int decode_list(const char *key, const json_t *v, strlist *out, arca_err *err) {
  if (expect_type(key, v, JSON_ARRAY, "a list of strings", err) < 0) return -1;
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    if (!json_is_string(e)) return err_set(err, 0, "invalid value for %s: expected a list of strings", key);
    strlist_add(out, json_string_value(e));
  }
  return 0;
}

static void set_str(char **dst, const char *v) {
  free(*dst);
  *dst = xstrdup(v);
}

static int decode(const json_t *merged, arca_config *cfg, arca_err *err) {
  const char *key;
  json_t *v;
  const char *level = NULL, *format = NULL;
  json_object_foreach((json_t *)merged, key, v) {
    const struct option_def *o = find_option(key);
    if (!o) continue;
    switch (o->type) {
    case OPT_STRING:
      if (expect_type(key, v, JSON_STRING, "a string", err) < 0) return -1;
      break;
    case OPT_BOOL:
      if (!json_is_boolean(v)) return err_set(err, 0, "invalid value for %s: expected true or false", key);
      break;
    case OPT_INT:
      if (expect_type(key, v, JSON_INTEGER, "an integer", err) < 0) return -1;
      break;
    default:
      break;
    }
    const char *s = json_string_value(v);
    if (!strcmp(key, "hosts")) { if (decode_list(key, v, &cfg->hosts, err) < 0) return -1; }
    else if (!strcmp(key, "data-root")) set_str(&cfg->data_root, s);
    else if (!strcmp(key, "exec-root")) set_str(&cfg->exec_root, s);
    else if (!strcmp(key, "pidfile")) set_str(&cfg->pidfile, s);
    else if (!strcmp(key, "log-level")) level = s;
    else if (!strcmp(key, "log-format")) format = s;
    else if (!strcmp(key, "debug")) cfg->debug = json_is_true(v);
    else if (!strcmp(key, "runtime")) set_str(&cfg->runtime, s);
    else if (!strcmp(key, "insecure-registries")) { if (decode_list(key, v, &cfg->insecure_registries, err) < 0) return -1; }
    else if (!strcmp(key, "registry-mirrors")) { if (decode_list(key, v, &cfg->registry_mirrors, err) < 0) return -1; }
    else if (!strcmp(key, "labels")) { if (decode_list(key, v, &cfg->labels, err) < 0) return -1; }
    else if (!strcmp(key, "default-address-pools")) {
      if (expect_type(key, v, JSON_ARRAY, "a list of {\"base\", \"size\"} objects", err) < 0) return -1;
      size_t i;
      json_t *p;
      cfg->address_pools = xcalloc(json_array_size(v) + 1, sizeof *cfg->address_pools);
      json_array_foreach(v, i, p) {
        json_t *base = json_object_get(p, "base"), *size = json_object_get(p, "size");
        if (!json_is_string(base) || !json_is_integer(size) || json_integer_value(size) < 1 ||
            json_integer_value(size) > 32)
          return err_set(err, 0, "invalid default-address-pools entry %zu: expected {\"base\": CIDR, \"size\": 1..32}", i);
        cfg->address_pools[i].base = xstrdup(json_string_value(base));
        cfg->address_pools[i].size = (int)json_integer_value(size);
        cfg->n_address_pools++;
      }
    }
    else if (!strcmp(key, "tls")) cfg->tls = json_is_true(v);
    else if (!strcmp(key, "tlsverify")) cfg->tlsverify = json_is_true(v);
    else if (!strcmp(key, "tlscacert")) set_str(&cfg->tlscacert, s);
    else if (!strcmp(key, "tlscert")) set_str(&cfg->tlscert, s);
    else if (!strcmp(key, "tlskey")) set_str(&cfg->tlskey, s);
    else if (!strcmp(key, "group")) set_str(&cfg->group, s);
    else if (!strcmp(key, "docker-socket-symlink")) cfg->docker_socket_symlink = json_is_true(v);
    else if (!strcmp(key, "max-concurrent-downloads")) cfg->max_concurrent_downloads = (int)json_integer_value(v);
    else if (!strcmp(key, "max-concurrent-uploads")) cfg->max_concurrent_uploads = (int)json_integer_value(v);
    else if (!strcmp(key, "skip-prereq-check")) cfg->skip_prereq_check = json_is_true(v);
  }
  if (level && log_level_parse(level, &cfg->log_level) < 0)
    return err_set(err, 0, "unable to parse logging level: %s", level);
  if (cfg->debug) cfg->log_level = LOG_DEBUG;
  if (format && log_format_parse(format, &cfg->log_format) < 0)
    return err_set(err, 0, "unknown log format \"%s\": use text or json", format);
  if (strcmp(cfg->runtime, "runc") && strcmp(cfg->runtime, "crun"))
    return err_set(err, 0, "unknown runtime \"%s\": Arca supports runc and crun", cfg->runtime);
  if (cfg->max_concurrent_downloads < 1 || cfg->max_concurrent_uploads < 1)
    return err_set(err, 0, "max-concurrent-downloads and max-concurrent-uploads must be at least 1");
  if (cfg->tlsverify) cfg->tls = true;
  if (cfg->tls && (!cfg->tlscert || !cfg->tlskey))
    return err_set(err, 0, "tls needs tlscert and tlskey");
  if (cfg->tlsverify && !cfg->tlscacert)
    return err_set(err, 0, "tlsverify needs tlscacert (the CA that signs client certificates)");
  if (cfg->data_root[0] != '/' || cfg->exec_root[0] != '/')
    return err_set(err, 0, "data-root and exec-root must be absolute paths");
  return 0;
}

static void defaults(arca_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->data_root = xstrdup(ARCA_DEFAULT_DATA_ROOT);
  cfg->exec_root = xstrdup(ARCA_DEFAULT_EXEC_ROOT);
  cfg->pidfile = xstrdup("");
  cfg->runtime = xstrdup("runc");
  cfg->log_level = LOG_INFO;
  cfg->log_format = LOG_FMT_TEXT;
  cfg->max_concurrent_downloads = 3;
  cfg->max_concurrent_uploads = 5;
}

static void finish_defaults(arca_config *cfg) {
  if (cfg->hosts.n == 0) strlist_add(&cfg->hosts, "unix://" ARCA_DEFAULT_SOCKET);
  if (!cfg->group) cfg->group = xstrdup(getgrnam("docker") ? "docker" : "");
  if (cfg->n_address_pools == 0) {
    /* Docker's defaults: 172.17-31.0.0/16 as /16s, then 192.168.0.0/16 as /20s. */
    cfg->address_pools = xcalloc(16, sizeof *cfg->address_pools);
    for (int i = 17; i <= 31; i++) {
      cfg->address_pools[cfg->n_address_pools].base = xasprintf("172.%d.0.0/16", i);
      cfg->address_pools[cfg->n_address_pools++].size = 16;
    }
    cfg->address_pools[cfg->n_address_pools].base = xstrdup("192.168.0.0/16");
    cfg->address_pools[cfg->n_address_pools++].size = 20;
  }
}

static int build(const json_t *flags, const char *config_file, bool must_exist, arca_config *cfg,
                 arca_err *err) {
  autojson json_t *file = NULL;
  if (load_file(config_file, must_exist, flags, &file, err) < 0) return -1;
  autojson json_t *merged = json_deep_copy(file);
  json_object_update(merged, (json_t *)flags);
  defaults(cfg);
  cfg->config_file = xstrdup(config_file);
  cfg->config_file_named = must_exist;
  if (decode(merged, cfg, err) < 0) {
    config_free(cfg);
    return -1;
  }
  finish_defaults(cfg);
  return 0;
}

int config_load(int argc, char **argv, arca_config *cfg, arca_err *err) {
  autofree char *config_file = NULL;
  int exit_now = 0;
  json_t *flags = json_object();
  memset(cfg, 0, sizeof *cfg);
  if (parse_flags(argc, argv, flags, &config_file, &exit_now, err) < 0) {
    json_decref(flags);
    return -1;
  }
  if (exit_now) {
    json_decref(flags);
    return 1;
  }
  bool named = config_file != NULL;
  if (!config_file) config_file = xstrdup(ARCA_DEFAULT_CONFIG_FILE);
  if (build(flags, config_file, named, cfg, err) < 0) {
    json_decref(flags);
    return -1;
  }
  if (g_flag_json) json_decref(g_flag_json);
  g_flag_json = flags;
  return 0;
}

int config_reload(const arca_config *current, arca_config *fresh, arca_err *err) {
  autojson json_t *none = json_object();
  return build(g_flag_json ? g_flag_json : none, current->config_file, current->config_file_named, fresh, err);
}

void config_free(arca_config *cfg) {
  free(cfg->config_file);
  strlist_free(&cfg->hosts);
  free(cfg->data_root);
  free(cfg->exec_root);
  free(cfg->pidfile);
  free(cfg->runtime);
  strlist_free(&cfg->insecure_registries);
  strlist_free(&cfg->registry_mirrors);
  strlist_free(&cfg->labels);
  for (size_t i = 0; i < cfg->n_address_pools; i++) free(cfg->address_pools[i].base);
  free(cfg->address_pools);
  free(cfg->tlscacert);
  free(cfg->tlscert);
  free(cfg->tlskey);
  free(cfg->group);
  memset(cfg, 0, sizeof *cfg);
}

void config_release_globals(void);
void config_release_globals(void) {
  if (g_flag_json) json_decref(g_flag_json);
  g_flag_json = NULL;
}

static json_t *list_json(const strlist *l) {
  json_t *a = json_array();
  for (size_t i = 0; i < l->n; i++) json_array_append_new(a, json_string(l->v[i]));
  return a;
}

json_t *config_to_json(const arca_config *cfg) {
  static const char *const levels[] = {"debug", "info", "warn", "error", "fatal"};
  json_t *pools = json_array();
  for (size_t i = 0; i < cfg->n_address_pools; i++)
    json_array_append_new(pools, json_pack("{s:s,s:i}", "base", cfg->address_pools[i].base,
                                           "size", cfg->address_pools[i].size));
  return json_pack("{s:o,s:s,s:s,s:s,s:s,s:b,s:s,s:o,s:o,s:o,s:b,s:b,s:s?,s:s?,s:s?,s:s,s:b,s:i,s:i,s:o}",
                   "hosts", list_json(&cfg->hosts), "data-root", cfg->data_root, "exec-root",
                   cfg->exec_root, "log-level", levels[cfg->log_level], "log-format",
                   cfg->log_format == LOG_FMT_JSON ? "json" : "text", "debug", cfg->debug,
                   "runtime", cfg->runtime, "insecure-registries", list_json(&cfg->insecure_registries),
                   "registry-mirrors", list_json(&cfg->registry_mirrors), "default-address-pools",
                   pools, "tls", cfg->tls, "tlsverify", cfg->tlsverify, "tlscacert",
                   cfg->tlscacert, "tlscert", cfg->tlscert, "tlskey", cfg->tlskey, "group",
                   cfg->group, "docker-socket-symlink", cfg->docker_socket_symlink,
                   "max-concurrent-downloads", cfg->max_concurrent_downloads,
                   "max-concurrent-uploads", cfg->max_concurrent_uploads, "labels",
                   list_json(&cfg->labels));
}

static bool host_is_loopback(const char *host) {
  if (!strcmp(host, "localhost") || !strcmp(host, "::1") || !strcmp(host, "[::1]")) return true;
  return str_has_prefix(host, "127.");
}

int config_check_hosts(const arca_config *cfg, arca_err *err) {
  for (size_t i = 0; i < cfg->hosts.n; i++) {
    const char *h = cfg->hosts.v[i];
    if (str_has_prefix(h, "unix://")) {
      if (h[7] != '/') return err_set(err, 0, "bad format %s: the unix socket path must be absolute", h);
      continue;
    }
    if (!str_has_prefix(h, "tcp://"))
      return err_set(err, 0, "bad format %s, expected PROTO://ADDR (unix:///path or tcp://host:port)", h);
    const char *addr = h + 6;
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || !colon[1])
      return err_set(err, 0, "bad format %s, expected tcp://host:port", h);
    autofree char *host = xstrndup(addr, (size_t)(colon - addr));
    if (!host_is_loopback(host) && !cfg->tlsverify)
      return err_set(err, 0,
                     "refusing to listen on %s without --tlsverify: binding to an IP address without "
                     "--tlsverify is insecure and gives root access on this machine to everyone who "
                     "has access to your network; use a loopback address or configure mutual TLS "
                     "(--tlsverify --tlscacert --tlscert --tlskey)",
                     h);
  }
  return 0;
}
