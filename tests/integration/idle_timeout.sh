#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# idle_timeout.sh - --idle-timeout closes a connection that moves nothing,
# never one whose bytes wait for a slow reader, and never so that a cut
# looks like a complete answer
. "$(dirname "$0")/lib.sh"

PEER="python3 $(dirname "$(readlink -f "$0")")/tcp_peer.py"
SIZE=20000000
mkns ns idle
lo_up "$ns"
pick_port stream "$ns"
pick_port hold "$ns"

bg $PEER stream "$SIZE" "$stream"
bg_to "$T/hold.out" $PEER hold "$hold"
wait_listen "" "$stream"
wait_listen "" "$hold"

# (a) 20 MB to a reader that stops for 3 s, three times the idle timeout:
# the bytes waiting for it are not idle, and every one arrives
direct=$($PEER read-paused 3 "$stream") || fail "the direct reader"
assert_eq "a paused reader, direct" "$SIZE eof GOOD" "$direct"

start_nsb -v --idle-timeout 1s -c "netns:$ns" "host:$stream" "container:$stream" \
	"host:$hold" "container:$hold"
t0=$(cpu_ticks "$NSB_PID")
out=$(nsx "$ns" $PEER read-paused 3 "$stream") || fail "the reader through nsbridge"
t1=$(cpu_ticks "$NSB_PID")
assert_eq "a paused reader through nsbridge, --idle-timeout 1s" "$direct" "$out"
# the pause is 3 s: a timer re-armed in a loop would use a core for it
[ $((t1 - t0)) -le 150 ] || fail "the relay used $((t1 - t0)) ticks for 20 MB and a pause"
pass "a reader that pauses 3 s with --idle-timeout 1s: $out, as direct ($((t1 - t0)) ticks)"

# (b) a connection that moves nothing is closed after the timeout; both
# ends open, nothing in flight: a FIN each way, as a server closes an idle
# keep-alive connection
out=$(nsx "$ns" $PEER wait-end "$hold") || fail "the idle client"
assert_eq "an idle connection, as its client sees it" eof "$out"
for _ in $(seq 1 100); do
	grep -q . "$T/hold.out" && break
	sleep 0.05
done
assert_eq "an idle connection, as the service sees it" "0 eof" "$(head -n 1 "$T/hold.out")"
grep -Eq 'conn [0-9]+: idle for 1000 ms' "$NSB_LOG" || fail "no 'idle' line in the log"
pass "an idle connection is closed after 1 s: a clean end on both sides"

# (c) half-closed and idle: the client sent its request and a FIN, the
# service holds on without answering. A FIN now would pass for the
# service's (empty) answer: the client sees a reset instead
out=$(nsx "$ns" $PEER wait-end half "$hold") || fail "the half-closed client"
assert_eq "an idle half-closed connection, as its client sees it" reset "$out"
pass "an idle half-closed connection is reset, not ended cleanly"

kill -0 "$NSB_PID" || fail "nsbridge died"
stop_nsb
assert_eq "exit status" 0 "$NSB_STATUS"
