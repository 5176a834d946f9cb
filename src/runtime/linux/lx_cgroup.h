/* Where this host's cgroup hierarchies are, and a container's statistics read from them
 * (stats.c, top.c). Stateless: the mount table is read on each call.
 *
 * A cgroup path ("/arca/<id>") is relative to each hierarchy's root: with cgroup v1 (or the
 * hybrid layout) each controller has its own mount (/sys/fs/cgroup/memory, .../cpu,cpuacct
 * or separate cpu and cpuacct ...); with v2 alone the unified mount serves all. */
#ifndef ARCA_RUNTIME_LINUX_LX_CGROUP_H
#define ARCA_RUNTIME_LINUX_LX_CGROUP_H

#include <stdbool.h>

#include "common/err.h"
#include "runtime/driver.h"

typedef struct lx_cgroup_roots {
  bool v2;       /* no v1 controller is mounted: everything is in `unified` */
  char *unified; /* the cgroup2 mount, or NULL */
  char *memory, *cpu, *cpuacct, *pids, *blkio, *devices, *freezer; /* v1 mounts, or NULL */
} lx_cgroup_roots;

/* Reads /proc/self/mountinfo. 500 when no cgroup hierarchy is mounted at all. */
int lx_cgroup_roots_read(lx_cgroup_roots *r, arca_err *err);
void lx_cgroup_roots_free(lx_cgroup_roots *r);

/* Docker's statistics of the cgroup at cgroup_path under the given roots (lx_stats with the
 * roots of this host; tests give fake trees). 404 when the cgroup exists in no hierarchy.
 * netns_path NULL: no networks (host network). */
int lx_stats_at(const lx_cgroup_roots *r, const char *cgroup_path, const char *netns_path,
                rt_stats *out, arca_err *err);

/* The pids of every process in the cgroup and its descendants, ascending. 404 when the cgroup
 * does not exist. */
int lx_cgroup_pids(const lx_cgroup_roots *r, const char *cgroup_path, int **pids, size_t *n,
                   arca_err *err);

#endif
