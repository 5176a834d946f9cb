#include "runtime/linux/lx_paths.h"

#include <string.h>

#include "common/util.h"

bool lx_id_valid(const char *id) {
  size_t n = id ? strlen(id) : 0;
  if (n == 0 || n > 64 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0) return false;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

char *lx_ctr_dir(const char *data_root, const char *id) {
  return xasprintf("%s/containers/%s", data_root, id);
}
char *lx_bundle_dir(const char *data_root, const char *id) {
  return xasprintf("%s/containers/%s/bundle", data_root, id);
}
char *lx_config_path(const char *data_root, const char *id) {
  return xasprintf("%s/containers/%s/bundle/config.json", data_root, id);
}
char *lx_start_inputs(const char *data_root, const char *id) {
  return xasprintf("%s/containers/%s/bundle/arca.json", data_root, id);
}
char *lx_rootfs_dir(const char *data_root, const char *id) {
  return xasprintf("%s/containers/%s/rootfs", data_root, id);
}
char *lx_upper_dir(const char *data_root, const char *id) {
  return xasprintf("%s/containers/%s/upper", data_root, id);
}
char *lx_work_dir(const char *data_root, const char *id) {
  return xasprintf("%s/containers/%s/work", data_root, id);
}
char *lx_links_dir(const char *data_root, const char *id) {
  return xasprintf("%s/containers/%s/l", data_root, id);
}
char *lx_log_path(const char *data_root, const char *id) {
  return xasprintf("%s/containers/%s/ctr.log", data_root, id);
}

char *lx_shm_dir(const char *data_root, const char *id) {
  return xasprintf("%s/containers/%s/shm", data_root, id);
}

char *lx_run_dir(const char *exec_root, const char *id) {
  return xasprintf("%s/c/%s", exec_root, id);
}
char *lx_attach_link(const char *exec_root, const char *id) {
  return xasprintf("%s/c/%s/attach", exec_root, id);
}
char *lx_exits_dir(const char *exec_root) { return xasprintf("%s/exits", exec_root); }
char *lx_exit_file(const char *exec_root, const char *id) {
  return xasprintf("%s/exits/%s", exec_root, id);
}
char *lx_runc_root(const char *exec_root) { return xasprintf("%s/runc", exec_root); }
char *lx_netns_dir(const char *exec_root) { return xasprintf("%s/netns", exec_root); }
char *lx_netns_path(const char *exec_root, const char *id) {
  return xasprintf("%s/netns/%s", exec_root, id);
}
char *lx_netavark_dir(const char *exec_root) { return xasprintf("%s/netavark", exec_root); }

char *lx_cgroup_path(const char *id) { return xasprintf("/arca/%s", id); }
