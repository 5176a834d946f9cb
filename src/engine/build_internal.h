/* Shared between the files of the classic builder (engine/build*.c). */
#ifndef ARCA_ENGINE_BUILD_INTERNAL_H
#define ARCA_ENGINE_BUILD_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "builder/build_args.h"
#include "builder/build_context.h"
#include "builder/dockerfile.h"
#include "common/util.h"
#include "engine/build.h"
#include "engine/images.h"
#include "image/digest.h"

/* The empty tar's diffID: a step that changed nothing adds no layer. */
#define BUILD_EMPTY_LAYER "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

typedef struct stage_result {
  char *name; /* lowercased; NULL when unnamed */
  char image_id[DIGEST_STR_SIZE];
} stage_result;

typedef struct build_stage {
  size_t from; /* index of its FROM in df.instrs */
  size_t end;  /* one past its last instruction */
} build_stage;

typedef struct tmp_ctr {
  char id[65];
  bool real; /* a container of the engine; else only the ID a metadata step printed */
} tmp_ctr;

struct build_job {
  struct engine *e;
  build_opts o;
  build_context *ctx;
  dockerfile df;
  bool df_parsed;
  size_t nmeta;        /* leading ARG instructions */
  build_stage *stages; /* the stages to run (the target applied) */
  size_t nstages;
  char **tags, **tags_familiar; /* validated "t" values, full and familiar */
  size_t ntags;
  char **label_keys; /* --label options, sorted: LABEL steps at the end of the last stage */
  size_t nlabels;
  /* output */
  build_write_fn write;
  void *wctx;
  int cancel_fd;
  bool gone;
  strbuf quiet;
  /* running */
  int step, total;
  build_args *args;
  stage_result *results;
  size_t nresults;
  char plat_os[16], plat_arch[16], plat_variant[16]; /* the build's platform */
  bool plat_given;
  tmp_ctr *tmp;
  size_t ntmp;
  char *tmp_dir;
  char (*cache_from)[DIGEST_STR_SIZE];
  size_t ncache_from;
  json_t *auth_configs; /* X-Registry-Config decoded, or NULL */
  int error_code;       /* the failed RUN's exit code, for the errorDetail */
};

/* dispatchState: what the steps of one stage change. */
typedef struct dispatch_state {
  json_t *cfg; /* the run configuration, container.Config's shape */
  char *maintainer;
  bool cmd_set;
  char image_id[DIGEST_STR_SIZE]; /* "" on scratch */
  char *stage_name;
  build_args *args;
  char os[16], arch[16], variant[16]; /* platform of the current image */
  bool cache_busted;
  char escape;
} dispatch_state;

/* build.c: output, as dockerd's stream formatters write it */
void bout_stdout(build_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bout_stdout_raw(build_job *j, const char *buf, size_t n);
void bout_stderr_raw(build_job *j, const char *buf, size_t n);
void bout_json(build_job *j, const json_t *msg);
bool build_cancelled(build_job *j);
/* FROM and COPY --from: a stage's image, a local image, or a pull. */
int build_get_image(build_job *j, const char *name, const char *platform, bool local_only,
                    char id[DIGEST_STR_SIZE], arca_err *err);
/* Expansion environment of a step: Env, then the build args it does not set ("K=V"). */
char **build_step_env(const dispatch_state *st, size_t *n);
void build_free_strv(char **v, size_t n);
int build_expand(const dispatch_state *st, const char *word, char **out, arca_err *err);

/* build_dispatch.c */
int build_dispatch(build_job *j, dispatch_state *st, const df_instr *in, arca_err *err);
int build_dispatch_label_option(build_job *j, dispatch_state *st, const char *key,
                                const char *value, arca_err *err);
int build_run_triggers(build_job *j, dispatch_state *st, json_t *triggers, arca_err *err);
/* Shell + command for shell forms ({"/bin/sh","-c",text}), the array for JSON forms. */
json_t *build_cmd_line(const dispatch_state *st, const df_instr *in);

/* The HostConfig of RUN and WORKDIR containers: the build's limits, network, hosts. */
json_t *build_run_host_config(build_job *j);

/* build_copy.c */
int build_copy(build_job *j, dispatch_state *st, const df_instr *in, bool add, arca_err *err);

/* build_commit.c */
/* probeCache: 1 and " ---> Using cache" (st->image_id moves) on a hit, 0 on a miss. */
int build_probe(build_job *j, dispatch_state *st, const json_t *probe_cfg, arca_err *err);
/* commit(): a metadata step: probe, else an image with no layer. */
int build_commit_meta(build_job *j, dispatch_state *st, const char *comment, arca_err *err);
/* The layer a step made; layer.diff_id empty when nothing changed. */
typedef struct step_layer {
  bool empty;
  image_layer layer;
} step_layer;
int build_layer_from_container(build_job *j, const dispatch_state *st, const char *cid,
                               step_layer *out, arca_err *err);
int build_layer_from_dir(build_job *j, const dispatch_state *st, const char *dir, step_layer *out,
                         arca_err *err);
/* Creates the step's image from st (config), the probe config, the container ID and the
 * layer (NULL: none); st->image_id becomes it; it is recorded in the cache under key_cfg
 * (the configuration the step probed with; NULL: container_config). */
int build_commit_image(build_job *j, dispatch_state *st, const json_t *container_config,
                       const json_t *key_cfg, const char *cid, const step_layer *layer,
                       arca_err *err);
/* A container of the step from the current image with cfg; announce: " ---> Running in". */
int build_container_create(build_job *j, dispatch_state *st, const json_t *cfg, bool for_run,
                           bool announce, char id[65], arca_err *err);
/* RemoveAll of the step's containers (and printed IDs), when rm/forcerm say so. */
void build_containers_cleanup(build_job *j, bool step_ok);
/* The changes dockerd's container create makes to a step's configuration (hostname,
 * labels, health check defaults), for container_config parity. */
void build_mimic_create(build_job *j, dispatch_state *st, json_t *cc, const char *cid,
                        bool shares_health);
/* Whether the current image has layers (a container can be made from it). */
bool build_image_has_layers(build_job *j, const dispatch_state *st);

/* build_cache.c */
bool build_cache_lookup(struct engine *e, const char *parent, const char *key, const char *arch,
                        char out[DIGEST_STR_SIZE]);
void build_cache_record(struct engine *e, const char *image_id, const char *parent,
                        const char *key);
void build_cache_used(struct engine *e, const char *image_id);

#endif
