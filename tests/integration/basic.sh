#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# basic.sh - host service inside a fresh namespace: lo up, ready line, IPv4 and IPv6
. "$(dirname "$0")/lib.sh"

mkns ns basic
mkns nov6 nov6
pick_port port "$ns"
mkdir -p "$T/www" && echo "hello from the host $port" >"$T/www/index.html"
start_nginx "" "$port" "$T/www"

assert_match "lo before" "state DOWN|<LOOPBACK>" "$(nsx "$ns" ip -o link show lo)"
start_nsb -v -c "netns:$ns" "host:$port" "container:$port"

ready_and_lo_up() {
	assert_eq "ready line" \
		"nsbridge: host 127.0.0.1:$port -> container netns:$ns 127.0.0.1:$port, [::1]:$port ready" \
		"$(grep ' ready$' "$NSB_LOG")"
	assert_match "lo after" "<LOOPBACK,UP" "$(nsx "$ns" ip -o link show lo)"
	grep -qx "nsbridge: brought lo up in container netns:$ns" "$NSB_LOG" ||
		fail "no line saying lo was brought up"
	pass "ready line printed, lo brought up in the fresh namespace"
}

reaches_host() {
	local url body
	for url in "http://127.0.0.1:$port/" "http://[::1]:$port/" "http://localhost:$port/"; do
		body=$(nsx "$ns" curl -sS --max-time 5 "$url") || fail "curl $url inside the namespace"
		assert_eq "body of $url" "hello from the host $port" "$body"
	done
	pass "IPv4, IPv6 and localhost reach the host's nginx from inside the namespace"
}

# after the SIGTERM below (the end of the setup's nsbridge, which served
# the checks above)
stopped_by_sigterm() {
	assert_eq "exit status after SIGTERM" 0 "$NSB_STATUS"
	port_free "$ns" "$port" || fail "listener left in the namespace after exit"
	pass "SIGTERM: exit 0, listeners gone"
}

# a namespace without IPv6: EXPOSE binds 127.0.0.1 only, and still works
without_ipv6() {
	local body
	if ! nsx "$nov6" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 2>/dev/null; then
		# /proc/sys is read-only in a container: an lo without ::1 is the same to a bind
		lo_up "$nov6"
		nsx "$nov6" ip -6 addr del ::1/128 dev lo || fail "cannot take IPv6 away from $nov6"
	fi
	start_nsb -c "netns:$nov6" "host:$port" "container:$port"
	assert_eq "ready line without IPv6" \
		"nsbridge: host 127.0.0.1:$port -> container netns:$nov6 127.0.0.1:$port ready" \
		"$(grep ' ready$' "$NSB_LOG")"
	body=$(nsx "$nov6" curl -sS --max-time 5 "http://127.0.0.1:$port/") || fail "curl without IPv6"
	assert_eq "body without IPv6" "hello from the host $port" "$body"
	stop_nsb TERM
	pass "namespace without IPv6: bound on 127.0.0.1 only"
}

check ready_and_lo_up
check reaches_host
nsx "$ns" ss -Htln "sport = :$port" | grep -q '127.0.0.1' || fail "no IPv4 listener in the namespace"
port_free "" "$port" && fail "the host's nginx stopped"
stop_nsb TERM
check stopped_by_sigterm
check without_ipv6
