/* Docker's security defaults for a Linux container, as OCI runtime-spec JSON pieces.
 *
 * The Linux driver assembles config.json from these: the capability set after
 * --cap-add/--cap-drop/--privileged, the default seccomp profile (or a user's profile in
 * Docker's format), masked and read-only paths, the default mounts, the device cgroup
 * rules and rlimits. Each builder returns a new jansson value owned by the caller, shaped
 * as the runtime-spec field it fills (../shared/spec/oci/runtime-spec/config-linux.json).
 *
 * Behaviour follows moby: daemon/pkg/oci/caps, daemon/pkg/oci/defaults.go,
 * daemon/oci_linux.go and github.com/moby/profiles/seccomp. What stays with the caller,
 * as in dockerd: no seccomp at all for "unconfined" or for --privileged without an
 * explicit profile; /dev/shm dropped for --ipc=none; "ro" added for --read-only; user
 * mounts replacing defaults at the same destination; HostConfig.MaskedPaths and
 * ReadonlyPaths replacing the defaults when given.
 *
 * Everything here is thread-safe: host facts (capabilities, kernel version, CPU thermal
 * paths) are read once under pthread_once and never change afterwards. */
#ifndef ARCA_RUNTIME_LINUX_OCI_DEFAULTS_H
#define ARCA_RUNTIME_LINUX_OCI_DEFAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

/* ---- Capabilities ---------------------------------------------------------------- */

/* Docker's 14 default capabilities ("CAP_CHOWN", ...), in Docker's order. */
extern const char *const oci_default_caps[];
extern const size_t oci_default_caps_len;

/* Every capability this code knows, indexed by capability number (CAP_CHOWN is 0,
 * CAP_CHECKPOINT_RESTORE is 40). */
extern const char *const oci_all_caps[];
extern const size_t oci_all_caps_len;

/* Bit n set: capability n is in arcad's effective set, read once from /proc/self/status.
 * UINT64_MAX if that could not be read (Docker then assumes every capability). */
uint64_t oci_caps_host_available(void);

/* Docker's NormalizeLegacyCapabilities: upper-cases each name, adds "CAP_" unless present,
 * keeps "ALL" as is. Fails with 400 `unknown capability: "CAP_FOO"`, or with 400
 * `capability not supported by your kernel or not available in the current environment:
 * "CAP_X"` for a known capability outside `available` (a mask as above; 0 counts as
 * "unknown environment" and accepts every known capability, as Docker does). caps may be
 * NULL or JSON null (an empty result). Used at create time on CapAdd and CapDrop. */
int oci_caps_normalize(const json_t *caps, uint64_t available, json_t **out, arca_err *err);

/* Docker's TweakCapabilities over oci_default_caps: privileged gives every available
 * capability; "ALL" in cap_add gives every available one minus cap_drop; "ALL" in cap_drop
 * gives cap_add alone; otherwise defaults minus cap_drop plus cap_add. Names normalized as
 * oci_caps_normalize; duplicates removed. *out is an array of "CAP_*" strings. */
int oci_caps_resolve_with(const json_t *cap_add, const json_t *cap_drop, bool privileged,
                          uint64_t available, json_t **out, arca_err *err);
/* The same against oci_caps_host_available(). */
int oci_caps_resolve(const json_t *cap_add, const json_t *cap_drop, bool privileged,
                     json_t **out, arca_err *err);

/* process.capabilities: {"bounding", "effective", "permitted"} each a copy of caps, as
 * containerd writes for Docker (no inheritable, no ambient). */
json_t *oci_process_capabilities(const json_t *caps);

/* ---- Seccomp --------------------------------------------------------------------- */

/* Kernel "version.major" as Docker's seccomp filters compare it ("6.18.44-x" is 6.18). */
typedef struct oci_kernel_version {
  unsigned kernel, major;
} oci_kernel_version;

/* The running kernel's version (uname), read once. {0, 0} if it cannot be parsed. */
oci_kernel_version oci_kernel_host_version(void);

/* Docker's default profile in Docker's own format (archMap, includes/excludes filters),
 * before it is specialised for a container. Built from our tables on each call. */
json_t *oci_seccomp_default_profile(void);

/* Specialises a profile in Docker's format into linux.seccomp for a container whose
 * final capability list is caps (Docker checks rules against the bounding set, which is
 * that list), on Go architecture arch ("amd64", "arm64", "386", "s390x", ...; NULL for
 * the host's) and kernel kv (NULL for the host's). Rules are kept or dropped by their
 * includes/excludes (caps, arches, minKernel); archMap becomes the architectures of
 * arch. A profile with no defaultAction and no syscalls means "no seccomp": *out is NULL
 * and 0 is returned. Bad profiles fail with 400 "Decoding seccomp profile failed: ..." or
 * Docker's texts for "both 'name' and 'names'" and "both 'architectures' and 'archMap'";
 * an unknown arch fails with 500. */
int oci_seccomp_expand(const json_t *docker_profile, const json_t *caps, const char *arch,
                       const oci_kernel_version *kv, json_t **out, arca_err *err);

/* Docker's default profile for caps on arch: defaultAction SCMP_ACT_ERRNO with
 * defaultErrnoRet 1 (EPERM), the arch's architectures (x86_64 + x86 + x32, aarch64 +
 * arm), the allow list, rules conditioned on capabilities, clone flag filters without
 * CAP_SYS_ADMIN, clone3 → ENOSYS, personality and socket family filters. Host kernel. */
int oci_seccomp_default(const json_t *caps, const char *arch, json_t **out, arca_err *err);

/* A user's profile text (--security-opt seccomp=<file contents>) in Docker's format
 * (keys matched case-insensitively, as Go does) specialised as oci_seccomp_expand.
 * "unconfined" and "builtin" are the caller's to recognise before calling this. */
int oci_seccomp_from_docker_profile(const char *json_text, const json_t *caps,
                                    const char *arch, json_t **out, arca_err *err);

/* ---- Paths, mounts, devices, rlimits --------------------------------------------- */

/* linux.maskedPaths: Docker's list plus /sys/devices/system/cpu/cpuN/thermal_throttle for
 * each possible CPU where the host has it. Empty for privileged. */
json_t *oci_masked_paths(bool privileged);
/* linux.readonlyPaths: /proc/bus, /proc/fs, /proc/irq, /proc/sys, /proc/sysrq-trigger.
 * Empty for privileged. */
json_t *oci_readonly_paths(bool privileged);

/* Docker's default shm size (64 MiB) used when shm_size_bytes <= 0. */
#define OCI_DEFAULT_SHM_SIZE ((int64_t)64 * 1024 * 1024)

/* Docker's default mounts: /proc, /dev (tmpfs mode=755 size=65536k), /dev/pts
 * (newinstance ptmxmode=0666 mode=0620 gid=5), /sys (ro unless privileged),
 * /sys/fs/cgroup (ro unless privileged), /dev/mqueue, /dev/shm (mode=1777,
 * size=<shm_size_bytes>). */
json_t *oci_default_mounts(bool privileged, int64_t shm_size_bytes);

/* linux.resources.devices: deny everything, then allow null, zero, urandom, random, tty,
 * console, deny fuse (Docker's rules), then allow full, ptmx and /dev/pts/N (which runc
 * appends on its own; written out so a runtime that does not still works). Privileged:
 * one rule allowing everything. */
json_t *oci_default_device_rules(bool privileged);

/* linux.devices for --privileged: every block and character device under /dev, as
 * containerd's HostDevices (skipping pts, shm, fd, mqueue, console). */
int oci_host_devices(json_t **out, arca_err *err);

/* process.rlimits: RLIMIT_NOFILE 1048576 soft and hard (what containers get under
 * containerd), clamped to arcad's own hard limit, since runc fails above it. */
json_t *oci_default_rlimits(void);

/* Clamps every soft and hard value in a process.rlimits array to arcad's hard limit for
 * that resource (and soft to hard). Negative values mean "unlimited" (Docker's -1) and
 * become the host's hard limit; an unlimited host hard limit is written as INT64_MAX,
 * which the kernel also treats as unlimited in practice. Unknown types fail with 400
 * (runc would refuse them). */
int oci_rlimits_clamp(json_t *rlimits, arca_err *err);

#endif
