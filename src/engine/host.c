#include "engine/host.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static void os_release(host_info *h) {
  autofclose FILE *f = fopen("/etc/os-release", "re");
  snprintf(h->operating_system, sizeof h->operating_system, "Linux");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = '\0';
    char *v = eq + 1;
    size_t n = strlen(v);
    if (n >= 2 && (v[0] == '"' || v[0] == '\'')) {
      v[n - 1] = '\0';
      v++;
    }
    if (!strcmp(line, "PRETTY_NAME")) snprintf(h->operating_system, sizeof h->operating_system, "%s", v);
    else if (!strcmp(line, "VERSION_ID")) snprintf(h->os_version, sizeof h->os_version, "%s", v);
  }
}

static bool exists(const char *p) { return access(p, F_OK) == 0; }

static void backing_fs(host_info *h, const char *path) {
  struct statfs sf;
  const char *name = "unknown";
  if (statfs(path, &sf) == 0) {
    switch ((unsigned long)sf.f_type) {
    case 0xEF53: name = "extfs"; break;
    case 0x58465342: name = "xfs"; break;
    case 0x9123683E: name = "btrfs"; break;
    case 0x01021994: name = "tmpfs"; break;
    case 0x794c7630: name = "overlayfs"; break;
    case 0x2fc12fc1: name = "zfs"; break;
    default: break;
    }
  }
  snprintf(h->backing_fs, sizeof h->backing_fs, "%s", name);
}

void host_info_gather(host_info *h, const char *data_root) {
  memset(h, 0, sizeof *h);
  struct utsname u;
  if (uname(&u) == 0) {
    snprintf(h->kernel_version, sizeof h->kernel_version, "%s", u.release);
    snprintf(h->architecture, sizeof h->architecture, "%s", u.machine);
  }
  if (!strcmp(h->architecture, "x86_64")) snprintf(h->go_arch, sizeof h->go_arch, "amd64");
  else if (!strcmp(h->architecture, "aarch64")) snprintf(h->go_arch, sizeof h->go_arch, "arm64");
  else snprintf(h->go_arch, sizeof h->go_arch, "%s", h->architecture);
  gethostname(h->hostname, sizeof h->hostname - 1);
  os_release(h);
  h->ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
  h->mem_total = (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);

  struct statfs sf;
  h->cgroup_version = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
  if (h->cgroup_version == 2) {
    autofree char *ctrl = NULL;
    if (read_file("/sys/fs/cgroup/cgroup.controllers", 4096, &ctrl, NULL, NULL) == 0) {
      h->memory_limit = strstr(ctrl, "memory") != NULL;
      h->swap_limit = h->memory_limit && exists("/sys/fs/cgroup/init.scope/memory.swap.max");
      h->cpu_cfs_period = h->cpu_cfs_quota = h->cpu_shares = strstr(ctrl, "cpu ") || strstr(ctrl, "cpu\n");
      h->cpuset = strstr(ctrl, "cpuset") != NULL;
      h->pids_limit = strstr(ctrl, "pids") != NULL;
    }
  } else {
    h->memory_limit = exists("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    h->swap_limit = exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
    h->cpu_cfs_period = exists("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
    h->cpu_cfs_quota = exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
    h->cpu_shares = exists("/sys/fs/cgroup/cpu/cpu.shares");
    h->cpuset = exists("/sys/fs/cgroup/cpuset/cpuset.cpus");
    h->pids_limit = exists("/sys/fs/cgroup/pids");
  }
  autofree char *fwd = NULL;
  if (read_file("/proc/sys/net/ipv4/ip_forward", 64, &fwd, NULL, NULL) == 0) h->ipv4_forwarding = fwd[0] == '1';
  backing_fs(h, data_root);
}

static int count_dir(const char *path) {
  DIR *d = opendir(path);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

int host_count_fds(void) { return count_dir("/proc/self/fd") - 1; /* minus opendir's own */ }
int host_count_threads(void) { return count_dir("/proc/self/task"); }
