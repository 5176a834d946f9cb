/* config.json for a sandbox, as moby's createSpec builds it (daemon/oci_linux.go): process,
 * capabilities, seccomp, mounts, namespaces, cgroups, devices, sysctls, rlimits.
 *
 * What depends on the moment of start rather than on the configuration goes to arca.json
 * (the "start inputs") and is resolved by start.c each time: the user against the
 * container's current /etc/passwd, HOME, the working directory, and the namespaces of
 * other containers (their /proc/<pid>/ns paths change with every start). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"
#include "runtime/linux/lx_paths.h"
#include "runtime/linux/oci_defaults.h"

#define INIT_PATH_IN_CONTAINER "/sbin/docker-init"

static bool bool_of(const json_t *obj, const char *key) {
  return json_is_true(json_object_get(obj, key));
}
static const char *str_of(const json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : "";
}
static bool has_prefix_mode(const char *mode, const char *prefix) {
  return strncmp(mode, prefix, strlen(prefix)) == 0;
}

/* ---- security options ------------------------------------------------------------ */

typedef struct security_opts {
  const char *seccomp; /* NULL: default; "unconfined"; "builtin"; else a profile */
  bool no_new_privileges;
} security_opts;

/* moby's parseSecurityOpt for the options the runtime applies. */
static int parse_security_opts(const json_t *hc, security_opts *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
    const char *opt = json_string_value(v);
    if (!opt) continue;
    if (!strcmp(opt, "no-new-privileges")) {
      out->no_new_privileges = true;
      continue;
    }
    if (!strcmp(opt, "disable")) continue;
    const char *sep = strchr(opt, '=');
    if (!sep) sep = strchr(opt, ':');
    if (!sep) return err_set(err, 400, "invalid --security-opt 1: \"%s\"", opt);
    size_t klen = (size_t)(sep - opt);
    const char *value = sep + 1;
    if (klen == 7 && !strncmp(opt, "seccomp", 7)) {
      out->seccomp = value;
    } else if (klen == 17 && !strncmp(opt, "no-new-privileges", 17)) {
      if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "t") ||
          !strcmp(value, "T") || !strcmp(value, "TRUE") || !strcmp(value, "True"))
        out->no_new_privileges = true;
      else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "f") ||
               !strcmp(value, "F") || !strcmp(value, "FALSE") || !strcmp(value, "False"))
        out->no_new_privileges = false;
      else
        return err_set(err, 400, "invalid --security-opt 2: \"%s\"", opt);
    } else if ((klen == 5 && !strncmp(opt, "label", 5)) ||
               (klen == 8 && !strncmp(opt, "apparmor", 8)) ||
               (klen == 16 && !strncmp(opt, "writable-cgroups", 16))) {
      /* SELinux labels and AppArmor profiles: not applied by this driver. */
    } else {
      return err_set(err, 400, "invalid --security-opt 2: \"%s\"", opt);
    }
  }
  return 0;
}

static int seccomp_of(const security_opts *so, bool privileged, const json_t *caps, json_t **out,
                      arca_err *err) {
  *out = NULL;
  if (so->seccomp && !strcmp(so->seccomp, "unconfined")) return 0;
  bool custom = so->seccomp && *so->seccomp && strcmp(so->seccomp, "builtin") != 0;
  if (privileged && !custom) return 0;
  if (custom) return oci_seccomp_from_docker_profile(so->seccomp, caps, NULL, out, err);
  return oci_seccomp_default(caps, NULL, out, err);
}

/* ---- mounts ---------------------------------------------------------------------- */

static bool options_have(const json_t *opts, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(opts, i, v) {
    if (json_is_string(v) && !strcmp(json_string_value(v), name)) return true;
  }
  return false;
}

static bool is_propagation(const char *o) {
  static const char *const names[] = {"private", "rprivate", "shared",     "rshared",
                                      "slave",   "rslave",   "unbindable", "runbindable"};
  for (size_t i = 0; i < ARRAY_LEN(names); i++)
    if (!strcmp(o, names[i])) return true;
  return false;
}

static size_t path_depth(const char *p) {
  size_t n = 0;
  for (; *p; p++) n += *p == '/';
  return n;
}

/* The user's mounts as OCI mounts, sorted by depth (parents before children, as moby's
 * sortMounts), with Docker's defaults: rbind and rprivate for binds, tmpfs options merged
 * over noexec,nosuid,nodev. Also collects the bind mounts for docker cp (extra). */
static int user_mounts(const rt_sandbox_spec *spec, const json_t *hc, bool readonly_root,
                       json_t **out, json_t *extra, const char **propagation, arca_err *err) {
  autojson json_t *mounts = json_array();
  for (size_t i = 0; i < spec->nmounts; i++) {
    const rt_mount *m = &spec->mounts[i];
    if (!m->destination || m->destination[0] != '/')
      return err_set(err, 400, "invalid mount destination: %s",
                     m->destination ? m->destination : "");
    json_t *opts = json_array();
    for (size_t k = 0; k < m->noptions; k++)
      json_array_append_new(opts, json_string(m->options[k]));
    if (m->type && !strcmp(m->type, "tmpfs")) {
      strbuf data;
      sb_init(&data);
      for (size_t k = 0; k < m->noptions; k++)
        sb_printf(&data, "%s%s", k ? "," : "", m->options[k]);
      json_t *merged = NULL;
      int rc = lx_spec_tmpfs_options(data.buf ? data.buf : "", &merged, err);
      sb_free(&data);
      json_decref(opts);
      if (rc < 0) return -1;
      json_array_append_new(
          mounts, json_pack("{s:s, s:s, s:s, s:o}", "destination", m->destination, "type", "tmpfs",
                            "source", "tmpfs", "options", merged));
      continue;
    }
    if (!m->source) {
      json_decref(opts);
      return err_set(err, 400, "invalid mount config: bind mount %s without a source",
                     m->destination);
    }
    if (!options_have(opts, "bind") && !options_have(opts, "rbind"))
      json_array_insert_new(opts, 0, json_string("rbind"));
    const char *prop = NULL;
    size_t k;
    json_t *o;
    json_array_foreach(opts, k, o) {
      if (is_propagation(json_string_value(o))) prop = json_string_value(o);
    }
    if (!prop)
      json_array_append_new(opts, json_string("rprivate"));
    else if (!strcmp(prop, "shared") || !strcmp(prop, "rshared"))
      *propagation = "shared";
    else if ((!strcmp(prop, "slave") || !strcmp(prop, "rslave")) && strcmp(*propagation, "shared"))
      *propagation = "rslave";
    json_array_append_new(
        extra, json_pack("{s:s, s:s, s:b}", "destination", m->destination, "source", m->source,
                         "readonly", options_have(opts, "ro")));
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:o}", "destination", m->destination,
                                            "type", "bind", "source", m->source, "options", opts));
  }

  /* HostConfig.Tmpfs: {"/run": "rw,size=64m"} */
  const char *dest;
  json_t *data;
  json_object_foreach((json_t *)json_object_get(hc, "Tmpfs"), dest, data) {
    json_t *merged = NULL;
    if (lx_spec_tmpfs_options(json_string_value(data), &merged, err) < 0) return -1;
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type",
                                            "tmpfs", "source", "tmpfs", "options", merged));
  }

  /* The files the engine manages, unless the user mounted something there. */
  const struct {
    const char *source, *destination;
  } files[] = {{spec->resolv_conf, "/etc/resolv.conf"},
               {spec->hostname_file, "/etc/hostname"},
               {spec->hosts_file, "/etc/hosts"}};
  for (size_t f = 0; f < ARRAY_LEN(files); f++) {
    if (!files[f].source || access(files[f].source, F_OK) != 0) continue;
    bool taken = false;
    size_t k;
    json_t *m;
    json_array_foreach(mounts, k, m) taken |=
        !strcmp(str_of(m, "destination"), files[f].destination);
    if (taken) continue;
    json_t *opts = readonly_root ? json_pack("[s,s,s]", "rbind", "ro", "rprivate")
                                 : json_pack("[s,s]", "rbind", "rprivate");
    json_array_append_new(extra, json_pack("{s:s, s:s, s:b}", "destination", files[f].destination,
                                           "source", files[f].source, "readonly", readonly_root));
    json_array_append_new(
        mounts, json_pack("{s:s, s:s, s:s, s:o}", "destination", files[f].destination, "type",
                          "bind", "source", files[f].source, "options", opts));
  }

  /* Stable sort by depth. */
  size_t n = json_array_size(mounts);
  json_t *sorted = json_array();
  for (size_t depth = 0; json_array_size(sorted) < n; depth++) {
    size_t k;
    json_t *m;
    json_array_foreach(mounts, k, m) {
      if (path_depth(str_of(m, "destination")) == depth) json_array_append(sorted, m);
    }
  }
  *out = sorted;
  return 0;
}

/* Defaults (minus what user mounts replace) + user mounts, then --read-only. shm_source:
 * a host directory to bind at /dev/shm instead of the default tmpfs (IPC "host",
 * "shareable" and "container:<id>", as moby's setupIPCDirs), or NULL. */
static json_t *all_mounts(json_t *defaults, json_t *users, const char *ipc_mode,
                          const char *shm_source, bool readonly_root) {
  json_t *mounts = json_array();
  bool user_dev = false;
  size_t i;
  json_t *m;
  json_array_foreach(users, i, m) user_dev |= !strcmp(str_of(m, "destination"), "/dev");
  json_array_foreach(defaults, i, m) {
    const char *dest = str_of(m, "destination");
    bool replaced = false;
    size_t k;
    json_t *u;
    json_array_foreach(users, k, u) replaced |= !strcmp(str_of(u, "destination"), dest);
    if (replaced || (user_dev && has_prefix_mode(dest, "/dev/"))) continue;
    if (!strcmp(dest, "/dev/shm")) {
      if (!strcmp(ipc_mode, "none")) continue;
      if (shm_source) {
        json_array_append_new(
            mounts, json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination", "/dev/shm", "type", "bind",
                              "source", shm_source, "options", "rbind", "rprivate"));
        continue;
      }
    }
    if (readonly_root && strcmp(dest, "/proc") && strcmp(dest, "/dev/pts") &&
        strcmp(dest, "/dev/shm") && strcmp(dest, "/dev/mqueue") && strcmp(dest, "/dev")) {
      json_t *opts = json_object_get(m, "options");
      if (!options_have(opts, "ro")) json_array_append_new(opts, json_string("ro"));
    }
    json_array_append(mounts, m);
  }
  json_array_extend(mounts, users);
  return mounts;
}

/* ---- namespaces and sysctls ------------------------------------------------------ */

static json_t *ns(const char *type, const char *path) {
  return path ? json_pack("{s:s, s:s}", "type", type, "path", path)
              : json_pack("{s:s}", "type", type);
}

static bool sysctl_exists(const char *name) {
  autofree char *path = xasprintf("/proc/sys/%s", name);
  for (char *p = path + 10; *p; p++)
    if (*p == '.') *p = '/';
  return access(path, F_OK) == 0;
}

/* ---- the spec -------------------------------------------------------------------- */

static json_t *strings_json(char *const *v, size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, json_string(v[i]));
  return arr;
}

static bool env_has(const rt_process *p, const char *name) {
  size_t len = strlen(name);
  for (size_t i = 0; i < p->nenv; i++)
    if (!strncmp(p->env[i], name, len) && p->env[i][len] == '=' && p->env[i][len + 1]) return true;
  return false;
}

int lx_spec_build(lx_driver *d, const rt_sandbox_spec *spec, json_t **config_out,
                  json_t **inputs_out, arca_err *err) {
  autojson json_t *empty = json_object();
  const json_t *hc = spec->host_config ? spec->host_config : empty;
  const json_t *cfg = spec->config ? spec->config : empty;
  const rt_process *p = &spec->process;
  bool privileged = bool_of(hc, "Privileged");
  bool readonly_root = bool_of(hc, "ReadonlyRootfs");
  const char *network = spec->network_mode ? spec->network_mode : "none";
  const char *ipc_mode = str_of(hc, "IpcMode");
  const char *pid_mode = str_of(hc, "PidMode");
  bool own_pid_ns = strcmp(pid_mode, "host") && !has_prefix_mode(pid_mode, "container:");
  if (p->nargs == 0) return err_set(err, 400, "no command specified");

  security_opts so;
  if (parse_security_opts(hc, &so, err) < 0) return -1;
  autojson json_t *caps = NULL;
  if (oci_caps_resolve(json_object_get(hc, "CapAdd"), json_object_get(hc, "CapDrop"), privileged,
                       &caps, err) < 0)
    return -1;

  /* process */
  json_t *args = strings_json(p->args, p->nargs);
  autojson json_t *default_mounts =
      oci_default_mounts(privileged, json_integer_value(json_object_get(hc, "ShmSize")));
  json_t *init = json_object_get(hc, "Init");
  if (json_is_true(init) && own_pid_ns) {
    if (!d->init_path || !*d->init_path) {
      json_decref(args);
      return err_set(err, 500, "exec: \"docker-init\": executable file not found in $PATH");
    }
    json_array_insert_new(args, 0, json_string("--"));
    json_array_insert_new(args, 0, json_string(INIT_PATH_IN_CONTAINER));
    json_array_append_new(
        default_mounts, json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination", INIT_PATH_IN_CONTAINER,
                                  "type", "bind", "source", d->init_path, "options", "bind", "ro"));
  }
  json_t *rlimits = NULL;
  if (lx_spec_rlimits(hc, &rlimits, err) < 0) {
    json_decref(args);
    return -1;
  }
  json_t *process = json_pack(
      "{s:b, s:{s:i, s:i}, s:o, s:o, s:s, s:o, s:o, s:b, s:I}", "terminal", p->terminal, "user",
      "uid", 0, "gid", 0, "args", args, "env", strings_json(p->env, p->nenv), "cwd",
      p->cwd && *p->cwd ? p->cwd : "/", "capabilities", oci_process_capabilities(caps), "rlimits",
      rlimits, "noNewPrivileges", so.no_new_privileges, "oomScoreAdj",
      (json_int_t)json_integer_value(json_object_get(hc, "OomScoreAdj")));
  if (p->terminal && (p->rows || p->cols))
    json_object_set_new(process, "consoleSize",
                        json_pack("{s:i, s:i}", "height", p->rows, "width", p->cols));
  autojson json_t *config = json_pack("{s:s, s:o}", "ociVersion", "1.0.2", "process", process);

  autofree char *rootfs = lx_rootfs_dir(d->data_root, spec->id);
  json_object_set_new(config, "root",
                      json_pack("{s:s, s:b}", "path", rootfs, "readonly", readonly_root));
  bool own_uts = strcmp(str_of(hc, "UTSMode"), "host") != 0;
  if (own_uts && spec->hostname && *spec->hostname)
    json_object_set_new(config, "hostname", json_string(spec->hostname));

  /* mounts */
  autojson json_t *extra = json_array();
  const char *propagation = "";
  autojson json_t *users = NULL;
  if (user_mounts(spec, hc, readonly_root, &users, extra, &propagation, err) < 0) return -1;
  /* IPC: "" is what old Dockers called "shareable": /dev/shm is a tmpfs of ours that
   * "container:<id>" IPC modes of other containers bind too. */
  bool ipc_container = has_prefix_mode(ipc_mode, "container:");
  bool shareable = !*ipc_mode || !strcmp(ipc_mode, "shareable");
  if (ipc_container && !spec->ipc_container)
    return err_set(err, 400, "invalid IPC mode: %s", ipc_mode);
  if (!shareable && !ipc_container && strcmp(ipc_mode, "host") && strcmp(ipc_mode, "private") &&
      strcmp(ipc_mode, "none"))
    return err_set(err, 400, "invalid IPC mode: %s", ipc_mode);
  autofree char *shm_source = NULL;
  if (shareable)
    shm_source = lx_shm_dir(d->data_root, spec->id);
  else if (ipc_container && lx_id_valid(spec->ipc_container))
    shm_source = lx_shm_dir(d->data_root, spec->ipc_container);
  else if (!strcmp(ipc_mode, "host"))
    shm_source = xstrdup("/dev/shm");
  json_object_set_new(config, "mounts",
                      all_mounts(default_mounts, users, ipc_mode, shm_source, readonly_root));

  /* linux */
  json_t *linux_obj = json_object();
  json_object_set_new(config, "linux", linux_obj);
  json_t *namespaces = json_array();
  json_array_append_new(namespaces, ns("mount", NULL));
  autofree char *netns = lx_netns_path(d->exec_root, spec->id);
  const char *net_container = NULL;
  if (!strcmp(network, "sandbox"))
    json_array_append_new(namespaces, ns("network", netns));
  else if (!strcmp(network, "none"))
    json_array_append_new(namespaces, ns("network", NULL));
  else if (has_prefix_mode(network, "container:"))
    net_container = network + 10;
  else if (strcmp(network, "host")) {
    json_decref(namespaces);
    return err_set(err, 400, "invalid network mode: %s", network);
  }
  if (own_uts) json_array_append_new(namespaces, ns("uts", NULL));
  if (own_pid_ns)
    json_array_append_new(namespaces, ns("pid", NULL));
  else if (has_prefix_mode(pid_mode, "container:") && !spec->pid_container) {
    json_decref(namespaces);
    return err_set(err, 400, "invalid PID mode: %s", pid_mode);
  }
  if (strcmp(ipc_mode, "host") && !ipc_container)
    json_array_append_new(namespaces, ns("ipc", NULL));
  const char *cgroupns = str_of(hc, "CgroupnsMode");
  if (!strcmp(cgroupns, "private") || (!*cgroupns && d->cgroup_v2))
    json_array_append_new(namespaces, ns("cgroup", NULL));
  json_object_set_new(linux_obj, "namespaces", namespaces);
  if (*propagation) json_object_set_new(linux_obj, "rootfsPropagation", json_string(propagation));

  autofree char *cgroup_path = lx_cgroup_path(spec->id);
  json_object_set_new(linux_obj, "cgroupsPath", json_string(cgroup_path));

  json_t *resources = NULL;
  if (lx_spec_resources(hc, &resources, err) < 0) return -1;
  json_object_set_new(linux_obj, "resources", resources);
  json_t *rules = oci_default_device_rules(privileged);
  json_object_set_new(resources, "devices", rules);
  json_t *devices = json_array();
  json_object_set_new(linux_obj, "devices", devices);
  if (privileged) {
    json_t *host_devices = NULL;
    if (oci_host_devices(&host_devices, err) < 0) return -1;
    json_array_extend(devices, host_devices);
    json_decref(host_devices);
  }
  if (lx_spec_devices(hc, privileged, devices, rules, err) < 0) return -1;

  json_t *sysctl = json_object();
  json_object_set_new(linux_obj, "sysctl", sysctl);
  if (!strcmp(network, "sandbox") || !strcmp(network, "none")) {
    if (sysctl_exists("net.ipv4.ping_group_range"))
      json_object_set_new(sysctl, "net.ipv4.ping_group_range", json_string("0 2147483647"));
    if (sysctl_exists("net.ipv4.ip_unprivileged_port_start"))
      json_object_set_new(sysctl, "net.ipv4.ip_unprivileged_port_start", json_string("0"));
  }
  if (*str_of(cfg, "Domainname"))
    json_object_set_new(sysctl, "kernel.domainname", json_string(str_of(cfg, "Domainname")));
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)json_object_get(hc, "Sysctls"), key, value) {
    if (json_is_string(value)) json_object_set(sysctl, key, value);
  }

  json_t *masked = json_object_get(hc, "MaskedPaths");
  json_t *ro_paths = json_object_get(hc, "ReadonlyPaths");
  json_object_set_new(
      linux_obj, "maskedPaths",
      json_is_array(masked) ? json_deep_copy(masked) : oci_masked_paths(privileged));
  json_object_set_new(
      linux_obj, "readonlyPaths",
      json_is_array(ro_paths) ? json_deep_copy(ro_paths) : oci_readonly_paths(privileged));
  json_t *seccomp = NULL;
  if (seccomp_of(&so, privileged, caps, &seccomp, err) < 0) return -1;
  if (seccomp) json_object_set_new(linux_obj, "seccomp", seccomp);

  json_t *annotations = json_object();
  json_object_foreach((json_t *)json_object_get(hc, "Annotations"), key, value) {
    if (json_is_string(value)) json_object_set(annotations, key, value);
  }
  json_object_set_new(config, "annotations", annotations);

  /* start inputs */
  json_t *layers = json_array();
  for (size_t i = 0; i < spec->nlayers; i++)
    json_array_append_new(layers, json_string(spec->layers[i]));
  json_t *groups = json_array();
  for (size_t i = 0; i < p->nextra_groups; i++)
    json_array_append_new(groups, json_string(p->extra_groups[i]));
  json_t *inputs = json_pack(
      "{s:s, s:o, s:b, s:b, s:b, s:b, s:o, s:s, s:s, s:O}", "user", p->user ? p->user : "",
      "group_add", groups, "home", !env_has(p, "HOME"), "tty", p->terminal, "open_stdin",
      bool_of(cfg, "OpenStdin"), "stdin_once", bool_of(cfg, "StdinOnce"), "layers", layers,
      "network_mode", network, "cwd", p->cwd && *p->cwd ? p->cwd : "/", "extra_mounts", extra);
  json_object_set_new(inputs, "cmd", json_string(p->args[0]));
  json_object_set_new(inputs, "readonly_rootfs", json_boolean(json_is_true(json_object_get(spec->host_config, "ReadonlyRootfs"))));
  if (net_container) json_object_set_new(inputs, "net_container", json_string(net_container));
  if (ipc_container) json_object_set_new(inputs, "ipc_container", json_string(spec->ipc_container));
  bool user_shm = false;
  size_t k;
  json_t *um;
  json_array_foreach(users, k, um) user_shm |= !strcmp(str_of(um, "destination"), "/dev/shm");
  if (shareable && !user_shm) {
    int64_t shm_size = json_integer_value(json_object_get(hc, "ShmSize"));
    json_object_set_new(inputs, "shm_size",
                        json_integer(shm_size > 0 ? shm_size : OCI_DEFAULT_SHM_SIZE));
  }
  if (!own_pid_ns && spec->pid_container)
    json_object_set_new(inputs, "pid_container", json_string(spec->pid_container));
  *config_out = steal_ptr(config);
  *inputs_out = inputs;
  return 0;
}
