#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# helpers.sh - kill -9 of each of nsbridge's helpers, and of nsbridge itself,
# with connections open and bytes in flight (TESTING.md, "Faults"):
#
#   - a helper's death is one line at once, and nsbridge status shows it;
#   - what is bound serves on, the transfers under way byte for byte as a
#     direct connection gives them;
#   - what needs the dead helper is refused with a line that says so;
#   - a scoped run (-- CMD) ends on SIGTERM or SIGINT, CMD and its children
#     included, whatever helper has died; after kill -9 of nsbridge no CMD,
#     no child of CMD, no --port-file and no control socket are left.
#
# The engine watcher needs an engine: helpers_watcher.sh.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

mkns ns helpers
lo_up "$ns"
pick_port inside "$ns"		# a service in the container: new connections need the opener
pick_port web "$ns"		# a service on the host
pick_port exp "$ns"		# inside's EXPOSE on the host
pick_port exp2 "$ns"		# web's EXPOSE in the container
pick_port added "$ns"
mkdir -p "$T/www" "$T/pf"
random_file "$T/www/big" 24	# 6 s at 4 MiB/s
echo "host service $web" >"$T/www/index.html"
start_nginx "$ns" "$inside" "$T/www" 127.0.0.1
start_nginx "" "$web" "$T/www" 127.0.0.1
nsx "$ns" curl -sS --max-time 30 -o "$T/direct" "http://127.0.0.1:$inside/big" || fail "direct download"
cmp -s "$T/direct" "$T/www/big" || fail "the direct download differs from the file"

BRIDGES=(-c "netns:$ns" "container:$inside" "host:$exp" "host:$web" "container:$exp2")

# host_serves - the bridge toward the host's service answers inside
host_serves() {
	assert_eq "the host's service, from inside" "host service $web" \
		"$(nsx "$ns" curl -sS --max-time 10 "http://127.0.0.1:$exp2/")"
}

# control_socket - the control socket of nsbridge $NSB_PID
control_socket() {
	echo "/run/nsbridge/$NSB_PID.sock"
}

# --- the opener ----------------------------------------------------------------
opener_dies() {
	local opener ok=0 reset=0 out rc
	own_nsb "${BRIDGES[@]}"
	transfers_start 4 "http://127.0.0.1:$exp/big"
	kill_helper nsbridge-opener opener
	killed_line opener "$opener"
	assert_match "the opener's line says what it means" "a connection that needs a new socket in a container is reset, and nsbridge add, .* refused; restart nsbridge" "$LINE"
	status_shows_exit opener opener "$opener"
	transfers_check "downloads under way when the opener died" "$T/direct"
	host_serves
	# each new connection into the container takes a socket the opener made
	# before: once the pool is used up, they are reset, and say why
	for _ in $(seq 1 80); do
		if curl -sS --max-time 10 -o "$T/page" "http://127.0.0.1:$exp/index.html" 2>/dev/null; then
			ok=$((ok + 1))
		else
			reset=$((reset + 1))
		fi
	done
	[ "$reset" -gt 0 ] || fail "80 new connections after the opener's death: none reset ($ok served)"
	grep -q "container netns:$ns 127.0.0.1:$inside: the opener has exited, so no socket can be made there" \
		"$NSB_LOG" || fail "no line says the opener has exited for the reset clients"
	grep -q "Broken pipe" "$NSB_LOG" && fail "a line says 'Broken pipe': $(grep "Broken pipe" "$NSB_LOG")"
	out=$("$NSB" add "$NSB_PID" "host:$web" "container:$added" 2>&1)
	rc=$?
	[ "$rc" != 0 ] || fail "nsbridge add without the opener: exit 0 ($out)"
	assert_match "nsbridge add without the opener" "the opener has exited; restart nsbridge$" "$out"
	# a SERVICE in the container needs a socket of the opener's per client
	out2=$("$NSB" add "$NSB_PID" "container:$inside" "host:$added" 2>&1)
	rc=$?
	[ "$rc" != 0 ] || fail "nsbridge add of a SERVICE in the container without the opener: exit 0 ($out2)"
	assert_match "nsbridge add of a SERVICE in the container" "the opener has exited; restart nsbridge$" "$out2"
	port_free "" "$added" || fail "something listens on $added after the refused add"
	alive "$NSB_PID" || fail "nsbridge exited"
	host_serves
	pass "opener killed: '$LINE' after $LATENCY_MS ms; status shows it; 4 downloads under way byte for byte; $ok new connections served from the sockets made before, $reset reset with the opener's line; add refused: '$out', '$out2'"
}

# --- the keeper -------------------------------------------------------------------
# keeper_conf [EXTRA-BRIDGE] - a --config with BRIDGES' pairs, and one more
keeper_conf() {
	cat >"$T/k.conf" <<-EOF
	container = "netns:$ns";
	bridges = ( { service = "container:$inside"; expose = "host:$exp"; },
	            { service = "host:$web"; expose = "container:$exp2"; } ${1:-} );
	EOF
}

# a root run: the relay becomes nobody, which may not touch root's files
keeper_dies() {
	local keeper before sock
	keeper_conf
	NSB_READY=2 own_nsb --config "$T/k.conf" --port-file "$T/pf/ports"
	sock=$(control_socket)
	at_exit "rm -f $sock"
	cp "$T/pf/ports" "$T/ports.before"
	transfers_start 2 "http://127.0.0.1:$exp/big"
	kill_helper nsbridge-keeper keeper
	killed_line keeper "$keeper"
	assert_match "the keeper's line says what it means" "--port-file is not rewritten after a reload" "$LINE"
	status_shows_exit keeper keeper "$keeper"
	transfers_check "downloads under way when the keeper died" "$T/direct"
	host_serves
	keeper_conf ", { service = \"host:$web\"; expose = \"container:$added\"; }"
	before=$(grep -c "reloaded" "$NSB_LOG")
	kill -HUP "$NSB_PID"
	# (the count is read again at each try: a $(...) here would be read once)
	wait_until "the reload's line" 30 sh -c '[ "$(grep -c reloaded "$1")" -gt "$2" ]' sh "$NSB_LOG" "$before"
	wait_until "the --port-file line" 30 grep -q "port-file $T/pf/ports is not written again: the keeper has exited" "$NSB_LOG"
	cmp -s "$T/ports.before" "$T/pf/ports" || fail "the port file changed without the keeper"
	stop_nsb TERM
	assert_eq "exit after SIGTERM" 0 "$NSB_STATUS"
	assert_eq "lines about files left" 1 "$(grep -c "cannot remove" "$NSB_LOG")"
	assert_match "the line about files left" "cannot remove $sock, $T/pf/ports: the keeper has exited, and user nobody may not \\(Permission denied\\)" \
		"$(grep "cannot remove" "$NSB_LOG")"
	pass "keeper killed: one line after $LATENCY_MS ms; status shows it; downloads byte for byte; a reload's --port-file refused in one line; at exit one line names the files nobody may not remove"
}

# --user root: the relay keeps uid 0, and removes its files itself
keeper_dies_relay_root() {
	local keeper sock
	own_nsb --user root --port-file "$T/pf/ports.root" "${BRIDGES[@]}"
	sock=$(control_socket)
	[ -e "$sock" ] && [ -e "$T/pf/ports.root" ] || fail "no control socket or port file"
	kill_helper nsbridge-keeper keeper
	killed_line keeper "$keeper"
	host_serves
	stop_nsb TERM
	assert_eq "exit after SIGTERM" 0 "$NSB_STATUS"
	[ -e "$sock" ] && fail "the control socket outlived nsbridge"
	[ -e "$T/pf/ports.root" ] && fail "the port file outlived nsbridge"
	grep -q "cannot remove" "$NSB_LOG" && fail "$(grep "cannot remove" "$NSB_LOG")"
	pass "keeper killed, --user root: at exit the relay removed the control socket and the port file itself"
}

# --- a scoped run -------------------------------------------------------------------
# scoped_cmd - a CMD that traps SIGTERM and SIGINT, with a child of its
# own; $T/cmd.pid and $T/cmd.child say their pids once both run
scoped_cmd() {
	rm -f "$T/cmd.pid" "$T/cmd.child" "$T/cmd.trap"
	cat >"$T/cmd.sh" <<-EOF
		#!/bin/sh
		trap 'echo \$1 >"$T/cmd.trap"; exit 5' TERM INT
		sleep 600 &
		echo \$! >"$T/cmd.child"
		echo \$\$ >"$T/cmd.pid"
		while :; do sleep 0.05; done
	EOF
	chmod +x "$T/cmd.sh"
}

# scoped_start [ARGS...] - nsbridge ARGS BRIDGES -- scoped_cmd; CMD and CHILD.
# SIGINT as a terminal's shell leaves it: an asynchronous command of a
# script starts with it ignored, which no trap of CMD's could undo
scoped_start() {
	scoped_cmd
	NSB_WRAP=(env --default-signal=INT)
	own_nsb "$@" "${BRIDGES[@]}" -- "$T/cmd.sh"
	NSB_WRAP=()
	wait_until "CMD's start" 30 test -s "$T/cmd.pid"
	CMD=$(cat "$T/cmd.pid")
	CHILD=$(cat "$T/cmd.child")
}

# scoped_stop_without_keeper SIGNAL - nsbridge's keeper killed, then SIGNAL:
# CMD's trap runs, nsbridge exits with its status, CMD's child is gone too
scoped_stop_without_keeper() {
	local keeper
	scoped_start
	kill_helper nsbridge-keeper keeper
	killed_line keeper "$keeper"
	kill "-$1" "$NSB_PID"
	wait_until "the end of nsbridge after SIG$1" 30 gone "$NSB_PID"
	wait "$NSB_PID"
	assert_eq "exit status after SIG$1" 5 "$?"
	wait_until "the end of CMD $CMD" 30 gone "$CMD"
	wait_until "the end of CMD's child $CHILD" 30 gone "$CHILD"
	grep -q "passing signal" "$NSB_LOG" && fail "$(grep "passing signal" "$NSB_LOG")"
	pass "keeper killed, then SIG$1: CMD's trap ran, nsbridge exited with its 5, CMD and its child are gone"
}
scoped_term_without_keeper() {
	scoped_stop_without_keeper TERM
}
scoped_int_without_keeper() {
	scoped_stop_without_keeper INT
}

# relay_killed [ARGS...] - kill -9 of nsbridge ARGS ... -- CMD: nothing is left
relay_killed() {
	local sock
	scoped_start --port-file "$T/pf/ports.k9" "$@"
	sock=$(control_socket)
	[ -e "$sock" ] && [ -e "$T/pf/ports.k9" ] || fail "no control socket or port file"
	kill -KILL "$NSB_PID"
	wait_until "the end of CMD $CMD" 30 gone "$CMD"
	wait_until "the end of CMD's child $CHILD" 30 gone "$CHILD"
	wait_until "the control socket's removal" 30 test ! -e "$sock"
	wait_until "the port file's removal" 30 test ! -e "$T/pf/ports.k9"
	pass "kill -9 of nsbridge ${*:-(relay as nobody)}: CMD, CMD's child, the port file and the control socket are gone"
}
relay_killed_as_nobody() {
	relay_killed
}
relay_killed_as_root() {
	relay_killed --user root
}

# the keeper dead first: CMD and its child still end with nsbridge; its
# files cannot be removed by anyone, as said at its death
relay_killed_after_keeper() {
	local keeper sock
	scoped_start
	sock=$(control_socket)
	at_exit "rm -f $sock"
	kill_helper nsbridge-keeper keeper
	killed_line keeper "$keeper"
	kill -KILL "$NSB_PID"
	wait_until "the end of CMD $CMD" 30 gone "$CMD"
	wait_until "the end of CMD's child $CHILD" 30 gone "$CHILD"
	pass "the keeper killed, then nsbridge: CMD and its child are gone"
}

check opener_dies
check keeper_dies
check keeper_dies_relay_root
check scoped_term_without_keeper
check scoped_int_without_keeper
check relay_killed_as_nobody
check relay_killed_as_root
check relay_killed_after_keeper
