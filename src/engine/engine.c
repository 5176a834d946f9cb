#include "engine/engine.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "engine/build.h"
#include "engine/execs.h"
#include "engine/networks.h"
#include "engine/volumes.h"

static void make_uuid(char out[40]) {
  char hex[33];
  random_hex(hex, 16);
  hex[12] = '4';                            /* version 4 */
  hex[16] = "89ab"[(hex[16] - '0') & 3];    /* variant 10xx */
  snprintf(out, 40, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static int load_id(engine *e, arca_err *err) {
  autofree char *id = NULL;
  arca_err lerr;
  if (store_meta_get(e->store, "engine-id", &id, &lerr) == 0) {
    snprintf(e->id, sizeof e->id, "%s", id);
    return 0;
  }
  if (lerr.status != 404) {
    err_copy(err, &lerr);
    return -1;
  }
  make_uuid(e->id);
  return store_meta_set(e->store, "engine-id", e->id, err);
}

static void empty_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *ent;
  while ((ent = readdir(d))) {
    if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
    autofree char *p = xasprintf("%s/%s", dir, ent->d_name);
    rm_rf(p, NULL);
  }
  closedir(d);
}

int engine_open(arca_config *cfg, engine **out, arca_err *err) {
  engine *e = xcalloc(1, sizeof *e);
  autofree char *db = NULL;
  e->cfg = *cfg;
  memset(cfg, 0, sizeof *cfg);
  pthread_rwlock_init(&e->cfg_lock, NULL);
  e->start_ns = now_ns();
  e->events = events_new();

  if (mkdir_p(e->cfg.data_root, 0711, err) < 0 || mkdir_p(e->cfg.exec_root, 0711, err) < 0) goto fail;
  chmod(e->cfg.data_root, 0711);
  e->tmp_dir = xasprintf("%s/tmp", e->cfg.data_root);
  if (mkdir_p(e->tmp_dir, 0700, err) < 0) goto fail;
  empty_dir(e->tmp_dir); /* leftovers of a daemon that died mid-request */

  db = xasprintf("%s/arca.db", e->cfg.data_root);
  if (store_open(db, &e->store, err) < 0) goto fail;
  if (load_id(e, err) < 0) goto fail;
  if (images_open(e, err) < 0) goto fail;
  e->images_open = true;
  if (build_cache_open(e, err) < 0) goto fail;
  e->sched = sched_new();
  prereq_check(&e->cfg, &e->prereq);
  if (!e->cfg.skip_prereq_check || e->prereq.runtime_path[0]) {
    /* the init runs inside any image: it must be static (Debian: tini-static) */
    autofree char *init = proc_find("tini-static", NULL);
    if (!init) init = proc_find("tini", NULL);
    rt_linux_config lc = {.data_root = e->cfg.data_root, .exec_root = e->cfg.exec_root, .runtime = e->cfg.runtime,
                          .runtime_path = e->prereq.runtime_path, .conmon_path = e->prereq.conmon_path,
                          .netavark_path = e->prereq.netavark_path, .aardvark_path = e->prereq.aardvark_path,
                          .init_path = init};
    arca_err derr;
    if (rt_linux_new(&lc, containers_on_exit, containers_on_oom, e, &e->driver, &derr) < 0) {
      if (!e->cfg.skip_prereq_check) {
        err_copy(err, &derr);
        err_wrap(err, "start the container runtime");
        goto fail;
      }
      log_kv(LOG_WARN, "container runtime unavailable: the API serves without it", "error", derr.msg, NULL);
      e->driver = NULL;
    }
  }
  if (networks_open(e, err) < 0 || volumes_open(e, err) < 0) goto fail;
  if (execs_open(e, err) < 0 || containers_open(e, err) < 0) goto fail;
  host_info_gather(&e->host, e->cfg.data_root);
  *out = e;
  return 0;
fail:
  engine_close(e);
  return -1;
}

void engine_close(engine *e) {
  if (!e) return;
  /* no new jobs, running ones finished, then no more exit callbacks, then the records */
  if (e->sched) sched_free(e->sched);
  sched_wait_spawned(10000);
  if (e->driver && e->networks) networks_release_all(e, false);
  if (e->driver) e->driver->ops->destroy(e->driver);
  e->driver = NULL;
  containers_close(e);
  execs_close(e);
  volumes_close(e);
  networks_close(e);
  prereq_report_free(&e->prereq);
  build_cache_close(e);
  if (e->images_open) images_close(e);
  store_close(e->store);
  events_free(e->events);
  free(e->tmp_dir);
  config_free(&e->cfg);
  pthread_rwlock_destroy(&e->cfg_lock);
  free(e);
}

const char *engine_tmp_dir(engine *e) { return e->tmp_dir; }

static void swap_list(strlist *a, strlist *b) {
  strlist t = *a;
  *a = *b;
  *b = t;
}

int engine_reload(engine *e, arca_config *fresh, arca_err *err) {
  (void)err;
  pthread_rwlock_wrlock(&e->cfg_lock);
  e->cfg.debug = fresh->debug;
  e->cfg.log_level = fresh->log_level;
  swap_list(&e->cfg.insecure_registries, &fresh->insecure_registries);
  swap_list(&e->cfg.registry_mirrors, &fresh->registry_mirrors);
  swap_list(&e->cfg.labels, &fresh->labels);
  e->cfg.max_concurrent_downloads = fresh->max_concurrent_downloads;
  e->cfg.max_concurrent_uploads = fresh->max_concurrent_uploads;
  log_setup(e->cfg.log_level, e->cfg.log_format);
  json_t *attrs = json_object();
  json_object_set_new(attrs, "debug", json_string(e->cfg.debug ? "true" : "false"));
  json_object_set_new(attrs, "max-concurrent-downloads", json_sprintf("%d", e->cfg.max_concurrent_downloads));
  json_object_set_new(attrs, "max-concurrent-uploads", json_sprintf("%d", e->cfg.max_concurrent_uploads));
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, "[");
  for (size_t i = 0; i < e->cfg.insecure_registries.n; i++) {
    if (i) sb_puts(&sb, " ");
    sb_puts(&sb, e->cfg.insecure_registries.v[i]);
  }
  sb_puts(&sb, "]");
  json_object_set_new(attrs, "insecure-registries", json_string(sb.buf));
  sb_free(&sb);
  json_object_set_new(attrs, "name", json_string(e->host.hostname));
  pthread_rwlock_unlock(&e->cfg_lock);
  events_publish(e->events, "daemon", "reload", e->id, attrs);
  config_free(fresh);
  return 0;
}
