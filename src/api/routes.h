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

/* images.c */
void api_images_list(api_req *req);
void api_image_inspect(api_req *req);
void api_image_history(api_req *req);
void api_image_tag(api_req *req);
void api_image_delete(api_req *req);
void api_images_prune(api_req *req);
/* images_io.c */
void api_images_create(api_req *req);
void api_image_push(api_req *req);
void api_image_get(api_req *req);
void api_images_get(api_req *req);
void api_images_load(api_req *req);
void api_images_search(api_req *req);
void api_distribution_inspect(api_req *req);
void api_auth(api_req *req);

#endif
