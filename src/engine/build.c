/* docker build, classic builder: the request's options, the context and Dockerfile
 * (build_prepare), the stage loop with Docker's step output (build_run), FROM, tags.
 * Instructions are in build_dispatch.c and build_copy.c, images and the cache in
 * build_commit.c and build_cache.c. */
#include "common/lazy_curl.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "builder/build_fmt.h"
#include "builder/build_git.h"
#include "builder/copy_tar.h"
#include "builder/run_config.h"
#include "builder/shell_lex.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "engine/build_internal.h"
#include "engine/engine.h"
#include "engine/image_pull.h"
#include "image/reference.h"
#include "image/registry.h"

#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define REMOTE_CONTEXT_MAX (512ull << 20)

void build_opts_free(build_opts *o) {
  for (size_t i = 0; i < o->ntags; i++) free(o->tags[i]);
  free(o->tags);
  for (size_t i = 0; i < o->nextrahosts; i++) free(o->extrahosts[i]);
  free(o->extrahosts);
  free(o->dockerfile);
  free(o->target);
  free(o->remote);
  json_decref(o->buildargs);
  json_decref(o->labels);
  json_decref(o->cache_from);
  json_decref(o->ulimits);
  free(o->cpusetcpus);
  free(o->cpusetmems);
  free(o->cgroupparent);
  free(o->networkmode);
  free(o->platform);
  free(o->isolation);
  free(o->registry_config);
  memset(o, 0, sizeof *o);
}

void build_free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

/* ---- output ---- */

static void emit_line(build_job *j, const char *line, size_t n) {
  if (j->o.quiet) {
    sb_append(&j->quiet, line, n);
    return;
  }
  if (j->gone) return;
  if (j->write(j->wctx, line, n) < 0) j->gone = true;
}

static void emit_stream(build_job *j, const char *prefix, const char *buf, size_t n,
                        const char *suffix) {
  strbuf text;
  sb_init(&text);
  sb_puts(&text, prefix);
  sb_append(&text, buf, n);
  sb_puts(&text, suffix);
  strbuf line;
  sb_init(&line);
  sb_puts(&line, "{\"stream\":");
  go_json_string(&line, text.buf, text.len);
  sb_puts(&line, "}\n");
  emit_line(j, line.buf, line.len);
  sb_free(&line);
  sb_free(&text);
}

void bout_stdout_raw(build_job *j, const char *buf, size_t n) { emit_stream(j, "", buf, n, ""); }
void bout_stderr_raw(build_job *j, const char *buf, size_t n) {
  emit_stream(j, "\033[91m", buf, n, "\033[0m");
}

void bout_stdout(build_job *j, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  if (s) bout_stdout_raw(j, s, strlen(s));
  free(s);
}

void bout_json(build_job *j, const json_t *msg) {
  autofree char *text = json_dumps(msg, JSON_COMPACT);
  if (!text) return;
  strbuf line;
  sb_init(&line);
  sb_puts(&line, text);
  sb_puts(&line, "\n");
  emit_line(j, line.buf, line.len);
  sb_free(&line);
}

static void bout_error(build_job *j, const char *msg, int code) {
  if (j->o.quiet && j->quiet.len && !j->gone) {
    if (j->write(j->wctx, j->quiet.buf, j->quiet.len) < 0) j->gone = true;
  }
  sb_free(&j->quiet);
  sb_init(&j->quiet);
  strbuf line;
  sb_init(&line);
  sb_puts(&line, "{\"errorDetail\":{");
  if (code) sb_printf(&line, "\"code\":%d,", code);
  sb_puts(&line, "\"message\":");
  go_json_string(&line, msg, strlen(msg));
  sb_puts(&line, "},\"error\":");
  go_json_string(&line, msg, strlen(msg));
  sb_puts(&line, "}\n");
  if (!j->gone && j->write(j->wctx, line.buf, line.len) < 0) j->gone = true;
  sb_free(&line);
}

static void bout_aux(build_job *j, const char *id) {
  strbuf line;
  sb_init(&line);
  sb_puts(&line, "{\"aux\":{\"ID\":");
  go_json_string(&line, id, strlen(id));
  sb_puts(&line, "}}\n");
  emit_line(j, line.buf, line.len);
  sb_free(&line);
}

bool build_cancelled(build_job *j) {
  if (j->gone) return true;
  if (j->cancel_fd < 0) return false;
  struct pollfd p = {.fd = j->cancel_fd, .events = POLLIN};
  return poll(&p, 1, 0) > 0;
}

static const char *short_id(const char *id, char out[13]) {
  const char *hex = str_has_prefix(id, "sha256:") ? id + 7 : id;
  snprintf(out, 13, "%s", hex);
  return out;
}

static void print_step(build_job *j, const char *original) {
  j->step++;
  bout_stdout(j, "Step %d/%d : %s", j->step, j->total, original);
  bout_stdout_raw(j, "\n", 1);
}

/* ---- expansion ---- */

char **build_step_env(const dispatch_state *st, size_t *n) {
  json_t *env = json_object_get(st->cfg, "Env");
  size_t na;
  char **args = build_args_filter_allowed(st->args, env, &na);
  size_t ne = json_array_size(env);
  char **out = xcalloc(ne + na + 1, sizeof *out);
  *n = 0;
  for (size_t i = 0; i < ne; i++)
    out[(*n)++] = xstrdup(json_string_value(json_array_get(env, i)) ?: "");
  for (size_t i = 0; i < na; i++) out[(*n)++] = xstrdup(args[i]);
  build_args_free_list(args, na);
  return out;
}

int build_expand(const dispatch_state *st, const char *word, char **out, arca_err *err) {
  size_t n;
  char **env = build_step_env(st, &n);
  int rc = shell_lex_word(word, st->escape, (const char *const *)env, n, out, err);
  build_free_strv(env, n);
  return rc;
}

static int expand_meta(build_job *j, const char *word, char **out, arca_err *err) {
  size_t n;
  char **env = build_args_all_meta(j->args, &n);
  int rc = shell_lex_word(word, j->df.escape, (const char *const *)env, n, out, err);
  build_args_free_list(env, n);
  return rc;
}

/* ---- images for FROM and COPY --from ---- */

static int emit_progress(void *ctx, const json_t *msg) {
  build_job *j = ctx;
  bout_json(j, msg);
  return j->gone ? -1 : 0;
}

static void b64url(const unsigned char *in, size_t n, strbuf *out) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < n) v |= in[i + 2];
    char c[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                 i + 2 < n ? tab[v & 63] : '='};
    sb_append(out, c, 4);
  }
}

/* ResolveAuthConfig: the entry of X-Registry-Config for the image's registry, re-encoded
 * as an X-Registry-Auth header (caller frees), or NULL. */
static char *auth_for(build_job *j, const char *name) {
  if (!json_object_size(j->auth_configs)) return NULL;
  image_ref r = {0};
  if (ref_parse(name, &r, NULL) < 0) return NULL;
  bool hub = ref_is_docker_hub(&r);
  autofree char *host = xstrdup(r.domain ? r.domain : "");
  ref_free(&r);
  const char *k;
  json_t *v;
  json_object_foreach(j->auth_configs, k, v) {
    const char *key = k;
    if (str_has_prefix(key, "https://"))
      key += 8;
    else if (str_has_prefix(key, "http://"))
      key += 7;
    size_t kl = strcspn(key, "/");
    bool match = (strlen(host) == kl && !strncmp(key, host, kl)) ||
                 (hub && (!strncmp(key, "index.docker.io", kl) || !strncmp(key, "docker.io", kl)));
    if (!match) continue;
    autofree char *text = json_dumps(v, JSON_COMPACT);
    strbuf sb;
    sb_init(&sb);
    b64url((const unsigned char *)text, strlen(text), &sb);
    return sb_steal(&sb);
  }
  return NULL;
}

static int pull(build_job *j, const char *name, const char *platform, arca_err *err) {
  autofree char *auth = auth_for(j, name);
  return image_pull(j->e, name, platform, auth, emit_progress, j, j->cancel_fd, err);
}

static bool arch_matches(build_job *j, const char *id, const char *platform) {
  if (!platform || !*platform) return true;
  char os[16], arch[16], variant[16];
  if (platform_parse(platform, os, arch, variant, NULL) < 0) return true;
  autojson json_t *cfg = NULL;
  if (image_config(j->e, id, &cfg, NULL) < 0) return true;
  const char *a = json_string_value(json_object_get(cfg, "architecture"));
  return !a || !*arch || !strcmp(a, arch);
}

int build_get_image(build_job *j, const char *name, const char *platform, bool local_only,
                    char id[DIGEST_STR_SIZE], arca_err *err) {
  if (local_only || !j->o.pull) {
    arca_err lerr;
    if (image_resolve(j->e, name, id, &lerr) == 0) {
      if (local_only || arch_matches(j, id, platform)) return 0;
    } else if (local_only || lerr.status != 404) {
      err_copy(err, &lerr);
      return -1;
    }
  }
  if (pull(j, name, platform, err) < 0) return -1;
  return image_resolve(j->e, name, id, err);
}

/* ---- stages ---- */

static const stage_result *stage_by_name(build_job *j, const char *name) {
  for (size_t i = 0; i < j->nresults; i++)
    if (j->results[i].name && !strcasecmp(j->results[i].name, name)) return &j->results[i];
  return NULL;
}

static void state_free(dispatch_state *st) {
  json_decref(st->cfg);
  free(st->maintainer);
  free(st->stage_name);
  build_args_free(st->args);
  memset(st, 0, sizeof *st);
}

static void set_default_path(json_t *cfg) {
  json_t *env = json_object_get(cfg, "Env");
  size_t i;
  json_t *v;
  json_array_foreach(env, i, v) {
    const char *s = json_string_value(v);
    if (s && (str_has_prefix(s, "PATH=") || !strcmp(s, "PATH"))) return;
  }
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(cfg, "Env", env);
  }
  json_array_append_new(env, json_string(DEFAULT_PATH_ENV));
}

/* initializeStage + beginStage */
static int init_stage(build_job *j, dispatch_state *st, const df_instr *from, arca_err *err) {
  st->cache_busted = false;
  autofree char *platform = NULL;
  const df_flag *pf = df_instr_flag(from, "platform");
  if (pf && pf->value) {
    if (expand_meta(j, pf->value, &platform, err) < 0)
      return err_wrap(err, "failed to process arguments for platform %s", pf->value);
    char os[16], arch[16], variant[16];
    if (platform_parse(platform, os, arch, variant, err) < 0)
      return err_wrap(err, "failed to parse platform %s", platform);
  } else if (j->o.platform && *j->o.platform) {
    platform = xstrdup(j->o.platform);
  }
  autofree char *name = NULL;
  if (expand_meta(j, from->args[0], &name, err) < 0) return -1;
  if (!*name) return err_set(err, 400, "base name (%s) should not be blank", from->args[0]);
  st->stage_name = from->stage_name ? xstrdup(from->stage_name) : NULL;
  json_t *img_cfg = NULL;
  if (!strcmp(name, "scratch")) {
    st->image_id[0] = '\0';
    char os[16] = "linux", arch[16], variant[16] = "";
    snprintf(arch, sizeof arch, "%s", j->plat_arch);
    if (platform) platform_parse(platform, os, arch, variant, NULL);
    snprintf(st->os, sizeof st->os, "%s", os);
    snprintf(st->arch, sizeof st->arch, "%s", arch);
    snprintf(st->variant, sizeof st->variant, "%s", variant);
    st->cfg = runcfg_normalize(NULL);
  } else {
    const stage_result *sr = stage_by_name(j, name);
    if (sr)
      memcpy(st->image_id, sr->image_id, DIGEST_STR_SIZE);
    else if (build_get_image(j, name, platform, false, st->image_id, err) < 0)
      return -1;
    if (image_config(j->e, st->image_id, &img_cfg, err) < 0) return -1;
    const char *os = json_string_value(json_object_get(img_cfg, "os"));
    if (os && *os && strcmp(os, "linux")) {
      json_decref(img_cfg);
      return err_set(err, 400, "operating system is not supported: %s", os);
    }
    snprintf(st->os, sizeof st->os, "linux");
    snprintf(st->arch, sizeof st->arch, "%s",
             json_string_value(json_object_get(img_cfg, "architecture")) ?: j->plat_arch);
    snprintf(st->variant, sizeof st->variant, "%s",
             json_string_value(json_object_get(img_cfg, "variant")) ?: "");
    st->cfg = runcfg_normalize(json_object_get(img_cfg, "config"));
    json_decref(img_cfg);
  }
  set_default_path(st->cfg);
  json_object_set_new(st->cfg, "OpenStdin", json_false());
  json_object_set_new(st->cfg, "StdinOnce", json_false());
  json_t *triggers = json_object_get(st->cfg, "OnBuild");
  if (json_array_size(triggers)) {
    json_incref(triggers);
    json_object_set_new(st->cfg, "OnBuild", json_null());
    int rc = build_run_triggers(j, st, triggers, err);
    json_decref(triggers);
    return rc;
  }
  return 0;
}

static void update_run_config(dispatch_state *st) {
  json_object_set_new(st->cfg, "Image", json_string(st->image_id));
}

/* ---- prepare ---- */

static size_t curl_to_fd(char *ptr, size_t size, size_t nmemb, void *ud) {
  int fd = *(int *)ud;
  return write_all(fd, ptr, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* A remote context: a tarball or a Dockerfile over HTTP(S), fetched into fd. */
static int fetch_remote(const char *url, int fd, char **content_type, arca_err *err) {
  CURL *c = curl_easy_init();
  if (!c) return err_set(err, 500, "error downloading remote context %s: curl unavailable", url);
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_to_fd);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &fd);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)REMOTE_CONTEXT_MAX);
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  char *ct = NULL;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
  *content_type = xstrdup(ct ? ct : "");
  curl_easy_cleanup(c);
  if (rc != CURLE_OK)
    return err_set(err, 500, "error downloading remote context %s: Get \"%s\": %s", url, url,
                   *errbuf ? errbuf : curl_easy_strerror(rc));
  if (status >= 400) {
    char body[512] = "";
    ssize_t n = pread(fd, body, sizeof body - 1, 0);
    if (n > 0) body[n] = 0;
    size_t s, e;
    for (s = 0; body[s] == ' ' || body[s] == '\n' || body[s] == '\r' || body[s] == '\t'; s++) {
    }
    for (e = strlen(body); e > s && strchr(" \n\r\t", body[e - 1]); e--) {
    }
    body[e] = 0;
    return err_set(err,
                   status == 404   ? 404
                   : status == 400 ? 400
                                   : 500,
                   "error downloading remote context %s: failed to GET %s with status %ld: %s", url,
                   url, status, body + s);
  }
  return 0;
}

/* MakeGitContext: the checkout as a tar, as if the client had sent it. */
static int git_context(engine *e, const char *url, int *fd_out, arca_err *err) {
  char rnd[17];
  random_hex(rnd, 8);
  autofree char *dir = xasprintf("%s/git-%s", e->tmp_dir, rnd);
  autofree char *ctx_dir = NULL;
  int rc = build_git_fetch(url, dir, &ctx_dir, err);
  autofree char *tar = xasprintf("%s.tar", dir);
  int fd = -1;
  if (rc == 0) {
    fd = open(tar, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) rc = err_errno(err, 500, errno, "create %s", tar);
    unlink(tar);
  }
  copy_tar *t = NULL;
  if (rc == 0) rc = copy_tar_open(fd, &t, err);
  if (rc == 0) {
    rc = copy_tar_tree(t, "", ctx_dir, -1, -1, err);
    if (rc == 0)
      rc = copy_tar_close(t, err);
    else
      copy_tar_abort(t);
  }
  rm_rf(dir, NULL);
  if (rc < 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *fd_out = fd;
  return 0;
}

static int sanitize_tags(build_job *j, arca_err *err) {
  j->tags = xcalloc(j->o.ntags + 1, sizeof *j->tags);
  j->tags_familiar = xcalloc(j->o.ntags + 1, sizeof *j->tags_familiar);
  for (size_t i = 0; i < j->o.ntags; i++) {
    if (!*j->o.tags[i]) continue;
    image_ref r = {0};
    if (ref_parse(j->o.tags[i], &r, err) < 0) return -1;
    if (r.digest) {
      ref_free(&r);
      return err_set(err, 400, "build tag cannot contain a digest");
    }
    ref_with_default_tag(&r);
    char *full = ref_full(&r);
    bool dup = false;
    for (size_t k = 0; k < j->ntags; k++)
      if (!strcmp(j->tags[k], full)) dup = true;
    if (dup)
      free(full);
    else {
      j->tags[j->ntags] = full;
      j->tags_familiar[j->ntags++] = ref_familiar(&r);
    }
    ref_free(&r);
  }
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int plan_stages(build_job *j, arca_err *err) {
  size_t i = 0;
  while (i < j->df.n && !strcmp(j->df.instrs[i].keyword, "arg")) i++;
  j->nmeta = i;
  j->stages = xcalloc(j->df.n + 1, sizeof *j->stages);
  for (; i < j->df.n; i++) {
    if (strcmp(j->df.instrs[i].keyword, "from")) continue;
    if (j->nstages) j->stages[j->nstages - 1].end = i;
    j->stages[j->nstages++] = (build_stage){.from = i, .end = j->df.n};
  }
  if (j->o.target && *j->o.target) {
    size_t found = SIZE_MAX;
    for (size_t s = 0; s < j->nstages; s++) {
      const char *nm = j->df.instrs[j->stages[s].from].stage_name;
      if (nm && !strcasecmp(nm, j->o.target)) {
        found = s;
        break;
      }
    }
    if (found == SIZE_MAX)
      return err_set(err, 400, "target stage \"%s\" could not be found", j->o.target);
    j->nstages = found + 1;
  }
  if (json_object_size(j->o.labels)) {
    j->label_keys = xcalloc(json_object_size(j->o.labels) + 1, sizeof *j->label_keys);
    const char *k;
    json_t *v;
    json_object_foreach(j->o.labels, k, v) j->label_keys[j->nlabels++] = xstrdup(k);
    qsort(j->label_keys, j->nlabels, sizeof *j->label_keys, cmp_str);
  }
  return 0;
}

int build_prepare(engine *e, build_opts *o, int body_fd, build_job **out, arca_err *err) {
  build_job *j = xcalloc(1, sizeof *j);
  j->e = e;
  j->o = *o;
  memset(o, 0, sizeof *o);
  j->cancel_fd = -1;
  sb_init(&j->quiet);
  if (!j->o.dockerfile || !*j->o.dockerfile) {
    free(j->o.dockerfile);
    j->o.dockerfile = xstrdup("Dockerfile");
  }
  autofree char *df_text = NULL, *df_name = NULL;
  size_t df_len = 0;
  autoclose int remote_fd = -1;
  if (j->o.squash) {
    err_set(err, 400, "squash is only supported with experimental mode");
    goto fail;
  }
  if (sanitize_tags(j, err) < 0) goto fail;
  snprintf(j->plat_os, sizeof j->plat_os, "linux");
  snprintf(j->plat_arch, sizeof j->plat_arch, "%s", e->host.go_arch);
  if (j->o.platform && *j->o.platform) {
    if (platform_parse(j->o.platform, j->plat_os, j->plat_arch, j->plat_variant, err) < 0)
      goto fail;
    if (strcmp(j->plat_os, "linux")) {
      err_set(err, 400, "operating system is not supported: %s", j->plat_os);
      goto fail;
    }
    j->plat_given = true;
  }
  if (j->o.registry_config && *j->o.registry_config) {
    unsigned char *raw = NULL;
    size_t rawn = 0;
    if (registry_base64_decode(j->o.registry_config, strlen(j->o.registry_config), &raw, &rawn) ==
        0) {
      j->auth_configs = json_loadb((const char *)raw, rawn, 0, NULL);
      if (!json_is_object(j->auth_configs)) {
        json_decref(j->auth_configs);
        j->auth_configs = NULL;
      }
    }
    free(raw);
  }
  if (j->o.remote && *j->o.remote) {
    const char *url = j->o.remote;
    if (!strcmp(url, "client-session")) {
      err_set(err, 400,
              "experimental session with v1 builder is no longer supported, use builder version v2 "
              "(BuildKit) instead");
      goto fail;
    }
    if (build_is_git_url(url)) {
      if (git_context(e, url, &remote_fd, err) < 0) goto fail;
      body_fd = remote_fd;
      goto context;
    }
    if (!str_has_prefix(url, "http://") && !str_has_prefix(url, "https://")) {
      err_set(err, 500, "remoteURL (%s) could not be recognized as URL", url);
      goto fail;
    }
    autofree char *path = xasprintf("%s/remote-XXXXXX", e->tmp_dir);
    remote_fd = mkostemp(path, O_CLOEXEC);
    if (remote_fd < 0) {
      err_errno(err, 500, errno, "create %s", path);
      goto fail;
    }
    unlink(path);
    autofree char *ctype = NULL;
    if (fetch_remote(url, remote_fd, &ctype, err) < 0) goto fail;
    off_t size = lseek(remote_fd, 0, SEEK_END);
    if (size <= 0) {
      err_set(err, 500, "error detecting content type for remote %s: empty response", url);
      goto fail;
    }
    if (str_has_prefix(ctype, "text/plain")) {
      /* the remote file is the Dockerfile itself; there is no context */
      df_text = xmalloc((size_t)size + 1);
      if (pread(remote_fd, df_text, (size_t)size, 0) != size) {
        err_errno(err, 500, errno, "read remote Dockerfile");
        goto fail;
      }
      df_text[size] = 0;
      df_len = (size_t)size;
      df_name = xstrdup(j->o.dockerfile);
      if (build_context_from_tar(-1, e->tmp_dir, &j->ctx, err) < 0) goto fail;
    } else {
      body_fd = remote_fd;
    }
  }
context:
  if (!j->ctx) {
    if (build_context_from_tar(body_fd, e->tmp_dir, &j->ctx, err) < 0) goto fail;
    if (build_context_read_file(j->ctx, j->o.dockerfile, !strcmp(j->o.dockerfile, "Dockerfile"),
                                &df_text, &df_len, &df_name, err) < 0)
      goto fail;
  }
  if (dockerfile_parse(df_name, df_text, df_len, &j->df, err) < 0) goto fail;
  j->df_parsed = true;
  if (build_context_apply_dockerignore(j->ctx, df_name, err) < 0) goto fail;
  if (plan_stages(j, err) < 0) goto fail;
  j->tmp_dir = xasprintf("%s-tmp", build_context_root(j->ctx));
  if (mkdir_p(j->tmp_dir, 0700, err) < 0) goto fail;
  *out = j;
  return 0;
fail:
  build_job_free(j);
  return -1;
}

void build_job_free(build_job *j) {
  if (!j) return;
  build_opts_free(&j->o);
  build_context_free(j->ctx);
  if (j->df_parsed) dockerfile_free(&j->df);
  free(j->stages);
  build_free_strv(j->tags, j->ntags);
  build_free_strv(j->tags_familiar, j->ntags);
  build_free_strv(j->label_keys, j->nlabels);
  sb_free(&j->quiet);
  build_args_free(j->args);
  for (size_t i = 0; i < j->nresults; i++) free(j->results[i].name);
  free(j->results);
  free(j->tmp);
  if (j->tmp_dir) rm_rf(j->tmp_dir, NULL);
  free(j->tmp_dir);
  free(j->cache_from);
  json_decref(j->auth_configs);
  free(j);
}

/* ---- run ---- */

static void resolve_cache_from(build_job *j) {
  size_t n = json_array_size(j->o.cache_from);
  j->cache_from = xcalloc(n + 1, sizeof *j->cache_from);
  for (size_t i = 0; i < n; i++) {
    const char *ref = json_string_value(json_array_get(j->o.cache_from, i));
    arca_err lerr;
    if (!ref || image_resolve(j->e, ref, j->cache_from[j->ncache_from], &lerr) < 0) {
      log_kv(LOG_WARN, "Could not look up image for cache resolution, skipping", "ref",
             ref ? ref : "", "error", ref ? lerr.msg : "not a string", NULL);
      continue;
    }
    j->ncache_from++;
  }
}

/* processMetaArg */
static int meta_arg(build_job *j, const df_instr *in, arca_err *err) {
  size_t n;
  char **env = build_args_all_allowed(j->args, &n);
  int rc = 0;
  char **keys = xcalloc(in->nkvs + 1, sizeof *keys), **vals = xcalloc(in->nkvs + 1, sizeof *vals);
  for (size_t i = 0; i < in->nkvs && rc == 0; i++) {
    rc = shell_lex_word(in->kvs[i].key, j->df.escape, (const char *const *)env, n, &keys[i], err);
    if (rc == 0 && in->kvs[i].value)
      rc = shell_lex_word(in->kvs[i].value, j->df.escape, (const char *const *)env, n, &vals[i],
                          err);
  }
  for (size_t i = 0; i < in->nkvs && rc == 0; i++) {
    build_args_add(j->args, keys[i], vals[i]);
    build_args_add_meta(j->args, keys[i], vals[i]);
  }
  build_free_strv(keys, in->nkvs);
  build_free_strv(vals, in->nkvs);
  build_args_free_list(env, n);
  return rc;
}

static int tag_image(build_job *j, const char *id, arca_err *err) {
  for (size_t i = 0; i < j->ntags; i++) {
    image_ref r = {0};
    if (ref_parse(j->tags[i], &r, err) < 0) return -1;
    autofree char *repo = ref_full_name(&r);
    autofree char *tag = xstrdup(r.tag ? r.tag : "latest");
    ref_free(&r);
    if (image_tag(j->e, id, repo, tag, err) < 0) return -1;
    bout_stdout(j, "Successfully tagged %s\n", j->tags_familiar[i]);
  }
  return 0;
}

static int run_stage(build_job *j, size_t si, dispatch_state *st, arca_err *err) {
  const build_stage *bs = &j->stages[si];
  const df_instr *from = &j->df.instrs[bs->from];
  if (from->stage_name && stage_by_name(j, from->stage_name))
    return err_set(err, 400, "%s stage name already used", from->stage_name);
  st->args = build_args_clone(j->args);
  build_args_reset_allowed(st->args);
  st->escape = j->df.escape;
  print_step(j, from->original);
  if (init_stage(j, st, from, err) < 0) return -1;
  update_run_config(st);
  char sid[13];
  bout_stdout(j, " ---> %s\n", short_id(st->image_id, sid));
  bool last = si + 1 == j->nstages;
  size_t ncmds = bs->end - bs->from - 1 + (last ? j->nlabels : 0);
  for (size_t c = 0; c < ncmds; c++) {
    if (build_cancelled(j)) {
      bout_stdout(j, "Build cancelled\n");
      return err_set(err, 500, "Build cancelled");
    }
    int rc;
    if (c < bs->end - bs->from - 1) {
      const df_instr *in = &j->df.instrs[bs->from + 1 + c];
      print_step(j, in->original);
      rc = build_dispatch(j, st, in, err);
    } else {
      const char *k = j->label_keys[c - (bs->end - bs->from - 1)];
      const char *v = json_string_value(json_object_get(j->o.labels, k)) ?: "";
      autofree char *orig = xasprintf("LABEL %s=%s", k, v);
      print_step(j, orig);
      rc = build_dispatch_label_option(j, st, k, v, err);
    }
    build_containers_cleanup(j, rc == 0);
    if (rc < 0) return -1;
    update_run_config(st);
    bout_stdout(j, " ---> %s\n", short_id(st->image_id, sid));
  }
  if (j->o.want_aux && st->image_id[0]) bout_aux(j, st->image_id);
  build_args_merge_referenced(j->args, st->args);
  j->results = xrealloc(j->results, (j->nresults + 1) * sizeof *j->results);
  stage_result *r = &j->results[j->nresults++];
  r->name = st->stage_name ? xstrdup(st->stage_name) : NULL;
  memcpy(r->image_id, st->image_id, DIGEST_STR_SIZE);
  return 0;
}

static int run_all(build_job *j, char final_id[DIGEST_STR_SIZE], arca_err *err) {
  j->args = build_args_new(j->o.buildargs);
  resolve_cache_from(j);
  for (size_t i = 0; i < j->df.nwarnings; i++) {
    autofree char *w = xasprintf("[WARNING]: %s\n", j->df.warnings[i]);
    bout_stderr_raw(j, w, strlen(w));
  }
  if (j->df.nwarnings) {
    const char *w = "[WARNING]: Empty continuation lines will become errors in a future release.\n";
    bout_stderr_raw(j, w, strlen(w));
  }
  j->total = (int)j->nmeta + (int)j->nstages;
  for (size_t s = 0; s < j->nstages; s++)
    j->total += (int)(j->stages[s].end - j->stages[s].from - 1);
  if (j->nstages) j->total += (int)j->nlabels;
  for (size_t i = 0; i < j->nmeta; i++) {
    print_step(j, j->df.instrs[i].original);
    if (meta_arg(j, &j->df.instrs[i], err) < 0) return -1;
  }
  final_id[0] = '\0';
  for (size_t s = 0; s < j->nstages; s++) {
    dispatch_state st = {0};
    int rc = run_stage(j, s, &st, err);
    if (rc == 0) memcpy(final_id, st.image_id, DIGEST_STR_SIZE);
    state_free(&st);
    if (rc < 0) return -1;
  }
  autofree char *warn = build_args_unused_warning(j->args);
  if (warn) bout_stdout(j, "%s", warn);
  if (!final_id[0]) return err_set(err, 500, "No image was generated. Is your Dockerfile empty?");
  return 0;
}

int build_run(build_job *j, build_write_fn write, void *ctx, int cancel_fd) {
  j->write = write;
  j->wctx = ctx;
  j->cancel_fd = cancel_fd;
  arca_err err;
  err_clear(&err);
  char id[DIGEST_STR_SIZE];
  int rc = run_all(j, id, &err);
  if (rc == 0) {
    char sid[13];
    bout_stdout(j, "Successfully built %s\n", short_id(id, sid));
    rc = tag_image(j, id, &err);
  }
  if (rc < 0) {
    bout_error(j, err.msg, j->error_code);
    return -1;
  }
  if (j->o.quiet) {
    sb_free(&j->quiet);
    sb_init(&j->quiet);
    j->o.quiet = false;
    bout_stdout(j, "%s\n", id);
  }
  return 0;
}
