#!/usr/bin/env bash
# Interactive paths, in one run, for Arca, dockerd and Podman:
#  - median latency of `docker exec <c> true` against a running busybox container;
#  - throughput of piping PIPE_MB megabytes (default 1024) through
#    `docker run -i --rm busybox cat`, with the byte count checked.
# Targets (issue 5): exec latency at most half of dockerd's; pipe throughput at least
# dockerd's.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/e2e/lib/fixtures.sh"
. "$ROOT/tests/e2e/lib/registry.sh"
CACHE=${E2E_CACHE:-$ROOT/tests/e2e/.fixtures}
RUNS=${RUNS:-30}
PIPE_MB=${PIPE_MB:-1024}
STARTED=()
cleanup() {
  if [ -n "${ARCA_PID:-}" ]; then
    DOCKER_HOST=unix://$BENCH_WORK/arca.sock docker rm -f $(DOCKER_HOST=unix://$BENCH_WORK/arca.sock docker ps -aq) >/dev/null 2>&1
  fi
  bench_cleanup
  for p in "${STARTED[@]}"; do "$PEERS" stop "$p" >/dev/null 2>&1; done
  [ -n "${REGISTRY_PID:-}" ] && registry_stop "$REGISTRY_PID" >/dev/null 2>&1
  rm -rf "$BENCH_WORK"
}
trap cleanup EXIT


fixtures_build "$CACHE" >/dev/null || exit 1
bench_registry "$CACHE" busybox busybox || exit 1

measure() { # label: fills EXEC[label] (ms) and PIPE[label] (MB/s)
  docker pull -q 127.0.0.1:5000/busybox >/dev/null && docker tag 127.0.0.1:5000/busybox busybox
  docker rm -f bench-exec >/dev/null 2>&1
  docker run -d --name bench-exec busybox sleep 100000 >/dev/null || { echo "$1: run failed" >&2; return; }
  docker exec bench-exec true # warm
  local t=() i t0
  if command -v hyperfine >/dev/null; then
    # hyperfine spawns the CLI without a shell in between: the figure is the CLI's own time
    hyperfine -N -w 3 -r "$RUNS" --export-json "$BENCH_WORK/exec-$1.json" 'docker exec bench-exec true' >/dev/null 2>&1
    t=($(jq -r '.results[0].times[] | . * 1000 | floor' "$BENCH_WORK/exec-$1.json"))
  else
    for i in $(seq 1 "$RUNS"); do
      t0=$(now)
      docker exec bench-exec true || echo "$1: exec failed" >&2
      t+=($(( ($(now) - t0) / 1000000 )))
    done
  fi
  EXEC[$1]=$(printf '%s\n' "${t[@]}" | median)
  docker rm -f bench-exec >/dev/null

  echo x | docker run -i --rm busybox cat >/dev/null # warm
  t0=$(now)
  local n
  n=$(head -c "$((PIPE_MB << 20))" /dev/zero | docker run -i --rm busybox cat | wc -c)
  local ms=$(( ($(now) - t0) / 1000000 ))
  [ "$n" -eq "$((PIPE_MB << 20))" ] || echo "$1: the pipe gave $n bytes of $((PIPE_MB << 20))" >&2
  PIPE[$1]=$(echo "scale=1; $PIPE_MB * 1000 / $ms" | bc)
  PIPE_MS[$1]=$ms
}

declare -A EXEC PIPE PIPE_MS
arca_start || exit 1
export DOCKER_HOST=unix://$BENCH_WORK/arca.sock
measure arca
docker rm -f $(docker ps -aq) >/dev/null 2>&1
arca_stop

if peers_available; then
  for peer in dockerd podman; do
    "$PEERS" start "$peer" >/dev/null || continue
    STARTED+=("$peer")
    eval "$("$PEERS" env "$peer")"
    measure "$peer"
    "$PEERS" stop "$peer" >/dev/null
  done
else
  echo "(peers not installed: scripts/deps.sh bench)"
fi

printf '\ndocker exec <c> true, median of %d (ms)\n' "$RUNS"
for d in arca dockerd podman; do [ -n "${EXEC[$d]:-}" ] && printf '  %-8s %6s\n' "$d" "${EXEC[$d]}"; done
printf '\n%d MB through docker run -i --rm busybox cat\n' "$PIPE_MB"
for d in arca dockerd podman; do
  [ -n "${PIPE[$d]:-}" ] && printf '  %-8s %8s MB/s  (%s ms)\n' "$d" "${PIPE[$d]}" "${PIPE_MS[$d]}"
done
if [ -n "${EXEC[dockerd]:-}" ]; then
  printf '\ntargets: exec <= half of dockerd (%s ms): %s; pipe >= dockerd: %s\n' \
    "$(( EXEC[dockerd] / 2 ))" \
    "$([ "${EXEC[arca]}" -le $(( EXEC[dockerd] / 2 )) ] && echo met || echo MISSED)" \
    "$([ "$(echo "${PIPE[arca]} >= ${PIPE[dockerd]}" | bc)" = 1 ] && echo met || echo MISSED)"
fi
