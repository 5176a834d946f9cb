/* A small driver of the registry client for tests/e2e/registry_client_test.sh (not a unit
 * test: it needs a live registry). Usage:
 *   registry_cli [options] <command> [args]
 * options: --registry DOMAIN, --auth X-REGISTRY-AUTH, --user U, --pass P, --identity-token T,
 *          --registry-token T, --insecure ENTRY (repeatable), --mirror URL (repeatable),
 *          --attempts N, --retry-delay-ms N, --stall-ms N, --chunk BYTES
 * commands:
 *   ping | login
 *   get-manifest REPO REF OUT | head-manifest REPO REF
 *   fetch-blob REPO DIGEST SIZE OUT [CANCEL_AFTER_BYTES]
 *   fetch-concurrent REPO DIGEST SIZE THREADS OUTDIR
 *   exists REPO DIGEST | mount REPO FROM DIGEST | upload REPO FILE DIGEST
 *   put-manifest REPO REF MEDIA_TYPE FILE | tags REPO | search TERM LIMIT
 * Results go to stdout as "key: value" lines; a failure prints "ERROR <status>: <message>"
 * and exits 2. */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "image/registry.h"

static const char *insecure[16], *mirrors[16];
static size_t ninsecure, nmirrors;
static registry_tuning tuning = {.retry_delay_ms = -1};

static int fail(const arca_err *e) {
  printf("ERROR %d: %s\n", e->status, e->msg);
  return 2;
}

static void on_retry(void *ctx, int attempt, int delay) {
  printf("retry: attempt=%d delay=%ds\n", attempt, delay);
  fflush(stdout);
}

typedef struct progress {
  int64_t last, total, calls, cancel_after;
  int cancel_w;
} progress;

static void on_progress(void *ctx, int64_t done, int64_t total) {
  progress *p = ctx;
  p->last = done;
  p->total = total;
  p->calls++;
  if (p->cancel_after > 0 && done >= p->cancel_after && p->cancel_w >= 0) {
    if (write(p->cancel_w, "x", 1) < 0) perror("write");
    close(p->cancel_w);
    p->cancel_w = -1;
  }
}

static int open_client(const char *domain, const registry_auth *auth, registry_client **c,
                       arca_err *e) {
  registry_endpoint *eps = NULL;
  size_t n = 0;
  if (registry_endpoints(domain, insecure, ninsecure, mirrors, nmirrors, &eps, &n, e) < 0)
    return -1;
  int rc = registry_client_open(eps, n, auth, "arca-registry-cli/1", c, e);
  if (rc == 0) {
    tuning.on_retry = on_retry;
    registry_client_tune(*c, &tuning);
    printf("endpoint: %s\n", registry_client_endpoint(*c)->base_url);
  }
  registry_endpoints_free(eps, n);
  return rc;
}

typedef struct fetch_job {
  registry_client *c;
  const char *repo, *digest, *path;
  int64_t size;
  int rc;
  arca_err e;
} fetch_job;

static void *fetch_thread(void *arg) {
  fetch_job *j = arg;
  int fd = open(j->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  j->rc = registry_fetch_blob(j->c, j->repo, j->digest, j->size, fd, NULL, NULL, -1, &j->e);
  close(fd);
  return NULL;
}

int main(int argc, char **argv) {
  const char *domain = NULL;
  registry_auth auth = {0};
  const char *auth_header = NULL;
  int i = 1;
  for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
    if (i + 1 >= argc) {
      fprintf(stderr, "%s needs a value\n", argv[i]);
      return 1;
    }
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--registry")) domain = v;
    else if (!strcmp(k, "--auth")) auth_header = v;
    else if (!strcmp(k, "--user")) auth.username = xstrdup(v);
    else if (!strcmp(k, "--pass")) auth.password = xstrdup(v);
    else if (!strcmp(k, "--identity-token")) auth.identity_token = xstrdup(v);
    else if (!strcmp(k, "--registry-token")) auth.registry_token = xstrdup(v);
    else if (!strcmp(k, "--insecure") && ninsecure < 16) insecure[ninsecure++] = v;
    else if (!strcmp(k, "--mirror") && nmirrors < 16) mirrors[nmirrors++] = v;
    else if (!strcmp(k, "--attempts")) tuning.max_attempts = atoi(v);
    else if (!strcmp(k, "--retry-delay-ms")) tuning.retry_delay_ms = atoi(v);
    else if (!strcmp(k, "--stall-ms")) tuning.stall_timeout_ms = atoi(v);
    else if (!strcmp(k, "--chunk")) tuning.chunk_size = atoll(v);
    else {
      fprintf(stderr, "unknown option %s\n", k);
      return 1;
    }
  }
  if (i >= argc) {
    fprintf(stderr, "no command\n");
    return 1;
  }
  arca_err e = {0};
  if (auth_header) {
    registry_auth_free(&auth);
    if (registry_auth_decode(auth_header, &auth, &e) < 0) return fail(&e);
  }
  const char *cmd = argv[i++];
  char **args = argv + i;
  int nargs = argc - i;
  int rc = 0;

  if (!strcmp(cmd, "search")) {
    if (nargs != 2) return 1;
    json_t *res = NULL;
    if (registry_search(args[0], atoi(args[1]), &auth, insecure, ninsecure, "arca-registry-cli/1",
                        &res, &e) < 0) {
      registry_auth_free(&auth);
      return fail(&e);
    }
    char *s = json_dumps(res, JSON_COMPACT);
    printf("results: %s\n", s);
    free(s);
    json_decref(res);
    registry_auth_free(&auth);
    return 0;
  }
  if (!domain) {
    fprintf(stderr, "--registry is needed\n");
    return 1;
  }
  if (!strcmp(cmd, "login")) {
    registry_endpoint *eps = NULL;
    size_t n = 0;
    char *tok = NULL;
    if (registry_endpoints(domain, insecure, ninsecure, NULL, 0, &eps, &n, &e) < 0 ||
        registry_login(eps, n, &auth, "arca-registry-cli/1", &tok, &e) < 0) {
      registry_endpoints_free(eps, n);
      registry_auth_free(&auth);
      return fail(&e);
    }
    printf("status: Login Succeeded\n");
    if (tok) printf("identity-token: %s\n", tok);
    free(tok);
    registry_endpoints_free(eps, n);
    registry_auth_free(&auth);
    return 0;
  }

  registry_client *c = NULL;
  if (open_client(domain, &auth, &c, &e) < 0) {
    registry_auth_free(&auth);
    return fail(&e);
  }
  registry_auth_free(&auth);

  if (!strcmp(cmd, "ping") && nargs == 0) {
    printf("ping: ok\n");
  } else if (!strcmp(cmd, "get-manifest") && nargs == 3) {
    char *body = NULL, *mt = NULL;
    size_t len = 0;
    char dg[72];
    rc = registry_get_manifest(c, args[0], args[1], &body, &len, &mt, dg, &e);
    if (rc == 0) {
      int fd = open(args[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || write_all(fd, body, len) < 0) perror(args[2]);
      close(fd);
      printf("media-type: %s\ndigest: %s\nsize: %zu\n", mt, dg, len);
    }
    free(body);
    free(mt);
  } else if (!strcmp(cmd, "head-manifest") && nargs == 2) {
    char *mt = NULL;
    char dg[72];
    int64_t size = -1;
    rc = registry_head_manifest(c, args[0], args[1], &mt, dg, &size, &e);
    if (rc == 0) printf("media-type: %s\ndigest: %s\nsize: %" PRId64 "\n", mt, dg, size);
    free(mt);
  } else if (!strcmp(cmd, "fetch-blob") && (nargs == 4 || nargs == 5)) {
    int fd = open(args[3], O_RDWR | O_CREAT | O_TRUNC, 0644);
    progress p = {.cancel_w = -1};
    int pipefd[2] = {-1, -1};
    if (nargs == 5) {
      if (pipe(pipefd) < 0) return 1;
      p.cancel_after = atoll(args[4]);
      p.cancel_w = pipefd[1];
    }
    rc = registry_fetch_blob(c, args[0], args[1], atoll(args[2]), fd, on_progress, &p,
                             pipefd[0], &e);
    struct stat st;
    fstat(fd, &st);
    printf("progress: calls=%" PRId64 " last=%" PRId64 " total=%" PRId64 "\n", p.calls, p.last,
           p.total);
    printf("file-size: %lld\n", (long long)st.st_size);
    close(fd);
    if (pipefd[0] >= 0) close(pipefd[0]);
    if (p.cancel_w >= 0) close(p.cancel_w);
  } else if (!strcmp(cmd, "fetch-concurrent") && nargs == 5) {
    int n = atoi(args[3]);
    fetch_job *jobs = xcalloc((size_t)n, sizeof *jobs);
    pthread_t *th = xcalloc((size_t)n, sizeof *th);
    for (int k = 0; k < n; k++) {
      jobs[k] = (fetch_job){.c = c, .repo = args[0], .digest = args[1], .size = atoll(args[2]),
                            .path = xasprintf("%s/blob.%d", args[4], k)};
      pthread_create(&th[k], NULL, fetch_thread, &jobs[k]);
    }
    int ok = 0;
    for (int k = 0; k < n; k++) {
      pthread_join(th[k], NULL);
      if (jobs[k].rc == 0) ok++;
      else e = jobs[k].e, rc = -1;
      free((char *)jobs[k].path);
    }
    printf("fetched-ok: %d/%d\n", ok, n);
    free(jobs);
    free(th);
  } else if (!strcmp(cmd, "exists") && nargs == 2) {
    bool exists = false;
    int64_t size = -1;
    rc = registry_blob_exists(c, args[0], args[1], &exists, &size, &e);
    if (rc == 0) printf(exists ? "exists: yes %" PRId64 "\n" : "exists: no\n", size);
  } else if (!strcmp(cmd, "mount") && nargs == 3) {
    bool mounted = false;
    rc = registry_mount_blob(c, args[0], args[1], args[2], &mounted, &e);
    if (rc == 0) printf("mounted: %s\n", mounted ? "yes" : "no");
  } else if (!strcmp(cmd, "upload") && nargs == 3) {
    int fd = open(args[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) return 1;
    progress p = {.cancel_w = -1};
    rc = registry_upload_blob(c, args[0], fd, st.st_size, args[2], on_progress, &p, &e);
    close(fd);
    if (rc == 0) printf("uploaded: %lld\n", (long long)st.st_size);
    printf("progress: calls=%" PRId64 " last=%" PRId64 " total=%" PRId64 "\n", p.calls, p.last,
           p.total);
  } else if (!strcmp(cmd, "put-manifest") && nargs == 4) {
    char *body = NULL;
    size_t len = 0;
    if (read_file(args[3], 4 << 20, &body, &len, &e) < 0) return fail(&e);
    char dg[72];
    rc = registry_put_manifest(c, args[0], args[1], args[2], body, len, dg, &e);
    if (rc == 0) printf("digest: %s\n", dg);
    free(body);
  } else if (!strcmp(cmd, "tags") && nargs == 1) {
    char **tags = NULL;
    size_t n = 0;
    rc = registry_list_tags(c, args[0], &tags, &n, &e);
    for (size_t k = 0; rc == 0 && k < n; k++) printf("tag: %s\n", tags[k]);
    if (rc == 0) printf("tags: %zu\n", n);
    registry_tags_free(tags, n);
  } else {
    fprintf(stderr, "bad command or arguments: %s\n", cmd);
    registry_client_free(c);
    return 1;
  }
  registry_client_free(c);
  return rc < 0 ? fail(&e) : 0;
}
