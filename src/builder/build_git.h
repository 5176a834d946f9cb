/* Git build contexts (POST /build?remote=<git URL>), as moby's builder/remotecontext/git
 * fetches them: `git init`, `git remote add origin`, a shallow `git fetch origin -- <ref>`,
 * `git checkout`, submodules, then the subdirectory of the URL's fragment
 * ("repo.git#ref:dir"; the ref defaults to master). git runs with an isolated
 * configuration (no system or user config). Where the remote cannot be reached, git's own
 * message is the error ("error fetching: fatal: unable to access ...").
 *
 * Reentrant; the caller owns the directory. */
#ifndef ARCA_BUILDER_BUILD_GIT_H
#define ARCA_BUILDER_BUILD_GIT_H

#include <stdbool.h>

#include "common/err.h"

/* urlutil.IsGitURL: https?://...\.git(#...)?, git://, git@, github.com/ */
bool build_is_git_url(const char *s);
/* Fetches url into dir (made here, must not exist); *context receives the directory to use
 * as the build context (dir or its subdirectory; caller frees). */
int build_git_fetch(const char *url, const char *dir, char **context, arca_err *err);

#endif
