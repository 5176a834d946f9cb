# Helpers shared by the benchmarks: start arcad and the peers, measure memory.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/peers/peers.sh}
ARCAD=${ARCAD:-$ROOT/build/arcad}
BENCH_WORK=$(mktemp -d /tmp/arca-bench.XXXXXX)

# The median of the numbers on stdin, one per line; a clock in nanoseconds.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s%N; }

# The registry of the runs on 127.0.0.1:5000 (fixtures.sh and registry.sh sourced), with
# the OCI layout LAYOUT of the fixture cache pushed as NAME:latest; REGISTRY_PID set.
bench_registry() { # cache layout name
  registry_start "$BENCH_WORK/registry" --port 5000 >/dev/null || { echo "registry on 127.0.0.1:5000 failed (port busy?)" >&2; return 1; }
  registry_push_layout "$1/oci/$2" "$3:latest" >/dev/null 2>&1
}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# RSS in kB of a PID and its descendants (dockerd counts its containerd)
rss_tree_kb() {
  local pid=$1 total=0 p
  for p in $pid $(pgrep -P "$pid" 2>/dev/null); do
    total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

arca_start() { # extra flags
  echo '{}' >"$BENCH_WORK/daemon.json"
  "$ARCAD" --config-file "$BENCH_WORK/daemon.json" --data-root "$BENCH_WORK/arca-data" --exec-root "$BENCH_WORK/arca-run" \
    -H "unix://$BENCH_WORK/arca.sock" "$@" >"$BENCH_WORK/arcad.log" 2>&1 &
  ARCA_PID=$!
  local i
  for i in $(seq 1 100); do
    curl -fs --unix-socket "$BENCH_WORK/arca.sock" http://x/_ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "arcad did not start; see $BENCH_WORK/arcad.log" >&2
  return 1
}
arca_stop() { [ -n "${ARCA_PID:-}" ] && kill "$ARCA_PID" 2>/dev/null && wait "$ARCA_PID" 2>/dev/null; ARCA_PID=""; }

peers_available() { [ -x "$PEERS" ] && command -v dockerd >/dev/null && command -v podman >/dev/null; }

bench_cleanup() {
  arca_stop
  rm -rf "$BENCH_WORK"
}
