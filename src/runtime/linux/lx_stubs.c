/* Weak stand-ins for files.c and stats.c (written on another branch) so this branch links.
 * Delete this file when that branch merges. */
#include <stdlib.h>

#include "runtime/linux/lx_files.h"

__attribute__((weak)) int lx_changes(const char *upper_dir, json_t **out, arca_err *err) {
  return err_set(err, 501, "not yet");
}
__attribute__((weak)) int lx_export(const char *rootfs, const lx_extra_mount *m, size_t nm, int fd,
                                    arca_err *err) {
  return err_set(err, 501, "not yet");
}
__attribute__((weak)) int lx_commit_layer(const char *upper_dir, int fd, char diff_id[72],
                                          char digest[72], int64_t *size, int64_t *csize,
                                          arca_err *err) {
  return err_set(err, 501, "not yet");
}
__attribute__((weak)) int lx_path_stat(const char *rootfs, const lx_extra_mount *m, size_t nm,
                                       const char *path, rt_path_stat *st, arca_err *err) {
  return err_set(err, 501, "not yet");
}
__attribute__((weak)) int lx_archive_get(const char *rootfs, const lx_extra_mount *m, size_t nm,
                                         const char *path, int fd, rt_path_stat *st,
                                         arca_err *err) {
  return err_set(err, 501, "not yet");
}
__attribute__((weak)) int lx_archive_put(const char *rootfs, const lx_extra_mount *m, size_t nm,
                                         const char *path, int fd, bool no_overwrite_dir_non_dir,
                                         bool copy_uid_gid, arca_err *err) {
  return err_set(err, 501, "not yet");
}
__attribute__((weak)) int lx_sizes(const char *upper_dir, const char *rootfs, int64_t *size_rw,
                                   int64_t *size_root, arca_err *err) {
  return err_set(err, 501, "not yet");
}
__attribute__((weak)) int lx_stats(const char *cgroup_path, const char *netns_path, rt_stats *out,
                                   arca_err *err) {
  return err_set(err, 501, "not yet");
}
__attribute__((weak)) int lx_top(const char *cgroup_path, const char *ps_args, json_t **titles,
                                 json_t **processes, arca_err *err) {
  return err_set(err, 501, "not yet");
}
/* Declared in runtime/driver.h; stats.c owns the real one. */
__attribute__((weak)) void rt_stats_free(rt_stats *s) {
  if (!s) return;
  free(s->percpu_ns);
  json_decref(s->mem_stats);
  json_decref(s->blkio);
  json_decref(s->networks);
  s->percpu_ns = NULL;
  s->mem_stats = s->blkio = s->networks = NULL;
}
