/* Facts about the host, gathered once at start-up (GET /version is called before nearly every
 * CLI command and must not gather anything: COMPAT-TRAPS). */
#ifndef ARCA_ENGINE_HOST_H
#define ARCA_ENGINE_HOST_H

#include <stdbool.h>
#include <stdint.h>

typedef struct host_info {
  char kernel_version[128];   /* uname -r */
  char operating_system[128]; /* PRETTY_NAME of os-release */
  char os_version[64];        /* VERSION_ID */
  char architecture[32];      /* uname -m: x86_64 */
  char go_arch[16];           /* Docker's name: amd64, arm64 */
  char hostname[256];
  int ncpu;
  int64_t mem_total;
  int cgroup_version;         /* 1 or 2 */
  bool memory_limit, swap_limit, cpu_cfs_period, cpu_cfs_quota, cpu_shares, cpuset, pids_limit;
  bool ipv4_forwarding;
  char backing_fs[32];        /* of the data root: extfs, xfs, ... */
} host_info;

void host_info_gather(host_info *h, const char *data_root);
/* Open file descriptors and threads of this process, for GET /info. */
int host_count_fds(void);
int host_count_threads(void);

#endif
