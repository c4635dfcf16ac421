#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# labels_podman.sh - nsbridge --labels with Podman: a labelled container of
# Podman's (through the same API on Podman's socket) gets its bridges both
# ways when it starts, loses them when it stops (no socket left in its
# namespace), gets them back on podman start, and loses them on podman rm -f;
# and gets them back when Podman's API service was killed and started again
# while papp restarted
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

start_podman

mkdir -p "$T/bb/bin" "$T/bb/tmp" "$T/bb/www"
cp "$(command -v busybox)" "$T/bb/bin/busybox"
for a in sh sleep wget timeout httpd echo; do ln -s busybox "$T/bb/bin/$a"; done
tar -C "$T/bb" -c . | podman_ import - nsbt-busybox >/dev/null 2>&1 || fail "podman import"
# this machine's hard limits are below podman's defaults
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
pick_port db
pick_port app
pick_port p_app
mkdir -p "$T/www" && echo "host db" >"$T/www/index.html"
start_nginx "" "$db" "$T/www" 127.0.0.1

# run_app NAME LABEL - a container whose httpd serves "app NAME" on its loopback's $app
run_app() {
	podman_ run -d --name "$1" --network none "${limits[@]}" --label "nsbridge.bridges=$2" \
		nsbt-busybox sh -c "echo 'app $1' >/www/index.html; httpd -p 127.0.0.1:$app -h /www; exec sleep 100000" \
		>/dev/null 2>"$T/err" || skip "podman cannot run a container here: $(tail -n 1 "$T/err")"
}
fetch() {
	podman_ exec "$1" timeout 10 wget -qO- "http://127.0.0.1:$2/" 2>/dev/null
}
serving() {
	assert_eq "host db inside $1 (direct: $(curl -sS "http://127.0.0.1:$db/"))" "host db" "$(fetch "$1" "$db")"
	assert_eq "the app of $1 on the host (direct: $(fetch "$1" "$app"))" "app $1" \
		"$(curl -sS --max-time 5 "http://127.0.0.1:$p_app/")"
}

# the nsbridge --labels both behaviours share, and the labelled container,
# run here: a podman that cannot run one skips the test
NSB_READY=0 start_nsb --labels
run_start=$(now_ms)
run_app papp "host:$db container:$db, container:$app host:$p_app"

# app_answers - papp's app answers on the host
app_answers() {
	[ "$(curl -sS --max-time 5 "http://127.0.0.1:$p_app/" 2>/dev/null)" = "app papp" ]
}

labelled_run() {
	local up_ms
	wait_until "papp's bridges" 30 grep -q "container papp: .*-> host 127.0.0.1:$p_app[, ].*ready" "$NSB_LOG"
	wait_until "papp's app" 30 app_answers
	up_ms=$(($(now_ms) - run_start))
	serving papp
	pass "podman run of a labelled container: bridges both ways ${up_ms} ms after the run began"
}

# service_restart - Podman's API service killed; papp restarted meanwhile by
# the CLI (no event of it on any stream); the service started again: the
# watcher's listing finds papp's new pid
service_restart() {
	local service old_pid
	service=$(pgrep -n -f "podman .*system service .*unix://$PODMAN_SOCK") || fail "no API service"
	old_pid=$(podman_ inspect -f '{{.State.Pid}}' papp)
	kill -KILL "$service"
	wait_until "the end of the API service" 30 gone "$service"
	podman_ restart -t 0 papp >/dev/null || fail "podman restart without the service"
	[ "$(podman_ inspect -f '{{.State.Pid}}' papp)" != "$old_pid" ] || fail "papp's pid did not change"
	bg_to "$PD/service2.log" podman_ system service --time=0 "unix://$PODMAN_SOCK"
	wait_until "the API service again" 30 pinged "$PODMAN_SOCK"
	wait_until "papp's bridges after the service came back" 30 app_answers
	serving papp
	pass "Podman's API service killed, papp restarted meanwhile, the service started again: papp bridged again, both ways"
}

stop_start_rm() {
	local ns start stop_ms start_ms rm_ms
	ns=$(readlink "/proc/$(podman_ inspect -f '{{.State.Pid}}' papp)/ns/net")
	start=$(now_ms)
	podman_ stop -t 0 papp >/dev/null || fail "podman stop"
	wait_until "papp's bridges removed" 30 grep -q "container papp stopped: its 2 bridges are removed" "$NSB_LOG"
	stop_ms=$(($(now_ms) - start))
	wait_until "nothing of nsbridge in papp's namespace" 30 gone_from "$ns"
	curl -sS --max-time 5 "http://127.0.0.1:$p_app/" >/dev/null 2>&1 && fail "papp's port answered after podman stop"
	start=$(now_ms)
	podman_ start papp >/dev/null || fail "podman start"
	wait_until "papp's bridges back" 30 app_answers
	start_ms=$(($(now_ms) - start))
	serving papp
	ns=$(readlink "/proc/$(podman_ inspect -f '{{.State.Pid}}' papp)/ns/net")
	start=$(now_ms)
	podman_ rm -f -t 0 papp >/dev/null || fail "podman rm -f"
	wait_until "papp's bridges removed again" 30 sh -c "[ \$(grep -c 'container papp stopped: its 2 bridges are removed' '$NSB_LOG') -ge 2 ]"
	rm_ms=$(($(now_ms) - start))
	wait_until "nothing of nsbridge in papp's namespace" 30 gone_from "$ns"
	pass "podman stop: gone in ${stop_ms} ms, no socket left; podman start: back in ${start_ms} ms; podman rm -f: gone in ${rm_ms} ms"
}

stopped() {
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "nsbridge --labels: exit 0 on SIGTERM"
}

check labelled_run
check service_restart
check stop_start_rm
stop_nsb TERM
check stopped
