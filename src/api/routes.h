/* Handlers of every API resource, one file each under src/api/, gathered by routes.c. */
#ifndef ARCA_API_ROUTES_H
#define ARCA_API_ROUTES_H

#include "api/http.h"

/* system.c */
void api_ping(api_req *req);
void api_version(api_req *req);
void api_info(api_req *req);
void api_events(api_req *req);
void api_system_df(api_req *req);
void api_options(api_req *req);
/* swarm.c: what a dockerd that is not a swarm member answers */
void api_swarm_inactive(api_req *req);
void api_swarm_inspect(api_req *req);
void api_swarm_unlock_key(api_req *req);
void api_plugins_list(api_req *req);
void api_plugin_privileges(api_req *req);
void api_plugin_not_found(api_req *req);
void api_plugin_install(api_req *req);
void api_plugin_create(api_req *req);

#endif
