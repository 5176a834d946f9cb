/* Capabilities, masked paths, mounts, devices and rlimits as Docker sets them. The
 * seccomp profile lives in seccomp_default.c and seccomp_profile.c. */
#include "runtime/linux/oci_defaults.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/cleanup.h"
#include "common/util.h"

/* ---- Capabilities ---------------------------------------------------------------- */

const char *const oci_default_caps[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",  "CAP_FOWNER",           "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",  "CAP_SETFCAP",          "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",           "CAP_SYS_CHROOT", "CAP_KILL",          "CAP_AUDIT_WRITE",
};
const size_t oci_default_caps_len = ARRAY_LEN(oci_default_caps);

/* Position is the capability number (linux/capability.h). */
const char *const oci_all_caps[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",          "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",       "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",     "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",      "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",   "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",     "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",    "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
const size_t oci_all_caps_len = ARRAY_LEN(oci_all_caps);

static pthread_once_t host_caps_once = PTHREAD_ONCE_INIT;
static uint64_t host_caps_mask;

static void read_host_caps(void) {
  host_caps_mask = UINT64_MAX;
  autofclose FILE *f = fopen("/proc/self/status", "re");
  if (!f) return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "CapEff:", 7) != 0) continue;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(line + 7, &end, 16);
    if (errno == 0 && end != line + 7) host_caps_mask = v;
    return;
  }
}

uint64_t oci_caps_host_available(void) {
  pthread_once(&host_caps_once, read_host_caps);
  return host_caps_mask;
}

static int cap_number(const char *name) {
  for (size_t i = 0; i < oci_all_caps_len; i++)
    if (strcmp(oci_all_caps[i], name) == 0) return (int)i;
  return -1;
}

/* Docker treats an empty effective set like an unreadable one: every known capability is
 * accepted by name, though "ALL" then yields nothing. */
static bool cap_available(int number, uint64_t available) {
  return available == 0 || (available >> number) & 1;
}

static bool array_has_string(const json_t *arr, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
  }
  return false;
}

static void append_unique(json_t *arr, const char *s) {
  if (!array_has_string(arr, s)) json_array_append_new(arr, json_string(s));
}

int oci_caps_normalize(const json_t *caps, uint64_t available, json_t **out, arca_err *err) {
  autojson json_t *normalized = json_array();
  if (caps && !json_is_null(caps) && !json_is_array(caps))
    return err_set(err, 400, "invalid capability list: expected an array of strings");
  size_t i;
  json_t *v;
  json_array_foreach(caps, i, v) {
    if (!json_is_string(v))
      return err_set(err, 400, "invalid capability list: expected an array of strings");
    const char *given = json_string_value(v);
    bool keep_as_is = strncasecmp(given, "CAP_", 4) == 0 || strcasecmp(given, "ALL") == 0;
    autofree char *name = keep_as_is ? xstrdup(given) : xasprintf("CAP_%s", given);
    for (char *p = name; *p; p++) *p = (char)toupper((unsigned char)*p);
    if (strcmp(name, "ALL") != 0) {
      int number = cap_number(name);
      if (number < 0) return err_set(err, 400, "unknown capability: \"%s\"", name);
      if (!cap_available(number, available))
        return err_set(err, 400,
                       "capability not supported by your kernel or not available in the "
                       "current environment: \"%s\"",
                       name);
    }
    json_array_append_new(normalized, json_string(name));
  }
  *out = steal_ptr(normalized);
  return 0;
}

static json_t *available_caps(uint64_t available) {
  json_t *caps = json_array();
  if (available == 0) return caps;
  for (size_t i = 0; i < oci_all_caps_len; i++)
    if ((available >> i) & 1) json_array_append_new(caps, json_string(oci_all_caps[i]));
  return caps;
}

int oci_caps_resolve_with(const json_t *cap_add, const json_t *cap_drop, bool privileged,
                          uint64_t available, json_t **out, arca_err *err) {
  if (privileged) {
    *out = available_caps(available);
    return 0;
  }
  autojson json_t *adds = NULL;
  autojson json_t *drops = NULL;
  if (oci_caps_normalize(cap_drop, available, &drops, err) < 0) return -1;
  if (oci_caps_normalize(cap_add, available, &adds, err) < 0) return -1;

  autojson json_t *caps = json_array();
  size_t i;
  json_t *v;
  if (array_has_string(adds, "ALL")) {
    autojson json_t *all = available_caps(available);
    json_array_foreach(all, i, v) {
      if (!array_has_string(drops, json_string_value(v))) append_unique(caps, json_string_value(v));
    }
  } else if (array_has_string(drops, "ALL")) {
    json_array_foreach(adds, i, v) append_unique(caps, json_string_value(v));
  } else {
    for (i = 0; i < oci_default_caps_len; i++)
      if (!array_has_string(drops, oci_default_caps[i])) append_unique(caps, oci_default_caps[i]);
    json_array_foreach(adds, i, v) append_unique(caps, json_string_value(v));
  }
  *out = steal_ptr(caps);
  return 0;
}

int oci_caps_resolve(const json_t *cap_add, const json_t *cap_drop, bool privileged,
                     json_t **out, arca_err *err) {
  return oci_caps_resolve_with(cap_add, cap_drop, privileged, oci_caps_host_available(), out,
                               err);
}

json_t *oci_process_capabilities(const json_t *caps) {
  return json_pack("{s:o, s:o, s:o}", "bounding", json_deep_copy(caps), "effective",
                   json_deep_copy(caps), "permitted", json_deep_copy(caps));
}

/* ---- Masked and read-only paths -------------------------------------------------- */

static const char *const masked_paths[] = {
    "/proc/acpi",        "/proc/asound",     "/proc/interrupts",
    "/proc/kcore",       "/proc/keys",       "/proc/latency_stats",
    "/proc/sched_debug", "/proc/scsi",       "/proc/timer_list",
    "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static pthread_once_t thermal_once = PTHREAD_ONCE_INIT;
static json_t *thermal_paths; /* written once, then only read (copied) */

/* The thermal_throttle files leak host CPU activity (GHSA-6fw5-f8r9-fgfm); Docker masks
 * them for every possible CPU where they exist. "possible" is a list like "0-3,8". */
static void find_thermal_paths(void) {
  thermal_paths = json_array();
  autofree char *possible = NULL;
  if (read_file("/sys/devices/system/cpu/possible", 4096, &possible, NULL, NULL) < 0) return;
  for (char *p = possible; *p && *p != '\n';) {
    char *end;
    long first = strtol(p, &end, 10), last = first;
    if (end == p || first < 0) return;
    p = end;
    if (*p == '-') {
      last = strtol(p + 1, &end, 10);
      if (end == p + 1 || last < first) return;
      p = end;
    }
    for (long cpu = first; cpu <= last && cpu < 65536; cpu++) {
      char path[96];
      snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%ld/thermal_throttle", cpu);
      struct stat st;
      if (stat(path, &st) == 0) json_array_append_new(thermal_paths, json_string(path));
    }
    if (*p == ',') p++;
  }
}

json_t *oci_masked_paths(bool privileged) {
  json_t *paths = json_array();
  if (privileged) return paths;
  for (size_t i = 0; i < ARRAY_LEN(masked_paths); i++)
    json_array_append_new(paths, json_string(masked_paths[i]));
  pthread_once(&thermal_once, find_thermal_paths);
  json_array_extend(paths, thermal_paths);
  return paths;
}

json_t *oci_readonly_paths(bool privileged) {
  json_t *paths = json_array();
  if (privileged) return paths;
  for (size_t i = 0; i < ARRAY_LEN(readonly_paths); i++)
    json_array_append_new(paths, json_string(readonly_paths[i]));
  return paths;
}

/* ---- Mounts ---------------------------------------------------------------------- */

static json_t *mount_of(const char *destination, const char *type, const char *source,
                        const char *const *options) {
  json_t *opts = json_array();
  for (; *options; options++) json_array_append_new(opts, json_string(*options));
  return json_pack("{s:s, s:s, s:s, s:o}", "destination", destination, "type", type, "source",
                   source, "options", opts);
}

json_t *oci_default_mounts(bool privileged, int64_t shm_size_bytes) {
  if (shm_size_bytes <= 0) shm_size_bytes = OCI_DEFAULT_SHM_SIZE;
  char shm_size[48];
  snprintf(shm_size, sizeof shm_size, "size=%" PRId64, shm_size_bytes);
  /* dockerd clears "ro" on /sys and on the cgroup mount for --privileged. */
  const char *sys_ro = privileged ? NULL : "ro";

  json_t *mounts = json_array();
  json_array_append_new(mounts, mount_of("/proc", "proc", "proc",
                                         (const char *[]){"nosuid", "noexec", "nodev", NULL}));
  json_array_append_new(
      mounts, mount_of("/dev", "tmpfs", "tmpfs",
                       (const char *[]){"nosuid", "strictatime", "mode=755", "size=65536k", NULL}));
  json_array_append_new(mounts,
                        mount_of("/dev/pts", "devpts", "devpts",
                                 (const char *[]){"nosuid", "noexec", "newinstance",
                                                  "ptmxmode=0666", "mode=0620", "gid=5", NULL}));
  json_array_append_new(mounts, mount_of("/sys", "sysfs", "sysfs",
                                         (const char *[]){"nosuid", "noexec", "nodev", sys_ro,
                                                          NULL}));
  json_array_append_new(
      mounts, mount_of("/sys/fs/cgroup", "cgroup", "cgroup",
                       privileged ? (const char *[]){"nosuid", "noexec", "nodev", NULL}
                                  : (const char *[]){"ro", "nosuid", "noexec", "nodev", NULL}));
  json_array_append_new(mounts, mount_of("/dev/mqueue", "mqueue", "mqueue",
                                         (const char *[]){"nosuid", "noexec", "nodev", NULL}));
  json_array_append_new(
      mounts, mount_of("/dev/shm", "tmpfs", "shm",
                       (const char *[]){"nosuid", "noexec", "nodev", "mode=1777", shm_size, NULL}));
  return mounts;
}

/* ---- Devices --------------------------------------------------------------------- */

typedef struct device_rule {
  bool allow;
  char type;      /* 0: every type */
  int64_t major;  /* -1: any */
  int64_t minor;  /* -1: any */
} device_rule;

static const device_rule default_device_rules[] = {
    {false, 0, -1, -1},    /* deny everything not allowed below */
    {true, 'c', 1, 5},     /* /dev/zero */
    {true, 'c', 1, 3},     /* /dev/null */
    {true, 'c', 1, 9},     /* /dev/urandom */
    {true, 'c', 1, 8},     /* /dev/random */
    {true, 'c', 5, 0},     /* /dev/tty */
    {true, 'c', 5, 1},     /* /dev/console */
    {false, 'c', 10, 229}, /* /dev/fuse */
    /* runc appends these itself; spelled out for runtimes that do not. */
    {true, 'c', 1, 7},    /* /dev/full */
    {true, 'c', 5, 2},    /* /dev/ptmx */
    {true, 'c', 136, -1}, /* /dev/pts/N */
};

static json_t *device_rule_json(const device_rule *r) {
  json_t *rule = json_pack("{s:b}", "allow", r->allow);
  if (r->type) json_object_set_new(rule, "type", json_stringn(&r->type, 1));
  if (r->major >= 0) json_object_set_new(rule, "major", json_integer(r->major));
  if (r->minor >= 0) json_object_set_new(rule, "minor", json_integer(r->minor));
  json_object_set_new(rule, "access", json_string("rwm"));
  return rule;
}

json_t *oci_default_device_rules(bool privileged) {
  json_t *rules = json_array();
  if (privileged) {
    json_array_append_new(rules, device_rule_json(&(device_rule){true, 0, -1, -1}));
    return rules;
  }
  for (size_t i = 0; i < ARRAY_LEN(default_device_rules); i++)
    json_array_append_new(rules, device_rule_json(&default_device_rules[i]));
  return rules;
}

static int collect_devices(const char *dir_path, json_t *devices, arca_err *err) {
  DIR *dir = opendir(dir_path);
  if (!dir) return err_errno(err, 500, errno, "reading host devices in %s", dir_path);
  int rc = 0;
  struct dirent *de;
  while (rc == 0 && (de = readdir(dir))) {
    const char *name = de->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    autofree char *path = xasprintf("%s/%s", dir_path, name);
    struct stat st;
    if (lstat(path, &st) < 0) continue; /* vanished meanwhile */
    if (S_ISDIR(st.st_mode)) {
      static const char *const skipped[] = {"pts", "shm", "fd", "mqueue", ".lxc",
                                            ".lxd-mounts", ".udev"};
      bool skip = false;
      for (size_t i = 0; i < ARRAY_LEN(skipped); i++) skip |= strcmp(name, skipped[i]) == 0;
      if (!skip) rc = collect_devices(path, devices, err);
      continue;
    }
    if (strcmp(name, "console") == 0) continue;
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) continue;
    json_array_append_new(
        devices, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", path, "type",
                           S_ISCHR(st.st_mode) ? "c" : "b", "major",
                           (json_int_t)major(st.st_rdev), "minor", (json_int_t)minor(st.st_rdev),
                           "fileMode", (json_int_t)(st.st_mode & 07777), "uid",
                           (json_int_t)st.st_uid, "gid", (json_int_t)st.st_gid));
  }
  closedir(dir);
  return rc;
}

int oci_host_devices(json_t **out, arca_err *err) {
  autojson json_t *devices = json_array();
  if (collect_devices("/dev", devices, err) < 0) return -1;
  *out = steal_ptr(devices);
  return 0;
}

/* ---- Rlimits --------------------------------------------------------------------- */

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

/* containerd runs shims with RLIMIT_NOFILE raised to the kernel's usual nr_open. */
#define CONTAINERD_NOFILE 1048576

/* The host's hard limit as a JSON-representable number (jansson integers are signed). */
static int64_t host_hard_limit(int resource) {
  struct rlimit rl;
  if (getrlimit(resource, &rl) < 0 || rl.rlim_max == RLIM_INFINITY || rl.rlim_max > INT64_MAX)
    return INT64_MAX;
  return (int64_t)rl.rlim_max;
}

json_t *oci_default_rlimits(void) {
  int64_t nofile = CONTAINERD_NOFILE;
  int64_t hard = host_hard_limit(RLIMIT_NOFILE);
  if (nofile > hard) nofile = hard;
  return json_pack("[{s:s, s:I, s:I}]", "type", "RLIMIT_NOFILE", "hard", (json_int_t)nofile,
                   "soft", (json_int_t)nofile);
}

static int64_t limit_value(const json_t *v, int64_t host_hard) {
  if (!json_is_integer(v) || json_integer_value(v) < 0) return host_hard;
  int64_t value = json_integer_value(v);
  return value > host_hard ? host_hard : value;
}

int oci_rlimits_clamp(json_t *rlimits, arca_err *err) {
  size_t i;
  json_t *rl;
  json_array_foreach(rlimits, i, rl) {
    const char *type = json_string_value(json_object_get(rl, "type"));
    int resource = -1;
    for (size_t k = 0; type && k < ARRAY_LEN(rlimit_names); k++)
      if (strcmp(rlimit_names[k].name, type) == 0) resource = rlimit_names[k].resource;
    if (resource < 0) return err_set(err, 400, "invalid rlimit type: %s", type ? type : "(none)");
    int64_t host_hard = host_hard_limit(resource);
    int64_t hard = limit_value(json_object_get(rl, "hard"), host_hard);
    int64_t soft = limit_value(json_object_get(rl, "soft"), host_hard);
    if (soft > hard) soft = hard;
    json_object_set_new(rl, "hard", json_integer(hard));
    json_object_set_new(rl, "soft", json_integer(soft));
  }
  return 0;
}
