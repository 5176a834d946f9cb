# Helpers of the network, port, volume and compose tests. Other daemons (and other test runs)
# may share this host, so every check looks only at what this test made: bridges named
# after its networks, firewall rules naming its subnets or ports, namespaces under its run
# root. Sourced after common.sh.
# shellcheck shell=bash

# A TCP port nothing listens on now (the kernel's choice).
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",0)); print(s.getsockname()[1])'
}

# A 10.x.y.0/24 that no route of the host overlaps (x,y random): tests that name subnets
# must not collide with whatever else runs here.
rand_subnet24() {
  local i x y
  for i in $(seq 1 50); do
    x=$((100 + RANDOM % 150))
    y=$((RANDOM % 250))
    if ! ip -4 route | grep -q "^10\.$x\."; then
      echo "10.$x.$y"
      return 0
    fi
  done
  return 1
}

# GET a URL from the host; a server that has just started may not listen yet.
get() { curl -s --max-time 5 --retry 20 --retry-connrefused --retry-delay 0 --retry-max-time 5 "$@"; }

# The host's first global IPv4 address (not loopback).
host_ipv4() { ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1; }

# iptables and ip6tables rules (nat and filter) that mention any of the patterns.
rules_with() { # pattern... : the lines naming any of them
  local args=() p
  for p in "$@"; do args+=(-e "$p"); done
  { iptables-save 2>/dev/null; ip6tables-save 2>/dev/null; } | grep -F "${args[@]}" || true
}

assert_no_rules() { # what pattern...
  local what=$1 left
  shift
  left=$(rules_with "$@")
  if [ -z "$left" ]; then pass; else fail "$what: firewall rules left: $(echo "$left" | head -5)"; fi
}

assert_no_link() { # what ifname...
  local what=$1 l
  shift
  for l in "$@"; do
    if ip link show "$l" >/dev/null 2>&1; then fail "$what: interface $l left"; return; fi
  done
  pass
}

# netavark's iptables chains of a network are NETAVARK-<h> and NETAVARK-DN-<h>, h being
# the first 13 hex digits (upper case) of SHA-512 of the name Arca gives it: the network ID.
chain_hash() { # network
  printf '%s' "$(dk network inspect -f '{{.Id}}' "$1")" | sha512sum | cut -c1-13 | tr a-f A-F
}

# Network namespaces of this daemon still mounted.
netns_left() { ls "$T_RUN/netns" 2>/dev/null | wc -l; }

# The bridge interface of a network of this daemon (what netavark creates).
bridge_of() { # network
  local opt
  opt=$(dk network inspect -f '{{index .Options "com.docker.network.bridge.name"}}' "$1" 2>/dev/null)
  if [ -n "$opt" ]; then echo "$opt"; else echo "br-$(dk network inspect -f '{{.Id}}' "$1" | cut -c1-12)"; fi
}

# Waits until cmd's output contains text (max seconds).
wait_output() { # seconds text cmd...
  local secs=$1 text=$2 end
  shift 2
  end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    if [[ "$("$@" 2>&1)" == *"$text"* ]]; then return 0; fi
    sleep 0.2
  done
  return 1
}

# Pulls the application images of netfixtures.sh (building them once) as short names.
use_netapps() { # image...
  # shellcheck source=/dev/null
  . "$E2E_DIR/lib/netfixtures.sh"
  netfx_build "$E2E_CACHE" || return 1
  netfx_push "$E2E_CACHE" "$@" || return 1
  local img
  for img in "$@"; do
    dk pull -q "$REGISTRY_ADDR/$img" >/dev/null && dk tag "$REGISTRY_ADDR/$img" "$img" || return 1
  done
}
