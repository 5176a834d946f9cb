#!/usr/bin/env bash
# Wall time to pull a >= 200 MB multi-layer image from a loopback registry (127.0.0.1:5000,
# the peers' insecure registry) for Arca, `skopeo copy` into an OCI layout, dockerd and
# Podman, in one run; then GET /images/json with 500 images (curl on the socket).
# Targets (issue 3): Arca no slower than skopeo, faster than dockerd and Podman; the list
# call under 20 ms.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/e2e/lib/fixtures.sh"
. "$ROOT/tests/e2e/lib/registry.sh"
CACHE=${E2E_CACHE:-$ROOT/tests/e2e/.fixtures}
RUNS=${RUNS:-3}
STARTED=()
cleanup() {
  bench_cleanup
  for p in "${STARTED[@]}"; do "$PEERS" stop "$p" >/dev/null 2>&1; done
  [ -n "${REGISTRY_PID:-}" ] && registry_stop "$REGISTRY_PID" >/dev/null 2>&1
  rm -rf "$BENCH_WORK"
}
trap cleanup EXIT

echo "building the big fixture (cached) ..."
fixtures_build "$CACHE" >/dev/null && fixtures_build_big "$CACHE" >/dev/null || exit 1
size=$(du -sb "$CACHE/oci/big/blobs" | cut -f1)
bench_registry "$CACHE" big big || exit 1
REF=127.0.0.1:5000/big:latest

ms() { echo $(( ($2 - $1) / 1000000 )); }

declare -A T
# Arca (release build)
arca_start || exit 1
export DOCKER_HOST=unix://$BENCH_WORK/arca.sock
times=()
for i in $(seq 1 "$RUNS"); do
  docker rmi -f "$REF" >/dev/null 2>&1; docker image prune -af >/dev/null 2>&1
  t0=$(date +%s%N); docker pull -q "$REF" >/dev/null || echo "arca pull failed" >&2; t1=$(date +%s%N)
  times+=("$(ms "$t0" "$t1")")
done
T[arca]=$(printf '%s\n' "${times[@]}" | median)

# GET /images/json with 500 images
echo "importing 500 images into arca ..."
for i in $(seq 1 500); do
  d=$BENCH_WORK/imp; mkdir -p "$d"; echo "$i" >"$d/n"
  tar -C "$d" -cf - n | docker import - "many/img$i:v1" >/dev/null
done
lt=()
for i in $(seq 1 20); do
  lt+=("$(curl -s -o /dev/null -w '%{time_total}' --unix-socket "$BENCH_WORK/arca.sock" http://x/images/json | awk '{printf "%.2f", $1*1000}')")
done
LIST=$(printf '%s\n' "${lt[@]}" | median)
arca_stop

# skopeo copy into an OCI layout
times=()
for i in $(seq 1 "$RUNS"); do
  rm -rf "$BENCH_WORK/skopeo"
  t0=$(date +%s%N)
  skopeo --insecure-policy copy --quiet --src-tls-verify=false "docker://$REF" "oci:$BENCH_WORK/skopeo:big" >/dev/null
  t1=$(date +%s%N)
  times+=("$(ms "$t0" "$t1")")
done
T[skopeo]=$(printf '%s\n' "${times[@]}" | median)

if peers_available; then
  for peer in dockerd podman; do
    "$PEERS" start "$peer" >/dev/null || continue
    STARTED+=("$peer")
    eval "$("$PEERS" env "$peer")"
    times=()
    for i in $(seq 1 "$RUNS"); do
      docker rmi -f "$REF" >/dev/null 2>&1; docker image prune -af >/dev/null 2>&1
      t0=$(date +%s%N); docker pull -q "$REF" >/dev/null || echo "$peer pull failed" >&2; t1=$(date +%s%N)
      times+=("$(ms "$t0" "$t1")")
    done
    T[$peer]=$(printf '%s\n' "${times[@]}" | median)
    docker rmi -f "$REF" >/dev/null 2>&1
    "$PEERS" stop "$peer" >/dev/null
  done
else
  echo "(peers not installed: scripts/deps.sh bench)"
fi

printf '\npull of %s (%d MB compressed, 7 layers) from 127.0.0.1:5000, median of %d\n' "$REF" $((size / 1000000)) "$RUNS"
for d in arca skopeo dockerd podman; do
  [ -n "${T[$d]:-}" ] && printf '  %-8s %6s ms\n' "$d" "${T[$d]}"
done
printf '\nGET /images/json with 500 images (arca, curl on the socket, median of 20): %s ms\n' "$LIST"
