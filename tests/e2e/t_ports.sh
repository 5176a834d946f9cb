#!/usr/bin/env bash
# Published ports through the real CLI and the API: -p host:container, ip:host:container,
# ranges, -P, HostPort "" and "0" (a free port chosen, as Testcontainers needs), UDP;
# reachable from 127.0.0.1, the host's address and other containers; NetworkSettings.Ports,
# `docker port`, `docker ps`; a port held by another program or another container fails the
# start with Docker's text and leaves no rule; ports are released at stop, held again at
# start and across a daemon restart.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/netlib.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh}"
arcad_start || t_finish
dk pull -q "$REGISTRY_ADDR/busybox" >/dev/null && dk tag "$REGISTRY_ADDR/busybox" busybox
HOSTIP=$(host_ipv4)
httpd=(busybox httpd -f -p 80 -h /etc)

# ---- -p host:container, reachable from everywhere it should be
P1=$(free_port)
dk run -d --name web -p "$P1:80" "${httpd[@]}" >/dev/null
W=$(dk inspect -f '{{.Id}}' web | cut -c1-12)
assert_eq "$W" "$(get "http://127.0.0.1:$P1/hostname")" "from 127.0.0.1"
assert_eq "$W" "$(get "http://$HOSTIP:$P1/hostname")" "from the host's address"
assert_eq "$W" "$(dk run --rm busybox timeout 5 wget -qO- "http://$HOSTIP:$P1/hostname")" "from another container (hairpin)"
dk network create pnet >/dev/null
assert_eq "$W" "$(dk run --rm --network pnet busybox timeout 5 wget -qO- "http://$HOSTIP:$P1/hostname")" "from a container on another network"
assert_eq "80/tcp -> 0.0.0.0:$P1" "$(dk port web)" "docker port"
assert_eq "0.0.0.0:$P1" "$(dk port web 80)" "docker port 80"
assert_eq "{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"$P1\"}]}" "$(dk inspect web | jq -c '.[0].NetworkSettings.Ports')" "NetworkSettings.Ports"
assert_eq "0.0.0.0:$P1->80/tcp" "$(dk ps --filter name=web --format '{{.Ports}}')" "ps Ports"
api GET "/containers/json?filters=%7B%22name%22%3A%5B%22web%22%5D%7D"
assert_eq "[{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":$P1,\"Type\":\"tcp\"}]" "$(jq -c '.[0].Ports' <<<"$API_BODY")" "list Ports"
assert_contains "$(ss -Hltnp "sport = :$P1")" "arcad" "the host port is held by arcad"
assert_eq "web" "$(dk ps --filter publish="$P1" --format '{{.Names}}')" "ps --filter publish"

# ---- an address, a range, -P, UDP
P2=$(free_port)
dk run -d --name loonly -p "127.0.0.1:$P2:80" "${httpd[@]}" >/dev/null
assert_eq "$(dk inspect -f '{{.Id}}' loonly | cut -c1-12)" "$(get "http://127.0.0.1:$P2/hostname")" "bound to 127.0.0.1"
assert_eq "000" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$HOSTIP:$P2/hostname")" "not on the host's other addresses"
assert_eq "127.0.0.1:$P2" "$(dk port loonly 80)" "docker port with an address"
for i in $(seq 1 20); do
  P3=$((20000 + RANDOM % 20000))
  [ -z "$(ss -Hltn "( sport = :$P3 or sport = :$((P3 + 1)) or sport = :$((P3 + 2)) )")" ] && break
done
dk run -d --name ranged -p "$P3-$((P3 + 2)):80" "${httpd[@]}" >/dev/null
dk run -d --name ranged2 -p "$P3-$((P3 + 2)):80" "${httpd[@]}" >/dev/null
assert_eq "0.0.0.0:$P3 0.0.0.0:$((P3 + 1))" "$(dk port ranged 80) $(dk port ranged2 80)" "a range gives the first free port"
dk run -d --name pall -P --expose 8080 --expose 9090/udp busybox httpd -f -p 8080 -h /etc >/dev/null
PA=$(dk port pall 8080/tcp | cut -d: -f2)
PU=$(dk port pall 9090/udp | cut -d: -f2)
assert_match "$PA $PU" '^[0-9]+ [0-9]+$' "-P publishes every exposed port"
assert_eq "$(dk inspect -f '{{.Id}}' pall | cut -c1-12)" "$(get "http://127.0.0.1:$PA/hostname")" "-P port reachable"
use_netapps netclient || fail "application images"
PUDP=$(free_port)
dk run -d --name udp -p "$PUDP:5353/udp" netclient socat -u UDP-RECV:5353 OPEN:/tmp/got,creat,append >/dev/null
sleep 0.5
/usr/bin/python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'datagram\n', ('127.0.0.1', $PUDP))"
wait_output 5 datagram dk exec udp cat /tmp/got || fail "UDP datagram not received"
assert_eq "datagram" "$(dk exec udp cat /tmp/got)" "UDP port"
assert_eq "5353/udp -> 0.0.0.0:$PUDP" "$(dk port udp)" "docker port of a UDP port"

# ---- HostPort "" and "0": a free port is chosen (Testcontainers)
for hp in '""' '"0"'; do
  api POST /containers/create -H 'Content-Type: application/json' \
    -d "{\"Image\":\"busybox\",\"Cmd\":[\"httpd\",\"-f\",\"-p\",\"80\",\"-h\",\"/etc\"],\"ExposedPorts\":{\"80/tcp\":{}},\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":$hp}]}}}"
  id=$(jq -r .Id <<<"$API_BODY")
  api POST "/containers/$id/start"
  assert_eq 204 "$API_STATUS" "start with HostPort $hp"
  hport=$(dk inspect "$id" | jq -r '.[0].NetworkSettings.Ports["80/tcp"][0].HostPort')
  assert_match "$hport" '^[1-9][0-9]+$' "HostPort $hp: a port chosen"
  assert_eq "${id:0:12}" "$(get "http://127.0.0.1:$hport/hostname")" "HostPort $hp: reachable"
done

# ---- ports in use: Docker's errors, no rule, the container stays created
PB=$(free_port)
/usr/bin/python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0',$PB)); s.listen(); time.sleep(60)" &
HOLDER=$!
wait_for 5 sh -c "ss -Hltn 'sport = :$PB' | grep -q LISTEN"
out=$(dk run -d --name busy -p "$PB:80" "${httpd[@]}" 2>&1); rc=$?
assert_eq 125 "$rc" "run exits 125"
assert_contains "$out" "failed to set up container networking: driver failed programming external connectivity on endpoint busy (" "port in use: Docker's text"
assert_contains "$out" "failed to bind host port for 0.0.0.0:$PB:" "port in use: the binding named"
assert_contains "$out" "/tcp: address already in use" "port in use: the cause"
assert_eq "created" "$(dk inspect -f '{{.State.Status}}' busy)" "the container does not start"
assert_eq "{}" "$(dk inspect busy | jq -c '.[0].NetworkSettings.Ports')" "no ports recorded"
assert_no_rules "no rule for the refused port" "dport $PB "
out=$(dk run -d --name twice -p "$P1:80" "${httpd[@]}" 2>&1)
assert_contains "$out" "Bind for 0.0.0.0:$P1 failed: port is already allocated" "port of another container"
assert_eq "created" "$(dk inspect -f '{{.State.Status}}' twice)" "second container stays created"
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
dk start busy >/dev/null
assert_eq "$(dk inspect -f '{{.Id}}' busy | cut -c1-12)" "$(get "http://127.0.0.1:$PB/hostname")" "starts once the port is free"

# ---- stop releases, start takes again, a daemon restart keeps
dk stop -t 1 web >/dev/null
assert_eq "" "$(ss -Hltn "sport = :$P1")" "stop releases the host port"
assert_no_rules "stop removes the rules" "dport $P1 "
assert_eq "{}" "$(dk inspect web | jq -c '.[0].NetworkSettings.Ports')" "stopped: no ports"
assert_eq "" "$(dk port web)" "stopped: docker port prints nothing"
dk start web >/dev/null
assert_eq "$W" "$(get "http://127.0.0.1:$P1/hostname")" "start publishes again"
arcad_restart || t_finish
assert_contains "$(ss -Hltnp "sport = :$P1")" "arcad" "held again after a daemon restart"
assert_eq "$W" "$(get "http://127.0.0.1:$P1/hostname")" "still reachable after a daemon restart"
assert_eq "80/tcp -> 0.0.0.0:$P1" "$(dk port web)" "docker port after a restart"

# ---- the last container leaving a network has no ports: the network's port chain goes too
dk network create lastnet >/dev/null
LH=$(chain_hash lastnet)
PL=$(free_port)
dk run -d --name withport --network lastnet -p "$PL:80" "${httpd[@]}" >/dev/null
dk run -d --name noport --network lastnet busybox sleep 300 >/dev/null
assert_contains "$(rules_with "$LH")" "NETAVARK-DN-$LH" "the network's port chain exists"
dk rm -f withport >/dev/null
dk rm -f noport >/dev/null
# as dockerd keeps its bridges, the network stays set up (warm) while it exists ...
assert_contains "$(rules_with "$LH")" "NETAVARK-$LH" "the network's chains stay after its last container"
dk network rm lastnet >/dev/null
# ... and goes with it, port chain included
assert_no_rules "no chain left once the network is removed" "$LH"
dk network rm lastnet >/dev/null

# ---- a container that ends while the daemon is down frees its port when the daemon returns
PD=$(free_port)
dk run -d --name dies -p "$PD:80" "${httpd[@]}" >/dev/null
DIES=$(dk inspect -f '{{.Id}}' dies)
arcad_kill9
conmon=$(pgrep -f "conmon .*-c $DIES")
for p in $(pgrep -P "$conmon"); do kill -9 "$p"; done
wait_for 10 sh -c "! kill -0 $conmon 2>/dev/null"
arcad_start || t_finish
# re-adoption runs once the API is up
wait_for 10 sh -c "[ \"\$($DOCKER_BIN inspect -f '{{.State.Status}}' dies)\" = exited ]"
assert_eq "exited" "$(dk inspect -f '{{.State.Status}}' dies)" "ended while the daemon was down"
assert_eq "" "$(ss -Hltn "sport = :$PD")" "its port released at re-adoption"
assert_no_rules "its rules removed at re-adoption" "dport $PD "

# ---- nothing left
BH=$(chain_hash bridge)
PH=$(chain_hash pnet)
dk rm -f $(dk ps -aq) >/dev/null
dk network rm pnet >/dev/null
assert_no_rules "no chain left by a removed network" "$PH"
assert_no_rules "no rule left" "dport $P1 " "dport $P2 " "dport $P3 " "dport $PA " "dport $PU " "dport $PUDP " "dport $PB "
assert_eq "" "$(ss -Hltn "( sport = :$P1 or sport = :$P2 or sport = :$PA or sport = :$PB )")" "no port held"
assert_eq 0 "$(netns_left)" "no network namespace left"
# the default bridge stays set up while the daemon runs; a daemon that stops takes it down
BRIF=$(bridge_of bridge)
ANCHOR="aw$(dk network inspect -f '{{.Id}}' bridge | cut -c1-13)"
assert_true "the default bridge is held by a warm-keeping link" test -e "/sys/class/net/$ANCHOR"
assert_contains "$(rules_with "$BH")" "NETAVARK-$BH" "the default bridge stays warm"
arcad_stop
assert_no_rules "no chain left after the daemon stopped" "$BH"
assert_no_link "no bridge left after the daemon stopped" "$BRIF"
assert_no_link "no warm-keeping link left" "$ANCHOR"
assert_eq 0 "$(netns_left)" "no network namespace left after the daemon stopped"
t_finish
