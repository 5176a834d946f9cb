/* The parts of config.json computed from HostConfig numbers and lists: linux.resources as
 * moby's WithResources, devices as WithDevices (oci.DevicesFromPath and cgroup rules),
 * rlimits as withRlimits, tmpfs options as mount.MergeTmpfsOptions. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"
#include "runtime/linux/oci_defaults.h"

static int64_t int_of(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static const char *str_of(const json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : "";
}

/* ---- resources ------------------------------------------------------------------- */

static json_t *memory_of(const json_t *hc) {
  json_t *memory = json_object();
  if (int_of(hc, "Memory") > 0)
    json_object_set_new(memory, "limit", json_integer(int_of(hc, "Memory")));
  if (int_of(hc, "MemoryReservation") > 0)
    json_object_set_new(memory, "reservation", json_integer(int_of(hc, "MemoryReservation")));
  if (int_of(hc, "MemorySwap") > 0)
    json_object_set_new(memory, "swap", json_integer(int_of(hc, "MemorySwap")));
  /* -1 (Docker's "unset") is runc's "unset" too; as uint64 it cannot be written. */
  json_t *swappiness = json_object_get(hc, "MemorySwappiness");
  if (json_is_integer(swappiness) && json_integer_value(swappiness) >= 0)
    json_object_set_new(memory, "swappiness", json_integer(json_integer_value(swappiness)));
  json_t *oom_kill_disable = json_object_get(hc, "OomKillDisable");
  if (json_is_boolean(oom_kill_disable))
    json_object_set_new(memory, "disableOOMKiller", json_boolean(json_is_true(oom_kill_disable)));
  if (int_of(hc, "KernelMemory") != 0)
    json_object_set_new(memory, "kernel", json_integer(int_of(hc, "KernelMemory")));
  if (int_of(hc, "KernelMemoryTCP") != 0)
    json_object_set_new(memory, "kernelTCP", json_integer(int_of(hc, "KernelMemoryTCP")));
  return memory;
}

static int cpu_of(const json_t *hc, json_t **out, arca_err *err) {
  int64_t shares = int_of(hc, "CpuShares");
  if (shares < 0) return err_set(err, 400, "shares: invalid argument");
  json_t *cpu = json_object();
  if (shares > 0) json_object_set_new(cpu, "shares", json_integer(shares));
  if (*str_of(hc, "CpusetCpus"))
    json_object_set_new(cpu, "cpus", json_string(str_of(hc, "CpusetCpus")));
  if (*str_of(hc, "CpusetMems"))
    json_object_set_new(cpu, "mems", json_string(str_of(hc, "CpusetMems")));
  int64_t nano = int_of(hc, "NanoCpus");
  if (nano > 0) {
    const int64_t period = 100000; /* 100ms in µs, as Docker */
    json_object_set_new(cpu, "period", json_integer(period));
    json_object_set_new(cpu, "quota", json_integer(nano * period / 1000000000LL));
  }
  if (int_of(hc, "CpuPeriod") != 0)
    json_object_set_new(cpu, "period", json_integer(int_of(hc, "CpuPeriod")));
  if (int_of(hc, "CpuQuota") != 0)
    json_object_set_new(cpu, "quota", json_integer(int_of(hc, "CpuQuota")));
  if (int_of(hc, "CpuRealtimePeriod") != 0)
    json_object_set_new(cpu, "realtimePeriod", json_integer(int_of(hc, "CpuRealtimePeriod")));
  if (int_of(hc, "CpuRealtimeRuntime") != 0)
    json_object_set_new(cpu, "realtimeRuntime", json_integer(int_of(hc, "CpuRealtimeRuntime")));
  *out = cpu;
  return 0;
}

/* [{Path, Weight|Rate}] → [{major, minor, weight|rate}] from the device node's numbers. */
static int block_devices(const json_t *list, const char *in_key, const char *out_key, json_t **out,
                         arca_err *err) {
  autojson json_t *devices = json_array();
  size_t i;
  json_t *entry;
  json_array_foreach(list, i, entry) {
    const char *path = str_of(entry, "Path");
    struct stat st;
    if (stat(path, &st) < 0) return err_errno(err, 400, errno, "stat %s", path);
    json_array_append_new(
        devices,
        json_pack("{s:I, s:I, s:I}", "major", (json_int_t)major(st.st_rdev), "minor",
                  (json_int_t)minor(st.st_rdev), out_key, (json_int_t)int_of(entry, in_key)));
  }
  *out = json_array_size(devices) ? steal_ptr(devices) : NULL;
  return 0;
}

static int block_io_of(const json_t *hc, json_t **out, arca_err *err) {
  autojson json_t *bio = json_object();
  if (int_of(hc, "BlkioWeight") != 0)
    json_object_set_new(bio, "weight", json_integer(int_of(hc, "BlkioWeight")));
  static const struct {
    const char *hc_key, *in_key, *spec_key, *out_key;
  } lists[] = {
      {"BlkioWeightDevice", "Weight", "weightDevice", "weight"},
      {"BlkioDeviceReadBps", "Rate", "throttleReadBpsDevice", "rate"},
      {"BlkioDeviceWriteBps", "Rate", "throttleWriteBpsDevice", "rate"},
      {"BlkioDeviceReadIOps", "Rate", "throttleReadIOPSDevice", "rate"},
      {"BlkioDeviceWriteIOps", "Rate", "throttleWriteIOPSDevice", "rate"},
  };
  for (size_t k = 0; k < ARRAY_LEN(lists); k++) {
    json_t *devices = NULL;
    if (block_devices(json_object_get(hc, lists[k].hc_key), lists[k].in_key, lists[k].out_key,
                      &devices, err) < 0)
      return -1;
    if (devices) json_object_set_new(bio, lists[k].spec_key, devices);
  }
  *out = steal_ptr(bio);
  return 0;
}

int lx_spec_resources(const json_t *hc, json_t **out, arca_err *err) {
  autojson json_t *res = json_object();
  json_object_set_new(res, "memory", memory_of(hc));
  json_t *cpu = NULL, *bio = NULL;
  if (cpu_of(hc, &cpu, err) < 0) return -1;
  json_object_set_new(res, "cpu", cpu);
  if (block_io_of(hc, &bio, err) < 0) return -1;
  json_object_set_new(res, "blockIO", bio);
  json_t *pids = json_object_get(hc, "PidsLimit");
  if (json_is_integer(pids)) {
    int64_t limit = json_integer_value(pids);
    /* 0 and negative values mean "unlimited", which runc spells -1. */
    json_object_set_new(res, "pids",
                        json_pack("{s:I}", "limit", (json_int_t)(limit > 0 ? limit : -1)));
  }
  *out = steal_ptr(res);
  return 0;
}

/* ---- devices --------------------------------------------------------------------- */

static json_t *device_rule(bool allow, const char *type, int64_t maj, int64_t min,
                           const char *access) {
  return json_pack("{s:b, s:s, s:I, s:I, s:s}", "allow", allow, "type", type, "major",
                   (json_int_t)maj, "minor", (json_int_t)min, "access", access);
}

int lx_spec_device_rule(const char *rule, json_t **out, arca_err *err) {
  /* ^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$ */
  const char *p = rule;
  int64_t num[2];
  char type[2] = {0};
  char *end;
  long long v;
  size_t alen;
  if (!*p || !strchr("acb", *p) || p[1] != ' ') goto bad;
  type[0] = *p;
  p += 2;
  for (int k = 0; k < 2; k++) {
    if (*p == '*') {
      num[k] = -1;
      p++;
    } else {
      if (!isdigit((unsigned char)*p)) goto bad;
      errno = 0;
      v = strtoll(p, &end, 10);
      if (errno) goto bad;
      num[k] = v;
      p = end;
    }
    if (*p != (k == 0 ? ':' : ' ')) goto bad;
    p++;
  }
  alen = strlen(p);
  if (alen < 1 || alen > 3 || strspn(p, "rwm") != alen) goto bad;
  *out = device_rule(true, type, num[0], num[1], p);
  return 0;
bad:
  return err_set(err, 400, "invalid device cgroup rule format: '%s'", rule);
}

/* devices.DeviceFromPath: a device node (after symlinks), or ENODEV for anything else. */
static int device_at(const char *host_path, const char *ctr_path, const char *perms,
                     json_t *devices, json_t *rules) {
  struct stat st;
  if (lstat(host_path, &st) < 0) return -errno;
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) return -ENODEV;
  const char *type = S_ISCHR(st.st_mode) ? "c" : "b";
  json_array_append_new(devices, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", ctr_path,
                                           "type", type, "major", (json_int_t)major(st.st_rdev),
                                           "minor", (json_int_t)minor(st.st_rdev), "fileMode",
                                           (json_int_t)(st.st_mode & 07777), "uid",
                                           (json_int_t)st.st_uid, "gid", (json_int_t)st.st_gid));
  if (rules)
    json_array_append_new(rules,
                          device_rule(true, type, major(st.st_rdev), minor(st.st_rdev), perms));
  return 0;
}

/* Every device node under a directory, mapped to the same place under ctr_dir. */
static void devices_under(const char *host_dir, const char *ctr_dir, const char *perms,
                          json_t *devices, json_t *rules) {
  DIR *dir = opendir(host_dir);
  if (!dir) return;
  struct dirent *de;
  while ((de = readdir(dir))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    autofree char *host = xasprintf("%s/%s", host_dir, de->d_name);
    autofree char *ctr = xasprintf("%s/%s", ctr_dir, de->d_name);
    struct stat st;
    if (lstat(host, &st) < 0) continue;
    if (S_ISDIR(st.st_mode))
      devices_under(host, ctr, perms, devices, rules);
    else
      device_at(host, ctr, perms, devices, rules);
  }
  closedir(dir);
}

static int devices_from_path(const char *host, const char *ctr, const char *perms, json_t *devices,
                             json_t *rules, arca_err *err) {
  autofree char *resolved = realpath(host, NULL);
  const char *path = resolved ? resolved : host;
  int rc = device_at(path, ctr, perms, devices, rules);
  if (rc == 0) return 0;
  if (rc == -ENODEV) {
    struct stat st;
    size_t before = json_array_size(devices);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
      devices_under(path, ctr, perms, devices, rules);
    if (json_array_size(devices) > before) return 0;
  }
  return err_set(err, 400,
                 "error gathering device information while adding custom device \"%s\": %s", host,
                 rc == -ENODEV ? "not a device node" : strerror(-rc));
}

int lx_spec_devices(const json_t *hc, bool privileged, json_t *devices, json_t *rules,
                    arca_err *err) {
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(hc, "Devices"), i, m) {
    const char *host = str_of(m, "PathOnHost");
    const char *ctr = *str_of(m, "PathInContainer") ? str_of(m, "PathInContainer") : host;
    const char *perms = *str_of(m, "CgroupPermissions") ? str_of(m, "CgroupPermissions") : "rwm";
    if (privileged) {
      /* Every host device is there already; only renamed ones are added, allowed by the
       * allow-all rule. */
      if (!strcmp(host, ctr)) continue;
      if (devices_from_path(host, ctr, "rwm", devices, NULL, err) < 0) return -1;
      continue;
    }
    if (devices_from_path(host, ctr, perms, devices, rules, err) < 0) return -1;
  }
  if (privileged) return 0;
  json_array_foreach(json_object_get(hc, "DeviceCgroupRules"), i, m) {
    json_t *rule = NULL;
    if (lx_spec_device_rule(json_string_value(m) ? json_string_value(m) : "", &rule, err) < 0)
      return -1;
    json_array_append_new(rules, rule);
  }
  return 0;
}

/* ---- rlimits --------------------------------------------------------------------- */

int lx_spec_rlimits(const json_t *hc, json_t **out, arca_err *err) {
  autojson json_t *rlimits = oci_default_rlimits();
  size_t i;
  json_t *ul;
  json_array_foreach(json_object_get(hc, "Ulimits"), i, ul) {
    const char *name = str_of(ul, "Name");
    autofree char *type = xasprintf("RLIMIT_%s", name);
    for (char *p = type; *p; p++) *p = (char)toupper((unsigned char)*p);
    json_t *entry =
        json_pack("{s:s, s:I, s:I}", "type", type, "hard", (json_int_t)int_of(ul, "Hard"), "soft",
                  (json_int_t)int_of(ul, "Soft"));
    size_t k;
    json_t *old;
    bool replaced = false;
    json_array_foreach(rlimits, k, old) {
      if (strcmp(str_of(old, "type"), type) == 0) {
        json_array_set_new(rlimits, k, entry);
        replaced = true;
        break;
      }
    }
    if (!replaced) json_array_append_new(rlimits, entry);
  }
  if (oci_rlimits_clamp(rlimits, err) < 0) return -1;
  *out = steal_ptr(rlimits);
  return 0;
}

/* ---- tmpfs ----------------------------------------------------------------------- */

/* Option names of mount(8) flags, keyed as moby/sys/mount does: a flag and its negation
 * share a key; every propagation flag shares one. */
static int tmpfs_flag_key(const char *opt) {
  static const struct {
    const char *name;
    int key;
  } flags[] = {
      {"ro", 1},           {"rw", 1},
      {"suid", 2},         {"nosuid", 2},
      {"dev", 3},          {"nodev", 3},
      {"exec", 4},         {"noexec", 4},
      {"sync", 5},         {"async", 5},
      {"dirsync", 6},      {"remount", 7},
      {"mand", 8},         {"nomand", 8},
      {"atime", 9},        {"noatime", 9},
      {"diratime", 10},    {"nodiratime", 10},
      {"relatime", 11},    {"norelatime", 11},
      {"strictatime", 12}, {"nostrictatime", 12},
      {"bind", -1},        {"rbind", -1},
      {"unbindable", -1},  {"runbindable", -1},
      {"private", -1},     {"rprivate", -1},
      {"shared", -1},      {"rshared", -1},
      {"slave", -1},       {"rslave", -1},
  };
  for (size_t i = 0; i < ARRAY_LEN(flags); i++)
    if (!strcmp(flags[i].name, opt)) return flags[i].key;
  return 0;
}

int lx_spec_tmpfs_options(const char *data, json_t **out, arca_err *err) {
  autojson json_t *opts = json_pack("[s,s,s,s]", "noexec", "nosuid", "nodev", "rprivate");
  if (data && *data) {
    autofree char *copy = xstrdup(data);
    for (char *p = copy;;) {
      char *comma = strchr(p, ',');
      if (comma) *comma = '\0';
      json_array_append_new(opts, json_string(p));
      if (!comma) break;
      p = comma + 1;
    }
  }
  /* From the last option back: the last of each kind wins, order otherwise kept. */
  autojson json_t *merged = json_array();
  autojson json_t *seen = json_object();
  for (size_t i = json_array_size(opts); i > 0; i--) {
    const char *opt = json_string_value(json_array_get(opts, i - 1));
    if (!strcmp(opt, "defaults")) continue;
    char key[64];
    int flag = tmpfs_flag_key(opt);
    if (flag != 0) {
      snprintf(key, sizeof key, "flag:%d", flag);
    } else {
      const char *eq = strchr(opt, '=');
      static const char *const data_keys[] = {"",    "size",      "mode",      "uid",
                                              "gid", "nr_inodes", "nr_blocks", "mpol"};
      size_t klen = eq ? (size_t)(eq - opt) : strlen(opt);
      bool valid = false;
      for (size_t k = 0; eq && k < ARRAY_LEN(data_keys); k++)
        valid |= strlen(data_keys[k]) == klen && !strncmp(data_keys[k], opt, klen);
      if (!valid) return err_set(err, 400, "invalid tmpfs option \"%.*s\"", (int)klen, opt);
      snprintf(key, sizeof key, "data:%.*s", (int)klen, opt);
    }
    if (json_object_get(seen, key)) continue;
    json_object_set_new(seen, key, json_true());
    json_array_insert_new(merged, 0, json_string(opt));
  }
  *out = steal_ptr(merged);
  return 0;
}
