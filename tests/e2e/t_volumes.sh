#!/usr/bin/env bash
# Volumes and mounts through the real CLI and the API: named volumes (create, inspect, ls and
# its filters, labels), the local driver's options (tmpfs and bind), anonymous volumes
# (-v /path, image VOLUMEs) kept across restarts, removed by rm -v and --rm, Docker's copy of
# image content into a new empty volume (whiteouts, opaque directories, owners, nocopy),
# bind mounts (-v, --mount, read-only, propagation), tmpfs mounts, --volumes-from, "in use",
# prune before and after API 1.42, PUT as a non-swarm dockerd, events, system df, the docker
# socket bind-mounted into a container; Docker's errors for bad names and options with
# nothing created.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/netlib.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh}"
arcad_start || t_finish
for img in busybox multilayer; do
  dk pull -q "$REGISTRY_ADDR/$img" >/dev/null && dk tag "$REGISTRY_ADDR/$img" "$img"
done
use_netapps netclient || fail "application images"
T0=$(date +%s)
VOLS=$T_DATA/volumes

# ---- create, inspect, list
assert_eq vol1 "$(dk volume create --label a=1 --label b vol1)" "create prints the name"
v=$(dk volume inspect vol1)
assert_eq "vol1 local $VOLS/vol1/_data local" "$(jq -r '.[0] | "\(.Name) \(.Driver) \(.Mountpoint) \(.Scope)"' <<<"$v")" "inspect"
assert_eq '{"a":"1","b":""}' "$(jq -c '.[0].Labels' <<<"$v")" "labels"
assert_match "$(jq -r '.[0].CreatedAt' <<<"$v")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "CreatedAt"
assert_eq vol1 "$(dk volume create vol1)" "create of an existing name gives it back"
ANONV=$(dk volume create)
assert_match "$ANONV" '^[0-9a-f]{64}$' "create without a name: a generated name"
assert_eq '{"com.docker.volume.anonymous":""}' "$(dk volume inspect "$ANONV" | jq -c '.[0].Labels')" "unnamed volumes are anonymous"
vls() { dk volume ls -q "$@" | sort | paste -sd' '; }
assert_eq vol1 "$(vls --filter label=a=1)" "filter label=a=1"
assert_eq vol1 "$(vls --filter label=b)" "filter label"
assert_eq vol1 "$(vls --filter name=vol)" "filter name"
assert_eq "$ANONV vol1" "$(vls --filter dangling=true --filter driver=local)" "filter dangling and driver"
out=$(dk volume ls --filter bogus=1 2>&1); assert_contains "$out" "invalid filter 'bogus'" "bad filter"
api PUT /volumes/vol1 -H 'Content-Type: application/json' -d '{}'
assert_eq "503 volume update only valid for cluster volumes, but swarm is unavailable" "$API_STATUS $(jq -r .message <<<"$API_BODY")" "PUT as a non-swarm dockerd"
api GET /volumes/nosuch
assert_eq "404 get nosuch: no such volume" "$API_STATUS $(jq -r .message <<<"$API_BODY")" "inspect missing"
api DELETE /volumes/nosuch
assert_eq "404 get nosuch: no such volume" "$API_STATUS $(jq -r .message <<<"$API_BODY")" "remove missing"
api DELETE "/volumes/nosuch?force=1"
assert_eq 204 "$API_STATUS" "force remove of a missing volume"

# ---- bad names and options: Docker's errors, nothing created
entries0=$(ls "$VOLS" | wc -l)
ctrs0=$(dk ps -aq | wc -l)
out=$(dk volume create ../evil 2>&1)
assert_contains "$out" '"../evil" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path' "volume name with .."
# (the CLI turns a relative -v source into an absolute bind; the API gets what others send)
api POST /containers/create -H 'Content-Type: application/json' \
  -d '{"Image":"busybox","HostConfig":{"Binds":["../evil:/x"]}}'
assert_eq "400 create ../evil: \"../evil\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path" \
  "$API_STATUS $(jq -r .message <<<"$API_BODY")" "Binds volume name with .."
out=$(dk run --rm --mount type=volume,source=..,target=/x busybox true 2>&1)
assert_contains "$out" 'includes invalid characters for a local volume name' "--mount with .."
out=$(dk volume create x 2>&1); assert_contains "$out" "volume name is too short, names should be at least two alphanumeric characters" "short name"
out=$(dk volume create --opt foo=bar optv 2>&1); assert_contains "$out" 'invalid option: "foo"' "unknown option"
out=$(dk volume create --opt type=tmpfs optv 2>&1); assert_contains "$out" 'missing required option: "device"' "option without device"
assert_eq "$entries0" "$(ls "$VOLS" | wc -l)" "no volume folder made by bad input"
assert_eq "" "$(find "$T_WORK" -name evil)" "nothing named evil anywhere"
assert_eq "$ctrs0" "$(dk ps -aq | wc -l)" "no container made by bad input"

# ---- named volumes shared between containers
dk run --rm -v vol1:/data busybox sh -c 'echo one > /data/f'
assert_eq one "$(dk run --rm -v vol1:/data:ro busybox cat /data/f)" "data kept in the volume"
assert_eq one "$(cat "$VOLS/vol1/_data/f")" "the volume is a host folder"
out=$(dk run --rm -v vol1:/data:ro busybox sh -c 'echo x > /data/g' 2>&1); assert_contains "$out" "Read-only file system" "read-only volume"
assert_eq "" "$(dk run --rm -v vol1:/app --entrypoint ls multilayer /app | grep -v '^f$')" "a volume with content gets no copy"

# ---- image content copied into a new empty volume
assert_eq seed "$(dk run --rm -v seeded:/data --entrypoint cat multilayer /data/seed.txt)" "image VOLUME content copied"
assert_eq "new.txt" "$(dk run --rm -v opq:/app/opaque --entrypoint ls multilayer /app/opaque | paste -sd' ')" "opaque directories respected"
assert_eq "" "$(dk run --rm -v tree:/opt/tree --entrypoint ls multilayer /opt/tree | grep -x b)" "whiteouts respected"
assert_eq "" "$(dk run --rm -v nocp:/app/opaque:nocopy --entrypoint ls multilayer /app/opaque)" "nocopy"
assert_eq "1000:1000 755" "$(dk run --rm -v homev:/home/user busybox stat -c '%u:%g %a' /home/user)" "the volume takes the directory's owner and mode"
assert_eq "1000:1000" "$(dk run --rm --mount type=volume,source=homev2,target=/app --entrypoint stat multilayer -c '%u:%g' /app/owned-by-user.txt)" "owners of copied files"

# ---- anonymous volumes
dk run --name anon1 -v /scratch busybox sh -c 'echo x >> /scratch/y' >/dev/null
m=$(dk inspect anon1 | jq -c '.[0].Mounts[0]')
A1=$(jq -r .Name <<<"$m")
assert_match "$A1" '^[0-9a-f]{64}$' "-v /path: an anonymous volume"
assert_eq "volume /scratch local  true $VOLS/$A1/_data" "$(jq -r '"\(.Type) \(.Destination) \(.Driver) \(.Mode) \(.RW) \(.Source)"' <<<"$m")" "anonymous mount in inspect"
dk start -a anon1 >/dev/null
assert_eq "$A1" "$(dk inspect anon1 | jq -r '.[0].Mounts[0].Name')" "same anonymous volume after a restart"
assert_eq "x|x" "$(paste -sd'|' "$VOLS/$A1/_data/y")" "its data kept across restarts"
dk create --name anon2 multilayer >/dev/null
A2=$(dk inspect anon2 | jq -r '.[0].Mounts[] | select(.Destination == "/data") | .Name')
assert_match "$A2" '^[0-9a-f]{64}$' "image VOLUME: an anonymous volume"
assert_eq "" "$(dk inspect anon2 | jq -r '.[0].Mounts[0].Mode')" "image VOLUME mode"
dk run --name both -v vol1:/a -v /b busybox true
B=$(dk inspect both | jq -r '.[0].Mounts[] | select(.Destination == "/b") | .Name')
dk rm -v anon1 both >/dev/null
assert_eq "" "$(vls | tr ' ' '\n' | grep -x -e "$A1" -e "$B")" "rm -v removes the anonymous volumes"
assert_contains "$(vls)" vol1 "rm -v keeps named volumes"
before=$(vls)
dk run --rm -v /gone busybox true
assert_eq "$before" "$(vls)" "--rm removes its anonymous volume"

# ---- in use
dk create --name holder -v vol1:/data busybox >/dev/null
HOLDER=$(dk inspect -f '{{.Id}}' holder)
out=$(dk volume rm vol1 2>&1); assert_contains "$out" "remove vol1: volume is in use - [$HOLDER]" "in use"
out=$(dk volume rm -f vol1 2>&1); assert_contains "$out" "volume is in use" "force does not remove a volume in use"
assert_eq "vol1" "$(vls --filter dangling=false --filter name=vol1)" "dangling=false"

# ---- volumes-from, binds, tmpfs
mkdir -p "$T_WORK/bind" && echo bound >"$T_WORK/bind/f"
dk run -d --name src -v vfrom:/shared -v "$T_WORK/bind:/hostbind" busybox sh -c 'echo shared > /shared/s; sleep 300' >/dev/null
wait_for 5 test -f "$VOLS/vfrom/_data/s"
assert_eq "shared bound" "$(dk run --rm --volumes-from src busybox sh -c 'cat /shared/s /hostbind/f' | paste -sd' ')" "volumes-from: volumes and binds"
out=$(dk run --rm --volumes-from src:ro busybox sh -c 'echo x > /shared/t' 2>&1); assert_contains "$out" "Read-only file system" "volumes-from :ro"
dk create --name vf --volumes-from src busybox >/dev/null
assert_eq "/hostbind bind|/shared volume vfrom" "$(dk inspect vf | jq -r '.[0].Mounts[] | "\(.Destination) \(.Type) \(.Name // "")"' | sed 's/ $//' | sort | paste -sd'|')" "volumes-from in inspect"
out=$(dk create --volumes-from nosuch busybox 2>&1); assert_contains "$out" "No such container: nosuch" "volumes-from a missing container"
out=$(dk run --rm --mount "type=bind,source=$T_WORK/bind,target=/m,readonly" busybox sh -c 'cat /m/f; echo x > /m/g' 2>&1)
assert_contains "$out" "bound" "--mount bind"
assert_contains "$out" "Read-only file system" "--mount bind readonly"
dk create --name bm --mount "type=bind,source=$T_WORK/bind,target=/m,bind-propagation=rslave" -v "$T_WORK/bind:/n:ro" busybox >/dev/null
assert_eq "/m true rslave|/n false rprivate" "$(dk inspect bm | jq -r '.[0].Mounts[] | "\(.Destination) \(.RW) \(.Propagation)"' | sort | paste -sd'|')" "bind mounts in inspect"
dk run --rm -v "$T_WORK/made/here:/x" busybox true
assert_true "a missing -v source is made" test -d "$T_WORK/made/here"
out=$(dk run --rm --mount "type=bind,source=$T_WORK/missing,target=/x" busybox true 2>&1)
assert_contains "$out" "invalid mount config for type \"bind\": bind source path does not exist: $T_WORK/missing" "--mount of a missing source"
assert_eq "1024 1770" "$(dk run --rm --mount type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770 busybox sh -c 'df -k /t | tail -1 | awk "{print \$2}"; stat -c %a /t' | paste -sd' ')" "--mount tmpfs size and mode"

# ---- the local driver's options
dk volume create --opt type=tmpfs --opt device=tmpfs --opt o=size=4m tmpv >/dev/null
assert_eq '{"device":"tmpfs","o":"size=4m","type":"tmpfs"}' "$(dk volume inspect tmpv | jq -c '.[0].Options')" "options recorded"
dk run -d --name t1 -v tmpv:/t busybox sh -c 'echo shared-tmpfs > /t/f; sleep 300' >/dev/null
dk run -d --name t2 -v tmpv:/t busybox sleep 300 >/dev/null
wait_for 5 dk exec t2 test -f /t/f
assert_eq "shared-tmpfs 4096" "$(dk exec t2 sh -c 'cat /t/f; df -k /t | tail -1 | awk "{print \$2}"' | paste -sd' ')" "one tmpfs shared by its users"
dk rm -f t1 >/dev/null
assert_contains "$(grep " $VOLS/tmpv/_data " /proc/mounts)" tmpfs "mounted while a user runs"
dk rm -f t2 >/dev/null
assert_eq "" "$(grep " $VOLS/tmpv/_data " /proc/mounts)" "unmounted after the last user stops"
mkdir -p "$T_WORK/bsrc"
dk volume create --opt type=none --opt o=bind --opt "device=$T_WORK/bsrc" bindv >/dev/null
dk run --rm -v bindv:/b busybox sh -c 'echo via-bind > /b/f'
assert_eq via-bind "$(cat "$T_WORK/bsrc/f")" "bind option volume writes the host folder"
assert_eq "" "$(grep " $VOLS/bindv/_data " /proc/mounts)" "bind option volume unmounted after use"

# ---- the docker socket inside a container reaches Arca (what Testcontainers' Ryuk needs)
assert_eq OK "$(dk run --rm -v "$T_SOCK:/var/run/docker.sock" netclient curl -s --unix-socket /var/run/docker.sock http://d/_ping)" "socket bind-mounted into a container"

# ---- events, system df, prune
evs=$(dk events --since "$T0" --until "$(($(date +%s) + 1))" --filter type=volume --format '{{.Action}}' | sort -u | paste -sd' ')
for a in create mount unmount destroy; do assert_contains "$evs" "$a" "volume event $a"; done
assert_contains "$(dk events --since "$T0" --until "$(($(date +%s) + 1))" --filter type=volume --filter event=mount --filter volume=vfrom --format '{{.Actor.Attributes.destination}} {{.Actor.Attributes.driver}} {{index .Actor.Attributes "read/write"}}')" \
  "/shared local true" "mount event attributes"
api GET /system/df
assert_eq "2" "$(jq -r '.Volumes[] | select(.Name == "vfrom") | .UsageData.RefCount' <<<"$API_BODY")" "df RefCount (src and its --volumes-from user)"
assert_eq "7" "$(jq -r '.Volumes[] | select(.Name == "vfrom") | .UsageData.Size' <<<"$API_BODY")" "df Size"
assert_contains "$(dk system df)" "Local Volumes" "system df prints volumes"
dk rm -f src vf holder anon2 bm >/dev/null
out=$(dk volume prune -f)
assert_contains "$out" "$A2" "prune removes unused anonymous volumes"
assert_contains "$(vls)" vol1 "prune keeps named volumes (API >= 1.42)"
api POST "/v1.41/volumes/prune"
assert_contains "$(jq -c .VolumesDeleted <<<"$API_BODY")" '"vol1"' "API 1.41 prune removes named volumes too"
assert_contains "$(jq -c .VolumesDeleted <<<"$API_BODY")" '"seeded"' "API 1.41 prune: every unused volume"
assert_contains "$(vls)" tmpv "volumes with options are not pruned"
api POST "/volumes/prune?filters=%7B%22all%22%3A%5B%22maybe%22%5D%7D"
assert_eq 400 "$API_STATUS" "prune all=maybe"
dk volume create late >/dev/null
out=$(dk volume prune -af)
assert_contains "$out" "late" "prune -a removes named volumes"
dk volume rm tmpv bindv >/dev/null
assert_eq "" "$(vls)" "every volume gone"
assert_eq 0 "$(ls "$VOLS" | wc -l)" "volumes folder empty"
assert_eq "" "$(dk events --since "$T0" --until "$(($(date +%s) + 1))" --filter type=volume --filter event=destroy --filter volume=vol1 --format '{{.Action}}' | grep -v destroy)" "destroy events"
t_finish
