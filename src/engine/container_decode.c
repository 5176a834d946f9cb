/* Go's encoding/json, as dockerd decodes a create or update body into its Go types.
 *
 * dockerd never sees JSON types: a value of the wrong type fails the whole request with Go's
 * UnmarshalTypeError text, keys match field names case-insensitively, unknown keys vanish
 * and null leaves a scalar alone. Clients rely on all of it (lower-case keys, "Cmd": "sh",
 * HostPort sent as a number getting a readable error), so the body is walked against a
 * table of dockerd's types and rewritten in canonical form.
 *
 * Error text as Go 1.24 builds it (dockerd 28 is built with it): "json: cannot unmarshal
 * <what> into Go struct field <Struct>.<path> of type <type>", where Struct is the Go name
 * of the struct whose field was matched last and path the field names from the root,
 * embedded structs included ("HostConfig.HostConfig.Resources.Memory"). The first such
 * error is reported, except that an error inside a type with its own decoder (StrSlice)
 * stops decoding at once and wins. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "engine/container_config_internal.h"

typedef enum go_kind {
  GK_STRING,
  GK_BOOL,
  GK_INT,
  GK_UINT,
  GK_STRUCT,
  GK_PTR,
  GK_SLICE,
  GK_ARRAY,
  GK_MAP,
  GK_STRSLICE, /* strslice.StrSlice: a string or an array of strings */
} go_kind;

typedef struct go_type go_type;

typedef struct go_field {
  const char *name;  /* JSON key: the Go field name or its json tag */
  const char *embed; /* Go name of the embedded struct the field is promoted from */
  const go_type *type;
} go_field;

struct go_type {
  go_kind kind;
  const char *name;        /* reflect.Type.String() */
  int bits;                /* GK_INT / GK_UINT */
  const go_type *elem;     /* GK_PTR, GK_SLICE, GK_ARRAY, GK_MAP */
  int len;                 /* GK_ARRAY */
  const char *struct_name; /* GK_STRUCT: reflect.Type.Name() */
  const go_field *fields;  /* GK_STRUCT: ends with {NULL} */
};

#define SCALAR(id, k, nm, b) static const go_type id = {.kind = k, .name = nm, .bits = b}
SCALAR(T_STRING, GK_STRING, "string", 0);
SCALAR(T_BOOL, GK_BOOL, "bool", 0);
SCALAR(T_INT, GK_INT, "int", 64);
SCALAR(T_INT64, GK_INT, "int64", 64);
SCALAR(T_UINT, GK_UINT, "uint", 64);
SCALAR(T_UINT16, GK_UINT, "uint16", 16);
SCALAR(T_UINT64, GK_UINT, "uint64", 64);
SCALAR(T_FILEMODE, GK_UINT, "fs.FileMode", 32);
SCALAR(T_DURATION, GK_INT, "time.Duration", 64);
SCALAR(T_NETWORKMODE, GK_STRING, "container.NetworkMode", 0);
SCALAR(T_IPCMODE, GK_STRING, "container.IpcMode", 0);
SCALAR(T_PIDMODE, GK_STRING, "container.PidMode", 0);
SCALAR(T_UTSMODE, GK_STRING, "container.UTSMode", 0);
SCALAR(T_USERNSMODE, GK_STRING, "container.UsernsMode", 0);
SCALAR(T_CGROUPNSMODE, GK_STRING, "container.CgroupnsMode", 0);
SCALAR(T_CGROUPSPEC, GK_STRING, "container.CgroupSpec", 0);
SCALAR(T_ISOLATION, GK_STRING, "container.Isolation", 0);
SCALAR(T_RPMODE, GK_STRING, "container.RestartPolicyMode", 0);
SCALAR(T_MOUNTTYPE, GK_STRING, "mount.Type", 0);
SCALAR(T_CONSISTENCY, GK_STRING, "mount.Consistency", 0);
SCALAR(T_PROPAGATION, GK_STRING, "mount.Propagation", 0);
static const go_type T_STRSLICE = {.kind = GK_STRSLICE, .name = "strslice.StrSlice"};
static const go_type T_STRINGS = {.kind = GK_SLICE, .name = "[]string", .elem = &T_STRING};
static const go_type T_STRINGS2 = {.kind = GK_SLICE, .name = "[][]string", .elem = &T_STRINGS};
static const go_type T_MAP_SS = {.kind = GK_MAP, .name = "map[string]string", .elem = &T_STRING};
static const go_type T_PINT = {.kind = GK_PTR, .name = "*int", .elem = &T_INT};
static const go_type T_PINT64 = {.kind = GK_PTR, .name = "*int64", .elem = &T_INT64};
static const go_type T_PBOOL = {.kind = GK_PTR, .name = "*bool", .elem = &T_BOOL};
static const go_type T_CONSOLESIZE = {.kind = GK_ARRAY, .name = "[2]uint", .elem = &T_UINT,
                                      .len = 2};

#define STRUCT(id, nm, sname, flds)                                                     \
  static const go_type id = {.kind = GK_STRUCT, .name = nm, .struct_name = sname,      \
                             .fields = flds}

static const go_field F_EMPTY[] = {{NULL, NULL, NULL}};
STRUCT(T_EMPTY, "struct {}", "", F_EMPTY);
static const go_type T_PORTSET = {.kind = GK_MAP, .name = "nat.PortSet", .elem = &T_EMPTY};
static const go_type T_VOLUMES = {.kind = GK_MAP, .name = "map[string]struct {}",
                                  .elem = &T_EMPTY};

static const go_field F_HEALTH[] = {
    {"Test", NULL, &T_STRINGS},        {"Interval", NULL, &T_DURATION},
    {"Timeout", NULL, &T_DURATION},    {"StartPeriod", NULL, &T_DURATION},
    {"StartInterval", NULL, &T_DURATION}, {"Retries", NULL, &T_INT},
    {NULL, NULL, NULL}};
STRUCT(T_HEALTH, "v1.HealthcheckConfig", "HealthcheckConfig", F_HEALTH);
static const go_type T_PHEALTH = {.kind = GK_PTR, .name = "*v1.HealthcheckConfig",
                                  .elem = &T_HEALTH};

/* Config's fields as promoted into CreateRequest. */
#define CONFIG_FIELDS(E)                                                                  \
  {"Hostname", E, &T_STRING}, {"Domainname", E, &T_STRING}, {"User", E, &T_STRING},       \
      {"AttachStdin", E, &T_BOOL}, {"AttachStdout", E, &T_BOOL},                           \
      {"AttachStderr", E, &T_BOOL}, {"ExposedPorts", E, &T_PORTSET}, {"Tty", E, &T_BOOL}, \
      {"OpenStdin", E, &T_BOOL}, {"StdinOnce", E, &T_BOOL}, {"Env", E, &T_STRINGS},        \
      {"Cmd", E, &T_STRSLICE}, {"Healthcheck", E, &T_PHEALTH},                             \
      {"ArgsEscaped", E, &T_BOOL}, {"Image", E, &T_STRING}, {"Volumes", E, &T_VOLUMES},    \
      {"WorkingDir", E, &T_STRING}, {"Entrypoint", E, &T_STRSLICE},                        \
      {"NetworkDisabled", E, &T_BOOL}, {"MacAddress", E, &T_STRING},                       \
      {"OnBuild", E, &T_STRINGS}, {"Labels", E, &T_MAP_SS}, {"StopSignal", E, &T_STRING},  \
      {"StopTimeout", E, &T_PINT}, {"Shell", E, &T_STRSLICE}

static const go_field F_RESTART[] = {
    {"Name", NULL, &T_RPMODE}, {"MaximumRetryCount", NULL, &T_INT}, {NULL, NULL, NULL}};
STRUCT(T_RESTART, "container.RestartPolicy", "RestartPolicy", F_RESTART);

static const go_field F_LOGCONFIG[] = {
    {"Type", NULL, &T_STRING}, {"Config", NULL, &T_MAP_SS}, {NULL, NULL, NULL}};
STRUCT(T_LOGCONFIG, "container.LogConfig", "LogConfig", F_LOGCONFIG);

static const go_field F_PORTBINDING[] = {
    {"HostIp", NULL, &T_STRING}, {"HostPort", NULL, &T_STRING}, {NULL, NULL, NULL}};
STRUCT(T_PORTBINDING, "nat.PortBinding", "PortBinding", F_PORTBINDING);
static const go_type T_PORTBINDINGS = {.kind = GK_SLICE, .name = "[]nat.PortBinding",
                                       .elem = &T_PORTBINDING};
static const go_type T_PORTMAP = {.kind = GK_MAP, .name = "nat.PortMap",
                                  .elem = &T_PORTBINDINGS};

static const go_field F_WEIGHTDEV[] = {
    {"Path", NULL, &T_STRING}, {"Weight", NULL, &T_UINT16}, {NULL, NULL, NULL}};
STRUCT(T_WEIGHTDEV, "blkiodev.WeightDevice", "WeightDevice", F_WEIGHTDEV);
static const go_type T_PWEIGHTDEV = {.kind = GK_PTR, .name = "*blkiodev.WeightDevice",
                                     .elem = &T_WEIGHTDEV};
static const go_type T_WEIGHTDEVS = {.kind = GK_SLICE, .name = "[]*blkiodev.WeightDevice",
                                     .elem = &T_PWEIGHTDEV};
static const go_field F_THROTTLEDEV[] = {
    {"Path", NULL, &T_STRING}, {"Rate", NULL, &T_UINT64}, {NULL, NULL, NULL}};
STRUCT(T_THROTTLEDEV, "blkiodev.ThrottleDevice", "ThrottleDevice", F_THROTTLEDEV);
static const go_type T_PTHROTTLEDEV = {.kind = GK_PTR, .name = "*blkiodev.ThrottleDevice",
                                       .elem = &T_THROTTLEDEV};
static const go_type T_THROTTLEDEVS = {.kind = GK_SLICE,
                                       .name = "[]*blkiodev.ThrottleDevice",
                                       .elem = &T_PTHROTTLEDEV};

static const go_field F_DEVMAP[] = {{"PathOnHost", NULL, &T_STRING},
                                    {"PathInContainer", NULL, &T_STRING},
                                    {"CgroupPermissions", NULL, &T_STRING},
                                    {NULL, NULL, NULL}};
STRUCT(T_DEVMAP, "container.DeviceMapping", "DeviceMapping", F_DEVMAP);
static const go_type T_DEVMAPS = {.kind = GK_SLICE, .name = "[]container.DeviceMapping",
                                  .elem = &T_DEVMAP};
static const go_field F_DEVREQ[] = {
    {"Driver", NULL, &T_STRING},        {"Count", NULL, &T_INT},
    {"DeviceIDs", NULL, &T_STRINGS},    {"Capabilities", NULL, &T_STRINGS2},
    {"Options", NULL, &T_MAP_SS},       {NULL, NULL, NULL}};
STRUCT(T_DEVREQ, "container.DeviceRequest", "DeviceRequest", F_DEVREQ);
static const go_type T_DEVREQS = {.kind = GK_SLICE, .name = "[]container.DeviceRequest",
                                  .elem = &T_DEVREQ};

static const go_field F_ULIMIT[] = {{"Name", NULL, &T_STRING},
                                    {"Hard", NULL, &T_INT64},
                                    {"Soft", NULL, &T_INT64},
                                    {NULL, NULL, NULL}};
STRUCT(T_ULIMIT, "units.Ulimit", "Ulimit", F_ULIMIT);
static const go_type T_PULIMIT = {.kind = GK_PTR, .name = "*units.Ulimit", .elem = &T_ULIMIT};
static const go_type T_ULIMITS = {.kind = GK_SLICE, .name = "[]*units.Ulimit",
                                  .elem = &T_PULIMIT};

/* mount.Mount and its options */
static const go_field F_BINDOPTS[] = {{"Propagation", NULL, &T_PROPAGATION},
                                      {"NonRecursive", NULL, &T_BOOL},
                                      {"CreateMountpoint", NULL, &T_BOOL},
                                      {"ReadOnlyNonRecursive", NULL, &T_BOOL},
                                      {"ReadOnlyForceRecursive", NULL, &T_BOOL},
                                      {NULL, NULL, NULL}};
STRUCT(T_BINDOPTS, "mount.BindOptions", "BindOptions", F_BINDOPTS);
static const go_field F_DRIVER[] = {
    {"Name", NULL, &T_STRING}, {"Options", NULL, &T_MAP_SS}, {NULL, NULL, NULL}};
STRUCT(T_DRIVER, "mount.Driver", "Driver", F_DRIVER);
static const go_type T_PDRIVER = {.kind = GK_PTR, .name = "*mount.Driver", .elem = &T_DRIVER};
static const go_field F_VOLOPTS[] = {{"NoCopy", NULL, &T_BOOL},
                                     {"Labels", NULL, &T_MAP_SS},
                                     {"Subpath", NULL, &T_STRING},
                                     {"DriverConfig", NULL, &T_PDRIVER},
                                     {NULL, NULL, NULL}};
STRUCT(T_VOLOPTS, "mount.VolumeOptions", "VolumeOptions", F_VOLOPTS);
static const go_field F_IMGOPTS[] = {{"Subpath", NULL, &T_STRING}, {NULL, NULL, NULL}};
STRUCT(T_IMGOPTS, "mount.ImageOptions", "ImageOptions", F_IMGOPTS);
static const go_field F_TMPFSOPTS[] = {{"SizeBytes", NULL, &T_INT64},
                                       {"Mode", NULL, &T_FILEMODE},
                                       {"Options", NULL, &T_STRINGS2},
                                       {NULL, NULL, NULL}};
STRUCT(T_TMPFSOPTS, "mount.TmpfsOptions", "TmpfsOptions", F_TMPFSOPTS);
STRUCT(T_CLUSTEROPTS, "mount.ClusterOptions", "ClusterOptions", F_EMPTY);
#define PTR_TO(id, nm, to) static const go_type id = {.kind = GK_PTR, .name = nm, .elem = &to}
PTR_TO(T_PBINDOPTS, "*mount.BindOptions", T_BINDOPTS);
PTR_TO(T_PVOLOPTS, "*mount.VolumeOptions", T_VOLOPTS);
PTR_TO(T_PIMGOPTS, "*mount.ImageOptions", T_IMGOPTS);
PTR_TO(T_PTMPFSOPTS, "*mount.TmpfsOptions", T_TMPFSOPTS);
PTR_TO(T_PCLUSTEROPTS, "*mount.ClusterOptions", T_CLUSTEROPTS);
static const go_field F_MOUNT[] = {{"Type", NULL, &T_MOUNTTYPE},
                                   {"Source", NULL, &T_STRING},
                                   {"Target", NULL, &T_STRING},
                                   {"ReadOnly", NULL, &T_BOOL},
                                   {"Consistency", NULL, &T_CONSISTENCY},
                                   {"BindOptions", NULL, &T_PBINDOPTS},
                                   {"VolumeOptions", NULL, &T_PVOLOPTS},
                                   {"ImageOptions", NULL, &T_PIMGOPTS},
                                   {"TmpfsOptions", NULL, &T_PTMPFSOPTS},
                                   {"ClusterOptions", NULL, &T_PCLUSTEROPTS},
                                   {NULL, NULL, NULL}};
STRUCT(T_MOUNT, "mount.Mount", "Mount", F_MOUNT);
static const go_type T_MOUNTS = {.kind = GK_SLICE, .name = "[]mount.Mount", .elem = &T_MOUNT};

/* Resources' fields as promoted into HostConfig and UpdateConfig. */
#define RESOURCE_FIELDS                                                                   \
  {"CpuShares", "Resources", &T_INT64}, {"Memory", "Resources", &T_INT64},                \
      {"NanoCpus", "Resources", &T_INT64}, {"CgroupParent", "Resources", &T_STRING},      \
      {"BlkioWeight", "Resources", &T_UINT16},                                            \
      {"BlkioWeightDevice", "Resources", &T_WEIGHTDEVS},                                  \
      {"BlkioDeviceReadBps", "Resources", &T_THROTTLEDEVS},                               \
      {"BlkioDeviceWriteBps", "Resources", &T_THROTTLEDEVS},                              \
      {"BlkioDeviceReadIOps", "Resources", &T_THROTTLEDEVS},                              \
      {"BlkioDeviceWriteIOps", "Resources", &T_THROTTLEDEVS},                             \
      {"CpuPeriod", "Resources", &T_INT64}, {"CpuQuota", "Resources", &T_INT64},          \
      {"CpuRealtimePeriod", "Resources", &T_INT64},                                       \
      {"CpuRealtimeRuntime", "Resources", &T_INT64},                                      \
      {"CpusetCpus", "Resources", &T_STRING}, {"CpusetMems", "Resources", &T_STRING},     \
      {"Devices", "Resources", &T_DEVMAPS},                                               \
      {"DeviceCgroupRules", "Resources", &T_STRINGS},                                     \
      {"DeviceRequests", "Resources", &T_DEVREQS},                                        \
      {"KernelMemory", "Resources", &T_INT64}, {"KernelMemoryTCP", "Resources", &T_INT64}, \
      {"MemoryReservation", "Resources", &T_INT64}, {"MemorySwap", "Resources", &T_INT64}, \
      {"MemorySwappiness", "Resources", &T_PINT64},                                       \
      {"OomKillDisable", "Resources", &T_PBOOL}, {"PidsLimit", "Resources", &T_PINT64},   \
      {"Ulimits", "Resources", &T_ULIMITS}, {"CpuCount", "Resources", &T_INT64},          \
      {"CpuPercent", "Resources", &T_INT64}, {"IOMaximumIOps", "Resources", &T_UINT64},   \
      {"IOMaximumBandwidth", "Resources", &T_UINT64}

static const go_field F_HOSTCONFIG[] = {
    {"Binds", NULL, &T_STRINGS},
    {"ContainerIDFile", NULL, &T_STRING},
    {"LogConfig", NULL, &T_LOGCONFIG},
    {"NetworkMode", NULL, &T_NETWORKMODE},
    {"PortBindings", NULL, &T_PORTMAP},
    {"RestartPolicy", NULL, &T_RESTART},
    {"AutoRemove", NULL, &T_BOOL},
    {"VolumeDriver", NULL, &T_STRING},
    {"VolumesFrom", NULL, &T_STRINGS},
    {"ConsoleSize", NULL, &T_CONSOLESIZE},
    {"Annotations", NULL, &T_MAP_SS},
    {"CapAdd", NULL, &T_STRSLICE},
    {"CapDrop", NULL, &T_STRSLICE},
    {"CgroupnsMode", NULL, &T_CGROUPNSMODE},
    {"Dns", NULL, &T_STRINGS},
    {"DnsOptions", NULL, &T_STRINGS},
    {"DnsSearch", NULL, &T_STRINGS},
    {"ExtraHosts", NULL, &T_STRINGS},
    {"GroupAdd", NULL, &T_STRINGS},
    {"IpcMode", NULL, &T_IPCMODE},
    {"Cgroup", NULL, &T_CGROUPSPEC},
    {"Links", NULL, &T_STRINGS},
    {"OomScoreAdj", NULL, &T_INT},
    {"PidMode", NULL, &T_PIDMODE},
    {"Privileged", NULL, &T_BOOL},
    {"PublishAllPorts", NULL, &T_BOOL},
    {"ReadonlyRootfs", NULL, &T_BOOL},
    {"SecurityOpt", NULL, &T_STRINGS},
    {"StorageOpt", NULL, &T_MAP_SS},
    {"Tmpfs", NULL, &T_MAP_SS},
    {"UTSMode", NULL, &T_UTSMODE},
    {"UsernsMode", NULL, &T_USERNSMODE},
    {"ShmSize", NULL, &T_INT64},
    {"Sysctls", NULL, &T_MAP_SS},
    {"Runtime", NULL, &T_STRING},
    {"Isolation", NULL, &T_ISOLATION},
    RESOURCE_FIELDS,
    {"Mounts", NULL, &T_MOUNTS},
    {"MaskedPaths", NULL, &T_STRINGS},
    {"ReadonlyPaths", NULL, &T_STRINGS},
    {"Init", NULL, &T_PBOOL},
    {NULL, NULL, NULL}};
STRUCT(T_HOSTCONFIG, "container.HostConfig", "HostConfig", F_HOSTCONFIG);
PTR_TO(T_PHOSTCONFIG, "*container.HostConfig", T_HOSTCONFIG);

static const go_field F_IPAMCONFIG[] = {{"IPv4Address", NULL, &T_STRING},
                                        {"IPv6Address", NULL, &T_STRING},
                                        {"LinkLocalIPs", NULL, &T_STRINGS},
                                        {NULL, NULL, NULL}};
STRUCT(T_IPAMCONFIG, "network.EndpointIPAMConfig", "EndpointIPAMConfig", F_IPAMCONFIG);
PTR_TO(T_PIPAMCONFIG, "*network.EndpointIPAMConfig", T_IPAMCONFIG);
static const go_field F_ENDPOINT[] = {{"IPAMConfig", NULL, &T_PIPAMCONFIG},
                                      {"Links", NULL, &T_STRINGS},
                                      {"Aliases", NULL, &T_STRINGS},
                                      {"MacAddress", NULL, &T_STRING},
                                      {"DriverOpts", NULL, &T_MAP_SS},
                                      {"GwPriority", NULL, &T_INT},
                                      {"NetworkID", NULL, &T_STRING},
                                      {"EndpointID", NULL, &T_STRING},
                                      {"Gateway", NULL, &T_STRING},
                                      {"IPAddress", NULL, &T_STRING},
                                      {"IPPrefixLen", NULL, &T_INT},
                                      {"IPv6Gateway", NULL, &T_STRING},
                                      {"GlobalIPv6Address", NULL, &T_STRING},
                                      {"GlobalIPv6PrefixLen", NULL, &T_INT},
                                      {"DNSNames", NULL, &T_STRINGS},
                                      {NULL, NULL, NULL}};
STRUCT(T_ENDPOINT, "network.EndpointSettings", "EndpointSettings", F_ENDPOINT);
PTR_TO(T_PENDPOINT, "*network.EndpointSettings", T_ENDPOINT);
static const go_type T_ENDPOINTS = {.kind = GK_MAP,
                                    .name = "map[string]*network.EndpointSettings",
                                    .elem = &T_PENDPOINT};
static const go_field F_NETCONFIG[] = {{"EndpointsConfig", NULL, &T_ENDPOINTS},
                                       {NULL, NULL, NULL}};
STRUCT(T_NETCONFIG, "network.NetworkingConfig", "NetworkingConfig", F_NETCONFIG);
PTR_TO(T_PNETCONFIG, "*network.NetworkingConfig", T_NETCONFIG);

static const go_field F_CREATE[] = {CONFIG_FIELDS("Config"),
                                    {"HostConfig", NULL, &T_PHOSTCONFIG},
                                    {"NetworkingConfig", NULL, &T_PNETCONFIG},
                                    {NULL, NULL, NULL}};
STRUCT(T_CREATE, "container.CreateRequest", "CreateRequest", F_CREATE);

static const go_field F_UPDATE[] = {RESOURCE_FIELDS,
                                    {"RestartPolicy", NULL, &T_RESTART},
                                    {NULL, NULL, NULL}};
STRUCT(T_UPDATE, "container.UpdateConfig", "UpdateConfig", F_UPDATE);

/* ---- The walker ------------------------------------------------------------------- */

#define DEC_MAX_DEPTH 64

typedef struct decoder {
  const char *stack[DEC_MAX_DEPTH]; /* errorContext.FieldStack */
  int depth;
  const char *strct;                /* errorContext.Struct.Name(), NULL at the root */
  bool failed, aborted;
  char msg[512];
  bool config_seen;
} decoder;

/* What Go calls the JSON value in its message. */
static void value_desc(const json_t *v, const go_type *t, char *out, size_t n) {
  switch (json_typeof(v)) {
  case JSON_STRING: snprintf(out, n, "string"); return;
  case JSON_TRUE:
  case JSON_FALSE: snprintf(out, n, "bool"); return;
  case JSON_ARRAY: snprintf(out, n, "array"); return;
  case JSON_OBJECT: snprintf(out, n, "object"); return;
  case JSON_NULL: snprintf(out, n, "null"); return;
  case JSON_INTEGER:
    /* Go names the literal only when it tried to parse it as an integer */
    if (t && (t->kind == GK_INT || t->kind == GK_UINT))
      snprintf(out, n, "number %lld", (long long)json_integer_value(v));
    else
      snprintf(out, n, "number");
    return;
  case JSON_REAL:
    if (t && (t->kind == GK_INT || t->kind == GK_UINT)) {
      /* the original literal is gone; the shortest form that reads back is the best guess */
      char buf[64];
      double d = json_real_value(v);
      for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
      }
      snprintf(out, n, "number %s", buf);
    } else {
      snprintf(out, n, "number");
    }
    return;
  }
}

static void dec_fail(decoder *d, const char *what, const char *type_name, bool abort) {
  if (d->failed && !abort) return;
  if (d->depth > 0 || d->strct) {
    char path[384] = "";
    size_t off = 0;
    for (int i = 0; i < d->depth && off < sizeof path; i++)
      off += (size_t)snprintf(path + off, sizeof path - off, "%s%s", i ? "." : "", d->stack[i]);
    snprintf(d->msg, sizeof d->msg,
             "json: cannot unmarshal %s into Go struct field %s.%s of type %s", what,
             d->strct ? d->strct : "", path, type_name);
  } else {
    snprintf(d->msg, sizeof d->msg, "json: cannot unmarshal %s into Go value of type %s",
             what, type_name);
  }
  d->failed = true;
  if (abort) d->aborted = true;
}

static void type_error(decoder *d, const json_t *v, const go_type *t) {
  char what[96];
  value_desc(v, t, what, sizeof what);
  dec_fail(d, what, t->name, false);
}

/* Decodes v as t. Returns the canonical value (new reference), or NULL when nothing is to
 * be stored (null on a scalar, or an error). */
static json_t *dec_value(decoder *d, const json_t *v, const go_type *t);

/* What Go leaves in a slice element or map value given null. */
static json_t *zero_value(const go_type *t) {
  switch (t->kind) {
  case GK_STRING: return json_string("");
  case GK_BOOL: return json_false();
  case GK_INT:
  case GK_UINT: return json_integer(0);
  case GK_STRUCT: return json_object();
  case GK_ARRAY: {
    json_t *a = json_array();
    for (int i = 0; i < t->len; i++) json_array_append_new(a, zero_value(t->elem));
    return a;
  }
  default: return json_null();
  }
}

static json_t *dec_struct(decoder *d, const json_t *obj, const go_type *t) {
  json_t *out = json_object();
  const char *key;
  json_t *val;
  json_object_foreach((json_t *)obj, key, val) {
    const go_field *f = NULL;
    for (const go_field *c = t->fields; c->name; c++)
      if (strcmp(c->name, key) == 0) { f = c; break; }
    if (!f)
      for (const go_field *c = t->fields; c->name; c++)
        if (strcasecmp(c->name, key) == 0) { f = c; break; }
    if (!f) continue;
    if (f->embed && strcmp(f->embed, "Config") == 0 && d->depth == 0) d->config_seen = true;
    int saved_depth = d->depth;
    const char *saved_struct = d->strct;
    if (f->embed && d->depth < DEC_MAX_DEPTH) d->stack[d->depth++] = f->embed;
    if (d->depth < DEC_MAX_DEPTH) d->stack[d->depth++] = f->name;
    d->strct = t->struct_name;
    json_t *cv = dec_value(d, val, f->type);
    if (d->aborted) {
      json_decref(cv);
      json_decref(out);
      return NULL;
    }
    d->depth = saved_depth;
    d->strct = saved_struct;
    if (cv) json_object_set_new(out, f->name, cv);
  }
  return out;
}

static json_t *dec_strslice(decoder *d, const json_t *v) {
  if (json_is_null(v)) return json_null();
  if (json_is_string(v)) {
    json_t *a = json_array();
    json_array_append_new(a, json_string(json_string_value(v)));
    return a;
  }
  if (json_is_array(v)) {
    size_t i;
    json_t *e;
    bool all_strings = true; /* null elements read as "" */
    json_array_foreach(v, i, e) if (!json_is_string(e) && !json_is_null(e)) all_strings = false;
    if (all_strings) {
      json_t *a = json_array();
      json_array_foreach(v, i, e)
        json_array_append_new(a, json_string(json_is_string(e) ? json_string_value(e) : ""));
      return a;
    }
  }
  /* StrSlice.UnmarshalJSON gives up on []string, then on string, and returns the latter's
   * error, which stops the decoder where it stands */
  char what[32];
  value_desc(v, NULL, what, sizeof what);
  dec_fail(d, what, "string", true);
  return NULL;
}

static json_t *dec_value(decoder *d, const json_t *v, const go_type *t) {
  if (json_is_null(v)) {
    switch (t->kind) {
    case GK_PTR:
    case GK_SLICE:
    case GK_MAP:
    case GK_STRSLICE: return json_null();
    default: return NULL; /* Go leaves scalars, arrays and structs alone */
    }
  }
  switch (t->kind) {
  case GK_STRING:
    if (json_is_string(v)) return json_string(json_string_value(v));
    break;
  case GK_BOOL:
    if (json_is_boolean(v)) return json_boolean(json_is_true(v));
    break;
  case GK_INT:
    if (json_is_integer(v)) {
      json_int_t n = json_integer_value(v);
      if (t->bits < 64 && (n >= ((json_int_t)1 << (t->bits - 1)) ||
                           n < -((json_int_t)1 << (t->bits - 1))))
        break;
      return json_integer(n);
    }
    break;
  case GK_UINT:
    if (json_is_integer(v)) {
      json_int_t n = json_integer_value(v);
      if (n < 0 || (t->bits < 64 && n >= ((json_int_t)1 << t->bits))) break;
      return json_integer(n);
    }
    break;
  case GK_STRUCT:
    if (json_is_object(v)) return dec_struct(d, v, t);
    break;
  case GK_PTR: return dec_value(d, v, t->elem);
  case GK_SLICE:
  case GK_ARRAY:
    if (json_is_array(v)) {
      json_t *out = json_array();
      size_t i;
      json_t *e;
      json_array_foreach(v, i, e) {
        json_t *ce = dec_value(d, e, t->elem);
        if (d->aborted) {
          json_decref(ce);
          json_decref(out);
          return NULL;
        }
        if (t->kind == GK_ARRAY && (int)i >= t->len) {
          json_decref(ce);
          continue;
        }
        json_array_append_new(out, ce ? ce : zero_value(t->elem));
      }
      if (t->kind == GK_ARRAY)
        while ((int)json_array_size(out) < t->len) json_array_append_new(out, json_integer(0));
      return out;
    }
    break;
  case GK_MAP:
    if (json_is_object(v)) {
      json_t *out = json_object();
      const char *k;
      json_t *e;
      json_object_foreach((json_t *)v, k, e) {
        json_t *ce = dec_value(d, e, t->elem);
        if (d->aborted) {
          json_decref(ce);
          json_decref(out);
          return NULL;
        }
        json_object_set_new(out, k, ce ? ce : zero_value(t->elem));
      }
      return out;
    }
    break;
  case GK_STRSLICE: return dec_strslice(d, v);
  }
  /* the wrong JSON type for t: Go names the target's element type for pointers */
  type_error(d, v, t);
  return NULL;
}

static int decode_root(const json_t *body, const go_type *root, json_t **out,
                       bool *config_seen, arca_err *err) {
  decoder d = {.depth = 0};
  autojson json_t *res = dec_value(&d, body, root);
  if (d.failed) return err_set(err, 400, "invalid JSON: %s", d.msg);
  if (!res) res = json_object(); /* a null body decodes to the zero value */
  if (config_seen) *config_seen = d.config_seen;
  *out = steal_ptr(res);
  return 0;
}

int container_create_decode_ex(const json_t *body, json_t **out, bool *config_seen,
                               arca_err *err) {
  return decode_root(body, &T_CREATE, out, config_seen, err);
}

int container_create_decode(const json_t *body, json_t **out, arca_err *err) {
  return decode_root(body, &T_CREATE, out, NULL, err);
}

int container_update_decode(const json_t *body, json_t **out, arca_err *err) {
  return decode_root(body, &T_UPDATE, out, NULL, err);
}
