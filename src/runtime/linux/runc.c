/* Running the OCI runtime (runc; crun takes the same arguments) with our own state root and
 * JSON logs, and reading the error it reports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"

/* msg="..." of a logfmt line, Go-quoted. */
static bool logfmt_msg(const char *line, char *out, size_t n) {
  const char *p = strstr(line, "msg=\"");
  if (!p) return false;
  p += 5;
  size_t k = 0;
  for (; *p && *p != '"'; p++) {
    char c = *p;
    if (c == '\\' && p[1]) {
      p++;
      c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
    }
    if (k + 1 < n) out[k++] = c;
  }
  out[k] = '\0';
  return true;
}

void lx_runc_error_text(const char *log, char *out, size_t n) {
  out[0] = '\0';
  if (!log) return;
  bool found = false;
  autofree char *copy = xstrdup(log);
  char *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    json_t *j = json_loads(line, 0, NULL);
    if (j) {
      const char *level = json_string_value(json_object_get(j, "level"));
      const char *msg = json_string_value(json_object_get(j, "msg"));
      if (msg && (!level || !strcmp(level, "error") || !strcmp(level, "fatal"))) {
        snprintf(out, n, "%s", msg);
        found = true;
      }
      json_decref(j);
    } else if (strstr(line, "level=error") || strstr(line, "level=fatal")) {
      found |= logfmt_msg(line, out, n);
    }
  }
  if (found) return;
  /* Not a log line: the text itself, trimmed. */
  while (*log == ' ' || *log == '\n') log++;
  snprintf(out, n, "%s", log);
  size_t len = strlen(out);
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' ')) out[--len] = '\0';
}

int lx_runc(lx_driver *d, const char *const args[], const char *in, size_t in_len, char **out,
            arca_err *err) {
  size_t nargs = 0;
  while (args[nargs]) nargs++;
  const char **argv = xcalloc(nargs + 6, sizeof *argv);
  size_t k = 0;
  argv[k++] = d->runtime_path;
  argv[k++] = "--root";
  argv[k++] = d->runc_root;
  argv[k++] = "--log-format";
  argv[k++] = "json";
  for (size_t i = 0; i < nargs; i++) argv[k++] = args[i];
  proc_result res;
  int rc = proc_run(argv, NULL, in, in_len, &res, err);
  free(argv);
  if (out) *out = NULL;
  if (rc < 0) return -1;
  if (res.exit_code != 0) {
    char text[ARCA_ERR_MSG_MAX - 64];
    lx_runc_error_text(res.err && *res.err ? res.err : res.out, text, sizeof text);
    err_set(err, 500, "%s %s: %s", args[0], nargs > 1 ? args[nargs - 1] : "",
            *text ? text : "failed");
    proc_result_free(&res);
    return -1;
  }
  if (out) *out = steal_ptr(res.out);
  proc_result_free(&res);
  return 0;
}

int lx_runc_state(lx_driver *d, const char *id, char status[16], pid_t *pid, arca_err *err) {
  status[0] = '\0';
  if (pid) *pid = 0;
  autofree char *state_dir = xasprintf("%s/%s", d->runc_root, id);
  if (access(state_dir, F_OK) != 0) return 0;
  const char *args[] = {"state", id, NULL};
  autofree char *out = NULL;
  arca_err e = {0};
  if (lx_runc(d, args, NULL, 0, &out, &e) < 0) {
    if (strstr(e.msg, "does not exist") || access(state_dir, F_OK) != 0) return 0;
    err_copy(err, &e);
    return -1;
  }
  autojson json_t *state = json_loads(out, 0, NULL);
  const char *s = json_string_value(json_object_get(state, "status"));
  if (!s) return err_set(err, 500, "runtime state of %s: unreadable answer", id);
  snprintf(status, 16, "%s", s);
  if (pid) *pid = (pid_t)json_integer_value(json_object_get(state, "pid"));
  return 1;
}
