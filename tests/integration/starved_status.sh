#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# starved_status.sh - with every descriptor taken by client connections,
# nsbridge status and --metrics still answer and say so; the clients
# beyond wait, and are served once descriptors free up
. "$(dirname "$0")/lib.sh"

mkns ns starved
lo_up "$ns"
pick_port port "$ns"
pick_port mport

PEER=$(dirname "$(readlink -f "$0")")/hold_peer.py
JSON="python3 $(dirname "$(readlink -f "$0")")/status_json.py"

# an echo service that holds each connection until the client closes it
bg python3 "$PEER" echo "$port"
wait_listen "" "$port"

NSB_WRAP=(prlimit --nofile=128:128)
start_nsb --metrics "127.0.0.1:$mport" -c "netns:$ns" "host:$port" "container:$port"
# 80 clients that each send a byte and stay; once $T/go exists 60 leave
# and the others wait for their echo (idle_clients.py)
bg ip netns exec "$ns" python3 "$(dirname "$0")/idle_clients.py" "$port" 80 "$T/clients" 60 "$T/go"
wait_until "80 clients connected" 30 grep -qx connected=80 "$T/clients"
wait_until "line about running out of descriptors" 30 grep -q "Too many open files" "$NSB_LOG"

out_of_descriptors() {
	local held
	assert_eq "clients connected (the kernel's backlog holds those not accepted)" \
		connected=80 "$(cat "$T/clients" 2>/dev/null)"
	grep -q "Too many open files.*wait until descriptors free up" "$NSB_LOG" ||
		fail "no log line says nsbridge is out of descriptors"
	held=$(ss -Htn state established "( sport = :$port )" | wc -l)
	[ "$held" -lt 80 ] || fail "nsbridge relayed all 80 clients: it never ran out of descriptors"
	pass "out of descriptors at 128: $held of 80 clients relayed, the log says so"
}

# the operator looks: both answer, and say the relay is starved
status_answers() {
	"$NSB" status --json "$NSB_PID" >"$T/status.json" 2>"$T/status.err" ||
		fail "nsbridge status at the descriptor limit: $(cat "$T/status.err")"
	assert_eq "status --json: starved" true "$($JSON get "$T/status.json" starved)"
	"$NSB" status "$NSB_PID" >"$T/status.txt" 2>&1 || fail "nsbridge status (text): $(cat "$T/status.txt")"
	assert_match "status text" "out of descriptors" "$(cat "$T/status.txt")"
	curl -sS --max-time 5 "http://127.0.0.1:$mport/metrics" >"$T/metrics.txt" ||
		fail "GET /metrics at the descriptor limit"
	grep -qx "nsbridge_starved 1" "$T/metrics.txt" || fail "/metrics: no 'nsbridge_starved 1'"
	pass "nsbridge status and /metrics answer at the descriptor limit, and show it"
}

# idle scrapers take the whole reserve and more; once they leave, the
# server takes new scrapes again (libmicrohttpd, short of descriptors,
# had put its listening socket aside)
idle_scrapers() {
	local idlers t0 ticks
	bg python3 "$PEER" open 8 "$mport" "$T/held" "$T/release"
	idlers=$BG_PID
	wait_until "8 idle connections to /metrics" 30 test -e "$T/held"
	t0=$(cpu_ticks "$NSB_PID")
	sleep 1	# not a wait: the window the CPU time is measured over
	ticks=$(($(cpu_ticks "$NSB_PID") - t0))
	[ "$ticks" -le 15 ] || fail "nsbridge used $ticks CPU ticks in 1 s with its reserve taken"
	touch "$T/release"
	wait_exit "$idlers" 10
	curl -sS --max-time 10 "http://127.0.0.1:$mport/metrics" | grep -qx "nsbridge_starved 1" ||
		fail "/metrics after idle scrapers took the reserve and left"
	"$NSB" status --json "$NSB_PID" | grep -q '"starved":true' ||
		fail "nsbridge status after idle scrapers took the reserve and left"
	pass "idle scrapers that took the reserve: no busy loop ($ticks CPU ticks in 1 s); answers again once they leave"
}

# many at once, more than the reserve holds: each is answered in turn,
# and nothing spins meanwhile
burst() {
	local t0 pids=() i pid ticks
	t0=$(cpu_ticks "$NSB_PID")
	for i in $(seq 1 6); do
		"$NSB" status --json "$NSB_PID" >"$T/burst-status-$i" 2>&1 &
		pids+=($!)
		curl -sS --max-time 10 "http://127.0.0.1:$mport/metrics" >"$T/burst-metrics-$i" 2>&1 &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || fail "a status or a scrape of a burst at the limit failed: $(cat "$T"/burst-*)"
	done
	grep -l '"starved":true' "$T"/burst-status-* | wc -l | grep -qx 6 || fail "burst: a status without starved"
	grep -l "nsbridge_starved 1" "$T"/burst-metrics-* | wc -l | grep -qx 6 || fail "burst: a scrape without starved"
	ticks=$(($(cpu_ticks "$NSB_PID") - t0))
	# a relay spinning on a socket it cannot accept would burn a core meanwhile
	[ "$ticks" -le 30 ] || fail "nsbridge used $ticks CPU ticks for 12 requests at the limit"
	pass "6 status requests and 6 scrapes at once at the limit: all answered ($ticks CPU ticks)"
}

# the clients beyond waited: once 60 leave, the 20 others (all of them
# in the backlog until then) are served
waiting_clients_served() {
	touch "$T/go"
	wait_until "word from the 20 clients that stayed" 60 grep -q answered= "$T/clients"
	assert_eq "echoes to the 20 clients that stayed" answered=20 "$(cat "$T/clients")"
	pass "the clients that waited for descriptors were all served"
}

# not_starved - nsbridge status says the relay has descriptors again
not_starved() {
	"$NSB" status --json "$NSB_PID" >"$T/status.json" 2>/dev/null &&
		grep -q '"starved":false' "$T/status.json"
}

# after the clients above left
descriptors_back() {
	wait_until "status without starved after the clients left" 30 not_starved
	curl -sS --max-time 5 "http://127.0.0.1:$mport/metrics" | grep -qx "nsbridge_starved 0" ||
		fail "/metrics: no 'nsbridge_starved 0' after the clients left"
	pass "status and /metrics say so when descriptors are back"
}

check out_of_descriptors
check status_answers
check idle_scrapers
check burst
check waiting_clients_served
check descriptors_back
