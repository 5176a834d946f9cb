/* Docker's checks and normalisation of a container's configuration, as pure functions over
 * jansson values: the body of POST /containers/create (Config fields at the top level,
 * "HostConfig", "NetworkingConfig") and of POST /containers/{id}/update.
 *
 * Behaviour and texts follow dockerd 28.x (API 1.51): runconfig's decoder and checks, the
 * create route's per-version adaptations, daemon/container.go verifyContainerSettings,
 * daemon_unix.go verifyPlatformContainerSettings and adaptContainerSettings, the restart
 * policy rules of api/types/container, volume/mounts/linux_parser.go, go-connections/nat,
 * and the update rules of container/container_unix.go. Every error is 400 unless said
 * otherwise. Deliberate differences from dockerd, where dockerd answers 500 for bad input or
 * accepts what the runtime later refuses: bad Binds, VolumesFrom, SecurityOpt, Sysctls and
 * log options fail with 400 (same texts); unknown ulimit names and soft > hard fail at
 * create with go-units' texts (the CLI's own check) instead of at start.
 *
 * Nothing here touches engine state; the only outside fact read is whether a bind mount's
 * source exists (stat), as dockerd checks for HostConfig.Mounts. No locks. */
#ifndef ARCA_ENGINE_CONTAINER_CONFIG_H
#define ARCA_ENGINE_CONTAINER_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/host.h"

/* What the host and the daemon offer, as dockerd's sysinfo and daemon config tell it. */
typedef struct host_limits {
  int ncpu;                 /* CPUs Go's runtime.NumCPU() would count */
  int64_t mem_total;
  int cgroup_version;       /* 1 or 2 */
  /* controllers and features (false: the setting is discarded with Docker's warning) */
  bool memory, swap, memory_reservation, memory_swappiness, kernel_memory, oom_kill_disable;
  bool cpu_cfs, cpu_shares, cpu_realtime, cpuset, pids;
  bool blkio, blkio_weight_device, blkio_throttle;
  bool cgroup_namespaces;
  bool ipv4_forwarding;     /* false: "IPv4 forwarding is disabled" warning */
  bool systemd_cgroup;      /* systemd cgroup driver: CgroupParent must name a .slice */
  char cpuset_cpus[128];    /* effective cpuset, "0-3"; "" means 0..ncpu-1 */
  char cpuset_mems[128];    /* "" means "0" */
  uint64_t caps_available;  /* bit n: capability n usable; 0 accepts every known one */
  const char *default_runtime;        /* NULL: "runc" */
  const char *const *runtimes;        /* NULL-terminated names accepted in Runtime; NULL:
                                       * only the default */
  const char *default_log_driver;     /* NULL: "json-file" */
  const char *daemon_root;            /* data root: binds of it need rslave/rshared; NULL
                                       * skips the check */
} host_limits;

/* Fills h as dockerd's sysinfo reports a host with every controller of that cgroup version
 * (v2: no swappiness, kernel memory, OOM-kill-disable or realtime; v1: all of them). */
void host_limits_init(host_limits *h, int cgroup_version, int ncpu, int64_t mem_total);
/* The same from the facts gathered at start-up. */
void host_limits_from_host_info(host_limits *h, const host_info *hi);

/* ---- POST /containers/create ------------------------------------------------------- */

/* Decodes a create body the way Go's encoding/json fills dockerd's CreateRequest: keys
 * matched case-insensitively (exact match first), unknown keys dropped, null ignored on
 * scalars, "Cmd": "ls" read as ["ls"]. A value of the wrong JSON type fails with Go's text
 * behind runconfig's prefix, e.g. `invalid JSON: json: cannot unmarshal string into Go
 * struct field HostConfig.HostConfig.Resources.Memory of type int64` (the first such
 * error, as Go reports it). *out is the canonical body, same shape, canonical key case. */
int container_create_decode(const json_t *body, json_t **out, arca_err *err);

/* What a create request becomes once dockerd has checked and adapted it. */
typedef struct container_create_spec {
  json_t *config;            /* Config as stored: WorkingDir cleaned, Volumes {} ... */
  json_t *host_config;       /* HostConfig with dockerd's defaults (see
                              * container_hostconfig_defaults), resources adjusted */
  json_t *networking_config; /* {"EndpointsConfig": {...}}, "default" renamed "bridge" */
  json_t *warnings;          /* array of strings for CreateResponse.Warnings */
} container_create_spec;
void container_create_spec_free(container_create_spec *s);

/* The whole of dockerd's create checks short of those needing engine state (image lookup
 * and "no command specified", network existence and IPAM ranges, name uniqueness,
 * VolumesFrom containers): decode, runconfig checks (network/UTS conflicts, isolation,
 * QoS, realtime, CPU shares), per-API-version adaptations (api_minor: 1.x), restart
 * policy, healthcheck, env, working dir, stop signal, mounts, binds, tmpfs, extra hosts,
 * port bindings, capabilities, security options, resources against h, IPC/PID/UTS/cgroupns
 * modes, OOM score, runtime, log config, endpoint settings, ulimits. On success *out owns
 * the result; on failure nothing is allocated. */
int container_create_prepare(const json_t *body, const host_limits *h, int api_minor,
                             container_create_spec *out, arca_err *err);
/* container_create_prepare without keeping the result. */
int container_config_validate(const json_t *body, const host_limits *h, int api_minor,
                              arca_err *err);

/* Fills a HostConfig in place with what dockerd stores when the client left it out:
 * NetworkMode "bridge" (for "" and "default"), RestartPolicy {"Name":"no",
 * "MaximumRetryCount":0}, LogConfig {"Type":"json-file","Config":{}}, ShmSize 64 MiB,
 * IpcMode "private", CgroupnsMode "private" on cgroup v2 ("host" on v1), OomKillDisable
 * false, MemorySwap twice Memory when only Memory is set, Runtime default_runtime,
 * ConsoleSize [0,0], PortBindings {}, PidsLimit <= 0 removed (null: no limit). MaskedPaths
 * and ReadonlyPaths stay as given: the driver knows the defaults (dockerd copies them in at
 * create unless privileged). */
void container_hostconfig_defaults(json_t *hc, const char *default_runtime, int cgroup_version);

/* Docker's container name rule: `Invalid container name (x), only [a-zA-Z0-9][a-zA-Z0-9_.-]
 * are allowed` (one leading "/" tolerated; at least two characters). */
int container_name_validate(const char *name, arca_err *err);

/* ---- POST /containers/{id}/update -------------------------------------------------- */

/* Checks an update body (Resources + RestartPolicy, decoded as Go's UpdateConfig) as
 * dockerd does and applies it onto hc, the container's stored HostConfig (a value of 0 or
 * "" leaves a setting alone, as dockerd). container_id names the container in the 409
 * texts: "Cannot update container <id>: Restart policy cannot be updated because
 * AutoRemove is enabled for the container", "...: Conflicting options: Nano CPUs cannot be
 * updated as CPU Period has already been set", "...: Memory limit should be smaller than
 * already set memoryswap limit, update the memoryswap at the same time". Checks fail with
 * 400 without that prefix. hc is unchanged on failure. warnings (may be NULL) receives
 * dockerd's warnings. */
int container_update_apply(json_t *hc, const json_t *update, const host_limits *h,
                           const char *container_id, int api_minor, json_t *warnings,
                           arca_err *err);

/* ---- Pieces ------------------------------------------------------------------------- */

/* RestartPolicy {"Name", "MaximumRetryCount"} (NULL or null: "no"). name receives "no",
 * "always", "on-failure" or "unless-stopped" ("" is read as "no"); Docker's texts:
 * "invalid restart policy: unknown policy 'x'; use one of 'no', 'always', 'on-failure', or
 * 'unless-stopped'", "invalid restart policy: maximum retry count can only be used with
 * 'on-failure'", "... cannot be negative". */
int restart_policy_parse(const json_t *rp, char name[16], int *max_retry, arca_err *err);

/* One HostConfig.Binds entry, as dockerd's Linux parser reads it: "/host:/ctr[:mode]" is a
 * bind, "name:/ctr[:mode]" a named volume, "/ctr" an anonymous volume. mode: "ro"/"rw",
 * "z"/"Z", a propagation, "nocopy", a consistency; at most one of each kind. Errors:
 * "invalid volume specification: 'x'", "invalid mode: xx", "invalid volume specification:
 * 'x': invalid mount config for type \"bind\": invalid mount path: 'y' mount path must be
 * absolute", "...: invalid specification: destination can't be '/'". A bind's source is not
 * checked for existence (dockerd creates it at start). */
typedef struct bind_spec {
  char *type;        /* "bind" or "volume" */
  char *source;      /* bind: cleaned host path; volume: its name, NULL if anonymous */
  char *destination; /* cleaned absolute path in the container */
  char *mode;        /* the mode string as given ("" if none) */
  char *propagation; /* bind: given or "rprivate"; volume: NULL */
  bool read_only;
  bool copy_data;    /* volume: copy image content in ("nocopy" clears it) */
} bind_spec;
int bind_spec_parse(const char *s, bind_spec *out, arca_err *err);
void bind_spec_free(bind_spec *b);

/* One HostConfig.Mounts entry (Type bind|volume|tmpfs|image), dockerd's
 * ValidateMountConfig: "invalid mount config for type \"bind\": bind source path does not
 * exist: /x", "... field Target must not be empty", "... mount type unknown" ... */
int mount_spec_validate(const json_t *mount, arca_err *err);

/* Published ports, as dockerd derives them when it connects a container: one entry per
 * exposed port (Config.ExposedPorts, already merged with the image's) and per binding in
 * HostConfig.PortBindings for it; PublishAllPorts adds an ephemeral binding to exposed
 * ports without one. host_port_start = host_port_end = 0 means "pick a free port" (HostPort
 * "" or "0"); "8000-8010" gives a range to pick from. Bindings of ports that are not exposed
 * are ignored, as dockerd does. Entries are in dockerd's order. */
typedef struct port_mapping {
  char proto[8];            /* "tcp", "udp", "sctp" */
  uint16_t container_port;
  bool published;           /* false: exposed only */
  char host_ip[64];         /* "" for every address */
  uint16_t host_port_start, host_port_end;
} port_mapping;
int container_ports_list(const json_t *exposed_ports, const json_t *port_bindings,
                         bool publish_all, port_mapping **out, size_t *n, arca_err *err);
/* HostConfig.PortBindings alone, dockerd's validatePortBindings: `invalid port
 * specification: "x"` for a bad key or HostPort. */
int port_bindings_validate(const json_t *port_bindings, arca_err *err);

#endif
