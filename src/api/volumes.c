/* Volume endpoints: list, create, inspect, update (a non-swarm dockerd's answer), remove,
 * prune. */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "common/cleanup.h"
#include "engine/engine.h"
#include "engine/volumes.h"

static int minor(api_req *req) {
  const char *v = api_version_string(req);
  const char *dot = strchr(v, '.');
  return dot ? atoi(dot + 1) : 51;
}

static void reply(api_req *req, int rc, const arca_err *err, int status, json_t *out) {
  if (rc < 0) api_reply_error(req, err);
  else if (out) api_reply_json(req, status, out);
  else api_reply_empty(req, status);
}

void api_volumes_list(api_req *req) {
  arca_err err;
  json_t *out = NULL;
  int rc = volumes_list_json(api_engine(req), api_query(req, "filters"), &out, &err);
  reply(req, rc, &err, 200, out);
}

void api_volume_create(api_req *req) {
  arca_err err;
  json_t *body = NULL, *out = NULL;
  int rc = api_body_json(req, &body, &err);
  if (rc == 0 && !body) body = json_object();
  if (rc == 0) rc = volume_create(api_engine(req), body, &out, &err);
  json_decref(body);
  reply(req, rc, &err, 201, out);
}

void api_volume_inspect(api_req *req) {
  arca_err err;
  json_t *out = NULL;
  int rc = volume_inspect_json(api_engine(req), api_param(req, "name"), &out, &err);
  reply(req, rc, &err, 200, out);
}

void api_volume_update(api_req *req) {
  api_reply_errorf(req, 503, "volume update only valid for cluster volumes, but swarm is unavailable");
}

void api_volume_delete(api_req *req) {
  arca_err err;
  int rc = volume_remove(api_engine(req), api_param(req, "name"), api_query_bool(req, "force", false), &err);
  reply(req, rc, &err, 204, NULL);
}

void api_volumes_prune(api_req *req) {
  arca_err err;
  json_t *out = NULL;
  int rc = volumes_prune(api_engine(req), api_query(req, "filters"), minor(req), &out, &err);
  reply(req, rc, &err, 200, out);
}
