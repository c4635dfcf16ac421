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

check() {
	local what=$1 body
	body=$(ip netns exec "$ns" curl -sS --max-time 5 "http://127.0.0.1:$port/") || fail "$what: curl"
	assert_eq "$what: body" "host service $port" "$body"
	stop_nsb TERM
	assert_eq "$what: exit status" 0 "$NSB_STATUS"
	pass "$what"
}

start_nsb -c "pid:$holder" "host:$port" "container:$port"
assert_match "label of pid:N" "container pid:$holder 127.0.0.1:$port" "$(cat "$NSB_LOG")"
check "-c pid:$holder"
start_nsb -c "/run/netns/$ns" "host:$port" "container:$port"
check "-c /run/netns/$ns"
start_nsb -c "/proc/$holder/ns/net" "host:$port" "container:$port"
check "-c /proc/$holder/ns/net"

# a sidecar: nsbridge runs in the app's namespace, "host" named by path
NSB_WRAP=(ip netns exec "$ns")
start_nsb --host-netns "/proc/$$/ns/net" -c self "host:$port" "container:$port"
check "sidecar: --host-netns /proc/$$/ns/net -c self"
NSB_WRAP=()	# the rest runs beside the test: pid:N inside $ns is another namespace

# pid:N is not followed: when N exits, nsbridge closes everything and exits 0
sleeper_in "$ns" short
start_nsb -c "pid:$short" "host:$port" "container:$port"
kill "$short"
wait_exit "$NSB_PID" 5
assert_eq "exit status when pid:N exits" 0 "$EXIT_STATUS"
assert_match "why it exited" "container pid:$short stopped; exiting" "$(cat "$NSB_LOG")"
port_free "$ns" "$port" || fail "the listener outlived the process"
pass "pid:N exits: nsbridge closes its listeners and exits 0"
