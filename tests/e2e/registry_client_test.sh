#!/usr/bin/env bash
# Integration test of the registry client (src/image/registry*.c) against real registries on
# 127.0.0.1: Debian's docker-registry (distribution 2.8) without auth, with htpasswd, and with
# token auth (RS256 JWTs from tests/e2e/lib/registry_token_server.py, the scheme Docker Hub
# uses), plus a misbehaving proxy for retries. Drives tests/manual/registry_cli.c, built
# here against build-asan/libarcacore.a. Not run by run.sh (it needs no arcad).
# Usage: tests/e2e/registry_client_test.sh [build dir, default build-asan]
#   REGISTRY_CLI=<binary> uses a driver built elsewhere (e.g. with -fsanitize=thread).
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-asan}
LIB=$SRC/tests/e2e/lib
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/arca-registry-client.XXXXXX)
PIDS=()
FAILS=0
CHECKS=0

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ "$FAILS" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "work dir kept: $WORK"; fi
}
trap cleanup EXIT

fail() { FAILS=$((FAILS + 1)); printf '    FAIL: %s\n' "$*"; }
pass() { CHECKS=$((CHECKS + 1)); }
assert_eq() { if [ "$1" == "$2" ]; then pass; else fail "$3: expected [$1], got [$2]"; fi; }
assert_contains() { if [[ "$1" == *"$2"* ]]; then pass; else fail "$3: [$2] not in [${1:0:800}]"; fi; }
assert_not_contains() { if [[ "$1" != *"$2"* ]]; then pass; else fail "$3: [$2] found in [${1:0:800}]"; fi; }
section() { printf '  %s\n' "$*"; }

# --- build the driver ----------------------------------------------------------------------
if [ -n "${REGISTRY_CLI:-}" ]; then cp "$REGISTRY_CLI" "$WORK/registry_cli"; else
cmake --build "$BUILD" --target arcacore >/dev/null || { echo "build failed"; exit 1; }
SAN=""
grep -q 'ARCA_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null && SAN="-fsanitize=address,undefined"
# shellcheck disable=SC2046
gcc -std=gnu17 -D_GNU_SOURCE -g $SAN -Wall -Wextra -Werror -Wno-unused-parameter \
  -I"$SRC/src" "$SRC/tests/manual/registry_cli.c" "$BUILD/libarcacore.a" \
  $(pkg-config --libs jansson libmicrohttpd libcurl libarchive sqlite3 libcrypto gnutls) \
  -lpthread -o "$WORK/registry_cli" || { echo "registry_cli build failed"; exit 1; }
fi
export ASAN_OPTIONS=detect_leaks=1:exitcode=66
# run CLI args...: output in OUT, exit code in RC
OUT=""
RC=0
run() { OUT=$("$WORK/registry_cli" "$@" 2>&1); RC=$?; }

# --- services ------------------------------------------------------------------------------
start_registry() { # name [extra yaml] -> sets REG_PORT, REG_ROOT, REG_LOG
  local name=$1 extra=${2:-}
  REG_ROOT=$WORK/$name/storage
  REG_LOG=$WORK/$name/registry.log
  mkdir -p "$REG_ROOT"
  cat >"$WORK/$name/config.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $REG_ROOT
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:0
  secret: arca-test-secret
$extra
EOF
  /usr/bin/docker-registry serve "$WORK/$name/config.yml" >"$REG_LOG" 2>&1 &
  PIDS+=($!)
  REG_PORT=""
  local i
  for i in $(seq 1 100); do
    REG_PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$REG_LOG" | head -1 | sed 's/.*://')
    [ -n "$REG_PORT" ] && return 0
    sleep 0.1
  done
  echo "registry $name did not start:"; cat "$REG_LOG"; exit 1
}

wait_port_file() {
  local i
  for i in $(seq 1 100); do [ -s "$1" ] && { cat "$1"; return 0; }; sleep 0.1; done
  echo "no port in $1" >&2; exit 1
}

sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
size() { stat -c %s "$1"; }

# --- content ---------------------------------------------------------------------------------
C=$WORK/content
mkdir -p "$C"
head -c 100000 /dev/urandom >"$C/small"
head -c 3500000 /dev/urandom >"$C/big"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s","%s"]},"config":{}}' \
  "$(sha "$C/small")" "$(sha "$C/big")" >"$C/config"
SMALL=$(sha "$C/small"); BIG=$(sha "$C/big"); CONFIG=$(sha "$C/config")
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
OCI_INDEX=application/vnd.oci.image.index.v1+json
DOCKER_MANIFEST=application/vnd.docker.distribution.manifest.v2+json
printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}' \
  "$OCI_MANIFEST" "$CONFIG" "$(size "$C/config")" "$SMALL" "$(size "$C/small")" "$BIG" "$(size "$C/big")" >"$C/manifest"
MANIFEST=$(sha "$C/manifest")
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"}}]}' \
  "$OCI_INDEX" "$OCI_MANIFEST" "$MANIFEST" "$(size "$C/manifest")" >"$C/index"
INDEX=$(sha "$C/index")
printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"%s","size":%d}]}' \
  "$DOCKER_MANIFEST" "$CONFIG" "$(size "$C/config")" "$SMALL" "$(size "$C/small")" >"$C/docker-manifest"

push_image() { # domain repo tag [cli options...]
  local d=$1 repo=$2 tag=$3; shift 3
  run "$@" --registry "$d" upload "$repo" "$C/small" "$SMALL" || return 1
  run "$@" --registry "$d" upload "$repo" "$C/big" "$BIG" || return 1
  run "$@" --registry "$d" upload "$repo" "$C/config" "$CONFIG" || return 1
  run "$@" --registry "$d" put-manifest "$repo" "$tag" "$OCI_MANIFEST" "$C/manifest"
}

echo "registry client integration test (work dir $WORK)"

# ===== 1. registry without auth ================================================================
section "plain registry"
start_registry plain
P=127.0.0.1:$REG_PORT
PLAIN_ROOT=$REG_ROOT
PLAIN_LOG=$REG_LOG
PLAIN_PORT=$REG_PORT

run --registry "$P" ping
assert_eq 0 "$RC" "ping"
# loopback is insecure: https is tried first, then plain http is kept
assert_contains "$OUT" "endpoint: http://$P" "ping falls back to http"

run --registry "$P" exists a/one "$SMALL"
assert_eq "exists: no" "$(grep '^exists' <<<"$OUT")" "blob absent before upload"

patches_before=$(grep -c 'http.request.method=PATCH' "$PLAIN_LOG")
run --registry "$P" upload a/one "$C/small" "$SMALL"
assert_eq 0 "$RC" "monolithic upload: $OUT"
assert_contains "$OUT" "uploaded: 100000" "monolithic upload size"
assert_contains "$OUT" "last=100000 total=100000" "upload progress reaches the size"
assert_eq "$patches_before" "$(grep -c 'http.request.method=PATCH' "$PLAIN_LOG")" "monolithic upload sends no PATCH"

run --registry "$P" exists a/one "$SMALL"
assert_eq "exists: yes 100000" "$(grep '^exists' <<<"$OUT")" "blob present after upload"

run --registry "$P" --chunk 1000000 upload a/one "$C/big" "$BIG"
assert_eq 0 "$RC" "chunked upload: $OUT"
assert_contains "$OUT" "last=3500000 total=3500000" "chunked upload progress"
assert_eq $((patches_before + 4)) "$(grep -c 'http.request.method=PATCH' "$PLAIN_LOG")" "3.5 MB in 1 MB chunks: 4 PATCHes"
ARCA_REGISTRY_CHUNK_SIZE=2000000 run --registry "$P" upload a/env "$C/big" "$BIG"
assert_eq 0 "$RC" "chunked upload (env): $OUT"
assert_eq $((patches_before + 6)) "$(grep -c 'http.request.method=PATCH' "$PLAIN_LOG")" "ARCA_REGISTRY_CHUNK_SIZE=2 MB: 2 PATCHes"

run --registry "$P" upload a/one "$C/config" "$CONFIG"
assert_eq 0 "$RC" "config upload"
# a digest that does not match the bytes: the registry refuses it
run --registry "$P" upload a/one "$C/config" "sha256:$(printf '0%.0s' $(seq 64))"
assert_eq 2 "$RC" "upload with a wrong digest fails"
assert_contains "$OUT" "ERROR 500: digest invalid: provided digest did not match uploaded content" "wrong digest text"

run --registry "$P" put-manifest a/one v1 "$OCI_MANIFEST" "$C/manifest"
assert_eq "digest: $MANIFEST" "$(grep '^digest' <<<"$OUT")" "put manifest by tag"
run --registry "$P" put-manifest a/one v2 "$DOCKER_MANIFEST" "$C/docker-manifest"
assert_eq "digest: $(sha "$C/docker-manifest")" "$(grep '^digest' <<<"$OUT")" "put docker v2 manifest"
run --registry "$P" put-manifest a/one multi "$OCI_INDEX" "$C/index"
assert_eq "digest: $INDEX" "$(grep '^digest' <<<"$OUT")" "put index"
run --registry "$P" put-manifest a/one "$MANIFEST" "$OCI_MANIFEST" "$C/manifest"
assert_eq 0 "$RC" "put manifest by digest"
# a manifest naming a blob the repository lacks
sed "s/$CONFIG/sha256:$(printf 'a%.0s' $(seq 64))/" "$C/manifest" >"$C/bad-manifest"
run --registry "$P" put-manifest a/one bad "$OCI_MANIFEST" "$C/bad-manifest"
assert_eq 2 "$RC" "manifest with unknown blob refused"
assert_contains "$OUT" "ERROR 404: manifest blob unknown: blob unknown to registry" "unknown blob text"

run --registry "$P" get-manifest a/one v1 "$WORK/m1"
assert_eq 0 "$RC" "get manifest by tag: $OUT"
assert_contains "$OUT" "media-type: $OCI_MANIFEST" "OCI manifest media type"
assert_contains "$OUT" "digest: $MANIFEST" "manifest digest by tag"
assert_eq "$(sha "$C/manifest")" "$(sha "$WORK/m1")" "manifest body round trip"
run --registry "$P" get-manifest a/one v2 "$WORK/m2"
assert_contains "$OUT" "media-type: $DOCKER_MANIFEST" "docker v2 media type (not schema1: Accept sent)"
# without Accept registry 2.8 converts to schema1 (here it even fails to), the reason we
# always send Accept
no_accept=$(curl -s "http://$P/v2/a/one/manifests/v2" -o /dev/null -w '%{http_code} %{content_type}')
assert_not_contains "$no_accept" "200 $DOCKER_MANIFEST" "registry 2.8 without Accept does not answer schema2"
run --registry "$P" get-manifest a/one multi "$WORK/m3"
assert_contains "$OUT" "media-type: $OCI_INDEX" "index media type"
run --registry "$P" get-manifest a/one "$MANIFEST" "$WORK/m4"
assert_eq 0 "$RC" "get manifest by digest: $OUT"
assert_contains "$OUT" "digest: $MANIFEST" "manifest digest by digest"
run --registry "$P" head-manifest a/one v1
assert_contains "$OUT" "digest: $MANIFEST" "head manifest digest"
assert_contains "$OUT" "size: $(size "$C/manifest")" "head manifest size"
assert_contains "$OUT" "media-type: $OCI_MANIFEST" "head manifest media type"

run --registry "$P" get-manifest a/one nope "$WORK/x"
assert_eq "ERROR 404: manifest for $P/a/one:nope not found: manifest unknown: manifest unknown" "$(tail -1 <<<"$OUT")" "unknown tag (get)"
run --registry "$P" head-manifest a/one nope
assert_eq "ERROR 404: manifest for $P/a/one:nope not found: manifest unknown: manifest unknown" "$(tail -1 <<<"$OUT")" "unknown tag (head)"
run --registry "$P" get-manifest never/pushed latest "$WORK/x"
assert_eq "ERROR 404: manifest for $P/never/pushed:latest not found: manifest unknown: manifest unknown" "$(tail -1 <<<"$OUT")" "unknown repository (registry 2.8 says manifest unknown)"
missing="sha256:$(printf 'b%.0s' $(seq 64))"
run --registry "$P" get-manifest a/one "$missing" "$WORK/x"
assert_eq "ERROR 404: manifest for $P/a/one@$missing not found: manifest unknown: manifest unknown" "$(tail -1 <<<"$OUT")" "unknown digest"

run --registry "$P" tags a/one
assert_contains "$OUT" "tags: 3" "three tags"
assert_contains "$OUT" "tag: multi" "tag list content"

run --registry "$P" fetch-blob a/one "$BIG" 3500000 "$WORK/big.out"
assert_eq 0 "$RC" "fetch blob: $OUT"
assert_eq "$BIG" "$(sha "$WORK/big.out")" "fetched blob content"
assert_contains "$OUT" "last=3500000 total=3500000" "fetch progress reaches the size"
run --registry "$P" fetch-blob a/one "$BIG" 1000 "$WORK/big.short"
assert_eq "ERROR 500: filesystem layer verification failed for digest $BIG" "$(tail -1 <<<"$OUT")" "blob larger than its descriptor"
run --registry "$P" fetch-blob a/one "$missing" -1 "$WORK/x"
assert_eq "ERROR 404: blob unknown: blob unknown to registry" "$(tail -1 <<<"$OUT")" "unknown blob"
mkdir -p "$WORK/conc"
run --registry "$P" fetch-concurrent a/one "$BIG" 3500000 6 "$WORK/conc"
assert_contains "$OUT" "fetched-ok: 6/6" "six threads on one client"
assert_eq "$BIG" "$(sha "$WORK/conc/blob.5")" "concurrent fetch content"

run --registry "$P" mount b/two a/one "$SMALL"
assert_eq "mounted: yes" "$(grep '^mounted' <<<"$OUT")" "cross-repository mount"
run --registry "$P" exists b/two "$SMALL"
assert_eq "exists: yes 100000" "$(grep '^exists' <<<"$OUT")" "mounted blob present"
run --registry "$P" mount b/two a/one "$missing"
assert_eq "mounted: no" "$(grep '^mounted' <<<"$OUT")" "mount of a missing blob opens (and cancels) an upload"
assert_contains "$(grep 'http.request.method=DELETE' "$PLAIN_LOG")" "/v2/b/two/blobs/uploads/" "the opened upload is cancelled"

# corrupt a blob in the registry's storage: same size, one byte changed
data="$PLAIN_ROOT/docker/registry/v2/blobs/sha256/${SMALL:7:2}/${SMALL:7}/data"
printf '\x00\x01\x02\x03' | dd of="$data" bs=1 seek=5000 conv=notrunc status=none
run --registry "$P" fetch-blob a/one "$SMALL" 100000 "$WORK/small.out"
assert_eq "ERROR 500: filesystem layer verification failed for digest $SMALL" "$(tail -1 <<<"$OUT")" "tampered blob"
assert_not_contains "$OUT" "retry:" "a digest mismatch from offset 0 is not retried"

run --registry "127.0.0.1:1" ping
assert_eq "ERROR 500: Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused" "$(tail -1 <<<"$OUT")" "unreachable registry"

# docker.io through a mirror: the mirror is the first endpoint
run --registry "$P" upload library/mirrored "$C/small" "$SMALL"
run --registry docker.io --mirror "http://$P" ping
assert_contains "$OUT" "endpoint: http://$P" "docker.io goes to its mirror first"
run --registry docker.io --mirror "http://$P" get-manifest library/busybox nope "$WORK/x"
assert_eq "ERROR 404: manifest for busybox:nope not found: manifest unknown: manifest unknown" "$(tail -1 <<<"$OUT")" "familiar names for docker.io"

# ===== 2. retries through a misbehaving proxy ============================================
section "retries"
echo "ok 0" >"$WORK/proxy.mode"
$PY "$LIB/registry_flaky_proxy.py" --upstream "$PLAIN_PORT" --port-file "$WORK/proxy.port" \
  --mode-file "$WORK/proxy.mode" --log "$WORK/proxy.log" --cut-bytes 300000 &
PIDS+=($!)
X=127.0.0.1:$(wait_port_file "$WORK/proxy.port")
R=(--registry "$X" --retry-delay-ms 50)

echo "cut 1" >"$WORK/proxy.mode"
run "${R[@]}" fetch-blob a/one "$BIG" 3500000 "$WORK/r1"
assert_eq 0 "$RC" "download resumed after a dropped connection: $OUT"
assert_eq "$BIG" "$(sha "$WORK/r1")" "resumed content"
assert_contains "$OUT" "retry: attempt=1" "retry announced"
assert_contains "$(tail -1 "$WORK/proxy.log")" "range=bytes=300000-" "resumed with Range from the bytes kept"

echo "norange 1" >"$WORK/proxy.mode"
run "${R[@]}" fetch-blob a/one "$BIG" 3500000 "$WORK/r2"
assert_eq 0 "$RC" "download restarted when the server ignores Range: $OUT"
assert_eq "$BIG" "$(sha "$WORK/r2")" "restarted content"
assert_contains "$OUT" "file-size: 3500000" "restart truncated the partial file"

echo "503 2" >"$WORK/proxy.mode"
run "${R[@]}" fetch-blob a/one "$BIG" 3500000 "$WORK/r3"
assert_eq 0 "$RC" "download retried after 503s: $OUT"
assert_contains "$OUT" "retry: attempt=2" "two retries"
assert_eq "$BIG" "$(sha "$WORK/r3")" "content after 503s"

echo "503 9" >"$WORK/proxy.mode"
run "${R[@]}" --attempts 3 fetch-blob a/one "$BIG" 3500000 "$WORK/r4"
assert_eq "ERROR 500: received unexpected HTTP status: 503 Service Unavailable" "$(tail -1 <<<"$OUT")" "gives up after max attempts"
assert_eq 2 "$(grep -c '^retry:' <<<"$OUT")" "three attempts, two retries"

echo "503 1 upload" >"$WORK/proxy.mode"
posts_before=$(grep -c 'http.request.method=POST' "$PLAIN_LOG")
run "${R[@]}" upload r/up "$C/small" "$SMALL"
assert_eq 0 "$RC" "upload retried after a 503: $OUT"
assert_contains "$OUT" "retry: attempt=1" "upload retry announced"
assert_eq $((posts_before + 2)) "$(grep -c 'http.request.method=POST' "$PLAIN_LOG")" "the upload started over"
run --registry "$P" exists r/up "$SMALL"
assert_eq "exists: yes 100000" "$(grep '^exists' <<<"$OUT")" "retried upload landed"
echo "cut 1 upload" >"$WORK/proxy.mode"
run "${R[@]}" --chunk 1000000 upload r/up2 "$C/big" "$BIG"
assert_eq 0 "$RC" "chunked upload retried after a lost answer: $OUT"
assert_contains "$OUT" "retry: attempt=1" "chunked upload retry announced"
run --registry "$P" exists r/up2 "$BIG"
assert_eq "exists: yes 3500000" "$(grep '^exists' <<<"$OUT")" "retried chunked upload landed"

echo "slow 1" >"$WORK/proxy.mode"
run "${R[@]}" fetch-blob a/one "$BIG" 3500000 "$WORK/r5" 200000
assert_eq "ERROR 500: context canceled" "$(tail -1 <<<"$OUT")" "cancel_fd stops a download"
echo "ok 0" >"$WORK/proxy.mode"

# ===== 2b. TLS (self-signed; loopback is insecure, so https is used without verification) ====
section "tls"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/tls.key" -out "$WORK/tls.crt" \
  -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
start_registry tls "  tls:
    certificate: $WORK/tls.crt
    key: $WORK/tls.key"
S=127.0.0.1:$REG_PORT
push_image "$S" s/img v1
assert_eq 0 "$RC" "push over https: $OUT"
assert_contains "$OUT" "endpoint: https://$S" "https kept for an insecure registry that speaks TLS"
run --registry "$S" fetch-blob s/img "$BIG" 3500000 "$WORK/tls.big"
assert_eq "$BIG" "$(sha "$WORK/tls.big")" "blob over https"
run --registry "$S" get-manifest s/img v1 "$WORK/tls.m"
assert_contains "$OUT" "digest: $MANIFEST" "manifest over https"

# ===== 3. htpasswd (Basic) =================================================================
section "basic auth"
htpasswd -Bbn alice s3cret >"$WORK/htpasswd"
start_registry basic "auth:
  htpasswd:
    realm: arca-basic
    path: $WORK/htpasswd"
B=127.0.0.1:$REG_PORT
good=$(printf '{"username":"alice","password":"s3cret","serveraddress":"%s"}' "$B" | base64 -w0 | tr '+/' '-_')
bad=$(printf '{"username":"alice","password":"wrong"}' | base64 -w0 | tr -d '=')

push_image "$B" p/q v1 --auth "$good"
assert_eq 0 "$RC" "push with Basic credentials from X-Registry-Auth: $OUT"
run --registry "$B" --auth "$good" get-manifest p/q v1 "$WORK/b1"
assert_contains "$OUT" "digest: $MANIFEST" "pull with Basic credentials"
run --registry "$B" get-manifest p/q v1 "$WORK/x"
assert_eq "ERROR 500: Get \"http://$B/v2/p/q/manifests/v1\": no basic auth credentials" "$(tail -1 <<<"$OUT")" "no credentials"
run --registry "$B" --auth "$bad" get-manifest p/q v1 "$WORK/x"
assert_eq "ERROR 401: unauthorized: authentication required" "$(tail -1 <<<"$OUT")" "wrong Basic credentials"
run --registry "$B" --auth "$good" login
assert_eq "status: Login Succeeded" "$OUT" "login with Basic"
run --registry "$B" --auth "$bad" login
assert_eq "ERROR 500: login attempt to http://$B/v2/ failed with status: 401 Unauthorized" "$OUT" "login with wrong Basic password"
run --registry "$B" --auth "%%" login
assert_eq "ERROR 400: invalid X-Registry-Auth header: must be a valid base64url-encoded string" "$OUT" "malformed X-Registry-Auth"

# ===== 4. token auth ========================================================================
section "token auth"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/token.key" -out "$WORK/token.crt" \
  -days 2 -subj /CN=arca-token >/dev/null 2>&1
$PY "$LIB/registry_token_server.py" --port-file "$WORK/token.port" --log "$WORK/token.log" \
  --key "$WORK/token.key" --cert "$WORK/token.crt" --user alice:s3cret --user bob:b0b &
PIDS+=($!)
TP=$(wait_port_file "$WORK/token.port")
start_registry token "auth:
  token:
    realm: http://127.0.0.1:$TP/token
    service: arca-test-registry
    issuer: arca-test-issuer
    rootcertbundle: $WORK/token.crt"
T=127.0.0.1:$REG_PORT
TU=(--registry "$T" --user alice --pass s3cret)

push_image "$T" t/img v1 "${TU[@]}"
assert_eq 0 "$RC" "push with a bearer token: $OUT"
assert_contains "$(cat "$WORK/token.log")" "token GET user=alice scope=repository:t/img:pull,push" "push scope"
run "${TU[@]}" get-manifest t/img v1 "$WORK/t1"
assert_contains "$OUT" "digest: $MANIFEST" "pull with a bearer token"
run "${TU[@]}" mount t/other t/img "$SMALL"
assert_eq "mounted: yes" "$(grep '^mounted' <<<"$OUT")" "mount with a token for both repositories"
assert_contains "$(cat "$WORK/token.log")" "scope=repository:t/other:pull,push,repository:t/img:pull" "mount asks for the source's pull scope"

: >"$WORK/token.log"
mkdir -p "$WORK/tconc"
run "${TU[@]}" fetch-concurrent t/img "$BIG" 3500000 5 "$WORK/tconc"
assert_contains "$OUT" "fetched-ok: 5/5" "concurrent fetch with tokens"
assert_eq 1 "$(grep -c 'scope=repository:t/img:pull ' "$WORK/token.log")" "one token fetched for five threads"

run --registry "$T" get-manifest t/img v1 "$WORK/x"
assert_eq "ERROR 404: pull access denied for $T/t/img, repository does not exist or may require 'docker login': denied: requested access to the resource is denied" "$(tail -1 <<<"$OUT")" "anonymous pull of a private image"
run --registry "$T" --user alice --pass nope get-manifest t/img v1 "$WORK/x"
assert_eq "ERROR 500: Get \"http://$T/v2/t/img/manifests/v1\": unauthorized: incorrect username or password" "$(tail -1 <<<"$OUT")" "wrong password at the token server"

run "${TU[@]}" login
assert_contains "$OUT" "status: Login Succeeded" "token login"
IDTOKEN=$(grep '^identity-token:' <<<"$OUT" | cut -d' ' -f2)
assert_contains "$IDTOKEN" "refresh-" "login returns the refresh token as IdentityToken"
assert_contains "$(cat "$WORK/token.log")" "offline=true client_id=docker account=alice" "login asks for offline access"
run --registry "$T" --user alice --pass nope login
assert_eq "ERROR 401: Get \"http://$T/v2/\": unauthorized: incorrect username or password" "$OUT" "token login with a wrong password"

idauth=$(printf '{"identitytoken":"%s"}' "$IDTOKEN" | base64 -w0 | tr '+/' '-_')
run --registry "$T" --auth "$idauth" get-manifest t/img v1 "$WORK/t2"
assert_contains "$OUT" "digest: $MANIFEST" "pull with the identity token (refresh grant)"
assert_contains "$(cat "$WORK/token.log")" "token POST grant=refresh_token scope=repository:t/img:pull client_id=docker known=True" "refresh grant POSTed"
run --registry "$T" --identity-token bogus get-manifest t/img v1 "$WORK/x"
assert_eq "ERROR 500: Get \"http://$T/v2/t/img/manifests/v1\": unauthorized: invalid refresh token" "$(tail -1 <<<"$OUT")" "unknown identity token"

rtoken=$(curl -s -u alice:s3cret "http://127.0.0.1:$TP/token?service=arca-test-registry&scope=repository:t/img:pull" | $PY -c 'import json,sys; print(json.load(sys.stdin)["token"])')
: >"$WORK/token.log"
run --registry "$T" --registry-token "$rtoken" get-manifest t/img v1 "$WORK/t3"
assert_contains "$OUT" "digest: $MANIFEST" "registry token sent as is"
assert_eq "" "$(cat "$WORK/token.log")" "no token request with a registry token"
run --registry "$T" --registry-token garbage get-manifest t/img v1 "$WORK/x"
assert_eq "ERROR 401: unauthorized: authentication required" "$(tail -1 <<<"$OUT")" "invalid registry token"

# ===== 5. fake servers: schema1 and search ==================================================
section "schema1 and search"
F=127.0.0.1:$TP
run --registry "$F" get-manifest old latest "$WORK/x"
assert_eq "ERROR 400: Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of $F/old:latest to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/" "$(tail -1 <<<"$OUT")" "schema1 by media type"
run --registry "$F" get-manifest old-json latest "$WORK/x"
assert_contains "$(tail -1 <<<"$OUT")" "ERROR 400: Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed." "schema1 detected from the body"
run --registry "$F" get-manifest nothing/here latest "$WORK/x"
assert_eq "ERROR 404: repository $F/nothing/here not found: name unknown: repository name not known to registry" "$(tail -1 <<<"$OUT")" "NAME_UNKNOWN"
run --registry "$F" --retry-delay-ms 10 --attempts 2 fetch-blob flaky "sha256:$(printf '1%.0s' $(seq 64))" -1 "$WORK/x"
assert_eq "ERROR 500: received unexpected HTTP status: 500 Internal Server Error" "$(tail -1 <<<"$OUT")" "5xx error text"

hello_digest=sha256:$(printf 'hello, registry\n' | sha256sum | cut -d' ' -f1)
run --registry "$F" fetch-blob moved "$hello_digest" 16 "$WORK/hello"
assert_eq 0 "$RC" "blob behind a redirect: $OUT"
assert_eq "hello, registry" "$(cat "$WORK/hello")" "redirected blob content"

run search "$F/busybox" 1
assert_eq 'results: [{"name":"busybox","description":"the busybox image","star_count":7,"is_official":true,"is_automated":false}]' "$OUT" "search through a v1 index"
assert_contains "$(cat "$WORK/token.log")" "v1 search q=busybox n=1 token=true" "search request"
run search "$F/busybox" 0
assert_contains "$(cat "$WORK/token.log")" "v1 search q=busybox n=25" "default limit 25"
run search "$P/busybox" 10
assert_eq "ERROR 500: unexpected status code 404" "$OUT" "search on a registry without v1"
run search busybox 101
assert_eq "ERROR 400: limit 101 is outside the range of [1, 100]" "$OUT" "search limit"
run search "http://x/busybox" 5
assert_eq "ERROR 400: invalid repository name: repository name (http://x/busybox) should not have a scheme" "$OUT" "search term with a scheme"
run search "127.0.0.1:1/busybox" 5
assert_contains "$OUT" "ERROR 400: invalid registry endpoint \"http://127.0.0.1:1/v1/\". HTTPS attempt: Get \"https://127.0.0.1:1/v1/_ping\": dial tcp 127.0.0.1:1: connect: connection refused. HTTP attempt: Get \"http://127.0.0.1:1/v1/_ping\"" "search on an unreachable index"

echo "registry client: $CHECKS checks passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
