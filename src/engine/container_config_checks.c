/* dockerd's checks on Config and HostConfig, each in its own small function, in the order
 * dockerd runs them (see container_config.c for the order). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/pattern.h"
#include "common/util.h"
#include "engine/container_config_internal.h"

/* ---- Names, restart policy ---------------------------------------------------------- */

int container_name_validate(const char *name, arca_err *err) {
  const char *n = name[0] == '/' ? name + 1 : name;
  bool ok = strlen(n) >= 2 && isalnum((unsigned char)n[0]);
  for (const char *c = n + 1; ok && *c; c++)
    ok = isalnum((unsigned char)*c) || *c == '_' || *c == '.' || *c == '-';
  if (!ok)
    return err_set(err, 400,
                   "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                   name);
  return 0;
}

int restart_policy_parse(const json_t *rp, char name[16], int *max_retry, arca_err *err) {
  const char *n = cc_str(rp, "Name");
  int64_t count = cc_int(rp, "MaximumRetryCount");
  if (!strcmp(n, "always") || !strcmp(n, "unless-stopped") || !strcmp(n, "no")) {
    if (count != 0)
      return err_set(err, 400,
                     "invalid restart policy: maximum retry count can only be used with "
                     "'on-failure'%s",
                     count < 0 ? " and cannot be negative" : "");
  } else if (!strcmp(n, "on-failure")) {
    if (count < 0)
      return err_set(err, 400, "invalid restart policy: maximum retry count cannot be negative");
  } else if (*n) {
    return err_set(err, 400,
                   "invalid restart policy: unknown policy '%s'; use one of 'no', 'always', "
                   "'on-failure', or 'unless-stopped'",
                   n);
  }
  /* "" is what dockerd before 25.0 stored by default: any retry count goes with it */
  snprintf(name, 16, "%s", *n ? n : "no");
  if (max_retry) *max_retry = (int)count;
  return 0;
}

/* ---- Config ------------------------------------------------------------------------- */

/* moby/sys/signal ParseSignal */
static bool signal_valid(const char *raw) {
  int64_t n;
  if (go_atoi(raw, &n)) return n != 0;
  static const char *const names[] = {
      "ABRT", "ALRM", "BUS",  "CHLD", "CLD",    "CONT", "FPE",  "HUP",  "ILL",
      "INT",  "IO",   "IOT",  "KILL", "PIPE",   "POLL", "PROF", "PWR",  "QUIT",
      "SEGV", "STKFLT", "STOP", "SYS", "TERM",  "TRAP", "TSTP", "TTIN", "TTOU",
      "URG",  "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX"};
  const char *s = strncasecmp(raw, "SIG", 3) == 0 ? raw + 3 : raw;
  for (size_t i = 0; i < ARRAY_LEN(names); i++)
    if (!strcasecmp(s, names[i])) return true;
  /* RTMIN+1..RTMIN+15 and RTMAX-14..RTMAX-1, written exactly so */
  if (!strncasecmp(s, "RTMIN+", 6) || !strncasecmp(s, "RTMAX-", 6)) {
    const char *d = s + 6;
    if (d[0] < '1' || d[0] > '9') return false;
    int v = atoi(d);
    char back[8];
    snprintf(back, sizeof back, "%d", v);
    if (strcmp(back, d) != 0) return false;
    return !strncasecmp(s, "RTMIN+", 6) ? v <= 15 : v <= 14;
  }
  return false;
}

int config_checks(json_t *cfg, arca_err *err) {
  const char *wd = cc_str(cfg, "WorkingDir");
  if (*wd) {
    if (wd[0] != '/')
      return err_set(err, 400,
                     "the working directory '%s' is invalid, it needs to be an absolute path",
                     wd);
    autofree char *clean = path_clean(wd);
    cc_set_str(cfg, "WorkingDir", clean);
  }
  const char *sig = cc_str(cfg, "StopSignal");
  if (*sig && !signal_valid(sig)) return err_set(err, 400, "invalid signal: %s", sig);
  size_t i;
  const json_t *e;
  json_array_foreach(cc_arr(cfg, "Env"), i, e) {
    const char *s = json_string_value(e) ? json_string_value(e) : "";
    if (s[0] == '=' || s[0] == '\0')
      return err_set(err, 400, "invalid environment variable: %s", s);
  }
  const json_t *hc = cc_obj(cfg, "Healthcheck");
  if (hc) {
    static const char *const durations[] = {"Interval", "Timeout", NULL, "StartPeriod",
                                            "StartInterval"};
    for (size_t k = 0; k < ARRAY_LEN(durations); k++) {
      if (!durations[k]) {
        if (cc_int(hc, "Retries") < 0)
          return err_set(err, 400, "Retries in Healthcheck cannot be negative");
        continue;
      }
      int64_t d = cc_int(hc, durations[k]);
      if (d != 0 && d < 1000000)
        return err_set(err, 400, "%s in Healthcheck cannot be less than 1ms", durations[k]);
    }
  }
  return 0;
}

/* ---- runconfig's checks (only when the body had a HostConfig) ------------------------ */

static bool is_container_mode(const char *mode, const char **id) {
  if (strncmp(mode, "container:", 10) != 0) return false;
  if (id) *id = mode + 10;
  return true;
}

int runconfig_checks(const json_t *cfg, const json_t *hc, bool cpu_shares_supported,
                     bool cpu_realtime_supported, arca_err *err) {
  const char *net = cc_str(hc, "NetworkMode");
  const char *hostname = cc_str(cfg, "Hostname");
  const char *ctr;
  /* a network named "container" (no colon) is not container mode here either */
  if (!strcmp(net, "container") || is_container_mode(net, &ctr)) {
    if (!strcmp(net, "container") || !*ctr)
      return err_set(err, 400,
                     "invalid network mode: invalid container format container:<name|id>");
    if (*hostname) return err_set(err, 400, "conflicting options: hostname and the network mode");
    if (cc_len(hc, "Links") > 0)
      return err_set(err, 400, "conflicting options: container type network can't be used with "
                               "links. This would result in undefined behavior");
    if (cc_len(hc, "Dns") > 0)
      return err_set(err, 400, "conflicting options: dns and the network mode");
    if (cc_len(hc, "ExtraHosts") > 0)
      return err_set(err, 400,
                     "conflicting options: custom host-to-IP mapping and the network mode");
    if (cc_len(hc, "PortBindings") > 0 || cc_bool(hc, "PublishAllPorts"))
      return err_set(err, 400, "conflicting options: port publishing and the container type "
                               "network mode");
    if (cc_len(cfg, "ExposedPorts") > 0)
      return err_set(err, 400, "conflicting options: port exposing and the container type "
                               "network mode");
  }
  if (!strcmp(cc_str(hc, "UTSMode"), "host") && *hostname)
    return err_set(err, 400, "conflicting options: hostname and the UTS mode");
  if (!strcmp(net, "host") && cc_len(hc, "Links") > 0)
    return err_set(err, 400, "conflicting options: host type networking can't be used with "
                             "links. This would result in undefined behavior");
  const char *iso = cc_str(hc, "Isolation");
  if (*iso && strcasecmp(iso, "default") != 0)
    return err_set(err, 400, "invalid isolation (%s): linux only supports 'default'", iso);
  if (cc_int(hc, "IOMaximumBandwidth") != 0)
    return err_set(err, 400, "invalid option: QoS maximum bandwidth configuration is not "
                             "supported on linux");
  if (cc_int(hc, "IOMaximumIOps") != 0)
    return err_set(err, 400,
                   "invalid option: QoS maximum IOPs configuration is not supported on linux");
  int64_t rt_period = cc_int(hc, "CpuRealtimePeriod");
  int64_t rt_runtime = cc_int(hc, "CpuRealtimeRuntime");
  if ((rt_period != 0 || rt_runtime != 0) && !cpu_realtime_supported)
    return err_set(err, 400, "kernel does not support CPU real-time scheduler");
  if (rt_period != 0 && rt_runtime != 0 && rt_runtime > rt_period)
    return err_set(err, 400, "cpu real-time runtime cannot be higher than cpu real-time period");
  if (cpu_shares_supported && cc_int(hc, "CpuShares") < 0)
    return err_set(err, 400, "invalid CPU shares (%lld): value must be a positive integer",
                   (long long)cc_int(hc, "CpuShares"));
  return 0;
}

/* ---- HostConfig (validateHostConfig + verifyPlatformContainerSettings) -------------- */

static const char *const known_caps[] = {
    "CAP_CHOWN",          "CAP_DAC_OVERRIDE",     "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",         "CAP_KILL",             "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE",  "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",      "CAP_NET_RAW",          "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",        "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",        "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",   "CAP_SYS_TIME",         "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",          "CAP_AUDIT_WRITE",      "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",   "CAP_MAC_ADMIN",        "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",       "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};

/* NormalizeLegacyCapabilities, name checks only. */
static int caps_check(const json_t *caps, const char *field, uint64_t available, arca_err *err) {
  size_t i;
  const json_t *c;
  json_array_foreach(caps, i, c) {
    const char *raw = json_string_value(c) ? json_string_value(c) : "";
    autofree char *up = xstrdup(raw);
    for (char *p = up; *p; p++) *p = (char)toupper((unsigned char)*p);
    if (!strcmp(up, "ALL")) continue;
    autofree char *name = str_has_prefix(up, "CAP_") ? xstrdup(up) : xasprintf("CAP_%s", up);
    size_t k = 0;
    while (k < ARRAY_LEN(known_caps) && strcmp(known_caps[k], name) != 0) k++;
    autofree char *q = go_quote(name);
    if (k == ARRAY_LEN(known_caps))
      return err_set(err, 400, "invalid %s: unknown capability: %s", field, q);
    if (available && !(available & ((uint64_t)1 << k)))
      return err_set(err, 400,
                     "invalid %s: capability not supported by your kernel or not available in "
                     "the current environment: %s",
                     field, q);
  }
  return 0;
}

/* opts.ValidateExtraHost */
static int extra_host_check(const char *val, arca_err *err) {
  const char *colon = strchr(val, ':');
  autofree char *q = go_quote(val);
  if (!colon || colon == val) return err_set(err, 400, "bad format for add-host: %s", q);
  const char *ip = colon + 1;
  if (!strcmp(ip, "host-gateway")) return 0;
  /* ValidateIPAddress trims spaces first */
  autofree char *trimmed = xstrdup(ip);
  char *start = trimmed;
  while (isspace((unsigned char)*start)) start++;
  size_t len = strlen(start);
  while (len && isspace((unsigned char)start[len - 1])) start[--len] = '\0';
  unsigned char addr[16];
  bool is4;
  if (!go_parse_ip(start, addr, &is4)) {
    autofree char *qi = go_quote(ip);
    return err_set(err, 400, "invalid IP address in add-host: %s", qi);
  }
  return 0;
}

int hostconfig_checks(json_t *hc, const host_limits *h, bool update, json_t *warnings,
                      arca_err *err) {
  char rp_name[16];
  const json_t *rp = cc_obj(hc, "RestartPolicy");
  const char *rp_given = cc_str(rp, "Name");
  if (cc_bool(hc, "AutoRemove") && *rp_given && strcmp(rp_given, "no") != 0)
    return err_set(err, 400, "can't create 'AutoRemove' container with restart policy");
  size_t i;
  const json_t *v;
  json_array_foreach(cc_arr(hc, "Mounts"), i, v) {
    if (!strcmp(cc_str(v, "Type"), "image"))
      cc_warn(warnings, "Image mount is an experimental feature");
    if (mount_validate_impl(v, true, err) < 0) return -1;
  }
  json_array_foreach(cc_arr(hc, "ExtraHosts"), i, v) {
    if (extra_host_check(json_string_value(v) ? json_string_value(v) : "", err) < 0) return -1;
  }
  if (port_bindings_validate(cc_obj(hc, "PortBindings"), err) < 0) return -1;
  if (restart_policy_parse(rp, rp_name, NULL, err) < 0) return -1;
  if (caps_check(cc_arr(hc, "CapAdd"), "CapAdd", h->caps_available, err) < 0) return -1;
  if (caps_check(cc_arr(hc, "CapDrop"), "CapDrop", h->caps_available, err) < 0) return -1;
  const char *iso = cc_str(hc, "Isolation");
  if (*iso && strcasecmp(iso, "default") != 0)
    return err_set(err, 400, "invalid isolation '%s' on linux", iso);
  const char *key;
  json_object_foreach((json_t *)cc_obj(hc, "Annotations"), key, v) {
    if (!*key)
      return err_set(err, 400, "invalid Annotations: the empty string is not permitted as an "
                               "annotation key");
  }

  /* verifyPlatformContainerSettings */
  if (container_resources_verify(hc, h, update, warnings, err) < 0) return -1;
  const char *ipc = cc_str(hc, "IpcMode");
  if (*ipc && strcmp(ipc, "none") && strcmp(ipc, "private") && strcmp(ipc, "host") &&
      strcmp(ipc, "shareable") && !is_container_mode(ipc, NULL))
    return err_set(err, 400, "invalid IPC mode: %s", ipc);
  const char *pid = cc_str(hc, "PidMode"), *pid_ctr = NULL;
  if (*pid && strcmp(pid, "host") && !(is_container_mode(pid, &pid_ctr) && *pid_ctr))
    return err_set(err, 400, "invalid PID mode: %s", pid);
  if (cc_int(hc, "ShmSize") < 0) return err_set(err, 400, "SHM size can not be less than 0");
  const char *uts = cc_str(hc, "UTSMode");
  if (*uts && strcmp(uts, "host")) return err_set(err, 400, "invalid UTS mode: %s", uts);
  int64_t oom = cc_int(hc, "OomScoreAdj");
  if (oom < -1000 || oom > 1000)
    return err_set(err, 400, "Invalid value %lld, range for oom score adj is [-1000, 1000]",
                   (long long)oom);
  const char *net = cc_str(hc, "NetworkMode");
  if (!h->ipv4_forwarding && strcmp(net, "host") && strcmp(net, "none"))
    cc_warn(warnings, "IPv4 forwarding is disabled. Networking will not work.");
  if (!strcmp(net, "host") && cc_len(hc, "PortBindings") > 0)
    cc_warn(warnings, "Published ports are discarded when using host network mode");
  const char *parent = cc_str(hc, "CgroupParent");
  if (*parent && h->systemd_cgroup && (strlen(parent) <= 6 || !str_has_suffix(parent, ".slice")))
    return err_set(err, 400,
                   "cgroup-parent for systemd cgroup should be a valid slice named as "
                   "\"xxx.slice\"");
  const char *def_rt = h->default_runtime ? h->default_runtime : "runc";
  if (!*cc_str(hc, "Runtime")) cc_set_str(hc, "Runtime", def_rt);
  const char *rt = cc_str(hc, "Runtime");
  bool rt_known = !strcmp(rt, def_rt);
  for (const char *const *r = h->runtimes; r && *r && !rt_known; r++) rt_known = !strcmp(rt, *r);
  if (!rt_known) return err_set(err, 400, "unknown or invalid runtime name: %s", rt);
  json_object_foreach((json_t *)cc_obj(hc, "Tmpfs"), key, v) {
    if (tmpfs_destination_validate(key, err) < 0) return -1;
  }
  const char *cgns = cc_str(hc, "CgroupnsMode");
  if (*cgns && strcmp(cgns, "private") && strcmp(cgns, "host"))
    return err_set(err, 400, "invalid cgroup namespace mode: %s", cgns);
  if (!strcmp(cgns, "private") && !h->cgroup_namespaces)
    cc_warn(warnings,
            "Your kernel does not support cgroup namespaces.  Cgroup namespace setting "
            "discarded.");
  return 0;
}

int container_hostconfig_verify(json_t *hc, const host_limits *h, bool update,
                                json_t *warnings, arca_err *err) {
  return hostconfig_checks(hc, h, update, warnings, err);
}

/* ---- Networking --------------------------------------------------------------------- */

static bool is_user_defined(const char *net) {
  return strcmp(net, "default") && strcmp(net, "bridge") && strcmp(net, "host") &&
         strcmp(net, "none") && strncmp(net, "container:", 10);
}

static bool valid_mac(const char *s) {
  /* net.ParseMAC: 6, 8 or 20 octets as xx:xx.., xx-xx.. or xxxx.xxxx.. */
  size_t n = strlen(s);
  if (n < 14) return false;
  if (s[2] == ':' || s[2] == '-') {
    if ((n + 1) % 3 != 0) return false;
    size_t octets = (n + 1) / 3;
    if (octets != 6 && octets != 8 && octets != 20) return false;
    for (size_t i = 0; i < n; i++) {
      if (i % 3 == 2) {
        if (s[i] != s[2]) return false;
      } else if (!isxdigit((unsigned char)s[i])) {
        return false;
      }
    }
    return true;
  }
  if (s[4] == '.') {
    if ((n + 1) % 5 != 0) return false;
    size_t octets = 2 * (n + 1) / 5;
    if (octets != 6 && octets != 8 && octets != 20) return false;
    for (size_t i = 0; i < n; i++) {
      if (i % 5 == 4) {
        if (s[i] != '.') return false;
      } else if (!isxdigit((unsigned char)s[i])) {
        return false;
      }
    }
    return true;
  }
  return false;
}

static bool ip_unspecified(const unsigned char a[16], bool is4) {
  static const unsigned char zero[16];
  if (is4) return memcmp(a + 12, zero, 4) == 0;
  return memcmp(a, zero, 16) == 0;
}

/* validateEndpointSettings without the network's own subnets (the engine checks those). */
static void endpoint_errors(const char *net, const json_t *ep, strbuf *errs, int *nerrs) {
  const json_t *ipam = cc_obj(ep, "IPAMConfig");
  const char *v4 = cc_str(ipam, "IPv4Address"), *v6 = cc_str(ipam, "IPv6Address");
#define ADD(...)                                                                          \
  (sb_printf(errs, "%s", *nerrs ? "\n" : ""), sb_printf(errs, __VA_ARGS__), (*nerrs)++)
  if (!is_user_defined(net)) {
    if (*v4 || *v6) ADD("user specified IP address is supported on user defined networks only");
    if (cc_len(ep, "Aliases") > 0)
      ADD("network-scoped alias is supported only for containers in user defined networks");
  }
  unsigned char a[16];
  bool is4;
  if (*v4 && (!go_parse_ip(v4, a, &is4) || !is4 || ip_unspecified(a, is4)))
    ADD("invalid IPv4 address: %s", v4);
  if (*v6 && (!go_parse_ip(v6, a, &is4) || is4 || ip_unspecified(a, is4)))
    ADD("invalid IPv6 address: %s", v6);
  size_t i;
  const json_t *ll;
  json_array_foreach(cc_arr(ipam, "LinkLocalIPs"), i, ll) {
    const char *s = json_string_value(ll) ? json_string_value(ll) : "";
    if (!go_parse_ip(s, a, &is4) || ip_unspecified(a, is4))
      ADD("invalid link-local IP address: %s", s);
  }
  const char *sysctls = cc_str(cc_obj(ep, "DriverOpts"), "com.docker.network.endpoint.sysctls");
  if (json_object_get(cc_obj(ep, "DriverOpts"), "com.docker.network.endpoint.sysctls")) {
    autofree char *dup = xstrdup(sysctls);
    char *cur = dup;
    for (;;) {
      char *comma = strchr(cur, ',');
      if (comma) *comma = '\0';
      /* strings.SplitN(sysctl, ".", 5) */
      char *parts[5] = {0};
      int np = 0;
      char *p = cur;
      while (np < 4) {
        char *dot = strchr(p, '.');
        if (!dot) break;
        parts[np++] = p;
        *dot = '\0';
        p = dot + 1;
      }
      parts[np++] = p;
      bool ok = np == 5 && (!strcmp(parts[1], "ipv4") || !strcmp(parts[1], "ipv6") ||
                            !strcmp(parts[1], "mpls")) &&
                (!strcmp(parts[3], "IFNAME") || !strcmp(parts[3], "ifname"));
      if (!ok) {
        /* the dots were cut: print the original item */
        for (int k = 0; k < np - 1; k++) parts[k][strlen(parts[k])] = '.';
        ADD("unrecognised network interface sysctl '%s'; represent 'net.X.Y.ethN.Z=V' as "
            "'net.X.Y.IFNAME.Z=V', 'X' must be 'ipv4', 'ipv6' or 'mpls'",
            cur);
      }
      if (!comma) break;
      cur = comma + 1;
    }
  }
#undef ADD
}

/* multierror.Join's text: one error alone, or "* a\n* b" with inner lines indented. */
static void join_errors(strbuf *out, const char *const *items, size_t n) {
  if (n == 1) {
    sb_puts(out, items[0]);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    sb_puts(out, i ? "\n* " : "* ");
    for (const char *c = items[i]; *c; c++) {
      if (*c == '\n')
        sb_puts(out, "\n\t");
      else
        sb_append(out, c, 1);
    }
  }
}

static char **split_lines(const char *s, size_t *n) {
  *n = 0;
  size_t cap = 4;
  char **v = xmalloc(cap * sizeof *v);
  const char *start = s;
  for (const char *c = s;; c++) {
    if (*c == '\n' || !*c) {
      if (*n == cap) v = xrealloc(v, (cap *= 2) * sizeof *v);
      v[(*n)++] = xstrndup(start, (size_t)(c - start));
      if (!*c) break;
      start = c + 1;
    }
  }
  return v;
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

int endpoints_checks(const json_t *nc, arca_err *err) {
  const json_t *eps = cc_obj(nc, "EndpointsConfig");
  size_t cap = 4, n = 0;
  char **outer = xmalloc(cap * sizeof *outer);
  const char *net;
  const json_t *ep;
  json_object_foreach((json_t *)eps, net, ep) {
    char *item = NULL;
    if (!json_is_object(ep)) {
      item = xasprintf("invalid config for network %s: EndpointsConfig is nil", net);
    } else {
      strbuf errs;
      sb_init(&errs);
      int nerrs = 0;
      endpoint_errors(net, ep, &errs, &nerrs);
      autofree char *lines = sb_steal(&errs);
      const char *mac = cc_str(ep, "MacAddress");
      /* dockerd returns the MAC error at once, dropping the others */
      if (*mac && !valid_mac(mac)) {
        item = xasprintf("invalid config for network %s: invalid MAC address %s", net, mac);
      } else if (nerrs) {
        /* each error is one line: rebuild the list for the join */
        size_t nl;
        char **v = split_lines(lines, &nl);
        strbuf joined;
        sb_init(&joined);
        join_errors(&joined, (const char *const *)v, nl);
        free_strv(v, nl);
        autofree char *j = sb_steal(&joined);
        item = xasprintf("invalid config for network %s: invalid endpoint settings:\n%s", net, j);
      }
    }
    if (item) {
      if (n == cap) outer = xrealloc(outer, (cap *= 2) * sizeof *outer);
      outer[n++] = item;
    }
  }
  int rc = 0;
  if (n) {
    strbuf msg;
    sb_init(&msg);
    if (n == 1) {
      /* TrimSpace of the one error */
      sb_puts(&msg, outer[0]);
    } else {
      join_errors(&msg, (const char *const *)outer, n);
    }
    autofree char *text = sb_steal(&msg);
    rc = err_set(err, 400, "%s", text);
  }
  free_strv(outer, n);
  return rc;
}

/* ---- Logging, security options, ulimits ---------------------------------------------- */

/* go-units RAMInBytes, as far as its errors go */
static bool ram_in_bytes_ok(const char *s, char *why, size_t n) {
  ssize_t sep = -1;
  for (ssize_t i = (ssize_t)strlen(s) - 1; i >= 0; i--)
    if (strchr("01234567890. ", s[i])) {
      sep = i;
      break;
    }
  if (sep < 0) return snprintf(why, n, "invalid size: '%s'", s), false;
  autofree char *num = xstrndup(s, (size_t)(s[sep] == ' ' ? sep : sep + 1));
  const char *sfx = s + sep + 1;
  char *end;
  double v = strtod(num, &end);
  if (!*num || *end || strpbrk(num, "xXnNiI"))
    return snprintf(why, n, "strconv.ParseFloat: parsing \"%s\": invalid syntax", num), false;
  if (v < 0) return snprintf(why, n, "invalid size: '%s'", s), false;
  size_t l = strlen(sfx);
  if (!l) return true;
  char low[4] = "";
  for (size_t i = 0; i < l && i < 3; i++) low[i] = (char)tolower((unsigned char)sfx[i]);
  bool ok = l <= 3 && ((low[0] == 'b' && l == 1) ||
                       (strchr("kmgtp", low[0]) && low[0] &&
                        (l == 1 || (l == 2 && low[1] == 'b') ||
                         (l == 3 && low[1] == 'i' && low[2] == 'b'))));
  if (!ok) return snprintf(why, n, "invalid suffix: '%s'", sfx), false;
  return true;
}

int log_config_checks(json_t *hc, const host_limits *h, arca_err *err) {
  json_t *lc = json_object_get(hc, "LogConfig");
  if (!json_is_object(lc)) {
    lc = json_object();
    json_object_set_new(hc, "LogConfig", lc);
  }
  const char *def = h->default_log_driver ? h->default_log_driver : "json-file";
  if (!*cc_str(lc, "Type")) cc_set_str(lc, "Type", def);
  json_t *opts = json_object_get(lc, "Config");
  if (!json_is_object(opts)) {
    opts = json_object();
    json_object_set_new(lc, "Config", opts);
  }
  const char *type = cc_str(lc, "Type");
  if (!strcmp(type, "none")) return 0;
  const char *mode = cc_str(opts, "mode");
  if (*mode && strcmp(mode, "blocking") && strcmp(mode, "non-blocking"))
    return err_set(err, 400, "logger: logging mode not supported: %s", mode);
  if (json_object_get(opts, "max-buffer-size")) {
    if (strcmp(mode, "non-blocking") != 0)
      return err_set(err, 400, "logger: max-buffer-size option is only supported with "
                               "'mode=non-blocking'");
    char why[256];
    if (!ram_in_bytes_ok(cc_str(opts, "max-buffer-size"), why, sizeof why))
      return err_set(err, 400, "error parsing option max-buffer-size: %s", why);
  }
  const char *cache_disabled = cc_str(opts, "cache-disabled");
  bool b;
  if (*cache_disabled && !go_parse_bool(cache_disabled, &b))
    return err_set(err, 400, "invalid value for option cache-disabled: %s", cache_disabled);
  bool json_file = !strcmp(type, "json-file"), local = !strcmp(type, "local");
  if (!json_file && !local)
    return err_set(err, 400, "logger: no log driver named '%s' is registered", type);
  static const char *const builtin[] = {"mode", "max-buffer-size", "cache-disabled",
                                        "cache-max-file", "cache-max-size", "cache-compress"};
  static const char *const json_file_keys[] = {"max-file", "max-size", "compress", "labels",
                                               "labels-regex", "env", "env-regex", "tag"};
  static const char *const local_keys[] = {"max-file", "max-size", "compress"};
  const char *key;
  const json_t *v;
  json_object_foreach(opts, key, v) {
    bool known = false;
    for (size_t i = 0; i < ARRAY_LEN(builtin) && !known; i++) known = !strcmp(key, builtin[i]);
    const char *const *keys = json_file ? json_file_keys : local_keys;
    size_t nkeys = json_file ? ARRAY_LEN(json_file_keys) : ARRAY_LEN(local_keys);
    for (size_t i = 0; i < nkeys && !known; i++) known = !strcmp(key, keys[i]);
    if (!known)
      return json_file ? err_set(err, 400, "unknown log opt '%s' for json-file log driver", key)
                       : err_set(err, 400, "unknown log opt '%s' for log driver local", key);
  }
  return 0;
}

int security_opt_checks(const json_t *hc, arca_err *err) {
  size_t i;
  const json_t *v;
  json_array_foreach(cc_arr(hc, "SecurityOpt"), i, v) {
    const char *opt = json_string_value(v) ? json_string_value(v) : "";
    if (!strcmp(opt, "no-new-privileges") || !strcmp(opt, "writable-cgroups") ||
        !strcmp(opt, "disable"))
      continue;
    const char *sep = strchr(opt, '=');
    if (!sep) sep = strchr(opt, ':'); /* the separator before 17.04 */
    autofree char *q = go_quote(opt);
    if (!sep) return err_set(err, 400, "invalid --security-opt 1: %s", q);
    size_t klen = (size_t)(sep - opt);
    const char *val = sep + 1;
    if ((klen == 5 && !strncmp(opt, "label", 5)) || (klen == 8 && !strncmp(opt, "apparmor", 8)) ||
        (klen == 7 && !strncmp(opt, "seccomp", 7)))
      continue;
    bool bv;
    if (((klen == 17 && !strncmp(opt, "no-new-privileges", 17)) ||
         (klen == 16 && !strncmp(opt, "writable-cgroups", 16))) &&
        go_parse_bool(val, &bv))
      continue;
    return err_set(err, 400, "invalid --security-opt 2: %s", q);
  }
  return 0;
}

int ulimits_checks(const json_t *hc, arca_err *err) {
  static const char *const names[] = {"core",   "cpu",    "data",    "fsize",  "locks",
                                      "memlock", "msgqueue", "nice", "nofile", "nproc",
                                      "rss",    "rtprio", "rttime",  "sigpending", "stack"};
  size_t i;
  const json_t *u;
  json_array_foreach(cc_arr(hc, "Ulimits"), i, u) {
    if (!json_is_object(u)) continue;
    const char *name = cc_str(u, "Name");
    bool known = false;
    for (size_t k = 0; k < ARRAY_LEN(names) && !known; k++) known = !strcmp(name, names[k]);
    if (!known) return err_set(err, 400, "invalid ulimit type: %s", name);
    int64_t soft = cc_int(u, "Soft"), hard = cc_int(u, "Hard");
    if (hard != -1) {
      if (soft == -1)
        return err_set(err, 400,
                       "ulimit soft limit must be less than or equal to hard limit: soft: -1 "
                       "(unlimited), hard: %lld",
                       (long long)hard);
      if (soft > hard)
        return err_set(err, 400,
                       "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
                       (long long)soft, (long long)hard);
    }
  }
  return 0;
}
