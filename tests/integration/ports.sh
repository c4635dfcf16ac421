#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ports.sh - nsbridge ports: who listens in a namespace, as a table and as JSON
. "$(dirname "$0")/lib.sh"

HERE=$(dirname "$(readlink -f "$0")")
PEER="python3 $HERE/udp_peer.py"
mkns ns ports
lo_up "$ns"
pick_port web "$ns"
pick_port dns "$ns"
pick_port bridged "$ns"
mkdir -p "$T/www" && echo hello >"$T/www/index.html"
start_nginx "$ns" "$web" "$T/www" 127.0.0.1
bg ip netns exec "$ns" $PEER echo "$dns"
udp_bound() { [ -n "$(nsx "$ns" ss -Hunl "sport = :$dns")" ]; }
wait_until "the UDP server" 30 udp_bound
start_nginx "" "$bridged" "$T/www" 127.0.0.1
start_nsb -c "netns:$ns" "host:$bridged" "container:$bridged"

table() {
	local out
	out=$("$NSB" ports -c "netns:$ns") || fail "nsbridge ports: $out"
	echo "$out" >&2
	assert_match "header" "^PROTO +ADDRESS +PORT +PID +COMMAND +NSBRIDGE" "$out"
	assert_match "nginx's port" $'\n'"tcp +127\.0\.0\.1 +$web +[0-9]+ +nginx +no" "$out"
	assert_match "the UDP server" $'\n'"udp +127\.0\.0\.1 +$dns +[0-9]+ +python3 +no" "$out"
	assert_match "nsbridge's listener" $'\n'"tcp +127\.0\.0\.1 +$bridged +$NSB_PID +nsbridge +yes" "$out"
	assert_match "nsbridge's IPv6 listener" $'\n'"tcp +\[::1\] +$bridged +$NSB_PID +nsbridge +yes" "$out"
	pass "a table of every listener inside, with its process, nsbridge's marked"
}

# socket PROTO ADDRESS PORT - "COMMAND PID NSBRIDGE" of that row of $T/ports.json
socket() {
	python3 "$HERE/json_check.py" socket "$T/ports.json" "$@" || fail "no $* in $(cat "$T/ports.json")"
}

json() {
	"$NSB" ports -c "netns:$ns" --json >"$T/ports.json" || fail "nsbridge ports --json"
	assert_match "nginx's port" "^nginx [0-9]+ false$" "$(socket tcp 127.0.0.1 "$web")"
	assert_match "the UDP server" "^python3 [0-9]+ false$" "$(socket udp 127.0.0.1 "$dns")"
	assert_eq "nsbridge's listener" "nsbridge $NSB_PID true" "$(socket tcp 127.0.0.1 "$bridged")"
	assert_eq "nsbridge's IPv6 listener" "nsbridge $NSB_PID true" "$(socket tcp "[::1]" "$bridged")"
	assert_match "the namespace" "^container netns:" \
		"$(python3 "$HERE/json_check.py" get "$T/ports.json" namespace)"
	pass "--json: the same, for scripts"
}

host() {
	local out
	out=$("$NSB" ports) || fail "nsbridge ports on the host"
	assert_match "the host's nginx" $'\n'"tcp +127\.0\.0\.1 +$bridged +[0-9]+ +nginx +no" "$out"
	pass "without -c: the host's own namespace"
}

errors() {
	"$NSB" ports -c netns:nsbt-absent-$$ >/dev/null 2>"$T/err"
	assert_eq "a namespace that does not exist" 4 "$?"
	"$NSB" ports extra >/dev/null 2>"$T/err"
	assert_eq "an argument after ports" 2 "$?"
	"$NSB" --json "host:$web" "container:$web" >/dev/null 2>"$T/err"
	assert_eq "--json without ports" 2 "$?"
	pass "errors: exit 4 for no such namespace, 2 for a usage error"
}

check table
check json
check host
check errors
