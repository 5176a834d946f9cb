/* A container's filesystem as the container sees it, from the host, without mounting anything:
 * the rootfs (overlay merged dir) is "/", each extra mount's host source appears at its
 * destination, and symlinks are resolved the way the kernel would resolve them inside the
 * container's root. Used by docker cp (files.c, files_put.c).
 *
 * Resolution is a component walk over O_PATH directory descriptors: each step opens one
 * name with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) (openat
 * with O_NOFOLLOW where openat2 is missing), symlinks are read and expanded by the walker,
 * ".." pops the walker's own stack of descriptors and never goes above the root, an absolute
 * link target restarts at the root. A whole-path openat2(RESOLVE_IN_ROOT) cannot serve here:
 * the extra mounts exist only in the container's mount namespace, not under the rootfs on
 * the host, and callers need the resolved container path (Docker's LinkTarget, the mount a
 * path lands in). Nothing is ever opened by a host path except the rootfs and the mount
 * sources themselves, which the engine chose.
 *
 * Concurrent changes inside the container (symlink swaps, CVE-2018-15664) are out of scope;
 * even then every step stays below a descriptor that is inside the container.
 *
 * Not thread-safe per view; views are cheap, make one per call. */
#ifndef ARCA_RUNTIME_LINUX_LX_FSVIEW_H
#define ARCA_RUNTIME_LINUX_LX_FSVIEW_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "common/err.h"
#include "runtime/linux/lx_files.h"

typedef struct fsv_mount {
  char *dest;   /* destination, resolved through the container's symlinks, "/a/b" */
  char *source; /* host path */
  bool readonly;
} fsv_mount;

typedef struct fsview {
  int root_fd;       /* O_PATH of the rootfs */
  fsv_mount *mounts; /* in the order they are stacked: shallower destinations first */
  size_t nmounts;
  size_t active; /* mounts[0..active) are visible to the walker */
} fsview;

/* A resolved node: the node is `name` in directory `dirfd`, or `dirfd` itself when name is
 * "" (a directory the walk ended in, or a mount's source). */
typedef struct fsv_node {
  int dirfd; /* O_PATH, owned; -1 when the walk stopped at a missing component */
  char name[NAME_MAX + 1];
  char *path;         /* container path of the node, clean and absolute (owned) */
  int mount;          /* index of the mount holding the node (its parent's), -1: rootfs */
  bool is_mountpoint; /* the node is a mount's root */
  bool exists;
  struct stat st; /* lstat of the node when it exists */
} fsv_node;

enum {
  FSV_FOLLOW = 1,  /* follow a final symlink too (a trailing "/" always does) */
  FSV_LENIENT = 2, /* a missing component is not an error: the rest is appended lexically
                    * (Docker's FollowSymlinkInScope, for LinkTarget) */
};

/* Opens the rootfs and resolves the mounts' destinations (each through the container's
 * symlinks and the mounts above it). 500 when the rootfs or a source cannot be opened. */
int fsview_open(fsview *v, const char *rootfs, const lx_extra_mount *m, size_t nm, arca_err *err);
void fsview_close(fsview *v);

/* Resolves path (absolute in the container; relative paths are taken from `base`) below
 * `base` (NULL: the container's root; else a directory node that becomes the root for this
 * walk: ".." and absolute links stop there). Returns 0 or -errno: -ENOENT (an intermediate
 * component is missing; a missing final component gives 0 with exists false), -ENOTDIR,
 * -ELOOP (more than 40 links), or another open/stat failure. */
int fsview_resolve(fsview *v, const fsv_node *base, const char *path, int flags, fsv_node *out);
void fsv_node_free(fsv_node *n);

/* openat2 of one name below dirfd, never through a symlink or a magic link (O_NOFOLLOW and
 * O_CLOEXEC added); openat where openat2 is missing. mode only with O_CREAT. */
int fsv_openat(int dirfd, const char *name, int flags, mode_t mode);
/* Opens the node with flags (O_NOFOLLOW is added for a named node). */
int fsv_node_open(const fsv_node *n, int flags);
/* The mount whose destination is exactly `path` (clean, absolute), or -1. */
int fsview_mount_at(const fsview *v, const char *path);
/* Opens a mount's source (O_PATH). */
int fsview_open_mount(const fsview *v, int mount);

/* Fills err with Go's form of an OS error, "<op> <path>: <reason>" with the reason in lower
 * case ("read-only file system"), and returns -1. */
int fsv_err(arca_err *err, int status, int errno_value, const char *op, const char *path);

/* Docker's path cleaning for a user path: filepath.Join("/", p) with a trailing "/" or "/."
 * of p kept (archive.PreserveTrailingDotOrSeparator). Caller frees. */
char *fsv_clean_user_path(const char *p);
/* filepath.Clean of an absolute path. Caller frees. */
char *fsv_clean_abs(const char *p);

#endif
