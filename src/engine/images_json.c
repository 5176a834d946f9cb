/* Docker's image documents: inspect, list (GET /images/json), history, system df. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/pattern.h"
#include "common/util.h"
#include "engine/engine.h"
#include "image/reference.h"

#define IS(e) (&(e)->images)

/* The image config's container config in the shape of the API's ImageConfig (1.50+ omits
 * the container-only fields; older versions saw them with empty values). */
static json_t *image_config_doc(const json_t *cfg, int api_minor) {
  static const char *const keys[] = {"User", "ExposedPorts", "Env", "Cmd", "Healthcheck", "ArgsEscaped",
                                     "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels",
                                     "StopSignal", "Shell"};
  json_t *out = json_object();
  if (api_minor < 50) {
    /* legacy fields present with zero values before API 1.50 */
    json_object_set_new(out, "Hostname", json_string(""));
    json_object_set_new(out, "Domainname", json_string(""));
    json_object_set_new(out, "User", json_string(""));
    json_object_set_new(out, "AttachStdin", json_false());
    json_object_set_new(out, "AttachStdout", json_false());
    json_object_set_new(out, "AttachStderr", json_false());
    json_object_set_new(out, "Tty", json_false());
    json_object_set_new(out, "OpenStdin", json_false());
    json_object_set_new(out, "StdinOnce", json_false());
    json_object_set_new(out, "Env", json_null());
    json_object_set_new(out, "Cmd", json_null());
    json_object_set_new(out, "Image", json_string(""));
    json_object_set_new(out, "Volumes", json_null());
    json_object_set_new(out, "WorkingDir", json_string(""));
    json_object_set_new(out, "Entrypoint", json_null());
    json_object_set_new(out, "OnBuild", json_null());
    json_object_set_new(out, "Labels", json_null());
  }
  for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
    json_t *v = json_object_get(cfg, keys[i]);
    if (v && !json_is_null(v)) json_object_set(out, keys[i], v);
  }
  return out;
}

static json_t *str_or_empty(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return json_string(s ? s : "");
}

typedef struct refs_split {
  json_t *tags, *digests;
} refs_split;

static void split_refs_locked(engine *e, const char *id, refs_split *out) {
  out->tags = json_array();
  out->digests = json_array();
  /* sorted by the full string as Docker's reference store sorts */
  size_t n = 0, cap = 0;
  char **names = NULL;
  size_t i = 0;
  const char *k;
  void *v;
  while (strmap_next(&IS(e)->refs, &i, &k, &v)) {
    if (strcmp(v, id) != 0) continue;
    if (n == cap) names = xrealloc(names, (cap = cap ? cap * 2 : 4) * sizeof *names);
    names[n++] = (char *)k;
  }
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0 && strcmp(names[b - 1], names[b]) > 0; b--) {
      char *t = names[b];
      names[b] = names[b - 1];
      names[b - 1] = t;
    }
  for (size_t j = 0; j < n; j++) {
    image_ref r = {0};
    if (ref_parse(names[j], &r, NULL) < 0) continue;
    char *fam = ref_familiar(&r);
    json_array_append_new(r.digest ? out->digests : out->tags, json_string(fam));
    free(fam);
    ref_free(&r);
  }
  free(names);
}

static void graph_driver(engine *e, const image *img, json_t *doc) {
  json_t *data = json_object();
  if (img->nlayers) {
    strbuf lower;
    sb_init(&lower);
    for (size_t i = img->nlayers - 1; i > 0; i--) {
      char *dir = layers_dir(IS(e)->layers, img->layers[i - 1].chain_id);
      if (lower.len) sb_puts(&lower, ":");
      sb_puts(&lower, dir);
      free(dir);
    }
    char *top = layers_dir(IS(e)->layers, img->layers[img->nlayers - 1].chain_id);
    if (lower.len) json_object_set_new(data, "LowerDir", json_string(lower.buf));
    json_object_set_new(data, "MergedDir", json_string(top));
    json_object_set_new(data, "UpperDir", json_string(top));
    json_object_set_new(data, "WorkDir", json_string(top));
    free(top);
    sb_free(&lower);
  }
  json_object_set_new(doc, "GraphDriver", json_pack("{s:o,s:s}", "Data", data, "Name", "overlay2"));
}

json_t *image_inspect_json(engine *e, const char *id, int api_minor) {
  pthread_rwlock_rdlock(&IS(e)->lock);
  image *img = strmap_get(&IS(e)->by_id, id);
  if (!img) {
    pthread_rwlock_unlock(&IS(e)->lock);
    return NULL;
  }
  const json_t *c = img->config;
  json_t *doc = json_object();
  refs_split refs;
  split_refs_locked(e, id, &refs);
  json_object_set_new(doc, "Id", json_string(img->id));
  json_object_set_new(doc, "RepoTags", refs.tags);
  json_object_set_new(doc, "RepoDigests", refs.digests);
  json_object_set_new(doc, "Parent", json_string(img->parent));
  /* Comment: the config's, else the last history entry's */
  const char *comment = json_string_value(json_object_get(c, "comment"));
  json_t *history = json_object_get(c, "history");
  if ((!comment || !*comment) && json_array_size(history))
    comment = json_string_value(json_object_get(json_array_get(history, json_array_size(history) - 1), "comment"));
  json_object_set_new(doc, "Comment", json_string(comment ? comment : ""));
  char created[64] = "";
  if (img->created_ns) format_rfc3339nano(img->created_ns, created, sizeof created);
  else if (api_minor < 44) snprintf(created, sizeof created, "0001-01-01T00:00:00Z");
  json_object_set_new(doc, "Created", json_string(created));
  if (api_minor < 45) {
    json_object_set_new(doc, "Container", json_string(""));
    json_object_set_new(doc, "ContainerConfig", image_config_doc(json_object_get(c, "container_config"), 49));
  }
  json_object_set_new(doc, "DockerVersion", str_or_empty(c, "docker_version"));
  json_object_set_new(doc, "Author", str_or_empty(c, "author"));
  json_object_set_new(doc, "Config", image_config_doc(json_object_get(c, "config"), api_minor));
  json_object_set_new(doc, "Architecture", str_or_empty(c, "architecture"));
  const char *variant = json_string_value(json_object_get(c, "variant"));
  if (variant && *variant) json_object_set_new(doc, "Variant", json_string(variant));
  json_object_set_new(doc, "Os", str_or_empty(c, "os"));
  const char *osv = json_string_value(json_object_get(c, "os.version"));
  if (osv && *osv) json_object_set_new(doc, "OsVersion", json_string(osv));
  json_object_set_new(doc, "Size", json_integer(img->size));
  if (api_minor < 44) json_object_set_new(doc, "VirtualSize", json_integer(img->size));
  graph_driver(e, img, doc);
  json_t *layers = json_array();
  for (size_t i = 0; i < img->nlayers; i++) json_array_append_new(layers, json_string(img->layers[i].diff_id));
  json_object_set_new(doc, "RootFS", json_pack("{s:s,s:o}", "Type", "layers", "Layers", layers));
  json_t *meta = json_object();
  if (img->last_tag_ns) {
    char t[64];
    format_rfc3339nano(img->last_tag_ns, t, sizeof t);
    json_object_set_new(meta, "LastTagTime", json_string(t));
  }
  json_object_set_new(doc, "Metadata", meta);
  pthread_rwlock_unlock(&IS(e)->lock);
  return doc;
}

/* ---- list ---- */

static int64_t resolve_created(engine *e, const char *name, arca_err *err, bool *ok) {
  /* called with the lock held for reading: resolve without relocking */
  char id[DIGEST_STR_SIZE];
  pthread_rwlock_unlock(&IS(e)->lock);
  int rc = image_resolve(e, name, id, err);
  pthread_rwlock_rdlock(&IS(e)->lock);
  *ok = rc == 0;
  if (rc < 0) return 0;
  image *img = strmap_get(&IS(e)->by_id, id);
  return img ? img->created_ns : 0;
}

static bool has_children(engine *e, const char *id) {
  size_t i = 0;
  void *v;
  while (strmap_next(&IS(e)->by_id, &i, NULL, &v))
    if (!strcmp(((image *)v)->parent, id)) return true;
  return false;
}

/* reference.FamiliarMatch: the pattern against the familiar name, and with a tag against
 * the familiar string. */
static bool familiar_match(const char *pattern, const char *familiar, const char *familiar_name) {
  bool m = false;
  if (glob_match(pattern, familiar_name, &m, NULL) == 0 && m) return true;
  if (strchr(pattern, ':') && glob_match(pattern, familiar, &m, NULL) == 0 && m) return true;
  return false;
}

static int cmp_created_desc(const void *a, const void *b) {
  int64_t x = json_integer_value(json_object_get(*(json_t *const *)a, "Created"));
  int64_t y = json_integer_value(json_object_get(*(json_t *const *)b, "Created"));
  return x < y ? 1 : x > y ? -1 : 0;
}

int images_list_json(engine *e, bool all, bool digests, bool shared_size, const char *filters_json,
                     int api_minor, json_t **out, arca_err *err) {
  (void)digests;
  static const char *const accepted[] = {"dangling", "label", "before", "since", "reference", "until", NULL};
  filters *f = NULL;
  if (filters_parse(filters_json, &f, err) < 0) return -1;
  int rc = -1;
  json_t **rows = NULL;
  size_t nrows = 0, it = 0;
  int dangling_only = 0;
  int64_t before = 0, since = 0;
  void *val;
  strmap layer_users;
  strmap_init(&layer_users);
  if (filters_validate(f, accepted, err) < 0) goto out_nolock;
  if (filters_get_bool(f, "dangling", 0, &dangling_only, err) < 0) goto out_nolock;

  pthread_rwlock_rdlock(&IS(e)->lock);
  bool ok;
  for (size_t i = 0; i < filters_count(f, "before"); i++) {
    int64_t c = resolve_created(e, filters_value(f, "before", i), err, &ok);
    if (!ok) goto out;
    if (!before || c < before) before = c;
  }
  for (size_t i = 0; i < filters_count(f, "until"); i++) {
    int64_t t;
    if (parse_docker_time(filters_value(f, "until", i), now_ns(), &t, err) < 0) goto out;
    if (!before || t < before) before = t;
  }
  for (size_t i = 0; i < filters_count(f, "since"); i++) {
    int64_t c = resolve_created(e, filters_value(f, "since", i), err, &ok);
    if (!ok) goto out;
    if (c > since) since = c;
  }
  /* shared size: how many images use each chain id */
  if (shared_size) {
    size_t i = 0;
    void *v;
    while (strmap_next(&IS(e)->by_id, &i, NULL, &v)) {
      image *img = v;
      for (size_t l = 0; l < img->nlayers; l++) {
        intptr_t c = (intptr_t)strmap_get(&layer_users, img->layers[l].chain_id);
        strmap_put(&layer_users, img->layers[l].chain_id, (void *)(c + 1));
      }
    }
  }
  it = 0;
  while (strmap_next(&IS(e)->by_id, &it, NULL, &val)) {
    image *img = val;
    int64_t shared = -1;
    json_t *row = NULL;
    bool children = has_children(e, img->id);
    if (dangling_only && children) continue; /* Heads() */
    if (before && !(img->created_ns && img->created_ns < before)) continue;
    if (since && !(img->created_ns && img->created_ns > since)) continue;
    json_t *labels = json_object_get(json_object_get(img->config, "config"), "Labels");
    if (filters_contains(f, "label") && !filters_match_labels(f, "label", labels)) continue;
    json_t *tags = json_array(), *dig = json_array();
    refs_split refs;
    split_refs_locked(e, img->id, &refs);
    size_t npat = filters_count(f, "reference");
    for (size_t k = 0; k < json_array_size(refs.tags) + json_array_size(refs.digests); k++) {
      bool is_tag = k < json_array_size(refs.tags);
      const char *fam = json_string_value(is_tag ? json_array_get(refs.tags, k)
                                                 : json_array_get(refs.digests, k - json_array_size(refs.tags)));
      if (npat) {
        autofree char *name = xstrndup(fam, strcspn(fam, "@"));
        char *colon = strrchr(name, ':');
        if (colon && !strchr(colon, '/')) *colon = '\0';
        bool found = false;
        for (size_t p = 0; p < npat && !found; p++) found = familiar_match(filters_value(f, "reference", p), fam, name);
        if (!found) continue;
      }
      json_array_append_new(is_tag ? tags : dig, json_string(fam));
    }
    json_decref(refs.tags);
    json_decref(refs.digests);
    if (json_array_size(tags) == 0 && json_array_size(dig) == 0) {
      if (all || !children) {
        if (filters_contains(f, "dangling") && !dangling_only) goto skip;
        if (npat) goto skip;
      } else {
        goto skip;
      }
    } else if (dangling_only && json_array_size(tags) > 0) {
      goto skip;
    }
    if (api_minor < 43 && json_array_size(tags) == 0 && json_array_size(dig) == 0) {
      json_array_append_new(tags, json_string("<none>:<none>"));
      json_array_append_new(dig, json_string("<none>@<none>"));
    }
    if (shared_size) {
      shared = 0;
      for (size_t l = 0; l < img->nlayers; l++)
        if ((intptr_t)strmap_get(&layer_users, img->layers[l].chain_id) > 1) shared += img->layers[l].size;
    }
    row = json_object();
    json_object_set_new(row, "Id", json_string(img->id));
    json_object_set_new(row, "ParentId", json_string(img->parent));
    json_object_set_new(row, "RepoTags", tags);
    json_object_set_new(row, "RepoDigests", dig);
    json_object_set_new(row, "Created", json_integer(img->created_ns / 1000000000LL));
    json_object_set_new(row, "Size", json_integer(img->size));
    json_object_set_new(row, "SharedSize", json_integer(shared));
    if (api_minor < 44) json_object_set_new(row, "VirtualSize", json_integer(img->size));
    json_object_set_new(row, "Labels", json_is_object(labels) ? json_deep_copy(labels) : json_object());
    json_object_set_new(row, "Containers", json_integer(api_minor >= 51 ? img->containers : -1));
    rows = xrealloc(rows, (nrows + 1) * sizeof *rows);
    rows[nrows++] = row;
    continue;
  skip:
    json_decref(tags);
    json_decref(dig);
  }
  if (nrows > 1) qsort(rows, nrows, sizeof *rows, cmp_created_desc);
  *out = json_array();
  for (size_t r = 0; r < nrows; r++) json_array_append_new(*out, rows[r]);
  nrows = 0;
  rc = 0;
out:
  pthread_rwlock_unlock(&IS(e)->lock);
out_nolock:
  strmap_free(&layer_users);
  for (size_t r = 0; r < nrows; r++) json_decref(rows[r]);
  free(rows);
  filters_free(f);
  return rc;
}

/* ---- history ---- */

int image_history_json(engine *e, const char *name, json_t **out, arca_err *err) {
  char id[DIGEST_STR_SIZE];
  if (image_resolve(e, name, id, err) < 0) return -1;
  pthread_rwlock_rdlock(&IS(e)->lock);
  image *img = strmap_get(&IS(e)->by_id, id);
  if (!img) {
    pthread_rwlock_unlock(&IS(e)->lock);
    return err_set(err, 404, "No such image: %s", name);
  }
  json_t *hist = json_object_get(img->config, "history");
  json_t *items = json_array();
  size_t layer = 0;
  size_t i;
  json_t *h;
  json_array_foreach(hist, i, h) {
    int64_t size = 0;
    if (!json_is_true(json_object_get(h, "empty_layer"))) {
      if (layer >= img->nlayers) {
        json_decref(items);
        pthread_rwlock_unlock(&IS(e)->lock);
        return err_set(err, 500, "too many non-empty layers in History section");
      }
      size = img->layers[layer++].size;
    }
    int64_t created = 0;
    const char *c = json_string_value(json_object_get(h, "created"));
    if (c) parse_rfc3339(c, &created);
    const char *by = json_string_value(json_object_get(h, "created_by"));
    const char *comment = json_string_value(json_object_get(h, "comment"));
    json_array_insert_new(items, 0,
                          json_pack("{s:s,s:I,s:s,s:n,s:I,s:s}", "Id", "<missing>", "Created",
                                    (json_int_t)(created / 1000000000LL), "CreatedBy", by ? by : "",
                                    "Tags", "Size", (json_int_t)size, "Comment", comment ? comment : ""));
  }
  /* the newest entries belong to this image, then to each parent in turn */
  image *cur = img;
  for (size_t k = 0; k < json_array_size(items) && cur; k++) {
    json_t *it = json_array_get(items, k);
    json_object_set_new(it, "Id", json_string(cur->id));
    refs_split refs;
    split_refs_locked(e, cur->id, &refs);
    json_object_set_new(it, "Tags", json_array_size(refs.tags) ? refs.tags : (json_decref(refs.tags), json_null()));
    json_decref(refs.digests);
    cur = cur->parent[0] ? strmap_get(&IS(e)->by_id, cur->parent) : NULL;
  }
  pthread_rwlock_unlock(&IS(e)->lock);
  *out = items;
  return 0;
}

/* ---- system df ---- */

json_t *images_df_json(engine *e, int64_t *layers_size) {
  json_t *rows = NULL;
  arca_err err;
  images_list_json(e, false, true, true, NULL, 51, &rows, &err); /* top images, as dockerd */
  *layers_size = layers_total_size(IS(e)->layers);
  return rows ? rows : json_array();
}
