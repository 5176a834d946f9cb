#!/usr/bin/env bash
# docker build (classic builder) through the real CLI: every case of tests/e2e/build/ is
# built, its image config, history and files are checked, it runs, and a rebuild is fully
# cached with the same image ID. Failing cases must fail at the right step with Docker's
# text and leave no intermediate container behind (except the failed RUN's own, as dockerd).
. "$(dirname "$0")/lib/common.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh (it starts the registry)}"
. "$E2E_DIR/lib/build_cases.sh"
export REGISTRY_ADDR
arcad_start || t_finish

dk pull -q "$REGISTRY_ADDR/busybox" >/dev/null && dk tag "$REGISTRY_ADDR/busybox" busybox
assert_eq 0 $? "busybox fixture tagged"

IMG=""
CASE=""
check_inspect() { assert_eq "$2" "$(dk image inspect -f "$1" "$IMG" 2>&1)" "$CASE: inspect $1"; }
check_layers() { check_inspect '{{len .RootFS.Layers}}' "$1"; }
hist() { dk history --no-trunc --format '{{.CreatedBy}}' "$IMG"; }
check_nhistory() { assert_eq "$1" "$(hist | wc -l)" "$CASE: history entries"; }
check_createdby() { assert_eq "$2" "$(hist | sed -n "$(($1 + 1))p")" "$CASE: CreatedBy of history entry $1"; }
check_createdbymatch() { assert_match "$(hist | sed -n "$(($1 + 1))p")" "$2" "$CASE: CreatedBy of history entry $1"; }
check_file() { assert_eq "$2" "$(dk run --rm --entrypoint cat "$IMG" "$1" 2>&1)" "$CASE: content of $1"; }
check_fstat() { assert_eq "$3" "$(dk run --rm --entrypoint stat "$IMG" -c "$2" "$1" 2>&1)" "$CASE: stat $2 $1"; }
check_shell() { assert_eq "$2" "$(dk run --rm --entrypoint sh "$IMG" -c "$1" 2>&1)" "$CASE: sh -c $1"; }
check_run() { assert_eq "$1" "$(dk run --rm "$IMG" 2>&1)" "$CASE: output of the default command"; }
check_exported() {
  local c got
  c=$(dk create "$IMG")
  got=$(dk cp "$c:$1" - 2>&1 | tar -xO 2>/dev/null)
  assert_eq 0 "${PIPESTATUS[0]}" "$CASE: docker cp $1"
  assert_eq "$2" "$got" "$CASE: content of $1 (docker cp)"
  dk rm "$c" >/dev/null
}
# a file as the image's layers hold it (docker save), whatever a container would mount there
check_imagefile() {
  local got
  got=$(dk save "$IMG" | python3 -c '
import io, json, sys, tarfile
path = sys.argv[1].lstrip("/")
t = tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read()))
layers = json.load(t.extractfile("manifest.json"))[0]["Layers"]
for name in reversed(layers):
    lt = tarfile.open(fileobj=t.extractfile(name))
    try:
        m = lt.getmember(path)
    except KeyError:
        continue
    sys.stdout.write(lt.extractfile(m).read().decode())
    break
' "$1" 2>&1)
  assert_eq "$2" "${got%$'\n'}" "$CASE: $1 in the image's layers"
}
check_out() { assert_contains "$BC_OUT" "$1" "$CASE: build output"; }
check_noout() { assert_not_contains "$BC_OUT" "$1" "$CASE: build output"; }

ncases=0
while read -r dir; do
  CASE=$(basename "$dir")
  IMG="arcatest/${CASE%%-*}"
  ncases=$((ncases + 1))
  bc_load "$dir"
  before=$(dk ps -aq | wc -l)
  bc_build "$dir" "$IMG"
  if [ -n "$BC_FAILS" ]; then
    assert_ne 0 "$BC_RC" "$CASE: the build fails"
    [ -z "$BC_EXIT" ] || assert_eq "$BC_EXIT" "$BC_RC" "$CASE: exit status of docker build"
    assert_contains "$BC_OUT" "$BC_FAILS" "$CASE: error message"
    assert_eq "" "$(dk images -q "$IMG")" "$CASE: no image tagged"
    # dockerd keeps the container of the RUN that failed (rm without force-rm); nothing else
    left=$(($(dk ps -aq | wc -l) - before))
    if [[ "$BC_FAILS" == *"returned a non-zero code"* ]]; then assert_eq 1 "$left" "$CASE: the failed RUN's container kept"
    else assert_eq 0 "$left" "$CASE: no container left"; fi
    dk ps -aq | xargs -r "$DOCKER_BIN" rm -f >/dev/null
    bc_checks "$dir"
    continue
  fi
  assert_eq 0 "$BC_RC" "$CASE: build exit status"
  if [ "$BC_RC" != 0 ]; then log "$CASE output: ${BC_OUT:0:2000}"; continue; fi
  assert_eq "$before" "$(dk ps -aq | wc -l)" "$CASE: no intermediate container left"
  id=$(dk image inspect -f '{{.Id}}' "$IMG")
  bc_checks "$dir"
  if [ -z "$BC_NORUN" ]; then
    dk run --rm "$IMG" </dev/null >/dev/null 2>&1
    assert_eq 0 $? "$CASE: the image runs"
  fi
  first=$BC_OUT
  bc_build "$dir" "$IMG"
  assert_eq 0 "$BC_RC" "$CASE: rebuild exit status"
  assert_not_contains "$BC_OUT" " ---> Running in" "$CASE: rebuild runs nothing"
  assert_eq "$(grep -c '^Step ' <<<"$first")" "$(grep -c '^Step ' <<<"$BC_OUT")" "$CASE: rebuild steps"
  assert_eq "$id" "$(dk image inspect -f '{{.Id}}' "$IMG")" "$CASE: rebuild gives the same image"
  if [[ "$first" == *"---> Running in"* || "$first" == *"COPY"* || "$first" == *"ADD"* ]]; then
    assert_contains "$BC_OUT" " ---> Using cache" "$CASE: rebuild uses the cache"
  fi
done < <(bc_cases "$E2E_DIR/build")
assert_true "at least 20 cases in the repertoire" test "$ncases" -ge 20

t_finish
