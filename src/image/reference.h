/* Image references: Docker's grammar (distribution/reference) as the daemon applies it.
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] path          domain := host [":" port]
 *   host       := domain-name | "[" IPv6 "]" path   := component ["/" component]*
 *   component  := [a-z0-9]+ ( ("." | "_" | "__" | "-"+) [a-z0-9]+ )*
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest     := algorithm ":" hex{32,}, then checked as go-digest does (sha256/384/512)
 *
 * ref_parse() is ParseNormalizedNamed: a first component that holds '.' or ':', is
 * "localhost", or has an uppercase letter names a registry; otherwise the image is on Docker
 * Hub ("docker.io"), and one-component Hub paths get "library/". "index.docker.io" becomes
 * "docker.io". Every parse error carries status 400 and Docker's own text.
 *
 * All strings in an image_ref are owned by it (malloc'd) and released by ref_free(). Nothing
 * here keeps state, so every function is safe to call from any thread. */
#ifndef ARCA_IMAGE_REFERENCE_H
#define ARCA_IMAGE_REFERENCE_H

#include <stdbool.h>

#include "common/err.h"

#define REF_DEFAULT_DOMAIN "docker.io"
#define REF_DEFAULT_TAG "latest"
#define REF_NAME_MAX 255 /* longest path (without the domain) Docker accepts */
#define REF_TAG_MAX 128

typedef struct image_ref {
  char *domain; /* "docker.io", "127.0.0.1:5000", "localhost:5000", "ghcr.io"; "" in the rare
                   case Docker keeps no domain ("a_b.com/x": not a valid host, yet a valid
                   path); NULL only for a digest-only reference from ref_parse_any() */
  char *path;   /* "library/busybox", "user/app"; NULL only for a digest-only reference */
  char *tag;    /* NULL when absent */
  char *digest; /* "sha256:<64 hex>" when present, else NULL */
} image_ref;

/* ParseNormalizedNamed. Errors (400), in Docker's order of checks:
 *   "invalid repository name (<s>), cannot specify 64-byte hexadecimal strings"
 *   "invalid reference format: repository name (<path>) must be lowercase"
 *   "invalid reference format"
 *   "repository name must be lowercase"  (uppercase outside the path, e.g. "Foo_Bar/x")
 *   "repository name must not be more than 255 characters"
 *   "invalid checksum digest format" / "invalid checksum digest length" /
 *   "unsupported digest algorithm"  (a digest that fits the grammar but not go-digest) */
int ref_parse(const char *s, image_ref *out, arca_err *err);
/* ParseAnyReference: a bare 64-hex ID or a "sha256:<hex>" digest gives a digest-only
 * reference (domain and path NULL); anything else goes through ref_parse(). */
int ref_parse_any(const char *s, image_ref *out, arca_err *err);
/* ParseDockerRef: ref_parse(), then name:tag@digest drops the tag and a bare name gets
 * "latest", so the result has exactly one of tag and digest. */
int ref_parse_docker_ref(const char *s, image_ref *out, arca_err *err);

void ref_free(image_ref *r);
void ref_copy(image_ref *dst, const image_ref *src); /* dst must not hold anything */

/* TagNameOnly: adds "latest" when there is neither tag nor digest. */
void ref_with_default_tag(image_ref *r);
/* WithTag: replaces the tag (keeping any digest); "invalid tag format" (400). */
int ref_with_tag(image_ref *r, const char *tag, arca_err *err);
/* WithDigest: replaces the digest (keeping any tag); only the grammar is checked, as
 * Docker does; "invalid digest format" (400). */
int ref_with_digest(image_ref *r, const char *digest, arca_err *err);
/* TrimNamed: drops tag and digest. */
void ref_trim(image_ref *r);

/* String forms; each returns a new string the caller frees. */
char *ref_full(const image_ref *r);          /* "docker.io/library/busybox:latest", with
                                                "@sha256:..." after the tag when present */
char *ref_full_name(const image_ref *r);     /* "docker.io/library/busybox" */
char *ref_familiar(const image_ref *r);      /* FamiliarString: "busybox:latest", "user/app:1",
                                                "127.0.0.1:5000/x:y" */
char *ref_familiar_name(const image_ref *r); /* FamiliarName: "busybox", "127.0.0.1:5000/x" */

bool ref_is_docker_hub(const image_ref *r);
/* The registry's repository path for the distribution API: "library/busybox". */
const char *ref_repository_path(const image_ref *r);

/* "sha256:" + 64 lowercase hex, "sha384:" + 96 or "sha512:" + 128. */
bool digest_is_valid(const char *d);
/* go-digest's Parse, with its texts: "invalid checksum digest format", "invalid checksum
 * digest length", "unsupported digest algorithm" (400). */
int digest_validate(const char *d, arca_err *err);

/* The anchored tag grammar; "invalid tag format" (400). */
int ref_validate_tag(const char *tag, arca_err *err);

/* POST /images/create?fromImage=<repo>&tag=<tag>, as the daemon reads them: one trailing
 * ':' of repo is ignored ("pull -a"); a tag that parses as a digest replaces tag and digest
 * of repo, any other non-empty tag replaces the tag (and "invalid tag format" if it is not
 * one). tag may be NULL or "". No default tag is added; see ref_check_not_reserved(). */
int ref_parse_repo_tag(const char *repo, const char *tag, image_ref *out, arca_err *err);
/* RepoTagReference, for POST /images/{name}/tag, import and push: repo must not carry a
 * digest ("cannot import digest reference"), tag replaces any tag, and "latest" is the
 * default. An empty or NULL repo is no reference: returns 0 with *out zeroed (Docker then
 * does nothing). */
int ref_repo_tag_reference(const char *repo, const char *tag, image_ref *out, arca_err *err);
/* The pull check after parsing: "'scratch' is a reserved name" (403). */
int ref_check_not_reserved(const image_ref *r, arca_err *err);
/* The tag check: a repository named like the digest algorithm would read as a digest:
 * "refusing to create an ambiguous tag using digest algorithm as name" (400). */
int ref_check_tag_name(const image_ref *r, arca_err *err);

#endif
