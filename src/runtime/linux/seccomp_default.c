/* Docker's default seccomp profile as data, and its rendering in Docker's profile format.
 *
 * The tables mirror moby's profiles/seccomp default (v0.2.3): a syscall is denied with
 * EPERM unless a rule below allows it. Conditional rules name the capabilities,
 * architectures (libseccomp's names: "amd64", "x86", "x32", "arm64", ...) or minimum
 * kernel under which they apply; oci_seccomp_expand() in seccomp_profile.c turns the
 * rendered profile into one container's linux.seccomp. */
#include <errno.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/socket.h>

#include "common/util.h"
#include "runtime/linux/oci_defaults.h"

/* Allowed for every container on every architecture. A name the running libseccomp does
 * not know is skipped by runc, so newer syscalls can be listed before the host has them. */
static const char *const always_allowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
    "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
    "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2",
    "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
    "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
    "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64",
    "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents",
    "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
    "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
    "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32",
    "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt",
    "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
    "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
    "ioprio_set", "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr",
    "link", "linkat", "listen", "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack",
    "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
    "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr",
    "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
    "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd",
    "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat",
    "_newselect", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe",
    "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
    "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
    "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
    "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
    "restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
    "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
    "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64",
    "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid",
    "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid",
    "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
    "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
    "set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat", "shmat", "shmctl", "shmdt",
    "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn",
    "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statmount",
    "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee",
    "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime",
    "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
    "write", "writev",
    NULL,
};

typedef struct rule_arg {
  unsigned index;
  uint64_t value;
  const char *op;
} rule_arg;

/* One entry of the profile. Lists are NULL-terminated; an empty filter list means "no
 * condition". includes: every listed cap present, arch among the listed, kernel at least
 * min_kernel. excludes: dropped if any listed cap is present or the arch is listed. */
typedef struct rule {
  const char *const *names;
  const char *action;
  int errno_ret; /* returned errno for SCMP_ACT_ERRNO rules; 0 to leave unset */
  rule_arg arg;  /* used when arg.op is set: one argument comparison */
  const char *const *include_caps;
  const char *const *include_arches;
  oci_kernel_version include_min_kernel;
  const char *const *exclude_caps;
  const char *const *exclude_arches;
  const char *comment;
} rule;

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ALLOW "SCMP_ACT_ALLOW"

/* The namespace flags clone(2) may not carry without CAP_SYS_ADMIN. */
#define CLONE_NAMESPACE_FLAGS                                                                   \
  ((uint64_t)(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |   \
              CLONE_NEWPID | CLONE_NEWNET))

static const rule rules[] = {
    {.names = always_allowed, .action = ALLOW},
    /* ptrace became safe to allow once seccomp could no longer be bypassed through it. */
    {.names = LIST("process_vm_readv", "process_vm_writev", "ptrace"),
     .action = ALLOW,
     .include_min_kernel = {4, 8}},
    /* socket(2) for every address family but AF_ALG and AF_VSOCK. Only the direct
     * syscall is filtered: 32-bit x86 reaches socket through socketcall(2). */
    {.names = LIST("socket"), .action = ALLOW, .arg = {0, AF_ALG, "SCMP_CMP_LT"}},
    {.names = LIST("socket"), .action = ALLOW, .arg = {0, AF_ALG + 1, "SCMP_CMP_EQ"}},
    {.names = LIST("socket"), .action = ALLOW, .arg = {0, AF_VSOCK, "SCMP_CMP_GT"}},
    /* personality(2) only for the harmless personas, and the query (0xffffffff). */
    {.names = LIST("personality"), .action = ALLOW, .arg = {0, PER_LINUX, "SCMP_CMP_EQ"}},
    {.names = LIST("personality"), .action = ALLOW, .arg = {0, PER_LINUX32, "SCMP_CMP_EQ"}},
    {.names = LIST("personality"), .action = ALLOW, .arg = {0, UNAME26, "SCMP_CMP_EQ"}},
    {.names = LIST("personality"),
     .action = ALLOW,
     .arg = {0, UNAME26 | PER_LINUX32, "SCMP_CMP_EQ"}},
    {.names = LIST("personality"), .action = ALLOW, .arg = {0, 0xffffffffu, "SCMP_CMP_EQ"}},
    /* Architecture-specific calls. */
    {.names = LIST("sync_file_range2", "swapcontext"),
     .action = ALLOW,
     .include_arches = LIST("ppc64le")},
    {.names = LIST("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                   "cacheflush", "set_tls"),
     .action = ALLOW,
     .include_arches = LIST("arm", "arm64")},
    {.names = LIST("arch_prctl"), .action = ALLOW, .include_arches = LIST("amd64", "x32")},
    {.names = LIST("modify_ldt"), .action = ALLOW, .include_arches = LIST("amd64", "x32", "x86")},
    {.names = LIST("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"),
     .action = ALLOW,
     .include_arches = LIST("s390", "s390x")},
    {.names = LIST("riscv_flush_icache"), .action = ALLOW, .include_arches = LIST("riscv64")},
    /* Calls a capability makes legitimate. */
    {.names = LIST("open_by_handle_at"),
     .action = ALLOW,
     .include_caps = LIST("CAP_DAC_READ_SEARCH")},
    {.names = LIST("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
                   "fspick", "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules",
                   "lsm_set_self_attr", "mount", "mount_setattr", "move_mount", "open_tree",
                   "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
                   "setns", "syslog", "umount", "umount2", "unshare"),
     .action = ALLOW,
     .include_caps = LIST("CAP_SYS_ADMIN")},
    /* Without CAP_SYS_ADMIN, clone may not create namespaces. s390 swaps the first two
     * arguments of clone. */
    {.names = LIST("clone"),
     .action = ALLOW,
     .arg = {0, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ"},
     .exclude_caps = LIST("CAP_SYS_ADMIN"),
     .exclude_arches = LIST("s390", "s390x")},
    {.names = LIST("clone"),
     .action = ALLOW,
     .arg = {1, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ"},
     .comment = "s390 parameter ordering for clone is different",
     .include_arches = LIST("s390", "s390x"),
     .exclude_caps = LIST("CAP_SYS_ADMIN")},
    /* clone3 passes its flags in memory, out of seccomp's reach: ENOSYS makes libc fall
     * back to clone, whose flags the rule above checks. */
    {.names = LIST("clone3"),
     .action = "SCMP_ACT_ERRNO",
     .errno_ret = ENOSYS,
     .exclude_caps = LIST("CAP_SYS_ADMIN")},
    {.names = LIST("reboot"), .action = ALLOW, .include_caps = LIST("CAP_SYS_BOOT")},
    {.names = LIST("chroot"), .action = ALLOW, .include_caps = LIST("CAP_SYS_CHROOT")},
    {.names = LIST("delete_module", "init_module", "finit_module"),
     .action = ALLOW,
     .include_caps = LIST("CAP_SYS_MODULE")},
    {.names = LIST("acct"), .action = ALLOW, .include_caps = LIST("CAP_SYS_PACCT")},
    {.names = LIST("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                   "process_vm_writev", "ptrace"),
     .action = ALLOW,
     .include_caps = LIST("CAP_SYS_PTRACE")},
    {.names = LIST("iopl", "ioperm"), .action = ALLOW, .include_caps = LIST("CAP_SYS_RAWIO")},
    {.names = LIST("settimeofday", "stime", "clock_settime", "clock_settime64"),
     .action = ALLOW,
     .include_caps = LIST("CAP_SYS_TIME")},
    {.names = LIST("vhangup"), .action = ALLOW, .include_caps = LIST("CAP_SYS_TTY_CONFIG")},
    {.names = LIST("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
     .action = ALLOW,
     .include_caps = LIST("CAP_SYS_NICE")},
    {.names = LIST("syslog"), .action = ALLOW, .include_caps = LIST("CAP_SYSLOG")},
    {.names = LIST("bpf"), .action = ALLOW, .include_caps = LIST("CAP_BPF")},
    {.names = LIST("perf_event_open"), .action = ALLOW, .include_caps = LIST("CAP_PERFMON")},
};

/* Each main architecture with the compat ones its kernel also runs. */
static const struct {
  const char *arch;
  const char *const *sub_arches;
} arch_map[] = {
    {"SCMP_ARCH_X86_64", LIST("SCMP_ARCH_X86", "SCMP_ARCH_X32")},
    {"SCMP_ARCH_AARCH64", LIST("SCMP_ARCH_ARM")},
    {"SCMP_ARCH_MIPS64", LIST("SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32")},
    {"SCMP_ARCH_MIPS64N32", LIST("SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64")},
    {"SCMP_ARCH_MIPSEL64", LIST("SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32")},
    {"SCMP_ARCH_MIPSEL64N32", LIST("SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64")},
    {"SCMP_ARCH_S390X", LIST("SCMP_ARCH_S390")},
    {"SCMP_ARCH_RISCV64", NULL},
    {"SCMP_ARCH_LOONGARCH64", NULL},
};

static json_t *string_list(const char *const *list) {
  json_t *arr = json_array();
  for (; list && *list; list++) json_array_append_new(arr, json_string(*list));
  return arr;
}

static json_t *filter_json(const char *const *caps, const char *const *arches,
                           oci_kernel_version min_kernel) {
  bool has_kernel = min_kernel.kernel || min_kernel.major;
  if (!caps && !arches && !has_kernel) return NULL;
  json_t *filter = json_object();
  if (caps) json_object_set_new(filter, "caps", string_list(caps));
  if (arches) json_object_set_new(filter, "arches", string_list(arches));
  if (has_kernel) {
    char version[32];
    snprintf(version, sizeof version, "%u.%u", min_kernel.kernel, min_kernel.major);
    json_object_set_new(filter, "minKernel", json_string(version));
  }
  return filter;
}

static json_t *rule_json(const rule *r) {
  json_t *call = json_pack("{s:o, s:s}", "names", string_list(r->names), "action", r->action);
  if (r->errno_ret) json_object_set_new(call, "errnoRet", json_integer(r->errno_ret));
  if (r->arg.op)
    json_object_set_new(call, "args",
                        json_pack("[{s:I, s:I, s:s}]", "index", (json_int_t)r->arg.index,
                                  "value", (json_int_t)r->arg.value, "op", r->arg.op));
  if (r->comment) json_object_set_new(call, "comment", json_string(r->comment));
  json_t *includes = filter_json(r->include_caps, r->include_arches, r->include_min_kernel);
  if (includes) json_object_set_new(call, "includes", includes);
  json_t *excludes = filter_json(r->exclude_caps, r->exclude_arches, (oci_kernel_version){0, 0});
  if (excludes) json_object_set_new(call, "excludes", excludes);
  return call;
}

json_t *oci_seccomp_default_profile(void) {
  json_t *archs = json_array();
  for (size_t i = 0; i < ARRAY_LEN(arch_map); i++)
    json_array_append_new(archs, json_pack("{s:s, s:o}", "architecture", arch_map[i].arch,
                                           "subArchitectures",
                                           arch_map[i].sub_arches
                                               ? string_list(arch_map[i].sub_arches)
                                               : json_null()));
  json_t *syscalls = json_array();
  for (size_t i = 0; i < ARRAY_LEN(rules); i++)
    json_array_append_new(syscalls, rule_json(&rules[i]));
  return json_pack("{s:s, s:i, s:o, s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet",
                   EPERM, "archMap", archs, "syscalls", syscalls);
}
