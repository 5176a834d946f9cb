/* COPY and ADD (moby builder/dockerfile copy.go, internals.go performCopy): sources from the
 * context, another stage or image (--from), or a URL (ADD); the checksum that keys the
 * cache; then one tar of the result, put into a container made from the current image and
 * committed as the step's layer. On scratch there is no container: the tar unpacked into
 * an empty directory is the layer.
 *
 * Directory semantics as Docker: a directory source copies its contents; a file goes to
 * dest/<name> when dest is an existing directory or ends in '/'; missing parents are made
 * 0755 (owned by --chown's user for a file, by root for a directory's parents); ADD unpacks
 * a local tar archive (any compression) into dest, keeping the archive's owners. */
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/copy_tar.h"
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
#define GO_MODE_DIR (1u << 31)
#define GO_MODE_SYMLINK (1u << 27)
#define UNNAMED "__unnamed__"

typedef struct copy_src {
  char *path; /* origPath (relative, cleaned of "./" and leading "/") */
  char *hash;
  bool is_dir;
  bool no_decompress; /* downloaded: never unpacked */
  char *host;         /* context or downloaded file on this host */
  char *tar;          /* image source: a tar of it read out of the source container */
} copy_src;

typedef struct copy_ctx {
  build_job *j;
  dispatch_state *st;
  const char *cmd;
  char target[65];
  bool have_target;
  char source[65];
  bool have_source, from_image, source_empty;
  strmap created; /* absolute paths this step makes -> (void*)1 dir, (void*)2 file */
  int64_t uid, gid;
  bool preserve; /* COPY --from without --chown: owners as in the source */
  copy_src *srcs;
  size_t nsrcs;
  /* output: a sequence of tars and archives to put, in order */
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
    free(s[i].tar);
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

/* ---- reading the source image ---- */

/* path_stat with a final symlink followed: 1 dir, 2 other, 0 missing; *resolved the path
 * the link leads to (or path). */
static int ctr_kind(build_job *j, const char *cid, const char *path, char **resolved,
                    arca_err *err) {
  rt_driver *d = j->e->driver;
  rt_path_stat s;
  arca_err perr;
  if (resolved) *resolved = xstrdup(path);
  if (d->ops->path_stat(d, cid, path, &s, &perr) < 0) {
    if (perr.status == 404) return 0;
    err_copy(err, &perr);
    return -1;
  }
  if (s.mode & GO_MODE_SYMLINK) {
    if (!s.link_target[0]) return 0;
    if (resolved) {
      free(*resolved);
      *resolved = xstrdup(s.link_target);
    }
    if (d->ops->path_stat(d, cid, s.link_target, &s, &perr) < 0) {
      if (perr.status == 404) return 0;
      err_copy(err, &perr);
      return -1;
    }
  }
  return s.mode & GO_MODE_DIR ? 1 : 2;
}

static int archive_out(build_job *j, const char *cid, const char *path, const char *file,
                       arca_err *err) {
  autoclose int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return err_errno(err, 500, errno, "create %s", file);
  rt_path_stat st;
  return j->e->driver->ops->archive_get(j->e->driver, cid, path, fd, &st, err);
}

typedef struct sums_ctx {
  char **v;
  size_t n;
} sums_ctx;

static void collect_sum(void *ctx, const char *name, const char *hex) {
  (void)name;
  sums_ctx *s = ctx;
  s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
  s->v[s->n++] = xstrdup(hex);
}

static char *no_rename(void *ctx, const char *name) {
  (void)ctx;
  (void)name;
  return NULL;
}

static int image_source(copy_ctx *c, const char *path, arca_err *err) {
  autofree char *abs = xasprintf("/%s", path);
  autofree char *resolved = NULL;
  int kind = c->source_empty ? 0 : ctr_kind(c->j, c->source, abs, &resolved, err);
  if (kind < 0) return -1;
  if (kind == 0) return err_set(err, 404, "stat %s: file does not exist", path);
  copy_src *s = src_add(c);
  s->path = xstrdup(path);
  s->is_dir = kind == 1;
  s->tar = tmp_path(c, "from");
  if (archive_out(c->j, c->source, resolved, s->tar, err) < 0) return -1;
  autoclose int fd = open(s->tar, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err_errno(err, 500, errno, "open %s", s->tar);
  /* lazycontext hashes each file by its path from the image's root */
  autofree char *prefix = xstrdup(resolved[0] == '/' ? resolved + 1 : resolved);
  char *slash = strrchr(prefix, '/');
  if (slash)
    slash[1] = '\0';
  else
    prefix[0] = '\0';
  sums_ctx sums = {0};
  int rc = copy_tar_from_tar(NULL, fd, no_rename, collect_sum, &sums, prefix, -1, -1, err);
  if (rc == 0) {
    if (s->is_dir)
      s->hash = build_dir_hash(sums.v, sums.n);
    else
      s->hash = xasprintf("file:%s", sums.n ? sums.v[0] : path);
  }
  build_free_strv(sums.v, sums.n);
  return rc;
}

/* Names under the non-wildcard directory prefix of a pattern, relative to "/". */
typedef struct names_ctx {
  char *prefix; /* "" or "dir/" part added to the names archive_get gives */
  char **v;
  size_t n;
} names_ctx;

static char *collect_name(void *ctx, const char *name) {
  names_ctx *nc = ctx;
  autofree char *full = xasprintf("%s%s", nc->prefix, name);
  autofree char *clean = path_clean(full);
  nc->v = xrealloc(nc->v, (nc->n + 1) * sizeof *nc->v);
  nc->v[nc->n++] = xstrdup(clean);
  return NULL;
}

static int image_sources_wild(copy_ctx *c, const char *pattern, arca_err *err) {
  if (c->source_empty) return 0;
  /* the directory above the first component with a wildcard */
  autofree char *dir = xstrdup(pattern);
  char *wild = dir;
  while (*wild && !strchr("*?[\\", *wild)) wild++;
  while (wild > dir && wild[-1] != '/') wild--;
  *wild = '\0';
  if (wild > dir) wild[-1] = '\0';
  autofree char *abs = xasprintf("/%s", dir);
  autofree char *tar = tmp_path(c, "list");
  if (archive_out(c->j, c->source, abs, tar, err) < 0) return err->status == 404 ? 0 : -1;
  /* archive_get names entries from the base name of the path on */
  autofree char *parent = *dir ? xstrdup(dir) : NULL;
  if (parent) {
    char *slash = strrchr(parent, '/');
    if (slash)
      slash[1] = '\0';
    else
      parent[0] = '\0';
  }
  names_ctx nc = {.prefix = parent ? parent : ""};
  autoclose int fd = open(tar, O_RDONLY | O_CLOEXEC);
  int rc = fd < 0 ? err_errno(err, 500, errno, "open %s", tar) : 0;
  if (rc == 0) {
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_empty(a);
    if (archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK) {
      struct archive_entry *e;
      while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        free(collect_name(&nc, archive_entry_pathname(e) ?: ""));
        archive_read_data_skip(a);
      }
    }
    archive_read_free(a);
  }
  for (size_t i = 0; rc == 0 && i < nc.n; i++) {
    bool m = false;
    arca_err merr;
    if (glob_match(pattern, nc.v[i], &m, &merr) == 0 && m) rc = image_source(c, nc.v[i], err);
  }
  build_free_strv(nc.v, nc.n);
  return rc;
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

/* ---- the copy itself ---- */

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

/* 1 dir, 2 other, 0 missing, in the image as this step has changed it so far */
static int dest_kind(copy_ctx *c, const char *abs, char **resolved, arca_err *err) {
  void *k = strmap_get(&c->created, abs);
  if (k) {
    if (resolved) *resolved = xstrdup(abs);
    return (int)(intptr_t)k;
  }
  if (!c->have_target) {
    if (resolved) *resolved = xstrdup(abs);
    return 0;
  }
  return ctr_kind(c->j, c->target, abs, resolved, err);
}

static const char *rel_of(const char *abs) {
  while (*abs == '/') abs++;
  return abs;
}

/* MkdirAll of dir: entries for each missing component, owned uid:gid, 0755. */
static int mkdir_all(copy_ctx *c, const char *dir, int64_t uid, int64_t gid, arca_err *err) {
  autofree char *clean = path_clean(dir);
  if (!strcmp(clean, "/")) return 0;
  for (char *p = clean + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char save = *p;
    *p = '\0';
    int k = dest_kind(c, clean, NULL, err);
    if (k < 0) return -1;
    if (k == 2) return err_set(err, 500, "mkdir %s: not a directory", clean);
    if (k == 0) {
      if (need_tar(c, err) < 0 ||
          copy_tar_dir(c->tar, rel_of(clean), 0755, uid, gid, time(NULL), err) < 0)
        return -1;
      strmap_put(&c->created, clean, (void *)1);
    }
    *p = save;
    if (!save) break;
  }
  return 0;
}

typedef struct rename_ctx {
  const char *dest_rel; /* where entries go, relative to "/" */
  bool dir;             /* contents of a directory (its root entry dropped) */
} rename_ctx;

static char *rename_entry(void *ctx, const char *name) {
  rename_ctx *r = ctx;
  if (!r->dir) return xstrdup(r->dest_rel);
  const char *slash = strchr(name, '/');
  if (!slash || !slash[1]) return NULL; /* the directory itself */
  return *r->dest_rel ? xasprintf("%s/%s", r->dest_rel, slash + 1) : xstrdup(slash + 1);
}

static int copy_dir_source(copy_ctx *c, const copy_src *s, const char *dest, arca_err *err) {
  int k = dest_kind(c, dest, NULL, err);
  if (k < 0) return -1;
  if (k == 2) return err_set(err, 500, "failed to copy files: mkdir %s: not a directory", dest);
  bool existed = k == 1;
  /* CopyWithTar: the destination and its parents as root; then the owner on what is new */
  if (mkdir_all(c, dest, 0, 0, err) < 0) return -1;
  if (!existed && !c->preserve && (c->uid != 0 || c->gid != 0) && strcmp(dest, "/")) {
    if (copy_tar_dir(c->tar, rel_of(dest), 0755, c->uid, c->gid, time(NULL), err) < 0) return -1;
  }
  if (need_tar(c, err) < 0) return -1;
  int64_t uid = c->preserve ? -1 : c->uid, gid = c->preserve ? -1 : c->gid;
  if (s->host) return copy_tar_tree(c->tar, rel_of(dest), s->host, uid, gid, err);
  autoclose int fd = open(s->tar, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err_errno(err, 500, errno, "open %s", s->tar);
  autofree char *dest_rel = xstrdup(rel_of(dest));
  rename_ctx rc = {.dest_rel = dest_rel, .dir = true};
  return copy_tar_from_tar(c->tar, fd, rename_entry, NULL, &rc, NULL, uid, gid, err);
}

static int add_archive(copy_ctx *c, const copy_src *s, const char *dest, arca_err *err) {
  int k = dest_kind(c, dest, NULL, err);
  if (k < 0) return -1;
  if (k == 2) return err_set(err, 500, "failed to copy files: mkdir %s: not a directory", dest);
  if (mkdir_all(c, dest, 0, 0, err) < 0 || flush_tar(c, err) < 0) return -1;
  c->ops = xrealloc(c->ops, (c->nops + 1) * sizeof *c->ops);
  autofree char *clean = path_clean(dest);
  c->ops[c->nops++] = xasprintf("A%s\n%s", clean, s->host);
  return 0;
}

static int copy_file_source(copy_ctx *c, const copy_src *s, const char *dest, bool dest_slash,
                            arca_err *err) {
  autofree char *resolved = NULL;
  int k = dest_kind(c, dest, &resolved, err);
  if (k < 0) return -1;
  autofree char *target = NULL;
  if (k == 1 || dest_slash) {
    autofree char *base = base_name(s->path);
    autofree char *joined = xasprintf("%s/%s", k == 1 ? resolved : dest, base);
    target = path_clean(joined);
    autofree char *tres = NULL;
    int tk = dest_kind(c, target, &tres, err);
    if (tk < 0) return -1;
    if (tk == 2) {
      free(target);
      target = steal_ptr(tres);
    }
  } else {
    target = k == 2 ? steal_ptr(resolved) : path_clean(dest);
  }
  autofree char *parent = xstrdup(target);
  char *slash = strrchr(parent, '/');
  if (slash == parent)
    parent[1] = '\0';
  else if (slash)
    *slash = '\0';
  int64_t uid = c->preserve ? -1 : c->uid, gid = c->preserve ? -1 : c->gid;
  if (mkdir_all(c, parent, c->preserve ? 0 : c->uid, c->preserve ? 0 : c->gid, err) < 0) return -1;
  if (need_tar(c, err) < 0) return -1;
  strmap_put(&c->created, target, (void *)2);
  if (s->host) return copy_tar_node(c->tar, rel_of(target), s->host, uid, gid, err);
  autoclose int fd = open(s->tar, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err_errno(err, 500, errno, "open %s", s->tar);
  rename_ctx rc = {.dest_rel = rel_of(target), .dir = false};
  return copy_tar_from_tar(c->tar, fd, rename_entry, NULL, &rc, NULL, uid, gid, err);
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

static int read_ctr_file(copy_ctx *c, const char *path, char **text, arca_err *err) {
  if (!c->have_target) return err_set(err, 500, "open %s: no such file or directory", path);
  autofree char *resolved = NULL;
  int k = ctr_kind(c->j, c->target, path, &resolved, err);
  if (k < 0) return -1;
  if (k != 2) return err_set(err, 500, "open %s: no such file or directory", path);
  autofree char *tar = tmp_path(c, "etc");
  if (archive_out(c->j, c->target, resolved, tar, err) < 0) return -1;
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  int rc = -1;
  if (archive_read_open_filename(a, tar, 65536) == ARCHIVE_OK) {
    struct archive_entry *e;
    if (archive_read_next_header(a, &e) == ARCHIVE_OK) {
      strbuf sb;
      sb_init(&sb);
      char buf[8192];
      ssize_t n;
      while ((n = archive_read_data(a, buf, sizeof buf)) > 0) sb_append(&sb, buf, (size_t)n);
      *text = sb.buf ? sb_steal(&sb) : xstrdup("");
      rc = 0;
    }
  }
  archive_read_free(a);
  if (rc < 0) err_set(err, 500, "open %s: no such file or directory", path);
  return rc;
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
    if (read_ctr_file(c, "/etc/passwd", &text, err) < 0)
      return err_wrap(err, "can't find uid for user %s", user);
    if (!lookup_id(text, user, &c->uid))
      return err_set(err, 400, "can't find uid for user %s: no such user: %s", user, user);
  }
  if (!parse_int(group, &c->gid)) {
    autofree char *text = NULL;
    if (read_ctr_file(c, "/etc/group", &text, err) < 0)
      return err_wrap(err, "can't find gid for group %s", group);
    if (!lookup_id(text, group, &c->gid))
      return err_set(err, 400, "can't find gid for group %s: no such group: %s", group, group);
  }
  return 0;
}

/* ---- the step ---- */

static int put_ops(copy_ctx *c, const char *root_dir, arca_err *err) {
  rt_driver *d = c->j->e->driver;
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
    if (root_dir) {
      autofree char *dir = xasprintf("%s%s", root_dir, strcmp(dest, "/") ? dest : "");
      if (mkdir_p(dir, 0755, err) < 0) return -1;
      layer_unpack_result res;
      if (layer_unpack_fd(fd, dir, NULL, NULL, &res, err) < 0) return -1;
    } else if (d->ops->archive_put(d, c->target, dest, fd, false, false, err) < 0) {
      return -1;
    }
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
  size_t n = 0;
  if (id[0]) {
    pthread_rwlock_rdlock(&j->e->images.lock);
    image *img = strmap_get(&j->e->images.by_id, id);
    n = img ? img->nlayers : 0;
    pthread_rwlock_unlock(&j->e->images.lock);
  }
  if (n == 0) {
    c->source_empty = true;
    return 0;
  }
  dispatch_state tmp = *c->st;
  memcpy(tmp.image_id, id, DIGEST_STR_SIZE);
  autojson json_t *cfg = json_pack("{s:[s,s]}", "Cmd", "/bin/sh", "#(nop) COPY --from");
  if (build_container_create(j, &tmp, cfg, false, false, c->source, err) < 0) return -1;
  c->have_source = true;
  return 0;
}

static void remove_ctr(build_job *j, const char *id) {
  arca_err e;
  container_remove(j->e, id, true, true, false, &e);
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
      df_heredoc_clear(&h);
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
    return err_set(err, 400,
                   "When using %s with more than one source file, the destination must be a "
                   "directory and end with a /",
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
  /* the files go into a container made from the current image (none on scratch) */
  if (build_image_has_layers(j, st)) {
    autojson json_t *cfg = json_pack("{s:[s,s]}", "Cmd", "/bin/sh", "#(nop) COPY");
    if (build_container_create(j, st, cfg, false, false, c->target, err) < 0) return -1;
    c->have_target = true;
  }
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
    else if (add && s->host && !s->no_decompress && copy_tar_is_archive(s->host))
      rc = add_archive(c, s, clean_dest, err);
    else
      rc = copy_file_source(c, s, clean_dest, slash, err);
    if (rc < 0) return err_wrap(err, "failed to copy files");
  }
  if (flush_tar(c, err) < 0) return -1;
  step_layer layer;
  if (c->have_target) {
    if (put_ops(c, NULL, err) < 0) return err_wrap(err, "failed to copy files");
    if (build_layer_from_container(j, st, c->target, &layer, err) < 0) return -1;
  } else {
    autofree char *root = tmp_path(c, "root");
    if (mkdir_p(root, 0755, err) < 0) return -1;
    rc = put_ops(c, root, err);
    if (rc == 0) rc = build_layer_from_dir(j, st, root, &layer, err);
    rm_rf(root, NULL);
    if (rc < 0) return -1;
  }
  return build_commit_image(j, st, probe, NULL, "", &layer, err);
}

int build_copy(build_job *j, dispatch_state *st, const df_instr *in, bool add, arca_err *err) {
  copy_ctx c = {.j = j, .st = st, .cmd = add ? "ADD" : "COPY", .tar_fd = -1};
  strmap_init(&c.created);
  int rc = do_copy(&c, in, add, err);
  if (c.tar) copy_tar_abort(c.tar);
  if (c.tar_fd >= 0) close(c.tar_fd);
  free(c.tar_path);
  if (c.have_target) remove_ctr(j, c.target);
  if (c.have_source) remove_ctr(j, c.source);
  strmap_free(&c.created);
  srcs_free(c.srcs, c.nsrcs);
  build_free_strv(c.ops, c.nops);
  return rc;
}
