/* Image references. Every expectation below was produced by distribution/reference
 * (ParseNormalizedNamed, FamiliarString, FamiliarName) with go-digest v1.0.0, the versions
 * the docker daemon builds with, and by the daemon's own pull and tag handlers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "image/reference.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DGST "sha256:" HEX64
#define A32 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define A64 A32 A32
#define A128 A64 A64

typedef struct ref_case {
  const char *in;
  const char *error; /* NULL: must parse */
  const char *domain, *path, *tag, *digest;
  const char *full, *familiar, *familiar_name;
} ref_case;

#define OK(in, d, p, t, g, full, fam, famname) {in, NULL, d, p, t, g, full, fam, famname}
#define BAD(in, msg) {in, msg, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

static const ref_case cases[] = {
  BAD("", "invalid reference format"),
  BAD(":", "invalid reference format"),
  BAD("busybox:", "invalid reference format"),
  OK("busybox", "docker.io", "library/busybox", NULL, NULL, "docker.io/library/busybox",
     "busybox", "busybox"),
  BAD("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
  BAD("a/B", "invalid reference format: repository name (a/B) must be lowercase"),
  /* an uppercase first component names a registry, which may be uppercase */
  OK("A/b", "A", "b", NULL, NULL, "A/b", "A/b", "A/b"),
  BAD("-a", "invalid reference format"),
  BAD("a..b", "invalid reference format"),
  BAD("a___b", "invalid reference format"),
  BAD("a-", "invalid reference format"),
  BAD("a_.b", "invalid reference format"),
  OK("a.b", "docker.io", "library/a.b", NULL, NULL, "docker.io/library/a.b", "a.b", "a.b"),
  OK("a__b", "docker.io", "library/a__b", NULL, NULL, "docker.io/library/a__b", "a__b", "a__b"),
  OK("a--b", "docker.io", "library/a--b", NULL, NULL, "docker.io/library/a--b", "a--b", "a--b"),
  /* a lone "localhost" is an image on Docker Hub, a first component "localhost" a registry */
  OK("localhost", "docker.io", "library/localhost", NULL, NULL, "docker.io/library/localhost",
     "localhost", "localhost"),
  OK("localhost/foo", "localhost", "foo", NULL, NULL, "localhost/foo", "localhost/foo",
     "localhost/foo"),
  OK("localhost:5000/foo:tag", "localhost:5000", "foo", "tag", NULL, "localhost:5000/foo:tag",
     "localhost:5000/foo:tag", "localhost:5000/foo"),
  OK("localhost:5000", "docker.io", "library/localhost", "5000", NULL,
     "docker.io/library/localhost:5000", "localhost:5000", "localhost"),
  OK("127.0.0.1:5000/a/b@" DGST, "127.0.0.1:5000", "a/b", NULL, DGST,
     "127.0.0.1:5000/a/b@" DGST, "127.0.0.1:5000/a/b@" DGST, "127.0.0.1:5000/a/b"),
  OK("127.0.0.1:5000/x:y", "127.0.0.1:5000", "x", "y", NULL, "127.0.0.1:5000/x:y",
     "127.0.0.1:5000/x:y", "127.0.0.1:5000/x"),
  OK("docker.io/busybox", "docker.io", "library/busybox", NULL, NULL,
     "docker.io/library/busybox", "busybox", "busybox"),
  OK("docker.io/library/busybox:1.36", "docker.io", "library/busybox", "1.36", NULL,
     "docker.io/library/busybox:1.36", "busybox:1.36", "busybox"),
  OK("index.docker.io/library/busybox", "docker.io", "library/busybox", NULL, NULL,
     "docker.io/library/busybox", "busybox", "busybox"),
  OK("index.docker.io/busybox", "docker.io", "library/busybox", NULL, NULL,
     "docker.io/library/busybox", "busybox", "busybox"),
  OK("busybox:latest@" DGST, "docker.io", "library/busybox", "latest", DGST,
     "docker.io/library/busybox:latest@" DGST, "busybox:latest@" DGST, "busybox"),
  OK("busybox@" DGST, "docker.io", "library/busybox", NULL, DGST, "docker.io/library/busybox@" DGST,
     "busybox@" DGST, "busybox"),
  OK("[::1]:5000/x", "[::1]:5000", "x", NULL, NULL, "[::1]:5000/x", "[::1]:5000/x",
     "[::1]:5000/x"),
  OK("[::1]/x", "[::1]", "x", NULL, NULL, "[::1]/x", "[::1]/x", "[::1]/x"),
  BAD("[fe80::1%eth0]/x", "invalid reference format"),
  BAD("[]/x", "invalid reference format"),
  BAD("[::1]:/x", "invalid reference format"),
  BAD("host:abc/x", "invalid reference format"),
  BAD(HEX64, "invalid repository name (" HEX64 "), cannot specify 64-byte hexadecimal strings"),
  /* 65 hex characters are an ordinary name */
  OK(HEX64 "a", "docker.io", "library/" HEX64 "a", NULL, NULL, "docker.io/library/" HEX64 "a",
     HEX64 "a", HEX64 "a"),
  /* a digest is read as name "sha256" with a tag */
  OK(DGST, "docker.io", "library/sha256", HEX64, NULL, "docker.io/library/sha256:" HEX64, DGST,
     "sha256"),
  OK("user/app:1", "docker.io", "user/app", "1", NULL, "docker.io/user/app:1", "user/app:1",
     "user/app"),
  OK("ghcr.io/user/app:v1.2.3", "ghcr.io", "user/app", "v1.2.3", NULL, "ghcr.io/user/app:v1.2.3",
     "ghcr.io/user/app:v1.2.3", "ghcr.io/user/app"),
  OK("Docker.io/busybox", "Docker.io", "busybox", NULL, NULL, "Docker.io/busybox",
     "Docker.io/busybox", "Docker.io/busybox"),
  OK("docker.io/library/a/b", "docker.io", "library/a/b", NULL, NULL, "docker.io/library/a/b",
     "library/a/b", "library/a/b"),
  OK("a/b/c/d", "docker.io", "a/b/c/d", NULL, NULL, "docker.io/a/b/c/d", "a/b/c/d", "a/b/c/d"),
  OK("my_registry/x", "docker.io", "my_registry/x", NULL, NULL, "docker.io/my_registry/x",
     "my_registry/x", "my_registry/x"),
  OK("ho-st.com/x", "ho-st.com", "x", NULL, NULL, "ho-st.com/x", "ho-st.com/x", "ho-st.com/x"),
  OK("1.2.3.4:65536/x", "1.2.3.4:65536", "x", NULL, NULL, "1.2.3.4:65536/x", "1.2.3.4:65536/x",
     "1.2.3.4:65536/x"),
  /* "a_b.com" is no host but is a path component: Docker keeps the whole as the path */
  OK("a_b.com/foo", "", "a_b.com/foo", NULL, NULL, "a_b.com/foo", "a_b.com/foo", "a_b.com/foo"),
  BAD("-host.com/x", "invalid reference format"),
  BAD("host-.com/x", "invalid reference format"),
  BAD("Foo_Bar/baz", "repository name must be lowercase"),
  BAD("a:5000/B", "invalid reference format: repository name (B) must be lowercase"),
  BAD("foo/bar:tag/Baz", "invalid reference format"),
  BAD("foo/bar@Sha256:" A64,
      "invalid reference format: repository name (foo/bar@Sha256) must be lowercase"),
  BAD("a//b", "invalid reference format"),
  BAD("/a", "invalid reference format"),
  BAD("a/", "invalid reference format"),
  BAD("a:b:c", "invalid reference format"),
  BAD("user@host/foo", "invalid reference format"),
  BAD("foo@", "invalid reference format"),
  BAD("foo:@" DGST, "invalid reference format"),
  BAD("\xc3\x89" "abc",
      "invalid reference format: repository name (library/\xc3\x89" "abc) must be lowercase"),
  BAD("\xc3\xa9" "abc", "invalid reference format"),
  BAD("b\xc3\x28", "invalid reference format: repository name (library/b\xc3\x28) must be "
      "lowercase"),
  /* KELVIN SIGN lowers to 'k', so only the case is wrong */
  BAD("\xe2\x84\xaa" "afka.com/foo", "repository name must be lowercase"),
  OK("busybox:Latest", "docker.io", "library/busybox", "Latest", NULL,
     "docker.io/library/busybox:Latest", "busybox:Latest", "busybox"),
  OK("busybox:_x", "docker.io", "library/busybox", "_x", NULL, "docker.io/library/busybox:_x",
     "busybox:_x", "busybox"),
  BAD("busybox:-x", "invalid reference format"),
  BAD("busybox:.x", "invalid reference format"),
  OK("busybox:" A128, "docker.io", "library/busybox", A128, NULL,
     "docker.io/library/busybox:" A128, "busybox:" A128, "busybox"),
  BAD("busybox:" A128 "a", "invalid reference format"),
  BAD("busybox@sha256:" A32, "invalid checksum digest length"),
  BAD("busybox@sha256:" A32 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaA", "invalid checksum digest format"),
  BAD("busybox@md5:" A32, "unsupported digest algorithm"),
  BAD("busybox@MD5:" A32,
      "invalid reference format: repository name (library/busybox@MD5) must be lowercase"),
  BAD("busybox@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "invalid reference format"),
  OK("busybox@sha512:" A128, "docker.io", "library/busybox", NULL, "sha512:" A128,
     "docker.io/library/busybox@sha512:" A128, "busybox@sha512:" A128, "busybox"),
};

static void check_str(const char *what, const char *in, const char *want, const char *got) {
  if (want == NULL && got == NULL) return;
  if (want && got && strcmp(want, got) == 0) return;
  fail_msg("%s of \"%s\": want \"%s\", got \"%s\"", what, in, want ? want : "(null)",
           got ? got : "(null)");
}

static void test_table(void **state) {
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    const ref_case *c = &cases[i];
    image_ref r;
    arca_err e = {0};
    int rc = ref_parse(c->in, &r, &e);
    if (c->error) {
      if (rc == 0) fail_msg("\"%s\" parsed, want error \"%s\"", c->in, c->error);
      assert_int_equal(rc, -1);
      check_str("error", c->in, c->error, e.msg);
      assert_int_equal(e.status, 400);
      assert_null(r.domain);
      assert_null(r.path);
      continue;
    }
    if (rc != 0) fail_msg("\"%s\": unexpected error \"%s\"", c->in, e.msg);
    check_str("domain", c->in, c->domain, r.domain);
    check_str("path", c->in, c->path, r.path);
    check_str("tag", c->in, c->tag, r.tag);
    check_str("digest", c->in, c->digest, r.digest);
    autofree char *full = ref_full(&r);
    autofree char *fam = ref_familiar(&r);
    autofree char *famname = ref_familiar_name(&r);
    autofree char *fullname = ref_full_name(&r);
    check_str("full", c->in, c->full, full);
    check_str("familiar", c->in, c->familiar, fam);
    check_str("familiar name", c->in, c->familiar_name, famname);
    autofree char *want_fullname =
        *r.domain ? xasprintf("%s/%s", c->domain, c->path) : xstrdup(c->path);
    check_str("full name", c->in, want_fullname, fullname);
    check_str("repository path", c->in, c->path, ref_repository_path(&r));
    ref_free(&r);
    assert_null(r.path);
  }
}

static char *repeat(char ch, size_t n) {
  char *s = xmalloc(n + 1);
  memset(s, ch, n);
  s[n] = '\0';
  return s;
}

/* The limit is on the path, which for Hub names includes "library/". */
static void test_name_length(void **state) {
  (void)state;
  struct {
    const char *prefix;
    size_t n;
    bool ok;
  } lens[] = {
    {"", 247, true},        {"", 248, false},         {"", 256, false},
    {"x/", 253, true},      {"x/", 254, false},       {"ghcr.io/", 255, true},
    {"ghcr.io/", 256, false},
  };
  for (size_t i = 0; i < ARRAY_LEN(lens); i++) {
    autofree char *tail = repeat('a', lens[i].n);
    autofree char *in = xasprintf("%s%s", lens[i].prefix, tail);
    image_ref r;
    arca_err e = {0};
    int rc = ref_parse(in, &r, &e);
    if (lens[i].ok) {
      if (rc != 0) fail_msg("%s + %zu: %s", lens[i].prefix, lens[i].n, e.msg);
      assert_true(strlen(r.path) <= REF_NAME_MAX);
      ref_free(&r);
    } else {
      assert_int_equal(rc, -1);
      assert_string_equal(e.msg, "repository name must not be more than 255 characters");
      assert_int_equal(e.status, 400);
    }
  }
  /* the too-long check comes before the digest check, as in Docker */
  autofree char *tail = repeat('a', 300);
  autofree char *in = xasprintf("%s@sha256:%s", tail, A32);
  image_ref r;
  arca_err e = {0};
  assert_int_equal(ref_parse(in, &r, &e), -1);
  assert_string_equal(e.msg, "repository name must not be more than 255 characters");
}

typedef struct pair_case {
  const char *repo, *tag;
  const char *error; /* NULL: must parse */
  const char *full;
} pair_case;

static void test_pull_repo_tag(void **state) {
  (void)state;
  static const pair_case pulls[] = {
    {"busybox", "1.36", NULL, "docker.io/library/busybox:1.36"},
    {"busybox", "", NULL, "docker.io/library/busybox"},
    {"busybox", NULL, NULL, "docker.io/library/busybox"},
    {"busybox:", "", NULL, "docker.io/library/busybox"},
    {"busybox:", "latest", NULL, "docker.io/library/busybox:latest"},
    {"busybox:1.0", "latest", NULL, "docker.io/library/busybox:latest"},
    {"busybox", DGST, NULL, "docker.io/library/busybox@" DGST},
    {"busybox", "sha512:" A128, NULL, "docker.io/library/busybox@sha512:" A128},
    /* a tag keeps the digest of the name; a digest replaces both */
    {"busybox:1@" DGST, "latest", NULL, "docker.io/library/busybox:latest@" DGST},
    {"busybox:1@sha256:" A64, DGST, NULL, "docker.io/library/busybox@" DGST},
    {"localhost:5000/app", "v2", NULL, "localhost:5000/app:v2"},
    {"busybox", "sha256:abc", "invalid tag format", NULL},
    {"busybox", "md5:" A32, "invalid tag format", NULL},
    {"busybox", "bad tag", "invalid tag format", NULL},
    {"busybox", A128 "a", "invalid tag format", NULL},
    {"Busybox", "x", "invalid reference format: repository name (library/Busybox) must be "
                     "lowercase", NULL},
    {"busybox::", "", "invalid reference format", NULL},
    {"", "", "invalid reference format", NULL},
  };
  for (size_t i = 0; i < ARRAY_LEN(pulls); i++) {
    const pair_case *c = &pulls[i];
    image_ref r;
    arca_err e = {0};
    int rc = ref_parse_repo_tag(c->repo, c->tag, &r, &e);
    if (c->error) {
      if (rc == 0) fail_msg("pull %s / %s parsed, want \"%s\"", c->repo, c->tag, c->error);
      check_str("pull error", c->repo, c->error, e.msg);
      assert_int_equal(e.status, 400);
      assert_null(r.path);
      assert_null(r.tag);
      continue;
    }
    if (rc != 0) fail_msg("pull %s / %s: %s", c->repo, c->tag, e.msg);
    autofree char *full = ref_full(&r);
    check_str("pull", c->repo, c->full, full);
    ref_free(&r);
  }
}

static void test_repo_tag_reference(void **state) {
  (void)state;
  static const pair_case tags[] = {
    {"busybox", "", NULL, "docker.io/library/busybox:latest"},
    {"busybox", "v2", NULL, "docker.io/library/busybox:v2"},
    {"busybox:1", "", NULL, "docker.io/library/busybox:1"},
    {"busybox:1", "v2", NULL, "docker.io/library/busybox:v2"},
    {"busybox@" DGST, "", "cannot import digest reference", NULL},
    {"busybox", "a b", "invalid tag format", NULL},
    {"busybox", "-x", "invalid tag format", NULL},
    {"a/B", "x", "invalid reference format: repository name (a/B) must be lowercase", NULL},
  };
  for (size_t i = 0; i < ARRAY_LEN(tags); i++) {
    const pair_case *c = &tags[i];
    image_ref r;
    arca_err e = {0};
    int rc = ref_repo_tag_reference(c->repo, c->tag, &r, &e);
    if (c->error) {
      if (rc == 0) fail_msg("tag %s / %s parsed, want \"%s\"", c->repo, c->tag, c->error);
      check_str("tag error", c->repo, c->error, e.msg);
      assert_int_equal(e.status, 400);
      assert_null(r.path);
      continue;
    }
    if (rc != 0) fail_msg("tag %s / %s: %s", c->repo, c->tag, e.msg);
    autofree char *full = ref_full(&r);
    check_str("tag", c->repo, c->full, full);
    ref_free(&r);
  }
  /* no repo: no reference, and no error */
  image_ref r;
  arca_err e = {0};
  assert_int_equal(ref_repo_tag_reference("", "x", &r, &e), 0);
  assert_null(r.path);
  assert_int_equal(ref_repo_tag_reference(NULL, NULL, &r, &e), 0);
  assert_null(r.domain);
}

static void test_reserved_and_ambiguous_names(void **state) {
  (void)state;
  image_ref r;
  arca_err e = {0};
  assert_int_equal(ref_parse_repo_tag("scratch", "latest", &r, &e), 0);
  assert_int_equal(ref_check_not_reserved(&r, &e), -1);
  assert_int_equal(e.status, 403);
  assert_string_equal(e.msg, "'scratch' is a reserved name");
  ref_free(&r);
  assert_int_equal(ref_parse_repo_tag("docker.io/library/scratch", NULL, &r, &e), 0);
  assert_int_equal(ref_check_not_reserved(&r, &e), -1);
  ref_free(&r);
  assert_int_equal(ref_parse_repo_tag("user/scratch", NULL, &r, &e), 0);
  assert_int_equal(ref_check_not_reserved(&r, &e), 0);
  ref_free(&r);

  assert_int_equal(ref_repo_tag_reference("sha256", "", &r, &e), 0);
  assert_int_equal(ref_check_tag_name(&r, &e), -1);
  assert_int_equal(e.status, 400);
  assert_string_equal(e.msg, "refusing to create an ambiguous tag using digest algorithm as name");
  ref_free(&r);
  assert_int_equal(ref_repo_tag_reference("ghcr.io/sha256", "", &r, &e), 0);
  assert_int_equal(ref_check_tag_name(&r, &e), 0);
  ref_free(&r);
}

static void test_digests(void **state) {
  (void)state;
  struct {
    const char *in, *error;
  } ds[] = {
    {DGST, NULL},
    {"sha384:" A64 A32, NULL},
    {"sha512:" A128, NULL},
    {"sha256:abc", "invalid checksum digest length"},
    {"sha256:" A64 "a", "invalid checksum digest length"},
    {"sha256:" A32 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "invalid checksum digest format"},
    {"sha256:" A32 "gggggggggggggggggggggggggggggggg", "invalid checksum digest format"},
    {"md5:abc", "unsupported digest algorithm"},
    {"MD5:abc", "invalid checksum digest format"},
    {":abc", "invalid checksum digest format"},
    {"sha256:", "invalid checksum digest format"},
    {"foo", "invalid checksum digest format"},
    {"", "invalid checksum digest format"},
  };
  for (size_t i = 0; i < ARRAY_LEN(ds); i++) {
    arca_err e = {0};
    int rc = digest_validate(ds[i].in, &e);
    if (!ds[i].error) {
      if (rc != 0) fail_msg("digest %s: %s", ds[i].in, e.msg);
      assert_true(digest_is_valid(ds[i].in));
    } else {
      assert_int_equal(rc, -1);
      check_str("digest error", ds[i].in, ds[i].error, e.msg);
      assert_int_equal(e.status, 400);
      assert_false(digest_is_valid(ds[i].in));
    }
  }
  assert_false(digest_is_valid(NULL));
}

static void test_tags(void **state) {
  (void)state;
  const char *good[] = {"latest", "1.36", "_x", "A-b.c_D", "9", A128};
  const char *bad[] = {"", "-x", ".x", "a b", "a:b", "a/b", "a@b", "é", A128 "a"};
  arca_err e = {0};
  for (size_t i = 0; i < ARRAY_LEN(good); i++) {
    if (ref_validate_tag(good[i], &e) != 0) fail_msg("tag \"%s\" refused", good[i]);
  }
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    err_clear(&e);
    if (ref_validate_tag(bad[i], &e) == 0) fail_msg("tag \"%s\" accepted", bad[i]);
    assert_string_equal(e.msg, "invalid tag format");
    assert_int_equal(e.status, 400);
  }
  assert_int_equal(ref_validate_tag(NULL, &e), -1);
}

static void test_default_tag_and_docker_ref(void **state) {
  (void)state;
  image_ref r;
  arca_err e = {0};
  assert_int_equal(ref_parse("busybox", &r, &e), 0);
  ref_with_default_tag(&r);
  assert_string_equal(r.tag, "latest");
  autofree char *fam = ref_familiar(&r);
  assert_string_equal(fam, "busybox:latest");
  ref_with_default_tag(&r); /* already tagged: unchanged */
  assert_string_equal(r.tag, "latest");
  ref_free(&r);

  assert_int_equal(ref_parse("busybox:1", &r, &e), 0);
  ref_with_default_tag(&r);
  assert_string_equal(r.tag, "1");
  ref_free(&r);

  assert_int_equal(ref_parse("busybox@" DGST, &r, &e), 0);
  ref_with_default_tag(&r);
  assert_null(r.tag);
  ref_free(&r);

  assert_int_equal(ref_parse_docker_ref("busybox:latest@" DGST, &r, &e), 0);
  autofree char *full = ref_full(&r);
  assert_string_equal(full, "docker.io/library/busybox@" DGST);
  ref_free(&r);
  assert_int_equal(ref_parse_docker_ref("ghcr.io/x/y", &r, &e), 0);
  autofree char *full2 = ref_full(&r);
  assert_string_equal(full2, "ghcr.io/x/y:latest");
  ref_free(&r);
  assert_int_equal(ref_parse_docker_ref("Busybox", &r, &e), -1);
  assert_int_equal(e.status, 400);
}

static void test_parse_any(void **state) {
  (void)state;
  image_ref r;
  arca_err e = {0};
  assert_int_equal(ref_parse_any(HEX64, &r, &e), 0);
  assert_null(r.path);
  assert_string_equal(r.digest, DGST);
  autofree char *full = ref_full(&r);
  assert_string_equal(full, DGST);
  ref_free(&r);

  assert_int_equal(ref_parse_any(DGST, &r, &e), 0);
  assert_null(r.domain);
  assert_string_equal(r.digest, DGST);
  ref_free(&r);

  assert_int_equal(ref_parse_any("busybox:1", &r, &e), 0);
  assert_string_equal(r.path, "library/busybox");
  assert_string_equal(r.tag, "1");
  ref_free(&r);

  assert_int_equal(ref_parse_any("Busybox", &r, &e), -1);
  assert_string_equal(
      e.msg, "invalid reference format: repository name (library/Busybox) must be lowercase");
}

static void test_with_tag_digest_trim_copy(void **state) {
  (void)state;
  image_ref r, copy;
  arca_err e = {0};
  assert_int_equal(ref_parse("127.0.0.1:5000/x:y", &r, &e), 0);
  assert_false(ref_is_docker_hub(&r));
  assert_int_equal(ref_with_digest(&r, DGST, &e), 0);
  autofree char *both = ref_full(&r);
  assert_string_equal(both, "127.0.0.1:5000/x:y@" DGST);
  assert_int_equal(ref_with_digest(&r, "sha256:xyz", &e), -1);
  assert_string_equal(e.msg, "invalid digest format");
  assert_int_equal(ref_with_tag(&r, "-bad", &e), -1);
  assert_string_equal(e.msg, "invalid tag format");
  assert_string_equal(r.tag, "y"); /* a refused change leaves the reference as it was */
  ref_copy(&copy, &r);
  ref_trim(&r);
  assert_null(r.tag);
  assert_null(r.digest);
  autofree char *trimmed = ref_full(&r);
  assert_string_equal(trimmed, "127.0.0.1:5000/x");
  autofree char *copied = ref_familiar(&copy);
  assert_string_equal(copied, "127.0.0.1:5000/x:y@" DGST);
  ref_free(&r);
  ref_free(&copy);

  assert_int_equal(ref_parse("busybox", &r, &e), 0);
  assert_true(ref_is_docker_hub(&r));
  ref_free(&r);
  ref_free(&r); /* freeing twice is harmless: ref_free clears */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_table),
    cmocka_unit_test(test_name_length),
    cmocka_unit_test(test_pull_repo_tag),
    cmocka_unit_test(test_repo_tag_reference),
    cmocka_unit_test(test_reserved_and_ambiguous_names),
    cmocka_unit_test(test_digests),
    cmocka_unit_test(test_tags),
    cmocka_unit_test(test_default_tag_and_docker_ref),
    cmocka_unit_test(test_parse_any),
    cmocka_unit_test(test_with_tag_digest_trim_copy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
