/* .dockerignore patterns (moby/patternmatcher and its ignorefile reader) and Go's
 * path.Match for single globs.
 *
 * A pattern list is read once and then only read: any number of threads may match against
 * it at once. No locks.
 *
 * Paths given to the matchers are relative to the build context, '/'-separated and clean
 * (no "./", no "//", no trailing '/'), as a directory walk produces them.
 *
 * Pattern syntax, as Docker reads it: `*` any run of characters but '/', `?` one character
 * but '/', `[a-c]` / `[^a-c]` a class, `\x` the character x, `**` any number of whole
 * directories (also none). A pattern that matches a directory excludes everything below
 * it. Patterns apply in order and a later one wins, so `!pattern` re-includes what earlier
 * ones excluded. A pattern with wildcards is a Go regexp to Docker, and that shows: a bare
 * '^' anchors, and "\b", "\d", "\s", "\w" (and their capitals), "\A", "\z", "\n", "\t" ...
 * keep their regexp meanings here too. Differences, all in odd corners:
 *   - `|`, `{` and `}` are plain characters here; patternmatcher forgets to escape them, so
 *     in Docker they act as regexp alternation and repetition;
 *   - `*` and `?` inside [..] are plain characters here (Docker's regexp gets garbled);
 *   - what Go's regexp refuses (a reversed range [z-a], "\q", "\x41", "\pL") Docker
 *     reports on each match; here the pattern is refused up front, same message. */
#ifndef ARCA_COMMON_PATTERN_H
#define ARCA_COMMON_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef struct pattern_list pattern_list;

/* Reads .dockerignore text: a UTF-8 BOM dropped, lines starting with '#' skipped (a '#'
 * after leading blanks is part of a pattern, as in Docker), whitespace trimmed, blank lines
 * skipped, `!` exceptions, each pattern cleaned like Go's filepath.Clean and a leading '/'
 * removed. content may be NULL (no patterns). Bad patterns fail with 400: "syntax error in
 * pattern" or `illegal exclusion pattern: "!"`. */
int pattern_list_parse_dockerignore(const char *content, pattern_list **out, arca_err *err);
/* patternmatcher.New: each pattern trimmed and cleaned, empty ones skipped, leading '!'
 * marks an exception. Same errors as above. */
int pattern_list_new(const char *const *patterns, size_t n, pattern_list **out,
                     arca_err *err);
void pattern_list_free(pattern_list *p);

/* Number of patterns kept (the size of the walk result arrays below). */
size_t pattern_list_len(const pattern_list *p);
/* i-th pattern as cleaned, with '!' put back on exceptions; NULL past the end. The string
 * lives as long as the list. */
const char *pattern_list_pattern(const pattern_list *p, size_t i);

/* Is relpath excluded? It is when the last pattern that matches it or one of its parent
 * directories is not an exception (MatchesOrParentMatches). */
bool pattern_list_matches(const pattern_list *p, const char *relpath);
/* The same answer, computed during a walk from the parent directory's results
 * (MatchesUsingParentResults, as BuildKit walks a context). parent_results is NULL for
 * entries at the top of the context, else the results array filled for their directory;
 * results (pattern_list_len entries) receives this entry's, to pass to its children. */
bool pattern_list_matches_in_walk(const pattern_list *p, const char *relpath,
                                  const bool *parent_results, bool *results);

/* Any `!` exception in the list? */
bool pattern_list_has_exclusions(const pattern_list *p);
/* For an excluded directory: must the walk still enter it because an exception could
 * re-include something below? BuildKit's rule: no when there are no exceptions; yes when
 * any exception holds a wildcard before a trailing slash-star or slash-double-star; else
 * yes only when an exception names a path inside reldir (`!reldir/keep`). */
bool pattern_list_must_descend(const pattern_list *p, const char *reldir);

/* Go's path.Match: does the whole of name match the glob? '*' and '?' never match '/'.
 * A malformed pattern fails with 400 "syntax error in pattern", whatever the name (Go
 * checks the rest of the pattern even once the answer is known). */
int glob_match(const char *pattern, const char *name, bool *matched, arca_err *err);

/* Go's filepath.Clean on a '/'-separated path; caller frees. "" gives ".". */
char *path_clean(const char *path);

#endif
