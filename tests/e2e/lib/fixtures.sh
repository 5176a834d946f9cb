#!/usr/bin/env bash
# Image fixtures for the end-to-end tests, made without a Docker daemon and without internet:
# OCI image layouts written by hand (tar, gzip, sha256sum, jq) from Debian packages.
#
# Sourced (bash):
#   fixtures_build CACHE            busybox, multilayer and multiarch under CACHE/oci/
#   fixtures_build_debian CACHE     debian (debootstrap minbase bookworm; slow, only on demand)
#   fixtures_build_big CACHE        big (>= 200 MB in 7 layers; benchmarks only)
#   fixtures_docker_archive LAYOUT OUT.tar REPO:TAG    docker-archive of a one-image layout
#   fixtures_image_id LAYOUT [ARCH]         config digest (= Docker's image ID)
#   fixtures_manifest_digest LAYOUT [ARCH]  digest of the image manifest (ARCH picks from an index)
#   fixtures_index_digest LAYOUT            digest of what index.json points at (the pull digest)
# Run:
#   tests/e2e/lib/fixtures.sh build|build-debian|build-big CACHE
#   tests/e2e/lib/fixtures.sh docker-archive LAYOUT OUT.tar REPO:TAG
#
# A layout is rebuilt only when the hash of its inputs (this script, the package versions, the
# tools' versions) differs from the one stored beside it in CACHE/oci/.NAME.inputs. Builds are
# reproducible (fixed mtimes, sorted entries, numeric owners, gzip -n, compact jq), so image
# IDs and digests are the same on every Debian 12 machine. A lock on CACHE/.lock serialises
# concurrent builders. Builders run in a child bash so that errexit holds whatever the caller's
# context (`if`, `||`) is.

_FX_SELF=$(readlink -f "${BASH_SOURCE[0]}")
# Every timestamp in the synthetic images: 2024-01-01T00:00:00Z.
_FX_EPOCH=1704067200
_FX_CREATED=2024-01-01T00:00:00Z
_FX_PATH=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
_FX_MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
_FX_MT_INDEX=application/vnd.oci.image.index.v1+json
_FX_MT_CONFIG=application/vnd.oci.image.config.v1+json
_FX_MT_LAYER=application/vnd.oci.image.layer.v1.tar+gzip
_FX_DEBIAN_SUITE=bookworm
# The big image: this many data layers of this many bytes each, on top of busybox.
_FX_BIG_LAYERS=6
_FX_BIG_LAYER_BYTES=$((36 * 1024 * 1024))

# ---------------------------------------------------------------------------------------------
# Public functions (usable when sourced)

fixtures_build() { bash "$_FX_SELF" build "$@"; }
fixtures_build_debian() { bash "$_FX_SELF" build-debian "$@"; }
fixtures_build_big() { bash "$_FX_SELF" build-big "$@"; }

fixtures_docker_archive() {
  if [ $# -ne 3 ]; then
    echo "usage: fixtures_docker_archive LAYOUT OUT.tar REPO:TAG" >&2
    return 2
  fi
  # docker-archive refuses to write into an existing file.
  rm -f "$2" || return 1
  skopeo --insecure-policy copy --quiet "oci:$1" "docker-archive:$2:$3"
}

fixtures_index_digest() {
  jq -er '.manifests[0].digest' "$1/index.json"
}

fixtures_manifest_digest() {
  local layout=$1 arch=${2:-amd64} top mt
  top=$(fixtures_index_digest "$layout") || return 1
  mt=$(jq -er '.manifests[0].mediaType' "$layout/index.json") || return 1
  if [ "$mt" = "$_FX_MT_INDEX" ]; then
    jq -er --arg arch "$arch" \
      'first(.manifests[] | select(.platform.architecture == $arch)) | .digest' \
      "$layout/blobs/sha256/${top#sha256:}"
  else
    printf '%s\n' "$top"
  fi
}

fixtures_image_id() {
  local layout=$1 manifest
  manifest=$(fixtures_manifest_digest "$@") || return 1
  jq -er '.config.digest' "$layout/blobs/sha256/${manifest#sha256:}"
}

# ---------------------------------------------------------------------------------------------
# Internals: small helpers

_fx_log() { printf 'fixtures: %s\n' "$*" >&2; }
_fx_die() {
  printf 'fixtures: error: %s\n' "$*" >&2
  exit 1
}

_fx_need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || _fx_die "$tool is missing (run scripts/deps.sh)"
  done
}

_fx_pkg_version() {
  dpkg-query -W -f='${Version}' "$1" 2>/dev/null || _fx_die "Debian package $1 is not installed (run scripts/deps.sh)"
}

_fx_sha256() { sha256sum "$@" | cut -d' ' -f1; }

# Removes a tree that must not cross into a mount (a debootstrap target may hold binds).
_fx_rm() {
  [ -e "$1" ] || return 0
  _fx_umount_under "$1"
  rm -rf --one-file-system "$1"
}

# Unmounts, deepest first, everything mounted at or under DIR.
_fx_umount_under() {
  local dir mnt
  dir=$(readlink -f "$1")
  awk '{print $5}' /proc/self/mountinfo | sort -r | while read -r mnt; do
    case "$mnt" in
      "$dir" | "$dir"/*) umount -l "$mnt" || true ;;
    esac
  done
}

# ---------------------------------------------------------------------------------------------
# Internals: writing an OCI image layout

_fx_layout_init() {
  mkdir -p "$1/blobs/sha256"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$1/oci-layout"
}

# _fx_blob_put LAYOUT FILE: moves FILE into the layout's blobs; prints "sha256:HEX SIZE".
_fx_blob_put() {
  local hex size
  hex=$(_fx_sha256 "$2")
  size=$(stat -c %s "$2")
  chmod 0644 "$2"
  mv -f "$2" "$1/blobs/sha256/$hex"
  printf 'sha256:%s %s\n' "$hex" "$size"
}

# _fx_blob_put_string LAYOUT STRING: stores STRING's exact bytes as a blob.
_fx_blob_put_string() {
  local tmp
  tmp=$(mktemp "$1/.blob.XXXXXX")
  printf '%s' "$2" >"$tmp"
  _fx_blob_put "$1" "$tmp"
}

# _fx_blob_copy SRC_LAYOUT DST_LAYOUT DIGEST
_fx_blob_copy() {
  cp "$1/blobs/sha256/${3#sha256:}" "$2/blobs/sha256/${3#sha256:}"
}

# _fx_layer [--keep-owners] [--xattrs] [--fast] [--own PATH:UID:GID]... LAYOUT DIR
# Tars DIR's contents (names relative to DIR, sorted, no "./" prefix, mtime fixed) into a
# gzip layer blob of LAYOUT. Owners become 0:0 unless --keep-owners; --own gives one entry
# other owners. Prints {"digest","size","diff_id"} as compact JSON.
_fx_layer() {
  local keep_owners=0 xattrs=0 level=6 own=() spec
  while [ $# -gt 2 ]; do
    case "$1" in
      --keep-owners) keep_owners=1 ;;
      --xattrs) xattrs=1 ;;
      --fast) level=1 ;;
      --own)
        own+=("$2")
        shift
        ;;
      *) _fx_die "_fx_layer: unknown option $1" ;;
    esac
    shift
  done
  local layout=$1 dir=$2 tmp list diff_id digest size
  tmp=$(mktemp "$layout/.layer.XXXXXX")
  list="$tmp.list"
  local tar_opts=(--format=posix
    --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime'
    --mtime="@$_FX_EPOCH" --numeric-owner --no-recursion)
  [ "$keep_owners" = 1 ] || tar_opts+=(--owner=0 --group=0)
  [ "$xattrs" = 1 ] && tar_opts+=(--xattrs --xattrs-include=security.capability)

  (cd "$dir" && find . -mindepth 1 -printf '%P\0') | LC_ALL=C sort -z >"$list"
  for spec in "${own[@]}"; do
    # The entries with other owners are appended after the sorted rest.
    grep -zqxF -- "${spec%%:*}" "$list" || _fx_die "_fx_layer: ${spec%%:*} not in $dir"
    grep -zvxF -- "${spec%%:*}" "$list" >"$list.new"
    mv "$list.new" "$list"
  done
  tar -C "$dir" "${tar_opts[@]}" --null -T "$list" -cf "$tmp.tar"
  for spec in "${own[@]}"; do
    local rest=${spec#*:}
    tar -C "$dir" "${tar_opts[@]}" --owner="${rest%%:*}" --group="${rest#*:}" \
      -rf "$tmp.tar" "${spec%%:*}"
  done
  diff_id=sha256:$(_fx_sha256 "$tmp.tar")
  gzip -n "-$level" -c "$tmp.tar" >"$tmp"
  rm -f "$tmp.tar" "$list"
  read -r digest size <<<"$(_fx_blob_put "$layout" "$tmp")"
  jq -cn --arg d "$digest" --argjson s "$size" --arg diff "$diff_id" \
    '{digest: $d, size: $s, diff_id: $diff}'
}

# _fx_image LAYOUT ARCH VARIANT CONFIG HISTORY LAYERS
# CONFIG is the image config's "config" object, HISTORY its history array, LAYERS an array of
# _fx_layer records. Stores config and manifest; prints the manifest's descriptor with platform.
_fx_image() {
  local layout=$1 arch=$2 variant=$3 cfg=$4 hist=$5 layers=$6 json cdig csize mdig msize
  json=$(jq -cjn --arg created "$_FX_CREATED" --arg arch "$arch" --arg variant "$variant" \
    --argjson cfg "$cfg" --argjson hist "$hist" --argjson layers "$layers" '
    {created: $created, architecture: $arch}
    + (if $variant == "" then {} else {variant: $variant} end)
    + {os: "linux", config: $cfg,
       rootfs: {type: "layers", diff_ids: [$layers[].diff_id]}, history: $hist}')
  read -r cdig csize <<<"$(_fx_blob_put_string "$layout" "$json")"
  json=$(jq -cjn --arg cd "$cdig" --argjson cs "$csize" --argjson layers "$layers" \
    --arg mt "$_FX_MT_MANIFEST" --arg ct "$_FX_MT_CONFIG" --arg lt "$_FX_MT_LAYER" '
    {schemaVersion: 2, mediaType: $mt,
     config: {mediaType: $ct, digest: $cd, size: $cs},
     layers: [$layers[] | {mediaType: $lt, digest, size}]}')
  read -r mdig msize <<<"$(_fx_blob_put_string "$layout" "$json")"
  jq -cn --arg mt "$_FX_MT_MANIFEST" --arg d "$mdig" --argjson s "$msize" --arg arch "$arch" \
    --arg variant "$variant" '
    {mediaType: $mt, digest: $d, size: $s,
     platform: ({architecture: $arch, os: "linux"}
                + (if $variant == "" then {} else {variant: $variant} end))}'
}

# _fx_write_index LAYOUT DESCRIPTOR REF: index.json naming one manifest (or index) as REF.
_fx_write_index() {
  jq -cjn --arg mt "$_FX_MT_INDEX" --argjson desc "$2" --arg ref "$3" '
    {schemaVersion: 2, mediaType: $mt,
     manifests: [$desc + {annotations: {"org.opencontainers.image.ref.name": $ref}}]}' \
    >"$1/index.json"
}

# _fx_history CREATED_BY [empty]: one history entry.
_fx_history() {
  jq -cn --arg c "$_FX_CREATED" --arg by "$1" --arg empty "${2:-}" \
    '{created: $c, created_by: $by} + (if $empty == "" then {} else {empty_layer: true} end)'
}

# Reads the busybox layout back: its single layer record.
_fx_busybox_layer() {
  local layout=$1 manifest config
  manifest=$(fixtures_manifest_digest "$layout")
  config=$(jq -r '.config.digest' "$layout/blobs/sha256/${manifest#sha256:}")
  jq -c --slurpfile cfg "$layout/blobs/sha256/${config#sha256:}" \
    '{digest: .layers[0].digest, size: .layers[0].size, diff_id: $cfg[0].rootfs.diff_ids[0]}' \
    "$layout/blobs/sha256/${manifest#sha256:}"
}

# Writes a file with exact content and mode, creating its directory.
_fx_file() {
  mkdir -p "$(dirname "$1")"
  printf '%b' "$3" >"$1"
  chmod "$2" "$1"
}

# ---------------------------------------------------------------------------------------------
# Internals: the images

_fx_busybox_history() {
  jq -cn --argjson a "$(_fx_history "/bin/sh -c #(nop) ADD busybox-static $(_fx_pkg_version busybox-static) in / ")" \
    --argjson b "$(_fx_history '/bin/sh -c #(nop)  CMD ["sh"]' empty)" '[$a, $b]'
}

_fx_stage_busybox() {
  local root=$1 link
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,home/user,tmp,dev,proc,sys,var}
  chmod 0755 "$root"/{bin,sbin,usr,usr/bin,usr/sbin,etc,home,home/user,dev,proc,sys,var}
  chmod 0700 "$root/root"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  chmod 0755 "$root/bin/busybox"
  busybox --list-full | while read -r link; do
    [ "$link" = bin/busybox ] && continue
    mkdir -p "$root/$(dirname "$link")"
    ln -s /bin/busybox "$root/$link"
  done
  [ -L "$root/bin/sh" ] || _fx_die "busybox --list-full gave no bin/sh"
  _fx_file "$root/etc/passwd" 0644 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'
  _fx_file "$root/etc/group" 0644 'root:x:0:\nuser:x:1000:\nnobody:x:65534:\n'
}

_fx_build_busybox() {
  local work=$1 layout=$2 layer desc cfg
  # The dynamic busybox package ships the same path; only the static one runs in any image.
  dpkg-query -L busybox-static | grep -x '/bin/busybox' >/dev/null ||
    _fx_die "/bin/busybox does not come from busybox-static"
  _fx_stage_busybox "$work/busybox"
  layer=$(_fx_layer --own home/user:1000:1000 "$layout" "$work/busybox")
  cfg=$(jq -cn --arg path "$_FX_PATH" '{Env: [$path], Cmd: ["sh"]}')
  desc=$(_fx_image "$layout" amd64 "" "$cfg" "$(_fx_busybox_history)" "[$layer]")
  _fx_write_index "$layout" "$desc" latest
}

_fx_build_multilayer() {
  local work=$1 layout=$2 cache=$3 base l2 l3 l4 l5 s cfg hist desc
  base=$(_fx_busybox_layer "$cache/oci/busybox")
  _fx_blob_copy "$cache/oci/busybox" "$layout" "$(jq -r .digest <<<"$base")"

  # Layer 2: files, a hard link, a symlink, modes and an owner that unpacking must keep.
  s=$work/l2
  _fx_file "$s/app/hello.txt" 0644 'hello from multilayer\n'
  ln "$s/app/hello.txt" "$s/app/hardlink.txt"
  ln -s hello.txt "$s/app/symlink.txt"
  _fx_file "$s/app/remove-me.txt" 0644 'deleted by a later layer\n'
  _fx_file "$s/app/secret.txt" 0600 'secret\n'
  _fx_file "$s/app/owned-by-user.txt" 0644 'owned by 1000:1000\n'
  # shellcheck disable=SC2016 # the script expands them when it runs
  _fx_file "$s/app/entrypoint.sh" 0755 '#!/bin/sh\necho "entrypoint: $GREETING"\nexec "$@"\n'
  _fx_file "$s/etc/multilayer-release" 0644 'layer=2\n'
  chmod 0755 "$s/app" "$s/etc"
  l2=$(_fx_layer --own app/owned-by-user.txt:1000:1000 "$layout" "$s")

  # Layer 3: a directory tree, the contents of the later opaque directory, volume seed data.
  s=$work/l3
  _fx_file "$s/opt/tree/a/one.txt" 0644 'one\n'
  _fx_file "$s/opt/tree/b/two.txt" 0644 'two\n'
  mkdir -p "$s/opt/tree/c"
  _fx_file "$s/app/opaque/old-1.txt" 0644 'old 1\n'
  _fx_file "$s/app/opaque/old-2.txt" 0644 'old 2\n'
  _fx_file "$s/app/opaque/sub/old-3.txt" 0644 'old 3\n'
  _fx_file "$s/data/seed.txt" 0644 'seed\n'
  find "$s" -type d -exec chmod 0755 {} +
  l3=$(_fx_layer "$layout" "$s")

  # Layer 4: whiteouts of a file and of a directory, and a file replaced.
  s=$work/l4
  _fx_file "$s/app/.wh.remove-me.txt" 0644 ''
  _fx_file "$s/opt/tree/.wh.b" 0644 ''
  _fx_file "$s/etc/multilayer-release" 0644 'layer=4\n'
  find "$s" -type d -exec chmod 0755 {} +
  l4=$(_fx_layer "$layout" "$s")

  # Layer 5: an opaque directory: only what this layer puts in app/opaque remains.
  s=$work/l5
  _fx_file "$s/app/opaque/.wh..wh..opq" 0644 ''
  _fx_file "$s/app/opaque/new.txt" 0644 'new\n'
  find "$s" -type d -exec chmod 0755 {} +
  l5=$(_fx_layer "$layout" "$s")

  cfg=$(jq -cn --arg path "$_FX_PATH" '{
    Env: [$path, "GREETING=hello from multilayer", "MULTILAYER=1"],
    Entrypoint: ["/app/entrypoint.sh"],
    Cmd: ["cat", "hello.txt"],
    WorkingDir: "/app",
    ExposedPorts: {"5353/udp": {}, "8080/tcp": {}},
    Volumes: {"/data": {}},
    Labels: {"org.arca.fixture": "multilayer", "org.opencontainers.image.title": "multilayer",
             "com.example.empty": ""}}')
  hist=$(
    {
      _fx_busybox_history | jq -c '.[]'
      _fx_history '/bin/sh -c #(nop)  ENV GREETING=hello from multilayer MULTILAYER=1' empty
      _fx_history '/bin/sh -c #(nop) COPY dir:app in / '
      _fx_history '/bin/sh -c mkdir -p /opt/tree/a /opt/tree/b /opt/tree/c /app/opaque/sub /data'
      _fx_history '/bin/sh -c rm /app/remove-me.txt && rm -r /opt/tree/b'
      _fx_history '/bin/sh -c rm -rf /app/opaque && mkdir /app/opaque && echo new > /app/opaque/new.txt'
      _fx_history '/bin/sh -c #(nop)  LABEL org.arca.fixture=multilayer' empty
      _fx_history '/bin/sh -c #(nop) WORKDIR /app' empty
      _fx_history '/bin/sh -c #(nop)  EXPOSE 5353/udp 8080/tcp' empty
      _fx_history '/bin/sh -c #(nop)  VOLUME [/data]' empty
      _fx_history '/bin/sh -c #(nop)  ENTRYPOINT ["/app/entrypoint.sh"]' empty
      _fx_history '/bin/sh -c #(nop)  CMD ["cat" "hello.txt"]' empty
    } | jq -cs .
  )
  desc=$(_fx_image "$layout" amd64 "" "$cfg" "$hist" "[$base,$l2,$l3,$l4,$l5]")
  _fx_write_index "$layout" "$desc" latest
}

_fx_build_multiarch() {
  local work=$1 layout=$2 cache=$3 base amd arm cfg hist d_amd d_arm json idig isize
  base=$(_fx_busybox_layer "$cache/oci/busybox")
  _fx_blob_copy "$cache/oci/busybox" "$layout" "$(jq -r .digest <<<"$base")"
  _fx_file "$work/amd64/arch" 0644 'amd64\n'
  _fx_file "$work/arm64/arch" 0644 'arm64\n'
  amd=$(_fx_layer "$layout" "$work/amd64")
  arm=$(_fx_layer "$layout" "$work/arm64")
  cfg=$(jq -cn --arg path "$_FX_PATH" '{Env: [$path], Cmd: ["sh"]}')

  hist=$(jq -c --argjson h "$(_fx_history '/bin/sh -c #(nop) ADD file:arch in /arch ')" \
    '. + [$h]' <<<"$(_fx_busybox_history)")
  d_amd=$(_fx_image "$layout" amd64 "" "$cfg" "$hist" "[$base,$amd]")
  # arm64 cannot run here: a marker layer alone is enough to tell which platform was pulled.
  hist=$(jq -cs . <<<"$(_fx_history '/bin/sh -c #(nop) ADD file:arch in /arch ')")
  d_arm=$(_fx_image "$layout" arm64 v8 "$cfg" "$hist" "[$arm]")

  json=$(jq -cjn --arg mt "$_FX_MT_INDEX" --argjson a "$d_amd" --argjson b "$d_arm" \
    '{schemaVersion: 2, mediaType: $mt, manifests: [$a, $b]}')
  read -r idig isize <<<"$(_fx_blob_put_string "$layout" "$json")"
  _fx_write_index "$layout" \
    "$(jq -cn --arg mt "$_FX_MT_INDEX" --arg d "$idig" --argjson s "$isize" \
      '{mediaType: $mt, digest: $d, size: $s}')" latest
}

_fx_build_big() {
  local work=$1 layout=$2 cache=$3 base layers i key iv hist cfg desc
  base=$(_fx_busybox_layer "$cache/oci/busybox")
  _fx_blob_copy "$cache/oci/busybox" "$layout" "$(jq -r .digest <<<"$base")"
  layers=$base
  hist=$(_fx_busybox_history | jq -c '.[]')
  for ((i = 1; i <= _FX_BIG_LAYERS; i++)); do
    # AES-CTR over zeros with a key fixed per layer: incompressible and reproducible.
    key=$(printf 'arca-big-layer-%d' "$i" | _fx_sha256)
    iv=$(printf 'arca-big-iv-%d' "$i" | _fx_sha256 | cut -c1-32)
    mkdir -p "$work/big$i/data"
    head -c "$_FX_BIG_LAYER_BYTES" /dev/zero |
      openssl enc -aes-256-ctr -nosalt -K "$key" -iv "$iv" >"$work/big$i/data/blob-$i.bin"
    chmod 0755 "$work/big$i/data"
    chmod 0644 "$work/big$i/data/blob-$i.bin"
    layers="$layers,$(_fx_layer --fast "$layout" "$work/big$i")"
    rm -rf "$work/big$i"
    hist="$hist"$'\n'"$(_fx_history "/bin/sh -c #(nop) ADD file:blob-$i.bin in /data/ ")"
  done
  cfg=$(jq -cn --arg path "$_FX_PATH" '{Env: [$path], Cmd: ["sh"]}')
  desc=$(_fx_image "$layout" amd64 "" "$cfg" "$(jq -cs . <<<"$hist")" "[$layers]")
  _fx_write_index "$layout" "$desc" latest
}

# The URI of the Debian archive apt uses for SUITE (deb822 first, then sources.list).
_fx_debian_mirror() {
  local uri=""
  if [ -n "${FIXTURES_DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "$FIXTURES_DEBIAN_MIRROR"
    return
  fi
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk -v suite="$_FX_DEBIAN_SUITE" 'BEGIN { RS = "" }
      {
        uri = ""; ok = 0; n = split($0, line, "\n")
        for (i = 1; i <= n; i++) {
          m = split(line[i], w, /[ \t]+/)
          if (w[1] == "URIs:") uri = w[2]
          if (w[1] == "Suites:") for (j = 2; j <= m; j++) if (w[j] == suite) ok = 1
        }
        if (ok && uri != "") { print uri; exit }
      }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(awk -v suite="$_FX_DEBIAN_SUITE" \
      '$1 == "deb" && $3 == suite { print $2; exit }' /etc/apt/sources.list)
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

_fx_build_debian() {
  local work=$1 layout=$2 mirror root layer cfg hist desc
  [ "$(id -u)" = 0 ] || _fx_die "debootstrap needs root"
  mirror=$(_fx_debian_mirror)
  root=$work/rootfs
  mkdir -p "$root"
  _fx_log "debootstrap --variant=minbase $_FX_DEBIAN_SUITE from $mirror"
  if ! debootstrap --variant=minbase "$_FX_DEBIAN_SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
    _fx_umount_under "$root"
    tail -n 30 "$work/debootstrap.log" >&2
    _fx_die "debootstrap failed (log above)"
  fi
  _fx_umount_under "$root"
  # What debootstrap leaves that an image should not carry: package caches and lists, logs,
  # device nodes (the runtime makes /dev), and the host's names and resolver.
  rm -rf --one-file-system "${root:?}"/dev/* "$root"/var/cache/apt/*.bin \
    "$root"/var/cache/apt/archives/*.deb "$root"/var/log/bootstrap.log \
    "$root"/var/lib/dpkg/*-old "$root"/var/cache/debconf/*-old
  find "$root/var/lib/apt/lists" -mindepth 1 -maxdepth 1 -type f ! -name lock -delete
  find "$root/var/log" -type f -name '*.log*' -delete
  rm -f "$root/etc/hostname" "$root/etc/resolv.conf"
  : >"$root/etc/hostname"
  : >"$root/etc/resolv.conf"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  printf 'deb %s %s main\n' "$mirror" "$_FX_DEBIAN_SUITE" >"$root/etc/apt/sources.list"
  layer=$(_fx_layer --keep-owners --xattrs "$layout" "$root")
  _fx_rm "$root"
  cfg=$(jq -cn --arg path "$_FX_PATH" '{Env: [$path], Cmd: ["bash"]}')
  hist=$(jq -cn \
    --argjson a "$(_fx_history "debootstrap --variant=minbase $_FX_DEBIAN_SUITE $mirror")" \
    --argjson b "$(_fx_history '/bin/sh -c #(nop)  CMD ["bash"]' empty)" '[$a, $b]')
  desc=$(_fx_image "$layout" amd64 "" "$cfg" "$hist" "[$layer]")
  _fx_write_index "$layout" "$desc" latest
}

# ---------------------------------------------------------------------------------------------
# Internals: caching

# The hash of what a synthetic image is made from.
_fx_inputs_synthetic() {
  {
    cat "$_FX_SELF"
    _fx_pkg_version busybox-static
    _fx_sha256 /bin/busybox
    tar --version | head -n1
    gzip --version | head -n1
    jq --version
    openssl version
  } | _fx_sha256
}

_fx_inputs_debian() {
  {
    cat "$_FX_SELF"
    echo "$_FX_DEBIAN_SUITE"
    _fx_debian_mirror
    _fx_pkg_version debootstrap
  } | _fx_sha256
}

# _fx_cached CACHE NAME HASH BUILDER: runs "BUILDER WORKDIR LAYOUT CACHE" into a fresh layout
# unless CACHE/oci/NAME was built from HASH; the result replaces the old layout by rename.
_fx_cached() {
  local cache=$1 name=$2 hash=$3 builder=$4
  local dest=$cache/oci/$name stamp=$cache/oci/.$name.inputs
  local tmp=$cache/oci/.$name.tmp work=$cache/work/$name start=$SECONDS
  if [ -f "$dest/index.json" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
    return 0
  fi
  _fx_log "building $name"
  _fx_rm "$tmp"
  _fx_rm "$work"
  mkdir -p "$work"
  _fx_layout_init "$tmp"
  "$builder" "$work" "$tmp" "$cache"
  _fx_rm "$work"
  rm -f "$stamp"
  _fx_rm "$dest"
  mv "$tmp" "$dest"
  printf '%s\n' "$hash" >"$stamp"
  _fx_log "built $name in $((SECONDS - start))s"
}

_fx_lock() {
  mkdir -p "$1/oci" "$1/work"
  exec 9>"$1/.lock"
  flock 9
}

_fx_main() {
  local cmd=${1:-} cache hash
  umask 022
  case "$cmd" in
    build | build-debian | build-big)
      [ $# -eq 2 ] || _fx_usage
      _fx_need tar gzip sha256sum jq flock
      cache=$(mkdir -p "$2" && readlink -f "$2")
      _fx_lock "$cache"
      hash=$(_fx_inputs_synthetic)
      case "$cmd" in
        build)
          _fx_need busybox
          _fx_cached "$cache" busybox "$hash" _fx_build_busybox
          _fx_cached "$cache" multilayer "$hash" _fx_build_multilayer
          _fx_cached "$cache" multiarch "$hash" _fx_build_multiarch
          ;;
        build-big)
          _fx_need busybox openssl
          _fx_cached "$cache" busybox "$hash" _fx_build_busybox
          _fx_cached "$cache" big "$hash" _fx_build_big
          ;;
        build-debian)
          _fx_need debootstrap
          _fx_cached "$cache" debian "$(_fx_inputs_debian)" _fx_build_debian
          ;;
      esac
      ;;
    docker-archive)
      shift
      _fx_need skopeo
      fixtures_docker_archive "$@"
      ;;
    *) _fx_usage ;;
  esac
}

_fx_usage() {
  echo "usage: fixtures.sh build|build-debian|build-big CACHE_DIR" >&2
  echo "       fixtures.sh docker-archive LAYOUT OUT.tar REPO:TAG" >&2
  exit 2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  _fx_main "$@"
fi
