#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# limits.sh - --max-connections holds new clients back without stalling other bridges
. "$(dirname "$0")/lib.sh"

mkns ns limits
pick_port capped "$ns"
pick_port other "$ns"

PEER=$(dirname "$(readlink -f "$0")")/hold_peer.py
WAIT=20	# seconds a client that should be greeted waits for it: a guard

# a greeter: says hello at once and keeps the connection until the client leaves
bg python3 "$PEER" greet "$capped" "$other"
wait_listen "" "$capped"
wait_listen "" "$other"

start_nsb --max-connections 3 -c "netns:$ns" "host:$capped" "container:$capped" \
	"host:$other" "container:$other"

# three clients that stay until $T/release exists
bg_to "$T/three.out" ip netns exec "$ns" python3 "$PEER" greeted 3 "$WAIT" "$capped" "$T/release"
three=$BG_PID
wait_until "word from the first three clients" 60 test -s "$T/three.out"

# the fourth is held back while three are open...
fourth_waits() {
	local fourth
	assert_eq "the first three clients" "greeted=3" "$(cat "$T/three.out")"
	# a second is how long the fourth looks for a greeting that must not come
	bg_to "$T/fourth.out" ip netns exec "$ns" python3 "$PEER" greeted 1 1 "$capped"
	fourth=$BG_PID
	# ...while the other bridge of the same process serves at once
	assert_eq "the other bridge" "greeted=3" \
		"$(ip netns exec "$ns" python3 "$PEER" greeted 3 "$WAIT" "$other")"
	wait_exit "$fourth" 30
	assert_eq "a fourth client while three are open" "greeted=0" "$(cat "$T/fourth.out")"
	grep -q "has 3 connections (--max-connections)" "$NSB_LOG" || fail "no line about the cap"
	pass "the fourth connection waits; the other bridge is not stalled"
}

resumes() {
	touch "$T/release"
	wait_until "end of the first three clients" 30 gone "$three"
	assert_eq "a client after the three left" "greeted=1" \
		"$(ip netns exec "$ns" python3 "$PEER" greeted 1 "$WAIT" "$capped")"
	pass "accepting resumes when connections close"
}

check fourth_waits
check resumes
