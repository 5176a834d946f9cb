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
