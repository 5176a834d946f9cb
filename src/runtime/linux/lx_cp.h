/* docker cp into a container with the parts of Docker's rules that lx_archive_put's
 * signature cannot carry.
 *
 * copyUIDGID in Docker means "owned by the container's Config.User" (moby
 * daemon/archive_tarcopyoptions_unix.go): with User empty (root) the tar's own uid/gid are
 * kept, exactly as without the flag, so lx_archive_put (which has only the flag) does that.
 * HostConfig.ReadonlyRootfs makes Docker refuse a destination outside the writable volumes
 * with 400 "container rootfs is marked read-only". A driver that knows the container's
 * configuration calls lx_archive_put_opts instead. */
#ifndef ARCA_RUNTIME_LINUX_LX_CP_H
#define ARCA_RUNTIME_LINUX_LX_CP_H

#include "runtime/linux/lx_files.h"

typedef struct lx_put_options {
  bool no_overwrite_dir_non_dir;
  /* copyUIDGID: Config.User ("name", "uid", "name:group", "uid:gid", ":gid"); NULL or ""
   * keeps the tar's ownership. Names are looked up in the container's /etc/passwd and
   * /etc/group, read inside its root; an unknown name fails with 400 'failed to look up user
   * "x" in container: no matching entries in passwd file' (or group file); a uid without a
   * passwd entry gets gid 0, as Docker. */
  const char *user;
  /* HostConfig.ReadonlyRootfs: a destination outside the volumes is refused (400, Docker's
   * text) and entries that would land on the rootfs fail with "read-only file system". */
  bool readonly_rootfs;
} lx_put_options;

/* lx_archive_put with the options above (opts NULL: all off). */
int lx_archive_put_opts(const char *rootfs, const lx_extra_mount *m, size_t nm, const char *path,
                        int fd, const lx_put_options *opts, arca_err *err);

#endif
