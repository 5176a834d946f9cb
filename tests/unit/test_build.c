/* The classic builder's pure parts: Go formatting of history entries and stream lines,
 * build arguments, the run configuration's shape and cache key, the build context (tarsum,
 * paths, COPY sources) and the COPY tar writer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/build_args.h"
#include "builder/build_context.h"
#include "builder/build_fmt.h"
#include "builder/build_git.h"
#include "builder/copy_tar.h"
#include "builder/image_view.h"
#include "builder/run_config.h"
#include "common/cleanup.h"
#include "common/util.h"

static char *sb_text(strbuf *sb) { return sb->buf ? sb_steal(sb) : xstrdup(""); }

/* ---- Go formatting ---- */

static char *dur(int64_t ns) {
  strbuf sb;
  sb_init(&sb);
  go_duration(&sb, ns);
  return sb_text(&sb);
}

static void test_go_duration(void **state) {
  (void)state;
  static const struct {
    int64_t ns;
    const char *want;
  } cases[] = {
      {0, "0s"},
      {1, "1ns"},
      {1500, "1.5\xc2\xb5s"},
      {300000000, "300ms"},
      {1000000000, "1s"},
      {1500000000, "1.5s"},
      {300000000000LL, "5m0s"},
      {3600000000000LL, "1h0m0s"},
      {3723000000000LL, "1h2m3s"},
      {-2000000000, "-2s"},
      {90061000000000LL, "25h1m1s"},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    autofree char *got = dur(cases[i].ns);
    assert_string_equal(got, cases[i].want);
  }
}

static void test_go_fmt_slices_and_health(void **state) {
  (void)state;
  strbuf sb;
  sb_init(&sb);
  json_t *a = json_pack("[s,s,s]", "/bin/sh", "-c", "echo \"hi\"\tthere");
  go_fmt_q_strv(&sb, a);
  autofree char *q = sb_text(&sb);
  assert_string_equal(q, "[\"/bin/sh\" \"-c\" \"echo \\\"hi\\\"\\tthere\"]");
  sb_init(&sb);
  go_fmt_v_strv(&sb, a);
  autofree char *v = sb_text(&sb);
  assert_string_equal(v, "[/bin/sh -c echo \"hi\"\tthere]");
  json_decref(a);
  sb_init(&sb);
  go_fmt_q_strv(&sb, NULL);
  autofree char *nil = sb_text(&sb);
  assert_string_equal(nil, "[]");

  json_t *h =
      json_pack("{s:[s,s],s:I,s:I,s:i}", "Test", "CMD-SHELL", "curl -f x", "Interval",
                (json_int_t)300000000000LL, "Timeout", (json_int_t)3000000000LL, "Retries", 3);
  sb_init(&sb);
  go_fmt_q_health(&sb, h);
  autofree char *hq = sb_text(&sb);
  assert_string_equal(hq, "&{[\"CMD-SHELL\" \"curl -f x\"] \"5m0s\" \"3s\" \"0s\" \"0s\" '\\x03'}");
  json_object_set_new(h, "Retries", json_integer(65));
  sb_init(&sb);
  go_fmt_q_health(&sb, h);
  autofree char *hq2 = sb_text(&sb);
  assert_true(str_has_suffix(hq2, " 'A'}"));
  json_decref(h);
}

static void test_go_json_string(void **state) {
  (void)state;
  strbuf sb;
  sb_init(&sb);
  const char in[] = "a<b>&\"\\\n\r\t\b\f\x01\x1b\xe2\x80\xa8 caf\xc3\xa9 \xff!";
  go_json_string(&sb, in, sizeof in - 1);
  autofree char *out = sb_text(&sb);
  assert_string_equal(out, "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001b\\u2028 "
                           "caf\xc3\xa9 \\ufffd!\"");
}

/* ---- build arguments ---- */

static bool list_has(char **v, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i], s)) return true;
  return false;
}

static void test_build_args(void **state) {
  (void)state;
  json_t *opts = json_pack("{s:s,s:n,s:s,s:s}", "GIVEN", "cli", "NOVAL", "HTTP_PROXY", "http://p",
                           "UNUSED", "x");
  build_args *global = build_args_new(opts);
  json_decref(opts);
  /* ARG before FROM: meta */
  build_args_add(global, "BASE", "busybox");
  build_args_add_meta(global, "BASE", "busybox");
  build_args *st = build_args_clone(global);
  build_args_reset_allowed(st);
  size_t n;
  char **all = build_args_all_allowed(st, &n);
  /* nothing declared in the stage: only the predefined proxy the request set */
  assert_int_equal(n, 1);
  assert_string_equal(all[0], "HTTP_PROXY=http://p");
  build_args_free_list(all, n);
  build_args_add(st, "BASE", NULL);   /* falls back to the meta value */
  build_args_add(st, "GIVEN", "def"); /* the request wins */
  build_args_add(st, "NOVAL", NULL);  /* null in the request and no default: absent */
  build_args_add(st, "DEF", "d");
  json_t *env = json_pack("[s]", "DEF=from-env");
  all = build_args_filter_allowed(st, env, &n);
  json_decref(env);
  assert_int_equal(n, 3);
  assert_true(list_has(all, n, "BASE=busybox"));
  assert_true(list_has(all, n, "GIVEN=cli"));
  assert_true(list_has(all, n, "HTTP_PROXY=http://p"));
  assert_string_equal(all[0], "BASE=busybox"); /* sorted */
  build_args_free_list(all, n);
  assert_false(build_args_referenced_or_not_builtin(st, "HTTP_PROXY"));
  assert_true(build_args_referenced_or_not_builtin(st, "ANYTHING"));
  build_args_add(st, "HTTP_PROXY", NULL);
  assert_true(build_args_referenced_or_not_builtin(st, "HTTP_PROXY"));
  char **meta = build_args_all_meta(st, &n);
  assert_true(list_has(meta, n, "BASE=busybox"));
  build_args_free_list(meta, n);
  build_args_merge_referenced(global, st);
  autofree char *warn = build_args_unused_warning(global);
  assert_string_equal(warn, "[Warning] One or more build-args [UNUSED] were not consumed\n");
  build_args_free(st);
  build_args_free(global);
}

/* ---- run configuration ---- */

static void test_runcfg_normalize(void **state) {
  (void)state;
  json_t *in = json_pack("{s:[s],s:s,s:{s:{}},s:{},s:[]}", "Env", "A=1", "Cmd", "sh",
                         "ExposedPorts", "80/tcp", "Labels", "Shell");
  json_t *n = runcfg_normalize(in);
  autofree char *text = json_dumps(n, JSON_COMPACT);
  assert_string_equal(
      text,
      "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,"
      "\"AttachStdout\":false,\"AttachStderr\":false,\"ExposedPorts\":{\"80/tcp\":{}},"
      "\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":[\"A=1\"],\"Cmd\":[\"sh\"],"
      "\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,"
      "\"Labels\":{}}");
  json_decref(n);
  json_decref(in);
}

static void test_runcfg_cache_key(void **state) {
  (void)state;
  char k1[DIGEST_STR_SIZE], k2[DIGEST_STR_SIZE];
  json_t *a =
      json_pack("{s:[s,s],s:{s:s,s:s},s:{s:{},s:{}},s:s,s:s}", "Cmd", "a", "b", "Labels", "x", "1",
                "y", "2", "Volumes", "/a", "/b", "Image", "sha256:1", "Hostname", "h1");
  json_t *b =
      json_pack("{s:[s,s],s:{s:s,s:s},s:{s:{},s:{}},s:s,s:s}", "Cmd", "a", "b", "Labels", "y", "2",
                "x", "1", "Volumes", "/b", "/a", "Image", "sha256:2", "Hostname", "h2");
  runcfg_cache_key(a, "linux/amd64", k1);
  runcfg_cache_key(b, "linux/amd64", k2);
  assert_string_equal(k1, k2); /* map order, Image and Hostname do not count */
  runcfg_cache_key(b, "linux/arm64", k2);
  assert_string_not_equal(k1, k2);
  json_object_set_new(json_object_get(b, "Labels"), "x", json_string("other"));
  runcfg_cache_key(b, "linux/amd64", k2);
  assert_string_not_equal(k1, k2);
  /* a nil and an empty slice compare equal, as compare() looks at lengths */
  json_t *c = json_pack("{s:n}", "Env");
  json_t *d = json_pack("{s:[]}", "Env");
  runcfg_cache_key(c, "p", k1);
  runcfg_cache_key(d, "p", k2);
  assert_string_equal(k1, k2);
  /* a health check present or not does count; ["a b"] is not ["a", "b"] */
  json_object_set_new(d, "Healthcheck", json_object());
  runcfg_cache_key(d, "p", k2);
  assert_string_not_equal(k1, k2);
  json_t *e1 = json_pack("{s:[s]}", "Cmd", "a b");
  json_t *e2 = json_pack("{s:[s,s]}", "Cmd", "a", "b");
  runcfg_cache_key(e1, "p", k1);
  runcfg_cache_key(e2, "p", k2);
  assert_string_not_equal(k1, k2);
  json_decref(a);
  json_decref(b);
  json_decref(c);
  json_decref(d);
  json_decref(e1);
  json_decref(e2);
}

/* ---- the build context ---- */

typedef struct entry {
  const char *name;
  mode_t type;
  mode_t perm;
  const char *content;
  const char *link;
} entry;

static int write_tar(const char *path, const entry *es, size_t n, bool gzip) {
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  if (archive_write_open_filename(a, path) != ARCHIVE_OK) return -1;
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, es[i].name);
    archive_entry_set_filetype(e, es[i].type);
    archive_entry_set_perm(e, es[i].perm);
    archive_entry_set_mtime(e, 1700000000, 0);
    if (es[i].link) archive_entry_set_symlink(e, es[i].link);
    size_t len = es[i].content ? strlen(es[i].content) : 0;
    archive_entry_set_size(e, (la_int64_t)len);
    archive_write_header(a, e);
    if (len) archive_write_data(a, es[i].content, len);
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return 0;
}

typedef struct ctx_fixture {
  char dir[64];
  build_context *ctx;
} ctx_fixture;

static const entry context_entries[] = {
    {"Dockerfile", AE_IFREG, 0644, "FROM busybox\n", NULL},
    {"hello.txt", AE_IFREG, 0644, "hello world\n", NULL},
    {"dir/", AE_IFDIR, 0755, NULL, NULL},
    {"dir/a.txt", AE_IFREG, 0600, "a\n", NULL},
    {"dir/b.md", AE_IFREG, 0644, "b\n", NULL},
    {"link-in", AE_IFLNK, 0777, NULL, "dir/a.txt"},
    {"link-out", AE_IFLNK, 0777, NULL, "../../etc/passwd"},
    {"link-abs", AE_IFLNK, 0777, NULL, "/hello.txt"},
    {".dockerignore", AE_IFREG, 0644, "Dockerfile\n*.md\n", NULL},
};

static int ctx_setup(void **state) {
  ctx_fixture *f = xcalloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/test-build-XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  autofree char *tar = xasprintf("%s/ctx.tar.gz", f->dir);
  if (write_tar(tar, context_entries, ARRAY_LEN(context_entries), true) < 0) return -1;
  int fd = open(tar, O_RDONLY | O_CLOEXEC);
  arca_err err;
  int rc = build_context_from_tar(fd, f->dir, &f->ctx, &err);
  close(fd);
  if (rc < 0) {
    print_error("context: %s\n", err.msg);
    return -1;
  }
  *state = f;
  return 0;
}

static int ctx_teardown(void **state) {
  ctx_fixture *f = *state;
  build_context_free(f->ctx);
  rm_rf(f->dir, NULL);
  free(f);
  return 0;
}

static void test_context_tarsum(void **state) {
  ctx_fixture *f = *state;
  /* dockerd's tarsum v1 of hello.txt as the docker CLI sends it (mode 0644, root) */
  autofree char *h = build_context_hash(f->ctx, "hello.txt");
  assert_string_equal(h, "4f9f97bc8bcd77c15d3499db5bc9bae90d7a9e6b7107fcf982c710fa3625041c");
  /* a link hashes as its target, in the context */
  autofree char *hl = build_context_hash(f->ctx, "link-in");
  autofree char *ha = build_context_hash(f->ctx, "dir/a.txt");
  assert_string_equal(hl, ha);
  autofree char *habs = build_context_hash(f->ctx, "link-abs");
  assert_string_equal(habs, h);
  /* unknown paths hash as themselves */
  autofree char *hn = build_context_hash(f->ctx, "nosuch");
  assert_string_equal(hn, "nosuch");
}

static void test_context_paths(void **state) {
  ctx_fixture *f = *state;
  arca_err err;
  char *p = NULL;
  assert_int_equal(build_context_full_path(f->ctx, "../x", &p, &err), -1);
  assert_string_equal(err.msg, "forbidden path outside the build context: ../x ()");
  assert_int_equal(build_context_full_path(f->ctx, "dir/../../x", &p, &err), -1);
  assert_int_equal(build_context_full_path(f->ctx, "dir/../hello.txt", &p, &err), 0);
  assert_true(str_has_suffix(p, "/hello.txt"));
  free(p);
  /* a link that climbs out stays inside: ".." stops at the root */
  assert_int_equal(build_context_full_path(f->ctx, "link-out", &p, &err), 0);
  assert_true(str_has_prefix(p, build_context_root(f->ctx)));
  assert_true(str_has_suffix(p, "/etc/passwd"));
  free(p);
  char *text = NULL, *used = NULL;
  size_t len;
  assert_int_equal(build_context_read_file(f->ctx, "Dockerfile", true, &text, &len, &used, &err),
                   0);
  assert_string_equal(text, "FROM busybox\n");
  free(text);
  free(used);
  assert_int_equal(build_context_read_file(f->ctx, "nope", false, &text, &len, &used, &err), -1);
  assert_string_equal(err.msg, "Cannot locate specified Dockerfile: nope");
  /* .dockerignore listing the Dockerfile removes it (and not other matches) */
  assert_int_equal(build_context_apply_dockerignore(f->ctx, "Dockerfile", &err), 0);
  assert_int_equal(build_context_read_file(f->ctx, "Dockerfile", false, &text, &len, &used, &err),
                   -1);
  autofree char *md = xasprintf("%s/dir/b.md", build_context_root(f->ctx));
  assert_int_equal(access(md, F_OK), 0);
}

static void test_context_sources(void **state) {
  ctx_fixture *f = *state;
  arca_err err;
  ctx_source *s = NULL;
  size_t n = 0;
  assert_int_equal(build_context_sources(f->ctx, "./hello.txt", &s, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(s[0].path, "hello.txt");
  assert_string_equal(s[0].hash,
                      "file:4f9f97bc8bcd77c15d3499db5bc9bae90d7a9e6b7107fcf982c710fa3625041c");
  assert_false(s[0].is_dir);
  assert_int_equal(build_context_sources(f->ctx, "/dir", &s, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_true(s[1].is_dir);
  assert_true(str_has_prefix(s[1].hash, "dir:"));
  assert_int_equal(build_context_sources(f->ctx, "dir/*.txt", &s, &n, &err), 0);
  assert_int_equal(n, 3);
  assert_string_equal(s[2].path, "dir/a.txt");
  ctx_sources_free(s, n);
  s = NULL;
  n = 0;
  assert_int_equal(build_context_sources(f->ctx, "*.nomatch", &s, &n, &err), 0);
  assert_int_equal(n, 0);
  assert_int_equal(build_context_sources(f->ctx, "absent", &s, &n, &err), -1);
  assert_string_equal(
      err.msg,
      "file not found in build context or excluded by .dockerignore: stat absent: file does "
      "not exist");
  assert_int_equal(build_context_sources(f->ctx, "../hello.txt", &s, &n, &err), -1);
  assert_string_equal(err.msg, "forbidden path outside the build context: ../hello.txt ()");
  ctx_sources_free(s, n);
  /* several sources: "multi:" over the hashes in order */
  const char *hs[] = {"file:a", "dir:b"};
  autofree char *multi = build_sources_hash(hs, 2);
  assert_string_equal(multi,
                      "multi:11b7a12d4bc24c7dde597ae90b75f582409d8bf19b0f0fa5881a18f528acd619");
  autofree char *one = build_sources_hash(hs, 1);
  assert_string_equal(one, "file:a");
}

static void test_context_hostile(void **state) {
  (void)state;
  char dir[] = "/tmp/test-build-XXXXXX";
  assert_non_null(mkdtemp(dir));
  static const entry evil[] = {{"Dockerfile", AE_IFREG, 0644, "FROM x\n", NULL},
                               {"../escape", AE_IFREG, 0644, "x", NULL}};
  autofree char *tar = xasprintf("%s/evil.tar", dir);
  assert_int_equal(write_tar(tar, evil, ARRAY_LEN(evil), false), 0);
  int fd = open(tar, O_RDONLY | O_CLOEXEC);
  build_context *c = NULL;
  arca_err err;
  assert_int_equal(build_context_from_tar(fd, dir, &c, &err), -1);
  close(fd);
  assert_int_equal(err.status, 400);
  assert_true(str_has_prefix(err.msg, "Error processing tar file"));
  autofree char *outside = xasprintf("%s/../escape", dir);
  assert_int_not_equal(access(outside, F_OK), 0);
  rm_rf(dir, NULL);
}

/* ---- the COPY tar ---- */

static char *rename_to_dest(void *ctx, const char *name) {
  (void)ctx;
  const char *slash = strchr(name, '/');
  return slash && slash[1] ? xasprintf("dest/%s", slash + 1) : NULL;
}

static void collect(void *ctx, const char *name, const char *hex) {
  (void)name;
  (*(int *)ctx) += (int)strlen(hex);
}

static void test_copy_tar(void **state) {
  (void)state;
  char dir[] = "/tmp/test-build-XXXXXX";
  assert_non_null(mkdtemp(dir));
  autofree char *src = xasprintf("%s/src", dir);
  autofree char *sub = xasprintf("%s/src/sub", dir);
  mkdir(src, 0755);
  mkdir(sub, 0700);
  autofree char *f1 = xasprintf("%s/src/sub/f", dir);
  assert_int_equal(write_file_atomic(f1, "data", 4, 0640, NULL), 0);
  autofree char *lnk = xasprintf("%s/src/l", dir);
  assert_int_equal(symlink("sub/f", lnk), 0);
  autofree char *out = xasprintf("%s/out.tar", dir);
  int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  copy_tar *t;
  arca_err err;
  assert_int_equal(copy_tar_open(fd, &t, &err), 0);
  assert_int_equal(copy_tar_dir(t, "app", 0755, 1000, 1000, 1700000000, &err), 0);
  assert_int_equal(copy_tar_tree(t, "app", src, 1000, 1000, &err), 0);
  assert_int_equal(copy_tar_close(t, &err), 0);
  close(fd);
  /* read it back: names, owners, modes, the link */
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  assert_int_equal(archive_read_open_filename(a, out, 10240), ARCHIVE_OK);
  struct archive_entry *e;
  const char *want[] = {"app/", "app/l", "app/sub/", "app/sub/f"};
  size_t i = 0;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    assert_true(i < ARRAY_LEN(want));
    assert_string_equal(archive_entry_pathname(e), want[i]);
    assert_int_equal(archive_entry_uid(e), 1000);
    if (i == 1) assert_string_equal(archive_entry_symlink(e), "sub/f");
    if (i == 2) assert_int_equal(archive_entry_perm(e), 0700);
    if (i == 3) assert_int_equal(archive_entry_perm(e), 0640);
    i++;
  }
  assert_int_equal(i, ARRAY_LEN(want));
  archive_read_free(a);
  assert_true(copy_tar_is_archive(out));
  assert_false(copy_tar_is_archive(f1));
  /* re-emitting renames and hashes entries */
  autofree char *out2 = xasprintf("%s/out2.tar", dir);
  int in = open(out, O_RDONLY | O_CLOEXEC);
  int fd2 = open(out2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_int_equal(copy_tar_open(fd2, &t, &err), 0);
  int hashed = 0;
  assert_int_equal(copy_tar_from_tar(t, in, rename_to_dest, collect, &hashed, "x/", 0, 0, &err), 0);
  assert_int_equal(copy_tar_close(t, &err), 0);
  close(in);
  close(fd2);
  assert_int_equal(hashed, 4 * 64);
  a = archive_read_new();
  archive_read_support_format_tar(a);
  assert_int_equal(archive_read_open_filename(a, out2, 10240), ARCHIVE_OK);
  assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
  assert_string_equal(archive_entry_pathname(e), "dest/l");
  assert_int_equal(archive_entry_uid(e), 0);
  archive_read_free(a);
  rm_rf(dir, NULL);
}

static void test_git_urls(void **state) {
  (void)state;
  assert_true(build_is_git_url("https://github.com/moby/moby.git"));
  assert_true(build_is_git_url("http://host/repo.git#main:sub"));
  assert_true(build_is_git_url("git://127.0.0.1:9418/repo"));
  assert_true(build_is_git_url("git@github.com:moby/moby.git"));
  assert_true(build_is_git_url("github.com/moby/moby"));
  assert_false(build_is_git_url("https://example.com/ctx.tar.gz"));
  assert_false(build_is_git_url("https://example.com/repo.git#"));
  assert_false(build_is_git_url("ftp://example.com/repo.git"));
  char *ctx = NULL;
  arca_err err;
  assert_int_equal(build_git_fetch("git://127.0.0.1:1/x.git#-evil", "/tmp/never-made", &ctx, &err), -1);
  assert_string_equal(err.msg, "invalid refspec: -evil");
}

/* ---- the image view ---- */

static void put(const char *dir, const char *rel, const char *content) {
  autofree char *p = xasprintf("%s/%s", dir, rel);
  autofree char *parent = xstrdup(p);
  *strrchr(parent, '/') = '\0';
  assert_int_equal(mkdir_p(parent, 0755, NULL), 0);
  assert_int_equal(write_file_atomic(p, content, strlen(content), 0644, NULL), 0);
}

static void test_image_view(void **state) {
  (void)state;
  if (geteuid() != 0) skip(); /* whiteouts are device nodes, opaque markers trusted.* xattrs */
  char root[] = "/tmp/test-build-XXXXXX";
  assert_non_null(mkdtemp(root));
  autofree char *l1 = xasprintf("%s/l1", root), *l2 = xasprintf("%s/l2", root), *l3 = xasprintf("%s/l3", root);
  put(l1, "a/x", "1");
  put(l1, "a/y", "y");
  put(l1, "d/old", "old");
  put(l1, "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  autofree char *lnk = xasprintf("%s/link", l1), *rel = xasprintf("%s/rel", l1);
  assert_int_equal(symlink("/a", lnk), 0);
  assert_int_equal(symlink("a", rel), 0);
  put(l2, "d/new", "new");
  put(l2, "b/z", "z");
  autofree char *wh = xasprintf("%s/a/y", l2);
  autofree char *l2a = xasprintf("%s/a", l2);
  assert_int_equal(mkdir_p(l2a, 0755, NULL), 0);
  if (mknod(wh, S_IFCHR | 0600, makedev(0, 0)) < 0) skip();
  autofree char *l2d = xasprintf("%s/d", l2);
  if (lsetxattr(l2d, "trusted.overlay.opaque", "y", 1, 0) < 0) skip();
  put(l3, "a/x", "3");
  const char *layers[] = {l1, l2, l3};
  image_view *v = image_view_new(layers, 3);
  arca_err err;
  iv_node n;
  assert_int_equal(image_view_lookup(v, "/a/x", true, &n, &err), 0);
  assert_true(n.exists);
  assert_true(str_has_prefix(n.host, l3));
  iv_node_clear(&n);
  assert_int_equal(image_view_lookup(v, "/a/y", true, &n, &err), 0);
  assert_false(n.exists); /* whited out */
  iv_node_clear(&n);
  assert_int_equal(image_view_lookup(v, "/d/old", true, &n, &err), 0);
  assert_false(n.exists); /* below an opaque directory */
  iv_node_clear(&n);
  assert_int_equal(image_view_lookup(v, "/link/x", true, &n, &err), 0);
  assert_true(n.exists);
  assert_string_equal(n.path, "/a/x");
  iv_node_clear(&n);
  assert_int_equal(image_view_lookup(v, "/link", false, &n, &err), 0);
  assert_true(n.exists && S_ISLNK(n.st.st_mode));
  iv_node_clear(&n);
  assert_int_equal(image_view_lookup(v, "/rel/../../../a/x", true, &n, &err), 0);
  assert_string_equal(n.path, "/a/x"); /* ".." stops at the root */
  iv_node_clear(&n);
  assert_int_equal(image_view_lookup(v, "/link/new/deep", true, &n, &err), 0);
  assert_false(n.exists);
  assert_string_equal(n.path, "/a/new/deep"); /* resolved through the link all the same */
  iv_node_clear(&n);
  char **names;
  size_t cnt;
  assert_int_equal(image_view_readdir(v, "/a", &names, &cnt, &err), 0);
  assert_int_equal(cnt, 1);
  assert_string_equal(names[0], "x");
  for (size_t i = 0; i < cnt; i++) free(names[i]);
  free(names);
  assert_int_equal(image_view_readdir(v, "/d", &names, &cnt, &err), 0);
  assert_int_equal(cnt, 1);
  assert_string_equal(names[0], "new");
  for (size_t i = 0; i < cnt; i++) free(names[i]);
  free(names);
  assert_int_equal(image_view_readdir(v, "/", &names, &cnt, &err), 0);
  assert_int_equal(cnt, 6);
  assert_string_equal(names[0], "a");
  assert_string_equal(names[5], "rel");
  for (size_t i = 0; i < cnt; i++) free(names[i]);
  free(names);
  char *text = NULL;
  assert_int_equal(image_view_read(v, "/link/x", 100, &text, &err), 0);
  assert_string_equal(text, "3");
  free(text);
  assert_int_equal(image_view_read(v, "/nope", 100, &text, &err), -1);
  assert_string_equal(err.msg, "open /nope: no such file or directory");
  image_view_free(v);
  /* scratch: only the root */
  image_view *empty = image_view_new(NULL, 0);
  assert_int_equal(image_view_lookup(empty, "/x", true, &n, &err), 0);
  assert_false(n.exists);
  iv_node_clear(&n);
  image_view_free(empty);
  rm_rf(root, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_go_duration),
      cmocka_unit_test(test_go_fmt_slices_and_health),
      cmocka_unit_test(test_go_json_string),
      cmocka_unit_test(test_build_args),
      cmocka_unit_test(test_runcfg_normalize),
      cmocka_unit_test(test_runcfg_cache_key),
      cmocka_unit_test_setup_teardown(test_context_tarsum, ctx_setup, ctx_teardown),
      cmocka_unit_test_setup_teardown(test_context_paths, ctx_setup, ctx_teardown),
      cmocka_unit_test_setup_teardown(test_context_sources, ctx_setup, ctx_teardown),
      cmocka_unit_test(test_context_hostile),
      cmocka_unit_test(test_copy_tar),
      cmocka_unit_test(test_git_urls),
      cmocka_unit_test(test_image_view),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
