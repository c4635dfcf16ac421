#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# unix_queue.sh - a unix: SERVICE whose accept queue is full makes clients
# wait, as a direct connect() would, not a reset; one that never accepts
# still resets them at --connect-timeout
. "$(dirname "$0")/lib.sh"

PROBE="python3 $(dirname "$(readlink -f "$0")")/probe_peer.py"

mkns ns unixq
pick_port port "$ns"
pick_port stuck_port "$ns"
slow=$T/slow.sock
stuck=$T/stuck.sock
clients=30

# a service with listen(4) that accepts 20 connections a second: 30
# clients at once overfill its queue. It answers each line with "ok LINE".
bg_to "$T/slow.out" $PROBE slow "$slow"
wait_until "the slow service ($(cat "$T/slow.out"))" 30 grep -q listening "$T/slow.out"
# a service that never accepts, its queue of one already full
bg_to "$T/stuck.out" $PROBE stuck "$stuck"
wait_until "a full queue of the stuck service ($(cat "$T/stuck.out"))" 30 grep -q full "$T/stuck.out"

full_queue_waits() {
	local got
	# direct: every connect() waits for room in the queue
	got=$($PROBE crowd $clients "$slow")
	assert_eq "direct, $clients clients at once" "ok=$clients" "$got"
	# through nsbridge: the same; the generous timeout leaves room for a loaded machine
	start_nsb --connect-timeout 30s -c "netns:$ns" "unix:$slow" "container:$port"
	got=$(ip netns exec "$ns" $PROBE crowd $clients "$port")
	assert_eq "through nsbridge, $clients clients at once" "ok=$clients" "$got"
	if grep -q "refused\|was reset" "$NSB_LOG"; then
		fail "a client was refused: $(grep "refused\|was reset" "$NSB_LOG" | head -n 3)"
	fi
	stop_nsb
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "a unix SERVICE with a full accept queue: all $clients clients served, as directly"
}

never_accepts() {
	local t0 used what ms
	NSB_LOG=$T/stuck.log
	start_nsb --connect-timeout 1s -c "netns:$ns" "unix:$stuck" "container:$stuck_port"
	t0=$(cpu_ticks "$NSB_PID")
	read -r what ms < <(ip netns exec "$ns" $PROBE timed "$stuck_port")
	used=$(($(cpu_ticks "$NSB_PID") - t0))
	assert_eq "a service that never accepts: what the client saw" reset "$what"
	[ "$ms" -ge 900 ] || fail "reset after $ms ms, before --connect-timeout 1s"
	# waiting for room is a timer, not a busy loop, which would burn about 100 ticks
	[ "$used" -le 20 ] || fail "nsbridge used $used CPU ticks while the client waited $ms ms"
	assert_match "log line" "unix:$stuck did not answer in time" "$(cat "$NSB_LOG")"
	alive "$NSB_PID" || fail "nsbridge died"
	pass "a unix SERVICE that never accepts: the client is reset after $ms ms (--connect-timeout 1s)"
}

check full_queue_waits
check never_accepts
