/* POST /containers/create: Docker's config merge with the image, the record, the managed
 * files (hostname, hosts, resolv.conf) and the sandbox prepared by the driver. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/container_config.h"
#include "engine/container_internal.h"
#include "engine/engine.h"
#include "engine/image_pull.h"
#include "engine/names.h"
#include "image/reference.h"

/* ---- runconfig Merge: the image's config under the user's ---- */

static bool is_empty(const json_t *v) {
  return !v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
         (json_is_string(v) && !*json_string_value(v)) || (json_is_object(v) && json_object_size(v) == 0);
}

static void merge_object_keys(json_t *user, const json_t *img_cfg, const char *key) {
  json_t *img = json_object_get(img_cfg, key);
  if (!json_is_object(img) || !json_object_size(img)) return;
  json_t *u = json_object_get(user, key);
  if (!json_is_object(u)) {
    json_object_set_new(user, key, json_deep_copy(img));
    return;
  }
  const char *k;
  json_t *v;
  json_object_foreach(img, k, v) if (!json_object_get(u, k)) json_object_set(u, k, v);
}

static void merge_env(json_t *user, const json_t *img_cfg) {
  json_t *img = json_object_get(img_cfg, "Env");
  json_t *u = json_object_get(user, "Env");
  if (!json_is_array(u) || !json_array_size(u)) {
    if (json_is_array(img)) json_object_set_new(user, "Env", json_deep_copy(img));
    return;
  }
  size_t i;
  json_t *ie;
  json_array_foreach(img, i, ie) {
    const char *s = json_string_value(ie);
    if (!s) continue;
    size_t klen = strcspn(s, "=");
    bool found = false;
    size_t j;
    json_t *ue;
    json_array_foreach(u, j, ue) {
      const char *t = json_string_value(ue);
      if (t && strncmp(t, s, klen) == 0 && (t[klen] == '=' || t[klen] == '\0')) found = true;
    }
    if (!found) json_array_append(u, ie);
  }
}

static void merge_healthcheck(json_t *user, const json_t *img_cfg) {
  json_t *img = json_object_get(img_cfg, "Healthcheck");
  if (!json_is_object(img)) return;
  json_t *u = json_object_get(user, "Healthcheck");
  if (!json_is_object(u)) {
    json_object_set_new(user, "Healthcheck", json_deep_copy(img));
    return;
  }
  if (json_array_size(json_object_get(u, "Test")) == 0 && json_object_get(img, "Test"))
    json_object_set(u, "Test", json_object_get(img, "Test"));
  static const char *const nums[] = {"Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"};
  for (size_t i = 0; i < ARRAY_LEN(nums); i++)
    if (json_integer_value(json_object_get(u, nums[i])) == 0 && json_object_get(img, nums[i]))
      json_object_set(u, nums[i], json_object_get(img, nums[i]));
}

void container_merge_image_config(json_t *user, const json_t *img_cfg) {
  if (!json_is_object(img_cfg)) return;
  if (is_empty(json_object_get(user, "User")) && json_object_get(img_cfg, "User"))
    json_object_set(user, "User", json_object_get(img_cfg, "User"));
  merge_object_keys(user, img_cfg, "ExposedPorts");
  merge_env(user, img_cfg);
  merge_object_keys(user, img_cfg, "Labels");
  if (json_array_size(json_object_get(user, "Entrypoint")) == 0) {
    if (json_array_size(json_object_get(user, "Cmd")) == 0) {
      json_t *cmd = json_object_get(img_cfg, "Cmd");
      json_object_set_new(user, "Cmd", cmd ? json_deep_copy(cmd) : json_null());
      if (json_object_get(img_cfg, "ArgsEscaped")) json_object_set(user, "ArgsEscaped", json_object_get(img_cfg, "ArgsEscaped"));
    }
    json_t *ue = json_object_get(user, "Entrypoint");
    if (!ue || json_is_null(ue)) {
      json_t *ie = json_object_get(img_cfg, "Entrypoint");
      json_object_set_new(user, "Entrypoint", ie ? json_deep_copy(ie) : json_null());
    }
  }
  merge_healthcheck(user, img_cfg);
  if (is_empty(json_object_get(user, "WorkingDir")) && json_object_get(img_cfg, "WorkingDir"))
    json_object_set(user, "WorkingDir", json_object_get(img_cfg, "WorkingDir"));
  merge_object_keys(user, img_cfg, "Volumes");
  if (is_empty(json_object_get(user, "StopSignal")) && json_object_get(img_cfg, "StopSignal"))
    json_object_set(user, "StopSignal", json_object_get(img_cfg, "StopSignal"));
  if (is_empty(json_object_get(user, "Shell")) && json_object_get(img_cfg, "Shell"))
    json_object_set(user, "Shell", json_object_get(img_cfg, "Shell"));
  if (is_empty(json_object_get(user, "OnBuild")) && json_object_get(img_cfg, "OnBuild"))
    json_object_set(user, "OnBuild", json_object_get(img_cfg, "OnBuild"));
}

/* ---- managed files ---- */

/* These files are remade at every start: no fsync (it cost milliseconds per run). The
 * rename keeps a reader from seeing half a file. */
static int write_text(const char *path, const char *text, arca_err *err) {
  autofree char *tmp = xasprintf("%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return err_errno(err, 500, errno, "create %s", tmp);
  size_t n = strlen(text);
  if (write_all(fd, text, n) < 0) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return err_errno(err, 500, e, "write %s", tmp);
  }
  close(fd);
  if (rename(tmp, path) < 0) return err_errno(err, 500, errno, "rename %s", path);
  return 0;
}

void networks_hosts_entries(engine *e, const container *c, strbuf *sb);
bool networks_resolv_conf(engine *e, const container *c, strbuf *sb);
int networks_validate_create(engine *e, container *c, arca_err *err);

static char *hosts_text(engine *e, const container *c, bool host_network) {
  if (host_network) {
    char *t = NULL;
    if (read_file("/etc/hosts", 1 << 20, &t, NULL, NULL) == 0) return t;
  }
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
               "ff00::0\tip6-mcastprefix\nff00::1\tip6-allnodes\nff00::2\tip6-allrouters\n");
  size_t i;
  json_t *h;
  networks_hosts_entries(e, c, &sb);
  json_array_foreach(json_object_get(c->host_config, "ExtraHosts"), i, h) {
    const char *s = json_string_value(h);
    if (!s) continue;
    /* "name:ip" (ip may be IPv6 with colons) or "name=ip" */
    const char *sep = strchr(s, '=');
    if (!sep) sep = strchr(s, ':');
    if (!sep) continue;
    sb_printf(&sb, "%s\t%.*s\n", sep + 1, (int)(sep - s), s);
  }
  return sb_steal(&sb);
}

static char *resolv_text(engine *e, const container *c, bool host_network) {
  strbuf own;
  sb_init(&own);
  /* a user network with DNS: its resolver (aardvark-dns) decides */
  if (!host_network && networks_resolv_conf(e, c, &own)) return sb_steal(&own);
  sb_free(&own);
  json_t *dns = json_object_get(c->host_config, "Dns");
  json_t *search = json_object_get(c->host_config, "DnsSearch");
  json_t *opts = json_object_get(c->host_config, "DnsOptions");
  autofree char *host = NULL;
  read_file("/etc/resolv.conf", 1 << 20, &host, NULL, NULL);
  strbuf sb;
  sb_init(&sb);
  bool any_ns = false;
  if (json_array_size(dns)) {
    size_t i;
    json_t *d;
    json_array_foreach(dns, i, d) {
      sb_printf(&sb, "nameserver %s\n", json_string_value(d) ?: "");
      any_ns = true;
    }
  } else if (host) {
    autofree char *copy = xstrdup(host);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      if (!str_has_prefix(line, "nameserver")) continue;
      const char *addr = line + 10;
      while (*addr == ' ' || *addr == '\t') addr++;
      /* a loopback resolver of the host is unreachable from a container's own network */
      if (!host_network && (str_has_prefix(addr, "127.") || !strcmp(addr, "::1"))) continue;
      sb_printf(&sb, "nameserver %s\n", addr);
      any_ns = true;
    }
  }
  if (!any_ns && !host_network) sb_puts(&sb, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  if (json_array_size(search)) {
    sb_puts(&sb, "search");
    size_t i;
    json_t *d;
    json_array_foreach(search, i, d) sb_printf(&sb, " %s", json_string_value(d) ?: "");
    sb_puts(&sb, "\n");
  } else if (host) {
    autofree char *copy = xstrdup(host);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
      if (str_has_prefix(line, "search ") || str_has_prefix(line, "domain ")) sb_printf(&sb, "%s\n", line);
  }
  if (json_array_size(opts)) {
    sb_puts(&sb, "options");
    size_t i;
    json_t *d;
    json_array_foreach(opts, i, d) sb_printf(&sb, " %s", json_string_value(d) ?: "");
    sb_puts(&sb, "\n");
  }
  return sb_steal(&sb);
}

static int write_text_in_place(const char *path, const char *text, arca_err *err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return err_errno(err, 500, errno, "open %s", path);
  size_t n = strlen(text);
  int rc = 0;
  if (ftruncate(fd, 0) < 0 || write_all(fd, text, n) < 0) rc = err_errno(err, 500, errno, "write %s", path);
  close(fd);
  return rc;
}

static int write_files(engine *e, container *c, bool in_place, arca_err *err) {
  autofree char *dir = container_dir(e, c->id);
  if (mkdir_p(dir, 0710, err) < 0) return -1;
  const char *mode = json_string_value(json_object_get(c->host_config, "NetworkMode"));
  bool host_net = mode && !strcmp(mode, "host");
  const char *hostname = json_string_value(json_object_get(c->config, "Hostname"));
  const char *domain = json_string_value(json_object_get(c->config, "Domainname"));
  autofree char *hn = domain && *domain ? xasprintf("%s.%s\n", hostname ? hostname : "", domain)
                                        : xasprintf("%s\n", hostname ? hostname : "");
  autofree char *p1 = xasprintf("%s/hostname", dir);
  autofree char *p2 = xasprintf("%s/hosts", dir);
  autofree char *p3 = xasprintf("%s/resolv.conf", dir);
  autofree char *hosts = hosts_text(e, c, host_net);
  autofree char *resolv = resolv_text(e, c, host_net);
  int (*write)(const char *, const char *, arca_err *) = in_place ? write_text_in_place : write_text;
  if (write(p1, hn, err) < 0 || write(p2, hosts, err) < 0 || write(p3, resolv, err) < 0) return -1;
  return 0;
}

int container_write_files(engine *e, container *c, arca_err *err) { return write_files(e, c, false, err); }
int container_write_files_in_place(engine *e, container *c, arca_err *err) { return write_files(e, c, true, err); }

/* ---- create ---- */

static void new_id(char out[65]) {
  for (;;) {
    random_hex(out, 32);
    /* Docker never hands out an ID whose short form is all digits */
    bool digits = true;
    for (int i = 0; i < 12; i++)
      if (out[i] < '0' || out[i] > '9') digits = false;
    if (!digits) return;
  }
}

static host_limits limits_of(engine *e) {
  static const char *const runtimes[] = {"runc", "crun", NULL};
  host_limits h;
  host_limits_from_host_info(&h, &e->host);
  h.default_runtime = e->cfg.runtime;
  h.runtimes = runtimes;
  h.daemon_root = e->cfg.data_root;
  return h;
}

host_limits container_host_limits(engine *e) { return limits_of(e); }

static int create_from_spec(engine *e, container_create_spec *spec, const char *name, const char *platform,
                            char id_out[65], arca_err *err);

int container_create(engine *e, const json_t *body, const char *name, const char *platform, int api_minor,
                     char id_out[65], json_t **warnings, arca_err *err) {
  *warnings = json_array();
  if (!json_is_object(body)) return err_set(err, 400, "config cannot be empty in order to create a container");
  if (name && *name && !names_valid(name))
    return err_set(err, 400, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  host_limits hl = limits_of(e);
  container_create_spec spec = {0};
  if (container_create_prepare(body, &hl, api_minor, &spec, err) < 0) return -1;
  json_decref(*warnings);
  *warnings = json_incref(spec.warnings);
  int rc = create_from_spec(e, &spec, name, platform, id_out, err);
  container_create_spec_free(&spec);
  return rc;
}

static int create_from_spec(engine *e, container_create_spec *spec, const char *name, const char *platform,
                            char id_out[65], arca_err *err) {
  const char *image_name = json_string_value(json_object_get(spec->config, "Image"));
  if (!image_name || !*image_name) return err_set(err, 400, "No image specified: an image is required to create a container");
  char image_id[DIGEST_STR_SIZE];
  if (image_resolve(e, image_name, image_id, err) < 0) return -1;
  json_t *img_config = NULL;
  if (image_config(e, image_id, &img_config, err) < 0) return -1;
  if (platform && *platform) {
    char os[16], arch[16], variant[16];
    if (platform_parse(platform, os, arch, variant, err) < 0) {
      json_decref(img_config);
      return -1;
    }
    const char *iarch = json_string_value(json_object_get(img_config, "architecture"));
    if (iarch && strcmp(iarch, arch) != 0) {
      json_decref(img_config);
      return err_set(err, 404, "image with reference %s was found but its platform (linux/%s) does not match the specified platform (%s)",
                     image_name, iarch, platform);
    }
  }

  container *c = xcalloc(1, sizeof *c);
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->cond, NULL);
  new_id(c->id);
  snprintf(c->image_id, sizeof c->image_id, "%s", image_id);
  c->image_name = xstrdup(image_name);
  c->created_ns = now_ns();
  c->state = CS_CREATED;

  c->config = json_deep_copy(spec->config);
  c->host_config = json_is_object(spec->host_config) ? json_deep_copy(spec->host_config) : json_object();
  c->networking = json_is_object(spec->networking_config) ? json_deep_copy(spec->networking_config) : NULL;
  container_merge_image_config(c->config, json_object_get(img_config, "config"));
  json_decref(img_config);
  /* mergeAndVerifyConfig: an Entrypoint of [""] means none (docker run --entrypoint "") */
  json_t *ep0 = json_object_get(c->config, "Entrypoint");
  if (json_array_size(ep0) == 1 && !strcmp(json_string_value(json_array_get(ep0, 0)) ?: "x", ""))
    json_object_set_new(c->config, "Entrypoint", json_null());
  json_object_set_new(c->config, "Image", json_string(image_name));
  int rc = 0;
  const char *hostname, *netmode;
  json_t *argv;
  json_t *entry = json_object_get(c->config, "Entrypoint");
  json_t *cmd = json_object_get(c->config, "Cmd");
  if (json_array_size(entry) == 0 && json_array_size(cmd) == 0) {
    rc = err_set(err, 400, "no command specified");
    goto fail;
  }
  pthread_rwlock_rdlock(&e->cfg_lock);
  container_hostconfig_defaults(c->host_config, e->cfg.runtime, e->host.cgroup_version);
  pthread_rwlock_unlock(&e->cfg_lock);
  hostname = json_string_value(json_object_get(c->config, "Hostname"));
  netmode = json_string_value(json_object_get(c->host_config, "NetworkMode"));
  if (!hostname || !*hostname) {
    if (netmode && !strcmp(netmode, "host")) json_object_set_new(c->config, "Hostname", json_string(e->host.hostname));
    else json_object_set_new(c->config, "Hostname", json_sprintf("%.12s", c->id));
  }
  if (!json_object_get(c->config, "Labels") || json_is_null(json_object_get(c->config, "Labels")))
    json_object_set_new(c->config, "Labels", json_object());
  /* Path and Args: entrypoint then cmd */
  argv = json_array();
  if (json_is_array(entry)) json_array_extend(argv, entry);
  if (json_is_array(cmd)) json_array_extend(argv, cmd);
  c->path = xstrdup(json_string_value(json_array_get(argv, 0)) ?: "");
  json_array_remove(argv, 0);
  c->args = argv;

  if (image_chain_ids(e, image_id, &c->chain_ids, &c->nchain, err) < 0 || networks_validate_create(e, c, err) < 0) {
    rc = -1;
    goto fail;
  }
  if (container_register(e, c, name, err) < 0) {
    rc = -1;
    goto fail;
  }
  image_hold(e, c->image_id, (const char *const *)c->chain_ids, c->nchain);
  pthread_mutex_lock(&c->lock);
  rc = container_write_files(e, c, err);
  if (rc == 0 && e->driver) rc = container_prepare_locked(e, c, err);
  pthread_mutex_unlock(&c->lock);
  if (rc < 0) {
    arca_err rerr;
    autofree char *dir = container_dir(e, c->id);
    if (e->driver) e->driver->ops->remove(e->driver, c->id, &rerr);
    rm_rf(dir, NULL);
    image_release(e, c->image_id, (const char *const *)c->chain_ids, c->nchain);
    container_unregister(e, c);
    return -1;
  }
  memcpy(id_out, c->id, 65);
  container_event(e, c, "create", NULL);
  return 0;
fail:
  container_free(c);
  return rc;
}
