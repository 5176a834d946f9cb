/* docker cp into a container with Docker's full copyUIDGID rule.
 *
 * lx_archive_put (lx_files.h) gets only a flag, but Docker's copyUIDGID means "owned by the
 * container's Config.User" (moby daemon/archive_tarcopyoptions_unix.go): with User empty
 * (root) the tar's own uid/gid are kept, exactly as without the flag, so lx_archive_put can
 * only do that. A driver that knows Config.User calls this instead when copyUIDGID is set.
 *
 * user: Config.User ("name", "uid", "name:group", "uid:gid", ":gid"); NULL or "" keeps the
 * tar's ownership. Names are looked up in the container's /etc/passwd and /etc/group (read
 * inside the container's root); an unknown name fails with 400 'failed to look up user "x" in
 * container: no matching entries in passwd file' (or group), a uid without a passwd entry
 * gets gid 0, as Docker. Everything else as lx_archive_put. */
#ifndef ARCA_RUNTIME_LINUX_LX_CP_H
#define ARCA_RUNTIME_LINUX_LX_CP_H

#include "runtime/linux/lx_files.h"

int lx_archive_put_as(const char *rootfs, const lx_extra_mount *m, size_t nm, const char *path,
                      int fd, bool no_overwrite_dir_non_dir, const char *user, arca_err *err);

#endif
