/* libcurl, loaded on first use instead of at start-up: arcad idles without the
 * library and what it pulls in (see common/lazy.h). Include this instead of the library's
 * own headers; calls read as usual and go through the table. The list names every
 * function Arca calls: a new one is added here, or the build fails on its symbol. */
#ifndef ARCA_LAZY_CURL_H
#define ARCA_LAZY_CURL_H

#define CURL_DISABLE_TYPECHECK 1 /* curl.h's checking macros would hide the table below */
#include <curl/curl.h>

#include "common/lazy.h"

#define LAZY_CURL_FUNCS(X) \
  X(curl_easy_cleanup) \
  X(curl_easy_getinfo) \
  X(curl_easy_init) \
  X(curl_easy_perform) \
  X(curl_easy_setopt) \
  X(curl_easy_strerror) \
  X(curl_free) \
  X(curl_global_init) \
  X(curl_share_cleanup) \
  X(curl_share_init) \
  X(curl_share_setopt) \
  X(curl_slist_append) \
  X(curl_slist_free_all) \
  X(curl_url) \
  X(curl_url_cleanup) \
  X(curl_url_get) \
  X(curl_url_set) \
  X(curl_url_strerror)

typedef struct lazy_curl_fns {
#define LAZY_MEMBER(f) __typeof__(f) *f;
  LAZY_CURL_FUNCS(LAZY_MEMBER)
#undef LAZY_MEMBER
} lazy_curl_fns;

extern const lazy_curl_fns *lazy_curl_table;
/* Loads the library on the first call (a missing library ends arcad with a message). */
const lazy_curl_fns *lazy_curl_load(void);
static inline const lazy_curl_fns *lazy_curl(void) {
  const lazy_curl_fns *t = __atomic_load_n(&lazy_curl_table, __ATOMIC_ACQUIRE);
  return t ? t : lazy_curl_load();
}

#ifndef LAZY_IMPLEMENTATION
/* curl.h's own argument-count macros give way to the table's */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_share_setopt
#define curl_easy_cleanup (lazy_curl()->curl_easy_cleanup)
#define curl_easy_getinfo (lazy_curl()->curl_easy_getinfo)
#define curl_easy_init (lazy_curl()->curl_easy_init)
#define curl_easy_perform (lazy_curl()->curl_easy_perform)
#define curl_easy_setopt (lazy_curl()->curl_easy_setopt)
#define curl_easy_strerror (lazy_curl()->curl_easy_strerror)
#define curl_free (lazy_curl()->curl_free)
#define curl_global_init (lazy_curl()->curl_global_init)
#define curl_share_cleanup (lazy_curl()->curl_share_cleanup)
#define curl_share_init (lazy_curl()->curl_share_init)
#define curl_share_setopt (lazy_curl()->curl_share_setopt)
#define curl_slist_append (lazy_curl()->curl_slist_append)
#define curl_slist_free_all (lazy_curl()->curl_slist_free_all)
#define curl_url (lazy_curl()->curl_url)
#define curl_url_cleanup (lazy_curl()->curl_url_cleanup)
#define curl_url_get (lazy_curl()->curl_url_get)
#define curl_url_set (lazy_curl()->curl_url_set)
#define curl_url_strerror (lazy_curl()->curl_url_strerror)
#endif

#endif /* ARCA_LAZY_CURL_H */
