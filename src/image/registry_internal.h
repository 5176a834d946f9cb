/* Inside the registry client: the client's state, one HTTP exchange, and the pieces the
 * registry_*.c files share. Not for use outside src/image/registry*.c. */
#ifndef ARCA_IMAGE_REGISTRY_INTERNAL_H
#define ARCA_IMAGE_REGISTRY_INTERNAL_H

#include "common/lazy_curl.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"
#include "image/digest.h"
#include "image/registry.h"

typedef struct reg_token {
  char *scope_key; /* the scopes joined by ' ' */
  char *token;
  int64_t expires_ns; /* monotonic */
} reg_token;

struct registry_client {
  registry_endpoint ep;
  registry_auth auth;
  char *user_agent;
  registry_tuning tune;
  bool login_mode; /* token requests ask for a refresh token (offline_token, client_id) */

  CURLSH *share;
  pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

  pthread_mutex_t lock; /* guards everything below */
  bool pinged;
  registry_challenge *challenges;
  size_t nchallenges;
  reg_token *tokens;
  size_t ntokens;
  char *refresh_token; /* the last refresh_token a token server gave (login) */
};

/* Where the body of a 2xx answer goes when it is not kept in memory. */
typedef struct reg_sink {
  int fd;
  digest_ctx dg;
  int64_t written;  /* bytes in fd, all hashed */
  int64_t expected; /* < 0: unknown */
  int64_t total;    /* for progress, -1 unknown */
  bool accepted;    /* this attempt's answer was judged (200/206) and writes go to fd */
  bool too_big;
  bool range_bad;   /* a 206 that does not continue where the file ends */
  int write_errno;
  void (*progress_cb)(void *ctx, int64_t done, int64_t total);
  void *ctx;
} reg_sink;

typedef struct reg_request {
  const char *method; /* "GET" "HEAD" "PUT" "PATCH" "POST" "DELETE" */
  const char *url;
  const char *scope;  /* token scopes, ' '-separated; NULL: "" (registry-wide, as login) */
  bool no_auth;       /* ping and token requests */
  struct curl_slist *headers; /* extra headers, owned by the caller */
  /* body: memory, or a range of an fd (read with pread) */
  const void *body;
  size_t body_len;
  int body_fd;        /* -1 when none */
  int64_t body_off, body_size;
  bool has_body;
  void (*upload_cb)(void *ctx, int64_t done, int64_t total);
  void *upload_ctx;
  int64_t upload_base, upload_total; /* progress reported as base + sent of total */
  /* answer */
  size_t max_body;    /* bytes of body kept in memory (default 64 KiB) */
  reg_sink *sink;     /* 2xx bodies streamed here instead */
  int cancel_fd;      /* -1 when none */
  long total_timeout_ms;
} reg_request;

typedef struct reg_response {
  long status;
  strbuf body;
  bool body_truncated;
  char *content_type, *docker_digest, *location, *link, *content_range, *range;
  int64_t content_length; /* -1 when absent */
  char **www_auth;
  size_t nwww_auth;
  /* transport failure */
  CURLcode curl_code;
  bool cancelled;
} reg_response;

void reg_response_init(reg_response *rs);
void reg_response_free(reg_response *rs);
void reg_request_init(reg_request *rq, const char *method, const char *url);

/* One exchange without authentication logic. 0 with rs->status for any HTTP answer; -1 on a
 * transport failure, err = `<Method> "<url>": <cause>` (500), rs->curl_code set. */
int reg_perform(registry_client *c, const reg_request *rq, reg_response *rs, arca_err *err);
/* One exchange as an authorised client: pings when needed, adds Authorization, and sends
 * again once after a 401 that brings a challenge not yet answered. Auth failures come
 * back like transport ones (-1), wrapped the same way as Go's url.Error; *unauthorized
 * (may be NULL) is set when the cause was an UNAUTHORIZED answer of a token server. */
int reg_send(registry_client *c, const reg_request *rq, reg_response *rs, bool *unauthorized,
             arca_err *err);

/* docker/distribution's HandleErrorResponse: the first error of the answer, as text
 * "<code>: <message>" in out. Returns the code's identifier ("MANIFEST_UNKNOWN", "DENIED",
 * "UNAUTHORIZED", "UNKNOWN") or NULL when the answer is not an error code at all (an
 * unexpected status, with out = "received unexpected HTTP status: 500 Internal Server
 * Error", or a body that is no error list). *bare (may be NULL): the error had neither
 * detail nor a message of its own, so distribution keeps a bare ErrorCode whose text is
 * the code alone ("manifest unknown") and which moby's pull does not classify. */
const char *reg_error_text(const reg_response *rs, char *out, size_t n, bool *bare);
/* Fills err from an error answer with a status chosen by its code (401 UNAUTHORIZED, 403
 * DENIED, 404 *_UNKNOWN, 500 otherwise). Returns -1. */
int reg_fail_response(const reg_response *rs, arca_err *err);

/* Go's net/http names for a method in url.Error: "Get", "Head", "Put" ... */
const char *reg_go_method(const char *method);
const char *reg_status_text(long status);
/* "<base_url><fmt...>" */
char *reg_url(const registry_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Percent-encodes s as Go's url.QueryEscape. Caller frees. */
char *reg_query_escape(const char *s);
/* Resolves ref (absolute or relative) against base. Caller frees; NULL on bad input. */
char *reg_resolve_url(const char *base, const char *ref);

/* registry_auth.c: the Authorization value for a request to the client's endpoint, or NULL
 * for none. Errors as reg_send's (not yet wrapped with the request URL). */
int reg_authorization(registry_client *c, const char *scope, char **header, bool *unauthorized,
                      arca_err *err);
/* "Basic <base64 user:pass>". Caller frees (and should wipe). */
char *reg_basic_auth(const char *user, const char *pass);
/* Drops the cached token for scope (after invalid_token). */
void reg_forget_token(registry_client *c, const char *scope);
/* Replaces the challenges (a 401 that carried new ones). c->lock must NOT be held. */
void reg_set_challenges(registry_client *c, const reg_response *rs);
int reg_ping_locked(registry_client *c, arca_err *err);

bool reg_is_transient_curl(CURLcode code);
void reg_sleep_ms(int ms);

#endif
