#include "api/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <grp.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/internal.h"
#include "api/routes.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "engine/engine.h"

typedef struct listener {
  api_server *server;
  char *host;        /* as configured: unix:///x or tcp://h:p */
  char *unix_path;   /* to remove at stop */
  bool tls_verify;
  int fd;
  struct MHD_Daemon *mhd;
} listener;

struct api_server {
  struct engine *engine;
  listener *listeners;
  size_t nlisteners;
  char *tls_key, *tls_cert, *tls_ca;  /* PEM contents */
  char *symlink_path;                  /* /var/run/docker.sock when we made it */

  pthread_mutex_t live_lock;           /* guards live, stopping */
  pthread_cond_t live_cond;
  api_live live;                       /* list head */
  bool stopping;
};

/* ---- live streams and sessions ---- */

int api_live_add(api_server *s, api_live *l) {
  pthread_mutex_lock(&s->live_lock);
  if (s->stopping) {
    pthread_mutex_unlock(&s->live_lock);
    return -1;
  }
  l->next = s->live.next;
  l->prev = &s->live;
  s->live.next->prev = l;
  s->live.next = l;
  pthread_mutex_unlock(&s->live_lock);
  return 0;
}

void api_live_remove(api_server *s, api_live *l) {
  pthread_mutex_lock(&s->live_lock);
  if (l->next) {
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->next = l->prev = NULL;
  }
  pthread_cond_broadcast(&s->live_cond);
  pthread_mutex_unlock(&s->live_lock);
}

bool api_server_stopping(api_server *s) {
  pthread_mutex_lock(&s->live_lock);
  bool v = s->stopping;
  pthread_mutex_unlock(&s->live_lock);
  return v;
}

/* ---- request accessors ---- */

struct engine *api_engine(api_req *req) { return req->engine; }
const char *api_method(api_req *req) { return req->method; }
const char *api_path(api_req *req) { return req->path; }

const char *api_param(api_req *req, const char *name) {
  for (size_t i = 0; i < req->params.n; i++)
    if (req->params.names[i] && strcmp(req->params.names[i], name) == 0) return req->params.values[i];
  return NULL;
}

const char *api_query(api_req *req, const char *key) {
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct query_all {
  const char *key;
  const char **out;
  size_t max, n;
};
static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
  (void)kind;
  struct query_all *q = cls;
  if (strcmp(key, q->key) == 0) {
    if (q->n < q->max) q->out[q->n] = value ? value : "";
    q->n++;
  }
  return MHD_YES;
}
size_t api_query_all(api_req *req, const char *key, const char **out, size_t max) {
  struct query_all q = {key, out, max, 0};
  MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
  return q.n;
}

bool api_query_bool(api_req *req, const char *key, bool def) {
  const char *v = api_query(req, key);
  if (!v) return def;
  /* moby httputils.BoolValue */
  return !(v[0] == '\0' || !strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false") ||
           !strcasecmp(v, "none"));
}

int api_query_int(api_req *req, const char *key, long long def, long long *out, arca_err *err) {
  const char *v = api_query(req, key);
  if (!v || !*v) {
    *out = def;
    return 0;
  }
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (*end || errno)
    return err_set(err, 400, "strconv.Atoi: parsing \"%s\": invalid syntax", v);
  *out = x;
  return 0;
}

const char *api_header(api_req *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

bool api_version_at_least(api_req *req, int major, int minor) {
  return req->vmajor > major || (req->vmajor == major && req->vminor >= minor);
}
bool api_version_less_than(api_req *req, int major, int minor) {
  return !api_version_at_least(req, major, minor);
}
const char *api_version_string(api_req *req) { return req->version; }

int api_version_minor(api_req *req) {
  const char *dot = strchr(req->version, '.');
  return dot ? atoi(dot + 1) : 51;
}

int api_body_json(api_req *req, json_t **out, arca_err *err) {
  *out = NULL;
  const char *ct = api_header(req, "Content-Type");
  if (req->body.len == 0) return 0;
  if (ct && *ct) {
    /* mime.ParseMediaType, then the exact type must be application/json */
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
    if (n != strlen("application/json") || strncasecmp(ct, "application/json", n) != 0)
      return err_set(err, 400, "unsupported Content-Type header (%s): must be 'application/json'", ct);
  }
  json_error_t jerr;
  json_t *j = json_loadb(req->body.buf, req->body.len, 0, &jerr);
  if (!j) {
    /* Trailing garbage after a document is "unexpected content after JSON" in Docker. */
    if (strstr(jerr.text, "end of file expected"))
      return err_set(err, 400, "unexpected content after JSON");
    return err_set(err, 400, "invalid JSON: %s", jerr.text);
  }
  *out = j;
  return 0;
}

int api_body_fd(api_req *req) {
  if (req->body_fd >= 0) lseek(req->body_fd, 0, SEEK_SET);
  return req->body_fd;
}
uint64_t api_body_size(api_req *req) { return req->body_size; }

/* ---- answers ---- */

static void reply_reset(api_req *req) {
  free(req->content_type);
  req->content_type = NULL;
  free(req->data);
  req->data = NULL;
  req->data_len = 0;
}

void api_reply_header(api_req *req, const char *name, const char *value) {
  req->headers = xrealloc(req->headers, (req->nheaders + 1) * sizeof *req->headers);
  req->headers[req->nheaders].name = xstrdup(name);
  req->headers[req->nheaders].value = xstrdup(value);
  req->nheaders++;
}

static void reply_buffer(api_req *req, int status, const char *ctype, char *data, size_t len) {
  reply_reset(req);
  req->kind = REPLY_BUFFER;
  req->status = status;
  req->content_type = ctype ? xstrdup(ctype) : NULL;
  req->data = data;
  req->data_len = len;
}

void api_reply_json(api_req *req, int status, json_t *body) {
  char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(body);
  size_t n = strlen(text);
  text = xrealloc(text, n + 2);
  text[n] = '\n'; /* Go's json.Encoder ends every document with a newline */
  text[n + 1] = '\0';
  reply_buffer(req, status, "application/json", text, n + 1);
}

void api_reply_json_text(api_req *req, int status, char *text, size_t len) {
  text = xrealloc(text, len + 2);
  text[len] = '\n';
  text[len + 1] = '\0';
  reply_buffer(req, status, "application/json", text, len + 1);
}

void api_reply_result(api_req *req, int rc, const arca_err *err, int status, json_t *out) {
  if (rc < 0) api_reply_error(req, err);
  else if (out) api_reply_json(req, status, out);
  else api_reply_empty(req, status);
}

void api_reply_error(api_req *req, const arca_err *err) {
  int status = err->status >= 400 && err->status < 600 ? err->status : 500;
  api_reply_json(req, status, json_pack("{s:s}", "message", err->msg));
}

void api_reply_errorf(api_req *req, int status, const char *fmt, ...) {
  arca_err e;
  va_list ap;
  va_start(ap, fmt);
  err_setv(&e, status, fmt, ap);
  va_end(ap);
  api_reply_error(req, &e);
}

void api_reply_text(api_req *req, int status, const char *content_type, const char *text) {
  reply_buffer(req, status, content_type, xstrdup(text), strlen(text));
}

void api_reply_empty(api_req *req, int status) { reply_buffer(req, status, NULL, NULL, 0); }

void api_reply_stream(api_req *req, int status, const char *content_type, api_stream_fn fn,
                      void *ctx, void (*free_ctx)(void *)) {
  reply_reset(req);
  req->kind = REPLY_STREAM;
  req->status = status;
  req->content_type = xstrdup(content_type);
  req->fn = (void *)fn;
  req->ctx = ctx;
  req->free_ctx = free_ctx;
}

void api_reply_hijack(api_req *req, const char *content_type, api_hijack_fn fn, void *ctx,
                      void (*free_ctx)(void *)) {
  reply_reset(req);
  req->kind = REPLY_HIJACK;
  req->content_type = content_type ? xstrdup(content_type) : NULL;
  req->fn = (void *)fn;
  req->ctx = ctx;
  req->free_ctx = free_ctx;
}

void api_add_common_headers(api_req *req, struct MHD_Response *resp) {
  MHD_add_response_header(resp, "Api-Version", API_VERSION_MAX);
  MHD_add_response_header(resp, "Server", "Arca/" ARCA_VERSION " (linux)");
  MHD_add_response_header(resp, "Docker-Experimental", "false");
  MHD_add_response_header(resp, "Ostype", "linux");
  if (req->content_type) MHD_add_response_header(resp, "Content-Type", req->content_type);
  for (size_t i = 0; i < req->nheaders; i++)
    MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
}

/* ---- request lifecycle ---- */

static void req_free(api_req *req) {
  api_params_free(&req->params);
  free(req->method);
  free(req->path);
  free(req->early_message);
  sb_free(&req->body);
  if (req->body_fd >= 0) close(req->body_fd);
  reply_reset(req);
  for (size_t i = 0; i < req->nheaders; i++) {
    free(req->headers[i].name);
    free(req->headers[i].value);
  }
  free(req->headers);
  /* a stream or session that never started still owns its context */
  if (req->kind != REPLY_NONE && req->ctx && req->free_ctx) req->free_ctx(req->ctx);
  free(req);
}

static void early_error(api_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void early_error(api_req *req, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  free(req->early_message);
  if (vasprintf(&req->early_message, fmt, ap) < 0) req->early_message = NULL;
  va_end(ap);
  req->early_status = status;
}

static bool tls_client_ok(listener *l, struct MHD_Connection *conn) {
  if (!l->tls_verify) return true;
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (!ci || !ci->tls_session) return false;
  gnutls_session_t session = (gnutls_session_t)ci->tls_session;
  unsigned int status = 0;
  if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509) return false;
  unsigned int n = 0;
  if (!gnutls_certificate_get_peers(session, &n) || n == 0) return false;
  if (gnutls_certificate_verify_peers2(session, &status) != GNUTLS_E_SUCCESS) return false;
  return status == 0;
}

static api_req *req_new(listener *l, struct MHD_Connection *conn, const char *url, const char *method) {
  api_req *req = xcalloc(1, sizeof *req);
  req->server = l->server;
  req->engine = l->server->engine;
  req->conn = conn;
  req->method = xstrdup(method);
  req->start_ns = monotonic_ns();
  req->body_fd = -1;
  sb_init(&req->body);

  const char *rest;
  char version[16];
  bool has_version = api_split_version(url, version, sizeof version, &rest);
  req->path = xstrdup(rest);
  snprintf(req->version, sizeof req->version, "%s", has_version ? version : API_VERSION_MAX);

  if (strcmp(method, "OPTIONS") == 0) {
    static const api_route options_route = {"OPTIONS", "/", api_options, API_BODY_NONE};
    req->route = &options_route;
  } else {
    req->route = api_route_match(method, req->path, &req->params);
  }
  if (!req->route) {
    early_error(req, 404, "page not found");
    return req;
  }
  if (has_version) {
    if (api_version_compare(version, API_VERSION_MIN) < 0) {
      early_error(req, 400,
                  "client version %s is too old. Minimum supported API version is %s, please "
                  "upgrade your client to a newer version",
                  version, API_VERSION_MIN);
      return req;
    }
    if (api_version_compare(version, API_VERSION_MAX) > 0) {
      early_error(req, 400, "client version %s is too new. Maximum supported API version is %s",
                  version, API_VERSION_MAX);
      return req;
    }
  }
  if (sscanf(req->version, "%d.%d", &req->vmajor, &req->vminor) < 1) {
    req->vmajor = API_VERSION_MAX_MAJOR;
    req->vminor = API_VERSION_MAX_MINOR;
  }
  return req;
}

static void body_feed(api_req *req, const char *data, size_t n) {
  enum api_body mode = req->route && !req->early_status ? req->route->body : API_BODY_NONE;
  if (mode == API_BODY_JSON) {
    if (req->body_too_large) return;
    if (req->body.len + n > API_JSON_BODY_MAX) {
      req->body_too_large = true;
      sb_free(&req->body);
      return;
    }
    sb_append(&req->body, data, n);
  } else if (mode == API_BODY_STREAM) {
    if (req->body_errno) return;
    if (req->body_fd < 0) {
      const char *dir = engine_tmp_dir(req->engine);
      req->body_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      if (req->body_fd < 0) {
        req->body_errno = errno;
        return;
      }
    }
    if (write_all(req->body_fd, data, n) < 0) req->body_errno = errno;
    else req->body_size += n;
  }
}

static struct MHD_Response *build_response(api_req *req) {
  struct MHD_Response *resp = NULL;
  switch (req->kind) {
  case REPLY_STREAM:
    resp = api_stream_response(req);
    break;
  case REPLY_HIJACK:
    resp = api_hijack_response(req);
    break;
  case REPLY_BUFFER:
  case REPLY_NONE:
    resp = MHD_create_response_from_buffer(req->data_len, req->data, MHD_RESPMEM_MUST_FREE);
    if (resp) req->data = NULL; /* MHD owns it now */
    break;
  }
  if (resp) api_add_common_headers(req, resp);
  return resp;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
  (void)version;
  listener *l = cls;
  api_req *req = *req_cls;
  if (!req) {
    if (!tls_client_ok(l, conn)) {
      log_kv(LOG_WARN, "refused a TLS client without a valid certificate", "listener", l->host, NULL);
      return MHD_NO;
    }
    *req_cls = req_new(l, conn, url, method);
    return MHD_YES;
  }
  if (*upload_data_size) {
    body_feed(req, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }

  if (req->early_status) {
    api_reply_errorf(req, req->early_status, "%s", req->early_message);
  } else if (req->body_too_large) {
    api_reply_errorf(req, 413, "request body is larger than the limit of %u bytes", API_JSON_BODY_MAX);
  } else if (req->body_errno) {
    api_reply_errorf(req, 500, "storing the request body: %s", strerror(req->body_errno));
  } else {
    req->route->handler(req);
    if (req->kind == REPLY_NONE) api_reply_errorf(req, 500, "internal error: %s %s gave no answer", method, req->path);
  }
  if (req->kind == REPLY_STREAM || req->kind == REPLY_HIJACK)
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned int)0);

  struct MHD_Response *resp = build_response(req);
  if (!resp) return MHD_NO;
  unsigned int status = (unsigned int)req->status;
  if (req->kind == REPLY_HIJACK) status = req->hijack_plain ? MHD_HTTP_OK : MHD_HTTP_SWITCHING_PROTOCOLS;
  enum MHD_Result r = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)conn;
  api_req *req = *req_cls;
  if (!req) return;
  if (req->hijack && !req->hijack_started) api_hijack_discard(req->hijack);
  if (log_enabled(LOG_DEBUG)) {
    char status[16], dur[32];
    snprintf(status, sizeof status, "%d",
             req->kind == REPLY_HIJACK ? (req->hijack_plain ? 200 : 101) : req->status);
    snprintf(dur, sizeof dur, "%.3fms", (double)(monotonic_ns() - req->start_ns) / 1e6);
    log_kv(LOG_DEBUG, "request", "method", req->method, "path", req->path, "version", req->version,
           "status", status, "duration", dur,
           "end", toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "ok" : "aborted", NULL);
  }
  req_free(req);
  *req_cls = NULL;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
  log_kv(LOG_DEBUG, "http transport", "detail", msg, NULL);
}

/* ---- listeners ---- */

static int listen_unix(const char *path, const char *group, int *out, arca_err *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return err_set(err, 0, "socket path too long: %s", path);
  strcpy(sa.sun_path, path);
  autofree char *dir = xstrdup(path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    if (mkdir_p(dir, 0755, err) < 0) return -1;
  }
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return err_set(err, 0, "%s exists and is not a socket", path);
    /* a live daemon answers on it; a stale socket refuses */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (probe >= 0) close(probe);
    if (live) return err_set(err, 0, "%s is in use by another daemon", path);
    unlink(path);
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return err_errno(err, 0, errno, "socket");
  mode_t old = umask(0177);
  int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
  umask(old);
  if (rc < 0) {
    int e = errno;
    close(fd);
    return err_errno(err, 0, e, "bind %s", path);
  }
  gid_t gid = 0;
  if (group && *group) {
    struct group *g = getgrnam(group);
    if (g) gid = g->gr_gid;
    else log_kv(LOG_WARN, "socket group not found; socket left to root", "group", group, NULL);
  }
  if (chown(path, 0, gid) < 0 || chmod(path, 0660) < 0) {
    int e = errno;
    close(fd);
    return err_errno(err, 0, e, "set owner and mode of %s", path);
  }
  if (listen(fd, 512) < 0) {
    int e = errno;
    close(fd);
    return err_errno(err, 0, e, "listen %s", path);
  }
  *out = fd;
  return 0;
}

static int listen_tcp(const char *addr, int *out, arca_err *err) {
  autofree char *copy = xstrdup(addr);
  char *colon = strrchr(copy, ':');
  *colon = '\0';
  char *host = copy, *port = colon + 1;
  if (host[0] == '[') {
    host++;
    char *end = strchr(host, ']');
    if (end) *end = '\0';
  }
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
  struct addrinfo *res = NULL;
  int gai = getaddrinfo(*host ? host : NULL, port, &hints, &res);
  if (gai) return err_set(err, 0, "resolve %s: %s", addr, gai_strerror(gai));
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return err_errno(err, 0, errno, "socket");
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 512) < 0) {
    int e = errno;
    freeaddrinfo(res);
    close(fd);
    return err_errno(err, 0, e, "listen on tcp://%s", addr);
  }
  freeaddrinfo(res);
  *out = fd;
  return 0;
}

static int start_listener(api_server *s, listener *l, const arca_config *cfg, arca_err *err) {
  bool tls = false;
  if (str_has_prefix(l->host, "unix://")) {
    l->unix_path = xstrdup(l->host + 7);
    if (listen_unix(l->unix_path, cfg->group, &l->fd, err) < 0) {
      free(l->unix_path);
      l->unix_path = NULL;
      return -1;
    }
  } else {
    if (listen_tcp(l->host + 6, &l->fd, err) < 0) return -1;
    tls = cfg->tls;
    l->tls_verify = cfg->tlsverify;
  }
  unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                       MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
  if (tls) flags |= MHD_USE_TLS;
  struct MHD_OptionItem opts[16];
  size_t n = 0;
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, l->fd, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, l};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, API_IDLE_TIMEOUT_S, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, API_HEADER_MEMORY, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, 1024, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_STACK_SIZE, API_THREAD_STACK, NULL};
  if (tls) {
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
    if (cfg->tlsverify)
      opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls_ca};
  }
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  l->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
  if (!l->mhd) {
    close(l->fd);
    l->fd = -1;
    if (l->unix_path) unlink(l->unix_path);
    return err_set(err, 0, "cannot serve %s (libmicrohttpd refused to start%s)", l->host,
                   tls ? "; check the TLS certificate and key" : "");
  }
  log_kv(LOG_INFO, "API listen", "host", l->host, "tls", tls ? "true" : "false", NULL);
  return 0;
}

static int load_pem(const char *path, char **out, arca_err *err) {
  if (read_file(path, 1 << 20, out, NULL, err) < 0) return err_wrap(err, "read TLS file");
  return 0;
}

int api_server_start(struct engine *eng, const arca_config *cfg, api_server **out, arca_err *err) {
  api_server *s = xcalloc(1, sizeof *s);
  s->engine = eng;
  pthread_mutex_init(&s->live_lock, NULL);
  pthread_cond_init(&s->live_cond, NULL);
  s->live.next = s->live.prev = &s->live;
  if (cfg->tls) {
    if (load_pem(cfg->tlskey, &s->tls_key, err) < 0 || load_pem(cfg->tlscert, &s->tls_cert, err) < 0 ||
        (cfg->tlsverify && load_pem(cfg->tlscacert, &s->tls_ca, err) < 0)) {
      api_server_stop(s);
      return -1;
    }
  }
  s->listeners = xcalloc(cfg->hosts.n, sizeof *s->listeners);
  for (size_t i = 0; i < cfg->hosts.n; i++) {
    listener *l = &s->listeners[i];
    l->server = s;
    l->fd = -1;
    l->host = xstrdup(cfg->hosts.v[i]);
    s->nlisteners++;
    if (start_listener(s, l, cfg, err) < 0) {
      api_server_stop(s);
      return -1;
    }
  }
  if (cfg->docker_socket_symlink) {
    const char *target = NULL;
    for (size_t i = 0; i < s->nlisteners; i++)
      if (s->listeners[i].unix_path) target = s->listeners[i].unix_path;
    struct stat st;
    if (!target) log_warn("docker-socket-symlink: no unix socket to point at");
    else if (lstat("/var/run/docker.sock", &st) == 0 && !S_ISLNK(st.st_mode))
      log_warn("docker-socket-symlink: /var/run/docker.sock exists and is not a symlink; left alone");
    else {
      unlink("/var/run/docker.sock");
      if (symlink(target, "/var/run/docker.sock") == 0) s->symlink_path = xstrdup("/var/run/docker.sock");
      else log_kv(LOG_WARN, "docker-socket-symlink failed", "error", strerror(errno), NULL);
    }
  }
  *out = s;
  return 0;
}

void api_server_stop(api_server *s) {
  if (!s) return;
  /* 1. stop accepting */
  for (size_t i = 0; i < s->nlisteners; i++) {
    listener *l = &s->listeners[i];
    if (l->mhd) {
      MHD_socket fd = MHD_quiesce_daemon(l->mhd);
      if (fd != MHD_INVALID_SOCKET) close(fd);
    }
    if (l->unix_path) unlink(l->unix_path);
  }
  if (s->symlink_path) {
    char target[4096];
    ssize_t n = readlink(s->symlink_path, target, sizeof target - 1);
    if (n > 0) unlink(s->symlink_path);
  }
  /* 2. end every stream and session, wait for them */
  pthread_mutex_lock(&s->live_lock);
  s->stopping = true;
  for (api_live *l = s->live.next; l != &s->live; l = l->next) {
    if (l->cancel_fd >= 0) {
      uint64_t one = 1;
      (void)!write(l->cancel_fd, &one, sizeof one);
    }
    if (l->sock_fd >= 0) shutdown(l->sock_fd, SHUT_RDWR);
  }
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  while (s->live.next != &s->live) {
    if (pthread_cond_timedwait(&s->live_cond, &s->live_lock, &deadline) != 0) {
      log_warn("some streams did not end within 10s of shutdown");
      break;
    }
  }
  pthread_mutex_unlock(&s->live_lock);
  /* 3. stop the daemons (joins the connection threads) */
  for (size_t i = 0; i < s->nlisteners; i++) {
    listener *l = &s->listeners[i];
    if (l->mhd) MHD_stop_daemon(l->mhd);
    free(l->host);
    free(l->unix_path);
  }
  free(s->listeners);
  free(s->tls_key);
  free(s->tls_cert);
  free(s->tls_ca);
  free(s->symlink_path);
  pthread_mutex_destroy(&s->live_lock);
  pthread_cond_destroy(&s->live_cond);
  free(s);
}
