/* The transport primitives every API handler uses. Only src/api/ includes this.
 *
 * A handler receives an api_req and answers exactly once with one of four kinds of
 * answer (DESIGN.md, Streams):
 *   - a JSON document or a short text          api_reply_json / api_reply_error / api_reply_text
 *   - a chunked stream (JSON lines, tar, logs) api_reply_stream: the producer runs in its own
 *                                              thread and writes with api_stream_*; a client
 *                                              that goes away makes those writes fail and sets
 *                                              the stream's cancel fd readable
 *   - a multiplexed stdout/stderr stream       api_stream_frame on a stream
 *   - a hijacked connection                    api_reply_hijack: 101 + Upgrade: tcp (or the
 *                                              plain 200 form for clients that do not ask to
 *                                              upgrade); the session runs in its own thread
 * Handlers never touch sockets or libmicrohttpd themselves. */
#ifndef ARCA_API_HTTP_H
#define ARCA_API_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct engine;

#define API_VERSION_MAX_MAJOR 1
#define API_VERSION_MAX_MINOR 51
#define API_VERSION_MIN "1.24"
#define API_VERSION_MAX "1.51"

/* How a route takes its request body. */
enum api_body {
  API_BODY_NONE = 0,  /* any body is read and dropped */
  API_BODY_JSON,      /* buffered in memory up to the JSON limit */
  API_BODY_STREAM,    /* spooled to an unlinked temp file: never held in memory */
};

typedef struct api_req api_req;
typedef void (*api_handler)(api_req *req);

typedef struct api_route {
  const char *method;    /* "GET", "POST", "HEAD", "PUT", "DELETE" */
  const char *pattern;   /* "/containers/{id}/json"; "{name*}" matches several segments */
  api_handler handler;
  enum api_body body;
} api_route;

/* Request accessors */
struct engine *api_engine(api_req *req);
const char *api_method(api_req *req);
const char *api_path(api_req *req); /* without the /vX.Y prefix */
/* Path parameter by name from the route pattern ("id", "name"); NULL when absent. */
const char *api_param(api_req *req, const char *name);
const char *api_query(api_req *req, const char *key); /* NULL when absent */
/* Every value of a repeated query key (t=a&t=b); returns the count, fills up to max. */
size_t api_query_all(api_req *req, const char *key, const char **out, size_t max);
/* Docker's boolean query values: "", "0", "false", "False", "no"... are false; absent gives
 * def. (moby httputils.BoolValue: anything but "", "0", "no", "false", "none" is true.) */
bool api_query_bool(api_req *req, const char *key, bool def);
/* Integer query value; a malformed one is a 400 with Docker's strconv text. */
int api_query_int(api_req *req, const char *key, long long def, long long *out, arca_err *err);
const char *api_header(api_req *req, const char *name);
/* Negotiated API version of this request (bare paths: 1.51). */
bool api_version_at_least(api_req *req, int major, int minor);
bool api_version_less_than(api_req *req, int major, int minor);
const char *api_version_string(api_req *req);
/* The minor number of the request's API version (1.X), 51 for an unversioned path. */
int api_version_minor(api_req *req);

/* JSON body (API_BODY_JSON routes). An empty body gives *out = NULL and success. Malformed
 * JSON or a wrong Content-Type gives Docker's 400 texts. */
int api_body_json(api_req *req, json_t **out, arca_err *err);
/* Streamed body (API_BODY_STREAM routes): an fd positioned at the start, owned by the
 * request (do not close), and its size. -1 when the request had no body. */
int api_body_fd(api_req *req);
uint64_t api_body_size(api_req *req);

/* Answers. Exactly one per request. */
void api_reply_json(api_req *req, int status, json_t *body); /* steals body */
/* The answer of an engine call: its error when rc < 0, else out (stolen) with status, or an
 * empty answer with status when out is NULL. */
void api_reply_result(api_req *req, int rc, const arca_err *err, int status, json_t *out);
/* A JSON document already serialized (len bytes, malloc'd; stolen). */
void api_reply_json_text(api_req *req, int status, char *text, size_t len);
void api_reply_error(api_req *req, const arca_err *err);
void api_reply_errorf(api_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void api_reply_text(api_req *req, int status, const char *content_type, const char *text);
void api_reply_empty(api_req *req, int status); /* 201/204/304 without body */
/* Adds a header to the answer (before the reply call). */
void api_reply_header(api_req *req, const char *name, const char *value);

/* Streams */
typedef struct api_stream api_stream;
typedef void (*api_stream_fn)(api_stream *s, void *ctx);
/* Starts a chunked answer with this status and content type; fn(s, ctx) runs in its own
 * thread; free_ctx(ctx) is called when it returns (may be NULL). Headers go out at once. */
void api_reply_stream(api_req *req, int status, const char *content_type, api_stream_fn fn,
                      void *ctx, void (*free_ctx)(void *));
/* Each returns 0, or -1 once the client has gone (then stop producing). */
int api_stream_write(api_stream *s, const void *buf, size_t n);
int api_stream_json(api_stream *s, const json_t *obj); /* one JSON document + "\n" */
/* Docker's stdcopy frame: 8-byte header [stream,0,0,0,len be32] then the payload. */
int api_stream_frame(api_stream *s, int stream_no, const void *buf, size_t n);
bool api_stream_closed(api_stream *s);
/* Readable once the client has gone: put it in poll sets of blocking waits. */
int api_stream_cancel_fd(api_stream *s);

/* Hijacked connections */
typedef struct api_hijack api_hijack;
typedef void (*api_hijack_fn)(api_hijack *h, void *ctx);
/* Upgrades the connection (101 + Upgrade: tcp when the client asked, else 200 and the raw
 * connection) with this content type, then runs fn(h, ctx) in its own thread. The
 * connection is closed after fn returns. */
void api_reply_hijack(api_req *req, const char *content_type, api_hijack_fn fn, void *ctx,
                      void (*free_ctx)(void *));
/* Bytes the client sent along with the request (the first stdin bytes). */
const char *api_hijack_extra(api_hijack *h, size_t *len);
int api_hijack_fd(api_hijack *h); /* blocking socket; read stdin, write output */
/* Stop writing: the client sees EOF (half-close). */
void api_hijack_shutdown_write(api_hijack *h);

/* stdcopy header for callers that build frames themselves. */
void api_frame_header(unsigned char hdr[8], int stream_no, uint32_t len);

#endif
