#include "builder/copy_tar.h"

#include "common/lazy_archive.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/build_context.h"
#include "common/cleanup.h"
#include "common/util.h"

#define BUF_SIZE (128 * 1024)
#define CAP_XATTR "security.capability"

typedef struct inode_name {
  dev_t dev;
  ino_t ino;
  char *name;
} inode_name;

struct copy_tar {
  struct archive *a;
  int fd;
  int failed_errno;
  bool failed;
  void *inodes;
  char *buf;
};

static la_ssize_t out_write(struct archive *a, void *opaque, const void *buf, size_t n) {
  (void)a;
  copy_tar *t = opaque;
  if (!t->failed && write_all(t->fd, buf, n) < 0) {
    t->failed_errno = errno;
    t->failed = true;
  }
  return (la_ssize_t)n;
}

int copy_tar_open(int fd, copy_tar **out, arca_err *err) {
  copy_tar *t = xcalloc(1, sizeof *t);
  t->fd = fd;
  t->buf = xmalloc(BUF_SIZE);
  t->a = archive_write_new();
  if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(t->a, 512) != ARCHIVE_OK ||
      archive_write_open(t->a, t, NULL, out_write, NULL) != ARCHIVE_OK) {
    err_set(err, 500, "tar: %s", archive_error_string(t->a) ?: "open failed");
    copy_tar_abort(t);
    return -1;
  }
  *out = t;
  return 0;
}

static void free_inode(void *p) {
  inode_name *in = p;
  free(in->name);
  free(in);
}

void copy_tar_abort(copy_tar *t) {
  if (!t) return;
  archive_write_free(t->a);
  tdestroy(t->inodes, free_inode);
  free(t->buf);
  free(t);
}

int copy_tar_close(copy_tar *t, arca_err *err) {
  int rc = 0;
  if (archive_write_close(t->a) != ARCHIVE_OK)
    rc = err_set(err, 500, "tar: %s", archive_error_string(t->a) ?: "close failed");
  if (rc == 0 && t->failed) rc = err_errno(err, 500, t->failed_errno, "write tar");
  copy_tar_abort(t);
  return rc;
}

static int tar_fail(copy_tar *t, const char *what, arca_err *err) {
  if (t->failed) return err_errno(err, 500, t->failed_errno, "write tar");
  return err_set(err, 500, "tar %s: %s", what, archive_error_string(t->a) ?: "write failed");
}

int copy_tar_dir(copy_tar *t, const char *name, mode_t perm, int64_t uid, int64_t gid,
                 int64_t mtime, arca_err *err) {
  struct archive_entry *e = archive_entry_new();
  autofree char *p = str_has_suffix(name, "/") ? xstrdup(name) : xasprintf("%s/", name);
  archive_entry_set_pathname(e, p);
  archive_entry_set_mode(e, AE_IFDIR | (perm & 07777));
  archive_entry_set_uid(e, uid);
  archive_entry_set_gid(e, gid);
  archive_entry_set_mtime(e, mtime, 0);
  int r = archive_write_header(t->a, e);
  archive_entry_free(e);
  if (r < ARCHIVE_WARN) return tar_fail(t, name, err);
  return 0;
}

static int compare_inode(const void *a, const void *b) {
  const inode_name *x = a, *y = b;
  if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
  return 0;
}

static const char *first_link(copy_tar *t, const struct stat *st, const char *name) {
  inode_name key = {.dev = st->st_dev, .ino = st->st_ino};
  inode_name **found = tfind(&key, &t->inodes, compare_inode);
  if (found) return (*found)->name;
  inode_name *in = xmalloc(sizeof *in);
  *in = (inode_name){.dev = st->st_dev, .ino = st->st_ino, .name = xstrdup(name)};
  if (!tsearch(in, &t->inodes, compare_inode)) free_inode(in);
  return NULL;
}

int copy_tar_node(copy_tar *t, const char *name, const char *host_path, int64_t uid, int64_t gid,
                  arca_err *err) {
  struct stat st;
  if (lstat(host_path, &st) < 0) return err_errno(err, 500, errno, "lstat %s", host_path);
  if (S_ISSOCK(st.st_mode)) return 0; /* Docker's archiver skips sockets */
  autofree char *p =
      S_ISDIR(st.st_mode) && !str_has_suffix(name, "/") ? xasprintf("%s/", name) : xstrdup(name);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, p);
  archive_entry_set_mode(e, st.st_mode);
  archive_entry_set_uid(e, uid >= 0 ? uid : (int64_t)st.st_uid);
  archive_entry_set_gid(e, gid >= 0 ? gid : (int64_t)st.st_gid);
  archive_entry_set_mtime(e, st.st_mtim.tv_sec, 0);
  bool data = false;
  if (S_ISREG(st.st_mode)) {
    const char *first = st.st_nlink > 1 ? first_link(t, &st, p) : NULL;
    if (first) {
      archive_entry_set_hardlink(e, first);
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_size(e, st.st_size);
      data = st.st_size > 0;
    }
  } else if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(host_path, target, sizeof target - 1);
    if (n < 0) {
      archive_entry_free(e);
      return err_errno(err, 500, errno, "readlink %s", host_path);
    }
    target[n] = 0;
    archive_entry_set_symlink(e, target);
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    archive_entry_set_rdevmajor(e, major(st.st_rdev));
    archive_entry_set_rdevminor(e, minor(st.st_rdev));
  }
  if (!S_ISLNK(st.st_mode) && !archive_entry_hardlink(e)) {
    char cap[256];
    ssize_t n = lgetxattr(host_path, CAP_XATTR, cap, sizeof cap);
    if (n > 0) archive_entry_xattr_add_entry(e, CAP_XATTR, cap, (size_t)n);
  }
  int r = archive_write_header(t->a, e);
  archive_entry_free(e);
  if (r < ARCHIVE_WARN) return tar_fail(t, name, err);
  if (!data) return 0;
  autoclose int fd = open(host_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err_errno(err, 500, errno, "open %s", host_path);
  int64_t left = st.st_size;
  while (left > 0) {
    ssize_t n = read(fd, t->buf, BUF_SIZE);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return err_errno(err, 500, errno, "read %s", host_path);
    if (n == 0) break;
    size_t w = (uint64_t)n < (uint64_t)left ? (size_t)n : (size_t)left;
    if (archive_write_data(t->a, t->buf, w) < 0) return tar_fail(t, name, err);
    left -= (int64_t)w;
  }
  return 0;
}

int copy_tar_tree(copy_tar *t, const char *name, const char *host_dir, int64_t uid, int64_t gid,
                  arca_err *err) {
  struct dirent **list = NULL;
  int n = scandir(host_dir, &list, NULL, alphasort);
  if (n < 0) return err_errno(err, 500, errno, "read directory %s", host_dir);
  int rc = 0;
  for (int i = 0; i < n; i++) {
    const char *nm = list[i]->d_name;
    if (rc == 0 && strcmp(nm, ".") && strcmp(nm, "..")) {
      autofree char *child = *name ? xasprintf("%s/%s", name, nm) : xstrdup(nm);
      autofree char *host = xasprintf("%s/%s", host_dir, nm);
      rc = copy_tar_node(t, child, host, uid, gid, err);
      struct stat st;
      if (rc == 0 && lstat(host, &st) == 0 && S_ISDIR(st.st_mode))
        rc = copy_tar_tree(t, child, host, uid, gid, err);
    }
    free(list[i]);
  }
  free(list);
  return rc;
}

static void archive_read_freep(struct archive **a) {
  if (*a) archive_read_free(*a);
}

int copy_tar_from_tar(copy_tar *t, int fd, copy_tar_rename_fn rename, copy_tar_hash_fn hash,
                      void *ctx, const char *hash_prefix, int64_t uid, int64_t gid, arca_err *err) {
  __attribute__((cleanup(archive_read_freep))) struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_empty(a);
  if (archive_read_open_fd(a, fd, BUF_SIZE) != ARCHIVE_OK)
    return err_set(err, 500, "read tar: %s", archive_error_string(a) ?: "open failed");
  struct archive_entry *e;
  int r;
  autofree char *own_buf = t ? NULL : xmalloc(BUF_SIZE);
  char *buf = t ? t->buf : own_buf;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    const char *name = archive_entry_pathname(e);
    digest_ctx d;
    if (hash) {
      digest_init(&d);
      autofree char *hname = xasprintf("%s%s", hash_prefix ? hash_prefix : "", name ? name : "");
      build_tarsum_header(&d, hname, e);
    }
    autofree char *newname = name && t ? rename(ctx, name) : NULL;
    if (newname) {
      struct archive_entry *o = archive_entry_clone(e);
      archive_entry_set_pathname(o, newname);
      if (archive_entry_hardlink(e)) {
        autofree char *target = rename(ctx, archive_entry_hardlink(e));
        if (target)
          archive_entry_set_hardlink(o, target);
        else
          archive_entry_set_hardlink(o, NULL);
      }
      if (uid >= 0) archive_entry_set_uid(o, uid);
      if (gid >= 0) archive_entry_set_gid(o, gid);
      archive_entry_set_uname(o, NULL);
      archive_entry_set_gname(o, NULL);
      int w = archive_write_header(t->a, o);
      archive_entry_free(o);
      if (w < ARCHIVE_WARN) {
        if (hash) digest_free(&d);
        return tar_fail(t, newname, err);
      }
    }
    ssize_t n;
    while ((n = archive_read_data(a, buf, BUF_SIZE)) > 0) {
      if (hash) digest_update(&d, buf, (size_t)n);
      if (newname && archive_write_data(t->a, buf, (size_t)n) < 0) {
        if (hash) digest_free(&d);
        return tar_fail(t, newname, err);
      }
    }
    if (n < 0) {
      if (hash) digest_free(&d);
      return err_set(err, 500, "read tar: %s", archive_error_string(a) ?: "read failed");
    }
    if (hash) {
      char dig[DIGEST_STR_SIZE];
      digest_final(&d, dig);
      hash(ctx, name ? name : "", dig + 7);
    }
  }
  if (r != ARCHIVE_EOF)
    return err_set(err, 500, "read tar: %s", archive_error_string(a) ?: "read failed");
  return 0;
}

bool copy_tar_is_archive(const char *host_path) {
  autoclose int fd = open(host_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  __attribute__((cleanup(archive_read_freep))) struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) return false;
  struct archive_entry *e;
  return archive_read_next_header(a, &e) == ARCHIVE_OK;
}
