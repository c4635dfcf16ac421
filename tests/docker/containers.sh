#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# containers.sh - containers by name, ID and compose service; restarts; every engine error
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

start_dockerd
import_busybox
pick_port port
pick_port back
pick_port other
mkdir -p "$T/www" && echo "host service $port" >"$T/www/index.html"
start_nginx "" "$port" "$T/www" 127.0.0.1

run_web() {
	docker run -d --name "${1:-web}" --network none "${@:2}" "$BUSYBOX_IMAGE" sleep 100000 >/dev/null ||
		fail "docker run ${1:-web}"
}

# fetch CONTAINER PORT - what a wget inside the container gets from its loopback
fetch() {
	# busybox 1.35's wget -T crashes when statically linked: bound it from outside
	timeout 10 docker exec "$1" wget -qO- "http://127.0.0.1:$2/" 2>/dev/null
}

# answered_within CONTAINER WHAT - wait for the bridge to answer inside; the
# 30 s guard a hang only (a container not followed never answers)
# CONTAINER; sets ELAPSED (ms) or fails with WHAT
answered_within() {
	local t0
	t0=$(now_ms)
	until [ "$(fetch "$1" "$port")" = "host service $port" ]; do
		[ $(($(now_ms) - t0)) -lt 30000 ] || fail "$2"
		sleep 0.02
	done
	ELAPSED=$(($(now_ms) - t0))
}

# web's first container, and the nsbridge the behaviours up to its stop
# share: -c web's bridge, and a second bridge of the same process
# (host:$other) that must go on while web is down
run_web web
start_nsb -c web "host:$port" "container:$port" "host:$port" "host:$other"

# --- by name, with CapEff 0 -------------------------------------------------
by_name() {
	assert_match "ready line" "host 127.0.0.1:$port -> container web 127.0.0.1:$port.* ready" \
		"$(cat "$NSB_LOG")"
	assert_eq "wget inside web" "host service $port" "$(fetch web "$port")"
	assert_eq "CapEff" 0000000000000000 "$(cap_eff "$NSB_PID")"
	pass "-c web: a container with --network none reaches the host's 127.0.0.1:$port"
}

# --- docker stop: the other bridge of the process keeps working ----------------
stop_start() {
	local body
	docker stop -t 0 web >/dev/null || fail "docker stop"
	wait_until "log line on web's stop" 30 \
		grep -q "container web stopped: its listeners are closed until it runs again" "$NSB_LOG"
	for _ in 1 2 3; do
		body=$(curl -sS --max-time 5 "http://127.0.0.1:$other/") || fail "the other bridge while web is down"
		assert_eq "the other bridge while web is down" "host service $port" "$body"
	done
	assert_match "log" "container web stopped: its listeners are closed until it runs again" \
		"$(cat "$NSB_LOG")"
	docker start web >/dev/null || fail "docker start"
	answered_within web "no answer inside web 30 s after docker start"
	pass "docker stop: another bridge of the process kept working; docker start: back in $ELAPSED ms"
}

# --- docker restart: back once the container runs again ----------------------
# (web's namespace before it, for the check after docker rm -f, in $T/old_ns)
restart() {
	local elapsed
	readlink "/proc/$(container_pid web)/ns/net" >"$T/old_ns"
	docker restart -t 0 web >/dev/null || fail "docker restart"
	answered_within web "no answer inside web 30 s after its restart"
	elapsed=$ELAPSED	# reported, not held to a bound: a loaded machine takes longer (TESTING.md)
	assert_eq "ready lines: two bridges, then the container bridge after a start and a restart" 4 "$(grep -c ' ready$' "$NSB_LOG")"
	assert_eq "CapEff after the restart" 0000000000000000 "$(cap_eff "$NSB_PID")"
	pass "docker restart: answered inside web $elapsed ms after the restart returned"
}

# holder OLD NEW - the first of nsbridge and its helpers still holding one
# of the namespaces OLD and NEW, as "PID NS"; false when none does
holder() {
	local pid links ns
	for pid in $NSB_PID $(cat "/proc/$NSB_PID/task/$NSB_PID/children"); do
		links=$(ls -l "/proc/$pid/fd" 2>/dev/null)
		for ns in "$@"; do
			[ -n "$ns" ] && [[ "$links" == *"$ns"* ]] && echo "$pid $ns" && return 0
		done
	done
	return 1
}

# --- docker rm -f: nothing keeps the old namespace ----------------------------
removed() {
	local old_ns new_ns held
	old_ns=$(cat "$T/old_ns" 2>/dev/null)
	new_ns=$(readlink "/proc/$(container_pid web)/ns/net")
	docker rm -f web >/dev/null
	for _ in $(seq 1 200); do
		holder "$old_ns" "$new_ns" >/dev/null || break
		sleep 0.05
	done
	alive "$NSB_PID" || fail "nsbridge exited when web was removed"
	if held=$(holder "$old_ns" "$new_ns"); then
		fail "process ${held% *} still holds ${held#* } of the removed container"
	fi
	pass "docker rm -f: no fd of nsbridge or its helpers refers to web's namespaces"
}

# --- a new web is followed ------------------------------------------------------
new_web() {
	run_web web
	answered_within web "a new container named web was not followed"
	pass "a new container named web is bridged $ELAPSED ms after docker run"
}

# the relay left uid 0; the watcher keeps it, the engine's socket being root's
ids() {
	local helpers watcher pid
	helpers=$(cat "/proc/$NSB_PID/task/$NSB_PID/children")
	watcher=$(for pid in $helpers; do [ "$(cat "/proc/$pid/comm")" = nsbridge-watch ] && echo "$pid"; done)
	assert_match "one watcher among the helpers" '^[0-9]+$' "$watcher"
	assert_eq "the watcher's uid" 0 "$(awk '/^Uid:/ { print $2 }' "/proc/$watcher/status")"
	assert_eq "the relay's uid" "$(id -u nsbridge 2>/dev/null || id -u nobody)" \
		"$(awk '/^Uid:/ { print $2 }' "/proc/$NSB_PID/status")"
	pass "the relay ran as $(id -un "$(id -u nsbridge 2>/dev/null || id -u nobody)"), the watcher as root"
}

# after the SIGTERM below: exit 0, and none of its helpers (HELPERS) outlived it
stopped() {
	local pid
	assert_eq "exit status" 0 "$NSB_STATUS"
	for pid in $HELPERS; do
		for _ in $(seq 1 200); do
			gone "$pid" && break
			sleep 0.05
		done
		gone "$pid" || fail "helper $pid ($(cat "/proc/$pid/comm")) outlived nsbridge"
	done
	pass "SIGTERM: exit 0; no helper outlived the relay"
}

check by_name
check stop_start
check restart
check removed
check new_web
check ids
HELPERS=$(cat "/proc/$NSB_PID/task/$NSB_PID/children")
stop_nsb TERM
check stopped

# web, running (after a check that may have left it otherwise)
web_runs() {
	[ "$(docker inspect -f '{{.State.Running}}' web 2>/dev/null)" = true ] && return 0
	docker start web >/dev/null 2>&1 || run_web web
}

# --- a short ID, and the reverse direction -----------------------------------
short_id() {
	local id body
	web_runs
	id=$(docker inspect -f '{{.Id}}' web)
	docker exec web sh -c "mkdir -p /www && echo 'inside web' >/www/index.html"
	docker exec -d web httpd -f -p "127.0.0.1:$back" -h /www
	own_nsb -c "${id:0:8}" "host:$port" "container:$port" "container:$back" "host:$back"
	assert_eq "wget inside web, by short ID" "host service $port" "$(fetch web "$port")"
	body=$(curl -sS --max-time 5 "http://127.0.0.1:$back/") || fail "curl to the container's service"
	assert_eq "the container's 127.0.0.1:$back on the host" "inside web" "$body"
	pass "-c ${id:0:8}: both directions"
}

# --- a compose service name ----------------------------------------------------
compose_service() {
	run_web proj_api_1 --label com.docker.compose.service=api
	own_nsb -c api "host:$port" "container:$port"
	assert_eq "wget inside the api service" "host service $port" "$(fetch proj_api_1 "$port")"
	pass "-c api: the compose service's one running container"
}

ambiguous_service() {
	docker inspect proj_api_1 >/dev/null 2>&1 || run_web proj_api_1 --label com.docker.compose.service=api
	run_web proj_api_2 --label com.docker.compose.service=api
	"$NSB" -c api "host:$port" "container:$port" 2>"$T/err"
	assert_eq "exit status of an ambiguous service" 2 "$?"
	assert_match "message" "compose service 'api' has 2 running containers \(proj_api_[12], proj_api_[12]\)" \
		"$(cat "$T/err")"
	pass "ambiguous service: exit 2 naming both"
}

# --- --no-follow: the container stops, nsbridge exits 0 saying why ------------
no_follow() {
	web_runs
	own_nsb --no-follow -c web "host:$port" "container:$port"
	docker stop -t 0 web >/dev/null
	wait_exit "$NSB_PID" 5
	assert_eq "exit status with --no-follow" 0 "$EXIT_STATUS"
	assert_match "why it exited" "container web stopped; exiting" "$(cat "$NSB_LOG")"
	pass "--no-follow: docker stop ends nsbridge with status 0"
}

# --- every error of the engine path, by exit status and message ----------------
expect() {	# STATUS REGEX [ENV=VALUE...] -- ARGS...
	local want=$1 regex=$2 envs=() got
	shift 2
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" "$NSB" "$@" 2>"$T/err"
	got=$?
	assert_eq "exit status of $*" "$want" "$got"
	assert_eq "lines of $*" 1 "$(wc -l <"$T/err")"
	assert_match "message of $*" "$regex" "$(cat "$T/err")"
}
engine_errors() {
	# web, stopped: the container that is not running
	docker stop -t 0 web >/dev/null 2>&1 || { run_web web && docker stop -t 0 web >/dev/null; }
	expect 4 "no container 'nosuch'" -- -c nosuch "host:$port" "container:$port"
	expect 4 "no container 'wbe'; did you mean: web" -- -c wbe "host:$port" "container:$port"
	expect 4 "container web is not running" -- -c web "host:$port" "container:$port"
	expect 5 "cannot reach the engine socket /nonexistent/docker.sock" \
		DOCKER_HOST=unix:///nonexistent/docker.sock -- -c web "host:$port" "container:$port"
	expect 2 "DOCKER_HOST=tcp://127.0.0.1:2375: only unix:// sockets" \
		DOCKER_HOST=tcp://127.0.0.1:2375 -- -c web "host:$port" "container:$port"
	printf 'HTTP/1.1 500 Oops\r\nContent-Type: application/json\r\nContent-Length: 18\r\nConnection: close\r\n\r\n{"message":"boom"}' >"$T/answer"
	socat UNIX-LISTEN:"$T/fake.sock",fork SYSTEM:"cat $T/answer" &
	FAKE_PID=$!
	trap 'kill "$FAKE_PID"' EXIT
	wait_until "the fake engine's socket" 30 test -S "$T/fake.sock"
	expect 1 "the engine refused the container lookup: HTTP 500: boom" \
		DOCKER_HOST="unix://$T/fake.sock" -- -c web "host:$port" "container:$port"
	cp "$NSB" "$T/nsbridge" && chmod 755 "$T/nsbridge"
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$T/nsbridge" -c web "host:$port" "container:$port" 2>"$T/err"
	assert_eq "exit status without access to the socket" 5 "$?"
	assert_match "message" "cannot use the engine socket .*docker.sock: Permission denied" "$(cat "$T/err")"
	pass "engine errors: no such container (4, with close names), not running (4), no socket (5), tcp:// (2), an error answer (1), permission denied (5)"
}

check short_id
check compose_service
check ambiguous_service
check no_follow
check engine_errors
