#include "common/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static char tomb_marker;
#define TOMB (&tomb_marker)

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

void strmap_init(strmap *m) { memset(m, 0, sizeof *m); }

void strmap_free(strmap *m) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i] && m->keys[i] != TOMB) free(m->keys[i]);
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

static size_t find(const strmap *m, const char *key, bool *found) {
  size_t mask = m->cap - 1, i = hash(key) & mask, first_tomb = SIZE_MAX;
  for (;;) {
    char *k = m->keys[i];
    if (!k) {
      *found = false;
      return first_tomb != SIZE_MAX ? first_tomb : i;
    }
    if (k == TOMB) {
      if (first_tomb == SIZE_MAX) first_tomb = i;
    } else if (strcmp(k, key) == 0) {
      *found = true;
      return i;
    }
    i = (i + 1) & mask;
  }
}

static void grow(strmap *m) {
  size_t oldcap = m->cap;
  char **ok = m->keys;
  void **ov = m->vals;
  m->cap = oldcap ? oldcap * 2 : 16;
  while (m->len * 2 >= m->cap) m->cap *= 2;
  m->keys = xcalloc(m->cap, sizeof *m->keys);
  m->vals = xcalloc(m->cap, sizeof *m->vals);
  m->tombs = 0;
  for (size_t i = 0; i < oldcap; i++) {
    if (!ok[i] || ok[i] == TOMB) continue;
    bool f;
    size_t j = find(m, ok[i], &f);
    m->keys[j] = ok[i];
    m->vals[j] = ov[i];
  }
  free(ok);
  free(ov);
}

void *strmap_get(const strmap *m, const char *key) {
  if (!m->cap) return NULL;
  bool f;
  size_t i = find(m, key, &f);
  return f ? m->vals[i] : NULL;
}

void *strmap_put(strmap *m, const char *key, void *val) {
  if ((m->len + m->tombs + 1) * 2 > m->cap) grow(m);
  bool f;
  size_t i = find(m, key, &f);
  if (f) {
    void *old = m->vals[i];
    m->vals[i] = val;
    return old;
  }
  if (m->keys[i] == TOMB) m->tombs--;
  m->keys[i] = xstrdup(key);
  m->vals[i] = val;
  m->len++;
  return NULL;
}

void *strmap_del(strmap *m, const char *key) {
  if (!m->cap) return NULL;
  bool f;
  size_t i = find(m, key, &f);
  if (!f) return NULL;
  void *old = m->vals[i];
  free(m->keys[i]);
  m->keys[i] = TOMB;
  m->vals[i] = NULL;
  m->len--;
  m->tombs++;
  return old;
}

bool strmap_next(const strmap *m, size_t *i, const char **key, void **val) {
  for (; *i < m->cap; (*i)++) {
    if (m->keys[*i] && m->keys[*i] != TOMB) {
      if (key) *key = m->keys[*i];
      if (val) *val = m->vals[*i];
      (*i)++;
      return true;
    }
  }
  return false;
}
