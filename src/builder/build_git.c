#include "builder/build_git.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/build_context.h"
#include "common/cleanup.h"
#include "common/proc.h"
#include "common/util.h"

bool build_is_git_url(const char *s) {
  if (str_has_prefix(s, "git://") || str_has_prefix(s, "git@") || str_has_prefix(s, "github.com/"))
    return true;
  if (!str_has_prefix(s, "http://") && !str_has_prefix(s, "https://")) return false;
  const char *hash = strchr(s, '#');
  size_t n = hash ? (size_t)(hash - s) : strlen(s);
  if (hash && !hash[1]) return false; /* ".git#" needs something after the '#' */
  return n >= 4 && !strncmp(s + n - 4, ".git", 4);
}

static bool git_transport(const char *s) {
  return str_has_prefix(s, "https://") || str_has_prefix(s, "http://") ||
         str_has_prefix(s, "git://") || str_has_prefix(s, "git@");
}

/* Runs git -C dir args...; fails with "<what>: <output>: exit status N". */
static int git(const char *dir, const char *const *args, size_t nargs, const char *what,
               arca_err *err) {
  const char **argv = xcalloc(nargs + 4, sizeof *argv);
  argv[0] = "git";
  argv[1] = "-C";
  argv[2] = dir;
  for (size_t i = 0; i < nargs; i++) argv[3 + i] = args[i];
  /* WithIsolatedConfig: neither the system's nor a user's configuration */
  static const char *const env[] = {"GIT_CONFIG_NOSYSTEM=1", "HOME=/dev/null",
                                    "GIT_TERMINAL_PROMPT=0", NULL};
  proc_result res = {0};
  int rc = proc_run(argv, env, NULL, 0, &res, err);
  free(argv);
  if (rc < 0) return err_wrap(err, "%s", what);
  if (res.exit_code != 0) {
    strbuf out;
    sb_init(&out);
    sb_puts(&out, res.out ? res.out : "");
    sb_puts(&out, res.err ? res.err : "");
    while (out.len && (out.buf[out.len - 1] == '\n' || out.buf[out.len - 1] == ' '))
      out.buf[--out.len] = '\0';
    rc = err_set(err, 500, "%s: %s: exit status %d", what, out.buf ? out.buf : "", res.exit_code);
    sb_free(&out);
  }
  proc_result_free(&res);
  return rc;
}

int build_git_fetch(const char *url, const char *dir, char **context, arca_err *err) {
  autofree char *full = git_transport(url) ? xstrdup(url) : xasprintf("https://%s", url);
  char *frag = strchr(full, '#');
  autofree char *ref = NULL, *subdir = NULL;
  if (frag) {
    *frag++ = '\0';
    char *colon = strchr(frag, ':');
    if (colon) {
      *colon = '\0';
      subdir = xstrdup(colon + 1);
    }
    ref = xstrdup(frag);
  }
  if (!ref || !*ref) {
    free(ref);
    ref = xstrdup("master");
  }
  if (ref[0] == '-') return err_set(err, 400, "invalid refspec: %s", ref);
  if (mkdir_p(dir, 0700, err) < 0) return -1;
  const char *init[] = {"init", "-q"};
  if (git(dir, init, 2, "failed to init repo", err) < 0) return -1;
  const char *remote[] = {"remote", "add", "origin", full};
  if (git(dir, remote, 4, "failed add origin repo", err) < 0) return -1;
  const char *shallow[] = {"fetch", "-q", "--depth", "1", "origin", "--", ref};
  if (git(dir, shallow, 7, "error fetching", err) < 0) {
    /* dumb HTTP servers cannot serve a shallow fetch */
    const char *deep[] = {"fetch", "-q", "origin", "--", ref};
    if (!str_has_prefix(full, "http") || git(dir, deep, 5, "error fetching", err) < 0) return -1;
  }
  const char *co[] = {"checkout", "-q", ref};
  arca_err cerr;
  if (git(dir, co, 3, "error checking out", &cerr) < 0) {
    const char *co_head[] = {"checkout", "-q", "FETCH_HEAD"};
    if (git(dir, co_head, 3, "error checking out", err) < 0) {
      err_copy(err, &cerr);
      return err_wrap(err, "error checking out %s", ref);
    }
  }
  const char *sub[] = {"submodule", "update", "--init", "--recursive", "--depth=1"};
  if (git(dir, sub, 5, "error initializing submodules", err) < 0) return -1;
  if (!subdir || !*subdir) {
    *context = xstrdup(dir);
    return 0;
  }
  autofree char *path = build_path_in_scope(dir, subdir);
  if (!path)
    return err_set(err, 400, "error setting git context, \"%s\" not within git root", subdir);
  struct stat st;
  if (stat(path, &st) < 0)
    return err_errno(err, 400, errno, "error setting git context, stat %s", subdir);
  if (!S_ISDIR(st.st_mode))
    return err_set(err, 400, "error setting git context, not a directory: %s", path);
  *context = steal_ptr(path);
  return 0;
}
