/* Layer unpack, diff and digest tests. Needs root (ownership, mknod, trusted.* xattrs) and a
 * filesystem with xattrs under $TMPDIR (or /tmp); skipped otherwise. Tars are built here with
 * libarchive so every byte of input is known. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/util.h"
#include "image/digest.h"
#include "image/layer.h"

/* ---- helpers ---------------------------------------------------------------------- */

typedef struct tar_spec {
  const char *name;
  mode_t type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFIFO, AE_IFCHR; 0 with hardlink */
  mode_t perm;
  const char *content;  /* regular files */
  const char *symlink;  /* AE_IFLNK */
  const char *hardlink; /* hard link entries */
  uid_t uid;
  gid_t gid;
  int64_t mtime;
  const char *xattr_name, *xattr_value;
  unsigned rdev_major, rdev_minor;
} tar_spec;

static la_ssize_t append_cb(struct archive *a, void *opaque, const void *buf, size_t n) {
  (void)a;
  sb_append(opaque, buf, n);
  return (la_ssize_t)n;
}

/* A pax tar of the specs, padded to libarchive's default 10240-byte block, so the stream
 * carries bytes after the end-of-archive marker (which the diffID must cover). */
static void build_tar(const tar_spec *specs, size_t n, strbuf *out) {
  sb_init(out);
  struct archive *a = archive_write_new();
  assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  assert_int_equal(archive_write_open(a, out, NULL, append_cb, NULL), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++) {
    const tar_spec *s = &specs[i];
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, s->name);
    archive_entry_set_filetype(e, s->hardlink ? AE_IFREG : s->type);
    archive_entry_set_perm(e, s->perm ? s->perm : (s->type == AE_IFDIR ? 0755 : 0644));
    archive_entry_set_uid(e, s->uid);
    archive_entry_set_gid(e, s->gid);
    archive_entry_set_mtime(e, s->mtime ? s->mtime : 1700000000, 0);
    if (s->hardlink) archive_entry_set_hardlink(e, s->hardlink);
    if (s->symlink) archive_entry_set_symlink(e, s->symlink);
    if (s->type == AE_IFCHR) {
      archive_entry_set_rdevmajor(e, s->rdev_major);
      archive_entry_set_rdevminor(e, s->rdev_minor);
    }
    if (s->xattr_name)
      archive_entry_xattr_add_entry(e, s->xattr_name, s->xattr_value, strlen(s->xattr_value));
    size_t len = s->content ? strlen(s->content) : 0;
    archive_entry_set_size(e, (la_int64_t)len);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (len) assert_int_equal(archive_write_data(a, s->content, len), (la_ssize_t)len);
    archive_entry_free(e);
  }
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

static void compress_buf(const strbuf *plain, int filter, strbuf *out) {
  sb_init(out);
  struct archive *a = archive_write_new();
  assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
  assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
  archive_write_set_bytes_in_last_block(a, 1);
  assert_int_equal(archive_write_open(a, out, NULL, append_cb, NULL), ARCHIVE_OK);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "layer.tar");
  archive_entry_set_filetype(e, AE_IFREG);
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  assert_int_equal(archive_write_data(a, plain->buf, plain->len), (la_ssize_t)plain->len);
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_entry_free(e);
  archive_write_free(a);
}

static int memfd_with(const void *data, size_t n) {
  int fd = memfd_create("layer", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(write_all(fd, data, n), (ssize_t)n);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  return fd;
}

/* Reads a memfd (or any fd) back whole from offset 0. */
static void slurp_fd(int fd, strbuf *out) {
  sb_init(out);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  char buf[8192];
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0) sb_append(out, buf, (size_t)r);
  assert_true(r == 0);
}

typedef struct progress_log {
  uint64_t last;
  int calls;
} progress_log;

static void record_progress(void *ctx, uint64_t consumed) {
  progress_log *p = ctx;
  assert_true(consumed >= p->last);
  p->last = consumed;
  p->calls++;
}

static int unpack_bytes(const void *data, size_t n, const char *dir, layer_unpack_result *res,
                        progress_log *progress, arca_err *err) {
  int fd = memfd_with(data, n);
  int rc = layer_unpack_fd(fd, dir, progress ? record_progress : NULL, progress, res, err);
  close(fd);
  return rc;
}

static char *g_base; /* per-test scratch directory */

static int setup(void **state) {
  (void)state;
  const char *tmp = getenv("TMPDIR");
  g_base = xasprintf("%s/arca-layer-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(g_base));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  arca_err err;
  assert_int_equal(rm_rf(g_base, &err), 0);
  free(g_base);
  g_base = NULL;
  return 0;
}

static char *path_in(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *path_in(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *rel = NULL;
  assert_true(vasprintf(&rel, fmt, ap) >= 0);
  va_end(ap);
  char *p = xasprintf("%s/%s", g_base, rel);
  free(rel);
  return p;
}

static char *fresh_dir(const char *name) {
  char *p = path_in("%s", name);
  assert_int_equal(mkdir(p, 0755), 0);
  return p;
}

static void require_root(void) {
  if (geteuid() != 0) skip();
}

static bool exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static void assert_file_content(const char *path, const char *content) {
  char *data = NULL;
  size_t len = 0;
  arca_err err;
  assert_int_equal(read_file(path, 1 << 20, &data, &len, &err), 0);
  assert_int_equal(len, strlen(content));
  assert_memory_equal(data, content, len);
  free(data);
}

static void assert_xattr(const char *path, const char *name, const char *value) {
  char buf[256];
  ssize_t n = lgetxattr(path, name, buf, sizeof buf);
  assert_int_equal(n, (ssize_t)strlen(value));
  assert_memory_equal(buf, value, (size_t)n);
}

/* ---- digest ----------------------------------------------------------------------- */

static void test_digest_known_values(void **state) {
  (void)state;
  char out[DIGEST_STR_SIZE];
  digest_buffer("abc", 3, out);
  assert_string_equal(out,
                      "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  digest_buffer("", 0, out);
  assert_string_equal(out,
                      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  /* Streaming in uneven pieces gives the one-shot answer. */
  char big[10000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
  char whole[DIGEST_STR_SIZE], pieces[DIGEST_STR_SIZE];
  digest_buffer(big, sizeof big, whole);
  digest_ctx d;
  digest_init(&d);
  digest_update(&d, big, 1);
  digest_update(&d, big + 1, 0);
  digest_update(&d, big + 1, 4095);
  digest_update(&d, big + 4096, sizeof big - 4096);
  digest_final(&d, pieces);
  assert_null(d.md);
  digest_free(&d); /* safe after final */
  assert_string_equal(whole, pieces);
}

static void test_digest_file(void **state) {
  (void)state;
  char *path = path_in("blob");
  arca_err err;
  assert_int_equal(write_file_atomic(path, "abc", 3, 0644, &err), 0);
  char out[DIGEST_STR_SIZE];
  assert_int_equal(digest_file(path, out, &err), 0);
  assert_string_equal(out,
                      "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  char *missing = path_in("missing");
  assert_int_equal(digest_file(missing, out, &err), -1);
  assert_int_equal(err.status, 404);
  assert_non_null(strstr(err.msg, missing));

  int fd = memfd_with("abcdef", 6);
  uint64_t size = 0;
  assert_int_equal(lseek(fd, 3, SEEK_SET), 3);
  assert_int_equal(digest_fd(fd, out, &size, &err), 0);
  assert_int_equal(size, 3);
  char expect[DIGEST_STR_SIZE];
  digest_buffer("def", 3, expect);
  assert_string_equal(out, expect);
  close(fd);
  free(path);
  free(missing);
}

static void test_digest_validation(void **state) {
  (void)state;
  assert_true(digest_is_sha256(
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  assert_false(digest_is_sha256(
      "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
  assert_false(digest_is_sha256(
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
  assert_false(digest_is_sha256(
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555"));
  assert_false(digest_is_sha256(
      "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  assert_false(digest_is_sha256(""));
  assert_false(digest_is_sha256(NULL));
}

/* ---- unpack: what is kept ---------------------------------------------------------- */

static const tar_spec kFeatureTar[] = {
    {.name = "./", .type = AE_IFDIR, .perm = 0700},
    {.name = "d", .type = AE_IFDIR, .perm = 0750, .uid = 1000, .gid = 1000, .mtime = 1600000000},
    {.name = "d/f", .type = AE_IFREG, .content = "hello", .uid = 1000, .gid = 1000,
     .mtime = 1600000001, .xattr_name = "user.x", .xattr_value = "1"},
    {.name = "d/h", .hardlink = "d/f", .uid = 1000, .gid = 1000},
    {.name = "bin/su", .type = AE_IFREG, .perm = 04755, .content = "suid"},
    {.name = "lnk", .type = AE_IFLNK, .perm = 0777, .symlink = "/bin/busybox"},
    {.name = "up", .type = AE_IFLNK, .perm = 0777, .symlink = "../../../etc"},
    {.name = "p", .type = AE_IFIFO, .perm = 0600},
    {.name = "dev/null", .type = AE_IFCHR, .perm = 0666, .rdev_major = 1, .rdev_minor = 3},
    {.name = "old", .type = AE_IFDIR},
    {.name = "old/.wh.gone", .type = AE_IFREG, .uid = 1000, .gid = 1000, .mtime = 1500000000},
    {.name = "op", .type = AE_IFDIR},
    {.name = "op/.wh..wh..opq", .type = AE_IFREG},
    {.name = "newop/.wh..wh..opq", .type = AE_IFREG},
    {.name = ".wh..wh.plnk/123", .type = AE_IFREG, .content = "aufs"},
    {.name = "ov", .type = AE_IFREG, .content = "x", .xattr_name = "trusted.overlay.redirect",
     .xattr_value = "/etc"},
    {.name = "./dot//prefixed", .type = AE_IFREG, .content = "y"},
    {.name = "real", .type = AE_IFDIR},
    {.name = "sub", .type = AE_IFLNK, .perm = 0777, .symlink = "real"},
    {.name = "sub/g", .type = AE_IFREG, .content = "via symlink"},
    {.name = "hl", .hardlink = "sub/g"},
};

static void check_feature_tree(const char *dir) {
  struct stat st, st2;
  char *p;

  p = xasprintf("%s/d", dir);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0750);
  assert_int_equal(st.st_uid, 1000);
  assert_int_equal(st.st_gid, 1000);
  assert_int_equal(st.st_mtim.tv_sec, 1600000000); /* kept although children came after */
  free(p);

  p = xasprintf("%s/d/f", dir);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0644);
  assert_int_equal(st.st_uid, 1000);
  assert_int_equal(st.st_mtim.tv_sec, 1600000001);
  assert_int_equal(st.st_nlink, 2);
  assert_file_content(p, "hello");
  assert_xattr(p, "user.x", "1");
  free(p);
  p = xasprintf("%s/d/h", dir);
  assert_int_equal(lstat(p, &st2), 0);
  assert_int_equal(st.st_ino, st2.st_ino);
  free(p);

  p = xasprintf("%s/bin/su", dir);
  assert_int_equal(lstat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 04755);
  assert_int_equal(st.st_uid, 0);
  free(p);

  char target[256];
  p = xasprintf("%s/lnk", dir);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  ssize_t n = readlink(p, target, sizeof target - 1);
  assert_true(n > 0);
  target[n] = '\0';
  assert_string_equal(target, "/bin/busybox");
  free(p);
  p = xasprintf("%s/up", dir);
  n = readlink(p, target, sizeof target - 1);
  assert_true(n > 0);
  target[n] = '\0';
  assert_string_equal(target, "../../../etc");
  free(p);

  p = xasprintf("%s/p", dir);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
  free(p);

  p = xasprintf("%s/dev/null", dir);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal(major(st.st_rdev), 1);
  assert_int_equal(minor(st.st_rdev), 3);
  free(p);

  /* Whiteout: char device 0/0 under the real name, the marker file itself absent. */
  p = xasprintf("%s/old/gone", dir);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal(st.st_rdev, 0);
  assert_int_equal(st.st_uid, 1000);
  assert_int_equal(st.st_mtim.tv_sec, 1500000000);
  free(p);
  p = xasprintf("%s/old/.wh.gone", dir);
  assert_false(exists(p));
  free(p);

  /* Opaque markers: the xattr, no marker file; the directory made when missing. */
  p = xasprintf("%s/op", dir);
  assert_xattr(p, "trusted.overlay.opaque", "y");
  free(p);
  p = xasprintf("%s/op/.wh..wh..opq", dir);
  assert_false(exists(p));
  free(p);
  p = xasprintf("%s/newop", dir);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_xattr(p, "trusted.overlay.opaque", "y");
  free(p);
  p = xasprintf("%s/old", dir);
  assert_true(lgetxattr(p, "trusted.overlay.opaque", target, sizeof target) < 0);
  free(p);

  p = xasprintf("%s/.wh..wh.plnk", dir);
  assert_false(exists(p));
  free(p);

  /* A layer cannot plant overlay metadata. */
  p = xasprintf("%s/ov", dir);
  assert_file_content(p, "x");
  assert_true(lgetxattr(p, "trusted.overlay.redirect", target, sizeof target) < 0);
  assert_int_equal(errno, ENODATA);
  free(p);

  p = xasprintf("%s/dot/prefixed", dir);
  assert_file_content(p, "y");
  free(p);

  /* Through a symlink that stays inside the layer: written at its target. */
  p = xasprintf("%s/real/g", dir);
  assert_file_content(p, "via symlink");
  assert_int_equal(lstat(p, &st), 0);
  free(p);
  p = xasprintf("%s/sub", dir);
  assert_int_equal(lstat(p, &st2), 0);
  assert_true(S_ISLNK(st2.st_mode));
  free(p);
  p = xasprintf("%s/hl", dir);
  assert_int_equal(lstat(p, &st2), 0);
  assert_int_equal(st.st_ino, st2.st_ino);
  free(p);

  /* The root entry is skipped: target_dir keeps its mode. */
  assert_int_equal(lstat(dir, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0755);
}

static uint64_t feature_content_size(void) {
  uint64_t total = 0;
  for (size_t i = 0; i < ARRAY_LEN(kFeatureTar); i++) {
    const tar_spec *s = &kFeatureTar[i];
    /* Regular files that are written: not hard links, not whiteout or AUFS markers. */
    if (s->type == AE_IFREG && !s->hardlink && s->content && !strstr(s->name, ".wh."))
      total += strlen(s->content);
  }
  return total;
}

static void test_unpack_plain_keeps_everything(void **state) {
  (void)state;
  require_root();
  strbuf tar;
  build_tar(kFeatureTar, ARRAY_LEN(kFeatureTar), &tar);
  assert_int_equal(tar.len % 10240, 0); /* padded past the end marker */
  char *dir = fresh_dir("layer");
  layer_unpack_result res;
  arca_err err = {0};
  progress_log progress = {0};
  int rc = unpack_bytes(tar.buf, tar.len, dir, &res, &progress, &err);
  if (rc < 0) fail_msg("unpack: %s", err.msg);

  char expect[DIGEST_STR_SIZE];
  digest_buffer(tar.buf, tar.len, expect);
  assert_string_equal(res.diff_id, expect);
  assert_int_equal(res.uncompressed_size, tar.len);
  assert_int_equal(res.content_size, feature_content_size());
  assert_int_equal(res.content_size, 5 + 4 + 1 + 1 + 11);
  assert_int_equal(progress.last, tar.len);
  assert_true(progress.calls >= 1);
  check_feature_tree(dir);
  sb_free(&tar);
  free(dir);
}

static void unpack_compressed(int filter) {
  require_root();
  strbuf tar, packed;
  build_tar(kFeatureTar, ARRAY_LEN(kFeatureTar), &tar);
  compress_buf(&tar, filter, &packed);
  assert_true(packed.len < tar.len);
  char *dir = fresh_dir("layer");
  layer_unpack_result res;
  arca_err err = {0};
  progress_log progress = {0};
  int rc = unpack_bytes(packed.buf, packed.len, dir, &res, &progress, &err);
  if (rc < 0) fail_msg("unpack: %s", err.msg);
  char expect[DIGEST_STR_SIZE];
  digest_buffer(tar.buf, tar.len, expect);
  assert_string_equal(res.diff_id, expect); /* of the plain tar, not of what was read */
  assert_int_equal(res.uncompressed_size, tar.len);
  assert_int_equal(progress.last, packed.len); /* progress counts compressed bytes */
  check_feature_tree(dir);
  sb_free(&tar);
  sb_free(&packed);
  free(dir);
}

static void test_unpack_gzip(void **state) { (void)state; unpack_compressed(ARCHIVE_FILTER_GZIP); }
static void test_unpack_zstd(void **state) { (void)state; unpack_compressed(ARCHIVE_FILTER_ZSTD); }
static void test_unpack_bzip2(void **state) {
  (void)state;
  unpack_compressed(ARCHIVE_FILTER_BZIP2);
}
static void test_unpack_xz(void **state) { (void)state; unpack_compressed(ARCHIVE_FILTER_XZ); }

static void test_unpack_corrupt_input(void **state) {
  (void)state;
  require_root();
  arca_err err = {0};
  layer_unpack_result res;
  char *dir = fresh_dir("layer");

  /* A gzip header followed by garbage. */
  static const unsigned char bad_gzip[] = {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3,
                                           0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6};
  assert_int_equal(unpack_bytes(bad_gzip, sizeof bad_gzip, dir, &res, NULL, &err), -1);
  assert_int_equal(err.status, 500);

  /* Not a tar at all. */
  char junk[2048];
  memset(junk, 'z', sizeof junk);
  err_clear(&err);
  assert_int_equal(unpack_bytes(junk, sizeof junk, dir, &res, NULL, &err), -1);
  assert_int_equal(err.status, 500);

  /* A tar cut in the middle of a file. */
  static const tar_spec big[] = {{.name = "f", .type = AE_IFREG,
                                  .content = "0123456789012345678901234567890123456789"}};
  strbuf tar;
  build_tar(big, 1, &tar);
  err_clear(&err);
  assert_int_equal(unpack_bytes(tar.buf, 512 + 20, dir, &res, NULL, &err), -1);
  assert_int_equal(err.status, 500);
  sb_free(&tar);

  /* Empty input is no layer. */
  err_clear(&err);
  assert_int_equal(unpack_bytes("", 0, dir, &res, NULL, &err), -1);
  assert_int_equal(err.status, 500);

  /* A missing target directory. */
  char *missing = path_in("nope");
  err_clear(&err);
  assert_int_equal(unpack_bytes("", 0, missing, &res, NULL, &err), -1);
  assert_int_equal(err.status, 500);
  free(missing);
  free(dir);
}

/* ---- unpack: what is refused ------------------------------------------------------- */

typedef struct hostile_case {
  const char *label;
  tar_spec specs[3];
  size_t n;
  const char *named; /* must appear in the error message */
  const char *must_not_exist; /* relative to g_base, or absolute */
} hostile_case;

static const hostile_case kHostile[] = {
    {"dotdot", {{.name = "../escape", .type = AE_IFREG, .content = "x"}}, 1, "../escape",
     "escape"},
    {"absolute", {{.name = "/abs", .type = AE_IFREG, .content = "x"}}, 1, "/abs", "/abs"},
    {"dotdot inside",
     {{.name = "a", .type = AE_IFDIR}, {.name = "a/../../x", .type = AE_IFREG, .content = "x"}},
     2, "a/../../x", "x"},
    {"absolute symlink parent",
     {{.name = "link", .type = AE_IFLNK, .perm = 0777, .symlink = "/"},
      {.name = "link/etc/passwd", .type = AE_IFREG, .content = "pwned::0:0::/:/bin/sh\n"}},
     2, "link/etc/passwd", NULL},
    {"symlink to parent",
     {{.name = "d", .type = AE_IFLNK, .perm = 0777, .symlink = ".."},
      {.name = "d/x", .type = AE_IFREG, .content = "x"}},
     2, "d/x", "x"},
    {"symlink chain out",
     {{.name = "a", .type = AE_IFLNK, .perm = 0777, .symlink = "b/c"},
      {.name = "b/c", .type = AE_IFLNK, .perm = 0777, .symlink = "../../.."},
      {.name = "a/y", .type = AE_IFREG, .content = "x"}},
     3, "a/y", "y"},
    {"hardlink dotdot",
     {{.name = "h", .hardlink = "../../etc/passwd"}}, 1, "../../etc/passwd", NULL},
    {"hardlink absolute", {{.name = "h", .hardlink = "/etc/passwd"}}, 1, "/etc/passwd", NULL},
    {"hardlink through symlink",
     {{.name = "l", .type = AE_IFLNK, .perm = 0777, .symlink = "/etc"},
      {.name = "h", .hardlink = "l/passwd"}},
     2, "l/passwd", NULL},
    {"hardlink to nothing", {{.name = "h", .hardlink = "nothing"}}, 1, "nothing", NULL},
    {"whiteout without name", {{.name = "d/.wh..", .type = AE_IFREG}}, 1, "d/.wh..", NULL},
    {"opaque through symlink",
     {{.name = "s", .type = AE_IFLNK, .perm = 0777, .symlink = "/tmp"},
      {.name = "s/.wh..wh..opq", .type = AE_IFREG}},
     2, "s/.wh..wh..opq", NULL},
};

static void test_unpack_refuses_hostile_entries(void **state) {
  (void)state;
  require_root();
  char before[DIGEST_STR_SIZE], after[DIGEST_STR_SIZE];
  arca_err err = {0};
  assert_int_equal(digest_file("/etc/passwd", before, &err), 0);
  for (size_t i = 0; i < ARRAY_LEN(kHostile); i++) {
    const hostile_case *c = &kHostile[i];
    char *parent = path_in("case%zu", i);
    assert_int_equal(mkdir(parent, 0755), 0);
    char *dir = xasprintf("%s/t", parent);
    assert_int_equal(mkdir(dir, 0755), 0);
    strbuf tar;
    build_tar(c->specs, c->n, &tar);
    layer_unpack_result res;
    err_clear(&err);
    int rc = unpack_bytes(tar.buf, tar.len, dir, &res, NULL, &err);
    if (rc != -1) fail_msg("%s: accepted", c->label);
    if (err.status != 400) fail_msg("%s: status %d: %s", c->label, err.status, err.msg);
    if (!strstr(err.msg, c->named)) fail_msg("%s: message %s", c->label, err.msg);
    if (c->must_not_exist) {
      char *p = c->must_not_exist[0] == '/' ? xstrdup(c->must_not_exist)
                                             : xasprintf("%s/%s", parent, c->must_not_exist);
      if (exists(p)) fail_msg("%s: %s was written", c->label, p);
      free(p);
    }
    /* Nothing landed outside the layer directory. */
    DIR *d = opendir(parent);
    struct dirent *de;
    int entries = 0;
    while ((de = readdir(d)))
      if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) entries++;
    closedir(d);
    assert_int_equal(entries, 1);
    sb_free(&tar);
    free(dir);
    free(parent);
  }
  assert_int_equal(digest_file("/etc/passwd", after, &err), 0);
  assert_string_equal(before, after);
}

/* ---- diff -------------------------------------------------------------------------- */

static void set_mtime(const char *path, time_t sec, long nsec) {
  struct timespec ts[2] = {{.tv_sec = sec, .tv_nsec = nsec}, {.tv_sec = sec, .tv_nsec = nsec}};
  assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void write_text(const char *dir, const char *rel, const char *text, mode_t mode) {
  char *p = xasprintf("%s/%s", dir, rel);
  arca_err err;
  assert_int_equal(write_file_atomic(p, text, strlen(text), mode, &err), 0);
  assert_int_equal(chmod(p, mode), 0);
  free(p);
}

static void upper_bin(const char *u) {
  char *p = xasprintf("%s/bin", u);
  assert_int_equal(mkdir(p, 0755), 0);
  free(p);
  write_text(u, "bin/tool", "#!/bin/sh\n", 04755);
  p = xasprintf("%s/bin/sh", u);
  assert_int_equal(symlink("/bin/busybox", p), 0);
  set_mtime(p, 1600000100, 0);
  free(p);
}

static void upper_etc(const char *u) {
  char *p = xasprintf("%s/etc", u);
  assert_int_equal(mkdir(p, 0750), 0);
  assert_int_equal(chown(p, 1000, 1000), 0);
  free(p);
  write_text(u, "etc/conf", "conf\n", 0640);
  p = xasprintf("%s/etc/conf", u);
  assert_int_equal(chown(p, 1000, 1000), 0);
  assert_int_equal(lsetxattr(p, "user.x", "1", 1, 0), 0);
  assert_int_equal(lsetxattr(p, "trusted.overlay.origin", "zz", 2, 0), 0);
  char *q = xasprintf("%s/etc/conf2", u);
  assert_int_equal(link(p, q), 0);
  set_mtime(p, 1600000200, 123456789);
  free(p);
  free(q);
}

static void upper_specials(const char *u) {
  char *p = xasprintf("%s/fifo", u);
  assert_int_equal(mkfifo(p, 0640), 0);
  set_mtime(p, 1600000300, 0);
  free(p);
  p = xasprintf("%s/gone", u); /* an overlay whiteout */
  assert_int_equal(mknod(p, S_IFCHR, makedev(0, 0)), 0);
  assert_int_equal(lchown(p, 1000, 1000), 0);
  set_mtime(p, 1600000400, 0);
  free(p);
  p = xasprintf("%s/dev-null", u);
  assert_int_equal(mknod(p, S_IFCHR | 0666, makedev(1, 3)), 0);
  set_mtime(p, 1600000500, 0);
  free(p);
  p = xasprintf("%s/sock", u); /* sockets are not layer content */
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  assert_true(strlen(p) < sizeof addr.sun_path);
  strcpy(addr.sun_path, p);
  assert_int_equal(bind(s, (struct sockaddr *)&addr, sizeof addr), 0);
  close(s);
  free(p);
}

static void upper_opaque(const char *u) {
  char *p = xasprintf("%s/opq", u);
  assert_int_equal(mkdir(p, 0711), 0);
  assert_int_equal(lsetxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
  free(p);
  write_text(u, "opq/keep", "k", 0600);
}

/* The same tree, made in either order (so inodes and creation order differ). */
static char *make_upper(const char *name, bool reverse) {
  char *u = fresh_dir(name);
  void (*steps[])(const char *) = {upper_bin, upper_etc, upper_specials, upper_opaque};
  size_t n = ARRAY_LEN(steps);
  for (size_t i = 0; i < n; i++) steps[reverse ? n - 1 - i : i](u);
  /* Directory times last: creating children changes them. */
  const char *dirs[] = {"bin", "etc", "opq"};
  for (size_t i = 0; i < ARRAY_LEN(dirs); i++) {
    char *p = xasprintf("%s/%s", u, dirs[i]);
    set_mtime(p, 1600001000 + (time_t)i, 0);
    free(p);
  }
  char *p = xasprintf("%s/opq/keep", u);
  set_mtime(p, 1600002000, 0);
  free(p);
  p = xasprintf("%s/bin/tool", u);
  set_mtime(p, 1600002001, 0);
  free(p);
  return u;
}

/* Reads a layer tar (any compression) and checks each entry's header. */
static size_t read_entries(const strbuf *data, char names[][64], size_t max) {
  struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  assert_int_equal(archive_read_open_memory(a, data->buf, data->len), ARCHIVE_OK);
  struct archive_entry *e;
  size_t n = 0;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    assert_true(n < max);
    snprintf(names[n], 64, "%s", archive_entry_pathname(e));
    assert_false(archive_entry_atime_is_set(e));
    assert_false(archive_entry_ctime_is_set(e));
    assert_int_equal(archive_entry_mtime_nsec(e), 0);
    const char *uname = archive_entry_uname(e), *gname = archive_entry_gname(e);
    assert_true(!uname || !*uname);
    assert_true(!gname || !*gname);
    const char *xname;
    const void *xvalue;
    size_t xsize;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &xname, &xvalue, &xsize) == ARCHIVE_OK)
      assert_false(str_has_prefix(xname, "trusted.overlay."));
    if (strcmp(names[n], "etc/conf2") == 0) {
      assert_int_equal(archive_entry_xattr_count(e), 0);
      assert_non_null(archive_entry_hardlink(e));
      assert_string_equal(archive_entry_hardlink(e), "etc/conf");
    }
    if (strcmp(names[n], "etc/conf") == 0) assert_int_equal(archive_entry_xattr_count(e), 1);
    if (strcmp(names[n], ".wh.gone") == 0) {
      assert_int_equal(archive_entry_filetype(e), AE_IFREG);
      assert_int_equal(archive_entry_perm(e), 0600);
      assert_int_equal(archive_entry_size(e), 0);
      assert_int_equal(archive_entry_uid(e), 1000);
    }
    if (strcmp(names[n], "opq/.wh..wh..opq") == 0) {
      assert_int_equal(archive_entry_filetype(e), AE_IFREG);
      assert_int_equal(archive_entry_perm(e), 0711);
    }
    if (strcmp(names[n], "gone") == 0) { /* plain tar of a root: stays a device */
      assert_int_equal(archive_entry_filetype(e), AE_IFCHR);
      assert_int_equal(archive_entry_rdev(e), 0);
    }
    n++;
  }
  archive_read_free(a);
  return n;
}

static void sorted_xattrs(const char *path, strbuf *out) {
  sb_init(out);
  char list[4096];
  ssize_t len = llistxattr(path, list, sizeof list);
  assert_true(len >= 0);
  const char *names[64];
  size_t n = 0;
  for (ssize_t i = 0; i < len; i += (ssize_t)strlen(list + i) + 1)
    if (strcmp(list + i, "security.selinux") && !str_has_prefix(list + i, "trusted.overlay.origin"))
      names[n++] = list + i;
  for (size_t i = 0; i + 1 < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(names[i], names[j]) > 0) {
        const char *t = names[i];
        names[i] = names[j];
        names[j] = t;
      }
  for (size_t i = 0; i < n; i++) {
    char value[256];
    ssize_t vlen = lgetxattr(path, names[i], value, sizeof value);
    assert_true(vlen >= 0);
    sb_printf(out, "%s=", names[i]);
    sb_append(out, value, (size_t)vlen);
    sb_append(out, ";", 1);
  }
}

/* Compares two trees node by node. Sockets in a must be absent from b; a's overlay origin
 * xattr must not travel. */
static void compare_trees(const char *a, const char *b) {
  DIR *d = opendir(a);
  assert_non_null(d);
  struct dirent *de;
  size_t expected = 0;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char *pa = xasprintf("%s/%s", a, de->d_name), *pb = xasprintf("%s/%s", b, de->d_name);
    struct stat sa, sb;
    assert_int_equal(lstat(pa, &sa), 0);
    if (S_ISSOCK(sa.st_mode)) {
      assert_false(exists(pb));
      free(pa);
      free(pb);
      continue;
    }
    expected++;
    if (lstat(pb, &sb) != 0) fail_msg("%s missing", pb);
    if (sa.st_mode != sb.st_mode) fail_msg("%s: mode %o vs %o", pb, sa.st_mode, sb.st_mode);
    assert_int_equal(sa.st_uid, sb.st_uid);
    assert_int_equal(sa.st_gid, sb.st_gid);
    assert_int_equal(sa.st_rdev, sb.st_rdev);
    if (!S_ISLNK(sa.st_mode) && sa.st_mtim.tv_sec != sb.st_mtim.tv_sec)
      fail_msg("%s: mtime %ld vs %ld", pb, (long)sa.st_mtim.tv_sec, (long)sb.st_mtim.tv_sec);
    if (S_ISREG(sa.st_mode)) {
      assert_int_equal(sa.st_size, sb.st_size);
      assert_int_equal(sa.st_nlink, sb.st_nlink);
      char da[DIGEST_STR_SIZE], db[DIGEST_STR_SIZE];
      arca_err err;
      assert_int_equal(digest_file(pa, da, &err), 0);
      assert_int_equal(digest_file(pb, db, &err), 0);
      assert_string_equal(da, db);
    }
    if (S_ISLNK(sa.st_mode)) {
      char ta[256], tb[256];
      ssize_t na = readlink(pa, ta, sizeof ta), nb = readlink(pb, tb, sizeof tb);
      assert_int_equal(na, nb);
      assert_memory_equal(ta, tb, (size_t)na);
    } else {
      strbuf xa, xb;
      sorted_xattrs(pa, &xa);
      sorted_xattrs(pb, &xb);
      assert_string_equal(xa.buf ? xa.buf : "", xb.buf ? xb.buf : "");
      sb_free(&xa);
      sb_free(&xb);
    }
    if (S_ISDIR(sa.st_mode)) compare_trees(pa, pb);
    free(pa);
    free(pb);
  }
  closedir(d);
  size_t actual = 0;
  d = opendir(b);
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) actual++;
  closedir(d);
  assert_int_equal(actual, expected);
}

static void diff_to_buf(const char *dir, bool gzip, layer_diff_result *res, strbuf *out) {
  int fd = memfd_create("diff", MFD_CLOEXEC);
  assert_true(fd >= 0);
  arca_err err = {0};
  if (layer_diff_dir(dir, fd, gzip, res, &err) < 0) fail_msg("diff: %s", err.msg);
  slurp_fd(fd, out);
  close(fd);
}

static void test_diff_round_trip(void **state) {
  (void)state;
  require_root();
  char *upper = make_upper("upper", false);
  layer_diff_result res;
  strbuf gz;
  diff_to_buf(upper, true, &res, &gz);

  /* What was written is what the result describes. */
  char expect[DIGEST_STR_SIZE];
  digest_buffer(gz.buf, gz.len, expect);
  assert_string_equal(res.digest, expect);
  assert_int_equal(res.compressed_size, gz.len);
  assert_true(gz.len >= 10);
  assert_int_equal((unsigned char)gz.buf[0], 0x1f);
  assert_int_equal((unsigned char)gz.buf[1], 0x8b);
  assert_memory_equal(gz.buf + 4, "\0\0\0\0", 4); /* no timestamp in the gzip header */

  char names[32][64];
  size_t n = read_entries(&gz, names, 32);
  static const char *const want[] = {
      "bin/",  "bin/sh", "bin/tool", "dev-null", "etc/", "etc/conf", "etc/conf2",
      "fifo",  ".wh.gone", "opq/", "opq/.wh..wh..opq", "opq/keep"};
  assert_int_equal(n, ARRAY_LEN(want));
  for (size_t i = 0; i < n; i++) assert_string_equal(names[i], want[i]);

  /* Unpacked elsewhere it is the same tree, with the same diffID. */
  char *copy = fresh_dir("copy");
  layer_unpack_result ures;
  arca_err err = {0};
  if (unpack_bytes(gz.buf, gz.len, copy, &ures, NULL, &err) < 0) fail_msg("unpack: %s", err.msg);
  assert_string_equal(ures.diff_id, res.diff_id);
  assert_int_equal(ures.uncompressed_size, res.uncompressed_size);
  assert_int_equal(ures.content_size, strlen("#!/bin/sh\n") + strlen("conf\n") + 1);
  compare_trees(upper, copy);

  /* The uncompressed form is the very same tar. */
  layer_diff_result plain_res;
  strbuf plain;
  diff_to_buf(upper, false, &plain_res, &plain);
  assert_string_equal(plain_res.diff_id, res.diff_id);
  assert_string_equal(plain_res.digest, plain_res.diff_id);
  assert_int_equal(plain_res.compressed_size, plain.len);
  assert_int_equal(plain_res.uncompressed_size, plain.len);
  digest_buffer(plain.buf, plain.len, expect);
  assert_string_equal(expect, res.diff_id);
  assert_int_equal(plain.len % 512, 0);

  sb_free(&gz);
  sb_free(&plain);
  free(copy);
  free(upper);
}

static void test_diff_is_deterministic(void **state) {
  (void)state;
  require_root();
  char *upper = make_upper("upper", false);
  layer_diff_result a, b, c;
  strbuf da, db, dc;
  diff_to_buf(upper, true, &a, &da);
  sleep(1); /* atimes and ctimes move; the output must not */
  char *p = xasprintf("%s/etc/conf", upper);
  assert_int_equal(chmod(p, 0640), 0);
  free(p);
  diff_to_buf(upper, true, &b, &db);
  assert_string_equal(a.digest, b.digest);
  assert_string_equal(a.diff_id, b.diff_id);
  assert_int_equal(da.len, db.len);
  assert_memory_equal(da.buf, db.buf, da.len);

  /* Same content made in another order, other inodes: same layer. */
  char *other = make_upper("other", true);
  diff_to_buf(other, true, &c, &dc);
  assert_string_equal(a.diff_id, c.diff_id);
  assert_string_equal(a.digest, c.digest);

  /* And a real change shows. */
  write_text(other, "opq/keep", "K", 0600);
  p = xasprintf("%s/opq/keep", other);
  set_mtime(p, 1600002000, 0);
  free(p);
  layer_diff_result d;
  strbuf dd;
  diff_to_buf(other, true, &d, &dd);
  assert_string_not_equal(a.diff_id, d.diff_id);

  sb_free(&da);
  sb_free(&db);
  sb_free(&dc);
  sb_free(&dd);
  free(upper);
  free(other);
}

static void test_diff_round_trips_odd_names(void **state) {
  (void)state;
  require_root();
  char *upper = fresh_dir("upper");
  char long_name[160], long_dir[130];
  memset(long_name, 'x', 150);
  long_name[150] = '\0';
  memset(long_dir, 'd', 120);
  long_dir[120] = '\0';
  write_text(upper, "caf\xc3\xa9", "utf-8", 0644);
  write_text(upper, "lat\xe9", "latin-1", 0644);
  write_text(upper, long_name, "long", 0644);
  char *p = xasprintf("%s/%s", upper, long_dir);
  assert_int_equal(mkdir(p, 0755), 0);
  free(p);
  char *rel = xasprintf("%s/%s", long_dir, long_name);
  write_text(upper, rel, "deep", 0644);
  p = xasprintf("%s/%s", upper, long_dir);
  set_mtime(p, 1600000000, 0);
  free(p);
  free(rel);

  layer_diff_result res;
  strbuf gz;
  diff_to_buf(upper, true, &res, &gz);
  char *copy = fresh_dir("copy");
  layer_unpack_result ures;
  arca_err err = {0};
  if (unpack_bytes(gz.buf, gz.len, copy, &ures, NULL, &err) < 0) fail_msg("unpack: %s", err.msg);
  assert_string_equal(ures.diff_id, res.diff_id);
  compare_trees(upper, copy);
  sb_free(&gz);
  free(copy);
  free(upper);
}

static void test_tar_dir_keeps_devices(void **state) {
  (void)state;
  require_root();
  char *root = make_upper("root", false);
  int fd = memfd_create("export", MFD_CLOEXEC);
  layer_diff_result res;
  arca_err err = {0};
  if (layer_tar_dir(root, fd, &res, &err) < 0) fail_msg("tar: %s", err.msg);
  strbuf out;
  slurp_fd(fd, &out);
  close(fd);
  assert_string_equal(res.digest, res.diff_id);
  assert_int_equal(res.uncompressed_size, out.len);
  char expect[DIGEST_STR_SIZE];
  digest_buffer(out.buf, out.len, expect);
  assert_string_equal(res.diff_id, expect);
  char names[32][64];
  size_t n = read_entries(&out, names, 32);
  bool gone = false;
  for (size_t i = 0; i < n; i++) {
    assert_null(strstr(names[i], ".wh."));
    if (strcmp(names[i], "gone") == 0) gone = true;
  }
  assert_true(gone);
  assert_int_equal(n, 11); /* the upper's entries, without an opaque marker */
  sb_free(&out);
  free(root);
}

static void test_diff_errors(void **state) {
  (void)state;
  char *missing = path_in("missing");
  layer_diff_result res;
  arca_err err = {0};
  int fd = memfd_create("diff", MFD_CLOEXEC);
  assert_int_equal(layer_diff_dir(missing, fd, true, &res, &err), -1);
  assert_int_equal(err.status, 404);
  assert_non_null(strstr(err.msg, missing));
  close(fd);

  /* A closed output descriptor fails the write, with the cause. */
  char *dir = fresh_dir("small");
  write_text(dir, "f", "data", 0644);
  err_clear(&err);
  int pipefd[2];
  assert_int_equal(pipe(pipefd), 0);
  close(pipefd[0]);
  signal(SIGPIPE, SIG_IGN);
  assert_int_equal(layer_diff_dir(dir, pipefd[1], true, &res, &err), -1);
  assert_int_equal(err.status, 500);
  assert_non_null(strstr(err.msg, "Broken pipe"));
  close(pipefd[1]);
  free(dir);
  free(missing);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_digest_known_values, setup, teardown),
      cmocka_unit_test_setup_teardown(test_digest_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_digest_validation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unpack_plain_keeps_everything, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unpack_gzip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unpack_zstd, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unpack_bzip2, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unpack_xz, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unpack_corrupt_input, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unpack_refuses_hostile_entries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_diff_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_diff_is_deterministic, setup, teardown),
      cmocka_unit_test_setup_teardown(test_diff_round_trips_odd_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tar_dir_keeps_devices, setup, teardown),
      cmocka_unit_test_setup_teardown(test_diff_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
