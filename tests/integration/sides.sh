#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sides.sh - three containers in one nsbridge (network namespaces: no engine
# needed): -c REF scopes the pairs after it, both directions in each; one
# that stops closes only its own listeners and sockets while the others go
# on; status --json and the metrics name each container; a --config
# bridge's own container; the refusals
#
# Each behaviour starts its own nsbridge, stopped when the check ends
# however it ends, and its own process in b to name it by.
. "$(dirname "$0")/lib.sh"

HERE=$(dirname "$(readlink -f "$0")")

mkns a mca
mkns b mcb
mkns c mcc
for ns in "$a" "$b" "$c"; do lo_up "$ns"; done
pick_port db "$a" "$b" "$c"
pick_port app "$a" "$b" "$c"
pick_port app_a "$a" "$b" "$c"
pick_port app_b "$a" "$b" "$c"
pick_port app_c "$a" "$b" "$c"
pick_port mport
mkdir -p "$T/www" && echo "host db" >"$T/www/index.html"
start_nginx "" "$db" "$T/www" 127.0.0.1
for ns in "$a" "$b" "$c"; do
	mkdir -p "$T/$ns" && echo "app in $ns" >"$T/$ns/index.html"
	start_nginx "$ns" "$app" "$T/$ns" 127.0.0.1
done

# get NS PORT - what curl gets from 127.0.0.1:PORT in NS ("" = the host)
get() {
	if [ -n "$1" ]; then
		nsx "$1" curl -sS --max-time 5 "http://127.0.0.1:$2/"
	else
		curl -sS --max-time 5 "http://127.0.0.1:$2/"
	fi
}

# serving NS... - each container reaches the host's db, and its app is on the host
serving() {
	local ns port
	for ns in "$@"; do
		case $ns in
		"$a") port=$app_a ;;
		"$b") port=$app_b ;;
		"$c") port=$app_c ;;
		esac
		assert_eq "host db inside $ns" "host db" "$(get "$ns" "$db")"
		assert_eq "the app of $ns on the host" "app in $ns" "$(get "" "$port")"
	done
}

# openers NSB_PID - how many nsbridge-opener children nsbridge has
openers() {
	local pid n=0
	for pid in $(cat "/proc/$1/task/$1/children"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nsbridge-opener ] && n=$((n + 1))
	done
	echo "$n"
}

# status PATH... - values of nsbridge status --json (json_check.py get)
status() {
	"$NSB" status --json "$NSB_PID" >"$T/status.json" || fail "nsbridge status --json"
	python3 "$HERE/json_check.py" get "$T/status.json" "$@" || fail "status --json: $*"
}

# three_containers - sleeper HOLDER in b (b is named by pid: its exit is
# the container stopping), and an nsbridge with -c for the pairs after it
three_containers() {
	sleeper_in "$b" holder
	own_nsb --metrics "127.0.0.1:$mport" \
		-c "netns:$a" "host:$db" "container:$db" "container:$app" "host:$app_a" \
		-c "pid:$holder" "host:$db" "container:$db" "container:$app" "host:$app_b" \
		-c "netns:$c" "host:$db" "container:$db" "container:$app" "host:$app_c"
}

# --- three containers, each -c for the pairs after it ------------------------
each_c_scopes() {
	local log
	three_containers
	log=$(cat "$NSB_LOG")
	assert_match "ready line of a" "host 127.0.0.1:$db -> container netns:$a 127.0.0.1:$db.* ready" "$log"
	assert_match "ready line of b" "container pid:$holder 127.0.0.1:$app -> host 127.0.0.1:$app_b.* ready" "$log"
	assert_match "ready line of c" "container netns:$c 127.0.0.1:$app -> host 127.0.0.1:$app_c.* ready" "$log"
	serving "$a" "$b" "$c"
	assert_eq "openers for three containers" 1 "$(openers "$NSB_PID")"
	pass "-c a PAIRS -c pid:N PAIRS -c c PAIRS: six bridges, both directions in each of three namespaces, one opener"
}

status_names_containers() {
	local text
	three_containers
	serving "$a" "$b" "$c"
	assert_eq "status --json: containers" "netns:$a pid:$holder netns:$c" "$(status 0.containers.*.container)"
	assert_eq "status --json: containers running" "true true true" "$(status 0.containers.*.running)"
	assert_eq "status --json: each bridge's container" \
		"netns:$a netns:$a pid:$holder pid:$holder netns:$c netns:$c" "$(status 0.bridges.*.container)"
	assert_eq "status --json: each bridge accepted one" "1 1 1 1 1 1" "$(status 0.bridges.*.accepted)"
	text=$("$NSB" status "$NSB_PID")
	assert_match "status names each container" "container netns:$a running, container pid:$holder running, container netns:$c running" "$text"
	curl -sS --max-time 5 "http://127.0.0.1:$mport/metrics" >"$T/metrics.txt" || fail "GET /metrics"
	assert_match "bridge 2 is pid:$holder's" \
		"nsbridge_bridge_info\\{bridge=\"2\",[^}]*,container=\"pid:$holder\"\\} 1" "$(cat "$T/metrics.txt")"
	assert_match "bridge 2 accepted one" \
		"nsbridge_connections_accepted_total\\{bridge=\"2\"\\} 1" "$(cat "$T/metrics.txt")"
	assert_eq "nsbridge_container_up samples" 3 "$(grep -c '^nsbridge_container_up{' "$T/metrics.txt")"
	pass "status --json and the text list the three containers and each bridge's; the metrics' info series names each bridge's container"
}

# --- b stops: only its listeners and sockets close ----------------------------
one_stops() {
	local helpers b_ns socks
	three_containers
	helpers=$(cat "/proc/$NSB_PID/task/$NSB_PID/children")
	b_ns=$(nsx "$b" readlink /proc/self/ns/net)
	socks=$(python3 "$HERE/sock_netns.py" "$NSB_PID" $helpers)
	[[ "$socks" == *"$b_ns"* ]] || fail "no socket of nsbridge in b's namespace $b_ns before it stopped"
	kill "$holder"
	wait_until "log line of b stopping" 30 grep -q "container pid:$holder stopped; its bridges are closed for good" "$NSB_LOG"
	alive "$NSB_PID" || fail "nsbridge exited when one of three containers stopped"
	wait_until "b's listener to close" 30 port_free "$b" "$db"
	socks=$(python3 "$HERE/sock_netns.py" "$NSB_PID" $helpers)
	[[ "$socks" == *"$b_ns"* ]] && fail "a socket of nsbridge is still in b's namespace: $socks"
	[[ "$socks" == *"$(nsx "$a" readlink /proc/self/ns/net)"* ]] || fail "no socket of nsbridge left in a's namespace"
	get "" "$app_b" >/dev/null 2>&1 && fail "b's app still answered on the host after b stopped"
	for _ in 1 2 3; do
		serving "$a" "$c"
	done
	assert_eq "status --json after b stopped: containers running" "true false true" \
		"$(status 0.containers.*.running)"
	alive "$NSB_PID" || fail "nsbridge exited"
	stop_nsb TERM
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "pid:N of b exits: b's listener and every socket in its namespace close, a and c go on serving"
}

# --- a single -c anywhere is for every pair; NSBRIDGE_CONTAINER before the first
where_c_goes() {
	own_nsb "host:$db" "container:$db" -c "netns:$a" "container:$app" "host:$app_a"
	serving "$a"
	stop_nsb TERM
	NSBRIDGE_CONTAINER="netns:$a" own_nsb "host:$db" "container:$db" "container:$app" "host:$app_a" \
		-c "netns:$c" "host:$db" "container:$db" -c "netns:$c" "container:$app" "host:$app_c"
	serving "$a" "$c"
	assert_eq "openers for two containers" 1 "$(openers "$NSB_PID")"
	stop_nsb TERM
	pass "a single -c after a pair is for it too; NSBRIDGE_CONTAINER for the pairs before the first of two -c; two -c c are one side"
}

# --- --config: a bridge names its own container ---------------------------------
config_containers() {
	cat >"$T/multi.conf" <<-EOF
	container = "netns:$a";
	bridges = (
	  { service = "host:$db"; expose = "container:$db"; },
	  { service = "container:$app"; expose = "host:$app_a"; },
	  { service = "host:$db"; expose = "container:$db"; container = "netns:$c"; },
	  { service = "container:$app"; expose = "host:$app_c"; container = "netns:$c"; }
	);
	EOF
	NSB_READY=4 own_nsb --config "$T/multi.conf"
	serving "$a" "$c"
	stop_nsb TERM
	pass "--config: bridges in the file's container and in their own"
}

# --- refusals: one line, exit 2 --------------------------------------------------
refused() {	# REGEX ARGS...
	local regex=$1 out rc
	shift
	out=$("$NSB" "$@" 2>&1)
	rc=$?
	assert_eq "exit status of $*" 2 "$rc"
	assert_eq "one line for $*" 1 "$(printf '%s\n' "$out" | wc -l)"
	assert_match "message of $*" "$regex" "$out"
}
refusals() {
	refused "'-c netns:$c' comes between SERVICE 'host:$db' and its EXPOSE" \
		-c "netns:$a" "host:$db" "container:$db" "host:$db" -c "netns:$c" "container:$db"
	refused "--mirror follows one container" -c "netns:$a" -c "netns:$c" --mirror host container
	refused "'container:$db'.*needs --container" \
		"host:$db" "container:$db" -c "netns:$a" "host:$app" "container:$app" -c "netns:$c" "host:$app" "container:$app"
	refused "SERVICE container:$db is the same socket as EXPOSE host:$db \\(container self is the same network namespace as host\\)" \
		-c "netns:$a" "host:$db" "container:$db" -c self "container:$db" "host:$db"
	refused "SERVICE host:$app_b is the same socket as EXPOSE host:$app_b, and SERVICE container:$app_c as EXPOSE container:$app_c \\(container /run/netns/$a is the same network namespace as container netns:$a\\): the two bridges would relay to each other" \
		-c "netns:$a" "host:$app_b" "container:$app_c" -c "/run/netns/$a" "container:$app_c" "host:$app_b"
	pass "a -c inside a pair, --mirror with two containers, a pair no container reaches, a self-bridge through -c self or through two REFs of one namespace: exit 2, one line"
}

check each_c_scopes
check status_names_containers
check one_stops
check where_c_goes
check config_containers
check refusals
