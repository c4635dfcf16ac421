#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# c10k.sh - 10,000 connections open at once, each echoing its own bytes,
# then the fd count back to idle and a fresh connection served
#
# An idle connection costs the relay two descriptors (client and service
# sockets), so 10,000 need 20,000 plus what the relay holds at rest and a
# few pipes for bytes in flight. Where the hard RLIMIT_NOFILE leaves less
# than that, the test runs the largest count that fits and says so.
. "$(dirname "$0")/lib.sh"

WANT=10000
HEADROOM=64	# 32 pipes for bytes in flight, so echoes do not crawl

mkns ns c10k
pick_port port "$ns"

PEER=$(dirname "$(readlink -f "$0")")/hold_peer.py

# the service: an echo server on the host's loopback that writes how many
# clients it has open, and the most it had at once, to a status file
bg python3 "$PEER" echo "$port" "$T/server.status"
wait_listen "" "$port"
start_nsb -c "netns:$ns" "host:$port" "container:$port"
fds_at_rest "$NSB_PID" idle
hard=$(awk '/^Max open files/ { print $5 }' "/proc/$NSB_PID/limits")
# thousands() - 20000 as 20,000
thousands() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$NSB_PID/status"; }
server_open() { cut -d' ' -f1 "$T/server.status"; }

# what the relay needs for WANT connections, and the most that fit
need=$((idle + 2 * WANT + HEADROOM))
if [ "$hard" = unlimited ] || [ "$hard" -ge "$need" ]; then
	n=$WANT
	why="hard fd limit $(thousands "$hard") covers the $(thousands "$need") fds they need"
else
	n=$(((hard - idle - HEADROOM) / 2))
	[ "$n" -ge 1000 ] || skip "hard fd limit $hard leaves room for only $n connections"
	why="hard fd limit $(thousands "$hard") leaves room for no more; $(thousands "$WANT") need $(thousands "$need"): $idle at rest + 2 per connection + $HEADROOM for pipes"
fi
note "relay: $idle fds at rest, hard limit $hard: $n connections"

# the client: opens n connections, keeps them all open, says so and waits
# for the go file; then sends each its own payload and checks the echo
# byte for byte, all at once; then half-closes each and expects a clean
# EOF with no extra byte (hold_peer.py echo-many). Its exit status follows.
bg_to "$T/client.out" ip netns exec "$ns" \
	sh -c 'python3 "$0" echo-many "$1" "$2" "$3"; echo "exit $?"' "$PEER" "$n" "$T/go" "$port"
# client_said WORD - the client has printed its line starting with WORD
client_said() {
	grep -Eq "^$1" "$T/client.out"
}
wait_until "word from the client on its $n connections" 120 client_said '(connected|exit)'

# every connection is open end to end: the relay holds both of its sockets
# and the server counts each client; the peak is what the checks read
peak=0
for _ in $(seq 1 300); do
	fds=$(fd_count "$NSB_PID")
	[ "$fds" -gt "$peak" ] && peak=$fds
	[ "$fds" -ge $((idle + 2 * n)) ] && [ "$(server_open)" = "$n" ] && break
	sleep 0.1
done
peak_rss=$(rss)

all_open() {
	assert_eq "client connections" "connected $n failed 0" "$(grep '^connected' "$T/client.out")"
	[ "$peak" -ge $((idle + 2 * n)) ] ||
		fail "relay peak of $peak fds, short of $idle + 2 x $n: the $n connections were not all open"
	assert_eq "clients open at the server" "$n" "$(server_open)"
	alive "$NSB_PID" || fail "nsbridge died holding $n connections"
	pass "$n connections open at once: relay at $peak fds, server counts $(server_open)"
}

echoed() {
	local server_peak server_total
	touch "$T/go"
	wait_until "end of the client" 120 client_said exit
	assert_eq "client exit status" "exit 0" "$(grep '^exit' "$T/client.out")"
	assert_eq "echoes" "echo ok=$n" "$(grep '^echo' "$T/client.out")"
	assert_eq "half-close and EOF" "close ok=$n" "$(grep '^close' "$T/client.out")"
	read -r _ server_peak server_total <"$T/server.status"
	assert_eq "server's most clients at once" "$n" "$server_peak"
	assert_eq "server's clients in all" "$n" "$server_total"
	pass "$n distinct payloads echoed byte-exact, each closed with a clean EOF"
}

# fds_back - nsbridge holds no more descriptors than at rest
fds_back() {
	[ "$(fd_count "$NSB_PID")" -le "$idle" ]
}

# once the clients above have left
back_to_idle() {
	alive "$NSB_PID" || fail "nsbridge died after $n connections"
	wait_until "fd count of $idle" 30 fds_back
	assert_eq "fds after the load" "$idle" "$(fd_count "$NSB_PID")"
	pass "fd count back to its idle value of $idle"
}

fresh_connection() {
	: >"$T/go1"
	nsx "$ns" python3 "$PEER" echo-many 1 "$T/go1" "$port" >"$T/one.out" || fail "a fresh client"
	assert_eq "a fresh connection" "connected 1 failed 0|echo ok=1|close ok=1" "$(paste -sd'|' "$T/one.out")"
	pass "a fresh connection after the load: echoed, closed cleanly"
}

# after the SIGTERM below, which ends the nsbridge of all the checks above
summary() {
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "$(thousands "$n") concurrent ($why); relay peak $(thousands "$peak") fds, VmRSS $(thousands "$peak_rss") KiB"
}

check all_open
check echoed
check back_to_idle
check fresh_connection
stop_nsb TERM
check summary
