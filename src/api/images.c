/* Image endpoints: list, inspect, history, tag, delete, prune (pull, push, save, load and
 * import are in images_io.c). */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "common/cleanup.h"
#include "engine/engine.h"

void api_images_list(api_req *req) {
  arca_err err;
  json_t *out = NULL;
  const char *f = api_query(req, "filters");
  /* API < 1.41: "filter" is a reference pattern */
  autofree char *legacy = NULL;
  const char *filter = api_query(req, "filter");
  if (filter && *filter && api_version_less_than(req, 1, 41) && (!f || !*f)) {
    json_t *j = json_pack("{s:{s:b}}", "reference", filter, 1);
    legacy = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    f = legacy;
  }
  bool shared = api_version_at_least(req, 1, 42) && api_query_bool(req, "shared-size", false);
  if (images_list_json(api_engine(req), api_query_bool(req, "all", false), api_query_bool(req, "digests", false),
                       shared, f, api_version_minor(req), &out, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 200, out);
}

void api_image_inspect(api_req *req) {
  arca_err err;
  char id[DIGEST_STR_SIZE];
  if (image_resolve(api_engine(req), api_param(req, "name"), id, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  json_t *doc = image_inspect_json(api_engine(req), id, api_version_minor(req));
  if (!doc) {
    api_reply_errorf(req, 404, "No such image: %s", api_param(req, "name"));
    return;
  }
  api_reply_json(req, 200, doc);
}

void api_image_history(api_req *req) {
  arca_err err;
  json_t *out;
  if (image_history_json(api_engine(req), api_param(req, "name"), &out, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 200, out);
}

void api_image_tag(api_req *req) {
  arca_err err;
  if (image_tag(api_engine(req), api_param(req, "name"), api_query(req, "repo"), api_query(req, "tag"), &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_empty(req, 201);
}

void api_image_delete(api_req *req) {
  arca_err err;
  json_t *out;
  if (image_delete(api_engine(req), api_param(req, "name"), api_query_bool(req, "force", false),
                   api_query_bool(req, "noprune", false), &out, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 200, out);
}

void api_images_prune(api_req *req) {
  arca_err err;
  json_t *out;
  if (images_prune(api_engine(req), api_query(req, "filters"), &out, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 200, out);
}
