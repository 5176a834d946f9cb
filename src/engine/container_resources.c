/* Resource limits: dockerd's verifyPlatformContainerResources (create and update) and the
 * way an update is applied onto a container's HostConfig (container_unix.go
 * UpdateContainer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "engine/container_config_internal.h"

/* It's not a kernel limit: dockerd wants room for a functional container. */
#define LINUX_MIN_MEMORY ((int64_t)6291456)
/* dockerd's bound on cpuset values (CVE-2018-20699), unless the host has more CPUs. */
#define DEFAULT_MAX_CPUS 8192

static bool has(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return v && !json_is_null(v);
}

/* parseUintList: "0-2,4"; NULL set to only parse. Fails with dockerd's texts. */
static int parse_uint_list(const char *val, int maximum, unsigned char *set, arca_err *err) {
  if (!*val) return 0;
  autofree char *dup = xstrdup(val);
  char *cur = dup;
  for (;;) {
    char *comma = strchr(cur, ',');
    if (comma) *comma = '\0';
    int64_t lo, hi;
    char *dash = strchr(cur, '-');
    if (!dash) {
      if (!go_atoi(cur, &lo)) return err_set(err, 400, "invalid format: %s", val);
      hi = lo;
    } else {
      *dash = '\0';
      if (!go_atoi(cur, &lo) || !go_atoi(dash + 1, &hi) || hi < lo)
        return err_set(err, 400, "invalid format: %s", val);
    }
    if (maximum != 0 && hi > maximum)
      return err_set(err, 400, "value of out range, maximum is %d", maximum);
    if (set)
      for (int64_t i = lo < 0 ? 0 : lo; i <= hi && i <= maximum; i++) set[i] = 1;
    if (!comma) break;
    cur = comma + 1;
  }
  return 0;
}

/* isCpusetListAvailable */
static int cpuset_available(const char *requested, const char *available, bool *ok,
                            arca_err *err) {
  *ok = true;
  int maximum = DEFAULT_MAX_CPUS;
  autofree unsigned char *avail = xcalloc(DEFAULT_MAX_CPUS + 1, 1);
  arca_err ignored;
  if (parse_uint_list(available, DEFAULT_MAX_CPUS, avail, &ignored) < 0) return 0;
  autofree unsigned char *req = xcalloc((size_t)maximum + 1, 1);
  if (parse_uint_list(requested, maximum, req, err) < 0) return -1;
  for (int i = 0; i <= maximum; i++)
    if (req[i] && !avail[i]) *ok = false;
  return 0;
}

int container_resources_verify(json_t *r, const host_limits *h, bool update,
                               json_t *warnings, arca_err *err) {
  /* fixMemorySwappiness: -1 means "not set" */
  if (has(r, "MemorySwappiness") && cc_int(r, "MemorySwappiness") == -1)
    json_object_set_new(r, "MemorySwappiness", json_null());

  int64_t memory = cc_int(r, "Memory");
  if (memory != 0 && memory < LINUX_MIN_MEMORY)
    return err_set(err, 400, "Minimum memory limit allowed is 6MB");
  if (memory > 0 && !h->memory) {
    cc_warn(warnings, "Your kernel does not support memory limit capabilities or the cgroup "
                      "is not mounted. Limitation discarded.");
    cc_set_int(r, "Memory", 0);
    cc_set_int(r, "MemorySwap", -1);
    memory = 0;
  }
  if (memory > 0 && cc_int(r, "MemorySwap") != -1 && !h->swap) {
    cc_warn(warnings, "Your kernel does not support swap limit capabilities or the cgroup is "
                      "not mounted. Memory limited without swap.");
    cc_set_int(r, "MemorySwap", -1);
  }
  int64_t swap = cc_int(r, "MemorySwap");
  if (memory > 0 && swap > 0 && swap < memory)
    return err_set(err, 400,
                   "Minimum memoryswap limit should be larger than memory limit, see usage");
  if (memory == 0 && swap > 0 && !update)
    return err_set(err, 400, "You should always set the Memory limit when using Memoryswap "
                             "limit, see usage");
  if (has(r, "MemorySwappiness") && !h->memory_swappiness) {
    cc_warn(warnings, "Your kernel does not support memory swappiness capabilities or the "
                      "cgroup is not mounted. Memory swappiness discarded.");
    json_object_set_new(r, "MemorySwappiness", json_null());
  }
  if (has(r, "MemorySwappiness")) {
    int64_t s = cc_int(r, "MemorySwappiness");
    if (s < 0 || s > 100)
      return err_set(err, 400, "Invalid value: %lld, valid memory swappiness range is 0-100",
                     (long long)s);
  }
  if (cc_int(r, "MemoryReservation") > 0 && !h->memory_reservation) {
    cc_warn(warnings, "Your kernel does not support memory soft limit capabilities or the "
                      "cgroup is not mounted. Limitation discarded.");
    cc_set_int(r, "MemoryReservation", 0);
  }
  int64_t reservation = cc_int(r, "MemoryReservation");
  if (reservation > 0 && reservation < LINUX_MIN_MEMORY)
    return err_set(err, 400, "Minimum memory reservation allowed is 6MB");
  if (memory > 0 && reservation > 0 && memory < reservation)
    return err_set(err, 400, "Minimum memory limit can not be less than memory reservation "
                             "limit, see usage");
  if (cc_int(r, "KernelMemory") > 0) {
    if (!h->kernel_memory) {
      cc_warn(warnings, "Your kernel does not support kernel memory limit capabilities or the "
                        "cgroup is not mounted. Limitation discarded.");
      cc_set_int(r, "KernelMemory", 0);
    }
    int64_t kmem = cc_int(r, "KernelMemory");
    if (kmem > 0 && kmem < LINUX_MIN_MEMORY)
      return err_set(err, 400, "Minimum kernel memory limit allowed is 6MB");
  }
  if (has(r, "OomKillDisable") && !h->oom_kill_disable) {
    if (cc_bool(r, "OomKillDisable"))
      cc_warn(warnings, "Your kernel does not support OomKillDisable. OomKillDisable "
                        "discarded.");
    json_object_set_new(r, "OomKillDisable", json_null());
  }
  if (cc_bool(r, "OomKillDisable") && memory == 0)
    cc_warn(warnings, "OOM killer is disabled for the container, but no memory limit is set, "
                      "this can result in the system running out of resources.");
  if (has(r, "PidsLimit") && !h->pids) {
    if (cc_int(r, "PidsLimit") > 0)
      cc_warn(warnings, "Your kernel does not support PIDs limit capabilities or the cgroup is "
                        "not mounted. PIDs limit discarded.");
    json_object_set_new(r, "PidsLimit", json_null());
  }

  /* cpu */
  int64_t nano = cc_int(r, "NanoCpus");
  if (nano > 0 && cc_int(r, "CpuPeriod") > 0)
    return err_set(err, 400, "Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (nano > 0 && cc_int(r, "CpuQuota") > 0)
    return err_set(err, 400, "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  if (nano > 0 && !h->cpu_cfs)
    return err_set(err, 400, "NanoCPUs can not be set, as your kernel does not support CPU CFS "
                             "scheduler or the cgroup is not mounted");
  if (nano != 0 && (nano < 0 || nano > (int64_t)h->ncpu * 1000000000))
    return err_set(err, 400,
                   "range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available",
                   h->ncpu, h->ncpu);
  if (cc_int(r, "CpuShares") > 0 && !h->cpu_shares) {
    cc_warn(warnings,
            "Your kernel does not support CPU shares or the cgroup is not mounted. Shares "
            "discarded.");
    cc_set_int(r, "CpuShares", 0);
  }
  if ((cc_int(r, "CpuPeriod") != 0 || cc_int(r, "CpuQuota") != 0) && !h->cpu_cfs) {
    cc_warn(warnings,
            "Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.");
    cc_set_int(r, "CpuPeriod", 0);
    cc_set_int(r, "CpuQuota", 0);
  }
  int64_t period = cc_int(r, "CpuPeriod");
  if (period != 0 && (period < 1000 || period > 1000000))
    return err_set(err, 400, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
                             "than 1s (i.e. 1000000)");
  int64_t quota = cc_int(r, "CpuQuota");
  if (quota > 0 && quota < 1000)
    return err_set(err, 400, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (cc_int(r, "CpuPercent") > 0) {
    cc_warn(warnings, "linux does not support CPU percent. Percent discarded.");
    cc_set_int(r, "CpuPercent", 0);
  }

  /* cpuset */
  if ((*cc_str(r, "CpusetCpus") || *cc_str(r, "CpusetMems")) && !h->cpuset) {
    cc_warn(warnings,
            "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset "
            "discarded.");
    cc_set_str(r, "CpusetCpus", "");
    cc_set_str(r, "CpusetMems", "");
  }
  char cpus_buf[32];
  const char *cpus = h->cpuset_cpus;
  if (!*cpus) {
    if (h->ncpu > 1)
      snprintf(cpus_buf, sizeof cpus_buf, "0-%d", h->ncpu - 1);
    else
      snprintf(cpus_buf, sizeof cpus_buf, "0");
    cpus = cpus_buf;
  }
  const char *mems = *h->cpuset_mems ? h->cpuset_mems : "0";
  bool ok;
  const char *req_cpus = cc_str(r, "CpusetCpus");
  if (cpuset_available(req_cpus, cpus, &ok, err) < 0)
    return err_wrap(err, "Invalid value %s for cpuset cpus", req_cpus);
  if (!ok)
    return err_set(err, 400, "Requested CPUs are not available - requested %s, available: %s",
                   req_cpus, cpus);
  /* dockerd checks memory nodes against the CPU list (sysinfo reads cpuset.cpus for both) */
  const char *req_mems = cc_str(r, "CpusetMems");
  if (cpuset_available(req_mems, cpus, &ok, err) < 0)
    return err_wrap(err, "Invalid value %s for cpuset mems", req_mems);
  if (!ok)
    return err_set(err, 400,
                   "Requested memory nodes are not available - requested %s, available: %s",
                   req_mems, mems);

  /* blkio */
  if (cc_int(r, "BlkioWeight") > 0 && !h->blkio) {
    cc_warn(warnings, "Your kernel does not support Block I/O weight or the cgroup is not "
                      "mounted. Weight discarded.");
    cc_set_int(r, "BlkioWeight", 0);
  }
  int64_t weight = cc_int(r, "BlkioWeight");
  if (weight > 0 && (weight < 10 || weight > 1000))
    return err_set(err, 400, "Range of blkio weight is from 10 to 1000");
  if (cc_int(r, "IOMaximumBandwidth") != 0 || cc_int(r, "IOMaximumIOps") != 0)
    return err_set(err, 400, "Invalid QoS settings: linux does not support Maximum IO "
                             "Bandwidth or Maximum IO IOps");
  static const struct {
    const char *key;
    bool weight_device;
    const char *warning;
  } devs[] = {
      {"BlkioWeightDevice", true,
       "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. "
       "Weight-device discarded."},
      {"BlkioDeviceReadBps", false,
       "Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. "
       "Block I/O BPS read limit discarded."},
      {"BlkioDeviceWriteBps", false,
       "Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. "
       "Block I/O BPS write limit discarded."},
      {"BlkioDeviceReadIOps", false,
       "Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block "
       "I/O IOPS read limit discarded."},
      {"BlkioDeviceWriteIOps", false,
       "Your kernel does not support IOPS Block write limit or the cgroup is not mounted. "
       "Block I/O IOPS write limit discarded."},
  };
  for (size_t i = 0; i < ARRAY_LEN(devs); i++) {
    bool supported = devs[i].weight_device ? h->blkio_weight_device : h->blkio_throttle;
    if (cc_len(r, devs[i].key) > 0 && !supported) {
      cc_warn(warnings, devs[i].warning);
      json_object_set_new(r, devs[i].key, json_array());
    }
  }
  return 0;
}

/* ---- Update ------------------------------------------------------------------------ */

static int conflict(arca_err *err, const char *id, const char *msg) {
  return err_set(err, 409, "Cannot update container %s: %s", id, msg);
}

int container_update_apply(json_t *hc, const json_t *update, const host_limits *h,
                           const char *container_id, int api_minor, json_t *warnings,
                           arca_err *err) {
  autojson json_t *u = NULL;
  if (container_update_decode(update, &u, err) < 0) return -1;
  if (api_minor < 40) json_object_del(u, "PidsLimit");
  if (api_minor >= 42) json_object_del(u, "KernelMemory");
  /* 0 and -1 both mean "unlimited" when updating; any negative value did historically */
  if (has(u, "PidsLimit") && cc_int(u, "PidsLimit") <= 0) cc_set_int(u, "PidsLimit", 0);

  /* verifyContainerSettings(update=true) runs on a HostConfig holding only these */
  autojson json_t *warns = json_array();
  if (container_hostconfig_verify(u, h, true, warns, err) < 0) return -1;

  const json_t *cur = hc;
  const char *id = container_id ? container_id : "";
  if (cc_int(u, "NanoCpus") > 0 && cc_int(cur, "CpuPeriod") > 0)
    return conflict(err, id, "Conflicting options: Nano CPUs cannot be updated as CPU Period "
                             "has already been set");
  if (cc_int(u, "NanoCpus") > 0 && cc_int(cur, "CpuQuota") > 0)
    return conflict(err, id, "Conflicting options: Nano CPUs cannot be updated as CPU Quota "
                             "has already been set");
  if (cc_int(u, "CpuPeriod") > 0 && cc_int(cur, "NanoCpus") > 0)
    return conflict(err, id, "Conflicting options: CPU Period cannot be updated as NanoCPUs "
                             "has already been set");
  if (cc_int(u, "CpuQuota") > 0 && cc_int(cur, "NanoCpus") > 0)
    return conflict(err, id, "Conflicting options: CPU Quota cannot be updated as NanoCPUs has "
                             "already been set");
  if (cc_int(u, "Memory") != 0 && cc_int(u, "Memory") > cc_int(cur, "MemorySwap") &&
      cc_int(u, "MemorySwap") == 0)
    return conflict(err, id, "Memory limit should be smaller than already set memoryswap "
                             "limit, update the memoryswap at the same time");
  const json_t *rp = cc_obj(u, "RestartPolicy");
  const char *rp_name = cc_str(rp, "Name");
  if (*rp_name && cc_bool(cur, "AutoRemove") && strcmp(rp_name, "no") != 0)
    return conflict(err, id, "Restart policy cannot be updated because AutoRemove is enabled "
                             "for the container");

  /* nothing can fail from here: apply what is set */
  static const char *const int_keys[] = {
      "BlkioWeight", "CpuShares",         "NanoCpus",          "CpuPeriod",
      "CpuQuota",    "Memory",            "MemorySwap",        "MemoryReservation",
      "KernelMemory", "CpuRealtimePeriod", "CpuRealtimeRuntime"};
  for (size_t i = 0; i < ARRAY_LEN(int_keys); i++)
    if (cc_int(u, int_keys[i]) != 0) cc_set_int(hc, int_keys[i], cc_int(u, int_keys[i]));
  if (*cc_str(u, "CpusetCpus")) cc_set_str(hc, "CpusetCpus", cc_str(u, "CpusetCpus"));
  if (*cc_str(u, "CpusetMems")) cc_set_str(hc, "CpusetMems", cc_str(u, "CpusetMems"));
  if (has(u, "PidsLimit")) cc_set_int(hc, "PidsLimit", cc_int(u, "PidsLimit"));
  if (*rp_name)
    json_object_set_new(hc, "RestartPolicy",
                        json_pack("{s:s, s:I}", "Name", rp_name, "MaximumRetryCount",
                                  (json_int_t)cc_int(rp, "MaximumRetryCount")));
  if (warnings) json_array_extend(warnings, warns);
  return 0;
}
