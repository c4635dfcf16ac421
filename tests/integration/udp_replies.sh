#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# udp_replies.sh - where UDP replies come from and what is let through: a
# service that answers from a port of its own (as TFTP does) reaches the
# client, another address never does, and replies leave a wildcard EXPOSE
# from the address the client sent to (dig checks it), each as direct
. "$(dirname "$0")/lib.sh"

PEER="python3 $(dirname "$(readlink -f "$0")")/udp_peer.py"
command -v dnsmasq >/dev/null || skip "dnsmasq is not installed (tests/deps.sh)"
command -v dig >/dev/null || skip "dig is not installed (tests/deps.sh)"

mkns ns udprep
lo_up "$ns"

# wait_udp NS PORT - until a UDP socket is bound to PORT in NS ("" = here)
wait_udp() {
	for _ in $(seq 1 500); do
		if [ -n "$1" ]; then
			[ -n "$(ip netns exec "$1" ss -Hunl "sport = :$2")" ] && return 0
		else
			[ -n "$(ss -Hunl "sport = :$2")" ] && return 0
		fi
		sleep 0.02
	done
	fail "nothing bound to UDP port $2 in '${1:-host}' after 10 s"
}

pick_port np "$ns"
pick_port dead "$ns"
pick_port sp "$ns"
pick_port dns "$ns"

# ---- a service that answers from a fresh port, to a client that takes any ----
fresh_port() {
	local direct relayed
	bg $PEER newport "$np"
	wait_udp "" "$np"
	direct=$($PEER ask --unconnected --tries 3 "$np" hello) || fail "direct: no answer from a new port"
	assert_eq "direct" "new port hello" "$direct"
	start_nsb -c "netns:$ns" "host:$np/udp" "container:$np/udp"
	relayed=$(nsx "$ns" $PEER ask --unconnected --tries 3 "$np" hello) ||
		fail "through nsbridge: the answer from SERVICE's new port never came"
	assert_eq "through nsbridge" "$direct" "$relayed"
	relayed=$(nsx "$ns" $PEER ask --tries 3 "$np" again) ||
		fail "a connected client got no answer (nsbridge answers from the EXPOSE port)"
	assert_eq "a connected client" "new port again" "$relayed"
	stop_nsb
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "a service answering from a port of its own (as TFTP does) reaches the client, as direct"
}

# ---- nothing listens at SERVICE: the refusal (ICMP) is still seen ----
refusal_seen() {
	start_nsb -c "netns:$ns" "host:$dead/udp" "container:$dead/udp"
	nsx "$ns" $PEER ask --tries 2 "$dead" anyone 2>/dev/null && fail "an answer from a port nothing listens on"
	wait_until "line about the refusal" 30 grep -q "refused datagrams" "$NSB_LOG"
	assert_match "the log" "host 127.0.0.1:$dead/udp refused datagrams" "$(cat "$NSB_LOG")"
	stop_nsb
	pass "a SERVICE port nothing listens on is said to refuse, though the flow hears every port"
}

# ---- another address of SERVICE's namespace cannot answer for it ----
stranger_dropped() {
	local direct relayed
	bg $PEER stranger "$sp"
	wait_udp "" "$sp"
	direct=$($PEER ask --tries 3 "$sp" hi) || fail "direct: no answer"
	assert_eq "direct (a connected client)" "port $sp hi" "$direct"
	start_nsb -c "netns:$ns" "host:$sp/udp" "container:$sp/udp"
	relayed=$(nsx "$ns" $PEER ask --unconnected --tries 3 "$sp" hi) || fail "through nsbridge: no answer"
	assert_eq "through nsbridge, the first datagram back" "$direct" "$relayed"
	stop_nsb
	pass "a datagram from 127.0.0.2 to a flow of SERVICE 127.0.0.1 is not passed to the client"
}

# ---- a wildcard EXPOSE reached at another local address: dig checks the source ----
# IPv4 only: IPv6 has one loopback address, and tests send traffic to
# loopback addresses only (TESTING.md), so [::] can be reached only at ::1

# ask WHERE - dig's answer at 127.0.0.2, from WHERE
ask() {
	${1:+nsx "$1"} dig @127.0.0.2 -p "$dns" +short +tries=3 +time=1 db.nsbridge.test A
}
wildcard_source() {
	local direct relayed
	bg_to "$T/dnsmasq.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--port="$dns" --user=root --pid-file="$T/dnsmasq.pid" \
		--address=/db.nsbridge.test/192.0.2.53	# wildcard sockets: it answers from where it was asked
	wait_udp "" "$dns"
	direct=$(ask "")
	assert_eq "direct, dnsmasq on wildcards" "192.0.2.53" "$direct"
	start_nsb --allow-nonlocal -c "netns:$ns" "host:$dns/udp" "container:0.0.0.0:$dns/udp"
	relayed=$(ask "$ns" 2>&1)
	assert_eq "dig at 127.0.0.2 through EXPOSE 0.0.0.0" "$direct" "$relayed"
	stop_nsb
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "a wildcard EXPOSE answers from the address dig asked (127.0.0.2), as direct"
}

check fresh_port
check refusal_seen
check stranger_dropped
check wildcard_source
