#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# emfile.sh - out of descriptors: no busy loop, clients wait, all are served
. "$(dirname "$0")/lib.sh"

mkns ns emfile
pick_port port "$ns"

PEER=$(dirname "$(readlink -f "$0")")/hold_peer.py

# a slow service: every connection waits 2 s for its answer, so
# connections pile up past nsbridge's descriptor limit
bg python3 "$PEER" slow 2 "$port"
wait_listen "" "$port"

NSB_WRAP=(prlimit --nofile=128:128)
start_nsb -c "netns:$ns" "host:$port" "container:$port"
bg_to "$T/clients.out" ip netns exec "$ns" python3 "$PEER" ask 150 "$port"

no_busy_loop() {
	local t0 used
	wait_until "line about the descriptor limit" 60 \
		grep -q "Too many open files.*wait until descriptors free up" "$NSB_LOG"
	t0=$(cpu_ticks "$NSB_PID")
	sleep 1	# not a wait: the window the CPU time is measured over
	used=$(($(cpu_ticks "$NSB_PID") - t0))
	# a busy loop would burn about 100 ticks in that second
	[ "$used" -le 10 ] || fail "nsbridge used $used ticks in 1 s while out of descriptors"
	pass "out of descriptors: $used CPU ticks in 1 s, one log line"
}

# the clients started above, once the check above has watched them wait
all_answered() {
	wait_until "end of the 150 clients" 90 test -s "$T/clients.out"
	assert_eq "answers to 150 clients" "done=150" "$(cat "$T/clients.out")"
	pass "150 clients through a bridge limited to 128 fds: all answered once fds freed up"
}

served_after() {
	local body
	body=$(ip netns exec "$ns" python3 "$PEER" ask 1 "$port")
	assert_eq "a client afterwards" "done=1" "$body"
	pass "new connections served after the shortage"
}

check no_busy_loop
check all_answered
check served_after
