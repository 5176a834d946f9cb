/* Health checks, run by the daemon itself on their interval (no systemd timers here:
 * COMPAT-TRAPS, LINUX-STACK-NOTES). Docker's rules (daemon/health.go): the first probe after
 * the interval (or start-interval during the start period); a probe that fails during the
 * start period does not count unless the container was healthy before; `retries`
 * consecutive failures make it unhealthy; the last 5 results are kept. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/container_internal.h"
#include "engine/engine.h"
#include "engine/execs.h"

#define DEFAULT_INTERVAL 30000000000LL
#define DEFAULT_TIMEOUT 30000000000LL
#define DEFAULT_START_INTERVAL 5000000000LL
#define DEFAULT_RETRIES 3

typedef struct probe_job {
  engine *e;
  char id[65];
  uint64_t gen;
} probe_job;

static int64_t hc_ns(const json_t *hc, const char *key, int64_t def) {
  int64_t v = json_integer_value(json_object_get(hc, key));
  return v > 0 ? v : def;
}

static void probe_run(void *p);

static void schedule(engine *e, container *c, uint64_t gen) {
  json_t *hc = json_object_get(c->config, "Healthcheck");
  int64_t interval = hc_ns(hc, "Interval", DEFAULT_INTERVAL);
  int64_t start_period = hc_ns(hc, "StartPeriod", 0);
  int64_t start_interval = hc_ns(hc, "StartInterval", DEFAULT_START_INTERVAL);
  bool in_start_period = start_period > 0 && now_ns() - c->started_ns < start_period;
  int64_t delay = in_start_period && json_integer_value(json_object_get(hc, "StartInterval")) > 0 ? start_interval : interval;
  probe_job *j = xcalloc(1, sizeof *j);
  j->e = e;
  memcpy(j->id, c->id, sizeof j->id);
  j->gen = gen;
  sched_after(e->sched, delay, probe_run, j, free);
}

void health_schedule(engine *e, container *c, bool first) {
  (void)first;
  schedule(e, c, c->health_gen);
}

static void record(container *c, int64_t start, int code, const char *output) {
  if (c->nhealth_log == 5) {
    free(c->health_log[0].output);
    memmove(&c->health_log[0], &c->health_log[1], 4 * sizeof c->health_log[0]);
    c->nhealth_log = 4;
  }
  health_log *l = &c->health_log[c->nhealth_log++];
  l->start_ns = start;
  l->end_ns = now_ns();
  l->exit_code = code;
  l->output = xstrdup(output ? output : "");
}

/* The probe runs on its own thread: it may take up to its timeout. */
static void probe_exec(void *p) {
  probe_job *j = p;
  engine *e = j->e;
  container *c;
  arca_err err;
  if (container_get(e, j->id, &c, &err) < 0) {
    free(j);
    return;
  }
  pthread_mutex_lock(&c->lock);
  bool live = c->state == CS_RUNNING && c->health_gen == j->gen;
  json_t *hc = json_deep_copy(json_object_get(c->config, "Healthcheck"));
  json_t *shell = json_deep_copy(json_object_get(c->config, "Shell"));
  pthread_mutex_unlock(&c->lock);
  if (!live) {
    json_decref(hc);
    json_decref(shell);
    container_put(e, c);
    free(j);
    return;
  }
  json_t *test = json_object_get(hc, "Test");
  const char *kind = json_string_value(json_array_get(test, 0)) ?: "";
  json_t *argv = json_array();
  if (!strcmp(kind, "CMD-SHELL")) {
    if (json_array_size(shell)) json_array_extend(argv, shell);
    else {
      json_array_append_new(argv, json_string("/bin/sh"));
      json_array_append_new(argv, json_string("-c"));
    }
    json_array_append(argv, json_array_get(test, 1));
  } else {
    for (size_t i = 1; i < json_array_size(test); i++) json_array_append(argv, json_array_get(test, i));
  }
  size_t argc = json_array_size(argv);
  char **av = xcalloc(argc + 1, sizeof *av);
  for (size_t i = 0; i < argc; i++) av[i] = xstrdup(json_string_value(json_array_get(argv, i)) ?: "");
  int64_t timeout = hc_ns(hc, "Timeout", DEFAULT_TIMEOUT);
  int code = -1;
  char *output = NULL;
  int64_t start = now_ns();
  int rc = exec_probe(e, c->id, av, argc, (int)(timeout / 1000000LL), &code, &output, &err);
  if (rc < 0) {
    code = -1;
    free(output);
    output = xstrdup(err.msg);
  } else if (rc == 1) {
    code = -1;
    free(output);
    char d[32];
    snprintf(d, sizeof d, "%llds", (long long)(timeout / 1000000000LL));
    output = xasprintf("Health check exceeded timeout (%s)", d);
  }
  for (size_t i = 0; i < argc; i++) free(av[i]);
  free(av);
  json_decref(argv);

  pthread_mutex_lock(&c->lock);
  bool still = c->state == CS_RUNNING && c->health_gen == j->gen;
  const char *event = NULL;
  if (still) {
    record(c, start, code, output);
    char old[16];
    memcpy(old, c->health_status, sizeof old);
    int64_t start_period = hc_ns(hc, "StartPeriod", 0);
    bool in_start = start_period > 0 && now_ns() - c->started_ns < start_period;
    int retries = (int)json_integer_value(json_object_get(hc, "Retries"));
    if (retries <= 0) retries = DEFAULT_RETRIES;
    if (code == 0) {
      c->failing_streak = 0;
      snprintf(c->health_status, sizeof c->health_status, "healthy");
    } else if (!in_start || strcmp(old, "starting") != 0) {
      c->failing_streak++;
      if (c->failing_streak >= retries) snprintf(c->health_status, sizeof c->health_status, "unhealthy");
    }
    if (strcmp(old, c->health_status) != 0) event = c->health_status;
    container_save(e, c, NULL);
    schedule(e, c, j->gen);
  }
  char ev[32];
  if (event) snprintf(ev, sizeof ev, "health_status: %s", event);
  pthread_mutex_unlock(&c->lock);
  if (event) container_event(e, c, ev, NULL);
  free(output);
  json_decref(hc);
  json_decref(shell);
  container_put(e, c);
  free(j);
}

static void probe_run(void *p) { sched_spawn(probe_exec, p); }

json_t *health_json(const container *c) {
  if (!c->health_status[0]) return NULL;
  json_t *log = json_array();
  for (int i = 0; i < c->nhealth_log; i++) {
    char s[64], t[64];
    format_rfc3339nano(c->health_log[i].start_ns, s, sizeof s);
    format_rfc3339nano(c->health_log[i].end_ns, t, sizeof t);
    json_array_append_new(log, json_pack("{s:s,s:s,s:i,s:s}", "Start", s, "End", t, "ExitCode", c->health_log[i].exit_code,
                                         "Output", c->health_log[i].output ? c->health_log[i].output : ""));
  }
  return json_pack("{s:s,s:i,s:o}", "Status", c->health_status, "FailingStreak", c->failing_streak, "Log", log);
}
