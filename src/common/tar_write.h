/* Writing files found on disk into a tar stream (libarchive): the entry a stat gives, and
 * the content that follows it. Shared by layer diffs (image/) and docker cp (runtime/). */
#ifndef ARCA_COMMON_TAR_WRITE_H
#define ARCA_COMMON_TAR_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/lazy_archive.h"

/* A new entry for the node name under dirfd (name "" is dirfd itself) that st describes,
 * named path: mode, owner, mtime in whole seconds (as Docker's tars); a regular file gets
 * its size, or is a hard link to first_link when that is given (the first path of its
 * inode in this stream); a symlink its target; a device its numbers. *has_data says
 * whether content must follow the header. NULL with err (label names the file). */
struct archive_entry *tar_entry_from_stat(int dirfd, const char *name, const struct stat *st, const char *path,
                                          const char *first_link, const char *label, bool *has_data,
                                          arca_err *err);

/* Copies size bytes of fd after an entry's header through buf; a file that shrank since
 * its stat ends early (libarchive pads the entry). */
int tar_write_content(struct archive *a, int fd, int64_t size, char *buf, size_t bufsize, const char *label,
                      arca_err *err);

#endif
