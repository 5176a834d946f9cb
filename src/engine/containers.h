/* Containers: Docker's state machine over the runtime driver.
 *
 * Locks, taken in this order only:
 *   containers_lock (rwlock, engine-wide): the maps by ID and by name.
 *   container->lock (mutex, one per container): its record and state.
 * A container is referenced (container_get/container_put) while an operation uses it, so
 * that a concurrent removal cannot free it. Driver calls that can block (start, stop waits,
 * exec) are made with the container lock held only where Docker serialises them too;
 * exit notifications from the driver take the container lock, never containers_lock for
 * writing. */
#ifndef ARCA_ENGINE_CONTAINERS_H
#define ARCA_ENGINE_CONTAINERS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/strmap.h"

struct engine;

typedef enum cstate {
  CS_CREATED = 0,
  CS_RUNNING,
  CS_PAUSED,
  CS_RESTARTING,
  CS_EXITED,
  CS_DEAD,
  CS_REMOVING,
} cstate;

const char *cstate_name(cstate s);

typedef struct health_log {
  int64_t start_ns, end_ns;
  int exit_code;
  char *output;
} health_log;

typedef struct container {
  char id[65];
  char name[256];             /* without the leading slash */
  char image_id[72];
  char *image_name;           /* as the user named it */
  json_t *config;             /* Docker's Config, merged with the image's */
  json_t *host_config;        /* Docker's HostConfig, normalised */
  json_t *networking;         /* NetworkingConfig as given (networks issue) */
  char **chain_ids;           /* image layers held */
  size_t nchain;
  int64_t created_ns;
  char *path;                 /* Path and Args: the main process */
  json_t *args;

  /* state, guarded by lock */
  pthread_mutex_t lock;
  pthread_cond_t cond;        /* state changes */
  cstate state;
  int exit_code;
  char *error;                /* State.Error */
  bool oom_killed;
  int64_t started_ns, finished_ns;
  int restart_count;
  bool manual_stop;           /* stopped by the user: restart policies leave it */
  bool has_been_started;
  bool removal_in_progress;
  bool prepared;              /* the driver has its sandbox */
  uint64_t exit_seq;          /* counts exits, for wait next-exit */
  bool removed;               /* for wait condition=removed */
  int pid;                    /* informational: what the runtime reported */
  /* health */
  char health_status[16];     /* "", "starting", "healthy", "unhealthy" */
  int failing_streak;
  health_log health_log[5];
  int nhealth_log;
  uint64_t health_gen;        /* bumps at each start: stale checks are dropped */
  /* exec instances (IDs), newest last */
  char **exec_ids;
  size_t nexec;
  int refs;                   /* guarded by containers_lock */
  uint64_t restart_gen;       /* a scheduled restart checks it is still wanted */
  /* GET /containers/json row, serialized, reused while its inputs are unchanged (guarded by lock) */
  uint64_t rev;               /* bumps at each container_save */
  struct {
    char *json;
    uint64_t rev, net_rev;
    cstate state;
    char status[128];
    char name[256];
  } row;
} container;

typedef struct container_store {
  pthread_rwlock_t lock;
  strmap by_id;
  strmap by_name;             /* name (no slash) -> container* */
  bool loaded;
} container_store;

int containers_open(struct engine *e, arca_err *err);
/* After the API is up: re-adopt running containers, restart those whose policy says so. */
void containers_restore(struct engine *e);
void containers_close(struct engine *e);
void containers_counts(struct engine *e, int *total, int *running, int *paused, int *stopped);

/* Lookup by full ID, exact name (with or without '/'), unique ID prefix. 404 "No such
 * container: x". The result is referenced: container_put it. */
int container_get(struct engine *e, const char *name_or_id, container **out, arca_err *err);
void container_put(struct engine *e, container *c);

/* POST /containers/create: body as given; name may be NULL. Returns the ID and warnings. */
int container_create(struct engine *e, const json_t *body, const char *name, const char *platform, int api_minor,
                     char id_out[65], json_t **warnings, arca_err *err);
int container_start(struct engine *e, const char *name, arca_err *err); /* 304: err->status 304 */
/* timeout < 0: the container's StopTimeout or 10 s; signal NULL: its StopSignal or TERM */
int container_stop(struct engine *e, const char *name, int timeout, const char *signal, arca_err *err);
int container_restart(struct engine *e, const char *name, int timeout, const char *signal, arca_err *err);
int container_kill(struct engine *e, const char *name, const char *signal, arca_err *err);
int container_pause(struct engine *e, const char *name, arca_err *err);
int container_unpause(struct engine *e, const char *name, arca_err *err);
int container_remove(struct engine *e, const char *name, bool force, bool volumes, bool link, arca_err *err);
int container_rename(struct engine *e, const char *name, const char *new_name, arca_err *err);
int container_update(struct engine *e, const char *name, const json_t *body, json_t **warnings, arca_err *err);

/* Wait: conditions "not-running" (default), "next-exit", "removed". Blocks until the
 * condition holds or cancel_fd is readable (then returns 1). */
typedef enum { WAIT_NOT_RUNNING, WAIT_NEXT_EXIT, WAIT_REMOVED } wait_cond;
typedef struct wait_handle wait_handle;
/* Registers the wait (checks the container exists; 404 otherwise); no blocking yet. */
int container_wait_begin(struct engine *e, const char *name, wait_cond cond, wait_handle **out, arca_err *err);
/* Blocks; 0 with the exit code and error text (may be NULL) or 1 when cancelled. */
int container_wait_end(struct engine *e, wait_handle *w, int cancel_fd, int *code, char **error);
void container_wait_free(wait_handle *w);

json_t *container_inspect_json(struct engine *e, container *c, bool size, int api_minor);
/* GET /containers/json: the JSON array as text (rows are cached on the containers). */
int containers_list_text(struct engine *e, bool all, int limit, bool size, const char *filters_json, int api_minor,
                         char **out, size_t *out_len, arca_err *err);
int containers_prune(struct engine *e, const char *filters_json, json_t **out, arca_err *err);

/* Driver callbacks */
struct rt_exit;
void containers_on_exit(void *ctx, const char *id, const char *exec_id, const struct rt_exit *exit);
void containers_on_oom(void *ctx, const char *id);

/* Publishes a container event with Docker's attributes (image, name, labels) + extra. */
void container_event(struct engine *e, container *c, const char *action, json_t *extra);
/* Persists the record (call with c->lock held). */
int container_save(struct engine *e, container *c, arca_err *err);
/* "Up 3 minutes (Paused)", "Exited (0) 2 seconds ago", "Created" ... */
void container_status_text(const container *c, char *out, size_t n);
bool container_is_running(const container *c);

#endif
