#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# notify.sh - systemd readiness: READY=1 on $NOTIFY_SOCKET once every bridge
# is bound (and the bridge answers at that moment), STOPPING=1 on SIGTERM
#
# Each behaviour has its nsbridge, notify socket and container port.
. "$(dirname "$0")/lib.sh"

mkns ns notify
pick_port port "$ns"
pick_port p_stop "$ns"
pick_port p_quiet "$ns"
mkdir -p "$T/www" && echo "ready means ready" >"$T/www/index.html"
start_nginx "" "$port" "$T/www"

# the notify socket: each datagram, and whether the bridge answered
# inside the namespace when READY=1 came
ready_when_bound() {
	local ready
	NSB_LOG=$T/ready.log
	start_notify "$T/notify-ready" "$T/notes-ready" "$ns" "$port"
	NOTIFY_SOCKET=$T/notify-ready start_nsb -c "netns:$ns" "host:$port" "container:$port"
	wait_until "READY=1 on the notify socket" 30 grep -q READY=1 "$T/notes-ready"
	ready=$(grep READY=1 "$T/notes-ready")
	assert_match "READY=1 with a status" "READY=1.*STATUS=1 bridge ready" "$ready"
	assert_eq "the bridge at READY=1" "ready means ready" "${ready##*| }"
	stop_nsb TERM
	pass "READY=1 once the bridge is bound: it answered at that moment"
}

stopping_on_term() {
	NSB_LOG=$T/stop.log
	start_notify "$T/notify-stop" "$T/notes-stop"
	NOTIFY_SOCKET=$T/notify-stop start_nsb -c "netns:$ns" "host:$port" "container:$p_stop"
	stop_nsb TERM
	assert_eq "exit status" 0 "$NSB_STATUS"
	wait_until "STOPPING=1 on SIGTERM ($(cat "$T/notes-stop"))" 30 grep -q STOPPING=1 "$T/notes-stop"
	pass "STOPPING=1 on SIGTERM"
}

# outside systemd nothing is sent, and nothing fails
quiet_outside_systemd() {
	NSB_LOG=$T/quiet.log
	start_notify "$T/notify-quiet" "$T/notes-quiet"
	unset NOTIFY_SOCKET
	start_nsb -c "netns:$ns" "host:$port" "container:$p_quiet"
	stop_nsb TERM
	assert_eq "exit status without NOTIFY_SOCKET" 0 "$NSB_STATUS"
	sleep 0.2	# not a wait: a datagram sent would be there by now
	assert_eq "datagrams without NOTIFY_SOCKET" 0 "$(grep -c "^'" "$T/notes-quiet")"
	pass "without NOTIFY_SOCKET: nothing sent"
}

check ready_when_bound
check stopping_on_term
check quiet_outside_systemd
