/* Docker's container documents: inspect and GET /containers/json with its filters. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/filters.h"
#include "common/util.h"
#include "engine/container_internal.h"
#include "engine/engine.h"
#include "engine/execs.h"
#include "engine/networks.h"
#include "engine/volumes.h"
#include "image/reference.h"

#define CS(e) (&(e)->containers)

static json_t *time_json(int64_t ns) {
  char t[64];
  format_rfc3339nano(ns, t, sizeof t);
  return json_string(t);
}

static json_t *config_doc(const container *c) {
  json_t *cfg = json_deep_copy(c->config);
  static const char *const strs[] = {"Hostname", "Domainname", "User", "WorkingDir"};
  static const char *const bools[] = {"AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"};
  for (size_t i = 0; i < ARRAY_LEN(strs); i++)
    if (!json_is_string(json_object_get(cfg, strs[i]))) json_object_set_new(cfg, strs[i], json_string(""));
  for (size_t i = 0; i < ARRAY_LEN(bools); i++)
    if (!json_is_boolean(json_object_get(cfg, bools[i]))) json_object_set_new(cfg, bools[i], json_false());
  static const char *const nulls[] = {"Env", "Cmd", "Volumes", "Entrypoint", "OnBuild"};
  for (size_t i = 0; i < ARRAY_LEN(nulls); i++)
    if (!json_object_get(cfg, nulls[i])) json_object_set_new(cfg, nulls[i], json_null());
  if (!json_is_object(json_object_get(cfg, "Labels"))) json_object_set_new(cfg, "Labels", json_object());
  return cfg;
}

static json_t *mounts_doc(engine *e, const container *c) { return volumes_mounts_json(e, c); }

json_t *container_network_settings(engine *e, const container *c, bool summary);

static json_t *graph_driver(engine *e, const container *c) {
  autofree char *dir = container_dir(e, c->id);
  strbuf lower;
  sb_init(&lower);
  for (size_t i = c->nchain; i > 0; i--) {
    char *d = layers_dir(e->images.layers, c->chain_ids[i - 1]);
    if (lower.len) sb_puts(&lower, ":");
    sb_puts(&lower, d);
    free(d);
  }
  json_t *data = json_pack("{s:s}", "LowerDir", lower.buf ? lower.buf : "");
  json_object_set_new(data, "MergedDir", json_sprintf("%s/rootfs", dir));
  json_object_set_new(data, "UpperDir", json_sprintf("%s/upper", dir));
  json_object_set_new(data, "WorkDir", json_sprintf("%s/work", dir));
  sb_free(&lower);
  return json_pack("{s:o,s:s}", "Data", data, "Name", "overlay2");
}

json_t *container_inspect_json(engine *e, container *c, bool size, int api_minor) {
  (void)api_minor;
  int64_t rw = 0, root = 0;
  if (size && e->driver && e->driver->ops->sizes) {
    arca_err err;
    e->driver->ops->sizes(e->driver, c->id, &rw, &root, &err);
  }
  pthread_mutex_lock(&c->lock);
  autofree char *dir = container_dir(e, c->id);
  json_t *state = json_pack("{s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:s,s:o,s:o}", "Status", cstate_name(c->state), "Running",
                            c->state == CS_RUNNING || c->state == CS_PAUSED || c->state == CS_RESTARTING, "Paused",
                            c->state == CS_PAUSED, "Restarting", c->state == CS_RESTARTING, "OOMKilled", c->oom_killed,
                            "Dead", c->state == CS_DEAD, "Pid",
                            c->state == CS_RUNNING || c->state == CS_PAUSED ? (c->pid > 0 ? c->pid : 1) : 0, "ExitCode",
                            c->exit_code, "Error", c->error ? c->error : "", "StartedAt",
                            time_json(c->has_been_started ? c->started_ns : 0), "FinishedAt", time_json(c->finished_ns));
  json_t *health = health_json(c);
  if (health) json_object_set_new(state, "Health", health);
  json_t *exec_ids = c->nexec ? json_array() : json_null();
  for (size_t i = 0; i < c->nexec; i++) json_array_append_new(exec_ids, json_string(c->exec_ids[i]));
  char *log_path = e->driver && e->driver->ops->log_path ? e->driver->ops->log_path(e->driver, c->id) : NULL;
  json_t *doc = json_object();
  json_object_set_new(doc, "Id", json_string(c->id));
  json_object_set_new(doc, "Created", time_json(c->created_ns));
  json_object_set_new(doc, "Path", json_string(c->path ? c->path : ""));
  json_object_set_new(doc, "Args", json_deep_copy(c->args));
  json_object_set_new(doc, "State", state);
  json_object_set_new(doc, "Image", json_string(c->image_id));
  json_object_set_new(doc, "ResolvConfPath", json_sprintf("%s/resolv.conf", dir));
  json_object_set_new(doc, "HostnamePath", json_sprintf("%s/hostname", dir));
  json_object_set_new(doc, "HostsPath", json_sprintf("%s/hosts", dir));
  json_object_set_new(doc, "LogPath", json_string(log_path ? log_path : ""));
  free(log_path);
  json_object_set_new(doc, "Name", json_sprintf("/%s", c->name));
  json_object_set_new(doc, "RestartCount", json_integer(c->restart_count));
  json_object_set_new(doc, "Driver", json_string("overlay2"));
  json_object_set_new(doc, "Platform", json_string("linux"));
  json_object_set_new(doc, "MountLabel", json_string(""));
  json_object_set_new(doc, "ProcessLabel", json_string(""));
  json_object_set_new(doc, "AppArmorProfile", json_string(""));
  json_object_set_new(doc, "ExecIDs", exec_ids);
  json_object_set_new(doc, "HostConfig", json_deep_copy(c->host_config));
  json_object_set_new(doc, "GraphDriver", graph_driver(e, c));
  if (size) {
    json_object_set_new(doc, "SizeRw", json_integer(rw));
    json_object_set_new(doc, "SizeRootFs", json_integer(root));
  }
  json_object_set_new(doc, "Mounts", mounts_doc(e, c));
  json_object_set_new(doc, "Config", config_doc(c));
  json_object_set_new(doc, "NetworkSettings", container_network_settings(e, c, false));
  pthread_mutex_unlock(&c->lock);
  return doc;
}

/* ---- list ---- */

static char *command_text(const container *c) {
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, c->path ? c->path : "");
  size_t i;
  json_t *a;
  json_array_foreach(c->args, i, a) {
    sb_puts(&sb, " ");
    sb_puts(&sb, json_string_value(a) ?: "");
  }
  return sb_steal(&sb);
}

typedef struct list_ctx {
  engine *e;
  filters *f;
  bool all, size;
  int64_t before_ns, since_ns;   /* created times of the before/since containers */
  container **rows;
  size_t n;
  int api_minor;
} list_ctx;

static bool match_name(const filters *f, const container *c) {
  if (!filters_has(f, "name")) return true;
  autofree char *slashed = xasprintf("/%s", c->name);
  return filters_regex_match(f, "name", slashed);
}

static bool image_is_ancestor(engine *e, const container *c, const char *value) {
  /* the image given by name or ID, or any of its descendants: compare layer chains */
  char id[DIGEST_STR_SIZE];
  arca_err err;
  if (image_resolve(e, value, id, &err) < 0) {
    /* an image reference that no longer resolves still matches the name it was run by */
    image_ref a = {0}, b = {0};
    bool m = false;
    if (ref_parse(value, &a, NULL) == 0 && ref_parse(c->image_name ? c->image_name : "", &b, NULL) == 0) {
      autofree char *fa = ref_familiar_name(&a);
      autofree char *fb = ref_familiar_name(&b);
      m = !strcmp(fa, fb);
    }
    ref_free(&a);
    ref_free(&b);
    return m;
  }
  if (!strcmp(id, c->image_id)) return true;
  char **chain = NULL;
  size_t n = 0;
  if (image_chain_ids(e, id, &chain, &n, &err) < 0) return false;
  bool prefix = n > 0 && n <= c->nchain;
  for (size_t i = 0; prefix && i < n; i++)
    if (strcmp(chain[i], c->chain_ids[i])) prefix = false;
  for (size_t i = 0; i < n; i++) free(chain[i]);
  free(chain);
  return prefix;
}

static bool exposes(const container *c, const char *spec, bool published) {
  /* "80", "80/tcp", "8000-8080/udp" */
  autofree char *copy = xstrdup(spec);
  char *slash = strchr(copy, '/');
  const char *proto = slash ? slash + 1 : NULL;
  if (slash) *slash = '\0';
  long lo = atol(copy), hi = lo;
  char *dash = strchr(copy, '-');
  if (dash) hi = atol(dash + 1);
  json_t *ports = published ? json_object_get(c->host_config, "PortBindings") : json_object_get(c->config, "ExposedPorts");
  const char *key;
  json_t *v;
  json_object_foreach(ports, key, v) {
    long p = atol(key);
    const char *ks = strchr(key, '/');
    const char *kp = ks ? ks + 1 : "tcp";
    if (published) {
      /* publish filters name the host port */
      size_t i;
      json_t *b;
      json_array_foreach(v, i, b) {
        long hp = atol(json_string_value(json_object_get(b, "HostPort")) ?: "0");
        if (hp >= lo && hp <= hi && (!proto || !strcmp(proto, kp))) return true;
      }
      continue;
    }
    if (p >= lo && p <= hi && (!proto || !strcmp(proto, kp))) return true;
  }
  return false;
}

static bool mounts_volume(engine *e, const container *c, const char *v) {
  json_t *mounts = mounts_doc(e, c);
  size_t i;
  json_t *m;
  bool found = false;
  json_array_foreach(mounts, i, m) {
    const char *name = json_string_value(json_object_get(m, "Name"));
    const char *dst = json_string_value(json_object_get(m, "Destination"));
    if ((name && !strcmp(name, v)) || (dst && !strcmp(dst, v))) found = true;
  }
  json_decref(mounts);
  return found;
}

bool container_on_network(engine *e, const container *c, const char *network);

static bool include(list_ctx *x, container *c) {
  filters *f = x->f;
  bool running = c->state == CS_RUNNING || c->state == CS_PAUSED || c->state == CS_RESTARTING;
  if (!x->all && !running) return false;
  if (filters_has(f, "id") && !filters_fuzzy_match(f, "id", c->id)) return false;
  if (!match_name(f, c)) return false;
  if (filters_has(f, "status") && !filters_exact_match(f, "status", cstate_name(c->state))) return false;
  if (filters_has(f, "label") && !filters_match_labels(f, "label", json_object_get(c->config, "Labels"))) return false;
  if (filters_has(f, "exited")) {
    if (c->state != CS_EXITED) return false;
    char code[16];
    snprintf(code, sizeof code, "%d", c->exit_code);
    if (!filters_exact_match(f, "exited", code)) return false;
  }
  if (filters_has(f, "health")) {
    const char *h = c->health_status[0] ? c->health_status : "none";
    if (!filters_exact_match(f, "health", h)) return false;
  }
  if (x->before_ns && c->created_ns >= x->before_ns) return false;
  if (x->since_ns && c->created_ns <= x->since_ns) return false;
  if (filters_has(f, "ancestor")) {
    bool any = false;
    for (size_t i = 0; i < filters_count(f, "ancestor") && !any; i++)
      any = image_is_ancestor(x->e, c, filters_value(f, "ancestor", i));
    if (!any) return false;
  }
  if (filters_has(f, "volume")) {
    bool any = false;
    for (size_t i = 0; i < filters_count(f, "volume") && !any; i++) any = mounts_volume(x->e, c, filters_value(f, "volume", i));
    if (!any) return false;
  }
  if (filters_has(f, "network")) {
    bool any = false;
    for (size_t i = 0; i < filters_count(f, "network") && !any; i++)
      any = container_on_network(x->e, c, filters_value(f, "network", i));
    if (!any) return false;
  }
  if (filters_has(f, "publish")) {
    bool any = false;
    for (size_t i = 0; i < filters_count(f, "publish") && !any; i++) any = exposes(c, filters_value(f, "publish", i), true);
    if (!any) return false;
  }
  if (filters_has(f, "expose")) {
    bool any = false;
    for (size_t i = 0; i < filters_count(f, "expose") && !any; i++) any = exposes(c, filters_value(f, "expose", i), false);
    if (!any) return false;
  }
  if (filters_has(f, "is-task")) {
    int t = 0;
    filters_get_bool(f, "is-task", 0, &t, NULL);
    if (t) return false; /* never a swarm task */
  }
  return true;
}

static void collect(engine *e, container *c, void *p) {
  (void)e;
  list_ctx *x = p;
  pthread_mutex_lock(&c->lock);
  bool in = include(x, c);
  pthread_mutex_unlock(&c->lock);
  if (!in) return;
  x->rows = xrealloc(x->rows, (x->n + 1) * sizeof *x->rows);
  pthread_rwlock_wrlock(&x->e->containers.lock);
  c->refs++;
  pthread_rwlock_unlock(&x->e->containers.lock);
  x->rows[x->n++] = c;
}

static int cmp_created(const void *a, const void *b) {
  const container *x = *(container *const *)a, *y = *(container *const *)b;
  return x->created_ns < y->created_ns ? 1 : x->created_ns > y->created_ns ? -1 : 0;
}

json_t *container_ports_summary(engine *e, const container *c);

static json_t *summary_locked(engine *e, container *c, const char *status, bool size, int64_t rw, int64_t root) {
  autofree char *cmd = command_text(c);
  json_t *labels = json_object_get(c->config, "Labels");
  const char *netmode = json_string_value(json_object_get(c->host_config, "NetworkMode"));
  json_t *row = json_pack("{s:s,s:[s+],s:s,s:s,s:s,s:I,s:o,s:o,s:s,s:s,s:{s:s},s:o,s:o}", "Id", c->id, "Names", "/",
                          c->name, "Image", c->image_name ? c->image_name : c->image_id, "ImageID", c->image_id,
                          "Command", cmd, "Created", (json_int_t)(c->created_ns / 1000000000LL), "Ports",
                          container_ports_summary(e, c), "Labels", json_is_object(labels) ? json_incref(labels) : json_object(),
                          "State", cstate_name(c->state), "Status", status, "HostConfig", "NetworkMode",
                          netmode && *netmode ? netmode : "bridge", "NetworkSettings", container_network_settings(e, c, true),
                          "Mounts", mounts_doc(e, c));
  if (size) {
    json_object_set_new(row, "SizeRw", json_integer(rw));
    json_object_set_new(row, "SizeRootFs", json_integer(root));
  }
  return row;
}

/* Appends the container's row to out. Without sizes the serialized row is kept on the
 * container and reused while its inputs are unchanged: the container's revision, the
 * networks' revision, its state, its status text (which moves with time) and its name. */
static void summary_append(engine *e, container *c, bool size, strbuf *out) {
  int64_t rw = 0, root = 0;
  if (size && e->driver && e->driver->ops->sizes) {
    arca_err err;
    e->driver->ops->sizes(e->driver, c->id, &rw, &root, &err);
  }
  uint64_t net_rev = networks_revision(e);
  pthread_mutex_lock(&c->lock);
  char status[128];
  container_status_text(c, status, sizeof status);
  bool fresh = !size && c->row.json && c->row.rev == c->rev && c->row.net_rev == net_rev && c->row.state == c->state &&
               !strcmp(c->row.status, status) && !strcmp(c->row.name, c->name);
  if (fresh) {
    sb_puts(out, c->row.json);
    pthread_mutex_unlock(&c->lock);
    return;
  }
  json_t *row = summary_locked(e, c, status, size, rw, root);
  char *text = json_dumps(row, JSON_COMPACT);
  json_decref(row);
  sb_puts(out, text);
  if (size) {
    free(text);
  } else {
    free(c->row.json);
    c->row.json = text;
    c->row.rev = c->rev;
    c->row.net_rev = net_rev;
    c->row.state = c->state;
    snprintf(c->row.status, sizeof c->row.status, "%s", status);
    snprintf(c->row.name, sizeof c->row.name, "%s", c->name);
  }
  pthread_mutex_unlock(&c->lock);
}

static int64_t created_of(engine *e, const char *name, arca_err *err) {
  container *c;
  if (container_get(e, name, &c, err) < 0) return -1;
  int64_t t = c->created_ns;
  container_put(e, c);
  return t;
}

int containers_list_text(engine *e, bool all, int limit, bool size, const char *filters_json, int api_minor,
                         char **out, size_t *out_len, arca_err *err) {
  static const char *const accepted[] = {"ancestor", "before", "exited", "id", "isolation", "label", "name", "status",
                                         "health", "since", "volume", "network", "is-task", "publish", "expose", NULL};
  list_ctx x = {.e = e, .all = all || limit > 0, .size = size, .api_minor = api_minor};
  if (filters_parse(filters_json, &x.f, err) < 0) return -1;
  int rc = -1;
  if (filters_validate(x.f, accepted, err) < 0) goto out;
  for (size_t i = 0; i < filters_count(x.f, "exited"); i++) {
    const char *v = filters_value(x.f, "exited", i);
    char *end;
    strtol(v, &end, 10);
    if (!*v || *end) {
      err_set(err, 400, "invalid filter 'exited=%s': strconv.Atoi: parsing \"%s\": invalid syntax", v, v);
      goto out;
    }
    x.all = true;
  }
  static const char *const states[] = {"created", "running", "paused", "restarting", "removing", "exited", "dead"};
  for (size_t i = 0; i < filters_count(x.f, "status"); i++) {
    const char *v = filters_value(x.f, "status", i);
    bool ok = false;
    for (size_t k = 0; k < ARRAY_LEN(states); k++) ok |= !strcmp(v, states[k]);
    if (!ok) {
      err_set(err, 400, "invalid filter 'status=%s': invalid value for state (%s): must be one of created, running, paused, restarting, removing, exited, dead",
              v, v);
      goto out;
    }
    x.all = true;
  }
  for (size_t i = 0; i < filters_count(x.f, "health"); i++) {
    const char *v = filters_value(x.f, "health", i);
    if (strcmp(v, "none") && strcmp(v, "starting") && strcmp(v, "healthy") && strcmp(v, "unhealthy")) {
      err_set(err, 400, "invalid filter 'health=%s': invalid value for health (%s): must be one of none, starting, healthy, unhealthy", v, v);
      goto out;
    }
  }
  if (filters_has(x.f, "before")) {
    if ((x.before_ns = created_of(e, filters_value(x.f, "before", 0), err)) < 0) goto out;
    x.all = true;
  }
  if (filters_has(x.f, "since")) {
    if ((x.since_ns = created_of(e, filters_value(x.f, "since", 0), err)) < 0) goto out;
    x.all = true;
  }
  containers_each(e, collect, &x);
  if (x.n > 1) qsort(x.rows, x.n, sizeof *x.rows, cmp_created);
  strbuf text;
  sb_init(&text);
  sb_puts(&text, "[");
  for (size_t i = 0; i < x.n; i++) {
    if (limit <= 0 || (int)i < limit) {
      if (i) sb_puts(&text, ",");
      summary_append(e, x.rows[i], size, &text);
    }
    container_put(e, x.rows[i]);
  }
  sb_puts(&text, "]");
  *out = text.buf;
  *out_len = text.len;
  rc = 0;
out:
  free(x.rows);
  filters_free(x.f);
  return rc;
}
