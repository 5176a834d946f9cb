#!/usr/bin/env bash
# Bad input at the transport: malformed HTTP, oversized headers and bodies, invalid JSON,
# many idle connections, a client that sends one byte a second. Each gets a clear answer
# and every other client is still served; no file descriptors or threads leak.
. "$(dirname "$0")/lib/common.sh"
arcad_start || t_finish
PY=/usr/bin/python3

served() { [ "$(dk version --format '{{.Server.APIVersion}}' 2>/dev/null)" = 1.51 ]; }
fd0=$(arcad_fd_count)

# raw requests over the socket; prints the status line
raw() { # bytes (printf format)
  $PY - "$T_SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().decode('unicode_escape').encode('latin-1'))
data = b''
try:
    while True:
        c = s.recv(65536)
        if not c: break
        data += c
        if b'\r\n\r\n' in data and (b'Content-Length' in data or len(data) > 4096): break
except socket.timeout:
    pass
print(data.split(b'\r\n', 1)[0].decode(errors='replace'))
PY
}
out=$(raw 'GET /_ping HTTP/1.1\r\nthis is no header\r\n\r\n')
assert_match "$out" "^HTTP/1\.[01] 400" "malformed header line gets 400"
out=$(raw 'GET /_ping HTTP/9.9\r\nHost: x\r\n\r\n')
assert_match "$out" "^HTTP/1\.[01] (400|505)" "unknown HTTP version refused"
assert_true "served after malformed requests" served

# oversized headers: a clear refusal, then business as usual
out=$($PY - "$T_SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
try:
    s.sendall(b'GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * (300 << 10) + b'\r\n\r\n')
except OSError:
    pass
try:
    print(s.recv(4096).split(b'\r\n', 1)[0].decode())
except Exception as e:
    print('closed', e)
PY
)
assert_match "$out" "^HTTP/1\.[01] 431" "oversized header refused with 431"
assert_true "served after oversized headers" served

# a JSON body above the limit: 413 with Docker's error shape
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$T_WORK/big.json"
api POST /swarm/init -H 'Content-Type: application/json' --data-binary @"$T_WORK/big.json"
assert_eq 413 "$API_STATUS" "oversized JSON body status"
assert_contains "$(jq -r .message <<<"$API_BODY")" "larger than the limit" "oversized JSON body message"

# invalid JSON, wrong content type, trailing content: Docker's 400 texts
api POST /swarm/init -H 'Content-Type: application/json' -d '{"ListenAddr": '
assert_eq 400 "$API_STATUS" "invalid JSON status"
assert_contains "$(jq -r .message <<<"$API_BODY")" "invalid JSON" "invalid JSON message"
api POST /swarm/init -H 'Content-Type: text/plain' -d '{}'
assert_eq "400" "$API_STATUS" "wrong content type status"
assert_eq "unsupported Content-Type header (text/plain): must be 'application/json'" "$(jq -r .message <<<"$API_BODY")" "wrong content type message"
api POST /swarm/init -H 'Content-Type: application/json' -d '{} {}'
assert_eq "400 unexpected content after JSON" "$API_STATUS $(jq -r .message <<<"$API_BODY")" "trailing content"
api POST /swarm/init -H 'Content-Type: application/json' -d '{}'
assert_eq 503 "$API_STATUS" "valid JSON reaches the handler"

# 200 idle connections, then ordinary clients are still served; all are released after
$PY - "$T_SOCK" >"$T_WORK/idle.log" 2>&1 <<'PY' &
import socket, sys, time
conns = []
for i in range(200):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); conns.append(s)
print("open", flush=True)
time.sleep(4)
for s in conns: s.close()
PY
idle=$!
wait_for 5 grep -q open "$T_WORK/idle.log" || fail "idle connections not opened"
t0=$(date +%s%N)
assert_true "served with 200 idle connections" served
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_true "version with 200 idle connections answered quickly (${dt}ms)" test "$dt" -lt 2000
wait "$idle"

# one byte a second: a slowloris client does not hold others up
$PY - "$T_SOCK" >/dev/null 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
for b in b'GET /_ping HTTP/1.1\r\nHost: x\r\n':
    s.send(bytes([b])); time.sleep(0.1)
s.close()
PY
slow=$!
for i in 1 2 3; do assert_true "served during a slow client ($i)" served; done
wait "$slow"

# streams whose clients vanish leave nothing behind
for i in $(seq 1 20); do
  curl -s --max-time 0.2 --unix-socket "$T_SOCK" http://arca/events >/dev/null
done
sleep 0.5
for i in $(seq 1 50); do curl -s --unix-socket "$T_SOCK" http://arca/_ping >/dev/null; done
fd_count_back() { [ "$(arcad_fd_count)" -le $((fd0 + 2)) ]; }
wait_for 10 fd_count_back || fail "file descriptors leaked: $fd0 at start, $(arcad_fd_count) now"
assert_true "threads back to idle ($(arcad_thread_count))" test "$(arcad_thread_count)" -le 8

t_finish
