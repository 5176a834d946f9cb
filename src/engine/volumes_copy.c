/* Docker copies what the image has at a volume's mount point into the volume when the
 * volume is empty. The image is its layer directories, stacked as overlayfs stacks them:
 * the topmost layer that has a name decides what it is, a character device 0/0 is a
 * whiteout (nothing below), and a directory marked opaque hides the same directory in the
 * layers below. Every path is read with lstat and symlinks are copied as symlinks; a
 * symlink on the way to the mount point is resolved inside the image, never on the host. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/pattern.h"
#include "common/util.h"
#include "engine/volumes_internal.h"

static bool is_whiteout(const struct stat *st) { return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0); }

static bool is_opaque(const char *path) {
  char v[4];
  ssize_t n = lgetxattr(path, "trusted.overlay.opaque", v, sizeof v);
  return n == 1 && v[0] == 'y';
}

enum { FOUND_NONE = 0, FOUND_DIR, FOUND_OTHER, FOUND_HIDDEN };

/* What layer i has at rel: considering its own ancestors too (a whiteout or a non-directory
 * on the way hides rel; an opaque ancestor hides the layers below). */
static int layer_lookup(const char *layer, const char *rel, struct stat *st, bool *opaque_below) {
  *opaque_below = false;
  autofree char *copy = xstrdup(rel);
  strbuf p;
  sb_init(&p);
  sb_puts(&p, layer);
  char *save = NULL;
  int rc = FOUND_NONE;
  for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
    sb_printf(&p, "/%s", comp);
    bool last = save == NULL || *save == '\0';
    if (lstat(p.buf, st) < 0) {
      rc = FOUND_NONE;
      break;
    }
    if (is_whiteout(st)) {
      rc = FOUND_HIDDEN;
      break;
    }
    if (!S_ISDIR(st->st_mode)) {
      rc = last ? FOUND_OTHER : FOUND_HIDDEN;
      break;
    }
    if (is_opaque(p.buf)) *opaque_below = true;
    if (last) {
      rc = FOUND_DIR;
      break;
    }
  }
  if (!*rel) {
    rc = lstat(layer, st) == 0 ? FOUND_DIR : FOUND_NONE;
  }
  sb_free(&p);
  return rc;
}

/* The layers (topmost first) whose directory rel shows through; returns their count, 0 when
 * the image has no directory there (-1: a symlink, whose target is put in *link). */
static int dir_layers(const char *const *layers, size_t nl, const char *rel, const char **out, char **link,
                      struct stat *top) {
  int n = 0;
  for (size_t i = nl; i > 0; i--) {
    struct stat st;
    bool opaque;
    int f = layer_lookup(layers[i - 1], rel, &st, &opaque);
    if (f == FOUND_NONE) {
      if (opaque) break;
      continue;
    }
    if (f == FOUND_HIDDEN) break;
    if (f == FOUND_OTHER) {
      if (n == 0 && S_ISLNK(st.st_mode)) {
        autofree char *p = xasprintf("%s/%s", layers[i - 1], rel);
        char buf[4096];
        ssize_t len = readlink(p, buf, sizeof buf - 1);
        if (len > 0) {
          buf[len] = '\0';
          *link = xstrdup(buf);
          return -1;
        }
      }
      break;
    }
    if (n == 0) *top = st;
    out[n++] = layers[i - 1];
    autofree char *p = xasprintf("%s/%s", layers[i - 1], rel);
    if (opaque || is_opaque(p)) break;
  }
  return n;
}

static void set_meta(const char *path, const struct stat *st, bool link) {
  if (lchown(path, st->st_uid, st->st_gid) < 0) { /* best effort, as cp -a */
  }
  if (!link) chmod(path, st->st_mode & 07777);
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

static int copy_file(const char *src, const char *dst, const struct stat *st, arca_err *err) {
  autoclose int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) return err_errno(err, 500, errno, "open %s", src);
  autoclose int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0) return err_errno(err, 500, errno, "create %s", dst);
  char buf[65536];
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return err_errno(err, 500, errno, "read %s", src);
    if (n == 0) break;
    if (write_all(out, buf, (size_t)n) < 0) return err_errno(err, 500, errno, "write %s", dst);
  }
  set_meta(dst, st, false);
  return 0;
}

static int copy_merged(const char *const *layers, size_t nl, const char *rel, const char *dst, int depth,
                       arca_err *err);

/* Copies the entries of directory rel (as seen through dl[], topmost first) into dst. */
static int copy_dir_entries(const char *const *all, size_t nall, const char **dl, int ndl, const char *rel,
                            const char *dst, int depth, arca_err *err) {
  strmap seen;
  strmap_init(&seen);
  int rc = 0;
  for (int li = 0; li < ndl && rc == 0; li++) {
    autofree char *dir = *rel ? xasprintf("%s/%s", dl[li], rel) : xstrdup(dl[li]);
    DIR *d = opendir(dir);
    if (!d) continue;
    struct dirent *ent;
    while (rc == 0 && (ent = readdir(d))) {
      const char *name = ent->d_name;
      if (!strcmp(name, ".") || !strcmp(name, "..") || strmap_get(&seen, name)) continue;
      strmap_put(&seen, name, (void *)1);
      autofree char *src = xasprintf("%s/%s", dir, name);
      autofree char *to = xasprintf("%s/%s", dst, name);
      autofree char *sub = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
      struct stat st;
      if (lstat(src, &st) < 0 || is_whiteout(&st)) continue;
      if (S_ISDIR(st.st_mode)) {
        rc = copy_merged(all, nall, sub, to, depth + 1, err);
      } else if (S_ISREG(st.st_mode)) {
        rc = copy_file(src, to, &st, err);
      } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t len = readlink(src, target, sizeof target - 1);
        if (len < 0) continue;
        target[len] = '\0';
        if (symlink(target, to) < 0) rc = err_errno(err, 500, errno, "symlink %s", to);
        else set_meta(to, &st, true);
      } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        if (mknod(to, st.st_mode, st.st_rdev) == 0) set_meta(to, &st, false);
      }
    }
    closedir(d);
  }
  strmap_free(&seen);
  return rc;
}

static int copy_merged(const char *const *layers, size_t nl, const char *rel, const char *dst, int depth,
                       arca_err *err) {
  if (depth > 256) return err_set(err, 500, "directory tree too deep at %s", rel);
  const char **dl = xcalloc(nl + 1, sizeof *dl);
  char *link = NULL;
  struct stat top;
  int n = dir_layers(layers, nl, rel, dl, &link, &top);
  int rc = 0;
  free(link);
  if (n > 0) {
    if (mkdir(dst, 0700) < 0 && errno != EEXIST) rc = err_errno(err, 500, errno, "mkdir %s", dst);
    if (rc == 0) rc = copy_dir_entries(layers, nl, dl, n, rel, dst, depth, err);
    if (rc == 0) set_meta(dst, &top, false);
  }
  free(dl);
  return rc;
}

/* rel with every symlink on the way resolved inside the image (40 at most, as the kernel). */
static char *resolve_in_image(const char *const *layers, size_t nl, const char *dest) {
  autofree char *path = path_clean(dest);
  for (int hops = 0; hops < 40; hops++) {
    /* find the first component that is a symlink */
    autofree char *copy = xstrdup(path[0] == '/' ? path + 1 : path);
    strbuf prefix;
    sb_init(&prefix);
    char *save = NULL;
    char *restart = NULL;
    for (char *comp = strtok_r(copy, "/", &save); comp && !restart; comp = strtok_r(NULL, "/", &save)) {
      if (prefix.len) sb_puts(&prefix, "/");
      sb_puts(&prefix, comp);
      char *link = NULL;
      struct stat st;
      const char **dlp = xcalloc(nl + 1, sizeof *dlp);
      int n = dir_layers(layers, nl, prefix.buf, dlp, &link, &st);
      free(dlp);
      if (n < 0 && link) {
        const char *rest = save && *save ? save : "";
        autofree char *parent = xstrdup(prefix.buf);
        char *slash = strrchr(parent, '/');
        if (slash) *slash = '\0';
        else parent[0] = '\0';
        autofree char *joined = link[0] == '/' ? xasprintf("%s/%s", link, rest) : xasprintf("/%s/%s/%s", parent, link, rest);
        restart = path_clean(joined);
      }
      free(link);
    }
    sb_free(&prefix);
    if (!restart) return xstrdup(path[0] == '/' ? path + 1 : path);
    free(path);
    path = restart;
  }
  return NULL;
}

int volume_copy_image_content(const char *const *layers, size_t nl, const char *dest, const char *dir, arca_err *err) {
  autofree char *rel = resolve_in_image(layers, nl, dest);
  if (!rel) return 0;
  const char **dl = xcalloc(nl + 1, sizeof *dl);
  char *link = NULL;
  struct stat top;
  int n = dir_layers(layers, nl, rel, dl, &link, &top);
  free(link);
  int rc = 0;
  if (n > 0) {
    rc = copy_dir_entries(layers, nl, dl, n, rel, dir, 0, err);
    /* the volume takes the owner and mode of the image's directory */
    if (rc == 0) {
      if (chown(dir, top.st_uid, top.st_gid) < 0) {
      }
      chmod(dir, top.st_mode & 07777);
    }
  }
  free(dl);
  return rc;
}

bool dir_is_empty(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return true;
  struct dirent *ent;
  bool empty = true;
  while (empty && (ent = readdir(d))) empty = !strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..");
  closedir(d);
  return empty;
}

typedef struct size_walk {
  int64_t total;
  strmap inodes; /* "dev:ino" of files with several links */
} size_walk;

static void walk_size(const char *dir, size_walk *w, int depth) {
  if (depth > 256) return;
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *ent;
  while ((ent = readdir(d))) {
    if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
    autofree char *p = xasprintf("%s/%s", dir, ent->d_name);
    struct stat st;
    if (lstat(p, &st) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      walk_size(p, w, depth + 1);
      continue;
    }
    if (st.st_nlink > 1) {
      char key[64];
      snprintf(key, sizeof key, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
      if (strmap_get(&w->inodes, key)) continue;
      strmap_put(&w->inodes, key, (void *)1);
    }
    w->total += st.st_size;
  }
  closedir(d);
}

int64_t dir_size(const char *dir) {
  size_walk w = {0};
  strmap_init(&w.inodes);
  walk_size(dir, &w, 0);
  strmap_free(&w.inodes);
  return w.total;
}
