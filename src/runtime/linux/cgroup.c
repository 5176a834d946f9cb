/* The container's cgroup, "/arca/<id>" under every hierarchy: runc makes it (and the
 * "/arca" parent, which it never removes); we remove both when the sandbox goes, and read
 * the OOM-kill counter when it exits. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

bool lx_cgroup_v2(void) {
  struct statfs sf;
  return statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

typedef struct cg_mount {
  char *dir;
  bool v2;
  bool memory; /* v1 hierarchy with the memory controller */
} cg_mount;

/* Mount points of cgroup hierarchies, from /proc/self/mountinfo. */
static size_t cg_mounts(cg_mount **out) {
  *out = NULL;
  autofclose FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return 0;
  size_t n = 0;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    char *sep = strstr(line, " - ");
    if (!sep) continue;
    char fstype[32] = "", source[256] = "", opts[1024] = "";
    if (sscanf(sep + 3, "%31s %255s %1023s", fstype, source, opts) < 3) continue;
    bool v2 = strcmp(fstype, "cgroup2") == 0;
    if (!v2 && strcmp(fstype, "cgroup") != 0) continue;
    char mountpoint[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mountpoint) != 1) continue;
    *out = xrealloc(*out, (n + 1) * sizeof **out);
    bool memory = false;
    autofree char *o = xstrdup(opts);
    char *save = NULL;
    for (char *t = strtok_r(o, ",", &save); t; t = strtok_r(NULL, ",", &save))
      memory |= strcmp(t, "memory") == 0;
    (*out)[n++] = (cg_mount){xstrdup(mountpoint), v2, memory};
  }
  free(line);
  return n;
}

static void cg_mounts_free(cg_mount *m, size_t n) {
  for (size_t i = 0; i < n; i++) free(m[i].dir);
  free(m);
}

/* rmdir of a cgroup and of its children (files in a cgroup dir go with it). A cgroup whose
 * last task is still exiting (or not yet reaped) answers EBUSY for a moment: retry for up to
 * 5 s, then say so. */
static void rmdir_cgroup(const char *path) {
  DIR *dir = opendir(path);
  if (!dir) return;
  struct dirent *de;
  while ((de = readdir(dir))) {
    if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    autofree char *child = xasprintf("%s/%s", path, de->d_name);
    rmdir_cgroup(child);
  }
  closedir(dir);
  for (int attempt = 0; attempt < 250; attempt++) {
    if (rmdir(path) == 0 || errno != EBUSY) return;
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
  }
  log_warn("cgroup %s stays busy; left behind", path);
}

void lx_cgroup_remove(const char *id) {
  cg_mount *m;
  size_t n = cg_mounts(&m);
  for (size_t i = 0; i < n; i++) {
    autofree char *own = xasprintf("%s/arca/%s", m[i].dir, id);
    autofree char *parent = xasprintf("%s/arca", m[i].dir);
    rmdir_cgroup(own);
    rmdir(parent); /* fails while other containers live there, as it should */
  }
  cg_mounts_free(m, n);
}

/* "oom_kill N" in memory.events (v2) or memory.oom_control (v1). */
bool lx_cgroup_oom_killed(const char *id) {
  cg_mount *m;
  size_t n = cg_mounts(&m);
  bool killed = false;
  for (size_t i = 0; i < n && !killed; i++) {
    if (!m[i].v2 && !m[i].memory) continue;
    autofree char *path =
        xasprintf("%s/arca/%s/%s", m[i].dir, id, m[i].v2 ? "memory.events" : "memory.oom_control");
    autofree char *text = NULL;
    if (read_file(path, 1 << 16, &text, NULL, NULL) < 0) continue;
    const char *p = strstr(text, "oom_kill ");
    if (p && (p == text || p[-1] == '\n')) killed = strtoll(p + 9, NULL, 10) > 0;
  }
  cg_mounts_free(m, n);
  return killed;
}
