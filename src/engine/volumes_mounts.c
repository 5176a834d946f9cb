/* The volumes side of a container: which volume is mounted where (Binds and Mounts through
 * volume_mount_for, then VolumesFrom and the image's VOLUMEs), what happens at start and
 * stop, what removal does to anonymous volumes, and the Mounts of inspect. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/pattern.h"
#include "common/util.h"
#include "engine/container_config.h"
#include "engine/container_internal.h"
#include "engine/engine.h"
#include "engine/volumes_internal.h"
#include "runtime/driver.h"
#include "store/store_networks.h"

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static volume_ref *ref_of_locked(volumes_state *vs, const char *cid, const char *dest) {
  for (volume_ref *r = vs->refs; r; r = r->next)
    if (!strcmp(r->container_id, cid) && !strcmp(r->destination, dest)) return r;
  return NULL;
}

static void add_bind(rt_mount **mounts, size_t *n, const char *src, const char *dst, bool ro, const char *prop) {
  *mounts = xrealloc(*mounts, (*n + 1) * sizeof **mounts);
  rt_mount *m = &(*mounts)[(*n)++];
  m->type = xstrdup("bind");
  m->source = xstrdup(src);
  m->destination = xstrdup(dst);
  m->noptions = 3;
  m->options = xcalloc(4, sizeof *m->options);
  m->options[0] = xstrdup("rbind");
  m->options[1] = xstrdup(ro ? "ro" : "rw");
  m->options[2] = xstrdup(prop && *prop ? prop : "rprivate");
}

/* What the container's HostConfig says about a volume at dest. */
typedef struct volume_spec {
  bool found;
  bool copy;
  char mode[32];
  const json_t *opts, *labels;
  const char *subpath;
} volume_spec;

static volume_spec spec_for(const container *c, const char *dest) {
  volume_spec s = {.copy = true};
  size_t i;
  json_t *b;
  json_array_foreach(json_object_get(c->host_config, "Binds"), i, b) {
    bind_spec bs;
    arca_err err;
    if (bind_spec_parse(json_string_value(b) ?: "", &bs, &err) < 0) continue;
    if (!strcmp(bs.type, "volume") && !strcmp(bs.destination, dest)) {
      s.found = true;
      s.copy = bs.copy_data;
      snprintf(s.mode, sizeof s.mode, "%s", bs.mode && *bs.mode ? bs.mode : "z");
    }
    bind_spec_free(&bs);
    if (s.found) return s;
  }
  json_t *m;
  json_array_foreach(json_object_get(c->host_config, "Mounts"), i, m) {
    if (strcmp(jstr(m, "Type"), "volume")) continue;
    autofree char *target = path_clean(jstr(m, "Target"));
    if (strcmp(target, dest)) continue;
    const json_t *vo = json_object_get(m, "VolumeOptions");
    s.found = true;
    s.copy = !json_is_true(json_object_get(vo, "NoCopy"));
    snprintf(s.mode, sizeof s.mode, "z");
    s.opts = json_object_get(json_object_get(vo, "DriverConfig"), "Options");
    s.labels = json_object_get(vo, "Labels");
    s.subpath = json_string_value(json_object_get(vo, "Subpath"));
    return s;
  }
  return s;
}

/* The source of a volume mount with a Subpath, kept inside the volume. */
static char *subpath_source(const char *data, const char *subpath, arca_err *err) {
  autofree char *joined = xasprintf("%s/%s", data, subpath);
  char real[PATH_MAX], base[PATH_MAX];
  if (!realpath(data, base) || !realpath(joined, real)) {
    err_errno(err, 400, errno, "cannot access path %s", joined);
    return NULL;
  }
  size_t bl = strlen(base);
  if (strncmp(real, base, bl) || (real[bl] != '/' && real[bl] != '\0')) {
    err_set(err, 400, "subpath %s is outside of the volume", subpath);
    return NULL;
  }
  return xstrdup(real);
}

static int mount_volume_locked(engine *e, container *c, const char *name, const char *dest, bool rw, bool copy,
                               const char *mode, const json_t *opts, const json_t *labels, const char *subpath,
                               rt_mount **mounts, size_t *n, arca_err *err) {
  volumes_state *vs = VOLS(e);
  volume_ref *r = ref_of_locked(vs, c->id, dest);
  char anon[65];
  bool anonymous = !name || !*name;
  if (anonymous) {
    if (r) name = r->name;
    else {
      random_hex(anon, 32);
      name = anon;
    }
  }
  volume *v = volume_get_or_create_locked(e, name, opts, labels, anonymous && !r, err);
  if (!v) return -1;
  if (!r) {
    r = xcalloc(1, sizeof *r);
    snprintf(r->container_id, sizeof r->container_id, "%s", c->id);
    r->destination = xstrdup(dest);
    r->next = vs->refs;
    vs->refs = r;
  }
  bool changed = strcmp(r->name, v->name) || r->copy != copy || r->rw != rw || strcmp(r->mode, mode ? mode : "");
  if (changed) {
    snprintf(r->name, sizeof r->name, "%s", v->name);
    r->copy = copy;
    r->rw = rw;
    snprintf(r->mode, sizeof r->mode, "%s", mode ? mode : "");
    volume_ref_save(e, r);
  }
  autofree char *data = volume_data_dir(vs, v->name);
  autofree char *src = NULL;
  if (subpath && *subpath) {
    src = subpath_source(data, subpath, err);
    if (!src) return -1;
  }
  add_bind(mounts, n, src ? src : data, dest, !rw, "rprivate");
  return 0;
}

int volume_mount_for(engine *e, container *c, const char *name, const char *dest, bool read_only, rt_mount **mounts,
                     size_t *n, arca_err *err) {
  volumes_state *vs = VOLS(e);
  autofree char *clean = path_clean(dest);
  volume_spec s = spec_for(c, clean);
  pthread_mutex_lock(&vs->lock);
  int rc = mount_volume_locked(e, c, name, clean, !read_only, s.copy, s.found ? s.mode : "z", s.opts, s.labels,
                               s.subpath, mounts, n, err);
  pthread_mutex_unlock(&vs->lock);
  return rc;
}

/* ---- VolumesFrom and image volumes ---- */

static bool taken(rt_mount *mounts, size_t n, const json_t *tmpfs, const char *dest) {
  for (size_t i = 0; i < n; i++) {
    autofree char *d = path_clean(mounts[i].destination);
    if (!strcmp(d, dest)) return true;
  }
  return json_object_get(tmpfs, dest) != NULL;
}

static void split_from(const char *spec, char *id, size_t n, bool *ro) {
  const char *colon = strchr(spec, ':');
  size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
  snprintf(id, n, "%.*s", (int)len, spec);
  *ro = colon && strstr(colon + 1, "ro") != NULL;
}

/* A bind of another container's HostConfig (Binds or bind Mounts), for VolumesFrom. */
typedef struct other_bind {
  char *source, *destination, *propagation;
  bool rw;
} other_bind;

static size_t binds_of(const container *o, other_bind **out) {
  *out = NULL;
  size_t n = 0;
  size_t i;
  json_t *b;
  json_array_foreach(json_object_get(o->host_config, "Binds"), i, b) {
    bind_spec bs;
    arca_err err;
    if (bind_spec_parse(json_string_value(b) ?: "", &bs, &err) < 0) continue;
    if (!strcmp(bs.type, "bind")) {
      *out = xrealloc(*out, (n + 1) * sizeof **out);
      (*out)[n++] = (other_bind){xstrdup(bs.source), xstrdup(bs.destination),
                                 xstrdup(bs.propagation ? bs.propagation : "rprivate"), !bs.read_only};
    }
    bind_spec_free(&bs);
  }
  json_t *m;
  json_array_foreach(json_object_get(o->host_config, "Mounts"), i, m) {
    if (strcmp(jstr(m, "Type"), "bind")) continue;
    const char *prop = jstr(json_object_get(m, "BindOptions"), "Propagation");
    *out = xrealloc(*out, (n + 1) * sizeof **out);
    (*out)[n++] = (other_bind){xstrdup(jstr(m, "Source")), path_clean(jstr(m, "Target")),
                               xstrdup(*prop ? prop : "rprivate"), !json_is_true(json_object_get(m, "ReadOnly"))};
  }
  return n;
}

static void binds_free(other_bind *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(b[i].source);
    free(b[i].destination);
    free(b[i].propagation);
  }
  free(b);
}

int volumes_extra_mounts(engine *e, container *c, rt_mount **mounts, size_t *n, arca_err *err) {
  volumes_state *vs = VOLS(e);
  const json_t *tmpfs = json_object_get(c->host_config, "Tmpfs");
  /* dockerd makes a missing source of a -v bind (not of --mount) */
  size_t i;
  json_t *b;
  json_array_foreach(json_object_get(c->host_config, "Binds"), i, b) {
    bind_spec bs;
    arca_err lerr;
    if (bind_spec_parse(json_string_value(b) ?: "", &bs, &lerr) < 0) continue;
    struct stat st;
    if (!strcmp(bs.type, "bind") && bs.source && lstat(bs.source, &st) < 0 && errno == ENOENT)
      mkdir_p(bs.source, 0755, NULL);
    bind_spec_free(&bs);
  }
  json_t *vf;
  json_array_foreach(json_object_get(c->host_config, "VolumesFrom"), i, vf) {
    char id[256];
    bool ro;
    split_from(json_string_value(vf) ?: "", id, sizeof id, &ro);
    container *o;
    if (container_get(e, id, &o, err) < 0) {
      err->status = 400;
      return -1;
    }
    other_bind *ob;
    size_t nb = binds_of(o, &ob);
    for (size_t k = 0; k < nb; k++) {
      if (taken(*mounts, *n, tmpfs, ob[k].destination)) continue;
      add_bind(mounts, n, ob[k].source, ob[k].destination, ro || !ob[k].rw, ob[k].propagation);
    }
    binds_free(ob, nb);
    /* its volumes: the same volumes, referenced by this container too */
    pthread_mutex_lock(&vs->lock);
    int rc = 0;
    size_t nrefs = 0;
    for (volume_ref *r = vs->refs; r; r = r->next) nrefs += !strcmp(r->container_id, o->id);
    volume_ref *copies = xcalloc(nrefs + 1, sizeof *copies);
    size_t k = 0;
    for (volume_ref *r = vs->refs; r; r = r->next)
      if (!strcmp(r->container_id, o->id)) copies[k++] = *r;
    for (k = 0; k < nrefs && rc == 0; k++) {
      if (taken(*mounts, *n, tmpfs, copies[k].destination)) continue;
      rc = mount_volume_locked(e, c, copies[k].name, copies[k].destination, copies[k].rw && !ro, false, "", NULL, NULL,
                               NULL, mounts, n, err);
    }
    free(copies);
    pthread_mutex_unlock(&vs->lock);
    container_put(e, o);
    if (rc < 0) return -1;
  }
  const char *dest;
  json_t *unused;
  json_object_foreach(json_object_get(c->config, "Volumes"), dest, unused) {
    autofree char *clean = path_clean(dest);
    if (taken(*mounts, *n, tmpfs, clean)) continue;
    pthread_mutex_lock(&vs->lock);
    int rc = mount_volume_locked(e, c, NULL, clean, true, true, "", NULL, NULL, NULL, mounts, n, err);
    pthread_mutex_unlock(&vs->lock);
    if (rc < 0) return -1;
  }
  return 0;
}

/* ---- start and stop ---- */

typedef struct ref_copy {
  char name[256];
  char *destination;
  bool copy, rw;
} ref_copy;

static size_t refs_of_container_locked(volumes_state *vs, const char *cid, ref_copy **out) {
  size_t n = 0;
  *out = NULL;
  for (volume_ref *r = vs->refs; r; r = r->next) {
    if (strcmp(r->container_id, cid)) continue;
    *out = xrealloc(*out, (n + 1) * sizeof **out);
    ref_copy *x = &(*out)[n++];
    snprintf(x->name, sizeof x->name, "%s", r->name);
    x->destination = xstrdup(r->destination);
    x->copy = r->copy;
    x->rw = r->rw;
  }
  return n;
}

static void ref_copies_free(ref_copy *r, size_t n) {
  for (size_t i = 0; i < n; i++) free(r[i].destination);
  free(r);
}

int volumes_start(engine *e, container *c, arca_err *err) {
  volumes_state *vs = VOLS(e);
  ref_copy *refs;
  pthread_mutex_lock(&vs->lock);
  size_t n = refs_of_container_locked(vs, c->id, &refs);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    volume *v = volume_lookup_locked(vs, refs[i].name);
    if (v && volume_has_mount_options(v)) rc = volume_local_mount(vs, v, err);
  }
  pthread_mutex_unlock(&vs->lock);
  char **layers = xcalloc(c->nchain + 1, sizeof *layers);
  for (size_t i = 0; i < c->nchain; i++) layers[i] = layers_dir(e->images.layers, c->chain_ids[i]);
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (!refs[i].copy) continue;
    autofree char *data = volume_data_dir(vs, refs[i].name);
    if (!dir_is_empty(data)) continue;
    rc = volume_copy_image_content((const char *const *)layers, c->nchain, refs[i].destination, data, err);
    if (rc < 0) err_wrap(err, "copying the image's content of %s into volume %s", refs[i].destination, refs[i].name);
  }
  for (size_t i = 0; i < c->nchain; i++) free(layers[i]);
  free(layers);
  if (rc == 0) {
    for (size_t i = 0; i < n; i++)
      events_publish(e->events, "volume", "mount", refs[i].name,
                     json_pack("{s:s,s:s,s:s,s:s,s:s}", "container", c->id, "destination", refs[i].destination,
                               "driver", "local", "propagation", "", "read/write", refs[i].rw ? "true" : "false"));
    pthread_mutex_lock(&vs->lock);
    strmap_put(&vs->mounted, c->id, (void *)1);
    pthread_mutex_unlock(&vs->lock);
  }
  ref_copies_free(refs, n);
  return rc;
}

static bool container_running_by_id(engine *e, const char *id) {
  container *o;
  arca_err err;
  if (container_get(e, id, &o, &err) < 0) return false;
  /* a word read without the other container's lock: this container's lock is held */
  bool running = o->state == CS_RUNNING || o->state == CS_PAUSED;
  container_put(e, o);
  return running;
}

void volumes_stop(engine *e, container *c) {
  volumes_state *vs = VOLS(e);
  pthread_mutex_lock(&vs->lock);
  bool was = strmap_del(&vs->mounted, c->id) != NULL;
  ref_copy *refs;
  size_t n = was ? refs_of_container_locked(vs, c->id, &refs) : 0;
  if (!was) refs = NULL;
  /* users of each volume with options, to learn whether one still runs */
  size_t nusers = 0;
  char (*users)[65] = NULL;
  for (size_t i = 0; i < n; i++) {
    volume *v = volume_lookup_locked(vs, refs[i].name);
    if (!v || !volume_has_mount_options(v)) continue;
    for (volume_ref *r = vs->refs; r; r = r->next) {
      if (strcmp(r->name, refs[i].name) || !strcmp(r->container_id, c->id)) continue;
      users = xrealloc(users, (nusers + 1) * sizeof *users);
      snprintf(users[nusers++], 65, "%s", r->container_id);
    }
  }
  pthread_mutex_unlock(&vs->lock);
  bool other_running = false;
  for (size_t i = 0; i < nusers && !other_running; i++) other_running = container_running_by_id(e, users[i]);
  free(users);
  for (size_t i = 0; i < n; i++)
    events_publish(e->events, "volume", "unmount", refs[i].name,
                   json_pack("{s:s,s:s}", "container", c->id, "driver", "local"));
  if (!other_running) {
    pthread_mutex_lock(&vs->lock);
    for (size_t i = 0; i < n; i++) {
      volume *v = volume_lookup_locked(vs, refs[i].name);
      if (v && volume_has_mount_options(v)) volume_local_umount(vs, v);
    }
    pthread_mutex_unlock(&vs->lock);
  }
  ref_copies_free(refs, n);
}

/* ---- removal ---- */

static void drop_refs(engine *e, container *c, bool remove_anonymous) {
  volumes_state *vs = VOLS(e);
  pthread_mutex_lock(&vs->lock);
  char (*names)[256] = NULL;
  size_t n = 0;
  for (volume_ref **pp = &vs->refs; *pp;) {
    volume_ref *r = *pp;
    if (strcmp(r->container_id, c->id)) {
      pp = &r->next;
      continue;
    }
    names = xrealloc(names, (n + 1) * sizeof *names);
    snprintf(names[n++], 256, "%s", r->name);
    *pp = r->next;
    volume_ref_free(r);
  }
  arca_err err;
  if (n && store_net_delete(e->store, STORE_VOLUME_REFS, c->id, NULL, &err) < 0)
    log_kv(LOG_WARN, "volume references not removed", "container", c->id, "error", err.msg, NULL);
  strmap_del(&vs->mounted, c->id);
  for (size_t i = 0; remove_anonymous && i < n; i++) {
    volume *v = volume_lookup_locked(vs, names[i]);
    if (!v || !json_object_get(json_object_get(v->doc, "Labels"), ANONYMOUS_LABEL)) continue;
    if (volume_in_use_locked(vs, v->name)) continue; /* still mounted by a --volumes-from user */
    if (volume_destroy_locked(e, v, &err) < 0)
      log_kv(LOG_WARN, "anonymous volume not removed", "volume", names[i], "error", err.msg, NULL);
  }
  pthread_mutex_unlock(&vs->lock);
  free(names);
}

void volumes_remove_anonymous(engine *e, container *c) { drop_refs(e, c, true); }
void volumes_release(engine *e, container *c) { drop_refs(e, c, false); }

/* ---- create-time checks ---- */

int volumes_validate_create(engine *e, container *c, arca_err *err) {
  size_t i;
  json_t *b;
  json_array_foreach(json_object_get(c->host_config, "Binds"), i, b) {
    bind_spec bs;
    if (bind_spec_parse(json_string_value(b) ?: "", &bs, err) < 0) return -1;
    int rc = 0;
    if (!strcmp(bs.type, "volume") && bs.source && volume_name_validate(bs.source, err) < 0)
      rc = err_wrap(err, "create %s", bs.source);
    bind_spec_free(&bs);
    if (rc < 0) return -1;
  }
  json_t *m;
  json_array_foreach(json_object_get(c->host_config, "Mounts"), i, m) {
    if (strcmp(jstr(m, "Type"), "volume")) continue;
    const char *src = jstr(m, "Source");
    const json_t *dc = json_object_get(json_object_get(m, "VolumeOptions"), "DriverConfig");
    const char *driver = jstr(dc, "Name");
    if (*driver && strcmp(driver, "local"))
      return err_set(err, 404, "create %s: error looking up volume plugin %s: plugin \"%s\" not found", src, driver,
                     driver);
    if (*src && volume_name_validate(src, err) < 0) return err_wrap(err, "create %s", src);
    if (volume_local_opts_validate(json_object_get(dc, "Options"), err) < 0) return err_wrap(err, "create %s", src);
  }
  json_t *vf;
  json_array_foreach(json_object_get(c->host_config, "VolumesFrom"), i, vf) {
    char id[256];
    bool ro;
    split_from(json_string_value(vf) ?: "", id, sizeof id, &ro);
    container *o;
    if (container_get(e, id, &o, err) < 0) {
      err->status = 400;
      return -1;
    }
    container_put(e, o);
  }
  return 0;
}

/* ---- Mounts of inspect and list ---- */

json_t *volumes_mounts_json(engine *e, const container *c) {
  volumes_state *vs = VOLS(e);
  json_t *out = json_array();
  size_t i;
  json_t *b;
  json_array_foreach(json_object_get(c->host_config, "Binds"), i, b) {
    bind_spec bs;
    arca_err err;
    if (bind_spec_parse(json_string_value(b) ?: "", &bs, &err) < 0) continue;
    if (!strcmp(bs.type, "bind"))
      json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source", bs.source,
                                           "Destination", bs.destination, "Mode", bs.mode ? bs.mode : "", "RW",
                                           !bs.read_only, "Propagation", bs.propagation ? bs.propagation : "rprivate"));
    bind_spec_free(&bs);
  }
  json_t *m;
  json_array_foreach(json_object_get(c->host_config, "Mounts"), i, m) {
    const char *type = jstr(m, "Type");
    if (!strcmp(type, "volume")) continue;
    bool ro = json_is_true(json_object_get(m, "ReadOnly"));
    const char *prop = jstr(json_object_get(m, "BindOptions"), "Propagation");
    autofree char *dst = path_clean(jstr(m, "Target"));
    json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", type, "Source", jstr(m, "Source"),
                                         "Destination", dst, "Mode", "", "RW", !ro, "Propagation",
                                         !strcmp(type, "bind") ? (*prop ? prop : "rprivate") : ""));
  }
  json_t *vf;
  json_array_foreach(json_object_get(c->host_config, "VolumesFrom"), i, vf) {
    char id[256];
    bool ro;
    split_from(json_string_value(vf) ?: "", id, sizeof id, &ro);
    container *o;
    arca_err err;
    if (container_get(e, id, &o, &err) < 0) continue;
    other_bind *ob;
    size_t nb = binds_of(o, &ob);
    for (size_t k = 0; k < nb; k++)
      json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source", ob[k].source,
                                           "Destination", ob[k].destination, "Mode", "", "RW", ob[k].rw && !ro,
                                           "Propagation", ob[k].propagation));
    binds_free(ob, nb);
    container_put(e, o);
  }
  pthread_mutex_lock(&vs->lock);
  for (volume_ref *r = vs->refs; r; r = r->next) {
    if (strcmp(r->container_id, c->id)) continue;
    autofree char *data = volume_data_dir(vs, r->name);
    json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "volume", "Name", r->name,
                                         "Source", data, "Destination", r->destination, "Driver", "local", "Mode",
                                         r->mode, "RW", r->rw, "Propagation", ""));
  }
  pthread_mutex_unlock(&vs->lock);
  return out;
}
