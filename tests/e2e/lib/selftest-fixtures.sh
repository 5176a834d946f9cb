#!/usr/bin/env bash
# Self-test of fixtures.sh and registry.sh: builds the fixtures into a temporary directory,
# checks the layouts byte by byte and by meaning, serves them from loopback registries and
# checks what the registries answer, then stops them and checks nothing is left.
#   selftest-fixtures.sh [--debian] [--big] [--keep]
# --debian and --big also build (and check and push) the slow fixtures; --keep leaves the
# temporary directory. Needs root (chroot). Prints the wall time of every step.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib/fixtures.sh
. "$here/fixtures.sh"
# shellcheck source=tests/e2e/lib/registry.sh
. "$here/registry.sh"

with_debian=0 with_big=0 keep=0
for arg in "$@"; do
  case "$arg" in
    --debian) with_debian=1 ;;
    --big) with_big=1 ;;
    --keep) keep=1 ;;
    *)
      echo "usage: $0 [--debian] [--big] [--keep]" >&2
      exit 2
      ;;
  esac
done
[ "$(id -u)" = 0 ] || {
  echo "selftest-fixtures: needs root (chroot)" >&2
  exit 1
}

work=$(mktemp -d /tmp/arca-fixtures-selftest.XXXXXX)
started_pids=()
timings=()
ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json'

cleanup() {
  local pid
  for pid in "${started_pids[@]}"; do
    registry_stop "$pid" >/dev/null 2>&1 || true
  done
  if [ "$keep" = 1 ]; then
    echo "kept $work"
  else
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
expect_eq() { # DESCRIPTION GOT WANT
  [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

step() { # NAME FUNCTION [ARGS...]
  local step_name=$1 step_start=$EPOCHREALTIME step_took
  shift
  echo "== $step_name"
  "$@"
  step_took=$(awk -v a="$step_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  echo "   ok ($step_took s)"
  timings+=("$(printf '%8ss  %s' "$step_took" "$step_name")")
}

blob() { printf '%s/blobs/sha256/%s' "$1" "${2#sha256:}"; }

# --- layout checks --------------------------------------------------------------------------

# Checks one descriptor of LAYOUT (recursing into an index) and records what it references.
check_descriptor() {
  local layout=$1 desc=$2 mt digest size file
  mt=$(jq -r .mediaType <<<"$desc")
  digest=$(jq -r .digest <<<"$desc")
  size=$(jq -r .size <<<"$desc")
  file=$(blob "$layout" "$digest")
  [ -f "$file" ] || fail "$layout: $digest missing"
  expect_eq "$layout: size of $digest" "$(stat -c %s "$file")" "$size"
  echo "$digest" >>"$work/referenced"
  expect_eq "$layout: mediaType inside $digest" "$(jq -r .mediaType "$file")" "$mt"
  case "$mt" in
    application/vnd.oci.image.index.v1+json)
      local child
      while read -r child; do
        jq -e '.platform.os == "linux" and (.platform.architecture | length > 0)' \
          <<<"$child" >/dev/null || fail "$layout: index entry without platform: $child"
        check_descriptor "$layout" "$child"
      done < <(jq -c '.manifests[]' "$file")
      ;;
    application/vnd.oci.image.manifest.v1+json)
      check_manifest "$layout" "$file" "$desc"
      ;;
    *) fail "$layout: unexpected mediaType $mt" ;;
  esac
}

check_manifest() {
  local layout=$1 manifest=$2 desc=$3 config cfgfile n i layer diff want
  expect_eq "$layout: schemaVersion" "$(jq -r .schemaVersion "$manifest")" 2
  expect_eq "$layout: config mediaType" "$(jq -r .config.mediaType "$manifest")" \
    application/vnd.oci.image.config.v1+json
  config=$(jq -r .config.digest "$manifest")
  cfgfile=$(blob "$layout" "$config")
  [ -f "$cfgfile" ] || fail "$layout: config $config missing"
  expect_eq "$layout: config size" "$(stat -c %s "$cfgfile")" "$(jq -r .config.size "$manifest")"
  echo "$config" >>"$work/referenced"
  expect_eq "$layout: os" "$(jq -r .os "$cfgfile")" linux
  if jq -e .platform <<<"$desc" >/dev/null; then
    expect_eq "$layout: config architecture vs platform" "$(jq -r .architecture "$cfgfile")" \
      "$(jq -r .platform.architecture <<<"$desc")"
  fi
  n=$(jq '.layers | length' "$manifest")
  [ "$n" -ge 1 ] || fail "$layout: no layers"
  expect_eq "$layout: diff_ids count" "$(jq '.rootfs.diff_ids | length' "$cfgfile")" "$n"
  expect_eq "$layout: non-empty history entries" \
    "$(jq '[.history[] | select(.empty_layer != true)] | length' "$cfgfile")" "$n"
  expect_eq "$layout: created" "$(jq -r .created "$cfgfile")" 2024-01-01T00:00:00Z
  for ((i = 0; i < n; i++)); do
    layer=$(jq -r ".layers[$i].digest" "$manifest")
    [ -f "$(blob "$layout" "$layer")" ] || fail "$layout: layer $layer missing"
    expect_eq "$layout: layer $i mediaType" "$(jq -r ".layers[$i].mediaType" "$manifest")" \
      application/vnd.oci.image.layer.v1.tar+gzip
    expect_eq "$layout: layer $i size" "$(stat -c %s "$(blob "$layout" "$layer")")" \
      "$(jq -r ".layers[$i].size" "$manifest")"
    echo "$layer" >>"$work/referenced"
    diff=sha256:$(gzip -dc "$(blob "$layout" "$layer")" | sha256sum | cut -d' ' -f1)
    want=$(jq -r ".rootfs.diff_ids[$i]" "$cfgfile")
    expect_eq "$layout: diff_id of layer $i" "$diff" "$want"
  done
}

check_layout() {
  local layout=$1 f
  expect_eq "$layout: oci-layout" "$(cat "$layout/oci-layout")" '{"imageLayoutVersion":"1.0.0"}'
  expect_eq "$layout: index mediaType" "$(jq -r .mediaType "$layout/index.json")" \
    application/vnd.oci.image.index.v1+json
  expect_eq "$layout: index entries" "$(jq '.manifests | length' "$layout/index.json")" 1
  expect_eq "$layout: ref name" \
    "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$layout/index.json")" latest
  for f in "$layout"/blobs/sha256/*; do
    expect_eq "$f: content digest" "$(sha256sum "$f" | cut -d' ' -f1)" "$(basename "$f")"
  done
  : >"$work/referenced"
  check_descriptor "$layout" "$(jq -c '.manifests[0]' "$layout/index.json")"
  # Nothing else in the layout: no stray temporary file, no unreferenced blob.
  expect_eq "$layout: files" "$(cd "$layout" && find . -type f | LC_ALL=C sort | tr '\n' ' ')" \
    "$( (
      echo ./index.json
      echo ./oci-layout
      sed 's|^sha256:|./blobs/sha256/|' "$work/referenced"
    ) | LC_ALL=C sort -u | tr '\n' ' ')"
}

# Applies the layers of LAYOUT's image for ARCH onto ROOT, OCI whiteouts included.
apply_image() {
  local layout=$1 root=$2 arch=${3:-amd64} manifest layer entry base dir
  manifest=$(blob "$layout" "$(fixtures_manifest_digest "$layout" "$arch")")
  mkdir -p "$root"
  for layer in $(jq -r '.layers[].digest' "$manifest"); do
    while read -r entry; do
      base=$(basename "$entry")
      dir=$(dirname "$entry")
      case "$base" in
        .wh..wh..opq) find "$root/$dir" -mindepth 1 -delete ;;
        .wh.*) rm -rf "${root:?}/$dir/${base#.wh.}" ;;
      esac
    done < <(tar -tzf "$(blob "$layout" "$layer")" | grep '\.wh\.' || true)
    tar -xzf "$(blob "$layout" "$layer")" -C "$root" --numeric-owner --exclude='.wh.*'
  done
}

# --- steps ----------------------------------------------------------------------------------

build_cold() {
  local name
  fixtures_build "$work/a" 2>"$work/build-a.err" || {
    cat "$work/build-a.err" >&2
    fail "fixtures_build"
  }
  for name in busybox multilayer multiarch; do
    grep -q "building $name" "$work/build-a.err" || fail "no build of $name reported"
    [ -f "$work/a/oci/$name/index.json" ] || fail "$name: no index.json"
  done
}

build_cached() {
  local before after
  before=$(stat -c %i "$work"/a/oci/{busybox,multilayer,multiarch}/index.json)
  fixtures_build "$work/a" 2>"$work/build-a2.err"
  after=$(stat -c %i "$work"/a/oci/{busybox,multilayer,multiarch}/index.json)
  expect_eq "index.json inodes after a cached build" "$after" "$before"
  ! grep -q building "$work/build-a2.err" || fail "cached build rebuilt: $(cat "$work/build-a2.err")"
}

build_input_changed() {
  local id_before inode_before
  id_before=$(fixtures_image_id "$work/a/oci/busybox")
  inode_before=$(stat -c %i "$work/a/oci/busybox/index.json")
  echo stale-inputs >"$work/a/oci/.busybox.inputs"
  fixtures_build "$work/a" 2>"$work/build-a3.err"
  grep -q 'building busybox' "$work/build-a3.err" || fail "changed inputs did not rebuild busybox"
  ! grep -q 'building multilayer' "$work/build-a3.err" || fail "multilayer rebuilt needlessly"
  [ "$(stat -c %i "$work/a/oci/busybox/index.json")" != "$inode_before" ] ||
    fail "busybox layout not replaced"
  expect_eq "busybox image ID after a rebuild" "$(fixtures_image_id "$work/a/oci/busybox")" "$id_before"
}

build_usage_errors() {
  local rc=0
  fixtures_build 2>/dev/null || rc=$?
  expect_eq "fixtures_build without a directory: exit status" "$rc" 2
  rc=0
  bash "$here/fixtures.sh" frobnicate 2>/dev/null || rc=$?
  expect_eq "unknown command: exit status" "$rc" 2
}

build_second_dir() {
  fixtures_build "$work/b" 2>/dev/null
  local name
  for name in busybox multilayer multiarch; do
    expect_eq "$name image ID across builds" "$(fixtures_image_id "$work/b/oci/$name")" \
      "$(fixtures_image_id "$work/a/oci/$name")"
    diff -r "$work/a/oci/$name" "$work/b/oci/$name" >/dev/null ||
      fail "$name: layouts of two builds differ"
  done
  echo "   busybox image ID $(fixtures_image_id "$work/a/oci/busybox")"
}

layouts_valid() {
  local name
  for name in busybox multilayer multiarch; do
    check_layout "$work/a/oci/$name"
  done
}

busybox_content() {
  local layout=$work/a/oci/busybox root=$work/root-busybox cfg
  apply_image "$layout" "$root"
  [ -L "$root/bin/sh" ] || fail "/bin/sh is not a symlink"
  expect_eq "/bin/sh target" "$(readlink "$root/bin/sh")" /bin/busybox
  [ -f "$root/bin/busybox" ] || fail "/bin/busybox missing"
  [ -x "$root/bin/busybox" ] || fail "/bin/busybox not executable"
  expect_eq "applet links" "$(find "$root" -type l -lname /bin/busybox | wc -l)" \
    "$(($(busybox --list-full | wc -l) - 1))"
  expect_eq "/tmp mode" "$(stat -c %a "$root/tmp")" 1777
  expect_eq "/root mode" "$(stat -c %a "$root/root")" 700
  expect_eq "/home/user owner" "$(stat -c %u:%g "$root/home/user")" 1000:1000
  expect_eq "/etc/passwd users" "$(cut -d: -f1,3 "$root/etc/passwd" | tr '\n' ' ')" \
    "root:0 user:1000 nobody:65534 "
  expect_eq "/etc/group groups" "$(cut -d: -f1,3 "$root/etc/group" | tr '\n' ' ')" \
    "root:0 user:1000 nobody:65534 "
  expect_eq "chroot sh" "$(chroot "$root" /bin/sh -c 'echo ok')" ok
  expect_eq "chroot id as user" "$(chroot --userspec=1000:1000 "$root" /bin/sh -c 'id -un')" user
  # Every entry: no "./" prefix, the fixed mtime, owners as numbers.
  local bad
  bad=$(tar -tvzf "$(blob "$layout" "$(jq -r '.layers[0].digest' \
    "$(blob "$layout" "$(fixtures_manifest_digest "$layout")")")")" --numeric-owner |
    awk '$4 != "2024-01-01" || $5 != "00:00" || $6 ~ /^\.\//' | head -n3)
  [ -z "$bad" ] || fail "layer entries not normalised: $bad"
  cfg=$(blob "$layout" "$(fixtures_image_id "$layout")")
  expect_eq "busybox config" "$(jq -c '[.architecture, .os, .config.Env, .config.Cmd]' "$cfg")" \
    '["amd64","linux",["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],["sh"]]'
}

multilayer_content() {
  local layout=$work/a/oci/multilayer root=$work/root-multilayer cfg manifest out
  manifest=$(blob "$layout" "$(fixtures_manifest_digest "$layout")")
  expect_eq "multilayer layers" "$(jq '.layers | length' "$manifest")" 5
  expect_eq "multilayer base layer = busybox layer" "$(jq -r '.layers[0].digest' "$manifest")" \
    "$(jq -r '.layers[0].digest' "$(blob "$work/a/oci/busybox" \
      "$(fixtures_manifest_digest "$work/a/oci/busybox")")")"
  apply_image "$layout" "$root"
  [ ! -e "$root/app/remove-me.txt" ] || fail "whiteout did not remove /app/remove-me.txt"
  [ ! -e "$root/opt/tree/b" ] || fail "whiteout did not remove /opt/tree/b"
  [ -f "$root/opt/tree/a/one.txt" ] || fail "/opt/tree/a/one.txt missing"
  [ -d "$root/opt/tree/c" ] || fail "/opt/tree/c missing"
  expect_eq "opaque dir contents" "$(cd "$root/app/opaque" && find . | LC_ALL=C sort | tr '\n' ' ')" \
    ". ./new.txt "
  expect_eq "replaced file" "$(cat "$root/etc/multilayer-release")" layer=4
  expect_eq "hard link" "$(stat -c %i "$root/app/hardlink.txt")" "$(stat -c %i "$root/app/hello.txt")"
  expect_eq "symlink" "$(readlink "$root/app/symlink.txt")" hello.txt
  expect_eq "secret mode" "$(stat -c %a "$root/app/secret.txt")" 600
  expect_eq "owned file" "$(stat -c %u:%g "$root/app/owned-by-user.txt")" 1000:1000
  out=$(env -i PATH=/bin:/usr/bin:/sbin:/usr/sbin GREETING='hello from multilayer' \
    chroot "$root" /app/entrypoint.sh cat /app/hello.txt)
  expect_eq "entrypoint + cmd" "$out" $'entrypoint: hello from multilayer\nhello from multilayer'
  cfg=$(blob "$layout" "$(fixtures_image_id "$layout")")
  expect_eq "multilayer config" "$(jq -c '.config | [.WorkingDir, .Entrypoint, .Cmd,
      (.ExposedPorts | keys), (.Volumes | keys), .Labels["org.arca.fixture"], (.Env | length)]' "$cfg")" \
    '["/app",["/app/entrypoint.sh"],["cat","hello.txt"],["5353/udp","8080/tcp"],["/data"],"multilayer",3]'
  expect_eq "multilayer history" "$(jq '.history | length' "$cfg")" 13
}

multiarch_content() {
  local layout=$work/a/oci/multiarch index arch manifest last
  index=$(blob "$layout" "$(fixtures_index_digest "$layout")")
  expect_eq "multiarch platforms" \
    "$(jq -c '[.manifests[].platform | [.os, .architecture, .variant]]' "$index")" \
    '[["linux","amd64",null],["linux","arm64","v8"]]'
  for arch in amd64 arm64; do
    manifest=$(blob "$layout" "$(fixtures_manifest_digest "$layout" "$arch")")
    last=$(jq -r '.layers[-1].digest' "$manifest")
    expect_eq "/arch in $arch image" "$(tar -xzOf "$(blob "$layout" "$last")" arch)" "$arch"
    expect_eq "$arch config architecture" \
      "$(jq -r .architecture "$(blob "$layout" "$(fixtures_image_id "$layout" "$arch")")")" "$arch"
  done
  manifest=$(blob "$layout" "$(fixtures_manifest_digest "$layout" amd64)")
  expect_eq "amd64 base = busybox layer" "$(jq -r '.layers[0].digest' "$manifest")" \
    "$(jq -r '.layers[0].digest' "$(blob "$work/a/oci/busybox" \
      "$(fixtures_manifest_digest "$work/a/oci/busybox")")")"
  apply_image "$layout" "$work/root-multiarch" amd64
  expect_eq "amd64 image runs" "$(chroot "$work/root-multiarch" /bin/cat /arch)" amd64
}

docker_archive() {
  local out=$work/busybox-archive.tar layout=$work/a/oci/busybox config
  fixtures_docker_archive "$layout" "$out" selftest/busybox:v1
  tar -xOf "$out" manifest.json >"$work/archive-manifest.json"
  # skopeo writes the normalised name; docker load turns it back into selftest/busybox:v1.
  expect_eq "archive RepoTags" "$(jq -c '.[0].RepoTags' "$work/archive-manifest.json")" \
    '["docker.io/selftest/busybox:v1"]'
  config=$(fixtures_image_id "$layout")
  expect_eq "archive config is the image config" \
    "$(tar -xOf "$out" "$(jq -r '.[0].Config' "$work/archive-manifest.json")" | sha256sum | cut -d' ' -f1)" \
    "${config#sha256:}"
  expect_eq "archive layers" "$(jq '.[0].Layers | length' "$work/archive-manifest.json")" 1
  expect_eq "archive layer is the uncompressed layer" \
    "sha256:$(tar -xOf "$out" "$(jq -r '.[0].Layers[0]' "$work/archive-manifest.json")" |
      sha256sum | cut -d' ' -f1)" \
    "$(jq -r '.rootfs.diff_ids[0]' "$(blob "$layout" "$config")")"
}

registry_up() {
  registry_start "$work/registry"
  started_pids+=("$REGISTRY_PID")
  [[ "$REGISTRY_ADDR" =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "REGISTRY_ADDR=$REGISTRY_ADDR"
  _reg_listens "$REGISTRY_PID" "$REGISTRY_PORT" || fail "registry PID does not own the port"
  ss -Hltn "sport = :$REGISTRY_PORT" | awk '{print $4}' | grep -vq '^127\.0\.0\.1:' &&
    fail "registry listens beyond loopback"
  grep -q 'enabled: true' "$work/registry/config.yml" || fail "delete not enabled"
  echo "   $REGISTRY_ADDR pid $REGISTRY_PID"
}

registry_bad_starts() {
  local rc=0
  (registry_start "$work/registry-busy" --port "$REGISTRY_PORT" 2>/dev/null) || rc=$?
  [ "$rc" != 0 ] || fail "a second registry started on a busy port"
  grep -q 'address already in use' "$work/registry-busy/registry.log" ||
    fail "busy port: $(cat "$work/registry-busy/registry.log")"
  pgrep -f "$work/registry-busy/config.yml" >/dev/null && fail "failed registry still runs"
  rc=0
  (registry_start "$work/registry-nofile" --htpasswd "$work/no-such-file" 2>/dev/null) || rc=$?
  [ "$rc" != 0 ] || fail "registry started without its htpasswd file"
  [ ! -e "$work/registry-nofile/config.yml" ] || fail "config written without htpasswd file"
}

push_fixtures() {
  registry_push_fixtures "$work/a"
}

get() { # URL-PATH [CURL ARGS...]: body to stdout
  local path=$1
  shift
  curl -fsS --noproxy '*' -L -H "Accept: $ACCEPT" "$@" "http://$REGISTRY_ADDR$path"
}

check_blobs_served() {
  local repo=$1 manifest=$2 digest
  for digest in $(jq -r '.config.digest, .layers[].digest' <<<"$manifest"); do
    expect_eq "$repo blob $digest" "sha256:$(get "/v2/$repo/blobs/$digest" | sha256sum | cut -d' ' -f1)" \
      "$digest"
  done
}

registry_content() {
  local headers body digest code
  expect_eq "catalog" "$(get /v2/_catalog | jq -c .repositories)" '["busybox","multiarch","multilayer"]'
  expect_eq "busybox tags" "$(get /v2/busybox/tags/list | jq -c '.tags | sort')" '["1.36","latest"]'
  for ref in busybox:latest busybox:1.36 multilayer:latest; do
    local repo=${ref%%:*} tag=${ref#*:}
    headers=$(get "/v2/$repo/manifests/$tag" -o "$work/m.json" -D -)
    digest=$(fixtures_manifest_digest "$work/a/oci/$repo")
    grep -qi "^docker-content-digest: $digest" <<<"$headers" || fail "$ref: digest header: $headers"
    grep -qi '^content-type: application/vnd.oci.image.manifest.v1+json' <<<"$headers" ||
      fail "$ref: content type: $headers"
    expect_eq "$ref manifest body" "sha256:$(sha256sum <"$work/m.json" | cut -d' ' -f1)" "$digest"
    check_blobs_served "$repo" "$(cat "$work/m.json")"
  done
  # Registry 2.8 without an Accept header does not hand out an OCI manifest.
  code=$(curl -s --noproxy '*' -o "$work/noaccept.json" -w '%{http_code}' \
    "http://$REGISTRY_ADDR/v2/busybox/manifests/latest")
  expect_eq "manifest without Accept: status" "$code" 404
  expect_eq "manifest without Accept: error" "$(jq -r '.errors[0].code' "$work/noaccept.json")" MANIFEST_UNKNOWN
  # The index: both platforms arrive, each child manifest and its blobs are served.
  headers=$(get /v2/multiarch/manifests/latest -o "$work/idx.json" -D -)
  grep -qi '^content-type: application/vnd.oci.image.index.v1+json' <<<"$headers" ||
    fail "multiarch content type: $headers"
  grep -qi "^docker-content-digest: $(fixtures_index_digest "$work/a/oci/multiarch")" <<<"$headers" ||
    fail "multiarch digest: $headers"
  expect_eq "multiarch platforms served" \
    "$(jq -c '[.manifests[].platform.architecture]' "$work/idx.json")" '["amd64","arm64"]'
  for digest in $(jq -r '.manifests[].digest' "$work/idx.json"); do
    body=$(get "/v2/multiarch/manifests/$digest")
    check_blobs_served multiarch "$body"
  done
  body=$(get "/v2/multiarch/blobs/$(fixtures_image_id "$work/a/oci/multiarch" arm64)")
  expect_eq "arm64 config served" "$(jq -r .architecture <<<"$body")" arm64
  # Unknown things are 404 with the distribution error codes.
  code=$(curl -s --noproxy '*' -o "$work/e.json" -w '%{http_code}' -H "Accept: $ACCEPT" \
    "http://$REGISTRY_ADDR/v2/busybox/manifests/nope")
  expect_eq "unknown tag status" "$code" 404
  expect_eq "unknown tag code" "$(jq -r '.errors[0].code' "$work/e.json")" MANIFEST_UNKNOWN
  code=$(curl -s --noproxy '*' -o "$work/e.json" -w '%{http_code}' \
    "http://$REGISTRY_ADDR/v2/busybox/blobs/sha256:$(printf '%064d' 0)")
  expect_eq "unknown blob status" "$code" 404
  expect_eq "unknown blob code" "$(jq -r '.errors[0].code' "$work/e.json")" BLOB_UNKNOWN
}

auth_registry() {
  local main_addr=$REGISTRY_ADDR main_pid=$REGISTRY_PID main_port=$REGISTRY_PORT pid port code rc
  registry_htpasswd "$work/htpasswd" alice 's3cret pass'
  registry_htpasswd "$work/htpasswd" bob other
  expect_eq "htpasswd users" "$(cut -d: -f1 "$work/htpasswd" | tr '\n' ' ')" "alice bob "
  grep -q '^alice:[$]2y[$]' "$work/htpasswd" || fail "htpasswd is not bcrypt"
  registry_start "$work/registry-auth" --htpasswd "$work/htpasswd"
  pid=$REGISTRY_PID port=$REGISTRY_PORT
  started_pids+=("$pid")
  code=$(curl -s --noproxy '*' -o /dev/null -D "$work/auth.h" -w '%{http_code}' "http://$REGISTRY_ADDR/v2/")
  expect_eq "anonymous /v2/" "$code" 401
  grep -qi '^www-authenticate: basic realm="arca-test-registry"' "$work/auth.h" ||
    fail "WWW-Authenticate: $(cat "$work/auth.h")"
  code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -u 'alice:s3cret pass' "http://$REGISTRY_ADDR/v2/")
  expect_eq "/v2/ with credentials" "$code" 200
  code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -u 'alice:wrong' "http://$REGISTRY_ADDR/v2/")
  expect_eq "/v2/ with a wrong password" "$code" 401
  rc=0
  registry_push_layout "$work/a/oci/busybox" private/busybox:latest 2>/dev/null || rc=$?
  [ "$rc" != 0 ] || fail "anonymous push succeeded"
  registry_push_layout "$work/a/oci/busybox" private/busybox:latest --creds 'alice:s3cret pass'
  expect_eq "private manifest" "$(get /v2/private/busybox/manifests/latest -u 'alice:s3cret pass' |
    sha256sum | cut -d' ' -f1)" "$(fixtures_manifest_digest "$work/a/oci/busybox" | cut -d: -f2)"
  registry_stop
  _reg_gone "$pid" || fail "auth registry $pid still runs"
  [ -z "$(ss -Hltn "sport = :$port")" ] || fail "port $port still listened on"
  export REGISTRY_ADDR=$main_addr REGISTRY_PID=$main_pid REGISTRY_PORT=$main_port
}

registry_down() {
  local pid=$REGISTRY_PID port=$REGISTRY_PORT
  registry_stop
  [ ! -e "/proc/$pid" ] || fail "registry $pid still exists"
  [ -z "$(ss -Hltn "sport = :$port")" ] || fail "port $port still listened on"
  [ -z "${REGISTRY_ADDR:-}" ] || fail "REGISTRY_ADDR still set"
  # The port is free again: --port takes it, the stored images are still there.
  registry_start "$work/registry" --port "$port"
  started_pids+=("$REGISTRY_PID")
  expect_eq "restarted on the same port" "$REGISTRY_PORT" "$port"
  expect_eq "tags after restart" "$(get /v2/busybox/tags/list | jq -c '.tags | sort')" '["1.36","latest"]'
  pid=$REGISTRY_PID
  registry_stop
  [ ! -e "/proc/$pid" ] || fail "registry $pid still exists"
  [ -z "$(ss -Hltn "sport = :$port")" ] || fail "port $port still listened on"
}

debian_build() {
  fixtures_build_debian "$work/a"
  check_layout "$work/a/oci/debian"
  apply_image "$work/a/oci/debian" "$work/root-debian"
  expect_eq "debian chroot bash" "$(chroot "$work/root-debian" /bin/bash -c 'echo ok')" ok
  grep -q '^12\.' "$work/root-debian/etc/debian_version" || fail "not bookworm"
  [ -z "$(ls -A "$work/root-debian/dev")" ] || fail "/dev not empty"
  expect_eq "apt lists" "$(find "$work/root-debian/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock)" ""
  expect_eq "/etc/hostname" "$(stat -c '%a %s' "$work/root-debian/etc/hostname")" "644 0"
  expect_eq "/etc/resolv.conf" "$(stat -c '%a %s' "$work/root-debian/etc/resolv.conf")" "644 0"
  expect_eq "file owners kept (/etc/shadow group)" \
    "$(stat -c %g "$work/root-debian/etc/shadow")" "$(chroot "$work/root-debian" getent group shadow | cut -d: -f3)"
  expect_eq "debian Cmd" "$(jq -c .config.Cmd "$(blob "$work/a/oci/debian" \
    "$(fixtures_image_id "$work/a/oci/debian")")")" '["bash"]'
  local before
  before=$(stat -c %i "$work/a/oci/debian/index.json")
  fixtures_build_debian "$work/a" 2>/dev/null
  expect_eq "debian cached" "$(stat -c %i "$work/a/oci/debian/index.json")" "$before"
}

big_build() {
  local manifest total
  fixtures_build_big "$work/a"
  check_layout "$work/a/oci/big"
  manifest=$(blob "$work/a/oci/big" "$(fixtures_manifest_digest "$work/a/oci/big")")
  total=$(jq '[.layers[].size] | add' "$manifest")
  [ "$total" -ge 200000000 ] || fail "big image is only $total bytes"
  [ "$(jq '.layers | length' "$manifest")" -ge 6 ] || fail "big image has too few layers"
  echo "   big: $total bytes compressed"
}

push_slow() {
  registry_start "$work/registry-slow"
  started_pids+=("$REGISTRY_PID")
  [ "$with_debian" = 0 ] || registry_push_layout "$work/a/oci/debian" debian:bookworm
  [ "$with_big" = 0 ] || registry_push_layout "$work/a/oci/big" big:latest
  [ "$with_big" = 0 ] || check_blobs_served big "$(get /v2/big/manifests/latest)"
  registry_stop
}

step "build fixtures (cold)" build_cold
step "build fixtures (cached)" build_cached
step "rebuild after an input change" build_input_changed
step "usage errors" build_usage_errors
step "build fixtures in a second directory, compare" build_second_dir
step "layouts valid" layouts_valid
step "busybox content and chroot" busybox_content
step "multilayer content (whiteouts applied)" multilayer_content
step "multiarch content" multiarch_content
step "docker-archive" docker_archive
step "registry start" registry_up
step "registry refuses bad starts" registry_bad_starts
step "push fixtures" push_fixtures
step "registry serves manifests, index and blobs" registry_content
step "htpasswd registry" auth_registry
step "registry stop" registry_down
[ "$with_debian" = 0 ] || step "debian (debootstrap)" debian_build
[ "$with_big" = 0 ] || step "big" big_build
[ "$with_debian$with_big" = 00 ] || step "push debian/big" push_slow

echo "== timings"
printf '%s\n' "${timings[@]}"
echo "selftest-fixtures: PASS"
