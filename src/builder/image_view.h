/* A read-only view of an image's file system, merged from its layer directories as
 * overlayfs merges them (a whiteout, a character device 0/0, deletes a name; a directory
 * with trusted.overlay.opaque=y hides what the layers below hold under it; a non-directory
 * hides a lower directory), without mounting anything.
 *
 * COPY and ADD look up their destinations in it (does the path exist, is it a directory,
 * where do its symlinks lead, what are its parents' owners and modes), COPY --from reads its
 * sources from it, --chown reads /etc/passwd and /etc/group from it.
 *
 * Paths are absolute paths in the image. Symlinks are followed as Docker's
 * FollowSymlinkInScope follows them: never out of the image's root (an absolute target
 * restarts at the root, ".." stops there). A view is used by one thread; the layer
 * directories must outlive it. */
#ifndef ARCA_BUILDER_IMAGE_VIEW_H
#define ARCA_BUILDER_IMAGE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "common/err.h"

typedef struct image_view image_view;

/* layer_dirs lowest first (as images keep them); n may be 0 (scratch). The strings are
 * copied. */
image_view *image_view_new(const char *const *layer_dirs, size_t n);
void image_view_free(image_view *v);

typedef struct iv_node {
  bool exists;
  char *path;     /* the path in the image after the symlinks followed */
  char *host;     /* that node in the topmost layer holding it (NULL when missing) */
  struct stat st; /* lstat of host */
} iv_node;

/* Resolves path; the final component is followed only when follow is true. Fails only on
 * I/O errors (500) or a symlink loop ("too many links"). */
int image_view_lookup(image_view *v, const char *path, bool follow, iv_node *out, arca_err *err);
void iv_node_clear(iv_node *n);

/* The names in the merged directory dir (already resolved), sorted bytewise. */
int image_view_readdir(image_view *v, const char *dir, char ***names, size_t *n, arca_err *err);

/* A whole (small) file, following symlinks: 404 "open <path>: no such file or directory". */
int image_view_read(image_view *v, const char *path, size_t max, char **out, arca_err *err);

#endif
