#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# limits.sh - --max-connections holds new clients back without stalling other bridges
. "$(dirname "$0")/lib.sh"

mkns ns limits
pick_port capped "$ns"
pick_port other "$ns"

# a greeter: says hello at once and keeps the connection until the client leaves
cat >"$T/greeter.py" <<'PY'
import asyncio, sys
async def serve(reader, writer):
    writer.write(b"hello\n")
    await writer.drain()
    await reader.read()
    writer.close()
async def main():
    servers = [await asyncio.start_server(serve, "127.0.0.1", int(p)) for p in sys.argv[1:]]
    await asyncio.gather(*(s.serve_forever() for s in servers))
asyncio.run(main())
PY
# hold.py PORT N [RELEASE]: N clients that each wait a second for the
# greeting, then stay until the file RELEASE exists (without one, leave)
cat >"$T/hold.py" <<'PY'
import os, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
release = sys.argv[3] if len(sys.argv) > 3 else None
conns, greeted = [], 0
for _ in range(n):
    c = socket.create_connection(("127.0.0.1", port), timeout=1)
    conns.append(c)
    try:
        greeted += c.recv(6) == b"hello\n"
    except socket.timeout:
        pass
print(f"greeted={greeted}", flush=True)
while release and not os.path.exists(release):
    time.sleep(0.05)
PY
bg python3 "$T/greeter.py" "$capped" "$other"
wait_listen "" "$capped"
wait_listen "" "$other"

start_nsb --max-connections 3 -c "netns:$ns" "host:$capped" "container:$capped" \
	"host:$other" "container:$other"

bg_to "$T/three.out" ip netns exec "$ns" python3 "$T/hold.py" "$capped" 3 "$T/release"
three=$BG_PID
wait_until "word from the first three clients" 30 test -s "$T/three.out"
assert_eq "the first three clients" "greeted=3" "$(cat "$T/three.out")"

# the fourth is held back while three are open...
bg_to "$T/fourth.out" ip netns exec "$ns" python3 "$T/hold.py" "$capped" 1
fourth=$BG_PID
# ...while the other bridge of the same process serves at once
assert_eq "the other bridge" "greeted=3" \
	"$(ip netns exec "$ns" python3 "$T/hold.py" "$other" 3)"
wait_exit "$fourth" 5
assert_eq "a fourth client while three are open" "greeted=0" "$(cat "$T/fourth.out")"
grep -q "has 3 connections (--max-connections)" "$NSB_LOG" || fail "no line about the cap"
pass "the fourth connection waits; the other bridge is not stalled"

touch "$T/release"
wait_exit "$three" 10
assert_eq "a client after the three left" "greeted=1" \
	"$(ip netns exec "$ns" python3 "$T/hold.py" "$capped" 1)"
pass "accepting resumes when connections close"
