/* Image endpoints that move content: pull (POST /images/create?fromImage), import
 * (?fromSrc), push, save (GET /images/get), load, plus registry lookups: search,
 * distribution inspect, login (POST /auth). */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "engine/engine.h"
#include "engine/image_pull.h"
#include "engine/image_remote.h"
#include "engine/image_push.h"
#include "engine/image_archive.h"
#include "image/registry.h"

void api_images_import(api_req *req);

/* The progress of a stream is written as JSON lines. */
static int stream_emit(void *ctx, const json_t *msg) { return api_stream_json(ctx, msg); }

static void stream_error(api_stream *s, const arca_err *err) {
  json_t *m = progress_error(err->msg);
  api_stream_json(s, m);
  json_decref(m);
}

/* ---- pull ---- */

struct pull_job {
  engine *e;
  pull_plan *plan;
};

static void pull_job_free(void *p) {
  struct pull_job *j = p;
  image_pull_plan_free(j->plan);
  free(j);
}

static void pull_produce(api_stream *s, void *p) {
  struct pull_job *j = p;
  arca_err err;
  if (image_pull_run(j->plan, stream_emit, s, api_stream_cancel_fd(s), &err) < 0) stream_error(s, &err);
}

void api_images_create(api_req *req) {
  const char *from_image = api_query(req, "fromImage");
  const char *from_src = api_query(req, "fromSrc");
  arca_err err;
  if (from_image && *from_image) {
    const char *platform = api_version_at_least(req, 1, 32) ? api_query(req, "platform") : NULL;
    pull_plan *plan;
    if (image_pull_prepare(api_engine(req), from_image, api_query(req, "tag"), platform,
                           api_header(req, "X-Registry-Auth"), &plan, &err) < 0) {
      api_reply_error(req, &err);
      return;
    }
    struct pull_job *j = xcalloc(1, sizeof *j);
    j->e = api_engine(req);
    j->plan = plan;
    api_reply_stream(req, 200, "application/json", pull_produce, j, pull_job_free);
    return;
  }
  if (from_src && *from_src) {
    api_images_import(req);
    return;
  }
  api_reply_errorf(req, 400, "either fromImage or fromSrc is required");
}

/* ---- distribution inspect ---- */

void api_distribution_inspect(api_req *req) {
  arca_err err;
  json_t *out;
  if (image_distribution_inspect(api_engine(req), api_param(req, "name"), api_header(req, "X-Registry-Auth"), &out,
                                 &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 200, out);
}

/* ---- search ---- */

void api_images_search(api_req *req) {
  arca_err err;
  long long limit = 0;
  if (api_query_int(req, "limit", 0, &limit, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  json_t *out;
  if (image_search(api_engine(req), api_query(req, "term"), (int)limit, api_query(req, "filters"),
                   api_header(req, "X-Registry-Auth"), &out, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 200, out);
}

/* ---- login ---- */

void api_auth(api_req *req) {
  arca_err err;
  json_t *body = NULL;
  if (api_body_json(req, &body, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  json_t *out = NULL;
  autofree char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  int rc = image_login(api_engine(req), text, text ? strlen(text) : 0, &out, &err);
  json_decref(body);
  if (rc < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_json(req, 200, out);
}

/* ---- push ---- */

struct push_job {
  push_plan *plan;
};

static void push_job_free(void *p) {
  struct push_job *j = p;
  image_push_plan_free(j->plan);
  free(j);
}

static void push_produce(api_stream *s, void *p) {
  struct push_job *j = p;
  arca_err err;
  if (image_push_run(j->plan, stream_emit, s, &err) < 0) stream_error(s, &err);
}

void api_image_push(api_req *req) {
  arca_err err;
  push_plan *plan;
  if (image_push_prepare(api_engine(req), api_param(req, "name"), api_query(req, "tag"),
                         api_header(req, "X-Registry-Auth"), &plan, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  struct push_job *j = xcalloc(1, sizeof *j);
  j->plan = plan;
  api_reply_stream(req, 200, "application/json", push_produce, j, push_job_free);
}

/* ---- save ---- */

static int stream_write(void *ctx, const void *buf, size_t n) { return api_stream_write(ctx, buf, n); }

static void save_produce(api_stream *s, void *p) {
  arca_err err;
  /* an error after the first bytes can only end the tar early: the client sees a short read */
  image_save_run(p, stream_write, s, &err);
}

static void save_free(void *p) { image_save_plan_free(p); }

static void save_names(api_req *req, const char *const *names, size_t n) {
  arca_err err;
  save_plan *plan;
  if (image_save_prepare(api_engine(req), names, n, &plan, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  api_reply_stream(req, 200, "application/x-tar", save_produce, plan, save_free);
}

void api_image_get(api_req *req) {
  const char *name = api_param(req, "name");
  save_names(req, &name, 1);
}

void api_images_get(api_req *req) {
  const char *names[256];
  size_t n = api_query_all(req, "names", names, 256);
  if (n > 256) n = 256;
  if (n == 0) {
    api_reply_errorf(req, 400, "no images given: use names=<image>");
    return;
  }
  save_names(req, names, n);
}

/* ---- load ---- */

struct load_job {
  load_plan *plan;
  bool quiet;
};

static void load_job_free(void *p) {
  struct load_job *j = p;
  image_load_plan_free(j->plan);
  free(j);
}

static void load_produce(api_stream *s, void *p) {
  struct load_job *j = p;
  arca_err err;
  if (image_load_run(j->plan, j->quiet, stream_emit, s, &err) < 0) stream_error(s, &err);
}

void api_images_load(api_req *req) {
  arca_err err;
  load_plan *plan;
  if (image_load_prepare(api_engine(req), api_body_fd(req), &plan, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  struct load_job *j = xcalloc(1, sizeof *j);
  j->plan = plan;
  j->quiet = api_query_bool(req, "quiet", false);
  api_reply_stream(req, 200, "application/json", load_produce, j, load_job_free);
}

/* ---- import ---- */

void api_images_import(api_req *req) {
  arca_err err;
  const char *src = api_query(req, "fromSrc");
  if (strcmp(src, "-") != 0) {
    api_reply_errorf(req, 400, "importing from a URL (%s) is not supported: this host reaches no network; send the archive in the request body (fromSrc=-)", src);
    return;
  }
  const char *changes[64];
  size_t n = api_query_all(req, "changes", changes, 64);
  if (n > 64) n = 64;
  char id[DIGEST_STR_SIZE];
  if (image_import(api_engine(req), api_body_fd(req), src, api_query(req, "repo"), api_query(req, "tag"), changes, n,
                   api_query(req, "message"), api_query(req, "platform"), id, &err) < 0) {
    api_reply_error(req, &err);
    return;
  }
  json_t *out = json_pack("{s:s}", "status", id);
  char *text = json_dumps(out, JSON_COMPACT);
  json_decref(out);
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, text);
  sb_puts(&sb, "\n");
  free(text);
  api_reply_text(req, 200, "application/json", sb.buf);
  sb_free(&sb);
}
