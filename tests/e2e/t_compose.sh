#!/usr/bin/env bash
# docker-compose 1.29 (Compose v1, Debian's package: it drives the API through docker-py)
# against Arca with applications built from Debian packages (lib/netfixtures.sh):
#   1. web (nginx) + cache (redis) + a client reaching both by service name, on a user
#      network, with a named volume (filled from the image at first mount), a published
#      port, depends_on and environment: up -d, ps, logs, exec, restart, scale, down -v;
#   2. WordPress + MariaDB: after up -d the install page is served on a published port.
# Nothing may be left after down -v: no container, network, volume, bridge or rule.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/netlib.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh}"
arcad_start || t_finish
use_netapps nginx redis netclient mariadb wordpress || fail "application images"
dc() { docker-compose --ansi never "$@" 2>&1; }
export COMPOSE_HTTP_TIMEOUT=120

# ---- 1. web + cache + client
P1=$(free_port)
mkdir -p "$T_WORK/app1"
cat >"$T_WORK/app1/docker-compose.yml" <<EOF
version: "3.8"
services:
  web:
    image: nginx
    ports: ["$P1:80"]
    volumes: ["content:/var/www/html"]
    networks: [appnet]
  cache:
    image: redis
    networks: [appnet]
  client:
    image: netclient
    depends_on: [web, cache]
    environment:
      GREETING: hello-from-env
    command: ["sh", "-c", "echo client-started; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
    networks: [appnet]
networks:
  appnet:
    labels: {purpose: e2e}
volumes:
  content: {}
EOF
cd "$T_WORK/app1" || t_finish
t0=$SECONDS
out=$(dc -p app1 up -d); rc=$?
log "app1 up -d took $((SECONDS - t0))s"
assert_eq 0 "$rc" "up -d: $out"
assert_contains "$out" 'Creating network "app1_appnet"' "compose created the network"
assert_contains "$out" 'Creating volume "app1_content"' "compose created the volume"
ps=$(dc -p app1 ps)
for s in web cache client; do assert_match "$ps" "app1_${s}_1 .* Up" "ps lists $s up"; done
assert_contains "$ps" "0.0.0.0:$P1->80/tcp" "ps shows the published port"
assert_eq "hello from nginx" "$(get "http://127.0.0.1:$P1/")" "web from the host, page copied into the new volume"
assert_eq "hello from nginx" "$(dc -p app1 exec -T client curl -s http://web/)" "client reaches web by service name"
assert_eq "PONG" "$(dc -p app1 exec -T client redis-cli -h cache ping)" "client reaches cache by service name"
dc -p app1 exec -T client redis-cli -h cache set greeting hi >/dev/null
assert_eq "hi" "$(dc -p app1 exec -T client redis-cli -h cache get greeting)" "redis keeps a value"
assert_eq "hello-from-env" "$(dc -p app1 exec -T client sh -c 'echo $GREETING')" "environment"
assert_eq "hello from nginx" "$(dc -p app1 exec -T client curl -s http://app1_web_1/)" "container names resolve too"
wait_output 10 client-started dc -p app1 logs --no-color client || fail "client logs"
assert_contains "$(dc -p app1 logs --no-color client)" "client_1  | client-started" "logs"
assert_eq "e2e" "$(dk network inspect -f '{{.Labels.purpose}}' app1_appnet)" "network labels from the compose file"
assert_eq "app1" "$(dk volume inspect -f '{{index .Labels "com.docker.compose.project"}}' app1_content)" "volume labelled by compose"
CACHE_IP=$(dk inspect -f '{{.NetworkSettings.Networks.app1_appnet.IPAddress}}' app1_cache_1)
out=$(dc -p app1 restart cache); assert_contains "$out" "Restarting app1_cache_1" "restart"
# aardvark-dns reloads its records a moment after the endpoint is set up
wait_output 5 PONG dc -p app1 exec -T client redis-cli -h cache ping
assert_eq "PONG" "$(dc -p app1 exec -T client redis-cli -h cache ping)" "cache reachable by name after its restart"
assert_match "$(dk inspect -f '{{.NetworkSettings.Networks.app1_appnet.IPAddress}}' app1_cache_1)" '^[0-9.]+$' "restarted cache has an address (was $CACHE_IP)"
out=$(dc -p app1 up -d --scale client=2); rc=$?
assert_eq 0 "$rc" "scale: $out"
assert_eq 4 "$(dc -p app1 ps -q | wc -l)" "scale adds a client"
assert_eq "PONG" "$(dc -p app1 exec -T --index=2 client redis-cli -h cache ping)" "second client reaches cache"
addrs=$(for c in web_1 cache_1 client_1 client_2; do
  dk inspect -f '{{.NetworkSettings.Networks.app1_appnet.IPAddress}} {{.NetworkSettings.Networks.app1_appnet.MacAddress}}' "app1_$c"
done)
assert_eq 4 "$(awk '{print $1}' <<<"$addrs" | sort -u | grep -c .)" "four distinct addresses: $addrs"
br=$(ip -o addr show | awk -v gw="$(dk network inspect -f '{{(index .IPAM.Config 0).Gateway}}' app1_appnet)/" 'index($4, gw) == 1 {print $2}')
assert_eq 3 "$(cat "/sys/class/net/$br/addr_assign_type" 2>&1)" "the bridge's address is pinned (ports coming and going do not change it)"
assert_eq 4 "$(awk '{print $2}' <<<"$addrs" | sort -u | grep -c .)" "four distinct MAC addresses: $addrs"
# aardvark-dns re-reads its records in its own thread after netavark's SIGHUP; a lookup
# that is not answered would wait for the resolver's timeouts, hence the bound
lookup() { dc -p app1 exec -T --index="$1" client timeout 3 getent ahostsv4 client | awk '{print $1}' | sort -u; }
wait_output 15 "$(dk inspect -f '{{.NetworkSettings.Networks.app1_appnet.IPAddress}}' app1_client_2)" lookup 1 || true
for i in 1 2; do
  out=$(lookup "$i")
  fails=$T_FAILS
  assert_eq 2 "$(grep -c . <<<"$out")" "the service name resolves to both clients, from client $i: $out"
  if [ "$T_FAILS" -gt "$fails" ]; then
    log "addresses: $addrs"
    for f in "$T_RUN"/netavark/aardvark-dns/*; do [ -f "$f" ] && log "$(basename "$f"): $(tr '\n' '|' <"$f")"; done
    log "client $i: $(dc -p app1 exec -T --index="$i" client sh -c 'cat /etc/resolv.conf; ip -o addr; ip neigh' | tr '\n' '|')"
  fi
done
out=$(dc -p app1 stop client); assert_contains "$out" "Stopping app1_client_2" "stop"
APP1_BR=$(bridge_of app1_appnet)
APP1_H=$(chain_hash app1_appnet)
APP1_SUB=$(dk network inspect -f '{{(index .IPAM.Config 0).Subnet}}' app1_appnet)
out=$(dc -p app1 down -v); rc=$?
assert_eq 0 "$rc" "down -v: $out"
assert_contains "$out" "Removing network app1_appnet" "down removes the network"
assert_contains "$out" "Removing volume app1_content" "down -v removes the volume"
assert_eq "" "$(dk ps -aq)" "no container left"
assert_eq "bridge host none" "$(dk network ls --format '{{.Name}}' | sort | paste -sd' ')" "no network left"
assert_eq "" "$(dk volume ls -q)" "no volume left"
assert_no_link "no bridge left" "$APP1_BR"
assert_no_rules "no rule left" "$APP1_SUB" "dport $P1 " "$APP1_H"

# ---- 2. WordPress + MariaDB
P2=$(free_port)
mkdir -p "$T_WORK/wp"
cat >"$T_WORK/wp/docker-compose.yml" <<EOF
version: "3.8"
services:
  db:
    image: mariadb
    environment:
      MYSQL_DATABASE: wordpress
      MYSQL_USER: wp
      MYSQL_PASSWORD: secret
    volumes: ["dbdata:/var/lib/mysql"]
  wordpress:
    image: wordpress
    depends_on: [db]
    ports: ["$P2:80"]
    environment:
      WORDPRESS_DB_HOST: db
      WORDPRESS_DB_USER: wp
      WORDPRESS_DB_PASSWORD: secret
      WORDPRESS_DB_NAME: wordpress
volumes:
  dbdata: {}
EOF
cd "$T_WORK/wp" || t_finish
t0=$SECONDS
out=$(dc -p wp up -d); rc=$?
assert_eq 0 "$rc" "wordpress up -d: $out"
install=""
for i in $(seq 1 120); do
  install=$(curl -s --max-time 5 "http://127.0.0.1:$P2/wp-admin/install.php" 2>/dev/null)
  [[ "$install" == *"WordPress &rsaquo; Installation"* ]] && break
  sleep 0.5
done
log "WordPress install page after $((SECONDS - t0))s"
assert_contains "$install" "<title>WordPress &rsaquo; Installation</title>" "WordPress install page served on the published port"
assert_not_contains "$install" "Error establishing a database connection" "WordPress reached MariaDB by service name"
assert_eq "1" "$(dk exec wp_db_1 mariadb -N -e "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='wordpress'")" "the database exists"
assert_true "the system tables came from the image into the new volume" test -d "$T_DATA/volumes/wp_dbdata/_data/mysql"
WP_SUB=$(dk network inspect -f '{{(index .IPAM.Config 0).Subnet}}' wp_default)
WP_H=$(chain_hash wp_default)
out=$(dc -p wp down -v); rc=$?
assert_eq 0 "$rc" "wordpress down -v: $out"
assert_eq "" "$(dk ps -aq)$(dk volume ls -q)" "nothing left by the WordPress app"
assert_no_rules "no rule or chain left" "$WP_SUB" "dport $P2 " "$WP_H"
assert_eq 0 "$(netns_left)" "no network namespace left"
cd /
t_finish
