#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# nodelay.sh - both sockets of a relayed connection have TCP_NODELAY, read from outside
#
# Nagle on either socket would hold a small write back until the previous
# one is acknowledged: a request/response protocol of small writes then
# stalls on the peer's delayed ACK. Timing that is flaky, so the option
# itself is read: sockopt.py copies the relay's sockets of one open
# connection with pidfd_getfd(2) and asks getsockopt. The same probe on the
# client's own socket, which nobody set, reads 0: the probe sees the truth.
. "$(dirname "$0")/lib.sh"

PROBE="python3 $(dirname "$(readlink -f "$0")")/sockopt.py"
PEER=$(dirname "$(readlink -f "$0")")/hold_peer.py

mkns ns app
pick_port p "$ns"

# the service: one client, echo one line, print the client's port, hold on
bg_to "$T/service" python3 "$PEER" tell-peer "$p"
wait_listen "" "$p"
start_nsb -c "netns:$ns" "host:$p" "container:$p"

# the client, in the container: one round trip, print its own port, hold on
bg_to "$T/client" ip netns exec "$ns" python3 "$PEER" tell-own "$p"
client=$BG_PID
wait_until "round trip through the bridge" 30 test -s "$T/client" -a -s "$T/service"
cport=$(cat "$T/client")	# the client's end, accepted by nsbridge in the container
dport=$(cat "$T/service")	# nsbridge's end toward SERVICE, on the host
assert_match "client's port" '^[0-9]+$' "$cport"
assert_match "nsbridge's port toward SERVICE" '^[0-9]+$' "$dport"

both_sockets() {
	local relay accepted dialled
	relay=$($PROBE "$NSB_PID") || fail "reading the sockets of nsbridge $NSB_PID"
	printf "%s\n" "$relay" >&2
	accepted=$(awk -v l="127.0.0.1:$p" -v r="127.0.0.1:$cport" '$2 == l && $3 == r { print $4 }' \
		<<<"$relay")
	dialled=$(awk -v l="127.0.0.1:$dport" -v r="127.0.0.1:$p" '$2 == l && $3 == r { print $4 }' \
		<<<"$relay")
	assert_eq "TCP_NODELAY on the accepted client socket 127.0.0.1:$p <- :$cport" 1 "$accepted"
	assert_eq "TCP_NODELAY on the socket dialled to SERVICE :$dport -> 127.0.0.1:$p" 1 "$dialled"
	pass "both sockets of the connection have TCP_NODELAY"
}

# the comparison: the client's own socket, as any client makes it
probe_sees_unset() {
	local own
	own=$($PROBE "$client" | awk -v l="127.0.0.1:$cport" '$2 == l { print $4 }')
	assert_eq "TCP_NODELAY on the client's own socket (nobody set it)" 0 "$own"
	pass "the probe reads 0 where nobody set TCP_NODELAY"
}

check both_sockets
check probe_sees_unset
