/* The Linux driver's file functions on a real overlay: docker diff, cp (stat, tar out, tar
 * in, with the classic escapes), export, commit and sizes. Needs root (mount, mknod, chown,
 * trusted.* xattrs); skipped otherwise.
 *
 * Each test builds, under a fresh temporary directory:
 *   lower1/, lower2/   the image (lower2 on top, whiting out /keep/x)
 *   upper/ work/ merged/   the container's overlay, mounted
 *   vol/ rovol/ hosts   a volume at /data, a read-only one at /ro, a file bound at /etc/hosts
 *                       (given as /abs_etc/hosts: destinations resolve through the image's links)
 *   hostsecret/shadow   a host file next to the rootfs that no container path may reach
 * and tears it all down (unmount included) even when an assertion failed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/util.h"
#include "image/digest.h"
#include "image/layer.h"
#include "runtime/linux/lx_cp.h"
#include "runtime/linux/lx_files.h"

#define OLD_TIME 1600000000
#define GO_DIR (1u << 31)
#define GO_SYMLINK (1u << 27)

typedef struct fixture {
  char *base, *lower1, *lower2, *upper, *work, *merged, *vol, *rovol, *hosts, *secret;
  bool mounted;
  lx_extra_mount mounts[3];
} fixture;

static fixture g;

/* ---- helpers ---------------------------------------------------------------------- */

static char *at(const char *dir, const char *rel) { return xasprintf("%s/%s", dir, rel); }

/* A file with an old mtime in the image; written now in the container (merged, volumes). */
static void put_file(const char *dir, const char *rel, const char *content, mode_t mode) {
  char *p = at(dir, rel);
  bool image = str_has_prefix(dir, g.lower1) || str_has_prefix(dir, g.lower2);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write_all(fd, content, strlen(content)), (ssize_t)strlen(content));
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
  struct timeval tv[2] = {{OLD_TIME, 0}, {OLD_TIME, 0}};
  if (image) assert_int_equal(utimes(p, tv), 0);
  free(p);
}

static void put_dir(const char *dir, const char *rel, mode_t mode) {
  char *p = at(dir, rel);
  assert_int_equal(mkdir(p, mode), 0);
  assert_int_equal(chmod(p, mode), 0);
  free(p);
}

static void put_link(const char *dir, const char *rel, const char *target) {
  char *p = at(dir, rel);
  assert_int_equal(symlink(target, p), 0);
  free(p);
}

static void put_whiteout(const char *dir, const char *rel) {
  char *p = at(dir, rel);
  assert_int_equal(mknod(p, S_IFCHR, makedev(0, 0)), 0);
  free(p);
}

static char *slurp(const char *path) {
  char *data = NULL;
  arca_err err;
  if (read_file(path, 1 << 20, &data, NULL, &err) < 0) return NULL;
  return data;
}

static void assert_content(const char *dir, const char *rel, const char *want) {
  char *p = at(dir, rel);
  char *data = slurp(p);
  if (!data) fail_msg("%s is missing", p);
  assert_string_equal(data, want);
  free(data);
  free(p);
}

static void assert_prefix(const char *dir, const char *rel, const char *prefix) {
  char *p = at(dir, rel);
  char *data = slurp(p);
  if (!data || !str_has_prefix(data, prefix)) fail_msg("%s does not start with %s", p, prefix);
  free(data);
  free(p);
}

static bool present(const char *dir, const char *rel) {
  char *p = at(dir, rel);
  struct stat st;
  bool r = lstat(p, &st) == 0;
  free(p);
  return r;
}

/* Host files that must never change: the secret next to the rootfs. */
static void assert_host_untouched(void) {
  assert_content(g.secret, "shadow", "HOST");
  char *p = at(g.base, "hostsecret");
  char *cmd = xasprintf("test $(ls -A %s | wc -l) -eq 1", p);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  free(p);
  assert_false(present(g.base, "pwn"));
  assert_false(present("/", "pwned-by-arca-test"));
}

static void build_image(void) {
  const char *l1 = g.lower1;
  put_dir(l1, "etc", 0755);
  put_file(l1, "etc/passwd",
           "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n", 0644);
  put_file(l1, "etc/group", "root:x:0:\nstaff:x:50:\n", 0644);
  put_file(l1, "etc/hostname", "img\n", 0644);
  char *pw = at(l1, "etc/passwd");
  assert_int_equal(lchown(pw, 12, 34), 0);
  free(pw);
  put_dir(l1, "bin", 0755);
  put_file(l1, "bin/sh", "#!shell", 0755);
  char *sh = at(l1, "bin/sh"), *sh2 = at(l1, "bin/sh2");
  assert_int_equal(link(sh, sh2), 0);
  free(sh);
  free(sh2);
  put_dir(l1, "usr", 0755);
  put_dir(l1, "usr/lib", 0755);
  put_file(l1, "usr/lib/libx.so", "lib", 0644);
  put_link(l1, "lib", "usr/lib");
  put_dir(l1, "olddir", 0755);
  put_file(l1, "olddir/a", "a", 0644);
  put_file(l1, "olddir/b", "b", 0644);
  put_dir(l1, "olddir/sub", 0755);
  put_file(l1, "olddir/sub/c", "c", 0644);
  put_dir(l1, "keep", 0755);
  put_file(l1, "keep/x", "x", 0644);
  put_dir(l1, "tmp", 01777);
  put_dir(l1, "data", 0755);
  put_dir(l1, "ro", 0755);
  /* Planted links that try to leave the container. */
  put_link(l1, "abs_etc", "/etc");
  put_link(l1, "up", "../../..");
  put_link(l1, "rootlink", "/");
  put_link(l1, "esc", "../hostsecret");
  put_link(l1, "absesc", "/../../hostsecret");
  /* A host path as a link in one layer, replaced by a directory in the next: the diff
   * must not look through the link. */
  put_link(l1, "x", g.secret);

  const char *l2 = g.lower2;
  put_dir(l2, "etc", 0755);
  put_file(l2, "etc/motd", "motd", 0644);
  put_dir(l2, "keep", 0755);
  put_whiteout(l2, "keep/x");
  put_dir(l2, "x", 0755);
}

static int setup(void **state) {
  (void)state;
  memset(&g, 0, sizeof g);
  if (geteuid() != 0) return 0;
  const char *tmp = getenv("TMPDIR");
  g.base = xasprintf("%s/arca-lxfiles-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(g.base));
  g.lower1 = at(g.base, "lower1");
  g.lower2 = at(g.base, "lower2");
  g.upper = at(g.base, "upper");
  g.work = at(g.base, "work");
  g.merged = at(g.base, "merged");
  g.vol = at(g.base, "vol");
  g.rovol = at(g.base, "rovol");
  g.hosts = at(g.base, "hosts");
  g.secret = at(g.base, "hostsecret");
  const char *dirs[] = {g.lower1, g.lower2, g.upper, g.work, g.merged, g.vol, g.rovol, g.secret};
  for (size_t i = 0; i < ARRAY_LEN(dirs); i++) assert_int_equal(mkdir(dirs[i], 0755), 0);
  put_file(g.secret, "shadow", "HOST", 0600);
  put_file(g.base, "hosts", "127.0.0.1 localhost\n", 0644);
  put_file(g.vol, "v.txt", "volume", 0644);
  put_link(g.vol, "out", "../../hostsecret");
  put_link(g.vol, "toetc", "/etc");
  put_file(g.rovol, "r.txt", "readonly", 0644);
  build_image();
  char *opts =
      xasprintf("lowerdir=%s:%s,upperdir=%s,workdir=%s", g.lower2, g.lower1, g.upper, g.work);
  int rc = mount("overlay", g.merged, "overlay", 0, opts);
  free(opts);
  if (rc < 0) fail_msg("mount overlay: %s", strerror(errno));
  g.mounted = true;
  g.mounts[0] = (lx_extra_mount){.destination = "/data", .source = g.vol, .readonly = false};
  g.mounts[1] = (lx_extra_mount){.destination = "/ro/", .source = g.rovol, .readonly = true};
  g.mounts[2] =
      (lx_extra_mount){.destination = "/abs_etc/hosts", .source = g.hosts, .readonly = false};
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (!g.base) return 0;
  if (g.mounted) umount2(g.merged, MNT_DETACH);
  arca_err err;
  rm_rf(g.base, &err);
  char **all[] = {&g.base,   &g.lower1, &g.lower2, &g.upper, &g.work,
                  &g.merged, &g.vol,    &g.rovol,  &g.hosts, &g.secret};
  for (size_t i = 0; i < ARRAY_LEN(all); i++) {
    free(*all[i]);
    *all[i] = NULL;
  }
  return 0;
}

static void require_root(void) {
  if (geteuid() != 0) skip();
}

/* Changes made through the merged dir, as a container would. */
static void change_container(void) {
  const char *m = g.merged;
  put_file(m, "newfile", "new", 0644);
  put_dir(m, "etc/newdir", 0755);
  put_file(m, "etc/newdir/f", "f", 0644);
  put_file(m, "etc/hostname", "ctr\n", 0644);
  char *p = at(m, "olddir/b");
  assert_int_equal(unlink(p), 0);
  free(p);
  arca_err err;
  p = at(m, "olddir/sub");
  assert_int_equal(rm_rf(p, &err), 0);
  free(p);
  put_dir(m, "olddir/sub", 0755);
  put_file(m, "olddir/sub/d", "d", 0644);
  put_file(m, "keep/x", "again", 0644);
  p = at(m, "bin/sh");
  assert_int_equal(chmod(p, 0700), 0);
  free(p);
  put_file(m, "x/shadow", "not the host's", 0600);
}

/* ---- tars ---------------------------------------------------------------------------- */

typedef struct entry {
  char name[512];
  mode_t type;
  mode_t perm;
  int64_t size;
  uid_t uid;
  gid_t gid;
  int64_t mtime;
  char symlink[512];
  char hardlink[512];
  char content[256];
} entry;

static la_ssize_t append_cb(struct archive *a, void *opaque, const void *buf, size_t n) {
  (void)a;
  sb_append(opaque, buf, n);
  return (la_ssize_t)n;
}

static int memfd_new(void) {
  int fd = memfd_create("tar", MFD_CLOEXEC);
  assert_true(fd >= 0);
  return fd;
}

/* Reads every entry of the tar in fd (from offset 0). Returns the count. */
static size_t read_tar(int fd, entry *out, size_t cap) {
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_support_filter_gzip(a);
  archive_read_support_format_empty(a);
  assert_int_equal(archive_read_open_fd(a, fd, 10240), ARCHIVE_OK);
  size_t n = 0;
  struct archive_entry *e;
  int rc;
  while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    assert_true(n < cap);
    entry *x = &out[n++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", archive_entry_pathname(e));
    x->type = archive_entry_filetype(e);
    x->perm = archive_entry_perm(e);
    x->size = archive_entry_size(e);
    x->uid = (uid_t)archive_entry_uid(e);
    x->gid = (gid_t)archive_entry_gid(e);
    x->mtime = archive_entry_mtime(e);
    if (archive_entry_symlink(e))
      snprintf(x->symlink, sizeof x->symlink, "%s", archive_entry_symlink(e));
    if (archive_entry_hardlink(e))
      snprintf(x->hardlink, sizeof x->hardlink, "%s", archive_entry_hardlink(e));
    la_ssize_t r = archive_read_data(a, x->content, sizeof x->content - 1);
    if (r > 0) x->content[r] = '\0';
  }
  assert_int_equal(rc, ARCHIVE_EOF); /* a whole tar, end marker included */
  assert_int_equal(archive_read_free(a), ARCHIVE_OK);
  return n;
}

static const entry *find_entry(const entry *e, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(e[i].name, name) == 0) return &e[i];
  return NULL;
}

typedef struct spec {
  const char *name;
  mode_t type; /* AE_IFREG (default), AE_IFDIR, AE_IFLNK; hardlink entries set hardlink */
  const char *content;
  const char *symlink;
  const char *hardlink;
  mode_t perm;
  uid_t uid;
  gid_t gid;
} spec;

/* A tar of the specs in a memfd, at offset 0; gzip-compressed when gz. */
static int tar_of(const spec *s, size_t n, bool gz) {
  strbuf out;
  sb_init(&out);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gz) archive_write_add_filter_gzip(a);
  assert_int_equal(archive_write_open(a, &out, NULL, append_cb, NULL), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, s[i].name);
    mode_t type = s[i].type ? s[i].type : AE_IFREG;
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, s[i].perm ? s[i].perm : (type == AE_IFDIR ? 0755 : 0644));
    archive_entry_set_uid(e, s[i].uid);
    archive_entry_set_gid(e, s[i].gid);
    archive_entry_set_mtime(e, 1700000000, 0);
    if (s[i].symlink) archive_entry_set_symlink(e, s[i].symlink);
    if (s[i].hardlink) archive_entry_set_hardlink(e, s[i].hardlink);
    size_t len = s[i].content ? strlen(s[i].content) : 0;
    archive_entry_set_size(e, (la_int64_t)len);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (len) assert_int_equal(archive_write_data(a, s[i].content, len), (la_ssize_t)len);
    archive_entry_free(e);
  }
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  int fd = memfd_new();
  assert_int_equal(write_all(fd, out.buf, out.len), (ssize_t)out.len);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  sb_free(&out);
  return fd;
}

static int put_tar(const char *dest, const spec *s, size_t n, bool no_overwrite, arca_err *err) {
  int fd = tar_of(s, n, false);
  int rc = lx_archive_put(g.merged, g.mounts, 3, dest, fd, no_overwrite, false, err);
  close(fd);
  return rc;
}

/* ---- diff ------------------------------------------------------------------------------ */

static void test_changes(void **state) {
  (void)state;
  require_root();
  change_container();
  const char *lowers[] = {g.lower1, g.lower2};
  json_t *out = NULL;
  arca_err err;
  assert_int_equal(lx_changes(g.upper, lowers, 2, &out, &err), 0);
  static const struct {
    const char *path;
    int kind;
  } want[] = {
      {"/bin", 0},          {"/bin/sh", 0},       {"/etc", 0},      {"/etc/hostname", 0},
      {"/etc/newdir", 1},   {"/etc/newdir/f", 1}, {"/keep", 0},     {"/keep/x", 1},
      {"/newfile", 1},      {"/olddir", 0},       {"/olddir/b", 2}, {"/olddir/sub", 0},
      {"/olddir/sub/c", 2}, {"/olddir/sub/d", 1}, {"/x", 0},        {"/x/shadow", 1},
  };
  char *dump = json_dumps(out, JSON_COMPACT);
  if (json_array_size(out) != ARRAY_LEN(want)) fail_msg("changes: %s", dump);
  for (size_t i = 0; i < ARRAY_LEN(want); i++) {
    json_t *c = json_array_get(out, i);
    if (strcmp(json_string_value(json_object_get(c, "Path")), want[i].path) != 0 ||
        json_integer_value(json_object_get(c, "Kind")) != want[i].kind)
      fail_msg("change %zu: want %s %d, got %s", i, want[i].path, want[i].kind, dump);
  }
  free(dump);
  json_decref(out);

  /* No lowers: everything in the upper dir is new. */
  assert_int_equal(lx_changes(g.upper, NULL, 0, &out, &err), 0);
  json_t *first = json_array_get(out, 0);
  assert_string_equal(json_string_value(json_object_get(first, "Path")), "/bin");
  assert_int_equal(json_integer_value(json_object_get(first, "Kind")), 1);
  json_decref(out);

  /* An untouched container has no changes; a missing upper dir is an error. */
  char *empty = at(g.base, "empty-upper");
  assert_int_equal(mkdir(empty, 0755), 0);
  assert_int_equal(lx_changes(empty, lowers, 2, &out, &err), 0);
  assert_int_equal(json_array_size(out), 0);
  json_decref(out);
  char *missing = at(g.base, "no-upper");
  assert_int_equal(lx_changes(missing, lowers, 2, &out, &err), -1);
  assert_int_equal(err.status, 500);
  free(empty);
  free(missing);
}

/* ---- path stat ------------------------------------------------------------------------ */

static void assert_missing(const char *path) {
  rt_path_stat st;
  arca_err err;
  if (lx_path_stat(g.merged, g.mounts, 3, path, &st, &err) == 0)
    fail_msg("%s resolved (to %s, size %lld)", path, st.name, (long long)st.size);
  assert_int_equal(err.status, 404);
  char *want = xasprintf("Could not find the file %s", path);
  assert_string_equal(err.msg, want);
  free(want);
}

static void test_path_stat(void **state) {
  (void)state;
  require_root();
  rt_path_stat st;
  arca_err err;
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/etc/passwd", &st, &err), 0);
  assert_string_equal(st.name, "passwd");
  assert_int_equal(st.size, 69);
  assert_int_equal(st.mode, 0644);
  assert_int_equal(st.mtime_ns, (int64_t)OLD_TIME * 1000000000);
  assert_string_equal(st.link_target, "");

  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "etc", &st, &err), 0);
  assert_string_equal(st.name, "etc");
  assert_int_equal(st.mode, GO_DIR | 0755);

  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/tmp", &st, &err), 0);
  assert_int_equal(st.mode, GO_DIR | (1u << 20) | 0777); /* sticky */

  /* A symlink is not followed, but its target is resolved in the container. */
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/lib", &st, &err), 0);
  assert_string_equal(st.name, "lib");
  assert_int_equal(st.mode, GO_SYMLINK | 0777);
  assert_int_equal(st.size, 7);
  assert_string_equal(st.link_target, "/usr/lib");
  /* ... unless the path ends in a slash. */
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/lib/", &st, &err), 0);
  assert_string_equal(st.name, "lib");
  assert_int_equal(st.mode, GO_DIR | 0755);
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/lib/.", &st, &err), 0);
  assert_string_equal(st.name, ".");
  assert_int_equal(st.mode, GO_DIR | 0755);

  /* Link targets stay in the container. */
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/abs_etc", &st, &err), 0);
  assert_string_equal(st.link_target, "/etc");
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/up", &st, &err), 0);
  assert_string_equal(st.link_target, "/");
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/esc", &st, &err), 0);
  assert_string_equal(st.link_target, "/hostsecret"); /* missing: kept as written */
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/rootlink/etc/passwd", &st, &err), 0);
  assert_int_equal(st.size, 69);
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/up/up/up/etc/../etc/passwd", &st, &err),
                   0);
  assert_int_equal(st.size, 69);

  /* Volumes at their destinations; links inside them resolve in the container. */
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/data/v.txt", &st, &err), 0);
  assert_int_equal(st.size, 6);
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/data/toetc/passwd", &st, &err), 0);
  assert_int_equal(st.size, 69);
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/data/out", &st, &err), 0);
  assert_string_equal(st.link_target, "/hostsecret");
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/etc/hosts", &st, &err), 0);
  assert_int_equal(st.size, 20);
  assert_int_equal(st.mode, 0644);
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/ro", &st, &err), 0);
  assert_int_equal(st.mode, GO_DIR | 0755);

  /* The classic escapes find nothing: the host file next to the rootfs stays out of reach. */
  assert_missing("/nope");
  assert_missing("/esc/shadow");
  assert_missing("/absesc/shadow");
  assert_missing("../../hostsecret/shadow");
  assert_missing("/up/hostsecret/shadow");
  assert_missing("/data/out/shadow");
  assert_missing("/data/../../hostsecret/shadow");
  assert_missing("/etc/shadow"); /* the host has one; the container not */

  /* A file on the way: Docker's lstat error, 500. */
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/etc/passwd/x", &st, &err), -1);
  assert_int_equal(err.status, 500);
  assert_string_equal(err.msg, "lstat /etc/passwd/x: not a directory");

  /* A link loop. */
  put_link(g.merged, "loop1", "loop2");
  put_link(g.merged, "loop2", "loop1");
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/loop1/x", &st, &err), -1);
  assert_int_equal(err.status, 500);
  assert_int_equal(lx_path_stat(g.merged, g.mounts, 3, "/loop1", &st, &err), -1);
  assert_string_equal(err.msg, "evalSymlinksInScope: too many links in /loop1");
  assert_host_untouched();
}

/* ---- tar out ------------------------------------------------------------------------- */

static size_t get_tar(const char *path, entry *e, size_t cap, rt_path_stat *st) {
  int fd = memfd_new();
  arca_err err;
  if (lx_archive_get(g.merged, g.mounts, 3, path, fd, st, &err) < 0)
    fail_msg("get %s: %s", path, err.msg);
  size_t n = read_tar(fd, e, cap);
  close(fd);
  return n;
}

static void test_archive_get(void **state) {
  (void)state;
  require_root();
  static entry e[256];
  rt_path_stat st;

  size_t n = get_tar("/etc/passwd", e, 256, &st);
  assert_int_equal(n, 1);
  assert_string_equal(e[0].name, "passwd");
  assert_int_equal(e[0].type, AE_IFREG);
  assert_int_equal(e[0].uid, 12);
  assert_int_equal(e[0].gid, 34);
  assert_int_equal(e[0].perm, 0644);
  assert_int_equal(e[0].mtime, OLD_TIME);
  assert_int_equal(e[0].size, 69);
  assert_true(str_has_prefix(e[0].content, "root:x:0:0"));
  assert_string_equal(st.name, "passwd");

  /* A directory: itself first, named by its base, then what is below in name order,
   * the file bound at /etc/hosts included. */
  n = get_tar("/etc", e, 256, &st);
  static const char *const etc[] = {"etc/",      "etc/group", "etc/hostname",
                                    "etc/hosts", "etc/motd",  "etc/passwd"};
  assert_int_equal(n, ARRAY_LEN(etc));
  for (size_t i = 0; i < n; i++) assert_string_equal(e[i].name, etc[i]);
  assert_string_equal(find_entry(e, n, "etc/hosts")->content, "127.0.0.1 localhost\n");
  assert_int_equal(st.mode, GO_DIR | 0755);

  /* "dir/." gives the contents under "./". */
  n = get_tar("/etc/.", e, 256, &st);
  assert_int_equal(n, ARRAY_LEN(etc));
  assert_string_equal(e[0].name, "./");
  assert_string_equal(e[1].name, "./group");

  /* A final symlink is archived as a link, or followed with a trailing slash. */
  n = get_tar("/lib", e, 256, &st);
  assert_int_equal(n, 1);
  assert_string_equal(e[0].name, "lib");
  assert_int_equal(e[0].type, AE_IFLNK);
  assert_string_equal(e[0].symlink, "usr/lib");
  n = get_tar("/lib/", e, 256, &st);
  assert_int_equal(n, 2);
  assert_string_equal(e[0].name, "lib/");
  assert_string_equal(e[1].name, "lib/libx.so");
  assert_string_equal(e[1].content, "lib");

  /* Hard links within the tar stay links. */
  n = get_tar("/bin", e, 256, &st);
  assert_int_equal(n, 3);
  assert_string_equal(e[1].name, "bin/sh");
  assert_string_equal(e[1].content, "#!shell");
  assert_string_equal(e[2].name, "bin/sh2");
  assert_string_equal(e[2].hardlink, "bin/sh");

  /* The whole root: volumes are crossed, the host is not. */
  n = get_tar("/", e, 256, &st);
  assert_string_equal(e[0].name, "/");
  assert_string_equal(find_entry(e, n, "/data/v.txt")->content, "volume");
  assert_string_equal(find_entry(e, n, "/ro/r.txt")->content, "readonly");
  assert_string_equal(find_entry(e, n, "/data/out")->symlink, "../../hostsecret");
  assert_null(find_entry(e, n, "/hostsecret/shadow"));
  for (size_t i = 0; i < n; i++) assert_null(strstr(e[i].content, "HOST"));

  /* A planted link to / is the container's root, not the host's. */
  n = get_tar("/rootlink/", e, 256, &st);
  assert_string_equal(e[0].name, "rootlink/");
  assert_true(str_has_prefix(find_entry(e, n, "rootlink/etc/passwd")->content, "root:x:0:0"));
  assert_null(find_entry(e, n, "rootlink/hostsecret/"));
  n = get_tar("/data/toetc/", e, 256, &st);
  assert_non_null(find_entry(e, n, "toetc/motd"));

  /* Missing and escaping paths: 404, nothing written. */
  const char *bad[] = {"/nope", "/esc/shadow", "/absesc/", "/data/out/shadow", "/up/hostsecret"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    int fd = memfd_new();
    arca_err err;
    assert_int_equal(lx_archive_get(g.merged, g.mounts, 3, bad[i], fd, &st, &err), -1);
    assert_int_equal(err.status, 404);
    assert_int_equal(lseek(fd, 0, SEEK_END), 0);
    close(fd);
  }
  assert_host_untouched();
}

/* ---- tar in --------------------------------------------------------------------------- */

static void assert_owner_mode(const char *dir, const char *rel, uid_t uid, gid_t gid, mode_t mode) {
  char *p = at(dir, rel);
  struct stat st;
  assert_int_equal(lstat(p, &st), 0);
  assert_int_equal(st.st_uid, uid);
  assert_int_equal(st.st_gid, gid);
  if (mode) assert_int_equal(st.st_mode & 07777, mode);
  free(p);
}

static void test_archive_put(void **state) {
  (void)state;
  require_root();
  arca_err err;
  const spec files[] = {
      {.name = "a.txt", .content = "alpha", .perm = 04750, .uid = 1234, .gid = 5678},
      {.name = "dir/", .type = AE_IFDIR, .perm = 0700, .uid = 7, .gid = 8},
      {.name = "dir/b", .content = "beta", .uid = 7, .gid = 8},
      {.name = "dir/link", .type = AE_IFLNK, .symlink = "/etc/passwd"},
      /* A hard link shares the inode: its header carries the same owner and mode. */
      {.name = "dir/hard", .hardlink = "a.txt", .perm = 04750, .uid = 1234, .gid = 5678},
      {.name = "x/y/z.txt", .content = "implied"},
  };
  assert_int_equal(put_tar("/tmp", files, ARRAY_LEN(files), true, &err), 0);
  assert_content(g.merged, "tmp/a.txt", "alpha");
  assert_owner_mode(g.merged, "tmp/a.txt", 1234, 5678, 04750);
  assert_owner_mode(g.merged, "tmp/dir", 7, 8, 0700);
  assert_content(g.merged, "tmp/dir/b", "beta");
  char target[64] = {0};
  char *p = at(g.merged, "tmp/dir/link");
  assert_int_equal(readlink(p, target, sizeof target - 1), 11);
  assert_string_equal(target, "/etc/passwd");
  free(p);
  struct stat s1, s2;
  p = at(g.merged, "tmp/a.txt");
  assert_int_equal(stat(p, &s1), 0);
  free(p);
  p = at(g.merged, "tmp/dir/hard");
  assert_int_equal(stat(p, &s2), 0);
  free(p);
  assert_int_equal(s1.st_ino, s2.st_ino);
  assert_int_equal(s1.st_mtim.tv_sec, 1700000000);
  assert_owner_mode(g.merged, "tmp/x", 0, 0, 0755);
  assert_owner_mode(g.merged, "tmp/x/y", 0, 0, 0755);
  assert_content(g.merged, "tmp/x/y/z.txt", "implied");
  p = at(g.merged, "tmp/dir");
  assert_int_equal(stat(p, &s1), 0); /* directory times are set after its content */
  assert_int_equal(s1.st_mtim.tv_sec, 1700000000);
  free(p);

  /* Compressed input; the destination through a symlink; volumes at their destinations. */
  const spec one[] = {{.name = "gz.txt", .content = "zipped"}};
  int fd = tar_of(one, 1, true);
  assert_int_equal(lx_archive_put(g.merged, g.mounts, 3, "/lib", fd, true, true, &err), 0);
  close(fd);
  assert_content(g.merged, "usr/lib/gz.txt", "zipped");
  assert_int_equal(put_tar("/data", one, 1, true, &err), 0);
  assert_content(g.vol, "gz.txt", "zipped");
  const spec into_vol[] = {{.name = "data/deep/f", .content = "via root"}};
  assert_int_equal(put_tar("/", into_vol, 1, true, &err), 0);
  assert_content(g.vol, "deep/f", "via root");

  /* An empty body is an empty tar. */
  fd = memfd_new();
  assert_int_equal(lx_archive_put(g.merged, g.mounts, 3, "/tmp", fd, true, false, &err), 0);
  close(fd);

  /* Docker's refusals. */
  assert_int_equal(put_tar("/nope", one, 1, true, &err), -1);
  assert_int_equal(err.status, 404);
  assert_string_equal(err.msg, "Could not find the file /nope");
  assert_int_equal(put_tar("/etc/passwd", one, 1, true, &err), -1);
  assert_int_equal(err.status, 400);
  assert_string_equal(err.msg, "extraction point is not a directory");
  assert_int_equal(put_tar("/ro", one, 1, true, &err), -1);
  assert_int_equal(err.status, 400);
  assert_string_equal(err.msg, "mounted volume is marked read-only");
  const spec into_ro[] = {{.name = "ro/evil", .content = "x"}};
  assert_int_equal(put_tar("/", into_ro, 1, true, &err), -1);
  assert_int_equal(err.status, 500);
  assert_string_equal(err.msg, "open /ro/evil: read-only file system");
  assert_false(present(g.rovol, "evil"));
  assert_content(g.rovol, "r.txt", "readonly");
  const spec hosts[] = {{.name = "hosts", .content = "evil"}};
  assert_int_equal(put_tar("/etc", hosts, 1, false, &err), -1);
  assert_string_equal(err.msg, "unlinkat /etc/hosts: device or resource busy");
  assert_content(g.base, "hosts", "127.0.0.1 localhost\n");

  /* noOverwriteDirNonDir, both ways; without it the replacement happens. */
  const spec file_over_dir[] = {{.name = "olddir", .content = "file now"}};
  assert_int_equal(put_tar("/", file_over_dir, 1, true, &err), -1);
  assert_int_equal(err.status, 500);
  assert_string_equal(err.msg, "cannot overwrite directory \"olddir\" with non-directory \"/\"");
  const spec dir_over_file[] = {{.name = "passwd/", .type = AE_IFDIR}};
  assert_int_equal(put_tar("/etc", dir_over_file, 1, true, &err), -1);
  assert_string_equal(err.msg, "cannot overwrite non-directory \"passwd\" with directory \"/etc\"");
  assert_int_equal(put_tar("/", file_over_dir, 1, false, &err), 0);
  assert_content(g.merged, "olddir", "file now");
  /* A read-only rootfs: only the writable volumes take files. */
  lx_put_options ro_root = {.readonly_rootfs = true};
  fd = tar_of(one, 1, false);
  assert_int_equal(lx_archive_put_opts(g.merged, g.mounts, 3, "/tmp", fd, &ro_root, &err), -1);
  close(fd);
  assert_int_equal(err.status, 400);
  assert_string_equal(err.msg, "container rootfs is marked read-only");
  fd = tar_of(one, 1, false);
  assert_int_equal(lx_archive_put_opts(g.merged, g.mounts, 3, "/data/", fd, &ro_root, &err), 0);
  close(fd);
  const spec out_of_vol[] = {{.name = "out/x", .content = "x"}, {.name = "deep/y", .content = "y"}};
  fd = tar_of(out_of_vol, 2, false);
  assert_int_equal(lx_archive_put_opts(g.merged, g.mounts, 3, "/data", fd, &ro_root, &err), 0);
  close(fd);
  assert_content(g.vol, "hostsecret/x", "x"); /* below /data, as the walk's root */
  const spec to_root[] = {{.name = "toetc/../../gz.txt", .content = "x"}};
  fd = tar_of(to_root, 1, false); /* cleans to "../gz.txt": refused before anything */
  assert_int_equal(lx_archive_put_opts(g.merged, g.mounts, 3, "/data", fd, &ro_root, &err), -1);
  close(fd);
  assert_false(present(g.merged, "gz.txt"));

  const spec no_volume_removal[] = {{.name = "data", .content = "x"}};
  assert_int_equal(put_tar("/", no_volume_removal, 1, false, &err), -1);
  assert_string_equal(err.msg, "unlinkat /data: device or resource busy");
  assert_content(g.vol, "v.txt", "volume");
  assert_host_untouched();
}

static void test_archive_put_escapes(void **state) {
  (void)state;
  require_root();
  arca_err err;
  /* Names that climb out are refused outright. */
  const spec climb[] = {{.name = "../../hostsecret/pwn", .content = "x"}};
  assert_int_equal(put_tar("/tmp", climb, 1, true, &err), -1);
  assert_int_equal(err.status, 500);
  assert_string_equal(err.msg, "invalid entry name \"../../hostsecret/pwn\"");
  const spec climb2[] = {{.name = "a/../../../pwn", .content = "x"}};
  assert_int_equal(put_tar("/", climb2, 1, true, &err), -1);

  /* Absolute names land below the destination. */
  const spec abs[] = {{.name = "/pwned-by-arca-test", .content = "abs"}};
  assert_int_equal(put_tar("/tmp", abs, 1, true, &err), 0);
  assert_content(g.merged, "tmp/pwned-by-arca-test", "abs");

  /* Through links planted in the container: contained. */
  const spec via_esc[] = {{.name = "esc/pwn", .content = "x"},
                          {.name = "absesc/pwn2", .content = "y"},
                          {.name = "up/pwn3", .content = "z"},
                          {.name = "rootlink/etc/pwn4", .content = "w"}};
  assert_int_equal(put_tar("/", via_esc, ARRAY_LEN(via_esc), true, &err), 0);
  assert_content(g.merged, "hostsecret/pwn", "x");
  assert_content(g.merged, "hostsecret/pwn2", "y");
  assert_content(g.merged, "pwn3", "z");
  assert_content(g.merged, "etc/pwn4", "w");
  const spec via_vol[] = {{.name = "out/pwn5", .content = "v"},
                          {.name = "toetc/pwn6", .content = "u"}};
  assert_int_equal(put_tar("/data", via_vol, ARRAY_LEN(via_vol), true, &err), 0);
  /* The destination is the root of the walk: the links resolve below /data, as in Docker. */
  assert_content(g.vol, "hostsecret/pwn5", "v");
  assert_content(g.vol, "etc/pwn6", "u");

  /* Links the archive itself brings, then writes through. */
  const spec own_links[] = {
      {.name = "l", .type = AE_IFLNK, .symlink = "/"},
      {.name = "l/pwned-by-arca-test", .content = "through /"},
      {.name = "l2", .type = AE_IFLNK, .symlink = "../../../../../../../../"},
      {.name = "l2/pwned2", .content = "through .."},
      {.name = "l3", .type = AE_IFLNK, .symlink = "/etc/hostname"},
      {.name = "l3", .content = "replaced, not written through"},
  };
  assert_int_equal(put_tar("/tmp", own_links, ARRAY_LEN(own_links), true, &err), 0);
  assert_content(g.merged, "tmp/pwned-by-arca-test", "through /");
  assert_content(g.merged, "tmp/pwned2", "through ..");
  assert_content(g.merged, "tmp/l3", "replaced, not written through");
  assert_content(g.merged, "etc/hostname", "img\n");

  /* A planted symlink as the final name is replaced, not followed. */
  put_link(g.merged, "tmp/victim", "/etc/passwd");
  const spec victim[] = {{.name = "victim", .content = "mine"}};
  assert_int_equal(put_tar("/tmp", victim, 1, true, &err), 0);
  assert_content(g.merged, "tmp/victim", "mine");
  assert_prefix(g.merged, "etc/passwd", "root:x:0:0");

  /* Hard links must point inside the destination. */
  const spec hard_out[] = {{.name = "h", .hardlink = "../../hostsecret/shadow"}};
  assert_int_equal(put_tar("/tmp", hard_out, 1, true, &err), -1);
  assert_string_equal(err.msg, "invalid hardlink target \"../../hostsecret/shadow\"");
  const spec hard_abs[] = {{.name = "h", .hardlink = "/etc/passwd"}};
  assert_int_equal(put_tar("/tmp", hard_abs, 1, true, &err), -1); /* /tmp/etc/passwd: none */
  assert_int_equal(err.status, 500);
  const spec hard_esc[] = {{.name = "h", .hardlink = "esc/shadow"}};
  assert_int_equal(put_tar("/", hard_esc, 1, true, &err), -1);
  char *p = at(g.secret, "shadow");
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_nlink, 1);
  free(p);
  assert_host_untouched();
}

static void test_archive_put_ownership(void **state) {
  (void)state;
  require_root();
  arca_err err;
  const spec owned[] = {{.name = "o.txt", .content = "o", .uid = 4321, .gid = 8765},
                        {.name = "od/", .type = AE_IFDIR, .uid = 4321, .gid = 8765}};
  /* Without copyUIDGID, and with it for a root container: the tar's ids. */
  assert_int_equal(put_tar("/tmp", owned, 2, true, &err), 0);
  assert_owner_mode(g.merged, "tmp/o.txt", 4321, 8765, 0644);
  int fd = tar_of(owned, 2, false);
  assert_int_equal(lx_archive_put(g.merged, g.mounts, 3, "/tmp", fd, true, true, &err), 0);
  close(fd);
  assert_owner_mode(g.merged, "tmp/od", 4321, 8765, 0755);

  /* copyUIDGID with a container user: that user's ids from the container's files. */
  struct {
    const char *user;
    uid_t uid;
    gid_t gid;
  } cases[] = {
      {"alice", 1000, 1000}, {"alice:staff", 1000, 50}, {"1000", 1000, 1000},
      {"4242", 4242, 0},     {"alice:77", 1000, 77},    {":staff", 0, 50},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    fd = tar_of(owned, 2, false);
    lx_put_options opts = {.user = cases[i].user};
    if (lx_archive_put_opts(g.merged, g.mounts, 3, "/tmp", fd, &opts, &err) < 0)
      fail_msg("user %s: %s", cases[i].user, err.msg);
    close(fd);
    assert_owner_mode(g.merged, "tmp/o.txt", cases[i].uid, cases[i].gid, 0644);
    assert_owner_mode(g.merged, "tmp/od", cases[i].uid, cases[i].gid, 0755);
  }
  fd = tar_of(owned, 2, false);
  lx_put_options nosuch = {.user = "nosuch"};
  assert_int_equal(lx_archive_put_opts(g.merged, g.mounts, 3, "/tmp", fd, &nosuch, &err), -1);
  close(fd);
  assert_int_equal(err.status, 400);
  assert_string_equal(
      err.msg,
      "failed to look up user \"nosuch\" in container: no matching entries in passwd file");
  fd = tar_of(owned, 2, false);
  lx_put_options nogroup = {.user = "alice:nogroup"};
  assert_int_equal(lx_archive_put_opts(g.merged, g.mounts, 3, "/tmp", fd, &nogroup, &err), -1);
  close(fd);
  assert_string_equal(
      err.msg,
      "failed to look up group \"nogroup\" in container: no matching entries in group file");
  /* The passwd file is the container's, even through a planted link. */
  char *pw = at(g.merged, "etc/passwd");
  assert_int_equal(unlink(pw), 0);
  assert_int_equal(symlink("../../../../../../etc/passwd", pw), 0);
  free(pw);
  fd = tar_of(owned, 2, false);
  lx_put_options root = {.user = "root"};
  assert_int_equal(lx_archive_put_opts(g.merged, g.mounts, 3, "/tmp", fd, &root, &err), -1);
  close(fd);
  assert_int_equal(err.status, 400);
}

/* ---- export, commit, sizes ------------------------------------------------------------ */

static void test_export(void **state) {
  (void)state;
  require_root();
  change_container();
  int fd = memfd_new();
  arca_err err;
  assert_int_equal(lx_export(g.merged, g.mounts, 3, fd, &err), 0);
  static entry e[256];
  size_t n = read_tar(fd, e, 256);
  close(fd);
  assert_string_equal(find_entry(e, n, "etc/hostname")->content, "ctr\n");
  assert_string_equal(find_entry(e, n, "newfile")->content, "new");
  assert_string_equal(find_entry(e, n, "esc")->symlink, "../hostsecret");
  assert_non_null(find_entry(e, n, "data/"));
  assert_null(find_entry(e, n, "data/v.txt")); /* volumes are not exported */
  assert_null(find_entry(e, n, "olddir/b"));
  assert_string_equal(find_entry(e, n, "keep/x")->content, "again");
  assert_null(find_entry(e, n, "./"));
  assert_int_equal(find_entry(e, n, "etc/passwd")->uid, 12);
}

static void test_commit_layer(void **state) {
  (void)state;
  require_root();
  change_container();
  int fd = memfd_new();
  arca_err err;
  char diff_id[72], digest[72];
  int64_t size = 0, csize = 0;
  assert_int_equal(lx_commit_layer(g.upper, fd, diff_id, digest, &size, &csize, &err), 0);
  assert_true(str_has_prefix(diff_id, "sha256:"));
  assert_string_not_equal(diff_id, digest);
  assert_int_equal(lseek(fd, 0, SEEK_END), csize);
  char check[DIGEST_STR_SIZE];
  uint64_t total = 0;
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  assert_int_equal(digest_fd(fd, check, &total, &err), 0);
  assert_string_equal(check, digest);

  /* Unpacked again, the layer is the upper dir. */
  char *dir = at(g.base, "unpacked");
  assert_int_equal(mkdir(dir, 0755), 0);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  layer_unpack_result res;
  assert_int_equal(layer_unpack_fd(fd, dir, NULL, NULL, &res, &err), 0);
  close(fd);
  assert_string_equal(res.diff_id, diff_id);
  assert_int_equal((int64_t)res.uncompressed_size, size);
  assert_content(dir, "newfile", "new");
  assert_content(dir, "etc/hostname", "ctr\n");
  assert_content(dir, "olddir/sub/d", "d");
  char *wh = at(dir, "olddir/b");
  struct stat st;
  assert_int_equal(lstat(wh, &st), 0);
  assert_true(S_ISCHR(st.st_mode) && st.st_rdev == 0);
  free(wh);
  char *sub = at(dir, "olddir/sub");
  char v[2];
  assert_int_equal(lgetxattr(sub, "trusted.overlay.opaque", v, sizeof v), 1);
  free(sub);
  free(dir);

  /* A missing upper dir is an error, nothing half-done is hidden. */
  fd = memfd_new();
  char *missing = at(g.base, "nope");
  assert_int_equal(lx_commit_layer(missing, fd, diff_id, digest, &size, &csize, &err), -1);
  assert_int_equal(err.status, 404);
  free(missing);
  close(fd);
}

static void test_sizes(void **state) {
  (void)state;
  require_root();
  arca_err err;
  int64_t rw = -1, root = -1;
  assert_int_equal(lx_sizes(g.upper, g.merged, &rw, &root, &err), 0);
  assert_int_equal(rw, 0);
  /* The image as the container sees it: regular files and symlink targets, the hard link
   * once, the whited-out /keep/x not at all. */
  int64_t image =
      69 + 22 + 4 + 7 + 3 + 1 + 1 + 1 + 4 /* files */ + 7 + 4 + 8 + 1 + 13 + 17 /* links */;
  assert_int_equal(root, image);

  put_file(g.merged, "big", "0123456789", 0644);
  char *big = at(g.merged, "big"), *big2 = at(g.merged, "big2");
  assert_int_equal(link(big, big2), 0);
  free(big);
  free(big2);
  put_file(g.merged, "etc/hostname", "container\n", 0644); /* copied up: 10 bytes */
  assert_int_equal(lx_sizes(g.upper, g.merged, &rw, &root, &err), 0);
  assert_int_equal(rw, 10 + 10);
  assert_int_equal(root, image + 10 + 6);

  char *missing = at(g.base, "nope");
  assert_int_equal(lx_sizes(missing, g.merged, &rw, &root, &err), -1);
  assert_int_equal(err.status, 404);
  free(missing);
}

/* A crash (sanitizer abort) skips teardown: remove the scratch tree on the way out. */
static void on_crash(int sig) {
  if (g.base) {
    if (g.mounted) umount2(g.merged, MNT_DETACH);
    arca_err err;
    rm_rf(g.base, &err);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

int main(void) {
  if (geteuid() == 0) {
    /* A private mount namespace: the overlay can never outlive this process. */
    if (unshare(CLONE_NEWNS) == 0) mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    signal(SIGABRT, on_crash);
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_path_stat, setup, teardown),
      cmocka_unit_test_setup_teardown(test_archive_get, setup, teardown),
      cmocka_unit_test_setup_teardown(test_archive_put, setup, teardown),
      cmocka_unit_test_setup_teardown(test_archive_put_escapes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_archive_put_ownership, setup, teardown),
      cmocka_unit_test_setup_teardown(test_export, setup, teardown),
      cmocka_unit_test_setup_teardown(test_commit_layer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
