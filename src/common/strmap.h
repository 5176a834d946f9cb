/* A string-keyed hash map (open addressing, linear probing). Keys are copied; values are
 * the caller's pointers. Not thread-safe: its owner's lock guards it. */
#ifndef ARCA_COMMON_STRMAP_H
#define ARCA_COMMON_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strmap {
  char **keys;
  void **vals;
  size_t cap, len, tombs;
} strmap;

void strmap_init(strmap *m);
void strmap_free(strmap *m); /* frees keys, not values */
void *strmap_get(const strmap *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *strmap_put(strmap *m, const char *key, void *val);
void *strmap_del(strmap *m, const char *key);
/* Iteration: for (size_t i = 0; strmap_next(m, &i, &k, &v);) */
bool strmap_next(const strmap *m, size_t *i, const char **key, void **val);

#endif
