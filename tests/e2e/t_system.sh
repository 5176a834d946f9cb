#!/usr/bin/env bash
# System endpoints through the real CLI and curl: version, info, ping, version prefixes,
# unknown paths, events with since/until and filters, swarm and plugin answers, df.
. "$(dirname "$0")/lib/common.sh"
arcad_start || t_finish

# docker version: the Server section comes from Components[0].Details
out=$(dk version 2>&1)
assert_contains "$out" "Server: Arca" "docker version server platform"
assert_contains "$out" "API version:      1.51 (minimum version 1.24)" "docker version API range"
assert_match "$out" "OS/Arch: +linux/(amd64|arm64)" "docker version OS/Arch"
v=$(dk version --format '{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}}')
assert_eq "1.51 1.24 linux" "$v" "version fields"

# docker info: real figures
info=$(dk info --format '{{json .}}')
assert_eq "$(nproc)" "$(jq -r .NCPU <<<"$info")" "info NCPU"
assert_eq "$(uname -r)" "$(jq -r .KernelVersion <<<"$info")" "info KernelVersion"
assert_eq "$(uname -m)" "$(jq -r .Architecture <<<"$info")" "info Architecture"
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) * 1024 ))
got=$(grep -o '"MemTotal":[0-9]*' <<<"$info" | cut -d: -f2)
diff=$(( got > mem ? got - mem : mem - got ))
assert_true "info MemTotal ($got) close to /proc/meminfo ($mem)" test "$diff" -lt $((mem / 20))
assert_eq "$T_DATA" "$(jq -r .DockerRootDir <<<"$info")" "info DockerRootDir"
assert_eq "runc" "$(jq -r .DefaultRuntime <<<"$info")" "info DefaultRuntime"
assert_eq "inactive" "$(jq -r .Swarm.LocalNodeState <<<"$info")" "info swarm state"
assert_eq "$(hostname)" "$(jq -r .Name <<<"$info")" "info Name"
cgv=$(stat -fc %T /sys/fs/cgroup); [ "$cgv" = cgroup2fs ] && cgv=2 || cgv=1
assert_eq "$cgv" "$(jq -r .CgroupVersion <<<"$info")" "info CgroupVersion"
id1=$(jq -r .ID <<<"$info")
assert_match "$id1" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "info ID is a UUID"
assert_eq 0 "$(jq -r .Containers <<<"$info")" "info Containers"
out=$(dk info 2>&1)
assert_contains "$out" "Storage Driver: overlay2" "docker info text"
assert_contains "$out" "Operating System: $(. /etc/os-release; echo "$PRETTY_NAME")" "docker info OS"

# the ID survives a restart
arcad_restart
assert_eq "$id1" "$(dk info --format '{{.ID}}')" "engine ID stable across restarts"

# ping, HEAD and GET, with and without version prefix
hdr=$(curl -sS -I --unix-socket "$T_SOCK" http://arca/_ping)
assert_contains "$hdr" "Api-Version: 1.51" "HEAD /_ping Api-Version"
assert_contains "$hdr" "Swarm: inactive" "HEAD /_ping Swarm"
assert_contains "$hdr" "Builder-Version: 1" "HEAD /_ping Builder-Version"
assert_contains "$hdr" "Server: Arca/" "HEAD /_ping Server"
assert_contains "$hdr" "Ostype: linux" "HEAD /_ping OSType"
assert_contains "$hdr" "Docker-Experimental: false" "HEAD /_ping Docker-Experimental"
api GET /v1.24/_ping; body=$API_BODY
assert_eq "200 OK" "$API_STATUS $body" "GET /v1.24/_ping"
api GET /v1.51/version; body=$API_BODY
assert_eq 200 "$API_STATUS" "/v1.51/version status"
assert_eq "1.51" "$(jq -r .ApiVersion <<<"$body")" "/v1.51/version body"

# version bounds and unknown paths, Docker's texts
api GET /v1.99/version; body=$API_BODY
assert_eq 400 "$API_STATUS" "too new status"
assert_eq "client version 1.99 is too new. Maximum supported API version is 1.51" "$(jq -r .message <<<"$body")" "too new message"
api GET /v1.12/version; body=$API_BODY
assert_eq 400 "$API_STATUS" "too old status"
assert_eq "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version" "$(jq -r .message <<<"$body")" "too old message"
api GET /no/such/path; body=$API_BODY
assert_eq 404 "$API_STATUS" "unknown path status"
assert_eq '{"message":"page not found"}' "$body" "unknown path body"
api DELETE /version; body=$API_BODY
assert_eq "404 page not found" "$API_STATUS $(jq -r .message <<<"$body")" "wrong method is 404 as dockerd"
api GET /v1.50/no/such; body=$API_BODY
assert_eq 404 "$API_STATUS" "unknown versioned path"
hdr=$(curl -sS -D - -o /dev/null --unix-socket "$T_SOCK" http://arca/nope)
assert_contains "$hdr" "Api-Version: 1.51" "headers on errors too"
assert_contains "$hdr" "Content-Type: application/json" "error content type"
api POST /session; body=$API_BODY
assert_eq "501 DOCKER_BUILDKIT=0" "$API_STATUS $(jq -r .message <<<"$body" | grep -o 'DOCKER_BUILDKIT=0')" "BuildKit session refused clearly"

# swarm and friends: what a non-member dockerd says
out=$(dk node ls 2>&1); rc=$?
assert_eq 1 "$rc" "docker node ls exit status"
assert_contains "$out" 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.' "node ls error"
for p in /services /tasks /secrets /configs /swarm /nodes; do
  api GET "$p"
  assert_eq 503 "$API_STATUS" "GET $p status"
done
out=$(dk swarm leave 2>&1)
assert_contains "$out" "This node is not part of a swarm" "swarm leave"
api GET /plugins; body=$API_BODY
assert_eq "200 []" "$API_STATUS $body" "plugins list"
out=$(dk plugin ls --format '{{.Name}}' 2>&1)
assert_eq "" "$out" "docker plugin ls empty"
out=$(dk plugin inspect foo/bar:latest 2>&1)
assert_contains "$out" 'plugin "foo/bar:latest" not found' "plugin inspect"

# system df shape
api GET /system/df; body=$API_BODY
assert_eq 200 "$API_STATUS" "df status"
assert_eq "true true true true true" "$(jq -r '[has("LayersSize"), has("Images"), has("Containers"), has("Volumes"), has("BuildCache")] | map(tostring) | join(" ")' <<<"$body")" "df keys"
api GET '/system/df?type=volume'; body=$API_BODY
assert_eq '["Volumes"]' "$(jq -c 'keys' <<<"$body")" "df type filter"
api GET '/system/df?type=bogus'
assert_eq 400 "$API_STATUS" "df unknown type"
out=$(dk system df 2>&1)
assert_contains "$out" "Images" "docker system df"

# events: a reload event appears live, is replayed with since/until, and filters apply
"$DOCKER_BIN" events --format '{{.Type}} {{.Action}}' >"$T_WORK/live.txt" 2>&1 &
evpid=$!
listeners() { dk info --format '{{.NEventsListener}}'; }
test_listeners_at_least() { [ "$(listeners)" -ge "$1" ]; }
test_listeners_exactly() { [ "$(listeners)" -eq "$1" ]; }
wait_for 5 test_listeners_at_least 1 || fail "events listener not registered"
kill -HUP "$ARCAD_PID"
wait_for 5 grep -q "daemon reload" "$T_WORK/live.txt" || fail "live reload event not received: $(cat "$T_WORK/live.txt")"
kill "$evpid"; wait "$evpid" 2>/dev/null
sleep 2.1 # --until 1s means one second ago, in whole seconds
start=$(date +%s)
out=$(timeout 10 "$DOCKER_BIN" system events --since 1h --until 1s --format '{{.Type}} {{.Action}}'); rc=$?
assert_eq 0 "$rc" "events --since --until returns"
assert_contains "$out" "daemon reload" "reload event replayed"
assert_true "events with until in the past returns at once" test $(( $(date +%s) - start )) -le 2
out=$(dk system events --since 1h --until 1s --filter type=container --format '{{.Action}}')
assert_eq "" "$out" "type filter excludes daemon events"
out=$(dk system events --since 1h --until 1s --filter event=reload --format '{{.Action}}')
assert_eq "reload" "$out" "event filter"
# until in the future (absolute: durations count backwards from now): the stream stays open until then
t0=$(date +%s%N)
dk system events --since 1h --until "$(( $(date +%s) + 2 ))" >/dev/null
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_true "events until=now+2s (whole seconds) waits 1-2s (${dt}ms)" test "$dt" -ge 900 -a "$dt" -le 3500
api GET "/events?since=10&until=5"; body=$API_BODY
assert_eq 400 "$API_STATUS" "since after until"
assert_eq '`since` time (10) cannot be after `until` time (5)' "$(jq -r .message <<<"$body")" "since after until message"
api GET '/events?until=1&filters=%7Bbad'; body=$API_BODY
assert_eq 400 "$API_STATUS" "bad filters JSON"

# a vanished events client is noticed at once: the listener count drops
curl -s --unix-socket "$T_SOCK" http://arca/events >/dev/null &
cpid=$!
wait_for 5 test_listeners_at_least 1 || fail "curl listener not registered"
kill "$cpid"; wait "$cpid" 2>/dev/null
wait_for 3 test_listeners_exactly 0 || fail "listener not dropped after client vanished: $(listeners)"

# shutdown with a stream open: the stream ends, arcad exits 0 promptly
"$DOCKER_BIN" events >/dev/null 2>&1 &
evpid=$!
wait_for 5 test_listeners_at_least 1 || fail "listener before shutdown"
t0=$(date +%s%N)
arcad_stop
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_true "shutdown with an open events stream took ${dt}ms" test "$dt" -lt 3000
wait_for 5 bash -c "! kill -0 $evpid 2>/dev/null" || fail "docker events did not end when arcad stopped"
kill "$evpid" 2>/dev/null; wait "$evpid" 2>/dev/null

t_finish
