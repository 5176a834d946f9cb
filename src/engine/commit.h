/* docker commit (see commit.c). */
#ifndef ARCA_ENGINE_COMMIT_H
#define ARCA_ENGINE_COMMIT_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

struct engine;
int container_commit(struct engine *e, const char *name, const char *repo, const char *tag, const char *comment,
                     const char *author, bool pause, const char *const *changes, size_t nchanges,
                     const json_t *config_override, char id_out[72], arca_err *err);

#endif
