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

/* containers.c */
void api_containers_create(api_req *req);
void api_containers_list(api_req *req);
void api_container_inspect(api_req *req);
void api_container_start(api_req *req);
void api_container_stop(api_req *req);
void api_container_restart(api_req *req);
void api_container_kill(api_req *req);
void api_container_pause(api_req *req);
void api_container_unpause(api_req *req);
void api_container_delete(api_req *req);
void api_container_rename(api_req *req);
void api_container_update(api_req *req);
void api_containers_prune(api_req *req);
void api_container_wait(api_req *req);
void api_container_top(api_req *req);
void api_container_changes(api_req *req);
void api_container_logs(api_req *req);
void api_container_export(api_req *req);
void api_container_archive_head(api_req *req);
void api_container_archive_get(api_req *req);
void api_container_archive_put(api_req *req);
void api_container_stats(api_req *req);
void api_commit(api_req *req);
/* attach.c */
void api_container_attach(api_req *req);
void api_container_attach_ws(api_req *req);
void api_container_resize(api_req *req);
/* build.c */
void api_build(api_req *req);
void api_build_prune(api_req *req);
void api_build_cancel(api_req *req);
void api_session(api_req *req);
/* exec.c */
void api_exec_create(api_req *req);
void api_exec_start(api_req *req);
void api_exec_resize(api_req *req);
void api_exec_inspect(api_req *req);
/* networks.c */
void api_networks_list(api_req *req);
void api_network_inspect(api_req *req);
void api_network_create(api_req *req);
void api_network_connect(api_req *req);
void api_network_disconnect(api_req *req);
void api_network_delete(api_req *req);
void api_networks_prune(api_req *req);
/* volumes.c */
void api_volumes_list(api_req *req);
void api_volume_create(api_req *req);
void api_volume_inspect(api_req *req);
void api_volume_update(api_req *req);
void api_volume_delete(api_req *req);
void api_volumes_prune(api_req *req);

#endif
