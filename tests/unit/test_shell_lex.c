/* shell_lex: buildkit's word expansion (shell/lex.go). Expected values were taken from
 * the vendored lex.go of moby v28 run on the same inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder/shell_lex.h"
#include "common/util.h"

/* PWD appears twice: the last definition wins, as with shell.EnvsFromSlice. */
static const char *const test_env[] = {"PWD=/home",        "SHELL=bash",     "NULL=",    "A=abcabc",
                                       "P=/usr/local/bin", "space=abc  def", "PWD=/root"};

typedef struct word_case {
  char escape;
  const char *word;
  const char *want; /* NULL when an error is expected */
  const char *want_err;
} word_case;

static const word_case word_cases[] = {
    {'\\', "hello", "hello", NULL},
    {'\\', "he'll'o", "hello", NULL},
    {'\\', "he\\'llo", "he'llo", NULL},
    {'\\', "abc\\tdef", "abctdef", NULL},
    {'\\', "\"abc\\tdef\"", "abc\\tdef", NULL},
    {'\\', "'abc\\tdef'", "abc\\tdef", NULL},
    {'\\', "hello\\", "hello", NULL},
    {'\\', "hello\\\\", "hello\\", NULL},
    {'\\', "$PWD", "/root", NULL},
    {'\\', "he$PWD.", "he/root.", NULL},
    {'\\', "he\\$PWD", "he$PWD", NULL},
    {'\\', "\"he\\$PWD\"", "he$PWD", NULL},
    {'\\', "'$PWD'", "$PWD", NULL},
    {'\\', "${PWD}x", "/rootx", NULL},
    {'\\', "${XXX:-000}", "000", NULL},
    {'\\', "${NULL:-000}", "000", NULL},
    {'\\', "${NULL-000}", "", NULL},
    {'\\', "${XXX:-${PWD:-yyy}}", "/root", NULL},
    {'\\', "${PWD:+alt}", "alt", NULL},
    {'\\', "${NULL:+alt}", "", NULL},
    {'\\', "${NULL+alt}", "alt", NULL},
    {'\\', "${XXX+alt}", "", NULL},
    {'\\', "${PWD?}", "/root", NULL},
    {'\\', "${NULL?}", "", NULL},
    {'\\', "$1x", "x", NULL},
    {'\\', "$@@@", "@@", NULL},
    {'\\', "$", "$", NULL},
    {'\\', "$.", "$.", NULL},
    {'\\', "${aaa}}", "}", NULL},
    {'\\', "안녕$PWD", "안녕/root", NULL},
    {'\\', "${A#a}", "bcabc", NULL},
    {'\\', "${A##*b}", "c", NULL},
    {'\\', "${A%c}", "abcab", NULL},
    {'\\', "${A%%b*}", "a", NULL},
    {'\\', "${P##*/}", "bin", NULL},
    {'\\', "${P%/*}", "/usr/local", NULL},
    {'\\', "${A/b/X}", "aXcabc", NULL},
    {'\\', "${A//b/X}", "aXcaXc", NULL},
    {'\\', "${A//?/-}", "------", NULL},
    {'\\', "${XXX/a/b}", "", NULL},
    {'`', "a`$PWD", "a$PWD", NULL},
    {'`', "a\\$PWD", "a\\/root", NULL},
    {'`', "\"a`\"b\"", "a\"b", NULL},
    {'`', "C:\\dir`", "C:\\dir", NULL},
    {'\\', "he'llo", NULL,
     "failed to process \"he'llo\": unexpected end of statement while looking for matching "
     "single-quote"},
    {'\\', "\"hello", NULL,
     "failed to process \"\\\"hello\": unexpected end of statement while looking for matching "
     "double-quote"},
    {'\\', "${}", NULL, "failed to process \"${}\": syntax error: bad substitution"},
    {'\\', "he${PWD", NULL,
     "failed to process \"he${PWD\": unsupported modifier (�) in substitution"},
    {'\\', "${XXX:YYY}", NULL,
     "failed to process \"${XXX:YYY}\": unsupported modifier (:Y) in substitution"},
    {'\\', "${PWD:=000}", NULL,
     "failed to process \"${PWD:=000}\": unsupported modifier (:=) in substitution"},
    {'\\', "${XXX?}", NULL, "failed to process \"${XXX?}\": XXX: is not allowed to be unset"},
    {'\\', "${NULL:?}", NULL, "failed to process \"${NULL:?}\": NULL: is not allowed to be empty"},
    {'\\', "${XXX:?must be set}", NULL,
     "failed to process \"${XXX:?must be set}\": XXX: must be set"},
    {'\\', "${:}", NULL, "failed to process \"${:}\": syntax error: bad substitution"},
    {'\\', "${aaa:-bbb", NULL, "failed to process \"${aaa:-bbb\": syntax error: missing '}'"},
    {'\\', "${A:#a}", NULL,
     "failed to process \"${A:#a}\": unsupported modifier (:#) in substitution"},
    {'\\', "${A#\\q}", NULL,
     "failed to process \"${A#\\\\q}\": invalid pattern (\\q) in substitution: invalid escape "
     "'\\q'"},
    {'\\', "${A/b", NULL, "failed to process \"${A/b\": syntax error: missing '/' in ${}"},
};

static void test_process_word(void **state) {
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(word_cases); i++) {
    const word_case *c = &word_cases[i];
    char *out = NULL;
    arca_err err = {0};
    int rc = shell_lex_word(c->word, c->escape, test_env, ARRAY_LEN(test_env), &out, &err);
    if (c->want) {
      if (rc != 0) fail_msg("case %zu %s: unexpected error %s", i, c->word, err.msg);
      if (strcmp(out, c->want) != 0)
        fail_msg("case %zu %s: got [%s] want [%s]", i, c->word, out, c->want);
      free(out);
    } else {
      if (rc != -1) fail_msg("case %zu %s: expected an error, got [%s]", i, c->word, out);
      assert_int_equal(err.status, 400);
      if (strcmp(err.msg, c->want_err) != 0)
        fail_msg("case %zu: got error [%s] want [%s]", i, err.msg, c->want_err);
    }
  }
}

typedef struct words_case {
  const char *word;
  const char *want; /* the words joined with '|', NULL when an error is expected */
  const char *want_err;
} words_case;

static const words_case words_cases[] = {
    {"hello there", "hello|there", NULL},
    {"hello\\ there", "hello there", NULL},
    {"hello\" there  \"x", "hello there  x", NULL},
    {"a${space}b", "aabc|defb", NULL},
    {"a\"${space}\"b", "aabc  defb", NULL},
    {"  80  443/udp ", "80|443/udp", NULL},
    {"<< EOF x", "<< EOF|x", NULL},
    {"hello${XXX:-a}bye", "abye", NULL},
    {"'' x \"\"", "x", NULL},
    {"hello\" there", NULL,
     "failed to process \"hello\\\" there\": unexpected end of statement while looking for "
     "matching double-quote"},
};

static void test_process_words(void **state) {
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(words_cases); i++) {
    const words_case *c = &words_cases[i];
    char **words = NULL;
    size_t n = 0;
    arca_err err = {0};
    int rc = shell_lex_words(c->word, '\\', test_env, ARRAY_LEN(test_env), &words, &n, &err);
    if (!c->want) {
      assert_int_equal(rc, -1);
      assert_string_equal(err.msg, c->want_err);
      continue;
    }
    if (rc != 0) fail_msg("case %zu %s: unexpected error %s", i, c->word, err.msg);
    strbuf joined;
    sb_init(&joined);
    for (size_t k = 0; k < n; k++) {
      if (k) sb_puts(&joined, "|");
      sb_puts(&joined, words[k]);
    }
    if (strcmp(joined.buf ? joined.buf : "", c->want) != 0)
      fail_msg("case %zu %s: got [%s] want [%s]", i, c->word, joined.buf, c->want);
    sb_free(&joined);
    shell_lex_free_words(words, n);
  }
}

/* The options buildkit's heredoc detection uses: quotes and escapes kept, unset variables
 * left as written. */
static void test_raw_options(void **state) {
  (void)state;
  shell_lex_opts opts = {
      .escape = '\\', .raw_quotes = true, .raw_escapes = true, .skip_unset_env = true};
  char *out = NULL;
  char **words = NULL;
  size_t n = 0;
  arca_err err = {0};
  const char *env[] = {"SET=v"};
  assert_int_equal(shell_lex_process("RUN cat <<\"EOF\" $U ${U:-x} ${SET} a\\ b 'q'", &opts, env, 1,
                                     &out, &words, &n, &err),
                   0);
  assert_string_equal(out, "RUN cat <<\"EOF\" $U ${U:-x} v a\\ b 'q'");
  assert_int_equal(n, 8);
  assert_string_equal(words[2], "<<\"EOF\"");
  assert_string_equal(words[3], "$U");
  assert_string_equal(words[4], "${U:-x}");
  assert_string_equal(words[5], "v");
  assert_string_equal(words[6], "a\\ b");
  assert_string_equal(words[7], "'q'");
  free(out);
  shell_lex_free_words(words, n);

  /* quotes as plain characters */
  shell_lex_opts plain = {.escape = '\\', .skip_process_quotes = true};
  assert_int_equal(shell_lex_process("'$SET'", &plain, env, 1, &out, NULL, NULL, &err), 0);
  assert_string_equal(out, "'v'");
  free(out);
}

static void test_no_env_and_empty(void **state) {
  (void)state;
  char *out = NULL;
  arca_err err = {0};
  assert_int_equal(shell_lex_word("", '\\', NULL, 0, &out, &err), 0);
  assert_string_equal(out, "");
  free(out);
  assert_int_equal(shell_lex_word("${X:-d}$Y.", '\\', NULL, 0, &out, &err), 0);
  assert_string_equal(out, "d.");
  free(out);
  /* an env entry without '=' defines the name as empty */
  const char *env[] = {"BARE"};
  assert_int_equal(shell_lex_word("${BARE-unset}${BARE:-empty}", '\\', env, 1, &out, &err), 0);
  assert_string_equal(out, "empty");
  free(out);
  char **words = NULL;
  size_t n = 7;
  assert_int_equal(shell_lex_words("   ", '\\', NULL, 0, &words, &n, &err), 0);
  assert_int_equal(n, 0);
  shell_lex_free_words(words, n);
}

/* Pattern matching is bounded: a hostile pattern over a long value fails instead of
 * running for hours, while ordinary patterns over the same value still work. */
static void test_pattern_bounds(void **state) {
  (void)state;
  strbuf env;
  sb_init(&env);
  sb_puts(&env, "LONG=");
  for (int i = 0; i < 100000; i++) sb_puts(&env, "a");
  sb_puts(&env, "/tail");
  const char *envs[] = {env.buf};
  char *out = NULL;
  arca_err err = {0};
  assert_int_equal(shell_lex_word("${LONG##*/}", '\\', envs, 1, &out, &err), 0);
  assert_string_equal(out, "tail");
  free(out);
  assert_int_equal(shell_lex_word("${LONG//*b*c/x}", '\\', envs, 1, &out, &err), -1);
  assert_string_equal(err.msg, "failed to process \"${LONG//*b*c/x}\": pattern too complex for a "
                               "value this long");
  sb_free(&env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_process_word),
      cmocka_unit_test(test_process_words),
      cmocka_unit_test(test_raw_options),
      cmocka_unit_test(test_no_env_and_empty),
      cmocka_unit_test(test_pattern_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
