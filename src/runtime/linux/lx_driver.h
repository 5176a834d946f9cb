/* Internals of the Linux runtime driver (runc under conmon), shared by its files:
 *
 *   driver.c    rt_linux_new, the ops table, status/reset/remove, signals, pause, update
 *   spec.c      prepare: config.json from Docker's Config/HostConfig (spec_res.c: resources,
 *               devices, rlimits, sysctls, tmpfs options)
 *   user.c      Docker's user resolution against /etc/passwd and /etc/group
 *   inroot.c    paths resolved inside a container root (openat2 RESOLVE_IN_ROOT)
 *   rootfs.c    the overlay mount, however many layers
 *   start.c     conmon + runc create/start, start-time resolution (user, shared namespaces)
 *   monitor.c   the exit monitor thread
 *   exec.c      exec under a subreaper shim of ours (nsexec.c does what runc exec would)
 *   attach.c    conmon's attach socket
 *   netns.c     network namespaces and netavark
 *   netwarm.c   bridges kept warm between containers, networks released
 *   veth.c      joining a warm bridge without netavark (no ports, no DNS, IPv4)
 *   cgroup.c    cgroup directories and OOM counters
 *   runc.c      running the runtime and reading its errors
 *
 * Locking: lx_driver.lock guards the container table (ctrs and every lx_ctr field), the exec
 * list and the pending state of attachments. It is never held while a callback runs, while
 * a helper program runs, or while blocking on a descriptor. */
#ifndef ARCA_RUNTIME_LINUX_LX_DRIVER_H
#define ARCA_RUNTIME_LINUX_LX_DRIVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/proc.h"
#include "runtime/driver.h"

typedef struct lx_exec lx_exec;

typedef struct lx_ctr {
  struct lx_ctr *next;
  char id[65];
  pid_t conmon_pid;          /* 0 when unknown */
  bool monitored;            /* the monitor reports this container's next exit */
  struct rt_attach *pending; /* attachments waiting for start (rt_attach.next_pending) */
} lx_ctr;

typedef struct lx_trash lx_trash;

typedef struct lx_driver {
  rt_driver base; /* first: the engine sees an rt_driver */
  char *data_root, *exec_root, *runtime_path, *conmon_path, *netavark_path, *aardvark_path,
      *init_path;
  char *runc_root, *exits_dir;
  bool cgroup_v2;

  pthread_mutex_t lock;
  lx_ctr *ctrs;
  lx_exec *execs;
  pthread_cond_t execs_done; /* signalled whenever exec_threads drops */
  size_t exec_threads;

  void *veth_pending; /* veth.c: interfaces being deleted in the background */
  lx_trash *trash;    /* trash.c: directories being deleted in the background */

  int stop_fd; /* eventfd, readable once destroy has begun */
  int inotify_fd;
  pthread_t monitor;
  bool monitor_started;
} lx_driver;

static inline lx_driver *lx_of(rt_driver *d) { return (lx_driver *)d; }

/* ---- isolated.c ------------------------------------------------------------------ */
/* Runs fn(arg) on a thread of its own, which may unshare its file system attributes or
 * namespaces; returns fn's result (0 or -errno), or -errno when no thread could start. */
int lx_isolated(int (*fn)(void *), void *arg);

/* ---- trash.c --------------------------------------------------------------------- */
/* Empties <data_root>/trash and <exec_root>/trash (left by a crash) and starts the thread
 * that deletes what is put there. */
int lx_trash_open(lx_driver *d, arca_err *err);
/* Removes path (under root, data_root or exec_root) at once by renaming it into root's
 * trash; the files are deleted in the background. Missing path: 0. */
int lx_trash_remove(lx_driver *d, const char *root, const char *path, arca_err *err);
/* Waits until the trash is empty. */
void lx_trash_settle(lx_driver *d);
/* Deletes what is left and stops the thread. */
void lx_trash_close(lx_driver *d);

/* ---- driver.c -------------------------------------------------------------------- */
/* The table entry of id, made when create is set; NULL otherwise. Lock held. */
lx_ctr *lx_ctr_lookup(lx_driver *d, const char *id, bool create);
/* Container id in id_out after checking it (400 on a bad id). */
int lx_check_id(const char *id, arca_err *err);

/* ---- runc.c ---------------------------------------------------------------------- */
/* Runs `<runtime> --root <runc_root> --log-format json <args...>`. Non-zero exit fails with
 * status 500 and the runtime's own error text; *out (may be NULL) gets stdout. */
int lx_runc(lx_driver *d, const char *const args[], const char *in, size_t in_len, char **out,
            arca_err *err);
/* The runtime's state of id: 1 and status ("created", "running", "paused", "stopped") and
 * init pid when it knows the container, 0 when it does not, -1 on error. */
int lx_runc_state(lx_driver *d, const char *id, char status[16], pid_t *pid, arca_err *err);
/* The last error message in runc's JSON (or logfmt) log lines; the text itself otherwise. */
void lx_runc_error_text(const char *log, char *out, size_t n);

/* ---- cgroup.c -------------------------------------------------------------------- */
bool lx_cgroup_v2(void);
/* Removes /arca/<id> under every hierarchy and /arca itself where it is left empty. */
void lx_cgroup_remove(const char *id);
/* Whether the kernel OOM-killed something in the container's memory cgroup. */
bool lx_cgroup_oom_killed(const char *id);

/* ---- inroot.c -------------------------------------------------------------------- */
/* openat2(root_fd, path, flags, RESOLVE_IN_ROOT): symlinks and ".." never leave the root.
 * Returns the fd or -errno. */
int lx_inroot_open(int root_fd, const char *path, int flags);
/* Reads a small file inside the root: 0, -ENOENT (or another -errno). */
int lx_inroot_read(int root_fd, const char *path, size_t max, char **out);
/* mkdir -p inside the root (mode for the new ones, owned by root as Docker makes them).
 * A component that exists but is not a directory fails with Docker's text. */
int lx_inroot_mkdir_p(int root_fd, const char *path, mode_t mode, arca_err *err);
/* Go's exec.LookPath inside the root, as runc runs it: with a '/' the file itself, else each
 * directory of path_env (relative names against cwd). On failure *msg gets Go's text
 * ("exec: \"x\": executable file not found in $PATH") and the return value is 127 or 126;
 * 0 when found, and *found (when not NULL) gets the path inside the root. */
int lx_inroot_lookpath(int root_fd, const char *name, const char *path_env, const char *cwd,
                       char *msg, size_t n, char **found);

/* ---- user.c ---------------------------------------------------------------------- */
typedef struct lx_user {
  uint32_t uid, gid;
  uint32_t *gids; /* additionalGids: gid first, then supplementary groups, then GroupAdd */
  size_t ngids;
  char *home;
} lx_user;
/* moby/sys/user GetExecUser + GetAdditionalGroups over file contents (NULL: file missing).
 * Errors (status 500 by default; the caller changes it) carry Docker's texts. */
int lx_user_resolve_text(const char *spec, const char *passwd, const char *group,
                         const char *const *group_add, size_t ngroup_add, lx_user *out,
                         arca_err *err);
/* The same against <root>/etc/passwd and /etc/group, resolved inside the root. */
int lx_user_resolve(int root_fd, const char *spec, const char *const *group_add, size_t ngroup_add,
                    lx_user *out, arca_err *err);
void lx_user_free(lx_user *u);
json_t *lx_user_json(const lx_user *u);

/* ---- spec.c / spec_res.c --------------------------------------------------------- */
/* config.json and the start-time inputs (arca.json) for a sandbox. */
int lx_spec_build(lx_driver *d, const rt_sandbox_spec *spec, json_t **config, json_t **inputs,
                  arca_err *err);
/* linux.resources (memory, cpu, pids, blockIO) from a HostConfig, as moby's WithResources. */
int lx_spec_resources(const json_t *host_config, json_t **out, arca_err *err);
/* linux.devices and the cgroup device rules for HostConfig.Devices/DeviceCgroupRules. */
int lx_spec_devices(const json_t *host_config, bool privileged, json_t *devices, json_t *rules,
                    arca_err *err);
/* process.rlimits: defaults merged with HostConfig.Ulimits, clamped to our hard limits. */
int lx_spec_rlimits(const json_t *host_config, json_t **out, arca_err *err);
/* moby's MergeTmpfsOptions over Docker's tmpfs defaults and data ("size=64m,exec"). */
int lx_spec_tmpfs_options(const char *data, json_t **out, arca_err *err);
/* "c 1:3 rwm" → a cgroup device rule. */
int lx_spec_device_rule(const char *rule, json_t **out, arca_err *err);

/* ---- rootfs.c -------------------------------------------------------------------- */
int lx_rootfs_mount(lx_driver *d, const char *id, const json_t *layers, arca_err *err);
int lx_rootfs_umount(lx_driver *d, const char *id, arca_err *err);
/* The /dev/shm tmpfs of a shareable IPC namespace (mode 1777, size bytes), idempotent. */
int lx_shm_mount(lx_driver *d, const char *id, int64_t size, arca_err *err);
void lx_shm_umount(lx_driver *d, const char *id);
bool lx_is_mountpoint(const char *path);

/* ---- start.c --------------------------------------------------------------------- */
int lx_start(lx_driver *d, const char *id, const rt_start_gate *gate, arca_err *err);
/* The pid conmon's pidfile names, when that process is still conmon for id; 0 otherwise. */
pid_t lx_conmon_alive(lx_driver *d, const char *id);
/* Init pid from the container pidfile (0 when missing). */
pid_t lx_init_pid(lx_driver *d, const char *id);
/* The init pid when that process still runs in the container's cgroup (no runtime call:
 * fast enough for every exec); 0 otherwise. */
pid_t lx_running_init(lx_driver *d, const char *id);
/* runc delete --force, conmon gone (killed after 4 s), run files, exit file and cgroup
 * removed: the runtime forgets the sandbox; bundle, layers and netns stay. */
void lx_runtime_cleanup(lx_driver *d, const char *id);
/* moby's translateContainerdStartErr over err->msg: 127 (the command is not found), 126
 * (permission denied), 127 with a hint (a mount over a file or dir), each with status 400;
 * anything else keeps its status and exit code. */
void lx_translate_start_error(const char *cmd, arca_err *err);

/* ---- monitor.c ------------------------------------------------------------------- */
int lx_monitor_start(lx_driver *d, arca_err *err);
void lx_monitor_stop(lx_driver *d);
/* The exit conmon recorded for id: 0 and *out when there is one, -1 otherwise. */
int lx_exit_read(lx_driver *d, const char *id, rt_exit *out);

/* ---- exec.c ---------------------------------------------------------------------- */
int lx_exec_start(rt_driver *rd, const char *id, const char *exec_id, const rt_process *p,
                  bool with_stdin, rt_stdio *stdio, arca_err *err);
int lx_exec_resize(lx_driver *d, const char *id, const char *exec_id, uint16_t rows, uint16_t cols,
                   arca_err *err);
/* Stops every exec waiter thread (destroy); the processes keep running. */
void lx_execs_stop(lx_driver *d);

/* ---- attach.c -------------------------------------------------------------------- */
int lx_attach(rt_driver *rd, const char *id, rt_attach **out, arca_err *err);
int lx_attach_read(rt_attach *a, int cancel_fd, int *stream, char *buf, size_t cap, size_t *len);
int lx_attach_write(rt_attach *a, const void *buf, size_t n);
void lx_attach_close_stdin(rt_attach *a);
void lx_attach_free(rt_attach *a);
/* At start, between create and runc start: connects every pending attachment of id. */
void lx_attach_connect_pending(lx_driver *d, const char *id);
/* Pending attachments of id end (their reads return 0): start failed or the sandbox went. */
void lx_attach_end_pending(lx_driver *d, const char *id);

/* ---- netns.c --------------------------------------------------------------------- */
int lx_netns_create(lx_driver *d, const char *id, arca_err *err);
void lx_netns_remove(lx_driver *d, const char *id);
int lx_network_attach(rt_driver *rd, const char *id, const json_t *request, json_t **result,
                      arca_err *err);
int lx_network_detach(rt_driver *rd, const char *id, const json_t *request, arca_err *err);
/* netavark setup alone (lx_network_attach also keeps the bridges warm). */
int lx_network_attach_raw(lx_driver *d, const char *id, const json_t *request, json_t **result,
                          arca_err *err);

/* ---- veth.c ---------------------------------------------------------------------- */
/* 1 when done here, 0 when the request needs netavark, -1 on error. */
int lx_veth_attach(lx_driver *d, const char *id, const json_t *request, json_t **result, arca_err *err);
int lx_veth_detach(lx_driver *d, const char *id, const json_t *request, arca_err *err);
/* Waits for the background deletions in sandbox id (NULL: all of them). */
void lx_veth_settle(lx_driver *d, const char *id);

/* ---- netwarm.c ------------------------------------------------------------------- */
/* After a setup: each bridge of the request gets its warm-keeping link. Failures are
 * logged only: warmth is an optimisation. */
void lx_network_warm(lx_driver *d, const json_t *request);
int lx_network_release(rt_driver *rd, const json_t *request, arca_err *err);

#endif
