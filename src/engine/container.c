/* Container records: persistence, lookup, names, create, remove, rename, events. */
#include "engine/containers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/container_internal.h"
#include "engine/engine.h"
#include "engine/names.h"
#include "store/store_containers.h"

#define CS(e) (&(e)->containers)

const char *cstate_name(cstate s) {
  static const char *const names[] = {"created", "running", "paused", "restarting", "exited", "dead", "removing"};
  return (unsigned)s < ARRAY_LEN(names) ? names[s] : "unknown";
}

bool container_is_running(const container *c) {
  return c->state == CS_RUNNING || c->state == CS_PAUSED || c->state == CS_RESTARTING;
}

/* ---- record <-> document ---- */

static json_t *strv_json(char **v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

static char **json_strv(const json_t *a, size_t *n) {
  *n = json_array_size(a);
  char **v = xcalloc(*n + 1, sizeof *v);
  for (size_t i = 0; i < *n; i++) v[i] = xstrdup(json_string_value(json_array_get(a, i)) ?: "");
  return v;
}

static json_t *record_doc(const container *c) {
  json_t *health = json_array();
  for (int i = 0; i < c->nhealth_log; i++)
    json_array_append_new(health, json_pack("{s:I,s:I,s:i,s:s}", "start", (json_int_t)c->health_log[i].start_ns, "end",
                                            (json_int_t)c->health_log[i].end_ns, "code", c->health_log[i].exit_code,
                                            "output", c->health_log[i].output ? c->health_log[i].output : ""));
  return json_pack("{s:s,s:s,s:s,s:O,s:O,s:O,s:o,s:I,s:s,s:O,s:i,s:i,s:s,s:b,s:I,s:I,s:i,s:b,s:b,s:s,s:i,s:o,s:o}",
                   "image_id", c->image_id, "image_name", c->image_name ? c->image_name : "", "name", c->name,
                   "config", c->config, "host_config", c->host_config, "networking",
                   c->networking ? c->networking : json_null(), "chain", strv_json(c->chain_ids, c->nchain), "created",
                   (json_int_t)c->created_ns, "path", c->path ? c->path : "", "args", c->args ? c->args : json_array(),
                   "state", (int)c->state, "exit_code", c->exit_code, "error", c->error ? c->error : "",
                   "oom_killed", c->oom_killed, "started", (json_int_t)c->started_ns, "finished",
                   (json_int_t)c->finished_ns, "restart_count", c->restart_count, "manual_stop", c->manual_stop,
                   "has_been_started", c->has_been_started, "health_status", c->health_status, "failing_streak",
                   c->failing_streak, "health_log", health, "exec_ids", json_array());
}

int container_save(engine *e, container *c, arca_err *err) {
  c->rev++;
  json_t *doc = record_doc(c);
  char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  int rc = store_container_put(e->store, c->id, c->name, text, err);
  free(text);
  return rc;
}

static container *container_alloc(void) {
  container *c = xcalloc(1, sizeof *c);
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->cond, NULL);
  return c;
}

void container_free(container *c) {
  if (!c) return;
  free(c->image_name);
  json_decref(c->config);
  json_decref(c->host_config);
  json_decref(c->networking);
  for (size_t i = 0; i < c->nchain; i++) free(c->chain_ids[i]);
  free(c->chain_ids);
  free(c->path);
  json_decref(c->args);
  free(c->error);
  free(c->row.json);
  for (int i = 0; i < 5; i++) free(c->health_log[i].output);
  for (size_t i = 0; i < c->nexec; i++) free(c->exec_ids[i]);
  free(c->exec_ids);
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->cond);
  free(c);
}

static void load_one(void *ctx, const char *id, const char *name, const char *text) {
  engine *e = ctx;
  json_t *doc = json_loads(text, 0, NULL);
  if (!doc) {
    log_kv(LOG_WARN, "container record unreadable; ignored", "id", id, NULL);
    return;
  }
  container *c = container_alloc();
  snprintf(c->id, sizeof c->id, "%s", id);
  snprintf(c->name, sizeof c->name, "%s", name);
  snprintf(c->image_id, sizeof c->image_id, "%s", json_string_value(json_object_get(doc, "image_id")) ?: "");
  c->image_name = xstrdup(json_string_value(json_object_get(doc, "image_name")) ?: "");
  c->config = json_incref(json_object_get(doc, "config"));
  c->host_config = json_incref(json_object_get(doc, "host_config"));
  json_t *net = json_object_get(doc, "networking");
  c->networking = json_is_null(net) ? NULL : json_incref(net);
  c->chain_ids = json_strv(json_object_get(doc, "chain"), &c->nchain);
  c->created_ns = json_integer_value(json_object_get(doc, "created"));
  c->path = xstrdup(json_string_value(json_object_get(doc, "path")) ?: "");
  c->args = json_incref(json_object_get(doc, "args"));
  if (!c->args) c->args = json_array();
  c->state = (cstate)json_integer_value(json_object_get(doc, "state"));
  c->exit_code = (int)json_integer_value(json_object_get(doc, "exit_code"));
  const char *er = json_string_value(json_object_get(doc, "error"));
  c->error = er && *er ? xstrdup(er) : NULL;
  c->oom_killed = json_is_true(json_object_get(doc, "oom_killed"));
  c->started_ns = json_integer_value(json_object_get(doc, "started"));
  c->finished_ns = json_integer_value(json_object_get(doc, "finished"));
  c->restart_count = (int)json_integer_value(json_object_get(doc, "restart_count"));
  c->manual_stop = json_is_true(json_object_get(doc, "manual_stop"));
  c->has_been_started = json_is_true(json_object_get(doc, "has_been_started"));
  snprintf(c->health_status, sizeof c->health_status, "%s", json_string_value(json_object_get(doc, "health_status")) ?: "");
  c->failing_streak = (int)json_integer_value(json_object_get(doc, "failing_streak"));
  size_t i;
  json_t *h;
  json_array_foreach(json_object_get(doc, "health_log"), i, h) {
    if (c->nhealth_log >= 5) break;
    health_log *l = &c->health_log[c->nhealth_log++];
    l->start_ns = json_integer_value(json_object_get(h, "start"));
    l->end_ns = json_integer_value(json_object_get(h, "end"));
    l->exit_code = (int)json_integer_value(json_object_get(h, "code"));
    l->output = xstrdup(json_string_value(json_object_get(h, "output")) ?: "");
  }
  json_decref(doc);
  if (!c->config || !c->host_config) {
    log_kv(LOG_WARN, "container record incomplete; ignored", "id", id, NULL);
    container_free(c);
    return;
  }
  strmap_put(&CS(e)->by_id, c->id, c);
  strmap_put(&CS(e)->by_name, c->name, c);
  image_hold(e, c->image_id, (const char *const *)c->chain_ids, c->nchain);
}

int containers_open(engine *e, arca_err *err) {
  container_store *cs = CS(e);
  pthread_rwlock_init(&cs->lock, NULL);
  strmap_init(&cs->by_id);
  strmap_init(&cs->by_name);
  if (store_containers_load(e->store, load_one, e, err) < 0) return -1;
  cs->loaded = true;
  return 0;
}

void containers_close(engine *e) {
  container_store *cs = CS(e);
  if (!cs->loaded) return;
  size_t i = 0;
  void *v;
  while (strmap_next(&cs->by_id, &i, NULL, &v)) container_free(v);
  strmap_free(&cs->by_id);
  strmap_free(&cs->by_name);
  pthread_rwlock_destroy(&cs->lock);
}

void containers_counts(engine *e, int *total, int *running, int *paused, int *stopped) {
  *total = *running = *paused = *stopped = 0;
  container_store *cs = CS(e);
  if (!cs->loaded) return;
  pthread_rwlock_rdlock(&cs->lock);
  size_t i = 0;
  void *v;
  while (strmap_next(&cs->by_id, &i, NULL, &v)) {
    container *c = v;
    (*total)++;
    pthread_mutex_lock(&c->lock);
    if (c->state == CS_PAUSED) (*paused)++;
    else if (c->state == CS_RUNNING || c->state == CS_RESTARTING) (*running)++;
    else (*stopped)++;
    pthread_mutex_unlock(&c->lock);
  }
  pthread_rwlock_unlock(&cs->lock);
}

/* Which containers use an image (for image delete conflicts). */
int engine_image_users(engine *e, const char *image_id, bool running, char short_id[13]) {
  container_store *cs = CS(e);
  short_id[0] = '\0';
  if (!cs->loaded) return 0;
  pthread_rwlock_rdlock(&cs->lock);
  size_t i = 0;
  void *v;
  int found = 0;
  while (!found && strmap_next(&cs->by_id, &i, NULL, &v)) {
    container *c = v;
    if (strcmp(c->image_id, image_id) != 0) continue;
    pthread_mutex_lock(&c->lock);
    bool r = container_is_running(c);
    pthread_mutex_unlock(&c->lock);
    if (r == running) {
      snprintf(short_id, 13, "%.12s", c->id);
      found = 1;
    }
  }
  pthread_rwlock_unlock(&cs->lock);
  return found;
}

/* ---- lookup ---- */

static container *lookup_locked(engine *e, const char *s) {
  container_store *cs = CS(e);
  container *c = strmap_get(&cs->by_id, s);
  if (c) return c;
  c = strmap_get(&cs->by_name, s[0] == '/' ? s + 1 : s);
  if (c) return c;
  size_t n = strlen(s);
  if (n == 0 || n > 64 || !str_is_hex(s, n)) return NULL;
  container *found = NULL;
  size_t i = 0;
  void *v;
  while (strmap_next(&cs->by_id, &i, NULL, &v)) {
    if (strncmp(((container *)v)->id, s, n) != 0) continue;
    if (found) return (container *)-1; /* ambiguous */
    found = v;
  }
  return found;
}

int container_get(engine *e, const char *name, container **out, arca_err *err) {
  container_store *cs = CS(e);
  if (!name || !*name) return err_set(err, 404, "No such container: %s", name ? name : "");
  pthread_rwlock_wrlock(&cs->lock);
  container *c = lookup_locked(e, name);
  if (c == (container *)-1) {
    pthread_rwlock_unlock(&cs->lock);
    return err_set(err, 404, "No such container: %s", name);
  }
  if (c) c->refs++;
  pthread_rwlock_unlock(&cs->lock);
  if (!c) return err_set(err, 404, "No such container: %s", name);
  *out = c;
  return 0;
}

void container_put(engine *e, container *c) {
  if (!c) return;
  container_store *cs = CS(e);
  pthread_rwlock_wrlock(&cs->lock);
  bool last = --c->refs <= 0 && c->removed;
  pthread_rwlock_unlock(&cs->lock);
  if (last) container_free(c);
}

/* ---- events ---- */

void container_event(engine *e, container *c, const char *action, json_t *extra) {
  json_t *attrs = json_object();
  json_t *labels = json_object_get(c->config, "Labels");
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v) if (json_is_string(v)) json_object_set(attrs, k, v);
  json_object_set_new(attrs, "image", json_string(c->image_name ? c->image_name : c->image_id));
  json_object_set_new(attrs, "name", json_string(c->name));
  if (extra) {
    json_object_update(attrs, extra);
    json_decref(extra);
  }
  events_publish(e->events, "container", action, c->id, attrs);
}

/* ---- status text, as `docker ps` shows it ---- */

void container_status_text(const container *c, char *out, size_t n) {
  char dur[64];
  int64_t now = now_ns();
  switch (c->state) {
  case CS_RUNNING:
  case CS_PAUSED: {
    human_duration(now - c->started_ns, dur, sizeof dur);
    const char *health = "";
    if (!strcmp(c->health_status, "starting")) health = " (health: starting)";
    else if (!strcmp(c->health_status, "healthy")) health = " (healthy)";
    else if (!strcmp(c->health_status, "unhealthy")) health = " (unhealthy)";
    snprintf(out, n, "Up %s%s%s", dur, c->state == CS_PAUSED ? " (Paused)" : "", health);
    break;
  }
  case CS_RESTARTING:
    human_duration(now - c->finished_ns, dur, sizeof dur);
    snprintf(out, n, "Restarting (%d) %s ago", c->exit_code, dur);
    break;
  case CS_REMOVING:
    snprintf(out, n, "Removal In Progress");
    break;
  case CS_DEAD:
    snprintf(out, n, "Dead");
    break;
  case CS_CREATED:
    snprintf(out, n, "Created");
    break;
  case CS_EXITED:
  default:
    if (!c->finished_ns) {
      snprintf(out, n, "Created");
      break;
    }
    human_duration(now - c->finished_ns, dur, sizeof dur);
    snprintf(out, n, "Exited (%d) %s ago", c->exit_code, dur);
    break;
  }
}

/* ---- rename ---- */

int container_rename(engine *e, const char *name, const char *new_name, arca_err *err) {
  if (!new_name || !*new_name) return err_set(err, 400, "Neither old nor new names may be empty");
  if (!names_valid(new_name))
    return err_set(err, 400, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", new_name);
  const char *nn = new_name[0] == '/' ? new_name + 1 : new_name;
  container *c;
  if (container_get(e, name, &c, err) < 0) return -1;
  container_store *cs = CS(e);
  pthread_rwlock_wrlock(&cs->lock);
  pthread_mutex_lock(&c->lock);
  int rc = 0;
  char old[256];
  snprintf(old, sizeof old, "%s", c->name);
  container *other = strmap_get(&cs->by_name, nn);
  if (!strcmp(old, nn)) {
    rc = err_set(err, 400, "Renaming a container with the same name as its current name");
  } else if (other) {
    rc = err_set(err, 409, "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.",
                 nn, other->id);
  } else {
    snprintf(c->name, sizeof c->name, "%s", nn);
    if (container_save(e, c, err) < 0) {
      snprintf(c->name, sizeof c->name, "%s", old);
      rc = -1;
    } else {
      strmap_del(&cs->by_name, old);
      strmap_put(&cs->by_name, c->name, c);
    }
  }
  pthread_mutex_unlock(&c->lock);
  pthread_rwlock_unlock(&cs->lock);
  if (rc == 0) {
    autofree char *oldattr = xasprintf("/%s", old);
    container_event(e, c, "rename", json_pack("{s:s}", "oldName", oldattr));
  }
  container_put(e, c);
  return rc;
}

/* ---- registration (create) and removal ---- */

int container_register(engine *e, container *c, const char *wanted_name, arca_err *err) {
  container_store *cs = CS(e);
  pthread_rwlock_wrlock(&cs->lock);
  int rc = 0;
  if (wanted_name && *wanted_name) {
    const char *nn = wanted_name[0] == '/' ? wanted_name + 1 : wanted_name;
    container *other = strmap_get(&cs->by_name, nn);
    if (other) {
      rc = err_set(err, 409, "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.",
                   nn, other->id);
      goto out;
    }
    snprintf(c->name, sizeof c->name, "%s", nn);
  } else {
    for (int retry = 0;; retry++) {
      names_generate(c->name, sizeof c->name, retry);
      if (!strmap_get(&cs->by_name, c->name)) break;
    }
  }
  if (container_save(e, c, err) < 0) {
    rc = -1;
    goto out;
  }
  strmap_put(&cs->by_id, c->id, c);
  strmap_put(&cs->by_name, c->name, c);
out:
  pthread_rwlock_unlock(&cs->lock);
  return rc;
}

/* Drops the container from the maps and the store; frees it when nobody holds it. */
void container_unregister(engine *e, container *c) {
  container_store *cs = CS(e);
  store_container_delete(e->store, c->id, NULL);
  pthread_rwlock_wrlock(&cs->lock);
  strmap_del(&cs->by_id, c->id);
  if (strmap_get(&cs->by_name, c->name) == c) strmap_del(&cs->by_name, c->name);
  pthread_mutex_lock(&c->lock);
  c->removed = true;
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->lock);
  bool free_now = c->refs <= 0;
  pthread_rwlock_unlock(&cs->lock);
  if (free_now) container_free(c);
}

char *container_dir(engine *e, const char *id) { return xasprintf("%s/containers/%s", e->cfg.data_root, id); }

/* Visits every container with a reference held; fn must not take containers_lock. */
void containers_each(engine *e, void (*fn)(engine *e, container *c, void *ctx), void *ctx) {
  container_store *cs = CS(e);
  pthread_rwlock_wrlock(&cs->lock);
  size_t n = cs->by_id.len, k = 0;
  container **all = xcalloc(n + 1, sizeof *all);
  size_t i = 0;
  void *v;
  while (strmap_next(&cs->by_id, &i, NULL, &v) && k < n) {
    all[k] = v;
    all[k]->refs++;
    k++;
  }
  pthread_rwlock_unlock(&cs->lock);
  for (size_t j = 0; j < k; j++) {
    fn(e, all[j], ctx);
    container_put(e, all[j]);
  }
  free(all);
}
