/* docker cp out (stat, tar), export, commit and disk sizes of a Linux container.
 *
 * lx_path_stat: Docker's ContainerPathStat (X-Docker-Container-Path-Stat) of a path in the
 *   container: the path is cleaned as Docker does (joined to "/", a trailing "/" or "/." kept),
 *   the final symlink is not followed unless the path ends in "/" (lstat semantics); name is
 *   filepath.Base of the cleaned path, mode Go's os.FileMode bits, linkTarget for a symlink
 *   the fully resolved container path (FollowSymlinkInScope: a missing tail stays as
 *   written). Missing: 404 "Could not find the file <path>" (the caller adds " in container
 *   <id>"); other failures 500 "lstat <path>: <reason>".
 * lx_archive_get: the same stat, then a tar as Docker's TarResourceRebase writes it: a file
 *   (or a symlink not followed) is one entry named by its base name; a directory gives its
 *   own entry "<base>/" and then "<base>/<rel>" for everything below, in name order, with
 *   "." as base for "dir/." and "" for "/" (entries "/", "/bin/"...). Mounts below the
 *   directory are crossed, so volumes are in the tar as in Docker. Ownership and modes as on
 *   disk, mtimes in seconds, security.capability kept, hard links within the tar as links,
 *   sockets skipped. st is filled before the first byte is written.
 * lx_export: the rootfs alone (Docker's export leaves volumes out): layer_tar_dir.
 * lx_commit_layer: layer_diff_dir of the upper dir, gzip; size is the tar's size and csize
 *   the gzip stream's.
 * lx_sizes: SizeRw is the upper dir and SizeRootFs the merged root, each as Docker's
 *   directory.Size counts: the sizes of everything but directories, hard links once. */
#include "runtime/linux/lx_files.h"

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

#include "common/cleanup.h"
#include "common/tar_write.h"
#include "common/util.h"
#include "image/layer.h"
#include "runtime/linux/lx_fsview.h"

#define COPY_BUF_SIZE (128 * 1024)
#define CAPABILITY_XATTR "security.capability"

/* Go's os.FileMode bits */
enum {
  GO_MODE_DIR = 1u << 31,
  GO_MODE_SYMLINK = 1u << 27,
  GO_MODE_DEVICE = 1u << 26,
  GO_MODE_NAMED_PIPE = 1u << 25,
  GO_MODE_SOCKET = 1u << 24,
  GO_MODE_SETUID = 1u << 23,
  GO_MODE_SETGID = 1u << 22,
  GO_MODE_CHAR_DEVICE = 1u << 21,
  GO_MODE_STICKY = 1u << 20,
};

static uint32_t go_file_mode(mode_t m) {
  uint32_t r = m & 0777;
  switch (m & S_IFMT) {
  case S_IFDIR: r |= GO_MODE_DIR; break;
  case S_IFLNK: r |= GO_MODE_SYMLINK; break;
  case S_IFBLK: r |= GO_MODE_DEVICE; break;
  case S_IFCHR: r |= GO_MODE_DEVICE | GO_MODE_CHAR_DEVICE; break;
  case S_IFIFO: r |= GO_MODE_NAMED_PIPE; break;
  case S_IFSOCK: r |= GO_MODE_SOCKET; break;
  default: break;
  }
  if (m & S_ISUID) r |= GO_MODE_SETUID;
  if (m & S_ISGID) r |= GO_MODE_SETGID;
  if (m & S_ISVTX) r |= GO_MODE_STICKY;
  return r;
}

/* Go's filepath.Base */
static void go_base(const char *p, char *out, size_t cap) {
  size_t n = strlen(p);
  while (n > 0 && p[n - 1] == '/') n--;
  if (n == 0) {
    snprintf(out, cap, "%s", *p ? "/" : ".");
    return;
  }
  size_t start = n;
  while (start > 0 && p[start - 1] != '/') start--;
  snprintf(out, cap, "%.*s", (int)(n - start), p + start);
}

/* Resolves a user path as Docker's Stat does and fills st. On success *node holds the node
 * (the final symlink not followed unless the path ends in "/"). */
static int stat_user_path(fsview *v, const char *path, const char *abs, fsv_node *node,
                          rt_path_stat *st, arca_err *err) {
  memset(st, 0, sizeof *st);
  int rc = fsview_resolve(v, NULL, abs, 0, node);
  if (rc == -ENOENT || (rc == 0 && !node->exists)) {
    if (rc == 0) fsv_node_free(node);
    return err_set(err, 404, "Could not find the file %s", path);
  }
  if (rc < 0) return fsv_err(err, 500, -rc, "lstat", abs);
  go_base(abs, st->name, sizeof st->name);
  st->size = node->st.st_size;
  st->mode = go_file_mode(node->st.st_mode);
  st->mtime_ns = (int64_t)node->st.st_mtim.tv_sec * 1000000000 + node->st.st_mtim.tv_nsec;
  if (S_ISLNK(node->st.st_mode)) {
    fsv_node target;
    rc = fsview_resolve(v, NULL, abs, FSV_FOLLOW | FSV_LENIENT, &target);
    if (rc == -ELOOP) {
      fsv_node_free(node);
      return err_set(err, 500, "evalSymlinksInScope: too many links in %s", abs);
    }
    if (rc < 0) {
      fsv_node_free(node);
      return fsv_err(err, 500, -rc, "lstat", abs);
    }
    snprintf(st->link_target, sizeof st->link_target, "%s", target.path);
    fsv_node_free(&target);
  }
  return 0;
}

int lx_path_stat(const char *rootfs, const lx_extra_mount *m, size_t nm, const char *path,
                 rt_path_stat *st, arca_err *err) {
  fsview v;
  if (fsview_open(&v, rootfs, m, nm, err) < 0) {
    fsview_close(&v);
    return -1;
  }
  autofree char *abs = fsv_clean_user_path(path);
  fsv_node node;
  int rc = stat_user_path(&v, path, abs, &node, st, err);
  if (rc == 0) fsv_node_free(&node);
  fsview_close(&v);
  return rc;
}

/* ---- tar out ------------------------------------------------------------------------ */

static void archive_write_freep(struct archive **a) {
  if (*a) archive_write_free(*a);
}
static void archive_entry_freep(struct archive_entry **e) {
  if (*e) archive_entry_free(*e);
}
static void closedirp(DIR **d) {
  if (*d) closedir(*d);
}
#define autoarchive_write __attribute__((cleanup(archive_write_freep)))
#define autoarchive_entry __attribute__((cleanup(archive_entry_freep)))
#define autoclosedir __attribute__((cleanup(closedirp)))

typedef struct inode_name {
  dev_t dev;
  ino_t ino;
  char *name;
} inode_name;

typedef struct tar_out {
  fsview *v;
  struct archive *a;
  int fd;
  /* a failed write is remembered and later output dropped, so that libarchive's fatal state
   * (whose buffers archive_write_free leaks, libarchive 3.6) is never entered */
  bool discard;
  int failed_errno;
  void *inodes; /* tsearch tree of inode_name: hard links */
  char *buf;
} tar_out;

static la_ssize_t out_write(struct archive *a, void *opaque, const void *buf, size_t n) {
  (void)a;
  tar_out *t = opaque;
  if (!t->discard && write_all(t->fd, buf, n) < 0) {
    t->failed_errno = errno;
    t->discard = true;
  }
  return (la_ssize_t)n;
}

static int compare_inode(const void *a, const void *b) {
  const inode_name *x = a, *y = b;
  if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
  return 0;
}

static void free_inode(void *p) {
  inode_name *in = p;
  free(in->name);
  free(in);
}

static const char *first_link_name(tar_out *t, const struct stat *st, const char *name) {
  inode_name key = {.dev = st->st_dev, .ino = st->st_ino};
  inode_name **found = tfind(&key, &t->inodes, compare_inode);
  if (found) return (*found)->name;
  inode_name *in = xmalloc(sizeof *in);
  *in = (inode_name){.dev = st->st_dev, .ino = st->st_ino, .name = xstrdup(name)};
  if (!tsearch(in, &t->inodes, compare_inode)) free_inode(in);
  return NULL;
}

/* A node is `name` in dirfd, or dirfd itself when name is "". */
static char *proc_path(int dirfd, const char *name) {
  return *name ? xasprintf("/proc/self/fd/%d/%s", dirfd, name)
               : xasprintf("/proc/self/fd/%d", dirfd);
}

static int tar_error(tar_out *t, const char *what, arca_err *err) {
  const char *why = archive_error_string(t->a);
  return err_set(err, 500, "tar %s: %s", what, why ? why : "write failed");
}

static int copy_content(tar_out *t, int dirfd, const char *name, const char *cpath, int64_t size,
                        arca_err *err) {
  int fd;
  if (*name) {
    fd = fsv_openat(dirfd, name, O_RDONLY, 0);
  } else {
    autofree char *p = proc_path(dirfd, "");
    fd = open(p, O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return err_errno(err, 500, errno, "open %s", cpath);
  autoclose int file = fd;
  return tar_write_content(t->a, file, size, t->buf, COPY_BUF_SIZE, cpath, err);
}

/* One entry named aname (a directory gets its trailing slash here). */
static int write_entry_inner(tar_out *t, int dirfd, const char *name, const struct stat *st,
                       const char *aname, const char *cpath, arca_err *err) {
  autofree char *path = S_ISDIR(st->st_mode) && !str_has_suffix(aname, "/")
                            ? xasprintf("%s/", aname)
                            : xstrdup(aname);
  const char *first = S_ISREG(st->st_mode) && st->st_nlink > 1 ? first_link_name(t, st, path) : NULL;
  bool has_data;
  autoarchive_entry struct archive_entry *e = tar_entry_from_stat(dirfd, name, st, path, first, cpath, &has_data, err);
  if (!e) return -1;
  if (!archive_entry_hardlink(e) && !S_ISLNK(st->st_mode)) {
    /* Docker's tar carries security.capability and no other xattr. */
    autofree char *proc = proc_path(dirfd, name);
    char cap[256];
    /* A bare /proc/self/fd/N must be followed to reach the node behind it. */
    ssize_t n = *name ? lgetxattr(proc, CAPABILITY_XATTR, cap, sizeof cap)
                      : getxattr(proc, CAPABILITY_XATTR, cap, sizeof cap);
    if (n > 0) archive_entry_xattr_add_entry(e, CAPABILITY_XATTR, cap, (size_t)n);
  }
  if (archive_write_header(t->a, e) < ARCHIVE_WARN) return tar_error(t, cpath, err);
  if (has_data) return copy_content(t, dirfd, name, cpath, st->st_size, err);
  return 0;
}

/* Stops the walk once the reader has gone. */
static int write_entry(tar_out *t, int dirfd, const char *name, const struct stat *st,
                       const char *aname, const char *cpath, arca_err *err) {
  if (t->discard) return err_errno(err, 500, t->failed_errno, "write tar");
  return write_entry_inner(t, dirfd, name, st, aname, cpath, err);
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct name_list {
  char **names;
  size_t n, cap;
} name_list;

static void names_add(name_list *l, const char *name) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 32;
    l->names = xrealloc(l->names, l->cap * sizeof *l->names);
  }
  l->names[l->n++] = xstrdup(name);
}

static void names_free(name_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->names[i]);
  free(l->names);
}

/* The names in a directory at container path cpath, with the mounts whose destination is
 * directly below it, sorted as Go's ReadDir. */
static int list_dir(tar_out *t, int dirfd, const char *cpath, name_list *out, arca_err *err) {
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return err_errno(err, 500, errno, "open %s", cpath);
  autoclosedir DIR *dir = fdopendir(fd);
  if (!dir) {
    int e = errno;
    close(fd);
    return err_errno(err, 500, e, "read directory %s", cpath);
  }
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(dir);
    if (!de) {
      if (errno) return err_errno(err, 500, errno, "read directory %s", cpath);
      break;
    }
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    names_add(out, de->d_name);
  }
  size_t plen = strcmp(cpath, "/") == 0 ? 0 : strlen(cpath);
  for (size_t i = 0; i < t->v->active; i++) {
    const char *dest = t->v->mounts[i].dest;
    if (strncmp(dest, cpath, plen) != 0 || dest[plen] != '/' || strchr(dest + plen + 1, '/'))
      continue;
    bool seen = false;
    for (size_t j = 0; j < out->n && !seen; j++) seen = strcmp(out->names[j], dest + plen + 1) == 0;
    if (!seen) names_add(out, dest + plen + 1);
  }
  if (out->n) qsort(out->names, out->n, sizeof *out->names, compare_names);
  return 0;
}

static int tar_tree(tar_out *t, int dirfd, const char *cpath, const char *aprefix, arca_err *err);

/* dirfd: O_PATH of the directory at cpath; aprefix: the archive name of that directory. */
static int tar_children(tar_out *t, int dirfd, const char *cpath, const char *aprefix,
                        arca_err *err) {
  name_list names = {0};
  int rc = list_dir(t, dirfd, cpath, &names, err);
  size_t plen = strcmp(cpath, "/") == 0 ? 0 : strlen(cpath);
  for (size_t i = 0; rc == 0 && i < names.n; i++) {
    const char *name = names.names[i];
    autofree char *child = xasprintf("%.*s/%s", (int)plen, cpath, name);
    autofree char *aname = xasprintf("%s/%s", aprefix, name);
    int mi = fsview_mount_at(t->v, child);
    struct stat st;
    if (mi >= 0) {
      autoclose int mfd = fsview_open_mount(t->v, mi);
      if (mfd < 0 || fstat(mfd, &st) < 0) {
        rc = err_errno(err, 500, errno, "open mount %s", child);
        break;
      }
      if (S_ISDIR(st.st_mode)) {
        rc = write_entry(t, mfd, "", &st, aname, child, err);
        if (rc == 0) rc = tar_children(t, mfd, child, aname, err);
      } else if (!S_ISSOCK(st.st_mode)) {
        rc = write_entry(t, mfd, "", &st, aname, child, err);
      }
      continue;
    }
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue; /* removed while we walk: Docker skips it too */
      rc = err_errno(err, 500, errno, "lstat %s", child);
      break;
    }
    if (S_ISSOCK(st.st_mode)) continue;
    rc = write_entry(t, dirfd, name, &st, aname, child, err);
    if (rc == 0 && S_ISDIR(st.st_mode)) {
      int sub = fsv_openat(dirfd, name, O_PATH | O_DIRECTORY, 0);
      if (sub < 0) {
        if (errno == ENOENT) continue;
        rc = err_errno(err, 500, errno, "open %s", child);
        break;
      }
      rc = tar_tree(t, sub, child, aname, err);
    }
  }
  names_free(&names);
  return rc;
}

static int tar_tree(tar_out *t, int dirfd, const char *cpath, const char *aprefix, arca_err *err) {
  int rc = tar_children(t, dirfd, cpath, aprefix, err);
  close(dirfd);
  return rc;
}

static int open_tar(tar_out *t, struct archive *a, int fd, arca_err *err) {
  t->a = a;
  t->fd = fd;
  if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
      archive_write_open(a, t, NULL, out_write, NULL) != ARCHIVE_OK)
    return err_set(err, 500, "tar writer: %s", archive_error_string(a));
  return 0;
}

static int archive_node(fsview *v, const fsv_node *node, const char *abs, int fd, arca_err *err) {
  autoarchive_write struct archive *a = archive_write_new();
  tar_out t = {.v = v, .buf = xmalloc(COPY_BUF_SIZE)};
  int rc = open_tar(&t, a, fd, err);
  char base[NAME_MAX + 2];
  go_base(abs, base, sizeof base);
  if (rc == 0 && !S_ISDIR(node->st.st_mode)) {
    if (!S_ISSOCK(node->st.st_mode))
      rc = write_entry(&t, node->dirfd, node->name, &node->st, base, node->path, err);
  } else if (rc == 0) {
    /* Docker rebases "." onto the base name; the root's base "/" becomes "". */
    const char *prefix = strcmp(base, "/") == 0 ? "" : base;
    autofree char *root_name = xasprintf("%s/", prefix);
    rc = write_entry(&t, node->dirfd, node->name, &node->st, root_name, node->path, err);
    int dfd = rc == 0 ? fsv_node_open(node, O_PATH | O_DIRECTORY) : -1;
    if (rc == 0 && dfd < 0) rc = err_errno(err, 500, errno, "open %s", node->path);
    if (rc == 0) rc = tar_tree(&t, dfd, node->path, prefix, err);
  }
  if (rc == 0 && archive_write_close(a) != ARCHIVE_OK) rc = tar_error(&t, abs, err);
  if (rc == 0 && t.discard) rc = err_errno(err, 500, t.failed_errno, "write tar of %s", abs);
  if (rc < 0) {
    t.discard = true; /* no end marker after a failure */
    archive_write_close(a);
  }
  tdestroy(t.inodes, free_inode);
  free(t.buf);
  return rc;
}

int lx_archive_get(const char *rootfs, const lx_extra_mount *m, size_t nm, const char *path, int fd,
                   rt_path_stat *st, arca_err *err) {
  fsview v;
  if (fsview_open(&v, rootfs, m, nm, err) < 0) {
    fsview_close(&v);
    return -1;
  }
  autofree char *abs = fsv_clean_user_path(path);
  fsv_node node;
  int rc = stat_user_path(&v, path, abs, &node, st, err);
  if (rc == 0) {
    rc = archive_node(&v, &node, abs, fd, err);
    fsv_node_free(&node);
  }
  fsview_close(&v);
  return rc;
}

/* ---- export, commit ---------------------------------------------------------------- */

int lx_export(const char *rootfs, const lx_extra_mount *m, size_t nm, int fd, arca_err *err) {
  (void)m; /* Docker exports the container's own filesystem: volumes stay out */
  (void)nm;
  layer_diff_result res;
  if (layer_tar_dir(rootfs, fd, &res, err) < 0) return err_wrap(err, "export");
  return 0;
}

int lx_commit_layer(const char *upper_dir, int fd, char diff_id[72], char digest[72], int64_t *size,
                    int64_t *csize, arca_err *err) {
  layer_diff_result res;
  if (layer_diff_dir(upper_dir, fd, true, &res, err) < 0) return err_wrap(err, "commit");
  memcpy(diff_id, res.diff_id, DIGEST_STR_SIZE);
  memcpy(digest, res.digest, DIGEST_STR_SIZE);
  *size = (int64_t)res.uncompressed_size;
  *csize = (int64_t)res.compressed_size;
  return 0;
}

/* ---- sizes ------------------------------------------------------------------------- */

typedef struct size_walk {
  void *seen; /* inode_name tree of files with several links */
  int64_t total;
} size_walk;

static int size_dir(size_walk *s, int fd, const char *where, arca_err *err) {
  autoclosedir DIR *dir = fdopendir(fd);
  if (!dir) {
    int e = errno;
    close(fd);
    return err_errno(err, 500, e, "read directory %s", where);
  }
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(dir);
    if (!de) return errno ? err_errno(err, 500, errno, "read directory %s", where) : 0;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue;
      return err_errno(err, 500, errno, "stat %s/%s", where, de->d_name);
    }
    if (S_ISDIR(st.st_mode)) {
      int sub = fsv_openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY, 0);
      if (sub < 0) {
        if (errno == ENOENT) continue;
        return err_errno(err, 500, errno, "open %s/%s", where, de->d_name);
      }
      autofree char *child = xasprintf("%s/%s", where, de->d_name);
      if (size_dir(s, sub, child, err) < 0) return -1;
      continue;
    }
    if (st.st_size == 0) continue;
    if (st.st_nlink > 1) {
      inode_name key = {.dev = st.st_dev, .ino = st.st_ino};
      if (tfind(&key, &s->seen, compare_inode)) continue;
      inode_name *in = xmalloc(sizeof *in);
      *in = (inode_name){.dev = st.st_dev, .ino = st.st_ino, .name = NULL};
      if (!tsearch(in, &s->seen, compare_inode)) free(in);
    }
    s->total += st.st_size;
  }
}

static int dir_size(const char *path, int64_t *out, arca_err *err) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return err_errno(err, errno == ENOENT ? 404 : 500, errno, "open %s", path);
  size_walk s = {0};
  int rc = size_dir(&s, fd, path, err);
  tdestroy(s.seen, free_inode);
  *out = rc == 0 ? s.total : 0;
  return rc;
}

int lx_sizes(const char *upper_dir, const char *rootfs, int64_t *size_rw, int64_t *size_root,
             arca_err *err) {
  *size_rw = *size_root = 0;
  if (dir_size(upper_dir, size_rw, err) < 0) return err_wrap(err, "size of the writable layer");
  if (dir_size(rootfs, size_root, err) < 0) return err_wrap(err, "size of the root filesystem");
  return 0;
}
