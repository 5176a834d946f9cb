/* arcad: the Arca daemon, and its companion commands (doctor, setup, routes). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/router.h"
#include "api/server.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "config/config.h"
#include "engine/engine.h"
#include "engine/networks.h"
#include "runtime/prereq.h"

void config_release_globals(void);

static int cmd_routes(void) {
  size_t n;
  const api_route *r = api_routes(&n);
  for (size_t i = 0; i < n; i++) printf("%s %s\n", r[i].method, r[i].pattern);
  return 0;
}

static int cmd_doctor(arca_config *cfg) {
  prereq_report rep;
  prereq_check(cfg, &rep);
  printf("arcad doctor: prerequisites of Arca %s on this host\n", ARCA_VERSION);
  int missing = prereq_print(&rep, stdout);
  prereq_report_free(&rep);
  if (missing) printf("%d prerequisite(s) missing: arcad will not start until they are fixed.\n", missing);
  else printf("everything arcad needs is here.\n");
  return missing ? 1 : 0;
}

static int cmd_setup(void) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  const char *candidates[3] = {ARCA_SOURCE_DIR "/scripts/deps.sh", NULL, NULL};
  char alt[PATH_MAX + 32];
  if (n > 0) {
    exe[n] = '\0';
    snprintf(alt, sizeof alt, "%s/../scripts/deps.sh", dirname(exe));
    candidates[1] = alt;
  }
  for (int i = 0; i < 2 && candidates[i]; i++) {
    if (access(candidates[i], X_OK) == 0) {
      printf("arcad setup: running %s\n", candidates[i]);
      fflush(stdout);
      execl(candidates[i], candidates[i], (char *)NULL);
      fprintf(stderr, "arcad setup: cannot run %s: %s\n", candidates[i], strerror(errno));
      return 1;
    }
  }
  fprintf(stderr, "arcad setup: scripts/deps.sh not found next to this arcad; run it from the source tree\n");
  return 1;
}

static int write_pidfile(const char *path) {
  if (!path || !*path) return 0;
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
  return write_file_atomic(path, buf, (size_t)n, 0644, NULL);
}

static int serve(arca_config *cfg) {
  arca_err err;
  if (config_check_hosts(cfg, &err) < 0) {
    log_kv(LOG_FATAL, "refusing to start", "error", err.msg, NULL);
    return 1;
  }
  if (!cfg->skip_prereq_check) {
    prereq_report rep;
    prereq_check(cfg, &rep);
    int missing = 0;
    for (size_t i = 0; i < rep.n; i++) {
      if (rep.items[i].ok || !rep.items[i].required) continue;
      missing++;
      log_kv(LOG_ERROR, "missing prerequisite", "name", rep.items[i].name, "detail", rep.items[i].detail,
             "fix", rep.items[i].fix, NULL);
    }
    prereq_report_free(&rep);
    if (missing) {
      log_kv(LOG_FATAL, "refusing to start: prerequisites are missing (see `arcad doctor`)", NULL);
      return 1;
    }
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread inherits this; main waits for them */
  signal(SIGPIPE, SIG_IGN);
  umask(022); /* layers unpack with the modes their tars give (image/layer.h) */

  engine *eng = NULL;
  if (engine_open(cfg, &eng, &err) < 0) {
    log_kv(LOG_FATAL, "cannot start the engine", "error", err.msg, NULL);
    config_free(cfg);
    return 1;
  }
  api_server *server = NULL;
  if (api_server_start(eng, &eng->cfg, &server, &err) < 0) {
    log_kv(LOG_FATAL, "cannot serve the API", "error", err.msg, NULL);
    engine_close(eng);
    return 1;
  }
  write_pidfile(eng->cfg.pidfile);
  containers_restore(eng);
  networks_release_all(eng, true); /* bridges a daemon that died kept warm */
  log_kv(LOG_INFO, "Arca daemon started", "version", ARCA_VERSION, "commit", ARCA_GIT_COMMIT,
         "data-root", eng->cfg.data_root, "api", API_VERSION_MAX, NULL);

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      arca_config fresh;
      if (config_reload(&eng->cfg, &fresh, &err) < 0) {
        log_kv(LOG_ERROR, "reload failed; configuration unchanged", "error", err.msg, NULL);
        continue;
      }
      engine_reload(eng, &fresh, &err);
      log_kv(LOG_INFO, "configuration reloaded", "file", eng->cfg.config_file, NULL);
      continue;
    }
    log_kv(LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    break;
  }
  api_server_stop(server);
  if (eng->cfg.pidfile && *eng->cfg.pidfile) unlink(eng->cfg.pidfile);
  engine_close(eng);
  log_kv(LOG_INFO, "Arca daemon stopped", NULL);
  return 0;
}

int main(int argc, char **argv) {
  const char *sub = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
  if (sub && !strcmp(sub, "routes")) return cmd_routes();
  if (sub && !strcmp(sub, "setup")) return cmd_setup();
  if (sub && strcmp(sub, "doctor") != 0) {
    fprintf(stderr, "arcad: unknown command \"%s\" (see arcad --help)\n", sub);
    return 2;
  }
  arca_config cfg;
  arca_err err;
  int rc = config_load(argc - (sub ? 1 : 0), argv + (sub ? 1 : 0), &cfg, &err);
  if (rc == 1) {
    config_release_globals();
    return 0;
  }
  if (rc < 0) {
    fprintf(stderr, "arcad: %s\n", err.msg);
    config_release_globals();
    return 1;
  }
  log_setup(cfg.log_level, cfg.log_format);
  if (sub) {
    int r = cmd_doctor(&cfg);
    config_free(&cfg);
    config_release_globals();
    return r;
  }
  rc = serve(&cfg);
  config_free(&cfg);
  config_release_globals();
  return rc;
}
