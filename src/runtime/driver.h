/* The runtime driver: the only door from the engine to the operating system for containers.
 *
 * One struct of function pointers, shaped after the lifecycle both back ends share: prepare a
 * sandbox from image layers and Docker's configuration, start it, signal it, learn of its
 * exit, exec more processes in it, resize terminals, pause and resume it, read statistics,
 * copy files in and out, list changes, export it, delete it. The Linux driver (linux/) uses
 * runc or crun under conmon on overlayfs; the Apple driver (later) one Containerization VM
 * per sandbox. Nothing here names a cgroup path or a host PID: the engine never sees them.
 *
 * Threads: every operation may be called from any thread, concurrently for different
 * sandboxes; operations on one sandbox are serialised by the engine (container lock).
 * Callbacks (exit events) run on the driver's monitor thread and must not call back into the
 * driver for the same sandbox while holding engine locks the driver could need. */
#ifndef ARCA_RUNTIME_DRIVER_H
#define ARCA_RUNTIME_DRIVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct rt_driver rt_driver;

/* A filesystem to mount into the sandbox, resolved by the engine (named volumes are host
 * directories by now, binds are checked to exist, tmpfs carries its options). */
typedef struct rt_mount {
  char *type;         /* "bind" or "tmpfs" */
  char *source;       /* host path for bind; NULL for tmpfs */
  char *destination;  /* absolute path in the container */
  char **options;     /* OCI mount options: "ro", "rbind", "rprivate", "size=64m", "mode=1777" */
  size_t noptions;
} rt_mount;

/* A process to run: the main process of a sandbox or an exec. */
typedef struct rt_process {
  char **args;         /* argv, resolved by the engine from Entrypoint + Cmd */
  size_t nargs;
  char **env;          /* "K=V", complete (image env, PATH default, HOSTNAME, -e ...) */
  size_t nenv;
  char *cwd;           /* absolute; created in the rootfs when missing */
  char *user;          /* Docker's User: "", "name", "uid", "uid:gid", "name:group"; resolved by
                        * the driver against the sandbox's /etc/passwd and /etc/group. An unknown
                        * name fails start/exec with Docker's text (status 400 for create-time
                        * checks, 500 otherwise, "unable to find user x: no matching entries in
                        * passwd file"). */
  char **extra_groups; /* HostConfig.GroupAdd: names or gids */
  size_t nextra_groups;
  bool terminal;       /* allocate a pty */
  uint16_t rows, cols; /* initial terminal size (0: leave default) */
  bool privileged;     /* exec --privileged: all capabilities for this process */
} rt_process;

/* Everything needed to prepare a sandbox. The engine keeps ownership of every pointer. */
typedef struct rt_sandbox_spec {
  const char *id;                  /* 64-hex container ID */
  const char *name;                /* without the leading slash */
  const char *const *layers;       /* image layer directories, lowest first (may be 0) */
  size_t nlayers;
  const json_t *config;            /* Docker's Config as stored (Hostname, Domainname, Tty,
                                    * OpenStdin, StopSignal, Labels ...) */
  const json_t *host_config;       /* Docker's HostConfig as stored: Privileged, CapAdd,
                                    * CapDrop, SecurityOpt, Devices, DeviceCgroupRules,
                                    * Ulimits, Sysctls, ReadonlyRootfs, Tmpfs, ShmSize, Init,
                                    * Memory, MemorySwap, MemoryReservation, CpuShares,
                                    * CpuQuota, CpuPeriod, NanoCpus, CpusetCpus, CpusetMems,
                                    * PidsLimit, BlkioWeight, OomKillDisable, OomScoreAdj,
                                    * IpcMode, PidMode, UTSMode, CgroupnsMode, MaskedPaths,
                                    * ReadonlyPaths. */
  rt_process process;              /* the main process */
  const rt_mount *mounts;          /* user mounts, in order */
  size_t nmounts;
  const char *hostname;            /* the container's hostname */
  const char *hosts_file;          /* host paths of the files the engine manages, bind-mounted */
  const char *resolv_conf;         /*   at /etc/hosts, /etc/resolv.conf, /etc/hostname */
  const char *hostname_file;       /*   (NULL: not mounted) */
  const char *network_mode;        /* "sandbox" (own network namespace, see network_attach),
                                    * "host", "none", or "container:<64-hex id>" */
  const char *ipc_container;       /* for IpcMode/PidMode "container:<id>": the other sandbox's */
  const char *pid_container;       /*   id (the engine resolved names); NULL otherwise */
} rt_sandbox_spec;

typedef struct rt_exit {
  int exit_code;        /* 0-255; 128+signal when killed by a signal (137 after SIGKILL) */
  int64_t finished_ns;  /* wall clock */
  bool oom_killed;
} rt_exit;

typedef enum rt_status {
  RT_STATUS_UNKNOWN = 0, /* no such sandbox in the runtime (never prepared, or deleted) */
  RT_STATUS_CREATED,     /* prepared, never started, or stopped and restartable */
  RT_STATUS_RUNNING,
  RT_STATUS_PAUSED,
  RT_STATUS_STOPPED,     /* exited; rt_exit tells how */
} rt_status;

/* Statistics in Docker's terms (all 0 when unknown). */
typedef struct rt_stats {
  int64_t read_ns;                   /* when they were read */
  uint64_t cpu_total_ns, cpu_user_ns, cpu_kernel_ns;
  uint64_t *percpu_ns;               /* cgroup v1 only; may be NULL */
  size_t npercpu;
  uint64_t system_cpu_ns;            /* host total (for Docker's cpu percentage) */
  uint32_t online_cpus;
  uint64_t throttling_periods, throttled_periods, throttled_ns;
  uint64_t mem_usage, mem_limit, mem_max_usage, mem_failcnt;
  json_t *mem_stats;                 /* Docker's memory_stats.stats object (owned) */
  uint64_t pids_current, pids_limit;
  json_t *blkio;                     /* Docker's blkio_stats object (owned) */
  json_t *networks;                  /* Docker's networks object, by interface (owned) */
} rt_stats;
void rt_stats_free(rt_stats *s);

/* Stdio of a process as the engine sees it. With a terminal, only `pty` is set (read output,
 * write input). Without: `stdin_fd` (may be -1 when stdin is not open), `stdout_fd`, `stderr_fd`. */
typedef struct rt_stdio {
  int pty;
  int stdin_fd, stdout_fd, stderr_fd;
} rt_stdio;

/* Attachment to a running sandbox's main process, as conmon offers it. Output arrives as
 * (stream, bytes) packets; stream 1 = stdout, 2 = stderr (a terminal gives only 1). */
typedef struct rt_attach rt_attach;

/* Exit and OOM notifications, raised on the driver's monitor thread. exec_id is NULL for
 * the main process. */
typedef void (*rt_exit_fn)(void *ctx, const char *id, const char *exec_id, const rt_exit *exit);
typedef void (*rt_oom_fn)(void *ctx, const char *id);

/* Change kinds of `docker diff` */
enum { RT_CHANGE_MODIFIED = 0, RT_CHANGE_ADDED = 1, RT_CHANGE_DELETED = 2 };

/* docker cp: what PathStat describes (X-Docker-Container-Path-Stat). */
typedef struct rt_path_stat {
  char name[256];
  int64_t size;
  uint32_t mode;        /* Go's os.FileMode bits as Docker encodes them */
  int64_t mtime_ns;
  char link_target[4096];
} rt_path_stat;

/* What the engine finishes while the runtime creates the sandbox (its networks): the driver
 * calls fn once the sandbox exists and before its process runs. fn returning <0 (err set)
 * aborts the start with that error. */
typedef struct rt_start_gate {
  int (*fn)(void *ctx, arca_err *err);
  void *ctx;
} rt_start_gate;

typedef struct rt_driver_ops {
  const char *name;
  void (*destroy)(rt_driver *d);

  /* Bundle, root filesystem and runtime configuration; nothing runs yet. Idempotent for an
   * already prepared sandbox with the same spec (re-prepare after a config update). */
  int (*prepare)(rt_driver *d, const rt_sandbox_spec *spec, arca_err *err);
  /* Starts the main process. Attachments made before start (docker run / start -a attach
   * first) are connected before the process runs, so no output is lost. Returns when the
   * process runs, or failed to: then Docker's texts with err->exit_code 127 (not found:
   * "exec: \"nosuch\": executable file not found in $PATH") or 126 (permission denied),
   * status 400. gate (may be NULL) is passed before the process runs. */
  int (*start)(rt_driver *d, const char *id, const rt_start_gate *gate, arca_err *err);
  int (*signal)(rt_driver *d, const char *id, int signo, arca_err *err);
  int (*pause)(rt_driver *d, const char *id, arca_err *err);
  int (*resume)(rt_driver *d, const char *id, arca_err *err);
  /* Where the sandbox is now; after a daemon restart this is how the engine re-adopts a
   * running sandbox or learns the exit of one that ended meanwhile. */
  int (*status)(rt_driver *d, const char *id, rt_status *st, rt_exit *exit, arca_err *err);
  /* Removes the runtime's state of a stopped sandbox so it can be started again (keeps the
   * prepared bundle and the container's writable layer). */
  int (*reset)(rt_driver *d, const char *id, arca_err *err);
  /* Removes everything of the sandbox: runtime state, mounts, writable layer, bundle. */
  int (*remove)(rt_driver *d, const char *id, arca_err *err);

  /* Live updates of resources (docker update): HostConfig with the new values. */
  int (*update)(rt_driver *d, const char *id, const json_t *host_config, arca_err *err);
  int (*stats)(rt_driver *d, const char *id, rt_stats *out, arca_err *err);
  /* docker top: runs ps (ps_args as Docker: default "-ef") and returns Titles and Processes
   * limited to the sandbox's processes. */
  int (*top)(rt_driver *d, const char *id, const char *ps_args, json_t **titles, json_t **processes,
             arca_err *err);

  /* Exec: starts p in the running sandbox; *stdio receives the process's ends (owned by the
   * caller). Exit comes through rt_exit_fn with this exec_id. with_stdin: keep a stdin.
   * A missing or non-executable binary or an unknown user fails here, before any stream
   * exists, with err->exit_code 127/126 and Docker's text (COMPAT-TRAPS). */
  int (*exec)(rt_driver *d, const char *id, const char *exec_id, const rt_process *p, bool with_stdin,
              rt_stdio *stdio, arca_err *err);
  /* Terminal size of the main process (exec_id NULL) or of an exec. */
  int (*resize)(rt_driver *d, const char *id, const char *exec_id, uint16_t rows, uint16_t cols,
                arca_err *err);

  /* Attach to the main process's stdio: works before start (connects at start) and while
   * running. */
  int (*attach)(rt_driver *d, const char *id, rt_attach **out, arca_err *err);
  /* Next output packet: 1 with *stream (1|2) and data, 0 at end (process gone), -1 error.
   * cancel_fd (or -1) readable ends the wait with 0. */
  int (*attach_read)(rt_attach *a, int cancel_fd, int *stream, char *buf, size_t cap, size_t *len);
  int (*attach_write)(rt_attach *a, const void *buf, size_t n);   /* to stdin */
  void (*attach_close_stdin)(rt_attach *a);                        /* stdin EOF */
  void (*attach_free)(rt_attach *a);

  /* Log file of the main process in k8s-file format: "<RFC3339Nano> stdout|stderr F|P <text>". */
  char *(*log_path)(rt_driver *d, const char *id);

  /* Files */
  int (*changes)(rt_driver *d, const char *id, json_t **out, arca_err *err); /* [{Path,Kind}] */
  /* Writes a tar of the whole root filesystem (docker export) to fd. */
  int (*export_rootfs)(rt_driver *d, const char *id, int fd, arca_err *err);
  /* Writes the writable layer as an OCI layer (gzip) for commit/build; fills digests. */
  int (*commit_layer)(rt_driver *d, const char *id, int fd, char diff_id[72], char digest[72],
                      int64_t *size, int64_t *compressed_size, arca_err *err);
  /* docker cp: stat, tar out, tar in, always confined to the sandbox's root (symlinks are
   * resolved inside it). Works on created, running and stopped sandboxes. */
  int (*path_stat)(rt_driver *d, const char *id, const char *path, rt_path_stat *st, arca_err *err);
  int (*archive_get)(rt_driver *d, const char *id, const char *path, int fd, rt_path_stat *st,
                     arca_err *err);
  int (*archive_put)(rt_driver *d, const char *id, const char *path, int fd, bool no_overwrite_dir_non_dir,
                     bool copy_uid_gid, arca_err *err);
  /* Disk use of the writable layer (SizeRw) and of the whole rootfs (SizeRootFs). */
  int (*sizes)(rt_driver *d, const char *id, int64_t *size_rw, int64_t *size_root, arca_err *err);

  /* Networks (issue 6): the sandbox's network namespace is joined to networks by the
   * network module through these; the engine only passes Docker's descriptions. */
  int (*network_attach)(rt_driver *d, const char *id, const json_t *request, json_t **result, arca_err *err);
  int (*network_detach)(rt_driver *d, const char *id, const json_t *request, arca_err *err);
  /* The network of the request (a setup request for a sandbox id of the engine's choosing,
   * with a free address) is no longer needed on the host beyond the sandboxes that still
   * use it: whatever the driver keeps between containers (a warm bridge, its rules) goes
   * once no sandbox uses it. Called when a network is removed, at shutdown, and at start-up
   * for networks without endpoints. */
  int (*network_release)(rt_driver *d, const json_t *request, arca_err *err);
} rt_driver_ops;

struct rt_driver {
  const rt_driver_ops *ops;
  rt_exit_fn on_exit;
  rt_oom_fn on_oom;
  void *cb_ctx;
};

/* The Linux driver: runc|crun under conmon, state under <exec_root>, bundles and writable
 * layers under <data_root>/containers/<id>/. */
typedef struct rt_linux_config {
  const char *data_root;
  const char *exec_root;
  const char *runtime;        /* "runc" | "crun" */
  const char *runtime_path;   /* resolved binary */
  const char *conmon_path;
  const char *netavark_path;
  const char *aardvark_path;
  const char *init_path;      /* tini, for --init */
} rt_linux_config;

int rt_linux_new(const rt_linux_config *cfg, rt_exit_fn on_exit, rt_oom_fn on_oom, void *cb_ctx,
                 rt_driver **out, arca_err *err);

#endif
