#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# pid_reuse.sh - a container's pid, reused (TESTING.md, "Faults"): the
# engine reports a container's pid, the container dies before nsbridge
# acts on the report, and its pid goes to an unrelated process in a
# namespace of its own (ns_last_pid chooses the next pid). nsbridge is
# stopped (SIGSTOP) meanwhile, as a loaded machine would delay it, until
# the report waits in its pipe. Nothing may be bound in the unrelated
# process's namespace, one line must say why, status must not call the
# container running, and the container's next start is bridged: for a
# labelled container (--labels) and for one followed by name (-c web).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../docker/lib.sh"
FAULTS=$(dirname "$0")

start_dockerd
import_busybox
pick_port db
pick_port lab_db
mkdir -p "$T/www" && echo "host db" >"$T/www/index.html"
start_nginx "" "$db" "$T/www" 127.0.0.1

# fetch CONTAINER PORT - what a wget inside the container gets from its loopback
fetch() {
	timeout 10 docker exec "$1" wget -qO- "http://127.0.0.1:$2/" 2>/dev/null
}

# pid_of NAME - the init pid of a running container, nothing otherwise
pid_of() {
	docker inspect -f '{{if .State.Running}}{{.State.Pid}}{{end}}' "$1" 2>/dev/null
}

# queued - bytes of the watcher's reports that the relay has not read
queued() {
	python3 "$FAULTS/pipe_queued.py" "$NSB_PID" "$WATCHER" 3
}
report_waits() {
	[ "$(queued)" -gt 0 ]
}
# report_read - the relay has read the reports, and acted on them: it
# handles what it reads before its loop answers the status asked after
report_read() {
	[ "$(queued)" = 0 ] && "$NSB" status "$NSB_PID" >/dev/null
}

# impostor PID VAR - a process of pid PID in a network namespace of its
# own (lo up, as a container's would be), its pid in VAR: ns_last_pid is
# set just before the fork; tried again while another process takes PID.
# Killed when the check ends: in a namespace of its own, the test's
# cleanup would not find it.
impostor() {
	local want=$1 got
	for _ in $(seq 1 50); do
		echo $((want - 1)) >/proc/sys/kernel/ns_last_pid
		unshare -n sh -c 'ip link set lo up; exec sleep 600' >/dev/null 2>&1 &
		got=$!
		[ "$got" = "$want" ] && break
		kill -KILL "$got"
	done
	IMPOSTOR=$got
	[ "$got" = "$want" ] || fail "pid $want went to another process 50 times"
	wait_until "the impostor's own namespace" 30 bash -c \
		"[ \"\$(readlink /proc/$got/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ]"
	printf -v "$2" '%s' "$got"
}

# listening_in PID PORT - something listens on PORT in PID's network namespace
listening_in() {
	nsenter -t "$1" -n ss -Hltn "sport = :$2" | grep -q .
}

# stopped_relay - SIGSTOP nsbridge until the check ends, however it ends
stopped_relay() {
	trap 'kill -CONT "$NSB_PID" 2>/dev/null; kill -KILL "$NSB_PID" ${IMPOSTOR:-} 2>/dev/null' EXIT
	kill -STOP "$NSB_PID"
}

# watcher_pid - the engine watcher among nsbridge's children, if any: a
# child just forked still has nsbridge's name until it names itself
watcher_pid() {
	local pid
	for pid in $(cat "/proc/$NSB_PID/task/$NSB_PID/children"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nsbridge-watch ] && echo "$pid"
	done
}
has_watcher() {
	[ -n "$(watcher_pid)" ]
}
# watcher_of - the engine watcher among nsbridge's children, in WATCHER
watcher_of() {
	wait_until "an engine watcher among nsbridge's children" 30 has_watcher
	WATCHER=$(watcher_pid)
}

# --- a labelled container ------------------------------------------------------
labelled() {
	local pid fake
	NSB_READY=0 own_nsb -v --labels
	wait_until "nsbridge's control socket" 30 answers_status
	watcher_of
	stopped_relay
	docker run -d --name lab --label "nsbridge.bridges=host:$db container:$lab_db" \
		"$BUSYBOX_IMAGE" sleep 100000 >/dev/null || fail "docker run lab"
	pid=$(pid_of lab)
	wait_until "the watcher's report of lab in nsbridge's pipe" 30 report_waits
	docker kill lab >/dev/null || fail "docker kill lab"
	wait_until "lab's end" 30 gone "$pid"
	impostor "$pid" fake
	kill -CONT "$NSB_PID"
	wait_until "the report read" 30 report_read
	listening_in "$fake" "$lab_db" && fail "lab's bridge was bound in the namespace of pid $pid, an unrelated process"
	assert_eq "status of lab" absent "$(ct_status field lab running)"
	assert_match "the line" "container lab: pid $pid is no longer the container the engine reported \(the pid was reused\); nothing is bound" "$(cat "$NSB_LOG")"
	docker start lab >/dev/null || fail "docker start lab"
	wait_until "lab's bridge after its next start" 30 bash -c "[ \"\$(timeout 10 docker exec lab wget -qO- http://127.0.0.1:$lab_db/ 2>/dev/null)\" = 'host db' ]"
	pass "--labels: lab's pid reused by an unrelated process before its report was acted on: nothing bound there, one line, status without lab; its next start bridged"
}

# --- a container followed by name --------------------------------------------
followed() {
	local pid fake
	docker run -d --name web "$BUSYBOX_IMAGE" sleep 100000 >/dev/null || fail "docker run web"
	own_nsb -v -c web "host:$db" "container:$db"
	watcher_of
	stopped_relay
	docker restart -t 0 web >/dev/null || fail "docker restart web"
	pid=$(pid_of web)
	wait_until "the watcher's report of web in nsbridge's pipe" 30 report_waits
	docker kill web >/dev/null || fail "docker kill web"
	wait_until "web's end" 30 gone "$pid"
	impostor "$pid" fake
	kill -CONT "$NSB_PID"
	wait_until "the report read" 30 report_read
	listening_in "$fake" "$db" && fail "web's bridge was bound in the namespace of pid $pid, an unrelated process"
	assert_eq "status: web running" false "$(ct_status field web running)"
	assert_match "the line" "container web: pid $pid is no longer the container the engine reported \(the pid was reused\); nothing is bound" "$(cat "$NSB_LOG")"
	docker start web >/dev/null || fail "docker start web"
	wait_until "web's bridge after its next start" 30 bash -c "[ \"\$(timeout 10 docker exec web wget -qO- http://127.0.0.1:$db/ 2>/dev/null)\" = 'host db' ]"
	pass "-c web: web's new pid reused by an unrelated process before the report was acted on: nothing bound there, one line, status says stopped; its next start bridged"
}

check labelled
check followed
