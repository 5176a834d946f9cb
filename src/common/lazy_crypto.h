/* libcrypto (OpenSSL), loaded on first use instead of at start-up: arcad idles without the
 * library and what it pulls in (see common/lazy.h). Include this instead of the library's
 * own headers; calls read as usual and go through the table. The list names every
 * function Arca calls: a new one is added here, or the build fails on its symbol. */
#ifndef ARCA_LAZY_CRYPTO_H
#define ARCA_LAZY_CRYPTO_H

#include <openssl/evp.h>

#include "common/lazy.h"

#define LAZY_CRYPTO_FUNCS(X) \
  X(EVP_Digest) \
  X(EVP_DigestFinal_ex) \
  X(EVP_DigestInit_ex) \
  X(EVP_DigestUpdate) \
  X(EVP_EncodeBlock) \
  X(EVP_MD_CTX_free) \
  X(EVP_MD_CTX_new) \
  X(EVP_sha1) \
  X(EVP_sha256)

typedef struct lazy_crypto_fns {
#define LAZY_MEMBER(f) __typeof__(f) *f;
  LAZY_CRYPTO_FUNCS(LAZY_MEMBER)
#undef LAZY_MEMBER
} lazy_crypto_fns;

extern const lazy_crypto_fns *lazy_crypto_table;
/* Loads the library on the first call (a missing library ends arcad with a message). */
const lazy_crypto_fns *lazy_crypto_load(void);
static inline const lazy_crypto_fns *lazy_crypto(void) {
  const lazy_crypto_fns *t = __atomic_load_n(&lazy_crypto_table, __ATOMIC_ACQUIRE);
  return t ? t : lazy_crypto_load();
}

#ifndef LAZY_IMPLEMENTATION
#define EVP_Digest (lazy_crypto()->EVP_Digest)
#define EVP_DigestFinal_ex (lazy_crypto()->EVP_DigestFinal_ex)
#define EVP_DigestInit_ex (lazy_crypto()->EVP_DigestInit_ex)
#define EVP_DigestUpdate (lazy_crypto()->EVP_DigestUpdate)
#define EVP_EncodeBlock (lazy_crypto()->EVP_EncodeBlock)
#define EVP_MD_CTX_free (lazy_crypto()->EVP_MD_CTX_free)
#define EVP_MD_CTX_new (lazy_crypto()->EVP_MD_CTX_new)
#define EVP_sha1 (lazy_crypto()->EVP_sha1)
#define EVP_sha256 (lazy_crypto()->EVP_sha256)
#endif

#endif /* ARCA_LAZY_CRYPTO_H */
