#!/usr/bin/env bash
# Images through the real CLI against the loopback registry: pull (one layer, many layers,
# a multi-platform index, by digest), progress, images filters, tag/rmi, push and pull back,
# save/load, import, history, prune, events, Docker's errors; docker-py as a second client.
. "$(dirname "$0")/lib/common.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh (it starts the registry)}"
. "$E2E_DIR/lib/fixtures.sh"
R=$REGISTRY_ADDR
arcad_start || t_finish

bb_id=$(fixtures_image_id "$E2E_CACHE/oci/busybox")

# pull: Docker's messages, the image ID is the config digest, a second pull is up to date
out=$(dk pull "$R/busybox:latest" 2>&1); rc=$?
assert_eq 0 "$rc" "pull exit status"
assert_contains "$out" "latest: Pulling from busybox" "pull: Pulling from"
assert_contains "$out" "Pull complete" "pull: Pull complete"
assert_contains "$out" "Digest: sha256:" "pull: Digest line"
assert_contains "$out" "Status: Downloaded newer image for $R/busybox:latest" "pull: Status line"
assert_eq "$bb_id" "$(dk image inspect --format '{{.Id}}' "$R/busybox")" "image ID is the config digest"
out=$(dk pull "$R/busybox:latest" 2>&1)
assert_contains "$out" "Status: Image is up to date for $R/busybox:latest" "second pull is up to date"
out=$(dk pull "$R/multilayer" 2>&1)
assert_contains "$out" "Already exists" "shared base layer already exists"
assert_eq 5 "$(dk image inspect --format '{{len .RootFS.Layers}}' "$R/multilayer")" "multilayer has 5 layers"
assert_eq "hello from multilayer" "$(dk image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$R/multilayer" | sed -n 's/^GREETING=//p')" "multilayer env"
# the raw stream: JSON lines with progressDetail as dockerd sends
dk rmi "$R/multilayer" >/dev/null
raw=$(curl -s --unix-socket "$T_SOCK" -X POST "http://arca/v1.51/images/create?fromImage=$R/multilayer&tag=latest")
assert_contains "$raw" '{"status":"Pulling from multilayer","id":"latest"}' "raw stream first line"
assert_contains "$raw" '"status":"Already exists","progressDetail":{}' "raw stream layer status shape"
assert_contains "$raw" '"status":"Pull complete","progressDetail":{}' "raw stream pull complete shape"
assert_match "$raw" '"status":"Extracting","progressDetail":\{"current":[0-9]+,"total":[0-9]+\},"progress":"\[=*>? *\] +[0-9.]+[kMG]?B/[0-9.]+[kMG]?B"' "raw stream progress bar"

# multi-platform index: the host's platform by default, another one on request
dk pull "$R/multiarch" >/dev/null 2>&1
assert_eq amd64 "$(dk image inspect --format '{{.Architecture}}' "$R/multiarch")" "index: host platform"
dk pull --platform linux/arm64 "$R/multiarch" >/dev/null 2>&1
assert_eq arm64 "$(dk image inspect --format '{{.Architecture}}' "$R/multiarch")" "index: --platform linux/arm64"
out=$(dk pull --platform linux/s390x "$R/multiarch" 2>&1)
assert_contains "$out" "no matching manifest for linux/s390x in the manifest list entries" "index: missing platform"

# by digest
dig=$(dk image inspect --format '{{index .RepoDigests 0}}' "$R/busybox")
dk rmi "$R/busybox" >/dev/null
out=$(dk pull "$dig" 2>&1); rc=$?
assert_eq 0 "$rc" "pull by digest"
assert_eq "$bb_id" "$(dk image inspect --format '{{.Id}}' "$dig")" "pulled by digest"
assert_eq "" "$(dk images -q "$R/busybox:latest")" "pull by digest makes no tag"
dk pull "$R/busybox" >/dev/null

# errors, as dockerd words them
out=$(dk pull "$R/Busybox" 2>&1)
assert_contains "$out" "invalid reference format: repository name (Busybox) must be lowercase" "uppercase reference"
out=$(dk pull "$R/busybox:nosuchtag" 2>&1); rc=$?
assert_eq 1 "$rc" "unknown tag exit status"
assert_contains "$out" "manifest for $R/busybox:nosuchtag not found: manifest unknown" "unknown tag message"
out=$(dk pull "$R/nosuchrepo" 2>&1)
assert_contains "$out" "not found" "unknown repository"
out=$(dk pull 127.0.0.1:9/busybox 2>&1); rc=$?
assert_eq 1 "$rc" "unreachable registry exit status"
assert_contains "$out" "connection refused" "unreachable registry message"
out=$(dk pull scratch 2>&1)
assert_contains "$out" "'scratch' is a reserved name" "scratch is reserved"
api POST "/images/create?fromImage=a:b:c"
assert_eq 400 "$API_STATUS" "malformed reference is a 400"

# images, filters, tags
dk tag "$R/busybox" mybox:1
dk tag "$R/busybox" mybox:2
out=$(dk images --format '{{.Repository}}:{{.Tag}}' mybox)
assert_eq "$(printf 'mybox:1\nmybox:2')" "$(sort <<<"$out")" "images by repository"
out=$(dk images --filter reference='mybox:1' --format '{{.Tag}}')
assert_eq "1" "$out" "reference filter"
out=$(dk images --filter label=org.arca.fixture=multilayer --format '{{.Repository}}')
assert_eq "$R/multilayer" "$out" "label filter"
out=$(dk images --filter dangling=true -q --no-trunc)
assert_contains "$out" "sha256:" "dangling: the amd64 multiarch image lost its tag"
out=$(dk images --filter since="$R/busybox" --format '{{.Repository}}' | sort -u | tr '\n' ' ')
assert_not_contains "$out" "mybox" "since excludes the image itself"
api GET '/images/json?filters=%7B%22bogus%22%3A%7B%22x%22%3Atrue%7D%7D'
assert_eq "400 invalid filter 'bogus'" "$API_STATUS $(jq -r .message <<<"$API_BODY")" "unknown filter key"
out=$(dk images --digests --format '{{.Digest}}' "$R/busybox")
assert_match "$out" "^sha256:[0-9a-f]{64}$" "images --digests"
api GET '/images/json'
assert_eq "$(dk images -q | sort -u | wc -l)" "$(jq length <<<"$API_BODY")" "list length"
assert_eq "true" "$(jq 'all(.[]; has("Id") and has("RepoTags") and has("RepoDigests") and has("Created") and has("Size") and has("SharedSize") and has("Labels") and has("Containers"))' <<<"$API_BODY")" "summary fields"

# rmi: Docker's untagged/deleted records and conflicts
short=${bb_id:7:12}
out=$(dk rmi "$short" 2>&1); rc=$?
assert_eq 1 "$rc" "rmi by ID with several tags refused"
assert_contains "$out" "conflict: unable to delete $short (must be forced) - image is referenced in multiple repositories" "rmi conflict text"
out=$(dk rmi mybox:2 2>&1)
assert_eq "Untagged: mybox:2" "$out" "rmi one tag"
out=$(dk rmi nosuch:image 2>&1)
assert_contains "$out" "No such image: nosuch:image" "rmi unknown"
api DELETE /images/nosuch
assert_eq "404 No such image: nosuch:latest" "$API_STATUS $(jq -r .message <<<"$API_BODY")" "DELETE unknown image"
dk tag "$R/busybox" mybox:3
out=$(dk rmi -f "$short" 2>&1)
assert_contains "$out" "Untagged: mybox:1" "rmi -f untags all"
assert_contains "$out" "Deleted: $bb_id" "rmi -f deletes"
assert_eq "" "$(dk images -q mybox)" "nothing left of mybox"
dk pull "$R/busybox" >/dev/null

# history and inspect
out=$(dk history --no-trunc --format '{{.CreatedBy}}' "$R/multilayer" | head -1)
assert_contains "$out" 'CMD ["cat" "hello.txt"]' "history newest entry"
assert_eq 13 "$(dk history -q "$R/multilayer" | wc -l)" "history length"
insp=$(dk image inspect "$R/multilayer")
assert_eq "/app" "$(jq -r '.[0].Config.WorkingDir' <<<"$insp")" "inspect WorkingDir"
assert_eq '{"5353/udp":{},"8080/tcp":{}}' "$(jq -c '.[0].Config.ExposedPorts' <<<"$insp")" "inspect ExposedPorts"
assert_eq overlay2 "$(jq -r '.[0].GraphDriver.Name' <<<"$insp")" "inspect GraphDriver"
assert_match "$(jq -r '.[0].Metadata.LastTagTime // ""' <<<"$insp")" "^[0-9]{4}-" "inspect LastTagTime"

# push to the registry and pull back
dk tag "$R/multilayer" "$R/pushed/multi:v1"
out=$(dk push "$R/pushed/multi:v1" 2>&1); rc=$?
assert_eq 0 "$rc" "push exit status"
assert_contains "$out" "The push refers to repository [$R/pushed/multi]" "push first line"
assert_match "$out" "v1: digest: sha256:[0-9a-f]{64} size: [0-9]+" "push digest line"
out=$(dk push "$R/pushed/multi:v1" 2>&1)
assert_contains "$out" "Layer already exists" "second push finds the layers"
ml_id=$(dk image inspect --format '{{.Id}}' "$R/multilayer")
dk rmi "$R/pushed/multi:v1" >/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$R/v2/pushed/multi/manifests/v1")
assert_eq 200 "$code" "pushed manifest served by the registry"
dk rmi "$R/multilayer" >/dev/null
dk pull "$R/pushed/multi:v1" >/dev/null 2>&1
assert_eq "$ml_id" "$(dk image inspect --format '{{.Id}}' "$R/pushed/multi:v1")" "pulled back the same image"
out=$(dk push "$R/never/pushed:x" 2>&1)
assert_contains "$out" "tag does not exist: $R/never/pushed:x" "push unknown tag"

# save and load round trip
dk save -o "$T_WORK/save.tar" "$R/busybox" "$R/pushed/multi:v1"
assert_true "save archive has an OCI layout" tar -tf "$T_WORK/save.tar" oci-layout index.json manifest.json >/dev/null
tags=$(tar -xOf "$T_WORK/save.tar" manifest.json | jq -r '[.[].RepoTags[]] | sort | join(" ")')
assert_eq "$R/busybox:latest $R/pushed/multi:v1" "$tags" "manifest.json RepoTags"
dk rmi "$R/busybox" "$R/pushed/multi:v1" >/dev/null
out=$(dk load -i "$T_WORK/save.tar" 2>&1)
assert_contains "$out" "Loaded image: $R/busybox:latest" "load message"
assert_eq "$bb_id" "$(dk image inspect --format '{{.Id}}' "$R/busybox")" "load keeps the ID"
assert_eq "$ml_id" "$(dk image inspect --format '{{.Id}}' "$R/pushed/multi:v1")" "load keeps the multilayer ID"
# a docker-archive made by skopeo (older layout) and an OCI layout
fixtures_docker_archive "$E2E_CACHE/oci/busybox" "$T_WORK/skopeo.tar" skopeo/box:v1 >/dev/null 2>&1
out=$(dk load -i "$T_WORK/skopeo.tar" 2>&1)
assert_contains "$out" "Loaded image: skopeo/box:v1" "load a skopeo docker-archive"
# bad archives: clear errors, store unchanged
before=$(dk images -a -q --no-trunc | sort | tr '\n' ' ')
head -c 3000 "$T_WORK/save.tar" >"$T_WORK/trunc.tar"
out=$(dk load -i "$T_WORK/trunc.tar" 2>&1); rc=$?
assert_eq 1 "$rc" "truncated archive refused"
assert_contains "$out" "invalid" "truncated archive message"
mkdir -p "$T_WORK/evil" && echo x >"$T_WORK/evil/x"
tar -C "$T_WORK/evil" -cf "$T_WORK/evil.tar" --transform 's|^x$|../../escape|' x
out=$(dk load -i "$T_WORK/evil.tar" 2>&1); rc=$?
assert_eq 1 "$rc" "hostile archive refused"
assert_contains "$out" "leaves the archive" "hostile archive message"
assert_true "nothing written outside" test ! -e "$T_DATA/escape" -a ! -e "$T_DATA/tmp/escape"
head -c 5000 /dev/urandom >"$T_WORK/garbage.tar"
out=$(dk load -i "$T_WORK/garbage.tar" 2>&1); rc=$?
assert_eq 1 "$rc" "garbage archive refused"
assert_eq "$before" "$(dk images -a -q --no-trunc | sort | tr '\n' ' ')" "store unchanged after bad loads"

# import with changes and a message
mkdir -p "$T_WORK/rootfs/etc" && echo imported >"$T_WORK/rootfs/etc/marker"
id=$(tar -C "$T_WORK/rootfs" -cf - . | dk import -c 'CMD ["/bin/true"]' -c 'ENV A=b' -m "my import" - imported:v1)
assert_match "$id" "^sha256:[0-9a-f]{64}$" "import prints the ID"
assert_eq '{"Env":["A=b"],"Cmd":["/bin/true"]}' "$(dk image inspect --format '{{json .Config}}' imported:v1)" "import changes"
assert_eq "my import" "$(dk image inspect --format '{{.Comment}}' imported:v1)" "import message"
out=$(tar -C "$T_WORK/rootfs" -cf - . | dk import -c 'RUN true' - imported:v2 2>&1)
assert_contains "$out" "RUN is not a valid change command" "import refuses RUN"
out=$(head -c 100 /dev/urandom | dk import - garbage:v1 2>&1); rc=$?
assert_eq 1 "$rc" "import of garbage refused"

# events
evs=$(dk events --since 2m --until "$(( $(date +%s) + 1 ))" --filter type=image --format '{{.Action}}' | sort -u | tr '\n' ' ')
for a in pull tag untag delete push save load import; do assert_contains "$evs" "$a" "image event $a"; done

# prune: dangling only by default, everything unused with -a
out=$(dk image prune -f 2>&1)
assert_contains "$out" "Total reclaimed space" "image prune"
assert_eq "" "$(dk images -q --filter dangling=true)" "no dangling images after prune"
out=$(dk image prune -a -f 2>&1)
assert_eq "0" "$(dk images -q | wc -l)" "prune -a removes every unused image"
assert_eq "0" "$(find "$T_DATA/layers" -mindepth 1 -maxdepth 1 | wc -l)" "no layer left after prune -a"

# docker-py as a second client
out=$(DOCKER_HOST="unix://$T_SOCK" /usr/bin/python3 - "$R" <<'PY' 2>&1
import sys, docker
r = sys.argv[1]
c = docker.from_env(version="auto")
img = c.images.pull(r + "/busybox", tag="latest")
assert img.id.startswith("sha256:"), img.id
img.tag("pyclient/box", "t1")
names = [t for i in c.images.list() for t in i.tags]
assert "pyclient/box:t1" in names, names
c.images.remove("pyclient/box:t1")
try:
    c.images.get("pyclient/box:t1")
    raise SystemExit("still there")
except docker.errors.ImageNotFound:
    pass
print("docker-py ok")
PY
)
assert_eq "docker-py ok" "$out" "docker-py pull/tag/list/remove"

t_finish
