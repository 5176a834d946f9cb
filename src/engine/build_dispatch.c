/* The instructions of the classic builder other than FROM, COPY and ADD (moby
 * builder/dockerfile/dispatchers.go): each changes the run configuration and commits a step
 * image, RUN and WORKDIR through a container. */
#include <stdlib.h>
#include <string.h>

#include "builder/build_fmt.h"
#include "builder/config_apply.h"
#include "builder/run_config.h"
#include "builder/shell_lex.h"
#include "common/cleanup.h"
#include "common/pattern.h"
#include "engine/build_internal.h"
#include "engine/engine.h"

#define BUILDKIT_ONLY                                                                              \
  "Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit "      \
  "enabled"

static json_t *cfg_get(const dispatch_state *st, const char *k) {
  return json_object_get(st->cfg, k);
}

static json_t *shell_of(const dispatch_state *st) {
  json_t *sh = cfg_get(st, "Shell");
  return json_array_size(sh) ? json_deep_copy(sh) : json_pack("[s,s]", "/bin/sh", "-c");
}

json_t *build_cmd_line(const dispatch_state *st, const df_instr *in) {
  json_t *a = json_array();
  for (size_t i = 0; i < in->nargs; i++) json_array_append_new(a, json_string(in->args[i]));
  if (in->json_form) return a;
  json_t *cmd = shell_of(st);
  json_array_extend(cmd, a);
  json_decref(a);
  return cmd;
}

static char *strv_join(const json_t *a, const char *sep) {
  strbuf sb;
  sb_init(&sb);
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    if (i) sb_puts(&sb, sep);
    sb_puts(&sb, json_string_value(v) ?: "");
  }
  return sb.buf ? sb_steal(&sb) : xstrdup("");
}

/* ---- metadata instructions ---- */

static int d_env(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  char **keys = xcalloc(in->nkvs + 1, sizeof *keys), **vals = xcalloc(in->nkvs + 1, sizeof *vals);
  int rc = 0;
  for (size_t i = 0; i < in->nkvs && rc == 0; i++) {
    rc = build_expand(st, in->kvs[i].key, &keys[i], err);
    if (rc == 0) rc = build_expand(st, in->kvs[i].value ? in->kvs[i].value : "", &vals[i], err);
  }
  strbuf msg;
  sb_init(&msg);
  sb_puts(&msg, "ENV");
  json_t *env = cfg_get(st, "Env");
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(st->cfg, "Env", env);
  }
  for (size_t i = 0; i < in->nkvs && rc == 0; i++) {
    autofree char *nv = xasprintf("%s=%s", keys[i], vals[i]);
    sb_printf(&msg, " %s", nv);
    size_t klen = strlen(keys[i]);
    bool found = false;
    size_t k;
    json_t *v;
    json_array_foreach(env, k, v) {
      const char *s = json_string_value(v) ?: "";
      size_t sk = strcspn(s, "=");
      if (sk == klen && !strncmp(s, keys[i], klen)) {
        json_array_set_new(env, k, json_string(nv));
        found = true;
        break;
      }
    }
    if (!found) json_array_append_new(env, json_string(nv));
  }
  build_free_strv(keys, in->nkvs);
  build_free_strv(vals, in->nkvs);
  if (rc == 0) rc = build_commit_meta(j, st, msg.buf, err);
  sb_free(&msg);
  return rc;
}

static int set_labels(build_job *j, dispatch_state *st, char **keys, char **vals, size_t n,
                      arca_err *err) {
  json_t *labels = cfg_get(st, "Labels");
  if (!json_is_object(labels)) {
    labels = json_object();
    json_object_set_new(st->cfg, "Labels", labels);
  }
  strbuf msg;
  sb_init(&msg);
  sb_puts(&msg, "LABEL");
  for (size_t i = 0; i < n; i++) {
    json_object_set_new(labels, keys[i], json_string(vals[i]));
    sb_printf(&msg, " %s=%s", keys[i], vals[i]);
  }
  int rc = build_commit_meta(j, st, msg.buf, err);
  sb_free(&msg);
  return rc;
}

static int d_label(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  char **keys = xcalloc(in->nkvs + 1, sizeof *keys), **vals = xcalloc(in->nkvs + 1, sizeof *vals);
  int rc = 0;
  for (size_t i = 0; i < in->nkvs && rc == 0; i++) {
    rc = build_expand(st, in->kvs[i].key, &keys[i], err);
    if (rc == 0) rc = build_expand(st, in->kvs[i].value ? in->kvs[i].value : "", &vals[i], err);
  }
  if (rc == 0) rc = set_labels(j, st, keys, vals, in->nkvs, err);
  build_free_strv(keys, in->nkvs);
  build_free_strv(vals, in->nkvs);
  return rc;
}

int build_dispatch_label_option(build_job *j, dispatch_state *st, const char *key,
                                const char *value, arca_err *err) {
  char *k = (char *)key, *v = (char *)value;
  return set_labels(j, st, &k, &v, 1, err);
}

static int d_maintainer(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  const char *m = in->nargs ? in->args[0] : "";
  free(st->maintainer);
  st->maintainer = xstrdup(m);
  autofree char *msg = xasprintf("MAINTAINER %s", m);
  return build_commit_meta(j, st, msg, err);
}

static int d_onbuild(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  const char *expr = in->onbuild_expr ? in->onbuild_expr : "";
  json_t *ob = cfg_get(st, "OnBuild");
  if (!json_is_array(ob)) {
    ob = json_array();
    json_object_set_new(st->cfg, "OnBuild", ob);
  }
  json_array_append_new(ob, json_string(expr));
  autofree char *msg = xasprintf("ONBUILD %s", expr);
  return build_commit_meta(j, st, msg, err);
}

static int d_cmd(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  json_t *cmd = build_cmd_line(st, in);
  json_object_set_new(st->cfg, "Cmd", cmd);
  json_object_del(st->cfg, "ArgsEscaped");
  strbuf msg;
  sb_init(&msg);
  sb_puts(&msg, "CMD ");
  go_fmt_q_strv(&msg, cmd);
  int rc = build_commit_meta(j, st, msg.buf, err);
  sb_free(&msg);
  if (rc == 0 && in->nargs) st->cmd_set = true;
  return rc;
}

static int d_entrypoint(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  json_t *ep = in->json_form && in->nargs == 0 ? json_null() : build_cmd_line(st, in);
  json_object_set_new(st->cfg, "Entrypoint", ep);
  json_object_del(st->cfg, "ArgsEscaped");
  if (!st->cmd_set) json_object_set_new(st->cfg, "Cmd", json_null());
  strbuf msg;
  sb_init(&msg);
  sb_puts(&msg, "ENTRYPOINT ");
  go_fmt_q_strv(&msg, ep);
  int rc = build_commit_meta(j, st, msg.buf, err);
  sb_free(&msg);
  return rc;
}

static int d_healthcheck(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  json_t *old = cfg_get(st, "Healthcheck");
  if (json_is_object(old)) {
    json_t *test = json_object_get(old, "Test");
    if (json_array_size(test) && strcmp(json_string_value(json_array_get(test, 0)) ?: "", "NONE")) {
      strbuf note;
      sb_init(&note);
      go_fmt_v_strv(&note, test);
      bout_stdout(j, "Note: overriding previous HEALTHCHECK: %s\n", note.buf);
      sb_free(&note);
    }
  }
  const df_health *h = in->health;
  if (!h) return err_set(err, 400, "HEALTHCHECK requires an argument");
  json_t *hc = json_object();
  json_t *test = json_array();
  for (size_t i = 0; i < h->ntest; i++) json_array_append_new(test, json_string(h->test[i]));
  json_object_set_new(hc, "Test", test);
  if (h->interval_ns) json_object_set_new(hc, "Interval", json_integer(h->interval_ns));
  if (h->timeout_ns) json_object_set_new(hc, "Timeout", json_integer(h->timeout_ns));
  if (h->start_period_ns) json_object_set_new(hc, "StartPeriod", json_integer(h->start_period_ns));
  if (h->start_interval_ns)
    json_object_set_new(hc, "StartInterval", json_integer(h->start_interval_ns));
  if (h->retries) json_object_set_new(hc, "Retries", json_integer(h->retries));
  json_object_set_new(st->cfg, "Healthcheck", hc);
  strbuf msg;
  sb_init(&msg);
  sb_puts(&msg, "HEALTHCHECK ");
  go_fmt_q_health(&msg, hc);
  int rc = build_commit_meta(j, st, msg.buf, err);
  sb_free(&msg);
  return rc;
}

static int d_expose(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  size_t nenv;
  char **env = build_step_env(st, &nenv);
  json_t *ports = json_array();
  int rc = 0;
  for (size_t i = 0; i < in->nargs && rc == 0; i++) {
    char **words = NULL;
    size_t nw = 0;
    rc = shell_lex_words(in->args[i], st->escape, (const char *const *)env, nenv, &words, &nw, err);
    for (size_t w = 0; rc == 0 && w < nw; w++) json_array_append_new(ports, json_string(words[w]));
    if (words) shell_lex_free_words(words, nw);
  }
  build_free_strv(env, nenv);
  json_t *exposed = json_object();
  size_t i;
  json_t *p;
  json_array_foreach(ports, i, p) if (rc == 0) rc =
      expose_ports(json_string_value(p), exposed, err);
  if (rc == 0) {
    json_t *cur = cfg_get(st, "ExposedPorts");
    if (!json_is_object(cur)) {
      cur = json_object();
      json_object_set_new(st->cfg, "ExposedPorts", cur);
    }
    json_object_update(cur, exposed);
    autofree char *joined = strv_join(ports, " ");
    autofree char *msg = xasprintf("EXPOSE %s", joined);
    rc = build_commit_meta(j, st, msg, err);
  }
  json_decref(exposed);
  json_decref(ports);
  return rc;
}

static int d_user(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  autofree char *u = NULL;
  if (build_expand(st, in->nargs ? in->args[0] : "", &u, err) < 0) return -1;
  json_object_set_new(st->cfg, "User", json_string(u));
  autofree char *msg = xasprintf("USER %s", u);
  return build_commit_meta(j, st, msg, err);
}

static int d_volume(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  json_t *vols = json_array();
  int rc = 0;
  for (size_t i = 0; i < in->nargs && rc == 0; i++) {
    char *v = NULL;
    rc = build_expand(st, in->args[i], &v, err);
    if (rc == 0) json_array_append_new(vols, json_string(v));
    free(v);
  }
  if (rc == 0) {
    json_t *cur = cfg_get(st, "Volumes");
    if (!json_is_object(cur)) {
      cur = json_object();
      json_object_set_new(st->cfg, "Volumes", cur);
    }
    size_t i;
    json_t *v;
    json_array_foreach(vols, i, v) {
      if (!*json_string_value(v)) {
        rc = err_set(err, 400, "VOLUME specified can not be an empty string");
        break;
      }
      json_object_set_new(cur, json_string_value(v), json_object());
    }
  }
  if (rc == 0) {
    strbuf msg;
    sb_init(&msg);
    sb_puts(&msg, "VOLUME ");
    go_fmt_v_strv(&msg, vols);
    rc = build_commit_meta(j, st, msg.buf, err);
    sb_free(&msg);
  }
  json_decref(vols);
  return rc;
}

/* moby/sys/signal.ParseSignal */
static bool signal_ok(const char *s) {
  char *end;
  long n = strtol(s, &end, 10);
  if (*s && !*end) return n != 0;
  return signal_parse(s) > 0;
}

static int d_stopsignal(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  autofree char *sig = NULL;
  if (build_expand(st, in->nargs ? in->args[0] : "", &sig, err) < 0) return -1;
  if (!signal_ok(sig)) return err_set(err, 400, "Invalid signal: %s", sig);
  json_object_set_new(st->cfg, "StopSignal", json_string(sig));
  autofree char *msg = xasprintf("STOPSIGNAL %s", sig);
  return build_commit_meta(j, st, msg, err);
}

static int d_arg(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  char **keys = xcalloc(in->nkvs + 1, sizeof *keys), **vals = xcalloc(in->nkvs + 1, sizeof *vals);
  int rc = 0;
  for (size_t i = 0; i < in->nkvs && rc == 0; i++) {
    rc = build_expand(st, in->kvs[i].key, &keys[i], err);
    if (rc == 0 && in->kvs[i].value) rc = build_expand(st, in->kvs[i].value, &vals[i], err);
  }
  strbuf msg;
  sb_init(&msg);
  sb_puts(&msg, "ARG ");
  for (size_t i = 0; i < in->nkvs && rc == 0; i++) {
    if (i) sb_puts(&msg, " ");
    sb_puts(&msg, keys[i]);
    if (vals[i]) sb_printf(&msg, "=%s", vals[i]);
    build_args_add(st->args, keys[i], vals[i]);
  }
  build_free_strv(keys, in->nkvs);
  build_free_strv(vals, in->nkvs);
  if (rc == 0) rc = build_commit_meta(j, st, msg.buf, err);
  sb_free(&msg);
  return rc;
}

static int d_shell(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  json_t *sh = json_array();
  for (size_t i = 0; i < in->nargs; i++) json_array_append_new(sh, json_string(in->args[i]));
  json_object_set_new(st->cfg, "Shell", sh);
  strbuf msg;
  sb_init(&msg);
  sb_puts(&msg, "SHELL ");
  go_fmt_v_strv(&msg, sh);
  int rc = build_commit_meta(j, st, msg.buf, err);
  sb_free(&msg);
  return rc;
}

/* ---- WORKDIR ---- */

static int d_workdir(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  autofree char *p = NULL;
  if (build_expand(st, in->nargs ? in->args[0] : "", &p, err) < 0) return -1;
  if (!*p) return err_set(err, 400, "cannot normalize nothing");
  const char *cur = json_string_value(cfg_get(st, "WorkingDir")) ?: "";
  autofree char *joined = p[0] == '/' ? xstrdup(p) : xasprintf("/%s/%s", cur, p);
  autofree char *wd = path_clean(joined);
  json_object_set_new(st->cfg, "WorkingDir", json_string(wd));
  autojson json_t *probe = json_deep_copy(st->cfg);
  json_t *cmd = shell_of(st);
  json_array_append_new(cmd, json_sprintf("#(nop) WORKDIR %s", wd));
  json_object_set_new(probe, "Cmd", cmd);
  int hit = build_probe(j, st, probe, err);
  if (hit != 0) return hit < 0 ? -1 : 0;
  step_layer layer;
  char cid[65];
  autojson json_t *key_cfg = json_deep_copy(probe);
  if (build_image_has_layers(j, st)) {
    if (build_container_create(j, st, probe, true, true, cid, err) < 0) return -1;
    if (build_layer_from_container(j, st, cid, &layer, err) < 0) return -1;
    build_mimic_create(j, st, probe, cid, true);
  } else {
    /* nothing to start a container from: the directory alone is the layer */
    random_hex(cid, 32);
    j->tmp = xrealloc(j->tmp, (j->ntmp + 1) * sizeof *j->tmp);
    j->tmp[j->ntmp] = (tmp_ctr){.real = false};
    memcpy(j->tmp[j->ntmp++].id, cid, 65);
    bout_stdout(j, " ---> Running in %.12s\n", cid);
    build_mimic_create(j, st, probe, cid, true);
    autofree char *dir = xasprintf("%s/workdir-%s", j->tmp_dir, cid);
    autofree char *target = xasprintf("%s%s", dir, wd);
    if (mkdir_p(target, 0755, err) < 0) return -1;
    int rc = build_layer_from_dir(j, st, dir, &layer, err);
    rm_rf(dir, NULL);
    if (rc < 0) return -1;
  }
  return build_commit_image(j, st, probe, key_cfg, cid, &layer, err);
}

/* ---- RUN ---- */

json_t *build_run_host_config(build_job *j) {
  const build_opts *o = &j->o;
  json_t *hc = json_object();
  if (o->memory) json_object_set_new(hc, "Memory", json_integer(o->memory));
  if (o->memswap) json_object_set_new(hc, "MemorySwap", json_integer(o->memswap));
  if (o->cpushares) json_object_set_new(hc, "CpuShares", json_integer(o->cpushares));
  if (o->cpuperiod) json_object_set_new(hc, "CpuPeriod", json_integer(o->cpuperiod));
  if (o->cpuquota) json_object_set_new(hc, "CpuQuota", json_integer(o->cpuquota));
  if (o->cpusetcpus && *o->cpusetcpus)
    json_object_set_new(hc, "CpusetCpus", json_string(o->cpusetcpus));
  if (o->cpusetmems && *o->cpusetmems)
    json_object_set_new(hc, "CpusetMems", json_string(o->cpusetmems));
  if (o->cgroupparent && *o->cgroupparent)
    json_object_set_new(hc, "CgroupParent", json_string(o->cgroupparent));
  if (json_array_size(o->ulimits)) json_object_set(hc, "Ulimits", o->ulimits);
  if (o->shmsize) json_object_set_new(hc, "ShmSize", json_integer(o->shmsize));
  if (o->isolation && *o->isolation)
    json_object_set_new(hc, "Isolation", json_string(o->isolation));
  const char *net = o->networkmode && *o->networkmode && strcmp(o->networkmode, "default")
                        ? o->networkmode
                        : "bridge";
  json_object_set_new(hc, "NetworkMode", json_string(net));
  if (o->nextrahosts) {
    json_t *eh = json_array();
    for (size_t i = 0; i < o->nextrahosts; i++)
      json_array_append_new(eh, json_string(o->extrahosts[i]));
    json_object_set_new(hc, "ExtraHosts", eh);
  }
  json_object_set_new(hc, "LogConfig", json_pack("{s:s,s:{}}", "Type", "none", "Config"));
  return hc;
}

static int run_container(build_job *j, const char *cid, int *code, char **cerror, arca_err *err) {
  engine *e = j->e;
  rt_driver *d = e->driver;
  rt_attach *att = NULL;
  if (d->ops->attach(d, cid, &att, err) < 0) return -1;
  if (container_start(e, cid, err) < 0) {
    d->ops->attach_free(att);
    return -1;
  }
  char buf[32768];
  for (;;) {
    int stream = 1;
    size_t len = 0;
    int r = d->ops->attach_read(att, j->cancel_fd, &stream, buf, sizeof buf, &len);
    if (r <= 0) break;
    if (stream == 2)
      bout_stderr_raw(j, buf, len);
    else
      bout_stdout_raw(j, buf, len);
  }
  d->ops->attach_free(att);
  if (build_cancelled(j)) {
    arca_err rerr;
    container_remove(e, cid, true, true, false, &rerr);
    return err_set(err, 500, "build cancelled");
  }
  wait_handle *w = NULL;
  if (container_wait_begin(e, cid, WAIT_NOT_RUNNING, &w, err) < 0) return -1;
  int rc = container_wait_end(e, w, j->cancel_fd, code, cerror);
  container_wait_free(w);
  if (rc != 0) {
    arca_err rerr;
    container_remove(e, cid, true, true, false, &rerr);
    return err_set(err, 500, "build cancelled");
  }
  return 0;
}

static int d_run(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  if (in->nflags)
    return err_set(err, 400, "the --%s option requires BuildKit. " BUILDKIT_ONLY,
                   in->flags[0].name);
  autojson json_t *cmd = build_cmd_line(st, in);
  json_t *env = cfg_get(st, "Env");
  size_t nba;
  char **ba = build_args_filter_allowed(st->args, env, &nba);
  autojson json_t *save_cmd = json_deep_copy(cmd);
  if (nba) {
    json_t *pre = json_array();
    size_t nref = 0;
    for (size_t i = 0; i < nba; i++) {
      autofree char *key = xstrndup(ba[i], strcspn(ba[i], "="));
      if (build_args_referenced_or_not_builtin(st->args, key)) nref++;
    }
    json_array_append_new(pre, json_sprintf("|%zu", nref));
    for (size_t i = 0; i < nba; i++) {
      autofree char *key = xstrndup(ba[i], strcspn(ba[i], "="));
      if (build_args_referenced_or_not_builtin(st->args, key))
        json_array_append_new(pre, json_string(ba[i]));
    }
    json_array_extend(pre, save_cmd);
    json_decref(save_cmd);
    save_cmd = pre;
  }
  autojson json_t *probe = json_deep_copy(st->cfg);
  json_object_set(probe, "Cmd", save_cmd);
  json_object_del(probe, "ArgsEscaped");
  if (json_array_size(save_cmd)) json_object_set_new(probe, "Entrypoint", json_null());
  int hit = build_probe(j, st, probe, err);
  if (hit != 0) {
    build_args_free_list(ba, nba);
    return hit < 0 ? -1 : 0;
  }
  autojson json_t *runcfg = json_deep_copy(st->cfg);
  json_object_set(runcfg, "Cmd", cmd);
  json_object_del(runcfg, "ArgsEscaped");
  json_t *renv = json_is_array(env) ? json_deep_copy(env) : json_array();
  for (size_t i = 0; i < nba; i++) json_array_append_new(renv, json_string(ba[i]));
  build_args_free_list(ba, nba);
  json_object_set_new(runcfg, "Env", renv);
  if (json_array_size(save_cmd)) json_object_set_new(runcfg, "Entrypoint", json_pack("[s]", ""));
  json_object_set_new(runcfg, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
  autofree char *cmdline = strv_join(cmd, " ");
  if (!build_image_has_layers(j, st)) {
    const char *bin = json_string_value(json_array_get(cmd, 0)) ?: "";
    return err_set(
        err, 400,
        "failed to create task for container: exec: \"%s\": stat %s: no such file or directory",
        bin, bin);
  }
  char cid[65];
  if (build_container_create(j, st, runcfg, true, true, cid, err) < 0) return -1;
  int code = 0;
  autofree char *cerror = NULL;
  if (run_container(j, cid, &code, &cerror, err) < 0) return -1;
  if (code != 0) {
    j->error_code = code;
    if (cerror && *cerror)
      return err_set(err, 500, "The command '%s' returned a non-zero code: %d: %s", cmdline, code,
                     cerror);
    return err_set(err, 500, "The command '%s' returned a non-zero code: %d", cmdline, code);
  }
  step_layer layer;
  if (build_layer_from_container(j, st, cid, &layer, err) < 0) return -1;
  return build_commit_image(j, st, probe, NULL, cid, &layer, err);
}

/* ---- ONBUILD triggers ---- */

int build_run_triggers(build_job *j, dispatch_state *st, json_t *triggers, arca_err *err) {
  size_t n = json_array_size(triggers);
  bout_stdout(j, "# Executing %zu build trigger%s\n", n, n > 1 ? "s" : "");
  for (size_t i = 0; i < n; i++) {
    json_object_set_new(st->cfg, "Image", json_string(st->image_id));
    df_instr *in = NULL;
    if (dockerfile_parse_trigger(json_string_value(json_array_get(triggers, i)) ?: "", &in, err) <
        0)
      return -1;
    int rc = build_dispatch(j, st, in, err);
    df_instr_free(in);
    build_containers_cleanup(j, rc == 0);
    if (rc < 0) return -1;
  }
  return 0;
}

/* ---- the table ---- */

int build_dispatch(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err) {
  static const struct {
    const char *kw;
    int (*fn)(build_job *, dispatch_state *, const df_instr *, arca_err *);
  } table[] = {
      {"env", d_env},
      {"maintainer", d_maintainer},
      {"label", d_label},
      {"onbuild", d_onbuild},
      {"workdir", d_workdir},
      {"run", d_run},
      {"cmd", d_cmd},
      {"healthcheck", d_healthcheck},
      {"entrypoint", d_entrypoint},
      {"expose", d_expose},
      {"user", d_user},
      {"volume", d_volume},
      {"stopsignal", d_stopsignal},
      {"arg", d_arg},
      {"shell", d_shell},
  };
  if (!strcmp(in->keyword, "copy")) return build_copy(j, st, in, false, err);
  if (!strcmp(in->keyword, "add")) return build_copy(j, st, in, true, err);
  for (size_t i = 0; i < ARRAY_LEN(table); i++)
    if (!strcmp(in->keyword, table[i].kw)) return table[i].fn(j, st, in, err);
  return err_set(err, 500, "unsupported command type: %s", in->keyword);
}
