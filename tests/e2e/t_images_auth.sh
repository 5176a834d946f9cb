#!/usr/bin/env bash
# Private registry (htpasswd): docker login through POST /auth, private pull, wrong
# credentials, logout; distribution inspect; search without a reachable index.
. "$(dirname "$0")/lib/common.sh"
. "$E2E_DIR/lib/fixtures.sh"
. "$E2E_DIR/lib/registry.sh"
arcad_start || t_finish

# a second registry with basic auth, on its own port, stopped at the end
regdir="$T_WORK/authreg"
mkdir -p "$regdir"
registry_htpasswd "$regdir/htpasswd" alice s3cret >/dev/null
saved_addr=$REGISTRY_ADDR saved_pid=${REGISTRY_PID:-}
registry_start "$regdir/state" --htpasswd "$regdir/htpasswd" >/dev/null || { fail "auth registry did not start"; t_finish; }
AUTH_REG=$REGISTRY_ADDR AUTH_PID=$REGISTRY_PID
registry_push_layout "$E2E_CACHE/oci/busybox" "private/box:v1" --creds alice:s3cret >/dev/null 2>&1 || fail "push to the auth registry"
REGISTRY_ADDR=$saved_addr REGISTRY_PID=$saved_pid

out=$(dk pull "$AUTH_REG/private/box:v1" 2>&1); rc=$?
assert_eq 1 "$rc" "anonymous private pull refused"
assert_contains "$out" "no basic auth credentials" "anonymous private pull message"
out=$(echo wrong | dk login -u alice --password-stdin "$AUTH_REG" 2>&1); rc=$?
assert_eq 1 "$rc" "login with a wrong password fails"
assert_contains "$out" "401 Unauthorized" "wrong password message"
out=$(echo s3cret | dk login -u alice --password-stdin "$AUTH_REG" 2>&1); rc=$?
assert_eq 0 "$rc" "login succeeds"
assert_contains "$out" "Login Succeeded" "login message"
out=$(dk pull "$AUTH_REG/private/box:v1" 2>&1); rc=$?
assert_eq 0 "$rc" "private pull with credentials"
assert_contains "$out" "Downloaded newer image" "private pull completes"
api POST /auth -H 'Content-Type: application/json' -d "{\"username\":\"alice\",\"password\":\"s3cret\",\"serveraddress\":\"$AUTH_REG\"}"
assert_eq "200 Login Succeeded" "$API_STATUS $(jq -r .Status <<<"$API_BODY")" "POST /auth"
api POST /auth -H 'Content-Type: application/json' -d '{"username": 5}'
assert_eq 400 "$API_STATUS" "POST /auth with a wrong type"
assert_not_contains "$(cat "$T_LOG")" "s3cret" "the password never reaches the log"
# push with credentials, then as nobody
dk tag "$AUTH_REG/private/box:v1" "$AUTH_REG/private/box:v2"
out=$(dk push "$AUTH_REG/private/box:v2" 2>&1); rc=$?
assert_eq 0 "$rc" "push with credentials"
dk logout "$AUTH_REG" >/dev/null 2>&1
out=$(dk push "$AUTH_REG/private/box:v2" 2>&1); rc=$?
assert_eq 1 "$rc" "push without credentials refused"

# distribution inspect through the API (as docker buildx imagetools would)
api GET "/distribution/$REGISTRY_ADDR/busybox:latest/json"
assert_eq 200 "$API_STATUS" "distribution inspect status"
assert_match "$(jq -r .Descriptor.digest <<<"$API_BODY")" "^sha256:" "distribution descriptor"
assert_eq "amd64" "$(jq -r '.Platforms[0].architecture' <<<"$API_BODY")" "distribution platform"
api GET "/distribution/$REGISTRY_ADDR/multiarch:latest/json"
assert_eq 2 "$(jq '.Platforms | length' <<<"$API_BODY")" "distribution platforms of an index"
api GET "/distribution/$REGISTRY_ADDR/nosuch:latest/json"
assert_eq 404 "$API_STATUS" "distribution of a missing image"

# search: no index is reachable here, so a clear error
out=$(dk search --limit 5 "127.0.0.1:9/busybox" 2>&1); rc=$?
assert_eq 1 "$rc" "search of an unreachable index fails"
assert_contains "$out" "127.0.0.1:9" "search error names the index"
api GET "/images/search?term=busybox&limit=1000"
assert_eq 400 "$API_STATUS" "search limit out of range"

registry_stop "$AUTH_PID" >/dev/null
t_finish
