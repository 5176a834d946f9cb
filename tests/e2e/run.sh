#!/usr/bin/env bash
# End-to-end tests: each tests/e2e/t_*.sh runs against its own fresh arcad, driven by the real
# docker CLI (and compose, docker-py, dockerode where named). E2E_ONLY=pattern selects files.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
: "${ARCAD:?set ARCAD to the arcad binary (make test does)}"
export ARCAD
if [ "$(id -u)" -ne 0 ]; then echo "e2e: needs root (containers, mounts, namespaces)" >&2; exit 1; fi

# shared fixtures and the loopback registry, when the fixture scripts exist
export E2E_CACHE=${E2E_CACHE:-$HERE/.fixtures}
if [ -f "$HERE/lib/fixtures.sh" ] && [ -z "${E2E_NO_FIXTURES:-}" ]; then
  # shellcheck source=/dev/null
  . "$HERE/lib/fixtures.sh"
  # shellcheck source=/dev/null
  . "$HERE/lib/registry.sh"
  echo "e2e: building image fixtures (cached in $E2E_CACHE)"
  fixtures_build "$E2E_CACHE" || { echo "e2e: fixtures failed" >&2; exit 1; }
  REG_STATE=$(mktemp -d /tmp/arca-e2e-registry.XXXXXX)
  registry_start "$REG_STATE" || { echo "e2e: registry failed to start" >&2; exit 1; }
  trap 'registry_stop; rm -rf "$REG_STATE"' EXIT
  registry_push_fixtures "$E2E_CACHE" || { echo "e2e: pushing fixtures failed" >&2; exit 1; }
  export REGISTRY_ADDR
fi

failed=()
total=0
start=$SECONDS
for t in "$HERE"/t_*.sh; do
  name=$(basename "$t" .sh)
  if [ -n "${E2E_ONLY:-}" ] && [[ "$name" != *${E2E_ONLY}* ]]; then continue; fi
  total=$((total + 1))
  t0=$SECONDS
  echo "e2e: $name"
  if bash "$t"; then echo "e2e: $name ok ($((SECONDS - t0))s)"; else failed+=("$name"); echo "e2e: $name FAILED ($((SECONDS - t0))s)"; fi
done
echo "e2e: $((total - ${#failed[@]}))/$total test files passed in $((SECONDS - start))s"
if [ ${#failed[@]} -gt 0 ]; then echo "e2e: failed: ${failed[*]}"; exit 1; fi
