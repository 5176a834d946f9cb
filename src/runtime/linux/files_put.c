/* docker cp into a container: extract a tar into a directory of the container, as moby's
 * containerExtractToDir + go-archive's Unpack do.
 *
 * The destination path is resolved with every symlink followed (Docker's EvalSymlinks):
 * missing gives 404 "Could not find the file <path>", not a directory 400 "extraction point
 * is not a directory", inside a read-only mount 400 "mounted volume is marked read-only",
 * outside the volumes of a read-only rootfs 400 "container rootfs is marked read-only"
 * (lx_archive_put_opts).
 *
 * Each entry: the name loses leading slashes and is cleaned; "." is skipped; a name that
 * climbs out ("../x") fails the copy (500 'invalid entry name "../x"'). Its parent path is
 * resolved below the destination directory, which is the root for that walk as os.Root is in
 * go-archive: an absolute symlink met on the way restarts at the destination, ".." stops
 * there, so a planted or archived link never leads outside. Missing parents are made 0755.
 * An existing node is replaced (a directory merged with a directory), except with
 * no_overwrite_dir_non_dir: 'cannot overwrite directory "<entry>" with non-directory
 * "<dest>"' and the converse (500, Docker's text). The final name is never followed: a
 * symlink there is replaced, not written through. Mounts are seen at their destinations;
 * writing into a read-only one fails with "...: read-only file system", replacing a mount
 * point with "...: device or resource busy" (500, as the kernel would answer Docker).
 * Hard link targets must stay inside the destination (absolute ones are taken from it).
 *
 * Ownership: the tar's uid/gid (Docker without userns), or every entry owned by the
 * container user (lx_archive_put_opts). Modes with setuid/setgid/sticky after the chown,
 * xattrs (trusted.overlay.* dropped, EPERM ignored as Docker), mtimes; directories' times
 * are set after the last entry. Gzip, bzip2, xz and zstd input is decompressed. */
#include "runtime/linux/lx_cp.h"

#include "common/lazy_archive.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/lx_fsview.h"

#define COPY_BUF_SIZE (128 * 1024)
#define IMPLIED_DIR_MODE 0755
#define PASSWD_MAX (8u << 20)

typedef struct dir_time {
  char *rel;
  struct timespec times[2];
} dir_time;

typedef struct put_ctx {
  fsview *v;
  fsv_node dest;
  bool no_overwrite;
  bool readonly_rootfs;
  bool chown_all;
  uid_t uid;
  gid_t gid;
  char *buf;
  dir_time *dirs;
  size_t ndirs, cap;
} put_ctx;

static int fail_errno(arca_err *err, int e, const char *op, const char *cpath) {
  return fsv_err(err, 500, e, op, cpath);
}

/* Go's path.Clean of a relative path: "." for nothing, ".." kept where it climbs out. */
static char *clean_rel(const char *p) {
  strbuf out;
  sb_init(&out);
  size_t ups = 0; /* leading ".." components in out */
  const char *s = p;
  while (*s) {
    while (*s == '/') s++;
    if (!*s) break;
    size_t n = strcspn(s, "/");
    if (n == 1 && s[0] == '.') {
      /* nothing */
    } else if (n == 2 && s[0] == '.' && s[1] == '.') {
      if (out.len > ups * 3) {
        while (out.len > 0 && out.buf[out.len - 1] != '/') out.len--;
        if (out.len > 0) out.len--;
      } else {
        sb_puts(&out, out.len ? "/.." : "..");
        ups++;
      }
    } else {
      if (out.len) sb_puts(&out, "/");
      sb_append(&out, s, n);
    }
    s += n;
  }
  if (out.len == 0) sb_puts(&out, ".");
  out.buf[out.len] = '\0';
  return sb_steal(&out);
}

static bool climbs_out(const char *clean) {
  return strcmp(clean, "..") == 0 || str_has_prefix(clean, "../");
}

static bool mount_readonly(const put_ctx *c, int mount) {
  return mount < 0 ? c->readonly_rootfs : c->v->mounts[mount].readonly;
}

static bool mount_below(const put_ctx *c, const char *cpath) {
  size_t n = strlen(cpath);
  for (size_t i = 0; i < c->v->nmounts; i++)
    if (strncmp(c->v->mounts[i].dest, cpath, n) == 0 && c->v->mounts[i].dest[n] == '/') return true;
  return false;
}

/* The directory `rel` below the destination (followed), made with its missing parents. */
static int resolve_dir(put_ctx *c, const char *rel, fsv_node *out, arca_err *err) {
  int rc = fsview_resolve(c->v, &c->dest, rel, FSV_FOLLOW, out);
  if (rc == 0 && out->exists) {
    if (S_ISDIR(out->st.st_mode)) return 0;
    rc = -ENOTDIR;
  }
  if (rc == 0) fsv_node_free(out);
  if (rc != 0 && rc != -ENOENT) return fail_errno(err, -rc, "mkdir", rel);
  /* Something is missing: walk the prefixes, making each missing one. */
  autofree char *copy = xstrdup(rel);
  for (char *slash = copy;; slash++) {
    slash = strchr(slash, '/');
    if (slash) *slash = '\0';
    fsv_node n;
    rc = fsview_resolve(c->v, &c->dest, copy, FSV_FOLLOW, &n);
    if (rc < 0) return fail_errno(err, -rc, "mkdir", copy);
    if (!n.exists) {
      autofree char *cpath = xstrdup(n.path);
      if (mount_readonly(c, n.mount)) {
        fsv_node_free(&n);
        return fail_errno(err, EROFS, "mkdir", cpath);
      }
      if (mkdirat(n.dirfd, n.name, IMPLIED_DIR_MODE) < 0 ||
          fchmodat(n.dirfd, n.name, IMPLIED_DIR_MODE, 0) < 0) {
        int e = errno;
        fsv_node_free(&n);
        return fail_errno(err, e, "mkdir", cpath);
      }
    } else if (!S_ISDIR(n.st.st_mode)) {
      autofree char *cpath = xstrdup(n.path);
      fsv_node_free(&n);
      return fail_errno(err, ENOTDIR, "mkdir", cpath);
    }
    fsv_node_free(&n);
    if (!slash) break;
    *slash = '/';
  }
  rc = fsview_resolve(c->v, &c->dest, rel, FSV_FOLLOW, out);
  if (rc == 0 && !out->exists) {
    fsv_node_free(out);
    rc = -ENOENT;
  }
  if (rc < 0) return fail_errno(err, -rc, "mkdir", rel);
  return 0;
}

/* Removes name below parent and everything in it, never through a symlink. */
static int remove_tree(int parent, const char *name) {
  if (unlinkat(parent, name, AT_REMOVEDIR) == 0) return 0;
  if (errno != ENOTEMPTY && errno != EEXIST) return -1;
  int fd = fsv_openat(parent, name, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) return -1;
  DIR *dir = fdopendir(fd);
  if (!dir) {
    close(fd);
    return -1;
  }
  int rc = 0;
  struct dirent *de;
  while (rc == 0 && (de = readdir(dir))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (unlinkat(dirfd(dir), de->d_name, 0) == 0) continue;
    if (errno == EISDIR)
      rc = remove_tree(dirfd(dir), de->d_name);
    else if (errno != ENOENT)
      rc = -1;
  }
  int e = errno;
  closedir(dir);
  if (rc < 0) {
    errno = e;
    return -1;
  }
  return unlinkat(parent, name, AT_REMOVEDIR);
}

static int copy_data(put_ctx *c, struct archive *a, int fd, const char *cpath, arca_err *err) {
  for (;;) {
    la_ssize_t n = archive_read_data(a, c->buf, COPY_BUF_SIZE);
    if (n == 0) return 0;
    if (n < 0)
      return err_set(err, 500, "read %s from the archive: %s", cpath, archive_error_string(a));
    if (write_all(fd, c->buf, (size_t)n) < 0) return fail_errno(err, errno, "write", cpath);
  }
}

/* The inode an entry links to, below the destination. */
static int hardlink_target(put_ctx *c, const char *linkname, fsv_node *out, arca_err *err) {
  autofree char *clean = clean_rel(linkname); /* leading slashes dropped: taken from dest */
  if (strcmp(clean, ".") == 0 || climbs_out(clean))
    return err_set(err, 500, "invalid hardlink target \"%s\"", linkname);
  int rc = fsview_resolve(c->v, &c->dest, clean, 0, out);
  if (rc == 0 && !out->exists) {
    fsv_node_free(out);
    rc = -ENOENT;
  }
  if (rc < 0) return fail_errno(err, -rc, "link", linkname);
  return 0;
}

static int set_xattrs(struct archive_entry *e, const char *proc, const char *cpath, arca_err *err) {
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (str_has_prefix(name, "trusted.overlay.")) continue; /* only overlayfs may set these */
    if (lsetxattr(proc, name, value, size, 0) < 0 && errno != EPERM)
      return fail_errno(err, errno, "lsetxattr", cpath);
  }
  return 0;
}

static struct timespec entry_time(struct archive_entry *e, bool atime) {
  struct timespec m = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  if (!atime || !archive_entry_atime_is_set(e)) return m;
  struct timespec a = {archive_entry_atime(e), archive_entry_atime_nsec(e)};
  /* go-archive uses the later of atime and mtime */
  return (a.tv_sec > m.tv_sec || (a.tv_sec == m.tv_sec && a.tv_nsec > m.tv_nsec)) ? a : m;
}

/* Ownership, xattrs, mode and times of the node `name` in pfd (or of nodefd when name is ""). */
static int apply_metadata(put_ctx *c, struct archive_entry *e, int pfd, const char *name,
                          int nodefd, const char *rel, const char *cpath, bool chmod_it,
                          arca_err *err) {
  uid_t uid = c->chown_all ? c->uid : (uid_t)archive_entry_uid(e);
  gid_t gid = c->chown_all ? c->gid : (gid_t)archive_entry_gid(e);
  int rc = *name ? fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW)
                 : fchownat(nodefd, "", uid, gid, AT_EMPTY_PATH);
  if (rc < 0) return fail_errno(err, errno, "lchown", cpath);

  /* Path of the node for the calls that take no descriptor; a mount's root (always a
   * directory here) is reached through its descriptor's magic link. */
  autofree char *proc =
      *name ? xasprintf("/proc/self/fd/%d/%s", pfd, name) : xasprintf("/proc/self/fd/%d/.", nodefd);
  if (set_xattrs(e, proc, cpath, err) < 0) return -1;

  if (chmod_it) {
    /* Through an O_PATH descriptor: the node itself, even if swapped for a link since. */
    int fd = *name ? fsv_openat(pfd, name, O_PATH, 0) : fcntl(nodefd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return fail_errno(err, errno, "chmod", cpath);
    autoclose int node = fd;
    autofree char *link = xasprintf("/proc/self/fd/%d", node);
    if (chmod(link, archive_entry_mode(e) & 07777) < 0)
      return fail_errno(err, errno, "chmod", cpath);
  }

  struct timespec times[2] = {entry_time(e, true), entry_time(e, false)};
  if (archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e)) {
    if (c->ndirs == c->cap) {
      c->cap = c->cap ? c->cap * 2 : 32;
      c->dirs = xrealloc(c->dirs, c->cap * sizeof *c->dirs);
    }
    c->dirs[c->ndirs++] = (dir_time){.rel = xstrdup(rel), .times = {times[0], times[1]}};
    return 0;
  }
  rc = *name ? utimensat(pfd, name, times, AT_SYMLINK_NOFOLLOW)
             : utimensat(AT_FDCWD, proc, times, 0);
  if (rc < 0) return fail_errno(err, errno, "chtimes", cpath);
  return 0;
}

static int put_entry(put_ctx *c, struct archive *a, struct archive_entry *e, arca_err *err) {
  const char *raw = archive_entry_pathname(e);
  if (!raw) return err_set(err, 500, "invalid entry name in the archive");
  autofree char *rel = clean_rel(raw);
  if (strcmp(rel, ".") == 0) return 0;
  if (climbs_out(rel)) return err_set(err, 500, "invalid entry name \"%s\"", raw);

  const char *hardlink = archive_entry_hardlink(e);
  mode_t type = hardlink ? AE_IFREG : archive_entry_filetype(e);
  if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFCHR &&
      type != AE_IFBLK && type != AE_IFIFO)
    return err_set(err, 500, "unhandled tar header type for \"%s\"", raw);
  bool is_dir = type == AE_IFDIR;

  char *slash = strrchr(rel, '/');
  const char *base = slash ? slash + 1 : rel;
  autofree char *parent_rel = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup(".");
  fsv_node parent;
  if (resolve_dir(c, parent_rel, &parent, err) < 0) return -1;
  autofree char *cpath = strcmp(parent.path, "/") == 0 ? xasprintf("/%s", base)
                                                       : xasprintf("%s/%s", parent.path, base);
  int pfd = fsv_node_open(&parent, O_PATH | O_DIRECTORY);
  int parent_mount = parent.mount;
  fsv_node_free(&parent);
  if (pfd < 0) return fail_errno(err, errno, "open", cpath);
  autoclose int pdir = pfd;

  fsv_node target = {.dirfd = -1};
  if (hardlink && hardlink_target(c, hardlink, &target, err) < 0) return -1;
  int rc = 0;
  int mi = fsview_mount_at(c->v, cpath);
  autoclose int mfd = mi >= 0 ? fsview_open_mount(c->v, mi) : -1;
  struct stat cur;
  bool exists;
  if (mi >= 0) {
    exists = mfd >= 0 && fstat(mfd, &cur) == 0;
    if (!exists) rc = fail_errno(err, errno, "open mount", cpath);
  } else {
    exists = fstatat(pdir, base, &cur, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT) rc = fail_errno(err, errno, "lstat", cpath);
  }
  if (rc == 0 && exists) {
    if (c->no_overwrite && S_ISDIR(cur.st_mode) && !is_dir)
      rc = err_set(err, 500, "cannot overwrite directory \"%s\" with non-directory \"%s\"", rel,
                   c->dest.path);
    else if (c->no_overwrite && !S_ISDIR(cur.st_mode) && is_dir)
      rc = err_set(err, 500, "cannot overwrite non-directory \"%s\" with directory \"%s\"", rel,
                   c->dest.path);
    else if (!(S_ISDIR(cur.st_mode) && is_dir)) {
      if (mi >= 0 || (S_ISDIR(cur.st_mode) && mount_below(c, cpath)))
        rc = fail_errno(err, EBUSY, "unlinkat", cpath);
      else if (mount_readonly(c, parent_mount))
        rc = fail_errno(err, EROFS, "unlinkat", cpath);
      else if ((S_ISDIR(cur.st_mode) ? remove_tree(pdir, base) : unlinkat(pdir, base, 0)) < 0)
        rc = fail_errno(err, errno, "unlinkat", cpath);
      exists = false;
    }
  }
  int node_mount = mi >= 0 ? mi : parent_mount;
  if (rc == 0 && mount_readonly(c, node_mount))
    rc = fail_errno(err, EROFS, exists ? "lchown" : is_dir ? "mkdir" : "open", cpath);
  if (rc == 0 && hardlink && target.mount != parent_mount)
    rc = fail_errno(err, EXDEV, "link", cpath);

  mode_t perm = archive_entry_perm(e) & 0777;
  bool chmod_it = true;
  if (rc == 0 && !exists) {
    switch (type) {
    case AE_IFDIR:
      if (mkdirat(pdir, base, perm) < 0) rc = fail_errno(err, errno, "mkdir", cpath);
      break;
    case AE_IFLNK:
      chmod_it = false;
      if (symlinkat(archive_entry_symlink(e) ? archive_entry_symlink(e) : "", pdir, base) < 0)
        rc = fail_errno(err, errno, "symlink", cpath);
      break;
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
      dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
      if (mknodat(pdir, base, type | perm, type == AE_IFIFO ? 0 : dev) < 0)
        rc = fail_errno(err, errno, "mknod", cpath);
      break;
    }
    default:
      if (hardlink) {
        struct stat tst;
        chmod_it = fstatat(target.dirfd, target.name, &tst, AT_SYMLINK_NOFOLLOW) == 0 &&
                   !S_ISLNK(tst.st_mode);
        if (linkat(target.dirfd, target.name, pdir, base, 0) < 0)
          rc = fail_errno(err, errno, "link", cpath);
        break;
      }
      int fd = fsv_openat(pdir, base, O_WRONLY | O_CREAT | O_EXCL, perm);
      if (fd < 0) {
        rc = fail_errno(err, errno, "open", cpath);
        break;
      }
      rc = copy_data(c, a, fd, cpath, err);
      if (close(fd) < 0 && rc == 0) rc = fail_errno(err, errno, "close", cpath);
    }
  }
  fsv_node_free(&target);
  if (rc < 0) return -1;
  return apply_metadata(c, e, pdir, mi >= 0 ? "" : base, mfd, rel, cpath, chmod_it, err);
}

static int set_dir_times(put_ctx *c, arca_err *err) {
  for (size_t i = 0; i < c->ndirs; i++) {
    fsv_node n;
    int rc = fsview_resolve(c->v, &c->dest, c->dirs[i].rel, 0, &n);
    if (rc == -ENOENT || (rc == 0 && !n.exists)) { /* replaced by a later entry */
      if (rc == 0) fsv_node_free(&n);
      continue;
    }
    if (rc < 0) return fail_errno(err, -rc, "chtimes", c->dirs[i].rel);
    if (*n.name) {
      rc = utimensat(n.dirfd, n.name, c->dirs[i].times, AT_SYMLINK_NOFOLLOW);
    } else {
      autofree char *proc = xasprintf("/proc/self/fd/%d", n.dirfd);
      rc = utimensat(AT_FDCWD, proc, c->dirs[i].times, 0);
    }
    int e = errno;
    autofree char *cpath = xstrdup(n.path);
    fsv_node_free(&n);
    if (rc < 0) return fail_errno(err, e, "chtimes", cpath);
  }
  return 0;
}

/* ---- the container user (Docker's getUIDGID) ----------------------------------------- */

static int read_container_file(fsview *v, const char *path, char **out) {
  *out = NULL;
  fsv_node n;
  int rc = fsview_resolve(v, NULL, path, FSV_FOLLOW, &n);
  if (rc < 0) return rc;
  if (!n.exists) {
    fsv_node_free(&n);
    return -ENOENT;
  }
  int fd = fsv_node_open(&n, O_RDONLY);
  fsv_node_free(&n);
  if (fd < 0) return -errno;
  autoclose int file = fd;
  strbuf sb;
  sb_init(&sb);
  char buf[8192];
  for (;;) {
    ssize_t r = read(file, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      sb_free(&sb);
      return -e;
    }
    if (r == 0 || sb.len > PASSWD_MAX) break;
    sb_append(&sb, buf, (size_t)r);
  }
  sb_append(&sb, "", 1);
  *out = sb_steal(&sb);
  return 0;
}

/* Go's ParseUint(s, 10, 32) with the result <= MaxInt32 */
static bool parse_id(const char *s, unsigned long *out) {
  if (!*s) return false;
  for (const char *p = s; *p; p++)
    if (!isdigit((unsigned char)*p)) return false;
  errno = 0;
  unsigned long v = strtoul(s, NULL, 10);
  if (errno || v > 0x7fffffffUL) return false;
  *out = v;
  return true;
}

/* Finds a line of a passwd/group file whose field `key_field` equals key; fills fields. */
static bool find_entry(char *text, size_t key_field, const char *key, char *fields[],
                       size_t nfields) {
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    while (isspace((unsigned char)*line)) line++;
    if (!*line || *line == '#') continue;
    size_t n = 0;
    char *p = line;
    while (n < nfields) {
      fields[n++] = p;
      char *colon = strchr(p, ':');
      if (!colon) break;
      *colon = '\0';
      p = colon + 1;
    }
    if (n == nfields && strcmp(fields[key_field], key) == 0) return true;
  }
  return false;
}

static int container_user(fsview *v, const char *user, uid_t *uid, gid_t *gid, arca_err *err) {
  *uid = 0;
  *gid = 0;
  autofree char *copy = xstrdup(user);
  char *group = strchr(copy, ':');
  if (group) *group++ = '\0';
  unsigned long id;
  if (*copy) {
    autofree char *passwd = NULL;
    read_container_file(v, "/etc/passwd", &passwd);
    char *f[4];
    bool numeric = parse_id(copy, &id);
    bool found = passwd && find_entry(passwd, numeric ? 2 : 0, copy, f, 4);
    if (found) {
      unsigned long u, g;
      if (!parse_id(f[2], &u) || !parse_id(f[3], &g))
        return err_set(err, 400, "failed to look up user \"%s\" in container: invalid passwd entry",
                       copy);
      *uid = (uid_t)u;
      *gid = (gid_t)g;
    } else if (numeric) {
      *uid = (uid_t)id; /* best effort as docker run: gid 0 */
    } else {
      return err_set(
          err, 400,
          "failed to look up user \"%s\" in container: no matching entries in passwd file", copy);
    }
  }
  if (group && *group) {
    if (parse_id(group, &id)) {
      *gid = (gid_t)id;
    } else {
      autofree char *groups = NULL;
      read_container_file(v, "/etc/group", &groups);
      char *f[3];
      unsigned long g;
      if (!groups || !find_entry(groups, 0, group, f, 3) || !parse_id(f[2], &g))
        return err_set(
            err, 400,
            "failed to look up group \"%s\" in container: no matching entries in group file",
            group);
      *gid = (gid_t)g;
    }
  }
  return 0;
}

/* ---- the extraction ------------------------------------------------------------------ */

static void archive_read_freep(struct archive **a) {
  if (*a) archive_read_free(*a);
}

static int extract(put_ctx *c, int fd, arca_err *err) {
  __attribute__((cleanup(archive_read_freep))) struct archive *a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_empty(a);
  if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
    return err_set(err, 500, "read archive: %s", archive_error_string(a));
  for (;;) {
    struct archive_entry *e;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return err_set(err, 500, "read archive: %s", archive_error_string(a));
    if (put_entry(c, a, e, err) < 0) return -1;
  }
  return set_dir_times(c, err);
}

int lx_archive_put_opts(const char *rootfs, const lx_extra_mount *m, size_t nm, const char *path,
                        int fd, const lx_put_options *opts, arca_err *err) {
  lx_put_options none = {0};
  if (!opts) opts = &none;
  fsview v;
  if (fsview_open(&v, rootfs, m, nm, err) < 0) {
    fsview_close(&v);
    return -1;
  }
  put_ctx c = {.v = &v,
               .no_overwrite = opts->no_overwrite_dir_non_dir,
               .readonly_rootfs = opts->readonly_rootfs,
               .dest = {.dirfd = -1}};
  autofree char *abs = fsv_clean_abs(path);
  int rc = fsview_resolve(&v, NULL, abs, FSV_FOLLOW, &c.dest);
  if (rc == -ENOENT || (rc == 0 && !c.dest.exists)) {
    rc = err_set(err, 404, "Could not find the file %s", path);
  } else if (rc < 0) {
    rc = fail_errno(err, -rc, "lstat", abs);
  } else if (!S_ISDIR(c.dest.st.st_mode)) {
    rc = err_set(err, 400, "extraction point is not a directory");
  } else if (mount_readonly(&c, c.dest.mount)) {
    rc = err_set(err, 400,
                 c.dest.mount < 0 ? "container rootfs is marked read-only"
                                  : "mounted volume is marked read-only");
  } else if (opts->user && *opts->user) {
    rc = container_user(&v, opts->user, &c.uid, &c.gid, err);
    c.chown_all = true;
  }
  if (rc == 0) {
    c.buf = xmalloc(COPY_BUF_SIZE);
    rc = extract(&c, fd, err);
  }
  for (size_t i = 0; i < c.ndirs; i++) free(c.dirs[i].rel);
  free(c.dirs);
  free(c.buf);
  fsv_node_free(&c.dest);
  fsview_close(&v);
  return rc;
}

int lx_archive_put(const char *rootfs, const lx_extra_mount *m, size_t nm, const char *path, int fd,
                   bool no_overwrite_dir_non_dir, bool copy_uid_gid, arca_err *err) {
  /* Without the container's user, copyUIDGID keeps the tar's ownership: what Docker does for
   * a container whose Config.User is empty (see lx_cp.h). */
  (void)copy_uid_gid;
  lx_put_options opts = {.no_overwrite_dir_non_dir = no_overwrite_dir_non_dir};
  return lx_archive_put_opts(rootfs, m, nm, path, fd, &opts, err);
}
