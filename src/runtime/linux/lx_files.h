#ifndef ARCA_RUNTIME_LINUX_LX_FILES_H
#define ARCA_RUNTIME_LINUX_LX_FILES_H
#include "runtime/driver.h"
typedef struct lx_extra_mount { const char *destination; const char *source; bool readonly; } lx_extra_mount;
int lx_changes(const char *upper_dir, const char *const *lower_dirs, size_t nlower, json_t **out, arca_err *err);
int lx_export(const char *rootfs, const lx_extra_mount *m, size_t nm, int fd, arca_err *err);
int lx_commit_layer(const char *upper_dir, int fd, char diff_id[72], char digest[72], int64_t *size, int64_t *csize, arca_err *err);
int lx_path_stat(const char *rootfs, const lx_extra_mount *m, size_t nm, const char *path, rt_path_stat *st, arca_err *err);
int lx_archive_get(const char *rootfs, const lx_extra_mount *m, size_t nm, const char *path, int fd, rt_path_stat *st, arca_err *err);
int lx_archive_put(const char *rootfs, const lx_extra_mount *m, size_t nm, const char *path, int fd, bool no_overwrite_dir_non_dir, bool copy_uid_gid, arca_err *err);
int lx_sizes(const char *upper_dir, const char *rootfs, int64_t *size_rw, int64_t *size_root, arca_err *err);
/* cgroup_path: the container's cgroup relative to the hierarchy roots, "/arca/<id>" */
int lx_stats(const char *cgroup_path, const char *netns_path, rt_stats *out, arca_err *err);
int lx_top(const char *cgroup_path, const char *ps_args, json_t **titles, json_t **processes, arca_err *err);
#endif
