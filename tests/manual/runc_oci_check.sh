#!/bin/sh
# Hand check (needs root, runc and busybox-static; not part of ctest): builds config.json
# from runtime/linux/oci_defaults for a busybox rootfs and runs it with runc, in the
# default, --cap-add SYS_ADMIN and --privileged shapes. Prints what the container sees.
# Usage: tests/manual/runc_oci_check.sh [build dir, default: build]
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
work=$(mktemp -d /tmp/arca-runc-check.XXXXXX)
root=$work/runc-root
ids=""
cleanup() {
  for id in $ids; do runc --root "$root" delete -f "$id" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

cmake --build "$build" --target arcacore >/dev/null
# shellcheck disable=SC2046
cc -std=gnu17 -D_GNU_SOURCE -I"$src/src" "$src/tests/manual/oci_config_gen.c" \
  "$build/libarcacore.a" $(pkg-config --libs jansson libmicrohttpd libcurl libarchive sqlite3 \
  libcrypto gnutls) -lpthread -o "$work/oci_config_gen"

mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" \
  "$work/rootfs/tmp" "$work/rootfs/mnt" "$work/rootfs/etc"
cp /bin/busybox "$work/rootfs/bin/busybox"
chroot "$work/rootfs" /bin/busybox --install -s /bin

# Everything the container reports, one "name: value" line each.
probe='
grep -E "^(CapEff|CapBnd|Seccomp|NoNewPrivs):" /proc/self/status
echo "nofile: $(ulimit -n) / $(ulimit -Hn)"
echo "shm: $(grep " /dev/shm " /proc/mounts)"
echo "sys: $(grep " /sys " /proc/mounts | cut -d" " -f4)"
echo "kcore bytes: $(head -c 16 /proc/kcore 2>/dev/null | wc -c)"
# kernel.hostname belongs to the container'"'"'s UTS namespace: writing it is harmless.
echo "proc/sys write: $(echo x 2>&1 > /proc/sys/kernel/hostname && echo ok || echo refused)"
echo "dev/full write: $(echo x 2>&1 > /dev/full || true)"
echo "urandom: $(head -c 8 /dev/urandom | wc -c) bytes"
echo "fuse: $(rm -f /tmp/fuse; mknod /tmp/fuse c 10 229 2>&1 && cat /tmp/fuse 2>&1 | head -1)"
echo "mount tmpfs: $(mount -t tmpfs none /mnt 2>&1 && echo ok)"
echo "unshare -n: $(unshare -n true 2>&1 && echo ok)"
echo "hostname: $(hostname)"
'

status=0
for mode in default sysadmin privileged; do
  id="arca-check-$mode-$$"
  bundle=$work/bundle-$mode
  mkdir -p "$bundle"
  "$work/oci_config_gen" "$work/rootfs" "$mode" /bin/sh -c "$probe" > "$bundle/config.json"
  if command -v python3 >/dev/null && python3 -c 'import jsonschema' 2>/dev/null; then
    python3 -W ignore::DeprecationWarning - "$bundle/config.json" <<'PY' || status=1
import json, sys, pathlib, jsonschema
spec = pathlib.Path("/work/shared/spec/oci/runtime-spec")
if spec.is_dir():
    schema = json.loads((spec / "config-schema.json").read_text())
    resolver = jsonschema.RefResolver(spec.as_uri() + "/", schema)
    jsonschema.validate(json.load(open(sys.argv[1])), schema, resolver=resolver)
    print("schema: config.json valid against config-schema.json")
PY
  fi
  echo "== $mode"
  ids="$ids $id"
  if runc --root "$root" run --bundle "$bundle" "$id" </dev/null; then
    echo "== $mode: runc exit 0"
  else
    echo "== $mode: runc FAILED ($?)"
    status=1
  fi
  runc --root "$root" delete -f "$id" >/dev/null 2>&1 || true
done
exit $status
