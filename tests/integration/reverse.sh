#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# reverse.sh - a service on the namespace's loopback appears on the host's, IPv4 and IPv6
. "$(dirname "$0")/lib.sh"

mkns ns reverse
lo_up "$ns"
pick_port svc "$ns"
pick_port exp "$ns"
pick_port v6 "$ns"
mkdir -p "$T/www" && echo "hello from inside $svc" >"$T/www/index.html"
start_nginx "$ns" "$svc" "$T/www" 127.0.0.1
start_nginx "$ns" "$v6" "$T/www" "[::1]"

reaches_namespace() {
	local ok=0 i url body
	own_nsb -c "netns:$ns" "container:$svc" "host:$exp"
	assert_match "ready line" "container netns:$ns 127.0.0.1:$svc -> host 127.0.0.1:$exp, \[::1\]:$exp ready" \
		"$(cat "$NSB_LOG")"
	for i in $(seq 1 100); do
		for url in "http://127.0.0.1:$exp/" "http://[::1]:$exp/"; do
			body=$(curl -sS --max-time 5 "$url") || fail "request $i to $url"
			[ "$body" = "hello from inside $svc" ] || fail "request $i to $url: got '$body'"
			ok=$((ok + 1))
		done
	done
	assert_eq "requests answered" 200 "$ok"
	assert_eq "CapEff of the relay" 0000000000000000 "$(cap_eff "$NSB_PID")"
	stop_nsb TERM
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "200 requests from the host reach the namespace's service with CapEff 0"
}

# SERVICE without an address: 127.0.0.1 refuses, so [::1] is tried
falls_back_to_ipv6() {
	local body
	own_nsb -c "netns:$ns" "container:$v6" "host:$v6"
	body=$(curl -sS --max-time 5 "http://127.0.0.1:$v6/") || fail "curl through the [::1] fallback"
	assert_eq "body through the fallback" "hello from inside $svc" "$body"
	stop_nsb TERM
	pass "SERVICE listening only on [::1] is found after 127.0.0.1 refuses"
}

# an explicit address is honoured on both ends
explicit_addresses() {
	local body
	own_nsb -c "netns:$ns" "container:[::1]:$v6" "host:127.0.0.1:$v6"
	body=$(curl -sS --max-time 5 "http://127.0.0.1:$v6/") || fail "curl to explicit addresses"
	assert_eq "body with explicit addresses" "hello from inside $svc" "$body"
	curl -s --max-time 2 "http://[::1]:$v6/" >/dev/null &&
		fail "[::1] answered though EXPOSE named 127.0.0.1"
	pass "explicit SERVICE and EXPOSE addresses honoured"
}

check reaches_namespace
check falls_back_to_ipv6
check explicit_addresses
