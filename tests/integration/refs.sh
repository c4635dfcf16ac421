#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# refs.sh - every form of -c REF: pid:N, netns:NAME, a path, and self as a sidecar
. "$(dirname "$0")/lib.sh"

mkns ns refs
lo_up "$ns"
pick_port port "$ns"
mkdir -p "$T/www" && echo "host service $port" >"$T/www/index.html"
start_nginx "" "$port" "$T/www" 127.0.0.1

sleeper_in "$ns" holder

# served WHAT - the nsbridge just started serves the host's page inside the
# namespace, and exits 0 on SIGTERM
served() {
	local what=$1 body
	kill_at_check_end	# the next check listens on the same port
	body=$(ip netns exec "$ns" curl -sS --max-time 5 "http://127.0.0.1:$port/") || fail "$what: curl"
	assert_eq "$what: body" "host service $port" "$body"
	stop_nsb TERM
	assert_eq "$what: exit status" 0 "$NSB_STATUS"
	pass "$what"
}

by_pid() {
	start_nsb -c "pid:$holder" "host:$port" "container:$port"
	assert_match "label of pid:N" "container pid:$holder 127.0.0.1:$port" "$(cat "$NSB_LOG")"
	served "-c pid:$holder"
}

by_path() {	# PATH
	start_nsb -c "$1" "host:$port" "container:$port"
	served "-c $1"
}

# a sidecar: nsbridge runs in the app's namespace, "host" named by path
as_sidecar() {
	NSB_WRAP=(ip netns exec "$ns")
	start_nsb --host-netns "/proc/$$/ns/net" -c self "host:$port" "container:$port"
	served "sidecar: --host-netns /proc/$$/ns/net -c self"
}

# pid:N is not followed: when N exits, nsbridge closes everything and exits
# 0 (nsbridge runs beside the test: pid:N inside $ns is another namespace)
pid_exits() {
	local short
	sleeper_in "$ns" short
	start_nsb -c "pid:$short" "host:$port" "container:$port"
	kill "$short"
	wait_exit "$NSB_PID" 5
	assert_eq "exit status when pid:N exits" 0 "$EXIT_STATUS"
	assert_match "why it exited" "container pid:$short stopped; exiting" "$(cat "$NSB_LOG")"
	port_free "$ns" "$port" || fail "the listener outlived the process"
	pass "pid:N exits: nsbridge closes its listeners and exits 0"
}

check by_pid
check by_path "/run/netns/$ns"
check by_path "/proc/$holder/ns/net"
check as_sidecar
check pid_exits
