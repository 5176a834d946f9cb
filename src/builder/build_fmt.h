/* Go's formatting where the classic builder's output and history show it: the %q and %v
 * verbs over string slices and health configs (history "CreatedBy"), time.Duration's
 * String, and encoding/json's string escaping (the JSON lines of the build stream).
 *
 * Pure functions over their arguments; reentrant. */
#ifndef ARCA_BUILDER_BUILD_FMT_H
#define ARCA_BUILDER_BUILD_FMT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* fmt's %q of a []string: ["a" "b c"]; NULL or a non-array prints [] (a nil slice). */
void go_fmt_q_strv(strbuf *sb, const json_t *arr);
/* fmt's %v of a []string: [a b c]. */
void go_fmt_v_strv(strbuf *sb, const json_t *arr);
/* time.Duration.String(): "0s", "1.5s", "5m0s", "300ms", "1h0m0s". */
void go_duration(strbuf *sb, int64_t ns);
/* fmt's %q of a *HealthConfig: &{["CMD-SHELL" "x"] "30s" "0s" "0s" "0s" '\x03'}; a JSON
 * null or absent config prints %!q(<nil>)... as Go would. */
void go_fmt_q_health(strbuf *sb, const json_t *health);
/* encoding/json's string encoding of n bytes: quotes, HTML-safe escapes (<, >, & as
 * \u003c...), U+2028/2029 escaped, invalid UTF-8 as \ufffd. */
void go_json_string(strbuf *sb, const char *s, size_t n);

#endif
