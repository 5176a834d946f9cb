/* Writes a runc config.json built from runtime/linux/oci_defaults for a hand check that
 * runc accepts Docker's defaults on this machine (see runc_oci_check.sh).
 * Usage: oci_config_gen <rootfs> default|privileged|sysadmin <command> [args...] */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "runtime/linux/oci_defaults.h"

static json_t *build_config(const char *rootfs, const char *mode, char **command,
                            arca_err *err) {
  bool privileged = strcmp(mode, "privileged") == 0;
  autojson json_t *cap_add = json_array();
  if (strcmp(mode, "sysadmin") == 0) json_array_append_new(cap_add, json_string("sys_admin"));
  autojson json_t *caps = NULL;
  if (oci_caps_resolve(cap_add, NULL, privileged, &caps, err) < 0) return NULL;

  autojson json_t *linux_obj = json_pack(
      "{s:[{s:s},{s:s},{s:s},{s:s},{s:s}], s:{s:o}, s:o, s:o}", "namespaces", "type", "pid",
      "type", "network", "type", "ipc", "type", "uts", "type", "mount", "resources", "devices",
      oci_default_device_rules(privileged), "maskedPaths", oci_masked_paths(privileged),
      "readonlyPaths", oci_readonly_paths(privileged));
  if (privileged) {
    json_t *devices = NULL;
    if (oci_host_devices(&devices, err) < 0) return NULL;
    json_object_set_new(linux_obj, "devices", devices);
  } else {
    json_t *seccomp = NULL;
    if (oci_seccomp_default(caps, NULL, &seccomp, err) < 0) return NULL;
    json_object_set_new(linux_obj, "seccomp", seccomp);
  }

  json_t *args = json_array();
  for (; *command; command++) json_array_append_new(args, json_string(*command));
  json_t *process = json_pack("{s:b, s:{s:i, s:i}, s:o, s:[s], s:s, s:o, s:o, s:b}",
                              "terminal", 0, "user", "uid", 0, "gid", 0, "args", args, "env",
                              "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "cwd", "/", "capabilities",
                              oci_process_capabilities(caps), "rlimits", oci_default_rlimits(),
                              "noNewPrivileges", 0);
  return json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:O}", "ociVersion", "1.0.2", "process",
                   process, "root", "path", rootfs, "readonly", 0, "hostname", "arca-check",
                   "mounts", oci_default_mounts(privileged, 0), "linux", linux_obj);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <rootfs> default|privileged|sysadmin <command> [args...]\n",
            argv[0]);
    return 2;
  }
  arca_err err = {0};
  autojson json_t *config = build_config(argv[1], argv[2], argv + 3, &err);
  if (!config) {
    fprintf(stderr, "oci_config_gen: %s\n", err.msg);
    return 1;
  }
  json_dumpf(config, stdout, JSON_INDENT(2));
  putchar('\n');
  return 0;
}
