/* UTF-8 and Go-compatibility helpers shared by the Dockerfile parser and the shell lexer.
 *
 * Docker's grammar is written in Go and classifies characters with Go's unicode package
 * (unicode.IsSpace, IsLetter, IsDigit) and quotes strings in its errors with %q. These
 * helpers reproduce those rules so that our splits and error texts match dockerd's.
 *
 * Bytes that are not valid UTF-8 decode to RUNE_RAW(byte): they never count as spaces or
 * letters, and rune_put() writes the original byte back, so no input is ever altered. */
#ifndef ARCA_BUILDER_RUNES_H
#define ARCA_BUILDER_RUNES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

#define RUNE_EOF (-1)
#define RUNE_RAW_BASE 0x110000
#define RUNE_RAW(b) (RUNE_RAW_BASE + (int32_t)(uint8_t)(b))

/* Decodes the rune at s[0..n); stores its byte width in *width (0 when n == 0). */
int32_t rune_decode(const char *s, size_t n, size_t *width);
/* Appends the UTF-8 encoding of r (or the raw byte of a RUNE_RAW). */
void rune_put(strbuf *sb, int32_t r);

bool rune_is_space(int32_t r);  /* unicode.IsSpace */
bool rune_is_letter(int32_t r); /* unicode.IsLetter */
bool rune_is_digit(int32_t r);  /* unicode.IsDigit */

/* strings.ToLower / ToUpper: Unicode case mapping, raw bytes kept (caller frees). */
char *str_to_lower(const char *s);
char *str_to_upper(const char *s);

/* strings.TrimSpace / TrimLeftFunc(IsSpace): returns the bounds within s[0..n). */
void str_trim_space(const char *s, size_t n, size_t *start, size_t *end);
size_t str_skip_space(const char *s, size_t n); /* index of the first non-space rune */

/* Go's strconv.Quote (the %q verb): a newly allocated double-quoted string. */
char *go_quote(const char *s);

/* Levenshtein distance between two strings, counted in runes (agext/levenshtein). */
size_t rune_levenshtein(const char *a, const char *b);

#endif
