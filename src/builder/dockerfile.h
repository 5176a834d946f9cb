/* Dockerfile parser: Docker's grammar as the classic builder (POST /build without BuildKit)
 * reads it. Behaviour and error texts follow buildkit's frontend/dockerfile/parser (line
 * splitting, directives, continuations, heredocs, per-instruction argument forms) and
 * frontend/dockerfile/instructions (flags and checks per instruction), as vendored by moby
 * v28 and wrapped by its builder/remotecontext.
 *
 * The result is a flat list of instructions in file order, FROM included. Arguments are
 * kept as written (quotes, $VAR): the builder expands them with shell_lex at dispatch
 * time, with the escape character found here. Nothing here touches the file system.
 *
 * Per instruction:
 *   keyword     lowercased ("run", "copy"...)
 *   original    the instruction as "Step N/M : <original>" prints it: continuation lines
 *               joined (escape and line break removed), comments inside dropped, trimmed
 *   flags       the --name[=value] words before the arguments, validated per instruction
 *               (COPY: from chown chmod link exclude; ADD: chown chmod link keep-git-dir
 *               checksum unpack exclude; FROM: platform; RUN: mount network device;
 *               HEALTHCHECK: interval timeout start-period start-interval retries)
 *   args        the words, by instruction:
 *                 RUN CMD ENTRYPOINT SHELL: json_form ? the array : { the whole text }
 *                 COPY ADD VOLUME: json_form ? the array : the white-space separated words
 *                 FROM EXPOSE: the white-space separated words (EXPOSE sorted, as Docker)
 *                 ENV LABEL: key1, value1, key2, value2... (also in kvs)
 *                 ARG: the words "name" or "name=default" (also in kvs)
 *                 HEALTHCHECK: { type as written, then the command as for CMD }
 *                 ONBUILD: { trigger keyword as written, then the trigger's args }
 *                 USER WORKDIR MAINTAINER STOPSIGNAL: { the whole text }
 *   heredocs    the <<WORD bodies of RUN / COPY / ADD (and ONBUILD of those), raw: lines
 *               as read with their line ends, leading tabs not yet removed for <<-
 *               (see df_heredoc_chomp). The classic builder itself ignores them.
 *
 * Errors (status 400) read as dockerd's:
 *   "the Dockerfile (<name>) cannot be empty"                       zero bytes
 *   "failed to parse <name>: <cause>"                               grammar errors, e.g.
 *       file with no instructions / unterminated heredoc / ENV must have two arguments /
 *       invalid escape token '$' does not match ` or \ / when using JSON array syntax...
 *   "dockerfile parse error on line N: <cause>"                     instruction checks, e.g.
 *       unknown instruction: FOO (did you mean FROM?) / ENV names can not be blank /
 *       FROM requires either one or three arguments / COPY requires at least two
 *       arguments, but only one was provided. Destination could not be determined /
 *       unknown flag: --chwn (did you mean chown?) / SHELL requires the arguments to be
 *       in JSON form / Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed ...
 *   "no build stage in current context"                             instruction before FROM
 *
 * No shared state: every function is reentrant. */
#ifndef ARCA_BUILDER_DOCKERFILE_H
#define ARCA_BUILDER_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct df_heredoc {
  char *name;    /* terminator word, quotes removed */
  char *content; /* body lines, each with its line end */
  bool expand;   /* the word was unquoted: variables in the body are expanded */
  bool chomp;    /* <<-: leading tabs are stripped from the body and terminator */
  unsigned fd;   /* the digits before <<, 0 when none */
} df_heredoc;

typedef struct df_flag {
  char *name;  /* without the leading "--" */
  char *value; /* NULL for a bare flag (--link) */
} df_flag;

typedef struct df_kv {
  char *key;
  char *value;   /* ARG without default: NULL */
  bool no_delim; /* ENV/LABEL legacy "key value" form */
} df_kv;

typedef struct df_health {
  char **test; /* {"NONE"} | {"CMD", exec args...} | {"CMD-SHELL", "command"} */
  size_t ntest;
  int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns; /* 0: not given */
  int retries;                                                          /* 0: not given */
} df_health;

typedef struct df_instr {
  char *keyword;
  char *original;
  int start_line, end_line; /* 1-based, end includes continuation and heredoc lines */
  df_flag *flags;
  size_t nflags;
  char **args;
  size_t nargs;
  bool json_form;
  df_heredoc *heredocs;
  size_t nheredocs;
  df_kv *kvs; /* ENV, LABEL, ARG */
  size_t nkvs;
  char *stage_name;        /* FROM x AS name: the name lowercased; else NULL */
  df_health *health;       /* HEALTHCHECK */
  struct df_instr *onbuild; /* ONBUILD: the trigger, split but not checked until it runs */
  char *onbuild_expr;      /* ONBUILD: the trigger text an image stores in Config.OnBuild */
} df_instr;

typedef struct dockerfile {
  df_instr *instrs;
  size_t n;
  char escape;   /* '\\' or '`' from "# escape=" */
  char *syntax;  /* "# syntax=" value, NULL if absent (the classic builder ignores it) */
  char *check;   /* "# check=" value, NULL if absent */
  char **warnings; /* e.g. "Empty continuation line found in: RUN a b" */
  size_t nwarnings;
  int error_line; /* after a failed parse: the line the error is about, 0 if none */
} dockerfile;

/* Parses a whole Dockerfile. name is how errors call it (the build's "dockerfile" parameter,
 * "Dockerfile" by default). On success fills *out (free with dockerfile_free); on failure
 * *out holds nothing to free except that error_line is set. */
int dockerfile_parse(const char *name, const char *text, size_t len, dockerfile *out,
                     arca_err *err);
void dockerfile_free(dockerfile *df);

/* Parses one ONBUILD trigger (an inherited Config.OnBuild entry) as dockerd does when it
 * runs it: exactly one instruction, checked as above, errors without the line prefix
 * ("onbuild trigger should be a single expression", "unknown instruction: FOO"...). */
int dockerfile_parse_trigger(const char *expr, df_instr **out, arca_err *err);
void df_instr_free(df_instr *in); /* frees *in and the struct itself */

/* The last occurrence of flag name (without "--") on in, or NULL. */
const df_flag *df_instr_flag(const df_instr *in, const char *name);

/* Whether an argument word is a heredoc marker (<<EOF, <<-"EOF", 3<<EOF...): returns 1 and
 * fills *out (name, expand, chomp, fd; content NULL; free with df_heredoc_clear), 0 if not,
 * -1 on a lexing error. COPY/ADD use it to tell heredoc sources from paths. */
int df_heredoc_from_word(const char *word, df_heredoc *out, arca_err *err);
void df_heredoc_clear(df_heredoc *h);
/* The body of a <<- heredoc with leading tabs removed from every line (caller frees). */
char *df_heredoc_chomp(const char *content);

#endif
