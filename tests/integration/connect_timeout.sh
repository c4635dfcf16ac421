#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# connect_timeout.sh - a SERVICE that never answers: the client is reset after --connect-timeout
. "$(dirname "$0")/lib.sh"

PROBE="python3 $(dirname "$(readlink -f "$0")")/probe_peer.py"

mkns svc ctsvc
mkns ns ctapp
lo_up "$svc"
pick_port port "$svc" "$ns"

# a listener whose accept queue is full drops new SYNs: a service that
# never answers, made without touching any firewall
ip netns exec "$svc" sysctl -qw net.ipv4.tcp_syncookies=0
bg_to "$T/stuck.out" ip netns exec "$svc" $PROBE stuck "$port"
wait_until "a full accept queue ($(cat "$T/stuck.out"))" 30 grep -q full "$T/stuck.out"

start_nsb --connect-timeout 1s --host-netns "/run/netns/$svc" -c "netns:$ns" \
	"host:$port" "container:$port"

reset_at_timeout() {
	local what ms
	read -r what ms < <(ip netns exec "$ns" $PROBE timed "$port")
	assert_eq "what the client saw" reset "$what"
	# the default, 5 s, is what a --connect-timeout not applied would give
	[ "$ms" -ge 900 ] && [ "$ms" -le 4500 ] || fail "reset after $ms ms, expected about 1000"
	assert_match "log line" "host 127.0.0.1:$port did not answer in time" "$(cat "$NSB_LOG")"
	alive "$NSB_PID" || fail "nsbridge died"
	pass "unanswered SERVICE: client reset after $ms ms (--connect-timeout 1s), one log line"
}

check reset_at_timeout
