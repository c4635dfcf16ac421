#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# multi_container.sh - three containers of the private engine in one nsbridge,
# both directions; docker stop of one closes only its listeners and sockets
# while the others go on serving, docker start brings its bridges back;
# status --json per container, a metric with the container label
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

start_dockerd
import_busybox
pick_port db
pick_port app
pick_port app_web
pick_port app_api
pick_port app_jobs
pick_port mport
mkdir -p "$T/www" && echo "host db" >"$T/www/index.html"
start_nginx "" "$db" "$T/www" 127.0.0.1

# run_app NAME - a container whose httpd serves "app NAME" on its loopback, at each start
run_app() {
	docker run -d --name "$1" --network none "$BUSYBOX_IMAGE" sh -c \
		"echo 'app $1' >/www/index.html; httpd -p 127.0.0.1:$app -h /www; exec sleep 100000" \
		>/dev/null || fail "docker run $1"
}

# fetch CONTAINER PORT - what a wget inside the container gets from its loopback
fetch() {
	# busybox 1.35's wget -T crashes when statically linked: bound it from outside
	timeout 10 docker exec "$1" wget -qO- "http://127.0.0.1:$2/" 2>/dev/null
}

app_port() {
	case $1 in
	web) echo "$app_web" ;;
	api) echo "$app_api" ;;
	jobs) echo "$app_jobs" ;;
	esac
}

# serving NAME... - each container reaches the host's db, and its app answers on the host
serving() {
	local name body
	for name in "$@"; do
		assert_eq "host db inside $name" "host db" "$(fetch "$name" "$db")"
		body=$(curl -sS --max-time 5 "http://127.0.0.1:$(app_port "$name")/") ||
			fail "curl to the app of $name"
		assert_eq "the app of $name on the host" "app $name" "$body"
	done
}

# status_of NAME - "running" or "stopped", from status --json
status_of() {
	local running
	running=$(ct_status field "$1" running) || fail "status --json of $1"
	case $running in
	true) echo running ;;
	false) echo stopped ;;
	*) echo "$running" ;;
	esac
}

# app_answers NAME - the app of NAME answers inside NAME
app_answers() {
	[ "$(timeout 10 docker exec "$1" wget -qO- "http://127.0.0.1:$app/" 2>/dev/null)" = "app $1" ]
}

for name in web api jobs; do
	run_app "$name"
done
for name in web api jobs; do
	wait_until "the app of $name" 30 app_answers "$name"
done

# one nsbridge for the three, shared by the behaviours below
start_nsb --metrics "127.0.0.1:$mport" \
	-c web "host:$db" "container:$db" "container:$app" "host:$app_web" \
	-c api "host:$db" "container:$db" "container:$app" "host:$app_api" \
	-c jobs "host:$db" "container:$db" "container:$app" "host:$app_jobs"
helpers=$(cat "/proc/$NSB_PID/task/$NSB_PID/children")

# --- three containers, both directions ------------------------------------------
three_containers() {
	local kinds pid
	assert_match "ready line naming api" "container api 127.0.0.1:$app -> host 127.0.0.1:$app_api.* ready" \
		"$(cat "$NSB_LOG")"
	serving web api jobs
	kinds=$(for pid in $helpers; do cat "/proc/$pid/comm"; done | sort | tr '\n' ' ')
	assert_match "one opener and one watcher for three containers" "^(nsbridge-keeper )?nsbridge-opener nsbridge-watch $" \
		"$kinds"
	pass "-c web PAIRS -c api PAIRS -c jobs PAIRS: both directions in three containers; helpers: $kinds"
}

status_and_metrics() {
	local name
	curl -sS --max-time 5 "http://127.0.0.1:$mport/metrics" >"$T/metrics.txt" || fail "GET /metrics"
	assert_match "bridge 3 is api's" \
		"nsbridge_bridge_info\\{bridge=\"3\",[^}]*,container=\"api\"\\} 1" "$(cat "$T/metrics.txt")"
	assert_match "bridge 3 accepted one" \
		"nsbridge_connections_accepted_total\\{bridge=\"3\"\\} 1" "$(cat "$T/metrics.txt")"
	for name in web api jobs; do
		assert_eq "status of $name" running "$(status_of "$name")"
	done
	pass "status --json: three containers running; metrics: a container label"
}

# --- docker stop api: only its listeners and sockets close -----------------------
api_stops() {
	local api_ns pid
	api_ns=$(readlink "/proc/$(container_pid api)/ns/net")
	[ "$(sockets_in "$api_ns" "$NSB_PID" $helpers)" -gt 0 ] || fail "no socket of nsbridge in api before it stopped"
	docker stop -t 0 api >/dev/null || fail "docker stop api"
	wait_until "log line of api stopping" 30 \
		grep -q "container api stopped: its listeners are closed until it runs again" "$NSB_LOG"
	assert_eq "status of api" stopped "$(status_of api)"
	assert_eq "sockets of nsbridge and its helpers in api's namespace" 0 "$(sockets_in "$api_ns" "$NSB_PID" $helpers)"
	for pid in $NSB_PID $helpers; do
		[[ "$(ls -l "/proc/$pid/fd" 2>/dev/null)" == *"$api_ns"* ]] && fail "process $pid holds api's namespace"
	done
	curl -sS --max-time 5 "http://127.0.0.1:$app_api/" >/dev/null 2>&1 && fail "api's app answered while api was stopped"
	for _ in 1 2 3; do
		serving web jobs
	done
	assert_eq "status of web" running "$(status_of web)"
	pass "docker stop api: no socket or fd of nsbridge left in its namespace; web and jobs go on serving"
}

# --- docker start api: its bridges come back ----------------------------------------
api_starts() {
	docker start api >/dev/null || fail "docker start api"
	wait_until "api's bridges back" 30 sh -c \
		"[ \"\$(timeout 10 docker exec api wget -qO- http://127.0.0.1:$db/ 2>/dev/null)\" = 'host db' ]"
	wait_until "api's app on the host" 30 sh -c \
		"[ \"\$(curl -sS --max-time 5 http://127.0.0.1:$app_api/ 2>/dev/null)\" = 'app api' ]"
	serving web api jobs
	assert_eq "status of api" running "$(status_of api)"
	assert_match "log line of api running again" "container api runs again" "$(cat "$NSB_LOG")"
	pass "docker start api: its bridges are back, both directions; the others never stopped"
}

# after the SIGTERM below
stopped() {
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "SIGTERM: exit 0"
}

check three_containers
check status_and_metrics
check api_stops
check api_starts
stop_nsb TERM
check stopped
