#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# drain_starved.sh - a drain that starts while nsbridge is out of
# descriptors waits quietly: no busy loop, whatever the state
. "$(dirname "$0")/lib.sh"

mkns ns dstarve
lo_up "$ns"
pick_port port "$ns"

PEER=$(dirname "$(readlink -f "$0")")/hold_peer.py

# a service that takes every connection and holds it, answering nothing
bg python3 "$PEER" hold "$port"
wait_listen "" "$port"

# syscalls_read PID - read(2)-like calls a process has made (/proc/PID/io);
# a loop woken by its timer reads the timerfd each time
syscalls_read() {
	awk '/^syscr:/ { print $2 }' "/proc/$1/io"
}

NSB_WRAP=(prlimit --nofile=65:65)
# a drain timeout far beyond the check's window, however slow the machine:
# the second SIGTERM ends the drain
start_nsb --drain-timeout 300s -c "netns:$ns" "host:$port" "container:$port"
# more clients than 65 descriptors take: their connects complete in the backlog
bg ip netns exec "$ns" python3 "$(dirname "$0")/idle_clients.py" "$port" 40 "$T/clients"
wait_until "line about running out of descriptors" 30 grep -q "Too many open files" "$NSB_LOG"
# every client connected before the drain closes the listeners: one refused
# would end the clients' script, its connections with it, and the drain
wait_until "40 clients connected" 30 grep -qx "connected=40" "$T/clients"

drain_waits() {
	local r0 t0 reads ticks
	kill -TERM "$NSB_PID"
	wait_until "drain" 30 grep -q "stopping: .* connections may finish" "$NSB_LOG"
	# A waiting loop makes a few calls in this window, a spinning one
	# thousands; the window only bounds the test, the count is the check.
	r0=$(syscalls_read "$NSB_PID")
	t0=$(cpu_ticks "$NSB_PID")
	sleep 2
	reads=$(($(syscalls_read "$NSB_PID") - r0))
	ticks=$(($(cpu_ticks "$NSB_PID") - t0))
	alive "$NSB_PID" || fail "nsbridge ended the drain early: $(tail -n 1 "$NSB_LOG")"
	note "during 2 s of drain: $reads read calls, $ticks CPU ticks"
	[ "$reads" -le 100 ] || fail "draining while out of descriptors: $reads read calls in 2 s (busy loop)"
	pass "a drain out of descriptors waits without a busy loop"
}

# after the second SIGTERM below, which ends the drain at once
second_sigterm() {
	assert_eq "exit status after the second SIGTERM" 0 "$NSB_STATUS"
	pass "a second SIGTERM ends the drain: exit 0"
}

check drain_waits
stop_nsb TERM
check second_sigterm
