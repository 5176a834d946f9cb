/* Shared between the container files of the engine (container*.c). */
#ifndef ARCA_ENGINE_CONTAINER_INTERNAL_H
#define ARCA_ENGINE_CONTAINER_INTERNAL_H

#include "engine/container_config.h"
#include "engine/containers.h"

struct engine;

void container_free(container *c);
/* Reserves the name (or generates one), persists, adds to the maps. 409 on a name in use. */
int container_register(struct engine *e, container *c, const char *wanted_name, arca_err *err);
void container_unregister(struct engine *e, container *c);
char *container_dir(struct engine *e, const char *id);
void containers_each(struct engine *e, void (*fn)(struct engine *e, container *c, void *ctx), void *ctx);

/* container_state.c */
/* Prepares (or re-prepares) the sandbox from the record; c->lock held. */
int container_prepare_locked(struct engine *e, container *c, arca_err *err);
/* Starts with c->lock held (also used by restart policies). */
int container_start_locked(struct engine *e, container *c, bool manual, arca_err *err);
/* Waits until the container is no longer running, up to timeout_ms (-1: forever); c->lock
 * held (released while waiting). Returns 0 when it stopped. */
int container_wait_stopped_locked(container *c, int timeout_ms);
/* Docker's signal names and numbers. */
int container_signal_number(const char *s);

/* container_create.c */
int container_write_files(struct engine *e, container *c, arca_err *err);
/* The same, rewriting the files' contents in place: a sandbox being created may have
 * bind-mounted them already. */
int container_write_files_in_place(struct engine *e, container *c, arca_err *err);
struct host_limits container_host_limits(struct engine *e);
void container_merge_image_config(json_t *user, const json_t *image);

/* networks and volumes (networks.c, volumes.c) */
int networks_attach_container(struct engine *e, container *c, bool files_in_place, arca_err *err);
void networks_detach_container(struct engine *e, container *c);
struct rt_mount;
int volume_mount_for(struct engine *e, container *c, const char *name, const char *dest, bool read_only,
                     struct rt_mount **mounts, size_t *n, arca_err *err);
void volumes_remove_anonymous(struct engine *e, container *c);
void volumes_release(struct engine *e, container *c);

/* exec.c */
void execs_on_exit(struct engine *e, const char *id, const char *exec_id, const void *exit);

/* health.c */
void health_schedule(struct engine *e, container *c, bool first);
json_t *health_json(const container *c);

#endif
