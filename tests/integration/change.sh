#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# change.sh - nsbridge add and remove on a running nsbridge, through its
# control socket: the owner adds a bridge (port 80 in the container too,
# made by the opener long after the relay dropped every capability) and
# removes one, whose open transfer finishes; a taken port is exit 3, bad
# input exit 2; another uid is refused (exit 5), whether the socket's mode
# stops it or the relay's SO_PEERCRED check does; --port-file, status and
# sd_notify follow
#
# Each behaviour changes the set of an nsbridge of its own, on a container
# port of its own: one that fails leaves nothing in the way of the next.
. "$(dirname "$0")/lib.sh"

HERE=$(dirname "$(readlink -f "$0")")
PEER=$HERE/reload_peer.py

mkns ns change
lo_up "$ns"
pick_port web "$ns"
pick_port sha "$ns"
pick_port taken "$ns"
pick_port metrics
for name in errors uid low removed; do
	pick_port "c_$name" "$ns"
done
mkdir -p "$T/www" && echo "added" >"$T/www/index.html"
start_nginx "" "$web" "$T/www" 127.0.0.1
bg python3 "$PEER" sha "$sha"
wait_listen "" "$sha"
bg_to "$T/taken.out" nsx "$ns" python3 "$HERE/probe_peer.py" hold listen "$taken"
wait_listen "$ns" "$taken"
port_free "$ns" 80 || fail "port 80 is taken in the test namespace"

# --- add: the answer is the ready line; it serves, on port 80 in the container
adds_a_bridge() {
	local caps out
	NSB_LOG=$T/add.log
	start_notify "$T/notify" "$T/notes"
	export NOTIFY_SOCKET=$T/notify
	start_nsb -c "netns:$ns" --port-file "$T/ports" --metrics "$metrics" \
		"host:$sha" "container:$sha"
	unset NOTIFY_SOCKET
	caps=$(cap_eff "$NSB_PID")
	assert_eq "the relay has no capability" 0000000000000000 "$caps"
	out=$("$NSB" add "$NSB_PID" "host:$web" container:80 2>&1)
	assert_eq "nsbridge add: exit status ($out)" 0 "$?"
	assert_match "nsbridge add: the ready line" "^host 127.0.0.1:$web -> container netns:$ns 127.0.0.1:80.* ready$" "$out"
	assert_eq "the added bridge serves" added "$(nsx "$ns" curl -sS --max-time 5 http://127.0.0.1:80/)"
	grep -q "container netns:$ns 127.0.0.1:80.* ready (nsbridge add)" "$NSB_LOG" || fail "no ready line in the log"
	assert_eq "--port-file" "host:$sha container:$sha
host:$web container:80" "$(cat "$T/ports")"
	"$NSB" status "$NSB_PID" | grep -q "host 127.0.0.1:$web -> container netns:$ns 127.0.0.1:80" ||
		fail "status does not show the added bridge: $("$NSB" status "$NSB_PID")"
	curl -sS --max-time 5 "http://127.0.0.1:$metrics/metrics" >"$T/metrics.txt" || fail "--metrics: curl exit $?"
	grep -q "^nsbridge_bridge_info{bridge=\"1\",.*expose_address=\"127.0.0.1\",expose_port=\"80\"" \
		"$T/metrics.txt" ||
		fail "the metrics do not show the added bridge: $(grep nsbridge_bridge_info "$T/metrics.txt")"
	wait_until "READY=1 after the add" 30 grep -q "READY=1.*STATUS=2 bridges ready" "$T/notes"
	assert_eq "RELOADING=1 before it" 1 "$(grep -c RELOADING=1 "$T/notes")"
	assert_eq "the relay still has no capability" "$caps" "$(cap_eff "$NSB_PID")"
	stop_nsb TERM
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "nsbridge add by the owner: the ready line, it serves on container port 80 (bound by the opener), --port-file, status, metrics, RELOADING=1 then READY=1"
}

# --- the errors and exit statuses of a start
add_errors() {
	local out
	NSB_LOG=$T/errors.log
	start_nsb -c "netns:$ns" "host:$web" "container:$c_errors"
	out=$("$NSB" add "$NSB_PID" "host:$web" "container:$taken" 2>&1)
	assert_eq "a taken port: exit status ($out)" 3 "$?"
	assert_match "a taken port: one line" "^nsbridge: container netns:$ns 127.0.0.1:$taken is already in use" "$out"
	out=$("$NSB" add "$NSB_PID" "host:$web" "container:nope" 2>&1)
	assert_eq "bad input: exit status ($out)" 2 "$?"
	assert_match "bad input: one line naming it" "^nsbridge: EXPOSE 'container:nope'" "$out"
	out=$("$NSB" remove "$NSB_PID" "host:$web" 2>&1)
	assert_eq "removing what is not there: exit status ($out)" 2 "$?"
	alive "$NSB_PID" || fail "nsbridge stopped"
	stop_nsb TERM
	pass "nsbridge add: a taken port is exit 3, bad input exit 2, each in one line; nsbridge goes on"
}

# --- another uid: the socket's mode stops it; with CAP_DAC_OVERRIDE past the
# mode, the relay's SO_PEERCRED check does
other_uid() {
	local out
	NSB_LOG=$T/uid.log
	start_nsb -c "netns:$ns" "host:$web" "container:$c_uid"
	out=$(setpriv --reuid 4321 --regid 4321 --clear-groups "$NSB" remove "$NSB_PID" "container:$c_uid" 2>&1)
	assert_eq "another uid: exit status ($out)" 5 "$?"
	assert_match "another uid: one line" "^nsbridge: .*only the user that started nsbridge" "$out"
	out=$(setpriv --reuid 4321 --regid 4321 --clear-groups --inh-caps +dac_override \
		--ambient-caps +dac_override "$NSB" remove "$NSB_PID" "container:$c_uid" 2>&1)
	assert_eq "another uid past the mode: exit status ($out)" 5 "$?"
	assert_match "another uid past the mode: one line" "^nsbridge: uid 4321 may not change nsbridge $NSB_PID: only uid 0" "$out"
	assert_eq "the bridge stays" added "$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$c_uid/")"
	stop_nsb TERM
	pass "another uid is refused, exit 5, by the socket's mode and by SO_PEERCRED; nothing changed"
}

# --- a host port below ip_unprivileged_port_start: the relay, without
# CAP_NET_BIND_SERVICE since set-up, has the opener bind it
low_host_port() {
	local out
	NSB_LOG=$T/low.log
	port_free "" 81 || fail "port 81 is taken in the test's own namespace"
	start_nsb -c "netns:$ns" "host:$web" "container:$c_low"
	out=$("$NSB" add "$NSB_PID" "container:$c_low" host:81 2>&1)
	assert_eq "host port 81: exit status ($out)" 0 "$?"
	assert_match "host port 81: the ready line" "^container netns:$ns 127.0.0.1:$c_low -> host 127.0.0.1:81.* ready$" "$out"
	assert_eq "through host:81 and container:$c_low to the nginx on host:$web" added \
		"$(curl -sS --max-time 5 http://127.0.0.1:81/)"
	assert_eq "the relay still has no capability" 0000000000000000 "$(cap_eff "$NSB_PID")"
	out=$("$NSB" remove "$NSB_PID" host:81 2>&1)
	assert_eq "removing host:81: exit status ($out)" 0 "$?"
	port_free "" 81 || fail "host:81 still listens after its removal"
	stop_nsb TERM
	pass "nsbridge add with host port 81: bound by the opener for the relay (CapEff 0), serves, and goes"
}

# --- remove: it stops accepting at once; its open transfer finishes
removes_a_bridge() {
	local out send sent received
	NSB_LOG=$T/remove.log
	start_nsb -c "netns:$ns" --drain-timeout 60s --port-file "$T/ports.removed" \
		"host:$sha" "container:$sha" "host:$web" "container:$c_removed"
	bg_to "$T/send.out" nsx "$ns" python3 "$PEER" send "$sha" 4 "$T/send.half" "$T/send.go"
	send=$BG_PID
	wait_until "half the transfer" 30 test -e "$T/send.half"
	out=$("$NSB" remove "$NSB_PID" "container:$sha" 2>&1)
	assert_eq "nsbridge remove: exit status ($out)" 0 "$?"
	assert_match "nsbridge remove: what was done" "removed; 1 connections may finish within 60000 ms" "$out"
	port_free "$ns" "$sha" || fail "the removed bridge still listens"
	touch "$T/send.go"
	wait_exit "$send" 60
	read -r sent received <"$T/send.out"
	assert_eq "the removed bridge's transfer, sha256 sent and received" "$sent" "$received"
	assert_eq "--port-file" "host:$web container:$c_removed" "$(cat "$T/ports.removed")"
	assert_eq "the other bridge serves" added \
		"$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$c_removed/")"
	stop_nsb TERM
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "nsbridge remove by the owner: the port is free at once, the open transfer finishes (same sha256), --port-file follows"
}

check adds_a_bridge
check add_errors
check other_uid
check low_host_port
check removes_a_bridge
