#!/usr/bin/env bash
# Configuration and listeners: daemon.json vs flags (unknown keys, conflicts), several -H,
# TCP on loopback, mutual TLS, the refusal of plain TCP off loopback, socket mode and group,
# the docker.sock symlink, JSON logs, SIGHUP reload, doctor and the prerequisite refusal.
. "$(dirname "$0")/lib/common.sh"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# unknown key in the file: refuses to start, says which
echo '{"debug": true, "bogus-key": 1}' >"$T_WORK/bad.json"
out=$("$ARCAD" --config-file "$T_WORK/bad.json" --data-root "$T_DATA" -H "unix://$T_SOCK" 2>&1); rc=$?
assert_eq 1 "$rc" "unknown key exit status"
assert_contains "$out" "the following directives don't match any configuration option: bogus-key" "unknown key message"
# a key given both ways with different values
echo "{\"data-root\": \"$T_WORK/other\"}" >"$T_WORK/conflict.json"
out=$("$ARCAD" --config-file "$T_WORK/conflict.json" --data-root "$T_DATA" -H "unix://$T_SOCK" 2>&1); rc=$?
assert_eq 1 "$rc" "conflict exit status"
assert_contains "$out" "the following directives are specified both as a flag and in the configuration file: data-root: (from flag: $T_DATA, from file: $T_WORK/other)" "conflict message"
# the same value both ways is fine; a missing named file is an error
echo "{\"data-root\": \"$T_DATA\", \"log-level\": \"warn\"}" >"$T_WORK/same.json"
T_CONFIG_FILE="$T_WORK/same.json" arcad_start && pass
arcad_stop
out=$("$ARCAD" --config-file "$T_WORK/nope.json" -H "unix://$T_SOCK" 2>&1); rc=$?
assert_eq "1" "$rc" "missing named config file"
assert_contains "$out" "nope.json" "missing file named in the message"
out=$("$ARCAD" --log-level chatty -H "unix://$T_SOCK" 2>&1)
assert_contains "$out" "unable to parse logging level: chatty" "bad log level"
out=$("$ARCAD" --no-such-flag 2>&1); rc=$?
assert_eq 1 "$rc" "unknown flag exit status"
out=$("$ARCAD" --help 2>&1)
assert_contains "$out" "--insecure-registry" "help lists flags"
assert_contains "$("$ARCAD" --version)" "Arca version" "--version"

# the example file of the repository is valid
out=$("$ARCAD" doctor --config-file "$E2E_DIR/../../config/daemon.json" 2>&1); rc=$?
assert_not_contains "$out" "unable to configure" "config/daemon.json is a valid configuration"
assert_contains "$out" "prerequisites" "doctor ran with the example file"

# plain TCP off loopback is refused, as dockerd's warning says why
out=$("$ARCAD" --data-root "$T_DATA" -H "tcp://0.0.0.0:2375" 2>&1); rc=$?
assert_eq 1 "$rc" "non-loopback tcp without tlsverify refused"
assert_contains "$out" "without --tlsverify" "refusal names tlsverify"

# unix + tcp loopback at once; socket mode 0660 and group docker when it exists
port=$(free_port)
arcad_start -H "tcp://127.0.0.1:$port" --log-format json || t_finish
assert_eq 660 "$(stat -c %a "$T_SOCK")" "socket mode"
if getent group docker >/dev/null; then assert_eq docker "$(stat -c %G "$T_SOCK")" "socket group"; fi
assert_eq 1.51 "$(DOCKER_HOST=tcp://127.0.0.1:$port dk version --format '{{.Server.APIVersion}}')" "tcp listener"
assert_eq 1.51 "$(dk version --format '{{.Server.APIVersion}}')" "unix listener beside tcp"
last=$(grep -v '^=' "$T_LOG" | grep '"msg"' | tail -1)
assert_eq "ok" "$(jq -r 'if .time and .level and .msg then "ok" else "bad" end' <<<"$last" 2>&1)" "log-format json lines"
assert_contains "$(grep '"msg":"request"' "$T_LOG" | tail -1)" '"status":"200"' "request log line has status"
assert_not_contains "$(cat "$T_LOG")" "X-Registry-Auth" "no auth header in logs"

# SIGHUP: reloadable keys apply, a daemon reload event is published
echo '{"insecure-registries": ["10.1.2.3:5000"], "debug": true}' >"$T_WORK/daemon.json"
kill -HUP "$ARCAD_PID"
reloaded() { dk info --format '{{json .RegistryConfig.IndexConfigs}}' | grep -q 10.1.2.3:5000; }
wait_for 5 reloaded || fail "SIGHUP did not apply insecure-registries"
out=$(dk events --since 1h --until "$(( $(date +%s) + 1 ))" --filter type=daemon --format '{{.Action}} {{index .Actor.Attributes "insecure-registries"}}')
assert_contains "$out" "reload [10.1.2.3:5000]" "reload event"
echo '{"bogus": 1}' >"$T_WORK/daemon.json"
kill -HUP "$ARCAD_PID"; sleep 0.3
assert_true "a bad reload keeps the daemon serving" test "$(dk version --format '{{.Server.APIVersion}}')" = 1.51
echo '{}' >"$T_WORK/daemon.json"
arcad_stop

# mutual TLS on loopback
certs="$T_WORK/certs"; mkdir -p "$certs"
(
  cd "$certs" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=arca-test-ca 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /CN=127.0.0.1 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem -days 2 -extfile server.ext 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr -subj /CN=client 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >client.ext
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 2 -extfile client.ext 2>/dev/null
  # a client certificate from another CA
  openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue-key.pem -out rogue.pem -days 2 -subj /CN=rogue 2>/dev/null
)
tport=$(free_port)
arcad_start -H "tcp://127.0.0.1:$tport" --tlsverify --tlscacert "$certs/ca.pem" --tlscert "$certs/server-cert.pem" --tlskey "$certs/server-key.pem" || t_finish
v=$(DOCKER_HOST=tcp://127.0.0.1:$tport DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$certs" dk version --format '{{.Server.APIVersion}}' 2>&1)
assert_eq 1.51 "$v" "mutual TLS with a good client certificate"
out=$(curl -s --max-time 5 --cacert "$certs/ca.pem" "https://127.0.0.1:$tport/_ping" 2>&1); rc=$?
assert_ne 0 "$rc" "TLS without a client certificate refused"
out=$(curl -s --max-time 5 --cacert "$certs/ca.pem" --cert "$certs/rogue.pem" --key "$certs/rogue-key.pem" "https://127.0.0.1:$tport/_ping" 2>&1); rc=$?
assert_ne "0OK" "$rc$out" "TLS with a certificate of another CA refused"
out=$(curl -s --max-time 5 --cacert "$certs/ca.pem" --cert "$certs/cert.pem" --key "$certs/key.pem" "https://127.0.0.1:$tport/_ping")
assert_eq OK "$out" "curl with the client certificate"
out=$(curl -s --max-time 5 "http://127.0.0.1:$tport/_ping" 2>&1); rc=$?
assert_ne "0OK" "$rc$out" "plain HTTP on the TLS port refused"
arcad_stop

# --docker-socket-symlink, only when the host has no docker.sock of its own
if [ ! -e /var/run/docker.sock ] && [ ! -L /var/run/docker.sock ]; then
  arcad_start --docker-socket-symlink || t_finish
  assert_eq "$T_SOCK" "$(readlink /var/run/docker.sock)" "docker.sock points at arca"
  assert_eq 1.51 "$(DOCKER_HOST=unix:///var/run/docker.sock dk version --format '{{.Server.APIVersion}}')" "through docker.sock"
  arcad_stop
  assert_true "symlink removed at shutdown" test ! -L /var/run/docker.sock
else
  log "skip: /var/run/docker.sock belongs to something else on this host"
fi

# doctor, and the refusal to start without a prerequisite (crun refuses cgroup v1)
out=$("$ARCAD" doctor --data-root "$T_DATA" -H "unix://$T_SOCK" 2>&1); rc=$?
assert_contains "$out" "conmon" "doctor lists conmon"
assert_contains "$out" "netavark" "doctor lists netavark"
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
  out=$("$ARCAD" --runtime crun --data-root "$T_DATA" -H "unix://$T_SOCK" 2>&1); rc=$?
  assert_eq 1 "$rc" "crun on cgroup v1 refused"
  assert_contains "$out" "crun refuses cgroup v1" "refusal says why"
  assert_contains "$out" "runtime runc" "refusal says the fix"
  out=$("$ARCAD" doctor --runtime crun --data-root "$T_DATA" 2>&1); rc=$?
  assert_eq 1 "$rc" "doctor exit status with a missing prerequisite"
fi
out=$(PATH=/nonexistent "$ARCAD" --data-root "$T_DATA" -H "unix://$T_SOCK" 2>&1); rc=$?
assert_eq 1 "$rc" "missing runc refused"
assert_contains "$out" "apt-get install -y runc" "missing runc fix command"
assert_true "no socket after a refused start" test ! -e "$T_SOCK"

t_finish
