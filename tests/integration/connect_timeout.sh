#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# connect_timeout.sh - a SERVICE that never answers: the client is reset after --connect-timeout
. "$(dirname "$0")/lib.sh"

mkns svc ctsvc
mkns ns ctapp
lo_up "$svc"
pick_port port "$svc" "$ns"

# a listener whose accept queue is full drops new SYNs: a service that
# never answers, made without touching any firewall
ip netns exec "$svc" sysctl -qw net.ipv4.tcp_syncookies=0
cat >"$T/stuck.py" <<'PY'
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(0)
fill = [socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)]
try:
    fill.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5))
except socket.timeout:
    print("full", flush=True)
time.sleep(60)
PY
bg_to "$T/stuck.out" ip netns exec "$svc" python3 "$T/stuck.py" "$port"
for _ in $(seq 1 100); do
	grep -q full "$T/stuck.out" && break
	sleep 0.05
done
grep -q full "$T/stuck.out" || fail "could not fill the accept queue"

start_nsb --connect-timeout 1s --host-netns "/run/netns/$svc" -c "netns:$ns" \
	"host:$port" "container:$port"

cat >"$T/client.py" <<'PY'
import socket, sys, time
t0 = time.monotonic()
try:
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    what = "eof" if c.recv(10) == b"" else "data"
except ConnectionResetError:
    what = "reset"
except socket.timeout:
    what = "hang"
print(what, int((time.monotonic() - t0) * 1000))
PY
read -r what ms < <(ip netns exec "$ns" python3 "$T/client.py" "$port")
assert_eq "what the client saw" reset "$what"
# the default, 5 s, is what a --connect-timeout not applied would give
[ "$ms" -ge 900 ] && [ "$ms" -le 4500 ] || fail "reset after $ms ms, expected about 1000"
assert_match "log line" "host 127.0.0.1:$port did not answer in time" "$(cat "$NSB_LOG")"
pass "unanswered SERVICE: client reset after $ms ms (--connect-timeout 1s), one log line"
kill -0 "$NSB_PID" || fail "nsbridge died"
