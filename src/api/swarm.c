/* Swarm, nodes, services, tasks, secrets, configs: Arca is never a swarm member, so these
 * answer what a dockerd that is not part of a swarm answers (503 and its text). Plugins:
 * Arca has none; the list is empty and every named plugin is unknown. */
#include <string.h>

#include "api/routes.h"

#define NO_MANAGER                                                                            \
  "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to " \
  "connect this node to swarm and try again."

void api_swarm_inactive(api_req *req) {
  const char *path = api_path(req);
  /* dockerd decodes the request before it asks the cluster: bad JSON is a 400 first */
  json_t *body = NULL;
  arca_err err;
  if (api_body_json(req, &body, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  json_decref(body);
  if (!strcmp(path, "/swarm/leave")) {
    api_reply_errorf(req, 503, "This node is not part of a swarm");
    return;
  }
  if (!strcmp(path, "/swarm/init") || !strcmp(path, "/swarm/join")) {
    api_reply_errorf(req, 503, "Arca does not support swarm mode: this node cannot %s a swarm",
                     !strcmp(path, "/swarm/init") ? "initialize" : "join");
    return;
  }
  api_reply_errorf(req, 503, NO_MANAGER);
}

void api_swarm_inspect(api_req *req) { api_reply_errorf(req, 503, NO_MANAGER); }
void api_swarm_unlock_key(api_req *req) { api_reply_errorf(req, 503, NO_MANAGER); }

void api_plugins_list(api_req *req) { api_reply_json(req, 200, json_array()); }

void api_plugin_not_found(api_req *req) {
  api_reply_errorf(req, 404, "plugin \"%s\" not found", api_param(req, "name"));
}

void api_plugin_privileges(api_req *req) {
  api_reply_errorf(req, 501, "Arca does not support managed plugins");
}
void api_plugin_install(api_req *req) {
  api_reply_errorf(req, 501, "Arca does not support managed plugins");
}
void api_plugin_create(api_req *req) {
  api_reply_errorf(req, 501, "Arca does not support managed plugins");
}
