#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# notify.sh - systemd readiness: READY=1 on $NOTIFY_SOCKET once every bridge
# is bound (and the bridge answers at that moment), STOPPING=1 on SIGTERM
. "$(dirname "$0")/lib.sh"

mkns ns notify
pick_port port "$ns"
mkdir -p "$T/www" && echo "ready means ready" >"$T/www/index.html"
start_nginx "" "$port" "$T/www"

# the notify socket: each datagram, and whether the bridge answered
# inside the namespace when READY=1 came
start_notify "$T/notify" "$T/notes" "$ns" "$port"

export NOTIFY_SOCKET=$T/notify
start_nsb -c "netns:$ns" "host:$port" "container:$port"
unset NOTIFY_SOCKET
for _ in $(seq 1 100); do grep -q READY=1 "$T/notes" && break; sleep 0.05; done
ready=$(grep READY=1 "$T/notes") || fail "no READY=1 on the notify socket: $(cat "$T/notes")"
assert_match "READY=1 with a status" "READY=1.*STATUS=1 bridge ready" "$ready"
assert_eq "the bridge at READY=1" "ready means ready" "${ready##*| }"
pass "READY=1 once the bridge is bound: it answered at that moment"

stop_nsb TERM
assert_eq "exit status" 0 "$NSB_STATUS"
for _ in $(seq 1 100); do grep -q STOPPING=1 "$T/notes" && break; sleep 0.05; done
grep -q STOPPING=1 "$T/notes" || fail "no STOPPING=1 on SIGTERM: $(cat "$T/notes")"
pass "STOPPING=1 on SIGTERM"

# outside systemd nothing is sent, and nothing fails
start_nsb -c "netns:$ns" "host:$port" "container:$port"
stop_nsb TERM
assert_eq "exit status without NOTIFY_SOCKET" 0 "$NSB_STATUS"
sleep 0.2
assert_eq "datagrams without NOTIFY_SOCKET" 2 "$(grep -c "^'" "$T/notes")"
pass "without NOTIFY_SOCKET: nothing sent"
