/* Layer tars in and out of directories: unpack a (compressed) OCI layer into the
 * directory of one overlay lower layer, and write an overlay upper directory (or a whole
 * root) back out as a layer tar, with the digests the image store needs.
 *
 * A layer directory holds only that layer. Lower layers are separate directories that
 * overlayfs stacks at mount time, so a symlink in a layer pointing at an absolute path
 * (/bin/busybox) or up and out (../../lib) is kept as a symlink, but extraction never
 * follows one: an entry whose parent path goes through a symlink is written at the
 * symlink's target only when that target stays inside the layer directory; otherwise the
 * whole unpack fails (400).
 *
 * Whiteouts: on disk, overlay's form (a character device 0/0 for a deleted name, xattr
 * trusted.overlay.opaque=y for an opaque directory); in tars, OCI's form (`.wh.<name>`,
 * `.wh..wh..opq`).
 *
 * Every call works on its own directory and descriptors; calls may run concurrently. The
 * only shared state is a private lock in layer_unpack.c around the libarchive calls that
 * flip the process umask (taken briefly per entry). Parent directories a tar does not list
 * are made 0777 & ~umask, as libarchive does: arcad should run with umask 022. Nothing else
 * may write into a directory while it is being unpacked or walked. */
#ifndef ARCA_IMAGE_LAYER_H
#define ARCA_IMAGE_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "image/digest.h"

typedef struct layer_unpack_result {
  char diff_id[DIGEST_STR_SIZE]; /* "sha256:..." of the uncompressed tar stream */
  uint64_t uncompressed_size;    /* bytes of the uncompressed tar stream */
  uint64_t content_size;         /* sum of regular file sizes written (Docker's layer Size) */
} layer_unpack_result;

/* Reads a layer tar (plain, gzip, zstd, bzip2 or xz, detected from its first bytes) from fd
 * up to EOF and unpacks it into target_dir, an existing empty directory that becomes one
 * overlay lower layer. The diffID is computed in the same pass over the data, including any
 * padding after the tar's end marker. fd stays open and is the caller's.
 *
 * progress_cb (may be NULL) is called with the running total of compressed bytes read
 * from fd, once per read.
 *
 * Ownership (numeric uid/gid), modes with setuid/setgid/sticky, mtimes, xattrs (except
 * trusted.overlay.*, which only whiteout translation may set), hard links within the
 * layer, symlinks, device nodes and fifos are kept. A root entry ("./") is skipped, as
 * Docker does; `.wh..wh.*` AUFS metadata other than the opaque marker is ignored.
 *
 * Refused with 400 naming the entry (and the whole unpack fails): absolute paths, `..`
 * components, parent paths through a symlink that leads out of the layer (absolute
 * targets included), and hard links whose target is absolute, has `..`, or resolves out
 * of the layer. Corrupt, truncated or empty input fails with 500.
 *
 * On failure target_dir holds a partial layer: the caller removes it. Unpacking into a
 * temporary directory and renaming it into place is the caller's job too. */
int layer_unpack_fd(int fd, const char *target_dir,
                    void (*progress_cb)(void *ctx, uint64_t consumed), void *ctx,
                    layer_unpack_result *out, arca_err *err);

typedef struct layer_diff_result {
  char diff_id[DIGEST_STR_SIZE]; /* sha256 of the uncompressed tar */
  char digest[DIGEST_STR_SIZE];  /* sha256 of what was written to out_fd */
  uint64_t uncompressed_size, compressed_size; /* equal when nothing was compressed */
} layer_diff_result;

/* Writes an OCI layer tar of an overlay upper dir to out_fd, gzip-compressed when gzip is
 * true (digest and compressed_size then describe the gzip stream; otherwise they equal
 * diff_id and uncompressed_size).
 *
 * Overlay whiteouts (char dev 0/0) become `.wh.<name>` (mode 0600, owner and mtime of the
 * whiteout); a dir with trusted.overlay.opaque=y is followed by `<dir>/.wh..wh..opq`.
 *
 * Reproducible: the same content gives the same bytes. Entries come in path order (each
 * directory's names sorted bytewise, parents before children); pax format, extended
 * headers only where needed; mtimes in whole seconds; no atime/ctime; uid/gid numeric
 * with empty uname/gname; xattrs in name order, without trusted.overlay.* and
 * security.selinux (a host label); gzip header without timestamp. Regular files with
 * several links become one file plus hard links to its first path. Sockets are skipped
 * (as Docker does); the directory itself gets no entry. */
int layer_diff_dir(const char *upper_dir, int out_fd, bool gzip, layer_diff_result *out,
                   arca_err *err);

/* The same walk as a plain (uncompressed) tar of a whole root directory, for docker export
 * and images made from a root filesystem: no whiteout translation, char devices 0/0 stay
 * char devices. digest equals diff_id. */
int layer_tar_dir(const char *root_dir, int out_fd, layer_diff_result *out, arca_err *err);

#endif
