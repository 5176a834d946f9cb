#!/usr/bin/env bash
# Builds the repertoire of tests/e2e/build/ with Arca and with dockerd's classic builder
# (the peer dockerd of ../shared/peers, started here and stopped at the end) and reports
# every difference between the two image configs of each case: config, container_config
# (both without the container-specific Image and Hostname), architecture, os, author, the
# number of layers, and each history entry's created_by, author and empty_layer. Cases that
# fail must fail on both, with the same error text.
#
#   scripts/compare-build.sh [CASE-SUBSTRING]
#   ARCAD=build/arcad (default)   DOCKER_BIN=/usr/local/bin/docker
# Needs root, the loopback registry tools of tests/e2e/lib and the peer dockerd.
# Exit status: 0 when no difference was found, 1 otherwise.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/peers/peers.sh}
[ -x "$PEERS" ] || PEERS=/work/shared/peers/peers.sh
ARCAD=${ARCAD:-$ROOT/build/arcad}
DOCKER_BIN=${DOCKER_BIN:-/usr/local/bin/docker}
ONLY=${1:-}
export DOCKER_BUILDKIT=0 DOCKER_CLI_HINTS=false DOCKER_BIN
export E2E_CACHE=${E2E_CACHE:-$ROOT/tests/e2e/.fixtures}
E2E_DIR=$ROOT/tests/e2e
# shellcheck source=/dev/null
. "$E2E_DIR/lib/fixtures.sh"
# shellcheck source=/dev/null
. "$E2E_DIR/lib/registry.sh"
# shellcheck source=/dev/null
. "$E2E_DIR/lib/build_cases.sh"

WORK=$(mktemp -d /tmp/compare-build.XXXXXX)
ARCA_SOCK=$WORK/arca.sock
DOCKERD_HOST=unix:///run/peer-dockerd.sock
ARCA_PID=""
cleanup() {
  if [ -n "$ARCA_PID" ]; then
    DOCKER_HOST="unix://$ARCA_SOCK" "$DOCKER_BIN" ps -aq | xargs -r env DOCKER_HOST="unix://$ARCA_SOCK" "$DOCKER_BIN" rm -f >/dev/null 2>&1
    kill -TERM "$ARCA_PID" 2>/dev/null && wait "$ARCA_PID" 2>/dev/null
  fi
  DOCKER_HOST=$DOCKERD_HOST "$DOCKER_BIN" ps -aq 2>/dev/null | xargs -r env DOCKER_HOST=$DOCKERD_HOST "$DOCKER_BIN" rm -f >/dev/null 2>&1
  registry_stop >/dev/null 2>&1
  "$PEERS" stop dockerd >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "compare-build: needs root" >&2; exit 2; }
[ -x "$ARCAD" ] || { echo "compare-build: no arcad at $ARCAD (make build)" >&2; exit 2; }
fixtures_build "$E2E_CACHE" >/dev/null || { echo "compare-build: fixtures failed" >&2; exit 2; }
registry_start "$WORK/registry" >/dev/null && registry_push_fixtures "$E2E_CACHE" >/dev/null ||
  { echo "compare-build: registry failed" >&2; exit 2; }
export REGISTRY_ADDR
"$PEERS" start dockerd >/dev/null || { echo "compare-build: dockerd did not start" >&2; exit 2; }
echo '{}' >"$WORK/daemon.json"
"$ARCAD" --data-root "$WORK/data" --exec-root "$WORK/run" -H "unix://$ARCA_SOCK" --config-file "$WORK/daemon.json" \
  >"$WORK/arcad.log" 2>&1 &
ARCA_PID=$!
for _ in $(seq 100); do curl -fs --unix-socket "$ARCA_SOCK" http://a/_ping >/dev/null 2>&1 && break; sleep 0.1; done

on() { # host cmd...: docker against one daemon
  local host=$1
  shift
  DOCKER_HOST=$host "$DOCKER_BIN" "$@"
}

for host in "unix://$ARCA_SOCK" "$DOCKERD_HOST"; do
  on "$host" pull -q "$REGISTRY_ADDR/busybox" >/dev/null && on "$host" tag "$REGISTRY_ADDR/busybox" busybox ||
    { echo "compare-build: cannot prepare busybox on $host" >&2; exit 2; }
done

# The compared view of an image config (from docker save, the same on both daemons).
image_view() { # host image
  local tar=$WORK/save.tar cfg
  on "$1" save -o "$tar" "$2" || return 1
  cfg=$(tar -xOf "$tar" manifest.json | jq -r '.[0].Config')
  tar -xOf "$tar" "$cfg" | jq -S '{
    config: (.config // {} | del(.Image, .Hostname)),
    container_config: (.container_config // {} | del(.Image, .Hostname)),
    architecture, os, variant: (.variant // null), author: (.author // null),
    layers: (.rootfs.diff_ids // [] | length),
    history: [.history[] | {created_by, author: (.author // null), empty_layer: (.empty_layer // false)}]
  }'
  rm -f "$tar"
}

last_error() { grep -v "^[[:space:]]*$" <<<"$1" | tail -1; }

ndiff=0
ncases=0
while read -r dir; do
  case_name=$(basename "$dir")
  [ -z "$ONLY" ] || [[ "$case_name" == *"$ONLY"* ]] || continue
  ncases=$((ncases + 1))
  img="comparetest/${case_name%%-*}"
  bc_load "$dir"
  DOCKER_HOST="unix://$ARCA_SOCK" bc_build "$dir" "$img"
  arca_rc=$BC_RC arca_out=$BC_OUT
  DOCKER_HOST=$DOCKERD_HOST bc_build "$dir" "$img"
  dockerd_rc=$BC_RC dockerd_out=$BC_OUT
  if [ "$arca_rc" != 0 ] || [ "$dockerd_rc" != 0 ]; then
    if [ "$arca_rc" != 0 ] && [ "$dockerd_rc" != 0 ]; then
      a=$(last_error "$arca_out") d=$(last_error "$dockerd_out")
      if [ "$a" == "$d" ]; then echo "same  $case_name (both fail: $a)"
      else
        echo "DIFF  $case_name: both fail, with different messages"
        echo "        arca:    $a"
        echo "        dockerd: $d"
        ndiff=$((ndiff + 1))
      fi
    else
      echo "DIFF  $case_name: arca exit $arca_rc, dockerd exit $dockerd_rc"
      [ "$arca_rc" != 0 ] && echo "        arca:    $(last_error "$arca_out")"
      [ "$dockerd_rc" != 0 ] && echo "        dockerd: $(last_error "$dockerd_out")"
      ndiff=$((ndiff + 1))
    fi
    continue
  fi
  image_view "unix://$ARCA_SOCK" "$img" >"$WORK/arca.json"
  image_view "$DOCKERD_HOST" "$img" >"$WORK/dockerd.json"
  if diff -q "$WORK/dockerd.json" "$WORK/arca.json" >/dev/null; then
    echo "same  $case_name"
  else
    echo "DIFF  $case_name (- dockerd, + arca):"
    diff -U1 "$WORK/dockerd.json" "$WORK/arca.json" | tail -n +3 | grep -v '^@@' | sed 's/^/        /'
    ndiff=$((ndiff + 1))
  fi
done < <(bc_cases "$E2E_DIR/build")
echo "compare-build: $ncases cases, $ndiff with differences (dockerd $(on "$DOCKERD_HOST" version -f '{{.Server.Version}}'))"
[ "$ndiff" = 0 ]
