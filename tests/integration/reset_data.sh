#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# reset_data.sh - the bytes sent just before a reset arrive, and the reset
# after them, as they do without nsbridge: a service that answers and
# resets, a client that sends and resets, an HTTP 413 to an upload
. "$(dirname "$0")/lib.sh"

PEER="python3 $(dirname "$(readlink -f "$0")")/tcp_peer.py"
mkns ns resetdata
lo_up "$ns"
pick_port answer "$ns"
pick_port take "$ns"
pick_port http "$ns"

bg $PEER reset-after "$answer"
bg_to "$T/take.direct" $PEER read-all "$take"
take_pid=$BG_PID
bg $PEER http413 "$http"
for p in "$answer" "$take" "$http"; do
	wait_listen "" "$p"
done

# (a) the service reads a request, sends 1000 bytes and resets: every
# client gets the 1000 bytes, then ECONNRESET
direct=$($PEER ask 50 "$answer") || fail "the direct clients"
assert_eq "direct clients of a service that resets" "50x 1000 reset" "$direct"

# (b) the client sends 1000 bytes and resets: the service reads them, then
# ECONNRESET
$PEER send-reset 30 "$take" || fail "the direct resetting clients"
for _ in $(seq 1 200); do
	[ "$(wc -l <"$T/take.direct")" -ge 30 ] && break
	sleep 0.05
done
direct_take=$(sort "$T/take.direct" | uniq -c | sed 's/^ *//')
assert_eq "the service, direct" "30 1000 reset" "$direct_take"
kill "$take_pid"
wait "$take_pid" 2>/dev/null
bg_to "$T/take.nsb" $PEER read-all "$take"
wait_listen "" "$take"

# (c) a 2 MB upload answered 413 by a server that does not read all of it
random_file "$T/upload" 2
curl_413() {
	for _ in $(seq 1 20); do
		curl -s -o /dev/null -w '%{http_code}\n' -H 'Expect:' --data-binary @"$T/upload" \
			"http://127.0.0.1:$http/"
	done | sort | uniq -c | sed 's/^ *//' | paste -sd, -
}
direct_http=$(curl_413)
assert_eq "direct uploads" "20 413" "$direct_http"

start_nsb -c "netns:$ns" "host:$answer" "container:$answer" "host:$take" "container:$take" \
	"host:$http" "container:$http"

out=$(nsx "$ns" $PEER ask 50 "$answer") || fail "the clients through nsbridge"
assert_eq "clients through nsbridge of a service that resets" "$direct" "$out"
pass "a service that sends 1000 bytes and resets: $out, as direct"

nsx "$ns" $PEER send-reset 30 "$take" || fail "the resetting clients through nsbridge"
for _ in $(seq 1 200); do
	[ "$(wc -l <"$T/take.nsb")" -ge 30 ] && break
	sleep 0.05
done
out=$(sort "$T/take.nsb" | uniq -c | sed 's/^ *//')
assert_eq "the service, through nsbridge" "$direct_take" "$out"
pass "clients that send 1000 bytes and reset: the service read $out, as direct"

out=$(nsx "$ns" bash -c "$(declare -f curl_413); T=$T http=$http curl_413")
assert_eq "uploads through nsbridge" "$direct_http" "$out"
pass "a 2 MB upload answered 413 and a reset: $out, as direct"

kill -0 "$NSB_PID" || fail "nsbridge died"
stop_nsb
assert_eq "exit status" 0 "$NSB_STATUS"
