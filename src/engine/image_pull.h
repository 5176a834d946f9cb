/* docker pull: resolve (synchronously, so that a missing image is a plain HTTP error as in
 * dockerd), then download, verify and unpack with Docker's progress messages. */
#ifndef ARCA_ENGINE_IMAGE_PULL_H
#define ARCA_ENGINE_IMAGE_PULL_H

#include <jansson.h>

#include "common/err.h"

struct engine;

/* Receives each progress message (borrowed); returns -1 once nobody listens any more. */
typedef int (*img_emit_fn)(void *ctx, const json_t *msg);

typedef struct pull_plan pull_plan;

/* Parses the reference (fromImage + tag as the API gives them), resolves the registry,
 * fetches the manifest (choosing the platform from an index: "linux/amd64" by default, or
 * `platform`) and the image config. auth_header: X-Registry-Auth or NULL. Errors are
 * Docker's (400 bad reference, 403 scratch, 404 not found / access denied ...).
 * A name with neither tag nor digest means every tag of the repository, as dockerd (the CLI
 * sends tag=latest unless `pull -a`): the tags are listed (an unknown repository is a 404
 * here) and the first one resolved; the others are resolved while running. */
int image_pull_prepare(struct engine *e, const char *from_image, const char *tag, const char *platform,
                       const char *auth_header, pull_plan **out, arca_err *err);
/* Downloads and unpacks what is missing, stores the image, points the reference at it and
 * publishes the pull event. Progress goes to emit; cancel_fd (or -1) aborts. Errors are
 * returned (the caller writes them into the stream). All tags: each tag's "Pulling from" ...
 * "Digest:" in turn, the first failing tag ends the pull, then one Status line for the bare
 * name and one pull event; cancel_fd is also checked between tags. */
int image_pull_run(pull_plan *p, img_emit_fn emit, void *ctx, int cancel_fd, arca_err *err);
void image_pull_plan_free(pull_plan *p);
/* "busybox:latest": what the pull was for, as Docker names it in messages. */
const char *image_pull_familiar(const pull_plan *p);

/* Both steps at once (docker run and build pull through this); a bare name means latest. */
int image_pull(struct engine *e, const char *name, const char *platform, const char *auth_header,
               img_emit_fn emit, void *ctx, int cancel_fd, arca_err *err);

/* A Docker JSON progress message: {"status", "id", "progressDetail", "progress"}.
 * current/total < 0: no progress detail at all (plain status line). */
json_t *progress_message(const char *id, const char *status, int64_t current, int64_t total);
/* Docker's in-stream error {"errorDetail":{"message"},"error"}. */
json_t *progress_error(const char *message);
/* JSONProgress.String() with a 200-column terminal: "[===>    ]  1.2MB/3.4MB". */
void progress_bar(int64_t current, int64_t total, char *out, size_t n);

/* Platform "os[/arch[/variant]]" → normalised parts (arch "amd64", "arm64" ...). */
int platform_parse(const char *s, char os[16], char arch[16], char variant[16], arca_err *err);

#endif
