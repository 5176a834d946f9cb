/* Blobs: download with verification, retry and resume; existence checks, cross-repository
 * mounts, monolithic and chunked uploads; manifest upload. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "image/reference.h"
#include "image/registry_internal.h"

#define OCTET_STREAM "Content-Type: application/octet-stream"

/* Waits before the next try; false when cancel_fd became readable meanwhile. */
static bool backoff(registry_client *c, int attempt, int cancel_fd, void *ctx) {
  int delay_ms = attempt * c->tune.retry_delay_ms;
  if (c->tune.on_retry) c->tune.on_retry(ctx, attempt, (delay_ms + 999) / 1000);
  if (cancel_fd < 0) {
    reg_sleep_ms(delay_ms);
    return true;
  }
  int64_t until = monotonic_ns() + (int64_t)delay_ms * 1000000;
  for (;;) {
    int64_t left_ms = (until - monotonic_ns()) / 1000000;
    if (left_ms <= 0) return true;
    struct pollfd p = {.fd = cancel_fd, .events = POLLIN};
    int r = poll(&p, 1, (int)left_ms);
    if (r > 0) return false;
    if (r < 0 && errno != EINTR) return true;
  }
}

static int restart_sink(reg_sink *sk, arca_err *err) {
  if (ftruncate(sk->fd, 0) < 0 || lseek(sk->fd, 0, SEEK_SET) < 0)
    return err_errno(err, 500, errno, "truncating the download");
  digest_free(&sk->dg);
  digest_init(&sk->dg);
  sk->written = 0;
  return 0;
}

static void sink_cleanup(reg_sink *sk) { digest_free(&sk->dg); }

static bool transient_status(long status) { return status >= 500 || status == 408; }

int registry_fetch_blob(registry_client *c, const char *repo, const char *digest,
                        int64_t expected_size, int out_fd,
                        void (*progress_cb)(void *ctx, int64_t done, int64_t total), void *ctx,
                        int cancel_fd, arca_err *err) {
  if (!digest_is_sha256(digest)) {
    if (digest_validate(digest, err) < 0) return -1;
    return err_set(err, 400, "unsupported digest algorithm");
  }
  autofree char *url = reg_url(c, "/v2/%s/blobs/%s", repo, digest);
  autofree char *scope = registry_scope_repository(repo, false);
  __attribute__((cleanup(sink_cleanup))) reg_sink sk = {.fd = out_fd,
                                                        .expected = expected_size,
                                                        .total = expected_size,
                            .progress_cb = progress_cb, .ctx = ctx};
  digest_init(&sk.dg);
  for (int attempt = 1;; attempt++) {
    int64_t offset = sk.written;
    reg_request rq;
    reg_request_init(&rq, "GET", url);
    rq.scope = scope;
    rq.sink = &sk;
    rq.cancel_fd = cancel_fd;
    struct curl_slist *hdrs = NULL;
    if (offset > 0) {
      autofree char *range = xasprintf("Range: bytes=%lld-", (long long)offset);
      hdrs = curl_slist_append(hdrs, range);
    }
    rq.headers = hdrs;
    sk.accepted = sk.too_big = sk.range_bad = false;
    reg_response rs;
    reg_response_init(&rs);
    bool unauthorized = false;
    int rc = reg_send(c, &rq, &rs, &unauthorized, err);
    curl_slist_free_all(hdrs);
    bool retry = false;
    if (rc < 0) {
      if (rs.cancelled || sk.write_errno || unauthorized) {
        /* final */
      } else if (sk.too_big) {
        err_set(err, 500, "filesystem layer verification failed for digest %s", digest);
      } else if (sk.range_bad) {
        arca_err e2;
        retry = restart_sink(&sk, &e2) == 0;
      } else {
        retry = reg_is_transient_curl(rs.curl_code);
      }
    } else if (rs.status == 416 && offset > 0) {
      rc = err_set(err, 500, "%s", "range request was refused (416)");
      arca_err e2;
      retry = restart_sink(&sk, &e2) == 0;
    } else if (rs.status < 200 || rs.status >= 300) {
      rc = reg_fail_response(&rs, err);
      retry = transient_status(rs.status);
    } else {
      char got[DIGEST_STR_SIZE];
      digest_final(&sk.dg, got);
      digest_init(&sk.dg); /* so that a retry, or the cleanup, has a live context */
      if (!strcmp(got, digest)) {
        reg_response_free(&rs);
        return 0;
      }
      rc = err_set(err, 500, "filesystem layer verification failed for digest %s", digest);
      /* a resumed download may have stitched wrong pieces together: only then try again,
       * from the start, as Docker does */
      arca_err e2;
      retry = offset > 0 && restart_sink(&sk, &e2) == 0;
    }
    reg_response_free(&rs);
    if (!retry || attempt >= c->tune.max_attempts) return -1;
    if (!backoff(c, attempt, cancel_fd, ctx)) return err_set(err, 500, "context canceled");
  }
}

/* ---- push ------------------------------------------------------------------------------- */

int registry_blob_exists(registry_client *c, const char *repo, const char *digest,
                         bool *exists, int64_t *size, arca_err *err) {
  *exists = false;
  autofree char *url = reg_url(c, "/v2/%s/blobs/%s", repo, digest);
  autofree char *scope = registry_scope_repository(repo, true);
  reg_request rq;
  reg_request_init(&rq, "HEAD", url);
  rq.scope = scope;
  reg_response rs;
  reg_response_init(&rs);
  int rc = reg_send(c, &rq, &rs, NULL, err);
  if (rc == 0) {
    if (rs.status >= 200 && rs.status < 300) {
      *exists = true;
      if (size) *size = rs.content_length;
    } else if (rs.status != 404) {
      rc = reg_fail_response(&rs, err);
    }
  }
  reg_response_free(&rs);
  return rc;
}

/* DELETE of an upload we do not finish; failures do not matter (the registry expires it). */
static void cancel_upload(registry_client *c, const char *location, const char *scope) {
  reg_request rq;
  reg_request_init(&rq, "DELETE", location);
  rq.scope = scope;
  rq.total_timeout_ms = 15000;
  reg_response rs;
  reg_response_init(&rs);
  arca_err ignored;
  reg_send(c, &rq, &rs, NULL, &ignored);
  reg_response_free(&rs);
}

static char *location_of(const reg_response *rs, const char *request_url, arca_err *err) {
  if (!rs->location || !*rs->location) {
    err_set(err, 500, "registry answered %ld without a Location", rs->status);
    return NULL;
  }
  char *u = reg_resolve_url(request_url, rs->location);
  if (!u) err_set(err, 500, "registry answered a bad Location: %s", rs->location);
  return u;
}

int registry_mount_blob(registry_client *c, const char *repo, const char *from_repo,
                        const char *digest, bool *mounted, arca_err *err) {
  *mounted = false;
  autofree char *ed = reg_query_escape(digest);
  autofree char *ef = reg_query_escape(from_repo);
  autofree char *url = reg_url(c, "/v2/%s/blobs/uploads/?mount=%s&from=%s", repo, ed, ef);
  autofree char *push = registry_scope_repository(repo, true);
  autofree char *from = registry_scope_repository(from_repo, false);
  autofree char *scope = strcmp(push, from) ? xasprintf("%s %s", push, from) : xstrdup(push);
  reg_request rq;
  reg_request_init(&rq, "POST", url);
  rq.scope = scope;
  reg_response rs;
  reg_response_init(&rs);
  int rc = reg_send(c, &rq, &rs, NULL, err);
  if (rc == 0) {
    if (rs.status == 201) {
      *mounted = true;
    } else if (rs.status == 202) {
      autofree char *loc = location_of(&rs, url, err);
      if (loc) cancel_upload(c, loc, push);
    } else {
      rc = reg_fail_response(&rs, err);
    }
  }
  reg_response_free(&rs);
  return rc;
}

/* Starts an upload session; *location is where its data goes. */
static int start_upload(registry_client *c, const char *repo, const char *scope,
                        char **location, long *status, arca_err *err) {
  autofree char *url = reg_url(c, "/v2/%s/blobs/uploads/", repo);
  reg_request rq;
  reg_request_init(&rq, "POST", url);
  rq.scope = scope;
  reg_response rs;
  reg_response_init(&rs);
  int rc = reg_send(c, &rq, &rs, NULL, err);
  *status = rc == 0 ? rs.status : 0;
  if (rc == 0 && rs.status != 202) rc = reg_fail_response(&rs, err);
  if (rc == 0 && !(*location = location_of(&rs, url, err))) rc = -1;
  reg_response_free(&rs);
  return rc;
}

static char *with_digest(const char *location, const char *digest) {
  autofree char *ed = reg_query_escape(digest);
  return xasprintf("%s%sdigest=%s", location, strchr(location, '?') ? "&" : "?", ed);
}

typedef struct upload_state {
  registry_client *c;
  const char *scope;
  int fd;
  int64_t size;
  void (*progress_cb)(void *, int64_t, int64_t);
  void *ctx;
  long status;      /* HTTP status of the failing step, 0 for transport */
  const char *code; /* its error code ("BLOB_UPLOAD_INVALID"), or NULL */
  CURLcode curl_code;
} upload_state;

/* One step of an upload: PATCH a chunk or PUT (the last chunk and) the digest. */
static int upload_step(upload_state *u, const char *method, const char *url, int64_t off,
                       int64_t len, bool content_range, long want, char **next_location,
                       reg_response *rs, arca_err *err) {
  reg_request rq;
  reg_request_init(&rq, method, url);
  rq.scope = u->scope;
  rq.body_fd = len > 0 ? u->fd : -1;
  rq.body_off = off;
  rq.body_size = len;
  rq.upload_cb = u->progress_cb;
  rq.upload_ctx = u->ctx;
  rq.upload_base = off;
  rq.upload_total = u->size;
  struct curl_slist *hdrs = NULL;
  if (len > 0) hdrs = curl_slist_append(hdrs, OCTET_STREAM);
  if (content_range) {
    autofree char *cr = xasprintf("Content-Range: %lld-%lld", (long long)off,
                                  (long long)(off + len - 1));
    hdrs = curl_slist_append(hdrs, cr);
  }
  rq.headers = hdrs;
  int rc = reg_send(u->c, &rq, rs, NULL, err);
  curl_slist_free_all(hdrs);
  u->curl_code = rs->curl_code;
  u->status = rc == 0 ? rs->status : 0;
  if (rc == 0 && rs->status != want) {
    char text[ARCA_ERR_MSG_MAX];
    u->code = reg_error_text(rs, text, sizeof text, NULL);
    rc = reg_fail_response(rs, err);
  }
  if (rc == 0 && next_location && !(*next_location = location_of(rs, url, err))) rc = -1;
  return rc;
}

static int upload_once(upload_state *u, const char *repo, const char *digest, arca_err *err) {
  char *location = NULL;
  if (start_upload(u->c, repo, u->scope, &location, &u->status, err) < 0) {
    u->curl_code = CURLE_OK;
    return -1;
  }
  int rc = 0;
  int64_t chunk = u->c->tune.chunk_size;
  int64_t off = 0;
  if (u->size > chunk) {
    while (rc == 0 && off < u->size) {
      int64_t len = u->size - off < chunk ? u->size - off : chunk;
      reg_response rs;
      reg_response_init(&rs);
      char *next = NULL;
      rc = upload_step(u, "PATCH", location, off, len, true, 202, &next, &rs, err);
      reg_response_free(&rs);
      if (rc == 0) {
        free(location);
        location = next;
        off += len;
      }
    }
  }
  if (rc == 0) {
    autofree char *put = with_digest(location, digest);
    reg_response rs;
    reg_response_init(&rs);
    rc = upload_step(u, "PUT", put, off, u->size - off, false, 201, NULL, &rs, err);
    if (rc == 0 && rs.docker_digest && digest_is_sha256(rs.docker_digest) &&
        strcmp(rs.docker_digest, digest))
      rc = err_set(err, 500, "registry stored %s for a blob pushed as %s", rs.docker_digest,
                   digest);
    reg_response_free(&rs);
  }
  if (rc < 0) cancel_upload(u->c, location, u->scope);
  free(location);
  return rc;
}

int registry_upload_blob(registry_client *c, const char *repo, int fd, int64_t size,
                         const char *digest,
                         void (*progress_cb)(void *ctx, int64_t done, int64_t total),
                         void *ctx, arca_err *err) {
  if (digest_validate(digest, err) < 0) return -1;
  autofree char *scope = registry_scope_repository(repo, true);
  upload_state u = {.c = c, .scope = scope, .fd = fd, .size = size,
                    .progress_cb = progress_cb, .ctx = ctx};
  for (int attempt = 1;; attempt++) {
    u.status = 0;
    u.code = NULL;
    u.curl_code = CURLE_OK;
    if (upload_once(&u, repo, digest, err) == 0) return 0;
    /* A session the registry calls broken is started over too: curl resends a request once
     * by itself when a reused connection dies before any answer, and a PATCH sent twice
     * leaves the session at an offset the client no longer agrees with. */
    bool broken = u.status == 416 ||
                  (u.code && (!strcmp(u.code, "BLOB_UPLOAD_INVALID") ||
                              !strcmp(u.code, "BLOB_UPLOAD_UNKNOWN") ||
                              !strcmp(u.code, "RANGE_INVALID")));
    bool transient = broken || (u.status ? transient_status(u.status)
                                         : reg_is_transient_curl(u.curl_code));
    if (!transient || attempt >= c->tune.max_attempts) return -1;
    backoff(c, attempt, -1, ctx);
  }
}

int registry_put_manifest(registry_client *c, const char *repo, const char *tag_or_digest,
                          const char *media_type, const char *body, size_t len,
                          char digest_out[72], arca_err *err) {
  char computed[DIGEST_STR_SIZE];
  digest_buffer(body, len, computed);
  autofree char *url = reg_url(c, "/v2/%s/manifests/%s", repo, tag_or_digest);
  autofree char *scope = registry_scope_repository(repo, true);
  autofree char *ct = xasprintf("Content-Type: %s", media_type);
  struct curl_slist *hdrs = curl_slist_append(NULL, ct);
  reg_request rq;
  reg_request_init(&rq, "PUT", url);
  rq.scope = scope;
  rq.body = body;
  rq.body_len = len;
  rq.headers = hdrs;
  reg_response rs;
  reg_response_init(&rs);
  int rc = reg_send(c, &rq, &rs, NULL, err);
  curl_slist_free_all(hdrs);
  if (rc == 0 && rs.status != 201 && rs.status != 200 && rs.status != 202)
    rc = reg_fail_response(&rs, err);
  if (rc == 0 && rs.docker_digest && digest_is_sha256(rs.docker_digest) &&
      strcmp(rs.docker_digest, computed))
    rc = err_set(err, 500, "manifest verification failed for digest %s", rs.docker_digest);
  if (rc == 0 && digest_out) memcpy(digest_out, computed, DIGEST_STR_SIZE);
  reg_response_free(&rs);
  return rc;
}
