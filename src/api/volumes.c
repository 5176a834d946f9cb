/* Volume endpoints: list, create, inspect, update (a non-swarm dockerd's answer), remove,
 * prune. */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "common/cleanup.h"
#include "engine/engine.h"
#include "engine/volumes.h"

void api_volumes_list(api_req *req) {
  arca_err err;
  json_t *out = NULL;
  int rc = volumes_list_json(api_engine(req), api_query(req, "filters"), &out, &err);
  api_reply_result(req, rc, &err, 200, out);
}

void api_volume_create(api_req *req) {
  arca_err err;
  json_t *body = NULL, *out = NULL;
  int rc = api_body_json(req, &body, &err);
  if (rc == 0 && !body) body = json_object();
  if (rc == 0) rc = volume_create(api_engine(req), body, &out, &err);
  json_decref(body);
  api_reply_result(req, rc, &err, 201, out);
}

void api_volume_inspect(api_req *req) {
  arca_err err;
  json_t *out = NULL;
  int rc = volume_inspect_json(api_engine(req), api_param(req, "name"), &out, &err);
  api_reply_result(req, rc, &err, 200, out);
}

void api_volume_update(api_req *req) {
  api_reply_errorf(req, 503, "volume update only valid for cluster volumes, but swarm is unavailable");
}

void api_volume_delete(api_req *req) {
  arca_err err;
  int rc = volume_remove(api_engine(req), api_param(req, "name"), api_query_bool(req, "force", false), &err);
  api_reply_result(req, rc, &err, 204, NULL);
}

void api_volumes_prune(api_req *req) {
  arca_err err;
  json_t *out = NULL;
  int rc = volumes_prune(api_engine(req), api_query(req, "filters"), api_version_minor(req), &out, &err);
  api_reply_result(req, rc, &err, 200, out);
}
