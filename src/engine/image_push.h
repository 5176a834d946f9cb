/* docker push (see image_push.c). */
#ifndef ARCA_ENGINE_IMAGE_PUSH_H
#define ARCA_ENGINE_IMAGE_PUSH_H

#include "common/err.h"
#include "engine/image_pull.h"

struct engine;
typedef struct push_plan push_plan;

/* name: repository (with or without tag); tag: the query parameter (empty: every tag of the
 * repository, as dockerd). Fails before any output when nothing local matches (404) or the
 * registry cannot be reached. */
int image_push_prepare(struct engine *e, const char *name, const char *tag, const char *auth_header,
                       push_plan **out, arca_err *err);
int image_push_run(push_plan *p, img_emit_fn emit, void *ctx, arca_err *err);
void image_push_plan_free(push_plan *p);

#endif
