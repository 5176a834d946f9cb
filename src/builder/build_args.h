/* Build arguments as the classic builder keeps them (moby builder/dockerfile/buildargs.go):
 * the --build-arg values given with the request, the ARGs a stage declared (allowed), the
 * ARGs declared before the first FROM (meta), and every name the Dockerfile referenced. The
 * proxy variables are predefined: usable without an ARG and kept out of the history unless
 * the Dockerfile declares them.
 *
 * One build_args per stage (cloned from the build's); owned by one build thread. */
#ifndef ARCA_BUILDER_BUILD_ARGS_H
#define ARCA_BUILDER_BUILD_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/strmap.h"

typedef struct build_args {
  strmap allowed;    /* name -> value (char*) or NULL-value marker */
  strmap meta;       /* idem, ARGs before the first FROM */
  strmap referenced; /* names declared anywhere */
  json_t *options;   /* {"NAME": "value" | null} from the request */
} build_args;

/* options: the request's buildargs object (may be NULL); it is referenced, not copied. */
build_args *build_args_new(json_t *options);
build_args *build_args_clone(const build_args *b);
void build_args_free(build_args *b);
void build_args_reset_allowed(build_args *b);
/* value NULL: ARG without a default */
void build_args_add(build_args *b, const char *key, const char *value);
void build_args_add_meta(build_args *b, const char *key, const char *value);
void build_args_merge_referenced(build_args *b, const build_args *other);
bool build_args_is_builtin(const char *key);
bool build_args_referenced_or_not_builtin(const build_args *b, const char *key);

/* "K=V" lists, sorted by key (caller frees with build_args_free_list):
 *   all_allowed: every allowed arg (and predefined proxy) that has a value
 *   all_meta:    the same over the meta args
 *   filter_allowed: all_allowed minus the keys env ("K=V" list) already sets */
char **build_args_all_allowed(const build_args *b, size_t *n);
char **build_args_all_meta(const build_args *b, size_t *n);
char **build_args_filter_allowed(const build_args *b, const json_t *env, size_t *n);
void build_args_free_list(char **v, size_t n);
/* "[Warning] One or more build-args [A B] were not consumed\n", or NULL (caller frees). */
char *build_args_unused_warning(const build_args *b);

#endif
