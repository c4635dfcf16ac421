#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# robust.sh - a service that stops reading costs bounded memory and no CPU;
# a service killed mid-transfer resets its client and disturbs no other
. "$(dirname "$0")/lib.sh"

mkns ns robust
lo_up "$ns"
pick_port stall "$ns"
pick_port crash "$ns"

# stall: accepts, reads nothing, holds the connection
bg python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$stall"
# crash: sends a stream to each client until it is killed
bg python3 -c '
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
def feed(c):
    try:
        while True: c.sendall(b"x" * 65536)
    except OSError: pass
while True:
    c, _ = s.accept(); threading.Thread(target=feed, args=(c,), daemon=True).start()
' "$crash"
crash_pid=$BG_PID
wait_listen "" "$stall"
wait_listen "" "$crash"
start_nsb -c "netns:$ns" "host:$stall" "container:$stall" "host:$crash" "container:$crash"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$NSB_PID/status"; }
rss0=$(rss)

# (a) 256 MiB toward a service that reads nothing: the sender blocks, the
# relay's memory does not follow it, and it does not spin
nsx "$ns" python3 -c '
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); c.settimeout(3)
sent = 0
try:
    while sent < 256 << 20: sent += c.send(b"y" * 65536)
except socket.timeout: pass
print(sent)
' "$stall" >"$T/stall.out" || fail "the stalled sender"
sent=$(cat "$T/stall.out")
[ "$sent" -lt $((64 << 20)) ] || fail "$sent bytes went into a service that reads nothing"
t0=$(cpu_ticks "$NSB_PID")
sleep 2
t1=$(cpu_ticks "$NSB_PID")
[ $((t1 - t0)) -le 5 ] || fail "the relay used $((t1 - t0)) ticks in 2 s while stalled"
grow=$(($(rss) - rss0))
[ "$grow" -le 4096 ] || fail "the relay grew $grow KiB holding a stalled transfer"
pass "a service that stops reading: the sender stalled at $((sent >> 20)) MiB, the relay grew $grow KiB and idled ($((t1 - t0)) ticks in 2 s)"

# (b) the streaming service is killed mid-transfer: its client sees a
# reset, not a clean end; a connection to the other service goes on
nsx "$ns" python3 -c '
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"unread by the service")	# makes the kill a reset, not a FIN
got = 0
try:
    while True:
        d = c.recv(65536)
        if not d: print("eof", got); break
        if not got: open(sys.argv[2], "w").close()	# the stream flows
        got += len(d)
except ConnectionResetError:
    print("reset", got)
' "$crash" "$T/crash.flowing" >"$T/crash.out" &
reader=$!
wait_until "bytes from the streaming service" 30 test -e "$T/crash.flowing"
kill -KILL "$crash_pid"
wait "$reader"
assert_match "the client of the killed service" "^reset [0-9]+$" "$(cat "$T/crash.out")"
kill -0 "$NSB_PID" || fail "nsbridge died with the service"
out=$(nsx "$ns" python3 -c '
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); c.settimeout(3)
c.sendall(b"still here"); print("connected")
' "$stall") || fail "a new connection after the crash"
assert_eq "the other bridge after the crash" connected "$out"
pass "a service killed mid-transfer: its client saw a reset after $(awk '{ print $2 }' "$T/crash.out") bytes; the other bridge works"
stop_nsb
assert_eq "exit status" 0 "$NSB_STATUS"
