#!/usr/bin/env bash
# Network figures for Arca, dockerd and Podman in one run:
#   - TCP throughput between two containers on a user-defined network (iperf3, 5 s)
#   - TCP throughput from the host through a published port (the host's iperf3, 5 s)
#   - latency of a DNS lookup of a container name from another container on the network:
#     `getent hosts <name>` repeated, minus `getent passwd root` repeated (the same process
#     start-up without any name service traffic); the median of five such rounds
# The iperf3 and client images come from tests/e2e/lib/netfixtures.sh (Debian packages) and
# are loaded into each daemon with `docker load`. Target (issue 6): at least dockerd's
# throughput and lookup latency.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ -x "$PEERS" ] || PEERS=/work/shared/peers/peers.sh
DUR=${DUR:-5}
LOOKUPS=${LOOKUPS:-200}
E2E_CACHE=${E2E_CACHE:-$ROOT/tests/e2e/.fixtures}
command -v iperf3 >/dev/null || { echo "bench: iperf3 missing (scripts/deps.sh bench)" >&2; exit 1; }
STARTED_DOCKERD="" PODMAN_PID=""
stop_peers() {
  [ -n "$STARTED_DOCKERD" ] && "$PEERS" stop dockerd >/dev/null 2>&1
  if [ -n "$PODMAN_PID" ]; then kill "$PODMAN_PID" 2>/dev/null; wait "$PODMAN_PID" 2>/dev/null; fi
}
trap 'bench_cleanup; stop_peers' EXIT

. "$ROOT/tests/e2e/lib/netfixtures.sh"
netfx_build "$E2E_CACHE" >/dev/null || { echo "bench: image fixtures failed" >&2; exit 1; }
for img in iperf3 netclient; do
  skopeo --insecure-policy copy --quiet "oci:$E2E_CACHE/oci/netapps:$img" \
    "docker-archive:$BENCH_WORK/$img.tar:arca-bench/$img:latest" || exit 1
done

declare -A C2C HOSTPORT DNS
# measure NAME: DOCKER_HOST is set; fills the three figures
measure() {
  local name=$1 port out
  for img in iperf3 netclient; do docker load -q -i "$BENCH_WORK/$img.tar" >/dev/null || return 1; done
  docker rm -f bench-srv >/dev/null 2>&1
  docker network rm benchnet >/dev/null 2>&1
  docker network create benchnet >/dev/null || return 1
  port=$(free_port)
  docker run -d --name bench-srv --network benchnet -p "127.0.0.1:$port:5201" arca-bench/iperf3 -s >/dev/null || return 1
  sleep 1
  out=$(docker run --rm --network benchnet arca-bench/iperf3 -c bench-srv -t "$DUR" -J 2>/dev/null)
  C2C[$name]=$(jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100' <<<"$out" 2>/dev/null)
  out=$(iperf3 -c 127.0.0.1 -p "$port" -t "$DUR" -J 2>/dev/null)
  HOSTPORT[$name]=$(jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100' <<<"$out" 2>/dev/null)
  # shellcheck disable=SC2016 # expanded in the container
  out=$(docker run --rm --network benchnet -e N="$LOOKUPS" arca-bench/netclient bash -c '
    t() { local s e; s=$(date +%s%N); for ((i = 0; i < N; i++)); do getent hosts "$1" >/dev/null || exit 1; done
          e=$(date +%s%N); echo $(( (e - s) / N / 1000 )); }
    b() { local s e; s=$(date +%s%N); for ((i = 0; i < N; i++)); do getent passwd root >/dev/null || exit 1; done
          e=$(date +%s%N); echo $(( (e - s) / N / 1000 )); }
    for r in 1 2 3 4 5; do echo "$(( $(t bench-srv) - $(b) ))"; done')
  # the median of five rounds, each lookups minus the same process start-ups
  DNS[$name]=$(sort -n <<<"$out" | sed -n 3p)
  docker rm -f bench-srv >/dev/null
  docker network rm benchnet >/dev/null
  docker rmi -f arca-bench/iperf3 arca-bench/netclient >/dev/null 2>&1
}

# Arca
arca_start || exit 1
DOCKER_HOST="unix://$BENCH_WORK/arca.sock" measure arca || echo "bench: arca run failed" >&2
arca_stop

if peers_available; then
  if ! curl -fs --unix-socket /run/peer-dockerd.sock http://d/_ping >/dev/null 2>&1; then
    "$PEERS" start dockerd >/dev/null && STARTED_DOCKERD=1
  fi
  DOCKER_HOST=unix:///run/peer-dockerd.sock measure dockerd || echo "bench: dockerd run failed" >&2
  pp=$(free_port)
  CONTAINERS_CONF=/work/shared/peers/podman/containers.conf \
  CONTAINERS_STORAGE_CONF=/work/shared/peers/podman/storage.conf \
  CONTAINERS_REGISTRIES_CONF=/work/shared/peers/podman/registries.conf \
    podman system service --time=0 "tcp://127.0.0.1:$pp" >"$BENCH_WORK/podman.log" 2>&1 &
  PODMAN_PID=$!
  for i in $(seq 1 100); do curl -fs "http://127.0.0.1:$pp/_ping" >/dev/null 2>&1 && break; sleep 0.1; done
  DOCKER_HOST="tcp://127.0.0.1:$pp" measure podman || echo "bench: podman run failed" >&2
else
  echo "(peers not installed: run scripts/deps.sh bench for dockerd and Podman figures)"
fi

printf '\n%-8s %22s %22s %20s\n' daemon "container->container" "host->published port" "DNS lookup (name)"
for d in arca dockerd podman; do
  [ -n "${C2C[$d]:-}${HOSTPORT[$d]:-}${DNS[$d]:-}" ] || continue
  printf '%-8s %17s Gb/s %17s Gb/s %17s us\n' "$d" "${C2C[$d]:-?}" "${HOSTPORT[$d]:-?}" "${DNS[$d]:-?}"
done
