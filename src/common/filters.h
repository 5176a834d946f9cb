/* Docker's `filters` query parameter (moby api/types/filters).
 *
 * The parameter is a JSON object mapping a filter name to a set of values, in one of two
 * shapes: the current {"label":{"a=b":true}} and the legacy (API < 1.22, still accepted)
 * {"label":["a=b"]}. An absent or empty parameter, or JSON null, means no filters. A name
 * may be present with no values ({"label":{}}); filters_contains() tells that apart.
 *
 * Values keep the order they had in the JSON text (Docker's order is a Go map's, i.e.
 * random, so nothing may depend on it). A parsed set is immutable; any number of threads
 * may read it at once. No locks. */
#ifndef ARCA_COMMON_FILTERS_H
#define ARCA_COMMON_FILTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "common/err.h"

typedef struct filters filters;

/* NULL, "" and "null" give an empty set. Anything else that is not one of the two shapes
 * fails with 400 "invalid filter", Docker's text. */
int filters_parse(const char *json_text, filters **out, arca_err *err);
void filters_free(filters *f);

/* Number of filter names present. */
size_t filters_len(const filters *f);
/* Fails with 400 "invalid filter '<name>'" for the first name not in `accepted`
 * (a NULL-terminated list). */
int filters_validate(const filters *f, const char *const *accepted, arca_err *err);

/* Name present, even with no values (Docker's Contains). */
bool filters_contains(const filters *f, const char *key);
/* Name present with at least one value. */
bool filters_has(const filters *f, const char *key);
size_t filters_count(const filters *f, const char *key);
/* i-th value of key, NULL past the end. */
const char *filters_value(const filters *f, const char *key, size_t i);

/* True when key has no values, or one of them (given as true) equals source. */
bool filters_exact_match(const filters *f, const char *key, const char *source);
/* exact_match, or one of key's values is a prefix of source (IDs: "abc" matches "abcdef"). */
bool filters_fuzzy_match(const filters *f, const char *key, const char *source);
/* exact_match, or one of key's values, read as a regular expression, matches somewhere in
 * source (Docker's Match, used for names). Values that do not compile are skipped. Docker
 * uses Go's RE2 syntax; this uses POSIX extended syntax, which agrees on the usual forms
 * (^, $, ., *, +, ?, [..], (a|b), {n}) but not on \d, \w, (?i) and the like. */
bool filters_regex_match(const filters *f, const char *key, const char *source);

/* Docker's MatchKVList: true when key has no values; otherwise every value ("k" or "k=v")
 * must be found in labels (a JSON object of strings, may be NULL). */
bool filters_match_labels(const filters *f, const char *key, const json_t *labels);
/* The `label` and `label!` pair as list and prune endpoints apply them: labels must match
 * every `label` value, and are rejected when `label!` is present and all of its values
 * match (so `label!=a` drops objects that carry label a, with any value). */
bool filters_match_label_rules(const filters *f, const json_t *labels);

/* Boolean filters (dangling=true): *out = default_value when key is absent; 1 or 0 when
 * its values say "1"/"true" or "0"/"false" without contradiction. Otherwise 400, Docker's
 * text: "invalid filter 'dangling'" when it has no values, "invalid filter
 * 'dangling=[maybe]'" (all values, space separated) when they are not booleans or conflict. */
int filters_get_bool(const filters *f, const char *key, int default_value, int *out,
                     arca_err *err);

#endif
