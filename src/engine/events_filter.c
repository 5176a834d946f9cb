#include "engine/events_filter.h"

#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "image/reference.h"

static const char *attr(const arca_event *e, const char *key) {
  json_t *v = json_object_get(e->attributes, key);
  return json_is_string(v) ? json_string_value(v) : "";
}

static bool fuzzy_name(const filters *f, const arca_event *e, const char *type) {
  return filters_fuzzy_match(f, type, e->actor_id) || filters_fuzzy_match(f, type, attr(e, "name"));
}

/* reference.FamiliarName of an image string, or the string itself when it is no reference. */
static char *strip_tag(const char *image) {
  image_ref r = {0};
  if (!*image || ref_parse(image, &r, NULL) < 0) return xstrdup(image);
  char *name = ref_familiar_name(&r);
  ref_free(&r);
  return name;
}

static bool match_image(const filters *f, const arca_event *e) {
  if (!filters_has(f, "image")) return true;
  const char *name = attr(e, strcmp(e->type, "image") == 0 ? "name" : "image");
  autofree char *id_stripped = strip_tag(e->actor_id);
  autofree char *name_stripped = strip_tag(name);
  return filters_exact_match(f, "image", e->actor_id) || filters_exact_match(f, "image", name) ||
         filters_exact_match(f, "image", id_stripped) || filters_exact_match(f, "image", name_stripped);
}

static bool match_action(const filters *f, const arca_event *e) {
  /* health_status, exec_create and exec_start match by prefix ("exec_start: sh") */
  size_t n = filters_count(f, "event");
  for (size_t i = 0; i < n; i++) {
    const char *v = filters_value(f, "event", i);
    if (!strcmp(v, "health_status") || !strcmp(v, "exec_create") || !strcmp(v, "exec_start"))
      return filters_fuzzy_match(f, "event", e->action);
  }
  return filters_exact_match(f, "event", e->action);
}

bool events_filter_include(const filters *f, const arca_event *e) {
  if (!f) return true;
  return match_action(f, e) && filters_exact_match(f, "type", e->type) &&
         (!filters_has(f, "scope") || filters_exact_match(f, "scope", e->scope)) &&
         fuzzy_name(f, e, "daemon") && fuzzy_name(f, e, "container") && fuzzy_name(f, e, "plugin") &&
         fuzzy_name(f, e, "volume") && fuzzy_name(f, e, "network") && match_image(f, e) &&
         fuzzy_name(f, e, "node") && fuzzy_name(f, e, "service") && fuzzy_name(f, e, "secret") &&
         fuzzy_name(f, e, "config") &&
         (!filters_has(f, "label") || filters_match_labels(f, "label", e->attributes));
}
