/* Where the Linux driver keeps each container's files. Every other file of the driver (and
 * files.c/stats.c) derives paths from these functions only.
 *
 *   <data_root>/containers/<id>/          lx_ctr_dir        survives reboots
 *     bundle/config.json                  lx_config_path    the OCI bundle runc runs
 *     bundle/arca.json                    lx_start_inputs   what start resolves each time
 *     bundle/ctl, bundle/attach           (conmon)          resize fifo, attach socket
 *     rootfs/                             lx_rootfs_dir     overlay merged mount point
 *     upper/, work/                       lx_upper_dir ...  overlay upper and work dirs
 *     l/<n>                               lx_links_dir      short names of the lower layers
 *     empty/                              (lower of an image without layers)
 *     shm/                                lx_shm_dir        /dev/shm tmpfs of IPC "shareable"
 *     ctr.log                             lx_log_path       conmon's k8s-file log
 *   <exec_root>/c/<id>/                   lx_run_dir        conmon pidfiles, persist dir
 *     pid, conmon.pid, exit, oom          (conmon)
 *     attach -> bundle                    lx_attach_link    conmon's socket dir symlink
 *   <exec_root>/exits/<id>                lx_exit_file      conmon --exit-dir (one inotify
 *                                                           watch for every container)
 *   <exec_root>/runc/                     lx_runc_root      runc --root
 *   <exec_root>/netns/<id>                lx_netns_path     network namespace bind mount
 *   <exec_root>/netavark/                 lx_netavark_dir   netavark --config
 *   cgroup "/arca/<id>"                   lx_cgroup_path    under every v1 controller, or
 *                                                           /sys/fs/cgroup/arca/<id> on v2
 *
 * Every function returns a new string (caller frees). Ids are checked by the driver before
 * any path is built (lx_id_valid), so none of these can escape their parent. */
#ifndef ARCA_RUNTIME_LINUX_LX_PATHS_H
#define ARCA_RUNTIME_LINUX_LX_PATHS_H

#include <stdbool.h>

/* Letters, digits, '_', '.', '-'; 1 to 64 characters; not "." or "..". */
bool lx_id_valid(const char *id);

char *lx_ctr_dir(const char *data_root, const char *id);
char *lx_bundle_dir(const char *data_root, const char *id);
char *lx_config_path(const char *data_root, const char *id);
char *lx_start_inputs(const char *data_root, const char *id);
char *lx_rootfs_dir(const char *data_root, const char *id);
char *lx_upper_dir(const char *data_root, const char *id);
char *lx_work_dir(const char *data_root, const char *id);
char *lx_links_dir(const char *data_root, const char *id);
char *lx_log_path(const char *data_root, const char *id);
char *lx_shm_dir(const char *data_root, const char *id);

char *lx_run_dir(const char *exec_root, const char *id);
char *lx_attach_link(const char *exec_root, const char *id);
char *lx_exits_dir(const char *exec_root);
char *lx_exit_file(const char *exec_root, const char *id);
char *lx_runc_root(const char *exec_root);
char *lx_netns_dir(const char *exec_root);
char *lx_netns_path(const char *exec_root, const char *id);
char *lx_netavark_dir(const char *exec_root);

/* "/arca/<id>", relative to the root of each cgroup hierarchy. */
char *lx_cgroup_path(const char *id);

#endif
