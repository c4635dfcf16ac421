#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mirror.sh - --mirror: every port listening on the host's loopback appears
# inside the namespace, and follows what starts and stops within a second
. "$(dirname "$0")/lib.sh"

PEER="python3 $(dirname "$(readlink -f "$0")")/udp_peer.py"
mkns ns mirror
lo_up "$ns"

# serve NS ADDR PORT - a TCP server that says its port; sets SERVE_PID
serve() {
	local ns=$1 addr=$2 port=$3 listen=TCP4-LISTEN
	[[ "$addr" == *:* ]] && listen=TCP6-LISTEN addr="[$addr]"
	if [ -n "$ns" ]; then
		bg ip netns exec "$ns" socat "$listen:$port,bind=$addr,reuseaddr,fork" SYSTEM:"echo port $port"
	else
		bg socat "$listen:$port,bind=$addr,reuseaddr,fork" SYSTEM:"echo port $port"
	fi
	SERVE_PID=$BG_PID
	wait_listen "$ns" "$port"
}

# ask NS PORT [ADDR] - what the server behind PORT says, from NS
ask() {
	ip netns exec "$1" socat -T 3 - TCP:"${3:-127.0.0.1}":"$2" </dev/null 2>/dev/null
}

# within_scans WHAT CMD... - CMD succeeds within some scans of now, polled.
# A scan runs every 400 ms; 10 s leave room for a loaded machine, and still
# fail a mirror that does not rescan on its own.
within_scans() {
	local what=$1 start
	shift
	start=$(now_ms)
	until "$@"; do
		[ $(($(now_ms) - start)) -le 10000 ] || fail "$what: not within 10 s"
		sleep 0.02
	done
	echo "   $what after $(($(now_ms) - start)) ms"
}

pick_port p1 "$ns"
pick_port p2 "$ns"
pick_port p3 "$ns"
pick_port p4 "$ns"
pick_port px "$ns"
serve "" 127.0.0.1 "$p1"
serve "" 0.0.0.0 "$p2"
serve "" ::1 "$p3"
p3_pid=$SERVE_PID
serve "" 127.0.0.1 "$px"
bg $PEER whoami "$p4"
for _ in $(seq 1 100); do ss -Hunl "sport = :$p4" | grep -q . && break; sleep 0.05; done

start_nsb -v -c "netns:$ns" --mirror --mirror-exclude "$px" --mirror-udp host container
for _ in $(seq 1 100); do [ "$(grep -c ' ready$' "$NSB_LOG")" = 2 ] && break; sleep 0.05; done
assert_match "TCP ready line" "host \(every TCP port on its loopback\) -> container netns:$ns 127.0.0.1 and \[::1\], mirrored ready" \
	"$(cat "$NSB_LOG")"
for p in "$p1" "$p2" "$p3"; do
	assert_eq "port $p inside (127.0.0.1)" "port $p" "$(ask "$ns" "$p")"
	assert_eq "port $p inside ([::1])" "port $p" "$(ask "$ns" "$p" "[::1]")"
done
pass "three host services (127.0.0.1, 0.0.0.0, ::1 only) answer inside on both loopback addresses"
port_free "$ns" "$px" || fail "--mirror-exclude $px was mirrored"
pass "--mirror-exclude: port $px stays out"
out=$(nsx "$ns" $PEER ask "$p4" hello) || fail "UDP port $p4 not mirrored"
assert_match "UDP port $p4" " hello$" "$out"
pass "--mirror-udp: a UDP service answers inside"

# a fourth service starts, one stops: inside follows within a second
pick_port p5 "$ns"
serve "" 127.0.0.1 "$p5"
answers() { [ "$(ask "$1" "$2")" = "port $2" ]; }
within_scans "port $p5 appears inside" answers "$ns" "$p5"
kill "$p3_pid"
for _ in $(seq 1 50); do port_free "" "$p3" && break; sleep 0.02; done
within_scans "port $p3 unbound inside" port_free "$ns" "$p3"
assert_eq "port $p1 still inside" "port $p1" "$(ask "$ns" "$p1")"
grep -q "port $p3 stopped listening" "$NSB_LOG" || fail "no line about port $p3 stopping"
pass "a new host port appears inside and a stopped one is unbound, each within a second"

# a port the namespace holds itself is left to it, and said once
pick_port p6 "$ns"
serve "$ns" 127.0.0.1 "$p6"
serve "" 127.0.0.1 "$p6"
wait_until "line about $p6" 30 grep -q "port $p6 of host is not mirrored" "$NSB_LOG"
sleep 1	# not a wait: two more scans, which must not say it again
assert_eq "the namespace's own service on $p6" "port $p6" "$(ask "$ns" "$p6")"
assert_eq "lines about $p6" 1 "$(grep -c "port $p6 of host is not mirrored" "$NSB_LOG")"
pass "a port already taken inside is left alone, said once"
assert_eq "the relay's capabilities" 0000000000000000 "$(cap_eff "$NSB_PID")"
stop_nsb
assert_eq "exit status" 0 "$NSB_STATUS"
for p in "$p1" "$p2" "$p5"; do
	port_free "$ns" "$p" || fail "port $p still bound inside after exit"
done

# both directions at once, in two processes: each leaves the other's
# listeners alone, and nothing outlives the service it stood for
pick_port q1 "$ns"
serve "$ns" 127.0.0.1 "$q1"
pick_port h1 "$ns"
serve "" 127.0.0.1 "$h1"
h1_pid=$SERVE_PID
bg_to "$T/forward.log" "$NSB" -v -c "netns:$ns" --mirror host container
for _ in $(seq 1 100); do grep -q ' ready$' "$T/forward.log" && break; sleep 0.05; done
answers "$ns" "$h1" || fail "the forward mirror does not serve port $h1"
start_nsb -v -c "netns:$ns" --mirror container host
for _ in $(seq 1 100); do grep -q ' ready$' "$NSB_LOG" && break; sleep 0.05; done
assert_eq "namespace port $q1 on the host" "port $q1" "$(socat -T 3 - TCP:127.0.0.1:"$q1" </dev/null)"
for p in "$p1" "$p2" "$p5" "$px" "$h1"; do
	! grep "port $p " "$NSB_LOG" | grep -q 'is not mirrored' ||
		fail "the reverse mirror took the forward mirror's port $p for a service"
done
! grep "port $q1 " "$T/forward.log" | grep -q 'is not mirrored' ||
	fail "the forward mirror took the reverse mirror's port $q1 for a service"
pass "two mirrors facing each other: each serves its own, neither mirrors the other's back"
kill "$h1_pid"
for _ in $(seq 1 50); do port_free "" "$h1" && break; sleep 0.02; done
within_scans "port $h1 unbound inside" port_free "$ns" "$h1"
sleep 1
port_free "" "$h1" || fail "port $h1 is held on the host after its service stopped"
port_free "$ns" "$h1" || fail "port $h1 is held inside after its service stopped"
pass "the service stops: its port is gone on both sides, no mirror holds the other's"
