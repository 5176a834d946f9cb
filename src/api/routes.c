/* The route table: every endpoint Arca serves. scripts/gen-api-coverage.sh compares it
 * (through `arcad routes`) with the v1.51 specification to write docs/API_COVERAGE.md. */
#include "api/router.h"
#include "api/routes.h"
#include "common/util.h"

static const api_route routes[] = {
    /* system */
    {"GET", "/_ping", api_ping, API_BODY_NONE},
    {"HEAD", "/_ping", api_ping, API_BODY_NONE},
    {"GET", "/version", api_version, API_BODY_NONE},
    {"GET", "/info", api_info, API_BODY_NONE},
    {"GET", "/events", api_events, API_BODY_NONE},
    {"GET", "/system/df", api_system_df, API_BODY_NONE},

    /* containers */
    {"GET", "/containers/json", api_containers_list, API_BODY_NONE},
    {"POST", "/containers/create", api_containers_create, API_BODY_JSON},
    {"POST", "/containers/prune", api_containers_prune, API_BODY_NONE},
    {"GET", "/containers/{id}/json", api_container_inspect, API_BODY_NONE},
    {"GET", "/containers/{id}/top", api_container_top, API_BODY_NONE},
    {"GET", "/containers/{id}/logs", api_container_logs, API_BODY_NONE},
    {"GET", "/containers/{id}/changes", api_container_changes, API_BODY_NONE},
    {"GET", "/containers/{id}/export", api_container_export, API_BODY_NONE},
    {"GET", "/containers/{id}/stats", api_container_stats, API_BODY_NONE},
    {"POST", "/containers/{id}/resize", api_container_resize, API_BODY_NONE},
    {"POST", "/containers/{id}/start", api_container_start, API_BODY_NONE},
    {"POST", "/containers/{id}/stop", api_container_stop, API_BODY_NONE},
    {"POST", "/containers/{id}/restart", api_container_restart, API_BODY_NONE},
    {"POST", "/containers/{id}/kill", api_container_kill, API_BODY_NONE},
    {"POST", "/containers/{id}/update", api_container_update, API_BODY_JSON},
    {"POST", "/containers/{id}/rename", api_container_rename, API_BODY_NONE},
    {"POST", "/containers/{id}/pause", api_container_pause, API_BODY_NONE},
    {"POST", "/containers/{id}/unpause", api_container_unpause, API_BODY_NONE},
    {"POST", "/containers/{id}/attach", api_container_attach, API_BODY_NONE},
    {"GET", "/containers/{id}/attach/ws", api_container_attach_ws, API_BODY_NONE},
    {"POST", "/containers/{id}/wait", api_container_wait, API_BODY_NONE},
    {"DELETE", "/containers/{id}", api_container_delete, API_BODY_NONE},
    {"HEAD", "/containers/{id}/archive", api_container_archive_head, API_BODY_NONE},
    {"GET", "/containers/{id}/archive", api_container_archive_get, API_BODY_NONE},
    {"PUT", "/containers/{id}/archive", api_container_archive_put, API_BODY_STREAM},
    {"POST", "/containers/{id}/exec", api_exec_create, API_BODY_JSON},
    {"POST", "/exec/{id}/start", api_exec_start, API_BODY_JSON},
    {"POST", "/exec/{id}/resize", api_exec_resize, API_BODY_NONE},
    {"GET", "/exec/{id}/json", api_exec_inspect, API_BODY_NONE},
    {"POST", "/commit", api_commit, API_BODY_JSON},

    /* images */
    {"GET", "/images/json", api_images_list, API_BODY_NONE},
    {"POST", "/images/create", api_images_create, API_BODY_STREAM},
    {"POST", "/images/load", api_images_load, API_BODY_STREAM},
    {"GET", "/images/get", api_images_get, API_BODY_NONE},
    {"GET", "/images/search", api_images_search, API_BODY_NONE},
    {"GET", "/images/{name*}/get", api_image_get, API_BODY_NONE},
    {"POST", "/images/{name*}/push", api_image_push, API_BODY_NONE},
    {"GET", "/distribution/{name*}/json", api_distribution_inspect, API_BODY_NONE},
    {"POST", "/auth", api_auth, API_BODY_JSON},
    {"POST", "/images/prune", api_images_prune, API_BODY_NONE},
    {"GET", "/images/{name*}/json", api_image_inspect, API_BODY_NONE},
    {"GET", "/images/{name*}/history", api_image_history, API_BODY_NONE},
    {"POST", "/images/{name*}/tag", api_image_tag, API_BODY_NONE},
    {"DELETE", "/images/{name*}", api_image_delete, API_BODY_NONE},

    /* networks */
    {"GET", "/networks", api_networks_list, API_BODY_NONE},
    {"POST", "/networks/create", api_network_create, API_BODY_JSON},
    {"POST", "/networks/prune", api_networks_prune, API_BODY_NONE},
    {"GET", "/networks/{id}", api_network_inspect, API_BODY_NONE},
    {"DELETE", "/networks/{id}", api_network_delete, API_BODY_NONE},
    {"POST", "/networks/{id}/connect", api_network_connect, API_BODY_JSON},
    {"POST", "/networks/{id}/disconnect", api_network_disconnect, API_BODY_JSON},

    /* volumes */
    {"GET", "/volumes", api_volumes_list, API_BODY_NONE},
    {"POST", "/volumes/create", api_volume_create, API_BODY_JSON},
    {"POST", "/volumes/prune", api_volumes_prune, API_BODY_NONE},
    {"GET", "/volumes/{name}", api_volume_inspect, API_BODY_NONE},
    {"PUT", "/volumes/{name}", api_volume_update, API_BODY_JSON},
    {"DELETE", "/volumes/{name}", api_volume_delete, API_BODY_NONE},

    /* build (classic builder) */
    {"POST", "/build", api_build, API_BODY_STREAM},
    {"POST", "/build/prune", api_build_prune, API_BODY_NONE},
    {"POST", "/build/cancel", api_build_cancel, API_BODY_NONE},
    {"POST", "/session", api_session, API_BODY_NONE},

    /* swarm (never a member) */
    {"GET", "/swarm", api_swarm_inspect, API_BODY_NONE},
    {"POST", "/swarm/init", api_swarm_inactive, API_BODY_JSON},
    {"POST", "/swarm/join", api_swarm_inactive, API_BODY_JSON},
    {"POST", "/swarm/leave", api_swarm_inactive, API_BODY_NONE},
    {"POST", "/swarm/update", api_swarm_inactive, API_BODY_JSON},
    {"GET", "/swarm/unlockkey", api_swarm_unlock_key, API_BODY_NONE},
    {"POST", "/swarm/unlock", api_swarm_inactive, API_BODY_JSON},
    {"GET", "/nodes", api_swarm_inactive, API_BODY_NONE},
    {"GET", "/nodes/{id}", api_swarm_inactive, API_BODY_NONE},
    {"DELETE", "/nodes/{id}", api_swarm_inactive, API_BODY_NONE},
    {"POST", "/nodes/{id}/update", api_swarm_inactive, API_BODY_JSON},
    {"GET", "/services", api_swarm_inactive, API_BODY_NONE},
    {"POST", "/services/create", api_swarm_inactive, API_BODY_JSON},
    {"GET", "/services/{id}", api_swarm_inactive, API_BODY_NONE},
    {"DELETE", "/services/{id}", api_swarm_inactive, API_BODY_NONE},
    {"POST", "/services/{id}/update", api_swarm_inactive, API_BODY_JSON},
    {"GET", "/services/{id}/logs", api_swarm_inactive, API_BODY_NONE},
    {"GET", "/tasks", api_swarm_inactive, API_BODY_NONE},
    {"GET", "/tasks/{id}", api_swarm_inactive, API_BODY_NONE},
    {"GET", "/tasks/{id}/logs", api_swarm_inactive, API_BODY_NONE},
    {"GET", "/secrets", api_swarm_inactive, API_BODY_NONE},
    {"POST", "/secrets/create", api_swarm_inactive, API_BODY_JSON},
    {"GET", "/secrets/{id}", api_swarm_inactive, API_BODY_NONE},
    {"DELETE", "/secrets/{id}", api_swarm_inactive, API_BODY_NONE},
    {"POST", "/secrets/{id}/update", api_swarm_inactive, API_BODY_JSON},
    {"GET", "/configs", api_swarm_inactive, API_BODY_NONE},
    {"POST", "/configs/create", api_swarm_inactive, API_BODY_JSON},
    {"GET", "/configs/{id}", api_swarm_inactive, API_BODY_NONE},
    {"DELETE", "/configs/{id}", api_swarm_inactive, API_BODY_NONE},
    {"POST", "/configs/{id}/update", api_swarm_inactive, API_BODY_JSON},

    /* plugins (none) */
    {"GET", "/plugins", api_plugins_list, API_BODY_NONE},
    {"GET", "/plugins/privileges", api_plugin_privileges, API_BODY_NONE},
    {"POST", "/plugins/pull", api_plugin_install, API_BODY_JSON},
    {"POST", "/plugins/create", api_plugin_create, API_BODY_STREAM},
    {"GET", "/plugins/{name*}/json", api_plugin_not_found, API_BODY_NONE},
    {"DELETE", "/plugins/{name*}", api_plugin_not_found, API_BODY_NONE},
    {"POST", "/plugins/{name*}/enable", api_plugin_not_found, API_BODY_NONE},
    {"POST", "/plugins/{name*}/disable", api_plugin_not_found, API_BODY_NONE},
    {"POST", "/plugins/{name*}/upgrade", api_plugin_not_found, API_BODY_JSON},
    {"POST", "/plugins/{name*}/push", api_plugin_not_found, API_BODY_NONE},
    {"POST", "/plugins/{name*}/set", api_plugin_not_found, API_BODY_JSON},
};

const api_route *api_routes(size_t *n) {
  *n = ARRAY_LEN(routes);
  return routes;
}
