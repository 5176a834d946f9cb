/* POST /containers/create as dockerd 28 checks and adapts it, in dockerd's order:
 *
 *   1. decode (Go's types)                          runconfig.decodeContainerConfig
 *   2. network/UTS conflicts, isolation, QoS, realtime, CPU shares (only with a HostConfig)
 *   3. "config cannot be empty"; NetworkMode default → "bridge"      create route
 *   4. per-API-version adaptations, MAC address and sysctl migration, PidsLimit <= 0
 *   5. RestartPolicy "" → "no"; Config checks; HostConfig checks; resources
 *                                                   daemon.containerCreate/verify...
 *   6. endpoint settings                            validateNetworkingConfig
 *   7. defaults                                     adaptContainerSettings
 *   8. log config, security options, mounts         daemon.create
 *
 * The first failing check decides the answer, so the order matters as much as the texts. */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "engine/container_config_internal.h"

#define DEFAULT_SHM_SIZE ((int64_t)64 * 1024 * 1024)

void host_limits_init(host_limits *h, int cgroup_version, int ncpu, int64_t mem_total) {
  memset(h, 0, sizeof *h);
  h->ncpu = ncpu > 0 ? ncpu : 1;
  h->mem_total = mem_total;
  h->cgroup_version = cgroup_version == 1 ? 1 : 2;
  bool v1 = h->cgroup_version == 1;
  h->memory = h->swap = h->memory_reservation = true;
  h->memory_swappiness = h->kernel_memory = h->oom_kill_disable = v1;
  h->cpu_cfs = h->cpu_shares = h->cpuset = h->pids = true;
  h->cpu_realtime = false; /* needs cpu.rt_* files, which hosts rarely have */
  h->blkio = h->blkio_weight_device = h->blkio_throttle = true;
  h->cgroup_namespaces = true;
  h->ipv4_forwarding = true;
}

void host_limits_from_host_info(host_limits *h, const host_info *hi) {
  host_limits_init(h, hi->cgroup_version, hi->ncpu, hi->mem_total);
  h->memory = h->memory_reservation = hi->memory_limit;
  h->swap = hi->swap_limit;
  h->cpu_cfs = hi->cpu_cfs_period && hi->cpu_cfs_quota;
  h->cpu_shares = hi->cpu_shares;
  h->cpuset = hi->cpuset;
  h->pids = hi->pids_limit;
  h->ipv4_forwarding = hi->ipv4_forwarding;
}

void container_create_spec_free(container_create_spec *s) {
  if (!s) return;
  json_decref(s->config);
  json_decref(s->host_config);
  json_decref(s->networking_config);
  json_decref(s->warnings);
  memset(s, 0, sizeof *s);
}

static bool present(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return v && !json_is_null(v);
}

/* An object at key, created when absent or null. */
static json_t *object_at(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  if (!json_is_object(v)) {
    v = json_object();
    json_object_set_new(o, key, v);
  }
  return v;
}

void container_hostconfig_defaults(json_t *hc, const char *default_runtime, int cgroup_version) {
  const char *net = cc_str(hc, "NetworkMode");
  if (!*net || !strcmp(net, "default")) cc_set_str(hc, "NetworkMode", "bridge");
  json_t *rp = object_at(hc, "RestartPolicy");
  if (!*cc_str(rp, "Name")) cc_set_str(rp, "Name", "no");
  if (!present(rp, "MaximumRetryCount")) cc_set_int(rp, "MaximumRetryCount", 0);
  json_t *lc = object_at(hc, "LogConfig");
  if (!*cc_str(lc, "Type")) cc_set_str(lc, "Type", "json-file");
  object_at(lc, "Config");
  if (!present(hc, "PortBindings")) json_object_set_new(hc, "PortBindings", json_object());
  int64_t memory = cc_int(hc, "Memory");
  if (memory > 0 && cc_int(hc, "MemorySwap") == 0) cc_set_int(hc, "MemorySwap", memory * 2);
  if (cc_int(hc, "ShmSize") == 0) cc_set_int(hc, "ShmSize", DEFAULT_SHM_SIZE);
  if (!*cc_str(hc, "IpcMode")) cc_set_str(hc, "IpcMode", "private");
  if (!*cc_str(hc, "CgroupnsMode")) {
    /* cgroup v1 keeps privileged containers (and by daemon default, all) in the host's */
    bool v1 = cgroup_version == 1;
    cc_set_str(hc, "CgroupnsMode", v1 ? "host" : "private");
  }
  if (!present(hc, "OomKillDisable")) json_object_set_new(hc, "OomKillDisable", json_false());
  if (!*cc_str(hc, "Runtime"))
    cc_set_str(hc, "Runtime", default_runtime ? default_runtime : "runc");
  if (!json_is_array(json_object_get(hc, "ConsoleSize")))
    json_object_set_new(hc, "ConsoleSize", json_pack("[i,i]", 0, 0));
  if (present(hc, "PidsLimit") && cc_int(hc, "PidsLimit") <= 0)
    json_object_set_new(hc, "PidsLimit", json_null());
}

/* The create route's adaptations to the client's API version (1.api_minor). */
static int version_adapt(json_t *cfg, json_t *hc, json_t *eps, int api_minor, bool cgroup_v1,
                         json_t *warnings, arca_err *err) {
  json_t *mounts = json_object_get(hc, "Mounts");
  size_t i;
  json_t *m;
  if (api_minor < 25) json_object_set_new(hc, "AutoRemove", json_false());
  if (api_minor < 40) {
    json_array_foreach(mounts, i, m) {
      json_t *bo = json_object_get(m, "BindOptions");
      if (json_is_object(bo)) json_object_del(bo, "NonRecursive");
    }
    json_object_del(hc, "KernelMemoryTCP");
    if (!*cc_str(hc, "IpcMode")) cc_set_str(hc, "IpcMode", "shareable");
  }
  if (api_minor < 41 && cgroup_v1 && !*cc_str(hc, "CgroupnsMode"))
    cc_set_str(hc, "CgroupnsMode", "host");
  if (api_minor < 42) {
    json_array_foreach(mounts, i, m) {
      const char *type = cc_str(m, "Type");
      json_t *bo = json_object_get(m, "BindOptions");
      if (json_is_object(bo)) json_object_del(bo, "CreateMountpoint");
      if (present(m, "VolumeOptions") && strcmp(type, "volume") != 0)
        json_object_del(m, "VolumeOptions");
      if (present(m, "TmpfsOptions") && strcmp(type, "tmpfs") != 0)
        json_object_del(m, "TmpfsOptions");
    }
    json_object_set_new(hc, "ConsoleSize", json_pack("[i,i]", 0, 0));
  } else {
    json_object_del(hc, "KernelMemory");
    json_array_foreach(mounts, i, m) {
      const char *type = cc_str(m, "Type");
      static const struct {
        const char *key, *type;
      } only[] = {{"VolumeOptions", "volume"}, {"BindOptions", "bind"}, {"TmpfsOptions", "tmpfs"}};
      for (size_t k = 0; k < ARRAY_LEN(only); k++)
        if (present(m, only[k].key) && strcmp(type, only[k].type) != 0) {
          autofree char *q = go_quote(type);
          return err_set(err, 400, "%s must not be specified on mount type %s", only[k].key, q);
        }
    }
  }
  if (api_minor < 43) json_object_del(hc, "Annotations");
  if (api_minor < 44) {
    json_t *health = json_object_get(cfg, "Healthcheck");
    if (json_is_object(health)) json_object_del(health, "StartInterval");
    json_array_foreach(mounts, i, m) {
      if (!strcmp(cc_str(m, "Type"), "bind") &&
          cc_bool(cc_obj(m, "BindOptions"), "ReadOnlyForceRecursive"))
        return err_set(err, 400, "BindOptions.ReadOnlyForceRecursive needs API v1.44 or newer");
    }
    if (json_object_size(eps) > 1) {
      strbuf sb;
      sb_init(&sb);
      const char *k;
      json_t *v;
      bool first = true;
      json_object_foreach(eps, k, v) {
        sb_printf(&sb, "%s%s", first ? "" : ", ", k);
        first = false;
      }
      autofree char *names = sb_steal(&sb);
      return err_set(err, 400, "Container cannot be created with multiple network endpoints: %s",
                     names);
    }
  }
  if (api_minor < 45) {
    json_array_foreach(mounts, i, m) {
      if (*cc_str(cc_obj(m, "VolumeOptions"), "Subpath"))
        return err_set(err, 400, "VolumeOptions.Subpath needs API v1.45 or newer");
    }
  }
  if (api_minor < 48) {
    const char *k;
    json_t *ep;
    json_object_foreach(eps, k, ep) {
      if (json_is_object(ep)) json_object_del(ep, "GwPriority");
    }
    json_array_foreach(mounts, i, m) {
      if (!strcmp(cc_str(m, "Type"), "image"))
        return err_set(err, 400, "Mount type \"Image\" needs API v1.48 or newer");
    }
  }
  /* handleVolumeDriverBC */
  if (*cc_str(hc, "VolumeDriver") && api_minor >= 48) {
    json_array_foreach(mounts, i, m) {
      if (strcmp(cc_str(m, "Type"), "volume") != 0) continue;
      if (*cc_str(cc_obj(cc_obj(m, "VolumeOptions"), "DriverConfig"), "Name")) continue;
      cc_warn(warnings, "WARNING: the container-wide volume-driver configuration is ignored for "
                        "volumes specified via 'mount'. Use '--mount "
                        "type=volume,volume-driver=...' instead");
      break;
    }
  }
  return 0;
}

static bool net_is_user_defined(const char *net) {
  return strcmp(net, "default") && strcmp(net, "bridge") && strcmp(net, "host") &&
         strcmp(net, "none") && strncmp(net, "container:", 10);
}

/* epConfigForNetMode: the endpoint the container-wide settings belong to. */
static json_t *endpoint_for_net_mode(json_t *eps, const char *net, int api_minor,
                                     arca_err *err) {
  const char *name = !strncmp(net, "container:", 10) ? "container" : net;
  if (json_object_size(eps) == 0) {
    json_t *ep = json_object();
    json_object_set_new(eps, name, ep);
    return ep;
  }
  if (api_minor < 44) {
    const char *k;
    json_t *ep;
    json_object_foreach(eps, k, ep) {
      if (!json_is_object(ep)) {
        ep = json_object();
        json_object_set_new(eps, k, ep);
      }
      return ep;
    }
  }
  json_t *ep = json_object_get(eps, name);
  if (!ep) {
    err_set(err, 400, "HostConfig.NetworkMode must match the identity of a network in "
                      "NetworkSettings.Networks");
    return NULL;
  }
  if (!json_is_object(ep)) {
    ep = json_object();
    json_object_set_new(eps, name, ep);
  }
  return ep;
}

static int mac_address_bc(json_t *cfg, json_t *hc, json_t *eps, int api_minor,
                          json_t *warnings, arca_err *err) {
  const char *mac = cc_str(cfg, "MacAddress");
  const char *net = cc_str(hc, "NetworkMode");
  bool bridge_like = !strcmp(net, "bridge") || net_is_user_defined(net);
  if (api_minor < 44) {
    if (!*mac) {
      /* the old API ignored endpoint MAC addresses */
      const char *k;
      json_t *ep;
      json_object_foreach(eps, k, ep) {
        if (json_is_object(ep)) json_object_del(ep, "MacAddress");
      }
      return 0;
    }
    if (!bridge_like)
      return err_set(err, 400, "conflicting options: mac-address and the network mode");
    json_t *ep = endpoint_for_net_mode(eps, net, api_minor, err);
    if (!ep) return -1;
    cc_set_str(ep, "MacAddress", mac);
    return 0;
  }
  if (!*mac) return 0;
  if (bridge_like) {
    json_t *ep = endpoint_for_net_mode(eps, net, api_minor, err);
    if (!ep)
      return err_wrap(err, "unable to migrate container-wide MAC address to a specific network");
    const char *ep_mac = cc_str(ep, "MacAddress");
    if (!*ep_mac)
      cc_set_str(ep, "MacAddress", mac);
    else if (strcmp(ep_mac, mac) != 0)
      return err_set(err, 400, "the container-wide MAC address must match the endpoint-specific "
                               "MAC address for the main network, or be left empty");
  }
  cc_warn(warnings, "The container-wide MacAddress field is now deprecated. It should be "
                    "specified in EndpointsConfig instead.");
  json_object_del(cfg, "MacAddress");
  return 0;
}

/* handleSysctlBC: "net.*.*.eth0.*" sysctls move to the primary endpoint's DriverOpts. */
static int sysctl_bc(json_t *hc, json_t *eps, int api_minor, json_t *warnings, arca_err *err) {
  const char *net = cc_str(hc, "NetworkMode");
  if (!strcmp(net, "host") || !strncmp(net, "container:", 10)) return 0;
  json_t *sysctls = json_object_get(hc, "Sysctls");
  if (!json_is_object(sysctls)) return 0;
  json_t *ep = NULL;
  strbuf moved, deleted;
  sb_init(&moved);
  sb_init(&deleted);
  autojson json_t *to_delete = json_array();
  const char *k;
  json_t *v;
  int rc = 0;
  json_object_foreach(sysctls, k, v) {
    char parts[5][128];
    int np = 0;
    const char *p = k;
    while (np < 4) {
      const char *dot = strchr(p, '.');
      if (!dot) break;
      snprintf(parts[np++], sizeof parts[0], "%.*s", (int)(dot - p), p);
      p = dot + 1;
    }
    snprintf(parts[np++], sizeof parts[0], "%s", p);
    if (np != 5 || strcmp(parts[0], "net") || strncmp(parts[3], "eth", 3)) continue;
    if (!ep) {
      if (api_minor > 47) {
        rc = err_set(err, 400, "interface specific sysctl setting \"%s\" must be supplied using "
                               "driver option 'com.docker.network.endpoint.sysctls'", k);
        break;
      }
      arca_err inner;
      ep = endpoint_for_net_mode(eps, net, api_minor, &inner);
      if (!ep) {
        rc = err_set(err, 400, "unable to find a network for sysctl %s: %s", k, inner.msg);
        break;
      }
    }
    if (strcmp(parts[3], "eth0") != 0) {
      rc = err_set(err, 400, "unable to determine network endpoint for sysctl %s, use driver "
                             "option 'com.docker.network.endpoint.sysctls' to set per-interface "
                             "sysctls", k);
      break;
    }
    sb_printf(&moved, "%snet.%s.%s.IFNAME.%s=%s", moved.len ? "," : "", parts[1], parts[2],
              parts[4], json_string_value(v) ? json_string_value(v) : "");
    sb_printf(&deleted, "%s%s", deleted.len ? "," : "", k);
    json_array_append_new(to_delete, json_string(k));
  }
  autofree char *moved_s = sb_steal(&moved);
  autofree char *deleted_s = sb_steal(&deleted);
  if (rc < 0 || !ep) return rc;
  json_t *opts = object_at(ep, "DriverOpts");
  const char *key = "com.docker.network.endpoint.sysctls";
  autofree char *q_deleted = go_quote(deleted_s), *q_key = go_quote(key),
               *q_moved = go_quote(moved_s);
  autofree char *warning = xasprintf("Migrated sysctl %s to DriverOpts{%s:%s}.", q_deleted,
                                     q_key, q_moved);
  const char *old = json_string_value(json_object_get(opts, key));
  autofree char *value = old ? xasprintf("%s,%s", moved_s, old) : xstrdup(moved_s);
  cc_set_str(opts, key, value);
  size_t i;
  json_array_foreach(to_delete, i, v) json_object_del(sysctls, json_string_value(v));
  cc_warn(warnings, warning);
  return 0;
}

int container_create_prepare(const json_t *body, const host_limits *h, int api_minor,
                             container_create_spec *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  autojson json_t *req = NULL;
  bool config_seen = false;
  if (container_create_decode_ex(body, &req, &config_seen, err) < 0) return -1;

  autojson json_t *hc = json_incref(json_object_get(req, "HostConfig"));
  autojson json_t *nc = json_incref(json_object_get(req, "NetworkingConfig"));
  json_object_del(req, "HostConfig");
  json_object_del(req, "NetworkingConfig");
  autojson json_t *cfg = json_incref(req); /* what is left is Config */
  if (json_is_null(hc)) json_decref(hc), hc = NULL;
  if (json_is_null(nc)) json_decref(nc), nc = NULL;

  if (hc) {
    if (!*cc_str(hc, "NetworkMode")) cc_set_str(hc, "NetworkMode", "default");
    if (runconfig_checks(cfg, hc, h->cpu_shares, h->cpu_realtime, err) < 0) return -1;
  }
  if (!config_seen)
    return err_set(err, 400, "config cannot be empty in order to create a container");
  if (!present(cfg, "Volumes")) json_object_set_new(cfg, "Volumes", json_object());
  if (!hc) hc = json_object();
  if (!nc) nc = json_object();
  json_t *eps = object_at(nc, "EndpointsConfig");

  const char *net = cc_str(hc, "NetworkMode");
  if (!*net || !strcmp(net, "default")) {
    cc_set_str(hc, "NetworkMode", "bridge");
    json_t *def = json_object_get(eps, "default");
    if (def) {
      json_object_set(eps, "bridge", def);
      json_object_del(eps, "default");
    }
  }

  autojson json_t *warnings = json_array();
  if (version_adapt(cfg, hc, eps, api_minor, h->cgroup_version == 1, warnings, err) < 0)
    return -1;
  if (mac_address_bc(cfg, hc, eps, api_minor, warnings, err) < 0) return -1;
  if (sysctl_bc(hc, eps, api_minor, warnings, err) < 0) return -1;
  if (present(hc, "PidsLimit") && cc_int(hc, "PidsLimit") <= 0) json_object_del(hc, "PidsLimit");

  json_t *rp = object_at(hc, "RestartPolicy");
  if (!*cc_str(rp, "Name")) cc_set_str(rp, "Name", "no");
  if (config_checks(cfg, err) < 0) return -1;
  if (hostconfig_checks(hc, h, false, warnings, err) < 0) return -1;
  if (endpoints_checks(nc, err) < 0) return -1;

  /* adaptContainerSettings; privileged containers on cgroup v1 stay in the host's cgroupns */
  if (!*cc_str(hc, "CgroupnsMode") && cc_bool(hc, "Privileged") && h->cgroup_version == 1)
    cc_set_str(hc, "CgroupnsMode", "host");
  container_hostconfig_defaults(hc, h->default_runtime, h->cgroup_version);

  if (log_config_checks(hc, h, err) < 0) return -1;
  if (security_opt_checks(hc, err) < 0) return -1;
  if (container_mounts_check(hc, h->daemon_root, err) < 0) return -1;
  if (ulimits_checks(hc, err) < 0) return -1;

  out->config = steal_ptr(cfg);
  out->host_config = steal_ptr(hc);
  out->networking_config = steal_ptr(nc);
  out->warnings = steal_ptr(warnings);
  return 0;
}

int container_config_validate(const json_t *body, const host_limits *h, int api_minor,
                              arca_err *err) {
  container_create_spec spec;
  if (container_create_prepare(body, h, api_minor, &spec, err) < 0) return -1;
  container_create_spec_free(&spec);
  return 0;
}
