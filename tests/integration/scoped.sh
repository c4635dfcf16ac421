#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# scoped.sh - nsbridge ... -- CMD, and EXPOSE port 0 with --port-file
. "$(dirname "$0")/lib.sh"

mkns ns scoped
lo_up "$ns"
pick_port web "$ns"
pick_port taken "$ns"
mkdir -p "$T/www" && echo "inside" >"$T/www/index.html"
start_nginx "$ns" "$web" "$T/www" 127.0.0.1
pick_port fixed "$ns"
start_nginx "" "$taken" "$T/www" 127.0.0.1

# run nsbridge in the foreground; sets RC, and OUT with CMD's stdout
scoped() {
	OUT=$("$NSB" "$@" 2>"$NSB_LOG")
	RC=$?
}

# --- CMD's exit status is nsbridge's, 0 or not
exit_status() {
	scoped -c "netns:$ns" "container:$web" host:0 -- true
	assert_eq "-- true: exit" 0 "$RC"
	scoped -c "netns:$ns" "container:$web" host:0 -- sh -c 'exit 3'
	assert_eq "-- sh -c 'exit 3': exit" 3 "$RC"
	grep -q "sh exited with status 3; stopping" "$NSB_LOG" || fail "no line about CMD's status"
	pass "-- CMD: nsbridge exits 0 after true, 3 after exit 3"
}

# --- CMD runs once the bridge is ready, reaches it on the port picked for
# it, and holds no capability
reaches_the_bridge() {
	local port
	scoped -c "netns:$ns" "container:$web" host:0 -- sh -c \
		'curl -sS --max-time 5 "http://127.0.0.1:$NSBRIDGE_PORT/"; grep CapEff /proc/self/status'
	assert_eq "-- curl: exit" 0 "$RC"
	assert_eq "-- curl: what CMD saw" "inside"$'\n'"CapEff:	0000000000000000" "$OUT"
	port=$(sed -n 's/.* -> host 127\.0\.0\.1:\([0-9]*\).* ready$/\1/p' "$NSB_LOG")
	[ -n "$port" ] && [ "$port" != 0 ] || fail "the ready line does not show the picked port"
	pass "-- curl \$NSBRIDGE_PORT: the bridge answers CMD on port $port, shown in the ready line; CMD's CapEff is 0"
}

# --- several bridges: NSBRIDGE_PORT_<n> in bridge order
port_per_bridge() {
	local p p1 p2
	scoped -c "netns:$ns" "container:$web" host:0 "container:$web" "host:$fixed" -- \
		sh -c 'echo "$NSBRIDGE_PORT $NSBRIDGE_PORT_1 $NSBRIDGE_PORT_2"'
	assert_eq "several bridges: exit" 0 "$RC"
	read -r p p1 p2 <<<"$OUT"
	assert_eq "NSBRIDGE_PORT is the first bridge's" "$p1" "$p"
	assert_eq "NSBRIDGE_PORT_2" "$fixed" "$p2"
	[ "$p1" -gt 0 ] || fail "NSBRIDGE_PORT_1 is '$p1'"
	pass "NSBRIDGE_PORT=$p NSBRIDGE_PORT_1=$p1 NSBRIDGE_PORT_2=$p2"
}

# --- SIGTERM to nsbridge reaches CMD, which decides; nothing is left running
signals_reach_cmd() {
	local cmd_pid children pid
	cat >"$T/cmd.sh" <<-EOF
		#!/bin/sh
		trap 'echo term >"$T/cmd.term"; exit 5' TERM
		trap 'echo usr1 >>"$T/cmd.usr1"' USR1
		echo \$\$ >"$T/cmd.pid"
		while :; do sleep 0.05; done
	EOF
	chmod +x "$T/cmd.sh"
	start_nsb -c "netns:$ns" "container:$web" host:0 -- "$T/cmd.sh"
	wait_until "CMD's start" 30 test -s "$T/cmd.pid"
	cmd_pid=$(cat "$T/cmd.pid")
	children=$(pgrep -P "$NSB_PID" | tr '\n' ' ')
	kill -USR1 "$NSB_PID"
	wait_until "CMD's USR1 trap" 30 test -s "$T/cmd.usr1"
	assert_eq "CMD's USR1 trap" usr1 "$(cat "$T/cmd.usr1" 2>/dev/null)"
	alive "$NSB_PID" || fail "SIGUSR1 stopped nsbridge"
	stop_nsb TERM
	assert_eq "exit after SIGTERM" 5 "$NSB_STATUS"
	assert_eq "CMD's trap" term "$(cat "$T/cmd.term" 2>/dev/null)"
	for pid in $cmd_pid $children; do
		wait_until "the end of pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) after nsbridge's" 30 \
			gone "$pid"
	done
	pass "SIGUSR1 reached CMD and nsbridge went on; SIGTERM: CMD's trap ran, nsbridge exited with its 5; CMD and nsbridge's helpers ($children) are gone"
}

# --- a CMD that does not exist: 127, as a shell says it; set-up fails: CMD never runs
cmd_missing_or_not_run() {
	scoped -c "netns:$ns" "container:$web" host:0 -- "$T/no-such-command"
	assert_eq "missing CMD: exit" 127 "$RC"
	grep -q "no-such-command: No such file or directory" "$NSB_LOG" || fail "no line about the missing CMD"
	scoped -c "netns:$ns" "container:$web" "host:$taken" -- touch "$T/ran"
	assert_eq "port in use: exit" 3 "$RC"
	[ -e "$T/ran" ] && fail "CMD ran although nsbridge did not start"
	pass "a missing CMD exits 127; when a port is taken nsbridge exits 3 and CMD never runs"
}

# --- EXPOSE port 0 inside the namespace: --port-file names a port that answers there
port_zero() {
	local svc exp port
	start_nginx "" "$fixed" "$T/www" 127.0.0.1
	start_nsb -c "netns:$ns" --port-file "$T/ports" "host:$fixed" container:0
	read -r svc exp <"$T/ports"
	assert_eq "port file: SERVICE" "host:$fixed" "$svc"
	assert_match "port file: EXPOSE" "^container:[0-9]+$" "$exp"
	port=${exp#container:}
	[ "$port" != 0 ] || fail "port file says port 0"
	assert_eq "the picked port, inside" inside "$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$port/")"
	assert_eq "the picked port, inside over [::1]" inside \
		"$(nsx "$ns" curl -sS --max-time 5 "http://[::1]:$port/")"
	stop_nsb TERM
	assert_eq "exit" 0 "$NSB_STATUS"
	[ -e "$T/ports" ] && fail "the port file outlived nsbridge"
	pass "container:0 --port-file: '$svc $exp' answers inside on 127.0.0.1 and [::1]; the file goes at exit"
}

check exit_status
check reaches_the_bridge
check port_per_bridge
check signals_reach_cmd
check cmd_missing_or_not_run
check port_zero
