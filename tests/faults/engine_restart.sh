#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# engine_restart.sh - the engine dies and starts again under a running
# nsbridge (TESTING.md, "Faults"): a private dockerd is killed with kill -9
# and a new one started on the same state and socket, as a crash or a
# package upgrade does. Two --restart always containers: web, followed by
# name (-c web), and lab, bridged by its label (--labels), in one nsbridge.
#   - without live-restore the new engine stops them and starts them again:
#     new pids, new namespaces; both get their bridges back, both ways;
#   - with --live-restore they run on, pids unchanged: their bridges and an
#     open connection through one are untouched, bytes exact;
#   - a container restarted while the engine's events stream is down (its
#     die and start never seen) is bridged once the stream is back.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../docker/lib.sh"
FAULTS=$(dirname "$0")

start_dockerd
import_busybox
pick_port db
pick_port app
pick_port web_app
pick_port lab_app
pick_port echo_in
pick_port echo_out
mkdir -p "$T/www" && echo "host db" >"$T/www/index.html"
start_nginx "" "$db" "$T/www" 127.0.0.1

# run_app NAME [LABEL] - a --restart always container whose httpd serves
# "app NAME" on its loopback's $app, with the nsbridge.bridges LABEL
run_app() {
	local label=()
	[ -n "${2:-}" ] && label=(--label "nsbridge.bridges=$2")
	docker run -d --restart always --name "$1" --network none "${label[@]}" "$BUSYBOX_IMAGE" \
		sh -c "echo 'app $1' >/www/index.html; httpd -p 127.0.0.1:$app -h /www; exec sleep 100000" \
		>/dev/null || fail "docker run $1"
}

# fetch CONTAINER PORT - what a wget inside the container gets from its loopback
fetch() {
	# busybox 1.35's wget -T crashes when statically linked: bound it from outside
	timeout 10 docker exec "$1" wget -qO- "http://127.0.0.1:$2/" 2>/dev/null
}

# served NAME PORT - both ways: the host's db inside NAME, NAME's app on the host's PORT
served() {
	[ "$(fetch "$1" "$db")" = "host db" ] &&
		[ "$(curl -sS --max-time 5 "http://127.0.0.1:$2/" 2>/dev/null)" = "app $1" ]
}

# pid_of NAME - the init pid of a running container, nothing otherwise
pid_of() {
	docker inspect -f '{{if .State.Running}}{{.State.Pid}}{{end}}' "$1" 2>/dev/null
}

# runs_anew NAME OLD - NAME runs, with a pid other than OLD
runs_anew() {
	local pid
	pid=$(pid_of "$1")
	[ -n "$pid" ] && [ "$pid" != "$2" ]
}

# more_lines N - the watcher has said more than N times that it lists again
more_lines() {
	[ "$(grep -c "containers were listed again" "$NSB_LOG")" -gt "$1" ]
}

run_app web
run_app lab "host:$db container:$db, container:$app host:$lab_app"
NSB_READY=3 start_nsb -v -c web "host:$db" "container:$db" "container:$app" "host:$web_app" \
	"container:$echo_in" "host:$echo_out" --labels
wait_until "lab's bridges" 30 served lab "$lab_app"
served web "$web_app" || fail "web's bridges before the engine restarts"

# --- without live-restore: new pids, bridges back ---------------------------
restarted() {
	local web_pid lab_pid
	web_pid=$(pid_of web)
	lab_pid=$(pid_of lab)
	restart_dockerd
	wait_until "web running anew" 60 runs_anew web "$web_pid"
	wait_until "lab running anew" 60 runs_anew lab "$lab_pid"
	assert_eq "the host's db inside web, directly through the engine" "app web" "$(fetch web "$app")"
	wait_until "web's bridges after the engine restarted it" 30 served web "$web_app"
	wait_until "lab's bridges after the engine restarted it" 30 served lab "$lab_app"
	alive "$NSB_PID" || fail "nsbridge exited"
	pass "dockerd killed, started again without live-restore: -c web and labelled lab, both restarted by the engine (new pids), are bridged again both ways"
}

# --- with live-restore: untouched, open connections too ----------------------
# An echo service in web's namespace (not in the container: it is the
# connection that must last, not the service), behind web's third bridge.
live_restored() {
	local web_pid lab_pid ready_lines lists out
	web_pid=$(pid_of web)
	lab_pid=$(pid_of lab)
	restart_dockerd --live-restore	# from now on, engines that keep containers running
	wait_until "web running" 60 runs_anew web ""
	web_pid=$(pid_of web)
	lab_pid=$(pid_of lab)
	wait_until "web's bridges" 30 served web "$web_app"
	wait_until "lab's bridges" 30 served lab "$lab_app"
	# in web's namespace, not the test's: the test's cleanup would not find it
	nsenter -t "$web_pid" -n python3 "$FAULTS/../integration/hold_peer.py" echo "$echo_in" &
	trap "kill $! 2>/dev/null" EXIT
	wait_until "the echo service in web" 30 nsenter -t "$web_pid" -n \
		bash -c "exec 3<>/dev/tcp/127.0.0.1/$echo_in" 2>/dev/null
	ready_lines=$(grep -c 'ready' "$NSB_LOG")
	python3 "$FAULTS/../integration/hold_peer.py" echo-many 20 "$T/go" "$echo_out" >"$T/echo.out" &
	local client=$!
	wait_until "20 connections through web's bridge" 30 grep -q "connected 20 failed 0" "$T/echo.out"
	lists=$(grep -c "containers were listed again" "$NSB_LOG")
	restart_dockerd --live-restore
	assert_eq "web's pid after a live-restore" "$web_pid" "$(pid_of web)"
	assert_eq "lab's pid after a live-restore" "$lab_pid" "$(pid_of lab)"
	wait_until "the watcher's listing after the reconnect" 30 more_lines "$lists"
	"$NSB" status "$NSB_PID" >/dev/null && "$NSB" status "$NSB_PID" >/dev/null	# the relay took the reports
	touch "$T/go"
	wait "$client"
	out=$(cat "$T/echo.out")
	assert_match "the 20 connections opened before the engine died" "echo ok=20" "$out"
	assert_match "and closed after" "close ok=20" "$out"
	served web "$web_app" || fail "web's bridges after the live-restore"
	served lab "$lab_app" || fail "lab's bridges after the live-restore"
	assert_eq "lines with 'ready' (nothing bound anew)" "$ready_lines" "$(grep -c 'ready' "$NSB_LOG")"
	pass "dockerd killed, started again with --live-restore: pids unchanged, bridges untouched, 20 connections open across it echo byte-exact"
}

# --- a restart the events stream cannot have seen ----------------------------
# The watcher is stopped while the engine dies, comes back and restarts lab:
# it never sees lab's die and start; its first listing after it reconnects
# must find lab's new pid.
missed_restart() {
	local watcher
	watcher=$(pgrep_here -x nsbridge-watch) || fail "no engine watcher among the processes"
	trap 'kill -CONT "$watcher" 2>/dev/null' EXIT
	kill -STOP "$watcher"
	restart_dockerd --live-restore
	docker restart -t 0 lab >/dev/null || fail "docker restart lab"
	kill -CONT "$watcher"
	wait_until "lab's bridges after a restart while the stream was down" 30 served lab "$lab_app"
	served web "$web_app" || fail "web's bridges"
	pass "lab restarted while the engine's events stream was down: bridged again once it is back"
}

check restarted
check live_restored
check missed_restart
