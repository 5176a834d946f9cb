#include "builder/image_view.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "common/cleanup.h"
#include "common/pattern.h"
#include "common/strmap.h"
#include "common/util.h"

#define MAX_LINKS 255
#define OPAQUE_XATTR "trusted.overlay.opaque"

struct image_view {
  char **layers; /* lowest first */
  size_t n;
};

image_view *image_view_new(const char *const *layer_dirs, size_t n) {
  image_view *v = xcalloc(1, sizeof *v);
  v->layers = xcalloc(n + 1, sizeof *v->layers);
  for (size_t i = 0; i < n; i++) v->layers[i] = xstrdup(layer_dirs[i]);
  v->n = n;
  return v;
}

void image_view_free(image_view *v) {
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) free(v->layers[i]);
  free(v->layers);
  free(v);
}

void iv_node_clear(iv_node *n) {
  free(n->path);
  free(n->host);
  memset(n, 0, sizeof *n);
}

static bool is_whiteout(const struct stat *st) {
  return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(const char *path) {
  char v[4];
  ssize_t n = lgetxattr(path, OPAQUE_XATTR, v, sizeof v);
  return n == 1 && v[0] == 'y';
}

/* What the layers say about one clean absolute path, no symlink followed: 1 found (host
 * path and stat filled), 0 missing, -1 error. */
static int raw_lookup(image_view *v, const char *path, char **host, struct stat *st,
                      arca_err *err) {
  if (!strcmp(path, "/")) {
    /* the root always exists: it is a directory in the topmost layer that has one */
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFDIR | 0755;
    *host = v->n ? xstrdup(v->layers[v->n - 1]) : NULL;
    if (*host) lstat(*host, st);
    return 1;
  }
  for (size_t l = v->n; l > 0; l--) {
    const char *root = v->layers[l - 1];
    bool opaque = false;
    const char *p = path;
    while (*p) {
      const char *next = strchr(p + 1, '/');
      size_t len = next ? (size_t)(next - path) : strlen(path);
      autofree char *prefix = xstrndup(path, len);
      autofree char *full = xasprintf("%s%s", root, prefix);
      struct stat s;
      if (lstat(full, &s) < 0) {
        if (errno != ENOENT && errno != ENOTDIR)
          return err_errno(err, 500, errno, "lstat %s", full);
        break; /* this layer says nothing about path below here */
      }
      if (is_whiteout(&s)) return 0;
      if (!next) {
        *host = steal_ptr(full);
        *st = s;
        return 1;
      }
      if (!S_ISDIR(s.st_mode)) return 0;
      if (is_opaque(full)) opaque = true;
      p = next;
    }
    if (opaque) return 0;
  }
  return 0;
}

int image_view_lookup(image_view *v, const char *path, bool follow, iv_node *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  autofree char *abs = xasprintf("/%s", path);
  autofree char *rest = path_clean(abs);
  strbuf done; /* resolved prefix, "" for the root */
  sb_init(&done);
  char *todo = xstrdup(rest + 1);
  int links = 0, rc = 0;
  char *host = NULL;
  struct stat st;
  bool exists = true;
  memset(&st, 0, sizeof st);
  while (*todo) {
    char *slash = strchr(todo, '/');
    autofree char *comp = slash ? xstrndup(todo, (size_t)(slash - todo)) : xstrdup(todo);
    char *after = xstrdup(slash ? slash + 1 : "");
    free(todo);
    todo = after;
    if (!*comp || !strcmp(comp, ".")) continue;
    if (!strcmp(comp, "..")) {
      char *last = done.buf ? strrchr(done.buf, '/') : NULL;
      if (last) {
        *last = '\0';
        done.len = (size_t)(last - done.buf);
      }
      continue;
    }
    autofree char *cand = xasprintf("%s/%s", done.buf ? done.buf : "", comp);
    free(host);
    host = NULL;
    int r = raw_lookup(v, cand, &host, &st, err);
    if (r < 0) {
      rc = -1;
      break;
    }
    bool last = !*todo;
    if (r == 1 && S_ISLNK(st.st_mode) && (!last || follow)) {
      if (++links > MAX_LINKS) {
        rc = err_set(err, 500, "evalSymlinksInScope: too many links in %s", rest);
        break;
      }
      char target[4096];
      ssize_t n = readlink(host, target, sizeof target - 1);
      if (n < 0) {
        rc = err_errno(err, 500, errno, "readlink %s", host);
        break;
      }
      target[n] = '\0';
      if (target[0] == '/') {
        sb_free(&done);
        sb_init(&done);
      }
      char *nt = *todo ? xasprintf("%s/%s", target, todo) : xstrdup(target);
      free(todo);
      todo = nt;
      if (!*todo) {
        /* a link to "/" */
        free(host);
        host = NULL;
        raw_lookup(v, "/", &host, &st, err);
      }
      continue;
    }
    sb_puts(&done, "/");
    sb_puts(&done, comp);
    if (r == 0) {
      /* missing: what follows is missing too, but the path is still resolved (the
       * remaining components taken as they are) */
      exists = false;
      while (*todo) {
        char *s2 = strchr(todo, '/');
        autofree char *c2 = s2 ? xstrndup(todo, (size_t)(s2 - todo)) : xstrdup(todo);
        char *a2 = xstrdup(s2 ? s2 + 1 : "");
        free(todo);
        todo = a2;
        if (!*c2 || !strcmp(c2, ".")) continue;
        if (!strcmp(c2, "..")) {
          char *lst = strrchr(done.buf, '/');
          if (lst) {
            *lst = '\0';
            done.len = (size_t)(lst - done.buf);
          }
          continue;
        }
        sb_puts(&done, "/");
        sb_puts(&done, c2);
      }
      break;
    }
    if (!last && !S_ISDIR(st.st_mode)) {
      exists = false;
      break;
    }
  }
  free(todo);
  if (rc < 0) {
    free(host);
    sb_free(&done);
    return -1;
  }
  if (!done.buf || !done.len) {
    /* the root */
    free(host);
    host = NULL;
    raw_lookup(v, "/", &host, &st, err);
    exists = true;
  }
  out->exists = exists;
  out->path = done.buf && done.len ? sb_steal(&done) : xstrdup("/");
  sb_free(&done);
  if (exists) {
    out->host = host;
    out->st = st;
  } else {
    free(host);
  }
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int image_view_readdir(image_view *v, const char *dir, char ***names, size_t *n, arca_err *err) {
  *names = NULL;
  *n = 0;
  autofree char *abs = xasprintf("/%s", dir);
  autofree char *clean = path_clean(abs);
  strmap seen; /* name -> (void*)1 shown, (void*)2 hidden by a whiteout */
  strmap_init(&seen);
  char **out = NULL;
  size_t cnt = 0, cap = 0;
  for (size_t l = v->n; l > 0; l--) {
    const char *root = v->layers[l - 1];
    /* does this layer still contribute at dir? (no whiteout, non-dir or opaque above) */
    bool blocked = false, here_opaque = false;
    autofree char *full = !strcmp(clean, "/") ? xstrdup(root) : xasprintf("%s%s", root, clean);
    if (strcmp(clean, "/")) {
      const char *p = clean;
      while (*p && !blocked) {
        const char *next = strchr(p + 1, '/');
        size_t len = next ? (size_t)(next - clean) : strlen(clean);
        autofree char *prefix = xstrndup(clean, len);
        autofree char *pf = xasprintf("%s%s", root, prefix);
        struct stat s;
        if (lstat(pf, &s) < 0) break;
        if (is_whiteout(&s) || !S_ISDIR(s.st_mode))
          blocked = true;
        else if (is_opaque(pf))
          here_opaque = true;
        p = next ? next : p + strlen(p);
      }
    } else if (is_opaque(full)) {
      here_opaque = true;
    }
    if (blocked) break;
    DIR *d = opendir(full);
    if (d) {
      struct dirent *ent;
      while ((ent = readdir(d))) {
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
        if (strmap_get(&seen, ent->d_name)) continue;
        autofree char *child = xasprintf("%s/%s", full, ent->d_name);
        struct stat s;
        bool wh = lstat(child, &s) == 0 && is_whiteout(&s);
        strmap_put(&seen, ent->d_name, (void *)(intptr_t)(wh ? 2 : 1));
        if (wh) continue;
        if (cnt == cap) {
          cap = cap ? cap * 2 : 32;
          out = xrealloc(out, cap * sizeof *out);
        }
        out[cnt++] = xstrdup(ent->d_name);
      }
      closedir(d);
    } else if (errno != ENOENT && errno != ENOTDIR) {
      int e = errno;
      strmap_free(&seen);
      for (size_t i = 0; i < cnt; i++) free(out[i]);
      free(out);
      return err_errno(err, 500, e, "read directory %s", full);
    }
    /* an opaque directory (or one at a prefix) hides the layers below */
    if (here_opaque) break;
  }
  strmap_free(&seen);
  if (cnt) qsort(out, cnt, sizeof *out, cmp_str);
  *names = out;
  *n = cnt;
  return 0;
}

int image_view_read(image_view *v, const char *path, size_t max, char **out, arca_err *err) {
  iv_node node;
  if (image_view_lookup(v, path, true, &node, err) < 0) return -1;
  int rc;
  if (!node.exists || !S_ISREG(node.st.st_mode))
    rc = err_set(err, 404, "open %s: no such file or directory", path);
  else
    rc = read_file(node.host, max, out, NULL, err);
  iv_node_clear(&node);
  return rc;
}
