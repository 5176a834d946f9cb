/* Paths inside a container's root, resolved by the kernel with RESOLVE_IN_ROOT so that an
 * absolute symlink or ".." planted in the image never reaches the host. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"

int lx_inroot_open(int root_fd, const char *path, int flags) {
  while (*path == '/') path++;
  if (!*path) path = ".";
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT};
  for (;;) {
    long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how);
    if (fd >= 0) return (int)fd;
    if (errno != EAGAIN && errno != EINTR) return -errno;
  }
}

int lx_inroot_read(int root_fd, const char *path, size_t max, char **out) {
  *out = NULL;
  autoclose int fd = lx_inroot_open(root_fd, path, O_RDONLY);
  if (fd < 0) return fd;
  strbuf sb;
  sb_init(&sb);
  char buf[8192];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      sb_free(&sb);
      return -e;
    }
    if (r == 0) break;
    if (sb.len + (size_t)r > max) {
      sb_free(&sb);
      return -EFBIG;
    }
    sb_append(&sb, buf, (size_t)r);
  }
  *out = sb_steal(&sb);
  return 0;
}

int lx_inroot_mkdir_p(int root_fd, const char *path, mode_t mode, arca_err *err) {
  autofree char *prefix = xstrdup(path);
  size_t len = strlen(prefix);
  /* Walk each prefix ending at a '/' (and the whole path), creating what is missing. */
  for (size_t i = 1; i <= len; i++) {
    if (i < len && prefix[i] != '/') continue;
    char saved = prefix[i];
    prefix[i] = '\0';
    int fd = lx_inroot_open(root_fd, prefix, O_PATH | O_DIRECTORY);
    if (fd >= 0) {
      close(fd);
    } else if (fd == -ENOTDIR) {
      return err_set(err, 500, "Cannot mkdir: %s is not a directory", path);
    } else if (fd == -ENOENT) {
      char *slash = strrchr(prefix, '/');
      const char *name = slash ? slash + 1 : prefix;
      autofree char *parent = slash ? xstrndup(prefix, (size_t)(slash - prefix)) : xstrdup("/");
      autoclose int parent_fd = lx_inroot_open(root_fd, parent, O_PATH | O_DIRECTORY);
      if (parent_fd < 0) return err_errno(err, 500, -parent_fd, "mkdir %s", path);
      if (*name && mkdirat(parent_fd, name, mode) < 0 && errno != EEXIST)
        return err_errno(err, 500, errno, "mkdir %s", path);
      fd = lx_inroot_open(root_fd, prefix, O_PATH | O_DIRECTORY);
      if (fd < 0)
        return fd == -ENOTDIR ? err_set(err, 500, "Cannot mkdir: %s is not a directory", path)
                              : err_errno(err, 500, -fd, "mkdir %s", path);
      close(fd);
    } else {
      return err_errno(err, 500, -fd, "mkdir %s", path);
    }
    prefix[i] = saved;
  }
  return 0;
}

/* Go's syscall.Errno texts, which Docker's messages (and its exit code rules) carry. */
static const char *go_errno_text(int e) {
  switch (e) {
    case ENOENT: return "no such file or directory";
    case ENOTDIR: return "not a directory";
    case EACCES: return "permission denied";
    case ELOOP: return "too many levels of symbolic links";
    case ENAMETOOLONG: return "file name too long";
    default: return NULL;
  }
}

/* findExecutable: stat (following symlinks inside the root), not a directory, an x bit. */
static int find_executable(int root_fd, const char *path) {
  autoclose int fd = lx_inroot_open(root_fd, path, O_PATH);
  if (fd < 0) return fd;
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  if (!S_ISDIR(st.st_mode) && (st.st_mode & 0111)) return 0;
  return -EACCES;
}

int lx_inroot_lookpath(int root_fd, const char *name, const char *path_env, const char *cwd,
                       char *msg, size_t n, char **found) {
  const char *base = cwd && *cwd ? cwd : "/";
  if (found) *found = NULL;
  if (strchr(name, '/')) {
    autofree char *full = name[0] == '/' ? xstrdup(name) : xasprintf("%s/%s", base, name);
    int rc = find_executable(root_fd, full);
    if (rc == 0) {
      if (found) *found = steal_ptr(full);
      return 0;
    }
    if (rc == -EACCES) {
      snprintf(msg, n, "exec: \"%s\": permission denied", name);
      return 126;
    }
    const char *text = go_errno_text(-rc);
    char lower[128];
    if (!text) {
      snprintf(lower, sizeof lower, "%s", strerror(-rc));
      if (lower[0] >= 'A' && lower[0] <= 'Z') lower[0] = (char)(lower[0] - 'A' + 'a');
      text = lower;
    }
    snprintf(msg, n, "exec: \"%s\": stat %s: %s", name, name, text);
    return 127;
  }
  /* filepath.SplitList("") is empty: no PATH, nothing found. */
  autofree char *dirs = xstrdup(path_env ? path_env : "");
  for (char *dir = dirs; *dirs;) {
    char *colon = strchr(dir, ':');
    if (colon) *colon = '\0';
    const char *d = *dir ? dir : ".";
    autofree char *full =
        d[0] == '/' ? xasprintf("%s/%s", d, name) : xasprintf("%s/%s/%s", base, d, name);
    if (find_executable(root_fd, full) == 0) {
      if (found) *found = steal_ptr(full);
      return 0;
    }
    if (!colon) break;
    dir = colon + 1;
  }
  snprintf(msg, n, "exec: \"%s\": executable file not found in $PATH", name);
  return 127;
}
