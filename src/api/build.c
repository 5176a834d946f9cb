/* POST /build (the classic builder), POST /build/prune, POST /build/cancel. The options are
 * read as moby's api/server/router/build newImageBuildOptions reads them; what is wrong
 * with the request, the context or the Dockerfile is an HTTP error, everything after the
 * first step a line of the JSON stream. */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "engine/build.h"
#include "engine/engine.h"

/* httputils.Int64ValueOrZero: anything unparsable is 0. */
static int64_t int_or_zero(api_req *req, const char *key) {
  const char *v = api_query(req, key);
  if (!v || !*v) return 0;
  char *end;
  long long n = strtoll(v, &end, 10);
  return *end ? 0 : (int64_t)n;
}

static char *dup_query(api_req *req, const char *key) {
  const char *v = api_query(req, key);
  return v ? xstrdup(v) : NULL;
}

static int json_param(api_req *req, const char *key, const char *what, json_type type, json_t **out,
                      arca_err *err) {
  const char *v = api_query(req, key);
  *out = NULL;
  if (!v || !*v) return 0;
  json_error_t jerr;
  json_t *j = json_loads(v, JSON_DECODE_ANY, &jerr);
  if (!j) return err_set(err, 400, "%s: %s", what, jerr.text);
  if (json_typeof(j) != type && !json_is_null(j)) {
    json_decref(j);
    return err_set(err, 400, "%s: json: cannot unmarshal %s", what, key);
  }
  if (json_is_null(j)) {
    json_decref(j);
    return 0;
  }
  *out = j;
  return 0;
}

static int parse_opts(api_req *req, build_opts *o, arca_err *err) {
  memset(o, 0, sizeof *o);
  o->dockerfile = dup_query(req, "dockerfile");
  o->quiet = api_query_bool(req, "q", false);
  o->nocache = api_query_bool(req, "nocache", false);
  o->forcerm = api_query_bool(req, "forcerm", false);
  o->pull = api_query_bool(req, "pull", false);
  o->memswap = int_or_zero(req, "memswap");
  o->memory = int_or_zero(req, "memory");
  o->cpushares = int_or_zero(req, "cpushares");
  o->cpuperiod = int_or_zero(req, "cpuperiod");
  o->cpuquota = int_or_zero(req, "cpuquota");
  o->cpusetcpus = dup_query(req, "cpusetcpus");
  o->cpusetmems = dup_query(req, "cpusetmems");
  o->cgroupparent = dup_query(req, "cgroupparent");
  o->networkmode = dup_query(req, "networkmode");
  o->squash = api_query_bool(req, "squash", false);
  o->target = dup_query(req, "target");
  o->remote = dup_query(req, "remote");
  o->want_aux = api_version_at_least(req, 1, 30);
  const char *vals[256];
  size_t n = api_query_all(req, "t", vals, 256);
  if (n > 256) n = 256;
  o->tags = xcalloc(n + 1, sizeof *o->tags);
  for (size_t i = 0; i < n; i++) o->tags[o->ntags++] = xstrdup(vals[i]);
  n = api_query_all(req, "extrahosts", vals, 256);
  if (n > 256) n = 256;
  o->extrahosts = xcalloc(n + 1, sizeof *o->extrahosts);
  for (size_t i = 0; i < n; i++) o->extrahosts[o->nextrahosts++] = xstrdup(vals[i]);
  if (api_query_all(req, "securityopt", vals, 1) > 0)
    return err_set(err, 400, "security options are not supported on linux");
  if (api_query_bool(req, "forcerm", false))
    o->rm = true;
  else if (!api_query(req, "rm") || !*api_query(req, "rm"))
    o->rm = true;
  else
    o->rm = api_query_bool(req, "rm", true);
  if (api_version_at_least(req, 1, 32)) o->platform = dup_query(req, "platform");
  if (api_version_at_least(req, 1, 40)) {
    json_t *outputs = NULL;
    if (json_param(req, "outputs", "invalid outputs specified", JSON_ARRAY, &outputs, err) < 0)
      return -1;
    json_decref(outputs);
  }
  const char *shm = api_query(req, "shmsize");
  if (shm && *shm) {
    char *end;
    long long v = strtoll(shm, &end, 10);
    if (*end) return err_set(err, 400, "strconv.ParseInt: parsing \"%s\": invalid syntax", shm);
    o->shmsize = v;
  }
  const char *iso = api_query(req, "isolation");
  if (iso && *iso) {
    if (strcasecmp(iso, "default")) return err_set(err, 400, "unsupported isolation: \"%s\"", iso);
    o->isolation = xstrdup(iso);
  }
  if (json_param(req, "ulimits", "error reading ulimit settings", JSON_ARRAY, &o->ulimits, err) <
          0 ||
      json_param(req, "buildargs", "error reading build args", JSON_OBJECT, &o->buildargs, err) <
          0 ||
      json_param(req, "labels", "error reading labels", JSON_OBJECT, &o->labels, err) < 0 ||
      json_param(req, "cachefrom", "error reading cache-from", JSON_ARRAY, &o->cache_from, err) < 0)
    return -1;
  const char *k;
  json_t *v;
  json_object_foreach(o->labels, k, v) if (!json_is_string(v)) return err_set(
      err, 400, "error reading labels: json: cannot unmarshal %s into Go value of type string",
      json_is_number(v) ? "number" : "value");
  json_object_foreach(
      o->buildargs, k,
      v) if (!json_is_string(v) &&
             !json_is_null(v)) return err_set(err, 400,
                                              "error reading build args: json: cannot unmarshal %s "
                                              "into Go value of type string",
                                              json_is_number(v) ? "number" : "value");
  const char *version = api_query(req, "version");
  if (version && *version) {
    if (!strcmp(version, "2"))
      return err_set(err, 400,
                     "BuildKit is not supported by this daemon: build with the classic builder "
                     "(DOCKER_BUILDKIT=0)");
    if (strcmp(version, "1")) return err_set(err, 400, "invalid version \"%s\"", version);
  }
  const char *rc = api_header(req, "X-Registry-Config");
  if (rc && *rc) o->registry_config = xstrdup(rc);
  return 0;
}

static int stream_line(void *ctx, const char *line, size_t n) {
  return api_stream_write(ctx, line, n);
}

static void build_produce(api_stream *s, void *p) {
  build_run(p, stream_line, s, api_stream_cancel_fd(s));
}

static void build_free(void *p) { build_job_free(p); }

void api_build(api_req *req) {
  arca_err err;
  build_opts o;
  if (parse_opts(req, &o, &err) < 0) {
    build_opts_free(&o);
    api_reply_error(req, &err);
    return;
  }
  build_job *j = NULL;
  if (build_prepare(api_engine(req), &o, api_body_fd(req), &j, &err) < 0) {
    build_opts_free(&o);
    api_reply_error(req, &err);
    return;
  }
  api_reply_stream(req, 200, "application/json", build_produce, j, build_free);
}

static int bytes_param(api_req *req, const char *name, int64_t *out, arca_err *err) {
  const char *v = api_query(req, name);
  *out = 0;
  if (!v || !*v) return 0;
  char *end;
  long long n = strtoll(v, &end, 10);
  if (*end) return err_set(err, 400, "%s is in bytes and expects an integer, got %s", name, v);
  *out = n;
  return 0;
}

void api_build_prune(api_req *req) {
  arca_err err;
  int64_t keep = 0, unused = 0;
  if (api_version_at_least(req, 1, 48)) {
    if (bytes_param(req, "reserved-space", &keep, &err) < 0) goto fail;
    if (keep == 0 && bytes_param(req, "keep-storage", &keep, &err) < 0) goto fail;
    if (bytes_param(req, "max-used-space", &unused, &err) < 0 ||
        bytes_param(req, "min-free-space", &unused, &err) < 0)
      goto fail;
  } else if (bytes_param(req, "keep-storage", &keep, &err) < 0) {
    goto fail;
  }
  json_t *out;
  if (build_cache_prune(api_engine(req), api_query(req, "filters"),
                        api_query_bool(req, "all", false), keep, &out, &err) < 0)
    goto fail;
  api_reply_json(req, 200, out);
  return;
fail:
  api_reply_error(req, &err);
}

/* POST /session is BuildKit's gRPC tunnel; Arca builds with the classic builder only. */
void api_session(api_req *req) {
  api_reply_errorf(req, 501,
                   "BuildKit sessions are not supported by Arca: build with the classic builder (DOCKER_BUILDKIT=0)");
}

void api_build_cancel(api_req *req) {
  const char *id = api_query(req, "id");
  if (!id || !*id) {
    api_reply_errorf(req, 400, "build ID not provided");
    return;
  }
  /* classic builds stop when their client disconnects; there is nothing to find by ID */
  api_reply_empty(req, 200);
}
