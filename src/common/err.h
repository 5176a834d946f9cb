/* Errors that travel from where the cause is known up to the API.
 *
 * Every function that can fail returns an int (negative on failure) and fills an
 * arca_err: the Docker status code the client must see and a message written where the
 * cause is known. Callers may prefix context with err_wrap() as the error climbs. The API
 * layer turns it into {"message": ...} with that status and never guesses a status. */
#ifndef ARCA_COMMON_ERR_H
#define ARCA_COMMON_ERR_H

#include <stdarg.h>

#define ARCA_ERR_MSG_MAX 2048

typedef struct arca_err {
  int status;                  /* HTTP status Docker would answer: 400, 404, 409, 500 ... */
  int exit_code;               /* when a process could not be run: 126 (not executable) or
                                * 127 (not found), as docker run/exec exit; else 0 */
  char msg[ARCA_ERR_MSG_MAX];
} arca_err;

/* Fills e (may be NULL) and returns -1, so that `return err_set(e, 404, ...)` reads well. */
int err_set(arca_err *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int err_setv(arca_err *e, int status, const char *fmt, va_list ap);
/* Like err_set with strerror(errno_value) appended as ": <text>". */
int err_errno(arca_err *e, int status, int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefixes context: "<context>: <previous message>"; keeps the status. Returns -1. */
int err_wrap(arca_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(arca_err *e);
/* Copies src into dst (both may be the same). */
void err_copy(arca_err *dst, const arca_err *src);

#endif
