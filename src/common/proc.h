/* Running helper programs (runc, conmon, netavark, iptables ...) and capturing their output. */
#ifndef ARCA_COMMON_PROC_H
#define ARCA_COMMON_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

typedef struct proc_result {
  int exit_code;   /* 0..255, or 128+signal when killed */
  char *out;       /* stdout, NUL-terminated (capped at the limit) */
  char *err;       /* stderr, NUL-terminated (capped) */
} proc_result;

/* Runs argv[0] (searched in PATH when it has no '/') with optional stdin data and an
 * optional extra environment (NULL-terminated "K=V" list appended to ours). Fails only when
 * it cannot start; a non-zero exit is reported in res->exit_code. */
int proc_run(const char *const argv[], const char *const extra_env[], const char *in, size_t in_len,
             proc_result *res, arca_err *err);
void proc_result_free(proc_result *r);
/* Path of an executable: PATH, then the extra directories given (NULL-terminated). */
char *proc_find(const char *name, const char *const extra_dirs[]);

#endif
