#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# demo.sh - the quick start's demo shows the bridge, and ends when its port is taken
#
# tests/demo.sh is run with the nsbridge under test (no install, no build),
# in this test's own namespace. With its web server's port already held by
# another socket the demo must say so and exit non-zero at once, not wait
# forever for a server that cannot start: a listener (seen before the
# server starts), then a socket bound but not listening (ss -tln does not
# show it, so only the server's failed bind tells). Then as a newcomer
# meets it: the page comes through the bridge on both loopbacks. The
# order matters: the connections of a demo that ran leave TIME_WAIT
# sockets on the port, which a plain bind would trip over.
. "$(dirname "$0")/lib.sh"

DEMO=$(readlink -f "$(dirname "$0")/../demo.sh")
port=62893	# the demo's; this namespace is the test's own, so it is free
port_free "" "$port" || fail "port $port is taken before the demo ran"

# demo - run the demo, bounded; sets RC, OUT and ERR
demo() {
	timeout 60 "$DEMO" "$NSB" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# hold_port listen|bind - another process holds the demo's port until the
# check ends, however it ends; sets HOLDER
hold_port() {
	: >"$T/holder"
	bg_to "$T/holder" python3 "$(dirname "$0")/probe_peer.py" hold "$1" "$port"
	HOLDER=$BG_PID
	trap 'kill "$HOLDER" 2>/dev/null' EXIT	# the check's subshell's
	wait_until "a holder of port $port" 30 holding
}
holding() {
	alive "$HOLDER" || fail "the holder of port $port: $(cat "$T/holder")"
	grep -q holding "$T/holder"
}

# refused WHAT REGEX - the demo did not hang, failed with a line matching
# REGEX, and did not go on; then the holder lets the port go
refused() {
	[ "$RC" = 124 ] && fail "$1: the demo hung (killed after 60 s)"
	[ "$RC" = 0 ] && fail "$1: the demo exited 0: $OUT"
	assert_match "$1: the demo's message" "$2" "$ERR"
	[[ "$OUT" == *"ip netns add"* ]] && fail "$1: the demo went on without its server: $OUT"
	alive "$HOLDER" || fail "$1: the process that held the port is gone"
	kill "$HOLDER"
	wait "$HOLDER" 2>/dev/null
}

port_bound() {
	hold_port bind
	port_free "" "$port" || fail "the bound socket listens: not the case meant"
	demo
	refused "port bound, not listening" \
		"demo\.sh: the web server on 127\.0\.0\.1:$port could not start: .*Address already in use"
	pass "with port $port bound elsewhere the demo says its server could not start, exit $RC"
}

port_listened() {
	hold_port listen
	demo
	refused "port listened on" "demo\.sh: port $port is in use here"
	pass "with port $port listened on elsewhere the demo says so, exit $RC"
}

shows_the_page() {
	demo
	assert_eq "demo exit status (stderr: $ERR)" 0 "$RC"
	assert_match "the ready line" \
		"host 127.0.0.1:$port -> container netns:nsbridge-demo-[0-9]+ 127.0.0.1:$port, \[::1\]:$port ready" \
		"$OUT"
	assert_eq "pages through the bridge" 2 "$(grep -c "^hello from the host's loopback$" <<<"$OUT")"
	port_free "" "$port" || fail "the demo left something listening on $port"
	pass "the demo shows the host's page in the namespace, on 127.0.0.1 and [::1]"
}

# in this order: a demo that ran leaves TIME_WAIT sockets on the port
check port_bound
check port_listened
check shows_the_page
