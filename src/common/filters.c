#include "common/filters.h"

#include <regex.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

/* Docker keeps map[string]map[string]bool. The bool is almost always true, but a client
 * may send false, and then the value counts for listing and prefix/label matching but not
 * for exact matching, as in Docker. */
typedef struct filter_value {
  char *text;
  bool enabled;
} filter_value;

typedef struct filter_field {
  char *key;
  filter_value *values;
  size_t nvalues;
} filter_field;

struct filters {
  filter_field *fields;
  size_t nfields;
};

static const filter_field *field_of(const filters *f, const char *key) {
  if (!f || !key) return NULL;
  for (size_t i = 0; i < f->nfields; i++)
    if (strcmp(f->fields[i].key, key) == 0) return &f->fields[i];
  return NULL;
}

static filter_field *field_add(filters *f, const char *key) {
  /* A repeated JSON key replaces the earlier one (both jansson and Go keep the last). */
  for (size_t i = 0; i < f->nfields; i++)
    if (strcmp(f->fields[i].key, key) == 0) return &f->fields[i];
  f->fields = xrealloc(f->fields, (f->nfields + 1) * sizeof *f->fields);
  filter_field *field = &f->fields[f->nfields++];
  field->key = xstrdup(key);
  field->values = NULL;
  field->nvalues = 0;
  return field;
}

/* Values form a set: a repeated value keeps its first place, and the last flag given. */
static void value_add(filter_field *field, const char *text, bool enabled) {
  for (size_t i = 0; i < field->nvalues; i++) {
    if (strcmp(field->values[i].text, text) == 0) {
      field->values[i].enabled = enabled;
      return;
    }
  }
  field->values = xrealloc(field->values, (field->nvalues + 1) * sizeof *field->values);
  field->values[field->nvalues].text = xstrdup(text);
  field->values[field->nvalues].enabled = enabled;
  field->nvalues++;
}

void filters_free(filters *f) {
  if (!f) return;
  for (size_t i = 0; i < f->nfields; i++) {
    for (size_t j = 0; j < f->fields[i].nvalues; j++) free(f->fields[i].values[j].text);
    free(f->fields[i].values);
    free(f->fields[i].key);
  }
  free(f->fields);
  free(f);
}

/* Go decodes JSON null into a map, bool or string as "leave the zero value", so null is
 * accepted wherever a set, a flag or a legacy value is expected. */
static bool is_set_form(const json_t *root) {
  const char *key;
  json_t *set;
  json_object_foreach((json_t *)root, key, set) {
    if (json_is_null(set)) continue;
    if (!json_is_object(set)) return false;
    const char *value;
    json_t *flag;
    json_object_foreach(set, value, flag) {
      if (!json_is_boolean(flag) && !json_is_null(flag)) return false;
    }
  }
  return true;
}

static bool is_legacy_list_form(const json_t *root) {
  const char *key;
  json_t *list;
  json_object_foreach((json_t *)root, key, list) {
    if (json_is_null(list)) continue;
    if (!json_is_array(list)) return false;
    size_t i;
    json_t *value;
    json_array_foreach(list, i, value) {
      if (!json_is_string(value) && !json_is_null(value)) return false;
    }
  }
  return true;
}

static void load_set_form(filters *f, const json_t *root) {
  const char *key;
  json_t *set;
  json_object_foreach((json_t *)root, key, set) {
    filter_field *field = field_add(f, key);
    if (json_is_null(set)) continue;
    const char *value;
    json_t *flag;
    json_object_foreach(set, value, flag) value_add(field, value, json_is_true(flag));
  }
}

static void load_legacy_list_form(filters *f, const json_t *root) {
  const char *key;
  json_t *list;
  json_object_foreach((json_t *)root, key, list) {
    filter_field *field = field_add(f, key);
    if (json_is_null(list)) continue;
    size_t i;
    json_t *value;
    json_array_foreach(list, i, value) {
      const char *text = json_string_value(value);
      value_add(field, text ? text : "", true);
    }
  }
}

int filters_parse(const char *json_text, filters **out, arca_err *err) {
  *out = NULL;
  filters *f = xcalloc(1, sizeof *f);
  if (!json_text || !*json_text) {
    *out = f;
    return 0;
  }
  json_error_t jerr;
  autojson json_t *root = json_loads(json_text, JSON_DECODE_ANY, &jerr);
  if (root && json_is_null(root)) {
    *out = f;
    return 0;
  }
  if (root && json_is_object(root)) {
    if (is_set_form(root)) {
      load_set_form(f, root);
      *out = f;
      return 0;
    }
    if (is_legacy_list_form(root)) {
      load_legacy_list_form(f, root);
      *out = f;
      return 0;
    }
  }
  filters_free(f);
  return err_set(err, 400, "invalid filter");
}

size_t filters_len(const filters *f) { return f ? f->nfields : 0; }

int filters_validate(const filters *f, const char *const *accepted, arca_err *err) {
  if (!f) return 0;
  for (size_t i = 0; i < f->nfields; i++) {
    bool known = false;
    for (size_t j = 0; accepted && accepted[j] && !known; j++)
      known = strcmp(accepted[j], f->fields[i].key) == 0;
    if (!known) return err_set(err, 400, "invalid filter '%s'", f->fields[i].key);
  }
  return 0;
}

bool filters_contains(const filters *f, const char *key) { return field_of(f, key) != NULL; }

bool filters_has(const filters *f, const char *key) { return filters_count(f, key) > 0; }

size_t filters_count(const filters *f, const char *key) {
  const filter_field *field = field_of(f, key);
  return field ? field->nvalues : 0;
}

const char *filters_value(const filters *f, const char *key, size_t i) {
  const filter_field *field = field_of(f, key);
  return field && i < field->nvalues ? field->values[i].text : NULL;
}

bool filters_exact_match(const filters *f, const char *key, const char *source) {
  const filter_field *field = field_of(f, key);
  if (!field || field->nvalues == 0) return true;
  for (size_t i = 0; i < field->nvalues; i++)
    if (field->values[i].enabled && strcmp(field->values[i].text, source) == 0) return true;
  return false;
}

bool filters_fuzzy_match(const filters *f, const char *key, const char *source) {
  if (filters_exact_match(f, key, source)) return true;
  const filter_field *field = field_of(f, key);
  for (size_t i = 0; i < field->nvalues; i++)
    if (str_has_prefix(source, field->values[i].text)) return true;
  return false;
}

bool filters_regex_match(const filters *f, const char *key, const char *source) {
  if (filters_exact_match(f, key, source)) return true;
  const filter_field *field = field_of(f, key);
  for (size_t i = 0; i < field->nvalues; i++) {
    regex_t re;
    if (regcomp(&re, field->values[i].text, REG_EXTENDED | REG_NOSUB) != 0) continue;
    bool matched = regexec(&re, source, 0, NULL, 0) == 0;
    regfree(&re);
    if (matched) return true;
  }
  return false;
}

bool filters_match_labels(const filters *f, const char *key, const json_t *labels) {
  const filter_field *field = field_of(f, key);
  if (!field || field->nvalues == 0) return true;
  for (size_t i = 0; i < field->nvalues; i++) {
    const char *rule = field->values[i].text;
    const char *eq = strchr(rule, '=');
    autofree char *label_key = eq ? xstrndup(rule, (size_t)(eq - rule)) : xstrdup(rule);
    const json_t *label = json_object_get(labels, label_key);
    if (!label) return false;
    if (eq) {
      const char *label_value = json_string_value(label);
      if (strcmp(label_value ? label_value : "", eq + 1) != 0) return false;
    }
  }
  return true;
}

bool filters_match_label_rules(const filters *f, const json_t *labels) {
  if (!filters_match_labels(f, "label", labels)) return false;
  /* match_labels is true for an absent key, so `label!` must be looked for first. */
  if (filters_contains(f, "label!") && filters_match_labels(f, "label!", labels)) return false;
  return true;
}

static bool value_enabled(const filter_field *field, const char *text) {
  for (size_t i = 0; i < field->nvalues; i++)
    if (strcmp(field->values[i].text, text) == 0) return field->values[i].enabled;
  return false;
}

int filters_get_bool(const filters *f, const char *key, int default_value, int *out,
                     arca_err *err) {
  *out = default_value;
  const filter_field *field = field_of(f, key);
  if (!field) return 0;
  if (field->nvalues == 0) return err_set(err, 400, "invalid filter '%s'", key);
  bool is_false = value_enabled(field, "0") || value_enabled(field, "false");
  bool is_true = value_enabled(field, "1") || value_enabled(field, "true");
  if (is_false == is_true) {
    /* Docker prints the values as a Go slice: [a b c]. */
    strbuf values;
    sb_init(&values);
    for (size_t i = 0; i < field->nvalues; i++) {
      if (i) sb_puts(&values, " ");
      sb_puts(&values, field->values[i].text);
    }
    autofree char *list = sb_steal(&values);
    return err_set(err, 400, "invalid filter '%s=[%s]'", key, list ? list : "");
  }
  *out = is_true;
  return 0;
}
