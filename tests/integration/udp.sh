#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# udp.sh - /udp bridges: DNS through dnsmasq and dig, 10,000 datagrams echoed
# whole, flows that expire, and a flow cap that a flood of new ports cannot break
. "$(dirname "$0")/lib.sh"

PEER="python3 $(dirname "$(readlink -f "$0")")/udp_peer.py"
command -v dnsmasq >/dev/null || skip "dnsmasq is not installed (tests/deps.sh)"
command -v dig >/dev/null || skip "dig is not installed (tests/deps.sh)"

mkns ns udp

# ---- a real DNS server on the host's 127.0.0.1:5353, asked from inside ----
bg_to "$T/dnsmasq.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
	--port=5353 --listen-address=127.0.0.1 --bind-interfaces --user=root \
	--pid-file="$T/dnsmasq.pid" --address=/db.nsbridge.test/192.0.2.53
for _ in $(seq 1 100); do ss -Hunl 'sport = :5353' | grep -q . && break; sleep 0.05; done

start_nsb -c "netns:$ns" host:5353/udp container:5353/udp
assert_match "ready line" "host 127.0.0.1:5353/udp -> container netns:$ns 127.0.0.1:5353/udp, \[::1\]:5353/udp ready" \
	"$(cat "$NSB_LOG")"
for server in 127.0.0.1 ::1; do
	answer=$(nsx "$ns" dig @"$server" -p 5353 +short +tries=1 +time=3 db.nsbridge.test A) ||
		fail "dig @$server inside the namespace"
	assert_eq "dig @$server db.nsbridge.test" "192.0.2.53" "$answer"
done
status=$(nsx "$ns" dig @127.0.0.1 -p 5353 +tries=1 +time=3 nothing.invalid A | grep -o 'status: [A-Z]*')
assert_eq "an unknown name" "status: REFUSED" "$status"
pass "dig inside the namespace gets dnsmasq's answers from the host, over 127.0.0.1 and ::1"
stop_nsb

# ---- 10,000 datagrams of 0 to 65,507 bytes, each back whole and alone ----
pick_port echo "$ns"
bg $PEER echo "$echo"
sleep 0.3
start_nsb -c "netns:$ns" "host:$echo/udp" "container:$echo/udp"
out=$(nsx "$ns" $PEER stream "$echo" 10000) || fail "stream: $out"
assert_match "stream" "^10000 datagrams back intact" "$out"
pass "$out"
stop_nsb

# ---- flows: one per client, gone after --udp-timeout ----
pick_port who "$ns"
bg $PEER whoami "$who"
sleep 0.3
start_nsb -c "netns:$ns" --udp-timeout 1s "host:$who/udp" "container:$who/udp"
rest=$(fd_count "$NSB_PID")
mapfile -t seen < <(nsx "$ns" $PEER ask "$who" one two)
[ "${#seen[@]}" = 2 ] || fail "two answers expected, got: ${seen[*]}"
port1=${seen[0]%% *}
assert_eq "second datagram of the client" "$port1 two" "${seen[1]}"
assert_eq "descriptors with one flow" $((rest + 1)) "$(fd_count "$NSB_PID")"
other=$(nsx "$ns" $PEER ask "$who" other)
[ "${other%% *}" != "$port1" ] || fail "two clients shared one flow (service saw port $port1 twice)"
pass "one flow a client: the service sees each client from its own port"
sleep 2.5
assert_eq "descriptors after --udp-timeout" "$rest" "$(fd_count "$NSB_PID")"
pass "flows closed after --udp-timeout 1s"
stop_nsb

# ---- --max-udp-flows under a flood of new client ports ----
start_nsb -c "netns:$ns" --max-udp-flows 50 "host:$who/udp" "container:$who/udp"
rest=$(fd_count "$NSB_PID")
nsx "$ns" $PEER steady "$who" 6 >"$T/steady.out" &
steady_pid=$!
sleep 1
nsx "$ns" $PEER flood "$who" 3000 || fail "flood"
nsx "$ns" $PEER flood "$who" 3000 || fail "flood"
peak=$(fd_count "$NSB_PID")
[ "$peak" -le $((rest + 50)) ] || fail "$peak descriptors at --max-udp-flows 50 (at rest $rest)"
fresh=$(nsx "$ns" $PEER ask "$who" new-client) || fail "a new client after the flood got no answer"
assert_match "a new client after the flood" " new-client$" "$fresh"
wait "$steady_pid"
# UDP under a flood may lose a datagram in a full socket buffer, as any
# network may; the steady flow must keep its port and nearly every answer
assert_match "the steady client: one port seen by the service" \
	"^ports [0-9]+ misses [0-9]+$" "$(cat "$T/steady.out")"
misses=$(awk '{ print $NF }' "$T/steady.out")
[ "$misses" -le 5 ] || fail "the steady client missed $misses of about 110 answers in the flood"
grep -q 'max-udp-flows' "$NSB_LOG" || fail "no line about --max-udp-flows"
pass "6,000 new ports against --max-udp-flows 50: at most 50 flows, the steady client kept its flow ($misses answers missed), new clients still served"
kill -0 "$NSB_PID" || fail "nsbridge died in the flood"
stop_nsb
assert_eq "exit status" 0 "$NSB_STATUS"

# ---- SERVICE in the namespace: flow sockets come from the opener's pool ----
lo_up "$ns"
pick_port inner "$ns"
bg ip netns exec "$ns" $PEER whoami "$inner"
sleep 0.3
start_nsb -c "netns:$ns" "container:$inner/udp" "host:$inner/udp"
assert_eq "the relay's capabilities" 0000000000000000 "$(cap_eff "$NSB_PID")"
for i in $(seq 1 40); do
	out=$($PEER ask "$inner" "client-$i") || fail "client $i on the host got no answer"
	assert_match "client $i" " client-$i$" "$out"
done
pass "40 clients on the host reach a UDP service inside the namespace (sockets from the pool)"
stop_nsb
