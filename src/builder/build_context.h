/* The build context: the request's tar (plain, gzip, bzip2, xz) unpacked into a private
 * directory, with the checksum of every entry as dockerd's tarsum (version 1) computes it,
 * and the path rules of moby's builder/remotecontext: paths resolve inside the context
 * (symlinks followed but never out of it), a path that climbs out is "forbidden path
 * outside the build context".
 *
 * Also the checksum scheme the classic builder uses for COPY/ADD sources, which the build
 * cache keys on: "file:<tarsum of the file>", "dir:<sha256 of the sorted sums below>",
 * "multi:<sha256 of several>".
 *
 * A context belongs to one build (one thread); nothing is shared. */
#ifndef ARCA_BUILDER_BUILD_CONTEXT_H
#define ARCA_BUILDER_BUILD_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "common/err.h"
#include "image/digest.h"

struct archive_entry;

typedef struct build_context build_context;

/* Unpacks the tar read from fd (from offset 0) into a new directory under parent_dir.
 * Hostile entries (absolute or ".." paths, links out of the context) fail with 400. */
int build_context_from_tar(int fd, const char *parent_dir, build_context **out, arca_err *err);
/* A context made of one directory holding downloaded files (ADD <url>), hashed as files. */
int build_context_from_dir(const char *dir, build_context **out, arca_err *err);
/* Removes the directory and frees. */
void build_context_free(build_context *c);
const char *build_context_root(const build_context *c);

/* FullPath: the absolute path of rel inside the context, symlinks followed in scope.
 * 400 "forbidden path outside the build context: <rel> ()" when it climbs out. */
int build_context_full_path(const build_context *c, const char *rel, char **out, arca_err *err);
/* symlink.FollowSymlinkInScope(root/rel, root) for any directory: NULL when rel climbs out
 * (caller frees). */
char *build_path_in_scope(const char *root, const char *rel);
/* Hash(path): the tarsum of the file rel resolves to, or rel itself when unknown. */
char *build_context_hash(const build_context *c, const char *rel);
/* Removes rel (and what is below it); missing is fine. */
void build_context_remove(build_context *c, const char *rel);

/* The Dockerfile: name as given ("Dockerfile" by default; falls back to "dockerfile" as
 * dockerd does), read whole. 400 "Cannot locate specified Dockerfile: <name>". */
int build_context_read_file(const build_context *c, const char *name, bool lowercase_fallback,
                            char **text, size_t *len, char **used_name, arca_err *err);
/* removeDockerfile: with a .dockerignore, removes .dockerignore and the Dockerfile when
 * its patterns exclude them (errors: "error reading .dockerignore: ..."). */
int build_context_apply_dockerignore(build_context *c, const char *dockerfile, arca_err *err);

/* One source of a COPY/ADD resolved in the context. */
typedef struct ctx_source {
  char *path; /* as given, cleaned of "./" and a leading "/" (Docker's origPath) */
  char *full; /* absolute path on this host, symlinks followed */
  char *hash; /* "file:..." or "dir:..." */
  bool is_dir;
} ctx_source;

/* calcCopyInfo over the context for one source word (wildcards allowed): appends to
 * *srcs. Errors as dockerd: "file not found in build context or excluded by
 * .dockerignore: stat <p>: file does not exist", the forbidden-path error. */
int build_context_sources(const build_context *c, const char *orig, ctx_source **srcs, size_t *n,
                          arca_err *err);
void ctx_sources_free(ctx_source *srcs, size_t n);

/* getSourceHashFromInfos: one hash as is, several as "multi:<sha256 of a,b,...>" (caller
 * frees). */
char *build_sources_hash(const char *const *hashes, size_t n);
/* hashStringSlice("dir", sorted sums) (caller frees; sorts sums in place). */
char *build_dir_hash(char **sums, size_t n);

/* tarsum v1 of one entry: feeds the selected header fields into d (the entry's content
 * follows through digest_update by the caller). name is the raw header name. */
void build_tarsum_header(digest_ctx *d, const char *name, struct archive_entry *e);
/* The same for a file on disk, as lazycontext hashes image sources: name is its path
 * relative to the source root ("/" appended for directories); content read from path. */
int build_tarsum_file(const char *path, const char *name, char out_hex[65], arca_err *err);

/* Go's filepath.Match over a '/'-separated path (as path_match in common/pattern.h). */
bool build_has_wildcards(const char *s);

#endif
