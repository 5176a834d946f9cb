/* Specialising a seccomp profile in Docker's format into one container's linux.seccomp:
 * the same steps as moby's profiles/seccomp setupSeccomp, for the default profile and for
 * profiles users pass with --security-opt seccomp=<file>. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <sys/utsname.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/oci_defaults.h"

/* Go's names for an architecture, libseccomp's (used in includes/excludes "arches") and
 * the runtime-spec's. */
static const struct {
  const char *go, *native, *scmp;
} arch_names[] = {
    {"386", "x86", "SCMP_ARCH_X86"},
    {"amd64", "amd64", "SCMP_ARCH_X86_64"},
    {"arm", "arm", "SCMP_ARCH_ARM"},
    {"arm64", "arm64", "SCMP_ARCH_AARCH64"},
    {"loong64", "loong64", "SCMP_ARCH_LOONGARCH64"},
    {"mips", "mips", "SCMP_ARCH_MIPS"},
    {"mipsle", "mipsel", "SCMP_ARCH_MIPSEL"},
    {"mips64", "mips64", "SCMP_ARCH_MIPS64"},
    {"mips64le", "mipsel64", "SCMP_ARCH_MIPSEL64"},
    {"ppc64", "ppc64", "SCMP_ARCH_PPC64"},
    {"ppc64le", "ppc64le", "SCMP_ARCH_PPC64LE"},
    {"riscv64", "riscv64", "SCMP_ARCH_RISCV64"},
    {"s390x", "s390x", "SCMP_ARCH_S390X"},
};

#if defined(__x86_64__)
#define HOST_GOARCH "amd64"
#elif defined(__aarch64__)
#define HOST_GOARCH "arm64"
#elif defined(__i386__)
#define HOST_GOARCH "386"
#elif defined(__arm__)
#define HOST_GOARCH "arm"
#elif defined(__s390x__)
#define HOST_GOARCH "s390x"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_GOARCH "ppc64le"
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_GOARCH "riscv64"
#elif defined(__loongarch64)
#define HOST_GOARCH "loong64"
#else
#define HOST_GOARCH "unknown"
#endif

/* The runtime-spec's enums (defs-linux.json); anything else runc would refuse later. */
static const char *const known_actions[] = {
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
    NULL,
};
static const char *const known_ops[] = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ", NULL,
};
static const char *const known_arches[] = {
    "SCMP_ARCH_X86",        "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",        "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",    "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",     "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",     "SCMP_ARCH_PPC64",      "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",       "SCMP_ARCH_S390X",    "SCMP_ARCH_SH",         "SCMP_ARCH_SHEB",
    "SCMP_ARCH_PARISC",     "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",    NULL,
};
static const char *const known_flags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL,
};

static bool in_list(const char *const *list, const char *s) {
  for (; *list; list++)
    if (strcmp(*list, s) == 0) return true;
  return false;
}

static pthread_once_t kernel_once = PTHREAD_ONCE_INIT;
static oci_kernel_version host_kernel;

static void read_host_kernel(void) {
  struct utsname uts;
  unsigned kernel, major;
  if (uname(&uts) == 0 && sscanf(uts.release, "%u.%u", &kernel, &major) == 2)
    host_kernel = (oci_kernel_version){kernel, major};
}

oci_kernel_version oci_kernel_host_version(void) {
  pthread_once(&kernel_once, read_host_kernel);
  return host_kernel;
}

/* ---- Decoding, with Docker's error prefix ---------------------------------------- */

__attribute__((format(printf, 2, 3))) static int decode_error(arca_err *err, const char *fmt,
                                                              ...) {
  char detail[ARCA_ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return err_set(err, 400, "Decoding seccomp profile failed: %s", detail);
}

static const char *type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "object";
  case JSON_ARRAY: return "array";
  case JSON_STRING: return "string";
  case JSON_INTEGER:
  case JSON_REAL: return "number";
  case JSON_TRUE:
  case JSON_FALSE: return "bool";
  default: return "null";
  }
}

/* Go's encoding/json matches keys exactly first, then case-insensitively. A JSON null is
 * the same as an absent key. */
static json_t *field(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (!v) {
    const char *k;
    json_t *candidate;
    json_object_foreach((json_t *)obj, k, candidate) {
      if (strcasecmp(k, key) == 0) {
        v = candidate;
        break;
      }
    }
  }
  return json_is_null(v) ? NULL : v;
}

static int string_field(const json_t *obj, const char *key, const char *where,
                        const char **out, arca_err *err) {
  json_t *v = field(obj, key);
  *out = NULL;
  if (!v) return 0;
  if (!json_is_string(v))
    return decode_error(err, "cannot unmarshal %s into %s.%s of type string", type_name(v),
                        where, key);
  *out = json_string_value(v);
  return 0;
}

static int uint_field(const json_t *obj, const char *key, const char *where, uint64_t max,
                      bool *present, uint64_t *out, arca_err *err) {
  json_t *v = field(obj, key);
  *present = v != NULL;
  *out = 0;
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
    return decode_error(err, "cannot unmarshal %s into %s.%s of type unsigned integer",
                        type_name(v), where, key);
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

/* An array of strings; absent gives an empty array. */
static int strings_field(const json_t *obj, const char *key, const char *where, json_t **out,
                         arca_err *err) {
  json_t *v = field(obj, key);
  autojson json_t *list = json_array();
  if (v && !json_is_array(v))
    return decode_error(err, "cannot unmarshal %s into %s.%s of type []string", type_name(v),
                        where, key);
  size_t i;
  json_t *item;
  json_array_foreach(v, i, item) {
    if (!json_is_string(item))
      return decode_error(err, "cannot unmarshal %s into %s.%s of type string",
                          type_name(item), where, key);
    json_array_append(list, item);
  }
  *out = steal_ptr(list);
  return 0;
}

static int object_field(const json_t *obj, const char *key, const char *where, json_t **out,
                        arca_err *err) {
  json_t *v = field(obj, key);
  *out = v;
  if (v && !json_is_object(v))
    return decode_error(err, "cannot unmarshal %s into %s.%s of type object", type_name(v),
                        where, key);
  return 0;
}

static bool strings_contain(const json_t *list, const char *s) {
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) {
    if (json_is_string(item) && strcmp(json_string_value(item), s) == 0) return true;
  }
  return false;
}

/* ---- Filters --------------------------------------------------------------------- */

typedef struct filter {
  json_t *caps, *arches; /* owned arrays, possibly empty */
  bool has_min_kernel;
  oci_kernel_version min_kernel;
} filter;

static void filter_release(filter *f) {
  json_decref(f->caps);
  json_decref(f->arches);
}

static int parse_kernel_version(const char *text, oci_kernel_version *out, arca_err *err) {
  unsigned kernel, major;
  int used = 0;
  if (sscanf(text, "%3u.%3u%n", &kernel, &major, &used) != 2 || text[used] != '\0' ||
      kernel > 255 || major > 255 || !strchr(text, '.') || text[0] < '0' || text[0] > '9')
    return decode_error(err, "invalid kernel version: \"%s\", expected \"<kernel>.<major>\"",
                        text);
  if (kernel == 0 && major == 0)
    return decode_error(err,
                        "invalid kernel version: \"%s\", expected \"<kernel>.<major>\": version "
                        "cannot be 0.0",
                        text);
  *out = (oci_kernel_version){kernel, major};
  return 0;
}

static int parse_filter(const json_t *call, const char *key, filter *f, arca_err *err) {
  *f = (filter){0};
  json_t *obj;
  if (object_field(call, key, "Syscall", &obj, err) < 0) return -1;
  if (strings_field(obj, "caps", "Filter", &f->caps, err) < 0) return -1;
  if (strings_field(obj, "arches", "Filter", &f->arches, err) < 0) return -1;
  const char *min_kernel;
  if (string_field(obj, "minKernel", "Filter", &min_kernel, err) < 0) return -1;
  if (min_kernel && *min_kernel) {
    if (parse_kernel_version(min_kernel, &f->min_kernel, err) < 0) return -1;
    f->has_min_kernel = true;
  }
  return 0;
}

static bool kernel_at_least(const oci_kernel_version *kv, oci_kernel_version min) {
  return kv->kernel > min.kernel || (kv->kernel == min.kernel && kv->major >= min.major);
}

/* setupSeccomp's rule: excluded if the arch is listed, any listed cap is held, or the
 * kernel is new enough; included only if the arch is listed, every cap is held and the
 * kernel is new enough. */
static bool rule_applies(const filter *inc, const filter *exc, const json_t *caps,
                         const char *native_arch, const oci_kernel_version *kv) {
  size_t i;
  json_t *c;
  if (strings_contain(exc->arches, native_arch)) return false;
  json_array_foreach(exc->caps, i, c) {
    if (strings_contain(caps, json_string_value(c))) return false;
  }
  if (exc->has_min_kernel && kernel_at_least(kv, exc->min_kernel)) return false;

  if (json_array_size(inc->arches) > 0 && !strings_contain(inc->arches, native_arch))
    return false;
  json_array_foreach(inc->caps, i, c) {
    if (!strings_contain(caps, json_string_value(c))) return false;
  }
  if (inc->has_min_kernel && !kernel_at_least(kv, inc->min_kernel)) return false;
  return true;
}

/* ---- Rules ----------------------------------------------------------------------- */

static int parse_args(const json_t *call, json_t **out, arca_err *err) {
  json_t *args = field(call, "args");
  if (args && !json_is_array(args))
    return decode_error(err, "cannot unmarshal %s into Syscall.args of type []LinuxSeccompArg",
                        type_name(args));
  autojson json_t *result = json_array();
  size_t i;
  json_t *arg;
  json_array_foreach(args, i, arg) {
    if (!json_is_object(arg))
      return decode_error(err, "cannot unmarshal %s into Syscall.args of type LinuxSeccompArg",
                          type_name(arg));
    bool present;
    uint64_t index, value, value_two;
    const char *op;
    if (uint_field(arg, "index", "LinuxSeccompArg", UINT32_MAX, &present, &index, err) < 0 ||
        uint_field(arg, "value", "LinuxSeccompArg", UINT64_MAX, &present, &value, err) < 0 ||
        uint_field(arg, "valueTwo", "LinuxSeccompArg", UINT64_MAX, &present, &value_two, err) < 0 ||
        string_field(arg, "op", "LinuxSeccompArg", &op, err) < 0)
      return -1;
    if (!op || !in_list(known_ops, op))
      return err_set(err, 400, "invalid seccomp profile: unknown comparison operator \"%s\"",
                     op ? op : "");
    if (index > 5)
      return err_set(err, 400, "invalid seccomp profile: argument index %llu out of range",
                     (unsigned long long)index);
    json_t *out_arg = json_pack("{s:I, s:I}", "index", (json_int_t)index, "value",
                                (json_int_t)value);
    if (value_two) json_object_set_new(out_arg, "valueTwo", json_integer((json_int_t)value_two));
    json_object_set_new(out_arg, "op", json_string(op));
    json_array_append_new(result, out_arg);
  }
  *out = steal_ptr(result);
  return 0;
}

/* Decodes one Docker syscall entry into an OCI LinuxSyscall (*out), plus its filters. */
static int parse_rule(const json_t *call, json_t **out, filter *inc, filter *exc,
                      arca_err *err) {
  if (!json_is_object(call))
    return decode_error(err, "cannot unmarshal %s into Seccomp.syscalls of type Syscall",
                        type_name(call));
  const char *name, *action;
  autojson json_t *names = NULL;
  autojson json_t *args = NULL;
  if (string_field(call, "name", "Syscall", &name, err) < 0 ||
      strings_field(call, "names", "Syscall", &names, err) < 0 ||
      string_field(call, "action", "Syscall", &action, err) < 0)
    return -1;
  if (name && *name) {
    if (json_array_size(names) > 0)
      return err_set(err, 400,
                     "both 'name' and 'names' are specified in the seccomp profile, use either "
                     "'name' or 'names'");
    json_array_append_new(names, json_string(name));
  }
  if (json_array_size(names) == 0)
    return err_set(err, 400, "invalid seccomp profile: a syscall rule has no names");
  if (!action || !in_list(known_actions, action))
    return err_set(err, 400, "invalid seccomp profile: unknown action \"%s\"",
                   action ? action : "");
  bool has_errno;
  uint64_t errno_ret;
  if (uint_field(call, "errnoRet", "Syscall", UINT32_MAX, &has_errno, &errno_ret, err) < 0 ||
      parse_args(call, &args, err) < 0 || parse_filter(call, "includes", inc, err) < 0 ||
      parse_filter(call, "excludes", exc, err) < 0)
    return -1;

  json_t *rule = json_pack("{s:O, s:s}", "names", names, "action", action);
  if (has_errno) json_object_set_new(rule, "errnoRet", json_integer((json_int_t)errno_ret));
  if (json_array_size(args) > 0) json_object_set(rule, "args", args);
  *out = rule;
  return 0;
}

/* ---- The profile ----------------------------------------------------------------- */

static int check_listed(const json_t *list, const char *const *known, const char *what,
                        arca_err *err) {
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    if (!in_list(known, json_string_value(v)))
      return err_set(err, 400, "invalid seccomp profile: unknown %s \"%s\"", what,
                     json_string_value(v));
  }
  return 0;
}

/* archMap entries for the container's architecture become "architectures". */
static int expand_arch_map(const json_t *arch_map, const char *scmp_arch, json_t *architectures,
                           arca_err *err) {
  if (arch_map && !json_is_array(arch_map))
    return decode_error(err, "cannot unmarshal %s into Seccomp.archMap of type []Architecture",
                        type_name(arch_map));
  size_t i;
  json_t *entry;
  json_array_foreach(arch_map, i, entry) {
    if (!json_is_object(entry))
      return decode_error(err, "cannot unmarshal %s into Seccomp.archMap of type Architecture",
                          type_name(entry));
    const char *main_arch;
    autojson json_t *sub_arches = NULL;
    if (string_field(entry, "architecture", "Architecture", &main_arch, err) < 0 ||
        strings_field(entry, "subArchitectures", "Architecture", &sub_arches, err) < 0)
      return -1;
    if (!main_arch || strcmp(main_arch, scmp_arch) != 0) continue;
    json_array_append_new(architectures, json_string(main_arch));
    json_array_extend(architectures, sub_arches);
    break;
  }
  return 0;
}

int oci_seccomp_expand(const json_t *profile, const json_t *caps, const char *arch,
                       const oci_kernel_version *kv, json_t **out, arca_err *err) {
  *out = NULL;
  if (!json_is_object(profile))
    return decode_error(err, "cannot unmarshal %s into Go value of type seccomp.Seccomp",
                        type_name(profile));
  if (!arch) arch = HOST_GOARCH;
  const char *native_arch = NULL, *scmp_arch = NULL;
  for (size_t i = 0; i < ARRAY_LEN(arch_names); i++) {
    if (strcmp(arch_names[i].go, arch) == 0) {
      native_arch = arch_names[i].native;
      scmp_arch = arch_names[i].scmp;
    }
  }
  if (!native_arch) return err_set(err, 500, "seccomp: unsupported architecture \"%s\"", arch);
  oci_kernel_version host = oci_kernel_host_version();
  if (!kv) kv = &host;

  const char *default_action, *listener_path, *listener_metadata;
  bool has_default_errno;
  uint64_t default_errno;
  autojson json_t *architectures = NULL;
  autojson json_t *flags = NULL;
  json_t *syscalls = field(profile, "syscalls");
  if (string_field(profile, "defaultAction", "Seccomp", &default_action, err) < 0 ||
      uint_field(profile, "defaultErrnoRet", "Seccomp", UINT32_MAX, &has_default_errno,
                 &default_errno, err) < 0 ||
      strings_field(profile, "architectures", "Seccomp", &architectures, err) < 0 ||
      strings_field(profile, "flags", "Seccomp", &flags, err) < 0 ||
      string_field(profile, "listenerPath", "Seccomp", &listener_path, err) < 0 ||
      string_field(profile, "listenerMetadata", "Seccomp", &listener_metadata, err) < 0)
    return -1;
  if (syscalls && !json_is_array(syscalls))
    return decode_error(err, "cannot unmarshal %s into Seccomp.syscalls of type []Syscall",
                        type_name(syscalls));

  /* Docker's convention: a profile saying nothing disables seccomp. */
  if ((!default_action || !*default_action) && json_array_size(syscalls) == 0) return 0;

  json_t *arch_map = field(profile, "archMap");
  if (json_array_size(architectures) > 0 && json_array_size(arch_map) > 0)
    return err_set(err, 400,
                   "both 'architectures' and 'archMap' are specified in the seccomp profile, "
                   "use either 'architectures' or 'archMap'");
  if (expand_arch_map(arch_map, scmp_arch, architectures, err) < 0) return -1;
  if (!default_action || !in_list(known_actions, default_action))
    return err_set(err, 400, "invalid seccomp profile: unknown default action \"%s\"",
                   default_action ? default_action : "");
  if (check_listed(architectures, known_arches, "architecture", err) < 0 ||
      check_listed(flags, known_flags, "flag", err) < 0)
    return -1;

  autojson json_t *result = json_pack("{s:s}", "defaultAction", default_action);
  if (has_default_errno)
    json_object_set_new(result, "defaultErrnoRet", json_integer((json_int_t)default_errno));
  if (json_array_size(architectures) > 0) json_object_set(result, "architectures", architectures);
  if (json_array_size(flags) > 0) json_object_set(result, "flags", flags);
  if (listener_path && *listener_path)
    json_object_set_new(result, "listenerPath", json_string(listener_path));
  if (listener_metadata && *listener_metadata)
    json_object_set_new(result, "listenerMetadata", json_string(listener_metadata));

  autojson json_t *kept = json_array();
  size_t i;
  json_t *call;
  json_array_foreach(syscalls, i, call) {
    json_t *rule = NULL;
    filter inc = {0}, exc = {0};
    int rc = parse_rule(call, &rule, &inc, &exc, err);
    if (rc == 0 && rule_applies(&inc, &exc, caps, native_arch, kv))
      json_array_append(kept, rule);
    json_decref(rule);
    filter_release(&inc);
    filter_release(&exc);
    if (rc < 0) return -1;
  }
  if (json_array_size(kept) > 0) json_object_set(result, "syscalls", kept);
  *out = steal_ptr(result);
  return 0;
}

int oci_seccomp_default(const json_t *caps, const char *arch, json_t **out, arca_err *err) {
  autojson json_t *profile = oci_seccomp_default_profile();
  return oci_seccomp_expand(profile, caps, arch, NULL, out, err);
}

int oci_seccomp_from_docker_profile(const char *json_text, const json_t *caps,
                                    const char *arch, json_t **out, arca_err *err) {
  json_error_t jerr;
  autojson json_t *profile = json_loads(json_text ? json_text : "", 0, &jerr);
  if (!profile) return decode_error(err, "%s", jerr.text);
  return oci_seccomp_expand(profile, caps, arch, NULL, out, err);
}
