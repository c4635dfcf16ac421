#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# refused.sh - SERVICE down: the client is reset at once; a reset is passed on as a reset
. "$(dirname "$0")/lib.sh"

mkns ns refused
pick_port down "$ns"
pick_port rst "$ns"

start_nsb -c "netns:$ns" "host:$down" "container:$down" "host:$rst" "container:$rst"

# what a client observes: reset, eof, data, hang or refused
cat >"$T/client.py" <<'PY'
import socket, sys
try:
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    c.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data = c.recv(100)
    print("eof" if data == b"" else "data")
except ConnectionResetError:
    print("reset")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("hang")
PY

# nothing listens on the host's port: the client must see a reset, not a
# hang, and sooner than --connect-timeout's default 5 s would give one
t0=$(now_ms)
got=$(ip netns exec "$ns" python3 "$T/client.py" "$down")
elapsed=$(($(now_ms) - t0))
assert_eq "what the client saw" reset "$got"
[ "$elapsed" -lt 4000 ] || fail "the reset took $elapsed ms"
pass "service down: the client sees ECONNRESET after $elapsed ms"

# curl sees the reset while connecting (7) or receiving (56), never a hang or an empty reply
ip netns exec "$ns" curl -s --max-time 5 "http://127.0.0.1:$down/"
status=$?
[ $status = 56 ] || [ $status = 7 ] || fail "curl exit status $status, expected 56 or 7"
pass "curl: exit $status at once"

assert_match "log line" "host 127.0.0.1:$down refused the connection.*client was reset" \
	"$(grep refused "$NSB_LOG")"
pass "log names the service and its namespace"

# 200 refused clients: the log stays short, every client is still reset
cat >"$T/many.py" <<'PY'
import socket, sys
seen = {}
for _ in range(200):
    try:
        c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
        c.sendall(b"x")
        what = "eof" if c.recv(10) == b"" else "data"
    except ConnectionResetError:
        what = "reset"
    except Exception as e:
        what = type(e).__name__
    seen[what] = seen.get(what, 0) + 1
print(" ".join(f"{k}={v}" for k, v in sorted(seen.items())))
PY
assert_eq "200 clients of a refused service" "reset=200" \
	"$(ip netns exec "$ns" python3 "$T/many.py" "$down")"
lines=$(grep -c refused "$NSB_LOG")
[ "$lines" -le 12 ] || fail "$lines log lines for 202 refused connections: not rate-limited"
pass "202 refused connections, all reset, $lines log lines"

# a service that resets: the client sees a reset, not a clean EOF
cat >"$T/rst.py" <<'PY'
import socket, struct, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
for _ in range(3):
    c, _ = s.accept()
    c.recv(100)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
PY
bg python3 "$T/rst.py" "$rst"
wait_listen "" "$rst"
for i in 1 2 3; do
	got=$(ip netns exec "$ns" python3 "$T/client.py" "$rst")
	assert_eq "client $i after the service reset" reset "$got"
done
pass "a reset from the service reaches the client as ECONNRESET"
kill -0 "$NSB_PID" || fail "nsbridge died"

# a SERVICE port in the ephemeral range with nothing on it: the dial may
# connect to itself (a TCP simultaneous open); forced here with a
# one-port ephemeral range, it must still be a refusal, not an echo
pick_port self "$ns"
start_nsb -c "netns:$ns" "host:$self" "container:$self"
sysctl -qw net.ipv4.ip_local_port_range="$self $self"
got=$(ip netns exec "$ns" python3 "$T/client.py" "$self")
sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
assert_eq "a client of a service that would connect to itself" reset "$got"
pass "a dial that connects to itself is taken as refused"
