#!/usr/bin/env bash
# Containers outlive arcad: SIGKILL the daemon with containers running, start it again:
# they are still running, logs intact, stop works; one that exited meanwhile shows its real
# exit code; restart policies apply after the daemon restart.
. "$(dirname "$0")/lib/common.sh"
: "${REGISTRY_ADDR:?run through tests/e2e/run.sh}"
arcad_start || t_finish
dk pull -q "$REGISTRY_ADDR/busybox" >/dev/null && dk tag "$REGISTRY_ADDR/busybox" busybox

dk run -d --name survivor busybox sh -c 'trap "exit 0" TERM; i=0; while true; do echo n$i; i=$((i+1)); sleep 0.2; done' >/dev/null
dk run -d --name ender busybox sh -c 'sleep 2; exit 42' >/dev/null
dk run -d --name policy --restart always busybox sh -c 'sleep 1; exit 1' >/dev/null
dk run -d --name stopped busybox true >/dev/null
sleep 0.6
pid_before=$(pgrep -f "sleep 0.2" | head -1)
arcad_kill9
assert_true "the container process outlives arcad" kill -0 "$pid_before"
sleep 2.5
arcad_start || t_finish
assert_eq "running" "$(dk inspect --format '{{.State.Status}}' survivor)" "survivor still running"
assert_contains "$(dk logs survivor)" "n1" "logs from before the restart intact"
sleep 0.5
assert_true "logs keep flowing after the restart" sh -c "[ \$($DOCKER_BIN logs survivor | wc -l) -gt 5 ]"
assert_eq "exited 42" "$(dk inspect --format '{{.State.Status}} {{.State.ExitCode}}' ender)" "ended meanwhile: its real exit code"
assert_match "$(dk inspect --format '{{.State.FinishedAt}}' ender)" "^[0-9]{4}-" "finish time recorded"
policy_running() { [ "$(dk inspect --format '{{.State.Status}}' policy)" = running ] || [ "$(dk inspect --format '{{.RestartCount}}' policy)" -ge 1 ]; }
wait_for 10 policy_running || fail "restart policy after a daemon restart"
assert_eq "exited 0" "$(dk inspect --format '{{.State.Status}} {{.State.ExitCode}}' stopped)" "stopped container unchanged"
dk stop -t 2 survivor >/dev/null
assert_eq "exited 0" "$(dk inspect --format '{{.State.Status}} {{.State.ExitCode}}' survivor)" "stop works on a re-adopted container"
evs=$(dk events --since 1m --until "$(( $(date +%s) + 1 ))" --filter container=ender --format '{{.Action}} {{.Actor.Attributes.exitCode}}')
assert_contains "$evs" "die 42" "die event for the exit seen at restart"
# a clean restart too
dk start survivor >/dev/null
arcad_restart || t_finish
assert_eq "running" "$(dk inspect --format '{{.State.Status}}' survivor)" "running across a clean restart"
dk rm -f survivor ender policy stopped >/dev/null
assert_eq "" "$(dk ps -aq)" "all removed"
t_finish
