#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# idle_timeout.sh - --idle-timeout closes a connection that moves nothing,
# never one whose bytes wait for a slow reader, and never so that a cut
# looks like a complete answer
. "$(dirname "$0")/lib.sh"

PEER="python3 $(dirname "$(readlink -f "$0")")/tcp_peer.py"
SIZE=20000000
SMALL=65536
mkns ns idle
lo_up "$ns"
pick_port stream "$ns"
pick_port small "$ns"
pick_port hold "$ns"

bg $PEER stream "$SIZE" "$stream"
bg $PEER stream "$SMALL" "$small"
bg_to "$T/hold.out" $PEER hold "$hold"
for p in "$stream" "$small" "$hold"; do
	wait_listen "" "$p"
done

start_nsb -v --idle-timeout 1s -c "netns:$ns" "host:$stream" "container:$stream" \
	"host:$small" "container:$small" "host:$hold" "container:$hold"

# 20 MB to a reader that stops for 3 s, three times the idle timeout: the
# bytes waiting for it (in a pipe) are not idle, and every one arrives
paused_reader() {
	local direct out t0 t1
	direct=$($PEER read-paused 3 "$stream") || fail "the direct reader"
	assert_eq "a paused reader, direct" "$SIZE eof GOOD" "$direct"
	t0=$(cpu_ticks "$NSB_PID")
	out=$(nsx "$ns" $PEER read-paused 3 "$stream") || fail "the reader through nsbridge"
	t1=$(cpu_ticks "$NSB_PID")
	assert_eq "a paused reader through nsbridge, --idle-timeout 1s" "$direct" "$out"
	# the pause is 3 s: a timer re-armed in a loop would use a core for it
	[ $((t1 - t0)) -le 150 ] || fail "the relay used $((t1 - t0)) ticks for 20 MB and a pause"
	pass "a reader that pauses 3 s with --idle-timeout 1s: $out, as direct ($((t1 - t0)) ticks)"
}

# 64 KiB and a FIN to a reader with a 2 KiB receive buffer that stops for
# 3 s after the first byte. The relay's pipe empties into its socket
# toward the reader, so the bytes wait in a socket's queue (SIOCOUTQ), not
# in a pipe. They are not idle either: every one arrives, then the FIN.
# (Closed as idle, half-closed as it is, the connection would be reset,
# the bytes still queued thrown away.) The reader sends nothing, not even
# a FIN: once its kernel has taken the last bytes the relay may rightly
# find the connection idle, and the reset then comes after the FIN
bytes_in_socket_queue() {
	local direct out
	direct=$($PEER read-slow 3 "$small") || fail "the direct reader"
	assert_eq "a slow reader, direct" "$SMALL eof GOOD" "$direct"
	out=$(nsx "$ns" $PEER read-slow 3 "$small") || fail "the reader through nsbridge"
	assert_eq "a slow reader through nsbridge, --idle-timeout 1s" "$direct" "$out"
	pass "a 2 KiB reader that pauses 3 s, its bytes in a socket's queue: $out, as direct"
}

# hold_said - the holding service has said how a connection ended
hold_said() {
	grep -q . "$T/hold.out"
}

# a connection that moves nothing is closed after the timeout; both ends
# open, nothing in flight: a FIN each way, as a server closes an idle
# keep-alive connection
idle_closed() {
	local out
	out=$(nsx "$ns" $PEER wait-end "$hold") || fail "the idle client"
	assert_eq "an idle connection, as its client sees it" eof "$out"
	wait_until "word from the service" 30 hold_said
	assert_eq "an idle connection, as the service sees it" "0 eof" "$(head -n 1 "$T/hold.out")"
	grep -Eq 'conn [0-9]+: idle for 1000 ms' "$NSB_LOG" || fail "no 'idle' line in the log"
	pass "an idle connection is closed after 1 s: a clean end on both sides"
}

# half-closed and idle: the client sent its request and a FIN, the
# service holds on without answering. A FIN now would pass for the
# service's (empty) answer: the client sees a reset instead
idle_half_closed_reset() {
	local out
	out=$(nsx "$ns" $PEER wait-end half "$hold") || fail "the half-closed client"
	assert_eq "an idle half-closed connection, as its client sees it" reset "$out"
	pass "an idle half-closed connection is reset, not ended cleanly"
}

check paused_reader
check bytes_in_socket_queue
check idle_closed
check idle_half_closed_reset

alive "$NSB_PID" || fail "nsbridge died"
stop_nsb
assert_eq "exit status" 0 "$NSB_STATUS"
