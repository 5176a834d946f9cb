#!/usr/bin/env bash
# Containers through the real CLI: run/exit codes, run -d/ps/logs/stop/start/restart/rm,
# name and short-ID resolution, every ps filter, logs options, top, stats, cp both ways,
# pause/unpause, rename, update, restart policies, health checks, --rm, commit, prune,
# diff, export, inspect shape, Docker's errors for bad config; docker-py as second client.
. "$(dirname "$0")/lib/common.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh}"
arcad_start || t_finish
dk pull -q "$REGISTRY_ADDR/busybox" >/dev/null && dk tag "$REGISTRY_ADDR/busybox" busybox

# run, output, exit codes
assert_eq "hi" "$(dk run --rm busybox echo hi)" "run --rm prints"
dk run busybox sh -c 'exit 3'; assert_eq 3 "$?" "exit code propagates"
out=$(dk run --rm busybox nosuchcmd 2>&1); rc=$?
assert_eq 127 "$rc" "missing binary exits 127"
assert_contains "$out" 'exec: "nosuchcmd": executable file not found in $PATH' "missing binary message"
assert_eq "" "$(dk ps -aq --filter status=created --filter ancestor=busybox --filter name=nosuch)" "nothing left by --rm after a failed start"
out=$(dk run --rm busybox /etc/passwd 2>&1); rc=$?
assert_eq 126 "$rc" "non-executable exits 126"
for i in $(seq 1 30); do n=$(dk run --rm busybox echo x); [ "$n" = x ] || fail "short-lived output lost (run $i: [$n])"; done; pass
assert_eq "bar" "$(dk run --rm -e FOO=bar busybox sh -c 'echo $FOO')" "env"
assert_eq "/work/dir" "$(dk run --rm -w /work/dir busybox pwd)" "workdir created"
assert_eq "uid=1000(user) gid=1000(user) groups=1000(user)" "$(dk run --rm -u user busybox id)" "user by name"
assert_eq "uid=1234 gid=5678 groups=5678" "$(dk run --rm -u 1234:5678 busybox id)" "uid:gid"
assert_eq "myhost" "$(dk run --rm -h myhost busybox hostname)" "hostname"
assert_contains "$(dk run --rm --add-host db.local:10.1.2.3 busybox cat /etc/hosts)" "10.1.2.3	db.local" "add-host"
assert_contains "$(dk run --rm --dns 10.9.8.7 busybox cat /etc/resolv.conf)" "nameserver 10.9.8.7" "dns"
out=$(dk run --rm --read-only busybox touch /x 2>&1); assert_contains "$out" "Read-only file system" "read-only rootfs"
assert_eq "ok" "$(dk run --rm --read-only --tmpfs /scratch busybox sh -c 'touch /scratch/x && echo ok')" "tmpfs on a read-only rootfs"
assert_contains "$(dk run --rm --init busybox ps)" "docker-init" "--init runs tini as pid 1"
assert_eq 67108864 "$(dk run --rm --memory 64m busybox cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" "memory limit"
assert_eq 50 "$(dk run --rm --pids-limit 50 busybox cat /sys/fs/cgroup/pids/pids.max)" "pids limit"
assert_eq "50000 100000" "$(dk run --rm --cpus 0.5 busybox sh -c 'echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)')" "--cpus"
assert_eq 512 "$(dk run --rm --cpu-shares 512 busybox cat /sys/fs/cgroup/cpu/cpu.shares)" "cpu shares"
assert_contains "$(dk run --rm --shm-size 128m busybox df -k /dev/shm)" "131072" "shm-size"
mkdir -p "$T_WORK/bind" && echo bound >"$T_WORK/bind/f"
assert_eq "bound" "$(dk run --rm -v "$T_WORK/bind:/mnt:ro" busybox cat /mnt/f)" "bind mount"
out=$(dk run --rm -v "$T_WORK/bind:/mnt:ro" busybox sh -c 'echo x > /mnt/g' 2>&1); assert_contains "$out" "Read-only file system" "read-only bind"
assert_eq "CapEff:	00000000a80425fb" "$(dk run --rm busybox grep CapEff /proc/self/status)" "default capabilities"
assert_contains "$(dk run --rm --cap-add NET_ADMIN busybox grep CapEff /proc/self/status)" "a80435fb" "cap-add"
assert_eq "Seccomp:	2" "$(dk run --rm busybox grep '^Seccomp:' /proc/self/status)" "seccomp filter on"
assert_eq "Seccomp:	0" "$(dk run --rm --security-opt seccomp=unconfined busybox grep '^Seccomp:' /proc/self/status)" "seccomp unconfined"

# bad config: Docker's 400s, nothing created
before=$(dk ps -aq | wc -l)
out=$(dk run --memory 1m busybox true 2>&1); assert_contains "$out" "Minimum memory limit allowed is 6MB" "memory too small"
out=$(dk create --restart bogus busybox 2>&1); assert_contains "$out" "invalid restart policy" "unknown restart policy"
out=$(dk create --name 'bad name' busybox 2>&1); assert_contains "$out" "Invalid container name" "invalid name"
out=$(dk create -v relative:path busybox 2>&1); assert_contains "$out" "invalid" "bad mount"
api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"Memory":"lots"}}'
assert_eq 400 "$API_STATUS" "wrong type status"
assert_contains "$(jq -r .message <<<"$API_BODY")" "cannot unmarshal string into Go struct field" "wrong type message"
api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"Ulimits":[{"Name":"nofile","Soft":100,"Hard":10}]}}'
assert_eq 400 "$API_STATUS" "absurd ulimits"
api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"nosuchimage"}'
assert_eq "404 No such image: nosuchimage:latest" "$API_STATUS $(jq -r .message <<<"$API_BODY")" "missing image is a 404 the CLI understands"
assert_eq "$before" "$(dk ps -aq | wc -l)" "nothing created by bad configs"

# the lifecycle
id=$(dk run -d --name web --label tier=front busybox sh -c 'trap "exit 0" TERM; while true; do echo tick; sleep 0.2; done')
assert_match "$id" "^[0-9a-f]{64}$" "run -d prints the ID"
assert_eq "/web" "$(dk inspect --format '{{.Name}}' "${id:0:12}")" "short ID lookup"
assert_eq "running" "$(dk inspect --format '{{.State.Status}}' web)" "state running"
assert_contains "$(dk ps --format '{{.Names}} {{.Status}}')" "web Up" "ps lists it"
# rows of GET /containers/json are cached per container: each change must show
dk create --name row1 busybox true >/dev/null
row() { dk ps -a --filter name="$1" --format '{{.Names}} {{.State}} {{.Status}}'; }
assert_eq "row1 created Created" "$(row row1)" "ps row of a created container"
dk rename row1 row2
assert_eq "row2 created Created" "$(row row2)" "ps follows a rename"
dk start -a row2 >/dev/null
ROW2=$(dk inspect -f '{{.Id}}' row2)
assert_match "$(row row2)" "^row2 exited Exited \(0\) .*ago$" "ps follows start and exit"
dk rm row2 >/dev/null
assert_eq "" "$(row row2)" "ps follows a removal"
assert_true "the removed container's directory is gone at once" test ! -e "$T_DATA/containers/$ROW2"
trash_empty() { [ -z "$(find "$T_DATA/trash" "$T_RUN/trash" -mindepth 1 2>/dev/null)" ]; }
assert_true "its files are deleted in the background" wait_for 10 trash_empty
# the init layer: one copy for all containers, the runtime's mount points in place
out=$(dk run --rm busybox sh -c 'ls -a / | grep -c "^.dockerenv$"; readlink /etc/mtab; cat /etc/hostname | wc -c')
assert_eq "1 /proc/mounts 13" "$(echo $out)" "init layer: /.dockerenv, /etc/mtab, /etc/hostname"
cid=$(dk create busybox true)
assert_eq "$T_DATA/init-layer" "$(readlink "$T_DATA/containers/$cid/init")" "containers link the shared init layer"
dk rm "$cid" >/dev/null
sleep 0.6
assert_contains "$(dk logs web)" "tick" "logs"
assert_eq 2 "$(dk logs --tail 2 web | wc -l)" "logs --tail"
assert_match "$(dk logs --timestamps --tail 1 web)" "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z tick$" "logs --timestamps"
assert_eq "" "$(dk logs --since "$(( $(date +%s) + 100 ))" web)" "logs --since the future"
assert_contains "$(dk top web)" "sleep" "top"
assert_contains "$(dk top web -o pid,comm)" "COMMAND" "top with ps args"
stats=$(dk stats --no-stream --format '{{.Name}} {{.PIDs}}' web)
assert_match "$stats" "^web [0-9]+$" "stats --no-stream"
api GET "/containers/web/stats?stream=false"
assert_eq "true" "$(jq '.cpu_stats.cpu_usage.total_usage > 0 and .memory_stats.usage > 0 and .precpu_stats.system_cpu_usage > 0' <<<"$API_BODY")" "stats figures"
dk pause web >/dev/null
assert_contains "$(dk ps --format '{{.Names}} {{.Status}}')" "(Paused)" "paused listed by ps"
out=$(dk exec web true 2>&1); assert_contains "$out" "is paused" "exec into a paused container"
dk unpause web >/dev/null
assert_eq "running" "$(dk inspect --format '{{.State.Status}}' web)" "unpaused"
dk rename web web2
assert_eq "/web2" "$(dk inspect --format '{{.Name}}' "$id")" "rename"
dk update --memory 128m --memory-swap 256m web2 >/dev/null
assert_eq 134217728 "$(dk exec web2 cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" "update --memory live"
assert_eq 134217728 "$(dk inspect --format '{{.HostConfig.Memory}}' web2)" "update recorded"
out=$(dk rm web2 2>&1); rc=$?
assert_eq 1 "$rc" "rm of a running container refused"
assert_contains "$out" 'cannot remove container "web2": container is running: stop the container before removing or force remove' "rm refusal text"
dk stop web2 >/dev/null
assert_eq "exited 0" "$(dk inspect --format '{{.State.Status}} {{.State.ExitCode}}' web2)" "stop runs the TERM trap"
dk start web2 >/dev/null
assert_eq "running" "$(dk inspect --format '{{.State.Status}}' web2)" "start again"
dk restart -t 1 web2 >/dev/null
assert_eq "running" "$(dk inspect --format '{{.State.Status}}' web2)" "restart"
# a PID 1 without TERM handler: stop waits, then kills
dk run -d --name sleeper busybox sleep 1000 >/dev/null
t0=$(date +%s%N); dk stop -t 1 sleeper >/dev/null; dt=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_eq 137 "$(dk inspect --format '{{.State.ExitCode}}' sleeper)" "stop escalates to KILL"
assert_true "stop -t 1 took about a second (${dt}ms)" test "$dt" -ge 900 -a "$dt" -lt 5000
dk start sleeper >/dev/null
dk kill -s USR1 sleeper >/dev/null
dk kill sleeper >/dev/null
assert_eq 137 "$(dk inspect --format '{{.State.ExitCode}}' sleeper)" "kill"
out=$(dk kill sleeper 2>&1); assert_contains "$out" "is not running" "kill of a stopped container"

# cp both ways, confined to the container
echo hello >"$T_WORK/in.txt"
dk cp "$T_WORK/in.txt" web2:/tmp/in.txt
assert_eq hello "$(dk exec web2 cat /tmp/in.txt)" "cp into"
dk cp web2:/etc/passwd "$T_WORK/passwd"
assert_contains "$(cat "$T_WORK/passwd")" "root:x:0:0" "cp out of"
dk exec web2 sh -c 'ln -s / /tmp/escape; ln -s ../../../../etc/shadow /tmp/shadowlink'
dk cp web2:/tmp/escape/etc/hostname "$T_WORK/h" 2>/dev/null
assert_eq "$(dk exec web2 cat /etc/hostname)" "$(cat "$T_WORK/h" 2>/dev/null)" "cp through a planted / link stays inside"
echo evil >"$T_WORK/evil"
dk cp "$T_WORK/evil" web2:/tmp/escape/etc/evil-file >/dev/null 2>&1
assert_true "cp into a planted link does not write the host" test ! -e /etc/evil-file
dk exec web2 mkdir -p /tmp/d
tar -C "$T_WORK" -cf "$T_WORK/dir.tar" in.txt
curl -s -o /dev/null --unix-socket "$T_SOCK" -X PUT --data-binary @"$T_WORK/dir.tar" "http://arca/containers/web2/archive?path=/tmp/d"
assert_eq hello "$(dk exec web2 cat /tmp/d/in.txt)" "PUT archive"
api HEAD "/containers/web2/archive?path=/nope" -I
assert_eq 404 "$API_STATUS" "HEAD archive of a missing path"
hdr=$(curl -sI --unix-socket "$T_SOCK" "http://arca/containers/web2/archive?path=/etc/passwd" | tr -d '\r' | sed -n 's/^X-Docker-Container-Path-Stat: //p')
assert_eq "passwd" "$(echo "$hdr" | base64 -d | jq -r .name)" "path stat header"

# diff, commit, export
out=$(dk diff web2)
assert_contains "$out" "A /tmp/in.txt" "diff shows the added file"
assert_not_contains "$out" "/etc/hostname" "diff hides the managed files"
img=$(dk commit -c 'CMD ["cat","/tmp/in.txt"]' -m "snapshot" web2 committed:v1)
assert_match "$img" "^sha256:" "commit"
assert_eq hello "$(dk run --rm committed:v1)" "committed image runs with the new CMD"
assert_eq snapshot "$(dk image inspect --format '{{.Comment}}' committed:v1)" "commit message"
assert_true "export is a tar of the root" sh -c "$DOCKER_BIN export web2 | tar -t | grep -q '^tmp/in.txt$'"

# ps filters
dk run -d --name f1 --label a=1 busybox sleep 100 >/dev/null
dk run --name f2 --label a=2 busybox sh -c 'exit 7' >/dev/null
dk create --name f3 busybox >/dev/null
names() { dk ps -a --format '{{.Names}}' "$@" | sort | tr '\n' ' '; }
assert_eq "f1 " "$(names --filter label=a=1)" "filter label"
assert_eq "f2 " "$(names --filter exited=7)" "filter exited"
assert_eq "f3 " "$(names --filter status=created)" "filter status"
assert_contains "$(names --filter name=f)" "f1 f2 f3" "filter name"
assert_eq "f1 " "$(names --filter id="$(dk inspect --format '{{.Id}}' f1 | cut -c1-10)")" "filter id prefix"
assert_contains "$(names --filter ancestor=busybox)" "f1" "filter ancestor"
assert_contains "$(names --filter ancestor=committed:v1)" "" "filter ancestor of a derived image"
assert_eq "f3 " "$(names --filter since=f2)" "filter since"
assert_contains "$(names --filter before=f2)" "f1" "filter before"
assert_eq "none" "$(dk ps -a --filter health=none --filter name=f1 --format '{{.Names}}' | sed 's/f1/none/')" "filter health"
out=$(dk ps --filter status=bogus 2>&1); assert_contains "$out" "invalid filter 'status=bogus'" "bad status filter"
out=$(dk ps --filter bogus=1 2>&1); assert_contains "$out" "invalid filter 'bogus'" "unknown filter"
assert_eq 1 "$(dk ps -q --last 1 | wc -l)" "ps --last"

# restart policies and health checks
dk run -d --name onfail --restart on-failure:2 busybox sh -c 'exit 1' >/dev/null
restarts_done() { [ "$(dk inspect --format '{{.RestartCount}} {{.State.Status}}' onfail)" = "2 exited" ]; }
wait_for 15 restarts_done || fail "on-failure:2 restarts: $(dk inspect --format '{{.RestartCount}} {{.State.Status}}' onfail)"
dk run -d --name always --restart always busybox sh -c 'sleep 0.3; exit 0' >/dev/null
restarted() { [ "$(dk inspect --format '{{.RestartCount}}' always)" -ge 2 ]; }
wait_for 15 restarted || fail "always restarts"
dk stop always >/dev/null
assert_eq exited "$(dk inspect --format '{{.State.Status}}' always)" "stop ends an always policy"
dk run -d --name healthy --health-cmd 'test -f /tmp/ok' --health-interval 200ms --health-retries 2 busybox sh -c 'sleep 1; touch /tmp/ok; sleep 100' >/dev/null
is_health() { [ "$(dk inspect --format '{{.State.Health.Status}}' "$1")" = "$2" ]; }
wait_for 10 is_health healthy healthy || fail "health check reaches healthy"
assert_match "$(dk ps --format '{{.Names}} {{.Status}}')" "healthy Up .* \(healthy\)" "ps shows health"
dk run -d --name sick --health-cmd 'false' --health-interval 200ms --health-retries 2 busybox sleep 100 >/dev/null
wait_for 10 is_health sick unhealthy || fail "health check reaches unhealthy"
assert_eq "sick " "$(names --filter health=unhealthy)" "filter health=unhealthy"
evs=$(dk events --since 1m --until "$(( $(date +%s) + 1 ))" --filter container=sick --format '{{.Action}}' | sort -u | tr '\n' ' ')
assert_contains "$evs" "health_status: unhealthy" "health_status event"

# wait conditions and --rm
dk run -d --name waiter busybox sh -c 'sleep 0.5; exit 4' >/dev/null
assert_eq 4 "$(dk wait waiter)" "docker wait"
api POST "/containers/waiter/wait?condition=bogus"
assert_eq 400 "$API_STATUS" "bad wait condition"
dk run -d --rm --name gone busybox sh -c 'sleep 0.3; exit 6' >/dev/null
api POST "/containers/gone/wait?condition=removed"
assert_eq "200 6" "$API_STATUS $(jq .StatusCode <<<"$API_BODY")" "wait removed reports the exit code"
assert_eq "" "$(dk ps -aq --filter name=gone)" "--rm removed it"

# events of the lifecycle
evs=$(dk events --since 2m --until "$(( $(date +%s) + 1 ))" --filter type=container --format '{{.Action}}' | sed 's/:.*//' | sort -u | tr '\n' ' ')
for a in create start die kill stop pause unpause rename update destroy attach exec_create exec_start exec_die restart commit; do
  assert_contains "$evs" "$a" "container event $a"
done
assert_contains "$(dk events --since 2m --until "$(( $(date +%s) + 1 ))" --filter event=die --filter container=f2 --format '{{.Actor.Attributes.exitCode}}')" "7" "die carries exitCode"

# prune and info
dk stop -t 0 f1 healthy sick >/dev/null 2>&1
f2id=$(dk inspect --format '{{.Id}}' f2)
out=$(dk container prune -f --filter label=a=2)
assert_contains "$out" "$f2id" "prune by label"
assert_eq "" "$(dk ps -aq --filter name=f2)" "pruned by label"
dk container prune -f >/dev/null
assert_eq "web2 " "$(names)" "prune removes every stopped container"
info=$(dk info --format '{{.Containers}} {{.ContainersRunning}}')
assert_eq "1 1" "$info" "info counts containers"
dk rm -f web2 >/dev/null

# docker-py as a second client
out=$(DOCKER_HOST="unix://$T_SOCK" /usr/bin/python3 - <<'PY' 2>&1
import docker
c = docker.from_env(version="auto")
out = c.containers.run("busybox", "echo from-python", remove=True)
assert out == b"from-python\n", out
ct = c.containers.run("busybox", "sh -c 'echo a; echo b >&2; exit 3'", detach=True)
assert ct.wait()["StatusCode"] == 3
logs = ct.logs(stdout=True, stderr=True)
assert b"a\n" in logs and b"b\n" in logs, logs
ct.remove()
try:
    c.containers.get(ct.id)
    raise SystemExit("not removed")
except docker.errors.NotFound:
    pass
print("docker-py ok")
PY
)
assert_eq "docker-py ok" "$out" "docker-py run/logs/wait/remove"

t_finish
