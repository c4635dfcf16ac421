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
	echo "   $what after $(($(now_ms) - start)) ms" >&2
}

# answers NS PORT - the service behind PORT answers from NS
answers() { [ "$(ask "$1" "$2")" = "port $2" ]; }

# a forward mirror for the first behaviours; the last ones, two mirrors
# facing each other, come after it stopped
for name in p1 p2 p3 p4 p5 p6 p7 px q1 h1 h2; do
	pick_port "$name" "$ns"
done
serve "" 127.0.0.1 "$p1"
serve "" 0.0.0.0 "$p2"
serve "" ::1 "$p3"
serve "" 127.0.0.1 "$px"
bg $PEER whoami "$p4"
udp_bound() { ss -Hunl "sport = :$1" | grep -q .; }
wait_until "UDP port $p4 bound" 30 udp_bound "$p4"

start_nsb -v -c "netns:$ns" --mirror --mirror-exclude "$px" --mirror-udp host container
tcp_and_udp_ready() { [ "$(grep -c ' ready$' "$NSB_LOG")" = 2 ]; }
wait_until "the TCP and the UDP mirror's ready lines" 30 tcp_and_udp_ready

three_services() {
	local p
	assert_match "TCP ready line" "host \(every TCP port on its loopback\) -> container netns:$ns 127.0.0.1 and \[::1\], mirrored ready" \
		"$(cat "$NSB_LOG")"
	for p in "$p1" "$p2" "$p3"; do
		assert_eq "port $p inside (127.0.0.1)" "port $p" "$(ask "$ns" "$p")"
		assert_eq "port $p inside ([::1])" "port $p" "$(ask "$ns" "$p" "[::1]")"
	done
	assert_eq "the relay's capabilities" 0000000000000000 "$(cap_eff "$NSB_PID")"
	pass "three host services (127.0.0.1, 0.0.0.0, ::1 only) answer inside on both loopback addresses"
}

excluded() {
	port_free "$ns" "$px" || fail "--mirror-exclude $px was mirrored"
	pass "--mirror-exclude: port $px stays out"
}

mirror_udp() {
	local out
	out=$(nsx "$ns" $PEER ask "$p4" hello) || fail "UDP port $p4 not mirrored"
	assert_match "UDP port $p4" " hello$" "$out"
	pass "--mirror-udp: a UDP service answers inside"
}

# a service starts, another stops: inside follows within a second
follows() {
	local gone
	serve "" ::1 "$p7"	# as p3: a service on ::1 only
	gone=$SERVE_PID
	within_scans "port $p7 appears inside" answers "$ns" "$p7"
	serve "" 127.0.0.1 "$p5"
	within_scans "port $p5 appears inside" answers "$ns" "$p5"
	kill "$gone"
	wait_until "port $p7 free on the host" 30 port_free "" "$p7"
	within_scans "port $p7 unbound inside" port_free "$ns" "$p7"
	assert_eq "port $p1 still inside" "port $p1" "$(ask "$ns" "$p1")"
	grep -q "port $p7 stopped listening" "$NSB_LOG" || fail "no line about port $p7 stopping"
	pass "a new host port appears inside and a stopped one is unbound, each within a second"
}

# a port the namespace holds itself is left to it, and said once
taken_inside() {
	serve "$ns" 127.0.0.1 "$p6"
	serve "" 127.0.0.1 "$p6"
	wait_until "line about $p6" 30 grep -q "port $p6 of host is not mirrored" "$NSB_LOG"
	sleep 1	# not a wait: two more scans, which must not say it again
	assert_eq "the namespace's own service on $p6" "port $p6" "$(ask "$ns" "$p6")"
	assert_eq "lines about $p6" 1 "$(grep -c "port $p6 of host is not mirrored" "$NSB_LOG")"
	pass "a port already taken inside is left alone, said once"
}

check three_services
check excluded
check mirror_udp
check follows
check taken_inside

stop_nsb	# the mirrors facing each other below need it gone
exits_clean() {
	local p
	assert_eq "exit status" 0 "$NSB_STATUS"
	for p in "$p1" "$p2" "$p3" "$p5"; do
		port_free "$ns" "$p" || fail "port $p still bound inside after exit"
	done
	pass "SIGTERM: exit 0, every mirrored port unbound inside"
}
check exits_clean

# facing SERVICE - a host service on port SERVICE, a service inside on
# q1, and two nsbridge processes mirroring each way, stopped when the
# check ends, however it ends; sets SERVICE_PID
facing() {
	serve "" 127.0.0.1 "$1"
	SERVICE_PID=$SERVE_PID
	NSB_LOG=$T/reverse.log
	bg_to "$T/forward.log" "$NSB" -v -c "netns:$ns" --mirror host container
	FORWARD=$BG_PID
	trap 'kill -KILL "$FORWARD" "$NSB_PID" 2>/dev/null' EXIT	# the check's subshell's
	wait_until "the forward mirror's ready line" 30 grep -q ' ready$' "$T/forward.log"
	answers "$ns" "$1" || fail "the forward mirror does not serve port $1"
	NSB_READY=1 start_nsb -v -c "netns:$ns" --mirror container host
}

# both directions at once, in two processes: each leaves the other's
# listeners alone, and nothing outlives the service it stood for
serve "$ns" 127.0.0.1 "$q1"
facing_mirrors() {
	local p
	facing "$h1"
	assert_eq "namespace port $q1 on the host" "port $q1" "$(socat -T 3 - TCP:127.0.0.1:"$q1" </dev/null)"
	for p in "$p1" "$p2" "$p5" "$px" "$h1"; do
		! grep "port $p " "$NSB_LOG" | grep -q 'is not mirrored' ||
			fail "the reverse mirror took the forward mirror's port $p for a service"
	done
	! grep "port $q1 " "$T/forward.log" | grep -q 'is not mirrored' ||
		fail "the forward mirror took the reverse mirror's port $q1 for a service"
	pass "two mirrors facing each other: each serves its own, neither mirrors the other's back"
}

service_stops() {
	facing "$h2"
	kill "$SERVICE_PID"
	wait_until "port $h2 free on the host" 30 port_free "" "$h2"
	within_scans "port $h2 unbound inside" port_free "$ns" "$h2"
	sleep 1	# not a wait: more scans, in which neither mirror may take the port
	port_free "" "$h2" || fail "port $h2 is held on the host after its service stopped"
	port_free "$ns" "$h2" || fail "port $h2 is held inside after its service stopped"
	pass "the service stops: its port is gone on both sides, no mirror holds the other's"
}

check facing_mirrors
check service_stops
