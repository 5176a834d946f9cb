/* SHA-256 content digests in the OCI form "sha256:<64 lowercase hex>".
 *
 * Streaming: digest_init, any number of digest_update, then digest_final (which also frees
 * the context). A context belongs to one thread at a time; there is no shared state.
 * OpenSSL's SHA-256 only fails when memory runs out, and like every allocation here that
 * aborts, so the streaming calls return nothing. */
#ifndef ARCA_IMAGE_DIGEST_H
#define ARCA_IMAGE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define DIGEST_SHA256_PREFIX "sha256:"
/* "sha256:" + 64 hex + NUL */
#define DIGEST_STR_SIZE 72

struct evp_md_ctx_st; /* OpenSSL's EVP_MD_CTX, kept out of this header */

typedef struct digest_ctx {
  struct evp_md_ctx_st *md;
} digest_ctx;

void digest_init(digest_ctx *d);
void digest_update(digest_ctx *d, const void *data, size_t n);
/* Writes "sha256:<hex>" into out and frees the context. */
void digest_final(digest_ctx *d, char out[DIGEST_STR_SIZE]);
/* Frees a context that was never finalised (error paths); safe to call twice. */
void digest_free(digest_ctx *d);
#define autodigest __attribute__((cleanup(digest_free)))

void digest_buffer(const void *data, size_t n, char out[DIGEST_STR_SIZE]);
/* Digests everything readable from fd (from its current offset to EOF); *size (may be
 * NULL) receives the byte count. Errors are 500. */
int digest_fd(int fd, char out[DIGEST_STR_SIZE], uint64_t *size, arca_err *err);
/* Errors: 404 when path does not exist, 500 otherwise. */
int digest_file(const char *path, char out[DIGEST_STR_SIZE], arca_err *err);

/* True for exactly "sha256:" followed by 64 lowercase hex digits. */
bool digest_is_sha256(const char *s);

#endif
