/* Word expansion for Dockerfile instructions: buildkit's shell.Lex (frontend/dockerfile/
 * shell/lex.go, as vendored by moby v28), which the classic builder runs over the arguments
 * of ENV, LABEL, ARG, COPY, ADD, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL, FROM...
 *
 * What one word goes through:
 *  - $NAME and ${NAME}; NAME is letters, digits and '_', or a run of digits ($1, $001),
 *    or one special parameter character (@ * # ? - $ ! 0); these are never set.
 *  - ${NAME:-word} ${NAME-word}   word when unset (with ':' also when empty)
 *    ${NAME:+word} ${NAME+word}   word when set (with ':' only when not empty)
 *    ${NAME:?msg}  ${NAME?msg}    error "NAME: msg" (default "is not allowed to be unset" /
 *                                 "is not allowed to be empty")
 *    ${NAME#pat} ${NAME##pat} ${NAME%pat} ${NAME%%pat}   trim shortest/longest prefix/suffix
 *    ${NAME/pat/repl} ${NAME//pat/repl}                  replace first/all
 *    (pat: '*' any run, '?' one character, '\' escapes * ? \ } /; matching is bounded,
 *    so a pathological pattern over a huge value fails with "pattern too complex..."
 *    where Go's linear-time regexp would still answer)
 *  - single quotes keep everything literally; double quotes keep everything except $ and
 *    the escape character before " $ or itself; quotes are removed from the result.
 *  - the escape character (\ or ` as set by "# escape=") takes the next character
 *    literally; at the end of the word it is dropped.
 * Errors carry buildkit's texts wrapped as `failed to process "<word>": <cause>` (status 400).
 *
 * Splitting (shell_lex_words): the result is split on white space, except inside quotes,
 * escaped characters and heredoc markers; text that came from a variable is split too.
 * Like buildkit, a ${NAME:-...} style expansion drops what the current word held before it
 * (a quirk of lex.go's shared word buffer, kept for parity).
 *
 * env holds "KEY=VALUE" strings (an entry without '=' defines KEY as empty); when a key
 * appears more than once the last one wins. Every function is reentrant. */
#ifndef ARCA_BUILDER_SHELL_LEX_H
#define ARCA_BUILDER_SHELL_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef struct shell_lex_opts {
  char escape;              /* '\\' or '`' */
  bool raw_quotes;          /* keep quote characters in the output */
  bool raw_escapes;         /* keep escape characters in the output */
  bool skip_unset_env;      /* leave references to unset variables as written */
  bool skip_process_quotes; /* treat quotes as ordinary characters */
} shell_lex_opts;

/* Full form: expands word with opts; any of out_word / out_words may be NULL. On success
 * *out_word is the expanded string and *out_words (*nout_words entries) its split words;
 * the caller frees them (shell_lex_free_words). Returns 0, or -1 with err filled. */
int shell_lex_process(const char *word, const shell_lex_opts *opts, const char *const *env,
                      size_t nenv, char **out_word, char ***out_words, size_t *nout_words,
                      arca_err *err);

/* ProcessWord: one word in, one string out. */
int shell_lex_word(const char *word, char escape, const char *const *env, size_t nenv,
                   char **out, arca_err *err);
/* ProcessWords: the expansion split into words (EXPOSE, heredoc detection...). */
int shell_lex_words(const char *word, char escape, const char *const *env, size_t nenv,
                    char ***out, size_t *nout, arca_err *err);

void shell_lex_free_words(char **words, size_t n);

#endif
