#!/usr/bin/env bash
# dockerode and Testcontainers (npm) against Arca: networks, volumes, HostPort "" and a redis
# container through dockerode; a redis container started by Testcontainers, waited for on
# its port, talked to from the host and from a second container by network alias, stopped.
# Ryuk, Testcontainers' reaper, is disabled with its documented switch
# (TESTCONTAINERS_RYUK_DISABLED=true): its image comes from Docker Hub, which this machine
# cannot reach. What Ryuk needs from the daemon, the docker socket bind-mounted into a
# container, is checked in t_volumes.sh.
# The npm packages are installed from the npm registry into the fixture cache, keyed by
# tests/e2e/node/package.json.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/netlib.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh}"
NODE_SRC=$E2E_DIR/node
key=$(cat "$NODE_SRC/package.json" <(node --version) | sha256sum | cut -c1-16)
NODE_CACHE=$E2E_CACHE/node/$key
if [ ! -d "$NODE_CACHE/node_modules/testcontainers" ]; then
  log "npm install into $NODE_CACHE"
  rm -rf "$NODE_CACHE.tmp" && mkdir -p "$NODE_CACHE.tmp"
  cp "$NODE_SRC/package.json" "$NODE_CACHE.tmp/"
  if (cd "$NODE_CACHE.tmp" && npm install --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
    rm -rf "$NODE_CACHE" && mv "$NODE_CACHE.tmp" "$NODE_CACHE"
  else
    tail -20 "$NODE_CACHE.tmp/npm.log" | sed 's/^/      /'
    fail "npm install failed"
    t_finish
  fi
fi
arcad_start || t_finish
use_netapps redis || fail "application images"
out=$(cd "$NODE_SRC" && DOCKER_HOST="unix://$T_SOCK" TESTCONTAINERS_RYUK_DISABLED=true REGISTRY_ADDR="$REGISTRY_ADDR" \
  NODE_PATH="$NODE_CACHE/node_modules" timeout 300 node test.js 2>&1)
rc=$?
assert_eq 0 "$rc" "node test exit status"
for what in "dockerode: version" "dockerode: network create and inspect" "dockerode: HostPort \"\" gives a port" \
  "dockerode: redis answers on the published port" "dockerode: network removed" "testcontainers: redis GET" \
  "testcontainers: exec, alias on the network" "testcontainers: stop removed the containers" "node ok"; do
  assert_contains "$out" "$what" "node: $what"
done
if [ "$rc" -ne 0 ]; then echo "$out" | grep -v '^ok ' | tail -30 | sed 's/^/      /'; fi
assert_eq "" "$(dk ps -aq)" "no container left"
assert_eq "bridge host none" "$(dk network ls --format '{{.Name}}' | sort | paste -sd' ')" "no network left"
# whatever a failure left must not outlive the test
left=$(dk ps -aq)
[ -z "$left" ] || dk rm -fv $left >/dev/null
dk network prune -f >/dev/null
dk volume prune -af >/dev/null
assert_eq 0 "$(netns_left)" "no network namespace left"
t_finish
