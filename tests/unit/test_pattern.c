/* .dockerignore patterns as Docker reads and applies them, and Go's path.Match. Expected
 * answers were checked against moby/patternmatcher and Go's path.Match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/pattern.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static pattern_list *ignore_ok(const char *content) {
  pattern_list *p = NULL;
  arca_err err = {0};
  if (pattern_list_parse_dockerignore(content, &p, &err) != 0)
    fail_msg("parse of \"%s\" failed: %s", content, err.msg);
  assert_non_null(p);
  return p;
}

/* Is path excluded by the .dockerignore text? */
static void test_dockerignore_matches(void **state) {
  (void)state;
  static const struct {
    const char *dockerignore, *path;
    bool excluded;
  } cases[] = {
      {"**/*.go", "main.go", true},
      {"**/*.go", "cmd/tool/main.go", true},
      {"**/*.go", "main.go.txt", false},
      {"**/*.go", "pkg.go/readme", true},
      {"dir/**", "dir/file", true},
      {"dir/**", "dir/a/b/c", true},
      {"dir/**", "dir", false},
      {"dir/**", "dirx/file", false},
      {"dir\n!dir/keep", "dir/keep", false},
      {"dir\n!dir/keep", "dir/keep/sub/file", false},
      {"dir\n!dir/keep", "dir/other", true},
      {"dir\n!dir/keep", "dir", true},
      {"*.md\n!README.md", "README.md", false},
      {"*.md\n!README.md", "CHANGES.md", true},
      {"*.md\n!README.md", "docs/guide.md", false},
      {"**/*.md\n!README.md", "docs/README.md", true},
      {"**/*.md\n!**/README.md", "docs/README.md", false},
      {"[a-c].txt", "b.txt", true},
      {"[a-c].txt", "d.txt", false},
      {"[^a-c].txt", "d.txt", true},
      {"[^a-c].txt", "a.txt", false},
      {"file[0-9]?", "file1a", true},
      {"file[0-9]?", "file1", false},
      {"\\*.txt", "*.txt", true},
      {"\\*.txt", "a.txt", false},
      {"a\\[b\\]", "a[b]", true},
      {"../x", "x", false},
      {"/../x", "x", true},
      {"/abs/path", "abs/path", true},
      {"a/./b//c/", "a/b/c/d", true},
      {"a/b/../c", "a/c", true},
      {"?.c", "\xC3\xA9"".c", true},
      {"?.c", "ab.c", false},
      {"?", "a/b", true},
      {"*", "a/b/c", true},
      {"*/b", "a/b", true},
      {"*/b", "a/x/b", false},
      {"**", "anything/at/all", true},
      {"**/node_modules", "node_modules", true},
      {"**/node_modules", "web/node_modules/react/index.js", true},
      {"**/node_modules", "xnode_modules", false},
      {"a/**/b", "a/b", true},
      {"a/**/b", "a/x/y/b", true},
      {"a/**/b", "a/xb", false},
      {"#*.go\n", "main.go", false},
      {"  #x", "#x", true},
      {"!a\na", "a", true},
      {"a\n!a", "a", false},
      {"a\n!a\na", "a", true},
      {"*\n!src\nsrc/*.tmp", "src/x.tmp", true},
      {"*\n!src\nsrc/*.tmp", "src/x.c", false},
      {"*\n!src\nsrc/*.tmp", "other", true},
      {"a^b", "a^b", true},
      {"*^b", "a^b", false},
      {"file\\d", "file7", true},
      {"file\\d", "filed", false},
      {"x.$(y)", "x.$(y)", true},
      {"x.+", "xx", false},
      {"x.+", "x.+", true},
      {"\xEF\xBB\xBF""*.log\r\n!keep.log\r\n", "a.log", true},
      {"\xEF\xBB\xBF""*.log\r\n!keep.log\r\n", "keep.log", false},
      {"\xC2\xA0""foo\xE3\x80\x80"" \t", "foo", true},
      {"!  /keep  \n*", "keep", true},
      {"*\n!  /keep  ", "keep", false},
      {"build\\bin", "build/bin", false}, /* \b is a word boundary to Go's regexp */
      {"build\\bin", "buildin", false},
      {"x\\b", "x", true},
      {"a\\Bb", "ab", true},
      {"a\\Bb", "a-b", false},
      {"file\\D", "filex", true},
      {"file\\D", "file1", false},
      {"file\\D", "file/", true},        /* a negated class takes '/' too */
      {"[\\W]x", "-x", true},
      {"[\\W]x", "ax", false},
      {"\\S\\s", "a ", true},
      {"\\S\\s", "  ", false},
      {"**.txt", "a/b.txt", true},
      {"**foo", "xfoo", true},
      {"", "a", false},
  };
  for (size_t i = 0; i < LEN(cases); i++) {
    pattern_list *p = ignore_ok(cases[i].dockerignore);
    bool excluded = pattern_list_matches(p, cases[i].path);
    if (excluded != cases[i].excluded)
      fail_msg("case %zu: \"%s\" on %s: got %d", i, cases[i].dockerignore, cases[i].path,
               excluded);
    pattern_list_free(p);
  }
}

static void test_dockerignore_errors(void **state) {
  (void)state;
  static const struct {
    const char *dockerignore, *message;
  } cases[] = {
      {"!", "illegal exclusion pattern: \"!\""},
      {"ok\n!  \n", "illegal exclusion pattern: \"!\""},
      {"[", "syntax error in pattern"},
      {"a[", "syntax error in pattern"},
      {"[]a]", "syntax error in pattern"},
      {"[a-", "syntax error in pattern"},
      {"x\\", "syntax error in pattern"},
      /* Go accepts these and then fails on every match; refused up front here. */
      {"[z-a]", "syntax error in pattern"},
      {"\\q", "syntax error in pattern"},
      {"\\x41", "syntax error in pattern"},
      {"ok\n*.go\n[\\q]", "syntax error in pattern"},
  };
  for (size_t i = 0; i < LEN(cases); i++) {
    pattern_list *p = (pattern_list *)0x1;
    arca_err err = {0};
    assert_int_equal(pattern_list_parse_dockerignore(cases[i].dockerignore, &p, &err), -1);
    assert_null(p);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, cases[i].message);
  }
}

static void expect_patterns(const pattern_list *p, const char *const *expected, size_t n) {
  assert_int_equal(pattern_list_len(p), n);
  for (size_t i = 0; i < n; i++) assert_string_equal(pattern_list_pattern(p, i), expected[i]);
  assert_null(pattern_list_pattern(p, n));
}

static void test_dockerignore_reading(void **state) {
  (void)state;
  pattern_list *p = ignore_ok("# comment\n  #x\n/a/../b\n! ./c/\n\n   \n!/keep\n../up\n/\n");
  static const char *const expected[] = {"#x", "b", "!c", "!keep", "../up", "/"};
  expect_patterns(p, expected, LEN(expected));
  assert_true(pattern_list_has_exclusions(p));
  pattern_list_free(p);

  p = ignore_ok("\xEF\xBB\xBF#first line is a comment despite the BOM\r\nx\r\n\xEF\xBB\xBFy");
  static const char *const after_bom[] = {"x", "\xEF\xBB\xBFy"}; /* a BOM only counts first */
  expect_patterns(p, after_bom, LEN(after_bom));
  assert_false(pattern_list_has_exclusions(p));
  pattern_list_free(p);

  p = ignore_ok(NULL);
  assert_int_equal(pattern_list_len(p), 0);
  assert_false(pattern_list_matches(p, "anything"));
  pattern_list_free(p);

  p = ignore_ok("\n\n  \n# only comments\n");
  assert_int_equal(pattern_list_len(p), 0);
  pattern_list_free(p);
}

/* pattern_list_new reads raw patterns as patternmatcher.New does: trimmed and cleaned, but
 * no leading '/' removed, and cleaned before the '!' comes off. */
static void test_new_from_raw_patterns(void **state) {
  (void)state;
  static const char *const raw[] = {"  a/  ", "", "!./b", "/c"};
  pattern_list *p = NULL;
  arca_err err = {0};
  assert_int_equal(pattern_list_new(raw, LEN(raw), &p, &err), 0);
  static const char *const expected[] = {"a", "!./b", "/c"};
  expect_patterns(p, expected, LEN(expected));
  assert_false(pattern_list_matches(p, "c"));
  assert_true(pattern_list_matches(p, "/c"));
  assert_true(pattern_list_matches(p, "a/x"));
  pattern_list_free(p);

  static const char *const bad[] = {"a", "!/"};
  p = (pattern_list *)0x1;
  assert_int_equal(pattern_list_new(bad, LEN(bad), &p, &err), -1);
  assert_null(p);
  assert_string_equal(err.msg, "illegal exclusion pattern: \"!\"");
}

static void test_must_descend(void **state) {
  (void)state;
  static const struct {
    const char *dockerignore, *dir;
    bool descend;
  } cases[] = {
      {"dir", "dir", false},                    /* no exceptions at all */
      {"dir\n!dir/keep", "dir", true},
      {"dir\n!dir/keep", "dir/keep", true},
      {"dir\n!dir/keep", "dir/other", false},
      {"dir\n!dir/keep", "other", false},
      {"dir\n!dir/keep", "di", false},          /* whole names, not string prefixes */
      {"dir\n!dir/keep/**", "dir", true},       /* trailing slash-stars do not count */
      {"dir\n!dir/keep/*", "dir/keep", true},
      {"dir\n!dir/keep/**", "elsewhere", false},
      {"dir\n!**/keep", "elsewhere", true},     /* a wildcard exception: walk everything */
      {"dir\n!dir/*.go", "other", true},
      {"dir\n!dir/[ab]", "other", true},
      {"dir\n!dir/\\*", "other", true},
  };
  for (size_t i = 0; i < LEN(cases); i++) {
    pattern_list *p = ignore_ok(cases[i].dockerignore);
    if (pattern_list_must_descend(p, cases[i].dir) != cases[i].descend)
      fail_msg("case %zu: \"%s\" dir %s", i, cases[i].dockerignore, cases[i].dir);
    pattern_list_free(p);
  }
}

/* The walk form reuses the parent's per-pattern results, which is not always the same
 * answer as looking at every parent afresh (BuildKit walks this way). */
static void test_matches_in_walk(void **state) {
  (void)state;
  static const char *const raw[] = {"a/b", "!a"};
  pattern_list *p = NULL;
  arca_err err = {0};
  assert_int_equal(pattern_list_new(raw, LEN(raw), &p, &err), 0);
  bool top[2] = {true, true}, below[2] = {true, true}, deeper[2];
  assert_false(pattern_list_matches_in_walk(p, "a", NULL, top));
  assert_false(top[0]);
  assert_false(top[1]);
  assert_true(pattern_list_matches_in_walk(p, "a/b", top, below));
  assert_true(below[0]);
  assert_false(below[1]);
  assert_true(pattern_list_matches_in_walk(p, "a/b/c", below, deeper));
  /* Looking at all parents afresh, "!a" re-includes them. */
  assert_false(pattern_list_matches(p, "a/b"));
  assert_false(pattern_list_matches(p, "a/b/c"));
  pattern_list_free(p);

  p = ignore_ok("*.go\n!vendor\nvendor/**/x.go");
  static const struct {
    const char *path;
    bool excluded;
  } walk[] = {{"vendor", false}, {"vendor/a", false}, {"vendor/a/x.go", true},
              {"vendor/y.go", false}};
  bool results[3], parent_results[3];
  for (size_t i = 0; i < LEN(walk); i++) {
    /* Parents of each entry are walked first, top down. */
    const bool *parent = NULL;
    char path[64];
    strcpy(path, walk[i].path);
    bool excluded = false;
    for (char *cursor = path;; cursor++) {
      if (*cursor != '/' && *cursor != '\0') continue;
      char saved = *cursor;
      *cursor = '\0';
      excluded = pattern_list_matches_in_walk(p, path, parent, results);
      memcpy(parent_results, results, sizeof results);
      parent = parent_results;
      *cursor = saved;
      if (!saved) break;
    }
    if (excluded != walk[i].excluded) fail_msg("walk %s gave %d", walk[i].path, excluded);
    assert_int_equal(pattern_list_matches(p, walk[i].path), walk[i].excluded);
  }
  pattern_list_free(p);
}

static void test_many_stars_stay_fast(void **state) {
  (void)state;
  /* Backtracking without memory would take ages on this. */
  pattern_list *p = ignore_ok("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\n**/**/**/**/**/**/**/c");
  char path[200];
  memset(path, 'a', sizeof path - 1);
  path[sizeof path - 1] = '\0';
  assert_false(pattern_list_matches(p, path));
  path[sizeof path - 2] = 'b';
  assert_true(pattern_list_matches(p, path));
  char deep[400] = "";
  for (int i = 0; i < 60; i++) strcat(deep, "d/");
  strcat(deep, "x");
  assert_false(pattern_list_matches(p, deep));
  deep[strlen(deep) - 1] = 'c';
  assert_true(pattern_list_matches(p, deep));
  pattern_list_free(p);
}

static void test_glob_match(void **state) {
  (void)state;
  static const struct {
    const char *pattern, *name;
    int expected; /* 1 match, 0 no match, -1 bad pattern */
  } cases[] = {
      {"abc", "abc", 1},
      {"*", "abc", 1},
      {"*c", "abc", 1},
      {"a*", "a", 1},
      {"a*", "abc", 1},
      {"a*", "ab/c", 0},
      {"a*/b", "abc/b", 1},
      {"a*/b", "a/c/b", 0},
      {"a*b*c*d*e*/f", "axbxcxdxe/f", 1},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/f", 1},
      {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", 0},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", 0},
      {"a*b?c*x", "abxbbxdbxebxczzx", 1},
      {"a*b?c*x", "abxbbxdbxebxczzy", 0},
      {"ab[c]", "abc", 1},
      {"ab[b-d]", "abc", 1},
      {"ab[e-g]", "abc", 0},
      {"ab[^c]", "abc", 0},
      {"ab[^b-d]", "abc", 0},
      {"ab[^e-g]", "abc", 1},
      {"a\\*b", "a*b", 1},
      {"a\\*b", "ab", 0},
      {"a?b", "a\xE2\x98\xBA""b", 1},
      {"a[^a]b", "a\xE2\x98\xBA""b", 1},
      {"a???b", "a\xE2\x98\xBA""b", 0},
      {"a[^a][^a][^a]b", "a\xE2\x98\xBA""b", 0},
      {"[a-\xCE\xB6""]*", "\xCE\xB1""", 1},
      {"*[a-\xCE\xB6""]", "A", 0},
      {"a?b", "a/b", 0},
      {"a*b", "a/b", 0},
      {"[\\]a]", "]", 1},
      {"[\\-]", "-", 1},
      {"[x\\-]", "x", 1},
      {"[x\\-]", "-", 1},
      {"[x\\-]", "z", 0},
      {"[\\-x]", "x", 1},
      {"*x", "xxx", 1},
      {"", "", 1},
      {"", "a", 0},
      {"*.go", "main.go", 1},
      {"*.go", ".go", 1},
      {"??", "\xC3\xA9""", 0},
      {"[]a]", "]", -1},
      {"[-]", "-", -1},
      {"[x-]", "x", -1},
      {"[x-]", "-", -1},
      {"[x-]", "z", -1},
      {"[-x]", "x", -1},
      {"[-x]", "-", -1},
      {"[-x]", "a", -1},
      {"\\", "a", -1},
      {"[a-b-c]", "a", -1},
      {"[", "a", -1},
      {"[^", "a", -1},
      {"[^bc", "a", -1},
      {"a[", "a", -1},
      {"a[", "ab", -1},
      {"a[", "x", -1},
      {"a/b[", "x", -1},
      {"*x[", "a", -1},
      {"[a-", "a", -1},
      /* the answer is already no at "a", yet Go still reports the bad rest */
      {"a*[", "b", -1},
      {"z*a[b", "a", -1},
      {"a*b\\", "c", -1},
  };
  for (size_t i = 0; i < LEN(cases); i++) {
    bool matched = true;
    arca_err err = {0};
    int rc = glob_match(cases[i].pattern, cases[i].name, &matched, &err);
    int got = rc < 0 ? -1 : matched;
    if (got != cases[i].expected)
      fail_msg("case %zu: glob \"%s\" on \"%s\": got %d", i, cases[i].pattern, cases[i].name,
               got);
    if (rc < 0) {
      assert_int_equal(err.status, 400);
      assert_string_equal(err.msg, "syntax error in pattern");
    }
  }
}

static void test_path_clean(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"", "."},           {".", "."},          {"..", ".."},        {"/", "/"},
      {"//", "/"},         {"./", "."},         {"a//b", "a/b"},     {"a/./b/", "a/b"},
      {"/../x", "/x"},     {"../../x", "../../x"}, {"a/../..", ".."}, {"a/b/../../c", "c"},
      {"abc/../../../x", "../../x"}, {"/a/b/..", "/a"}, {"a/", "a"}, {"/.", "/"},
      {"./a/./b/.", "a/b"}, {"..a/b..", "..a/b.."}, {"a/../b/../c/..", "."},
      {"/..", "/"},        {"/../..", "/"},     {"/a/../..", "/"},   {"a/../../b", "../b"},
  };
  for (size_t i = 0; i < LEN(cases); i++) {
    char *cleaned = path_clean(cases[i].in);
    if (strcmp(cleaned, cases[i].out) != 0)
      fail_msg("clean(\"%s\") = \"%s\", want \"%s\"", cases[i].in, cleaned, cases[i].out);
    free(cleaned);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dockerignore_matches),
      cmocka_unit_test(test_dockerignore_errors),
      cmocka_unit_test(test_dockerignore_reading),
      cmocka_unit_test(test_new_from_raw_patterns),
      cmocka_unit_test(test_must_descend),
      cmocka_unit_test(test_matches_in_walk),
      cmocka_unit_test(test_many_stars_stay_fast),
      cmocka_unit_test(test_glob_match),
      cmocka_unit_test(test_path_clean),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
