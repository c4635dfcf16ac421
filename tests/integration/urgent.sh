#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# urgent.sh - TCP urgent data (MSG_OOB: telnet and FTP's "Synch", some
# database drivers' cancel) neither stalls a direction nor changes what
# the receiver reads: "abc", an urgent "!", "def" arrive as abcdef in band
# and ! as urgent, both ways, as without nsbridge; an urgent "!" with
# nothing after it arrives too, the connection still open
. "$(dirname "$0")/lib.sh"

PEER="python3 $(dirname "$(readlink -f "$0")")/tcp_peer.py"
mkns ns urgent
lo_up "$ns"
pick_port toservice "$ns"
pick_port toclient "$ns"
pick_port alone_to "$ns"
pick_port alone_from "$ns"

bg_to "$T/service.out" $PEER urgent-read "$toservice"
bg $PEER urgent-from "$toclient"
bg_to "$T/alone.out" $PEER urgent-alone-read "$alone_to"
bg $PEER urgent-alone-from "$alone_from"
for p in "$toservice" "$toclient" "$alone_to" "$alone_from"; do
	wait_listen "" "$p"
done

start_nsb -c "netns:$ns" "host:$toservice" "container:$toservice" \
	"host:$toclient" "container:$toclient" "host:$alone_to" "container:$alone_to" \
	"host:$alone_from" "container:$alone_from"

# lines_at_least FILE COUNT - FILE has COUNT lines or more
lines_at_least() {
	[ "$(wc -l <"$1")" -ge "$2" ]
}

# service_got FILE CMD... - run the client CMD, then wait for the line the
# reading service printed for it into FILE; the line in $got
service_got() {
	local file=$1 before
	shift
	before=$(wc -l <"$file")
	"$@" || fail "the sender: $*"
	wait_until "a line from the service" 30 lines_at_least "$file" $((before + 1))
	got=$(sed -n "$((before + 1))p" "$file")
}

# the urgent byte between in-band bytes, and a FIN after them
to_service() {
	local direct got
	service_got "$T/service.out" $PEER urgent-to "$toservice"
	direct=$got
	assert_eq "urgent data to the service, direct" "abcdef !" "$direct"
	service_got "$T/service.out" nsx "$ns" $PEER urgent-to "$toservice"
	assert_eq "urgent data to the service, through nsbridge" "$direct" "$got"
	pass "client to service: '$got' (in band, urgent), as direct"
}

to_client() {
	local direct out
	direct=$($PEER urgent-get "$toclient") || fail "the direct reader"
	assert_eq "urgent data to the client, direct" "abcdef !" "$direct"
	out=$(nsx "$ns" $PEER urgent-get "$toclient") || fail "the reader through nsbridge"
	assert_eq "urgent data to the client, through nsbridge" "$direct" "$out"
	pass "service to client: '$out' (in band, urgent), as direct"
}

# The urgent byte alone: no byte after it and no FIN, so nothing but
# EPOLLPRI tells the relay it came (no EPOLLIN: the urgent byte is not in
# band). The receiver reads it with MSG_OOB, the connection open
alone_to_service() {
	local direct got
	service_got "$T/alone.out" $PEER urgent-alone-to "$alone_to"
	direct=$got
	assert_eq "an urgent byte alone to the service, direct" "! open" "$direct"
	service_got "$T/alone.out" nsx "$ns" $PEER urgent-alone-to "$alone_to"
	assert_eq "an urgent byte alone to the service, through nsbridge" "$direct" "$got"
	pass "client to service, an urgent byte and nothing after it: '$got' (urgent, still open), as direct"
}

alone_to_client() {
	local direct out
	direct=$($PEER urgent-alone-get "$alone_from") || fail "the direct reader"
	assert_eq "an urgent byte alone to the client, direct" "! open" "$direct"
	out=$(nsx "$ns" $PEER urgent-alone-get "$alone_from") || fail "the reader through nsbridge"
	assert_eq "an urgent byte alone to the client, through nsbridge" "$direct" "$out"
	pass "service to client, an urgent byte and nothing after it: '$out' (urgent, still open), as direct"
}

check to_service
check to_client
check alone_to_service
check alone_to_client

alive "$NSB_PID" || fail "nsbridge died"
stop_nsb
assert_eq "exit status" 0 "$NSB_STATUS"
