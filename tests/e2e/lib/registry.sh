#!/usr/bin/env bash
# A loopback registry for the end-to-end tests: Debian's docker-registry (distribution 2.8)
# on 127.0.0.1, plain HTTP, storage and config in a state directory of the caller's choosing.
# Sourced (bash); the functions return non-zero on failure and never exit the caller.
#
#   registry_start STATE_DIR [--htpasswd FILE] [--port N]
#       starts it (a free port unless --port), waits until /v2/ answers; exports
#       REGISTRY_ADDR=127.0.0.1:PORT, REGISTRY_PORT, REGISTRY_PID, REGISTRY_STATE_DIR
#   registry_stop [PID]            stops that registry (default $REGISTRY_PID) and only it
#   registry_push_layout LAYOUT REPO:TAG [--all] [--creds USER:PASS]
#       copies an OCI layout with skopeo, digests preserved; an index pushes every platform
#   registry_push_fixtures CACHE [--creds USER:PASS]
#       busybox:latest, busybox:1.36, multilayer:latest, multiarch:latest (fixtures_build first)
#   registry_htpasswd FILE USER PASS   adds USER with a bcrypt password, creating FILE
#
# Several registries may run at once: save REGISTRY_PID/REGISTRY_ADDR after each start.

_REG_BIN=${REGISTRY_BIN:-/usr/bin/docker-registry}

_reg_err() { printf 'registry: %s\n' "$*" >&2; }

# A port in 20000-32767 (below Linux's ephemeral range) with no listener on it now.
_reg_pick_port() {
  local port i
  for ((i = 0; i < 50; i++)); do
    port=$((20000 + RANDOM % 12768))
    if [ -z "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  _reg_err "no free port found"
  return 1
}

# True when PID no longer runs; reaps it when it is this shell's exited child.
_reg_gone() {
  local state
  [ -r "/proc/$1/stat" ] || return 0
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 0
  [ -n "$state" ] || return 0
  if [ "$state" = Z ]; then
    wait "$1" 2>/dev/null || true
    return 0
  fi
  return 1
}

# True when PID listens on 127.0.0.1:PORT.
_reg_listens() {
  ss -Hltnp "sport = :$2" 2>/dev/null | grep -q "pid=$1,"
}

_reg_write_config() {
  local state=$1 port=$2 htpasswd=$3 secret
  secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  {
    cat <<EOF
version: 0.1
log:
  level: warn
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $state/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: $secret
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: false
EOF
    if [ -n "$htpasswd" ]; then
      cat <<EOF
auth:
  htpasswd:
    realm: arca-test-registry
    path: $htpasswd
EOF
    fi
  } >"$state/config.yml"
}

registry_start() {
  local state="" htpasswd="" port="" attempt p pid i code
  while [ $# -gt 0 ]; do
    case "$1" in
      --htpasswd)
        htpasswd=${2:-}
        shift
        ;;
      --port)
        port=${2:-}
        shift
        ;;
      -*)
        _reg_err "registry_start: unknown option $1"
        return 2
        ;;
      *)
        if [ -n "$state" ]; then
          _reg_err "usage: registry_start STATE_DIR [--htpasswd FILE] [--port N]"
          return 2
        fi
        state=$1
        ;;
    esac
    shift
  done
  if [ -z "$state" ]; then
    _reg_err "usage: registry_start STATE_DIR [--htpasswd FILE] [--port N]"
    return 2
  fi
  [ -x "$_REG_BIN" ] || {
    _reg_err "$_REG_BIN is missing (run scripts/deps.sh)"
    return 1
  }
  mkdir -p "$state/data" || return 1
  state=$(readlink -f "$state") || return 1
  if [ -n "$htpasswd" ]; then
    # distribution 2.8 invents a user with a random password when the file is missing.
    [ -f "$htpasswd" ] || {
      _reg_err "htpasswd file $htpasswd does not exist"
      return 1
    }
    htpasswd=$(readlink -f "$htpasswd") || return 1
  fi
  local unset_env=() var
  for var in $(compgen -e); do
    case "$var" in REGISTRY_*) unset_env+=(-u "$var") ;; esac
  done
  for ((attempt = 0; attempt < 5; attempt++)); do
    p=$port
    [ -n "$p" ] || p=$(_reg_pick_port) || return 1
    _reg_write_config "$state" "$p" "$htpasswd" || return 1
    # REGISTRY_* variables would override the config file: start it without them.
    env "${unset_env[@]}" \
      "$_REG_BIN" serve "$state/config.yml" </dev/null >>"$state/registry.log" 2>&1 &
    pid=$!
    for ((i = 0; i < 150; i++)); do
      _reg_gone "$pid" && break
      code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 2 \
        "http://127.0.0.1:$p/v2/" 2>/dev/null) || true
      if { [ "$code" = 200 ] || [ "$code" = 401 ]; } && _reg_listens "$pid" "$p"; then
        export REGISTRY_ADDR=127.0.0.1:$p REGISTRY_PORT=$p REGISTRY_PID=$pid
        export REGISTRY_STATE_DIR=$state
        return 0
      fi
      sleep 0.1
    done
    # Lost the port to someone else, or never came up: stop it and maybe try another port.
    registry_stop "$pid" >/dev/null 2>&1 || true
    [ -z "$port" ] || break
  done
  _reg_err "docker-registry did not start; last lines of $state/registry.log:"
  tail -n 20 "$state/registry.log" >&2
  return 1
}

registry_stop() {
  local pid=${1:-${REGISTRY_PID:-}} i
  if [ -z "$pid" ]; then
    _reg_err "registry_stop: no PID"
    return 2
  fi
  if ! _reg_gone "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      _reg_gone "$pid" && break
      sleep 0.1
    done
    if ! _reg_gone "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 30; i++)); do
        _reg_gone "$pid" && break
        sleep 0.1
      done
    fi
  fi
  if ! _reg_gone "$pid"; then
    _reg_err "registry $pid does not stop"
    return 1
  fi
  if [ "$pid" = "${REGISTRY_PID:-}" ]; then
    unset REGISTRY_ADDR REGISTRY_PORT REGISTRY_PID REGISTRY_STATE_DIR
  fi
  return 0
}

registry_push_layout() {
  local layout=${1:-} ref=${2:-} args=() all=0 mt
  if [ -z "$layout" ] || [ -z "$ref" ]; then
    _reg_err "usage: registry_push_layout LAYOUT REPO:TAG [--all] [--creds USER:PASS]"
    return 2
  fi
  shift 2
  while [ $# -gt 0 ]; do
    case "$1" in
      --all) all=1 ;;
      --creds)
        args+=(--dest-creds "${2:-}")
        shift
        ;;
      *)
        _reg_err "registry_push_layout: unknown option $1"
        return 2
        ;;
    esac
    shift
  done
  [ -n "${REGISTRY_ADDR:-}" ] || {
    _reg_err "registry_push_layout: no registry (registry_start first)"
    return 1
  }
  mt=$(jq -r '.manifests[0].mediaType' "$layout/index.json") || return 1
  # An index must arrive with every platform, or the pull tests cannot choose one.
  [ "$mt" = application/vnd.oci.image.index.v1+json ] && all=1
  [ "$all" = 1 ] && args+=(--multi-arch all)
  skopeo --insecure-policy copy --quiet --retry-times 2 --dest-tls-verify=false \
    --preserve-digests "${args[@]}" "oci:$layout" "docker://$REGISTRY_ADDR/$ref"
}

registry_push_fixtures() {
  local cache=${1:-} oci
  if [ -z "$cache" ]; then
    _reg_err "usage: registry_push_fixtures CACHE [--creds USER:PASS]"
    return 2
  fi
  shift
  oci=$cache/oci
  registry_push_layout "$oci/busybox" busybox:latest "$@" &&
    registry_push_layout "$oci/busybox" busybox:1.36 "$@" &&
    registry_push_layout "$oci/multilayer" multilayer:latest "$@" &&
    registry_push_layout "$oci/multiarch" multiarch:latest "$@"
}

registry_htpasswd() {
  if [ $# -ne 3 ]; then
    _reg_err "usage: registry_htpasswd FILE USER PASS"
    return 2
  fi
  local create=()
  [ -f "$1" ] || create=(-c)
  # -i reads the password from stdin: it never shows in the process list.
  printf '%s\n' "$3" | htpasswd "${create[@]}" -i -B "$1" "$2" 2>/dev/null
}
