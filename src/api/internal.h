/* Shared between the transport files of src/api/ (server.c, stream.c, hijack.c). */
#ifndef ARCA_API_INTERNAL_H
#define ARCA_API_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "api/http.h"
#include "api/router.h"
#include "common/util.h"

#define API_JSON_BODY_MAX (16u << 20)     /* JSON request bodies */
#define API_HEADER_MEMORY (256u << 10)    /* request line + headers of one request */
#define API_IDLE_TIMEOUT_S 300            /* idle keep-alive connections */
#define API_THREAD_STACK (1u << 20)

typedef struct api_server api_server;

enum reply_kind { REPLY_NONE = 0, REPLY_BUFFER, REPLY_STREAM, REPLY_HIJACK };

typedef struct reply_header {
  char *name, *value;
} reply_header;

struct api_req {
  api_server *server;
  struct engine *engine;
  struct MHD_Connection *conn;
  char *method;
  char *path;        /* without version prefix */
  char version[16];  /* negotiated: "1.51" when bare */
  int vmajor, vminor;
  const api_route *route;
  api_params params;
  int64_t start_ns;

  /* early errors found before the body was read (routing, version) */
  int early_status;
  char *early_message;

  /* body */
  strbuf body;
  int body_fd;
  uint64_t body_size;
  bool body_too_large;
  int body_errno;

  /* answer */
  enum reply_kind kind;
  int status;
  char *content_type;
  char *data;
  size_t data_len;
  reply_header *headers;
  size_t nheaders;
  /* stream / hijack */
  void *fn;
  void *ctx;
  void (*free_ctx)(void *);
  void *hijack;          /* the session object until the upgrade happens */
  bool hijack_started;   /* set by the upgrade callback, in this connection's thread */
  bool hijack_plain;     /* no upgrade asked: 200 and a raw body (hijack.c) */
};

/* stream.c */
struct MHD_Response *api_stream_response(api_req *req);
/* hijack.c */
struct MHD_Response *api_hijack_response(api_req *req);
/* Frees a session whose upgrade never happened (the client left first). */
void api_hijack_discard(void *hijack);

/* Registry of live streams and hijacked sessions, for a clean shutdown: on stop the server
 * makes every cancel_fd readable (eventfd) and shuts every sock_fd down, then waits until
 * each has removed itself. */
typedef struct api_live {
  struct api_live *prev, *next;
  int cancel_fd; /* eventfd or -1 */
  int sock_fd;   /* hijacked socket or -1 */
} api_live;
/* Returns -1 (and adds nothing) when the server is already stopping. */
int api_live_add(api_server *s, api_live *l);
void api_live_remove(api_server *s, api_live *l);
bool api_server_stopping(api_server *s);
void api_add_common_headers(api_req *req, struct MHD_Response *resp);

#endif
