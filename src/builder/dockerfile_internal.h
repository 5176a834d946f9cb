/* Shared between dockerfile.c (the line grammar: buildkit's parser package) and
 * dockerfile_check.c (the per-instruction checks: buildkit's instructions package). */
#ifndef ARCA_BUILDER_DOCKERFILE_INTERNAL_H
#define ARCA_BUILDER_DOCKERFILE_INTERNAL_H

#include "builder/dockerfile.h"

typedef struct svec {
  char **v;
  size_t n, cap;
} svec;

void svec_push(svec *s, char *owned);
void svec_free(svec *s);

/* One parsed line, before the instruction checks turn it into its final df_instr. */
typedef struct df_node {
  df_instr in;    /* keyword, args, json_form, kvs (ENV/LABEL), heredocs, onbuild, lines */
  char *cmd_raw;  /* the keyword as written, for error texts */
  char *line;     /* the joined line, untrimmed (buildkit's Node.Original) */
  svec raw_flags; /* "--name[=value]" as extracted */
  bool known;     /* keyword has a line parser */
} df_node;

/* RE2's \s, which buildkit's regular expressions use */
static inline bool re_space(char c) {
  return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

void df_node_clear(df_node *nd);
/* Converts raw "--name[=value]" words into df_flag entries on nd->in. */
void df_node_take_flags(df_node *nd);

/* Runs the instruction checks of instructions.Parse on nd and completes nd->in (flags,
 * kvs for ARG, stage name, health, onbuild_expr). On failure err holds the bare cause. */
int df_check_instr(df_node *nd, arca_err *err);

/* ParseHeredoc: 1 and *out filled when word is a heredoc marker, 0 if not, -1 on error. */
int df_parse_heredoc_word(const char *word, df_heredoc *out, arca_err *err);

/* ASCII case helpers on a new string. */
char *df_lower(const char *s);
char *df_upper(const char *s);

#endif
