#!/usr/bin/env bash
# A daemon killed with SIGKILL in the middle of a pull leaves no image, reference or layer
# half there, and the next pull completes; images survive restarts.
. "$(dirname "$0")/lib/common.sh"
. "$E2E_DIR/lib/fixtures.sh"
. "$E2E_DIR/lib/registry.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh}"
R=$REGISTRY_ADDR
fixtures_build_big "$E2E_CACHE" >/dev/null 2>&1 || { fail "big fixture"; t_finish; }
registry_push_layout "$E2E_CACHE/oci/big" big:latest >/dev/null 2>&1 || { fail "push big fixture"; t_finish; }
big_id=$(fixtures_image_id "$E2E_CACHE/oci/big")
arcad_start || t_finish

# images survive a clean restart
dk pull "$R/busybox" >/dev/null 2>&1
arcad_restart || t_finish
assert_eq "$(fixtures_image_id "$E2E_CACHE/oci/busybox")" "$(dk image inspect --format '{{.Id}}' "$R/busybox" 2>&1)" "image survives a restart"

# kill -9 while layers download: a slow proxy in front of the registry keeps the pull busy
echo "slow 1000" >"$T_WORK/proxy.mode"
/usr/bin/python3 "$E2E_DIR/lib/registry_flaky_proxy.py" --upstream "${R##*:}" --port-file "$T_WORK/proxy.port" \
  --mode-file "$T_WORK/proxy.mode" --log "$T_WORK/proxy.log" >/dev/null 2>&1 &
proxypid=$!
wait_for 10 test -s "$T_WORK/proxy.port" || fail "slow proxy did not start"
P=127.0.0.1:$(cat "$T_WORK/proxy.port")
curl -sN --unix-socket "$T_SOCK" -X POST "http://arca/images/create?fromImage=$P/big&tag=latest" >"$T_WORK/pull.log" 2>&1 &
pullpid=$!
downloading() { grep -q '"status":"Downloading","progressDetail":{"current"' "$T_WORK/pull.log"; }
wait_for 30 downloading || fail "the pull never started downloading: $(head -c 600 "$T_WORK/pull.log")"
arcad_kill9
wait "$pullpid" 2>/dev/null
kill "$proxypid" 2>/dev/null; wait "$proxypid" 2>/dev/null
arcad_start || t_finish
out=$(dk image inspect "$P/big:latest" 2>&1)
assert_contains "$out" "No such image" "no image after a killed pull"
assert_eq "" "$(dk images -q --filter reference="$P/big")" "no reference after a killed pull"
assert_eq "" "$(ls "$T_DATA/blobs/tmp")" "no partial blob left"
assert_eq "" "$(find "$T_DATA/layers" -maxdepth 1 -name 'tmp-*')" "no partial layer left"
# every layer directory that is left is a whole, recorded layer: the restarted daemon
# removed what no image uses
assert_eq "1" "$(find "$T_DATA/layers" -mindepth 1 -maxdepth 1 | wc -l)" "only busybox's layer remains"
out=$(dk pull "$R/big:latest" 2>&1); rc=$?
assert_eq 0 "$rc" "the next pull completes"
assert_eq "$big_id" "$(dk image inspect --format '{{.Id}}' "$R/big:latest")" "the next pull gives the right image"

# kill -9 during extraction too
dk rmi "$R/big:latest" >/dev/null
curl -sN --unix-socket "$T_SOCK" -X POST "http://arca/images/create?fromImage=$R/big&tag=latest" >"$T_WORK/pull2.log" 2>&1 &
pullpid=$!
extracting() { grep -q '"status":"Extracting","progressDetail":{"current"' "$T_WORK/pull2.log"; }
wait_for 30 extracting || fail "the second pull never extracted"
arcad_kill9
wait "$pullpid" 2>/dev/null
arcad_start || t_finish
assert_contains "$(dk image inspect "$R/big:latest" 2>&1)" "No such image" "no image after a kill during extraction"
assert_eq "" "$(find "$T_DATA/layers" -maxdepth 1 -name 'tmp-*')" "no partial layer after a kill during extraction"
out=$(dk pull "$R/big:latest" 2>&1); rc=$?
assert_eq 0 "$rc" "pull after a kill during extraction"
assert_eq "2" "$(dk images -q | wc -l)" "busybox and big are the images left"

t_finish
