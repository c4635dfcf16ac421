#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# udp.sh - /udp bridges: DNS through dnsmasq and dig, 10,000 datagrams echoed
# whole, flows that expire, and a flow cap that a flood of new ports cannot break
. "$(dirname "$0")/lib.sh"

HERE=$(dirname "$(readlink -f "$0")")
PEER="python3 $HERE/udp_peer.py"
command -v dnsmasq >/dev/null || skip "dnsmasq is not installed (tests/deps.sh)"
command -v dig >/dev/null || skip "dig is not installed (tests/deps.sh)"

mkns ns udp

# wait_udp NS PORT - until a UDP socket is bound to PORT in NS ("" = here)
wait_udp() {
	for _ in $(seq 1 500); do
		[ -n "$(${1:+nsx "$1"} ss -Hunl "sport = :$2")" ] && return 0
		sleep 0.02
	done
	fail "nothing bound to UDP port $2 in '${1:-host}' after 10 s"
}

# udp_queued NS [FILTER] - bytes waiting in the receive queues of NS's UDP sockets
udp_queued() {
	${1:+nsx "$1"} ss -Huan ${2:+"$2"} | awk '{ q += $2 } END { print q + 0 }'
}

# open_flows - the UDP flows nsbridge says are open (nsbridge status --json)
open_flows() {
	"$NSB" status --json "$NSB_PID" | python3 "$HERE/json_check.py" get - 0.bridges.0.open
}

# fds_back REST - nsbridge's descriptors are REST again
fds_back() {
	[ "$(fd_count "$NSB_PID")" = "$1" ]
}

pick_port dns "$ns"
pick_port echo "$ns"
pick_port who "$ns"
pick_port inner "$ns"
bg $PEER echo "$echo"
wait_udp "" "$echo"
bg $PEER whoami "$who"
wait_udp "" "$who"

# ---- a real DNS server on the host's 127.0.0.1, asked from inside ----
dig_inside() {
	local server answer status
	bg_to "$T/dnsmasq.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--port="$dns" --listen-address=127.0.0.1 --bind-interfaces --user=root \
		--pid-file="$T/dnsmasq.pid" --address=/db.nsbridge.test/192.0.2.53
	wait_udp "" "$dns"
	start_nsb -c "netns:$ns" "host:$dns/udp" "container:$dns/udp"
	assert_match "ready line" "host 127.0.0.1:$dns/udp -> container netns:$ns 127.0.0.1:$dns/udp, \[::1\]:$dns/udp ready" \
		"$(cat "$NSB_LOG")"
	for server in 127.0.0.1 ::1; do
		answer=$(nsx "$ns" dig @"$server" -p "$dns" +short +tries=1 +time=3 db.nsbridge.test A) ||
			fail "dig @$server inside the namespace"
		assert_eq "dig @$server db.nsbridge.test" "192.0.2.53" "$answer"
	done
	status=$(nsx "$ns" dig @127.0.0.1 -p "$dns" +tries=1 +time=3 nothing.invalid A | grep -o 'status: [A-Z]*')
	assert_eq "an unknown name" "status: REFUSED" "$status"
	stop_nsb
	pass "dig inside the namespace gets dnsmasq's answers from the host, over 127.0.0.1 and ::1"
}

# ---- 10,000 datagrams of 0 to 65,507 bytes, each back whole and alone ----
datagrams_whole() {
	local out
	start_nsb -c "netns:$ns" "host:$echo/udp" "container:$echo/udp"
	out=$(nsx "$ns" $PEER stream "$echo" 10000) || fail "stream: $out"
	assert_match "stream" "^10000 datagrams back intact" "$out"
	stop_nsb
	pass "$out"
}

# ---- flows: one per client, gone after --udp-timeout ----
flow_per_client() {
	local rest seen port1 other
	start_nsb -c "netns:$ns" --udp-timeout 1s "host:$who/udp" "container:$who/udp"
	rest=$(fd_count "$NSB_PID")
	mapfile -t seen < <(nsx "$ns" $PEER ask "$who" one two)
	[ "${#seen[@]}" = 2 ] || fail "two answers expected, got: ${seen[*]}"
	port1=${seen[0]%% *}
	assert_eq "second datagram of the client" "$port1 two" "${seen[1]}"
	assert_eq "descriptors with one flow" $((rest + 1)) "$(fd_count "$NSB_PID")"
	other=$(nsx "$ns" $PEER ask "$who" other)
	[ "${other%% *}" != "$port1" ] || fail "two clients shared one flow (service saw port $port1 twice)"
	stop_nsb
	pass "one flow a client: the service sees each client from its own port"
}

flows_expire() {
	local rest
	start_nsb -c "netns:$ns" --udp-timeout 1s "host:$who/udp" "container:$who/udp"
	rest=$(fd_count "$NSB_PID")
	nsx "$ns" $PEER ask "$who" one two >/dev/null || fail "no answer"
	nsx "$ns" $PEER ask "$who" other >/dev/null || fail "no answer"
	[ "$(fd_count "$NSB_PID")" -gt "$rest" ] || fail "no flow open after two clients"
	# 1 s and a timer tick; 10 s is a failure guard
	wait_until "flows closed after --udp-timeout 1s" 30 fds_back "$rest"
	stop_nsb
	pass "flows closed after --udp-timeout 1s"
}

# ---- --max-udp-flows under a flood of new client ports ----
steady() {
	alive "$STEADY" || fail "the steady client ended: $(cat "$T/steady.out")"
	grep -q '^steady$' "$T/steady.out"
}
drained() {
	[ "$(udp_queued "$ns" "sport = :$who")" -lt 8192 ] && [ "$(udp_queued "")" -lt 8192 ]
}
flow_cap() {
	local rest peak flows fresh ports misses last
	start_nsb -c "netns:$ns" --max-udp-flows 50 "host:$who/udp" "container:$who/udp"
	rest=$(fd_count "$NSB_PID")
	nsx "$ns" $PEER steady "$who" "$T/stop-steady" >"$T/steady.out" &
	STEADY=$!
	wait_until "two answers to the steady client (a steady flow)" 30 steady
	nsx "$ns" $PEER flood "$who" 3000 || fail "flood"
	nsx "$ns" $PEER flood "$who" 3000 || fail "flood"
	peak=$(fd_count "$NSB_PID")
	[ "$peak" -le $((rest + 50)) ] || fail "$peak descriptors at --max-udp-flows 50 (at rest $rest)"
	# Most of the flood never reaches nsbridge: the kernel drops what finds
	# its EXPOSE socket's buffer full, and would drop a new client's question
	# there too. Wait until nsbridge has read the backlog and the service has
	# answered its own (a slow relay, under valgrind, takes seconds): a few
	# datagrams queued are the steady client's, which goes on meanwhile.
	wait_until "the end of the flood's backlog (nsbridge left it queued)" 60 drained
	flows=$(open_flows) || fail "nsbridge status --json"
	[ "$flows" -le 50 ] || fail "nsbridge status: $flows flows open at --max-udp-flows 50"
	# a new client asks as a resolver does: again after a second without an answer
	fresh=$(nsx "$ns" $PEER ask --tries 5 "$who" new-client) || fail "a new client after the flood got no answer"
	assert_match "a new client after the flood" " new-client$" "$fresh"
	touch "$T/stop-steady"
	wait "$STEADY"
	# UDP under a flood loses datagrams in full socket buffers, as any network
	# may; the steady flow must keep its port and be answered after the flood
	read -r _ ports _ misses _ last < <(grep '^ports' "$T/steady.out")
	assert_match "the steady client's summary" "^ports [0-9]+ misses [0-9]+ last [0-9]+$" \
		"$(grep '^ports' "$T/steady.out")"
	assert_eq "the port the service saw the steady client answered from after the flood" "$ports" "$last"
	grep -q 'max-udp-flows' "$NSB_LOG" || fail "no line about --max-udp-flows"
	alive "$NSB_PID" || fail "nsbridge died in the flood"
	stop_nsb
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "6,000 new ports against --max-udp-flows 50: at most 50 flows ($flows after the flood), the steady client kept its flow ($misses answers missed in the flood), a new client still served"
}

# ---- SERVICE in the namespace: flow sockets come from the opener's pool ----
service_inside() {
	local i out
	lo_up "$ns"
	bg ip netns exec "$ns" $PEER whoami "$inner"
	wait_udp "$ns" "$inner"
	start_nsb -c "netns:$ns" "container:$inner/udp" "host:$inner/udp"
	assert_eq "the relay's capabilities" 0000000000000000 "$(cap_eff "$NSB_PID")"
	for i in $(seq 1 40); do
		out=$($PEER ask "$inner" "client-$i") || fail "client $i on the host got no answer"
		assert_match "client $i" " client-$i$" "$out"
	done
	stop_nsb
	pass "40 clients on the host reach a UDP service inside the namespace (sockets from the pool)"
}

check dig_inside
check datagrams_whole
check flow_per_client
check flows_expire
check flow_cap
check service_inside
