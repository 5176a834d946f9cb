#!/bin/sh
# Installs everything Arca needs to build, run and test. Idempotent.
#   scripts/deps.sh          build + runtime + test packages
#   scripts/deps.sh bench    also the peers (dockerd, Podman) and benchmark tools
# On macOS it names the Homebrew formulae instead (the Apple driver comes later).
set -eu

BUILD="build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev
  libcurl4-openssl-dev libarchive-dev libssl-dev libsqlite3-dev libcmocka-dev libseccomp-dev"
RUNTIME="runc crun conmon netavark aardvark-dns iptables tini uidmap"
TESTS="curl jq busybox-static debootstrap docker-registry skopeo tmux socat
  python3 python3-yaml python3-docker docker-compose apache2-utils wrk iproute2 procps psmisc
  e2fsprogs xz-utils bzip2 zstd openssl"
BENCH="docker.io podman hyperfine iperf3 bc"

if [ "$(uname -s)" = Darwin ]; then
  echo "macOS: brew install cmake pkg-config libmicrohttpd jansson curl libarchive openssl@3 sqlite cmocka jq"
  echo "(the Apple Containerization driver is not written yet; see docs/LIMITATIONS.md)"
  exit 0
fi

want="$BUILD $RUNTIME $TESTS"
[ "${1:-}" = bench ] && want="$want $BENCH"

missing=""
# Node.js may come from NodeSource (with npm inside) rather than Debian.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
for p in $want; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "deps: installing:$missing"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
exit 0
