#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# refused.sh - SERVICE down: the client is reset at once; a reset is passed on as a reset
. "$(dirname "$0")/lib.sh"

HERE=$(dirname "$(readlink -f "$0")")
PROBE="python3 $HERE/probe_peer.py"
TCP_PEER="python3 $HERE/tcp_peer.py"

mkns ns refused
pick_port down "$ns"
pick_port rst "$ns"
pick_port self "$ns"

start_nsb -c "netns:$ns" "host:$down" "container:$down" "host:$rst" "container:$rst"
# a service that resets each connection once it has read from it
bg $PROBE reset "$rst"
wait_listen "" "$rst"

# nothing listens on the host's port: the client must see a reset, not a
# hang, and sooner than --connect-timeout's default 5 s would give one
down_reset() {
	local what ms
	read -r what ms < <(ip netns exec "$ns" $PROBE timed "$down")
	assert_eq "what the client saw" reset "$what"
	[ "$ms" -lt 4000 ] || fail "the reset took $ms ms"
	pass "service down: the client sees ECONNRESET after $ms ms"
}

# curl sees the reset while connecting (7) or receiving (56), never a hang or an empty reply
down_curl() {
	local status
	ip netns exec "$ns" curl -s --max-time 5 "http://127.0.0.1:$down/"
	status=$?
	[ $status = 56 ] || [ $status = 7 ] || fail "curl exit status $status, expected 56 or 7"
	pass "curl: exit $status at once"
}

down_logged() {
	ip netns exec "$ns" $PROBE ends 1 "$down" >/dev/null
	wait_until "a line about the refusal" 30 grep -q refused "$NSB_LOG"
	assert_match "log line" "host 127.0.0.1:$down refused the connection.*client was reset" \
		"$(grep refused "$NSB_LOG")"
	pass "log names the service and its namespace"
}

# 200 refused clients: the log stays short, every client is still reset
down_many() {
	local lines before
	before=$(grep -c refused "$NSB_LOG")
	assert_eq "200 clients of a refused service" "reset=200" \
		"$(ip netns exec "$ns" $PROBE ends 200 "$down")"
	lines=$(grep -c refused "$NSB_LOG")
	[ "$lines" -le $((before + 12)) ] ||
		fail "$((lines - before)) log lines for 200 refused connections: not rate-limited"
	pass "200 more refused connections, all reset, $lines log lines in all"
}

# a service that resets: the client sees a reset, not a clean EOF
service_reset() {
	local i
	for i in 1 2 3; do
		assert_eq "client $i after the service reset" reset=1 \
			"$(ip netns exec "$ns" $PROBE ends 1 "$rst")"
	done
	alive "$NSB_PID" || fail "nsbridge died"
	pass "a reset from the service reaches the client as ECONNRESET"
}

# a SERVICE port in the ephemeral range with nothing on it: the dial may
# connect to itself (a TCP simultaneous open); forced here with a
# one-port ephemeral range, it must still be a refusal, not an echo
self_connect() {
	local got range
	NSB_LOG=$T/self.log
	start_nsb -c "netns:$ns" "host:$self" "container:$self"
	range=$(sysctl -n net.ipv4.ip_local_port_range)
	sysctl -qw net.ipv4.ip_local_port_range="$self $self"
	got=$(ip netns exec "$ns" $TCP_PEER wait-end "$self")
	sysctl -qw net.ipv4.ip_local_port_range="$range"
	assert_eq "a client of a service that would connect to itself" reset "$got"
	stop_nsb
	pass "a dial that connects to itself is taken as refused"
}

check down_reset
check down_curl
check down_logged
check down_many
check service_reset
check self_connect
