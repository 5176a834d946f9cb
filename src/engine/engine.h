/* The engine: Docker's semantics, independent of HTTP. It owns the event bus, the store
 * and (from later issues) the containers, images, networks, volumes and the runtime driver.
 *
 * Lock: cfg_lock guards the reloadable parts of cfg (log level, registries, mirrors,
 * labels, download concurrency); everything else in cfg is fixed after engine_open. */
#ifndef ARCA_ENGINE_ENGINE_H
#define ARCA_ENGINE_ENGINE_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "common/err.h"
#include "config/config.h"
#include "engine/events.h"
#include "engine/host.h"
#include "engine/containers.h"
#include "engine/images.h"
#include "engine/sched.h"
#include "runtime/driver.h"
#include "runtime/prereq.h"
#include "store/store.h"

typedef struct engine {
  arca_config cfg;
  pthread_rwlock_t cfg_lock;
  char id[40];          /* stable engine ID (UUID), survives restarts */
  char *tmp_dir;        /* <data-root>/tmp: spooled request bodies, downloads */
  int64_t start_ns;
  host_info host;
  event_bus *events;
  store *store;
  image_store images;
  bool images_open;
  container_store containers;
  rt_driver *driver;          /* NULL when the prerequisites are missing (API only) */
  prereq_report prereq;       /* paths and versions found at start-up */
  sched *sched;
  struct networks_state *networks;  /* networks*.c */
  struct volumes_state *volumes;    /* volumes*.c */
  struct build_cache *build_cache; /* the classic builder's cache (engine/build_cache.c) */
} engine;

/* Takes ownership of *cfg (cfg is zeroed). */
int engine_open(arca_config *cfg, engine **out, arca_err *err);
void engine_close(engine *e);
/* SIGHUP: applies what can change at run time from fresh (consumed), publishes a daemon
 * "reload" event. */
int engine_reload(engine *e, arca_config *fresh, arca_err *err);
const char *engine_tmp_dir(engine *e);

/* Docker documents (engine/system.c) */
json_t *engine_version_json(engine *e);
json_t *engine_info_json(engine *e);
/* types: NULL for all, else a mask of SYSTEM_DF_* */
#define SYSTEM_DF_CONTAINERS 1
#define SYSTEM_DF_IMAGES 2
#define SYSTEM_DF_VOLUMES 4
#define SYSTEM_DF_BUILD_CACHE 8
json_t *engine_df_json(engine *e, int types, bool verbose_shape_v152);

#endif
