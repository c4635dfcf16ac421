#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# robust.sh - a service that stops reading costs bounded memory and no CPU;
# a service killed mid-transfer resets its client and disturbs no other
. "$(dirname "$0")/lib.sh"

mkns ns robust
lo_up "$ns"
pick_port stall "$ns"
pick_port crash "$ns"

PEER=$(dirname "$(readlink -f "$0")")/hold_peer.py

# stall: accepts, reads nothing, holds the connection
bg python3 "$PEER" stall "$stall"
# crash: sends a stream to each client until it is killed
bg python3 "$PEER" flood "$crash"
crash_pid=$BG_PID
wait_listen "" "$stall"
wait_listen "" "$crash"
start_nsb -c "netns:$ns" "host:$stall" "container:$stall" "host:$crash" "container:$crash"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$NSB_PID/status"; }
rss0=$(rss)

# (a) 256 MiB toward a service that reads nothing: the sender blocks, the
# relay's memory does not follow it, and it does not spin
stalled_service() {
	local sent t0 t1 grow
	nsx "$ns" python3 "$PEER" push "$stall" >"$T/stall.out" || fail "the stalled sender"
	sent=$(cat "$T/stall.out")
	[ "$sent" -lt $((64 << 20)) ] || fail "$sent bytes went into a service that reads nothing"
	t0=$(cpu_ticks "$NSB_PID")
	sleep 2	# not a wait: the window the CPU time is measured over
	t1=$(cpu_ticks "$NSB_PID")
	[ $((t1 - t0)) -le 5 ] || fail "the relay used $((t1 - t0)) ticks in 2 s while stalled"
	grow=$(($(rss) - rss0))
	[ "$grow" -le 4096 ] || fail "the relay grew $grow KiB holding a stalled transfer"
	pass "a service that stops reading: the sender stalled at $((sent >> 20)) MiB, the relay grew $grow KiB and idled ($((t1 - t0)) ticks in 2 s)"
}

# (b) the streaming service is killed mid-transfer: its client sees a
# reset, not a clean end; a connection to the other service goes on
service_killed() {
	local reader
	nsx "$ns" python3 "$PEER" drink "$T/crash.flowing" "$crash" >"$T/crash.out" &
	reader=$!
	wait_until "bytes from the streaming service" 30 test -e "$T/crash.flowing"
	kill -KILL "$crash_pid"
	wait_exit "$reader" 60
	assert_match "the client of the killed service" "^reset [0-9]+$" "$(cat "$T/crash.out")"
	alive "$NSB_PID" || fail "nsbridge died with the service"
	timeout 10 ip netns exec "$ns" bash -c "echo still here >/dev/tcp/127.0.0.1/$stall" ||
		fail "a new connection after the crash"
	pass "a service killed mid-transfer: its client saw a reset after $(awk '{ print $2 }' "$T/crash.out") bytes; the other bridge works"
}

# after the SIGTERM below, which ends the nsbridge of the checks above
stopped_by_sigterm() {
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "SIGTERM after a stalled and a killed service: exit 0"
}

check stalled_service
check service_killed
stop_nsb
check stopped_by_sigterm
