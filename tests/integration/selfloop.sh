#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# selfloop.sh - a bridge whose SERVICE is its own EXPOSE is refused: exit 2, one line, nothing bound
#
# When host and container are one namespace (-c self, --host-netns and -c
# naming one, pid:N of a process beside nsbridge), a SERVICE and an EXPOSE
# with the same port are one socket: the first client would make nsbridge
# connect to its own listener, again and again, until it ran out of
# descriptors. nsbridge must see that at start and refuse; a bridge between
# two namespaces that merely looks alike must still work.
. "$(dirname "$0")/lib.sh"

mkns ns other
lo_up "$ns"
pick_port p "$ns"
pick_port q "$ns"
pick_port w "$ns"
pick_range r 15 "$ns"
bg sleep 600	# a process in nsbridge's own namespace, for pid:N
beside=$BG_PID

# refusal WHAT ARGS... - nsbridge exits 2 at once with one line that says
# "is the same socket as" (or "would relay to", for --mirror), binds
# nothing, prints no ready line and leaves no process behind; sets ERR
refusal() {
	local what=$1 n
	shift
	timeout 10 "$NSB" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	ERR=$(cat "$T/err")
	assert_eq "$what: exit status (stderr: $ERR)" 2 "$RC"
	n=$(wc -l <"$T/err")
	assert_eq "$what: lines on stderr ($ERR)" 1 "$n"
	assert_match "$what: the line" "^nsbridge: .* the same socket as .*" "$ERR"
	[[ "$ERR" == *ready* ]] && fail "$what: a ready line: $ERR"
	assert_eq "$what: sockets bound here" "" "$(ss -Htlnu)"
	assert_eq "$what: sockets bound in the other namespace" "" "$(nsx "$ns" ss -Htlnu)"
}

# refused WHAT ARGS... - a refusal, one behaviour
refused() {
	refusal "$@"
	pass "$1: refused: $ERR"
}

self_names_both() {
	refusal "-c self" -c self "host:$p" "container:$p"
	assert_match "-c self names both endpoints" \
		"SERVICE host:$p is the same socket as EXPOSE container:$p \(container self is the same network namespace as host\)" \
		"$ERR"
	pass "-c self: refused: $ERR"
}

check self_names_both
check refused "-c self, the other direction" -c self "container:$p" "host:$p"
check refused "--host-netns and -c naming one namespace" \
	--host-netns "/run/netns/$ns" -c "netns:$ns" "host:$p" "container:$p"
check refused "-c pid:N of a process beside nsbridge" -c "pid:$beside" "host:$p" "container:$p"
check refused "-c /proc/self/ns/net" -c /proc/self/ns/net "host:$p" "container:$p"
check refused "ranges that overlap in part" -c self "host:$r-$((r + 9))" "container:$((r + 5))-$((r + 14))"
check refused "the second of several SERVICEs" -c self "host:$q,host:$p" "container:$p"
check refused "the [::1] fallback" -c self "host:$p" "container:[::1]:$p"
check refused "a wildcard EXPOSE" -c self --allow-nonlocal "host:127.0.0.1:$p" "container:0.0.0.0:$p"
check refused "UDP" -c self "host:$p/udp" "container:$p/udp"
check refused "--mirror from a side to itself" -c self --mirror host container
check refused "two bridges into each other" -c self "host:$p" "container:$q" "host:$q" "host:$p"

# --- what only looks alike still works: the same ports between two
# namespaces (after the refusals, which check that nothing is bound here)
echo "over the bridge" >"$T/index.html"
between_namespaces() {
	local got
	start_nginx "" "$p" "$T"
	start_nsb -c "netns:$ns" "host:$p" "container:$p"
	got=$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$p/index.html") ||
		fail "curl through a bridge between two namespaces"
	assert_eq "bytes through a bridge between two namespaces" "over the bridge" "$got"
	stop_nsb
	pass "host:$p container:$p between two namespaces still relays"
}

# and -c self to another port: a bridge, not a loop
self_to_another_port() {
	local got
	start_nginx "" "$w" "$T"
	start_nsb -c self "host:$w" "container:$q"
	got=$(curl -sS --max-time 5 "http://127.0.0.1:$q/index.html") || fail "curl through -c self"
	assert_eq "bytes through -c self to another port" "over the bridge" "$got"
	stop_nsb
	pass "-c self host:$w container:$q still relays"
}

check between_namespaces
check self_to_another_port
