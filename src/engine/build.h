/* docker build with the classic builder (POST /build without BuildKit) and its cache
 * (POST /build/prune, the BuildCache of system df).
 *
 * A build runs in two phases, as dockerd's does: build_prepare checks the options,
 * unpacks the context, reads and parses the Dockerfile and picks the stages, so that what
 * is wrong with the request is an HTTP error; build_run then executes the steps and writes
 * Docker's JSON lines ({"stream"}, {"aux"}, progress, {"errorDetail"}) through a callback,
 * failures included.
 *
 * Each step's image comes from the step's container (RUN, WORKDIR), from a tar put into a
 * container made from the previous image (COPY, ADD), or from the configuration alone
 * (metadata instructions). The cache (engine/build_cache.c) maps a parent image and the
 * step's configuration to the image an earlier build made for it.
 *
 * A job belongs to the thread that runs it; concurrent builds share only the engine's
 * stores, which have their own locks. */
#ifndef ARCA_ENGINE_BUILD_H
#define ARCA_ENGINE_BUILD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct engine;

typedef struct build_opts {
  char **tags; /* t (several) */
  size_t ntags;
  char *dockerfile; /* "Dockerfile" when NULL */
  char *target;
  char *remote;       /* remote context URL */
  json_t *buildargs;  /* {"K": "v" | null} */
  json_t *labels;     /* {"k": "v"} */
  json_t *cache_from; /* ["ref", ...] */
  json_t *ulimits;    /* [{"Name","Soft","Hard"}] */
  bool quiet, nocache, rm, forcerm, pull, squash, want_aux;
  int64_t memory, memswap, cpushares, cpuperiod, cpuquota, shmsize;
  char *cpusetcpus, *cpusetmems, *cgroupparent, *networkmode, *platform, *isolation;
  char **extrahosts;
  size_t nextrahosts;
  char *registry_config; /* X-Registry-Config header, base64url JSON {registry: AuthConfig} */
} build_opts;

void build_opts_free(build_opts *o);

typedef struct build_job build_job;

/* Takes ownership of *o (zeroed). body_fd: the request body (the context tar), read from
 * offset 0, may be -1; it stays the caller's. Errors are Docker's and go out as HTTP
 * answers: 400 for options, context and Dockerfile problems, 404 for a missing target. */
int build_prepare(struct engine *e, build_opts *o, int body_fd, build_job **out, arca_err *err);
/* Writes one complete JSON line (with its "\n"); returns -1 once the client has gone. */
typedef int (*build_write_fn)(void *ctx, const char *line, size_t n);
/* Runs the build; every outcome, errors included, is written through write. cancel_fd
 * (or -1) readable aborts it ("Build cancelled"). Returns 0 when an image was built. */
int build_run(build_job *j, build_write_fn write, void *ctx, int cancel_fd);
void build_job_free(build_job *j);

/* Build cache (engine/build_cache.c) */
int build_cache_open(struct engine *e, arca_err *err);
void build_cache_close(struct engine *e);
/* POST /build/prune: {"CachesDeleted": [...] | null, "SpaceReclaimed": n}. */
int build_cache_prune(struct engine *e, const char *filters_json, bool all, int64_t keep_bytes,
                      json_t **out, arca_err *err);
/* system df: the BuildCache array. */
json_t *build_cache_df_json(struct engine *e);

#endif
