#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# unix_queue.sh - a unix: SERVICE whose accept queue is full makes clients
# wait, as a direct connect() would, not a reset; one that never accepts
# still resets them at --connect-timeout
. "$(dirname "$0")/lib.sh"

mkns ns unixq
pick_port port "$ns"
pick_port stuck_port "$ns"
slow=$T/slow.sock
stuck=$T/stuck.sock
clients=30

# a service with listen(4) that accepts 20 connections a second: 30
# clients at once overfill its queue. It answers each line with "ok LINE".
cat >"$T/slow.py" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)	# the relay may run as another user
s.listen(4)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    f = c.makefile("rb")
    c.sendall(b"ok " + f.readline())
    f.close()
    c.close()
    time.sleep(0.05)
PY

# 30 clients at once, each sends a line and reads the answer; prints the
# number of each outcome, "ok" when the answer is right
cat >"$T/clients.py" <<'PY'
import socket, sys, threading
where, n = sys.argv[1], int(sys.argv[2])
seen, lock = {}, threading.Lock()
def one(i):
    try:
        if where.startswith("/"):
            c = socket.socket(socket.AF_UNIX)
            c.connect(where)	# blocking: it waits for room in the queue
            c.settimeout(60)
        else:
            c = socket.create_connection(("127.0.0.1", int(where)), timeout=60)
        c.sendall(b"client %d\n" % i)
        data = b""
        while True:
            d = c.recv(100)
            if not d:
                break
            data += d
        what = "ok" if data == b"ok client %d\n" % i else "wrong"
    except ConnectionResetError:
        what = "reset"
    except socket.timeout:
        what = "hang"
    except OSError as e:
        what = "error-" + str(e.errno)
    with lock:
        seen[what] = seen.get(what, 0) + 1
threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
PY

bg_to "$T/slow.out" python3 "$T/slow.py" "$slow"
for _ in $(seq 1 100); do
	grep -q listening "$T/slow.out" && break
	sleep 0.05
done
grep -q listening "$T/slow.out" || fail "the slow service did not start: $(cat "$T/slow.out")"

# direct: every connect() waits for room in the queue
got=$(python3 "$T/clients.py" "$slow" $clients)
assert_eq "direct, $clients clients at once" "ok=$clients" "$got"

# through nsbridge: the same; the generous timeout leaves room for a loaded machine
start_nsb --connect-timeout 30s -c "netns:$ns" "unix:$slow" "container:$port"
got=$(ip netns exec "$ns" python3 "$T/clients.py" "$port" $clients)
assert_eq "through nsbridge, $clients clients at once" "ok=$clients" "$got"
if grep -q "refused\|was reset" "$NSB_LOG"; then
	fail "a client was refused: $(grep "refused\|was reset" "$NSB_LOG" | head -n 3)"
fi
pass "a unix SERVICE with a full accept queue: all $clients clients served, as directly"
stop_nsb
assert_eq "exit status" 0 "$NSB_STATUS"

# a service that never accepts, its queue of one already full
cat >"$T/stuck.py" <<'PY'
import errno, os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
s.listen(0)
fill = socket.socket(socket.AF_UNIX)
fill.connect(sys.argv[1])
probe = socket.socket(socket.AF_UNIX)
probe.setblocking(False)
if probe.connect_ex(sys.argv[1]) == errno.EAGAIN:
    print("full", flush=True)
time.sleep(120)
PY
bg_to "$T/stuck.out" python3 "$T/stuck.py" "$stuck"
for _ in $(seq 1 100); do
	grep -q full "$T/stuck.out" && break
	sleep 0.05
done
grep -q full "$T/stuck.out" || fail "could not fill the stuck service's queue: $(cat "$T/stuck.out")"

cat >"$T/timed.py" <<'PY'
import socket, sys, time
t0 = time.monotonic()
try:
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
    c.sendall(b"anyone?\n")
    what = "eof" if c.recv(10) == b"" else "data"
except ConnectionResetError:
    what = "reset"
except socket.timeout:
    what = "hang"
print(what, int((time.monotonic() - t0) * 1000))
PY
start_nsb --connect-timeout 1s -c "netns:$ns" "unix:$stuck" "container:$stuck_port"
t0=$(cpu_ticks "$NSB_PID")
read -r what ms < <(ip netns exec "$ns" python3 "$T/timed.py" "$stuck_port")
used=$(($(cpu_ticks "$NSB_PID") - t0))
assert_eq "a service that never accepts: what the client saw" reset "$what"
[ "$ms" -ge 900 ] || fail "reset after $ms ms, before --connect-timeout 1s"
# waiting for room is a timer, not a busy loop, which would burn about 100 ticks
[ "$used" -le 20 ] || fail "nsbridge used $used CPU ticks while the client waited $ms ms"
assert_match "log line" "unix:$stuck did not answer in time" "$(cat "$NSB_LOG")"
pass "a unix SERVICE that never accepts: the client is reset after $ms ms (--connect-timeout 1s)"
kill -0 "$NSB_PID" || fail "nsbridge died"
