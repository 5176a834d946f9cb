/* The container's root: an overlay of the image layers (lowest first in the engine's list,
 * so top first in lowerdir) under the container's own upper and work dirs.
 *
 * mount(2) takes one page of options, which some 40 long layer paths exhaust. Each layer
 * gets a short symlink l/<n> in the container dir instead, and a child process chdir()s
 * there and mounts with relative paths ("lowerdir=l/2:l/1:l/0,upperdir=upper,..."): a few
 * bytes per layer, so overlay's own limit (500 lowers) is reached long before the page. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"
#include "runtime/linux/lx_paths.h"

bool lx_is_mountpoint(const char *path) {
  struct statx stx;
  if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0) return false;
  if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
    return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  autofree char *parent = xasprintf("%s/..", path);
  struct stat a, b;
  if (stat(path, &a) < 0 || stat(parent, &b) < 0) return false;
  return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

typedef struct {
  const char *dir, *target, *data;
} overlay_mount;

static int mount_here(void *arg) {
  const overlay_mount *m = arg;
  if (unshare(CLONE_FS) < 0) return -errno; /* this thread's own working directory */
  if (chdir(m->dir) < 0) return -errno;
  if (mount("overlay", m->target, "overlay", 0, m->data) < 0) return -errno;
  return 0;
}

/* The mount itself, from inside dir (the layer paths of the options stay short, whatever
 * the depth of the data root), on a thread whose working directory is its own. */
static int mount_in_dir(const char *dir, const char *target, const char *data) {
  overlay_mount m = {.dir = dir, .target = target, .data = data};
  return lx_isolated(mount_here, &m);
}

/* The init layer, as dockerd's: mount points of the files and directories the runtime
 * mounts over, so that they exist whatever the image holds, and stay out of the writable
 * layer (docker diff and commit do not see them). Also /.dockerenv, which programs use to
 * learn they run in a container. */
static int init_layer(const char *dir, arca_err *err) {
  static const char *const dirs[] = {"etc", "dev", "dev/pts", "dev/shm", "proc", "sys"};
  static const char *const files[] = {".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf", "dev/console"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    autofree char *p = xasprintf("%s/%s", dir, dirs[i]);
    if (mkdir_p(p, 0755, err) < 0) return -1;
  }
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    autofree char *p = xasprintf("%s/%s", dir, files[i]);
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
    if (fd < 0) return err_errno(err, 500, errno, "create %s", p);
    close(fd);
  }
  autofree char *mtab = xasprintf("%s/etc/mtab", dir);
  if (symlink("/proc/mounts", mtab) < 0 && errno != EEXIST) return err_errno(err, 500, errno, "create %s", mtab);
  return 0;
}

/* The init layer is the same for every container and never written (a lower layer): one
 * copy under the data root serves them all, each container linking to it, which spares a
 * dozen inodes per container. Built aside and renamed into place, so that it is whole. */
static char *shared_init_layer(lx_driver *d, arca_err *err) {
  char *dir = xasprintf("%s/init-layer", d->data_root);
  autofree char *mtab = xasprintf("%s/etc/mtab", dir);
  struct stat st;
  if (lstat(mtab, &st) == 0) return dir;
  char suffix[17];
  random_hex(suffix, 8);
  autofree char *tmp = xasprintf("%s.tmp-%s", dir, suffix);
  if (mkdir_p(tmp, 0755, err) < 0 || init_layer(tmp, err) < 0) {
    rm_rf(tmp, NULL);
    free(dir);
    return NULL;
  }
  if (rename(tmp, dir) < 0) {
    int e = errno;
    rm_rf(tmp, NULL);
    if (lstat(mtab, &st) == 0) return dir; /* built meanwhile by another start */
    err_errno(err, 500, e, "create %s", dir);
    free(dir);
    return NULL;
  }
  return dir;
}

int lx_rootfs_mount(lx_driver *d, const char *id, const json_t *layers, arca_err *err) {
  autofree char *ctr_dir = lx_ctr_dir(d->data_root, id);
  autofree char *rootfs = lx_rootfs_dir(d->data_root, id);
  if (lx_is_mountpoint(rootfs)) return 0;
  autofree char *upper = lx_upper_dir(d->data_root, id);
  autofree char *work = lx_work_dir(d->data_root, id);
  autofree char *links = lx_links_dir(d->data_root, id);
  if (mkdir_p(upper, 0755, err) < 0 || mkdir_p(work, 0755, err) < 0 ||
      mkdir_p(rootfs, 0755, err) < 0)
    return err_wrap(err, "prepare root filesystem");
  if (rm_rf(links, err) < 0 || mkdir_p(links, 0755, err) < 0)
    return err_wrap(err, "prepare root filesystem");

  size_t n = json_array_size(layers);
  strbuf data;
  sb_init(&data);
  sb_puts(&data, "lowerdir=");
  if (n == 0) {
    autofree char *empty = xasprintf("%s/empty", ctr_dir);
    if (mkdir_p(empty, 0755, err) < 0) {
      sb_free(&data);
      return err_wrap(err, "prepare root filesystem");
    }
    sb_puts(&data, "empty");
  }
  for (size_t i = 0; i < n; i++) {
    const char *layer = json_string_value(json_array_get(layers, i));
    autofree char *link = xasprintf("%s/%zu", links, i);
    if (!layer || layer[0] != '/') {
      sb_free(&data);
      return err_set(err, 500, "layer %zu of %s: not an absolute path", i, id);
    }
    if (symlink(layer, link) < 0) {
      int e = errno;
      sb_free(&data);
      return err_errno(err, 500, e, "link layer %s", layer);
    }
  }
  autofree char *init = xasprintf("%s/init", ctr_dir);
  autofree char *shared = shared_init_layer(d, err);
  struct stat ist;
  bool have_init = lstat(init, &ist) == 0; /* a container made before the layer was shared */
  if (!shared || (!have_init && symlink(shared, init) < 0 && errno != EEXIST)) {
    if (shared) err_errno(err, 500, errno, "link %s", init);
    sb_free(&data);
    return err_wrap(err, "prepare root filesystem");
  }
  if (n) sb_puts(&data, "init:");
  else {
    /* the empty lower already written: put init above it */
    sb_free(&data);
    sb_init(&data);
    sb_puts(&data, "lowerdir=init:empty");
  }
  for (size_t i = n; i > 0; i--) sb_printf(&data, "%sl/%zu", i == n ? "" : ":", i - 1);
  sb_puts(&data, ",upperdir=upper,workdir=work");
  int rc = mount_in_dir(ctr_dir, "rootfs", data.buf);
  sb_free(&data);
  if (rc < 0) return err_errno(err, 500, -rc, "mount overlay root of %s (%zu layers)", id, n);
  return 0;
}

int lx_rootfs_umount(lx_driver *d, const char *id, arca_err *err) {
  autofree char *rootfs = lx_rootfs_dir(d->data_root, id);
  for (int attempt = 0; attempt < 8 && lx_is_mountpoint(rootfs); attempt++) {
    if (umount2(rootfs, 0) == 0) continue;
    if (errno == EINVAL || errno == ENOENT) break;
    if (errno == EBUSY && umount2(rootfs, MNT_DETACH) == 0) continue;
    return err_errno(err, 500, errno, "unmount %s", rootfs);
  }
  if (lx_is_mountpoint(rootfs)) return err_set(err, 500, "%s is still mounted", rootfs);
  return 0;
}

int lx_shm_mount(lx_driver *d, const char *id, int64_t size, arca_err *err) {
  autofree char *dir = lx_shm_dir(d->data_root, id);
  if (lx_is_mountpoint(dir)) return 0;
  if (mkdir_p(dir, 0700, err) < 0) return err_wrap(err, "shm of %s", id);
  char data[64];
  snprintf(data, sizeof data, "mode=1777,size=%lld", (long long)size);
  if (mount("shm", dir, "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, data) < 0)
    return err_errno(err, 500, errno, "mounting shm tmpfs");
  return 0;
}

void lx_shm_umount(lx_driver *d, const char *id) {
  autofree char *dir = lx_shm_dir(d->data_root, id);
  for (int i = 0; i < 4 && lx_is_mountpoint(dir); i++) umount2(dir, MNT_DETACH);
}
