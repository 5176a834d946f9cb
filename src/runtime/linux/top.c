/* docker top: ps limited to a container's processes, as moby's daemon/top_unix.go.
 *
 * The processes are those in the container's cgroup and below it (cgroup.procs, in the pids
 * hierarchy, else memory, cpuacct, cpu, devices or freezer; the unified one with v2).
 * ps_args ("" means "-ef") is checked as Docker does (only "pid=PID..." may rename the PID
 * column: 'specifying "x=PID" is not allowed'), split on single spaces, and ps runs with
 * "-q<pid,...>" appended, again without it when that fails (some options do not mix with
 * q). A failing ps gives 500 "ps: <first line of its stderr>". Titles are the header's
 * fields; a row is kept when its PID is one of the container's (thread rows, PID "-", follow
 * the row before them), split on ASCII whitespace with the fields beyond the titles joined
 * back with single spaces into the last one. No PID column: 500 "Couldn't find PID field in
 * ps output". */
#include "runtime/linux/lx_cgroup.h"
#include "runtime/linux/lx_files.h"

#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/proc.h"
#include "common/util.h"

static void add_pid(int **pids, size_t *n, size_t *cap, int pid) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 32;
    *pids = xrealloc(*pids, *cap * sizeof **pids);
  }
  (*pids)[(*n)++] = pid;
}

static int collect_pids(const char *dir, int **pids, size_t *n, size_t *cap, arca_err *err) {
  autofree char *procs_path = xasprintf("%s/cgroup.procs", dir);
  autofree char *text = NULL;
  if (read_file(procs_path, 16u << 20, &text, NULL, err) < 0) return -1;
  for (char *p = text; *p;) {
    char *end;
    long pid = strtol(p, &end, 10);
    if (end == p) break;
    if (pid > 0) add_pid(pids, n, cap, (int)pid);
    p = end;
    while (*p == '\n') p++;
  }
  DIR *d = opendir(dir);
  if (!d) return err_errno(err, 500, errno, "open %s", dir);
  struct dirent *de;
  int rc = 0;
  while (rc == 0 && (de = readdir(d))) {
    if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    autofree char *sub = xasprintf("%s/%s", dir, de->d_name);
    rc = collect_pids(sub, pids, n, cap, err);
  }
  closedir(d);
  return rc;
}

static int compare_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

int lx_cgroup_pids(const lx_cgroup_roots *r, const char *cgroup_path, int **pids, size_t *n,
                   arca_err *err) {
  *pids = NULL;
  *n = 0;
  const char *const roots[] = {
      r->v2 ? r->unified : r->pids, r->memory, r->cpuacct, r->cpu, r->devices, r->freezer};
  for (size_t i = 0; i < ARRAY_LEN(roots); i++) {
    if (!roots[i]) continue;
    autofree char *dir = xasprintf("%s%s", roots[i], cgroup_path);
    if (access(dir, F_OK) < 0) continue;
    size_t cap = 0;
    if (collect_pids(dir, pids, n, &cap, err) < 0) {
      free(*pids);
      *pids = NULL;
      *n = 0;
      return -1;
    }
    if (*n) qsort(*pids, *n, sizeof **pids, compare_int);
    return 0;
  }
  return err_set(err, 404, "cgroup %s not found", cgroup_path);
}

/* Docker's validatePSArgs: \s+([^\s]*)=\s*(PID[^\s]*) may only rename with "pid". */
static int validate_ps_args(const char *args, arca_err *err) {
  regex_t re;
  if (regcomp(&re, "[[:space:]]+([^[:space:]]*)=[[:space:]]*(PID[^[:space:]]*)", REG_EXTENDED) != 0)
    return err_set(err, 500, "ps_args pattern");
  int rc = 0;
  regmatch_t m[3];
  for (const char *p = args; rc == 0 && regexec(&re, p, 3, m, p == args ? 0 : REG_NOTBOL) == 0;) {
    size_t klen = (size_t)(m[1].rm_eo - m[1].rm_so);
    if (klen != 3 || strncmp(p + m[1].rm_so, "pid", 3) != 0)
      rc = err_set(err, 500, "specifying \"%.*s=%.*s\" is not allowed", (int)klen, p + m[1].rm_so,
                   (int)(m[2].rm_eo - m[2].rm_so), p + m[2].rm_so);
    if (m[0].rm_eo == 0) break;
    p += m[0].rm_eo;
  }
  regfree(&re);
  return rc;
}

static bool ascii_space(char c) {
  return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

/* Go's fieldsASCII */
static size_t split_fields(const char *line, char ***out) {
  size_t n = 0, cap = 0;
  char **f = NULL;
  for (const char *p = line; *p;) {
    while (*p && ascii_space(*p)) p++;
    if (!*p) break;
    const char *start = p;
    while (*p && !ascii_space(*p)) p++;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      f = xrealloc(f, cap * sizeof *f);
    }
    f[n++] = xstrndup(start, (size_t)(p - start));
  }
  *out = f;
  return n;
}

static void free_fields(char **f, size_t n) {
  for (size_t i = 0; i < n; i++) free(f[i]);
  free(f);
}

static json_t *process_row(char **fields, size_t nfields, size_t ntitles) {
  json_t *row = json_array();
  size_t keep = ntitles ? ntitles - 1 : 0;
  for (size_t i = 0; i < keep && i < nfields; i++)
    json_array_append_new(row, json_string(fields[i]));
  strbuf last;
  sb_init(&last);
  for (size_t i = keep; i < nfields; i++) {
    if (i > keep) sb_puts(&last, " ");
    sb_puts(&last, fields[i]);
  }
  sb_append(&last, "", 1);
  json_array_append_new(row, json_string(last.buf));
  sb_free(&last);
  return row;
}

static bool has_pid(const int *pids, size_t n, long pid) {
  int key = (int)pid;
  return n > 0 && pid > 0 && pid <= 0x7fffffff && bsearch(&key, pids, n, sizeof *pids, compare_int);
}

/* moby's parsePSOutput */
static int parse_ps(char *output, const int *pids, size_t npids, json_t **titles,
                    json_t **processes, arca_err *err) {
  char *save = NULL;
  char *nl = strchr(output, '\n');
  if (nl) *nl = '\0';
  char **t;
  size_t nt = split_fields(output, &t);
  ssize_t pid_index = -1;
  for (size_t i = 0; i < nt && pid_index < 0; i++)
    if (strcmp(t[i], "PID") == 0) pid_index = (ssize_t)i;
  if (pid_index < 0) {
    free_fields(t, nt);
    return err_set(err, 500, "Couldn't find PID field in ps output");
  }
  json_t *tj = json_array();
  for (size_t i = 0; i < nt; i++) json_array_append_new(tj, json_string(t[i]));
  free_fields(t, nt);
  json_t *rows = json_array();
  bool previous_kept = false;
  int rc = 0;
  for (char *line = nl ? strtok_r(nl + 1, "\n", &save) : NULL; line && rc == 0;
       line = strtok_r(NULL, "\n", &save)) {
    char **f;
    size_t nf = split_fields(line, &f);
    if (nf == 0) {
      free(f);
      continue;
    }
    const char *pid_field = (size_t)pid_index < nf ? f[pid_index] : "";
    if (strcmp(pid_field, "-") == 0) {
      if (previous_kept) json_array_append_new(rows, process_row(f, nf, nt));
    } else {
      char *end;
      errno = 0;
      long pid = strtol(pid_field, &end, 10);
      if (!*pid_field || *end || errno) {
        rc = err_set(err, 500, "Unexpected pid '%s': strconv.Atoi: parsing \"%s\": invalid syntax",
                     pid_field, pid_field);
      } else {
        previous_kept = has_pid(pids, npids, pid);
        if (previous_kept) json_array_append_new(rows, process_row(f, nf, nt));
      }
    }
    free_fields(f, nf);
  }
  if (rc < 0) {
    json_decref(tj);
    json_decref(rows);
    return -1;
  }
  *titles = tj;
  *processes = rows;
  return 0;
}

/* Runs ps with args (and extra when not NULL). */
static int run_ps(char **args, size_t nargs, const char *extra, proc_result *res, arca_err *err) {
  autofree const char **argv = xcalloc(nargs + 3, sizeof *argv);
  size_t n = 0;
  argv[n++] = "ps";
  for (size_t i = 0; i < nargs; i++) argv[n++] = args[i];
  if (extra) argv[n++] = extra;
  argv[n] = NULL;
  return proc_run(argv, NULL, NULL, 0, res, err);
}

int lx_top(const char *cgroup_path, const char *ps_args, json_t **titles, json_t **processes,
           arca_err *err) {
  *titles = *processes = NULL;
  if (!ps_args || !*ps_args) ps_args = "-ef";
  if (validate_ps_args(ps_args, err) < 0) return -1;

  lx_cgroup_roots r;
  if (lx_cgroup_roots_read(&r, err) < 0) return -1;
  autofree int *pids = NULL;
  size_t npids = 0;
  int rc = lx_cgroup_pids(&r, cgroup_path, &pids, &npids, err);
  lx_cgroup_roots_free(&r);
  if (rc < 0) return -1;

  /* strings.Split(psArgs, " "): empty pieces stay, as Docker passes them */
  autofree char *copy = xstrdup(ps_args);
  size_t nargs = 1;
  for (const char *p = copy; *p; p++) nargs += *p == ' ';
  autofree char **args = xcalloc(nargs, sizeof *args);
  size_t i = 0;
  for (char *p = copy;; p++) {
    args[i++] = p;
    p = strchr(p, ' ');
    if (!p) break;
    *p = '\0';
  }
  strbuf q;
  sb_init(&q);
  sb_puts(&q, "-q");
  for (size_t k = 0; k < npids; k++) sb_printf(&q, k ? ",%d" : "%d", pids[k]);
  sb_append(&q, "", 1);

  proc_result res;
  rc = run_ps(args, nargs, q.buf, &res, err);
  sb_free(&q);
  if (rc < 0) return -1;
  if (res.exit_code != 0) {
    proc_result_free(&res);
    if (run_ps(args, nargs, NULL, &res, err) < 0) return -1;
    if (res.exit_code != 0) {
      const char *why = res.err && *res.err ? res.err : NULL;
      size_t len = why ? strcspn(why, "\n") : 0;
      if (why)
        err_set(err, 500, "ps: %.*s", (int)len, why);
      else
        err_set(err, 500, "ps: exit status %d", res.exit_code);
      proc_result_free(&res);
      return -1;
    }
  }
  rc = parse_ps(res.out ? res.out : "", pids, npids, titles, processes, err);
  proc_result_free(&res);
  return rc;
}
