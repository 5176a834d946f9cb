/* Volume records and the volume endpoints: create, list, inspect, remove, prune, system df.
 * Volumes live at <data-root>/volumes/<name>/_data; a name is Docker's local-driver name
 * ([a-zA-Z0-9][a-zA-Z0-9_.-]+), so no name can leave that folder. */
#include "engine/volumes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/filters.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/engine.h"
#include "engine/volumes_internal.h"
#include "store/store_networks.h"

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

int volume_name_validate(const char *name, arca_err *err) {
  size_t n = strlen(name);
  if (n == 1) return err_set(err, 400, "volume name is too short, names should be at least two alphanumeric characters");
  bool ok = n >= 2;
  for (size_t i = 0; ok && i < n; i++) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    ok = alnum || (i > 0 && (c == '_' || c == '.' || c == '-'));
  }
  if (!ok)
    return err_set(err, 400,
                   "\"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
                   "allowed. If you intended to pass a host directory, use absolute path",
                   name);
  return 0;
}

char *volume_data_dir(volumes_state *vs, const char *name) { return xasprintf("%s/%s/_data", vs->root, name); }

volume *volume_lookup_locked(volumes_state *vs, const char *name) { return strmap_get(&vs->by_name, name); }

bool volume_in_use_locked(volumes_state *vs, const char *name) {
  for (volume_ref *r = vs->refs; r; r = r->next)
    if (!strcmp(r->name, name)) return true;
  return false;
}

static void volume_free(volume *v) {
  if (!v) return;
  json_decref(v->doc);
  free(v);
}

void volume_ref_free(volume_ref *r) {
  if (!r) return;
  free(r->destination);
  free(r);
}

static int volume_save(engine *e, const volume *v, arca_err *err) {
  autofree char *text = json_dumps(v->doc, JSON_COMPACT);
  return store_net_put(e->store, STORE_VOLUMES, v->name, NULL, text, err);
}

void volume_ref_save(engine *e, const volume_ref *r) {
  json_t *doc = json_pack("{s:s,s:b,s:b,s:s}", "name", r->name, "copy", r->copy, "rw", r->rw, "mode", r->mode);
  autofree char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  arca_err err;
  if (store_net_put(e->store, STORE_VOLUME_REFS, r->container_id, r->destination, text, &err) < 0)
    log_kv(LOG_WARN, "volume reference not persisted", "container", r->container_id, "error", err.msg, NULL);
}

static void volume_event(engine *e, const char *name, const char *action, json_t *extra) {
  json_t *attrs = json_pack("{s:s}", "driver", "local");
  if (extra) {
    json_object_update(attrs, extra);
    json_decref(extra);
  }
  events_publish(e->events, "volume", action, name, attrs);
}

volume *volume_get_or_create_locked(engine *e, const char *name, const json_t *opts, const json_t *labels,
                                    bool anonymous, arca_err *err) {
  volumes_state *vs = VOLS(e);
  volume *v = volume_lookup_locked(vs, name);
  if (v) return v;
  if (volume_name_validate(name, err) < 0 || volume_local_opts_validate(opts, err) < 0) {
    err_wrap(err, "create %s", name);
    return NULL;
  }
  autofree char *root = xasprintf("%s/%s", vs->root, name);
  autofree char *data = volume_data_dir(vs, name);
  if (mkdir_p(vs->root, 0701, err) < 0) return NULL;
  if (mkdir(root, 0701) < 0 && errno != EEXIST) {
    err_errno(err, 500, errno, "error while creating volume root path '%s'", root);
    return NULL;
  }
  if (mkdir(data, 0755) < 0 && errno != EEXIST) {
    err_errno(err, 500, errno, "error while creating volume data path '%s'", data);
    rmdir(root);
    return NULL;
  }
  v = xcalloc(1, sizeof *v);
  snprintf(v->name, sizeof v->name, "%s", name);
  v->created_ns = now_ns();
  char created[64];
  /* Docker shows seconds with the offset (time.RFC3339) */
  time_t secs = (time_t)(v->created_ns / 1000000000LL);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_t *lab = json_is_object(labels) ? json_deep_copy(labels) : (anonymous ? json_object() : json_null());
  if (anonymous) json_object_set_new(lab, ANONYMOUS_LABEL, json_string(""));
  json_t *op = json_is_object(opts) && json_object_size(opts) ? json_deep_copy(opts) : (opts ? json_object() : json_null());
  v->doc = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s}", "CreatedAt", created, "Driver", "local", "Mountpoint", data,
                     "Name", name, "Labels", lab, "Options", op, "Scope", "local");
  if (volume_save(e, v, err) < 0) {
    volume_free(v);
    rm_rf(root, NULL);
    return NULL;
  }
  strmap_put(&vs->by_name, v->name, v);
  volume_event(e, v->name, "create", NULL);
  return v;
}

int volume_destroy_locked(engine *e, volume *v, arca_err *err) {
  volumes_state *vs = VOLS(e);
  if (volume_has_mount_options(v)) volume_local_umount(vs, v);
  autofree char *root = xasprintf("%s/%s", vs->root, v->name);
  autofree char *data = volume_data_dir(vs, v->name);
  /* never follow the data dir out of the volumes folder */
  struct stat st;
  if (lstat(data, &st) == 0 && !S_ISDIR(st.st_mode))
    return err_set(err, 500, "unable to remove a directory outside of the local volume root %s: %s", vs->root, data);
  if (rm_rf(root, err) < 0) return err_wrap(err, "error removing volume path '%s'", root);
  if (store_net_delete(e->store, STORE_VOLUMES, v->name, NULL, err) < 0) return -1;
  strmap_del(&vs->by_name, v->name);
  volume_event(e, v->name, "destroy", NULL);
  volume_free(v);
  return 0;
}

/* ---- open, close ---- */

static void load_volume(void *ctx, const char *name, const char *k2, const char *text) {
  (void)k2;
  engine *e = ctx;
  json_t *doc = json_loads(text, 0, NULL);
  if (!doc) return;
  volume *v = xcalloc(1, sizeof *v);
  snprintf(v->name, sizeof v->name, "%s", name);
  v->doc = doc;
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (strptime(jstr(doc, "CreatedAt"), "%Y-%m-%dT%H:%M:%S", &tm)) v->created_ns = (int64_t)timegm(&tm) * 1000000000LL;
  strmap_put(&VOLS(e)->by_name, v->name, v);
}

static void load_ref(void *ctx, const char *cid, const char *dest, const char *text) {
  engine *e = ctx;
  json_t *doc = json_loads(text, 0, NULL);
  if (!doc) return;
  volume_ref *r = xcalloc(1, sizeof *r);
  snprintf(r->container_id, sizeof r->container_id, "%s", cid);
  r->destination = xstrdup(dest);
  snprintf(r->name, sizeof r->name, "%s", jstr(doc, "name"));
  r->copy = json_is_true(json_object_get(doc, "copy"));
  r->rw = !json_is_false(json_object_get(doc, "rw"));
  snprintf(r->mode, sizeof r->mode, "%s", jstr(doc, "mode"));
  json_decref(doc);
  r->next = VOLS(e)->refs;
  VOLS(e)->refs = r;
}

int volumes_open(engine *e, arca_err *err) {
  volumes_state *vs = xcalloc(1, sizeof *vs);
  pthread_mutex_init(&vs->lock, NULL);
  strmap_init(&vs->by_name);
  strmap_init(&vs->mounted);
  vs->root = xasprintf("%s/volumes", e->cfg.data_root);
  e->volumes = vs;
  if (mkdir_p(vs->root, 0701, err) < 0) return -1;
  if (store_net_load(e->store, STORE_VOLUMES, load_volume, e, err) < 0) return -1;
  return store_net_load(e->store, STORE_VOLUME_REFS, load_ref, e, err);
}

void volumes_close(engine *e) {
  volumes_state *vs = VOLS(e);
  if (!vs) return;
  size_t i = 0;
  void *v;
  while (strmap_next(&vs->by_name, &i, NULL, &v)) volume_free(v);
  strmap_free(&vs->by_name);
  strmap_free(&vs->mounted);
  while (vs->refs) {
    volume_ref *r = vs->refs;
    vs->refs = r->next;
    volume_ref_free(r);
  }
  free(vs->root);
  pthread_mutex_destroy(&vs->lock);
  free(vs);
  e->volumes = NULL;
}

/* ---- the endpoints ---- */

static json_t *volume_doc(const volume *v) { return json_deep_copy(v->doc); }

int volume_create(engine *e, const json_t *body, json_t **out, arca_err *err) {
  volumes_state *vs = VOLS(e);
  const char *name = jstr(body, "Name");
  const char *driver = jstr(body, "Driver");
  if (*driver && strcmp(driver, "local"))
    return err_set(err, 404, "create %s: error looking up volume plugin %s: plugin \"%s\" not found", name, driver, driver);
  char anon[65];
  bool anonymous = !*name;
  if (anonymous) {
    random_hex(anon, 32);
    name = anon;
  }
  pthread_mutex_lock(&vs->lock);
  volume *v = volume_get_or_create_locked(e, name, json_object_get(body, "DriverOpts"), json_object_get(body, "Labels"),
                                          anonymous, err);
  if (v) *out = volume_doc(v);
  pthread_mutex_unlock(&vs->lock);
  return v ? 0 : -1;
}

int volume_inspect_json(engine *e, const char *name, json_t **out, arca_err *err) {
  volumes_state *vs = VOLS(e);
  pthread_mutex_lock(&vs->lock);
  volume *v = volume_lookup_locked(vs, name ? name : "");
  if (v) *out = volume_doc(v);
  pthread_mutex_unlock(&vs->lock);
  return v ? 0 : err_set(err, 404, "get %s: no such volume", name ? name : "");
}

static bool dangling_ok(const filters *f, bool in_use, arca_err *err, int *rc) {
  if (!filters_contains(f, "dangling")) return true;
  int dangling = 0;
  if (filters_get_bool(f, "dangling", 0, &dangling, err) < 0) {
    *rc = -1;
    return false;
  }
  return dangling ? !in_use : in_use;
}

int volumes_list_json(engine *e, const char *filters_json, json_t **out, arca_err *err) {
  static const char *const accepted[] = {"dangling", "name", "driver", "label", NULL};
  volumes_state *vs = VOLS(e);
  filters *f;
  if (filters_parse(filters_json, &f, err) < 0) return -1;
  if (filters_validate(f, accepted, err) < 0) {
    filters_free(f);
    return -1;
  }
  json_t *list = json_array();
  int rc = 0;
  pthread_mutex_lock(&vs->lock);
  size_t i = 0;
  void *p;
  while (rc == 0 && strmap_next(&vs->by_name, &i, NULL, &p)) {
    volume *v = p;
    if (filters_contains(f, "driver") && !filters_exact_match(f, "driver", "local")) continue;
    if (filters_contains(f, "name") && !filters_regex_match(f, "name", v->name)) continue;
    if (!filters_match_label_rules(f, json_object_get(v->doc, "Labels"))) continue;
    if (!dangling_ok(f, volume_in_use_locked(vs, v->name), err, &rc)) continue;
    json_array_append_new(list, volume_doc(v));
  }
  pthread_mutex_unlock(&vs->lock);
  filters_free(f);
  if (rc < 0) {
    json_decref(list);
    return -1;
  }
  *out = json_pack("{s:o,s:n}", "Volumes", list, "Warnings");
  return 0;
}

static json_t *refs_of_locked(volumes_state *vs, const char *name) {
  json_t *ids = json_array();
  for (volume_ref *r = vs->refs; r; r = r->next) {
    if (strcmp(r->name, name)) continue;
    bool seen = false;
    size_t i;
    json_t *x;
    json_array_foreach(ids, i, x) seen |= !strcmp(json_string_value(x), r->container_id);
    if (!seen) json_array_append_new(ids, json_string(r->container_id));
  }
  return ids;
}

int volume_remove(engine *e, const char *name, bool force, arca_err *err) {
  volumes_state *vs = VOLS(e);
  pthread_mutex_lock(&vs->lock);
  volume *v = volume_lookup_locked(vs, name ? name : "");
  int rc = 0;
  if (!v) {
    rc = force ? 0 : err_set(err, 404, "get %s: no such volume", name ? name : "");
  } else if (volume_in_use_locked(vs, v->name)) {
    json_t *ids = refs_of_locked(vs, v->name);
    strbuf sb;
    sb_init(&sb);
    size_t i;
    json_t *x;
    json_array_foreach(ids, i, x) sb_printf(&sb, "%s%s", i ? ", " : "", json_string_value(x));
    rc = err_set(err, 409, "remove %s: volume is in use - [%s]", v->name, sb.buf ? sb.buf : "");
    sb_free(&sb);
    json_decref(ids);
  } else {
    rc = volume_destroy_locked(e, v, err);
  }
  pthread_mutex_unlock(&vs->lock);
  return rc;
}

int volumes_prune(engine *e, const char *filters_json, int api_minor, json_t **out, arca_err *err) {
  static const char *const accepted[] = {"label", "label!", "all", NULL};
  volumes_state *vs = VOLS(e);
  filters *f;
  if (filters_parse(filters_json, &f, err) < 0) return -1;
  if (filters_validate(f, accepted, err) < 0) {
    filters_free(f);
    return -1;
  }
  bool all = api_minor < 42;
  if (filters_count(f, "all") > 1) {
    strbuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < filters_count(f, "all"); i++) sb_printf(&sb, "%s%s", i ? " " : "", filters_value(f, "all", i));
    err_set(err, 400, "invalid filter 'all=[%s]': only one value is expected", sb.buf);
    sb_free(&sb);
    filters_free(f);
    return -1;
  }
  if (filters_count(f, "all") == 1) {
    const char *s = filters_value(f, "all", 0);
    if (!strcmp(s, "1") || !strcasecmp(s, "t") || !strcasecmp(s, "true")) all = true;
    else if (!strcmp(s, "0") || !strcasecmp(s, "f") || !strcasecmp(s, "false")) {
    } else {
      err_set(err, 400, "invalid filter 'all': strconv.ParseBool: parsing \"%s\": invalid syntax", s);
      filters_free(f);
      return -1;
    }
  }
  json_t *deleted = json_array();
  int64_t reclaimed = 0;
  pthread_mutex_lock(&vs->lock);
  bool again = true;
  while (again) {
    again = false;
    size_t i = 0;
    void *p;
    while (strmap_next(&vs->by_name, &i, NULL, &p)) {
      volume *v = p;
      json_t *labels = json_object_get(v->doc, "Labels");
      if (volume_in_use_locked(vs, v->name) || volume_has_mount_options(v)) continue;
      if (!all && !json_object_get(labels, ANONYMOUS_LABEL)) continue;
      if (!filters_match_label_rules(f, labels)) continue;
      autofree char *data = volume_data_dir(vs, v->name);
      int64_t size = dir_size(data);
      char name[256];
      snprintf(name, sizeof name, "%s", v->name);
      arca_err rerr;
      if (volume_destroy_locked(e, v, &rerr) == 0) {
        json_array_append_new(deleted, json_string(name));
        reclaimed += size > 0 ? size : 0;
        again = true;
        break;
      }
    }
  }
  pthread_mutex_unlock(&vs->lock);
  filters_free(f);
  char rec[32];
  snprintf(rec, sizeof rec, "%lld", (long long)reclaimed);
  events_publish(e->events, "volume", "prune", "", json_pack("{s:s}", "reclaimed", rec));
  if (!json_array_size(deleted)) {
    json_decref(deleted);
    deleted = json_null();
  }
  *out = json_pack("{s:o,s:I}", "VolumesDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed);
  return 0;
}

json_t *volumes_df_json(engine *e) {
  volumes_state *vs = VOLS(e);
  json_t *list = json_array();
  /* sizes are measured without the lock: collect names and counts first */
  pthread_mutex_lock(&vs->lock);
  size_t i = 0;
  void *p;
  while (strmap_next(&vs->by_name, &i, NULL, &p)) {
    volume *v = p;
    json_t *doc = volume_doc(v);
    json_t *ids = refs_of_locked(vs, v->name);
    json_object_set_new(doc, "UsageData", json_pack("{s:I,s:I}", "Size", (json_int_t)-1, "RefCount",
                                                    (json_int_t)json_array_size(ids)));
    json_decref(ids);
    json_array_append_new(list, doc);
  }
  pthread_mutex_unlock(&vs->lock);
  size_t k;
  json_t *doc;
  json_array_foreach(list, k, doc) {
    int64_t size = dir_size(jstr(doc, "Mountpoint"));
    json_object_set_new(json_object_get(doc, "UsageData"), "Size", json_integer(size));
  }
  return list;
}
