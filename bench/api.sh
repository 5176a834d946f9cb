#!/usr/bin/env bash
# Requests per second of GET /_ping and GET /version over TCP loopback (wrk), and idle
# resident memory, for arcad, dockerd (+containerd) and `podman system service`, in one run.
# Target (issue 2): arcad idle RSS under 10 MB and at least dockerd's request rate.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
trap 'bench_cleanup; stop_peers' EXIT
DUR=${DUR:-5s}
CONNS=${CONNS:-32}
command -v wrk >/dev/null || { echo "bench: wrk missing (scripts/deps.sh bench)" >&2; exit 1; }

STARTED_DOCKERD="" PODMAN_PID=""
stop_peers() {
  [ -n "$STARTED_DOCKERD" ] && "$PEERS" stop dockerd >/dev/null 2>&1
  if [ -n "$PODMAN_PID" ]; then kill "$PODMAN_PID" 2>/dev/null; wait "$PODMAN_PID" 2>/dev/null; fi
}

rate() { # url → requests/s
  wrk -t2 -c"$CONNS" -d"$DUR" "$1" 2>/dev/null | awk '/Requests\/sec/ {printf "%d", $2}'
}

declare -A PING VERSION RSS
# Arca
ap=$(free_port)
arca_start -H "tcp://127.0.0.1:$ap" || exit 1
sleep 1
RSS[arca]=$(rss_tree_kb "$ARCA_PID")
PING[arca]=$(rate "http://127.0.0.1:$ap/_ping")
VERSION[arca]=$(rate "http://127.0.0.1:$ap/version")
RSS_AFTER_ARCA=$(rss_tree_kb "$ARCA_PID")
arca_stop

if peers_available; then
  # dockerd with an extra TCP listener on loopback
  dp=$(free_port)
  "$PEERS" stop dockerd >/dev/null 2>&1
  if DOCKERD_EXTRA_ARGS="-H tcp://127.0.0.1:$dp" "$PEERS" start dockerd >/dev/null; then
    STARTED_DOCKERD=1
    sleep 3
    dpid=$(cat /run/peer-dockerd.pid)
    RSS[dockerd]=$(rss_tree_kb "$dpid")
    PING[dockerd]=$(rate "http://127.0.0.1:$dp/_ping")
    VERSION[dockerd]=$(rate "http://127.0.0.1:$dp/version")
    "$PEERS" stop dockerd >/dev/null; STARTED_DOCKERD=""
  fi
  # podman's service on loopback TCP, with the peers' configuration
  pp=$(free_port)
  CONTAINERS_CONF=$ROOT/../shared/peers/podman/containers.conf \
  CONTAINERS_STORAGE_CONF=$ROOT/../shared/peers/podman/storage.conf \
  CONTAINERS_REGISTRIES_CONF=$ROOT/../shared/peers/podman/registries.conf \
    podman system service --time=0 "tcp://127.0.0.1:$pp" >"$BENCH_WORK/podman.log" 2>&1 &
  PODMAN_PID=$!
  for i in $(seq 1 100); do curl -fs "http://127.0.0.1:$pp/_ping" >/dev/null 2>&1 && break; sleep 0.1; done
  sleep 2
  RSS[podman]=$(rss_tree_kb "$PODMAN_PID")
  PING[podman]=$(rate "http://127.0.0.1:$pp/_ping")
  VERSION[podman]=$(rate "http://127.0.0.1:$pp/version")
else
  echo "(peers not installed: run scripts/deps.sh bench for dockerd and Podman figures)"
fi

printf '\nAPI rate (wrk -c%s -d%s, TCP loopback) and idle memory\n' "$CONNS" "$DUR"
printf '%-10s %14s %16s %14s\n' daemon "_ping req/s" "version req/s" "idle RSS MB"
for d in arca dockerd podman; do
  [ -n "${PING[$d]:-}" ] || continue
  printf '%-10s %14s %16s %14.1f\n' "$d" "${PING[$d]}" "${VERSION[$d]}" "$(echo "${RSS[$d]} / 1024" | bc -l)"
done
printf '(arcad RSS after the load: %.1f MB)\n' "$(echo "$RSS_AFTER_ARCA / 1024" | bc -l)"
