#!/usr/bin/env bash
# The classic builder's cache: hits and misses step by step, --no-cache, --pull,
# --cache-from after save/load, persistence across a daemon restart, the BuildCache of
# system df, docker builder prune (dangling steps, -a), and a cancelled build.
. "$(dirname "$0")/lib/common.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh (it starts the registry)}"
R=$REGISTRY_ADDR
arcad_start || t_finish
dk pull -q "$R/busybox" >/dev/null && dk tag "$R/busybox" busybox

CTX=$T_WORK/ctx
mkdir -p "$CTX"
cat >"$CTX/Dockerfile" <<'EOF'
FROM busybox
ENV STAGE=one
RUN echo first > /first.txt
COPY data.txt /data.txt
RUN cat /data.txt > /copy.txt
CMD ["cat", "/copy.txt"]
EOF
echo v1 >"$CTX/data.txt"
build() { out=$(dk build "$@" 2>&1); rc=$?; }
count() { grep -c -- "$1" <<<"$out"; }
gone() { ! dk image inspect "$1" >/dev/null 2>&1; }
dangling_cache() {
  curl -s --unix-socket "$T_SOCK" "http://arca/v1.51/system/df?type=build-cache" |
    jq -c '[.BuildCache[] | select(.Shared == false)]'
}

build -t cache/app "$CTX"
assert_eq 0 "$rc" "first build"
id1=$(dk image inspect -f '{{.Id}}' cache/app)
assert_eq 0 "$(count ' ---> Using cache')" "first build uses no cache"

# a rebuild is fully cached and gives the same image
build -t cache/app "$CTX"
assert_eq 5 "$(count ' ---> Using cache')" "rebuild: every step from the cache"
assert_eq "$id1" "$(dk image inspect -f '{{.Id}}' cache/app)" "rebuild: same image ID"

# a changed file misses from its COPY on; the steps before stay cached
echo v2 >"$CTX/data.txt"
build -t cache/app "$CTX"
assert_eq 2 "$(count ' ---> Using cache')" "changed context: ENV and RUN before COPY cached"
assert_eq 2 "$(count ' ---> Running in')" "changed context: the RUN after COPY and the CMD run again"
assert_eq v2 "$(dk run --rm cache/app)" "changed context: new content"
id2=$(dk image inspect -f '{{.Id}}' cache/app)
assert_ne "$id1" "$id2" "changed context: new image"

# --no-cache runs everything again
build --no-cache -t cache/app "$CTX"
assert_eq 0 "$(count ' ---> Using cache')" "--no-cache: no step from the cache"
id3=$(dk image inspect -f '{{.Id}}' cache/app)
assert_ne "$id2" "$id3" "--no-cache: a new image"

# --pull pulls the base even though it is here
printf 'FROM %s/busybox\nLABEL pulled=yes\n' "$R" >"$CTX/Dockerfile.pull"
build --pull -f "$CTX/Dockerfile.pull" "$CTX"
assert_contains "$out" "Pulling from busybox" "--pull: the base is pulled again"
assert_contains "$out" "Status: Image is up to date for $R/busybox:latest" "--pull: up to date"

# the cache survives a restart of the daemon
arcad_restart || t_finish
build -t cache/app "$CTX"
assert_eq 5 "$(count ' ---> Using cache')" "after restart: every step from the cache"
assert_eq "$id3" "$(dk image inspect -f '{{.Id}}' cache/app)" "after restart: same image"

# --cache-from: an image loaded from elsewhere is no local build cache, but serves as one
sed 's/STAGE=one/STAGE=two/' "$CTX/Dockerfile" >"$CTX/Dockerfile.two"
build -t cache/two -f "$CTX/Dockerfile.two" "$CTX"
idtwo=$(dk image inspect -f '{{.Id}}' cache/two)
steps=$(dk history -q cache/two | head -5)
dk save -o "$T_WORK/two.tar" cache/two
dk rmi cache/two >/dev/null
for s in $steps; do assert_true "rmi removes the step image $s" gone "$s"; done
dk load -i "$T_WORK/two.tar" >/dev/null
build -t cache/two-again -f "$CTX/Dockerfile.two" "$CTX"
assert_eq 0 "$(count ' ---> Using cache')" "a loaded image is not local build cache"
dk rmi cache/two-again >/dev/null
build --cache-from cache/two -t cache/two-from -f "$CTX/Dockerfile.two" "$CTX"
assert_eq 5 "$(count ' ---> Using cache')" "--cache-from: every step from the loaded image"
assert_eq "$idtwo" "$(dk image inspect -f '{{.Id}}' cache/two-from)" "--cache-from: the same image ID"
build --cache-from cache/nosuch -t cache/app4 "$CTX"
assert_eq 0 "$rc" "--cache-from of a missing image is skipped"

# system df and docker builder prune: steps of a build that failed are reclaimable cache
printf 'FROM busybox\nRUN echo dangling > /d.txt\nRUN head -c 200000 /dev/zero > /zero\nRUN exit 1\n' >"$CTX/Dockerfile.fail"
build --force-rm -f "$CTX/Dockerfile.fail" "$CTX"
assert_ne 0 "$rc" "failing build"
df=$(curl -s --unix-socket "$T_SOCK" "http://arca/v1.51/system/df?type=build-cache")
assert_match "$df" '"BuildCache":\[\{"ID":"[0-9a-f]{64}","Parents":' "system df: BuildCache records"
assert_contains "$df" '"Description":"/bin/sh -c head -c 200000 /dev/zero > /zero"' "system df: step description"
assert_match "$df" '"Shared":false,"Size":200000' "system df: the dangling step's size, not shared"
assert_match "$df" '"Shared":true' "system df: steps of tagged images are shared"
out=$(dk system df)
assert_match "$out" 'Build Cache +[0-9]+ +0 +[0-9.]+kB' "docker system df: Build Cache line"
assert_eq "$(dk images -q | sort -u | wc -l)" "$(dk system df --format '{{.Type}} {{.TotalCount}}' | sed -n 's/^Images //p')" "docker system df counts the top images, not the steps"
zero_img=$(jq -r '.BuildCache[] | select(.Size == 200000) | .ID' <<<"$df")
out=$(dk builder prune -f 2>&1)
assert_contains "$out" "Deleted build cache objects:" "builder prune: deleted objects listed"
assert_contains "$out" "$zero_img" "builder prune: the failed build's step is deleted"
assert_match "$out" 'Total reclaimed space: 20[0-9.]+kB' "builder prune: reclaimed space"
assert_true "builder prune: its image is gone" gone "$zero_img"
assert_eq '[]' "$(dangling_cache)" "after prune: no dangling cache"
assert_eq "$idtwo" "$(dk image inspect -f '{{.Id}}' cache/two-from)" "builder prune keeps tagged images"
build -t cache/app "$CTX"
assert_eq 5 "$(count ' ---> Using cache')" "builder prune keeps the cache of tagged images"
api POST "/v1.51/build/prune?filters=%7B%22nosuch%22%3A%7B%22x%22%3Atrue%7D%7D"
assert_eq 400 "$API_STATUS" "build prune: unknown filter"
api POST "/v1.51/build/prune?keep-storage=lots"
assert_eq 400 "$API_STATUS" "build prune: bad keep-storage"
assert_contains "$API_BODY" "keep-storage is in bytes and expects an integer, got lots" "build prune: keep-storage message"
api POST "/v1.51/build/prune?all=1"
assert_eq 200 "$API_STATUS" "build prune -a: status"
assert_match "$API_BODY" '^\{"CachesDeleted":\["[0-9a-f]{64}"' "build prune -a: records forgotten"
build -t cache/app "$CTX"
assert_eq 0 "$(count ' ---> Using cache')" "after prune -a nothing is cached"

# a client that goes away cancels the build: the RUN's container is removed
printf 'FROM busybox\nRUN sleep 30\n' >"$CTX/Dockerfile.slow"
tar -C "$CTX" -c Dockerfile.slow | curl -s --max-time 3 --unix-socket "$T_SOCK" -X POST --data-binary @- \
  "http://arca/v1.51/build?dockerfile=Dockerfile.slow" >"$T_WORK/slow.out" 2>&1
assert_contains "$(cat "$T_WORK/slow.out")" "Running in" "slow build started its RUN"
no_containers() { [ -z "$(dk ps -aq)" ]; }
t0=$SECONDS
wait_for 15 no_containers
assert_true "cancelled build: removed within 10 s" test $((SECONDS - t0)) -lt 10
assert_eq "" "$(dk ps -aq)" "cancelled build: its container is gone"

t_finish
