#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# drain.sh - SIGTERM/SIGINT: open connections finish, new ones are refused, exit 0; SIGHUP is ignored
#
# Each behaviour starts its own server and nsbridge, on a port of its own:
# each ends an nsbridge.
. "$(dirname "$0")/lib.sh"

TCP_PEER="python3 $(dirname "$(readlink -f "$0")")/tcp_peer.py"

# the options are those on the command lines below, not the caller's
# shellcheck disable=SC2046
unset $(compgen -v NSBRIDGE_)

# The servers run in the host's namespace and fork a shell per connection that
# may outlive the server: each gets its own process group, killed on exit. A
# check is a subshell: the groups go into a file.
trap 'for g in $(cat "$T/groups" 2>/dev/null); do kill -KILL -- "-$g" 2>/dev/null; done; cleanup' EXIT

# server PORT SCRIPT - socat on the host's 127.0.0.1:PORT, running SCRIPT per connection
server() {
	bg setsid socat "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork" "SYSTEM:$2"
	echo "$BG_PID" >>"$T/groups"
	wait_listen "" "$1"
}

# client NAME PORT - a socat client in the namespace printing what it
# receives into $T/NAME.out (stderr: $T/NAME.err); sets CLIENT_PID
client() {
	bg sh -c 'exec ip netns exec "$1" socat -u "TCP:127.0.0.1:$2" STDOUT >"$3.out" 2>"$3.err"' \
		client "$ns" "$2" "$T/$1"
	CLIENT_PID=$BG_PID
}

# wait_relayed PORT - until the host's server on PORT has an accepted
# connection, that is nsbridge accepted the client and reached SERVICE
wait_relayed() {
	wait_until "connection to the server on port $1" 30 relayed "$1"
}
relayed() {
	[ -n "$(ss -Htn state established "( sport = :$1 )")" ]
}

two_relayed() {
	[ "$(ss -Htn state established "( sport = :$1 )" | wc -l)" -ge 2 ]
}

# wait_log REGEX - until the nsbridge log has a line matching REGEX
wait_log() {
	wait_until "log line /$1/" 30 grep -Eq "$1" "$NSB_LOG"
}

# refused PORT ADDR - a new client of [ADDR]:PORT in the namespace is
# refused at once: socat says so, curl exits 7, neither hangs
refused() {
	local port=$1 addr=$2 t0 rc elapsed err
	t0=$(now_ms)
	err=$(timeout 5 ip netns exec "$ns" socat -u "TCP:$addr:$port" STDOUT 2>&1 >/dev/null)
	rc=$?
	elapsed=$(($(now_ms) - t0))
	[ $rc != 0 ] && [ $rc != 124 ] || fail "new client of $addr:$port during drain: socat exit $rc"
	assert_match "socat error for $addr:$port" "Connection refused" "$err"
	# a listener left open would hold the client until timeout's 5 s
	[ "$elapsed" -lt 4000 ] || fail "refusing $addr:$port took $elapsed ms"
	timeout 5 ip netns exec "$ns" curl -s --max-time 3 -o /dev/null "http://$addr:$port/"
	rc=$?
	assert_eq "curl exit status for $addr:$port during drain" 7 "$rc"
}

# answer_when PORT - the script of a server that answers 'finished' once
# the check says so (answer PORT): the connection stays in flight until
# then, however slow the machine
answer_when() {
	echo "until [ -e $T/answer-$1 ]; do sleep 0.05; done; echo finished"
}
answer() {
	touch "$T/answer-$1"
}

# in_flight SIG PORT - a server on PORT that answers 'finished' when told,
# nsbridge in front of it, one client in flight and SIG sent; sets
# INFLIGHT (the client's pid) and T0 (when SIG was sent)
in_flight() {
	local sig=$1 port=$2
	NSB_LOG=$T/$sig-$port.log
	server "$port" "$(answer_when "$port")"
	start_nsb --drain-timeout 30s -c "netns:$ns" "host:$port" "container:$port"
	client "inflight-$port" "$port"
	INFLIGHT=$CLIENT_PID
	wait_relayed "$port"
	T0=$(now_ms)
	kill "-$sig" "$NSB_PID"
}

mkns ns drain
lo_up "$ns"
for name in term_refuses term_finishes int_refuses int_finishes cut second hup; do
	pick_port "port_$name" "$ns"
done

# (a)+(d): while a connection in flight when the signal arrives drains,
# new clients are refused
drain_refuses() {
	local sig=$1 port=$2
	in_flight "$sig" "$port"
	wait_log "stopping: 1 connections may finish within 30000 ms"
	refused "$port" 127.0.0.1
	refused "$port" "[::1]"
	alive "$NSB_PID" || fail "SIG$sig: nsbridge exited before the in-flight connection ended"
	alive "$INFLIGHT" || fail "SIG$sig: the in-flight client ended before its server answered"
	stop_nsb KILL 2>/dev/null	# "Killed", said by the shell
	pass "SIG$sig: new clients refused at once (127.0.0.1 and [::1]) while one connection drains"
}

# ... it completes; exit 0 as soon as it ends
drain_finishes() {
	local sig=$1 port=$2 elapsed
	in_flight "$sig" "$port"
	wait_log "stopping: 1 connections may finish"
	answer "$port"
	wait_exit "$INFLIGHT" 30
	assert_eq "SIG$sig: in-flight client exit status" 0 "$EXIT_STATUS"
	assert_eq "SIG$sig: what the in-flight client received" finished "$(cat "$T/inflight-$port.out")"
	wait_exit "$NSB_PID" 25
	elapsed=$(($(now_ms) - T0))
	assert_eq "SIG$sig: nsbridge exit status" 0 "$EXIT_STATUS"
	# at the connection's end, not at the drain timeout's 30 s
	[ "$elapsed" -lt 20000 ] || fail "SIG$sig: exit $elapsed ms after the signal, not when the connection ended"
	port_free "$ns" "$port" || fail "SIG$sig: listener left in the namespace"
	pass "SIG$sig: the in-flight client received 'finished'; exit 0 after $elapsed ms (drain timeout 30 s)"
}

# (b): a connection that never ends is cut at --drain-timeout
drain_timeout() {
	local port=$port_cut stuck t0 elapsed
	NSB_LOG=$T/cut.log
	server "$port" 'sleep 60; echo never'
	start_nsb --drain-timeout 1s -c "netns:$ns" "host:$port" "container:$port"
	bg_to "$T/cut.out" ip netns exec "$ns" $TCP_PEER wait-end "$port"
	stuck=$BG_PID
	wait_relayed "$port"
	t0=$(now_ms)
	kill -TERM "$NSB_PID"
	wait_exit "$NSB_PID" 15
	elapsed=$(($(now_ms) - t0))
	assert_eq "drain timeout: exit status" 0 "$EXIT_STATUS"
	# not before the 1 s, and not at the connection's end 60 s on
	[ "$elapsed" -ge 900 ] && [ "$elapsed" -le 10000 ] ||
		fail "drain timeout 1s: exit $elapsed ms after SIGTERM, expected 1000 to 10000"
	assert_match "drain timeout: log" "drain time is over: resetting 1 connections" "$(cat "$NSB_LOG")"
	wait_exit "$stuck" 10
	assert_eq "what the cut client observed" reset "$(cat "$T/cut.out")"
	pass "--drain-timeout 1s: exit 0 after $elapsed ms, the endless connection's client sees a reset"
}

# (c): a second SIGTERM ends the drain at once
second_term() {
	local port=$port_second t0 elapsed
	NSB_LOG=$T/second.log
	server "$port" 'sleep 60; echo never'
	start_nsb --drain-timeout 30s -c "netns:$ns" "host:$port" "container:$port"
	client second "$port"
	wait_relayed "$port"
	kill -TERM "$NSB_PID"
	wait_log "stopping: 1 connections may finish"
	sleep 0.5	# not a wait: nsbridge must still be draining after it
	alive "$NSB_PID" || fail "nsbridge did not wait for the open connection"
	t0=$(now_ms)
	kill -TERM "$NSB_PID"
	wait_exit "$NSB_PID" 20
	elapsed=$(($(now_ms) - t0))
	assert_eq "second SIGTERM: exit status" 0 "$EXIT_STATUS"
	# at once, not at the drain timeout's 30 s nor the connection's 60 s
	[ "$elapsed" -lt 15000 ] || fail "second SIGTERM: exit after $elapsed ms"
	assert_match "second SIGTERM: log" "second stop signal: closing 1 connections now" "$(cat "$NSB_LOG")"
	pass "second SIGTERM during the drain: exit 0 after $elapsed ms"
}

# (e): SIGHUP neither stops nsbridge nor drops an open connection
sighup() {
	local port=$port_hup hup1 hup2
	NSB_LOG=$T/hup.log
	server "$port" "$(answer_when "$port")"
	start_nsb -c "netns:$ns" "host:$port" "container:$port"
	client hup1 "$port"
	hup1=$CLIENT_PID
	wait_relayed "$port"
	kill -HUP "$NSB_PID"
	wait_log "SIGHUP ignored"
	sleep 0.3	# not a wait: nsbridge must still run after it
	alive "$NSB_PID" || fail "SIGHUP stopped nsbridge"
	client hup2 "$port"
	hup2=$CLIENT_PID
	wait_until "the second connection to the server on port $port" 30 two_relayed "$port"
	answer "$port"
	wait_exit "$hup1" 30
	assert_eq "open connection across SIGHUP: exit status" 0 "$EXIT_STATUS"
	assert_eq "open connection across SIGHUP: received" finished "$(cat "$T/hup1.out")"
	wait_exit "$hup2" 30
	assert_eq "new connection after SIGHUP: exit status" 0 "$EXIT_STATUS"
	assert_eq "new connection after SIGHUP: received" finished "$(cat "$T/hup2.out")"
	alive "$NSB_PID" || fail "nsbridge died after SIGHUP"
	grep -q stopping "$NSB_LOG" && fail "SIGHUP started a drain"
	stop_nsb TERM
	assert_eq "SIGTERM after SIGHUP: exit status" 0 "$NSB_STATUS"
	pass "SIGHUP: nsbridge runs on, the open connection and a new one both complete"
}

check drain_refuses TERM "$port_term_refuses"
check drain_finishes TERM "$port_term_finishes"
check drain_timeout
check second_term
check drain_refuses INT "$port_int_refuses"
check drain_finishes INT "$port_int_finishes"
check sighup
