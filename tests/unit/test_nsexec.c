/* Exec without the runtime (nsexec.c, seccomp_bpf.c): seccomp compilation and what the
 * filter does once loaded, capability and rlimit names, failure texts, and, as root, a whole
 * plan run against this test's own namespaces and cgroups. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/lx_nsexec.h"
#include "runtime/linux/oci_defaults.h"

static json_t *parse(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  if (!j) fail_msg("bad JSON in the test: %s", e.text);
  return j;
}

static void test_seccomp_none(void **state) {
  (void)state;
  lx_bpf b;
  arca_err err = {0};
  assert_int_equal(lx_seccomp_compile(NULL, &b, &err), 0);
  assert_int_equal(b.len, 0);
  assert_null(b.filter);
}

static void test_seccomp_default_profile(void **state) {
  (void)state;
  arca_err err = {0};
  autojson json_t *caps = NULL;
  assert_int_equal(oci_caps_resolve(NULL, NULL, false, &caps, &err), 0);
  autojson json_t *profile = NULL;
  assert_int_equal(oci_seccomp_default(caps, NULL, &profile, &err), 0);
  lx_bpf b;
  assert_int_equal(lx_seccomp_compile(profile, &b, &err), 0);
  assert_true(b.len > 50);
  assert_non_null(b.filter);
  lx_bpf_free(&b);
}

static void test_seccomp_bad_profiles(void **state) {
  (void)state;
  lx_bpf b;
  arca_err err = {0};
  autojson json_t *bad_action = parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_BOGUS\"}]}");
  assert_int_equal(lx_seccomp_compile(bad_action, &b, &err), -1);
  assert_int_equal(err.status, 500);
  assert_non_null(strstr(err.msg, "unknown action SCMP_ACT_BOGUS"));

  arca_err e2 = {0};
  autojson json_t *notify = parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/x.sock\"}");
  assert_int_equal(lx_seccomp_compile(notify, &b, &e2), -1);
  assert_non_null(strstr(e2.msg, "not supported"));

  arca_err e3 = {0};
  autojson json_t *bad_op = parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
                                  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_NOPE\"}]}]}");
  assert_int_equal(lx_seccomp_compile(bad_op, &b, &e3), -1);
  assert_non_null(strstr(e3.msg, "unknown comparison"));

  arca_err e4 = {0};
  autojson json_t *bad_arch = parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_VAX\"]}");
  assert_int_equal(lx_seccomp_compile(bad_arch, &b, &e4), -1);
  assert_non_null(strstr(e4.msg, "unknown architecture SCMP_ARCH_VAX"));
}

/* The filter does what the profile says: getpid gets errno 42, personality(0) is allowed
 * but personality(8) fails (two conditions on one argument become two rules), unknown
 * syscall names are skipped as runc skips them. */
static void test_seccomp_filter_behaviour(void **state) {
  (void)state;
  autojson json_t *profile = parse(
      "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
      "\"syscalls\":["
      "{\"names\":[\"getpid\",\"no_such_syscall\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":42},"
      "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
      "{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":9,\"op\":\"SCMP_CMP_EQ\"}]},"
      "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ALLOW\"}]}");
  lx_bpf b;
  arca_err err = {0};
  assert_int_equal(lx_seccomp_compile(profile, &b, &err), 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct sock_fprog prog = {.len = b.len, .filter = b.filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
      _exit(10);
    if (syscall(SYS_getpid) != -1 || errno != 42) _exit(11);
    if (syscall(SYS_personality, 0xffffffffUL) < 0) _exit(12); /* query: allowed */
    if (syscall(SYS_personality, 8UL) != -1 || errno != EPERM) _exit(13);
    if (syscall(SYS_personality, 9UL) != -1 || errno != EPERM) _exit(14);
    if (syscall(SYS_getppid) <= 0) _exit(15);
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  lx_bpf_free(&b);
}

static void test_caps_and_rlimits(void **state) {
  (void)state;
  uint64_t mask = 0;
  arca_err err = {0};
  autojson json_t *caps = parse("[\"CAP_CHOWN\",\"CAP_KILL\",\"CAP_SYS_ADMIN\"]");
  assert_int_equal(lx_caps_mask(caps, &mask, &err), 0);
  assert_int_equal(mask, (1ull << 0) | (1ull << 5) | (1ull << 21));
  autojson json_t *bad = parse("[\"CAP_NOPE\"]");
  assert_int_equal(lx_caps_mask(bad, &mask, &err), -1);
  assert_int_equal(err.status, 400);
  assert_string_equal(err.msg, "unknown capability: \"CAP_NOPE\"");
  assert_int_equal(lx_rlimit_resource("RLIMIT_NOFILE"), RLIMIT_NOFILE);
  assert_int_equal(lx_rlimit_resource("RLIMIT_NPROC"), RLIMIT_NPROC);
  assert_int_equal(lx_rlimit_resource("RLIMIT_BOGUS"), -1);
  assert_int_equal(lx_rlimit_resource(NULL), -1);
}

static void test_seccomp_cache(void **state) {
  (void)state;
  autojson json_t *profile = parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\"}]}");
  autojson json_t *other = parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\"},{\"names\":[\"getuid\"],\"action\":\"SCMP_ACT_ERRNO\"}]}");
  lx_bpf a, b, c, plain;
  arca_err err = {0};
  assert_int_equal(lx_seccomp_compile_cached(profile, &a, &err), 0);
  assert_int_equal(lx_seccomp_compile_cached(profile, &b, &err), 0);
  assert_int_equal(lx_seccomp_compile_cached(other, &c, &err), 0);
  assert_int_equal(lx_seccomp_compile(profile, &plain, &err), 0);
  /* the cached copy is the same program, in memory of its own */
  assert_int_equal(a.len, plain.len);
  assert_int_equal(b.len, plain.len);
  assert_memory_equal(a.filter, plain.filter, sizeof *a.filter * a.len);
  assert_memory_equal(b.filter, plain.filter, sizeof *b.filter * b.len);
  assert_ptr_not_equal(a.filter, b.filter);
  assert_int_not_equal(c.len, a.len);
  lx_bpf_free(&a);
  lx_bpf_free(&b);
  lx_bpf_free(&c);
  lx_bpf_free(&plain);
}

static void test_failure_text(void **state) {
  (void)state;
  lx_exec_plan plan = {.cwd = "/nope", .path = "/bin/x"};
  char out[256];
  lx_exec_failure f = {.err = ENOENT, .step = "chdir"};
  lx_exec_failure_text(&plan, &f, out, sizeof out);
  assert_string_equal(out, "chdir to cwd (\"/nope\") set in config.json failed: no such file or directory");
  lx_exec_failure g = {.err = ENOEXEC, .step = "exec"};
  lx_exec_failure_text(&plan, &g, out, sizeof out);
  assert_string_equal(out, "exec /bin/x: exec format error");
  lx_exec_failure h = {.err = EPERM, .step = "setns"};
  lx_exec_failure_text(&plan, &h, out, sizeof out);
  assert_string_equal(out, "setns: operation not permitted");
}

/* A whole plan against this process's own namespaces: output, exit status, environment
 * (HOME added), working directory, capabilities dropped; and a failing chdir reported as a
 * record. Needs root (setns). */
static int run_plan(const char *process_text, char *out, size_t outn, lx_exec_failure *failure) {
  autojson json_t *process = parse(process_text);
  lx_exec_plan plan;
  arca_err err = {0};
  if (lx_exec_plan_build(getpid(), process, NULL, "/bin/sh", "/root", &plan, &err) < 0)
    fail_msg("plan: %s", err.msg);
  int outp[2], errp[2];
  assert_int_equal(pipe2(outp, O_CLOEXEC), 0);
  assert_int_equal(pipe2(errp, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(outp[1], 1);
    bool in_cgroup = false;
    pid_t child = lx_exec_plan_spawn(&plan, &in_cgroup);
    if (child < 0) _exit(99);
    if (child == 0) lx_exec_plan_run(&plan, in_cgroup, errp[1], -1);
    int st = 0;
    waitpid(child, &st, 0);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 98);
  }
  close(outp[1]);
  close(errp[1]);
  size_t n = 0;
  ssize_t r;
  while (n < outn - 1 && (r = read(outp[0], out + n, outn - 1 - n)) > 0) n += (size_t)r;
  out[n] = '\0';
  memset(failure, 0, sizeof *failure);
  ssize_t got = read(errp[0], failure, sizeof *failure);
  if (got != (ssize_t)sizeof *failure) memset(failure, 0, sizeof *failure);
  close(outp[0]);
  close(errp[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  lx_exec_plan_free(&plan);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_plan_run(void **state) {
  (void)state;
  if (geteuid() != 0) skip();
  char out[4096];
  lx_exec_failure f;
  int code = run_plan("{\"args\":[\"/bin/sh\",\"-c\",\"echo $FOO $HOME; pwd; grep CapEff /proc/self/status; exit 3\"],"
                      "\"env\":[\"FOO=bar\",\"PATH=/bin:/usr/bin\"],\"cwd\":\"/tmp\","
                      "\"user\":{\"uid\":0,\"gid\":0},"
                      "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"effective\":[\"CAP_CHOWN\",\"CAP_KILL\"],"
                      "\"permitted\":[\"CAP_CHOWN\",\"CAP_KILL\"]},"
                      "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1000,\"hard\":1000}]}",
                      out, sizeof out, &f);
  assert_int_equal(code, 3);
  assert_int_equal(f.err, 0);
  assert_string_equal(out, "bar /root\n/tmp\nCapEff:\t0000000000000021\n");

  code = run_plan("{\"args\":[\"/bin/sh\",\"-c\",\"true\"],\"env\":[],\"cwd\":\"/no/such/dir\","
                  "\"user\":{\"uid\":0,\"gid\":0}}",
                  out, sizeof out, &f);
  assert_int_equal(code, 127);
  assert_int_equal(f.err, ENOENT);
  assert_string_equal(f.step, "chdir");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seccomp_none),
      cmocka_unit_test(test_seccomp_default_profile),
      cmocka_unit_test(test_seccomp_bad_profiles),
      cmocka_unit_test(test_seccomp_filter_behaviour),
      cmocka_unit_test(test_seccomp_cache),
      cmocka_unit_test(test_caps_and_rlimits),
      cmocka_unit_test(test_failure_text),
      cmocka_unit_test(test_plan_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
