/* The local driver's options: `type`, `device` and `o` name a filesystem to mount on the
 * volume's _data while containers use it (tmpfs, a bind of a host folder, a block device,
 * NFS ...), as `mount -t type -o o device _data` would. This is the one mount the engine
 * makes itself: it belongs to the volume, not to any sandbox, and several sandboxes bind the
 * same _data (the Apple driver will share _data with its VMs instead). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "engine/volumes_internal.h"

static const char *opt(const volume *v, const char *k) {
  const char *s = json_string_value(json_object_get(json_object_get(v->doc, "Options"), k));
  return s ? s : "";
}

bool volume_has_mount_options(const volume *v) { return *opt(v, "type") || *opt(v, "device"); }

int volume_local_opts_validate(const json_t *opts, arca_err *err) {
  static const char *const valid[] = {"type", "o", "device", "size"};
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)opts, k, v) {
    bool ok = false;
    for (size_t i = 0; i < ARRAY_LEN(valid); i++) ok |= !strcmp(k, valid[i]);
    if (!ok) return err_set(err, 400, "invalid option: \"%s\"", k);
  }
  if (json_object_get(opts, "size")) return err_set(err, 400, "quota size requested but no quota support");
  static const char *const needs[][3] = {{"device", "type", NULL}, {"type", "device", NULL}, {"o", "device", "type"}};
  for (size_t i = 0; i < ARRAY_LEN(needs); i++) {
    if (!json_object_get(opts, needs[i][0])) continue;
    for (size_t j = 1; j < 3 && needs[i][j]; j++)
      if (!json_object_get(opts, needs[i][j])) return err_set(err, 400, "missing required option: \"%s\"", needs[i][j]);
  }
  return 0;
}

/* moby/sys/mount's option parsing: known words become flags, the rest is data. */
static unsigned long parse_flags(const char *o, strbuf *data) {
  static const struct {
    const char *name;
    unsigned long set, clear;
  } table[] = {
      {"ro", MS_RDONLY, 0},         {"rw", 0, MS_RDONLY},         {"bind", MS_BIND, 0},
      {"rbind", MS_BIND | MS_REC, 0}, {"nosuid", MS_NOSUID, 0},    {"suid", 0, MS_NOSUID},
      {"nodev", MS_NODEV, 0},       {"dev", 0, MS_NODEV},         {"noexec", MS_NOEXEC, 0},
      {"exec", 0, MS_NOEXEC},       {"sync", MS_SYNCHRONOUS, 0},  {"async", 0, MS_SYNCHRONOUS},
      {"noatime", MS_NOATIME, 0},   {"atime", 0, MS_NOATIME},     {"nodiratime", MS_NODIRATIME, 0},
      {"relatime", MS_RELATIME, 0}, {"strictatime", MS_STRICTATIME, 0}, {"defaults", 0, 0},
  };
  unsigned long flags = 0;
  autofree char *copy = xstrdup(o);
  char *save = NULL;
  for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    bool known = false;
    for (size_t i = 0; i < ARRAY_LEN(table) && !known; i++) {
      if (strcmp(w, table[i].name)) continue;
      known = true;
      flags = (flags | table[i].set) & ~table[i].clear;
    }
    if (!known) sb_printf(data, "%s%s", data->len ? "," : "", w);
  }
  return flags;
}

static bool mounted_at(const char *path) {
  autofree char *info = NULL;
  if (read_file("/proc/self/mountinfo", 16 << 20, &info, NULL, NULL) < 0) return false;
  char *save = NULL;
  for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char mnt[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && !strcmp(mnt, path)) return true;
  }
  return false;
}

int volume_local_mount(volumes_state *vs, const volume *v, arca_err *err) {
  autofree char *data = xasprintf("%s/%s/_data", vs->root, v->name);
  if (mounted_at(data)) return 0;
  strbuf d;
  sb_init(&d);
  unsigned long flags = parse_flags(opt(v, "o"), &d);
  const char *type = opt(v, "type");
  int rc = 0;
  if (mount(opt(v, "device"), data, *type ? type : NULL, flags, d.len ? d.buf : NULL) < 0)
    rc = err_errno(err, 500, errno, "error while mounting volume '%s': failed to mount local volume: mount %s:%s, flags: 0x%lx, data: %s",
                   data, opt(v, "device"), data, flags, d.len ? d.buf : "");
  /* a bind cannot take other flags in the same call: remount to apply ro and the like */
  else if ((flags & MS_BIND) && (flags & ~(MS_BIND | MS_REC)))
    mount(NULL, data, NULL, flags | MS_REMOUNT, NULL);
  sb_free(&d);
  return rc;
}

void volume_local_umount(volumes_state *vs, const volume *v) {
  autofree char *data = xasprintf("%s/%s/_data", vs->root, v->name);
  for (int i = 0; i < 8 && mounted_at(data); i++) umount2(data, MNT_DETACH);
}
