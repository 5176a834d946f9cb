#!/usr/bin/env bash
# docker build options and the POST /build API beyond the repertoire: -q and --iidfile, the
# raw JSON lines, compressed and remote contexts, ADD <url>, hostile tars, squash and
# BuildKit refusals, RUN's resources (memory, network, hosts, shm), --platform, rm and
# force-rm, concurrent builds, and a store left unchanged by bad input.
. "$(dirname "$0")/lib/common.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh (it starts the registry)}"
R=$REGISTRY_ADDR
arcad_start || t_finish
dk pull -q "$R/busybox" >/dev/null && dk tag "$R/busybox" busybox

CTX=$T_WORK/ctx
mkdir -p "$CTX"
printf 'FROM busybox\nRUN echo hi > /hi.txt\nCMD ["cat", "/hi.txt"]\n' >"$CTX/Dockerfile"

# -q prints only the image ID; --iidfile writes it
out=$(dk build -q -t opts/quiet "$CTX" 2>/dev/null)
assert_match "$out" '^sha256:[0-9a-f]{64}$' "-q prints the image ID"
assert_eq "$out" "$(dk image inspect -f '{{.Id}}' opts/quiet)" "-q ID is the tagged image"
dk build --iidfile "$T_WORK/iid" -t opts/iid "$CTX" >/dev/null 2>&1
assert_eq "$(dk image inspect -f '{{.Id}}' opts/iid)" "$(cat "$T_WORK/iid")" "--iidfile holds the image ID"

# the raw stream: Docker's JSON lines, the aux message, errors with the RUN's exit code
raw=$(tar -C "$CTX" -c . | curl -s --unix-socket "$T_SOCK" -X POST -H 'Content-Type: application/x-tar' \
  --data-binary @- "http://arca/v1.51/build?t=opts/raw&t=opts/raw:two")
assert_contains "$raw" '{"stream":"Step 1/3 : FROM busybox"}
{"stream":"\n"}
{"stream":" ---\u003e 7e17bb43daf4\n"}' "raw stream: steps and IDs as dockerd writes them"
assert_match "$raw" '\{"aux":\{"ID":"sha256:[0-9a-f]{64}"\}\}' "raw stream: aux ID"
assert_contains "$raw" '{"stream":"Successfully tagged opts/raw:latest\n"}' "raw stream: first tag"
assert_contains "$raw" '{"stream":"Successfully tagged opts/raw:two\n"}' "raw stream: second tag"
printf 'FROM busybox\nRUN echo oops >&2; exit 7\n' >"$T_WORK/Dockerfile.fail"
raw=$(tar -C "$T_WORK" -c Dockerfile.fail | curl -s --unix-socket "$T_SOCK" -X POST --data-binary @- \
  "http://arca/v1.51/build?dockerfile=Dockerfile.fail&forcerm=1")
assert_contains "$raw" '{"stream":"\u001b[91moops\n\u001b[0m"}' "raw stream: stderr in red"
assert_contains "$raw" '{"errorDetail":{"code":7,"message":"The command '"'"'/bin/sh -c echo oops \u003e\u00262; exit 7'"'"' returned a non-zero code: 7"},"error":"The command' "raw stream: errorDetail with the code"
assert_eq "" "$(dk ps -aq)" "force-rm removes the failed RUN's container"
out=$(dk build -q -f "$T_WORK/Dockerfile.fail" "$T_WORK" 2>&1); rc=$?
assert_eq 7 "$rc" "docker build exits with the RUN's code"
assert_contains "$out" "oops" "-q shows the output of a failing build"
dk ps -aq | xargs -r "$DOCKER_BIN" rm -f >/dev/null

# compressed contexts and the dockerfile parameter
for z in z j J; do
  api POST "/v1.51/build?q=1" --data-binary @<(tar -C "$CTX" -c${z}f - .)
  assert_eq 200 "$API_STATUS" "tar -$z context: status"
  assert_match "$API_BODY" '"stream":"sha256:[0-9a-f]{64}\\n"' "tar -$z context: quiet build"
done
api POST "/v1.51/build?dockerfile=nosuch" --data-binary @<(tar -C "$CTX" -c .)
assert_eq 400 "$API_STATUS" "missing dockerfile: status"
assert_contains "$API_BODY" "Cannot locate specified Dockerfile: nosuch" "missing dockerfile: message"

# hostile tars: nothing is built, nothing is left
n_images=$(dk images -aq | wc -l)
python3 - "$T_WORK/evil.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name, data in (("Dockerfile", b"FROM busybox\nCOPY . /\n"), ("../escape.txt", b"x")):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
EOF
api POST "/v1.51/build" --data-binary @"$T_WORK/evil.tar"
assert_eq 400 "$API_STATUS" "tar with ../ entry: status"
assert_contains "$API_BODY" 'Error processing tar file' "tar with ../ entry: message"
assert_eq "$n_images" "$(dk images -aq | wc -l)" "hostile tar: no image made"
assert_eq "" "$(ls "$T_DATA/tmp")" "hostile tar: no temporary context left"
api POST "/v1.51/build" --data-binary 'not a tar at all'
assert_eq 400 "$API_STATUS" "garbage context: status"

# refused: squash, BuildKit, security options, bad JSON parameters
api POST "/v1.51/build?squash=1" --data-binary @<(tar -C "$CTX" -c .)
assert_eq 400 "$API_STATUS" "squash: status"
assert_contains "$API_BODY" "squash is only supported with experimental mode" "squash: message"
api POST "/v1.51/build?buildargs=%7Bbad" --data-binary @<(tar -C "$CTX" -c .)
assert_eq 400 "$API_STATUS" "bad buildargs: status"
assert_contains "$API_BODY" "error reading build args" "bad buildargs: message"
api POST "/v1.51/build?version=3" --data-binary @<(tar -C "$CTX" -c .)
assert_contains "$API_BODY" 'invalid version \"3\"' "unknown builder version"
# git contexts: a loopback git daemon serves a repository; a remote nobody answers fails
# with git's own message
GITD=$T_WORK/git
mkdir -p "$GITD/src/sub"
printf 'FROM busybox\nCOPY hello.txt /\nCMD ["cat", "/hello.txt"]\n' >"$GITD/src/sub/Dockerfile"
echo "from git" >"$GITD/src/sub/hello.txt"
(cd "$GITD/src" && git init -q -b main && git add -A && git -c user.email=t@t -c user.name=t commit -qm init &&
  git clone -q --bare . "$GITD/repo.git") >/dev/null 2>&1
gport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
git daemon --reuseaddr --listen=127.0.0.1 --port="$gport" --base-path="$GITD" --export-all "$GITD" \
  >"$T_WORK/gitd.log" 2>&1 &
GITD_PID=$!
wait_for 10 bash -c "git ls-remote git://127.0.0.1:$gport/repo.git"
api POST "/v1.51/build?q=1&t=opts/git&remote=git://127.0.0.1:$gport/repo.git%23main:sub"
assert_eq 200 "$API_STATUS" "git context: status"
assert_eq "from git" "$(dk run --rm opts/git 2>&1)" "git context: built from the subdirectory of the ref"
api POST "/v1.51/build?remote=git://127.0.0.1:$gport/repo.git%23nosuchref"
assert_eq 500 "$API_STATUS" "git context with a missing ref: status"
assert_contains "$API_BODY" "error fetching" "git context with a missing ref: message"
api POST "/v1.51/build?remote=https://127.0.0.1:9/nobody.git"
assert_eq 500 "$API_STATUS" "unreachable git remote: status"
assert_contains "$API_BODY" "error fetching: fatal: unable to access" "unreachable git remote: git's message"
kill "$GITD_PID" 2>/dev/null
wait "$GITD_PID" 2>/dev/null

# remote contexts and ADD <url> from a loopback web server
WWW=$T_WORK/www
mkdir -p "$WWW"
tar -C "$CTX" -czf "$WWW/ctx.tar.gz" .
printf 'FROM busybox\nLABEL remote=dockerfile\n' >"$WWW/Dockerfile.txt"
echo "downloaded content" >"$WWW/file.txt"
python3 -m http.server 0 --bind 127.0.0.1 --directory "$WWW" >"$T_WORK/http.log" 2>&1 &
HTTP_PID=$!
port=""
for _ in $(seq 50); do
  port=$(ss -Hltnp 2>/dev/null | grep "pid=$HTTP_PID," | awk '{print $4}' | sed 's/.*://')
  [ -n "$port" ] && break
  sleep 0.1
done
api POST "/v1.51/build?q=1&t=opts/remote&remote=http://127.0.0.1:$port/ctx.tar.gz"
assert_eq 200 "$API_STATUS" "remote tarball: status"
assert_eq "hi" "$(dk run --rm opts/remote)" "remote tarball: built"
api POST "/v1.51/build?q=1&t=opts/remote-df&remote=http://127.0.0.1:$port/Dockerfile.txt"
assert_eq "dockerfile" "$(dk image inspect -f '{{.Config.Labels.remote}}' opts/remote-df)" "remote plain Dockerfile"
api POST "/v1.51/build?remote=http://127.0.0.1:$port/nosuch.tar"
assert_eq 404 "$API_STATUS" "remote 404: status"
assert_contains "$API_BODY" "failed to GET http://127.0.0.1:$port/nosuch.tar with status 404" "remote 404: message"
printf 'FROM busybox\nARG URL\nADD $URL /dl/\nADD $URL /renamed.txt\n' >"$CTX/Dockerfile.add"
out=$(dk build -t opts/addurl -f "$CTX/Dockerfile.add" --build-arg "URL=http://127.0.0.1:$port/file.txt" "$CTX" 2>&1)
assert_eq "downloaded content" "$(dk run --rm opts/addurl cat /dl/file.txt)" "ADD <url> into a directory"
assert_eq "downloaded content" "$(dk run --rm opts/addurl cat /renamed.txt)" "ADD <url> to a file name"
assert_eq "600" "$(dk run --rm opts/addurl stat -c %a /renamed.txt)" "ADD <url> mode"
assert_match "$(dk history --no-trunc --format '{{.CreatedBy}}' opts/addurl | head -1)" \
  '^/bin/sh -c #\(nop\) ADD file:[0-9a-f]{64} in /renamed.txt $' "ADD <url> history"
printf 'FROM busybox\nCOPY http://127.0.0.1:%s/file.txt /x\n' "$port" >"$CTX/Dockerfile.copyurl"
out=$(dk build -f "$CTX/Dockerfile.copyurl" "$CTX" 2>&1)
assert_contains "$out" "COPY failed: source can't be a URL for COPY" "COPY of a URL refused"
kill "$HTTP_PID" 2>/dev/null
wait "$HTTP_PID" 2>/dev/null

# RUN's resources and network options
printf 'FROM busybox\nRUN cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max 2>/dev/null; true\n' >"$CTX/Dockerfile.mem"
out=$(dk build --no-cache -m 64m --cpu-quota 50000 -f "$CTX/Dockerfile.mem" "$CTX" 2>&1)
assert_contains "$out" "67108864" "--memory applies to RUN"
assert_contains "$out" "50000" "--cpu-quota applies to RUN"

# the classic builder predefines only the proxy variables (no TARGETPLATFORM), as dockerd's
printf 'FROM busybox\nARG TARGETPLATFORM\nARG HTTP_PROXY\nRUN echo "tp=[$TARGETPLATFORM] proxy=[$HTTP_PROXY] np=[$no_proxy]"\n' >"$CTX/Dockerfile.tp"
out=$(dk build --no-cache --build-arg HTTP_PROXY=http://p.invalid:1 --build-arg no_proxy=.internal -f "$CTX/Dockerfile.tp" "$CTX" 2>&1)
assert_contains "$out" "tp=[] proxy=[http://p.invalid:1] np=[.internal]" "predefined args in RUN"
assert_not_contains "$out" "were not consumed" "predefined args are never unused"
printf 'FROM busybox\nRUN ls /sys/class/net\nRUN grep buildhost /etc/hosts\nRUN df -k /dev/shm | tail -1\n' >"$CTX/Dockerfile.net"
out=$(dk build --no-cache --network none --add-host buildhost:10.1.2.3 --shm-size 32m -f "$CTX/Dockerfile.net" "$CTX" 2>&1)
assert_contains "$out" "lo" "--network none: loopback only"
assert_not_contains "$out" "eth0" "--network none: no interface"
assert_contains "$out" "10.1.2.3	buildhost" "--add-host in /etc/hosts of RUN"
assert_contains "$out" "32768" "--shm-size of RUN"

# --platform for the whole build
printf 'FROM %s/multiarch\nLABEL x=y\n' "$R" >"$CTX/Dockerfile.plat"
dk build -q --platform linux/arm64 -t opts/arm -f "$CTX/Dockerfile.plat" "$CTX" >/dev/null 2>&1
assert_eq arm64 "$(dk image inspect -f '{{.Architecture}}' opts/arm)" "--platform linux/arm64"

# --rm=false keeps RUN's containers; a failure keeps its container unless --force-rm
printf 'FROM busybox\nRUN echo keep > /k\nRUN echo keep2 > /k2\n' >"$CTX/Dockerfile.keep"
dk build --no-cache --rm=false -f "$CTX/Dockerfile.keep" "$CTX" >/dev/null 2>&1
assert_eq 2 "$(dk ps -aq | wc -l)" "--rm=false keeps the RUN containers"
dk ps -aq | xargs -r "$DOCKER_BIN" rm -f >/dev/null

# Dockerfile from stdin (no context)
out=$(printf 'FROM busybox\nLABEL stdin=yes\n' | dk build -q -t opts/stdin - 2>&1)
assert_eq yes "$(dk image inspect -f '{{.Config.Labels.stdin}}' opts/stdin)" "Dockerfile from stdin"

# concurrent builds
pids=()
for i in 1 2 3; do
  mkdir -p "$T_WORK/par$i"
  printf 'FROM busybox\nRUN echo %s > /n && sleep 0.3\n' "$i" >"$T_WORK/par$i/Dockerfile"
  dk build -q -t "opts/par$i" "$T_WORK/par$i" >"$T_WORK/par$i.out" 2>&1 &
  pids+=($!)
done
wait "${pids[@]}"
for i in 1 2 3; do assert_eq "$i" "$(dk run --rm "opts/par$i" cat /n)" "concurrent build $i"; done

# a base image in a private registry: the CLI's credentials come with X-Registry-Config
. "$E2E_DIR/lib/fixtures.sh"
. "$E2E_DIR/lib/registry.sh"
regdir="$T_WORK/authreg"
mkdir -p "$regdir"
registry_htpasswd "$regdir/htpasswd" alice s3cret >/dev/null
saved_addr=$REGISTRY_ADDR saved_pid=${REGISTRY_PID:-}
if registry_start "$regdir/state" --htpasswd "$regdir/htpasswd" >/dev/null; then
  AUTH_REG=$REGISTRY_ADDR AUTH_PID=$REGISTRY_PID
  registry_push_layout "$E2E_CACHE/oci/busybox" "private/box:v1" --creds alice:s3cret >/dev/null 2>&1
  REGISTRY_ADDR=$saved_addr REGISTRY_PID=$saved_pid
  printf 'FROM %s/private/box:v1\nLABEL private=yes\n' "$AUTH_REG" >"$CTX/Dockerfile.private"
  out=$(dk build -f "$CTX/Dockerfile.private" "$CTX" 2>&1)
  assert_contains "$out" "no basic auth credentials" "private base without login"
  echo s3cret | dk login -u alice --password-stdin "$AUTH_REG" >/dev/null 2>&1
  out=$(dk build -q -t opts/private -f "$CTX/Dockerfile.private" "$CTX" 2>&1)
  assert_eq yes "$(dk image inspect -f '{{.Config.Labels.private}}' opts/private 2>&1)" "private base with the CLI's credentials"
  dk logout "$AUTH_REG" >/dev/null 2>&1
  registry_stop "$AUTH_PID" >/dev/null
else
  fail "auth registry did not start"
  REGISTRY_ADDR=$saved_addr REGISTRY_PID=$saved_pid
fi

# a syntax error or a missing base image changes nothing in the store
n_images=$(dk images -aq | wc -l)
printf 'FROM busybox\nFOO bar\n' >"$CTX/Dockerfile.bad"
out=$(dk build -f "$CTX/Dockerfile.bad" "$CTX" 2>&1)
assert_contains "$out" "unknown instruction: FOO" "unknown instruction"
printf 'FROM %s/nosuch\nRUN true\n' "$R" >"$CTX/Dockerfile.nobase"
out=$(dk build -f "$CTX/Dockerfile.nobase" "$CTX" 2>&1); rc=$?
assert_eq 1 "$rc" "missing base: exit status"
assert_contains "$out" "Step 1/2 : FROM $R/nosuch" "missing base: at the FROM step"
assert_eq "$n_images" "$(dk images -aq | wc -l)" "bad builds leave the images as they were"
assert_eq "" "$(dk ps -aq)" "bad builds leave no container"

t_finish
