/* Shared between the container_config*.c files; not for other modules. */
#ifndef ARCA_ENGINE_CONTAINER_CONFIG_INTERNAL_H
#define ARCA_ENGINE_CONTAINER_CONFIG_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "builder/runes.h" /* go_quote: Go's %q */
#include "common/err.h"
#include "engine/container_config.h"

/* Go's encoding/json over dockerd's UpdateConfig (Resources + RestartPolicy). */
int container_update_decode(const json_t *body, json_t **out, arca_err *err);
/* Set by container_create_decode: whether Go would have allocated the embedded *Config
 * (some Config key was present, even with a null value). */
int container_create_decode_ex(const json_t *body, json_t **out, bool *config_seen,
                               arca_err *err);

/* Small accessors over decoded (canonical) objects: absent and null read as zero. */
const char *cc_str(const json_t *obj, const char *key);
int64_t cc_int(const json_t *obj, const char *key);
bool cc_bool(const json_t *obj, const char *key);
/* The array/object at key, NULL when absent, null or of another type. */
const json_t *cc_arr(const json_t *obj, const char *key);
const json_t *cc_obj(const json_t *obj, const char *key);
/* len() of a Go slice or map stored at key. */
size_t cc_len(const json_t *obj, const char *key);

/* Go's net.ParseIP (IPv4 dotted quad or IPv6, no zone); fills 16 bytes, sets *is4. */
bool go_parse_ip(const char *s, unsigned char out[16], bool *is4);
/* Go's strconv.ParseUint(s, 10, bits) / Atoi. */
bool go_parse_uint(const char *s, int bits, uint64_t *out);
bool go_atoi(const char *s, int64_t *out);
/* Go's strconv.ParseBool. */
bool go_parse_bool(const char *s, bool *out);

/* The resource checks shared by create and update (verifyPlatformContainerResources):
 * may discard settings the host lacks (with Docker's warning). */
int container_resources_verify(json_t *hc, const host_limits *h, bool update,
                               json_t *warnings, arca_err *err);
/* verifyContainerSettings on a HostConfig (create or update). */
int container_hostconfig_verify(json_t *hc, const host_limits *h, bool update,
                                json_t *warnings, arca_err *err);

/* go-connections/nat */
void nat_split_proto_port(const char *raw, char *proto, size_t proto_n, char *port,
                          size_t port_n);
bool nat_parse_port_range(const char *s, uint64_t *start, uint64_t *end);

void cc_warn(json_t *warnings, const char *text);
/* Sets key to a string / integer (replacing what was there). */
void cc_set_str(json_t *obj, const char *key, const char *value);
void cc_set_int(json_t *obj, const char *key, int64_t value);

/* Mounts (container_mounts.c) */
/* validateMountConfigImpl; check_source: stat the bind source (Mounts do, Binds do not). */
int mount_validate_impl(const json_t *m, bool check_source, arca_err *err);
/* ValidateTmpfsMountDestination */
int tmpfs_destination_validate(const char *dest, arca_err *err);
/* ParseVolumesFrom */
int volumes_from_validate(const char *spec, arca_err *err);
/* registerMountPoints' checks over Binds, VolumesFrom, Tmpfs and Mounts: parse errors and
 * "Duplicate mount point: /x"; daemon_root (may be NULL) for the propagation rule. */
int container_mounts_check(const json_t *hc, const char *daemon_root, arca_err *err);

/* Checks (container_config_checks.c), each as dockerd words it. */
int config_checks(json_t *cfg, arca_err *err);
int runconfig_checks(const json_t *cfg, const json_t *hc, bool cpu_shares_supported,
                     bool cpu_realtime_supported, arca_err *err);
int hostconfig_checks(json_t *hc, const host_limits *h, bool update, json_t *warnings,
                      arca_err *err);
int endpoints_checks(const json_t *nc, arca_err *err);
int log_config_checks(json_t *hc, const host_limits *h, arca_err *err);
int security_opt_checks(const json_t *hc, arca_err *err);
int ulimits_checks(const json_t *hc, arca_err *err);

#endif
