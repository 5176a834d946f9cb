/* Shared between volumes.c (records, the volume endpoints), volumes_mounts.c (containers'
 * mounts), volumes_copy.c (image content into new volumes, sizes) and volumes_local.c
 * (mount options of the local driver). Guarded by volumes_state.lock unless said otherwise. */
#ifndef ARCA_ENGINE_VOLUMES_INTERNAL_H
#define ARCA_ENGINE_VOLUMES_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/strmap.h"
#include "engine/volumes.h"

struct engine;

#define ANONYMOUS_LABEL "com.docker.volume.anonymous"

typedef struct volume {
  char name[256];
  json_t *doc;        /* {Name, Driver, Mountpoint, CreatedAt, Labels, Options, Scope} */
  int64_t created_ns;
} volume;

/* A container's use of a volume at a destination. */
typedef struct volume_ref {
  char container_id[65];
  char *destination;
  char name[256];
  bool copy;          /* copy image content in when the volume is empty at start */
  bool rw;
  char mode[32];      /* Mode as inspect shows it */
  struct volume_ref *next;
} volume_ref;

struct volumes_state {
  pthread_mutex_t lock;
  strmap by_name;     /* name -> volume* */
  volume_ref *refs;
  strmap mounted;     /* container IDs whose volumes are mounted (events sent) */
  char *root;         /* <data-root>/volumes */
};

#define VOLS(e) ((e)->volumes)

/* volumes.c */
/* Docker's local volume name rule, texts included. */
int volume_name_validate(const char *name, arca_err *err);
/* Finds or creates a local volume (event "create" when new). opts/labels may be NULL. */
volume *volume_get_or_create_locked(struct engine *e, const char *name, const json_t *opts, const json_t *labels,
                                    bool anonymous, arca_err *err);
volume *volume_lookup_locked(volumes_state *vs, const char *name);
char *volume_data_dir(volumes_state *vs, const char *name);
/* Removes the volume's files and record (event "destroy"); the caller checked it is unused. */
int volume_destroy_locked(struct engine *e, volume *v, arca_err *err);
bool volume_in_use_locked(volumes_state *vs, const char *name);
void volume_ref_save(struct engine *e, const volume_ref *r);
void volume_ref_free(volume_ref *r);

/* volumes_copy.c */
/* Copies what the image has at dest (its layers, lowest first, merged as overlayfs would)
 * into dir, then gives dir the owner and mode of the image's directory. Nothing is copied
 * when the image has no directory there. */
int volume_copy_image_content(const char *const *layers, size_t nlayers, const char *dest, const char *dir,
                              arca_err *err);
bool dir_is_empty(const char *dir);
/* Bytes used by regular files under dir (hard links once), as Docker's directory.Size. */
int64_t dir_size(const char *dir);

/* volumes_local.c: options type/device/o of the local driver */
bool volume_has_mount_options(const volume *v);
int volume_local_mount(volumes_state *vs, const volume *v, arca_err *err);
void volume_local_umount(volumes_state *vs, const volume *v);
/* Checks of the options at create (dockerd's validateOpts). */
int volume_local_opts_validate(const json_t *opts, arca_err *err);

#endif
