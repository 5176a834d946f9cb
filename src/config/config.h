/* Daemon configuration: /etc/arca/daemon.json plus command-line flags; flags win.
 * As dockerd: an unknown key in the file, or a key given both in the file and as a flag
 * with a different value, refuses to start with a clear message. */
#ifndef ARCA_CONFIG_CONFIG_H
#define ARCA_CONFIG_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "common/log.h"

#define ARCA_DEFAULT_CONFIG_FILE "/etc/arca/daemon.json"
#define ARCA_DEFAULT_SOCKET "/var/run/arca.sock"
#define ARCA_DEFAULT_DATA_ROOT "/var/lib/arca"
#define ARCA_DEFAULT_EXEC_ROOT "/run/arca"

typedef struct strlist {
  char **v;
  size_t n;
} strlist;
void strlist_add(strlist *l, const char *s);
void strlist_free(strlist *l);
bool strlist_contains(const strlist *l, const char *s);

typedef struct address_pool {
  char *base; /* "172.17.0.0/16" */
  int size;   /* prefix length of each network carved from base */
} address_pool;

typedef struct arca_config {
  char *config_file;
  bool config_file_named;   /* --config-file given: then it must exist */
  strlist hosts;            /* unix:///path, tcp://host:port, fd:// not supported */
  char *data_root;
  char *exec_root;
  char *pidfile;            /* empty: none */
  enum log_level log_level;
  enum log_format log_format;
  bool debug;
  char *runtime;            /* "runc" | "crun" */
  strlist insecure_registries;
  strlist registry_mirrors;
  address_pool *address_pools;
  size_t n_address_pools;
  bool tls, tlsverify;
  char *tlscacert, *tlscert, *tlskey;
  char *group;              /* socket group; "docker" when it exists */
  bool docker_socket_symlink;
  int max_concurrent_downloads;
  int max_concurrent_uploads;
  strlist labels;
  bool skip_prereq_check;   /* --skip-prereq-check (tests of the API alone) */
} arca_config;

/* Parses argv (after the program name) and the config file; fills cfg with defaults for
 * everything unset. Returns 1 when the flags asked for --help/--version (already printed),
 * 0 to run, -1 on error (err explains, status 0). */
int config_load(int argc, char **argv, arca_config *cfg, arca_err *err);
/* Rereads the file for SIGHUP: fills fresh with file values over the current flags. */
int config_reload(const arca_config *current, arca_config *fresh, arca_err *err);
void config_free(arca_config *cfg);
void config_usage(FILE *out);
/* The effective configuration as daemon.json would write it (for `arcad config`). */
json_t *config_to_json(const arca_config *cfg);

/* Checks of a host address ("unix:///x", "tcp://127.0.0.1:2375"): parses, and refuses
 * non-loopback TCP without --tlsverify. */
int config_check_hosts(const arca_config *cfg, arca_err *err);

#endif
