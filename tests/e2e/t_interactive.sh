#!/usr/bin/env bash
# Interactive containers through real terminals (tmux) and pipes: run -it, exec -it, exit
# codes, window resizes, detach and attach again, stdin EOF, 100 MB byte for byte, output
# of short-lived containers never lost, exec errors as dockerd, WebSocket attach, dockerode,
# and no leaked descriptors or threads.
. "$(dirname "$0")/lib/common.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh}"
arcad_start || t_finish
dk pull -q "$REGISTRY_ADDR/busybox" >/dev/null && dk tag "$REGISTRY_ADDR/busybox" busybox
TMUX_SOCK="$T_WORK/tmux.sock"
tm() { tmux -S "$TMUX_SOCK" "$@"; }
pane() { tm capture-pane -t "$1" -p -J | grep -v '^$'; }
pane_has() { pane "$1" | grep -qF -- "$2"; }
file_has() { grep -qF -- "$2" "$1" 2>/dev/null; }

# docker run -it: type, read, resize, exit code
tm new-session -d -s run -x 120 -y 30 "DOCKER_HOST=$DOCKER_HOST $DOCKER_BIN run -it --name itest busybox sh; echo EXIT=\$? > $T_WORK/run.exit; sleep 600"
wait_for 10 pane_has run '/ #' || fail "no prompt from docker run -it: $(pane run)"
tm send-keys -t run 'echo typed-$((6*7))' Enter
wait_for 5 pane_has run 'typed-42' || fail "typed command output"
tm send-keys -t run 'stty size' Enter
wait_for 5 pane_has run '30 120' || fail "initial window size: $(pane run | tail -3)"
tm resize-window -t run -x 90 -y 20
sleep 0.5
tm send-keys -t run 'stty size' Enter
wait_for 5 pane_has run '20 90' || fail "stty size follows a resize: $(pane run | tail -3)"
tm send-keys -t run 'exit 3' Enter
wait_for 10 file_has "$T_WORK/run.exit" 'EXIT=' || fail "docker run -it did not end"
assert_eq "EXIT=3" "$(cat "$T_WORK/run.exit")" "exit 3 gives exit code 3"
events=$(dk events --since 1m --until "$(( $(date +%s) + 1 ))" --filter container=itest --format '{{.Action}}' | sort -u | tr '\n' ' ')
assert_contains "$events" "resize" "resize event"
assert_contains "$events" "attach" "attach event"

# ctrl-p ctrl-q detaches, docker attach comes back
tm new-session -d -s det -x 100 -y 25 "DOCKER_HOST=$DOCKER_HOST $DOCKER_BIN run -it --name det busybox sh; echo EXIT=\$? > $T_WORK/det.exit; sleep 600"
wait_for 10 pane_has det '/ #' || fail "no prompt (detach test)"
tm send-keys -t det C-p C-q
wait_for 10 file_has "$T_WORK/det.exit" 'EXIT=0' || fail "ctrl-p ctrl-q did not detach"
assert_eq "running" "$(dk inspect --format '{{.State.Status}}' det)" "still running after detaching"
tm new-session -d -s att -x 100 -y 25 "DOCKER_HOST=$DOCKER_HOST $DOCKER_BIN attach det; echo EXIT=\$? > $T_WORK/att.exit; sleep 600"
sleep 0.5
tm send-keys -t att 'echo back-again' Enter
wait_for 5 pane_has att 'back-again' || fail "docker attach is back: $(pane att)"
tm send-keys -t att 'exit 4' Enter
wait_for 10 file_has "$T_WORK/att.exit" 'EXIT=' || fail "attach did not end"
assert_eq "EXIT=4" "$(cat "$T_WORK/att.exit")" "exit code through docker attach"
# custom detach keys
dk run -d -it --name keys busybox sh >/dev/null
tm new-session -d -s keys -x 100 -y 25 "DOCKER_HOST=$DOCKER_HOST $DOCKER_BIN attach --detach-keys ctrl-a,x keys; echo EXIT=\$? > $T_WORK/keys.exit; sleep 600"
sleep 0.5
tm send-keys -t keys C-a x
wait_for 10 file_has "$T_WORK/keys.exit" 'EXIT=' || fail "custom detach keys"
assert_eq "running" "$(dk inspect --format '{{.State.Status}}' keys)" "running after custom detach"
dk rm -f keys det >/dev/null

# docker exec -it
dk run -d --name ex busybox sleep 1000 >/dev/null
tm new-session -d -s exi -x 100 -y 20 "DOCKER_HOST=$DOCKER_HOST $DOCKER_BIN exec -it ex sh; echo EXIT=\$? > $T_WORK/exec.exit; sleep 600"
wait_for 10 pane_has exi '/ #' || fail "no prompt from docker exec -it"
tm send-keys -t exi 'tty; stty size' Enter
wait_for 5 pane_has exi '/dev/pts/' || fail "exec -it has a tty"
wait_for 5 pane_has exi '20 100' || fail "exec -it window size"
tm resize-window -t exi -x 80 -y 15
sleep 0.5
tm send-keys -t exi 'stty size' Enter
wait_for 5 pane_has exi '15 80' || fail "exec -it follows a resize: $(pane exi | tail -2)"
tm send-keys -t exi 'exit 7' Enter
wait_for 10 file_has "$T_WORK/exec.exit" 'EXIT=' || fail "exec -it did not end"
assert_eq "EXIT=7" "$(cat "$T_WORK/exec.exit")" "exec -it exit code"
tm kill-server 2>/dev/null

# exec without TTY: codes, env, workdir, user, stdin, errors
assert_eq "out" "$(dk exec ex echo out)" "exec output"
dk exec ex sh -c 'exit 5'; assert_eq 5 "$?" "exec exit code"
assert_eq "1 /tmp nobody" "$(dk exec -e A=1 -w /tmp -u nobody ex sh -c 'echo $A $(pwd) $(id -un)')" "exec env, workdir, user"
assert_eq "piped" "$(echo piped | dk exec -i ex cat)" "exec stdin"
out=$(dk exec ex nosuch 2>&1); rc=$?
assert_eq 127 "$rc" "exec of a missing binary exits 127"
assert_contains "$out" 'exec: "nosuch": executable file not found in $PATH' "missing binary text"
out=$(dk exec ex /etc/passwd 2>&1); rc=$?
assert_eq 126 "$rc" "exec of a non-executable exits 126"
out=$(dk exec -u nosuchuser ex true 2>&1); rc=$?
assert_eq 126 "$rc" "exec with an unknown user exits 126"
assert_contains "$out" "unable to find user nosuchuser: no matching entries in passwd file" "unknown user text"
assert_match "$(dk inspect --format '{{json .ExecIDs}}' ex)" '^\["[0-9a-f]{64}"' "ExecIDs in inspect"
eid=$(curl -s --unix-socket "$T_SOCK" -X POST -H 'Content-Type: application/json' -d '{"Cmd":["true"]}' http://arca/containers/ex/exec | jq -r .Id)
api GET "/exec/$eid/json"
assert_eq "false null ex" "$(jq -r '[.Running, .ExitCode, .ContainerID] | map(tostring) | join(" ")' <<<"$API_BODY" | sed "s/$(dk inspect --format '{{.Id}}' ex)/ex/")" "exec inspect before start"
api POST "/exec/$eid/resize?h=10&w=10"
assert_eq 409 "$API_STATUS" "resize of a non-TTY exec"
api GET "/exec/nosuchexec/json"
assert_eq "404 No such exec instance: nosuchexec" "$API_STATUS $(jq -r .message <<<"$API_BODY")" "unknown exec"
# an exec is confined exactly as the container's init: capabilities, seccomp, no_new_privs,
# cgroups, namespaces; HOME from the user's passwd entry; a missing workdir as runc says it
status_of() { dk exec "$1" sh -c "grep -E '^(Cap|Seccomp|NoNewPrivs)' /proc/$2/status; cat /proc/$2/cgroup; for n in mnt net pid ipc uts cgroup; do readlink /proc/$2/ns/\$n; done"; }
assert_eq "$(status_of ex 1)" "$(status_of ex self)" "exec has the init's capabilities, seccomp, cgroups and namespaces"
assert_contains "$(status_of ex self)" "Seccomp:	2" "exec runs under the seccomp filter"
assert_contains "$(status_of ex self)" "mnt:[" "namespaces are compared"
dk run -d --name confined --cap-drop ALL --cap-add KILL --security-opt no-new-privileges busybox sleep 1000 >/dev/null
assert_eq "$(status_of confined 1)" "$(status_of confined self)" "exec in a confined container is as confined"
assert_contains "$(status_of confined self)" "NoNewPrivs:	1" "no_new_privs reaches the exec"
assert_contains "$(status_of confined self)" "CapEff:	0000000000000020" "only CAP_KILL in the exec"
dk rm -f confined >/dev/null
assert_eq "/root|/home/user" "$(dk exec ex sh -c 'echo $HOME')|$(dk exec -u 1000 ex sh -c 'echo $HOME')" "HOME from the user's passwd entry"
out=$(dk exec -w /no/such/dir ex true 2>&1); rc=$?
assert_eq 126 "$rc" "exec with a missing workdir exits 126"
assert_contains "$out" 'chdir to cwd ("/no/such/dir") set in config.json failed: no such file or directory' "missing workdir text"
assert_eq "0" "$(dk exec ex sh -c 'ls /proc/self/fd | wc -l' | awk '{print ($1 <= 4) ? 0 : $1}')" "no descriptor of arcad's reaches an exec"
dk pause ex >/dev/null
out=$(dk exec ex true 2>&1); assert_contains "$out" "is paused, unpause the container before exec" "exec into a paused container"
dk unpause ex >/dev/null
dk stop -t 0 ex >/dev/null
out=$(dk exec ex true 2>&1); assert_contains "$out" "is not running" "exec into a stopped container"

# stdin piping, EOF, output after EOF, 100 MB byte for byte
assert_eq "hi" "$(echo hi | dk run -i --rm busybox cat)" "echo hi | docker run -i cat"
assert_eq "before after" "$(echo before | dk run -i --rm busybox sh -c 'read x; sleep 0.3; echo $x after')" "output after stdin closed"
head -c 100000000 /dev/urandom >"$T_WORK/big.bin"
assert_eq "$(sha256sum <"$T_WORK/big.bin")" "$(dk run -i --rm busybox cat <"$T_WORK/big.bin" | sha256sum)" "100 MB through stdin byte for byte"
rm -f "$T_WORK/big.bin"

# nothing lost: 200 short-lived runs
n=0
for i in $(seq 1 200); do [ "$(dk run --rm busybox echo x)" = x ] && n=$((n + 1)); done
assert_eq 200 "$n" "200 runs of echo x show 200 lines"
dk run --name quick busybox echo logged >/dev/null
assert_eq "logged" "$(dk logs quick)" "docker logs of a short-lived container"
dk rm quick >/dev/null

# WebSocket attach
dk run -d -i --name wsc busybox cat >/dev/null
out=$(/usr/bin/python3 - "$T_SOCK" <<'PY'
import base64, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /v1.51/containers/wsc/attach/ws?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: x\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Key: %s\r\n\r\n" % key).encode())
head = b""
while b"\r\n\r\n" not in head: head += s.recv(1)
assert b" 101 " in head.split(b"\r\n")[0], head
payload = b"over websocket\n"
mask = os.urandom(4)
s.sendall(bytes([0x82, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
h = s.recv(2)
n = h[1] & 0x7f
data = b""
while len(data) < n: data += s.recv(n - len(data))
print(hex(h[0]), data.decode().strip())
PY
)
assert_eq "0x82 over websocket" "$out" "WebSocket attach echoes stdin in a binary frame"
dk rm -f wsc >/dev/null

# the 200 form: a client that asks for no upgrade gets 200 and a raw stream that ends with the
# connection; stdin still flows and its EOF (half-close) reaches the process
dk run -d -i --name plain busybox sh -c 'read x; echo "got $x"; echo done' >/dev/null
out=$(/usr/bin/python3 - "$T_SOCK" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(15); s.connect(sys.argv[1])
s.sendall(b"POST /v1.51/containers/plain/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\n"
          b"Content-Length: 0\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head: head += s.recv(1)
status = head.split(b"\r\n")[0].split(b" ")[1].decode()
s.sendall(b"hello\n")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    c = s.recv(65536)
    if not c: break
    data += c
out = b""
while len(data) >= 8:
    n = struct.unpack(">I", data[4:8])[0]
    out += data[8:8 + n]; data = data[8 + n:]
print(status, out.decode().replace("\n", "|"))
PY
)
assert_eq "200 got hello|done|" "$out" "attach without an upgrade: 200, framed output, stdin and its EOF"
dk rm -f plain >/dev/null
dk run -d --name plainx busybox sleep 1000 >/dev/null
api POST /containers/plainx/exec -H 'Content-Type: application/json' \
  -d '{"AttachStdout":true,"AttachStderr":true,"Cmd":["sh","-c","echo out; echo err >&2; exit 5"]}'
eid=$(echo "$API_BODY" | jq -r .Id)
out=$(/usr/bin/python3 - "$T_SOCK" "$eid" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(15); s.connect(sys.argv[1])
body = b'{"Detach":false,"Tty":false}'
s.sendall(b"POST /v1.51/exec/%s/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n%s" % (sys.argv[2].encode(), len(body), body))
data = b""
while True:
    c = s.recv(65536)
    if not c: break
    data += c
head, _, rest = data.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode().split(" ")[1], rest[0], rest[8:12].decode().strip())
PY
)
assert_eq "200 1 out" "$out" "exec start without an upgrade streams framed output"
wait_exec_done() { api GET "/exec/$eid/json" >/dev/null; [ "$(echo "$API_BODY" | jq -r .Running)" = false ]; }
wait_for 5 wait_exec_done || fail "exec still running"
assert_eq 5 "$(echo "$API_BODY" | jq -r .ExitCode)" "exit code of an exec started without an upgrade"
dk rm -f plainx >/dev/null

# dockerode as a second client
node_dir="$E2E_CACHE/node-interactive"
mkdir -p "$node_dir"
cp "$E2E_DIR/js-interactive/package.json" "$E2E_DIR/js-interactive/exec_attach.js" "$node_dir/"
if (cd "$node_dir" && timeout 300 npm install --silent --no-audit --no-fund >/dev/null 2>&1); then
  out=$(cd "$node_dir" && ARCA_SOCK="$T_SOCK" timeout 60 node exec_attach.js 2>&1)
  assert_eq "dockerode ok" "$out" "dockerode exec and attach"
else
  fail "npm install dockerode failed (the npm registry must be reachable)"
fi

# no leaked descriptors or threads after all this
dk rm -f ex itest >/dev/null 2>&1
fd_settled() { [ "$(arcad_fd_count)" -le 40 ]; }
wait_for 10 fd_settled || fail "descriptors after the interactive tests: $(arcad_fd_count)"
threads_settled() { [ "$(arcad_thread_count)" -le 10 ]; }
wait_for 10 threads_settled || fail "threads after the interactive tests: $(arcad_thread_count)"
t_finish
