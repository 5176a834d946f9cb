/* The Linux runtime driver: the ops table and the lifecycle operations that need nothing
 * but runc and the container's files (status, reset, remove, signals, pause, update). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"
#include "runtime/linux/lx_cp.h"
#include "runtime/linux/lx_files.h"
#include "runtime/linux/lx_paths.h"

int lx_check_id(const char *id, arca_err *err) {
  if (!lx_id_valid(id)) return err_set(err, 400, "invalid sandbox id: %s", id ? id : "(null)");
  return 0;
}

lx_ctr *lx_ctr_lookup(lx_driver *d, const char *id, bool create) {
  for (lx_ctr *c = d->ctrs; c; c = c->next)
    if (!strcmp(c->id, id)) return c;
  if (!create) return NULL;
  lx_ctr *c = xcalloc(1, sizeof *c);
  snprintf(c->id, sizeof c->id, "%s", id);
  c->next = d->ctrs;
  d->ctrs = c;
  return c;
}

static void ctr_forget(lx_driver *d, const char *id) {
  pthread_mutex_lock(&d->lock);
  for (lx_ctr **pp = &d->ctrs; *pp; pp = &(*pp)->next) {
    lx_ctr *c = *pp;
    if (strcmp(c->id, id)) continue;
    if (c->pending) break; /* attachments still point at it; they end with the sandbox */
    *pp = c->next;
    free(c);
    break;
  }
  pthread_mutex_unlock(&d->lock);
}

static void set_monitored(lx_driver *d, const char *id, bool on) {
  pthread_mutex_lock(&d->lock);
  lx_ctr *c = lx_ctr_lookup(d, id, on);
  if (c) c->monitored = on;
  if (c && on) c->conmon_pid = lx_conmon_alive(d, id);
  pthread_mutex_unlock(&d->lock);
}

static bool prepared(lx_driver *d, const char *id) {
  autofree char *config = lx_config_path(d->data_root, id);
  return access(config, F_OK) == 0;
}

/* ---- prepare, start -------------------------------------------------------------- */

static int op_prepare(rt_driver *rd, const rt_sandbox_spec *spec, arca_err *err) {
  lx_driver *d = lx_of(rd);
  if (lx_check_id(spec->id, err) < 0) return -1;
  autojson json_t *config = NULL, *inputs = NULL;
  if (lx_spec_build(d, spec, &config, &inputs, err) < 0) return -1;
  autofree char *bundle = lx_bundle_dir(d->data_root, spec->id);
  if (mkdir_p(bundle, 0700, err) < 0) return -1;
  if (lx_rootfs_mount(d, spec->id, json_object_get(inputs, "layers"), err) < 0) return -1;
  if (!strcmp(json_string_value(json_object_get(inputs, "network_mode")), "sandbox") &&
      lx_netns_create(d, spec->id, err) < 0)
    return -1;
  json_t *shm_size = json_object_get(inputs, "shm_size");
  if (shm_size && lx_shm_mount(d, spec->id, json_integer_value(shm_size), err) < 0) return -1;
  /* Docker makes the working directory at create (root-owned); start makes it again. */
  autofree char *rootfs = lx_rootfs_dir(d->data_root, spec->id);
  autoclose int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  const char *cwd = json_string_value(json_object_get(inputs, "cwd"));
  if (root_fd < 0) return err_errno(err, 500, errno, "open %s", rootfs);
  if (strcmp(cwd, "/") && lx_inroot_mkdir_p(root_fd, cwd, 0755, err) < 0) return -1;
  autofree char *config_path = lx_config_path(d->data_root, spec->id);
  autofree char *inputs_path = lx_start_inputs(d->data_root, spec->id);
  autofree char *config_text = json_dumps(config, JSON_COMPACT);
  autofree char *inputs_text = json_dumps(inputs, JSON_COMPACT);
  if (write_file_replace(inputs_path, inputs_text, strlen(inputs_text), 0600, err) < 0 ||
      write_file_replace(config_path, config_text, strlen(config_text), 0600, err) < 0)
    return -1;
  return 0;
}

static int op_start(rt_driver *rd, const char *id, const rt_start_gate *gate, arca_err *err) {
  if (lx_check_id(id, err) < 0) return -1;
  return lx_start(lx_of(rd), id, gate, err);
}

/* ---- status, reset, remove ------------------------------------------------------- */

static int op_status(rt_driver *rd, const char *id, rt_status *st, rt_exit *exit_out,
                     arca_err *err) {
  lx_driver *d = lx_of(rd);
  *st = RT_STATUS_UNKNOWN;
  if (exit_out) memset(exit_out, 0, sizeof *exit_out);
  if (lx_check_id(id, err) < 0) return -1;
  if (!prepared(d, id)) return 0;
  rt_exit ex;
  if (lx_exit_read(d, id, &ex) == 0) {
    *st = RT_STATUS_STOPPED;
    if (exit_out) *exit_out = ex;
    return 0;
  }
  char status[16];
  int known = lx_runc_state(d, id, status, NULL, err);
  if (known < 0) return -1;
  if (!known) {
    *st = RT_STATUS_CREATED;
    return 0;
  }
  if (!strcmp(status, "running") || !strcmp(status, "paused")) {
    *st = !strcmp(status, "running") ? RT_STATUS_RUNNING : RT_STATUS_PAUSED;
    set_monitored(d, id, true);
    return 0;
  }
  if (!strcmp(status, "created")) {
    *st = RT_STATUS_CREATED;
    return 0;
  }
  /* stopped: conmon is about to write the exit file, or died without writing it */
  for (int i = 0; i < 100 && lx_conmon_alive(d, id); i++)
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
  *st = RT_STATUS_STOPPED;
  if (lx_exit_read(d, id, &ex) < 0)
    ex = (rt_exit){
        .exit_code = 255, .finished_ns = now_ns(), .oom_killed = lx_cgroup_oom_killed(id)};
  if (exit_out) *exit_out = ex;
  return 0;
}

static int op_reset(rt_driver *rd, const char *id, arca_err *err) {
  lx_driver *d = lx_of(rd);
  if (lx_check_id(id, err) < 0) return -1;
  char status[16];
  int known = lx_runc_state(d, id, status, NULL, err);
  if (known < 0) return -1;
  if (known && (!strcmp(status, "running") || !strcmp(status, "paused")))
    return err_set(err, 409, "cannot reset sandbox %s: it is %s", id, status);
  set_monitored(d, id, false);
  lx_runtime_cleanup(d, id);
  return 0;
}

static int op_remove(rt_driver *rd, const char *id, arca_err *err) {
  lx_driver *d = lx_of(rd);
  if (lx_check_id(id, err) < 0) return -1;
  set_monitored(d, id, false);
  int64_t t0 = monotonic_ns();
  lx_runtime_cleanup(d, id);
  int64_t t1 = monotonic_ns();
  lx_attach_end_pending(d, id);
  if (lx_rootfs_umount(d, id, err) < 0) return -1;
  lx_shm_umount(d, id);
  lx_netns_remove(d, id);
  int64_t t2 = monotonic_ns();
  autofree char *run_dir = lx_run_dir(d->exec_root, id);
  autofree char *ctr_dir = lx_ctr_dir(d->data_root, id);
  autofree char *c_dir = xasprintf("%s/c", d->exec_root);
  if (lx_trash_remove(d, d->exec_root, run_dir, err) < 0 || lx_trash_remove(d, d->data_root, ctr_dir, err) < 0)
    return -1;
  rmdir(c_dir); /* when it was the last one */
  ctr_forget(d, id);
  if (log_enabled(LOG_DEBUG)) {
    char a[24], b[24], c[24];
    snprintf(a, sizeof a, "%.1fms", (double)(t1 - t0) / 1e6);
    snprintf(b, sizeof b, "%.1fms", (double)(t2 - t1) / 1e6);
    snprintf(c, sizeof c, "%.1fms", (double)(monotonic_ns() - t2) / 1e6);
    log_kv(LOG_DEBUG, "sandbox removed", "id", id, "runtime", a, "mounts", b, "files", c, NULL);
  }
  return 0;
}

/* ---- signals, pause, update, resize ---------------------------------------------- */

/* runc's "not running" answers become Docker's 409. */
static int runc_simple(lx_driver *d, const char *const args[], const char *id, arca_err *err) {
  if (lx_check_id(id, err) < 0) return -1;
  if (lx_runc(d, args, NULL, 0, NULL, err) == 0) return 0;
  if (strstr(err->msg, "not running") || strstr(err->msg, "does not exist") ||
      strstr(err->msg, "not paused") || strstr(err->msg, "is paused"))
    err->status = 409;
  return -1;
}

static int op_signal(rt_driver *rd, const char *id, int signo, arca_err *err) {
  char sig[16];
  snprintf(sig, sizeof sig, "%d", signo);
  const char *args[] = {"kill", id, sig, NULL};
  return runc_simple(lx_of(rd), args, id, err);
}

static int op_pause(rt_driver *rd, const char *id, arca_err *err) {
  const char *args[] = {"pause", id, NULL};
  return runc_simple(lx_of(rd), args, id, err);
}

static int op_resume(rt_driver *rd, const char *id, arca_err *err) {
  const char *args[] = {"resume", id, NULL};
  return runc_simple(lx_of(rd), args, id, err);
}

static int op_update(rt_driver *rd, const char *id, const json_t *host_config, arca_err *err) {
  lx_driver *d = lx_of(rd);
  if (lx_check_id(id, err) < 0) return -1;
  autojson json_t *resources = NULL;
  if (lx_spec_resources(host_config, &resources, err) < 0) return -1;
  /* The bundle keeps the new limits for the next start. */
  autofree char *config_path = lx_config_path(d->data_root, id);
  autojson json_t *config = json_load_file(config_path, 0, NULL);
  if (!config) return err_set(err, 404, "sandbox %s is not prepared", id);
  json_t *linux_obj = json_object_get(config, "linux");
  json_t *old = json_object_get(linux_obj, "resources");
  json_t *merged = json_deep_copy(resources);
  json_object_set(merged, "devices", json_object_get(old, "devices"));
  json_object_set_new(linux_obj, "resources", merged);
  autofree char *text = json_dumps(config, JSON_COMPACT);
  if (write_file_replace(config_path, text, strlen(text), 0600, err) < 0) return -1;

  char status[16];
  int known = lx_runc_state(d, id, status, NULL, err);
  if (known < 0) return -1;
  if (!known ||
      (strcmp(status, "running") && strcmp(status, "paused") && strcmp(status, "created")))
    return 0;
  autofree char *input = json_dumps(resources, JSON_COMPACT);
  const char *args[] = {"update", "--resources", "-", id, NULL};
  return lx_runc(d, args, input, strlen(input), NULL, err);
}

static int op_resize(rt_driver *rd, const char *id, const char *exec_id, uint16_t rows,
                     uint16_t cols, arca_err *err) {
  lx_driver *d = lx_of(rd);
  if (lx_check_id(id, err) < 0) return -1;
  if (exec_id) return lx_exec_resize(d, id, exec_id, rows, cols, err);
  /* conmon's control fifo: "1 <rows> <cols>\n" is a resize. */
  autofree char *bundle = lx_bundle_dir(d->data_root, id);
  autofree char *path = xasprintf("%s/ctl", bundle);
  autoclose int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return errno == ENXIO || errno == ENOENT ? err_set(err, 409, "container %s is not running", id)
                                             : err_errno(err, 500, errno, "open %s", path);
  char line[64];
  int len = snprintf(line, sizeof line, "1 %u %u\n", (unsigned)rows, (unsigned)cols);
  if (write(fd, line, (size_t)len) != len) return err_errno(err, 500, errno, "resize %s", id);
  return 0;
}

static char *op_log_path(rt_driver *rd, const char *id) {
  if (!lx_id_valid(id)) return NULL;
  return lx_log_path(lx_of(rd)->data_root, id);
}

/* ---- files (files.c, stats.c) ---------------------------------------------------- */

/* The sandbox's root, mounted (again after a reboot), and its extra mounts for docker cp. */
typedef struct files_ctx {
  char *rootfs, *upper;
  json_t *inputs;
  lx_extra_mount *mounts;
  size_t nmounts;
} files_ctx;

static void files_ctx_free(files_ctx *f) {
  free(f->rootfs);
  free(f->upper);
  free(f->mounts);
  json_decref(f->inputs);
}

static int files_ctx_open(lx_driver *d, const char *id, files_ctx *f, arca_err *err) {
  memset(f, 0, sizeof *f);
  if (lx_check_id(id, err) < 0) return -1;
  autofree char *inputs_path = lx_start_inputs(d->data_root, id);
  f->inputs = json_load_file(inputs_path, 0, NULL);
  if (!f->inputs) return err_set(err, 404, "sandbox %s is not prepared", id);
  if (lx_rootfs_mount(d, id, json_object_get(f->inputs, "layers"), err) < 0) {
    files_ctx_free(f);
    return -1;
  }
  f->rootfs = lx_rootfs_dir(d->data_root, id);
  f->upper = lx_upper_dir(d->data_root, id);
  json_t *extra = json_object_get(f->inputs, "extra_mounts");
  f->nmounts = json_array_size(extra);
  f->mounts = xcalloc(f->nmounts + 1, sizeof *f->mounts);
  for (size_t i = 0; i < f->nmounts; i++) {
    json_t *m = json_array_get(extra, i);
    f->mounts[i].destination = json_string_value(json_object_get(m, "destination"));
    f->mounts[i].source = json_string_value(json_object_get(m, "source"));
    f->mounts[i].readonly = json_is_true(json_object_get(m, "readonly"));
  }
  return 0;
}

static int op_changes(rt_driver *rd, const char *id, json_t **out, arca_err *err) {
  files_ctx f;
  if (files_ctx_open(lx_of(rd), id, &f, err) < 0) return -1;
  json_t *layers = json_object_get(f.inputs, "layers");
  size_t n = json_array_size(layers);
  const char **lower = xcalloc(n + 1, sizeof *lower);
  for (size_t i = 0; i < n; i++) lower[i] = json_string_value(json_array_get(layers, i));
  int rc = lx_changes(f.upper, lower, n, out, err);
  free(lower);
  files_ctx_free(&f);
  return rc;
}

static int op_export(rt_driver *rd, const char *id, int fd, arca_err *err) {
  files_ctx f;
  if (files_ctx_open(lx_of(rd), id, &f, err) < 0) return -1;
  int rc = lx_export(f.rootfs, f.mounts, f.nmounts, fd, err);
  files_ctx_free(&f);
  return rc;
}

static int op_commit_layer(rt_driver *rd, const char *id, int fd, char diff_id[72], char digest[72],
                           int64_t *size, int64_t *csize, arca_err *err) {
  if (lx_check_id(id, err) < 0) return -1;
  autofree char *upper = lx_upper_dir(lx_of(rd)->data_root, id);
  return lx_commit_layer(upper, fd, diff_id, digest, size, csize, err);
}

static int op_path_stat(rt_driver *rd, const char *id, const char *path, rt_path_stat *st,
                        arca_err *err) {
  files_ctx f;
  if (files_ctx_open(lx_of(rd), id, &f, err) < 0) return -1;
  int rc = lx_path_stat(f.rootfs, f.mounts, f.nmounts, path, st, err);
  files_ctx_free(&f);
  return rc;
}

static int op_archive_get(rt_driver *rd, const char *id, const char *path, int fd, rt_path_stat *st,
                          arca_err *err) {
  files_ctx f;
  if (files_ctx_open(lx_of(rd), id, &f, err) < 0) return -1;
  int rc = lx_archive_get(f.rootfs, f.mounts, f.nmounts, path, fd, st, err);
  files_ctx_free(&f);
  return rc;
}

static int op_archive_put(rt_driver *rd, const char *id, const char *path, int fd,
                          bool no_overwrite_dir_non_dir, bool copy_uid_gid, arca_err *err) {
  files_ctx f;
  if (files_ctx_open(lx_of(rd), id, &f, err) < 0) return -1;
  lx_put_options o = {.no_overwrite_dir_non_dir = no_overwrite_dir_non_dir,
                      .user = copy_uid_gid ? json_string_value(json_object_get(f.inputs, "user")) : NULL,
                      .readonly_rootfs = json_is_true(json_object_get(f.inputs, "readonly_rootfs"))};
  int rc = lx_archive_put_opts(f.rootfs, f.mounts, f.nmounts, path, fd, &o, err);
  files_ctx_free(&f);
  return rc;
}

static int op_sizes(rt_driver *rd, const char *id, int64_t *size_rw, int64_t *size_root,
                    arca_err *err) {
  files_ctx f;
  if (files_ctx_open(lx_of(rd), id, &f, err) < 0) return -1;
  int rc = lx_sizes(f.upper, f.rootfs, size_rw, size_root, err);
  files_ctx_free(&f);
  return rc;
}

static int op_stats(rt_driver *rd, const char *id, rt_stats *out, arca_err *err) {
  if (lx_check_id(id, err) < 0) return -1;
  autofree char *cgroup = lx_cgroup_path(id);
  autofree char *netns = lx_netns_path(lx_of(rd)->exec_root, id);
  return lx_stats(cgroup, lx_is_mountpoint(netns) ? netns : NULL, out, err);
}

static int op_top(rt_driver *rd, const char *id, const char *ps_args, json_t **titles,
                  json_t **processes, arca_err *err) {
  if (lx_check_id(id, err) < 0) return -1;
  autofree char *cgroup = lx_cgroup_path(id);
  return lx_top(cgroup, ps_args, titles, processes, err);
}

/* ---- the driver ------------------------------------------------------------------ */

static void op_destroy(rt_driver *rd) {
  lx_driver *d = lx_of(rd);
  if (!d) return;
  if (d->stop_fd >= 0) {
    uint64_t one = 1;
    if (write(d->stop_fd, &one, sizeof one) < 0) log_warn("driver stop: %s", strerror(errno));
  }
  lx_monitor_stop(d);
  lx_execs_stop(d);
  lx_veth_settle(d, NULL);
  lx_trash_close(d);
  while (d->ctrs) {
    lx_ctr *c = d->ctrs;
    d->ctrs = c->next;
    free(c);
  }
  if (d->stop_fd >= 0) close(d->stop_fd);
  pthread_mutex_destroy(&d->lock);
  pthread_cond_destroy(&d->execs_done);
  free(d->data_root), free(d->exec_root), free(d->runtime_path), free(d->conmon_path);
  free(d->netavark_path), free(d->aardvark_path), free(d->init_path);
  free(d->runc_root), free(d->exits_dir);
  free(d);
}

static const rt_driver_ops linux_ops = {
    .name = "linux",
    .destroy = op_destroy,
    .prepare = op_prepare,
    .start = op_start,
    .signal = op_signal,
    .pause = op_pause,
    .resume = op_resume,
    .status = op_status,
    .reset = op_reset,
    .remove = op_remove,
    .update = op_update,
    .stats = op_stats,
    .top = op_top,
    .exec = lx_exec_start,
    .resize = op_resize,
    .attach = lx_attach,
    .attach_read = lx_attach_read,
    .attach_write = lx_attach_write,
    .attach_close_stdin = lx_attach_close_stdin,
    .attach_free = lx_attach_free,
    .log_path = op_log_path,
    .changes = op_changes,
    .export_rootfs = op_export,
    .commit_layer = op_commit_layer,
    .path_stat = op_path_stat,
    .archive_get = op_archive_get,
    .archive_put = op_archive_put,
    .sizes = op_sizes,
    .network_attach = lx_network_attach,
    .network_detach = lx_network_detach,
    .network_release = lx_network_release,
};

static char *dup_or_null(const char *s) { return s && *s ? xstrdup(s) : NULL; }

int rt_linux_new(const rt_linux_config *cfg, rt_exit_fn on_exit, rt_oom_fn on_oom, void *cb_ctx,
                 rt_driver **out, arca_err *err) {
  *out = NULL;
  if (!cfg->data_root || cfg->data_root[0] != '/' || !cfg->exec_root || cfg->exec_root[0] != '/')
    return err_set(err, 500, "the runtime needs absolute data and exec roots");
  if (!cfg->runtime_path || !cfg->conmon_path)
    return err_set(err, 500, "the runtime needs runc (or crun) and conmon");
  lx_driver *d = xcalloc(1, sizeof *d);
  d->base.ops = &linux_ops;
  d->base.on_exit = on_exit;
  d->base.on_oom = on_oom;
  d->base.cb_ctx = cb_ctx;
  d->data_root = xstrdup(cfg->data_root);
  d->exec_root = xstrdup(cfg->exec_root);
  d->runtime_path = xstrdup(cfg->runtime_path);
  d->conmon_path = xstrdup(cfg->conmon_path);
  d->netavark_path = dup_or_null(cfg->netavark_path);
  d->aardvark_path = dup_or_null(cfg->aardvark_path);
  d->init_path = dup_or_null(cfg->init_path);
  d->runc_root = lx_runc_root(cfg->exec_root);
  d->exits_dir = lx_exits_dir(cfg->exec_root);
  d->cgroup_v2 = lx_cgroup_v2();
  d->inotify_fd = -1;
  pthread_mutex_init(&d->lock, NULL);
  pthread_cond_init(&d->execs_done, NULL);
  d->stop_fd = eventfd(0, EFD_CLOEXEC);
  autofree char *containers = xasprintf("%s/containers", d->data_root);
  if (d->stop_fd < 0) {
    err_errno(err, 500, errno, "eventfd");
  } else if (mkdir_p(containers, 0711, err) == 0 && mkdir_p(d->exec_root, 0711, err) == 0 &&
             mkdir_p(d->runc_root, 0700, err) == 0 && mkdir_p(d->exits_dir, 0700, err) == 0 &&
             lx_trash_open(d, err) == 0 && lx_monitor_start(d, err) == 0) {
    *out = &d->base;
    return 0;
  }
  op_destroy(&d->base);
  return -1;
}
