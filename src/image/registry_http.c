/* One HTTP exchange with a registry over libcurl, the authorised variant of it, and
 * docker/distribution's reading of error answers. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "image/registry_internal.h"

#define BODY_KEEP_DEFAULT (64 * 1024)

void reg_response_init(reg_response *rs) {
  memset(rs, 0, sizeof *rs);
  sb_init(&rs->body);
  rs->content_length = -1;
}

static void reset_headers(reg_response *rs) {
  free(rs->content_type);
  free(rs->docker_digest);
  free(rs->location);
  free(rs->link);
  free(rs->content_range);
  free(rs->range);
  for (size_t i = 0; i < rs->nwww_auth; i++) free(rs->www_auth[i]);
  free(rs->www_auth);
  rs->content_type = rs->docker_digest = rs->location = rs->link = NULL;
  rs->content_range = rs->range = NULL;
  rs->www_auth = NULL;
  rs->nwww_auth = 0;
  rs->content_length = -1;
}

void reg_response_free(reg_response *rs) {
  reset_headers(rs);
  sb_free(&rs->body);
  reg_response_init(rs);
}

void reg_request_init(reg_request *rq, const char *method, const char *url) {
  memset(rq, 0, sizeof *rq);
  rq->method = method;
  rq->url = url;
  rq->body_fd = -1;
  rq->cancel_fd = -1;
}

const char *reg_go_method(const char *m) {
  static const char *const names[][2] = {{"GET", "Get"},     {"HEAD", "Head"},
                                         {"PUT", "Put"},     {"POST", "Post"},
                                         {"PATCH", "Patch"}, {"DELETE", "Delete"}};
  for (size_t i = 0; i < ARRAY_LEN(names); i++)
    if (!strcmp(m, names[i][0])) return names[i][1];
  return m;
}

const char *reg_status_text(long status) {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 307: return "Temporary Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 413: return "Request Entity Too Large";
  case 416: return "Requested Range Not Satisfiable";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "";
  }
}

char *reg_url(const registry_client *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *tail = NULL;
  if (vasprintf(&tail, fmt, ap) < 0) abort();
  va_end(ap);
  char *u = xasprintf("%s%s", c->ep.base_url, tail);
  free(tail);
  return u;
}

void reg_sleep_ms(int ms) {
  if (ms <= 0) return;
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

bool reg_is_transient_curl(CURLcode code) {
  switch (code) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_PARTIAL_FILE:
  case CURLE_GOT_NOTHING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_COULDNT_RESOLVE_HOST:
    return true;
  default:
    return false;
  }
}

/* ---- the exchange ----------------------------------------------------------------------- */

typedef struct perform_ctx {
  CURL *curl;
  const reg_request *rq;
  reg_response *rs;
  int64_t sent;
} perform_ctx;

static char *trim_dup(const char *s, size_t n) {
  while (n && (*s == ' ' || *s == '\t')) s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    n--;
  return xstrndup(s, n);
}

static void sink_judge(perform_ctx *pc) {
  reg_sink *sk = pc->rq->sink;
  long status = 0;
  curl_easy_getinfo(pc->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return;
  if (status == 206) {
    long long start = -1, end = -1, total = -1;
    if (!pc->rs->content_range ||
        sscanf(pc->rs->content_range, "bytes %lld-%lld/%lld", &start, &end, &total) < 2 ||
        start != sk->written) {
      sk->range_bad = true;
      return;
    }
    if (sk->expected < 0 && total > 0) sk->total = total;
  } else {
    if (sk->written > 0) { /* the server ignored Range: start over */
      if (ftruncate(sk->fd, 0) < 0 || lseek(sk->fd, 0, SEEK_SET) < 0) {
        sk->write_errno = errno;
        return;
      }
      digest_free(&sk->dg);
      digest_init(&sk->dg);
      sk->written = 0;
    }
    if (sk->expected < 0 && pc->rs->content_length >= 0) sk->total = pc->rs->content_length;
  }
  sk->accepted = true;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud) {
  perform_ctx *pc = ud;
  reg_response *rs = pc->rs;
  size_t len = size * nitems;
  if (len >= 5 && !strncasecmp(buf, "HTTP/", 5)) { /* a new answer (redirect, 100) */
    reset_headers(rs);
    if (pc->rq->sink) pc->rq->sink->accepted = false;
    return len;
  }
  if (len <= 2 && (buf[0] == '\r' || buf[0] == '\n')) {
    if (pc->rq->sink) sink_judge(pc);
    return len;
  }
  const char *colon = memchr(buf, ':', len);
  if (!colon) return len;
  size_t nlen = (size_t)(colon - buf);
  const char *v = colon + 1;
  size_t vlen = len - nlen - 1;
#define IS(name) (nlen == sizeof(name) - 1 && !strncasecmp(buf, name, nlen))
  if (IS("Content-Type")) {
    free(rs->content_type);
    rs->content_type = trim_dup(v, vlen);
  } else if (IS("Docker-Content-Digest")) {
    free(rs->docker_digest);
    rs->docker_digest = trim_dup(v, vlen);
  } else if (IS("Location")) {
    free(rs->location);
    rs->location = trim_dup(v, vlen);
  } else if (IS("Link")) {
    free(rs->link);
    rs->link = trim_dup(v, vlen);
  } else if (IS("Content-Range")) {
    free(rs->content_range);
    rs->content_range = trim_dup(v, vlen);
  } else if (IS("Range")) {
    free(rs->range);
    rs->range = trim_dup(v, vlen);
  } else if (IS("Content-Length")) {
    autofree char *s = trim_dup(v, vlen);
    char *end = NULL;
    long long cl = strtoll(s, &end, 10);
    if (end && !*end && cl >= 0) rs->content_length = cl;
  } else if (IS("WWW-Authenticate")) {
    rs->www_auth = xrealloc(rs->www_auth, (rs->nwww_auth + 1) * sizeof *rs->www_auth);
    rs->www_auth[rs->nwww_auth++] = trim_dup(v, vlen);
  }
#undef IS
  return len;
}

static size_t write_cb(char *buf, size_t size, size_t nitems, void *ud) {
  perform_ctx *pc = ud;
  size_t len = size * nitems;
  reg_sink *sk = pc->rq->sink;
  if (sk && sk->range_bad) return 0;
  if (sk && sk->write_errno) return 0;
  if (sk && sk->accepted) {
    if (sk->expected >= 0 && sk->written + (int64_t)len > sk->expected) {
      sk->too_big = true;
      return 0;
    }
    if (write_all(sk->fd, buf, len) < 0) {
      sk->write_errno = errno ? errno : EIO;
      return 0;
    }
    digest_update(&sk->dg, buf, len);
    sk->written += (int64_t)len;
    if (sk->progress_cb) sk->progress_cb(sk->ctx, sk->written, sk->total);
    return len;
  }
  size_t keep = pc->rq->max_body ? pc->rq->max_body : BODY_KEEP_DEFAULT;
  reg_response *rs = pc->rs;
  if (rs->body.len + len > keep) {
    if (rs->body.len < keep) sb_append(&rs->body, buf, keep - rs->body.len);
    rs->body_truncated = true;
  } else {
    sb_append(&rs->body, buf, len);
  }
  return len;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud) {
  perform_ctx *pc = ud;
  const reg_request *rq = pc->rq;
  int64_t total = rq->body_fd >= 0 ? rq->body_size : (int64_t)rq->body_len;
  int64_t left = total - pc->sent;
  if (left <= 0) return 0;
  size_t want = size * nitems;
  if ((int64_t)want > left) want = (size_t)left;
  if (rq->body_fd >= 0) {
    ssize_t r;
    do r = pread(rq->body_fd, buf, want, rq->body_off + pc->sent);
    while (r < 0 && errno == EINTR);
    if (r <= 0) return CURL_READFUNC_ABORT;
    want = (size_t)r;
  } else {
    memcpy(buf, (const char *)rq->body + pc->sent, want);
  }
  pc->sent += (int64_t)want;
  if (rq->upload_cb) rq->upload_cb(rq->upload_ctx, rq->upload_base + pc->sent, rq->upload_total);
  return want;
}

static int seek_cb(void *ud, curl_off_t offset, int origin) {
  perform_ctx *pc = ud;
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  pc->sent = offset;
  return CURL_SEEKFUNC_OK;
}

static int xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  perform_ctx *pc = ud;
  if (pc->rq->cancel_fd < 0) return 0;
  struct pollfd p = {.fd = pc->rq->cancel_fd, .events = POLLIN};
  if (poll(&p, 1, 0) > 0) {
    pc->rs->cancelled = true;
    return 1;
  }
  return 0;
}

/* What Go's net/http would say of the failure, as far as curl lets us know it. */
static void transport_cause(CURL *curl, CURLcode rc, const char *errbuf, const char *url,
                            char *out, size_t n) {
  long os_errno = 0;
  char *ip = NULL;
  long port = 0;
  curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
  curl_easy_getinfo(curl, CURLINFO_PRIMARY_IP, &ip);
  curl_easy_getinfo(curl, CURLINFO_PRIMARY_PORT, &port);
  autofree char *host = NULL;
  autofree char *hostport = NULL;
  CURLU *u = curl_url();
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
    char *h = NULL, *p = NULL;
    curl_url_get(u, CURLUPART_HOST, &h, 0);
    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT);
    host = xstrdup(h ? h : "");
    hostport = xasprintf("%s:%s", h ? h : "", p ? p : "");
    curl_free(h);
    curl_free(p);
  }
  curl_url_cleanup(u);
  autofree char *addr = NULL;
  if (ip && *ip && port > 0)
    addr = strchr(ip, ':') ? xasprintf("[%s]:%ld", ip, port) : xasprintf("%s:%ld", ip, port);
  else
    addr = xstrdup(hostport ? hostport : "");
  switch (rc) {
  case CURLE_COULDNT_CONNECT:
  {
    char why[128];
    snprintf(why, sizeof why, "%s", strerror(os_errno ? (int)os_errno : ECONNREFUSED));
    why[0] = (char)tolower((unsigned char)why[0]); /* Go's "connection refused" */
    snprintf(out, n, "dial tcp %s: connect: %s", addr, why);
    return;
  }
  case CURLE_COULDNT_RESOLVE_HOST:
    snprintf(out, n, "dial tcp: lookup %s: no such host", host ? host : "");
    return;
  case CURLE_OPERATION_TIMEDOUT: {
    curl_off_t connect_us = 0;
    curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
    if (connect_us == 0) {
      snprintf(out, n, "dial tcp %s: i/o timeout", addr);
      return;
    }
    break;
  }
  case CURLE_SSL_CONNECT_ERROR:
    if (strstr(errbuf, "wrong version number") || strstr(errbuf, "packet length too long")) {
      snprintf(out, n, "http: server gave HTTP response to HTTPS client");
      return;
    }
    break;
  case CURLE_PEER_FAILED_VERIFICATION:
    if (strstr(errbuf, "self-signed") || strstr(errbuf, "self signed") ||
        strstr(errbuf, "unable to get local issuer")) {
      snprintf(out, n,
               "tls: failed to verify certificate: x509: certificate signed by unknown authority");
      return;
    }
    break;
  default:
    break;
  }
  snprintf(out, n, "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
}

static bool method_has_body(const char *m) {
  return !strcmp(m, "PUT") || !strcmp(m, "POST") || !strcmp(m, "PATCH");
}

int reg_perform(registry_client *c, const reg_request *rq, reg_response *rs, arca_err *err) {
  CURL *curl = curl_easy_init();
  if (!curl) return err_set(err, 500, "%s \"%s\": cannot create an HTTP handle",
                            reg_go_method(rq->method), rq->url);
  perform_ctx pc = {.curl = curl, .rq = rq, .rs = rs};
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *hdrs = NULL;
  for (const struct curl_slist *h = rq->headers; h; h = h->next)
    hdrs = curl_slist_append(hdrs, h->data);
  hdrs = curl_slist_append(hdrs, "Expect:");

  curl_easy_setopt(curl, CURLOPT_URL, rq->url);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  if (c->user_agent) curl_easy_setopt(curl, CURLOPT_USERAGENT, c->user_agent);
  if (c->share) curl_easy_setopt(curl, CURLOPT_SHARE, c->share);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)c->tune.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   (long)((c->tune.stall_timeout_ms + 999) / 1000));
  if (rq->total_timeout_ms > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, rq->total_timeout_ms);
  if (c->ep.insecure) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &pc);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &pc);
  if (rq->cancel_fd >= 0) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &pc);
  }
  if (!strcmp(rq->method, "HEAD")) {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method_has_body(rq->method)) {
    int64_t size = rq->body_fd >= 0 ? rq->body_size : (int64_t)rq->body_len;
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(curl, CURLOPT_READDATA, &pc);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, seek_cb);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &pc);
    if (strcmp(rq->method, "PUT")) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, rq->method);
  } else if (strcmp(rq->method, "GET")) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, rq->method);
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);

  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &rs->status);
  rs->curl_code = rc;
  /* URLs carry no secret: tokens and passwords travel in headers and POST bodies only */
  log_debug("registry: %s %s -> %ld (curl %d)", rq->method, rq->url, rs->status, (int)rc);
  int ret = 0;
  if (rc != CURLE_OK) {
    const char *gm = reg_go_method(rq->method);
    reg_sink *sk = rq->sink;
    if (rs->cancelled) {
      ret = err_set(err, 500, "context canceled");
    } else if (sk && sk->write_errno) {
      ret = err_errno(err, 500, sk->write_errno, "write");
    } else if (sk && (sk->too_big || sk->range_bad)) {
      ret = err_set(err, 500, "%s \"%s\": %s", gm, rq->url,
                    sk->too_big ? "blob larger than its descriptor"
                                : "range request returned a range that was not asked for");
    } else {
      char cause[1024];
      transport_cause(curl, rc, errbuf, rq->url, cause, sizeof cause);
      ret = err_set(err, 500, "%s \"%s\": %s", gm, rq->url, cause);
    }
  }
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(curl);
  return ret;
}

/* ---- the authorised exchange ------------------------------------------------------------ */

static bool wants_fresh_auth(const reg_response *rs, bool sent_auth, bool *invalid_token) {
  registry_challenge *ch = NULL;
  size_t n = registry_parse_challenges((const char *const *)rs->www_auth, rs->nwww_auth, &ch);
  bool fresh = false;
  *invalid_token = false;
  for (size_t i = 0; i < n; i++) {
    const char *e = registry_challenge_param(&ch[i], "error");
    if (!strcmp(ch[i].scheme, "bearer") && e && !strcmp(e, "invalid_token"))
      *invalid_token = true;
  }
  if (n > 0 && (!sent_auth || *invalid_token)) fresh = true;
  registry_challenges_free(ch, n);
  return fresh;
}

int reg_send(registry_client *c, const reg_request *rq, reg_response *rs, bool *unauthorized,
             arca_err *err) {
  if (unauthorized) *unauthorized = false;
  for (int round = 0;; round++) {
    autofree char *authz = NULL;
    reg_request r = *rq;
    struct curl_slist *hdrs = NULL;
    if (!rq->no_auth) {
      bool unauth = false;
      int arc = reg_authorization(c, rq->scope, &authz, &unauth, err);
      if (arc < 0) {
        if (unauthorized) *unauthorized = unauth;
        if (arc == -2) return -1;
        return err_wrap(err, "%s \"%s\"", reg_go_method(rq->method), rq->url);
      }
    }
    for (const struct curl_slist *h = rq->headers; h; h = h->next)
      hdrs = curl_slist_append(hdrs, h->data);
    if (authz) {
      autofree char *line = xasprintf("Authorization: %s", authz);
      hdrs = curl_slist_append(hdrs, line);
      explicit_bzero(line, strlen(line));
    }
    r.headers = hdrs;
    int rc = reg_perform(c, &r, rs, err);
    curl_slist_free_all(hdrs);
    if (authz) explicit_bzero(authz, strlen(authz));
    if (rc < 0) return -1;
    bool invalid_token = false;
    if (rs->status == 401 && round == 0 && !rq->no_auth &&
        wants_fresh_auth(rs, authz != NULL, &invalid_token)) {
      if (invalid_token) reg_forget_token(c, rq->scope);
      if (!authz) reg_set_challenges(c, rs);
      reg_response_free(rs);
      continue;
    }
    return 0;
  }
}

/* ---- error answers ---------------------------------------------------------------------- */

typedef struct code_desc {
  const char *id, *message;
} code_desc;

static const code_desc codes[] = {
    {"UNKNOWN", "unknown error"},
    {"UNSUPPORTED", "The operation is unsupported."},
    {"UNAUTHORIZED", "authentication required"},
    {"DENIED", "requested access to the resource is denied"},
    {"UNAVAILABLE", "service unavailable"},
    {"TOOMANYREQUESTS", "too many requests"},
    {"DIGEST_INVALID", "provided digest did not match uploaded content"},
    {"SIZE_INVALID", "provided length did not match content length"},
    {"NAME_INVALID", "invalid repository name"},
    {"TAG_INVALID", "manifest tag did not match URI"},
    {"NAME_UNKNOWN", "repository name not known to registry"},
    {"MANIFEST_UNKNOWN", "manifest unknown"},
    {"MANIFEST_INVALID", "manifest invalid"},
    {"MANIFEST_UNVERIFIED", "manifest failed signature verification"},
    {"MANIFEST_BLOB_UNKNOWN", "blob unknown to registry"},
    {"BLOB_UNKNOWN", "blob unknown to registry"},
    {"BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"},
    {"BLOB_UPLOAD_INVALID", "blob upload invalid"},
    {"PAGINATION_NUMBER_INVALID", "invalid number of results requested"},
    {"RANGE_INVALID", "invalid content range"},
};

static const code_desc *code_lookup(const char *id) {
  for (size_t i = 0; i < ARRAY_LEN(codes); i++)
    if (id && !strcmp(codes[i].id, id)) return &codes[i];
  return &codes[0];
}

/* ErrorCode.Error(): the identifier in lower case with spaces for underscores. */
static void code_words(const char *id, char *out, size_t n) {
  size_t i = 0;
  for (; id[i] && i + 1 < n; i++) out[i] = id[i] == '_' ? ' ' : (char)tolower((unsigned char)id[i]);
  out[i] = '\0';
}

static const char *code_error(const code_desc *d, const char *message, bool bare, char *out,
                              size_t n) {
  char words[64];
  code_words(d->id, words, sizeof words);
  if (bare)
    snprintf(out, n, "%s", words);
  else
    snprintf(out, n, "%s: %s", words, message);
  return d->id;
}

static const char *make_error(long status, const char *details, char *out, size_t n) {
  const char *id = status == 401 ? "UNAUTHORIZED"
                   : status == 403 ? "DENIED"
                   : status == 429 ? "TOOMANYREQUESTS"
                                   : "UNKNOWN";
  return code_error(code_lookup(id), details, false, out, n);
}

static const char *unexpected_body(const reg_response *rs, const char *why, char *out, size_t n) {
  if (rs->status == 401) return code_error(code_lookup("UNAUTHORIZED"), "authentication required",
                                           false, out, n);
  snprintf(out, n, "error parsing HTTP %ld response body: %s: \"%.*s\"", rs->status, why,
           (int)(rs->body.len > 512 ? 512 : rs->body.len), rs->body.buf ? rs->body.buf : "");
  return NULL;
}

const char *reg_error_text(const reg_response *rs, char *out, size_t n, bool *bare_out) {
  bool ignored;
  if (!bare_out) bare_out = &ignored;
  *bare_out = false;
  if (rs->status < 400 || rs->status >= 500) {
    snprintf(out, n, "received unexpected HTTP status: %ld %s", rs->status,
             reg_status_text(rs->status));
    return NULL;
  }
  if (rs->status == 401) {
    registry_challenge *ch = NULL;
    size_t nch =
        registry_parse_challenges((const char *const *)rs->www_auth, rs->nwww_auth, &ch);
    const char *id = NULL;
    for (size_t i = 0; i < nch && !id; i++) {
      if (strcmp(ch[i].scheme, "bearer")) continue;
      const char *e = registry_challenge_param(&ch[i], "error");
      if (!e) continue;
      if (!strcmp(e, "invalid_token")) id = "UNAUTHORIZED";
      else if (!strcmp(e, "insufficient_scope")) id = "DENIED";
      else continue;
      const char *desc = registry_challenge_param(&ch[i], "error_description");
      const code_desc *d = code_lookup(id);
      code_error(d, desc && *desc ? desc : d->message, false, out, n);
    }
    registry_challenges_free(ch, nch);
    if (id) return id;
  }
  const char *body = rs->body.buf ? rs->body.buf : "";
  if (!rs->content_type || !*rs->content_type) return make_error(rs->status, body, out, n);
  char mt[128];
  size_t i = 0;
  for (const char *p = rs->content_type; *p && *p != ';' && i + 1 < sizeof mt; p++)
    if (*p != ' ' && *p != '\t') mt[i++] = (char)tolower((unsigned char)*p);
  mt[i] = '\0';
  if (strcmp(mt, "application/json") && strcmp(mt, "application/vnd.api+json"))
    return make_error(rs->status, body, out, n);
  json_error_t jerr;
  autojson json_t *root = json_loadb(body, rs->body.len, JSON_DECODE_ANY, &jerr);
  if (!root) return unexpected_body(rs, jerr.text, out, n);
  const char *details = json_string_value(json_object_get(root, "details"));
  if (details && *details) return make_error(rs->status, details, out, n);
  json_t *errs = json_object_get(root, "errors");
  if (!json_is_object(root) || (errs && !json_is_array(errs)))
    return unexpected_body(rs, "json: cannot unmarshal into Go value of type errcode.Errors",
                           out, n);
  json_t *first = json_array_get(errs, 0);
  if (!first) return unexpected_body(rs, "no error details found in HTTP response body", out, n);
  const code_desc *d = code_lookup(json_string_value(json_object_get(first, "code")));
  const char *message = json_string_value(json_object_get(first, "message"));
  json_t *detail = json_object_get(first, "detail");
  /* errcode.Errors.UnmarshalJSON keeps a bare ErrorCode when nothing adds to it */
  bool bare = (!detail || json_is_null(detail)) &&
              (!message || !*message || !strcmp(message, d->message));
  *bare_out = bare;
  return code_error(d, message ? message : "", bare, out, n);
}

int reg_fail_response(const reg_response *rs, arca_err *err) {
  char text[1024];
  const char *id = reg_error_text(rs, text, sizeof text, NULL);
  int status = 500;
  if (id && !strcmp(id, "UNAUTHORIZED")) status = 401;
  else if (id && !strcmp(id, "DENIED")) status = 403;
  else if (id && str_has_suffix(id, "_UNKNOWN")) status = 404;
  return err_set(err, status, "%s", text);
}
