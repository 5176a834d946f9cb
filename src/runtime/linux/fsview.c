/* The container's filesystem seen from the host: see lx_fsview.h. */
#include "runtime/linux/lx_fsview.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define MAX_LINKS 40 /* the kernel's MAXSYMLINKS */

static atomic_bool openat2_missing;

int fsv_openat(int dirfd, const char *name, int flags, mode_t mode) {
  flags |= O_NOFOLLOW | O_CLOEXEC;
  if (!atomic_load(&openat2_missing)) {
    struct open_how how = {
        .flags = (uint64_t)flags,
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof how);
    if (fd >= 0) return (int)fd;
    if (errno == ENOSYS)
      atomic_store(&openat2_missing, true);
    else if (errno != EPERM)
      return -1; /* EPERM may be a seccomp filter: try openat once */
  }
  return openat(dirfd, name, flags, mode);
}

int fsv_err(arca_err *err, int status, int errno_value, const char *op, const char *path) {
  char why[256];
  snprintf(why, sizeof why, "%s", strerror(errno_value));
  why[0] = (char)tolower((unsigned char)why[0]);
  return err_set(err, status, "%s %s: %s", op, path, why);
}

/* ---- path strings ------------------------------------------------------------------ */

char *fsv_clean_abs(const char *p) {
  strbuf out;
  sb_init(&out);
  const char *s = p;
  while (*s) {
    while (*s == '/') s++;
    if (!*s) break;
    size_t n = strcspn(s, "/");
    if (n == 1 && s[0] == '.') {
      /* nothing */
    } else if (n == 2 && s[0] == '.' && s[1] == '.') {
      while (out.len > 0 && out.buf[out.len - 1] != '/') out.len--;
      if (out.len > 0) out.len--; /* the slash */
    } else {
      sb_puts(&out, "/");
      sb_append(&out, s, n);
    }
    s += n;
  }
  if (out.len == 0) sb_puts(&out, "/");
  out.buf[out.len] = '\0';
  return sb_steal(&out);
}

/* Go's filepath.Base(p) == "." */
static bool names_current_dir(const char *p) {
  size_t n = strlen(p);
  while (n > 0 && p[n - 1] == '/') n--;
  if (n == 0) return *p == '\0'; /* Base("") is ".", Base("/") is "/" */
  size_t start = n;
  while (start > 0 && p[start - 1] != '/') start--;
  return n - start == 1 && p[start] == '.';
}

char *fsv_clean_user_path(const char *p) {
  autofree char *joined = xasprintf("/%s", p);
  char *clean = fsv_clean_abs(joined);
  size_t n = strlen(p);
  if (!names_current_dir(clean) && names_current_dir(p)) {
    char *c = xasprintf("%s%s.", clean, strcmp(clean, "/") == 0 ? "" : "/");
    free(clean);
    clean = c;
  }
  size_t cn = strlen(clean);
  if (n > 0 && p[n - 1] == '/' && clean[cn - 1] != '/') {
    char *c = xasprintf("%s/", clean);
    free(clean);
    clean = c;
  }
  return clean;
}

/* ---- the view -------------------------------------------------------------------- */

int fsview_mount_at(const fsview *v, const char *path) {
  for (size_t i = v->active; i > 0; i--)
    if (strcmp(v->mounts[i - 1].dest, path) == 0) return (int)(i - 1);
  return -1;
}

int fsview_open_mount(const fsview *v, int mount) {
  return open(v->mounts[mount].source, O_PATH | O_CLOEXEC);
}

static size_t depth_of(const char *p) {
  size_t d = 0;
  for (; *p; p++) d += *p == '/';
  return d;
}

int fsview_open(fsview *v, const char *rootfs, const lx_extra_mount *m, size_t nm, arca_err *err) {
  memset(v, 0, sizeof *v);
  v->root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (v->root_fd < 0) return err_errno(err, 500, errno, "open container root %s", rootfs);
  v->mounts = xcalloc(nm ? nm : 1, sizeof *v->mounts);
  /* Docker stacks mounts shallow first (sortMounts); a stable insertion keeps the given
   * order among equals, so a later mount at the same destination shadows an earlier one. */
  autofree char **clean = xcalloc(nm ? nm : 1, sizeof *clean);
  autofree size_t *order = xcalloc(nm ? nm : 1, sizeof *order);
  size_t n = 0;
  for (size_t i = 0; i < nm; i++) {
    if (!m[i].destination || !m[i].source) continue;
    clean[i] = fsv_clean_abs(m[i].destination);
    if (strcmp(clean[i], "/") == 0) continue;
    size_t j = n++;
    while (j > 0 && depth_of(clean[order[j - 1]]) > depth_of(clean[i])) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = i;
  }
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    v->active = k;
    fsv_node node;
    char *dest;
    if (fsview_resolve(v, NULL, clean[i], FSV_FOLLOW | FSV_LENIENT, &node) == 0) {
      dest = steal_ptr(node.path);
      fsv_node_free(&node);
    } else {
      dest = xstrdup(clean[i]); /* a loop or a file on the way: runc would refuse to start */
    }
    v->mounts[k] =
        (fsv_mount){.dest = dest, .source = xstrdup(m[i].source), .readonly = m[i].readonly};
  }
  v->nmounts = v->active = n;
  for (size_t i = 0; i < nm; i++) free(clean[i]);
  return 0;
}

void fsview_close(fsview *v) {
  if (v->root_fd >= 0) close(v->root_fd);
  for (size_t i = 0; i < v->nmounts; i++) {
    free(v->mounts[i].dest);
    free(v->mounts[i].source);
  }
  free(v->mounts);
  memset(v, 0, sizeof *v);
  v->root_fd = -1;
}

void fsv_node_free(fsv_node *n) {
  if (n->dirfd >= 0) close(n->dirfd);
  free(n->path);
  n->dirfd = -1;
  n->path = NULL;
}

int fsv_node_open(const fsv_node *n, int flags) {
  if (n->name[0]) return fsv_openat(n->dirfd, n->name, flags, 0);
  if (flags & O_PATH) return fcntl(n->dirfd, F_DUPFD_CLOEXEC, 0);
  /* Reopening an O_PATH descriptor through /proc gives the same inode, never a path. */
  autofree char *proc = xasprintf("/proc/self/fd/%d", n->dirfd);
  return open(proc, flags | O_CLOEXEC);
}

/* ---- the walk -------------------------------------------------------------------- */

typedef struct frame {
  int fd;
  int mount;
  bool mount_root;
  size_t path_len; /* length of the walker's path before this frame was pushed */
} frame;

typedef struct walker {
  fsview *v;
  frame *stack;
  size_t n, cap;
  strbuf path; /* container path of the top frame; "" for "/" */
} walker;

static void push(walker *w, int fd, int mount, bool mount_root, const char *name) {
  if (w->n == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 16;
    w->stack = xrealloc(w->stack, w->cap * sizeof *w->stack);
  }
  w->stack[w->n++] =
      (frame){.fd = fd, .mount = mount, .mount_root = mount_root, .path_len = w->path.len};
  if (name) {
    sb_puts(&w->path, "/");
    sb_puts(&w->path, name);
  }
}

/* ".." never leaves the first frame: it is the root of this walk. */
static void pop(walker *w) {
  if (w->n <= 1) return;
  frame *f = &w->stack[--w->n];
  close(f->fd);
  w->path.len = f->path_len;
  w->path.buf[w->path.len] = '\0';
}

static void walker_free(walker *w) {
  while (w->n > 0) close(w->stack[--w->n].fd);
  free(w->stack);
  sb_free(&w->path);
}

static const char *walker_path(walker *w) { return w->path.len ? w->path.buf : "/"; }

static char *child_path(walker *w, const char *name) {
  return w->path.len ? xasprintf("%s/%s", w->path.buf, name) : xasprintf("/%s", name);
}

static int node_here(walker *w, fsv_node *out) {
  frame *top = &w->stack[w->n - 1];
  out->dirfd = fcntl(top->fd, F_DUPFD_CLOEXEC, 0);
  if (out->dirfd < 0) return -errno;
  out->name[0] = '\0';
  out->path = xstrdup(walker_path(w));
  out->mount = top->mount;
  out->is_mountpoint = top->mount_root;
  out->exists = fstat(out->dirfd, &out->st) == 0;
  return out->exists ? 0 : -errno;
}

static int node_named(walker *w, const char *name, const struct stat *st, fsv_node *out) {
  frame *top = &w->stack[w->n - 1];
  out->dirfd = fcntl(top->fd, F_DUPFD_CLOEXEC, 0);
  if (out->dirfd < 0) return -errno;
  snprintf(out->name, sizeof out->name, "%s", name);
  out->path = child_path(w, name);
  out->mount = top->mount;
  out->exists = st != NULL;
  if (st) out->st = *st;
  return 0;
}

/* The rest of the path appended without looking at the disk (FollowSymlinkInScope keeps a
 * missing tail as it is). */
static void node_lexical(walker *w, const char *name, const char *rest, fsv_node *out) {
  autofree char *joined = xasprintf("%s/%s/%s", walker_path(w), name, rest);
  out->dirfd = -1;
  out->path = fsv_clean_abs(joined);
  out->mount = w->stack[w->n - 1].mount;
}

/* Splits off the next component of *rest (skipping slashes) into comp: 1, or 0 at the end,
 * or -ENAMETOOLONG. */
static int next_component(const char **rest, char *comp, size_t cap, bool *last, bool *slash) {
  const char *s = *rest;
  while (*s == '/') s++;
  if (!*s) return 0;
  size_t n = strcspn(s, "/");
  if (n >= cap) return -ENAMETOOLONG;
  memcpy(comp, s, n);
  comp[n] = '\0';
  s += strcspn(s, "/");
  *slash = *s == '/';
  const char *t = s;
  while (*t == '/') t++;
  *last = *t == '\0';
  *rest = s;
  return 1;
}

static int walk(walker *w, const char *path, int flags, fsv_node *out) {
  autofree char *buf = xstrdup(path);
  const char *rest = buf;
  int links = 0;
  char comp[NAME_MAX + 1];
  bool last, slash;
  for (;;) {
    int more = next_component(&rest, comp, sizeof comp, &last, &slash);
    if (more < 0) return more;
    if (more == 0) return node_here(w, out);
    if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
      if (comp[1] == '.') pop(w);
      if (last) return node_here(w, out);
      continue;
    }
    frame *top = &w->stack[w->n - 1];
    autofree char *cand = child_path(w, comp);
    int mi = fsview_mount_at(w->v, cand);
    if (mi >= 0) {
      int fd = fsview_open_mount(w->v, mi);
      if (fd < 0) return -errno;
      push(w, fd, mi, true, comp);
      if (last) return node_here(w, out);
      continue;
    }
    struct stat st;
    if (fstatat(top->fd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      int e = errno;
      if (e != ENOENT) return -e;
      if (last) return node_named(w, comp, NULL, out);
      if (flags & FSV_LENIENT) {
        node_lexical(w, comp, rest, out);
        return 0;
      }
      return -ENOENT;
    }
    if (S_ISLNK(st.st_mode) && (!last || slash || (flags & FSV_FOLLOW))) {
      if (++links > MAX_LINKS) return -ELOOP;
      char target[PATH_MAX];
      ssize_t n = readlinkat(top->fd, comp, target, sizeof target - 1);
      if (n < 0) return -errno;
      target[n] = '\0';
      if (target[0] == '/')
        while (w->n > 1) pop(w);
      /* The target takes the link's place; what followed the link (a trailing slash
       * included) still follows it. */
      char *next = xasprintf("%s%s", target, rest);
      free(buf);
      buf = next;
      rest = buf;
      continue;
    }
    if (last && !slash) return node_named(w, comp, &st, out);
    if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
    if (last) return node_named(w, comp, &st, out);
    int fd = fsv_openat(top->fd, comp, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) return -errno;
    push(w, fd, top->mount, false, comp);
  }
}

int fsview_resolve(fsview *v, const fsv_node *base, const char *path, int flags, fsv_node *out) {
  memset(out, 0, sizeof *out);
  out->dirfd = -1;
  out->mount = -1;
  walker w = {.v = v};
  sb_init(&w.path);
  int fd;
  if (!base) {
    fd = fcntl(v->root_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return -errno;
    push(&w, fd, -1, false, NULL);
  } else {
    fd = fsv_node_open(base, O_PATH | O_DIRECTORY);
    if (fd < 0) return -errno;
    push(&w, fd, base->mount, base->is_mountpoint, NULL);
    if (strcmp(base->path, "/") != 0) sb_puts(&w.path, base->path);
  }
  int rc = walk(&w, path, flags, out);
  walker_free(&w);
  if (rc < 0) {
    fsv_node_free(out);
    out->mount = -1;
  }
  return rc;
}
