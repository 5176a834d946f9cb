/* COPY and ADD (moby builder/dockerfile copy.go, internals.go performCopy): sources from the
 * context, another stage or image (--from), or a URL (ADD); the checksum that keys the
 * cache; then the step's layer, made as dockerd's overlay upper would hold it: the copied
 * files at their paths in the image, and every parent directory they go into (copied up
 * with the image's owner and mode, or new).
 *
 * The image's file system is read through an image_view of its layer directories (no
 * container, no mount): destinations and their symlinks are resolved in it, --from sources
 * and --chown's /etc/passwd and /etc/group come from it. So files the runtime manages in
 * containers (/etc/hosts, /etc/resolv.conf) and VOLUME paths are ordinary paths here, as in
 * dockerd's build.
 *
 * Directory semantics as Docker: a directory source copies its contents; a file goes to
 * dest/<name> when dest is an existing directory or ends in '/'; missing parents are made
 * 0755 (owned by --chown's user for a file, by root for a directory's parents); ADD unpacks
 * a local tar archive (any compression) into dest, keeping the archive's owners. */
#include "common/lazy_archive.h"
#include "common/lazy_curl.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/copy_tar.h"
#include "builder/image_view.h"
#include "builder/run_config.h"
#include "common/cleanup.h"
#include "common/pattern.h"
#include "engine/build_internal.h"
#include "engine/engine.h"
#include "engine/image_pull.h"
#include "image/layer.h"

#define BUILDKIT_ONLY                                                                              \
  "Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit "      \
  "enabled"
#define UNNAMED "__unnamed__"

typedef struct copy_src {
  char *path; /* origPath (relative, cleaned of "./" and a leading "/") */
  char *hash;
  bool is_dir;
  bool no_decompress; /* downloaded: never unpacked */
  char *host;         /* the file or directory on this host (context, download, layer) */
  char *img_path;     /* --from: its path in the source image (directories are walked there) */
} copy_src;

typedef struct copy_ctx {
  build_job *j;
  dispatch_state *st;
  const char *cmd;
  image_view *view;   /* the image the step builds on */
  image_view *source; /* --from */
  bool from_image;
  strmap made; /* absolute paths this step writes -> (void*)1 directory, (void*)2 other */
  int64_t uid, gid;
  bool preserve; /* COPY --from without --chown: owners as in the source */
  copy_src *srcs;
  size_t nsrcs;
  /* output: a sequence of tars and archives to unpack, in order */
  copy_tar *tar;
  int tar_fd;
  char *tar_path;
  char **ops; /* "T<tar path>" or "A<dest>\n<archive path>" */
  size_t nops;
  int counter;
} copy_ctx;

static void srcs_free(copy_src *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(s[i].path);
    free(s[i].hash);
    free(s[i].host);
    free(s[i].img_path);
  }
  free(s);
}

static copy_src *src_add(copy_ctx *c) {
  c->srcs = xrealloc(c->srcs, (c->nsrcs + 1) * sizeof *c->srcs);
  copy_src *s = &c->srcs[c->nsrcs++];
  memset(s, 0, sizeof *s);
  return s;
}

static char *tmp_path(copy_ctx *c, const char *what) {
  return xasprintf("%s/%s-%d-%d", c->j->tmp_dir, what, c->j->step, c->counter++);
}

static const char *rel_of(const char *abs) {
  while (*abs == '/') abs++;
  return abs;
}

static image_view *view_of(build_job *j, const char *image_id) {
  char **dirs = NULL;
  size_t n = 0;
  if (image_id && *image_id && image_layer_dirs(j->e, image_id, &dirs, &n, NULL) < 0) n = 0;
  image_view *v = image_view_new((const char *const *)dirs, n);
  build_free_strv(dirs, n);
  return v;
}

/* ---- COPY --from: sources in another image ---- */

/* Every node under dir (not dir itself), depth first in name order. */
typedef int (*walk_fn)(void *ctx, const char *path, const iv_node *node, arca_err *err);

static int view_walk(image_view *v, const char *dir, walk_fn fn, void *ctx, arca_err *err) {
  char **names;
  size_t n;
  if (image_view_readdir(v, dir, &names, &n, err) < 0) return -1;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    autofree char *child =
        !strcmp(dir, "/") ? xasprintf("/%s", names[i]) : xasprintf("%s/%s", dir, names[i]);
    iv_node node;
    rc = image_view_lookup(v, child, false, &node, err);
    if (rc == 0 && node.exists) {
      rc = fn(ctx, child, &node, err);
      if (rc == 0 && S_ISDIR(node.st.st_mode)) rc = view_walk(v, child, fn, ctx, err);
    }
    iv_node_clear(&node);
  }
  build_free_strv(names, n);
  return rc;
}

typedef struct sums_ctx {
  char **v;
  size_t n;
} sums_ctx;

static void sums_add(sums_ctx *s, char *sum) {
  s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
  s->v[s->n++] = sum;
}

/* lazycontext's Hash: the tarsum of a file by its path from the image's root */
static int hash_node(sums_ctx *s, const char *path, const iv_node *node, arca_err *err) {
  char hex[65];
  if (build_tarsum_file(node->host, rel_of(path), hex, err) < 0) return -1;
  sums_add(s, xstrdup(hex));
  return 0;
}

static int hash_walk_fn(void *ctx, const char *path, const iv_node *node, arca_err *err) {
  return hash_node(ctx, path, node, err);
}

static int image_source(copy_ctx *c, const char *path, arca_err *err) {
  autofree char *abs = xasprintf("/%s", path);
  iv_node node;
  if (image_view_lookup(c->source, abs, true, &node, err) < 0) return -1;
  if (!node.exists) {
    iv_node_clear(&node);
    return err_set(err, 404, "stat %s: file does not exist", path);
  }
  copy_src *s = src_add(c);
  s->path = xstrdup(path);
  s->is_dir = S_ISDIR(node.st.st_mode);
  s->host = xstrdup(node.host);
  s->img_path = xstrdup(node.path);
  sums_ctx sums = {0};
  int rc = 0;
  if (!s->is_dir) {
    rc = hash_node(&sums, node.path, &node, err);
    if (rc == 0) s->hash = xasprintf("file:%s", sums.v[0]);
  } else {
    /* walkSource: the directory itself and everything below, sorted */
    if (strcmp(node.path, "/")) rc = hash_node(&sums, node.path, &node, err);
    if (rc == 0) rc = view_walk(c->source, node.path, hash_walk_fn, &sums, err);
    if (rc == 0) s->hash = build_dir_hash(sums.v, sums.n);
  }
  build_free_strv(sums.v, sums.n);
  iv_node_clear(&node);
  return rc;
}

typedef struct match_ctx {
  copy_ctx *c;
  const char *pattern;
} match_ctx;

static int match_walk_fn(void *ctx, const char *path, const iv_node *node, arca_err *err) {
  (void)node;
  match_ctx *m = ctx;
  bool hit = false;
  arca_err merr;
  if (glob_match(m->pattern, rel_of(path), &hit, &merr) < 0 || !hit) return 0;
  return image_source(m->c, rel_of(path), err);
}

static int image_sources_wild(copy_ctx *c, const char *pattern, arca_err *err) {
  /* walk below the directory above the first component with a wildcard */
  autofree char *dir = xstrdup(pattern);
  char *wild = dir;
  while (*wild && !strchr("*?[\\", *wild)) wild++;
  while (wild > dir && wild[-1] != '/') wild--;
  *wild = '\0';
  autofree char *abs = xasprintf("/%s", dir);
  autofree char *start = path_clean(abs);
  iv_node node;
  if (image_view_lookup(c->source, start, false, &node, err) < 0) return -1;
  bool walkable = node.exists && S_ISDIR(node.st.st_mode);
  iv_node_clear(&node);
  if (!walkable) return 0;
  match_ctx m = {c, pattern};
  return view_walk(c->source, start, match_walk_fn, &m, err);
}

/* ---- ADD <url> ---- */

typedef struct dl_headers {
  char *disposition;
} dl_headers;

static size_t dl_header(char *buf, size_t size, size_t nitems, void *ud) {
  dl_headers *h = ud;
  size_t n = size * nitems;
  if (n > 20 && !strncasecmp(buf, "Content-Disposition:", 20)) {
    free(h->disposition);
    h->disposition = xstrndup(buf + 20, n - 20);
  }
  return n;
}

static size_t dl_write(char *ptr, size_t size, size_t nmemb, void *ud) {
  int fd = *(int *)ud;
  return write_all(fd, ptr, size * nmemb) < 0 ? 0 : size * nmemb;
}

static char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return xstrdup(s ? s + 1 : p);
}

/* getFilenameForDownload */
static char *download_name(const char *url_path, const char *disposition) {
  if (url_path && *url_path && !str_has_suffix(url_path, "/")) {
    char *b = base_name(url_path);
    if (*b) return b;
    free(b);
  }
  if (disposition) {
    const char *f = strcasestr(disposition, "filename=");
    if (f) {
      f += 9;
      autofree char *v = xstrdup(f[0] == '"' ? f + 1 : f);
      v[strcspn(v, "\";\r\n")] = '\0';
      if (*v && !str_has_suffix(v, "/")) return base_name(v);
    }
  }
  return xstrdup("");
}

static void emit_download_progress(build_job *j, int64_t cur, int64_t total) {
  char bar[256];
  progress_bar(cur, total, bar, sizeof bar);
  json_t *m = json_pack("{s:s,s:{s:I,s:I},s:s}", "status", "Downloading", "progressDetail",
                        "current", (json_int_t)cur, "total", (json_int_t)total, "progress", bar);
  if (total <= 0) json_object_del(json_object_get(m, "progressDetail"), "total");
  bout_json(j, m);
  json_decref(m);
}

static int url_source(copy_ctx *c, const char *url, const char *dest, arca_err *err) {
  build_job *j = c->j;
  CURLU *u = curl_url();
  char *upath = NULL;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
    curl_url_cleanup(u);
    return err_set(err, 400, "parse \"%s\": invalid URL", url);
  }
  curl_url_get(u, CURLUPART_PATH, &upath, CURLU_URLDECODE);
  curl_url_cleanup(u);
  autofree char *dir = tmp_path(c, "download");
  if (mkdir_p(dir, 0700, err) < 0) {
    curl_free(upath);
    return -1;
  }
  autofree char *partial = xasprintf("%s/.partial", dir);
  autoclose int fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    curl_free(upath);
    return err_errno(err, 500, errno, "create %s", partial);
  }
  CURL *h = curl_easy_init();
  char errbuf[CURL_ERROR_SIZE] = "";
  dl_headers hdrs = {0};
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dl_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &fd);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, dl_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &hdrs);
  curl_easy_setopt(h, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  CURLcode rc = curl_easy_perform(h);
  long status = 0, filetime = -1;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(h, CURLINFO_FILETIME, &filetime);
  curl_easy_cleanup(h);
  int ret = 0;
  if (rc != CURLE_OK) {
    ret = err_set(err, 500, "Get \"%s\": %s", url, *errbuf ? errbuf : curl_easy_strerror(rc));
  } else if (status >= 400) {
    char body[512] = "";
    ssize_t n = pread(fd, body, sizeof body - 1, 0);
    if (n > 0) body[n] = 0;
    while (n > 0 && strchr(" \r\n\t", body[n - 1])) body[--n] = 0;
    ret = err_set(err, status == 404 ? 404 : 500, "failed to GET %s with status %ld: %s", url,
                  status, body);
  }
  autofree char *name = ret == 0 ? download_name(upath, hdrs.disposition) : NULL;
  curl_free(upath);
  free(hdrs.disposition);
  if (ret < 0) return -1;
  struct stat fst;
  fstat(fd, &fst);
  emit_download_progress(j, fst.st_size, fst.st_size);
  bout_stdout_raw(j, "\n", 1);
  if (!*name && str_has_suffix(dest, "/"))
    return err_set(err, 400, "cannot determine filename for source %s", url);
  const char *fname = *name ? name : UNNAMED;
  autofree char *final = xasprintf("%s/%s", dir, fname);
  if (rename(partial, final) < 0) return err_errno(err, 500, errno, "rename %s", final);
  struct timespec ts[2] = {{filetime > 0 ? filetime : 0, 0}, {filetime > 0 ? filetime : 0, 0}};
  if (filetime <= 0) {
    /* Go's zero time */
    ts[0].tv_sec = ts[1].tv_sec = -62135596800LL;
  }
  utimensat(AT_FDCWD, final, ts, 0);
  char hex[65];
  if (build_tarsum_file(final, fname, hex, err) < 0) return -1;
  copy_src *s = src_add(c);
  s->path = xstrdup(fname);
  s->host = steal_ptr(final);
  s->hash = xasprintf("file:%s", hex);
  s->no_decompress = true;
  return 0;
}

/* ---- the layer ---- */

static int flush_tar(copy_ctx *c, arca_err *err) {
  if (!c->tar) return 0;
  int rc = copy_tar_close(c->tar, err);
  c->tar = NULL;
  close(c->tar_fd);
  c->tar_fd = -1;
  if (rc < 0) return -1;
  c->ops = xrealloc(c->ops, (c->nops + 1) * sizeof *c->ops);
  c->ops[c->nops++] = xasprintf("T%s", c->tar_path);
  free(c->tar_path);
  c->tar_path = NULL;
  return 0;
}

static int need_tar(copy_ctx *c, arca_err *err) {
  if (c->tar) return 0;
  c->tar_path = tmp_path(c, "put");
  c->tar_fd = open(c->tar_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (c->tar_fd < 0) return err_errno(err, 500, errno, "create %s", c->tar_path);
  return copy_tar_open(c->tar_fd, &c->tar, err);
}

/* 1 directory, 2 other, 0 missing, in the image as this step has changed it so far;
 * *resolved (may be NULL) the path with its symlinks followed. */
static int dest_kind(copy_ctx *c, const char *abs, char **resolved, arca_err *err) {
  iv_node node;
  if (image_view_lookup(c->view, abs, true, &node, err) < 0) return -1;
  void *k = strmap_get(&c->made, node.path);
  int kind = k ? (int)(intptr_t)k : !node.exists ? 0 : S_ISDIR(node.st.st_mode) ? 1 : 2;
  if (resolved) *resolved = xstrdup(node.path);
  iv_node_clear(&node);
  return kind;
}

/* Puts dir (resolved) and its parents into the layer: those the image has as it has them
 * (an overlay copy-up), the missing ones new, 0755, owned uid:gid. */
static int mkdir_all(copy_ctx *c, const char *dir, int64_t uid, int64_t gid, arca_err *err) {
  autofree char *clean = path_clean(dir);
  if (!strcmp(clean, "/")) return 0;
  for (char *p = clean + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char save = *p;
    *p = '\0';
    void *k = strmap_get(&c->made, clean);
    if (k == (void *)2) return err_set(err, 500, "mkdir %s: not a directory", clean);
    if (!k) {
      iv_node node;
      if (image_view_lookup(c->view, clean, false, &node, err) < 0) return -1;
      int rc = 0;
      if (node.exists && !S_ISDIR(node.st.st_mode))
        rc = err_set(err, 500, "mkdir %s: not a directory", clean);
      else if (need_tar(c, err) < 0)
        rc = -1;
      else if (node.exists)
        rc = copy_tar_dir(c->tar, rel_of(clean), node.st.st_mode & 07777, node.st.st_uid,
                          node.st.st_gid, time(NULL), err);
      else
        rc = copy_tar_dir(c->tar, rel_of(clean), 0755, uid, gid, time(NULL), err);
      iv_node_clear(&node);
      if (rc < 0) return -1;
      strmap_put(&c->made, clean, (void *)1);
    }
    *p = save;
    if (!save) break;
  }
  return 0;
}

static char *parent_of(const char *path) {
  char *p = xstrdup(path);
  char *slash = strrchr(p, '/');
  if (slash == p)
    p[1] = '\0';
  else if (slash)
    *slash = '\0';
  return p;
}

typedef struct tree_ctx {
  copy_ctx *c;
  const char *from; /* the source directory in its image */
  const char *to;   /* the destination directory (resolved) */
  int64_t uid, gid;
} tree_ctx;

static int tree_walk_fn(void *ctx, const char *path, const iv_node *node, arca_err *err) {
  tree_ctx *t = ctx;
  const char *sub = path + strlen(t->from);
  while (*sub == '/') sub++;
  autofree char *dest =
      !strcmp(t->to, "/") ? xasprintf("/%s", sub) : xasprintf("%s/%s", t->to, sub);
  strmap_put(&t->c->made, dest, (void *)(intptr_t)(S_ISDIR(node->st.st_mode) ? 1 : 2));
  return copy_tar_node(t->c->tar, rel_of(dest), node->host, t->uid, t->gid, err);
}

/* copyDirectory: the destination made as root (then owned as the files are when new). */
static int copy_dir_source(copy_ctx *c, const copy_src *s, const char *dest, arca_err *err) {
  autofree char *target = NULL;
  int k = dest_kind(c, dest, &target, err);
  if (k < 0) return -1;
  if (k == 2) return err_set(err, 500, "mkdir %s: not a directory", target);
  bool existed = k == 1;
  autofree char *parent = parent_of(target);
  if (mkdir_all(c, parent, 0, 0, err) < 0 || need_tar(c, err) < 0) return -1;
  int64_t uid = c->preserve ? -1 : c->uid, gid = c->preserve ? -1 : c->gid;
  if (strcmp(target, "/") && !strmap_get(&c->made, target)) {
    iv_node node;
    if (image_view_lookup(c->view, target, false, &node, err) < 0) return -1;
    int rc;
    if (existed)
      rc = copy_tar_dir(c->tar, rel_of(target), node.st.st_mode & 07777, node.st.st_uid,
                        node.st.st_gid, time(NULL), err);
    else
      rc = copy_tar_dir(c->tar, rel_of(target), 0755, uid < 0 ? 0 : uid, gid < 0 ? 0 : gid,
                        time(NULL), err);
    iv_node_clear(&node);
    if (rc < 0) return -1;
    strmap_put(&c->made, target, (void *)1);
  }
  if (!s->img_path) return copy_tar_tree(c->tar, rel_of(target), s->host, uid, gid, err);
  tree_ctx t = {c, s->img_path, target, uid, gid};
  return view_walk(c->source, s->img_path, tree_walk_fn, &t, err);
}

static int add_archive(copy_ctx *c, const copy_src *s, const char *dest, arca_err *err) {
  autofree char *target = NULL;
  int k = dest_kind(c, dest, &target, err);
  if (k < 0) return -1;
  if (k == 2) return err_set(err, 500, "mkdir %s: not a directory", target);
  if (mkdir_all(c, target, 0, 0, err) < 0 || flush_tar(c, err) < 0) return -1;
  c->ops = xrealloc(c->ops, (c->nops + 1) * sizeof *c->ops);
  c->ops[c->nops++] = xasprintf("A%s\n%s", target, s->host);
  return 0;
}

static char *base_name(const char *p);

static int copy_file_source(copy_ctx *c, const copy_src *s, const char *dest, bool dest_slash,
                            arca_err *err) {
  autofree char *resolved = NULL;
  int k = dest_kind(c, dest, &resolved, err);
  if (k < 0) return -1;
  autofree char *target = NULL;
  if (k == 1 || dest_slash) {
    autofree char *base = base_name(s->path);
    autofree char *joined = xasprintf("%s/%s", resolved, base);
    if (dest_kind(c, joined, &target, err) < 0) return -1;
  } else {
    target = steal_ptr(resolved);
  }
  autofree char *parent = parent_of(target);
  int64_t uid = c->preserve ? -1 : c->uid, gid = c->preserve ? -1 : c->gid;
  if (mkdir_all(c, parent, c->preserve ? 0 : c->uid, c->preserve ? 0 : c->gid, err) < 0) return -1;
  if (need_tar(c, err) < 0) return -1;
  strmap_put(&c->made, target, (void *)2);
  return copy_tar_node(c->tar, rel_of(target), s->host, uid, gid, err);
}

/* ---- --chown ---- */

static bool parse_int(const char *s, int64_t *out) {
  if (!*s) return false;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*end) return false;
  *out = v;
  return true;
}

/* The id field (third) of the line whose first field is name, in passwd/group text. */
static bool lookup_id(const char *text, const char *name, int64_t *out) {
  size_t nl = strlen(name);
  for (const char *line = text; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (len > nl && !strncmp(line, name, nl) && line[nl] == ':') {
      const char *f = line + nl + 1;
      const char *f2 = memchr(f, ':', len - nl - 1);
      if (f2) {
        *out = strtoll(f2 + 1, NULL, 10);
        return true;
      }
    }
    line = end ? end + 1 : NULL;
  }
  return false;
}

/* parseChownFlag: names looked up in the image's /etc/passwd and /etc/group; a lone user
 * is also the group. */
static int parse_chown(copy_ctx *c, const char *chown, arca_err *err) {
  autofree char *copy = xstrdup(chown);
  char *colon = strchr(copy, ':');
  if (colon && strchr(colon + 1, ':'))
    return err_set(err, 400, "invalid chown string format: %s", chown);
  const char *user = copy, *group = copy;
  if (colon) {
    *colon = '\0';
    group = colon + 1;
  }
  if (!parse_int(user, &c->uid)) {
    autofree char *text = NULL;
    if (image_view_read(c->view, "/etc/passwd", 16u << 20, &text, err) < 0)
      return err_wrap(err, "can't find uid for user %s", user);
    if (!lookup_id(text, user, &c->uid))
      return err_set(err, 400, "can't find uid for user %s: no such user: %s", user, user);
  }
  if (!parse_int(group, &c->gid)) {
    autofree char *text = NULL;
    if (image_view_read(c->view, "/etc/group", 16u << 20, &text, err) < 0)
      return err_wrap(err, "can't find gid for group %s", group);
    if (!lookup_id(text, group, &c->gid))
      return err_set(err, 400, "can't find gid for group %s: no such group: %s", group, group);
  }
  return 0;
}

/* ---- the step ---- */

/* The tars and archives unpacked in order into an empty directory: the layer's upper. */
static int put_ops(copy_ctx *c, const char *root_dir, arca_err *err) {
  for (size_t i = 0; i < c->nops; i++) {
    const char *op = c->ops[i];
    const char *dest = "/", *file = op + 1;
    autofree char *dest_copy = NULL;
    if (op[0] == 'A') {
      dest_copy = xstrndup(op + 1, strcspn(op + 1, "\n"));
      dest = dest_copy;
      file = op + 1 + strlen(dest_copy) + 1;
    }
    autoclose int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err_errno(err, 500, errno, "open %s", file);
    autofree char *dir = xasprintf("%s%s", root_dir, strcmp(dest, "/") ? dest : "");
    if (mkdir_p(dir, 0755, err) < 0) return -1;
    layer_unpack_result res;
    if (layer_unpack_fd(fd, dir, NULL, NULL, &res, err) < 0) return -1;
  }
  return 0;
}

static bool is_url(const char *s) {
  return str_has_prefix(s, "http://") || str_has_prefix(s, "https://");
}

static int resolve_from(copy_ctx *c, const char *from, arca_err *err) {
  build_job *j = c->j;
  char id[DIGEST_STR_SIZE];
  bool found = false;
  for (size_t i = 0; i < j->nresults; i++)
    if (j->results[i].name && !strcasecmp(j->results[i].name, from)) {
      memcpy(id, j->results[i].image_id, DIGEST_STR_SIZE);
      found = true;
    }
  if (!found) {
    char *end;
    long long ix = strtoll(from, &end, 10);
    if (*from && !*end) {
      if ((size_t)ix == j->nresults)
        return err_set(err, 400, "invalid from flag value %s: refers to current build stage", from);
      if (ix < 0 || (size_t)ix > j->nresults)
        return err_set(err, 400, "invalid from flag value %s: index out of bounds", from);
      memcpy(id, j->results[ix].image_id, DIGEST_STR_SIZE);
      found = true;
    }
  }
  if (!found && build_get_image(j, from, j->plat_given ? j->o.platform : NULL, false, id, err) < 0)
    return err_wrap(err, "invalid from flag value %s", from);
  c->from_image = true;
  c->source = view_of(j, id);
  return 0;
}

static int do_copy(copy_ctx *c, const df_instr *in, bool add, arca_err *err) {
  build_job *j = c->j;
  dispatch_state *st = c->st;
  static const char *const refused[] = {"chmod",        "exclude", "checksum",
                                        "keep-git-dir", "unpack",  "parents"};
  for (size_t i = 0; i < ARRAY_LEN(refused); i++)
    if (df_instr_flag(in, refused[i]))
      return err_set(err, 400, "the --%s option requires BuildKit. " BUILDKIT_ONLY, refused[i]);
  const df_flag *chown_f = df_instr_flag(in, "chown");
  const df_flag *from_f = add ? NULL : df_instr_flag(in, "from");
  autofree char *chown = NULL;
  if (chown_f && build_expand(st, chown_f->value ? chown_f->value : "", &chown, err) < 0) return -1;
  if (in->nargs < 2) return err_set(err, 400, "%s requires at least two arguments", c->cmd);
  char **paths = xcalloc(in->nargs, sizeof *paths);
  size_t npaths = 0;
  autofree char *dest = NULL;
  int rc = 0;
  for (size_t i = 0; i + 1 < in->nargs && rc == 0; i++) {
    df_heredoc h;
    arca_err herr;
    if (df_heredoc_from_word(in->args[i], &h, &herr) == 1) {
      df_heredoc_clear(&h); /* the classic builder has no use for heredoc sources */
      continue;
    }
    rc = build_expand(st, in->args[i], &paths[npaths], err);
    if (rc == 0) npaths++;
  }
  if (rc == 0) rc = build_expand(st, in->args[in->nargs - 1], &dest, err);
  if (rc == 0 && from_f && from_f->value && *from_f->value)
    rc = resolve_from(c, from_f->value, err);
  /* sources and their checksums */
  for (size_t i = 0; i < npaths && rc == 0; i++) {
    if (is_url(paths[i])) {
      if (!add)
        rc = err_set(err, 400, "source can't be a URL for COPY");
      else
        rc = url_source(c, paths[i], dest, err);
    } else if (c->from_image) {
      const char *p = paths[i];
      while (*p == '/') p++;
      if (!strncmp(p, "./", 2)) p += 2;
      autofree char *clean = path_clean(*p ? p : ".");
      if (build_has_wildcards(clean))
        rc = image_sources_wild(c, clean, err);
      else
        rc = image_source(c, strcmp(clean, ".") ? clean : "", err);
    } else {
      ctx_source *cs = NULL;
      size_t ncs = 0;
      rc = build_context_sources(j->ctx, paths[i], &cs, &ncs, err);
      for (size_t k = 0; k < ncs; k++) {
        copy_src *s = src_add(c);
        s->path = xstrdup(cs[k].path);
        s->hash = xstrdup(cs[k].hash);
        s->is_dir = cs[k].is_dir;
        s->host = xstrdup(cs[k].full);
      }
      ctx_sources_free(cs, ncs);
    }
  }
  build_free_strv(paths, npaths);
  if (rc == 0 && c->nsrcs == 0) rc = err_set(err, 400, "no source files were specified");
  if (rc < 0) return err_wrap(err, "%s failed", c->cmd);
  if (c->nsrcs > 1 && !str_has_suffix(dest, "/"))
    return err_set(
        err, 400,
        "When using %s with more than one source file, the destination must be a directory "
        "and end with a /",
        c->cmd);
  const char **hashes = xcalloc(c->nsrcs + 1, sizeof *hashes);
  for (size_t i = 0; i < c->nsrcs; i++) hashes[i] = c->srcs[i].hash;
  autofree char *src_hash = build_sources_hash(hashes, c->nsrcs);
  free(hashes);
  autofree char *chown_comment = chown && *chown ? xasprintf("--chown=%s ", chown) : xstrdup("");
  autojson json_t *probe = json_deep_copy(st->cfg);
  json_t *sh = json_object_get(st->cfg, "Shell");
  json_t *cmd = json_array_size(sh) ? json_deep_copy(sh) : json_pack("[s,s]", "/bin/sh", "-c");
  json_array_append_new(
      cmd, json_sprintf("#(nop) %s %s%s in %s ", c->cmd, chown_comment, src_hash, dest));
  json_object_set_new(probe, "Cmd", cmd);
  int hit = build_probe(j, st, probe, err);
  if (hit != 0) return hit < 0 ? -1 : 0;
  c->view = view_of(j, st->image_id);
  /* normalizeDest */
  const char *wd = json_string_value(json_object_get(st->cfg, "WorkingDir")) ?: "";
  bool slash = str_has_suffix(dest, "/");
  autofree char *abs_dest = dest[0] == '/' ? xstrdup(dest) : xasprintf("/%s/%s", wd, dest);
  autofree char *clean_dest = path_clean(abs_dest);
  c->preserve = c->from_image && !(chown && *chown);
  if (chown && *chown && parse_chown(c, chown, err) < 0)
    return err_wrap(err, "unable to convert uid/gid chown string to host mapping");
  for (size_t i = 0; i < c->nsrcs; i++) {
    const copy_src *s = &c->srcs[i];
    if (s->is_dir)
      rc = copy_dir_source(c, s, clean_dest, err);
    else if (add && !s->img_path && !s->no_decompress && copy_tar_is_archive(s->host))
      rc = add_archive(c, s, clean_dest, err);
    else
      rc = copy_file_source(c, s, clean_dest, slash, err);
    if (rc < 0) return err_wrap(err, "failed to copy files");
  }
  if (flush_tar(c, err) < 0) return -1;
  step_layer layer;
  autofree char *root = tmp_path(c, "upper");
  if (mkdir_p(root, 0755, err) < 0) return -1;
  rc = put_ops(c, root, err);
  if (rc < 0) err_wrap(err, "failed to copy files");
  if (rc == 0) rc = build_layer_from_dir(j, st, root, &layer, err);
  rm_rf(root, NULL);
  if (rc < 0) return -1;
  return build_commit_image(j, st, probe, NULL, "", &layer, err);
}

int build_copy(build_job *j, dispatch_state *st, const df_instr *in, bool add, arca_err *err) {
  copy_ctx c = {.j = j, .st = st, .cmd = add ? "ADD" : "COPY", .tar_fd = -1};
  strmap_init(&c.made);
  int rc = do_copy(&c, in, add, err);
  if (c.tar) copy_tar_abort(c.tar);
  if (c.tar_fd >= 0) close(c.tar_fd);
  free(c.tar_path);
  image_view_free(c.view);
  image_view_free(c.source);
  strmap_free(&c.made);
  srcs_free(c.srcs, c.nsrcs);
  build_free_strv(c.ops, c.nops);
  return rc;
}
