/* Registry client: the distribution API v2 (and the v1 search of an index) over libcurl,
 * with Docker's endpoint choice, authentication and error texts.
 *
 * Flow, as dockerd does it: registry_endpoints() lists where a domain can be reached
 * (mirrors first for docker.io; https then plain http for insecure registries),
 * registry_client_open() pings them in that order and keeps the first that speaks HTTP,
 * and the calls below then work on that endpoint. Falling back to the next endpoint after
 * a later failure (a mirror that lacks an image) is the caller's choice.
 *
 * Authentication: the ping (GET /v2/) tells which challenge the registry wants.
 *   - none: anonymous requests.
 *   - Basic: username and password on every request; without them a request fails with
 *     "no basic auth credentials", as in Docker.
 *   - Bearer realm=,service=: a token from the realm for the request's scopes
 *     ("repository:<repo>:pull" or "...:pull,push", plus "repository:<from>:pull" for a
 *     cross-repository mount), fetched with GET and Basic credentials when a username and
 *     password are given, or POSTed with grant_type=refresh_token when an identity token
 *     is. "token" or "access_token" of the answer is used and cached per scope set until
 *     expires_in (at least 60 s) has passed. A registry token (X-Registry-Auth
 *     "registrytoken") is sent as the bearer token directly.
 *   A request answered 401 with a challenge the client did not use yet, or with
 *   error="invalid_token", is authorised afresh and sent once more.
 *
 * Errors carry Docker's texts (moby daemon/internal/distribution/errors.go and
 * docker/distribution registry/client/errors.go): a registry error body becomes
 * "<code in lower case>: <message>" ("manifest unknown: manifest unknown"); a transport
 * failure reads like Go's url.Error: `Get "<url>": <cause>`.
 *
 * Threads: a client may be used by several threads at once. client->lock guards the ping
 * result (challenges) and the token cache; it is held while a token is fetched so that
 * concurrent requests for one scope fetch it once. Connections are shared between the
 * threads through a curl share handle with its own locks. Tuning must be set before the
 * client is shared. Everything else here is stateless. Never are credentials or tokens
 * logged. */
#ifndef ARCA_IMAGE_REGISTRY_H
#define ARCA_IMAGE_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define REGISTRY_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REGISTRY_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define REGISTRY_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REGISTRY_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define REGISTRY_MT_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define REGISTRY_MT_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

#define REGISTRY_HUB_DOMAIN "docker.io"
#define REGISTRY_HUB_INDEX_HOST "index.docker.io"
#define REGISTRY_HUB_URL "https://registry-1.docker.io"
#define REGISTRY_HUB_INDEX_URL "https://index.docker.io"
#define REGISTRY_MANIFEST_MAX (4 << 20) /* largest manifest accepted, as containerd */

/* ---- Credentials ---------------------------------------------------------------------- */

typedef struct registry_auth { /* any field may be NULL; all owned */
  char *username, *password, *identity_token, *registry_token, *server_address;
} registry_auth;

/* X-Registry-Auth: base64url (std base64 accepted too, padding optional) of a JSON object
 * {username, password, auth, serveraddress, identitytoken, registrytoken, email}, keys
 * matched without regard to case as Go's decoder does; "auth" (base64 "user:pass") fills
 * username and password when those are absent. NULL, "", "{}" and "null" mean no
 * credentials. Errors (400), moby api/pkg/authconfig:
 *   "invalid X-Registry-Auth header: must be a valid base64url-encoded string"
 *   "invalid X-Registry-Auth header: invalid JSON: <cause>"
 *   "invalid X-Registry-Auth header: multiple JSON documents not allowed" */
int registry_auth_decode(const char *header, registry_auth *out, arca_err *err);
/* The JSON body of POST /auth (same object, same errors). */
int registry_auth_from_json(const char *json, size_t len, registry_auth *out, arca_err *err);
void registry_auth_free(registry_auth *a);
void registry_auth_copy(registry_auth *dst, const registry_auth *src);
bool registry_auth_is_empty(const registry_auth *a);
/* The registry host a login names: "" or NULL → "index.docker.io"; "https://h:5000/v1/" →
 * "h:5000"; "h:5000" → "h:5000". Caller frees. 400 "unable to parse server address: ..." */
char *registry_login_host(const char *server_address, arca_err *err);

/* ---- Endpoints ------------------------------------------------------------------------ */

typedef struct registry_endpoint {
  char *domain;   /* the registry the image names: "127.0.0.1:5000", "docker.io" */
  char *base_url; /* "http://127.0.0.1:5000", "https://registry-1.docker.io", a mirror URL */
  bool insecure;  /* TLS certificates not verified (http needs no verification) */
  bool mirror;    /* a docker.io mirror: failures there may fall back to the next endpoint */
} registry_endpoint;

/* Docker's lookupV2Endpoints. docker.io (or index.docker.io): each mirror (https:// added
 * when it has no scheme; insecure when its host is), then https://registry-1.docker.io.
 * Any other domain: https://<domain>, then http://<domain> when the domain is insecure
 * (the https endpoint then skips verification). mirrors may be NULL when none; pass none
 * for push and login. */
int registry_endpoints(const char *domain, const char *const *insecure, size_t ninsecure,
                       const char *const *mirrors, size_t nmirrors, registry_endpoint **out,
                       size_t *n, arca_err *err);
void registry_endpoints_free(registry_endpoint *eps, size_t n);
/* isSecureIndex negated: the host ("h:port" or "h") is listed as is (a scheme in the entry
 * is ignored), or one of its addresses (resolved when it is a name) lies in a listed CIDR,
 * 127.0.0.0/8 or ::1/128. docker.io is never insecure. */
bool registry_is_insecure(const char *host, const char *const *insecure, size_t ninsecure);

/* ---- Client --------------------------------------------------------------------------- */

typedef struct registry_client registry_client;

typedef struct registry_tuning {
  int max_attempts;       /* tries per blob download or upload (default 5, as Docker) */
  int retry_delay_ms;     /* wait before try n+1 is n times this (default 5000, as Docker) */
  int64_t chunk_size;     /* larger uploads go in PATCH chunks of this size (16 MiB) */
  int connect_timeout_ms; /* default 15000 */
  int stall_timeout_ms;   /* a transfer that moves no byte this long fails (60000) */
  /* Told before each retry of a download/upload, with the ctx of that call. */
  void (*on_retry)(void *ctx, int attempt, int delay_seconds);
} registry_tuning;

/* Defaults as above; ARCA_REGISTRY_CHUNK_SIZE (bytes) in the environment overrides the chunk
 * size (tests use it to force chunked uploads). Downloads and uploads retry by themselves:
 * callers must not add a retry loop of their own around them. */
int registry_client_new(const registry_endpoint *ep, const registry_auth *auth,
                        const char *user_agent, registry_client **out, arca_err *err);
/* registry_client_new() + ping for each endpoint in order; the first whose ping gets any
 * HTTP answer wins. Otherwise the last endpoint's error (500), as Docker reports it. */
int registry_client_open(const registry_endpoint *eps, size_t n, const registry_auth *auth,
                         const char *user_agent, registry_client **out, arca_err *err);
void registry_client_free(registry_client *c);
/* Fields <= 0 (retry_delay_ms < 0) keep their current value; on_retry is always taken. */
void registry_client_tune(registry_client *c, const registry_tuning *t);
const registry_endpoint *registry_client_endpoint(const registry_client *c);
/* GET /v2/ and remember its challenges; later calls ping once on their own when needed. */
int registry_client_ping(registry_client *c, arca_err *err);

/* ---- Pull ----------------------------------------------------------------------------- */

/* GET /v2/<repo>/manifests/<reference> accepting OCI and Docker v2 manifests and indexes.
 * *media_type: the Content-Type when it names one of those, else detected from the body as
 * moby's detectManifestBlobMediaType does. digest_out: the sha256 of the body. By tag, a
 * Docker-Content-Digest (sha256) must equal it; by digest, the body must hash to the
 * reference. Errors:
 *   400 schema1: "Docker Image Format v1 and Docker Image manifest version 2, schema 1
 *       support has been removed. Suggest the author of <domain/repo:ref> to upgrade ..."
 *   404 "manifest for <familiar ref> not found: manifest unknown: manifest unknown"
 *       "repository <familiar name> not found: name unknown: ..."
 *       "pull access denied for <familiar name>, repository does not exist or may require
 *        'docker login': denied: requested access to the resource is denied"
 *   401 "unauthorized: authentication required" (an UNAUTHORIZED answer)
 *   500 "manifest verification failed for digest <d>", transport errors, anything else */
int registry_get_manifest(registry_client *c, const char *repo, const char *reference,
                          char **body, size_t *len, char **media_type, char digest_out[72],
                          arca_err *err);
/* HEAD of the same (GET /distribution/{name}/json); falls back to GET when the answer lacks
 * Docker-Content-Digest or is an error (for its text). *size: Content-Length. Any output
 * pointer may be NULL. */
int registry_head_manifest(registry_client *c, const char *repo, const char *reference,
                           char **media_type, char digest_out[72], int64_t *size,
                           arca_err *err);
/* GET /v2/<repo>/blobs/<digest> (redirects followed), written to out_fd (a regular file,
 * empty, at offset 0) as it arrives and hashed on the way. expected_size < 0: unknown; a
 * blob that grows past it is refused. progress_cb (may be NULL) runs on the calling thread
 * for every piece received: (ctx, bytes so far, total or -1). Transient failures (transport
 * errors, 5xx) are retried up to max_attempts, resuming with Range when the server answers
 * 206, else restarting (out_fd truncated). cancel_fd >= 0: the download stops with "context
 * canceled" once it is readable. A digest mismatch fails with "filesystem layer
 * verification failed for digest <d>" (retried only after a resumed download, as Docker);
 * the caller then discards the file. */
int registry_fetch_blob(registry_client *c, const char *repo, const char *digest,
                        int64_t expected_size, int out_fd,
                        void (*progress_cb)(void *ctx, int64_t done, int64_t total), void *ctx,
                        int cancel_fd, arca_err *err);
/* GET /v2/<repo>/tags/list, following Link rel="next" pages. */
int registry_list_tags(registry_client *c, const char *repo, char ***tags, size_t *n,
                       arca_err *err);
void registry_tags_free(char **tags, size_t n);

/* ---- Push ----------------------------------------------------------------------------- */

/* HEAD /v2/<repo>/blobs/<digest>: 200 → exists (with *size, may be NULL), 404 → not. */
int registry_blob_exists(registry_client *c, const char *repo, const char *digest,
                         bool *exists, int64_t *size, arca_err *err);
/* POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<from_repo>: 201 → *mounted; 202 (the
 * registry opened an upload instead) → that upload is cancelled and *mounted is false. */
int registry_mount_blob(registry_client *c, const char *repo, const char *from_repo,
                        const char *digest, bool *mounted, arca_err *err);
/* Uploads size bytes of fd (read with pread from offset 0; fd is not moved): one PUT
 * ?digest= when size <= chunk_size, else PATCH chunks with Content-Range and a final PUT.
 * progress_cb as bytes go out. Transient failures (transport, 5xx) and sessions the registry
 * calls broken (416, BLOB_UPLOAD_INVALID/UNKNOWN, RANGE_INVALID: curl resends a request
 * once by itself when a reused connection dies unanswered) restart the upload with a new
 * session, up to max_attempts. */
int registry_upload_blob(registry_client *c, const char *repo, int fd, int64_t size,
                         const char *digest,
                         void (*progress_cb)(void *ctx, int64_t done, int64_t total),
                         void *ctx, arca_err *err);
/* PUT /v2/<repo>/manifests/<tag_or_digest>; digest_out (may be NULL): sha256 of body, which
 * a Docker-Content-Digest in the answer must match. */
int registry_put_manifest(registry_client *c, const char *repo, const char *tag_or_digest,
                          const char *media_type, const char *body, size_t len,
                          char digest_out[72], arca_err *err);

/* ---- Login and search ------------------------------------------------------------------ */

/* POST /auth as dockerd's loginV2 over eps (from registry_endpoints without mirrors): ping,
 * answer the challenge with auth's credentials (token requested with offline_token=true
 * and client_id=docker), then GET /v2/ with them. 0 on "Login Succeeded";
 * *identity_token: the refresh_token the token server gave, else NULL. Errors:
 *   401 `Get "<url>/v2/": unauthorized: <token server's message>` (stops at once)
 *   500 "login attempt to <url>/v2/ failed with status: 401 Unauthorized" (Basic
 *       registries), or the last endpoint's transport error. */
int registry_login(const registry_endpoint *eps, size_t n, const registry_auth *auth,
                   const char *user_agent, char **identity_token, arca_err *err);
/* GET /images/search: term "[index/]name" (index as the first component of a reference;
 * docker.io's index is https://index.docker.io), limit 0 → 25, else 1..100 (400 "limit %d
 * is outside the range of [1, 100]"). Other indexes are pinged at /v1/_ping, https then
 * http when insecure. *results: the "results" array of the answer. Errors as moby's
 * search.go: "unexpected status code <n>" (500), transport errors (500), "invalid registry
 * endpoint ..." (400). */
int registry_search(const char *term, int limit, const registry_auth *auth,
                    const char *const *insecure, size_t ninsecure, const char *user_agent,
                    json_t **results, arca_err *err);

/* ---- Parsers (pure; exposed for tests) --------------------------------------------------- */

typedef struct registry_challenge {
  char *scheme; /* lower case: "bearer", "basic" */
  size_t nparams;
  char **keys;  /* lower case */
  char **values;
} registry_challenge;

/* Parses WWW-Authenticate header values (each may hold several challenges; quoted values
 * with escapes and commas). Malformed parts end that header's parse. Returns the count. */
size_t registry_parse_challenges(const char *const *headers, size_t nheaders,
                                 registry_challenge **out);
void registry_challenges_free(registry_challenge *c, size_t n);
const char *registry_challenge_param(const registry_challenge *c, const char *key);
/* "repository:<repo>:pull" or "repository:<repo>:pull,push". Caller frees. */
char *registry_scope_repository(const char *repo, bool push);
/* The absolute URL of the rel="next" link in a Link header, resolved against base_url;
 * NULL when there is none. Caller frees. */
char *registry_link_next(const char *link, const char *base_url);
/* Lenient base64: standard or URL alphabet, padding optional. -1 on bad input. */
int registry_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len);

#endif
