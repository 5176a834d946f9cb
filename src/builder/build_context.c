#include "builder/build_context.h"

#include "common/lazy_archive.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/pattern.h"
#include "common/strmap.h"
#include "common/util.h"
#include "image/layer.h"

#define MAX_LINK_HOPS 255

struct build_context {
  char *root;
  strmap sums; /* cleaned relative name -> hex sum (char*) */
};

const char *build_context_root(const build_context *c) { return c->root; }

void build_context_free(build_context *c) {
  if (!c) return;
  if (c->root) rm_rf(c->root, NULL);
  free(c->root);
  size_t i = 0;
  void *v;
  while (strmap_next(&c->sums, &i, NULL, &v)) free(v);
  strmap_free(&c->sums);
  free(c);
}

/* ---- tarsum ---- */

static char typeflag_of(struct archive_entry *e) {
  if (archive_entry_hardlink(e)) return '1';
  switch (archive_entry_filetype(e)) {
  case AE_IFLNK:
    return '2';
  case AE_IFCHR:
    return '3';
  case AE_IFBLK:
    return '4';
  case AE_IFDIR:
    return '5';
  case AE_IFIFO:
    return '6';
  default:
    return '0';
  }
}

typedef struct xattr_kv {
  const char *name;
  const void *value;
  size_t size;
} xattr_kv;

static int cmp_xattr(const void *a, const void *b) {
  return strcmp(((const xattr_kv *)a)->name, ((const xattr_kv *)b)->name);
}

static void put_field(digest_ctx *d, const char *k, const char *v) {
  digest_update(d, k, strlen(k));
  digest_update(d, v, strlen(v));
}

void build_tarsum_header(digest_ctx *d, const char *name, struct archive_entry *e) {
  char buf[64];
  put_field(d, "name", name);
  /* the header's mode field: permission bits only, as today's docker CLI writes it */
  unsigned mode = archive_entry_mode(e) & 07777;
  snprintf(buf, sizeof buf, "%u", mode);
  put_field(d, "mode", buf);
  snprintf(buf, sizeof buf, "%lld", (long long)archive_entry_uid(e));
  put_field(d, "uid", buf);
  snprintf(buf, sizeof buf, "%lld", (long long)archive_entry_gid(e));
  put_field(d, "gid", buf);
  char tf = typeflag_of(e);
  snprintf(buf, sizeof buf, "%lld", tf == '0' ? (long long)archive_entry_size(e) : 0LL);
  put_field(d, "size", buf);
  char flag[2] = {tf, 0};
  put_field(d, "typeflag", flag);
  const char *link = archive_entry_hardlink(e);
  if (!link) link = archive_entry_symlink(e);
  put_field(d, "linkname", link ? link : "");
  put_field(d, "uname", "");
  put_field(d, "gname", "");
  bool dev = tf == '3' || tf == '4';
  snprintf(buf, sizeof buf, "%lld", dev ? (long long)archive_entry_rdevmajor(e) : 0LL);
  put_field(d, "devmajor", buf);
  snprintf(buf, sizeof buf, "%lld", dev ? (long long)archive_entry_rdevminor(e) : 0LL);
  put_field(d, "devminor", buf);
  int nx = archive_entry_xattr_reset(e);
  if (nx > 0) {
    xattr_kv *kv = xcalloc((size_t)nx, sizeof *kv);
    size_t k = 0;
    const char *xn;
    const void *xv;
    size_t xs;
    while (k < (size_t)nx && archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK)
      kv[k++] = (xattr_kv){xn, xv, xs};
    qsort(kv, k, sizeof *kv, cmp_xattr);
    for (size_t i = 0; i < k; i++) {
      digest_update(d, kv[i].name, strlen(kv[i].name));
      digest_update(d, kv[i].value, kv[i].size);
    }
    free(kv);
  }
}

static void hex_of(const char digest[DIGEST_STR_SIZE], char out[65]) {
  memcpy(out, digest + 7, 65);
}

int build_tarsum_file(const char *path, const char *name, char out_hex[65], arca_err *err) {
  struct stat st;
  if (lstat(path, &st) < 0) return err_errno(err, 500, errno, "lstat %s", path);
  struct archive_entry *e = archive_entry_new();
  archive_entry_copy_stat(e, &st);
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n >= 0) {
      target[n] = 0;
      archive_entry_copy_symlink(e, target);
    }
  }
  autofree char *hname =
      S_ISDIR(st.st_mode) && !str_has_suffix(name, "/") ? xasprintf("%s/", name) : xstrdup(name);
  digest_ctx d;
  digest_init(&d);
  build_tarsum_header(&d, hname, e);
  archive_entry_free(e);
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      digest_free(&d);
      return err_errno(err, 500, errno, "open %s", path);
    }
    char buf[65536];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) digest_update(&d, buf, (size_t)r);
    if (r < 0) {
      digest_free(&d);
      return err_errno(err, 500, errno, "read %s", path);
    }
  }
  char dig[DIGEST_STR_SIZE];
  digest_final(&d, dig);
  hex_of(dig, out_hex);
  return 0;
}

/* path.Join(".", path.Join("/", name)) */
static char *sum_key(const char *name) {
  autofree char *abs = xasprintf("/%s", name);
  autofree char *clean = path_clean(abs);
  return xstrdup(clean[1] ? clean + 1 : ".");
}

static void archive_read_freep(struct archive **a) {
  if (*a) archive_read_free(*a);
}

static int hash_tar(build_context *c, int fd, arca_err *err) {
  if (lseek(fd, 0, SEEK_SET) < 0) return err_errno(err, 500, errno, "rewind the build context");
  __attribute__((cleanup(archive_read_freep))) struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_empty(a);
  if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
    return err_set(err, 400, "read the build context: %s", archive_error_string(a));
  struct archive_entry *e;
  char buf[65536];
  int r;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    const char *name = archive_entry_pathname(e);
    if (!name) continue;
    digest_ctx d;
    digest_init(&d);
    build_tarsum_header(&d, name, e);
    ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) digest_update(&d, buf, (size_t)n);
    if (n < 0) {
      digest_free(&d);
      return err_set(err, 400, "read the build context: %s", archive_error_string(a));
    }
    char dig[DIGEST_STR_SIZE], hex[65];
    digest_final(&d, dig);
    hex_of(dig, hex);
    autofree char *key = sum_key(name);
    free(strmap_put(&c->sums, key, xstrdup(hex)));
  }
  if (r != ARCHIVE_EOF)
    return err_set(err, 400, "read the build context: %s", archive_error_string(a));
  return 0;
}

int build_context_from_tar(int fd, const char *parent_dir, build_context **out, arca_err *err) {
  build_context *c = xcalloc(1, sizeof *c);
  strmap_init(&c->sums);
  char rnd[17];
  random_hex(rnd, 8);
  c->root = xasprintf("%s/build-%s", parent_dir, rnd);
  if (mkdir_p(c->root, 0700, err) < 0) {
    build_context_free(c);
    return -1;
  }
  struct stat st;
  if (fd < 0 || (fstat(fd, &st) == 0 && st.st_size == 0)) {
    *out = c; /* no body: an empty context */
    return 0;
  }
  layer_unpack_result res;
  if (lseek(fd, 0, SEEK_SET) < 0 || layer_unpack_fd(fd, c->root, NULL, NULL, &res, err) < 0 ||
      hash_tar(c, fd, err) < 0) {
    if (err->status == 500) err->status = 400;
    err_wrap(err, "Error processing tar file");
    build_context_free(c);
    return -1;
  }
  *out = c;
  return 0;
}

/* ---- paths ---- */

/* symlink.FollowSymlinkInScope(root + "/" + rel, root): NULL when rel climbs out. */
static char *follow_in_scope(const char *root, const char *rel) {
  autofree char *joined = xasprintf("/%s", rel);
  autofree char *path = path_clean(joined);
  /* Join(root, rel) leaving root is what climbing out means */
  {
    int depth = 0;
    for (const char *p = rel; *p;) {
      size_t n = strcspn(p, "/");
      if (n == 2 && !strncmp(p, "..", 2)) {
        if (--depth < 0) return NULL;
      } else if (n && !(n == 1 && *p == '.')) {
        depth++;
      }
      p += n;
      while (*p == '/') p++;
    }
  }
  strbuf b;
  sb_init(&b);
  autofree char *rest = xstrdup(path);
  int hops = 0;
  while (*rest) {
    char *slash = strchr(rest, '/');
    autofree char *p = slash ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
    char *next = xstrdup(slash ? slash + 1 : "");
    free(rest);
    rest = next;
    if (!*p) continue;
    autofree char *cand_raw = xasprintf("/%s%s", b.buf ? b.buf : "", p);
    autofree char *cand = path_clean(cand_raw);
    if (!strcmp(cand, "/")) {
      sb_free(&b);
      sb_init(&b);
      continue;
    }
    autofree char *full = xasprintf("%s%s", root, cand);
    struct stat st;
    if (lstat(full, &st) < 0 || !S_ISLNK(st.st_mode)) {
      sb_puts(&b, p);
      sb_puts(&b, "/");
      continue;
    }
    if (++hops > MAX_LINK_HOPS) {
      sb_free(&b);
      return NULL;
    }
    char target[4096];
    ssize_t n = readlink(full, target, sizeof target - 1);
    if (n < 0) {
      sb_puts(&b, p);
      sb_puts(&b, "/");
      continue;
    }
    target[n] = 0;
    if (target[0] == '/') {
      sb_free(&b);
      sb_init(&b);
    }
    char *nr = xasprintf("%s/%s", target, rest);
    free(rest);
    rest = nr;
  }
  autofree char *tail_raw = xasprintf("/%s", b.buf ? b.buf : "");
  sb_free(&b);
  autofree char *tail = path_clean(tail_raw);
  return !strcmp(tail, "/") ? xstrdup(root) : xasprintf("%s%s", root, tail);
}

char *build_path_in_scope(const char *root, const char *rel) { return follow_in_scope(root, rel); }

int build_context_full_path(const build_context *c, const char *rel, char **out, arca_err *err) {
  char *p = follow_in_scope(c->root, rel);
  if (!p) return err_set(err, 400, "forbidden path outside the build context: %s ()", rel);
  *out = p;
  return 0;
}

char *build_context_hash(const build_context *c, const char *rel) {
  autofree char *full = follow_in_scope(c->root, rel);
  if (!full) return xstrdup(rel);
  const char *r = full + strlen(c->root);
  while (*r == '/') r++;
  const char *sum = strmap_get(&c->sums, *r ? r : ".");
  return xstrdup(sum ? sum : rel);
}

void build_context_remove(build_context *c, const char *rel) {
  autofree char *full = follow_in_scope(c->root, rel);
  if (full && strcmp(full, c->root)) rm_rf(full, NULL);
}

int build_context_read_file(const build_context *c, const char *name, bool lowercase_fallback,
                            char **text, size_t *len, char **used_name, arca_err *err) {
  autofree char *full = follow_in_scope(c->root, name);
  if (!full) return err_set(err, 400, "forbidden path outside the build context: %s ()", name);
  struct stat st;
  if (stat(full, &st) < 0) {
    if (errno == ENOENT && lowercase_fallback) {
      autofree char *low = xstrdup(name);
      for (char *p = low; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
      autofree char *lfull = follow_in_scope(c->root, low);
      struct stat lst;
      if (lfull && stat(lfull, &lst) == 0)
        return build_context_read_file(c, low, false, text, len, used_name, err);
    }
    if (errno == ENOENT || errno == ENOTDIR)
      return err_set(err, 400, "Cannot locate specified Dockerfile: %s", name);
    return err_errno(err, 500, errno, "stat %s", name);
  }
  if (S_ISDIR(st.st_mode)) return err_set(err, 500, "read %s: is a directory", full);
  if (read_file(full, 64u << 20, text, len, err) < 0) return -1;
  *used_name = xstrdup(name);
  return 0;
}

int build_context_apply_dockerignore(build_context *c, const char *dockerfile, arca_err *err) {
  autofree char *full = follow_in_scope(c->root, ".dockerignore");
  autofree char *text = NULL;
  if (!full || read_file(full, 16u << 20, &text, NULL, NULL) < 0) return 0;
  pattern_list *pl = NULL;
  if (pattern_list_parse_dockerignore(text, &pl, err) < 0)
    return err_wrap(err, "error reading .dockerignore");
  const char *const files[] = {".dockerignore", dockerfile};
  for (size_t i = 0; i < ARRAY_LEN(files); i++) {
    autofree char *clean = path_clean(files[i]);
    if (pattern_list_matches(pl, clean)) build_context_remove(c, files[i]);
  }
  pattern_list_free(pl);
  return 0;
}

/* ---- COPY sources ---- */

bool build_has_wildcards(const char *s) {
  for (; *s; s++) {
    if (*s == '\\') {
      if (!s[1]) break;
      s++;
      continue;
    }
    if (*s == '*' || *s == '?' || *s == '[') return true;
  }
  return false;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char *build_dir_hash(char **sums, size_t n) {
  qsort(sums, n, sizeof *sums, cmp_str);
  strbuf sb;
  sb_init(&sb);
  for (size_t i = 0; i < n; i++) {
    if (i) sb_puts(&sb, ",");
    sb_puts(&sb, sums[i]);
  }
  char dig[DIGEST_STR_SIZE];
  digest_buffer(sb.buf ? sb.buf : "", sb.len, dig);
  sb_free(&sb);
  return xasprintf("dir:%s", dig + 7);
}

char *build_sources_hash(const char *const *hashes, size_t n) {
  if (n == 1) return xstrdup(hashes[0]);
  strbuf sb;
  sb_init(&sb);
  for (size_t i = 0; i < n; i++) {
    if (i) sb_puts(&sb, ",");
    sb_puts(&sb, hashes[i]);
  }
  char dig[DIGEST_STR_SIZE];
  digest_buffer(sb.buf ? sb.buf : "", sb.len, dig);
  sb_free(&sb);
  return xasprintf("multi:%s", dig + 7);
}

typedef struct name_vec {
  char **v;
  size_t n, cap;
} name_vec;

static void nv_push(name_vec *nv, char *s) {
  if (nv->n == nv->cap) {
    nv->cap = nv->cap ? nv->cap * 2 : 16;
    nv->v = xrealloc(nv->v, nv->cap * sizeof *nv->v);
  }
  nv->v[nv->n++] = s;
}

/* filepath.WalkDir order: the directory, then its entries by name, depth first; rel paths
 * relative to root ("" for root itself is not reported). */
static void walk(const char *root, const char *rel, name_vec *out) {
  autofree char *dir = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
  struct dirent **list = NULL;
  int n = scandir(dir, &list, NULL, alphasort);
  if (n < 0) return;
  for (int i = 0; i < n; i++) {
    const char *nm = list[i]->d_name;
    if (strcmp(nm, ".") && strcmp(nm, "..")) {
      char *child = *rel ? xasprintf("%s/%s", rel, nm) : xstrdup(nm);
      nv_push(out, child);
      autofree char *full = xasprintf("%s/%s", root, child);
      struct stat st;
      if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) walk(root, child, out);
    }
    free(list[i]);
  }
  free(list);
}

static int one_source(const build_context *c, const char *path, ctx_source **srcs, size_t *n,
                      arca_err *err) {
  autofree char *full = NULL;
  if (build_context_full_path(c, path, &full, err) < 0) return -1;
  struct stat st;
  if (stat(full, &st) < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return err_set(err, 400,
                     "file not found in build context or excluded by .dockerignore: stat %s: file "
                     "does not exist",
                     path);
    return err_errno(err, 500, errno, "stat %s", path);
  }
  ctx_source s = {.path = xstrdup(path), .full = steal_ptr(full), .is_dir = S_ISDIR(st.st_mode)};
  if (!s.is_dir) {
    autofree char *h = build_context_hash(c, path);
    s.hash = xasprintf("file:%s", h);
  } else {
    /* walkSource: every entry from the directory itself down, by its path in the context */
    const char *rel = s.full + strlen(c->root);
    while (*rel == '/') rel++;
    name_vec names = {0};
    if (*rel) nv_push(&names, xstrdup(rel));
    walk(c->root, rel, &names);
    char **sums = xcalloc(names.n + 1, sizeof *sums);
    for (size_t i = 0; i < names.n; i++) sums[i] = build_context_hash(c, names.v[i]);
    s.hash = build_dir_hash(sums, names.n);
    for (size_t i = 0; i < names.n; i++) {
      free(sums[i]);
      free(names.v[i]);
    }
    free(sums);
    free(names.v);
  }
  *srcs = xrealloc(*srcs, (*n + 1) * sizeof **srcs);
  (*srcs)[(*n)++] = s;
  return 0;
}

int build_context_sources(const build_context *c, const char *orig, ctx_source **srcs, size_t *n,
                          arca_err *err) {
  const char *p = orig;
  while (*p == '/') p++;
  if (!strncmp(p, "./", 2)) p += 2;
  if (!build_has_wildcards(p)) return one_source(c, p, srcs, n, err);
  name_vec all = {0};
  walk(c->root, "", &all);
  int rc = 0;
  for (size_t i = 0; i < all.n && rc == 0; i++) {
    bool m = false;
    arca_err merr;
    if (glob_match(p, all.v[i], &m, &merr) < 0) m = false;
    if (m) rc = one_source(c, all.v[i], srcs, n, err);
  }
  for (size_t i = 0; i < all.n; i++) free(all.v[i]);
  free(all.v);
  return rc;
}

void ctx_sources_free(ctx_source *srcs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(srcs[i].path);
    free(srcs[i].full);
    free(srcs[i].hash);
  }
  free(srcs);
}
