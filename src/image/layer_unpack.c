/* Unpacking a layer tar into one layer directory, in a single pass over the data.
 *
 * Two libarchive readers are chained: the outer one only undoes the compression (raw
 * format, the compression filters we accept) and reads fd through source_read, which counts
 * compressed bytes for progress; the inner one parses tar from bytes pulled out of the outer
 * one by feed_read, which hashes them on the way, so the diffID needs no second pass and no
 * temporary file.
 *
 * Every path goes through clean_entry_path (no absolute paths, no "..") and the parent
 * directory through resolve_in_layer (symlinks followed only while they stay inside the
 * layer), and libarchive is handed the already-resolved absolute path. libarchive's own
 * SECURE_SYMLINKS check would otherwise *unlink* an intervening symlink because of
 * ARCHIVE_EXTRACT_UNLINK, and walks the path from "/", hence the realpath of target_dir. */
#include "image/layer.h"

#include "common/lazy_archive.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

#define UNPACK_BUF_SIZE (128 * 1024)
#define MAX_SYMLINK_HOPS 40 /* the kernel's limit */

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

static const int EXTRACT_FLAGS = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER |
                                 ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                                 ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                 ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_UNLINK;

/* libarchive's disk writer reads the umask by setting it to 0 and back, process-wide, in
 * archive_write_disk_new and in every archive_write_header. Two unpacks doing that at once
 * could each read the other's 0 and create parent directories the tar does not list with
 * mode 0777. This lock serialises just those calls; everything else runs concurrently. */
static pthread_mutex_t g_umask_lock = PTHREAD_MUTEX_INITIALIZER;

static int disk_write_header(struct archive *disk, struct archive_entry *e) {
  pthread_mutex_lock(&g_umask_lock);
  int r = archive_write_header(disk, e);
  pthread_mutex_unlock(&g_umask_lock);
  return r;
}

static struct archive *disk_writer_new(void) {
  pthread_mutex_lock(&g_umask_lock);
  struct archive *disk = archive_write_disk_new();
  pthread_mutex_unlock(&g_umask_lock);
  return disk;
}

static void archive_read_freep(struct archive **a) { if (*a) archive_read_free(*a); }
static void archive_write_freep(struct archive **a) { if (*a) archive_write_free(*a); }
static void archive_entry_freep(struct archive_entry **e) { if (*e) archive_entry_free(*e); }
#define autoarchive_read __attribute__((cleanup(archive_read_freep)))
#define autoarchive_write __attribute__((cleanup(archive_write_freep)))
#define autoarchive_entry __attribute__((cleanup(archive_entry_freep)))

/* The compressed bytes, straight from the caller's fd. */
typedef struct unpack_source {
  int fd;
  void (*progress_cb)(void *ctx, uint64_t consumed);
  void *progress_ctx;
  uint64_t consumed;
  char buf[UNPACK_BUF_SIZE];
} unpack_source;

/* The uncompressed tar stream, pulled from the outer reader and hashed. */
typedef struct unpack_feed {
  struct archive *outer;
  digest_ctx digest;
  uint64_t size;
  char buf[UNPACK_BUF_SIZE];
} unpack_feed;

typedef struct unpacker {
  const char *root; /* realpath of target_dir */
  int rootfd;
  struct archive *disk;
  uint64_t content_size;
} unpacker;

static la_ssize_t source_read(struct archive *a, void *opaque, const void **buf) {
  unpack_source *src = opaque;
  for (;;) {
    ssize_t r = read(src->fd, src->buf, sizeof src->buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      archive_set_error(a, errno, "read layer: %s", strerror(errno));
      return -1;
    }
    src->consumed += (uint64_t)r;
    if (r > 0 && src->progress_cb) src->progress_cb(src->progress_ctx, src->consumed);
    *buf = src->buf;
    return r;
  }
}

/* Next chunk of the uncompressed stream into feed->buf; <0 with the outer error set. */
static la_ssize_t feed_pull(unpack_feed *feed) {
  la_ssize_t r = archive_read_data(feed->outer, feed->buf, sizeof feed->buf);
  if (r > 0) {
    digest_update(&feed->digest, feed->buf, (size_t)r);
    feed->size += (uint64_t)r;
  }
  return r;
}

static la_ssize_t feed_read(struct archive *a, void *opaque, const void **buf) {
  unpack_feed *feed = opaque;
  la_ssize_t r = feed_pull(feed);
  if (r < 0) {
    const char *why = archive_error_string(feed->outer);
    archive_set_error(a, EIO, "%s", why ? why : "decompression failed");
    return -1;
  }
  *buf = feed->buf;
  return r;
}

/* "./a//b/" -> "a/b"; "" for the root. Refuses absolute paths and ".." components. */
static int clean_entry_path(const char *path, const char *what, const char *entry, char **out,
                            arca_err *err) {
  if (path[0] == '/')
    return err_set(err, 400, "invalid %s \"%s\": absolute path is not allowed", what, entry);
  strbuf sb;
  sb_init(&sb);
  const char *p = path;
  while (*p) {
    while (*p == '/') p++;
    const char *start = p;
    while (*p && *p != '/') p++;
    size_t len = (size_t)(p - start);
    if (len == 0 || (len == 1 && start[0] == '.')) continue;
    if (len == 2 && start[0] == '.' && start[1] == '.') {
      sb_free(&sb);
      return err_set(err, 400, "invalid %s \"%s\": path contains \"..\"", what, entry);
    }
    if (sb.len) sb_append(&sb, "/", 1);
    sb_append(&sb, start, len);
  }
  *out = sb_steal(&sb);
  return 0;
}

static void split_parent(const char *clean, char **parent, const char **base) {
  const char *slash = strrchr(clean, '/');
  *parent = slash ? xstrndup(clean, (size_t)(slash - clean)) : xstrdup("");
  *base = slash ? slash + 1 : clean;
}

static char *join_path(const char *root, const char *rel, const char *base) {
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, root);
  if (rel && *rel) sb_printf(&sb, "/%s", rel);
  if (base && *base) sb_printf(&sb, "/%s", base);
  return sb_steal(&sb);
}

static void sb_drop_last(strbuf *sb) {
  char *slash = memrchr(sb->buf, '/', sb->len);
  sb->len = slash ? (size_t)(slash - sb->buf) : 0;
  sb->buf[sb->len] = '\0';
}

/* Resolves a clean relative path inside the layer, following every symlink met in it as
 * the kernel would, but with the layer directory as the edge of the world: an absolute
 * symlink or one climbing above the layer fails (400). Components that do not exist (yet)
 * are taken literally. The result holds no symlinks, so libarchive can be handed it.
 * Sound because nothing else writes into the layer while it is unpacked. */
static int resolve_in_layer(int rootfd, const char *rel, const char *what, const char *entry,
                            char **out, arca_err *err) {
  strbuf done;
  sb_init(&done);
  sb_append(&done, "", 0);
  autofree char *todo = xstrdup(rel);
  size_t pos = 0, depth = 0, missing_from = SIZE_MAX;
  int hops = 0;
  int rc = 0;
  while (todo[pos]) {
    while (todo[pos] == '/') pos++;
    if (!todo[pos]) break;
    size_t start = pos;
    while (todo[pos] && todo[pos] != '/') pos++;
    size_t len = pos - start;
    if (len == 1 && todo[start] == '.') continue;
    if (len == 2 && todo[start] == '.' && todo[start + 1] == '.') {
      if (depth == 0) {
        rc = err_set(err, 400, "invalid %s \"%s\": path leads out of the layer", what, entry);
        break;
      }
      sb_drop_last(&done);
      depth--;
      if (depth <= missing_from) missing_from = SIZE_MAX;
      continue;
    }
    size_t before = done.len;
    if (done.len) sb_append(&done, "/", 1);
    sb_append(&done, todo + start, len);
    if (missing_from != SIZE_MAX) {
      depth++;
      continue;
    }
    struct stat st;
    if (fstatat(rootfd, done.buf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT && errno != ENOTDIR) {
        rc = err_errno(err, 500, errno, "%s \"%s\": stat %s", what, entry, done.buf);
        break;
      }
      missing_from = depth++;
      continue;
    }
    if (!S_ISLNK(st.st_mode)) {
      depth++;
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) {
      rc = err_set(err, 400, "invalid %s \"%s\": too many levels of symbolic links", what, entry);
      break;
    }
    char target[PATH_MAX];
    ssize_t n = readlinkat(rootfd, done.buf, target, sizeof target - 1);
    if (n < 0) {
      rc = err_errno(err, 500, errno, "%s \"%s\": readlink %s", what, entry, done.buf);
      break;
    }
    target[n] = '\0';
    if (n == 0 || target[0] == '/') {
      rc = err_set(err, 400,
                   "invalid %s \"%s\": path goes through symlink \"%s\" -> \"%s\" out of the layer",
                   what, entry, done.buf, target);
      break;
    }
    /* Replace the symlink by its target in what is left to walk. */
    autofree char *rest = xasprintf("%s/%s", target, todo + pos);
    free(todo);
    todo = steal_ptr(rest);
    pos = 0;
    done.len = before;
    done.buf[done.len] = '\0';
  }
  if (rc < 0) {
    sb_free(&done);
    return rc;
  }
  *out = sb_steal(&done);
  return 0;
}

/* Drops trusted.overlay.* xattrs from an entry: a layer must not plant overlay metadata
 * (redirects, metacopy, opaque) except through whiteout translation. */
static void strip_overlay_xattrs(struct archive_entry *e) {
  const char *name;
  const void *value;
  size_t size;
  bool any = false;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
    if (str_has_prefix(name, OVERLAY_XATTR_PREFIX)) any = true;
  if (!any) return;
  size_t n = (size_t)archive_entry_xattr_count(e), kept = 0;
  char **names = xcalloc(n, sizeof *names);
  void **values = xcalloc(n, sizeof *values);
  size_t *sizes = xcalloc(n, sizeof *sizes);
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK && kept < n) {
    if (str_has_prefix(name, OVERLAY_XATTR_PREFIX)) continue;
    names[kept] = xstrdup(name);
    values[kept] = xmalloc(size);
    if (size) memcpy(values[kept], value, size);
    sizes[kept++] = size;
  }
  archive_entry_xattr_clear(e);
  for (size_t i = 0; i < kept; i++) {
    archive_entry_xattr_add_entry(e, names[i], values[i], sizes[i]);
    free(names[i]);
    free(values[i]);
  }
  free(names);
  free(values);
  free(sizes);
}

static int disk_error(unpacker *u, const char *entry, arca_err *err) {
  const char *why = archive_error_string(u->disk);
  return err_set(err, 500, "extract \"%s\": %s", entry, why ? why : "failed");
}

static int check_disk(unpacker *u, int r, const char *entry, arca_err *err) {
  if (r < ARCHIVE_WARN) return disk_error(u, entry, err);
  if (r == ARCHIVE_WARN) {
    const char *why = archive_error_string(u->disk);
    log_warn("layer unpack: \"%s\": %s", entry, why ? why : "warning");
  }
  return 0;
}

/* `.wh.<name>` in dir -> overlay whiteout: char device 0/0, owner and mtime of the entry. */
static int write_whiteout(unpacker *u, struct archive_entry *e, const char *entry,
                          const char *parent, const char *name, arca_err *err) {
  if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return err_set(err, 400, "invalid layer entry \"%s\": whiteout without a name", entry);
  autofree char *resolved = NULL;
  if (resolve_in_layer(u->rootfd, parent, "layer entry", entry, &resolved, err) < 0) return -1;
  autofree char *path = join_path(u->root, resolved, name);
  autoarchive_entry struct archive_entry *w = archive_entry_new();
  archive_entry_set_pathname(w, path);
  archive_entry_set_filetype(w, AE_IFCHR);
  archive_entry_set_perm(w, 0);
  archive_entry_set_rdev(w, 0);
  archive_entry_set_uid(w, archive_entry_uid(e));
  archive_entry_set_gid(w, archive_entry_gid(e));
  archive_entry_set_mtime(w, archive_entry_mtime(e), archive_entry_mtime_nsec(e));
  if (check_disk(u, disk_write_header(u->disk, w), entry, err) < 0) return -1;
  return check_disk(u, archive_write_finish_entry(u->disk), entry, err);
}

/* `<dir>/.wh..wh..opq` -> trusted.overlay.opaque=y on dir, creating it when the layer has
 * no entry for it (some writers omit it). */
static int mark_opaque(unpacker *u, const char *entry, const char *dir, arca_err *err) {
  autofree char *resolved = NULL;
  if (resolve_in_layer(u->rootfd, dir, "layer entry", entry, &resolved, err) < 0) return -1;
  /* resolved holds no symlinks, so creating it component by component stays inside. */
  for (char *p = resolved; *p; p++) {
    bool last = p[1] == '\0';
    if (*p != '/' && !last) continue;
    char saved = *p;
    if (!last) *p = '\0';
    struct stat st;
    if (mkdirat(u->rootfd, resolved, 0755) < 0 && errno != EEXIST)
      return err_errno(err, 500, errno, "layer entry \"%s\": mkdir %s", entry, resolved);
    if (fstatat(u->rootfd, resolved, &st, AT_SYMLINK_NOFOLLOW) < 0)
      return err_errno(err, 500, errno, "layer entry \"%s\": stat %s", entry, resolved);
    if (!S_ISDIR(st.st_mode))
      return err_set(err, 400, "invalid layer entry \"%s\": %s is not a directory", entry,
                     resolved);
    if (!last) *p = saved;
  }
  autofree char *path = join_path(u->root, resolved, NULL);
  if (lsetxattr(path, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
    return err_errno(err, 500, errno, "layer entry \"%s\": set %s on %s", entry,
                     OVERLAY_OPAQUE_XATTR, path);
  return 0;
}

/* Rewrites a hard link's target to its resolved absolute path inside the layer. */
static int resolve_hardlink(unpacker *u, struct archive_entry *e, const char *entry,
                            arca_err *err) {
  autofree char *link = xstrdup(archive_entry_hardlink(e));
  autofree char *desc = xasprintf("%s -> %s", entry, link);
  autofree char *clean = NULL;
  if (clean_entry_path(link, "hard link", desc, &clean, err) < 0) return -1;
  if (!*clean) return err_set(err, 400, "invalid hard link \"%s\": target is the layer root", desc);
  autofree char *parent = NULL;
  const char *base;
  split_parent(clean, &parent, &base);
  autofree char *resolved = NULL;
  if (resolve_in_layer(u->rootfd, parent, "hard link", desc, &resolved, err) < 0) return -1;
  autofree char *target_rel = *resolved ? xasprintf("%s/%s", resolved, base) : xstrdup(base);
  struct stat st;
  if (fstatat(u->rootfd, target_rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return err_set(err, 400, "invalid hard link \"%s\": target is not in the layer", desc);
  if (S_ISDIR(st.st_mode))
    return err_set(err, 400, "invalid hard link \"%s\": target is a directory", desc);
  autofree char *target = join_path(u->root, target_rel, NULL);
  archive_entry_set_hardlink(e, target);
  return 0;
}

static int copy_entry_data(unpacker *u, struct archive *tar, const char *entry, arca_err *err) {
  for (;;) {
    const void *buf;
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(tar, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) return 0;
    if (r < ARCHIVE_WARN) {
      const char *why = archive_error_string(tar);
      return err_set(err, 500, "read layer entry \"%s\": %s", entry, why ? why : "failed");
    }
    la_ssize_t w = archive_write_data_block(u->disk, buf, size, offset);
    if (w < ARCHIVE_WARN) return disk_error(u, entry, err);
  }
}

static int unpack_entry(unpacker *u, struct archive *tar, struct archive_entry *e,
                        arca_err *err) {
  const char *raw_name = archive_entry_pathname(e);
  if (!raw_name || !*raw_name) return err_set(err, 400, "invalid layer entry: empty name");
  autofree char *entry = xstrdup(raw_name); /* as in the tar, for messages */
  autofree char *clean = NULL;
  if (clean_entry_path(entry, "layer entry", entry, &clean, err) < 0) return -1;
  if (!*clean) return 0; /* the root: the layer directory already exists */
  autofree char *parent = NULL;
  const char *base;
  split_parent(clean, &parent, &base);

  if (strcmp(base, WHITEOUT_OPAQUE) == 0) return mark_opaque(u, entry, parent, err);
  /* AUFS metadata (.wh..wh.plnk/..., .wh..wh.aufs) is not layer content. */
  if (str_has_prefix(clean, WHITEOUT_META_PREFIX) || str_has_prefix(base, WHITEOUT_META_PREFIX))
    return 0;
  if (str_has_prefix(base, WHITEOUT_PREFIX))
    return write_whiteout(u, e, entry, parent, base + strlen(WHITEOUT_PREFIX), err);

  autofree char *resolved = NULL;
  if (resolve_in_layer(u->rootfd, parent, "layer entry", entry, &resolved, err) < 0) return -1;
  bool hardlink = archive_entry_hardlink(e) != NULL;
  if (hardlink && resolve_hardlink(u, e, entry, err) < 0) return -1;
  strip_overlay_xattrs(e);
  autofree char *path = join_path(u->root, resolved, base);
  archive_entry_set_pathname(e, path);

  if (check_disk(u, disk_write_header(u->disk, e), entry, err) < 0) return -1;
  if (archive_entry_size(e) > 0 && copy_entry_data(u, tar, entry, err) < 0) return -1;
  if (check_disk(u, archive_write_finish_entry(u->disk), entry, err) < 0) return -1;
  if (!hardlink && archive_entry_filetype(e) == AE_IFREG)
    u->content_size += (uint64_t)archive_entry_size(e);
  return 0;
}

static int read_error(struct archive *a, const char *what, arca_err *err) {
  const char *why = archive_error_string(a);
  return err_set(err, 500, "%s: %s", what, why ? why : "failed");
}

/* Opens the outer (decompressing) reader. Empty input fails here: no format matches. */
static int open_outer(struct archive *outer, unpack_source *src, arca_err *err) {
  /* Only the compressions layers use: each runs in-process, while "all" would also enable
   * filters that run external programs on data from the network. */
  archive_read_support_filter_gzip(outer);
  archive_read_support_filter_zstd(outer);
  archive_read_support_filter_bzip2(outer);
  archive_read_support_filter_xz(outer);
  archive_read_support_format_raw(outer);
  if (archive_read_open(outer, src, NULL, source_read, NULL) != ARCHIVE_OK)
    return read_error(outer, "open layer stream", err);
  struct archive_entry *raw;
  if (archive_read_next_header(outer, &raw) != ARCHIVE_OK)
    return read_error(outer, "read layer stream", err);
  return 0;
}

static int unpack_entries(unpacker *u, struct archive *tar, arca_err *err) {
  for (;;) {
    struct archive_entry *e;
    int r = archive_read_next_header(tar, &e);
    if (r == ARCHIVE_EOF) return 0;
    if (r < ARCHIVE_WARN) return read_error(tar, "read layer tar", err);
    if (unpack_entry(u, tar, e, err) < 0) return -1;
  }
}

int layer_unpack_fd(int fd, const char *target_dir,
                    void (*progress_cb)(void *ctx, uint64_t consumed), void *ctx,
                    layer_unpack_result *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  autofree char *root = realpath(target_dir, NULL);
  if (!root) return err_errno(err, 500, errno, "layer directory %s", target_dir);
  autoclose int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return err_errno(err, 500, errno, "open layer directory %s", root);

  autofree unpack_source *src = xcalloc(1, sizeof *src);
  src->fd = fd;
  src->progress_cb = progress_cb;
  src->progress_ctx = ctx;
  autofree unpack_feed *feed = xcalloc(1, sizeof *feed);
  digest_init(&feed->digest);

  autoarchive_read struct archive *outer = archive_read_new();
  autoarchive_read struct archive *tar = archive_read_new();
  autoarchive_write struct archive *disk = disk_writer_new();
  feed->outer = outer;
  unpacker u = {.root = root, .rootfd = rootfd, .disk = disk};
  archive_write_disk_set_options(disk, EXTRACT_FLAGS);
  archive_read_support_format_tar(tar);

  int rc = open_outer(outer, src, err);
  if (rc == 0) {
    if (archive_read_open(tar, feed, NULL, feed_read, NULL) != ARCHIVE_OK)
      rc = read_error(tar, "open layer tar", err);
    if (rc == 0) rc = unpack_entries(&u, tar, err);
    /* Directory modes and times are fixed up at close; run it now to see its errors. */
    if (archive_write_close(disk) < ARCHIVE_WARN && rc == 0) rc = disk_error(&u, root, err);
    /* The diffID covers the whole stream, including padding after the end marker. */
    while (rc == 0) {
      la_ssize_t r = feed_pull(feed);
      if (r == 0) break;
      if (r < 0) rc = read_error(outer, "read layer stream", err);
    }
  }
  if (rc < 0) {
    digest_free(&feed->digest);
    return -1;
  }
  digest_final(&feed->digest, out->diff_id);
  out->uncompressed_size = feed->size;
  out->content_size = u.content_size;
  return 0;
}
