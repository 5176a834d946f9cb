/* Starting a process inside a running container without the runtime: what `runc exec` does
 * (join the init's namespaces and cgroups, then the process's terminal, rlimits, seccomp
 * filter, capabilities, user, working directory and environment), done by a forked child of
 * arcad in a few milliseconds instead of two Go programs' start-up.
 *
 * The plan is built in arcad (allocations, JSON, files opened) and run in the forked child,
 * which makes system calls only: arcad has other threads. */
#ifndef ARCA_RUNTIME_LINUX_LX_NSEXEC_H
#define ARCA_RUNTIME_LINUX_LX_NSEXEC_H

#include <jansson.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "common/err.h"

/* A compiled seccomp filter; len 0: none (unconfined). */
typedef struct lx_bpf {
  struct sock_filter *filter;
  unsigned short len;
  unsigned flags; /* SECCOMP_FILTER_FLAG_* */
} lx_bpf;

/* linux.seccomp of an OCI config (NULL or absent: no filter). 500 with the reason on a
 * profile libseccomp cannot express or Arca cannot load outside the runtime (notify). */
int lx_seccomp_compile(const json_t *seccomp, lx_bpf *out, arca_err *err);
/* The same through a small cache keyed by the profile's text: containers mostly share one
 * profile, and compiling it costs ~10 ms. *out is the caller's copy. */
int lx_seccomp_compile_cached(const json_t *seccomp, lx_bpf *out, arca_err *err);
void lx_bpf_free(lx_bpf *b);

#define LX_PLAN_MAX_NS 6
#define LX_PLAN_MAX_CGROUPS 32
#define LX_PLAN_MAX_RLIMITS 16

typedef struct lx_exec_plan {
  int pid_ns;                      /* joined by the parent of the process; -1: none */
  int ns[LX_PLAN_MAX_NS];          /* ipc, uts, net, cgroup, mnt (last) */
  size_t nns;
  /* The init's cgroups. v1 hierarchies: their "tasks" files, open for writing: moving the
   * (single-threaded) process as a thread spares the global threadgroup lock, whose RCU grace
   * period costs ~10 ms per move. v2: the directory, for clone3(CLONE_INTO_CGROUP), and its
   * cgroup.procs for kernels without it. */
  int cgroup_tasks[LX_PLAN_MAX_CGROUPS];
  size_t ncgroups;
  int cgroup_v2_dir, cgroup_v2_procs; /* -1: none */
  char *path; /* the executable, as found inside the container */
  char **argv, **envp;
  char *cwd;
  uint32_t uid, gid;
  gid_t *gids;
  size_t ngids;
  mode_t umask;
  struct {
    int resource;
    struct rlimit lim;
  } rlimits[LX_PLAN_MAX_RLIMITS];
  size_t nrlimits;
  bool no_new_privs;
  bool has_oom_score_adj;
  int oom_score_adj;
  uint64_t bounding, effective, permitted, inheritable, ambient;
  lx_bpf seccomp;
  bool terminal;
  unsigned short rows, cols;
} lx_exec_plan;

/* The plan for an OCI process (args, env, cwd, user, capabilities, rlimits,
 * noNewPrivileges, oomScoreAdj, terminal, consoleSize) in the container whose init is
 * init_pid; seccomp is the config's linux.seccomp; path the executable resolved in the
 * container; home the user's home directory, for HOME when env has none (runc's rule). */
int lx_exec_plan_build(pid_t init_pid, const json_t *process, const json_t *seccomp, const char *path,
                       const char *home, lx_exec_plan *plan, arca_err *err);
void lx_exec_plan_free(lx_exec_plan *plan);

/* Parses "RLIMIT_NOFILE" and friends; -1 when unknown. */
int lx_rlimit_resource(const char *name);
/* Bit n for each "CAP_*" name in the array; 400 on an unknown name. */
int lx_caps_mask(const json_t *names, uint64_t *mask, arca_err *err);

/* The record the process's setup writes to err_fd when a step fails (then it exits 127).
 * Nothing is written when execve succeeds: err_fd is close-on-exec. */
typedef struct lx_exec_failure {
  int err;
  char step[28]; /* "setns", "cgroup", "terminal", "chdir", "exec", ... */
} lx_exec_failure;

/* The descriptors the plan holds, for a parent that closes everything else; returns how many. */
size_t lx_exec_plan_fds(const lx_exec_plan *plan, int *out, size_t max);

/* In the process's parent: join the pid namespace (it applies to children only), then fork
 * the process straight into the v2 cgroup when there is one and the kernel can. Returns the
 * pid (0 in the process), -1 with errno set on failure; *in_cgroup tells the process whether
 * its v2 cgroup is joined already. */
pid_t lx_exec_plan_spawn(const lx_exec_plan *plan, bool *in_cgroup);
/* In the forked process: everything else, then execve. console_fd receives the terminal's
 * master (SCM_RIGHTS) when the plan has a terminal. Never returns. */
void lx_exec_plan_run(const lx_exec_plan *plan, bool in_cgroup, int err_fd, int console_fd)
    __attribute__((noreturn));

/* The text runc gives for a failed step ("chdir to cwd (\"/x\") set in config.json failed:
 * no such file or directory"), without runc's "exec failed: ..." prefix. */
void lx_exec_failure_text(const lx_exec_plan *plan, const lx_exec_failure *f, char *out, size_t n);

#endif
