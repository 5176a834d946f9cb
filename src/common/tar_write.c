/* Files found on disk into a tar stream (see tar_write.h). */
#include "common/tar_write.h"

#include <errno.h>
#include <limits.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct archive_entry *tar_entry_from_stat(int dirfd, const char *name, const struct stat *st, const char *path,
                                          const char *first_link, const char *label, bool *has_data,
                                          arca_err *err) {
  *has_data = false;
  char target[PATH_MAX];
  if (S_ISLNK(st->st_mode)) {
    ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
    if (n < 0) {
      err_errno(err, 500, errno, "readlink %s", label);
      return NULL;
    }
    target[n] = '\0';
  }
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_mode(e, st->st_mode);
  archive_entry_set_uid(e, st->st_uid);
  archive_entry_set_gid(e, st->st_gid);
  archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
  if (S_ISREG(st->st_mode)) {
    if (first_link) {
      archive_entry_set_hardlink(e, first_link);
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_size(e, st->st_size);
      *has_data = st->st_size > 0;
    }
  } else if (S_ISLNK(st->st_mode)) {
    archive_entry_set_symlink(e, target);
  } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
    archive_entry_set_rdevmajor(e, major(st->st_rdev));
    archive_entry_set_rdevminor(e, minor(st->st_rdev));
  }
  return e;
}

int tar_write_content(struct archive *a, int fd, int64_t size, char *buf, size_t bufsize, const char *label,
                      arca_err *err) {
  int64_t left = size;
  while (left > 0) {
    ssize_t r = read(fd, buf, bufsize);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return err_errno(err, 500, errno, "read %s", label);
    if (r == 0) break; /* shrank since stat */
    size_t n = (uint64_t)r < (uint64_t)left ? (size_t)r : (size_t)left;
    if (archive_write_data(a, buf, n) < 0) {
      const char *why = archive_error_string(a);
      return err_set(err, 500, "tar %s: %s", label, why ? why : "write failed");
    }
    left -= (int64_t)n;
  }
  return 0;
}
