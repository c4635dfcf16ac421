#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# reload.sh - SIGHUP reads --config again: 1,000 connections of a bridge that
# stays move every byte through the reload; a bridge added serves; a bridge
# removed stops accepting at once and its open transfer finishes; a file
# that does not parse and one that names a taken port are refused whole,
# the old set serving on; status shows each outcome; --port-file, sd_notify
# (RELOADING=1, READY=1) follow; without --config, SIGHUP changes nothing
. "$(dirname "$0")/lib.sh"

PEER=$(dirname "$0")/reload_peer.py
mkns ns reload
lo_up "$ns"
pick_port echo "$ns"
pick_port sha "$ns"
pick_port web "$ns"
pick_port taken "$ns"
pick_port spare "$ns"
mkdir -p "$T/www" && echo "added" >"$T/www/index.html"
start_nginx "" "$web" "$T/www" 127.0.0.1
bg python3 "$PEER" echo "$echo"
wait_listen "" "$echo"
bg python3 "$PEER" sha "$sha"
wait_listen "" "$sha"
# the relay leaves uid 0 (for nobody): it writes --port-file again where it may
mkdir -m 1777 "$T/run"

start_notify "$T/notify" "$T/notes"

conf() {	# BRIDGE... - the config file, with those bridges (SERVICE=EXPOSE)
	local b
	{
		echo "container = \"netns:$ns\";"
		echo "drain-timeout = \"60s\";"
		echo "bridges = ("
		for b in "$@"; do
			echo "  { service = \"${b%%=*}\"; expose = \"${b#*=}\"; },"
		done
		echo ");"
	} | sed -z 's/,\n);/\n);/' >"$T/new.conf"
	mv "$T/new.conf" "$T/c.conf"	# whole, as an editor's save
}
reloads() { grep -Ec 'reloaded|reload of .* refused' "$NSB_LOG"; }
more_reloads() { [ "$(reloads)" -gt "$1" ]; }
hup() {	# signal a reload and wait for its line
	local before
	before=$(reloads)
	kill -HUP "$NSB_PID"
	wait_until "reload line" 30 more_reloads "$before"
}
status_json() { "$NSB" status --json "$NSB_PID" >"$T/status.json" || fail "status --json: exit $?"; }
json() {	# PYTHON-EXPR on doc
	python3 -c 'import json, sys; doc = json.load(open(sys.argv[1]))[0]; print(eval(sys.argv[2]))' \
		"$T/status.json" "$1"
}

conf "host:$echo=container:$echo" "host:$sha=container:$sha"
export NOTIFY_SOCKET=$T/notify
NSB_READY=2 start_nsb --config "$T/c.conf" --port-file "$T/run/ports"
unset NOTIFY_SOCKET
wait_until "READY=1" 30 grep -q READY=1 "$T/notes"

# The reload that the first four behaviours look at: 1,000 connections
# through the bridge that stays, moving data all along, and one transfer
# through the bridge that goes, half done, when the file swaps that bridge
# for another. What can only be seen at the moment of the reload (the
# removed bridge's port, the added one's answer) is noted then.
bg_to "$T/many.out" nsx "$ns" python3 "$PEER" many "$echo" 1000 "$T/many.ready" "$T/many.go" 20
many=$BG_PID
bg_to "$T/send.out" nsx "$ns" python3 "$PEER" send "$sha" 8 "$T/send.half" "$T/send.go"
send=$BG_PID
wait_until "1,000 connections moving" 60 test -e "$T/many.ready"
wait_until "half the transfer" 30 test -e "$T/send.half"

conf "host:$echo=container:$echo" "host:$web=container:$web"
hup
sha_at_reload=free
port_free "$ns" "$sha" || sha_at_reload="still listening"
added_at_reload=$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$web/" 2>&1)
touch "$T/many.go" "$T/send.go"
wait_exit "$many" 120
many_status=$EXIT_STATUS
wait_exit "$send" 60
send_status=$EXIT_STATUS

staying_bridge_moves_every_byte() {
	assert_eq "1,000 connections through the reload ($(cat "$T/many.out"))" 0 "$many_status"
	assert_match "every round trip checked" "^ok 1000 " "$(cat "$T/many.out")"
	pass "1,000 connections of the bridge that stays: every byte echoed back unchanged through the reload, none reset"
}

# no_removed_conns - status shows no connection of a removed bridge
no_removed_conns() {
	! "$NSB" status --json "$NSB_PID" | grep -q '"removed"'
}

removed_bridge_drains() {
	local sent received
	assert_eq "the removed bridge's port, at the reload" free "$sha_at_reload"
	[ "$send_status" = 0 ] ||
		fail "the removed bridge's transfer (exit $send_status): $(head -n 1 "$T/send.out")"
	read -r sent received <"$T/send.out"
	assert_eq "the removed bridge's transfer, sha256 sent and received" "$sent" "$received"
	wait_until "the removed bridge's connection to end" 30 no_removed_conns
	port_free "$ns" "$sha" || fail "port $sha is not free after the drain"
	alive "$NSB_PID" || fail "nsbridge stopped"
	pass "the removed bridge stopped accepting at once, its open transfer finished (8 MiB, same sha256), its port is free"
}

added_bridge_serves() {
	assert_eq "the added bridge, at the reload" added "$added_at_reload"
	assert_eq "the added bridge, now" added "$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$web/")"
	pass "the added bridge serves from the reload on"
}

reload_reported() {
	grep -q "reloaded $T/c.conf: 1 added, 1 removed, 1 unchanged" "$NSB_LOG" ||
		fail "no line for the reload: $(cat "$NSB_LOG")"
	assert_eq "--port-file follows" "host:$echo container:$echo
host:$web container:$web" "$(cat "$T/run/ports")"
	status_json
	assert_eq "status: the last reload applied" "True" "$(json 'doc["last_reload"]["ok"]')"
	assert_eq "status: bridges" "2" "$(json 'len(doc["bridges"])')"
	"$NSB" status "$NSB_PID" | grep -q "last reload .* ago: applied: 1 added, 1 removed, 1 unchanged" ||
		fail "status text: $("$NSB" status "$NSB_PID")"
	grep -A1 RELOADING=1 "$T/notes" >"$T/notes.reload" || fail "no RELOADING=1: $(cat "$T/notes")"
	assert_match "RELOADING=1 says when" "MONOTONIC_USEC=[0-9]+" "$(head -n 1 "$T/notes.reload")"
	assert_match "READY=1 after it" "READY=1.*STATUS=2 bridges ready" "$(tail -n 1 "$T/notes.reload")"
	pass "the log, --port-file, status (text and --json) and sd_notify (RELOADING=1 with MONOTONIC_USEC, then READY=1) follow the reload"
}

# refused whole: a syntax error, then a taken port; the old set serves on
unparsable_refused() {
	printf 'container = "netns:%s";\nbridges = ( { service = "host:%s"; expose = "container:%s"; }\n' \
		"$ns" "$sha" "$sha" >"$T/c.conf"
	hup
	grep -q "reload of $T/c.conf refused, the running bridges stay: $T/c.conf:[0-9]*: " "$NSB_LOG" ||
		fail "no refusal naming the line: $(tail -n 3 "$NSB_LOG")"
	status_json
	assert_eq "status: refused" "False" "$(json 'doc["last_reload"]["ok"]')"
	assert_match "status: why" "c.conf:[0-9]+: " "$(json 'doc["last_reload"]["message"]')"
	assert_eq "the old set serves" added "$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$web/")"
	pass "a file that does not parse is refused, with its line, in the log and in status; the old set serves"
}

taken_port_refused() {
	bg nsx "$ns" python3 "$PEER" echo "$taken"	# not nsbridge's: the port is taken
	trap "kill $BG_PID" EXIT
	wait_listen "$ns" "$taken"
	conf "host:$echo=container:$echo" "host:$web=container:$web" "host:$sha=container:$spare" \
		"host:$sha=container:$taken"
	hup
	grep -q "reload of $T/c.conf refused, the running bridges stay: container netns:$ns 127.0.0.1:$taken is already in use" "$NSB_LOG" ||
		fail "no refusal naming the taken port: $(tail -n 3 "$NSB_LOG")"
	port_free "$ns" "$spare" || fail "a bridge of the refused reload stayed bound on $spare"
	status_json
	assert_eq "status: refused" "False" "$(json 'doc["last_reload"]["ok"]')"
	assert_match "status: why" "$taken is already in use" "$(json 'doc["last_reload"]["message"]')"
	assert_eq "status: still 2 bridges" "2" "$(json 'len(doc["bridges"])')"
	assert_eq "the old set serves" added "$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$web/")"
	alive "$NSB_PID" || fail "a bad reload stopped nsbridge"
	pass "a taken port refuses the reload whole (the other new bridge unbound), the old set serves, status says why"
}

# options: one that applies at once, one that needs a restart (the last
# check of this nsbridge: --max-connections 1 stays)
options_applied() {
	local out
	conf "host:$echo=container:$echo" "host:$web=container:$web"
	sed -i '1a max-connections = 1;\nhost-netns = "/proc/1/ns/net";' "$T/c.conf"
	hup
	grep -q "reload of $T/c.conf: --host-netns changed, which needs a restart: kept as it was" "$NSB_LOG" ||
		fail "no line for --host-netns: $(tail -n 3 "$NSB_LOG")"
	grep -q "reloaded $T/c.conf: 0 added, 0 removed, 2 unchanged; changed: --max-connections" "$NSB_LOG" ||
		fail "no line for --max-connections: $(tail -n 3 "$NSB_LOG")"
	status_json
	assert_match "status: what changed and what needs a restart" \
		"changed: --max-connections; needs a restart: --host-netns" "$(json 'doc["last_reload"]["message"]')"
	out=$(nsx "$ns" python3 "$PEER" wait-one "$echo" "$NSB_LOG" 2>&1) ||
		fail "--max-connections 1 after the reload: $out"
	assert_eq "the second connection once the first closed" y "$out"
	pass "--max-connections from the file applies to new connections; --host-netns is reported as needing a restart and left"
}

check staying_bridge_moves_every_byte
check removed_bridge_drains
check added_bridge_serves
check reload_reported
check unparsable_refused
check taken_port_refused
check options_applied

stop_nsb TERM
assert_eq "exit status" 0 "$NSB_STATUS"

# without --config there is nothing to read again
without_config() {
	start_nsb -c "netns:$ns" "host:$web" "container:$web"
	kill -HUP "$NSB_PID"
	wait_until "the line" 30 grep -q "SIGHUP ignored: there is no --config file to read again, nothing to reload" "$NSB_LOG"
	assert_eq "it serves on" added "$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$web/")"
	stop_nsb TERM
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "without --config, SIGHUP says there is nothing to reload and nsbridge goes on"
}
check without_config
