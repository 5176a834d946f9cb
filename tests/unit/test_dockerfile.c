/* Dockerfile parser: grammar, per-instruction forms and dockerd's error texts. Expected
 * values and messages were checked against buildkit's parser and instructions packages as
 * vendored by moby v28 (the classic builder's grammar), run on the same inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder/dockerfile.h"
#include "common/util.h"

static dockerfile parse_ok(const char *text) {
  dockerfile df;
  arca_err err = {0};
  if (dockerfile_parse("Dockerfile", text, strlen(text), &df, &err) != 0)
    fail_msg("unexpected parse error: %s\n--- input:\n%s", err.msg, text);
  return df;
}

static void assert_args(const df_instr *in, size_t n, ...) {
  if (in->nargs != n) fail_msg("%s: %zu args, want %zu", in->original, in->nargs, n);
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n; i++) assert_string_equal(in->args[i], va_arg(ap, const char *));
  va_end(ap);
}

static void assert_flag(const df_instr *in, const char *name, const char *value) {
  const df_flag *f = df_instr_flag(in, name);
  if (!f) fail_msg("%s: no flag --%s", in->original, name);
  if (!value) assert_null(f->value);
  else assert_string_equal(f->value, value);
}

/* 1: every instruction keyword, lowercased, with its original text and lines */
static void test_all_instructions(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM busybox:1.36 AS Base\n"
                           "MAINTAINER Jane <jane@example.com>\n"
                           "RUN echo hello\n"
                           "CMD [\"sh\"]\n"
                           "LABEL version=1\n"
                           "EXPOSE 8080\n"
                           "ENV HOME=/root\n"
                           "ADD a.tar /x/\n"
                           "COPY b /y\n"
                           "ENTRYPOINT [\"/init\"]\n"
                           "VOLUME /data\n"
                           "USER nobody\n"
                           "WORKDIR /srv/app\n"
                           "ARG BUILD\n"
                           "ONBUILD RUN true\n"
                           "STOPSIGNAL SIGINT\n"
                           "HEALTHCHECK NONE\n"
                           "SHELL [\"/bin/bash\", \"-c\"]\n");
  static const char *const kws[] = {"from", "maintainer", "run", "cmd", "label", "expose",
                                    "env", "add", "copy", "entrypoint", "volume", "user",
                                    "workdir", "arg", "onbuild", "stopsignal", "healthcheck",
                                    "shell"};
  assert_int_equal(df.n, ARRAY_LEN(kws));
  for (size_t i = 0; i < df.n; i++) {
    assert_string_equal(df.instrs[i].keyword, kws[i]);
    assert_int_equal(df.instrs[i].start_line, (int)i + 1);
    assert_int_equal(df.instrs[i].end_line, (int)i + 1);
  }
  assert_int_equal(df.escape, '\\');
  assert_null(df.syntax);
  assert_string_equal(df.instrs[0].original, "FROM busybox:1.36 AS Base");
  assert_args(&df.instrs[0], 3, "busybox:1.36", "AS", "Base");
  assert_string_equal(df.instrs[0].stage_name, "base");
  assert_args(&df.instrs[1], 1, "Jane <jane@example.com>");
  assert_args(&df.instrs[2], 1, "echo hello");
  assert_false(df.instrs[2].json_form);
  assert_args(&df.instrs[12], 1, "/srv/app");
  assert_args(&df.instrs[15], 1, "SIGINT");
  dockerfile_free(&df);
}

/* 2: continuations join into one original; the lines span the whole instruction */
static void test_continuations(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM a\n"
                           "RUN apt-get update \\\n"
                           "    && apt-get install -y \\\n"
                           "       curl   \n"
                           "  RUN   echo done   \n"
                           "RUN echo a \\  \n"
                           " b\n");
  assert_int_equal(df.n, 4);
  const df_instr *run = &df.instrs[1];
  assert_string_equal(run->original, "RUN apt-get update     && apt-get install -y        curl");
  assert_args(run, 1, "apt-get update     && apt-get install -y        curl");
  assert_int_equal(run->start_line, 2);
  assert_int_equal(run->end_line, 4);
  assert_string_equal(df.instrs[2].original, "RUN   echo done");
  assert_args(&df.instrs[2], 1, "echo done");
  /* whitespace after the escape still continues the line */
  assert_string_equal(df.instrs[3].original, "RUN echo a  b");
  assert_int_equal(df.instrs[3].end_line, 7);
  dockerfile_free(&df);
}

/* 3: an escaped escape at the end does not continue; "\" alone on a line does */
static void test_continuation_edges(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM a\nRUN echo a \\\\\nRUN b\nRUN c \\\n\\\n d\n");
  assert_int_equal(df.n, 4);
  assert_args(&df.instrs[1], 1, "echo a \\\\");
  assert_args(&df.instrs[3], 1, "c  d");
  assert_int_equal(df.instrs[3].end_line, 6);
  dockerfile_free(&df);
}

/* 4: "# escape=`" for Windows paths; backslashes become ordinary */
static void test_escape_backtick(void **state) {
  (void)state;
  dockerfile df = parse_ok("# escape=`\n"
                           "FROM mcr.microsoft.com/windows\n"
                           "COPY testfile.txt c:\\\n"
                           "RUN dir c:\\ `\n"
                           "    && echo done\n"
                           "ENV A=x`\"y B=\"p`\"q\"\n");
  assert_int_equal(df.escape, '`');
  assert_int_equal(df.n, 4);
  assert_args(&df.instrs[1], 2, "testfile.txt", "c:\\");
  assert_string_equal(df.instrs[2].original, "RUN dir c:\\     && echo done");
  assert_int_equal(df.instrs[2].end_line, 5);
  /* quotes and escapes stay in ENV values until the builder expands them */
  assert_int_equal(df.instrs[3].nkvs, 2);
  assert_string_equal(df.instrs[3].kvs[0].value, "x`\"y");
  assert_string_equal(df.instrs[3].kvs[1].value, "\"p`\"q\"");
  dockerfile_free(&df);
}

/* 5: directives only at the very top: after a blank line or comment they are comments */
static void test_directives(void **state) {
  (void)state;
  dockerfile df = parse_ok("# syntax = docker/dockerfile:1.7 \n#check=skip=all\nFROM a\n");
  assert_string_equal(df.syntax, "docker/dockerfile:1.7");
  assert_string_equal(df.check, "skip=all");
  dockerfile_free(&df);

  df = parse_ok("\n# escape=`\nFROM a\nRUN a `\nRUN b\n");
  assert_int_equal(df.escape, '\\');
  assert_int_equal(df.n, 3); /* ` did not continue the line */
  dockerfile_free(&df);

  df = parse_ok("# hello\n# escape=`\nFROM a\n");
  assert_int_equal(df.escape, '\\');
  dockerfile_free(&df);

  /* a byte order mark does not hide a directive */
  df = parse_ok("\xef\xbb\xbf# escape=`\nFROM a\nRUN a `\n b\n");
  assert_int_equal(df.escape, '`');
  assert_int_equal(df.n, 2);
  assert_string_equal(df.instrs[0].original, "FROM a");
  dockerfile_free(&df);
}

/* 6: comments and empty lines inside a continuation are skipped; empty ones warn */
static void test_comments_in_continuation(void **state) {
  (void)state;
  dockerfile df = parse_ok("# leading comment\n"
                           "FROM a\n"
                           "RUN make \\\n"
                           "    # the tests\n"
                           "    && make test \\\n"
                           "\n"
                           "    && make install\n"
                           "# trailing\n");
  assert_int_equal(df.n, 2);
  assert_string_equal(df.instrs[1].original, "RUN make     && make test     && make install");
  assert_int_equal(df.instrs[1].start_line, 3);
  assert_int_equal(df.instrs[1].end_line, 7);
  assert_int_equal(df.nwarnings, 1);
  assert_string_equal(df.warnings[0], "Empty continuation line found in: RUN make     && make "
                                      "test     && make install");
  dockerfile_free(&df);
}

/* 7: exec (JSON) and shell forms; broken JSON falls back to the shell form */
static void test_json_and_shell_forms(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM a\n"
                           "RUN [\"echo\", \"a b\"]\n"
                           "CMD echo $HOME\n"
                           "ENTRYPOINT [\"a\",\n"
                           "CMD [ ]\n"
                           "RUN [\"x\"] trailing\n"
                           "COPY [\"with space\", \"/dst dir/\"]\n"
                           "VOLUME [\"/v1\", \" /v2 \"]\n"
                           "VOLUME /v3 /v4\n");
  assert_true(df.instrs[1].json_form);
  assert_args(&df.instrs[1], 2, "echo", "a b");
  assert_false(df.instrs[2].json_form);
  assert_args(&df.instrs[2], 1, "echo $HOME");
  assert_false(df.instrs[3].json_form);
  assert_args(&df.instrs[3], 1, "[\"a\",");
  assert_true(df.instrs[4].json_form);
  assert_int_equal(df.instrs[4].nargs, 0);
  assert_false(df.instrs[5].json_form);
  assert_args(&df.instrs[5], 1, "[\"x\"] trailing");
  assert_true(df.instrs[6].json_form);
  assert_args(&df.instrs[6], 2, "with space", "/dst dir/");
  assert_args(&df.instrs[7], 2, "/v1", "/v2"); /* VOLUME paths are trimmed */
  assert_args(&df.instrs[8], 2, "/v3", "/v4");
  dockerfile_free(&df);
}

/* 8: ENV in both forms, with quotes kept for the expansion step */
static void test_env_forms(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM a\n"
                           "ENV A=1 B=\"two words\" C='x y' D=a\\ b E=\n"
                           "ENV LEGACY  hello   world \"q\"\n"
                           "ENV X=y \\\n    Z=w\n");
  const df_instr *env = &df.instrs[1];
  assert_int_equal(env->nkvs, 5);
  assert_string_equal(env->kvs[0].key, "A");
  assert_string_equal(env->kvs[0].value, "1");
  assert_string_equal(env->kvs[1].value, "\"two words\"");
  assert_string_equal(env->kvs[2].value, "'x y'");
  assert_string_equal(env->kvs[3].value, "a\\ b");
  assert_string_equal(env->kvs[4].key, "E");
  assert_string_equal(env->kvs[4].value, "");
  assert_false(env->kvs[0].no_delim);
  assert_args(env, 10, "A", "1", "B", "\"two words\"", "C", "'x y'", "D", "a\\ b", "E", "");
  const df_instr *legacy = &df.instrs[2];
  assert_int_equal(legacy->nkvs, 1);
  assert_string_equal(legacy->kvs[0].key, "LEGACY");
  assert_string_equal(legacy->kvs[0].value, "hello   world \"q\"");
  assert_true(legacy->kvs[0].no_delim);
  assert_int_equal(df.instrs[3].nkvs, 2);
  assert_string_equal(df.instrs[3].kvs[1].key, "Z");
  dockerfile_free(&df);
}

/* 9: LABEL with several pairs, quoted keys, legacy form */
static void test_label_multi(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM a\n"
                           "LABEL org.opencontainers.image.title=\"My App\" \"with space\"=v "
                           "multi=\"a\\\n b\"\n"
                           "LABEL maintainer me@x\n");
  const df_instr *l = &df.instrs[1];
  assert_int_equal(l->nkvs, 3);
  assert_string_equal(l->kvs[0].key, "org.opencontainers.image.title");
  assert_string_equal(l->kvs[0].value, "\"My App\"");
  assert_string_equal(l->kvs[1].key, "\"with space\"");
  assert_string_equal(l->kvs[2].value, "\"a b\"");
  assert_string_equal(df.instrs[2].kvs[0].key, "maintainer");
  assert_string_equal(df.instrs[2].kvs[0].value, "me@x");
  dockerfile_free(&df);
}

/* 10: ARG before FROM, with and without defaults */
static void test_arg(void **state) {
  (void)state;
  dockerfile df = parse_ok("ARG VERSION=1.0\nFROM base:${VERSION}\nARG X Y=2 \"Z=3 4\" E=\n");
  assert_string_equal(df.instrs[0].keyword, "arg");
  assert_int_equal(df.instrs[0].nkvs, 1);
  assert_string_equal(df.instrs[0].kvs[0].key, "VERSION");
  assert_string_equal(df.instrs[0].kvs[0].value, "1.0");
  const df_instr *a = &df.instrs[2];
  assert_int_equal(a->nkvs, 4);
  assert_string_equal(a->kvs[0].key, "X");
  assert_null(a->kvs[0].value);
  assert_string_equal(a->kvs[1].value, "2");
  assert_string_equal(a->kvs[2].key, "\"Z");
  assert_string_equal(a->kvs[2].value, "3 4\"");
  assert_string_equal(a->kvs[3].value, "");
  dockerfile_free(&df);
}

/* 11: HEALTHCHECK: NONE, shell and exec CMD, every option */
static void test_healthcheck(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM a\n"
                           "HEALTHCHECK none\n"
                           "HEALTHCHECK --interval=5s --timeout=1m30s --start-period=.5s "
                           "--start-interval=2s --retries=3 CMD curl -f http://localhost/ || "
                           "exit 1\n"
                           "HEALTHCHECK CMD [\"/bin/check\", \"--fast\"]\n"
                           "HEALTHCHECK --interval=0 --timeout=0s cmd true\n");
  const df_health *h = df.instrs[1].health;
  assert_non_null(h);
  assert_int_equal(h->ntest, 1);
  assert_string_equal(h->test[0], "NONE");

  h = df.instrs[2].health;
  assert_int_equal(h->ntest, 2);
  assert_string_equal(h->test[0], "CMD-SHELL");
  assert_string_equal(h->test[1], "curl -f http://localhost/ || exit 1");
  assert_int_equal(h->interval_ns, 5000000000LL);
  assert_int_equal(h->timeout_ns, 90000000000LL);
  assert_int_equal(h->start_period_ns, 500000000LL);
  assert_int_equal(h->start_interval_ns, 2000000000LL);
  assert_int_equal(h->retries, 3);
  assert_args(&df.instrs[2], 2, "CMD", "curl -f http://localhost/ || exit 1");
  assert_flag(&df.instrs[2], "timeout", "1m30s");

  h = df.instrs[3].health;
  assert_true(df.instrs[3].json_form);
  assert_int_equal(h->ntest, 3);
  assert_string_equal(h->test[0], "CMD");
  assert_string_equal(h->test[2], "--fast");

  h = df.instrs[4].health;
  assert_int_equal(h->interval_ns, 0);
  assert_int_equal(h->retries, 0);
  assert_string_equal(h->test[1], "true");
  dockerfile_free(&df);
}

/* 12: ONBUILD keeps the trigger, split, and the text an image stores */
static void test_onbuild(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM a\n"
                           "ONBUILD RUN --mount=type=cache,target=/c make\n"
                           "onbuild   COPY [\"a\", \"/b\"]\n"
                           "ONBUILD RUN <<EOF\n"
                           "echo hi\n"
                           "EOF\n");
  const df_instr *ob = &df.instrs[1];
  assert_non_null(ob->onbuild);
  assert_string_equal(ob->onbuild->keyword, "run");
  assert_args(ob->onbuild, 1, "make");
  assert_string_equal(ob->onbuild->flags[0].name, "mount");
  assert_string_equal(ob->onbuild_expr, "RUN --mount=type=cache,target=/c make");
  assert_args(ob, 2, "RUN", "make");

  ob = &df.instrs[2];
  assert_true(ob->onbuild->json_form);
  assert_args(ob->onbuild, 2, "a", "/b");
  assert_string_equal(ob->onbuild_expr, "COPY [\"a\", \"/b\"]");

  ob = &df.instrs[3];
  assert_int_equal(ob->nheredocs, 1);
  assert_string_equal(ob->onbuild_expr, "RUN <<EOF\necho hi\nEOF");
  assert_int_equal(ob->end_line, 6);
  dockerfile_free(&df);
}

/* 13: RUN heredocs: plain, <<- (tabs), quoted (no expansion), several on one line */
static void test_run_heredocs(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM a\n"
                           "RUN <<EOF\n"
                           "echo $HOME\n"
                           "EOF\n"
                           "RUN <<-EOT\n"
                           "\techo tabbed\n"
                           "\tEOT\n"
                           "RUN <<\"EOF\"\n"
                           "echo $HOME\n"
                           "EOF\n"
                           "RUN cat <<A > /x && cat <<'B'\n"
                           "one\n"
                           "A\n"
                           "two\n"
                           "B\n"
                           "RUN echo after\n");
  assert_int_equal(df.n, 6);
  const df_instr *r = &df.instrs[1];
  assert_int_equal(r->nheredocs, 1);
  assert_string_equal(r->heredocs[0].name, "EOF");
  assert_string_equal(r->heredocs[0].content, "echo $HOME\n");
  assert_true(r->heredocs[0].expand);
  assert_false(r->heredocs[0].chomp);
  assert_args(r, 1, "<<EOF");
  assert_int_equal(r->start_line, 2);
  assert_int_equal(r->end_line, 4);

  r = &df.instrs[2];
  assert_true(r->heredocs[0].chomp);
  assert_string_equal(r->heredocs[0].content, "\techo tabbed\n");
  char *chomped = df_heredoc_chomp(r->heredocs[0].content);
  assert_string_equal(chomped, "echo tabbed\n");
  free(chomped);

  r = &df.instrs[3];
  assert_string_equal(r->heredocs[0].name, "EOF");
  assert_false(r->heredocs[0].expand);

  r = &df.instrs[4];
  assert_int_equal(r->nheredocs, 2);
  assert_string_equal(r->heredocs[0].name, "A");
  assert_string_equal(r->heredocs[0].content, "one\n");
  assert_string_equal(r->heredocs[1].name, "B");
  assert_string_equal(r->heredocs[1].content, "two\n");
  assert_false(r->heredocs[1].expand);
  assert_int_equal(r->end_line, 15);
  assert_string_equal(df.instrs[5].original, "RUN echo after");
  assert_int_equal(df.instrs[5].start_line, 16);
  dockerfile_free(&df);
}

/* 14: COPY/ADD heredocs, and no heredoc in the exec form */
static void test_copy_heredocs(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM a\n"
                           "COPY <<EOF /etc/motd\n"
                           "hello\n"
                           "EOF\n"
                           "ADD <<a <<b /dst/\n"
                           "1\n"
                           "a\n"
                           "2\n"
                           "b\n"
                           "RUN [\"cat\", \"<<EOF\"]\n");
  assert_int_equal(df.n, 4);
  const df_instr *c = &df.instrs[1];
  assert_args(c, 2, "<<EOF", "/etc/motd");
  assert_string_equal(c->heredocs[0].content, "hello\n");
  df_heredoc h;
  arca_err err = {0};
  assert_int_equal(df_heredoc_from_word(c->args[0], &h, &err), 1);
  assert_string_equal(h.name, "EOF");
  df_heredoc_clear(&h);
  assert_int_equal(df_heredoc_from_word(c->args[1], &h, &err), 0);
  assert_int_equal(df.instrs[2].nheredocs, 2);
  assert_int_equal(df.instrs[3].nheredocs, 0);
  assert_true(df.instrs[3].json_form);

  assert_int_equal(df_heredoc_from_word("3<<-'END'", &h, &err), 1);
  assert_string_equal(h.name, "END");
  assert_true(h.chomp);
  assert_false(h.expand);
  assert_int_equal(h.fd, 3);
  df_heredoc_clear(&h);
  assert_int_equal(df_heredoc_from_word("<<", &h, &err), 0);
  assert_int_equal(df_heredoc_from_word("a<<EOF", &h, &err), 0);
  dockerfile_free(&df);
}

/* 15: flags of COPY / ADD / FROM / RUN, kept in order with their values */
static void test_flags(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM --platform=linux/arm64 alpine AS build\n"
                           "COPY --from=build --chown=1000:1000 --chmod=755 --link src/ /dst/\n"
                           "COPY --link=false --exclude=*.md --exclude=*.txt . /x\n"
                           "ADD --chown=\"app user\" --keep-git-dir --checksum=sha256:ab "
                           "http://h/f /f\n"
                           "RUN --mount=type=cache,target=/root/.cache --network=none make\n"
                           "RUN -- --not-a-flag\n");
  assert_flag(&df.instrs[0], "platform", "linux/arm64");
  assert_args(&df.instrs[0], 3, "alpine", "AS", "build");
  const df_instr *c = &df.instrs[1];
  assert_int_equal(c->nflags, 4);
  assert_string_equal(c->flags[0].name, "from");
  assert_flag(c, "from", "build");
  assert_flag(c, "chown", "1000:1000");
  assert_flag(c, "chmod", "755");
  assert_flag(c, "link", NULL);
  assert_args(c, 2, "src/", "/dst/");
  assert_int_equal(df.instrs[2].nflags, 3);
  assert_flag(&df.instrs[2], "link", "false");
  assert_flag(&df.instrs[2], "exclude", "*.txt"); /* the last one */
  assert_flag(&df.instrs[3], "chown", "app user");
  assert_flag(&df.instrs[3], "keep-git-dir", NULL);
  assert_flag(&df.instrs[4], "mount", "type=cache,target=/root/.cache");
  assert_flag(&df.instrs[4], "network", "none");
  assert_int_equal(df.instrs[5].nflags, 0);
  assert_args(&df.instrs[5], 1, "--not-a-flag");
  assert_null(df_instr_flag(&df.instrs[5], "mount"));
  dockerfile_free(&df);
}

/* 16: EXPOSE (sorted as Docker does), USER, WORKDIR with spaces, STOPSIGNAL */
static void test_simple_instructions(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM a\n"
                           "EXPOSE 8080 80/udp 443\n"
                           "USER app:app\n"
                           "WORKDIR /path with spaces\n"
                           "STOPSIGNAL 9\n"
                           "FROM scratch\n");
  assert_args(&df.instrs[1], 3, "443", "80/udp", "8080"); /* byte order */
  assert_args(&df.instrs[2], 1, "app:app");
  assert_args(&df.instrs[3], 1, "/path with spaces");
  assert_args(&df.instrs[4], 1, "9");
  assert_null(df.instrs[5].stage_name);
  dockerfile_free(&df);
}

/* 17: CRLF line ends and a byte order mark */
static void test_crlf_and_bom(void **state) {
  (void)state;
  dockerfile df = parse_ok("\xef\xbb\xbf"
                           "FROM a\r\nRUN a \\\r\n  b\r\nCOPY <<EOF /x\r\nline\r\nEOF\r\n");
  assert_int_equal(df.n, 3);
  assert_string_equal(df.instrs[0].original, "FROM a");
  assert_args(&df.instrs[1], 1, "a   b");
  assert_string_equal(df.instrs[2].heredocs[0].content, "line\r\n");
  dockerfile_free(&df);
}

/* 18: no trailing newline, blank lines, indentation */
static void test_layout(void **state) {
  (void)state;
  dockerfile df = parse_ok("\n\n  FROM a\n\n\n\tRUN\tx\ty\t\n\nCMD z");
  assert_int_equal(df.n, 3);
  assert_int_equal(df.instrs[0].start_line, 3);
  assert_string_equal(df.instrs[1].original, "RUN\tx\ty");
  assert_args(&df.instrs[1], 1, "x\ty");
  assert_int_equal(df.instrs[1].start_line, 6);
  assert_int_equal(df.instrs[2].start_line, 8);
  dockerfile_free(&df);
}

typedef struct err_case {
  const char *text;
  const char *want;
  int line;
} err_case;

static const err_case err_cases[] = {
    {"# only a comment\n\n", "failed to parse Dockerfile: file with no instructions", 2},
    {"FROM a\nFOO bar\n",
     "dockerfile parse error on line 2: unknown instruction: FOO (did you mean FROM?)", 2},
    {"FROM a\nfoo bar\n",
     "dockerfile parse error on line 2: unknown instruction: foo (did you mean from?)", 2},
    {"FROM a\nXYZZY x\n", "dockerfile parse error on line 2: unknown instruction: XYZZY", 2},
    {"FROM a\nENV =x\n", "dockerfile parse error on line 2: ENV names can not be blank", 2},
    {"FROM a\nENV A\n", "failed to parse Dockerfile: ENV must have two arguments", 2},
    {"FROM a\nENV A=1 B\n",
     "failed to parse Dockerfile: Syntax error - can't find = in \"B\". Must be of the form: "
     "name=value",
     2},
    {"FROM a\nENV\n", "dockerfile parse error on line 2: ENV requires at least one argument", 2},
    {"FROM\n", "dockerfile parse error on line 1: FROM requires either one or three arguments", 1},
    {"FROM a b\n", "dockerfile parse error on line 1: FROM requires either one or three arguments",
     1},
    {"FROM a AS 1x\n",
     "dockerfile parse error on line 1: invalid name for build stage: \"1x\", name can't start "
     "with a number or contain symbols",
     1},
    {"# escape=x\nFROM a\n",
     "failed to parse Dockerfile: invalid escape token 'x' does not match ` or \\", 1},
    {"# escape=`\n# escape=\\\nFROM a\n",
     "failed to parse Dockerfile: only one escape parser directive can be used", 2},
    {"FROM a\nRUN <<EOF\nnever ends\n", "failed to parse Dockerfile: unterminated heredoc", 2},
    {"FROM a\nCMD [\"echo\", 1]\n",
     "failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of "
     "strings only",
     2},
    {"FROM a\nSHELL /bin/sh -c\n",
     "dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form", 2},
    {"FROM a\nSHELL []\n", "dockerfile parse error on line 2: SHELL requires at least one argument",
     2},
    {"FROM a\nCOPY onlyone\n",
     "dockerfile parse error on line 2: COPY requires at least two arguments, but only one was "
     "provided. Destination could not be determined",
     2},
    {"FROM a\nCOPY --chwn=1 a b\n",
     "dockerfile parse error on line 2: unknown flag: --chwn (did you mean chown?)", 2},
    {"FROM a\nCOPY --from a b\n",
     "dockerfile parse error on line 2: missing a value on flag: --from", 2},
    {"FROM a\nCOPY --from=x --from=y a b\n",
     "dockerfile parse error on line 2: duplicate flag specified: --from", 2},
    {"FROM a\nCOPY --link=maybe a b\n",
     "dockerfile parse error on line 2: expecting boolean value for flag --link, not: maybe", 2},
    {"FROM a\nCOPY a <<EOF\nEOF\n",
     "dockerfile parse error on line 2: COPY cannot accept a heredoc as a destination", 2},
    {"FROM a\nADD --from=x a b\n", "dockerfile parse error on line 2: unknown flag: --from", 2},
    {"FROM a\nRUN --network=bogus x\n",
     "dockerfile parse error on line 2: invalid network mode \"bogus\"", 2},
    {"FROM a\nRUN --security=insecure x\n",
     "dockerfile parse error on line 2: unknown flag: --security", 2},
    {"FROM a\nHEALTHCHECK NONE x\n",
     "dockerfile parse error on line 2: HEALTHCHECK NONE takes no arguments", 2},
    {"FROM a\nHEALTHCHECK CMD\n",
     "dockerfile parse error on line 2: Missing command after HEALTHCHECK CMD", 2},
    {"FROM a\nHEALTHCHECK FOO x\n",
     "dockerfile parse error on line 2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)", 2},
    {"FROM a\nHEALTHCHECK --interval=5 CMD x\n",
     "dockerfile parse error on line 2: time: missing unit in duration \"5\"", 2},
    {"FROM a\nHEALTHCHECK --interval=10us CMD x\n",
     "dockerfile parse error on line 2: Interval \"interval\" cannot be less than 1ms", 2},
    {"FROM a\nHEALTHCHECK --retries=-1 CMD x\n",
     "dockerfile parse error on line 2: --retries cannot be negative (-1)", 2},
    {"FROM a\nHEALTHCHECK --retries=x CMD x\n",
     "dockerfile parse error on line 2: strconv.ParseInt: parsing \"x\": invalid syntax", 2},
    {"FROM a\nONBUILD ONBUILD RUN x\n",
     "dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", 2},
    {"FROM a\nONBUILD FROM b\n",
     "dockerfile parse error on line 2: FROM isn't allowed as an ONBUILD trigger", 2},
    {"FROM a\nONBUILD maintainer me\n",
     "dockerfile parse error on line 2: MAINTAINER isn't allowed as an ONBUILD trigger", 2},
    {"FROM a\nONBUILD\n",
     "dockerfile parse error on line 2: ONBUILD requires at least one argument", 2},
    {"FROM a\nUSER\n", "dockerfile parse error on line 2: USER requires exactly one argument", 2},
    {"FROM a\nWORKDIR\n", "dockerfile parse error on line 2: WORKDIR requires exactly one argument",
     2},
    {"FROM a\nEXPOSE\n", "dockerfile parse error on line 2: EXPOSE requires at least one argument",
     2},
    {"FROM a\nVOLUME [\"\"]\n",
     "dockerfile parse error on line 2: VOLUME specified can not be an empty string", 2},
    {"FROM a\nSTOPSIGNAL\n",
     "dockerfile parse error on line 2: STOPSIGNAL requires exactly one argument", 2},
    {"FROM a\nARG\n", "dockerfile parse error on line 2: ARG requires at least one argument", 2},
    {"FROM a\nARG =x\n", "dockerfile parse error on line 2: ARG names can not be blank", 2},
    {"FROM a\nLABEL\n", "dockerfile parse error on line 2: LABEL requires at least one argument",
     2},
    {"FROM a\nLABEL x\n", "failed to parse Dockerfile: LABEL must have two arguments", 2},
    {"FROM a\nMAINTAINER\n",
     "dockerfile parse error on line 2: MAINTAINER requires exactly one argument", 2},
    {"FROM a\nENV --x=1 A=b\n", "dockerfile parse error on line 2: unknown flag: --x", 2},
    {"RUN x\n", "no build stage in current context", 1},
    {"ARG a\nENV b=c\nFROM x\n", "no build stage in current context", 2},
    {"FROM a\nRUN \\\n  ok\nENV\n",
     "dockerfile parse error on line 4: ENV requires at least one argument", 4},
};

/* 19: dockerd's error texts and the line each is about */
static void test_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < ARRAY_LEN(err_cases); i++) {
    const err_case *c = &err_cases[i];
    dockerfile df;
    arca_err err = {0};
    if (dockerfile_parse("Dockerfile", c->text, strlen(c->text), &df, &err) != -1)
      fail_msg("case %zu: parsed, want error [%s]", i, c->want);
    assert_int_equal(err.status, 400);
    if (strcmp(err.msg, c->want) != 0)
      fail_msg("case %zu: got [%s]\n want [%s]", i, err.msg, c->want);
    if (df.error_line != c->line)
      fail_msg("case %zu: error line %d, want %d", i, df.error_line, c->line);
    assert_null(df.instrs);
  }
}

/* 20: an empty file, a named Dockerfile, a line longer than dockerd's scanner takes */
static void test_empty_and_limits(void **state) {
  (void)state;
  dockerfile df;
  arca_err err = {0};
  assert_int_equal(dockerfile_parse("build/Dockerfile.dev", "", 0, &df, &err), -1);
  assert_string_equal(err.msg, "the Dockerfile (build/Dockerfile.dev) cannot be empty");
  assert_int_equal(dockerfile_parse("Dockerfile.dev", "\n", 1, &df, &err), -1);
  assert_string_equal(err.msg, "failed to parse Dockerfile.dev: file with no instructions");

  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, "FROM a\nRUN ");
  for (int i = 0; i < 65531; i++) sb_puts(&sb, "x");
  sb_puts(&sb, "\n"); /* 65535 bytes before the newline: accepted */
  assert_int_equal(dockerfile_parse("Dockerfile", sb.buf, sb.len, &df, &err), 0);
  assert_int_equal(strlen(df.instrs[1].args[0]), 65531);
  dockerfile_free(&df);
  sb.len -= 1;
  sb_puts(&sb, "x\nRUN y\n"); /* 65536: dockerd's scanner gives up */
  assert_int_equal(dockerfile_parse("Dockerfile", sb.buf, sb.len, &df, &err), -1);
  assert_string_equal(err.msg,
                      "failed to parse Dockerfile: dockerfile line greater than max allowed size "
                      "of 65535");
  assert_int_equal(df.error_line, 2);
  sb_free(&sb);
}

/* 21: an inherited ONBUILD trigger, parsed when a child build runs it */
static void test_trigger(void **state) {
  (void)state;
  df_instr *t = NULL;
  arca_err err = {0};
  assert_int_equal(dockerfile_parse_trigger("RUN <<EOF\necho hi\nEOF", &t, &err), 0);
  assert_string_equal(t->keyword, "run");
  assert_string_equal(t->original, "RUN <<EOF");
  assert_string_equal(t->heredocs[0].content, "echo hi\n");
  df_instr_free(t);

  assert_int_equal(dockerfile_parse_trigger("COPY --from=x a b", &t, &err), 0);
  assert_flag(t, "from", "x");
  df_instr_free(t);

  static const struct {
    const char *expr, *want;
  } bad[] = {
      {"RUN a\nRUN b", "onbuild trigger should be a single expression"},
      {"FOO bar", "unknown instruction: FOO (did you mean FROM?)"},
      {"FROM x", "*instructions.Stage is not a command type"},
      {"", "file with no instructions"},
      {"ENV A", "ENV must have two arguments"},
      {"COPY a", "COPY requires at least two arguments, but only one was provided. Destination "
                 "could not be determined"},
  };
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    assert_int_equal(dockerfile_parse_trigger(bad[i].expr, &t, &err), -1);
    assert_null(t);
    assert_string_equal(err.msg, bad[i].want);
    assert_int_equal(err.status, 400);
  }
}

/* 22: flags STOPSIGNAL, ARG and HEALTHCHECK NONE never check are kept, not refused */
static void test_unchecked_flags(void **state) {
  (void)state;
  dockerfile df =
      parse_ok("ARG --x=1 a\nFROM a\nSTOPSIGNAL --y 9\nHEALTHCHECK --interval=5 NONE\n");
  assert_flag(&df.instrs[0], "x", "1");
  assert_flag(&df.instrs[2], "y", NULL);
  assert_flag(&df.instrs[3], "interval", "5");
  assert_string_equal(df.instrs[3].health->test[0], "NONE");
  dockerfile_free(&df);
}

/* 23: quotes in flag values and in ENV words; a backslash inside single quotes escapes
 * nothing, so 'it\'s' runs on into the next pair (as with dockerd) */
static void test_quoting(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM a\n"
                           "COPY --chown=a\\ b --from='x y' s d\n"
                           "ENV C='a b'\\'c D=\"say \\\"hi\\\"\"\n"
                           "ENV A='it\\'s' B=x\n");
  assert_flag(&df.instrs[1], "chown", "a b");
  assert_flag(&df.instrs[1], "from", "x y");
  assert_int_equal(df.instrs[2].nkvs, 2);
  assert_string_equal(df.instrs[2].kvs[0].value, "'a b'\\'c");
  assert_string_equal(df.instrs[2].kvs[1].value, "\"say \\\"hi\\\"\"");
  assert_int_equal(df.instrs[3].nkvs, 1);
  assert_string_equal(df.instrs[3].kvs[0].value, "'it\\'s' B=x");
  dockerfile_free(&df);
}

/* 24: multi-stage with ARG before FROM and stage names lowercased */
static void test_multi_stage(void **state) {
  (void)state;
  dockerfile df = parse_ok("ARG BASE=alpine\n"
                           "FROM $BASE AS Builder\n"
                           "RUN make\n"
                           "FROM scratch as final.stage-1_x\n"
                           "COPY --from=Builder /out /\n");
  assert_string_equal(df.instrs[1].stage_name, "builder");
  assert_string_equal(df.instrs[3].stage_name, "final.stage-1_x");
  assert_args(&df.instrs[1], 3, "$BASE", "AS", "Builder");
  dockerfile_free(&df);
}

/* 25: an unterminated quote in ENV is taken as written, as buildkit does */
static void test_unterminated_quote(void **state) {
  (void)state;
  dockerfile df = parse_ok("FROM a\nENV A=\"open\nRUN echo 'a\n");
  assert_string_equal(df.instrs[1].kvs[0].value, "\"open");
  assert_args(&df.instrs[2], 1, "echo 'a");
  dockerfile_free(&df);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_instructions),   cmocka_unit_test(test_continuations),
      cmocka_unit_test(test_continuation_edges), cmocka_unit_test(test_escape_backtick),
      cmocka_unit_test(test_directives),         cmocka_unit_test(test_comments_in_continuation),
      cmocka_unit_test(test_json_and_shell_forms), cmocka_unit_test(test_env_forms),
      cmocka_unit_test(test_label_multi),        cmocka_unit_test(test_arg),
      cmocka_unit_test(test_healthcheck),        cmocka_unit_test(test_onbuild),
      cmocka_unit_test(test_run_heredocs),       cmocka_unit_test(test_copy_heredocs),
      cmocka_unit_test(test_flags),              cmocka_unit_test(test_simple_instructions),
      cmocka_unit_test(test_crlf_and_bom),       cmocka_unit_test(test_layout),
      cmocka_unit_test(test_errors),             cmocka_unit_test(test_empty_and_limits),
      cmocka_unit_test(test_trigger),            cmocka_unit_test(test_unchecked_flags),
      cmocka_unit_test(test_quoting),            cmocka_unit_test(test_multi_stage),
      cmocka_unit_test(test_unterminated_quote),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
