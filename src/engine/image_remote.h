/* Registry lookups of the image API that store nothing. */
#ifndef ARCA_ENGINE_IMAGE_REMOTE_H
#define ARCA_ENGINE_IMAGE_REMOTE_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

struct engine;
struct registry_client;

/* A client for domain, with the daemon's insecure registries (and mirrors for docker.io
 * pulls), credentials from an X-Registry-Auth header. */
int image_registry_client(struct engine *e, const char *domain, bool with_mirrors, const char *auth_header,
                          struct registry_client **out, arca_err *err);
/* GET /distribution/{name}/json */
int image_distribution_inspect(struct engine *e, const char *name, const char *auth_header, json_t **out,
                               arca_err *err);
/* GET /images/search */
int image_search(struct engine *e, const char *term, int limit, const char *filters_json, const char *auth_header,
                 json_t **out, arca_err *err);
/* POST /auth: {"Status": "Login Succeeded", "IdentityToken"?} */
int image_login(struct engine *e, const char *body, size_t len, json_t **out, arca_err *err);

#endif
