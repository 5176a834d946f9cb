#!/usr/bin/env bash
# Wall time of `docker build` (classic builder, DOCKER_BUILDKIT=0) of a 10-step Dockerfile,
# from a cold cache (--no-cache) and fully cached, for Arca, dockerd and Podman in one run.
# The base image (the busybox fixture) is loaded into each daemon before the clock starts;
# the RUN steps need no network.
# Targets (issue 7): at least as fast as dockerd on both; a cached rebuild under 1 s.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/e2e/lib/fixtures.sh"
[ -x "$PEERS" ] || PEERS=/work/shared/peers/peers.sh # a worktree's ../shared
CACHE=${E2E_CACHE:-$ROOT/tests/e2e/.fixtures}
RUNS=${RUNS:-5}
DOCKER=${DOCKER_BIN:-/usr/local/bin/docker}
export DOCKER_BUILDKIT=0 DOCKER_CLI_HINTS=false
STARTED=()
cleanup() {
  bench_cleanup
  for p in "${STARTED[@]}"; do "$PEERS" stop "$p" >/dev/null 2>&1; done
  rm -rf "$BENCH_WORK"
}
trap cleanup EXIT

fixtures_build "$CACHE" >/dev/null || exit 1
fixtures_docker_archive "$CACHE/oci/busybox" "$BENCH_WORK/busybox.tar" busybox:latest >/dev/null 2>&1 ||
  { echo "bench: cannot write the busybox archive (skopeo)" >&2; exit 1; }
BASE=busybox:latest

# the context: 100 small files and 1 MB of data
CTX=$BENCH_WORK/ctx
mkdir -p "$CTX/src"
for i in $(seq 1 100); do echo "file $i" >"$CTX/src/f$i.txt"; done
head -c 1048576 /dev/urandom >"$CTX/data.bin"
cat >"$CTX/Dockerfile" <<EOF
FROM $BASE
ENV APP=/app
WORKDIR /app
COPY src/ /app/src/
RUN mkdir -p out && cp -r src out/
RUN for i in \$(seq 1 200); do echo \$i > out/n\$i; done
COPY data.bin /app/
RUN sha256sum data.bin > data.sum
LABEL bench=build
CMD ["ls", "/app"]
EOF

ms() { echo $(((($2 - $1) + 500000) / 1000000)); }

declare -A COLD WARM
measure() { # name: DOCKER_HOST set
  local name=$1 cold=() warm=() t0 t1 i
  "$DOCKER" load -q -i "$BENCH_WORK/busybox.tar" >/dev/null || { echo "$name: loading the base failed" >&2; return 1; }
  "$DOCKER" build -q -t bench/build "$CTX" >/dev/null 2>&1 || { echo "$name: build failed" >&2; return 1; }
  for i in $(seq 1 "$RUNS"); do
    t0=$(date +%s%N)
    "$DOCKER" build -q --no-cache -t bench/build "$CTX" >/dev/null 2>&1 || echo "$name: cold build failed" >&2
    t1=$(date +%s%N)
    cold+=("$(ms "$t0" "$t1")")
    t0=$(date +%s%N)
    "$DOCKER" build -q -t bench/build "$CTX" >/dev/null 2>&1 || echo "$name: cached build failed" >&2
    t1=$(date +%s%N)
    warm+=("$(ms "$t0" "$t1")")
  done
  COLD[$name]=$(printf '%s\n' "${cold[@]}" | median)
  WARM[$name]=$(printf '%s\n' "${warm[@]}" | median)
}

arca_start || exit 1
DOCKER_HOST=unix://$BENCH_WORK/arca.sock measure arca
arca_stop

if peers_available; then
  for p in dockerd podman; do
    "$PEERS" stop "$p" >/dev/null 2>&1
    if "$PEERS" start "$p" >/dev/null; then
      STARTED+=("$p")
      eval "$("$PEERS" env "$p")"
      measure "$p"
      "$DOCKER" rmi -f bench/build >/dev/null 2>&1
      "$DOCKER" image prune -f >/dev/null 2>&1
      unset DOCKER_HOST
      "$PEERS" stop "$p" >/dev/null
    fi
  done
else
  echo "(peers not installed: run scripts/deps.sh bench for dockerd and Podman figures)"
fi

printf '\ndocker build of a 10-step Dockerfile (classic builder), median of %s runs, ms\n' "$RUNS"
printf '%-10s %12s %14s\n' daemon "cold cache" "fully cached"
for d in arca dockerd podman; do
  [ -n "${COLD[$d]:-}" ] || continue
  printf '%-10s %12s %14s\n' "$d" "${COLD[$d]}" "${WARM[$d]}"
done
