/* Docker's container state machine over the runtime driver: prepare, start, stop, kill,
 * restart, pause, remove, update, wait, exits, restart policies, re-adoption. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/config_apply.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/container_config.h"
#include "engine/container_internal.h"
#include "engine/engine.h"
#include "engine/volumes.h"

#define CS(e) (&(e)->containers)

int container_signal_number(const char *s) { return signal_parse(s); }

static rt_driver *drv(engine *e) { return e->driver; }

static int no_driver(arca_err *err) {
  return err_set(err, 500, "the container runtime is not available on this host (see `arcad doctor`)");
}

/* ---- the sandbox spec from the record ---- */

static char **process_env(engine *e, container *c, size_t *n) {
  (void)e;
  json_t *env = json_object_get(c->config, "Env");
  size_t ne = json_array_size(env);
  char **out = xcalloc(ne + 4, sizeof *out);
  *n = 0;
  bool has_path = false, has_home = false, has_term = false;
  size_t i;
  json_t *v;
  json_array_foreach(env, i, v) {
    const char *s = json_string_value(v);
    if (!s) continue;
    if (str_has_prefix(s, "PATH=")) has_path = true;
    if (str_has_prefix(s, "HOME=")) has_home = true;
    if (str_has_prefix(s, "TERM=")) has_term = true;
  }
  (void)has_home;
  /* dockerd: PATH default, HOSTNAME, TERM for a tty, then the config's */
  if (!has_path) out[(*n)++] = xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  out[(*n)++] = xasprintf("HOSTNAME=%s", json_string_value(json_object_get(c->config, "Hostname")) ?: "");
  if (json_is_true(json_object_get(c->config, "Tty")) && !has_term) out[(*n)++] = xstrdup("TERM=xterm");
  json_array_foreach(env, i, v) if (json_is_string(v)) out[(*n)++] = xstrdup(json_string_value(v));
  return out;
}

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

static void add_mount(rt_mount **m, size_t *n, const char *type, const char *src, const char *dst,
                      const char *const *opts, size_t nopts) {
  *m = xrealloc(*m, (*n + 1) * sizeof **m);
  rt_mount *x = &(*m)[(*n)++];
  x->type = xstrdup(type);
  x->source = src ? xstrdup(src) : NULL;
  x->destination = xstrdup(dst);
  x->options = xcalloc(nopts + 1, sizeof *x->options);
  x->noptions = nopts;
  for (size_t i = 0; i < nopts; i++) x->options[i] = xstrdup(opts[i]);
}

static void mounts_free(rt_mount *m, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(m[i].type);
    free(m[i].source);
    free(m[i].destination);
    strv_free(m[i].options, m[i].noptions);
  }
  free(m);
}

/* Binds ("/host:/ctr:ro") and Mounts (type bind or tmpfs) as the driver wants them. Named
 * volumes are resolved by the volumes module (networks and volumes issue). */
static int build_mounts(engine *e, container *c, rt_mount **out, size_t *n, arca_err *err) {
  *out = NULL;
  *n = 0;
  size_t i;
  json_t *b;
  json_array_foreach(json_object_get(c->host_config, "Binds"), i, b) {
    bind_spec bs;
    if (bind_spec_parse(json_string_value(b) ?: "", &bs, err) < 0) return -1;
    int rc = 0;
    if (!strcmp(bs.type, "bind")) {
      const char *opts[3] = {"rbind", bs.read_only ? "ro" : "rw",
                             bs.propagation && *bs.propagation ? bs.propagation : "rprivate"};
      add_mount(out, n, "bind", bs.source, bs.destination, opts, 3);
    } else {
      rc = volume_mount_for(e, c, bs.source, bs.destination, bs.read_only, out, n, err);
    }
    bind_spec_free(&bs);
    if (rc < 0) return -1;
  }
  json_t *m;
  json_array_foreach(json_object_get(c->host_config, "Mounts"), i, m) {
    const char *type = json_string_value(json_object_get(m, "Type")) ?: "volume";
    const char *src = json_string_value(json_object_get(m, "Source"));
    const char *dst = json_string_value(json_object_get(m, "Target"));
    bool ro = json_is_true(json_object_get(m, "ReadOnly"));
    if (!dst) continue;
    if (!strcmp(type, "bind")) {
      const char *prop = json_string_value(json_object_get(json_object_get(m, "BindOptions"), "Propagation"));
      const char *opts[3] = {"rbind", ro ? "ro" : "rw", prop && *prop ? prop : "rprivate"};
      add_mount(out, n, "bind", src, dst, opts, 3);
    } else if (!strcmp(type, "tmpfs")) {
      json_t *to = json_object_get(m, "TmpfsOptions");
      int64_t size = json_integer_value(json_object_get(to, "SizeBytes"));
      int64_t mode = json_integer_value(json_object_get(to, "Mode"));
      char sz[48] = "", md[32] = "";
      const char *opts[6] = {"nosuid", "nodev", "noexec", NULL, NULL, NULL};
      size_t no = 3;
      if (size > 0) {
        snprintf(sz, sizeof sz, "size=%lld", (long long)size);
        opts[no++] = sz;
      }
      if (mode > 0) {
        snprintf(md, sizeof md, "mode=%llo", (long long)mode);
        opts[no++] = md;
      }
      if (ro) opts[no++] = "ro";
      add_mount(out, n, "tmpfs", NULL, dst, opts, no);
    } else if (!strcmp(type, "volume")) {
      if (volume_mount_for(e, c, src, dst, ro, out, n, err) < 0) return -1;
    }
  }
  /* VolumesFrom and the image's VOLUMEs, where nothing above is mounted */
  return volumes_extra_mounts(e, c, out, n, err);
}

static const char *network_mode_for_driver(engine *e, container *c, char *buf, size_t n) {
  const char *mode = json_string_value(json_object_get(c->host_config, "NetworkMode"));
  if (!mode || !*mode || !strcmp(mode, "default") || !strcmp(mode, "bridge")) return "sandbox";
  if (!strcmp(mode, "host") || !strcmp(mode, "none")) return mode;
  if (str_has_prefix(mode, "container:")) {
    container *o;
    arca_err lerr;
    if (container_get(e, mode + 10, &o, &lerr) == 0) {
      snprintf(buf, n, "container:%s", o->id);
      container_put(e, o);
      return buf;
    }
    return "none";
  }
  return "sandbox"; /* a user network */
}

int container_prepare_locked(engine *e, container *c, arca_err *err) {
  if (!drv(e)) return no_driver(err);
  rt_sandbox_spec spec = {0};
  char **layers = xcalloc(c->nchain + 1, sizeof *layers);
  for (size_t i = 0; i < c->nchain; i++) layers[i] = layers_dir(e->images.layers, c->chain_ids[i]);
  size_t nenv = 0;
  char **env = process_env(e, c, &nenv);
  size_t nargs = json_array_size(c->args) + 1;
  char **args = xcalloc(nargs + 1, sizeof *args);
  args[0] = xstrdup(c->path);
  for (size_t i = 1; i < nargs; i++) args[i] = xstrdup(json_string_value(json_array_get(c->args, i - 1)) ?: "");
  json_t *groups = json_object_get(c->host_config, "GroupAdd");
  size_t ngroups = json_array_size(groups);
  char **gv = xcalloc(ngroups + 1, sizeof *gv);
  for (size_t i = 0; i < ngroups; i++) gv[i] = xstrdup(json_string_value(json_array_get(groups, i)) ?: "");
  rt_mount *mounts = NULL;
  size_t nmounts = 0;
  autofree char *dir = container_dir(e, c->id);
  autofree char *hostname_file = xasprintf("%s/hostname", dir);
  autofree char *hosts_file = xasprintf("%s/hosts", dir);
  autofree char *resolv_file = xasprintf("%s/resolv.conf", dir);
  char netbuf[96], ipcbuf[96], pidbuf[96];
  int rc = build_mounts(e, c, &mounts, &nmounts, err);
  if (rc == 0) {
    const char *wd = json_string_value(json_object_get(c->config, "WorkingDir"));
    spec.id = c->id;
    spec.name = c->name;
    spec.layers = (const char *const *)layers;
    spec.nlayers = c->nchain;
    spec.config = c->config;
    spec.host_config = c->host_config;
    spec.process.args = args;
    spec.process.nargs = nargs;
    spec.process.env = env;
    spec.process.nenv = nenv;
    spec.process.cwd = (char *)(wd && *wd ? wd : "/");
    spec.process.user = (char *)(json_string_value(json_object_get(c->config, "User")) ?: "");
    spec.process.extra_groups = gv;
    spec.process.nextra_groups = ngroups;
    spec.process.terminal = json_is_true(json_object_get(c->config, "Tty"));
    json_t *cs = json_object_get(c->host_config, "ConsoleSize");
    spec.process.rows = (uint16_t)json_integer_value(json_array_get(cs, 0));
    spec.process.cols = (uint16_t)json_integer_value(json_array_get(cs, 1));
    spec.mounts = mounts;
    spec.nmounts = nmounts;
    spec.hostname = json_string_value(json_object_get(c->config, "Hostname"));
    spec.hostname_file = hostname_file;
    spec.hosts_file = hosts_file;
    spec.resolv_conf = resolv_file;
    spec.network_mode = network_mode_for_driver(e, c, netbuf, sizeof netbuf);
    const char *ipc = json_string_value(json_object_get(c->host_config, "IpcMode"));
    const char *pidm = json_string_value(json_object_get(c->host_config, "PidMode"));
    if (ipc && str_has_prefix(ipc, "container:")) {
      container *o;
      if (container_get(e, ipc + 10, &o, err) < 0) rc = -1;
      else {
        snprintf(ipcbuf, sizeof ipcbuf, "%s", o->id);
        spec.ipc_container = ipcbuf;
        container_put(e, o);
      }
    }
    if (rc == 0 && pidm && str_has_prefix(pidm, "container:")) {
      container *o;
      if (container_get(e, pidm + 10, &o, err) < 0) rc = -1;
      else {
        snprintf(pidbuf, sizeof pidbuf, "%s", o->id);
        spec.pid_container = pidbuf;
        container_put(e, o);
      }
    }
    if (rc == 0) rc = drv(e)->ops->prepare(drv(e), &spec, err);
  }
  if (rc == 0) c->prepared = true;
  mounts_free(mounts, nmounts);
  strv_free(layers, c->nchain);
  strv_free(env, nenv);
  strv_free(args, nargs);
  strv_free(gv, ngroups);
  return rc;
}

/* ---- start ---- */

/* The networks of a starting container, set up in a thread of their own while the runtime
 * creates the sandbox. The starting thread holds c->lock throughout and touches nothing of
 * c meanwhile: the job works on its behalf. */
typedef struct net_job {
  engine *e;
  container *c;
  pthread_t thread;
  bool running;
  int rc;
  arca_err err;
} net_job;

static void *net_job_main(void *p) {
  net_job *j = p;
  j->rc = networks_attach_container(j->e, j->c, true, &j->err);
  return NULL;
}

static void net_join(net_job *j) {
  if (!j->running) return;
  pthread_join(j->thread, NULL);
  j->running = false;
}

static int net_gate(void *ctx, arca_err *err) {
  net_job *j = ctx;
  net_join(j);
  if (j->rc < 0) err_copy(err, &j->err);
  return j->rc;
}

int container_start_locked(engine *e, container *c, bool manual, arca_err *err) {
  if (!drv(e)) return no_driver(err);
  if (c->removal_in_progress) return err_set(err, 409, "container is marked for removal and cannot be started");
  if (c->state == CS_PAUSED)
    return err_set(err, 409, "cannot start a paused container, try unpause instead");
  if (c->state == CS_RUNNING) return err_set(err, 304, "container already started");
  arca_err rerr;
  /* a stopped sandbox is reset and prepared again (its configuration may have changed);
   * a fresh one was prepared by create */
  bool again = c->has_been_started || c->state == CS_EXITED || c->state == CS_RESTARTING || !c->prepared;
  if (again) {
    drv(e)->ops->reset(drv(e), c->id, &rerr);
    if (container_write_files(e, c, err) < 0) return -1;
    if (container_prepare_locked(e, c, err) < 0) return -1;
  }
  if (volumes_start(e, c, err) < 0) return -1;
  /* The networks are set up while the runtime creates the sandbox; its process runs once
   * both are done. */
  net_job job = {.e = e, .c = c};
  job.running = pthread_create(&job.thread, NULL, net_job_main, &job) == 0;
  if (!job.running) net_job_main(&job);
  rt_start_gate gate = {net_gate, &job};
  int rc = drv(e)->ops->start(drv(e), c->id, &gate, err);
  net_join(&job);
  if (rc == 0 && job.rc < 0) {
    /* never: the driver passes the gate before the process runs */
    err_copy(err, &job.err);
    rc = -1;
  }
  if (rc < 0) {
    /* Docker keeps the container stopped, with the error and 127/126 when the binary failed */
    free(c->error);
    c->error = xstrdup(err->msg);
    c->exit_code = err->exit_code ? err->exit_code : 128;
    if (c->state == CS_RESTARTING) c->state = CS_EXITED;
    if (!c->finished_ns && c->has_been_started) c->finished_ns = now_ns();
    networks_detach_container(e, c);
    container_save(e, c, NULL);
    if (err->status < 400) err->status = 500;
    return -1;
  }
  c->state = CS_RUNNING;
  c->started_ns = now_ns();
  c->has_been_started = true;
  c->oom_killed = false;
  c->manual_stop = false;
  free(c->error);
  c->error = NULL;
  c->exit_code = 0;
  if (manual) c->restart_count = 0;
  c->health_gen++;
  c->failing_streak = 0;
  json_t *hc = json_object_get(c->config, "Healthcheck");
  json_t *test = json_object_get(hc, "Test");
  bool has_health = json_array_size(test) > 0 && strcmp(json_string_value(json_array_get(test, 0)) ?: "", "NONE") != 0;
  snprintf(c->health_status, sizeof c->health_status, "%s", has_health ? "starting" : "");
  c->nhealth_log = 0;
  container_save(e, c, NULL);
  pthread_cond_broadcast(&c->cond);
  if (has_health) health_schedule(e, c, true);
  return 0;
}

int container_start(engine *e, const char *name, arca_err *err) {
  container *c;
  if (container_get(e, name, &c, err) < 0) return -1;
  pthread_mutex_lock(&c->lock);
  int rc = container_start_locked(e, c, true, err);
  bool auto_remove = rc < 0 && err->status != 304 && json_is_true(json_object_get(c->host_config, "AutoRemove"));
  pthread_mutex_unlock(&c->lock);
  if (rc == 0) container_event(e, c, "start", NULL);
  if (auto_remove) {
    /* dockerd removes an auto-remove container whose start failed: `docker run --rm` waits
     * for that removal */
    arca_err rerr;
    char id[65];
    memcpy(id, c->id, sizeof id);
    container_remove(e, id, true, true, false, &rerr);
  }
  container_put(e, c);
  return rc;
}

/* ---- waiting for a stop ---- */

int container_wait_stopped_locked(container *c, int timeout_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (timeout_ms >= 0) {
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
  }
  while (c->state == CS_RUNNING || c->state == CS_PAUSED) {
    if (timeout_ms < 0) pthread_cond_wait(&c->cond, &c->lock);
    else if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) != 0) return -1;
  }
  return 0;
}

static int stop_signal_of(container *c, const char *given) {
  if (given && *given) return container_signal_number(given);
  const char *s = json_string_value(json_object_get(c->config, "StopSignal"));
  int n = s && *s ? container_signal_number(s) : SIGTERM;
  return n > 0 ? n : SIGTERM;
}

/* Stop with c->lock held: signal, wait, then kill. Publishes kill events; the exit event
 * comes from the monitor. */
static int stop_locked(engine *e, container *c, int timeout, const char *signal, arca_err *err) {
  if (c->state == CS_RESTARTING) {
    /* a pending restart is cancelled */
    c->restart_gen++;
    c->state = CS_EXITED;
    c->manual_stop = true;
    container_save(e, c, NULL);
    pthread_cond_broadcast(&c->cond);
    return 0;
  }
  if (c->state != CS_RUNNING && c->state != CS_PAUSED) return err_set(err, 304, "container already stopped");
  int sig = stop_signal_of(c, signal);
  if (sig <= 0) return err_set(err, 400, "Invalid signal: %s", signal);
  if (timeout < 0) {
    json_t *st = json_object_get(c->config, "StopTimeout");
    timeout = json_is_integer(st) ? (int)json_integer_value(st) : 10;
  }
  c->manual_stop = true;
  arca_err kerr;
  bool paused = c->state == CS_PAUSED;
  if (!paused) {
    char sigs[16];
    snprintf(sigs, sizeof sigs, "%d", sig);
    container_event(e, c, "kill", json_pack("{s:s}", "signal", sigs));
    drv(e)->ops->signal(drv(e), c->id, sig, &kerr);
    if (timeout != 0 && container_wait_stopped_locked(c, timeout < 0 ? -1 : timeout * 1000) == 0) return 0;
  }
  container_event(e, c, "kill", json_pack("{s:s}", "signal", "9"));
  if (drv(e)->ops->signal(drv(e), c->id, SIGKILL, &kerr) < 0 && c->state != CS_RUNNING && c->state != CS_PAUSED) return 0;
  if (paused) drv(e)->ops->resume(drv(e), c->id, &kerr);
  if (container_wait_stopped_locked(c, 30000) < 0)
    return err_set(err, 500, "container %s did not stop within 30 seconds of SIGKILL", c->id);
  return 0;
}

int container_stop(engine *e, const char *name, int timeout, const char *signal, arca_err *err) {
  container *c;
  if (container_get(e, name, &c, err) < 0) return -1;
  pthread_mutex_lock(&c->lock);
  int rc = stop_locked(e, c, timeout, signal, err);
  pthread_mutex_unlock(&c->lock);
  if (rc == 0) container_event(e, c, "stop", NULL);
  container_put(e, c);
  return rc;
}

int container_restart(engine *e, const char *name, int timeout, const char *signal, arca_err *err) {
  container *c;
  if (container_get(e, name, &c, err) < 0) return -1;
  pthread_mutex_lock(&c->lock);
  arca_err serr;
  int rc = stop_locked(e, c, timeout, signal, &serr);
  if (rc < 0 && serr.status != 304) {
    err_copy(err, &serr);
    pthread_mutex_unlock(&c->lock);
    container_put(e, c);
    return err_wrap(err, "Cannot restart container %s", name);
  }
  if (rc == 0) container_event(e, c, "stop", NULL);
  rc = container_start_locked(e, c, true, err);
  pthread_mutex_unlock(&c->lock);
  if (rc == 0) {
    container_event(e, c, "start", NULL);
    container_event(e, c, "restart", NULL);
  } else {
    err_wrap(err, "Cannot restart container %s", name);
  }
  container_put(e, c);
  return rc;
}

int container_kill(engine *e, const char *name, const char *signal, arca_err *err) {
  int sig = SIGKILL;
  if (signal && *signal) {
    sig = container_signal_number(signal);
    if (sig <= 0) return err_set(err, 400, "Invalid signal: %s", signal);
  }
  container *c;
  if (container_get(e, name, &c, err) < 0) return -1;
  pthread_mutex_lock(&c->lock);
  int rc = 0;
  if (c->state != CS_RUNNING && c->state != CS_PAUSED) {
    rc = err_set(err, 409, "cannot kill container: %s: container %s is not running", name, c->id);
  } else {
    if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT) c->manual_stop = true;
    char sigs[16];
    snprintf(sigs, sizeof sigs, "%d", sig);
    container_event(e, c, "kill", json_pack("{s:s}", "signal", sigs));
    rc = drv(e)->ops->signal(drv(e), c->id, sig, err);
    if (rc == 0 && sig == SIGKILL && c->state == CS_PAUSED) drv(e)->ops->resume(drv(e), c->id, NULL);
    /* as dockerd's daemon.Kill: a SIGKILL answers once the container has stopped (10 s at most) */
    if (rc == 0 && sig == SIGKILL) container_wait_stopped_locked(c, 10000);
    if (rc < 0) err_wrap(err, "cannot kill container: %s", name);
  }
  pthread_mutex_unlock(&c->lock);
  container_put(e, c);
  return rc;
}

int container_pause(engine *e, const char *name, arca_err *err) {
  container *c;
  if (container_get(e, name, &c, err) < 0) return -1;
  pthread_mutex_lock(&c->lock);
  int rc = 0;
  if (c->state == CS_PAUSED) rc = err_set(err, 409, "Container %s is already paused", c->id);
  else if (c->state != CS_RUNNING) rc = err_set(err, 409, "Container %s is not running", c->id);
  else if (drv(e)->ops->pause(drv(e), c->id, err) < 0) rc = -1;
  else {
    c->state = CS_PAUSED;
    container_save(e, c, NULL);
  }
  pthread_mutex_unlock(&c->lock);
  if (rc == 0) container_event(e, c, "pause", NULL);
  container_put(e, c);
  return rc;
}

int container_unpause(engine *e, const char *name, arca_err *err) {
  container *c;
  if (container_get(e, name, &c, err) < 0) return -1;
  pthread_mutex_lock(&c->lock);
  int rc = 0;
  if (c->state != CS_PAUSED) rc = err_set(err, 409, "Container %s is not paused", c->id);
  else if (drv(e)->ops->resume(drv(e), c->id, err) < 0) rc = -1;
  else {
    c->state = CS_RUNNING;
    container_save(e, c, NULL);
  }
  pthread_mutex_unlock(&c->lock);
  if (rc == 0) container_event(e, c, "unpause", NULL);
  container_put(e, c);
  return rc;
}

/* ---- remove ---- */

static int remove_now(engine *e, container *c, bool volumes, arca_err *err) {
  arca_err rerr;
  networks_detach_container(e, c);
  if (drv(e) && drv(e)->ops->remove(drv(e), c->id, &rerr) < 0) {
    err_copy(err, &rerr);
    return err_wrap(err, "unable to remove filesystem");
  }
  autofree char *dir = container_dir(e, c->id);
  rm_rf(dir, NULL);
  image_release(e, c->image_id, (const char *const *)c->chain_ids, c->nchain);
  if (volumes) volumes_remove_anonymous(e, c);
  else volumes_release(e, c);
  container_event(e, c, "destroy", NULL);
  container_unregister(e, c);
  return 0;
}

int container_remove(engine *e, const char *name, bool force, bool volumes, bool link, arca_err *err) {
  if (link) return err_set(err, 400, "Conflict, cannot remove the default link name of the container");
  container *c;
  if (container_get(e, name, &c, err) < 0) return -1;
  pthread_mutex_lock(&c->lock);
  if (c->removal_in_progress) {
    pthread_mutex_unlock(&c->lock);
    container_put(e, c);
    return err_set(err, 409, "removal of container %s is already in progress", name);
  }
  int rc = 0;
  if (container_is_running(c) && c->state != CS_RESTARTING) {
    if (!force) {
      if (c->state == CS_PAUSED)
        rc = err_set(err, 409, "cannot remove container \"%s\": container is paused and must be unpaused first", name);
      else
        rc = err_set(err, 409, "cannot remove container \"%s\": container is %s: stop the container before removing or force remove",
                     name, cstate_name(c->state));
      pthread_mutex_unlock(&c->lock);
      container_put(e, c);
      return rc;
    }
    c->manual_stop = true;
    arca_err kerr;
    drv(e)->ops->signal(drv(e), c->id, SIGKILL, &kerr);
    if (c->state == CS_PAUSED) drv(e)->ops->resume(drv(e), c->id, &kerr);
    container_wait_stopped_locked(c, 30000);
  }
  c->restart_gen++;
  c->removal_in_progress = true;
  c->state = CS_REMOVING;
  c->health_gen++;
  pthread_mutex_unlock(&c->lock);
  rc = remove_now(e, c, volumes, err);
  if (rc < 0) {
    pthread_mutex_lock(&c->lock);
    c->removal_in_progress = false;
    c->state = CS_DEAD;
    container_save(e, c, NULL);
    pthread_mutex_unlock(&c->lock);
    err_wrap(err, "cannot remove container \"%s\"", name);
  }
  container_put(e, c);
  return rc;
}

/* ---- update ---- */

int container_update(engine *e, const char *name, const json_t *body, json_t **warnings, arca_err *err) {
  *warnings = json_array();
  container *c;
  if (container_get(e, name, &c, err) < 0) return -1;
  pthread_mutex_lock(&c->lock);
  host_limits hl = container_host_limits(e);
  json_t *hc = json_deep_copy(c->host_config);
  int rc = container_update_apply(hc, body, &hl, c->id, 51, *warnings, err);
  if (rc == 0 && (c->state == CS_RUNNING || c->state == CS_PAUSED) && drv(e)->ops->update(drv(e), c->id, hc, err) < 0) {
    rc = -1;
    err_wrap(err, "Cannot update container %s", c->id);
  }
  if (rc == 0) {
    json_decref(c->host_config);
    c->host_config = hc;
    hc = NULL;
    c->prepared = false; /* the next start writes the new limits into the bundle */
    container_save(e, c, NULL);
  }
  json_decref(hc);
  pthread_mutex_unlock(&c->lock);
  if (rc == 0) container_event(e, c, "update", NULL);
  container_put(e, c);
  return rc;
}

/* ---- wait ---- */

struct wait_handle {
  engine *e;
  container *c;
  wait_cond cond;
  uint64_t exit_seq;
};

int container_wait_begin(engine *e, const char *name, wait_cond cond, wait_handle **out, arca_err *err) {
  container *c;
  if (container_get(e, name, &c, err) < 0) return -1;
  wait_handle *w = xcalloc(1, sizeof *w);
  w->e = e;
  w->c = c;
  w->cond = cond;
  pthread_mutex_lock(&c->lock);
  w->exit_seq = c->exit_seq;
  pthread_mutex_unlock(&c->lock);
  *out = w;
  return 0;
}

static bool wait_done(wait_handle *w) {
  container *c = w->c;
  switch (w->cond) {
  case WAIT_NEXT_EXIT:
    return c->exit_seq > w->exit_seq || c->removed;
  case WAIT_REMOVED:
    return c->removed;
  case WAIT_NOT_RUNNING:
  default:
    return c->removed || !(c->state == CS_RUNNING || c->state == CS_PAUSED || c->state == CS_RESTARTING);
  }
}

int container_wait_end(engine *e, wait_handle *w, int cancel_fd, int *code, char **error) {
  (void)e;
  container *c = w->c;
  pthread_mutex_lock(&c->lock);
  while (!wait_done(w)) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&c->cond, &c->lock, &ts);
    if (cancel_fd >= 0) {
      struct pollfd p = {.fd = cancel_fd, .events = POLLIN};
      if (poll(&p, 1, 0) > 0) {
        pthread_mutex_unlock(&c->lock);
        return 1;
      }
    }
  }
  *code = c->exit_code;
  *error = c->error && *c->error ? xstrdup(c->error) : NULL;
  pthread_mutex_unlock(&c->lock);
  return 0;
}

void container_wait_free(wait_handle *w) {
  if (!w) return;
  container_put(w->e, w->c);
  free(w);
}

/* ---- exits and restart policies ---- */

typedef struct restart_job {
  engine *e;
  char id[65];
  uint64_t gen;
} restart_job;

static void restart_run(void *p) {
  restart_job *j = p;
  container *c;
  arca_err err;
  if (container_get(j->e, j->id, &c, &err) == 0) {
    pthread_mutex_lock(&c->lock);
    bool still_wanted = c->state == CS_RESTARTING && c->restart_gen == j->gen && !c->removal_in_progress;
    int rc = still_wanted ? container_start_locked(j->e, c, false, &err) : 0;
    pthread_mutex_unlock(&c->lock);
    if (still_wanted) {
      if (rc == 0) container_event(j->e, c, "start", NULL);
      else log_kv(LOG_WARN, "restart failed", "container", c->id, "error", err.msg, NULL);
    }
    container_put(j->e, c);
  }
  free(j);
}

static void autoremove_run(void *p) {
  restart_job *j = p;
  arca_err err;
  if (container_remove(j->e, j->id, true, true, false, &err) < 0 && err.status != 404)
    log_kv(LOG_WARN, "auto-removal failed", "container", j->id, "error", err.msg, NULL);
  free(j);
}

/* Docker's restart manager: 100 ms doubling up to a minute, back to 100 ms after 10 s up. */
static bool should_restart(container *c, int64_t *delay_ns) {
  json_t *rp = json_object_get(c->host_config, "RestartPolicy");
  const char *name = json_string_value(json_object_get(rp, "Name")) ?: "no";
  int max = (int)json_integer_value(json_object_get(rp, "MaximumRetryCount"));
  bool yes = false;
  if (!strcmp(name, "always")) yes = !c->manual_stop;
  else if (!strcmp(name, "unless-stopped")) yes = !c->manual_stop;
  else if (!strcmp(name, "on-failure")) yes = c->exit_code != 0 && !c->manual_stop && (max <= 0 || c->restart_count < max);
  if (!yes) return false;
  int64_t ran = c->finished_ns - c->started_ns;
  int64_t delay = 100000000LL;
  if (ran < 10000000000LL)
    for (int i = 0; i < c->restart_count && delay < 60000000000LL; i++) delay *= 2;
  if (delay > 60000000000LL) delay = 60000000000LL;
  *delay_ns = delay;
  return true;
}

void containers_on_oom(void *ctx, const char *id) {
  engine *e = ctx;
  container *c;
  arca_err err;
  if (container_get(e, id, &c, &err) < 0) return;
  pthread_mutex_lock(&c->lock);
  c->oom_killed = true;
  pthread_mutex_unlock(&c->lock);
  container_event(e, c, "oom", NULL);
  container_put(e, c);
}

void containers_on_exit(void *ctx, const char *id, const char *exec_id, const struct rt_exit *exit_p) {
  engine *e = ctx;
  const rt_exit *x = exit_p;
  if (exec_id) {
    execs_on_exit(e, id, exec_id, x);
    return;
  }
  container *c;
  arca_err err;
  if (container_get(e, id, &c, &err) < 0) return;
  pthread_mutex_lock(&c->lock);
  if (c->state != CS_RUNNING && c->state != CS_PAUSED) {
    pthread_mutex_unlock(&c->lock);
    container_put(e, c);
    return;
  }
  log_kv(LOG_DEBUG, "container exited", "container", c->id, NULL);
  c->exit_code = x->exit_code;
  c->finished_ns = x->finished_ns ? x->finished_ns : now_ns();
  if (x->oom_killed) c->oom_killed = true;
  c->health_gen++;
  int64_t delay = 0;
  bool restart = !c->removal_in_progress && should_restart(c, &delay);
  bool auto_remove = json_is_true(json_object_get(c->host_config, "AutoRemove"));
  if (restart) {
    c->state = CS_RESTARTING;
    c->restart_count++;
  } else {
    c->state = CS_EXITED;
  }
  c->exit_seq++;
  networks_detach_container(e, c);
  container_save(e, c, NULL);
  pthread_cond_broadcast(&c->cond);
  uint64_t gen = ++c->restart_gen;
  pthread_mutex_unlock(&c->lock);
  char code[16];
  snprintf(code, sizeof code, "%d", x->exit_code);
  int64_t exec_dur = (c->finished_ns - c->started_ns) / 1000000LL;
  char dur[32];
  snprintf(dur, sizeof dur, "%lld", (long long)exec_dur);
  container_event(e, c, "die", json_pack("{s:s,s:s}", "exitCode", code, "execDuration", dur));
  if (restart) {
    restart_job *j = xcalloc(1, sizeof *j);
    j->e = e;
    snprintf(j->id, sizeof j->id, "%s", c->id);
    j->gen = gen;
    sched_after(e->sched, delay, restart_run, j, free);
  } else if (auto_remove) {
    restart_job *j = xcalloc(1, sizeof *j);
    j->e = e;
    snprintf(j->id, sizeof j->id, "%s", c->id);
    sched_spawn(autoremove_run, j);
  }
  container_put(e, c);
}

/* ---- re-adoption after a daemon restart ---- */

static void restore_one(engine *e, container *c, void *ctx) {
  (void)ctx;
  pthread_mutex_lock(&c->lock);
  if (!drv(e)) {
    pthread_mutex_unlock(&c->lock);
    return;
  }
  rt_status st = RT_STATUS_UNKNOWN;
  rt_exit x = {0};
  arca_err err;
  bool was_running = c->state == CS_RUNNING || c->state == CS_PAUSED;
  if (drv(e)->ops->status(drv(e), c->id, &st, &x, &err) < 0) st = RT_STATUS_UNKNOWN;
  if (st == RT_STATUS_RUNNING || st == RT_STATUS_PAUSED) {
    c->state = st == RT_STATUS_PAUSED ? CS_PAUSED : CS_RUNNING;
    c->prepared = true;
    container_save(e, c, NULL);
    bool health = c->health_status[0] != '\0';
    pthread_mutex_unlock(&c->lock);
    if (health) health_schedule(e, c, false);
    return;
  }
  bool auto_remove = json_is_true(json_object_get(c->host_config, "AutoRemove"));
  if (was_running || c->state == CS_RESTARTING) {
    /* it ended while we were away: record how, and free its addresses and ports */
    c->state = CS_EXITED;
    networks_detach_container(e, c);
    if (st == RT_STATUS_STOPPED) {
      c->exit_code = x.exit_code;
      c->finished_ns = x.finished_ns ? x.finished_ns : now_ns();
      c->oom_killed = x.oom_killed;
    } else {
      c->exit_code = 255;
      c->finished_ns = now_ns();
    }
    c->exit_seq++;
    container_save(e, c, NULL);
    char code[16];
    snprintf(code, sizeof code, "%d", c->exit_code);
    pthread_mutex_unlock(&c->lock);
    container_event(e, c, "die", json_pack("{s:s}", "exitCode", code));
    pthread_mutex_lock(&c->lock);
  }
  /* restart policies apply after a daemon restart too */
  json_t *rp = json_object_get(c->host_config, "RestartPolicy");
  const char *pol = json_string_value(json_object_get(rp, "Name")) ?: "no";
  bool start = c->has_been_started && !c->manual_stop &&
               (!strcmp(pol, "always") || !strcmp(pol, "unless-stopped") ||
                (!strcmp(pol, "on-failure") && c->exit_code != 0 && was_running));
  if (start) {
    c->state = CS_RESTARTING;
    uint64_t gen = ++c->restart_gen;
    pthread_mutex_unlock(&c->lock);
    restart_job *j = xcalloc(1, sizeof *j);
    j->e = e;
    snprintf(j->id, sizeof j->id, "%s", c->id);
    j->gen = gen;
    sched_after(e->sched, 0, restart_run, j, free);
    return;
  }
  pthread_mutex_unlock(&c->lock);
  if (auto_remove && c->has_been_started) {
    restart_job *j = xcalloc(1, sizeof *j);
    j->e = e;
    snprintf(j->id, sizeof j->id, "%s", c->id);
    sched_spawn(autoremove_run, j);
  }
}

void containers_restore(engine *e) { containers_each(e, restore_one, NULL); }

/* ---- prune ---- */

struct prune_ctx {
  filters *f;
  int64_t until;
  json_t *deleted;
  int64_t reclaimed;
};

static void prune_one(engine *e, container *c, void *p) {
  struct prune_ctx *x = p;
  pthread_mutex_lock(&c->lock);
  bool stopped = c->state == CS_EXITED || c->state == CS_CREATED || c->state == CS_DEAD;
  bool old = !x->until || c->created_ns < x->until;
  bool labels = filters_match_label_rules(x->f, json_object_get(c->config, "Labels"));
  pthread_mutex_unlock(&c->lock);
  if (!stopped || !old || !labels) return;
  int64_t rw = 0, root = 0;
  arca_err err;
  if (drv(e) && drv(e)->ops->sizes) drv(e)->ops->sizes(drv(e), c->id, &rw, &root, &err);
  char id[65];
  memcpy(id, c->id, sizeof id);
  if (container_remove(e, id, false, false, false, &err) == 0) {
    json_array_append_new(x->deleted, json_string(id));
    x->reclaimed += rw;
  }
}

int containers_prune(engine *e, const char *filters_json, json_t **out, arca_err *err) {
  static const char *const accepted[] = {"until", "label", "label!", NULL};
  struct prune_ctx x = {0};
  if (filters_parse(filters_json, &x.f, err) < 0) return -1;
  if (filters_validate(x.f, accepted, err) < 0) {
    filters_free(x.f);
    return -1;
  }
  if (filters_has(x.f, "until") && parse_docker_time(filters_value(x.f, "until", 0), now_ns(), &x.until, err) < 0) {
    filters_free(x.f);
    return -1;
  }
  x.deleted = json_array();
  containers_each(e, prune_one, &x);
  filters_free(x.f);
  char rec[32];
  snprintf(rec, sizeof rec, "%lld", (long long)x.reclaimed);
  events_publish(e->events, "container", "prune", "", json_pack("{s:s}", "reclaimed", rec));
  if (!json_array_size(x.deleted)) {
    json_decref(x.deleted);
    x.deleted = json_null();
  }
  *out = json_pack("{s:o,s:I}", "ContainersDeleted", x.deleted, "SpaceReclaimed", (json_int_t)x.reclaimed);
  return 0;
}
