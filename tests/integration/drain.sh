#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# drain.sh - SIGTERM/SIGINT: open connections finish, new ones are refused, exit 0; SIGHUP is ignored
. "$(dirname "$0")/lib.sh"

# the options are those on the command lines below, not the caller's
# shellcheck disable=SC2046
unset $(compgen -v NSBRIDGE_)

# The servers run in the host's namespace and fork a shell per connection that
# may outlive the server: each gets its own process group, killed on exit.
_GROUPS=()
trap 'for g in "${_GROUPS[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done; cleanup' EXIT

# server PORT SCRIPT - socat on the host's 127.0.0.1:PORT, running SCRIPT per connection
server() {
	bg setsid socat "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork" "SYSTEM:$2"
	_GROUPS+=("$BG_PID")
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
	for _ in $(seq 1 100); do
		[ -n "$(ss -Htn state established "( sport = :$1 )")" ] && return 0
		sleep 0.05
	done
	fail "no connection reached the server on port $1 in 5 s"
}

# wait_log REGEX - until the nsbridge log has a line matching REGEX
wait_log() {
	for _ in $(seq 1 100); do
		grep -Eq "$1" "$NSB_LOG" && return 0
		sleep 0.05
	done
	fail "no log line /$1/ after 5 s"
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

mkns ns drain
lo_up "$ns"

# (a)+(d): a connection in flight when the signal arrives completes; new
# clients are refused meanwhile; exit 0 as soon as it ends
drain_case() {
	local sig=$1 port t0 elapsed
	pick_port port "$ns"
	server "$port" 'sleep 2; echo finished'
	start_nsb --drain-timeout 30s -c "netns:$ns" "host:$port" "container:$port"

	client "inflight-$sig" "$port"
	local inflight=$CLIENT_PID
	wait_relayed "$port"

	t0=$(now_ms)
	kill "-$sig" "$NSB_PID"
	wait_log "stopping: 1 connections may finish within 30000 ms"
	refused "$port" 127.0.0.1
	refused "$port" "[::1]"
	kill -0 "$NSB_PID" 2>/dev/null || fail "SIG$sig: nsbridge exited before the in-flight connection ended"
	kill -0 "$inflight" 2>/dev/null || fail "SIG$sig: the in-flight client ended before its server answered"
	pass "SIG$sig: new clients refused at once (127.0.0.1 and [::1]) while one connection drains"

	wait_exit "$inflight" 5
	assert_eq "SIG$sig: in-flight client exit status" 0 "$EXIT_STATUS"
	assert_eq "SIG$sig: what the in-flight client received" finished "$(cat "$T/inflight-$sig.out")"
	wait_exit "$NSB_PID" 25
	elapsed=$(($(now_ms) - t0))
	assert_eq "SIG$sig: nsbridge exit status" 0 "$EXIT_STATUS"
	# at the connection's end, not at the drain timeout's 30 s
	[ "$elapsed" -lt 20000 ] || fail "SIG$sig: exit $elapsed ms after the signal; the connection ended after about 2000"
	port_free "$ns" "$port" || fail "SIG$sig: listener left in the namespace"
	pass "SIG$sig: the in-flight client received 'finished'; exit 0 after $elapsed ms (drain timeout 30 s)"
}

drain_case TERM

# (b): a connection that never ends is cut at --drain-timeout
pick_port port "$ns"
server "$port" 'sleep 60; echo never'
start_nsb --drain-timeout 1s -c "netns:$ns" "host:$port" "container:$port"
# what the client of the endless connection observes: reset, eof, data or hang
cat >"$T/cut.py" <<'PY'
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
print("connected", flush=True)
try:
    print("eof" if c.recv(100) == b"" else "data")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("hang")
PY
bg_to "$T/cut.out" ip netns exec "$ns" python3 "$T/cut.py" "$port"
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
assert_eq "what the cut client observed" "connected reset" "$(paste -sd" " "$T/cut.out")"
pass "--drain-timeout 1s: exit 0 after $elapsed ms, the endless connection's client sees a reset"

# (c): a second SIGTERM ends the drain at once
pick_port port "$ns"
server "$port" 'sleep 60; echo never'
start_nsb --drain-timeout 30s -c "netns:$ns" "host:$port" "container:$port"
client second "$port"
wait_relayed "$port"
kill -TERM "$NSB_PID"
wait_log "stopping: 1 connections may finish"
sleep 0.5
kill -0 "$NSB_PID" 2>/dev/null || fail "nsbridge did not wait for the open connection"
t0=$(now_ms)
kill -TERM "$NSB_PID"
wait_exit "$NSB_PID" 20
elapsed=$(($(now_ms) - t0))
assert_eq "second SIGTERM: exit status" 0 "$EXIT_STATUS"
# at once, not at the drain timeout's 30 s nor the connection's 60 s
[ "$elapsed" -lt 15000 ] || fail "second SIGTERM: exit after $elapsed ms"
assert_match "second SIGTERM: log" "second stop signal: closing 1 connections now" "$(cat "$NSB_LOG")"
pass "second SIGTERM during the drain: exit 0 after $elapsed ms"

# (d): SIGINT drains like SIGTERM
drain_case INT

# (e): SIGHUP neither stops nsbridge nor drops an open connection
pick_port port "$ns"
server "$port" 'sleep 2; echo finished'
start_nsb -c "netns:$ns" "host:$port" "container:$port"
client hup1 "$port"
hup1=$CLIENT_PID
wait_relayed "$port"
kill -HUP "$NSB_PID"
wait_log "SIGHUP ignored"
sleep 0.3
kill -0 "$NSB_PID" 2>/dev/null || fail "SIGHUP stopped nsbridge"
client hup2 "$port"
hup2=$CLIENT_PID
wait_exit "$hup1" 5
assert_eq "open connection across SIGHUP: exit status" 0 "$EXIT_STATUS"
assert_eq "open connection across SIGHUP: received" finished "$(cat "$T/hup1.out")"
wait_exit "$hup2" 5
assert_eq "new connection after SIGHUP: exit status" 0 "$EXIT_STATUS"
assert_eq "new connection after SIGHUP: received" finished "$(cat "$T/hup2.out")"
kill -0 "$NSB_PID" 2>/dev/null || fail "nsbridge died after SIGHUP"
grep -q stopping "$NSB_LOG" && fail "SIGHUP started a drain"
pass "SIGHUP: nsbridge runs on, the open connection and a new one both complete"
stop_nsb TERM
assert_eq "SIGTERM after SIGHUP: exit status" 0 "$NSB_STATUS"
