/* Metadata instructions applied to an image config: what the classic builder does for CMD,
 * ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL, HEALTHCHECK,
 * SHELL and MAINTAINER, and what import and commit do with their `changes`. */
#ifndef ARCA_BUILDER_CONFIG_APPLY_H
#define ARCA_BUILDER_CONFIG_APPLY_H

#include <jansson.h>
#include <stdbool.h>

#include "builder/dockerfile.h"
#include "common/err.h"

typedef struct config_apply_state {
  char escape;                  /* the Dockerfile's escape character */
  const char *const *build_env; /* build args visible to expansion, "K=V" */
  size_t nbuild_env;
  bool cmd_set;                 /* a CMD was given in this stage: ENTRYPOINT keeps it */
} config_apply_state;

/* image_config: the whole image config; its "config" object is changed (created when
 * absent), MAINTAINER sets "author". Errors with the classic builder's texts (400). */
int config_apply_instruction(json_t *image_config, const df_instr *in, config_apply_state *st, arca_err *err);
/* True for the instructions `docker commit --change` and `docker import --change` accept. */
bool config_is_commit_change(const char *keyword);
/* Docker's signal names and numbers: "SIGTERM", "TERM", "15" → 15; -1 when unknown. */
int signal_parse(const char *s);
/* "80", "80/udp", "8000-8002/tcp" → the ExposedPorts keys; 400 on a bad port. */
int expose_ports(const char *spec, json_t *exposed, arca_err *err);

#endif
