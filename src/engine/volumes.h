/* Volumes: the local driver's named and anonymous volumes under <data-root>/volumes/<name>/
 * _data (options type/device/o mount something there while containers use it), Docker's
 * copy of the image's content into a new empty volume at its first mount, the mounts a
 * container gets from Binds, Mounts, image VOLUMEs and VolumesFrom, and the Docker
 * documents (volume inspect and list, a container's Mounts, system df).
 *
 * Which volume a container mounts where is recorded per (container, destination) when the
 * container is prepared, so an anonymous volume stays the same across restarts; a volume
 * is in use while any container record refers to it.
 *
 * Lock: volumes->lock (one mutex, volumes*.c) guards the volume map and the references.
 * It may be taken with a container lock held, never the other way round; it is not held
 * while files are copied or while a local volume is mounted. */
#ifndef ARCA_ENGINE_VOLUMES_H
#define ARCA_ENGINE_VOLUMES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "engine/containers.h"

struct engine;
struct rt_mount;
typedef struct volumes_state volumes_state;

int volumes_open(struct engine *e, arca_err *err);
void volumes_close(struct engine *e);

/* POST /volumes/create: {"Name", "Driver", "DriverOpts", "Labels"}; an existing name gives
 * the existing volume. *out: the volume document. */
int volume_create(struct engine *e, const json_t *body, json_t **out, arca_err *err);
/* GET /volumes (filters dangling, driver, label, name): {"Volumes": [...], "Warnings": null} */
int volumes_list_json(struct engine *e, const char *filters_json, json_t **out, arca_err *err);
/* GET /volumes/{name}: 404 "get x: no such volume". */
int volume_inspect_json(struct engine *e, const char *name, json_t **out, arca_err *err);
/* DELETE /volumes/{name}: 409 "remove x: volume is in use - [ids]"; force ignores a
 * missing volume. */
int volume_remove(struct engine *e, const char *name, bool force, arca_err *err);
/* POST /volumes/prune: unused local volumes without options; only anonymous ones unless
 * filter all=true (api_minor < 42 implies all). */
int volumes_prune(struct engine *e, const char *filters_json, int api_minor, json_t **out, arca_err *err);
/* system df: every volume with UsageData {Size, RefCount}. */
json_t *volumes_df_json(struct engine *e);

/* ---- for the container state machine (c->lock held) ---- */

/* Create-time checks that need engine state: volume names and options, VolumesFrom
 * containers. */
int volumes_validate_create(struct engine *e, container *c, arca_err *err);
/* Mounts beyond Binds and Mounts: VolumesFrom, then the image's VOLUMEs (anonymous
 * volumes), each skipped where a destination is already mounted. */
int volumes_extra_mounts(struct engine *e, container *c, struct rt_mount **mounts, size_t *n, arca_err *err);
/* Before the container runs: mounts local volumes that have options, copies image content
 * into new empty volumes, publishes volume mount events. */
int volumes_start(struct engine *e, container *c, arca_err *err);
/* After it stopped: unmount events; local volumes with options no running container uses
 * are unmounted. */
void volumes_stop(struct engine *e, container *c);
/* The container's Mounts, as inspect and list show them. */
json_t *volumes_mounts_json(struct engine *e, const container *c);

#endif
