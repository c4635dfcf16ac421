#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# reset_data.sh - the bytes sent just before a reset arrive, and the reset
# after them, as they do without nsbridge: a service that answers and
# resets, one that resets with the path to its client full, a client that
# sends and resets, an HTTP 413 to an upload
. "$(dirname "$0")/lib.sh"

PEER="python3 $(dirname "$(readlink -f "$0")")/tcp_peer.py"
mkns ns resetdata
lo_up "$ns"
pick_port answer "$ns"
pick_port fill "$ns"
pick_port take "$ns"
pick_port http "$ns"

bg $PEER reset-after "$answer"
bg $PEER fill-reset "$fill"
bg_to "$T/take.out" $PEER read-all "$take"
bg $PEER http413 "$http"
for p in "$answer" "$fill" "$take" "$http"; do
	wait_listen "" "$p"
done
random_file "$T/upload" 2

start_nsb -c "netns:$ns" "host:$answer" "container:$answer" "host:$fill" "container:$fill" \
	"host:$take" "container:$take" "host:$http" "container:$http"

# the service reads a request, sends 1000 bytes and resets: every client
# gets the 1000 bytes, then ECONNRESET
answer_then_reset() {
	local direct out
	direct=$($PEER ask 50 "$answer") || fail "the direct clients"
	assert_eq "direct clients of a service that resets" "50x 1000 reset" "$direct"
	out=$(nsx "$ns" $PEER ask 50 "$answer") || fail "the clients through nsbridge"
	assert_eq "clients through nsbridge of a service that resets" "$direct" "$out"
	pass "a service that sends 1000 bytes and resets: $out, as direct"
}

# The service sends until the path to a client that reads nothing is
# full, then resets; the client reads only after the reset. Direct, it
# gets what its own socket took; through nsbridge, what the relay's
# socket toward the service took, which waited in the relay (its socket,
# its pipe, its socket toward the client) when the reset came: every one
# of those bytes comes first, then the reset. A relay that passed the
# reset on at once would leave the client only what its socket held.
full_path_then_reset() {
	local direct out taken got end direct_taken
	direct=$($PEER read-after-reset "$T/fill.direct" "$fill") || fail "the direct client"
	read -r direct_taken got end <<<"$direct"
	assert_eq "a direct client of a service that resets with its window full, bytes" \
		"$direct_taken" "$got"
	assert_eq "a direct client of a service that resets with its window full, end" reset "$end"
	out=$(nsx "$ns" $PEER read-after-reset "$T/fill.nsb" "$fill") || fail "the client through nsbridge"
	read -r taken got end <<<"$out"
	assert_eq "bytes the relay took before the service's reset, delivered ($out)" "$taken" "$got"
	assert_eq "how it ends, through nsbridge ($out)" reset "$end"
	# the scene is what it says: bytes waited in the relay, beyond what
	# the client's own socket holds
	[ "$taken" -gt "$direct_taken" ] ||
		fail "no bytes waited in the relay: it took $taken, the client alone $direct_taken"
	pass "a service that resets with the path full: all $got bytes the relay took, then the reset, as direct ($direct_taken bytes, then the reset)"
}

# lines_at_least FILE COUNT - FILE has COUNT lines or more
lines_at_least() {
	[ "$(wc -l <"$1")" -ge "$2" ]
}

# service_read BEFORE COUNT - once the reading service has printed COUNT
# lines after its first BEFORE, those lines tallied, in $tally
service_read() {
	wait_until "$2 connections read by the service" 30 lines_at_least "$T/take.out" $(($1 + $2))
	tally=$(sed -n "$(($1 + 1)),$(($1 + $2))p" "$T/take.out" | sort | uniq -c | sed 's/^ *//')
}

# the client sends 1000 bytes and resets: the service reads them, then
# ECONNRESET
send_then_reset() {
	local direct tally before
	before=$(wc -l <"$T/take.out")
	$PEER send-reset 30 "$take" || fail "the direct resetting clients"
	service_read "$before" 30
	direct=$tally
	assert_eq "the service, direct" "30 1000 reset" "$direct"
	before=$(wc -l <"$T/take.out")
	nsx "$ns" $PEER send-reset 30 "$take" || fail "the resetting clients through nsbridge"
	service_read "$before" 30
	assert_eq "the service, through nsbridge" "$direct" "$tally"
	pass "clients that send 1000 bytes and reset: the service read $tally, as direct"
}

# a 2 MB upload answered 413 by a server that does not read all of it
curl_413() {
	for _ in $(seq 1 20); do
		curl -s -o /dev/null -w '%{http_code}\n' -H 'Expect:' --data-binary @"$T/upload" \
			"http://127.0.0.1:$http/"
	done | sort | uniq -c | sed 's/^ *//' | paste -sd, -
}
upload_answered_413() {
	local direct out
	direct=$(curl_413)
	assert_eq "direct uploads" "20 413" "$direct"
	out=$(nsx "$ns" bash -c "$(declare -f curl_413); T=$T http=$http curl_413")
	assert_eq "uploads through nsbridge" "$direct" "$out"
	pass "a 2 MB upload answered 413 and a reset: $out, as direct"
}

check answer_then_reset
check full_path_then_reset
check send_then_reset
check upload_answered_413

alive "$NSB_PID" || fail "nsbridge died"
stop_nsb
assert_eq "exit status" 0 "$NSB_STATUS"
