#include "common/err.h"

#include <stdio.h>
#include <string.h>

int err_setv(arca_err *e, int status, const char *fmt, va_list ap) {
  if (!e) return -1;
  e->status = status;
  e->exit_code = 0;
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  return -1;
}

int err_set(arca_err *e, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  err_setv(e, status, fmt, ap);
  va_end(ap);
  return -1;
}

int err_errno(arca_err *e, int status, int errno_value, const char *fmt, ...) {
  if (!e) return -1;
  va_list ap;
  va_start(ap, fmt);
  err_setv(e, status, fmt, ap);
  va_end(ap);
  size_t n = strlen(e->msg);
  snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(errno_value));
  return -1;
}

int err_wrap(arca_err *e, const char *fmt, ...) {
  if (!e) return -1;
  char ctx[ARCA_ERR_MSG_MAX];
  char old[ARCA_ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx, sizeof ctx, fmt, ap);
  va_end(ap);
  memcpy(old, e->msg, sizeof old);
  snprintf(e->msg, sizeof e->msg, "%s: %s", ctx, old);
  if (!e->status) e->status = 500;
  return -1;
}

void err_clear(arca_err *e) {
  if (!e) return;
  e->status = 0;
  e->exit_code = 0;
  e->msg[0] = '\0';
}

void err_copy(arca_err *dst, const arca_err *src) {
  if (!dst || !src || dst == src) return;
  memcpy(dst, src, sizeof *dst);
}
