/* docker save / load / import: image archives in and out of the store.
 *
 * save writes what Docker 25+ writes: an OCI image layout (oci-layout, index.json,
 * blobs/sha256/...) with Docker's manifest.json (and repositories) beside it, so that both
 * `docker load` and OCI tools read it. load reads those archives and plain OCI layouts (also
 * older Docker archives whose manifest.json points at <id>/layer.tar). import turns a root
 * filesystem tar into a one-layer image. */
#ifndef ARCA_ENGINE_IMAGE_ARCHIVE_H
#define ARCA_ENGINE_IMAGE_ARCHIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "engine/image_pull.h"

struct engine;

/* Output sink for tars written as they are made; returns -1 once the reader has gone. */
typedef int (*img_write_fn)(void *ctx, const void *buf, size_t n);

typedef struct save_plan save_plan;
/* Resolves every name first (404 "No such image: x" before anything is written). */
int image_save_prepare(struct engine *e, const char *const *names, size_t n, save_plan **out, arca_err *err);
int image_save_run(save_plan *p, img_write_fn write, void *ctx, arca_err *err);
void image_save_plan_free(save_plan *p);

typedef struct load_plan load_plan;
/* Unpacks the archive (fd at offset 0) into a private temp dir and reads its manifests;
 * a malformed or hostile archive fails here (400/500), before any output. */
int image_load_prepare(struct engine *e, int fd, load_plan **out, arca_err *err);
/* Imports layers and images, emitting Docker's messages: progress ("Loading layer") unless
 * quiet, then {"stream": "Loaded image: busybox:latest\n"} per tag (or "Loaded image ID"). */
int image_load_run(load_plan *p, bool quiet, img_emit_fn emit, void *ctx, arca_err *err);
void image_load_plan_free(load_plan *p);

/* POST /images/create?fromSrc=-: a root filesystem tar (any compression) from fd becomes a
 * one-layer image with the given reference (repo may be "" for none), Dockerfile `changes`
 * (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL,
 * HEALTHCHECK, SHELL), commit message and platform. id_out receives the image ID. */
int image_import(struct engine *e, int fd, const char *src, const char *repo, const char *tag,
                 const char *const *changes, size_t nchanges, const char *message, const char *platform,
                 char id_out[72], arca_err *err);

/* Applies Dockerfile change lines to an image config's "config" object (import, commit). */
int image_apply_changes(json_t *config, const char *const *changes, size_t n, arca_err *err);

#endif
