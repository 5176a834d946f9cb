#!/usr/bin/env bash
# Networks through the real CLI: the predefined networks, user-defined bridges with IPAM
# (subnet, gateway, ip-range, aux addresses, auto subnets from the pools), labels, options,
# filters, inspect shapes (network and NetworkSettings), name resolution by name, alias and
# short ID on user networks and none on the default bridge, --link, static addresses, live
# connect/disconnect, internal and IPv6 networks, host and none modes, events, prune, a
# daemon restart; Docker's errors for bad input with nothing half-created, and nothing left
# behind (bridges, namespaces, firewall rules, aardvark-dns).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/netlib.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh}"
arcad_start || t_finish
dk pull -q "$REGISTRY_ADDR/busybox" >/dev/null && dk tag "$REGISTRY_ADDR/busybox" busybox
SUB=$(rand_subnet24) || fail "no free 10.x.y.0/24 on this host"
T0=$(date +%s)

# ---- predefined networks
assert_eq "bridge bridge local|host host local|none null local" \
  "$(dk network ls --format '{{.Name}} {{.Driver}} {{.Scope}}' | sort | paste -sd'|')" "predefined networks"
binfo=$(dk network inspect bridge)
assert_eq "true" "$(jq -r '.[0].Options["com.docker.network.bridge.default_bridge"]' <<<"$binfo")" "default bridge option"
BSUB=$(jq -r '.[0].IPAM.Config[0].Subnet' <<<"$binfo")
BGW=$(jq -r '.[0].IPAM.Config[0].Gateway' <<<"$binfo")
assert_match "$BSUB" '^[0-9.]+/[0-9]+$' "default bridge has a subnet"
if ip -4 route | grep -v " dev $(jq -r '.[0].Options["com.docker.network.bridge.name"]' <<<"$binfo") " | grep -q "^${BSUB} "; then
  fail "default bridge subnet $BSUB clashes with a host route"
else pass; fi
out=$(dk network rm bridge 2>&1); assert_contains "$out" "bridge is a pre-defined network and cannot be removed" "predefined rm"
out=$(dk network create host 2>&1); assert_contains "$out" "operation is not permitted on predefined host network" "predefined create"

# ---- create with IPAM
NET1=$(dk network create --subnet "$SUB.0/24" --gateway "$SUB.254" --ip-range "$SUB.128/25" \
  --aux-address reserved="$SUB.128" --label team=a --opt com.docker.network.driver.mtu=1400 --attachable net1)
assert_match "$NET1" '^[0-9a-f]{64}$' "create prints the ID"
n1=$(dk network inspect net1)
assert_eq "bridge local true false {}" "$(jq -r '.[0] | "\(.Driver) \(.Scope) \(.Attachable) \(.Internal) \(.Containers|tostring)"' <<<"$n1")" "net1 fields"
assert_eq "$SUB.0/24 $SUB.254 $SUB.128/25 $SUB.128" \
  "$(jq -r '.[0].IPAM.Config[0] | "\(.Subnet) \(.Gateway) \(.IPRange) \(.AuxiliaryAddresses.reserved)"' <<<"$n1")" "net1 IPAM"
assert_eq "a 1400" "$(jq -r '.[0] | "\(.Labels.team) \(.Options["com.docker.network.driver.mtu"])"' <<<"$n1")" "labels and options"
NET2=$(dk network create net2)
n2sub=$(dk network inspect -f '{{(index .IPAM.Config 0).Subnet}}' net2)
assert_ne "$BSUB" "$n2sub" "auto subnet differs from the default bridge's"
assert_ne "$SUB.0/24" "$n2sub" "auto subnet differs from net1's"
names() { dk network ls "$@" --format '{{.Name}}' | sort | paste -sd' '; }
assert_eq "net1" "$(names --filter label=team=a)" "filter label"
assert_eq "net1 net2" "$(names --filter type=custom)" "filter type=custom"
assert_eq "bridge host none" "$(names --filter type=builtin)" "filter type=builtin"
assert_eq "net1 net2" "$(names --filter name=net)" "filter name"
assert_eq "net2" "$(names --filter id="${NET2:0:10}")" "filter id"
assert_eq "net1 net2" "$(names --filter dangling=true)" "filter dangling"
out=$(dk network ls --filter type=bogus 2>&1); assert_contains "$out" "invalid filter: 'type'='bogus'" "bad type filter"
assert_eq "$NET1" "$(dk network inspect -f '{{.Id}}' "${NET1:0:12}")" "inspect by ID prefix"
out=$(dk network inspect nosuch 2>&1); assert_contains "$out" "network nosuch not found" "inspect missing"

# ---- bad input: Docker's errors, nothing half-created
count0=$(dk network ls -q | wc -l)
out=$(dk network create --subnet "$SUB.64/26" overlap 2>&1); rc=$?
assert_ne 0 "$rc" "overlapping subnet refused"
assert_contains "$out" "invalid pool request: Pool overlaps with other one on this address space" "overlap text"
# the CLI checks --gateway and --ip-range itself; the daemon must refuse them too
out=$(dk network create --subnet 10.250.250.0/24 --gateway 10.251.0.1 badgw 2>&1); rc=$?
assert_ne 0 "$rc" "gateway outside subnet refused by the CLI"
api POST /networks/create -H 'Content-Type: application/json' \
  -d '{"Name":"badgw","IPAM":{"Config":[{"Subnet":"10.250.250.0/24","Gateway":"10.251.0.1"}]}}'
assert_eq "400 invalid network config:
invalid gateway 10.251.0.1: parent subnet 10.250.250.0/24 doesn't contain this address" "$API_STATUS $(jq -r .message <<<"$API_BODY")" "gateway outside subnet"
api POST /networks/create -H 'Content-Type: application/json' \
  -d '{"Name":"badrange","IPAM":{"Config":[{"Subnet":"10.250.250.0/24","IPRange":"10.250.0.0/24","Gateway":"10.250.0.1"}]}}'
assert_eq "400 invalid network config:
* invalid ip-range 10.250.0.0/24: parent subnet 10.250.250.0/24 doesn't contain ip-range
* invalid gateway 10.250.0.1: parent subnet 10.250.250.0/24 doesn't contain this address" "$API_STATUS $(jq -r .message <<<"$API_BODY")" "every IPAM error, joined as Go does"
out=$(dk network create net1 2>&1); assert_contains "$out" "network with name net1 already exists" "duplicate name"
out=$(dk network create --subnet 10.250.3.7/16 badsub 2>&1); assert_contains "$out" "invalid subnet 10.250.3.7/16: it should be 10.250.0.0/16" "unmasked subnet"
out=$(dk network create -d macvlan mv 2>&1); assert_contains "$out" "plugin not found" "unknown driver"
assert_eq "$count0" "$(dk network ls -q | wc -l)" "no network made by bad input"
# (no interface count here: other daemons on a shared host add and remove links meanwhile)
for n in badgw badrange badsub mv; do
  api GET "/networks/$n"
  assert_eq 404 "$API_STATUS" "no network $n made by bad input"
done
assert_eq "" "$(rules_with 10.250.250. 10.251.0.1 "$SUB.64/26")" "no rule made by bad input"

# ---- containers on a user network: addresses and names
dk run -d --name web1 --network net1 --network-alias www --network-alias svc busybox httpd -f -p 80 -h /etc >/dev/null
W1=$(dk inspect -f '{{.Id}}' web1)
assert_eq "$SUB.129" "$(dk inspect -f '{{.NetworkSettings.Networks.net1.IPAddress}}' web1)" "first address of the ip-range after the aux address"
ws=$(dk inspect web1 | jq -c '.[0].NetworkSettings')
assert_eq "$NET1 64 $SUB.254 24 true" "$(jq -r '.Networks.net1 | "\(.NetworkID) \(.EndpointID|length) \(.Gateway) \(.IPPrefixLen) \(.MacAddress|length > 0)"' <<<"$ws")" "endpoint settings"
assert_eq '["www","svc"]' "$(jq -c '.Networks.net1.Aliases' <<<"$ws")" "aliases"
assert_eq "[\"web1\",\"www\",\"svc\",\"${W1:0:12}\"]" "$(jq -c '.Networks.net1.DNSNames' <<<"$ws")" "DNSNames"
assert_eq '""' "$(jq -c '.IPAddress' <<<"$ws")" "top-level IPAddress is the default bridge's only"
assert_match "$(jq -r '.SandboxKey' <<<"$ws")" "/netns/$W1\$" "SandboxKey"
out=$(dk run --rm --network net1 busybox sh -c "wget -qO- http://web1/hostname; wget -qO- http://www/hostname; wget -qO- http://svc/hostname; wget -qO- http://${W1:0:12}/hostname")
assert_eq "${W1:0:12}|${W1:0:12}|${W1:0:12}|${W1:0:12}" "$(echo "$out" | paste -sd'|')" "reach by name, aliases, short ID"
rc=$(dk run --rm --network net1 busybox cat /etc/resolv.conf)
assert_contains "$rc" "nameserver $SUB.254" "resolver is the network's gateway"
assert_contains "$rc" "options ndots:0" "ndots:0 as Docker's embedded resolver"
assert_contains "$(dk exec web1 cat /etc/hosts)" "$SUB.129	${W1:0:12}" "/etc/hosts names the container's address"
assert_eq 1400 "$(dk exec web1 cat /sys/class/net/eth0/mtu)" "mtu option"
cmap=$(dk network inspect net1 | jq -c --arg id "$W1" '.[0].Containers[$id]')
assert_eq "web1 $SUB.129/24 64" "$(jq -r '"\(.Name) \(.IPv4Address) \(.EndpointID|length)"' <<<"$cmap")" "network inspect Containers"
assert_eq "net1" "$(names --filter dangling=false --filter type=custom)" "dangling=false lists networks in use"

# static addresses
dk run -d --name st1 --network net1 --ip "$SUB.10" busybox sleep 300 >/dev/null
assert_contains "$(dk exec st1 ip -4 -o addr show eth0)" "$SUB.10/24" "static IPv4 address"
assert_eq "$SUB.10" "$(dk inspect -f '{{.NetworkSettings.Networks.net1.IPAMConfig.IPv4Address}}' st1)" "IPAMConfig kept"
out=$(dk run --rm --network net1 --ip 10.99.99.9 busybox true 2>&1)
assert_contains "$out" "no configured subnet or ip-range contain the IP address 10.99.99.9" "static address outside"
out=$(dk run --rm --network net2 --ip 10.99.99.9 busybox true 2>&1)
assert_contains "$out" "user specified IP address is supported only when connecting to networks with user configured subnets" "static address on an auto subnet"
out=$(dk run --rm --network bridge --ip 10.99.99.9 busybox true 2>&1)
assert_contains "$out" "user specified IP address is supported on user defined networks only" "static address on the default bridge"
out=$(dk run --name st2 --network net1 --ip "$SUB.10" busybox true 2>&1)
assert_contains "$out" "Address already in use" "static address taken"
assert_eq "created" "$(dk inspect -f '{{.State.Status}}' st2)" "the container stays created"
dk rm st2 >/dev/null
# as dockerd: created, then the start fails (a 404 at create would make the CLI pull)
out=$(dk run --name nonet --network nosuch busybox true 2>&1)
assert_contains "$out" "failed to set up container networking: network nosuch not found" "run on a missing network"
assert_eq "created" "$(dk inspect -f '{{.State.Status}}' nonet)" "container on a missing network stays created"
dk rm nonet >/dev/null
assert_eq "st1 web1" "$(dk ps --filter network=net1 --format '{{.Names}}' | sort | paste -sd' ')" "ps --filter network"

# ---- the default bridge: no names, links work
dk run -d --name b1 busybox sleep 300 >/dev/null
dk run -d --name b2 busybox sleep 300 >/dev/null
B1IP=$(dk inspect -f '{{.NetworkSettings.IPAddress}}' b1)
assert_eq "$BGW" "$(dk inspect -f '{{.NetworkSettings.Gateway}}' b1)" "default bridge: top-level gateway"
assert_eq "$B1IP" "$(dk inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' b1)" "default bridge: top-level address"
assert_eq "null" "$(dk inspect b1 | jq -c '.[0].NetworkSettings.Networks.bridge.DNSNames')" "no DNS names on the default bridge"
assert_not_contains "$(dk exec b2 cat /etc/resolv.conf)" "$BGW" "no resolver on the bridge gateway"
out=$(dk exec b2 nslookup b1 "$BGW" 2>&1); assert_not_contains "$out" "$B1IP" "no name resolution on the default bridge"
assert_contains "$(dk exec b2 ping -c1 -W2 "$B1IP" 2>&1)" "1 packets received" "bridge peers reach each other by address"
out=$(dk run --rm --link b1:db busybox sh -c 'grep db /etc/hosts; ping -c1 -W2 db >/dev/null && echo reached')
assert_contains "$out" "$B1IP	db ${B1IP:+$(dk inspect -f '{{.Config.Hostname}}' b1)} b1" "link in /etc/hosts"
assert_contains "$out" "reached" "link alias reachable"

# ---- live connect and disconnect
ps_nets() { dk ps -a --filter name="$1" --format '{{.Names}} {{.Networks}}' | awk -v n="$1" '$1 == n {print $2}' | tr ',' '\n' | sort | paste -sd' '; }
assert_eq "bridge" "$(ps_nets b2)" "ps before connect"
dk network connect --alias extra net1 b2
assert_eq "bridge net1" "$(ps_nets b2)" "ps follows a connect (rows are cached)"
assert_match "$(dk exec b2 ip -4 -o addr show eth1)" "inet $SUB\.[0-9]+/24" "connect adds eth1"
B2N1=$(dk inspect -f '{{.NetworkSettings.Networks.net1.IPAddress}}' b2)
assert_contains "$(dk exec b2 cat /etc/hosts)" "$B2N1	" "connect updates /etc/hosts live"
assert_eq "$B2N1|$B2N1" "$(dk exec web1 sh -c 'nslookup extra | grep -A1 "^Name:" | grep Address | cut -d" " -f2; nslookup b2 | grep -A1 "^Name:" | grep Address | cut -d" " -f2' | paste -sd'|')" "peers resolve the new endpoint"
assert_eq "bridge net1" "$(dk inspect b2 | jq -r '.[0].NetworkSettings.Networks | keys | join(" ")')" "both networks in inspect"
out=$(dk network connect net1 b2 2>&1); assert_contains "$out" "endpoint with name b2 already exists in network net1" "connect twice"
out=$(dk network connect nosuch b2 2>&1); assert_contains "$out" "network nosuch not found" "connect to a missing network"
assert_eq "bridge net1" "$(dk inspect b2 | jq -r '.[0].NetworkSettings.Networks | keys | join(" ")')" "nothing changed by the failed connect"
dk network disconnect net1 b2
assert_eq "bridge" "$(ps_nets b2)" "ps follows a disconnect"
assert_eq "" "$(dk exec b2 ip -o link show eth1 2>/dev/null)" "disconnect removes eth1"
assert_not_contains "$(dk exec b2 cat /etc/hosts)" "$B2N1	" "disconnect updates /etc/hosts"
assert_eq "bridge" "$(dk inspect b2 | jq -r '.[0].NetworkSettings.Networks | keys | join(" ")')" "disconnected in inspect"
out=$(dk network disconnect net1 b2 2>&1); assert_contains "$out" "is not connected to network net1" "disconnect twice"
dk create --name cr --network net2 busybox sh -c 'ip -4 -o addr | grep -v " lo " | wc -l' >/dev/null
dk network connect net1 cr
assert_eq "" "$(dk inspect -f '{{.NetworkSettings.Networks.net1.IPAddress}}' cr)" "a stopped container has no address yet"
assert_eq 2 "$(dk start -a cr)" "connected while stopped: both networks at start"
out=$(dk network rm net1 2>&1); assert_contains "$out" "error while removing network: network net1 has active endpoints" "rm in use"

# several networks at create (API >= 1.44), primary first
api POST /containers/create?name=multi -H 'Content-Type: application/json' \
  -d "{\"Image\":\"busybox\",\"Cmd\":[\"sleep\",\"300\"],\"HostConfig\":{\"NetworkMode\":\"net2\"},\"NetworkingConfig\":{\"EndpointsConfig\":{\"net2\":{},\"net1\":{\"Aliases\":[\"both\"],\"IPAMConfig\":{\"IPv4Address\":\"$SUB.20\"}}}}}"
assert_eq 201 "$API_STATUS" "create on two networks: $API_BODY"
dk start multi >/dev/null
assert_eq "net1 net2" "$(dk inspect multi | jq -r '.[0].NetworkSettings.Networks | keys | join(" ")')" "two networks in inspect"
assert_contains "$(dk exec multi ip -4 -o addr show eth0)" "inet ${n2sub%.*/*}" "eth0 on the NetworkMode network"
assert_contains "$(dk exec multi ip -4 -o addr show eth1)" "inet $SUB.20/24" "eth1 on the second network, static address"
assert_contains "$(dk run --rm --network net1 busybox nslookup both)" "$SUB.20" "alias of the second network"

# ---- internal and IPv6 networks, host and none
dk network create --internal inet >/dev/null
dk run -d --name in1 --network inet busybox sleep 300 >/dev/null
assert_eq "" "$(dk exec in1 ip route | grep default)" "internal network: no default route"
IN1IP=$(dk inspect -f '{{.NetworkSettings.Networks.inet.IPAddress}}' in1)
out=$(dk run --rm --network inet busybox nslookup in1); assert_contains "$out" "$IN1IP" "internal network: names resolve"
V6=fd$(printf '%02x' $((RANDOM % 256))):$(printf '%x' $RANDOM):$(printf '%x' $RANDOM)
dk network create --ipv6 --subnet "$V6::/64" v6net >/dev/null
dk run -d --name s6 --network v6net busybox sleep 300 >/dev/null
S6=$(dk inspect -f '{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}}' s6)
assert_eq "$V6::2" "$S6" "IPv6 address from the subnet"
dk network connect --ip6 "$V6::99" v6net b1
assert_eq "$V6::99" "$(dk inspect -f '{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}}' b1)" "connect with a static IPv6 address"
assert_contains "$(dk exec b1 ip -6 -o addr show eth1)" "$V6::99/64" "static IPv6 address in the container"
out=$(dk run --rm --network v6net busybox sh -c 'ping6 -c1 -W2 s6 >/dev/null && echo ok6; nslookup -type=AAAA s6')
assert_contains "$out" "ok6" "IPv6 ping by name"
assert_contains "$out" "$S6" "AAAA record"
assert_contains "$(dk run --rm --network host busybox ip -4 -o addr)" "$(host_ipv4)/" "host network: the host's interfaces"
assert_eq "lo" "$(dk run --rm --network none busybox ls /sys/class/net)" "none: loopback only"
assert_eq "true" "$(dk inspect b1 | jq '.[0].NetworkSettings.Networks | has("bridge")')" "bridge mode listed as network bridge"

evs=$(dk events --since "$T0" --until "$(($(date +%s) + 1))" --filter type=network --format '{{.Action}}' | sort -u | paste -sd' ')
for a in create connect disconnect; do assert_contains "$evs" "$a" "network event $a"; done
assert_contains "$(dk events --since "$T0" --until "$(($(date +%s) + 1))" --filter type=network --filter event=connect --format '{{.Actor.Attributes.container}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}')" \
  "$W1 net1 bridge" "connect event attributes"

# ---- restart of the daemon: networks, addresses and names survive
B1ID=$(dk inspect -f '{{.Id}}' b1)
arcad_restart || t_finish
assert_eq "$NET1" "$(dk network inspect -f '{{.Id}}' net1)" "network ID kept"
assert_eq "$SUB.129" "$(dk inspect -f '{{.NetworkSettings.Networks.net1.IPAddress}}' web1)" "address kept for a running container"
assert_eq "${W1:0:12}" "$(dk run --rm --network net1 busybox wget -qO- http://www/hostname)" "names still resolve after a restart"
dk run -d --name after --network net1 busybox sleep 300 >/dev/null
assert_ne "$SUB.129" "$(dk inspect -f '{{.NetworkSettings.Networks.net1.IPAddress}}' after)" "no address handed out twice after a restart"
dk stop -t 0 web1 >/dev/null
assert_eq "" "$(dk inspect -f '{{.NetworkSettings.Networks.net1.IPAddress}}' web1)" "a stopped container has no address"
assert_eq "{}" "$(dk network inspect net1 | jq -c --arg id "$W1" '.[0].Containers | with_entries(select(.key == $id))')" "stopped: gone from Containers"
dk start web1 >/dev/null
assert_eq "${W1:0:12}" "$(dk run --rm --network net1 busybox wget -qO- http://www/hostname)" "restarted container resolvable again"
arcad_kill9
arcad_start || t_finish
assert_eq "running" "$(dk inspect -f '{{.State.Status}}' "$B1ID")" "re-adopted after SIGKILL"

# ---- prune, nothing left
T1=$(date +%s)
HASHES=$(for n in bridge net1 net2 inet v6net; do chain_hash "$n"; done)
NET1BR=$(bridge_of net1)
NET2BR=$(bridge_of net2)
INBR=$(bridge_of inet)
V6BR=$(bridge_of v6net)
DEFBR=$(jq -r '.[0].Options["com.docker.network.bridge.name"]' <<<"$binfo")
dk rm -f $(dk ps -aq) >/dev/null
out=$(dk network prune -f)
for n in net1 net2 inet v6net; do assert_contains "$out" "$n" "prune removes $n"; done
assert_eq "bridge host none" "$(names)" "prune keeps the predefined networks"
evs=$(dk events --since "$T1" --until "$(($(date +%s) + 1))" --filter type=network --filter event=destroy --format '{{.Actor.Attributes.name}}' | sort | paste -sd' ')
assert_eq "inet net1 net2 v6net" "$evs" "destroy events"
assert_no_link "no bridge left" "$NET1BR" "$NET2BR" "$INBR" "$V6BR" "$DEFBR"
# shellcheck disable=SC2086 # one word per network
assert_no_rules "no firewall rule left" "$SUB." "$n2sub" "$BSUB" "$V6::" $HASHES
assert_eq 0 "$(netns_left)" "no network namespace left"
t_finish
