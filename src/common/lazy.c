/* Loading of the libraries Arca uses only on demand (see lazy.h). */
#define LAZY_IMPLEMENTATION 1
#include "common/lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/lazy_archive.h"
#include "common/lazy_crypto.h"
#include "common/lazy_curl.h"
#include "common/log.h"

#ifndef ARCA_SONAME_CURL
#define ARCA_SONAME_CURL "libcurl.so.4"
#endif
#ifndef ARCA_SONAME_ARCHIVE
#define ARCA_SONAME_ARCHIVE "libarchive.so.13"
#endif
#ifndef ARCA_SONAME_CRYPTO
#define ARCA_SONAME_CRYPTO "libcrypto.so.3"
#endif

void lazy_resolve(const char *soname, const char *const *names, void **table, unsigned n) {
  void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    log_printf(LOG_ERROR, "cannot load %s: %s (is its package installed? scripts/deps.sh installs it)", soname, dlerror());
    fprintf(stderr, "arcad: cannot load %s\n", soname);
    abort();
  }
  for (unsigned i = 0; i < n; i++) {
    table[i] = dlsym(h, names[i]);
    if (!table[i]) {
      log_printf(LOG_ERROR, "%s has no symbol %s: %s", soname, names[i], dlerror());
      fprintf(stderr, "arcad: %s has no symbol %s\n", soname, names[i]);
      abort();
    }
  }
}

#define LAZY_NAME(f) #f,
#define LAZY_LOADER(lib, LIST, soname)                                                        \
  const lazy_##lib##_fns *lazy_##lib##_table;                                                \
  static lazy_##lib##_fns lazy_##lib##_storage;                                              \
  static pthread_once_t lazy_##lib##_once = PTHREAD_ONCE_INIT;                               \
  static void lazy_##lib##_init(void) {                                                      \
    static const char *const names[] = {LIST(LAZY_NAME)};                                    \
    _Static_assert(sizeof(lazy_##lib##_fns) == sizeof names, "one pointer per name");         \
    lazy_resolve(soname, names, (void **)&lazy_##lib##_storage, sizeof names / sizeof *names); \
    __atomic_store_n(&lazy_##lib##_table, &lazy_##lib##_storage, __ATOMIC_RELEASE);          \
  }                                                                                          \
  const lazy_##lib##_fns *lazy_##lib##_load(void) {                                          \
    pthread_once(&lazy_##lib##_once, lazy_##lib##_init);                                     \
    return lazy_##lib##_table;                                                               \
  }

LAZY_LOADER(curl, LAZY_CURL_FUNCS, ARCA_SONAME_CURL)
LAZY_LOADER(archive, LAZY_ARCHIVE_FUNCS, ARCA_SONAME_ARCHIVE)
LAZY_LOADER(crypto, LAZY_CRYPTO_FUNCS, ARCA_SONAME_CRYPTO)
