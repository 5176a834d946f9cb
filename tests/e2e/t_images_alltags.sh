#!/usr/bin/env bash
# docker pull -a / POST /images/create?fromImage=NAME without tag: every tag of the repository,
# with dockerd 20.10's stream (per tag "Pulling from" ... "Digest:", one final Status line for
# the bare name, one pull event), its errors (unknown repository, a tag without the host's
# platform), and a repository without tags; a plain `docker pull NAME` still pulls only latest.
. "$(dirname "$0")/lib/common.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh (it starts the registry)}"
. "$E2E_DIR/lib/fixtures.sh"
. "$E2E_DIR/lib/registry.sh"
R=$REGISTRY_ADDR
OCI=$E2E_CACHE/oci
arcad_start || t_finish

bb_id=$(fixtures_image_id "$OCI/busybox")
ml_id=$(fixtures_image_id "$OCI/multilayer")
ma_id=$(fixtures_image_id "$OCI/multiarch" amd64)
bb_dig=$(fixtures_index_digest "$OCI/busybox")
ml_dig=$(fixtures_index_digest "$OCI/multilayer")
ma_dig=$(fixtures_index_digest "$OCI/multiarch")

# Repositories of this file only (the registry is shared by the run's test files).
registry_push_layout "$OCI/busybox" alltags:latest &&
  registry_push_layout "$OCI/busybox" alltags:1.36 &&
  registry_push_layout "$OCI/multilayer" alltags:ml &&
  registry_push_layout "$OCI/multiarch" alltags-mixed:amd &&
  registry_push_layout "$OCI/busybox" alltags-mixed:bb &&
  registry_push_layout "$OCI/multiarch" alltags-arm:tmp &&
  registry_push_layout "$OCI/busybox" alltags-empty:gone || {
  fail "pushing the fixtures"
  t_finish
}
# An index with only the arm64 entry, as another tag of a repository that holds its manifest.
arm_dig=$(fixtures_manifest_digest "$OCI/multiarch" arm64)
arm_index=$(jq -cn --arg d "$arm_dig" --argjson s "$(stat -c %s "$OCI/multiarch/blobs/sha256/${arm_dig#sha256:}")" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
                 platform: {architecture: "arm64", os: "linux", variant: "v8"}}]}')
reg() { curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$@"; }
assert_eq 201 "$(reg -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary "$arm_index" \
  "http://$R/v2/alltags-mixed/manifests/armonly")" "registry: arm-only index in alltags-mixed"
assert_eq 201 "$(reg -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary "$arm_index" \
  "http://$R/v2/alltags-arm/manifests/armonly")" "registry: arm-only index in alltags-arm"
# Deleting a manifest drops the tags on it: alltags-arm keeps only armonly, alltags-empty none.
assert_eq 202 "$(reg -X DELETE "http://$R/v2/alltags-arm/manifests/$ma_dig")" "registry: delete alltags-arm:tmp"
assert_eq 202 "$(reg -X DELETE "http://$R/v2/alltags-empty/manifests/$bb_dig")" "registry: delete alltags-empty:gone"
tags_of() { curl -s --noproxy '*' "http://$R/v2/$1/tags/list" | jq -r '(.tags // [])[]'; }
assert_eq "armonly" "$(tags_of alltags-arm)" "registry: alltags-arm has one tag"
assert_eq "" "$(tags_of alltags-empty)" "registry: alltags-empty has no tag"

# The lines that frame each tag in a raw stream: "<id>: Pulling from ...", "Digest: ...",
# "Status: ..." and errors (layer progress varies with timing and is left out).
frames() {
  jq -r 'if .error then "error: \(.error)"
         elif ((.status // "") | test("^(Pulling from|Digest:|Status:)")) then
           (if .id then "\(.id): \(.status)" else .status end)
         else empty end'
}
digest_of_tag() { case $1 in latest | 1.36 | bb) echo "$bb_dig" ;; ml) echo "$ml_dig" ;; amd) echo "$ma_dig" ;; esac; }
# What dockerd sends for REPO: its tags in the registry's order, then STATUS (or nothing).
expected_frames() { # repo final-line
  local t
  for t in $(tags_of "$1"); do
    printf '%s: Pulling from %s\nDigest: %s\n' "$t" "$1" "$(digest_of_tag "$t")"
  done
  [ -z "$2" ] || printf '%s\n' "$2"
}
create() { curl -s --unix-socket "$T_SOCK" -X POST "http://arca/v1.51/images/create?$1"; }

# ---- a client that goes away stops the pull: no later tag, no Status, no event ----
# First, while nothing is here: a slow proxy in front of the registry keeps the first tag
# downloading (busybox's layer, in both images).
registry_push_layout "$OCI/busybox" alltags-cancel:a && registry_push_layout "$OCI/multilayer" alltags-cancel:b ||
  fail "pushing alltags-cancel"
echo "slow 1000" >"$T_WORK/proxy.mode"
/usr/bin/python3 "$E2E_DIR/lib/registry_flaky_proxy.py" --upstream "${R##*:}" --port-file "$T_WORK/proxy.port" \
  --mode-file "$T_WORK/proxy.mode" --log "$T_WORK/proxy.log" >/dev/null 2>&1 &
proxypid=$!
wait_for 10 test -s "$T_WORK/proxy.port" || fail "slow proxy did not start"
PP=$(cat "$T_WORK/proxy.port")
P=127.0.0.1:$PP
t2=$(date +%s)
curl -sN --unix-socket "$T_SOCK" -X POST "http://arca/images/create?fromImage=$P/alltags-cancel" >"$T_WORK/cancel.log" 2>&1 &
curlpid=$!
downloading() { grep -q '"status":"Downloading","progressDetail":{"current"' "$T_WORK/cancel.log"; }
wait_for 30 downloading || fail "the cancelled pull never downloaded: $(head -c 600 "$T_WORK/cancel.log")"
kill "$curlpid" 2>/dev/null
wait "$curlpid" 2>/dev/null
# the pull is over once arcad holds no connection to the proxy (the client is closed at the end)
proxy_idle() { [ -z "$(ss -Htn state established "dport = :$PP")" ]; }
wait_for 30 proxy_idle || fail "the pull goes on after its client left"
assert_eq 1 "$(grep -c '"status":"Pulling from alltags-cancel"' "$T_WORK/cancel.log")" "cancelled: only the first tag began"
assert_eq "" "$(dk images -q "$P/alltags-cancel")" "cancelled: no tag pulled"
assert_eq "" "$(dk events --since "$t2" --until "$(($(date +%s) + 1))" --filter type=image --filter event=pull \
  --format '{{.Actor.ID}}')" "cancelled: no pull event"
kill "$proxypid" 2>/dev/null
wait "$proxypid" 2>/dev/null

# ---- every tag, through the API with no tag ----
t0=$(date +%s)
raw=$(create "fromImage=$R/alltags")
assert_eq "$(expected_frames alltags "Status: Downloaded newer image for $R/alltags")" \
  "$(frames <<<"$raw")" "all tags: stream frames"
assert_eq 3 "$(grep -c '"status":"Pulling from alltags"' <<<"$raw")" "all tags: one Pulling from per tag"
assert_eq 1 "$(grep -c '"status":"Status: ' <<<"$raw")" "all tags: one Status line"
assert_contains "$raw" '"status":"Pull complete"' "all tags: layers were pulled"
assert_eq "$(printf '%s\n' "1.36 $bb_id" "latest $bb_id" "ml $ml_id")" \
  "$(dk images --no-trunc --format '{{.Tag}} {{.ID}}' "$R/alltags" | sort)" "all tags: every tag with its image ID"
evs=$(dk events --since "$t0" --until "$(($(date +%s) + 1))" --filter type=image --filter event=pull \
  --format '{{.Actor.ID}} {{.Actor.Attributes.name}}')
assert_eq "$R/alltags $R/alltags" "$evs" "all tags: one pull event, for the bare name"

# a second time: the same frames, nothing downloaded, up to date
raw=$(create "fromImage=$R/alltags")
assert_eq "$(expected_frames alltags "Status: Image is up to date for $R/alltags")" \
  "$(frames <<<"$raw")" "all tags again: stream frames"
assert_not_contains "$raw" "Pulling fs layer" "all tags again: no layer pulled"

# the CLI: docker pull -a prints the same and the name last
out=$(dk pull -a "$R/alltags" 2>&1); rc=$?
assert_eq 0 "$rc" "pull -a exit status"
for t in $(tags_of alltags); do
  assert_contains "$out" "$t: Pulling from alltags" "pull -a: $t"
done
assert_eq "$(printf 'Status: Image is up to date for %s\n%s' "$R/alltags" "$R/alltags")" \
  "$(tail -n 2 <<<"$out")" "pull -a: Status line and name last"

# a tag newly pointed at an image already here counts as downloaded, as in dockerd
dk rmi "$R/alltags:1.36" >/dev/null
raw=$(create "fromImage=$R/alltags")
assert_eq "Status: Downloaded newer image for $R/alltags" "$(frames <<<"$raw" | tail -n 1)" "retagged: downloaded"
assert_eq "$bb_id" "$(dk image inspect --format '{{.Id}}' "$R/alltags:1.36")" "retagged: 1.36 is back"

# ---- failures ----
# unknown repository: the registry's answer, before any stream
api POST "/images/create?fromImage=$R/alltags-nosuchrepo"
assert_eq 404 "$API_STATUS" "unknown repository status"
assert_eq "repository $R/alltags-nosuchrepo not found: name unknown: repository name not known to registry" \
  "$(jq -r .message <<<"$API_BODY")" "unknown repository message"
out=$(dk pull -a "$R/alltags-nosuchrepo" 2>&1); rc=$?
assert_eq 1 "$rc" "pull -a unknown repository exit status"
assert_eq "Error response from daemon: repository $R/alltags-nosuchrepo not found: name unknown: repository name not known to registry" \
  "$out" "pull -a unknown repository output"

# no tags at all: nothing to pull, "up to date", exit 0 (dockerd 20.10)
sleep 1 # events are selected by the second: none of the pulls above
t1=$(date +%s)
api POST "/images/create?fromImage=$R/alltags-empty"
assert_eq 200 "$API_STATUS" "no tags: status"
assert_eq "{\"status\":\"Status: Image is up to date for $R/alltags-empty\"}" "$API_BODY" "no tags: the only line"
out=$(dk pull -a "$R/alltags-empty" 2>&1); rc=$?
assert_eq 0 "$rc" "pull -a no tags exit status"
assert_eq "$(printf 'Status: Image is up to date for %s\n%s' "$R/alltags-empty" "$R/alltags-empty")" "$out" "pull -a no tags output"

# a tag without linux/amd64 ends the pull there: its error after its Pulling from, tags before
# it pulled, tags after it not, no Status line, no event
raw=$(create "fromImage=$R/alltags-mixed")
exp=""
seen_arm=0
for t in $(tags_of alltags-mixed); do
  if [ "$t" = armonly ]; then
    exp+="armonly: Pulling from alltags-mixed"$'\n'"error: no matching manifest for linux/amd64 in the manifest list entries"
    seen_arm=1
    break
  fi
  exp+="$t: Pulling from alltags-mixed"$'\n'"Digest: $(digest_of_tag "$t")"$'\n'
done
assert_eq 1 "$seen_arm" "mixed: armonly is listed"
assert_eq "$exp" "$(frames <<<"$raw")" "mixed: stream frames up to the failing tag"
exp_images=""
for t in $(tags_of alltags-mixed); do
  [ "$t" = armonly ] && break
  case $t in amd) exp_images+="amd $ma_id"$'\n' ;; bb) exp_images+="bb $bb_id"$'\n' ;; esac
done
assert_eq "$(printf '%s' "$exp_images" | sort)" \
  "$(dk images --no-trunc --format '{{.Tag}} {{.ID}}' "$R/alltags-mixed" | sort)" "mixed: the tags before the failure"
out=$(dk pull -a "$R/alltags-mixed" 2>&1); rc=$?
assert_eq 1 "$rc" "pull -a mixed exit status"
assert_contains "$out" "armonly: Pulling from alltags-mixed" "pull -a mixed: the failing tag is announced"
assert_eq "no matching manifest for linux/amd64 in the manifest list entries" "$(tail -n 1 <<<"$out")" "pull -a mixed: error last"
assert_not_contains "$out" "Status:" "pull -a mixed: no Status line"

# the first tag failing after its manifest was found: still a 200 stream, as dockerd
api POST "/images/create?fromImage=$R/alltags-arm"
assert_eq 200 "$API_STATUS" "first tag fails: status"
assert_eq "$(printf '%s\n%s' "armonly: Pulling from alltags-arm" \
  "error: no matching manifest for linux/amd64 in the manifest list entries")" \
  "$(frames <<<"$API_BODY")" "first tag fails: stream"

evs=$(dk events --since "$t1" --until "$(($(date +%s) + 1))" --filter type=image --filter event=pull \
  --format '{{.Actor.ID}}' | sort | uniq -c | awk '{print $1, $2}')
assert_eq "2 $R/alltags-empty" "$evs" "events: only the successful pulls of the empty repository"

# ---- without -a: latest only ----
dk rmi "$R/alltags:latest" "$R/alltags:1.36" "$R/alltags:ml" >/dev/null
out=$(dk pull "$R/alltags" 2>&1); rc=$?
assert_eq 0 "$rc" "pull without -a exit status"
assert_contains "$out" "Using default tag: latest" "pull without -a: default tag"
assert_contains "$out" "Status: Downloaded newer image for $R/alltags:latest" "pull without -a: Status for latest"
assert_not_contains "$out" "1.36: Pulling" "pull without -a: no other tag"
assert_eq "latest $bb_id" "$(dk images --no-trunc --format '{{.Tag}} {{.ID}}' "$R/alltags")" "pull without -a: only latest"
# a tag in the API's tag parameter is that tag only
raw=$(create "fromImage=$R/alltags&tag=ml")
assert_eq "$(printf '%s\n%s' "ml: Pulling from alltags" "Digest: $ml_dig")" \
  "$(frames <<<"$raw" | head -n 2)" "tag parameter: that tag only"
assert_eq "Status: Downloaded newer image for $R/alltags:ml" "$(frames <<<"$raw" | tail -n +3)" \
  "tag parameter: Status for that tag"
assert_eq "$(printf '%s\n' "latest $bb_id" "ml $ml_id")" \
  "$(dk images --no-trunc --format '{{.Tag}} {{.ID}}' "$R/alltags" | sort)" "tag parameter: latest and ml"
# one tag: up to date when the tag already points at the image; a tag new to an image that is
# here under another name is "Downloaded newer image" without a layer, as dockerd
out=$(dk pull "$R/alltags:latest" 2>&1)
assert_contains "$out" "Status: Image is up to date for $R/alltags:latest" "one tag again: up to date"
out=$(dk pull "$R/alltags:1.36" 2>&1)
assert_eq "$(printf '%s\n' "1.36: Pulling from alltags" "Digest: $bb_dig" \
  "Status: Downloaded newer image for $R/alltags:1.36" "$R/alltags:1.36")" "$out" "one tag new to a present image"

t_finish
