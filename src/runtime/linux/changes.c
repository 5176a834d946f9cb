/* docker diff of an overlay container, from its upper dir and the image's lower dirs.
 *
 * Docker (moby's ChangesDirs, the naive diff overlay2 and the containerd snapshotter use)
 * compares the container's merged tree with the image's merged tree. Only what is in the
 * upper dir can differ, so the same answer comes from walking the upper dir and looking each
 * path up in the lowers with overlay's rules (a whiteout or an opaque directory in a layer
 * hides what is below it, a non-directory hides a directory below):
 *
 * - A (1): a path the image does not have; everything below an added directory is A too.
 * - C (0): a path in both whose type/mode, uid, gid, rdev, security.capability, or (not for
 *   directories) size or mtime (seconds, when either side has no nanoseconds) differ; and a
 *   directory with any change below it that is not A or C itself. The root is never listed.
 * - D (2): a whiteout (char 0/0) over a path the image has; under an opaque upper directory
 *   (removed and made again), every name of the image's directory the upper one lacks.
 *   Nothing below a deleted directory is listed.
 *
 * The list is sorted by path (bytewise). lower_dirs are lowest first; nlower may be 0. */
#include "runtime/linux/lx_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"
#define CAPABILITY_XATTR "security.capability"

typedef struct change {
  char *path;
  int kind;
} change;

typedef struct differ {
  const char *const *lowers; /* lowest first */
  size_t nlower;
  change *list;
  size_t n, cap;
} differ;

static void add_change(differ *d, const char *path, int kind) {
  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 64;
    d->list = xrealloc(d->list, d->cap * sizeof *d->list);
  }
  d->list[d->n++] = (change){.path = xstrdup(path), .kind = kind};
}

static bool is_whiteout(const struct stat *st) { return S_ISCHR(st->st_mode) && st->st_rdev == 0; }

static bool opaque_at(const char *path) {
  char v[2];
  ssize_t n = lgetxattr(path, OPAQUE_XATTR, v, sizeof v);
  return n == 1 && v[0] == 'y';
}

/* Reads an xattr into buf (cap bytes); length, or -1 when absent. */
static ssize_t xattr_at(const char *path, const char *name, char *buf, size_t cap) {
  ssize_t n = lgetxattr(path, name, buf, cap);
  return n < 0 ? -1 : n;
}

/* What one layer says about `path` ("/a/b", "" for the root). The ancestors are checked
 * one by one with lstat before the path is used whole, so a symlink in a layer (absolute
 * ones included) is never followed out onto the host. */
typedef enum probe {
  PROBE_FOUND,  /* the layer has the node (*st); `stop` says whether it hides lower layers */
  PROBE_ABSENT, /* not in this layer; look further down unless `stop` */
  PROBE_GONE,   /* whited out, or a non-directory on the way: the image has nothing here */
} probe;

static probe probe_layer(const char *layer, const char *path, struct stat *st, bool *stop) {
  *stop = false;
  autofree char *p = xasprintf("%s%s", layer, path);
  size_t base = strlen(layer);
  for (char *slash = *path ? strchr(p + base + 1, '/') : NULL; slash;
       slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    struct stat ast;
    int rc = lstat(p, &ast);
    bool opaque = rc == 0 && S_ISDIR(ast.st_mode) && opaque_at(p);
    *slash = '/';
    if (rc < 0) return PROBE_ABSENT; /* *stop as set by a higher ancestor */
    if (!S_ISDIR(ast.st_mode)) return PROBE_GONE;
    if (opaque) *stop = true;
  }
  if (lstat(p, st) < 0) return PROBE_ABSENT;
  if (is_whiteout(st)) return PROBE_GONE;
  if (!S_ISDIR(st->st_mode) || opaque_at(p)) *stop = true;
  return PROBE_FOUND;
}

/* The image's view of `path`: the stat and host path of the node in the topmost lower that
 * has it, honouring whiteouts and opaque directories. *host is malloc'd. */
static bool lookup_old(const differ *d, const char *path, struct stat *st, char **host) {
  for (size_t i = d->nlower; i > 0; i--) {
    bool stop;
    probe pr = probe_layer(d->lowers[i - 1], path, st, &stop);
    if (pr == PROBE_FOUND) {
      *host = xasprintf("%s%s", d->lowers[i - 1], path);
      return true;
    }
    if (pr == PROBE_GONE || stop) return false;
  }
  return false;
}

static int compare_str(const void *a, const void *b) { return strcmp(a, b); }

/* Adds name to the tree unless there (then it is freed). */
static void name_add(void **tree, char *name) {
  if (*(char **)tsearch(name, tree, compare_str) != name) free(name);
}

/* The names the image has in directory `path` ("" for the root), whiteouts applied. */
static void list_old(const differ *d, const char *path, void **names) {
  void *hidden = NULL; /* names a higher layer whited out */
  for (size_t i = d->nlower; i > 0; i--) {
    struct stat st;
    bool stop;
    probe pr = probe_layer(d->lowers[i - 1], path, &st, &stop);
    if (pr == PROBE_GONE) break;
    if (pr == PROBE_ABSENT) {
      if (stop) break;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) break; /* a file here hides the directories below */
    autofree char *dir = xasprintf("%s%s", d->lowers[i - 1], path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dh && fd >= 0) close(fd);
    if (dh) {
      struct dirent *de;
      while ((de = readdir(dh))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (tfind(de->d_name, &hidden, compare_str)) continue;
        struct stat cst;
        bool whiteout =
            fstatat(dirfd(dh), de->d_name, &cst, AT_SYMLINK_NOFOLLOW) == 0 && is_whiteout(&cst);
        /* A name a higher layer has shadows the same name below: already listed. */
        name_add(whiteout ? &hidden : names, xstrdup(de->d_name));
      }
      closedir(dh);
    }
    if (stop) break;
  }
  tdestroy(hidden, free);
}

/* Go's statDifferent plus the capability comparison. */
static bool differs(const struct stat *o, const char *old_host, const struct stat *n,
                    const char *new_host) {
  if (o->st_mode != n->st_mode || o->st_uid != n->st_uid || o->st_gid != n->st_gid ||
      o->st_rdev != n->st_rdev)
    return true;
  if (!S_ISDIR(o->st_mode)) {
    if (o->st_size != n->st_size) return true;
    bool same_time = (o->st_mtim.tv_sec == n->st_mtim.tv_sec &&
                      (o->st_mtim.tv_nsec == n->st_mtim.tv_nsec || o->st_mtim.tv_nsec == 0 ||
                       n->st_mtim.tv_nsec == 0));
    if (!same_time) return true;
  }
  char a[512], b[512];
  ssize_t la = xattr_at(old_host, CAPABILITY_XATTR, a, sizeof a);
  ssize_t lb = xattr_at(new_host, CAPABILITY_XATTR, b, sizeof b);
  return la != lb || (la > 0 && memcmp(a, b, (size_t)la) != 0);
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int diff_node(differ *d, const char *upper, const char *path, const struct stat *st,
                     bool has_old, bool added, arca_err *err);

/* Children of the upper directory at path (new node st; the image's node exists as a
 * directory when old_dir). */
static int diff_children(differ *d, const char *upper, const char *path, bool old_dir, bool opaque,
                         arca_err *err) {
  autofree char *dir = xasprintf("%s%s", upper, path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
  if (!dh) {
    int e = errno;
    if (fd >= 0) close(fd);
    /* Gone or swapped for something else while the container runs: nothing to list. */
    return e == ENOENT || e == ENOTDIR || e == ELOOP ? 0 : err_errno(err, 500, e, "open %s", dir);
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(dh))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      names = xrealloc(names, cap * sizeof *names);
    }
    names[n++] = xstrdup(de->d_name);
  }
  closedir(dh);
  if (n) qsort(names, n, sizeof *names, compare_names);

  void *old_names = NULL;
  if (old_dir && opaque) list_old(d, strcmp(path, "/") == 0 ? "" : path, &old_names);
  const char *prefix = strcmp(path, "/") == 0 ? "" : path;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    autofree char *child = xasprintf("%s/%s", prefix, names[i]);
    autofree char *host = xasprintf("%s%s", upper, child);
    struct stat cst;
    if (lstat(host, &cst) < 0) {
      if (errno != ENOENT) rc = err_errno(err, 500, errno, "stat %s", host);
      continue;
    }
    /* Present in the upper dir, whiteout or not: not a vanished name of an opaque dir. */
    void *found = tfind(names[i], &old_names, compare_str);
    if (found) {
      char *name = *(char **)found;
      tdelete(names[i], &old_names, compare_str);
      free(name);
    }
    struct stat ost;
    autofree char *old_host = NULL;
    bool has_old = old_dir && lookup_old(d, child, &ost, &old_host);
    if (is_whiteout(&cst)) {
      if (has_old) add_change(d, child, RT_CHANGE_DELETED);
      continue;
    }
    bool changed = has_old && differs(&ost, old_host, &cst, host);
    if (changed) add_change(d, child, RT_CHANGE_MODIFIED);
    rc = diff_node(d, upper, child, &cst, has_old, changed, err);
  }
  /* What the image had in a directory that was removed and made again. */
  while (old_names) {
    char *name = *(char **)old_names;
    autofree char *child = xasprintf("%s/%s", prefix, name);
    add_change(d, child, RT_CHANGE_DELETED);
    tdelete(name, &old_names, compare_str);
    free(name);
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  return rc;
}

/* ChangesDirs' addChanges for one node of the new tree that is in the upper dir. */
static int diff_node(differ *d, const char *upper, const char *path, const struct stat *st,
                     bool has_old, bool added, arca_err *err) {
  size_t at_entry = d->n;
  if (!has_old) {
    add_change(d, path, RT_CHANGE_ADDED);
    added = true;
  }
  if (!S_ISDIR(st->st_mode)) return 0;
  autofree char *host = xasprintf("%s%s", upper, path);
  struct stat ost;
  autofree char *old_host = NULL;
  bool old_dir = has_old && lookup_old(d, path, &ost, &old_host) && S_ISDIR(ost.st_mode);
  if (diff_children(d, upper, path, old_dir, opaque_at(host), err) < 0) return -1;
  if (d->n > at_entry && !added && strcmp(path, "/") != 0) add_change(d, path, RT_CHANGE_MODIFIED);
  return 0;
}

static int compare_changes(const void *a, const void *b) {
  return strcmp(((const change *)a)->path, ((const change *)b)->path);
}

int lx_changes(const char *upper_dir, const char *const *lower_dirs, size_t nlower, json_t **out,
               arca_err *err) {
  *out = NULL;
  struct stat st;
  if (lstat(upper_dir, &st) < 0) return err_errno(err, 500, errno, "stat %s", upper_dir);
  differ d = {.lowers = lower_dirs, .nlower = nlower};
  int rc = diff_node(&d, upper_dir, "/", &st, true, true, err);
  if (rc == 0) {
    if (d.n) qsort(d.list, d.n, sizeof *d.list, compare_changes);
    json_t *arr = json_array();
    for (size_t i = 0; i < d.n; i++)
      json_array_append_new(
          arr, json_pack("{s:s, s:i}", "Path", d.list[i].path, "Kind", d.list[i].kind));
    *out = arr;
  }
  for (size_t i = 0; i < d.n; i++) free(d.list[i].path);
  free(d.list);
  return rc;
}
