/* Docker's security defaults as OCI JSON: capabilities, seccomp, paths, mounts, devices,
 * rlimits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/oci_defaults.h"

#define ALL_CAPS_MASK ((UINT64_C(1) << 41) - 1)
#define CAP_SYS_RESOURCE_BIT 24

static json_t *strings(const char *first, ...) {
  json_t *arr = json_array();
  va_list ap;
  va_start(ap, first);
  for (const char *s = first; s; s = va_arg(ap, const char *))
    json_array_append_new(arr, json_string(s));
  va_end(ap);
  return arr;
}

static bool has_string(const json_t *arr, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (strcmp(json_string_value(v), s) == 0) return true;
  }
  return false;
}

static json_t *default_caps(void) {
  json_t *caps = json_array();
  for (size_t i = 0; i < oci_default_caps_len; i++)
    json_array_append_new(caps, json_string(oci_default_caps[i]));
  return caps;
}

static json_t *default_caps_plus(const char *cap) {
  json_t *caps = default_caps();
  json_array_append_new(caps, json_string(cap));
  return caps;
}

/* ---- Capabilities ---------------------------------------------------------------- */

static void test_default_caps(void **state) {
  (void)state;
  static const char *const expected[] = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",  "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",  "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE",
  };
  assert_int_equal(oci_default_caps_len, 14);
  for (size_t i = 0; i < 14; i++) assert_string_equal(oci_default_caps[i], expected[i]);
  assert_int_equal(oci_all_caps_len, 41);
  assert_string_equal(oci_all_caps[0], "CAP_CHOWN");
  assert_string_equal(oci_all_caps[21], "CAP_SYS_ADMIN");
  assert_string_equal(oci_all_caps[24], "CAP_SYS_RESOURCE");
  assert_string_equal(oci_all_caps[40], "CAP_CHECKPOINT_RESTORE");
}

static json_t *resolve_ok(json_t *add, json_t *drop, bool privileged, uint64_t mask) {
  json_t *out = NULL;
  arca_err err = {0};
  int rc = oci_caps_resolve_with(add, drop, privileged, mask, &out, &err);
  if (rc != 0) fail_msg("resolve failed: %s", err.msg);
  json_decref(add);
  json_decref(drop);
  return out;
}

static void test_caps_no_changes_gives_defaults(void **state) {
  (void)state;
  autojson json_t *caps = resolve_ok(NULL, json_array(), false, ALL_CAPS_MASK);
  assert_int_equal(json_array_size(caps), 14);
  for (size_t i = 0; i < 14; i++)
    assert_string_equal(json_string_value(json_array_get(caps, i)), oci_default_caps[i]);
}

static void test_caps_add_drop_normalized(void **state) {
  (void)state;
  autojson json_t *caps = resolve_ok(strings("sys_admin", "Cap_Net_Admin", "chown", NULL),
                                     strings("mknod", "CAP_KILL", NULL), false, ALL_CAPS_MASK);
  /* 14 defaults - MKNOD - KILL + SYS_ADMIN + NET_ADMIN (CHOWN already there). */
  assert_int_equal(json_array_size(caps), 14);
  assert_true(has_string(caps, "CAP_SYS_ADMIN"));
  assert_true(has_string(caps, "CAP_NET_ADMIN"));
  assert_true(has_string(caps, "CAP_CHOWN"));
  assert_false(has_string(caps, "CAP_MKNOD"));
  assert_false(has_string(caps, "CAP_KILL"));
  assert_string_equal(json_string_value(json_array_get(caps, 12)), "CAP_SYS_ADMIN");
}

static void test_caps_drop_all_then_add(void **state) {
  (void)state;
  autojson json_t *caps = resolve_ok(strings("net_bind_service", NULL), strings("ALL", NULL),
                                     false, ALL_CAPS_MASK);
  assert_int_equal(json_array_size(caps), 1);
  assert_string_equal(json_string_value(json_array_get(caps, 0)), "CAP_NET_BIND_SERVICE");

  autojson json_t *none = resolve_ok(NULL, strings("all", NULL), false, ALL_CAPS_MASK);
  assert_int_equal(json_array_size(none), 0);
}

static void test_caps_add_all(void **state) {
  (void)state;
  autojson json_t *caps = resolve_ok(strings("all", NULL), strings("MKNOD", "cap_sys_admin", NULL),
                                     false, ALL_CAPS_MASK);
  assert_int_equal(json_array_size(caps), 39);
  assert_false(has_string(caps, "CAP_MKNOD"));
  assert_false(has_string(caps, "CAP_SYS_ADMIN"));
  assert_true(has_string(caps, "CAP_SYS_PTRACE"));
  assert_true(has_string(caps, "CAP_CHECKPOINT_RESTORE"));
  /* ALL follows the host's available set. */
  autojson json_t *limited = resolve_ok(strings("ALL", NULL), NULL, false,
                                        ALL_CAPS_MASK & ~(UINT64_C(1) << CAP_SYS_RESOURCE_BIT));
  assert_int_equal(json_array_size(limited), 40);
  assert_false(has_string(limited, "CAP_SYS_RESOURCE"));
}

static void test_caps_unknown_name(void **state) {
  (void)state;
  json_t *out = NULL;
  arca_err err = {0};
  autojson json_t *add = strings("foo", NULL);
  assert_int_equal(oci_caps_resolve_with(add, NULL, false, ALL_CAPS_MASK, &out, &err), -1);
  assert_null(out);
  assert_int_equal(err.status, 400);
  assert_string_equal(err.msg, "unknown capability: \"CAP_FOO\"");

  err_clear(&err);
  autojson json_t *drop = strings("CAP_CHOWN", "cap_nope", NULL);
  assert_int_equal(oci_caps_resolve_with(NULL, drop, false, ALL_CAPS_MASK, &out, &err), -1);
  assert_string_equal(err.msg, "unknown capability: \"CAP_NOPE\"");

  err_clear(&err);
  autojson json_t *bad = json_pack("[i]", 3);
  assert_int_equal(oci_caps_resolve_with(bad, NULL, false, ALL_CAPS_MASK, &out, &err), -1);
  assert_int_equal(err.status, 400);
}

static void test_caps_unavailable_in_environment(void **state) {
  (void)state;
  json_t *out = NULL;
  arca_err err = {0};
  autojson json_t *add = strings("sys_resource", NULL);
  uint64_t mask = ALL_CAPS_MASK & ~(UINT64_C(1) << CAP_SYS_RESOURCE_BIT);
  assert_int_equal(oci_caps_resolve_with(add, NULL, false, mask, &out, &err), -1);
  assert_int_equal(err.status, 400);
  assert_string_equal(err.msg, "capability not supported by your kernel or not available in the "
                               "current environment: \"CAP_SYS_RESOURCE\"");
  /* Unknown environment (mask 0): accepted, as Docker does. */
  autojson json_t *caps = resolve_ok(strings("sys_resource", NULL), NULL, false, 0);
  assert_true(has_string(caps, "CAP_SYS_RESOURCE"));
}

static void test_caps_privileged(void **state) {
  (void)state;
  /* Privileged ignores cap-add/cap-drop, even invalid ones, as TweakCapabilities does. */
  autojson json_t *all = resolve_ok(strings("bogus", NULL), strings("ALL", NULL), true,
                                    ALL_CAPS_MASK);
  assert_int_equal(json_array_size(all), 41);
  for (size_t i = 0; i < 41; i++)
    assert_string_equal(json_string_value(json_array_get(all, i)), oci_all_caps[i]);
  autojson json_t *host_like = resolve_ok(NULL, NULL, true,
                                          ALL_CAPS_MASK & ~(UINT64_C(1) << CAP_SYS_RESOURCE_BIT));
  assert_int_equal(json_array_size(host_like), 40);
  assert_false(has_string(host_like, "CAP_SYS_RESOURCE"));
}

static void test_caps_normalize(void **state) {
  (void)state;
  json_t *out = NULL;
  arca_err err = {0};
  autojson json_t *in = strings("all", "net_admin", "CAP_SYS_TIME", NULL);
  assert_int_equal(oci_caps_normalize(in, ALL_CAPS_MASK, &out, &err), 0);
  autojson json_t *normalized = out;
  autojson json_t *expected = strings("ALL", "CAP_NET_ADMIN", "CAP_SYS_TIME", NULL);
  assert_true(json_equal(normalized, expected));
  autojson json_t *null_in = json_null();
  assert_int_equal(oci_caps_normalize(null_in, ALL_CAPS_MASK, &out, &err), 0);
  assert_int_equal(json_array_size(out), 0);
  json_decref(out);
}

static void test_caps_host_mask_matches_proc(void **state) {
  (void)state;
  autofclose FILE *f = fopen("/proc/self/status", "r");
  assert_non_null(f);
  char line[256];
  unsigned long long eff = 0;
  bool found = false;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "CapEff: %llx", &eff) == 1) found = true;
  assert_true(found);
  assert_int_equal(oci_caps_host_available(), eff);
}

static void test_process_capabilities(void **state) {
  (void)state;
  autojson json_t *caps = default_caps();
  autojson json_t *obj = oci_process_capabilities(caps);
  assert_int_equal(json_object_size(obj), 3);
  assert_true(json_equal(json_object_get(obj, "bounding"), caps));
  assert_true(json_equal(json_object_get(obj, "effective"), caps));
  assert_true(json_equal(json_object_get(obj, "permitted"), caps));
  assert_ptr_not_equal(json_object_get(obj, "bounding"), caps);
}

/* ---- Seccomp --------------------------------------------------------------------- */

static json_t *seccomp_for(const json_t *caps, const char *arch, oci_kernel_version kv) {
  autojson json_t *profile = oci_seccomp_default_profile();
  json_t *out = NULL;
  arca_err err = {0};
  if (oci_seccomp_expand(profile, caps, arch, &kv, &out, &err) != 0)
    fail_msg("expand failed: %s", err.msg);
  assert_non_null(out);
  return out;
}

/* Rules naming syscall, in order, borrowed from the profile. */
static size_t rules_for(const json_t *seccomp, const char *syscall, const json_t *found[],
                        size_t max) {
  size_t n = 0, i;
  json_t *rule;
  json_array_foreach(json_object_get(seccomp, "syscalls"), i, rule) {
    if (has_string(json_object_get(rule, "names"), syscall) && n < max) found[n++] = rule;
  }
  return n;
}

/* True if some rule allows syscall without argument conditions. */
static bool allowed_plainly(const json_t *seccomp, const char *syscall) {
  const json_t *found[16];
  size_t n = rules_for(seccomp, syscall, found, 16);
  for (size_t i = 0; i < n; i++)
    if (strcmp(json_string_value(json_object_get(found[i], "action")), "SCMP_ACT_ALLOW") == 0 &&
        !json_object_get(found[i], "args"))
      return true;
  return false;
}

static const oci_kernel_version kernel_6_1 = {6, 1};
static const oci_kernel_version kernel_4_4 = {4, 4};

static void test_seccomp_default_amd64(void **state) {
  (void)state;
  autojson json_t *caps = default_caps();
  autojson json_t *sc = seccomp_for(caps, "amd64", kernel_6_1);
  assert_string_equal(json_string_value(json_object_get(sc, "defaultAction")), "SCMP_ACT_ERRNO");
  assert_int_equal(json_integer_value(json_object_get(sc, "defaultErrnoRet")), 1);
  autojson json_t *archs = strings("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL);
  assert_true(json_equal(json_object_get(sc, "architectures"), archs));

  for (const char *const *s = (const char *const[]){"read", "write", "openat", "execve",
                                                    "exit_group", "arch_prctl", "modify_ldt",
                                                    "chroot", "ptrace", NULL};
       *s; s++)
    assert_true(allowed_plainly(sc, *s));
  for (const char *const *s = (const char *const[]){"mount", "umount2", "unshare", "setns",
                                                    "reboot", "init_module", "kcmp",
                                                    "set_tls", "bpf", "clock_settime", NULL};
       *s; s++) {
    const json_t *found[4];
    assert_int_equal(rules_for(sc, *s, found, 4), 0);
  }

  const json_t *found[8];
  assert_int_equal(rules_for(sc, "clone3", found, 8), 1);
  assert_string_equal(json_string_value(json_object_get(found[0], "action")), "SCMP_ACT_ERRNO");
  assert_int_equal(json_integer_value(json_object_get(found[0], "errnoRet")), 38);

  /* clone without namespace flags: the x86 (index 0) rule only, no s390 one. */
  assert_int_equal(rules_for(sc, "clone", found, 8), 1);
  json_t *arg = json_array_get(json_object_get(found[0], "args"), 0);
  assert_int_equal(json_integer_value(json_object_get(arg, "index")), 0);
  assert_int_equal(json_integer_value(json_object_get(arg, "value")), 2114060288);
  assert_string_equal(json_string_value(json_object_get(arg, "op")), "SCMP_CMP_MASKED_EQ");
  assert_null(json_object_get(arg, "valueTwo"));

  assert_int_equal(rules_for(sc, "personality", found, 8), 5);
  static const json_int_t personas[] = {0, 8, 131072, 131080, 4294967295};
  for (size_t i = 0; i < 5; i++) {
    json_t *a = json_array_get(json_object_get(found[i], "args"), 0);
    assert_int_equal(json_integer_value(json_object_get(a, "value")), personas[i]);
    assert_string_equal(json_string_value(json_object_get(a, "op")), "SCMP_CMP_EQ");
  }
  /* socket: everything but AF_ALG (38) and AF_VSOCK (40). */
  assert_int_equal(rules_for(sc, "socket", found, 8), 3);
  assert_false(allowed_plainly(sc, "socket"));
}

static void test_seccomp_arm64(void **state) {
  (void)state;
  autojson json_t *caps = default_caps();
  autojson json_t *sc = seccomp_for(caps, "arm64", kernel_6_1);
  autojson json_t *archs = strings("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL);
  assert_true(json_equal(json_object_get(sc, "architectures"), archs));
  assert_true(allowed_plainly(sc, "set_tls"));
  assert_true(allowed_plainly(sc, "cacheflush"));
  assert_false(allowed_plainly(sc, "arch_prctl"));
  assert_false(allowed_plainly(sc, "modify_ldt"));

  autojson json_t *s390 = seccomp_for(caps, "s390x", kernel_6_1);
  const json_t *found[4];
  assert_int_equal(rules_for(s390, "clone", found, 4), 1);
  json_t *arg = json_array_get(json_object_get(found[0], "args"), 0);
  assert_int_equal(json_integer_value(json_object_get(arg, "index")), 1);

  json_t *out = NULL;
  arca_err err = {0};
  autojson json_t *profile = oci_seccomp_default_profile();
  assert_int_equal(oci_seccomp_expand(profile, caps, "sparc", &kernel_6_1, &out, &err), -1);
  assert_null(out);
  assert_int_equal(err.status, 500);
}

static void test_seccomp_sys_admin(void **state) {
  (void)state;
  autojson json_t *caps = default_caps_plus("CAP_SYS_ADMIN");
  autojson json_t *sc = seccomp_for(caps, "amd64", kernel_6_1);
  assert_true(allowed_plainly(sc, "mount"));
  assert_true(allowed_plainly(sc, "clone"));
  assert_true(allowed_plainly(sc, "clone3"));
  assert_true(allowed_plainly(sc, "unshare"));
  const json_t *found[4];
  assert_int_equal(rules_for(sc, "clone3", found, 4), 1); /* no ENOSYS rule */
  assert_int_equal(rules_for(sc, "clone", found, 4), 1);  /* no flag filter */
  assert_null(json_object_get(found[0], "args"));
}

static void test_seccomp_ptrace_needs_cap(void **state) {
  (void)state;
  autojson json_t *caps = default_caps();
  autojson json_t *with_cap = default_caps_plus("CAP_SYS_PTRACE");
  const json_t *found[4];

  /* Before 4.8 ptrace could bypass seccomp: only CAP_SYS_PTRACE gets it. */
  autojson json_t *old = seccomp_for(caps, "amd64", kernel_4_4);
  assert_int_equal(rules_for(old, "ptrace", found, 4), 0);
  assert_int_equal(rules_for(old, "process_vm_readv", found, 4), 0);
  autojson json_t *old_cap = seccomp_for(with_cap, "amd64", kernel_4_4);
  assert_true(allowed_plainly(old_cap, "ptrace"));

  /* From 4.8 ptrace is for everyone; kcmp, pidfd_getfd, process_madvise still need the
   * capability. */
  autojson json_t *now = seccomp_for(caps, "amd64", kernel_6_1);
  assert_true(allowed_plainly(now, "ptrace"));
  assert_true(allowed_plainly(now, "process_vm_writev"));
  for (const char *const *s = (const char *const[]){"kcmp", "pidfd_getfd", "process_madvise",
                                                    NULL};
       *s; s++) {
    assert_int_equal(rules_for(now, *s, found, 4), 0);
  }
  autojson json_t *now_cap = seccomp_for(with_cap, "amd64", kernel_6_1);
  assert_true(allowed_plainly(now_cap, "kcmp"));
  assert_true(allowed_plainly(now_cap, "pidfd_getfd"));
  assert_true(allowed_plainly(now_cap, "process_madvise"));
}

static void test_seccomp_other_cap_rules(void **state) {
  (void)state;
  static const struct {
    const char *cap, *syscall;
  } cases[] = {
      {"CAP_SYS_BOOT", "reboot"},        {"CAP_SYS_MODULE", "finit_module"},
      {"CAP_SYS_PACCT", "acct"},         {"CAP_SYS_RAWIO", "iopl"},
      {"CAP_SYS_TIME", "settimeofday"},  {"CAP_SYS_TTY_CONFIG", "vhangup"},
      {"CAP_SYS_NICE", "mbind"},         {"CAP_SYSLOG", "syslog"},
      {"CAP_BPF", "bpf"},                {"CAP_PERFMON", "perf_event_open"},
      {"CAP_DAC_READ_SEARCH", "open_by_handle_at"},
  };
  autojson json_t *base = default_caps();
  autojson json_t *without = seccomp_for(base, "amd64", kernel_6_1);
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    assert_false(allowed_plainly(without, cases[i].syscall));
    autojson json_t *caps = default_caps_plus(cases[i].cap);
    autojson json_t *with = seccomp_for(caps, "amd64", kernel_6_1);
    if (!allowed_plainly(with, cases[i].syscall))
      fail_msg("%s not allowed with %s", cases[i].syscall, cases[i].cap);
  }
  /* chroot is conditioned on CAP_SYS_CHROOT, which is a default. */
  autojson json_t *no_chroot_caps = strings("CAP_CHOWN", NULL);
  autojson json_t *no_chroot = seccomp_for(no_chroot_caps, "amd64", kernel_6_1);
  assert_false(allowed_plainly(no_chroot, "chroot"));
}

static void test_seccomp_host_defaults(void **state) {
  (void)state;
  autojson json_t *caps = default_caps();
  json_t *out = NULL;
  arca_err err = {0};
  assert_int_equal(oci_seccomp_default(caps, NULL, &out, &err), 0);
  autojson json_t *sc = out;
  assert_true(json_array_size(json_object_get(sc, "architectures")) >= 1);
  oci_kernel_version kv = oci_kernel_host_version();
  assert_true(kv.kernel >= 3);
  /* The host kernel decides the ptrace rule. */
  bool new_kernel = kv.kernel > 4 || (kv.kernel == 4 && kv.major >= 8);
  assert_int_equal(allowed_plainly(sc, "ptrace"), new_kernel);
}

/* ---- Seccomp: user profiles ------------------------------------------------------ */

static int from_text(const char *text, const json_t *caps, json_t **out, arca_err *err) {
  *out = NULL;
  err_clear(err);
  return oci_seccomp_from_docker_profile(text, caps, "amd64", out, err);
}

static void test_profile_roundtrip_default(void **state) {
  (void)state;
  autojson json_t *caps = default_caps();
  autojson json_t *profile = oci_seccomp_default_profile();
  autofree char *text = json_dumps(profile, 0);
  json_t *out = NULL;
  arca_err err = {0};
  assert_int_equal(from_text(text, caps, &out, &err), 0);
  autojson json_t *from_user = out;
  assert_int_equal(oci_seccomp_default(caps, "amd64", &out, &err), 0);
  autojson json_t *builtin = out;
  assert_true(json_equal(from_user, builtin));
}

static void test_profile_user_format(void **state) {
  (void)state;
  autojson json_t *caps = default_caps();
  json_t *out = NULL;
  arca_err err = {0};
  const char *text =
      "{\"DefaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": [{\"architecture\": "
      "\"SCMP_ARCH_AARCH64\", \"subArchitectures\": [\"SCMP_ARCH_ARM\"]}, {\"architecture\": "
      "\"SCMP_ARCH_X86_64\", \"subArchitectures\": [\"SCMP_ARCH_X86\"]}], \"syscalls\": ["
      "{\"name\": \"mkdir\", \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13, \"comment\": \"x\"},"
      "{\"names\": [\"chmod\"], \"action\": \"SCMP_ACT_LOG\", \"includes\": {\"caps\": "
      "[\"CAP_SYS_ADMIN\"]}},"
      "{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\", \"excludes\": {\"arches\": "
      "[\"amd64\"]}},"
      "{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 1, "
      "\"value\": 21505, \"valueTwo\": 7, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
      "{\"names\": [\"futex\"], \"action\": \"SCMP_ACT_KILL\", \"includes\": {\"minKernel\": "
      "\"99.0\"}}]}";
  assert_int_equal(from_text(text, caps, &out, &err), 0);
  autojson json_t *sc = out;
  autojson json_t *expected = json_loads(
      "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\", "
      "\"SCMP_ARCH_X86\"], \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": "
      "\"SCMP_ACT_ERRNO\", \"errnoRet\": 13}, {\"names\": [\"ioctl\"], \"action\": "
      "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 1, \"value\": 21505, \"valueTwo\": 7, "
      "\"op\": \"SCMP_CMP_MASKED_EQ\"}]}]}",
      0, NULL);
  if (!json_equal(sc, expected)) {
    autofree char *got = json_dumps(sc, JSON_COMPACT);
    fail_msg("unexpected profile: %s", got);
  }
}

static void test_profile_explicit_architectures(void **state) {
  (void)state;
  json_t *out = NULL;
  arca_err err = {0};
  assert_int_equal(from_text("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": "
                             "[\"SCMP_ARCH_X86_64\"], \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"], "
                             "\"syscalls\": [{\"names\": [\"read\"], \"action\": "
                             "\"SCMP_ACT_ALLOW\"}]}",
                             NULL, &out, &err),
                   0);
  autojson json_t *sc = out;
  autojson json_t *archs = strings("SCMP_ARCH_X86_64", NULL);
  assert_true(json_equal(json_object_get(sc, "architectures"), archs));
  assert_string_equal(json_string_value(json_array_get(json_object_get(sc, "flags"), 0)),
                      "SECCOMP_FILTER_FLAG_LOG");
  assert_null(json_object_get(sc, "defaultErrnoRet"));
}

static void test_profile_empty_means_none(void **state) {
  (void)state;
  json_t *out = NULL;
  arca_err err = {0};
  assert_int_equal(from_text("{}", NULL, &out, &err), 0);
  assert_null(out);
  assert_int_equal(from_text("{\"syscalls\": null, \"defaultAction\": \"\"}", NULL, &out, &err), 0);
  assert_null(out);
}

static void test_profile_errors(void **state) {
  (void)state;
  static const struct {
    const char *text, *message; /* message: expected prefix */
  } cases[] = {
      {"{not json", "Decoding seccomp profile failed: "},
      {"[]", "Decoding seccomp profile failed: "},
      {"{\"defaultAction\": 5}", "Decoding seccomp profile failed: cannot unmarshal number"},
      {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86_64\"], "
       "\"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\"}]}",
       "both 'architectures' and 'archMap' are specified in the seccomp profile, use either "
       "'architectures' or 'archMap'"},
      {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"name\": \"read\", \"names\": "
       "[\"write\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
       "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or "
       "'names'"},
      {"{\"defaultAction\": \"SCMP_ACT_NOPE\"}", "invalid seccomp profile: unknown default action"},
      {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
       "\"action\": \"ALLOW\"}]}",
       "invalid seccomp profile: unknown action \"ALLOW\""},
      {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
       "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
       "\"SCMP_CMP_SOMETIMES\"}]}]}",
       "invalid seccomp profile: unknown comparison operator"},
      {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
       "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": -1, \"op\": "
       "\"SCMP_CMP_EQ\"}]}]}",
       "Decoding seccomp profile failed: cannot unmarshal number into LinuxSeccompArg.value"},
      {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
       "\"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": \"4\"}}]}",
       "Decoding seccomp profile failed: invalid kernel version: \"4\""},
      {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
       "\"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": \"0.0\"}}]}",
       "Decoding seccomp profile failed: invalid kernel version: \"0.0\", expected "
       "\"<kernel>.<major>\": version cannot be 0.0"},
      {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_VAX\"]}",
       "invalid seccomp profile: unknown architecture \"SCMP_ARCH_VAX\""},
      {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"action\": "
       "\"SCMP_ACT_ALLOW\"}]}",
       "invalid seccomp profile: a syscall rule has no names"},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    json_t *out = NULL;
    arca_err err = {0};
    if (from_text(cases[i].text, NULL, &out, &err) != -1) fail_msg("accepted: %s", cases[i].text);
    assert_null(out);
    assert_int_equal(err.status, 400);
    if (!str_has_prefix(err.msg, cases[i].message))
      fail_msg("for %s\n got: %s\nwant: %s", cases[i].text, err.msg, cases[i].message);
  }
}

/* ---- Spot check against the runtime-spec schema ---------------------------------- */

static json_t *load_spec(const char *name) {
  const char *dir = getenv("ARCA_SPEC_DIR");
  autofree char *path = xasprintf("%s/oci/runtime-spec/%s", dir ? dir : "/work/shared/spec", name);
  /* defs.json bounds uint64 with 18446744073709551615, beyond jansson's integers. */
  return json_load_file(path, JSON_DECODE_INT_AS_REAL, NULL);
}

static void keys_within(const json_t *obj, const json_t *schema_properties, const char *what) {
  assert_non_null(schema_properties);
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    if (!json_object_get(schema_properties, key))
      fail_msg("%s: field %s not in the spec", what, key);
  }
}

static void value_in_enum(const json_t *value, const json_t *def, const char *what) {
  if (!has_string(json_object_get(def, "enum"), json_string_value(value)))
    fail_msg("%s: %s not in the spec's enum", what, json_string_value(value));
}

static void test_spec_field_names(void **state) {
  (void)state;
  autojson json_t *config_linux = load_spec("config-linux.json");
  autojson json_t *defs_linux = load_spec("defs-linux.json");
  autojson json_t *defs = load_spec("defs.json");
  autojson json_t *config = load_spec("config-schema.json");
  if (!config_linux || !defs_linux || !defs || !config) {
    /* skip() jumps past the cleanup handlers. */
    json_decref(config_linux), json_decref(defs_linux), json_decref(defs), json_decref(config);
    config_linux = defs_linux = defs = config = NULL;
    skip(); /* the spec is not on this machine: point ARCA_SPEC_DIR at it */
  }
  json_t *linux_props = json_object_get(json_object_get(config_linux, "linux"), "properties");
  json_t *ddefs = json_object_get(defs_linux, "definitions");

  /* seccomp */
  autojson json_t *caps = default_caps_plus("CAP_SYS_ADMIN");
  autojson json_t *sc = seccomp_for(caps, "amd64", kernel_6_1);
  json_t *seccomp_schema = json_object_get(linux_props, "seccomp");
  keys_within(sc, json_object_get(seccomp_schema, "properties"), "linux.seccomp");
  size_t i, j;
  json_t *v, *rule, *arg;
  json_array_foreach(json_object_get(seccomp_schema, "required"), i, v)
    assert_non_null(json_object_get(sc, json_string_value(v)));
  value_in_enum(json_object_get(sc, "defaultAction"), json_object_get(ddefs, "SeccompAction"),
                "defaultAction");
  json_array_foreach(json_object_get(sc, "architectures"), i, v)
    value_in_enum(v, json_object_get(ddefs, "SeccompArch"), "architectures");
  json_t *syscall_schema = json_object_get(ddefs, "Syscall");
  json_t *arg_schema = json_object_get(ddefs, "SyscallArg");
  json_array_foreach(json_object_get(sc, "syscalls"), i, rule) {
    keys_within(rule, json_object_get(syscall_schema, "properties"), "syscall");
    json_array_foreach(json_object_get(syscall_schema, "required"), j, v)
      assert_non_null(json_object_get(rule, json_string_value(v)));
    assert_true(json_array_size(json_object_get(rule, "names")) >= 1);
    value_in_enum(json_object_get(rule, "action"), json_object_get(ddefs, "SeccompAction"),
                  "action");
    json_array_foreach(json_object_get(rule, "args"), j, arg) {
      keys_within(arg, json_object_get(arg_schema, "properties"), "syscall arg");
      value_in_enum(json_object_get(arg, "op"), json_object_get(ddefs, "SeccompOperators"), "op");
    }
  }

  /* masked / readonly paths, device rules */
  assert_non_null(json_object_get(linux_props, "maskedPaths"));
  assert_non_null(json_object_get(linux_props, "readonlyPaths"));
  json_t *device_schema = json_object_get(json_object_get(ddefs, "DeviceCgroup"), "properties");
  autojson json_t *rules = oci_default_device_rules(false);
  json_array_foreach(rules, i, rule) keys_within(rule, device_schema, "device rule");
  autojson json_t *priv_rules = oci_default_device_rules(true);
  json_array_foreach(priv_rules, i, rule) keys_within(rule, device_schema, "device rule");
  json_t *devices_schema = json_object_get(
      json_object_get(json_object_get(json_object_get(linux_props, "resources"), "properties"),
                      "devices"),
      "items");
  assert_string_equal(json_string_value(json_object_get(devices_schema, "$ref")),
                      "defs-linux.json#/definitions/DeviceCgroup");

  /* mounts, rlimits, capabilities */
  json_t *mount_schema = json_object_get(json_object_get(json_object_get(defs, "definitions"),
                                                         "Mount"),
                                         "properties");
  autojson json_t *mounts = oci_default_mounts(false, 0);
  json_array_foreach(mounts, i, v) keys_within(v, mount_schema, "mount");
  json_t *process_props =
      json_object_get(json_object_get(json_object_get(config, "properties"), "process"),
                      "properties");
  autojson json_t *rlimits = oci_default_rlimits();
  json_array_foreach(rlimits, i, v) {
    keys_within(v, json_object_get(json_object_get(json_object_get(process_props, "rlimits"),
                                                   "items"),
                                   "properties"),
                "rlimit");
  }
  autojson json_t *pcaps = oci_process_capabilities(caps);
  keys_within(pcaps, json_object_get(json_object_get(process_props, "capabilities"),
                                     "properties"),
              "process.capabilities");
  autojson json_t *host_devices = NULL;
  arca_err err = {0};
  assert_int_equal(oci_host_devices(&host_devices, &err), 0);
  json_array_foreach(host_devices, i, v) {
    keys_within(v, json_object_get(json_object_get(ddefs, "Device"), "properties"), "device");
  }
}

/* ---- Paths, mounts, devices, rlimits --------------------------------------------- */

static void test_masked_and_readonly_paths(void **state) {
  (void)state;
  static const char *const docker_masked[] = {
      "/proc/acpi",        "/proc/asound",     "/proc/interrupts",
      "/proc/kcore",       "/proc/keys",       "/proc/latency_stats",
      "/proc/sched_debug", "/proc/scsi",       "/proc/timer_list",
      "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
  };
  autojson json_t *masked = oci_masked_paths(false);
  assert_true(json_array_size(masked) >= ARRAY_LEN(docker_masked));
  for (size_t i = 0; i < ARRAY_LEN(docker_masked); i++)
    assert_string_equal(json_string_value(json_array_get(masked, i)), docker_masked[i]);
  for (size_t i = ARRAY_LEN(docker_masked); i < json_array_size(masked); i++) {
    const char *path = json_string_value(json_array_get(masked, i));
    assert_true(str_has_prefix(path, "/sys/devices/system/cpu/cpu"));
    assert_true(str_has_suffix(path, "/thermal_throttle"));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
  }
  autojson json_t *readonly = oci_readonly_paths(false);
  autojson json_t *expected =
      strings("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL);
  assert_true(json_equal(readonly, expected));

  autojson json_t *masked_priv = oci_masked_paths(true);
  autojson json_t *readonly_priv = oci_readonly_paths(true);
  assert_true(json_is_array(masked_priv) && json_array_size(masked_priv) == 0);
  assert_true(json_is_array(readonly_priv) && json_array_size(readonly_priv) == 0);
}

static const json_t *mount_at(const json_t *mounts, const char *destination) {
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m) {
    if (strcmp(json_string_value(json_object_get(m, "destination")), destination) == 0) return m;
  }
  fail_msg("no mount at %s", destination);
  return NULL;
}

static void test_default_mounts(void **state) {
  (void)state;
  autojson json_t *mounts = oci_default_mounts(false, 0);
  static const char *const order[] = {"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup",
                                      "/dev/mqueue", "/dev/shm"};
  assert_int_equal(json_array_size(mounts), ARRAY_LEN(order));
  for (size_t i = 0; i < ARRAY_LEN(order); i++)
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(mounts, i), "destination")), order[i]);

  autojson json_t *dev = strings("nosuid", "strictatime", "mode=755", "size=65536k", NULL);
  assert_true(json_equal(json_object_get(mount_at(mounts, "/dev"), "options"), dev));
  autojson json_t *pts =
      strings("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL);
  assert_true(json_equal(json_object_get(mount_at(mounts, "/dev/pts"), "options"), pts));
  assert_string_equal(json_string_value(json_object_get(mount_at(mounts, "/dev/pts"), "type")),
                      "devpts");
  autojson json_t *shm =
      strings("nosuid", "noexec", "nodev", "mode=1777", "size=67108864", NULL);
  const json_t *shm_mount = mount_at(mounts, "/dev/shm");
  assert_true(json_equal(json_object_get(shm_mount, "options"), shm));
  assert_string_equal(json_string_value(json_object_get(shm_mount, "source")), "shm");
  assert_true(has_string(json_object_get(mount_at(mounts, "/sys"), "options"), "ro"));
  assert_true(has_string(json_object_get(mount_at(mounts, "/sys/fs/cgroup"), "options"), "ro"));
  assert_string_equal(
      json_string_value(json_object_get(mount_at(mounts, "/sys/fs/cgroup"), "type")), "cgroup");
  assert_string_equal(
      json_string_value(json_object_get(mount_at(mounts, "/dev/mqueue"), "type")), "mqueue");

  autojson json_t *priv = oci_default_mounts(true, 1048576);
  assert_false(has_string(json_object_get(mount_at(priv, "/sys"), "options"), "ro"));
  assert_true(has_string(json_object_get(mount_at(priv, "/sys"), "options"), "nosuid"));
  assert_false(has_string(json_object_get(mount_at(priv, "/sys/fs/cgroup"), "options"), "ro"));
  assert_true(has_string(json_object_get(mount_at(priv, "/dev/shm"), "options"), "size=1048576"));
}

static bool has_rule(const json_t *rules, bool allow, const char *type, json_int_t major,
                     json_int_t minor) {
  size_t i;
  json_t *r;
  json_array_foreach(rules, i, r) {
    json_t *t = json_object_get(r, "type"), *ma = json_object_get(r, "major"),
           *mi = json_object_get(r, "minor");
    if (json_is_true(json_object_get(r, "allow")) != allow) continue;
    if ((type == NULL) != (t == NULL)) continue;
    if (type && strcmp(json_string_value(t), type) != 0) continue;
    if ((major < 0) != (ma == NULL) || (ma && json_integer_value(ma) != major)) continue;
    if ((minor < 0) != (mi == NULL) || (mi && json_integer_value(mi) != minor)) continue;
    if (strcmp(json_string_value(json_object_get(r, "access")), "rwm") != 0) continue;
    return true;
  }
  return false;
}

static void test_device_rules(void **state) {
  (void)state;
  autojson json_t *rules = oci_default_device_rules(false);
  json_t *first = json_array_get(rules, 0);
  assert_false(json_is_true(json_object_get(first, "allow")));
  assert_null(json_object_get(first, "type"));
  assert_null(json_object_get(first, "major"));
  assert_true(has_rule(rules, false, NULL, -1, -1));
  assert_true(has_rule(rules, true, "c", 1, 3));   /* null */
  assert_true(has_rule(rules, true, "c", 1, 5));   /* zero */
  assert_true(has_rule(rules, true, "c", 1, 7));   /* full */
  assert_true(has_rule(rules, true, "c", 1, 8));   /* random */
  assert_true(has_rule(rules, true, "c", 1, 9));   /* urandom */
  assert_true(has_rule(rules, true, "c", 5, 0));   /* tty */
  assert_true(has_rule(rules, true, "c", 5, 1));   /* console */
  assert_true(has_rule(rules, true, "c", 5, 2));   /* ptmx */
  assert_true(has_rule(rules, true, "c", 136, -1)); /* pts */
  assert_true(has_rule(rules, false, "c", 10, 229)); /* fuse stays denied */
  assert_false(has_rule(rules, true, "c", 10, 229));
  assert_false(has_rule(rules, true, NULL, -1, -1));

  autojson json_t *priv = oci_default_device_rules(true);
  assert_int_equal(json_array_size(priv), 1);
  assert_true(has_rule(priv, true, NULL, -1, -1));
}

static void test_host_devices(void **state) {
  (void)state;
  json_t *out = NULL;
  arca_err err = {0};
  assert_int_equal(oci_host_devices(&out, &err), 0);
  autojson json_t *devices = out;
  bool null_found = false;
  size_t i;
  json_t *d;
  json_array_foreach(devices, i, d) {
    const char *path = json_string_value(json_object_get(d, "path"));
    assert_false(str_has_prefix(path, "/dev/pts/"));
    assert_string_not_equal(path, "/dev/console");
    if (strcmp(path, "/dev/null") == 0) {
      null_found = true;
      assert_string_equal(json_string_value(json_object_get(d, "type")), "c");
      assert_int_equal(json_integer_value(json_object_get(d, "major")), 1);
      assert_int_equal(json_integer_value(json_object_get(d, "minor")), 3);
      assert_int_equal(json_integer_value(json_object_get(d, "fileMode")), 0666);
    }
  }
  assert_true(null_found);
}

static void test_rlimits(void **state) {
  (void)state;
  struct rlimit host;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &host), 0);
  autojson json_t *rl = oci_default_rlimits();
  assert_int_equal(json_array_size(rl), 1);
  json_t *nofile = json_array_get(rl, 0);
  assert_string_equal(json_string_value(json_object_get(nofile, "type")), "RLIMIT_NOFILE");
  json_int_t hard = json_integer_value(json_object_get(nofile, "hard"));
  json_int_t soft = json_integer_value(json_object_get(nofile, "soft"));
  json_int_t want = host.rlim_max < 1048576 ? (json_int_t)host.rlim_max : 1048576;
  assert_int_equal(hard, want);
  assert_int_equal(soft, want);
  assert_true((rlim_t)hard <= host.rlim_max);

  autojson json_t *user = json_loads(
      "[{\"type\": \"RLIMIT_NOFILE\", \"hard\": 99999999, \"soft\": 99999999},"
      " {\"type\": \"RLIMIT_NPROC\", \"hard\": 100, \"soft\": 500},"
      " {\"type\": \"RLIMIT_CORE\", \"hard\": -1, \"soft\": -1}]",
      0, NULL);
  arca_err err = {0};
  assert_int_equal(oci_rlimits_clamp(user, &err), 0);
  json_t *e;
  size_t i;
  static const int resources[] = {RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE};
  json_array_foreach(user, i, e) {
    struct rlimit lim;
    assert_int_equal(getrlimit(resources[i], &lim), 0);
    json_int_t h = json_integer_value(json_object_get(e, "hard"));
    json_int_t s = json_integer_value(json_object_get(e, "soft"));
    assert_true(h >= 0 && s >= 0 && s <= h);
    if (lim.rlim_max != RLIM_INFINITY) assert_true((rlim_t)h <= lim.rlim_max);
  }
  assert_int_equal(json_integer_value(json_object_get(json_array_get(user, 0), "hard")),
                   host.rlim_max < 99999999 ? (json_int_t)host.rlim_max : 99999999);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(user, 1), "soft")), 100);

  autojson json_t *bad = json_loads("[{\"type\": \"RLIMIT_BOGUS\", \"hard\": 1, \"soft\": 1}]", 0,
                                    NULL);
  assert_int_equal(oci_rlimits_clamp(bad, &err), -1);
  assert_int_equal(err.status, 400);
  assert_string_equal(err.msg, "invalid rlimit type: RLIMIT_BOGUS");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_caps),
      cmocka_unit_test(test_caps_no_changes_gives_defaults),
      cmocka_unit_test(test_caps_add_drop_normalized),
      cmocka_unit_test(test_caps_drop_all_then_add),
      cmocka_unit_test(test_caps_add_all),
      cmocka_unit_test(test_caps_unknown_name),
      cmocka_unit_test(test_caps_unavailable_in_environment),
      cmocka_unit_test(test_caps_privileged),
      cmocka_unit_test(test_caps_normalize),
      cmocka_unit_test(test_caps_host_mask_matches_proc),
      cmocka_unit_test(test_process_capabilities),
      cmocka_unit_test(test_seccomp_default_amd64),
      cmocka_unit_test(test_seccomp_arm64),
      cmocka_unit_test(test_seccomp_sys_admin),
      cmocka_unit_test(test_seccomp_ptrace_needs_cap),
      cmocka_unit_test(test_seccomp_other_cap_rules),
      cmocka_unit_test(test_seccomp_host_defaults),
      cmocka_unit_test(test_profile_roundtrip_default),
      cmocka_unit_test(test_profile_user_format),
      cmocka_unit_test(test_profile_explicit_architectures),
      cmocka_unit_test(test_profile_empty_means_none),
      cmocka_unit_test(test_profile_errors),
      cmocka_unit_test(test_spec_field_names),
      cmocka_unit_test(test_masked_and_readonly_paths),
      cmocka_unit_test(test_default_mounts),
      cmocka_unit_test(test_device_rules),
      cmocka_unit_test(test_host_devices),
      cmocka_unit_test(test_rlimits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
