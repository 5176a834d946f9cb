/* Network endpoints: list, inspect, create, connect, disconnect, remove, prune. */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "common/cleanup.h"
#include "engine/engine.h"
#include "engine/networks.h"

void api_networks_list(api_req *req) {
  arca_err err;
  json_t *out = NULL;
  int rc = networks_list_json(api_engine(req), api_query(req, "filters"), &out, &err);
  api_reply_result(req, rc, &err, 200, out);
}

void api_network_inspect(api_req *req) {
  arca_err err;
  json_t *out = NULL;
  const char *scope = api_query(req, "scope");
  int rc;
  if (scope && *scope && strcmp(scope, "local"))
    rc = err_set(&err, 404, "network %s not found", api_param(req, "id"));
  else
    rc = network_inspect_json(api_engine(req), api_param(req, "id"), &out, &err);
  api_reply_result(req, rc, &err, 200, out);
}

void api_network_create(api_req *req) {
  arca_err err;
  json_t *body = NULL, *out = NULL;
  int rc = api_body_json(req, &body, &err);
  if (rc == 0) rc = network_create(api_engine(req), body, api_version_minor(req), &out, &err);
  json_decref(body);
  api_reply_result(req, rc, &err, 201, out);
}

void api_network_connect(api_req *req) {
  arca_err err;
  json_t *body = NULL;
  int rc = api_body_json(req, &body, &err);
  if (rc == 0) rc = network_connect(api_engine(req), api_param(req, "id"), body, &err);
  json_decref(body);
  api_reply_result(req, rc, &err, 200, NULL);
}

void api_network_disconnect(api_req *req) {
  arca_err err;
  json_t *body = NULL;
  int rc = api_body_json(req, &body, &err);
  if (rc == 0) rc = network_disconnect(api_engine(req), api_param(req, "id"), body, &err);
  json_decref(body);
  api_reply_result(req, rc, &err, 200, NULL);
}

void api_network_delete(api_req *req) {
  arca_err err;
  int rc = network_remove(api_engine(req), api_param(req, "id"), &err);
  api_reply_result(req, rc, &err, 204, NULL);
}

void api_networks_prune(api_req *req) {
  arca_err err;
  json_t *out = NULL;
  int rc = networks_prune(api_engine(req), api_query(req, "filters"), &out, &err);
  api_reply_result(req, rc, &err, 200, out);
}
