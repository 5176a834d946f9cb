#!/usr/bin/env bash
# Container lifecycle figures, in one run:
#  - median latency of `docker run --rm busybox true` for Arca, dockerd and Podman, and of
#    the same bundle run by conmon + runc directly (the floor);
#  - GET /containers/json?all=1 with 1000 containers on Arca (curl on the socket);
#  - `docker logs` of a container that printed 1M lines, Arca and dockerd.
# Targets (issue 4): run latency at most half of dockerd's and within 1.3x of the floor;
# the list call under 20 ms; logs at least twice dockerd's throughput.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/e2e/lib/fixtures.sh"
. "$ROOT/tests/e2e/lib/registry.sh"
CACHE=${E2E_CACHE:-$ROOT/tests/e2e/.fixtures}
RUNS=${RUNS:-20}
LIST_N=${LIST_N:-1000}
LINES=${LINES:-1000000}
STARTED=()
cleanup() {
  export DOCKER_HOST=unix://$BENCH_WORK/arca.sock
  [ -n "${ARCA_PID:-}" ] && docker rm -f $(docker ps -aq) >/dev/null 2>&1
  bench_cleanup
  for p in "${STARTED[@]}"; do "$PEERS" stop "$p" >/dev/null 2>&1; done
  [ -n "${REGISTRY_PID:-}" ] && registry_stop "$REGISTRY_PID" >/dev/null 2>&1
  for cg in /sys/fs/cgroup/*/arca-bench; do [ -d "$cg" ] && rmdir "$cg" 2>/dev/null; done
  rm -rf "$BENCH_WORK"
}
trap cleanup EXIT


fixtures_build "$CACHE" >/dev/null || exit 1
bench_registry "$CACHE" busybox busybox || exit 1

run_latency() { # label
  docker pull -q 127.0.0.1:5000/busybox >/dev/null && docker tag 127.0.0.1:5000/busybox busybox
  docker run --rm busybox true >/dev/null 2>&1 # warm
  local t=()
  for i in $(seq 1 "$RUNS"); do
    local t0; t0=$(now); docker run --rm busybox true >/dev/null || echo "$1: run failed" >&2
    t+=($(( ($(now) - t0) / 1000000 )))
  done
  printf '%s\n' "${t[@]}" | median
}

logs_time() { # label -> ms to read the logs of LINES lines
  docker run -d --name logs-bench busybox sh -c "seq 1 $LINES" >/dev/null
  docker wait logs-bench >/dev/null
  local t0; t0=$(now)
  local n; n=$(docker logs logs-bench 2>/dev/null | wc -l)
  local dt=$(( ($(now) - t0) / 1000000 ))
  [ "$n" -eq "$LINES" ] || echo "$1: logs gave $n lines" >&2
  docker rm -f logs-bench >/dev/null
  echo "$dt"
}

declare -A RUN LOGS
arca_start || exit 1
export DOCKER_HOST=unix://$BENCH_WORK/arca.sock
RUN[arca]=$(run_latency arca)
LOGS[arca]=$(logs_time arca)

# the floor: Arca's own bundle for busybox, run by conmon + runc by hand
cid=$(docker create busybox true)
floor_dir=$BENCH_WORK/floor
mkdir -p "$floor_dir/bundle/rootfs" "$floor_dir/exits" "$floor_dir/sock" "$floor_dir/runc"
docker export "$cid" | tar -C "$floor_dir/bundle/rootfs" -xf -
jq '.root.path = "rootfs" | .linux.cgroupsPath = "/arca-bench/floor"
    | .linux.namespaces |= map(del(.path))
    | .mounts |= map(select(.source == null or (.source | startswith("'"$BENCH_WORK"'") | not)))' \
  "$BENCH_WORK/arca-data/containers/$cid/bundle/config.json" >"$floor_dir/bundle/config.json"
t=()
for i in $(seq 1 "$RUNS"); do
  id=floor$i
  t0=$(now)
  conmon --api-version 1 -c "$id" -u "$id" -r "$(command -v runc)" -b "$floor_dir/bundle" -p "$floor_dir/$id.pid" \
    -l "k8s-file:$floor_dir/$id.log" --exit-dir "$floor_dir/exits" --socket-dir-path "$floor_dir/sock" \
    --runtime-arg "--root=$floor_dir/runc" >/dev/null 2>&1
  until runc --root "$floor_dir/runc" state "$id" 2>/dev/null | grep -q '"status": "created"'; do sleep 0.002; done
  runc --root "$floor_dir/runc" start "$id"
  until [ -e "$floor_dir/exits/$id" ]; do sleep 0.002; done
  runc --root "$floor_dir/runc" delete "$id" >/dev/null 2>&1
  t+=($(( ($(now) - t0) / 1000000 )))
done
FLOOR=$(printf '%s\n' "${t[@]}" | median)
docker rm "$cid" >/dev/null

# the list call with many containers
echo "creating $LIST_N containers ..."
for i in $(seq 1 "$LIST_N"); do docker create --label bench=1 busybox true >/dev/null; done
lt=()
for i in $(seq 1 20); do
  lt+=("$(curl -s -o /dev/null -w '%{time_total}' --unix-socket "$BENCH_WORK/arca.sock" 'http://x/containers/json?all=1' | awk '{printf "%.2f", $1*1000}')")
done
LIST=$(printf '%s\n' "${lt[@]}" | median)
docker rm -f $(docker ps -aq) >/dev/null 2>&1
arca_stop

if peers_available; then
  for peer in dockerd podman; do
    "$PEERS" start "$peer" >/dev/null || continue
    STARTED+=("$peer")
    eval "$("$PEERS" env "$peer")"
    RUN[$peer]=$(run_latency "$peer")
    [ "$peer" = dockerd ] && LOGS[$peer]=$(logs_time "$peer")
    "$PEERS" stop "$peer" >/dev/null
  done
else
  echo "(peers not installed: scripts/deps.sh bench)"
fi

printf '\ndocker run --rm busybox true, median of %d (ms)\n' "$RUNS"
for d in arca dockerd podman; do [ -n "${RUN[$d]:-}" ] && printf '  %-18s %6s\n' "$d" "${RUN[$d]}"; done
printf '  %-18s %6s\n' "conmon+runc floor" "$FLOOR"
printf '\nGET /containers/json?all=1 with %d containers (arca, median of 20): %s ms\n' "$LIST_N" "$LIST"
printf '\ndocker logs of %d lines (ms)\n' "$LINES"
for d in arca dockerd; do [ -n "${LOGS[$d]:-}" ] && printf '  %-8s %6s\n' "$d" "${LOGS[$d]}"; done
