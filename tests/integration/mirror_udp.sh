#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mirror_udp.sh - --mirror-udp: a client that keeps its port reaches the
# service of the port it sends to, while mirrored ports come and go, as it
# does without nsbridge (a flow dies with its port's listener)
. "$(dirname "$0")/lib.sh"

PEER="python3 $(dirname "$(readlink -f "$0")")/udp_peer.py"
mkns ns mirudp
lo_up "$ns"

# udp_bound NS PORT - a UDP socket is bound to PORT in NS ("" = here)
udp_bound() {
	if [ -n "$1" ]; then
		[ -n "$(ip netns exec "$1" ss -Hunl "sport = :$2")" ]
	else
		[ -n "$(ss -Hunl "sport = :$2")" ]
	fi
}

# wait_udp NS PORT bound|free - until PORT is so in NS; 10 s is a failure guard
wait_udp() {
	for _ in $(seq 1 500); do
		if [ "$3" = bound ]; then udp_bound "$1" "$2" && return 0
		else udp_bound "$1" "$2" || return 0
		fi
		sleep 0.02
	done
	fail "UDP port $2 not $3 in '${1:-host}' after 10 s"
}

# start_named PORT - the host's service on PORT, which answers "port PORT ..."
start_named() {
	bg_to "$T/named-$1.log" $PEER named "$1"
	eval "named_$1=$BG_PID"
	wait_udp "" "$1" bound
	[ -z "$inside" ] || wait_udp "$inside" "$1" bound	# mirrored
}

# stop_named PORT
stop_named() {
	local pid
	eval "pid=\$named_$1"
	kill "$pid"
	wait "$pid" 2>/dev/null
	wait_udp "" "$1" free
	[ -z "$inside" ] || wait_udp "$inside" "$1" free	# unbound inside
}

# client PORT TEXT - one question from client port $src, from $inside (or the
# host), with a resolver's retries; the answer or "no answer" goes to $answers
client() {
	local cmd=($PEER ask --from "$src" --tries 3 "$1" "$2")
	if [ -n "$inside" ]; then
		ip netns exec "$inside" "${cmd[@]}" >>"$answers" 2>/dev/null || echo "no answer" >>"$answers"
	else
		"${cmd[@]}" >>"$answers" 2>/dev/null || echo "no answer" >>"$answers"
	fi
}

# scenario - port 1 answers (its service runs), goes, port 2 starts, port 1
# comes back; the client keeps its port throughout. What it was answered
# goes to $answers.
scenario() {
	: >"$answers"
	client "$p1" one
	stop_named "$p1"
	start_named "$p2"
	client "$p2" two
	start_named "$p1"
	client "$p2" three
	client "$p1" four
	stop_named "$p1"
	stop_named "$p2"
}

pick_port p1 "$ns"
pick_port p2 "$ns"
pick_port src "$ns"

# direct, without nsbridge: what the client must be answered
inside='' answers=$T/direct
start_named "$p1"
scenario
direct=$(cat "$answers")
assert_eq "direct" "port $p1 one
port $p2 two
port $p2 three
port $p1 four" "$direct"

# as it goes through nsbridge
as_direct() {
	local relayed
	start_named "$p1"
	start_nsb -v -c "netns:$ns" --mirror --mirror-udp host container
	inside=$ns answers=$T/relayed
	wait_udp "$inside" "$p1" bound
	scenario
	relayed=$(cat "$answers")
	assert_eq "through --mirror-udp, as direct" "$direct" "$relayed"
	grep -q "refused datagrams" "$NSB_LOG" && fail "a service was said to refuse: $(grep refused "$NSB_LOG")"
	grep -q "closed (port unbound)" "$NSB_LOG" || fail "no flow closed with its port's listener"
	stop_nsb
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "one client port across mirrored ports $p1 and $p2 coming and going: each answered by its own service, as direct"
}

check as_direct
