#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# urgent.sh - TCP urgent data (MSG_OOB: telnet and FTP's "Synch", some
# database drivers' cancel) neither stalls a direction nor changes what
# the receiver reads: "abc", an urgent "!", "def" arrive as abcdef in band
# and ! as urgent, both ways, as without nsbridge
. "$(dirname "$0")/lib.sh"

PEER="python3 $(dirname "$(readlink -f "$0")")/tcp_peer.py"
mkns ns urgent
lo_up "$ns"
pick_port toservice "$ns"
pick_port toclient "$ns"

bg_to "$T/service.direct" $PEER urgent-read "$toservice"
read_pid=$BG_PID
bg $PEER urgent-from "$toclient"
wait_listen "" "$toservice"
wait_listen "" "$toclient"

# service_got FILE - the first line the reading service printed
service_got() {
	for _ in $(seq 1 400); do
		grep -q . "$1" && break
		sleep 0.05
	done
	head -n 1 "$1"
}

$PEER urgent-to "$toservice" || fail "the direct sender"
direct_to=$(service_got "$T/service.direct")
assert_eq "urgent data to the service, direct" "abcdef !" "$direct_to"
direct_from=$($PEER urgent-get "$toclient") || fail "the direct reader"
assert_eq "urgent data to the client, direct" "abcdef !" "$direct_from"
kill "$read_pid"
wait "$read_pid" 2>/dev/null
bg_to "$T/service.nsb" $PEER urgent-read "$toservice"
wait_listen "" "$toservice"

start_nsb -c "netns:$ns" "host:$toservice" "container:$toservice" \
	"host:$toclient" "container:$toclient"
nsx "$ns" $PEER urgent-to "$toservice" || fail "the sender through nsbridge"
out=$(service_got "$T/service.nsb")
assert_eq "urgent data to the service, through nsbridge" "$direct_to" "$out"
pass "client to service: '$out' (in band, urgent), as direct"

out=$(nsx "$ns" $PEER urgent-get "$toclient") || fail "the reader through nsbridge"
assert_eq "urgent data to the client, through nsbridge" "$direct_from" "$out"
pass "service to client: '$out' (in band, urgent), as direct"

kill -0 "$NSB_PID" || fail "nsbridge died"
stop_nsb
assert_eq "exit status" 0 "$NSB_STATUS"
