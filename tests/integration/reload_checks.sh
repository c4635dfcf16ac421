#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# reload_checks.sh - a reload (SIGHUP) and nsbridge add check the whole new
# set as a start does: a bridge whose SERVICE is its own EXPOSE, or two
# that relay into each other, and a unix: SERVICE the relay's user (it
# left uid 0) may not connect to, are refused whole - the same one line
# and exit status as a start, nothing bound, the running set serving on
. "$(dirname "$0")/lib.sh"

command -v socat >/dev/null || skip "socat is not installed"

mkns ns checks
lo_up "$ns"
pick_port web "$ns"
pick_port a "$ns"
pick_port b "$ns"
pick_port c "$ns"
pick_port self "$ns"
pick_port a2 "$ns"
bg_to "$T/web.log" socat TCP-LISTEN:"$web",bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo web'
wait_listen "" "$web"
# root's, as the Docker API socket is: the relay (nobody or nsbridge) may not connect
mkdir -m 755 "$T/api"
sock=$T/api/root.sock
bg_to "$T/api.log" socat UNIX-LISTEN:"$sock",fork,mode=700 SYSTEM:'echo root'
for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || fail "socat did not make $sock: $(cat "$T/api.log")"
mkdir -m 1777 "$T/run"

conf() {	# FILE CONTAINER BRIDGE... - a config file (BRIDGE: SERVICE=EXPOSE)
	local file=$1 container=$2 b
	shift 2
	{
		echo "container = \"$container\";"
		echo "bridges = ("
		for b in "$@"; do
			echo "  { service = \"${b%%=*}\"; expose = \"${b#*=}\"; },"
		done
		echo ");"
	} | sed -z 's/,\n);/\n);/' >"$file.new"
	mv "$file.new" "$file"
}
# start_line STATUS ARGS... - what a start of that set says: its exit status and one line
start_line() {
	local want=$1 rc
	shift
	timeout 10 "$NSB" "$@" >/dev/null 2>"$T/start.err"
	rc=$?
	assert_eq "a start of that set: exit status ($(cat "$T/start.err"))" "$want" "$rc"
	assert_eq "a start of that set: lines" 1 "$(wc -l <"$T/start.err")"
	START=$(sed 's/^nsbridge: //; s/^error: //' "$T/start.err")
}
reloads() { grep -Ec 'reloaded|reload of .* refused' "$NSB_LOG"; }
more_reloads() { [ "$(reloads)" -gt "$1" ]; }
# hup_refused WHAT LINE - SIGHUP is refused with LINE, in the log and in status
hup_refused() {
	local before
	before=$(reloads)
	kill -HUP "$NSB_PID"
	wait_until "reload line" 30 more_reloads "$before"
	tail -n 1 "$NSB_LOG" | grep -qF "refused, the running bridges stay: $2" ||
		fail "$1: the reload was not refused with the start's line '$2': $(tail -n 3 "$NSB_LOG")"
	"$NSB" status --json "$NSB_PID" >"$T/status.json" || fail "status --json: exit $?"
	assert_eq "$1: the refusal in status --json" "false
$2" "$(python3 "$(dirname "$0")/json_check.py" get "$T/status.json" 0.last_reload.ok 0.last_reload.message)"
}
# add_refused WHAT STATUS LINE SERVICE EXPOSE - nsbridge add answers as a start would
add_refused() {
	local out rc
	out=$("$NSB" add "$NSB_PID" "$4" "$5" 2>&1)
	rc=$?
	assert_eq "$1: nsbridge add's exit status ($out)" "$2" "$rc"
	[[ "$out" == *"$3"* ]] || fail "$1: nsbridge add did not answer with the start's line '$3': $out"
}
serves() {	# WHAT - the running set still serves, and what was refused is not bound
	assert_eq "$1: the running bridge" web "$(nsx "$ns" socat -T 5 - TCP:127.0.0.1:"$web")"
	port_free "" "$a" || fail "$1: host port $a is bound"
	port_free "$ns" "$c" || fail "$1: container port $c is bound"
}

# --- two bridges relaying into each other: host:a -> container:b runs,
# container:b -> host:a comes by a reload, then by nsbridge add
pair_into_each_other() {
	local loop
	start_line 2 -c "netns:$ns" "host:$a" "container:$b" "container:$b" "host:$a"
	loop=$START
	conf "$T/c.conf" "netns:$ns" "host:$web=container:$web" "host:$a=container:$b"
	NSB_READY=2 own_nsb --config "$T/c.conf"
	conf "$T/c.conf" "netns:$ns" "host:$web=container:$web" "host:$a=container:$b" \
		"container:$b=host:$a"
	hup_refused "reload of a pair relaying into each other" "$loop"
	serves "reload of a pair relaying into each other"
	conf "$T/c.conf" "netns:$ns" "host:$web=container:$web" "host:$a=container:$b"
	add_refused "add of a bridge relaying into a running one" 2 "$loop" "container:$b" "host:$a"
	serves "add of a bridge relaying into a running one"
	pass "two bridges relaying into each other: the reload and nsbridge add are refused with the start's line (exit 2), nothing bound: $loop"
}

# --- a unix: SERVICE the relay's user may not connect to
private_unix_service() {
	local private numeric
	start_line 5 -c "netns:$ns" "unix:$sock" "container:$c"
	private=$START
	# the running relay names the socket's owner by number: names may need code it cannot load
	numeric=$(sed 's/ root:root)/ 0:0)/' <<<"$private")
	conf "$T/u.conf" "netns:$ns" "host:$web=container:$web" "host:$a=container:$b"
	NSB_READY=2 own_nsb --config "$T/u.conf" --port-file "$T/run/ports"
	conf "$T/u.conf" "netns:$ns" "host:$web=container:$web" "host:$a=container:$b" \
		"unix:$sock=container:$c"
	hup_refused "reload of a root-only unix: SERVICE" "$numeric"
	serves "reload of a root-only unix: SERVICE"
	add_refused "add of a root-only unix: SERVICE" 5 "$numeric" "unix:$sock" "container:$c"
	serves "add of a root-only unix: SERVICE"
	assert_eq "--port-file is the running set" "host:$web container:$web
host:$a container:$b" "$(cat "$T/run/ports")"
	pass "a unix: SERVICE out of the relay's user's reach: the reload and nsbridge add are refused with the start's line (exit 5), nothing bound: $numeric"
}

# --- -c self: a SERVICE that is the same socket as an EXPOSE
bridge_to_itself() {
	local same
	start_line 2 -c self "host:$self" "container:$self"
	same=$START
	conf "$T/s.conf" self "host:$web=container:$a2"
	NSB_READY=1 own_nsb --config "$T/s.conf"
	conf "$T/s.conf" self "host:$web=container:$a2" "host:$self=container:$self"
	hup_refused "reload of a bridge to itself (-c self)" "$same"
	add_refused "add of a bridge to itself (-c self)" 2 "$same" "host:$self" "container:$self"
	port_free "" "$self" || fail "port $self is bound"
	assert_eq "-c self: the running bridge" web "$(socat -T 5 - TCP:127.0.0.1:"$a2")"
	pass "-c self, a SERVICE that is the same socket as the EXPOSE: the reload and nsbridge add are refused with the start's line (exit 2): $same"
}

check pair_into_each_other
check private_unix_service
check bridge_to_itself
