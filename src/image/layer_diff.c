/* Writing a directory out as a layer tar, reproducibly.
 *
 * The tar writer's output goes through tar_write, which hashes it (the diffID) and either
 * writes it out or hands it to a second libarchive writer (raw format + gzip filter) whose
 * output out_write hashes again (the digest) and writes to the fd: one pass, no temp file.
 *
 * Entries are built field by field rather than copied from struct stat, so that nothing
 * that varies between two identical trees (atime, ctime, inode numbers, user names) reaches
 * the tar. The walk never follows symlinks: directories are opened with O_NOFOLLOW relative
 * to their parent, xattrs are read through /proc/self/fd/<parent>/<name>. */
#include "image/layer.h"

#include "common/lazy_archive.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/tar_write.h"
#include "common/util.h"

#define COPY_BUF_SIZE (128 * 1024)
#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

static void archive_write_freep(struct archive **a) { if (*a) archive_write_free(*a); }
static void archive_entry_freep(struct archive_entry **e) { if (*e) archive_entry_free(*e); }
static void closedirp(DIR **d) { if (*d) closedir(*d); }
#define autoarchive_write __attribute__((cleanup(archive_write_freep)))
#define autoarchive_entry __attribute__((cleanup(archive_entry_freep)))
#define autoclosedir __attribute__((cleanup(closedirp)))

typedef struct diff_sink {
  int out_fd;
  struct archive *gz; /* NULL when the tar goes out uncompressed */
  digest_ctx diff_id, digest;
  uint64_t uncompressed, compressed;
  /* A failed write is remembered here and later data is dropped, instead of putting the
   * archives in libarchive's fatal state: archive_write_free does not release the output
   * buffers of a fatal archive (libarchive 3.6). */
  int failed_errno;
  bool discard;
} diff_sink;

/* First path seen of a regular file with several links. */
typedef struct inode_path {
  dev_t dev;
  ino_t ino;
  char *path;
} inode_path;

typedef struct diff_walker {
  struct archive *tar;
  diff_sink *sink;
  bool whiteouts; /* translate overlay whiteouts to OCI ones */
  void *inodes;   /* tsearch tree of inode_path */
  char buf[COPY_BUF_SIZE];
} diff_walker;

static la_ssize_t out_write(struct archive *a, void *opaque, const void *buf, size_t n) {
  (void)a;
  diff_sink *sink = opaque;
  if (sink->discard) return (la_ssize_t)n;
  if (write_all(sink->out_fd, buf, n) < 0) {
    sink->failed_errno = errno;
    sink->discard = true;
    return (la_ssize_t)n;
  }
  digest_update(&sink->digest, buf, n);
  sink->compressed += n;
  return (la_ssize_t)n;
}

static la_ssize_t tar_write(struct archive *a, void *opaque, const void *buf, size_t n) {
  diff_sink *sink = opaque;
  if (sink->discard) return (la_ssize_t)n;
  digest_update(&sink->diff_id, buf, n);
  sink->uncompressed += n;
  if (!sink->gz) {
    if (write_all(sink->out_fd, buf, n) < 0) {
      sink->failed_errno = errno;
      sink->discard = true;
    }
    return (la_ssize_t)n;
  }
  la_ssize_t w = archive_write_data(sink->gz, buf, n);
  if (w < 0 || (size_t)w != n) {
    const char *why = archive_error_string(sink->gz);
    archive_set_error(a, EIO, "%s", why ? why : "compression failed");
    return -1;
  }
  return w;
}

static int tar_error(diff_walker *w, const char *path, arca_err *err) {
  const char *why = archive_error_string(w->tar);
  return err_set(err, 500, "write layer entry \"%s\": %s", path, why ? why : "failed");
}

static int compare_inode(const void *a, const void *b) {
  const inode_path *x = a, *y = b;
  if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
  return 0;
}

static void free_inode(void *p) {
  inode_path *ip = p;
  free(ip->path);
  free(ip);
}

/* The first path of this inode when it was already written, else NULL (and remembers it). */
static const char *hardlink_target(diff_walker *w, const struct stat *st, const char *rel) {
  inode_path key = {.dev = st->st_dev, .ino = st->st_ino};
  inode_path **found = tfind(&key, &w->inodes, compare_inode);
  if (found) return (*found)->path;
  inode_path *ip = xmalloc(sizeof *ip);
  *ip = (inode_path){.dev = st->st_dev, .ino = st->st_ino, .path = xstrdup(rel)};
  if (!tsearch(ip, &w->inodes, compare_inode)) {
    free_inode(ip);
  }
  return NULL;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool skip_xattr(const char *name) {
  return str_has_prefix(name, OVERLAY_XATTR_PREFIX) || strcmp(name, "security.selinux") == 0;
}

/* Adds the node's xattrs (in name order) to the entry. */
static int add_xattrs(struct archive_entry *e, const char *proc_path, const char *rel,
                      arca_err *err) {
  ssize_t len = llistxattr(proc_path, NULL, 0);
  if (len < 0) {
    if (errno == ENOTSUP) return 0;
    return err_errno(err, 500, errno, "list xattrs of %s", rel);
  }
  if (len == 0) return 0;
  autofree char *list = xmalloc((size_t)len + 1);
  len = llistxattr(proc_path, list, (size_t)len);
  if (len < 0) return err_errno(err, 500, errno, "list xattrs of %s", rel);
  size_t count = 0;
  for (ssize_t i = 0; i < len; i += (ssize_t)strlen(list + i) + 1) count++;
  autofree const char **names = xcalloc(count, sizeof *names);
  size_t n = 0;
  for (ssize_t i = 0; i < len; i += (ssize_t)strlen(list + i) + 1)
    if (!skip_xattr(list + i)) names[n++] = list + i;
  qsort(names, n, sizeof *names, compare_names);
  for (size_t i = 0; i < n; i++) {
    ssize_t vlen = lgetxattr(proc_path, names[i], NULL, 0);
    if (vlen < 0) {
      if (errno == ENODATA) continue;
      return err_errno(err, 500, errno, "read xattr %s of %s", names[i], rel);
    }
    autofree char *value = xmalloc((size_t)vlen + 1);
    vlen = lgetxattr(proc_path, names[i], value, (size_t)vlen);
    if (vlen < 0) return err_errno(err, 500, errno, "read xattr %s of %s", names[i], rel);
    archive_entry_xattr_add_entry(e, names[i], value, (size_t)vlen);
  }
  return 0;
}

/* An empty regular file entry (whiteout and opaque markers). */
static int write_marker(diff_walker *w, const char *path, mode_t perm, const struct stat *st,
                        arca_err *err) {
  autoarchive_entry struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, perm);
  archive_entry_set_uid(e, st->st_uid);
  archive_entry_set_gid(e, st->st_gid);
  archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
  archive_entry_set_size(e, 0);
  if (archive_write_header(w->tar, e) < ARCHIVE_WARN) return tar_error(w, path, err);
  return 0;
}

static int copy_file(diff_walker *w, int dirfd, const char *name, const char *rel, int64_t size,
                     arca_err *err) {
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return err_errno(err, 500, errno, "open %s", rel);
  autoclose int file = fd;
  return tar_write_content(w->tar, file, size, w->buf, sizeof w->buf, rel, err);
}

/* One node other than a whiteout: its entry, then its content. */
static int write_node(diff_walker *w, int dirfd, const char *name, const char *rel,
                      const struct stat *st, arca_err *err) {
  autofree char *path = S_ISDIR(st->st_mode) ? xasprintf("%s/", rel) : xstrdup(rel);
  const char *first = S_ISREG(st->st_mode) && st->st_nlink > 1 ? hardlink_target(w, st, rel) : NULL;
  bool has_data;
  autoarchive_entry struct archive_entry *e = tar_entry_from_stat(dirfd, name, st, path, first, rel, &has_data, err);
  if (!e) return -1;
  /* A hard link shares its first path's inode: its xattrs travel there. */
  autofree char *proc_path = xasprintf("/proc/self/fd/%d/%s", dirfd, name);
  if (!archive_entry_hardlink(e) && add_xattrs(e, proc_path, rel, err) < 0) return -1;
  if (archive_write_header(w->tar, e) < ARCHIVE_WARN) return tar_error(w, rel, err);
  if (has_data) return copy_file(w, dirfd, name, rel, st->st_size, err);
  return 0;
}

static bool opaque_value(ssize_t n, const char *value) { return n == 1 && value[0] == 'y'; }

static bool is_opaque(const char *proc_path) {
  char value[2];
  return opaque_value(lgetxattr(proc_path, OVERLAY_OPAQUE_XATTR, value, sizeof value), value);
}

static bool is_opaque_fd(int fd) {
  char value[2];
  return opaque_value(fgetxattr(fd, OVERLAY_OPAQUE_XATTR, value, sizeof value), value);
}

static int walk_dir(diff_walker *w, int fd, const char *rel, arca_err *err);

static int walk_entry(diff_walker *w, int dirfd, const char *rel, const char *name,
                      arca_err *err) {
  if (w->sink->discard) return err_errno(err, 500, w->sink->failed_errno, "write layer");
  autofree char *child = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return 0; /* removed while we walk (a running container) */
    return err_errno(err, 500, errno, "stat %s", child);
  }
  if (S_ISSOCK(st.st_mode)) return 0;
  if (w->whiteouts && S_ISCHR(st.st_mode) && st.st_rdev == 0) {
    autofree char *marker = *rel ? xasprintf("%s/" WHITEOUT_PREFIX "%s", rel, name)
                                 : xasprintf(WHITEOUT_PREFIX "%s", name);
    return write_marker(w, marker, 0600, &st, err);
  }
  if (write_node(w, dirfd, name, child, &st, err) < 0) return -1;
  if (!S_ISDIR(st.st_mode)) return 0;
  if (w->whiteouts) {
    autofree char *proc_path = xasprintf("/proc/self/fd/%d/%s", dirfd, name);
    if (is_opaque(proc_path)) {
      autofree char *marker = xasprintf("%s/" WHITEOUT_OPAQUE, child);
      if (write_marker(w, marker, st.st_mode & 0777, &st, err) < 0) return -1;
    }
  }
  int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0) return err_errno(err, 500, errno, "open %s", child);
  return walk_dir(w, sub, child, err);
}

/* Walks the directory open at fd (which it takes over) in name order. */
static int walk_dir(diff_walker *w, int fd, const char *rel, arca_err *err) {
  autoclosedir DIR *dir = fdopendir(fd);
  if (!dir) {
    int e = errno;
    close(fd);
    return err_errno(err, 500, e, "read directory %s", *rel ? rel : ".");
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(dir);
    if (!de) {
      if (errno) rc = err_errno(err, 500, errno, "read directory %s", *rel ? rel : ".");
      break;
    }
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      names = xrealloc(names, cap * sizeof *names);
    }
    names[n++] = xstrdup(de->d_name);
  }
  if (rc == 0 && n) qsort(names, n, sizeof *names, compare_names);
  for (size_t i = 0; i < n && rc == 0; i++) rc = walk_entry(w, dirfd(dir), rel, names[i], err);
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  return rc;
}

static int open_writers(diff_sink *sink, struct archive *tar, struct archive *gz, arca_err *err) {
  if (gz) {
    if (archive_write_set_format_raw(gz) != ARCHIVE_OK ||
        archive_write_add_filter_gzip(gz) != ARCHIVE_OK ||
        archive_write_set_options(gz, "gzip:!timestamp") != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(gz, 1) != ARCHIVE_OK ||
        archive_write_open(gz, sink, NULL, out_write, NULL) != ARCHIVE_OK)
      return err_set(err, 500, "gzip writer: %s", archive_error_string(gz));
    autoarchive_entry struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "layer.tar");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    if (archive_write_header(gz, e) != ARCHIVE_OK)
      return err_set(err, 500, "gzip writer: %s", archive_error_string(gz));
  }
  /* pax only where ustar falls short; SCHILY.xattr is what Docker and Go read. */
  if (archive_write_set_format_pax_restricted(tar) != ARCHIVE_OK ||
      archive_write_set_format_option(tar, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(tar, 1) != ARCHIVE_OK ||
      archive_write_open(tar, sink, NULL, tar_write, NULL) != ARCHIVE_OK)
    return err_set(err, 500, "tar writer: %s", archive_error_string(tar));
  return 0;
}

static int write_layer(const char *dir, int out_fd, bool gzip, bool whiteouts,
                       layer_diff_result *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return err_errno(err, errno == ENOENT ? 404 : 500, errno, "open %s", dir);

  diff_sink sink = {.out_fd = out_fd};
  digest_init(&sink.diff_id);
  digest_init(&sink.digest);
  /* gz is declared first so that it is freed last: freeing tar may flush into gz. */
  autoarchive_write struct archive *gz = gzip ? archive_write_new() : NULL;
  autoarchive_write struct archive *tar = archive_write_new();
  sink.gz = gz;
  autofree diff_walker *w = xcalloc(1, sizeof *w);
  w->tar = tar;
  w->sink = &sink;
  w->whiteouts = whiteouts;

  int rc = open_writers(&sink, tar, gz, err);
  if (rc == 0 && whiteouts) {
    struct stat st;
    if (fstat(fd, &st) < 0) rc = err_errno(err, 500, errno, "stat %s", dir);
    else if (is_opaque_fd(fd)) rc = write_marker(w, WHITEOUT_OPAQUE, st.st_mode & 0777, &st, err);
  }
  if (rc == 0) {
    rc = walk_dir(w, fd, "", err);
  } else {
    close(fd);
  }
  if (rc == 0 && archive_write_close(tar) != ARCHIVE_OK) rc = tar_error(w, dir, err);
  if (rc == 0 && gz && archive_write_close(gz) != ARCHIVE_OK)
    rc = err_set(err, 500, "write layer: %s", archive_error_string(gz));
  tdestroy(w->inodes, free_inode);
  if (rc == 0 && sink.discard) rc = err_errno(err, 500, sink.failed_errno, "write layer");
  if (rc < 0) {
    /* No end-of-archive trailer after a failure: nobody should take it for a whole tar. The
     * archives close with their output discarded, so that libarchive frees its buffers. */
    sink.discard = true;
    archive_write_close(tar);
    if (gz) archive_write_close(gz);
    digest_free(&sink.diff_id);
    digest_free(&sink.digest);
    return err_wrap(err, "layer of %s", dir);
  }
  digest_final(&sink.diff_id, out->diff_id);
  out->uncompressed_size = sink.uncompressed;
  if (gz) {
    digest_final(&sink.digest, out->digest);
    out->compressed_size = sink.compressed;
  } else {
    digest_free(&sink.digest);
    memcpy(out->digest, out->diff_id, sizeof out->digest);
    out->compressed_size = sink.uncompressed;
  }
  return 0;
}

int layer_diff_dir(const char *upper_dir, int out_fd, bool gzip, layer_diff_result *out,
                   arca_err *err) {
  return write_layer(upper_dir, out_fd, gzip, true, out, err);
}

int layer_tar_dir(const char *root_dir, int out_fd, layer_diff_result *out, arca_err *err) {
  return write_layer(root_dir, out_fd, false, false, out, err);
}
