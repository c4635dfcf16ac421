#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# concurrent.sh - 1,000 concurrent connections, then the fd count back to idle
. "$(dirname "$0")/lib.sh"

mkns ns conc
pick_port port "$ns"
mkdir -p "$T/www" && head -c 3000 /dev/urandom | base64 -w0 >"$T/www/index.html"
start_nginx "" "$port" "$T/www" 127.0.0.1

start_nsb -c "netns:$ns" "host:$port" "container:$port"
fds_at_rest "$NSB_PID" idle

# 1,000 connections at once, each socket counted while wrk runs
wrk_1000() {
	local wrk peak=0 n requests
	bg_to "$T/wrk.out" ip netns exec "$ns" wrk -t2 -c1000 -d4s --timeout 10s "http://127.0.0.1:$port/"
	wrk=$BG_PID
	# the highest count seen while wrk runs, until it passes 2,000
	while alive "$wrk" && [ "$peak" -lt 2000 ]; do
		n=$(fd_count "$NSB_PID")
		[ "$n" -gt "$peak" ] && peak=$n
		sleep 0.05
	done
	wait_exit "$wrk" 30
	assert_eq "wrk exit status" 0 "$EXIT_STATUS"
	grep -q "Socket errors" "$T/wrk.out" && fail "wrk saw socket errors: $(grep 'Socket errors' "$T/wrk.out")"
	grep -q "Non-2xx" "$T/wrk.out" && fail "wrk saw failed requests: $(grep 'Non-2xx' "$T/wrk.out")"
	requests=$(awk '/requests in/ { print $1 }' "$T/wrk.out")
	[ "$requests" -gt 1000 ] || fail "only $requests requests completed"
	# two sockets per connection: 1,000 open connections pass 2,000 fds
	[ "$peak" -ge 2000 ] || fail "peak of $peak fds: the 1,000 connections were not concurrent"
	pass "wrk -c1000: $requests requests, no error, peak $peak fds"
}

# after the load above
back_to_idle() {
	wait_until "fd count of $idle" 30 fds_back "$NSB_PID"
	assert_eq "fds after the load" "$idle" "$(fd_count "$NSB_PID")"
	pass "fd count back to its idle value of $idle"
}
fds_back() {
	[ "$(fd_count "$1")" -le "$idle" ]
}

served_after_load() {
	local body
	body=$(ip netns exec "$ns" curl -sS --max-time 5 "http://127.0.0.1:$port/") || fail "curl after the load"
	assert_eq "body after the load" "$(cat "$T/www/index.html")" "$body"
	pass "a request after the load is served"
}

stopped_by_sigterm() {
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "SIGTERM after the load: exit 0"
}

check wrk_1000
check back_to_idle
check served_after_load
stop_nsb TERM
check stopped_by_sigterm
