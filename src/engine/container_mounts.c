/* Mount specifications as dockerd's Linux parser reads them (volume/mounts/linux_parser.go):
 * HostConfig.Binds strings, HostConfig.Mounts objects, Tmpfs destinations, VolumesFrom, and
 * the duplicate checks of registerMountPoints. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/pattern.h"
#include "common/util.h"
#include "engine/container_config_internal.h"

static bool is_propagation(const char *s) {
  static const char *const modes[] = {"private", "rprivate", "slave", "rslave", "shared",
                                      "rshared"};
  for (size_t i = 0; i < ARRAY_LEN(modes); i++)
    if (!strcmp(s, modes[i])) return true;
  return false;
}

/* linuxValidMountMode: comma-separated options, at most one of each kind. */
static bool valid_mount_mode(const char *mode) {
  if (!*mode) return true;
  int rw = 0, label = 0, prop = 0, copy = 0, consistency = 0;
  autofree char *dup = xstrdup(mode);
  char *save = NULL;
  /* strings.Split keeps empty fields, which are invalid */
  if (mode[0] == ',' || mode[strlen(mode) - 1] == ',' || strstr(mode, ",,")) return false;
  for (char *o = strtok_r(dup, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    if (!strcmp(o, "rw") || !strcmp(o, "ro"))
      rw++;
    else if (!strcmp(o, "z") || !strcmp(o, "Z"))
      label++;
    else if (is_propagation(o))
      prop++;
    else if (!strcmp(o, "nocopy"))
      copy++;
    else if (!strcmp(o, "consistent") || !strcmp(o, "cached") || !strcmp(o, "delegated"))
      consistency++;
    else
      return false;
  }
  return rw <= 1 && label <= 1 && prop <= 1 && copy <= 1 && consistency <= 1;
}

/* The first propagation named in mode, or NULL. */
static const char *mode_propagation(const char *mode, char *buf, size_t n) {
  autofree char *dup = xstrdup(mode);
  char *save = NULL;
  for (char *o = strtok_r(dup, ",", &save); o; o = strtok_r(NULL, ",", &save))
    if (is_propagation(o)) {
      snprintf(buf, n, "%s", o);
      return buf;
    }
  return NULL;
}

static bool mode_has(const char *mode, const char *opt) {
  autofree char *dup = xstrdup(mode);
  char *save = NULL;
  for (char *o = strtok_r(dup, ",", &save); o; o = strtok_r(NULL, ",", &save))
    if (!strcmp(o, opt)) return true;
  return false;
}

static char *slashes(const char *p) {
  char *s = xstrdup(p);
  for (char *c = s; *c; c++)
    if (*c == '\\') *c = '/';
  return s;
}

static int validate_not_root(const char *p, arca_err *err) {
  autofree char *s = slashes(p);
  autofree char *clean = path_clean(s);
  if (!strcmp(clean, "/"))
    return err_set(err, 400, "invalid specification: destination can't be '/'");
  return 0;
}

static int validate_absolute(const char *p, arca_err *err) {
  autofree char *s = slashes(p);
  if (s[0] == '/') return 0;
  return err_set(err, 400, "invalid mount path: '%s' mount path must be absolute", s);
}

/* filepath.IsLocal on Unix */
static bool is_local(const char *p) {
  if (!*p || p[0] == '/') return false;
  autofree char *clean = path_clean(p);
  return strcmp(clean, "..") != 0 && !str_has_prefix(clean, "../");
}

static int mount_err(arca_err *err, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int mount_err(arca_err *err, const char *type, const char *fmt, ...) {
  char inner[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(inner, sizeof inner, fmt, ap);
  va_end(ap);
  autofree char *q = go_quote(type);
  return err_set(err, 400, "invalid mount config for type %s: %s", q, inner);
}

static bool present(const json_t *m, const char *key) {
  const json_t *v = json_object_get(m, key);
  return v && !json_is_null(v);
}

int mount_validate_impl(const json_t *m, bool check_source, arca_err *err) {
  const char *type = cc_str(m, "Type");
  const char *target = cc_str(m, "Target");
  const char *source = cc_str(m, "Source");
  arca_err inner;
  if (!*target) return mount_err(err, type, "field Target must not be empty");
  if (validate_not_root(target, &inner) < 0 || validate_absolute(target, &inner) < 0)
    return mount_err(err, type, "%s", inner.msg);

  if (!strcmp(type, "bind")) {
    if (!*source) return mount_err(err, type, "field Source must not be empty");
    const char *prop = cc_str(cc_obj(m, "BindOptions"), "Propagation");
    if (*prop && !is_propagation(prop))
      return mount_err(err, type, "invalid propagation mode: %s", prop);
    if (present(m, "VolumeOptions"))
      return mount_err(err, type, "field VolumeOptions must not be specified");
    if (present(m, "ImageOptions"))
      return mount_err(err, type, "field ImageOptions must not be specified");
    if (validate_absolute(source, &inner) < 0) return mount_err(err, type, "%s", inner.msg);
    if (check_source) {
      struct stat st;
      if (stat(source, &st) < 0) {
        if (errno != ENOENT && errno != ENOTDIR)
          return mount_err(err, type, "stat %s: %s", source, strerror(errno));
        if (!cc_bool(cc_obj(m, "BindOptions"), "CreateMountpoint"))
          return mount_err(err, type, "bind source path does not exist: %s", source);
      }
    }
  } else if (!strcmp(type, "volume")) {
    if (present(m, "BindOptions"))
      return mount_err(err, type, "field BindOptions must not be specified");
    if (present(m, "ImageOptions"))
      return mount_err(err, type, "field ImageOptions must not be specified");
    bool anonymous = !*source;
    const char *subpath = cc_str(cc_obj(m, "VolumeOptions"), "Subpath");
    if (*subpath) {
      if (anonymous)
        return mount_err(err, type, "must not set Subpath when using anonymous volumes");
      if (!is_local(subpath))
        return mount_err(err, type, "subpath must be a relative path within the volume");
    }
    if (cc_bool(m, "ReadOnly") && anonymous)
      return mount_err(err, type, "must not set ReadOnly mode when using anonymous volumes");
  } else if (!strcmp(type, "tmpfs")) {
    if (present(m, "BindOptions"))
      return mount_err(err, type, "field BindOptions must not be specified");
    if (present(m, "ImageOptions"))
      return mount_err(err, type, "field ImageOptions must not be specified");
    if (*source) return mount_err(err, type, "field Source must not be specified");
    const json_t *opts = cc_arr(cc_obj(m, "TmpfsOptions"), "Options");
    size_t i;
    const json_t *o;
    json_array_foreach(opts, i, o) {
      size_t n = json_is_array(o) ? json_array_size(o) : 0;
      if (n < 1 || n > 2) return mount_err(err, type, "invalid option array length");
      const char *name = json_string_value(json_array_get(o, 0));
      if (!name || (strcmp(name, "exec") && strcmp(name, "noexec")))
        return mount_err(err, type, "invalid option: %s", name ? name : "");
    }
  } else if (!strcmp(type, "image")) {
    if (present(m, "BindOptions"))
      return mount_err(err, type, "field BindOptions must not be specified");
    if (present(m, "VolumeOptions"))
      return mount_err(err, type, "field VolumeOptions must not be specified");
    if (!*source) return mount_err(err, type, "field Source must not be empty");
    const char *subpath = cc_str(cc_obj(m, "ImageOptions"), "Subpath");
    if (*subpath && !is_local(subpath))
      return mount_err(err, type, "subpath must be a relative path within the volume");
  } else {
    return mount_err(err, type, "mount type unknown");
  }
  return 0;
}

int mount_spec_validate(const json_t *mount, arca_err *err) {
  return mount_validate_impl(mount, true, err);
}

int tmpfs_destination_validate(const char *dest, arca_err *err) {
  if (validate_not_root(dest, err) < 0) return -1;
  return validate_absolute(dest, err);
}

int volumes_from_validate(const char *spec, arca_err *err) {
  if (!*spec)
    return err_set(err, 400, "volumes-from specification cannot be an empty string");
  const char *colon = strchr(spec, ':');
  const char *mode = colon ? colon + 1 : "";
  if (!*mode) return 0;
  char prop[16];
  if (!valid_mount_mode(mode) || mode_propagation(mode, prop, sizeof prop) ||
      mode_has(mode, "nocopy"))
    return err_set(err, 400, "invalid mode: %s", mode);
  return 0;
}

void bind_spec_free(bind_spec *b) {
  if (!b) return;
  free(b->type);
  free(b->source);
  free(b->destination);
  free(b->mode);
  free(b->propagation);
  memset(b, 0, sizeof *b);
}

int bind_spec_parse(const char *raw, bind_spec *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  /* strings.SplitN(raw, ":", 4) */
  const char *parts[4] = {0};
  size_t lens[4] = {0};
  int n = 0;
  const char *p = raw;
  while (n < 3) {
    const char *c = strchr(p, ':');
    if (!c) break;
    parts[n] = p, lens[n] = (size_t)(c - p), n++;
    p = c + 1;
  }
  parts[n] = p, lens[n] = strlen(p), n++;
  if (lens[0] == 0) return err_set(err, 400, "invalid volume specification: '%s'", raw);

  autofree char *source = NULL, *target = NULL, *mode = NULL;
  switch (n) {
  case 1: target = xstrndup(parts[0], lens[0]); break;
  case 2: {
    autofree char *second = xstrndup(parts[1], lens[1]);
    /* "/foo:rw" is a destination with a mode: volumes cannot have one without a source */
    if (valid_mount_mode(second))
      return err_set(err, 400, "invalid volume specification: '%s'", raw);
    source = xstrndup(parts[0], lens[0]);
    target = steal_ptr(second);
    break;
  }
  case 3:
    source = xstrndup(parts[0], lens[0]);
    target = xstrndup(parts[1], lens[1]);
    mode = xstrndup(parts[2], lens[2]);
    break;
  default: return err_set(err, 400, "invalid volume specification: '%s'", raw);
  }
  if (!mode) mode = xstrdup("");
  if (!valid_mount_mode(mode)) return err_set(err, 400, "invalid mode: %s", mode);

  bool is_bind = source && source[0] == '/';
  char prop[16];
  const char *propagation = mode_propagation(mode, prop, sizeof prop);
  bool nocopy = mode_has(mode, "nocopy");

  /* the spec dockerd builds, then validates without looking at the host */
  autojson json_t *spec = json_object();
  cc_set_str(spec, "Type", is_bind ? "bind" : "volume");
  if (source) cc_set_str(spec, "Source", source);
  cc_set_str(spec, "Target", target);
  if (nocopy) json_object_set_new(spec, "VolumeOptions", json_pack("{s:b}", "NoCopy", 1));
  if (propagation)
    json_object_set_new(spec, "BindOptions", json_pack("{s:s}", "Propagation", propagation));
  arca_err inner;
  if (mount_validate_impl(spec, false, &inner) < 0)
    return err_set(err, 400, "invalid volume specification: '%s': %s", raw, inner.msg);

  out->type = xstrdup(is_bind ? "bind" : "volume");
  out->destination = path_clean(target);
  out->mode = steal_ptr(mode);
  out->read_only = mode_has(out->mode, "ro");
  if (is_bind) {
    out->source = path_clean(source);
    out->propagation = xstrdup(propagation ? propagation : "rprivate");
  } else {
    out->source = source && *source ? xstrdup(source) : NULL;
    out->copy_data = !nocopy;
  }
  return 0;
}

static bool dest_seen(const json_t *set, const char *dest) {
  return json_object_get(set, dest) != NULL;
}

/* validateBindDaemonRoot: a bind of (or above) the data root must propagate as rslave or
 * rshared, lest the daemon's own mounts leak or vanish. */
static int check_daemon_root(const char *type, const char *source, const char *propagation,
                             bool has_bind_options, const char *root, arca_err *err) {
  if (!root || strcmp(type, "bind") != 0) return 0;
  if (!str_has_prefix(source, root) && !str_has_prefix(root, source)) return 0;
  if (!has_bind_options || !*propagation || !strcmp(propagation, "rslave") ||
      !strcmp(propagation, "rshared"))
    return 0;
  autofree char *qr = go_quote(root), *qs = go_quote(source), *qp = go_quote(propagation);
  return err_set(err, 400,
                 "invalid mount config: must use either propagation mode \"rslave\" or "
                 "\"rshared\" when mount source is within the daemon root, daemon root: %s, "
                 "bind mount source: %s, propagation: %s",
                 qr, qs, qp);
}

int container_mounts_check(const json_t *hc, const char *daemon_root, arca_err *err) {
  size_t i;
  const json_t *v;
  json_array_foreach(cc_arr(hc, "VolumesFrom"), i, v) {
    if (volumes_from_validate(json_string_value(v) ? json_string_value(v) : "", err) < 0)
      return -1;
  }
  autojson json_t *binds = json_object();
  const json_t *tmpfs = cc_obj(hc, "Tmpfs");
  json_array_foreach(cc_arr(hc, "Binds"), i, v) {
    bind_spec b;
    if (bind_spec_parse(json_string_value(v) ? json_string_value(v) : "", &b, err) < 0)
      return -1;
    int rc = 0;
    /* only a propagation in the mode gives the spec BindOptions */
    char prop[16];
    bool has_opts = mode_propagation(b.mode, prop, sizeof prop) != NULL;
    if (check_daemon_root(b.type, b.source ? b.source : "", has_opts ? prop : "", has_opts,
                          daemon_root, err) < 0)
      rc = -1;
    else if (dest_seen(binds, b.destination) || json_object_get(tmpfs, b.destination))
      rc = err_set(err, 400, "Duplicate mount point: %s", b.destination);
    else
      json_object_set_new(binds, b.destination, json_true());
    bind_spec_free(&b);
    if (rc < 0) return -1;
  }
  json_array_foreach(cc_arr(hc, "Mounts"), i, v) {
    const char *target = cc_str(v, "Target");
    autofree char *dest = path_clean(target);
    const json_t *bo = cc_obj(v, "BindOptions");
    if (check_daemon_root(cc_str(v, "Type"), cc_str(v, "Source"), cc_str(bo, "Propagation"),
                          bo != NULL, daemon_root, err) < 0)
      return -1;
    if (dest_seen(binds, dest)) return err_set(err, 400, "Duplicate mount point: %s", target);
  }
  return 0;
}
