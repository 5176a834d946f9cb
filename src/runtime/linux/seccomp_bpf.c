/* The OCI seccomp section of a container's config.json compiled to a BPF program with
 * libseccomp, the way runc's libcontainer/seccomp does it, so that processes Arca starts
 * itself in a running container (exec) get the same filter as its init. */
#include <errno.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/lx_nsexec.h"

#define MAX_ARGS 6

static int action_of(const char *name, const json_t *errno_ret, uint32_t default_errno, uint32_t *out,
                     arca_err *err) {
  uint32_t e = json_is_integer(errno_ret) ? (uint32_t)json_integer_value(errno_ret) : default_errno;
  if (!name) return err_set(err, 500, "seccomp: a rule has no action");
  if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD")) *out = SCMP_ACT_KILL;
  else if (!strcmp(name, "SCMP_ACT_KILL_PROCESS")) *out = SCMP_ACT_KILL_PROCESS;
  else if (!strcmp(name, "SCMP_ACT_TRAP")) *out = SCMP_ACT_TRAP;
  else if (!strcmp(name, "SCMP_ACT_ERRNO")) *out = SCMP_ACT_ERRNO(e);
  else if (!strcmp(name, "SCMP_ACT_TRACE")) *out = SCMP_ACT_TRACE(e);
  else if (!strcmp(name, "SCMP_ACT_ALLOW")) *out = SCMP_ACT_ALLOW;
  else if (!strcmp(name, "SCMP_ACT_LOG")) *out = SCMP_ACT_LOG;
  else if (!strcmp(name, "SCMP_ACT_NOTIFY"))
    return err_set(err, 500, "seccomp: SCMP_ACT_NOTIFY is not supported for processes started in a running container");
  else return err_set(err, 500, "seccomp: unknown action %s", name);
  return 0;
}

static int op_of(const char *name, enum scmp_compare *out, arca_err *err) {
  static const struct {
    const char *name;
    enum scmp_compare op;
  } ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
             {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
             {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (size_t i = 0; i < ARRAY_LEN(ops); i++)
    if (name && !strcmp(name, ops[i].name)) {
      *out = ops[i].op;
      return 0;
    }
  return err_set(err, 500, "seccomp: unknown comparison %s", name ? name : "(none)");
}

static int flags_of(const json_t *flags, unsigned *out, arca_err *err) {
  size_t i;
  json_t *f;
  *out = 0;
  json_array_foreach(flags, i, f) {
    const char *s = json_string_value(f);
    if (s && !strcmp(s, "SECCOMP_FILTER_FLAG_TSYNC")) *out |= 1u << 0;
    else if (s && !strcmp(s, "SECCOMP_FILTER_FLAG_LOG")) *out |= 1u << 1;
    else if (s && !strcmp(s, "SECCOMP_FILTER_FLAG_SPEC_ALLOW")) *out |= 1u << 2;
    else return err_set(err, 500, "seccomp: unsupported flag %s", s ? s : "(not a string)");
  }
  return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const json_t *args, arca_err *err) {
  struct scmp_arg_cmp cmp[MAX_ARGS * 4];
  unsigned count[MAX_ARGS] = {0};
  size_t n = 0, i;
  json_t *a;
  bool repeated = false;
  json_array_foreach(args, i, a) {
    if (n >= ARRAY_LEN(cmp)) return err_set(err, 500, "seccomp: too many argument conditions");
    json_int_t index = json_integer_value(json_object_get(a, "index"));
    if (index < 0 || index >= MAX_ARGS) return err_set(err, 500, "seccomp: argument index %lld out of range", (long long)index);
    enum scmp_compare op = SCMP_CMP_EQ;
    if (op_of(json_string_value(json_object_get(a, "op")), &op, err) < 0) return -1;
    cmp[n].arg = (unsigned)index;
    cmp[n].op = op;
    cmp[n].datum_a = (scmp_datum_t)json_integer_value(json_object_get(a, "value"));
    cmp[n].datum_b = (scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo"));
    if (++count[index] > 1) repeated = true;
    n++;
  }
  int rc;
  if (repeated) {
    /* libseccomp takes one condition per argument in a rule: as runc, one rule each */
    for (size_t k = 0; k < n; k++)
      if ((rc = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[k])) < 0)
        return err_set(err, 500, "seccomp: adding a rule for syscall %d: %s", nr, strerror(-rc));
    return 0;
  }
  if ((rc = seccomp_rule_add_array(ctx, action, nr, (unsigned)n, cmp)) < 0)
    return err_set(err, 500, "seccomp: adding a rule for syscall %d: %s", nr, strerror(-rc));
  return 0;
}

static int export_bpf(scmp_filter_ctx ctx, lx_bpf *out, arca_err *err) {
  autoclose int fd = memfd_create("arca-seccomp", MFD_CLOEXEC);
  if (fd < 0) return err_errno(err, 500, errno, "seccomp: memfd");
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) return err_set(err, 500, "seccomp: exporting the filter: %s", strerror(-rc));
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 || size > (1 << 20))
    return err_set(err, 500, "seccomp: the exported filter has a bad size (%lld)", (long long)size);
  struct sock_filter *prog = xmalloc((size_t)size);
  if (pread(fd, prog, (size_t)size, 0) != size) {
    free(prog);
    return err_errno(err, 500, errno, "seccomp: reading the exported filter");
  }
  out->filter = prog;
  out->len = (unsigned short)((size_t)size / sizeof(struct sock_filter));
  return 0;
}

int lx_seccomp_compile(const json_t *seccomp, lx_bpf *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(seccomp)) return 0; /* unconfined */
  if (json_string_length(json_object_get(seccomp, "listenerPath")))
    return err_set(err, 500, "seccomp: a listener (SCMP_ACT_NOTIFY) is not supported for processes started in a running container");
  const json_t *der = json_object_get(seccomp, "defaultErrnoRet");
  uint32_t default_action;
  if (action_of(json_string_value(json_object_get(seccomp, "defaultAction")), der, EPERM, &default_action, err) < 0)
    return -1;
  if (flags_of(json_object_get(seccomp, "flags"), &out->flags, err) < 0) return -1;
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (!ctx) return err_set(err, 500, "seccomp: cannot initialise a filter");
  int rc = -1;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(seccomp, "architectures"), i, v) {
    const char *name = json_string_value(v);
    if (!name || strncmp(name, "SCMP_ARCH_", 10)) {
      err_set(err, 500, "seccomp: bad architecture %s", name ? name : "(not a string)");
      goto out;
    }
    char lower[32];
    size_t k = 0;
    for (const char *p = name + 10; *p && k < sizeof lower - 1; p++)
      lower[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    lower[k] = '\0';
    uint32_t token = seccomp_arch_resolve_name(lower);
    if (!token) {
      err_set(err, 500, "seccomp: unknown architecture %s", name);
      goto out;
    }
    int r = seccomp_arch_add(ctx, token);
    if (r < 0 && r != -EEXIST) {
      err_set(err, 500, "seccomp: adding architecture %s: %s", name, strerror(-r));
      goto out;
    }
  }
  json_array_foreach(json_object_get(seccomp, "syscalls"), i, v) {
    uint32_t action;
    if (action_of(json_string_value(json_object_get(v, "action")), json_object_get(v, "errnoRet"), EPERM, &action,
                  err) < 0)
      goto out;
    if (action == default_action) continue; /* runc skips these: libseccomp refuses them */
    size_t j;
    json_t *nv;
    json_array_foreach(json_object_get(v, "names"), j, nv) {
      const char *name = json_string_value(nv);
      int nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
      if (nr == __NR_SCMP_ERROR) continue; /* unknown to this libseccomp: runc ignores it too */
      if (add_rule(ctx, action, nr, json_object_get(v, "args"), err) < 0) goto out;
    }
  }
  rc = export_bpf(ctx, out, err);
out:
  seccomp_release(ctx);
  return rc;
}

void lx_bpf_free(lx_bpf *b) {
  free(b->filter);
  b->filter = NULL;
  b->len = 0;
}

/* ---- the cache ------------------------------------------------------------------- */

#define CACHE_SLOTS 8

static struct {
  char *key; /* the profile, dumped with sorted keys */
  lx_bpf bpf;
  uint64_t used;
} cache[CACHE_SLOTS];
static uint64_t cache_clock;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void bpf_copy(const lx_bpf *from, lx_bpf *to) {
  to->len = from->len;
  to->flags = from->flags;
  to->filter = xmalloc(sizeof *to->filter * from->len);
  memcpy(to->filter, from->filter, sizeof *to->filter * from->len);
}

int lx_seccomp_compile_cached(const json_t *seccomp, lx_bpf *out, arca_err *err) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(seccomp)) return 0;
  autofree char *key = json_dumps(seccomp, JSON_COMPACT | JSON_SORT_KEYS);
  if (!key) return err_set(err, 500, "seccomp: cannot serialise the profile");
  pthread_mutex_lock(&cache_lock);
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    if (cache[i].key && !strcmp(cache[i].key, key)) {
      cache[i].used = ++cache_clock;
      bpf_copy(&cache[i].bpf, out);
      pthread_mutex_unlock(&cache_lock);
      return 0;
    }
  }
  pthread_mutex_unlock(&cache_lock);
  if (lx_seccomp_compile(seccomp, out, err) < 0) return -1;
  if (!out->len) return 0;
  pthread_mutex_lock(&cache_lock);
  size_t victim = 0;
  for (size_t i = 1; i < CACHE_SLOTS; i++)
    if (cache[i].used < cache[victim].used) victim = i;
  free(cache[victim].key);
  lx_bpf_free(&cache[victim].bpf);
  cache[victim].key = steal_ptr(key);
  bpf_copy(out, &cache[victim].bpf);
  cache[victim].used = ++cache_clock;
  pthread_mutex_unlock(&cache_lock);
  return 0;
}
