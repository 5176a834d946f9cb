# Shared helpers of the end-to-end tests: a fresh arcad per test file, the real docker CLI,
# assertions that say what differed. Sourced by tests/e2e/t_*.sh (run by tests/e2e/run.sh).
# shellcheck shell=bash

: "${ARCAD:?ARCAD must point at the arcad binary}"
DOCKER_BIN=${DOCKER_BIN:-/usr/local/bin/docker}
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DOCKER_BUILDKIT=0 DOCKER_CLI_HINTS=false

# One work dir per test file: data root, run root, socket, logs.
T_NAME=$(basename "$0" .sh)
T_WORK=$(mktemp -d "/tmp/arca-e2e.${T_NAME}.XXXXXX")
T_SOCK="$T_WORK/arca.sock"
T_DATA="$T_WORK/data"
T_RUN="$T_WORK/run"
T_LOG="$T_WORK/arcad.log"
export DOCKER_HOST="unix://$T_SOCK"
export DOCKER_CONFIG="$T_WORK/docker-config"
mkdir -p "$DOCKER_CONFIG"
echo "{}" >"$T_WORK/daemon.json" # never the host's /etc/arca/daemon.json
ARCAD_PID=""
T_FAILS=0
T_CHECKS=0
# ASan: keep the report in the log; leaks are checked at every clean stop.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=66:log_path=$T_WORK/asan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=0:log_path=$T_WORK/ubsan}

log() { printf '    %s\n' "$*"; }
fail() {
  T_FAILS=$((T_FAILS + 1))
  printf '    FAIL: %s\n' "$*"
}
pass() { T_CHECKS=$((T_CHECKS + 1)); }

assert_eq() { # expected actual what
  if [ "$1" == "$2" ]; then pass; else fail "$3: expected [$1], got [$2]"; fi
}
assert_ne() {
  if [ "$1" != "$2" ]; then pass; else fail "$3: did not expect [$1]"; fi
}
assert_contains() { # haystack needle what
  if [[ "$1" == *"$2"* ]]; then pass; else fail "$3: [$2] not found in [${1:0:600}]"; fi
}
assert_not_contains() {
  if [[ "$1" != *"$2"* ]]; then pass; else fail "$3: [$2] unexpectedly found in [${1:0:600}]"; fi
}
assert_match() { # text regex what
  if [[ "$1" =~ $2 ]]; then pass; else fail "$3: [${1:0:600}] does not match /$2/"; fi
}
assert_true() { # what cmd...
  local what=$1; shift
  if "$@"; then pass; else fail "$what (command: $*)"; fi
}

# docker CLI against this test's arcad; output captured by callers.
dk() { "$DOCKER_BIN" "$@"; }

# api METHOD PATH [curl args...]: sets API_STATUS and API_BODY (call it directly, not in $()).
API_STATUS=""
API_BODY=""
api() {
  local method=$1 path=$2; shift 2
  local out
  out=$(curl -s -S --unix-socket "$T_SOCK" -X "$method" -w '\n%{http_code}' "$@" "http://arca$path")
  API_STATUS=${out##*$'\n'}
  API_BODY=${out%$'\n'*}
  API_BODY=${API_BODY%$'\n'}
}

arcad_start() { # extra flags...
  rm -f "$T_SOCK"
  "$ARCAD" --data-root "$T_DATA" --exec-root "$T_RUN" -H "unix://$T_SOCK" --debug \
    --config-file "${T_CONFIG_FILE:-$T_WORK/daemon.json}" "$@" >>"$T_LOG" 2>&1 &
  ARCAD_PID=$!
  local i
  for i in $(seq 1 200); do
    if curl -fs --unix-socket "$T_SOCK" http://arca/_ping >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$ARCAD_PID" 2>/dev/null; then
      fail "arcad exited at start; log tail:"; tail -20 "$T_LOG" | sed 's/^/      /'; ARCAD_PID=""; return 1
    fi
    sleep 0.05
  done
  fail "arcad did not answer /_ping within 10s"
  return 1
}

# Stops arcad with SIGTERM and checks it exits 0, removed its socket and reported no
# sanitizer error.
arcad_stop() {
  [ -n "$ARCAD_PID" ] || return 0
  kill -TERM "$ARCAD_PID" 2>/dev/null
  local rc=0
  wait "$ARCAD_PID" || rc=$?
  ARCAD_PID=""
  assert_eq 0 "$rc" "arcad exit status after SIGTERM"
  if [ -S "$T_SOCK" ]; then fail "socket $T_SOCK left behind after shutdown"; else pass; fi
  check_sanitizers
}

arcad_kill9() {
  [ -n "$ARCAD_PID" ] || return 0
  kill -KILL "$ARCAD_PID" 2>/dev/null
  wait "$ARCAD_PID" 2>/dev/null || true
  ARCAD_PID=""
  rm -f "$T_WORK"/asan.* "$T_WORK"/ubsan.* # a killed process reports nothing meaningful
}

arcad_restart() { arcad_stop; arcad_start "$@"; }

check_sanitizers() {
  local f
  for f in "$T_WORK"/asan.* "$T_WORK"/ubsan.*; do
    [ -e "$f" ] || continue
    fail "sanitizer report $(basename "$f"):"
    head -40 "$f" | sed 's/^/      /'
    mv "$f" "$f.seen"
  done
}

arcad_fd_count() { ls "/proc/$ARCAD_PID/fd" 2>/dev/null | wc -l; }
arcad_thread_count() { ls "/proc/$ARCAD_PID/task" 2>/dev/null | wc -l; }

# Waits until a command succeeds (max seconds).
wait_for() { # seconds cmd...
  local secs=$1; shift
  local end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

t_finish() {
  arcad_stop
  # nothing of ours may remain: mounts under the work dir, processes using it
  if grep -q " $T_WORK" /proc/mounts; then
    fail "mounts left under $T_WORK:"; grep " $T_WORK" /proc/mounts | sed 's/^/      /'
  fi
  local left
  left=$(pgrep -f "$T_WORK" || true)
  if [ -n "$left" ]; then fail "processes left behind: $(ps -o pid=,args= -p "$(echo $left | tr ' ' ,)" 2>/dev/null)"; fi
  if [ "$T_FAILS" -gt 0 ]; then
    printf '    %d check(s) failed; arcad log: %s\n' "$T_FAILS" "$T_LOG"
    exit 1
  fi
  printf '    %d checks passed\n' "$T_CHECKS"
  [ -n "${E2E_KEEP:-}" ] || rm -rf "$T_WORK"
  exit 0
}
trap 'if [ -n "$ARCAD_PID" ]; then kill -KILL "$ARCAD_PID" 2>/dev/null; fi' EXIT
