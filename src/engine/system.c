/* Docker's system documents: /version, /info, /system/df. */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "engine/build.h"
#include "engine/engine.h"
#include "engine/volumes.h"

#define ARCA_PLATFORM "Arca"

static const char *compiler(void) {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "C17";
#endif
}

json_t *engine_version_json(engine *e) {
  const host_info *h = &e->host;
  json_t *details = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ApiVersion", "1.51", "Arch", h->go_arch,
      "BuildTime", ARCA_BUILD_TIME, "Experimental", "false", "GitCommit", ARCA_GIT_COMMIT,
      "GoVersion", compiler(), "KernelVersion", h->kernel_version, "MinAPIVersion", "1.24", "Os", "linux");
  json_t *components = json_array();
  json_array_append_new(components, json_pack("{s:s,s:s,s:o}", "Name", "Engine", "Version",
                                              ARCA_VERSION, "Details", details));
  return json_pack("{s:{s:s},s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Platform", "Name",
                   ARCA_PLATFORM, "Components", components, "Version", ARCA_VERSION,
                   "ApiVersion", "1.51", "MinAPIVersion", "1.24", "GitCommit", ARCA_GIT_COMMIT,
                   "GoVersion", compiler(), "Os", "linux", "Arch", h->go_arch, "KernelVersion",
                   h->kernel_version, "BuildTime", ARCA_BUILD_TIME);
}

static json_t *strlist_json(const strlist *l) {
  json_t *a = json_array();
  for (size_t i = 0; i < l->n; i++) json_array_append_new(a, json_string(l->v[i]));
  return a;
}

static json_t *registry_config(engine *e) {
  json_t *cidrs = json_array();
  json_t *index = json_object();
  /* Loopback is always insecure, as in Docker. */
  json_array_append_new(cidrs, json_string("::1/128"));
  json_array_append_new(cidrs, json_string("127.0.0.0/8"));
  for (size_t i = 0; i < e->cfg.insecure_registries.n; i++) {
    const char *r = e->cfg.insecure_registries.v[i];
    if (strchr(r, '/')) json_array_append_new(cidrs, json_string(r));
    else
      json_object_set_new(index, r, json_pack("{s:s,s:[],s:b,s:b}", "Name", r, "Mirrors", "Secure", 0, "Official", 0));
  }
  json_object_set_new(index, "docker.io",
                      json_pack("{s:s,s:o,s:b,s:b}", "Name", "docker.io", "Mirrors",
                                strlist_json(&e->cfg.registry_mirrors), "Secure", 1, "Official", 1));
  return json_pack("{s:o,s:o,s:o}", "InsecureRegistryCIDRs", cidrs, "IndexConfigs", index,
                   "Mirrors", strlist_json(&e->cfg.registry_mirrors));
}

static json_t *address_pools(engine *e) {
  json_t *a = json_array();
  for (size_t i = 0; i < e->cfg.n_address_pools; i++)
    json_array_append_new(a, json_pack("{s:s,s:i}", "Base", e->cfg.address_pools[i].base, "Size",
                                       e->cfg.address_pools[i].size));
  return a;
}

json_t *engine_info_json(engine *e) {
  const host_info *h = &e->host;
  char now[64];
  format_rfc3339nano(now_ns(), now, sizeof now);
  pthread_rwlock_rdlock(&e->cfg_lock);
  json_t *j = json_object();
  json_object_set_new(j, "ID", json_string(e->id));
  int total, running, paused, stopped;
  containers_counts(e, &total, &running, &paused, &stopped);
  json_object_set_new(j, "Containers", json_integer(total));
  json_object_set_new(j, "ContainersRunning", json_integer(running));
  json_object_set_new(j, "ContainersPaused", json_integer(paused));
  json_object_set_new(j, "ContainersStopped", json_integer(stopped));
  json_object_set_new(j, "Images", json_integer((json_int_t)images_count(e)));
  json_object_set_new(j, "Driver", json_string("overlay2"));
  json_object_set_new(j, "DriverStatus",
                      json_pack("[[s,s],[s,s],[s,s],[s,s],[s,s]]", "Backing Filesystem", h->backing_fs,
                                "Supports d_type", "true", "Using metacopy", "false",
                                "Native Overlay Diff", "true", "userxattr", "false"));
  json_object_set_new(j, "DockerRootDir", json_string(e->cfg.data_root));
  json_object_set_new(j, "Plugins",
                      json_pack("{s:[s],s:[s,s,s],s:n,s:[s]}", "Volume", "local", "Network", "bridge",
                                "host", "null", "Authorization", "Log", "json-file"));
  json_object_set_new(j, "MemoryLimit", json_boolean(h->memory_limit));
  json_object_set_new(j, "SwapLimit", json_boolean(h->swap_limit));
  json_object_set_new(j, "KernelMemoryTCP", json_false());
  json_object_set_new(j, "CpuCfsPeriod", json_boolean(h->cpu_cfs_period));
  json_object_set_new(j, "CpuCfsQuota", json_boolean(h->cpu_cfs_quota));
  json_object_set_new(j, "CPUShares", json_boolean(h->cpu_shares));
  json_object_set_new(j, "CPUSet", json_boolean(h->cpuset));
  json_object_set_new(j, "PidsLimit", json_boolean(h->pids_limit));
  json_object_set_new(j, "OomKillDisable", json_boolean(h->cgroup_version == 1 && h->memory_limit));
  json_object_set_new(j, "IPv4Forwarding", json_boolean(h->ipv4_forwarding));
  json_object_set_new(j, "Debug", json_boolean(e->cfg.debug));
  json_object_set_new(j, "NFd", json_integer(host_count_fds()));
  json_object_set_new(j, "NGoroutines", json_integer(host_count_threads()));
  json_object_set_new(j, "SystemTime", json_string(now));
  json_object_set_new(j, "LoggingDriver", json_string("json-file"));
  json_object_set_new(j, "CgroupDriver", json_string("cgroupfs"));
  json_object_set_new(j, "CgroupVersion", json_sprintf("%d", h->cgroup_version));
  json_object_set_new(j, "NEventsListener", json_integer((json_int_t)events_subscriber_count(e->events)));
  json_object_set_new(j, "KernelVersion", json_string(h->kernel_version));
  json_object_set_new(j, "OperatingSystem", json_string(h->operating_system));
  json_object_set_new(j, "OSVersion", json_string(h->os_version));
  json_object_set_new(j, "OSType", json_string("linux"));
  json_object_set_new(j, "Architecture", json_string(h->architecture));
  json_object_set_new(j, "NCPU", json_integer(h->ncpu));
  json_object_set_new(j, "MemTotal", json_integer(h->mem_total));
  json_object_set_new(j, "IndexServerAddress", json_string("https://index.docker.io/v1/"));
  json_object_set_new(j, "RegistryConfig", registry_config(e));
  json_object_set_new(j, "GenericResources", json_null());
  const char *hp = getenv("HTTP_PROXY"), *hsp = getenv("HTTPS_PROXY"), *np = getenv("NO_PROXY");
  json_object_set_new(j, "HttpProxy", json_string(hp ? hp : ""));
  json_object_set_new(j, "HttpsProxy", json_string(hsp ? hsp : ""));
  json_object_set_new(j, "NoProxy", json_string(np ? np : ""));
  json_object_set_new(j, "Name", json_string(h->hostname));
  json_object_set_new(j, "Labels", strlist_json(&e->cfg.labels));
  json_object_set_new(j, "ExperimentalBuild", json_false());
  json_object_set_new(j, "ServerVersion", json_string(ARCA_VERSION));
  json_t *runtimes = json_object();
  json_object_set_new(runtimes, "runc", json_pack("{s:s}", "path", "runc"));
  json_object_set_new(runtimes, "crun", json_pack("{s:s}", "path", "crun"));
  json_object_set_new(j, "Runtimes", runtimes);
  json_object_set_new(j, "DefaultRuntime", json_string(e->cfg.runtime));
  json_object_set_new(j, "Swarm", json_pack("{s:s,s:s,s:s,s:b,s:s,s:n}", "NodeID", "", "NodeAddr", "",
                                            "LocalNodeState", "inactive", "ControlAvailable", 0,
                                            "Error", "", "RemoteManagers"));
  json_object_set_new(j, "LiveRestoreEnabled", json_true()); /* containers outlive the daemon */
  json_object_set_new(j, "Isolation", json_string(""));
  json_object_set_new(j, "InitBinary", json_string("tini"));
  json_object_set_new(j, "ContainerdCommit", json_pack("{s:s}", "ID", ""));
  json_object_set_new(j, "RuncCommit", json_pack("{s:s}", "ID", e->prereq.runtime_version));
  json_object_set_new(j, "InitCommit", json_pack("{s:s}", "ID", ""));
  json_t *secopts = json_array();
  json_array_append_new(secopts, json_string("name=seccomp,profile=builtin"));
  if (h->cgroup_version == 2) json_array_append_new(secopts, json_string("name=cgroupns"));
  json_object_set_new(j, "SecurityOptions", secopts);
  json_object_set_new(j, "ProductLicense", json_string("Apache-2.0"));
  json_object_set_new(j, "DefaultAddressPools", address_pools(e));
  json_object_set_new(j, "FirewallBackend", json_pack("{s:s}", "Driver", "iptables"));
  json_object_set_new(j, "CDISpecDirs", json_array());
  json_t *warnings = json_array();
  if (!h->swap_limit) json_array_append_new(warnings, json_string("WARNING: No swap limit support"));
  if (h->cgroup_version == 1)
    json_array_append_new(warnings, json_string("WARNING: Support for cgroup v1 is deprecated and planned to be removed by no later than May 2029 (https://github.com/moby/moby/issues/51111)"));
  json_object_set_new(j, "Warnings", warnings);
  pthread_rwlock_unlock(&e->cfg_lock);
  return j;
}

json_t *engine_df_json(engine *e, int types, bool unused) {
  (void)unused;
  json_t *j = json_object();
  if (!types) types = SYSTEM_DF_CONTAINERS | SYSTEM_DF_IMAGES | SYSTEM_DF_VOLUMES | SYSTEM_DF_BUILD_CACHE;
  if (types & SYSTEM_DF_IMAGES) {
    int64_t layers = 0;
    json_t *images = images_df_json(e, &layers);
    json_object_set_new(j, "LayersSize", json_integer(layers));
    json_object_set_new(j, "Images", images);
  }
  if (types & SYSTEM_DF_CONTAINERS) json_object_set_new(j, "Containers", json_array());
  if (types & SYSTEM_DF_VOLUMES) json_object_set_new(j, "Volumes", volumes_df_json(e));
  if (types & SYSTEM_DF_BUILD_CACHE) json_object_set_new(j, "BuildCache", build_cache_df_json(e));
  return j;
}
