/* Checks of the Linux stack: runc/crun, conmon, netavark + aardvark-dns, overlayfs,
 * cgroups, iptables (nft backend), tini, the socket and data-root filesystems. */
#include "runtime/prereq.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/proc.h"
#include "common/util.h"

static const char *const podman_dirs[] = {"/usr/lib/podman", "/usr/libexec/podman", "/usr/local/lib/podman", NULL};

static prereq_item *add(prereq_report *r, const char *name, bool required) {
  r->items = xrealloc(r->items, (r->n + 1) * sizeof *r->items);
  prereq_item *it = &r->items[r->n++];
  memset(it, 0, sizeof *it);
  snprintf(it->name, sizeof it->name, "%s", name);
  it->required = required;
  return it;
}

static void setf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void setf(char *dst, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dst, n, fmt, ap);
  va_end(ap);
}

/* First line of `<bin> --version` with the version number picked out. */
static void version_of(const char *bin, char *out, size_t n) {
  const char *argv[] = {bin, "--version", NULL};
  proc_result res;
  out[0] = '\0';
  if (proc_run(argv, NULL, NULL, 0, &res, NULL) < 0) return;
  const char *text = res.out && *res.out ? res.out : res.err;
  const char *p = text ? text : "";
  while (*p && !(*p >= '0' && *p <= '9')) p++;
  size_t len = strcspn(p, " \n,");
  if (len >= n) len = n - 1;
  memcpy(out, p, len);
  out[len] = '\0';
  proc_result_free(&res);
}

static void check_binary(prereq_report *r, const char *name, const char *pkg, bool required,
                         const char *const *dirs, char *path_out, size_t path_n, char *ver_out,
                         size_t ver_n) {
  prereq_item *it = add(r, name, required);
  autofree char *path = proc_find(name, dirs);
  if (!path) {
    setf(it->detail, sizeof it->detail, "%s not found", name);
    setf(it->fix, sizeof it->fix, "apt-get install -y %s   (or: arcad setup)", pkg);
    return;
  }
  char ver[64] = "";
  version_of(path, ver, sizeof ver);
  it->ok = true;
  setf(it->detail, sizeof it->detail, "%s %s", path, ver);
  if (path_out) snprintf(path_out, path_n, "%s", path);
  if (ver_out) snprintf(ver_out, ver_n, "%s", ver);
}

static bool file_contains(const char *path, const char *needle) {
  autofree char *text = NULL;
  if (read_file(path, 1 << 20, &text, NULL, NULL) < 0) return false;
  return strstr(text, needle) != NULL;
}

static void check_overlay(prereq_report *r) {
  prereq_item *it = add(r, "overlayfs", true);
  if (file_contains("/proc/filesystems", "overlay")) {
    it->ok = true;
    setf(it->detail, sizeof it->detail, "overlay filesystem available");
    return;
  }
  setf(it->detail, sizeof it->detail, "the kernel has no overlay filesystem loaded");
  setf(it->fix, sizeof it->fix, "modprobe overlay");
}

static void check_cgroups(prereq_report *r, const arca_config *cfg) {
  prereq_item *it = add(r, "cgroups", true);
  struct statfs sf;
  bool v2 = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == 0x63677270;
  if (v2) {
    autofree char *ctrl = NULL;
    if (read_file("/sys/fs/cgroup/cgroup.controllers", 4096, &ctrl, NULL, NULL) < 0) {
      setf(it->detail, sizeof it->detail, "cgroup v2 mounted but cgroup.controllers unreadable");
      setf(it->fix, sizeof it->fix, "mount -t cgroup2 none /sys/fs/cgroup");
      return;
    }
    ctrl[strcspn(ctrl, "\n")] = '\0';
    it->ok = true;
    setf(it->detail, sizeof it->detail, "v2, controllers: %s", ctrl);
    return;
  }
  static const char *const needed[] = {"memory", "cpu", "pids", "freezer", "devices", "cpuset", "blkio"};
  strbuf missing;
  sb_init(&missing);
  for (size_t i = 0; i < ARRAY_LEN(needed); i++) {
    autofree char *p = xasprintf("/sys/fs/cgroup/%s", needed[i]);
    if (access(p, F_OK) != 0) sb_printf(&missing, " %s", needed[i]);
  }
  if (missing.len) {
    setf(it->detail, sizeof it->detail, "v1, missing controllers:%s", missing.buf);
    setf(it->fix, sizeof it->fix, "mount the missing cgroup v1 controllers under /sys/fs/cgroup (or boot with cgroup v2)");
  } else if (!strcmp(cfg->runtime, "crun")) {
    setf(it->detail, sizeof it->detail, "v1 (hybrid): crun refuses cgroup v1 hierarchies");
    setf(it->fix, sizeof it->fix, "use runc: set \"runtime\": \"runc\" in %s or pass --runtime runc", cfg->config_file);
  } else {
    it->ok = true;
    setf(it->detail, sizeof it->detail, "v1 (hybrid): memory cpu pids freezer devices cpuset blkio");
  }
  sb_free(&missing);
}

static void check_iptables(prereq_report *r) {
  prereq_item *it = add(r, "iptables", true);
  autofree char *path = proc_find("iptables", NULL);
  if (!path) {
    setf(it->detail, sizeof it->detail, "iptables not found (netavark needs it for port mappings)");
    setf(it->fix, sizeof it->fix, "apt-get install -y iptables");
    return;
  }
  const char *argv[] = {path, "--version", NULL};
  proc_result res;
  if (proc_run(argv, NULL, NULL, 0, &res, NULL) < 0) {
    setf(it->detail, sizeof it->detail, "%s does not run", path);
    setf(it->fix, sizeof it->fix, "apt-get install --reinstall -y iptables");
    return;
  }
  res.out[strcspn(res.out, "\n")] = '\0';
  if (strstr(res.out, "legacy")) {
    setf(it->detail, sizeof it->detail, "%s uses the legacy backend; netavark's rules need nf_tables", res.out);
    setf(it->fix, sizeof it->fix, "update-alternatives --set iptables /usr/sbin/iptables-nft");
  } else {
    it->ok = true;
    setf(it->detail, sizeof it->detail, "%s", res.out);
  }
  proc_result_free(&res);
}

static void check_root(prereq_report *r) {
  prereq_item *it = add(r, "root", true);
  if (geteuid() == 0) {
    it->ok = true;
    setf(it->detail, sizeof it->detail, "running as root");
  } else {
    setf(it->detail, sizeof it->detail, "arcad needs root for mounts, namespaces and cgroups");
    setf(it->fix, sizeof it->fix, "sudo arcad");
  }
}

static void check_data_root(prereq_report *r, const arca_config *cfg) {
  prereq_item *it = add(r, "data-root", true);
  autofree char *probe = xstrdup(cfg->data_root);
  /* the nearest existing ancestor tells the filesystem */
  struct statfs sf;
  while (statfs(probe, &sf) < 0) {
    char *slash = strrchr(probe, '/');
    if (!slash || slash == probe) {
      strcpy(probe, "/");
      statfs(probe, &sf);
      break;
    }
    *slash = '\0';
  }
  if ((unsigned long)sf.f_type == 0x794c7630) {
    setf(it->detail, sizeof it->detail, "%s is on overlayfs, which cannot hold overlay upper directories", cfg->data_root);
    setf(it->fix, sizeof it->fix, "choose a data-root on ext4 or xfs: --data-root /path");
    return;
  }
  it->ok = true;
  setf(it->detail, sizeof it->detail, "%s (filesystem 0x%lx)", cfg->data_root, (unsigned long)sf.f_type);
}

static void check_socket_dirs(prereq_report *r, const arca_config *cfg) {
  for (size_t i = 0; i < cfg->hosts.n; i++) {
    if (!str_has_prefix(cfg->hosts.v[i], "unix://")) continue;
    prereq_item *it = add(r, "socket", true);
    autofree char *dir = xstrdup(cfg->hosts.v[i] + 7);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) *slash = '\0';
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
      setf(it->detail, sizeof it->detail, "%s is not a directory", dir);
      setf(it->fix, sizeof it->fix, "choose another socket path with -H unix:///path");
    } else if (stat(dir, &st) == 0 && access(dir, W_OK) != 0) {
      setf(it->detail, sizeof it->detail, "%s is not writable", dir);
      setf(it->fix, sizeof it->fix, "run arcad as root or choose another socket path");
    } else {
      it->ok = true;
      setf(it->detail, sizeof it->detail, "%s (mode 0660%s%s)", cfg->hosts.v[i] + 7,
           cfg->group && *cfg->group ? ", group " : "", cfg->group ? cfg->group : "");
    }
  }
}

void prereq_check(const arca_config *cfg, prereq_report *r) {
  memset(r, 0, sizeof *r);
  check_root(r);
  check_binary(r, cfg->runtime, cfg->runtime, true, NULL, r->runtime_path, sizeof r->runtime_path,
               r->runtime_version, sizeof r->runtime_version);
  check_binary(r, "conmon", "conmon", true, podman_dirs, r->conmon_path, sizeof r->conmon_path,
               r->conmon_version, sizeof r->conmon_version);
  check_binary(r, "netavark", "netavark", true, podman_dirs, r->netavark_path, sizeof r->netavark_path, NULL, 0);
  check_binary(r, "aardvark-dns", "aardvark-dns", true, podman_dirs, r->aardvark_path, sizeof r->aardvark_path, NULL, 0);
  check_binary(r, "tini", "tini", false, NULL, NULL, 0, NULL, 0);
  check_overlay(r);
  check_cgroups(r, cfg);
  check_iptables(r);
  check_data_root(r, cfg);
  check_socket_dirs(r, cfg);
}

void prereq_report_free(prereq_report *r) {
  free(r->items);
  memset(r, 0, sizeof *r);
}

int prereq_print(const prereq_report *r, FILE *out) {
  int missing = 0;
  for (size_t i = 0; i < r->n; i++) {
    const prereq_item *it = &r->items[i];
    const char *tag = it->ok ? "ok" : it->required ? "MISSING" : "warning";
    fprintf(out, "  %-8s %-14s %s\n", tag, it->name, it->detail);
    if (!it->ok) fprintf(out, "  %-8s %-14s fix: %s\n", "", "", it->fix);
    if (!it->ok && it->required) missing++;
  }
  return missing;
}
