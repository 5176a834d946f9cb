/* The tar a COPY or ADD step puts into the step's container: entries named by their final
 * path in the image (relative to "/"), with the ownership the instruction gives them. The
 * runtime driver extracts it (archive_put) with the container's symlinks resolved inside
 * its root, so the tar itself needs no knowledge of the image's file system.
 *
 * Content comes from files on this host (the build context, downloads) or from the entries
 * of another tar (COPY --from, read out of the source image by the driver). Entries are
 * written as dockerd's archiver writes them: pax, mtimes in whole seconds, numeric owners,
 * hard links within one copied tree kept as links, security.capability the only xattr.
 *
 * One writer per step; not shared. */
#ifndef ARCA_BUILDER_COPY_TAR_H
#define ARCA_BUILDER_COPY_TAR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

typedef struct copy_tar copy_tar;

/* Writes an uncompressed tar to fd. */
int copy_tar_open(int fd, copy_tar **out, arca_err *err);
/* Finishes the archive (end marker) and frees; returns the first error met. */
int copy_tar_close(copy_tar *t, arca_err *err);
void copy_tar_abort(copy_tar *t);

/* A directory entry. */
int copy_tar_dir(copy_tar *t, const char *name, mode_t perm, int64_t uid, int64_t gid,
                 int64_t mtime, arca_err *err);
/* One node of this host (not followed when a symlink) as name. uid < 0 keeps its owner. */
int copy_tar_node(copy_tar *t, const char *name, const char *host_path, int64_t uid, int64_t gid,
                  arca_err *err);
/* What is below host_dir (not host_dir itself), depth first in name order, as name/... */
int copy_tar_tree(copy_tar *t, const char *name, const char *host_dir, int64_t uid, int64_t gid,
                  arca_err *err);

/* Re-emits the entries of the tar in fd (any compression). rename(ctx, entry name, &new)
 * gives each entry's new name (caller-owned string, NULL to drop the entry); hard link
 * targets go through it too. uid < 0 keeps the owners. hash(ctx, old name, digest hex) is
 * called (may be NULL) with the tarsum of each entry. t NULL: only hashes. */
typedef char *(*copy_tar_rename_fn)(void *ctx, const char *name);
typedef void (*copy_tar_hash_fn)(void *ctx, const char *name, const char *hex);
/* hash_prefix (may be NULL) is put before each entry name in its checksum header, so that
 * entries read out of a directory hash as paths from the image's root. */
int copy_tar_from_tar(copy_tar *t, int fd, copy_tar_rename_fn rename, copy_tar_hash_fn hash,
                      void *ctx, const char *hash_prefix, int64_t uid, int64_t gid, arca_err *err);

/* Whether the file is an archive ADD unpacks (a tar, possibly compressed). */
bool copy_tar_is_archive(const char *host_path);

#endif
