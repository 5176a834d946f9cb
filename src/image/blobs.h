/* The content store: blobs under <data-root>/blobs/sha256/<hex>, addressed by digest.
 *
 * A blob is written to <root>/blobs/tmp/, hashed as it is written, verified against the
 * digest it should have, fsync'ed and only then renamed to its final name, so no reader
 * ever sees a partial blob under a digest (DESIGN: Images). Thread-safe: the file system's
 * atomic rename is the only synchronisation needed. */
#ifndef ARCA_IMAGE_BLOBS_H
#define ARCA_IMAGE_BLOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "image/digest.h"

typedef struct blob_store blob_store;

int blobs_open(const char *data_root, blob_store **out, arca_err *err);
void blobs_close(blob_store *b);

/* Path of a blob (exists or not); caller frees. */
char *blobs_path(blob_store *b, const char *digest);
bool blobs_exists(blob_store *b, const char *digest, int64_t *size);
/* Opens a blob for reading; 404 "blob <digest> not found". */
int blobs_open_read(blob_store *b, const char *digest, int *fd, arca_err *err);
/* Stores a buffer; *digest_out receives its digest. */
int blobs_put(blob_store *b, const void *data, size_t n, char digest_out[DIGEST_STR_SIZE], arca_err *err);
/* Reads a whole (small) blob into memory. */
int blobs_get(blob_store *b, const char *digest, size_t max, char **data, size_t *n, arca_err *err);
int blobs_delete(blob_store *b, const char *digest, arca_err *err);

/* A blob being written. */
typedef struct blob_writer blob_writer;
/* expected: the digest it must have, or NULL to accept whatever it hashes to. */
int blobs_writer_new(blob_store *b, const char *expected, blob_writer **out, arca_err *err);
/* The temp file's fd, for writers that write themselves (then call blobs_writer_account). */
int blobs_writer_fd(blob_writer *w);
int blobs_writer_write(blob_writer *w, const void *data, size_t n, arca_err *err);
/* Restart from zero (a download that could not resume). */
int blobs_writer_reset(blob_writer *w, arca_err *err);
int64_t blobs_writer_size(blob_writer *w);
/* Verifies, fsyncs, publishes. A digest mismatch is an error (400-class, "digest mismatch")
 * and the temp file is removed. */
int blobs_writer_commit(blob_writer *w, char digest_out[DIGEST_STR_SIZE], arca_err *err);
/* Publishes a blob whose content a verifier upstream has already hashed (the registry
 * client checks every byte it writes against the digest): no second pass over the data. */
int blobs_writer_commit_trusted(blob_writer *w, const char *digest, arca_err *err);
/* Drops an unfinished blob. Safe after commit (no-op). */
void blobs_writer_free(blob_writer *w);

/* Removes temp files left by a daemon that died mid-write. */
void blobs_clean_tmp(blob_store *b);

#endif
