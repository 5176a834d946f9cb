/* GET/HEAD /_ping, GET /version, GET /info, GET /events, GET /system/df, OPTIONS. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "common/cleanup.h"
#include "common/filters.h"
#include "common/util.h"
#include "engine/engine.h"
#include "engine/events_filter.h"

void api_options(api_req *req) { api_reply_empty(req, 200); }

void api_ping(api_req *req) {
  api_reply_header(req, "Cache-Control", "no-cache, no-store, must-revalidate");
  api_reply_header(req, "Pragma", "no-cache");
  api_reply_header(req, "Builder-Version", "1");
  api_reply_header(req, "Swarm", "inactive");
  if (strcmp(api_method(req), "HEAD") == 0) {
    api_reply_text(req, 200, "text/plain; charset=utf-8", "");
    return;
  }
  api_reply_text(req, 200, "text/plain; charset=utf-8", "OK");
}

void api_version(api_req *req) { api_reply_json(req, 200, engine_version_json(api_engine(req))); }

void api_info(api_req *req) { api_reply_json(req, 200, engine_info_json(api_engine(req))); }

void api_system_df(api_req *req) {
  int types = 0;
  const char *vals[8];
  size_t n = api_query_all(req, "type", vals, 8);
  for (size_t i = 0; i < n && i < 8; i++) {
    if (!strcmp(vals[i], "container")) types |= SYSTEM_DF_CONTAINERS;
    else if (!strcmp(vals[i], "image")) types |= SYSTEM_DF_IMAGES;
    else if (!strcmp(vals[i], "volume")) types |= SYSTEM_DF_VOLUMES;
    else if (!strcmp(vals[i], "build-cache")) types |= SYSTEM_DF_BUILD_CACHE;
    else {
      api_reply_errorf(req, 400, "unknown object type: %s", vals[i]);
      return;
    }
  }
  api_reply_json(req, 200, engine_df_json(api_engine(req), types, false));
}

/* ---- events ---- */

struct events_ctx {
  engine *engine;
  filters *filters;
  bool has_since, has_until;
  int64_t since, until;
  bool skip_image_create; /* image create events exist from API 1.46 */
};

static void events_ctx_free(void *p) {
  struct events_ctx *c = p;
  filters_free(c->filters);
  free(c);
}

/* The server parses "seconds[.nanoseconds]" (the CLI converts other forms); we also accept
 * RFC 3339 and durations for the benefit of curl users. */
static int event_time(const char *v, int64_t *out, arca_err *err) {
  return parse_docker_time(v, now_ns(), out, err);
}

static void events_produce(api_stream *s, void *p) {
  struct events_ctx *c = p;
  event_sub *sub = events_subscribe(c->engine->events);
  uint64_t live = events_sub_live_seq(sub);
  bool only_past = c->has_until && c->until < now_ns();
  for (;;) {
    arca_event ev = {0};
    while (events_next(c->engine->events, sub, &ev) == 1) {
      bool past = ev.seq < live;
      bool in_window = (!c->has_until || ev.time_ns <= c->until) &&
                       (past ? (c->has_since && ev.time_ns >= c->since) ||
                                   (!c->has_since && c->has_until)
                             : true);
      bool send = in_window && !(c->skip_image_create && !strcmp(ev.type, "image") && !strcmp(ev.action, "create")) &&
                  events_filter_include(c->filters, &ev);
      if (!past && c->has_until && ev.time_ns > c->until) {
        event_clear(&ev);
        goto out;
      }
      if (send) {
        json_t *j = event_to_json(&ev);
        int rc = api_stream_json(s, j);
        json_decref(j);
        if (rc < 0) {
          event_clear(&ev);
          goto out;
        }
      }
      event_clear(&ev);
    }
    if (only_past) break;
    int timeout = -1;
    if (c->has_until) {
      int64_t left = c->until - now_ns();
      if (left <= 0) break;
      timeout = (int)(left / 1000000) + 1;
    }
    struct pollfd fds[2] = {{.fd = events_sub_fd(sub), .events = POLLIN},
                            {.fd = api_stream_cancel_fd(s), .events = POLLIN}};
    int r = poll(fds, 2, timeout);
    if (r == 0 && c->has_until && now_ns() >= c->until) break;
    if (fds[1].revents) break;
  }
out:
  events_unsubscribe(c->engine->events, sub);
}

void api_events(api_req *req) {
  arca_err err;
  struct events_ctx *c = xcalloc(1, sizeof *c);
  c->engine = api_engine(req);
  const char *since = api_query(req, "since"), *until = api_query(req, "until");
  if (since && *since) {
    if (event_time(since, &c->since, &err) < 0) goto fail;
    c->has_since = true;
  }
  if (until && *until) {
    if (event_time(until, &c->until, &err) < 0) goto fail;
    c->has_until = true;
    if (c->has_since && c->until < c->since) {
      err_set(&err, 400, "`since` time (%s) cannot be after `until` time (%s)", since, until);
      goto fail;
    }
  }
  if (filters_parse(api_query(req, "filters"), &c->filters, &err) < 0) goto fail;
  c->skip_image_create = api_version_less_than(req, 1, 46);
  api_reply_stream(req, 200, "application/json", events_produce, c, events_ctx_free);
  return;
fail:
  events_ctx_free(c);
  api_reply_error(req, &err);
}
