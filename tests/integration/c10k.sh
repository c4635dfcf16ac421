#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# c10k.sh - 10,000 connections open at once, each echoing its own bytes,
# then the fd count back to idle and a fresh connection served
#
# An idle connection costs the relay two descriptors (client and service
# sockets), so 10,000 need 20,000 plus what the relay holds at rest and a
# few pipes for bytes in flight. Where the hard RLIMIT_NOFILE leaves less
# than that, the test runs the largest count that fits and says so.
. "$(dirname "$0")/lib.sh"

WANT=10000
HEADROOM=64	# 32 pipes for bytes in flight, so echoes do not crawl

mkns ns c10k
pick_port port "$ns"

# the service: an echo server on the host's loopback that writes how many
# clients it has open, and the most it had at once, to a status file
cat >"$T/server.py" <<'PY'
import asyncio, os, sys
port, status = int(sys.argv[1]), sys.argv[2]
now = peak = total = 0
async def serve(reader, writer):
    global now, peak, total
    now += 1; total += 1; peak = max(peak, now)
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        now -= 1
        writer.close()
async def report():
    while True:
        with open(status + ".tmp", "w") as f:
            f.write(f"{now} {peak} {total}\n")
        os.replace(status + ".tmp", status)
        await asyncio.sleep(0.1)
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=4096)
    asyncio.create_task(report())
    await server.serve_forever()
asyncio.run(main())
PY

# the client: opens N connections, keeps them all open, says so and waits
# for the go file; then sends each its own payload and checks the echo
# byte for byte, all at once; then half-closes each and expects a clean
# EOF with no extra byte. Prints one line per phase.
cat >"$T/client.py" <<'PY'
import asyncio, os, sys
from collections import Counter
port, n, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
BATCH = 1000	# under the listen backlog of 4096, and somaxconn
def say(*a):
    print(*a, flush=True)
def name(e):
    return type(e).__name__
async def connect():
    try:
        return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
    except Exception as e:
        return e
async def echo(i, conn):
    reader, writer = conn
    payload = b"%d:" % i + os.urandom(64 + i * 7919 % 8192)
    try:
        writer.write(payload)
        await writer.drain()
        back = await asyncio.wait_for(reader.readexactly(len(payload)), 60)
        return "ok" if back == payload else "wrong"
    except Exception as e:
        return name(e)
async def close(conn):
    reader, writer = conn
    try:
        writer.write_eof()
        rest = await asyncio.wait_for(reader.read(), 60)
        writer.close()
        return "ok" if rest == b"" else "extra"
    except Exception as e:
        return name(e)
def tally(results):
    c = Counter(results)
    return " ".join(f"{k}={v}" for k, v in sorted(c.items()))
async def main():
    conns, errors = [], []
    for first in range(0, n, BATCH):
        for r in await asyncio.gather(*(connect() for _ in range(first, min(n, first + BATCH)))):
            (errors if isinstance(r, Exception) else conns).append(r)
    say(f"connected {len(conns)} failed {len(errors)} {tally(map(name, errors))}".rstrip())
    for _ in range(1200):
        if os.path.exists(go):
            break
        await asyncio.sleep(0.05)
    say("echo " + tally(await asyncio.gather(*(echo(i, c) for i, c in enumerate(conns)))))
    say("close " + tally(await asyncio.gather(*(close(c) for c in conns))))
asyncio.run(main())
PY

bg python3 "$T/server.py" "$port" "$T/server.status"
wait_listen "" "$port"
start_nsb -c "netns:$ns" "host:$port" "container:$port"
fds_at_rest "$NSB_PID" idle
hard=$(awk '/^Max open files/ { print $5 }' "/proc/$NSB_PID/limits")
# thousands() - 20000 as 20,000
thousands() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$NSB_PID/status"; }
server_open() { cut -d' ' -f1 "$T/server.status"; }

# what the relay needs for WANT connections, and the most that fit
need=$((idle + 2 * WANT + HEADROOM))
if [ "$hard" = unlimited ] || [ "$hard" -ge "$need" ]; then
	n=$WANT
	why="hard fd limit $(thousands "$hard") covers the $(thousands "$need") fds they need"
else
	n=$(((hard - idle - HEADROOM) / 2))
	[ "$n" -ge 1000 ] || skip "hard fd limit $hard leaves room for only $n connections"
	why="hard fd limit $(thousands "$hard") leaves room for no more; $(thousands "$WANT") need $(thousands "$need"): $idle at rest + 2 per connection + $HEADROOM for pipes"
fi
echo "relay: $idle fds at rest, hard limit $hard: $n connections"

bg_to "$T/client.out" ip netns exec "$ns" python3 "$T/client.py" "$port" "$n" "$T/go"
client=$BG_PID
for _ in $(seq 1 1200); do
	grep -q '^connected' "$T/client.out" && break
	kill -0 "$client" 2>/dev/null || break
	sleep 0.05
done
connected=$(grep '^connected' "$T/client.out") || fail "the client did not connect in 60 s: $(cat "$T/client.out")"
assert_eq "client connections" "connected $n failed 0" "$connected"

# every connection is open end to end: the relay holds both of its sockets
# and the server counts each client
peak=0
for _ in $(seq 1 300); do
	fds=$(fd_count "$NSB_PID")
	[ "$fds" -gt "$peak" ] && peak=$fds
	[ "$fds" -ge $((idle + 2 * n)) ] && [ "$(server_open)" = "$n" ] && break
	sleep 0.1
done
peak_rss=$(rss)
[ "$peak" -ge $((idle + 2 * n)) ] ||
	fail "relay peak of $peak fds, short of $idle + 2 x $n: the $n connections were not all open"
assert_eq "clients open at the server" "$n" "$(server_open)"
kill -0 "$NSB_PID" || fail "nsbridge died holding $n connections"
pass "$n connections open at once: relay at $peak fds, server counts $(server_open)"

touch "$T/go"
wait_exit "$client" 100
assert_eq "client exit status" 0 "$EXIT_STATUS"
assert_eq "echoes" "echo ok=$n" "$(grep '^echo' "$T/client.out")"
assert_eq "half-close and EOF" "close ok=$n" "$(grep '^close' "$T/client.out")"
read -r _ server_peak server_total <"$T/server.status"
assert_eq "server's most clients at once" "$n" "$server_peak"
assert_eq "server's clients in all" "$n" "$server_total"
pass "$n distinct payloads echoed byte-exact, each closed with a clean EOF"

kill -0 "$NSB_PID" || fail "nsbridge died after $n connections"
for _ in $(seq 1 200); do
	[ "$(fd_count "$NSB_PID")" -le "$idle" ] && break
	sleep 0.05
done
assert_eq "fds after the load" "$idle" "$(fd_count "$NSB_PID")"
pass "fd count back to its idle value of $idle"

: >"$T/go1"
nsx "$ns" python3 "$T/client.py" "$port" 1 "$T/go1" >"$T/one.out" || fail "a fresh client"
assert_eq "a fresh connection" "connected 1 failed 0|echo ok=1|close ok=1" "$(paste -sd'|' "$T/one.out")"
stop_nsb TERM
assert_eq "exit status" 0 "$NSB_STATUS"
pass "$(thousands "$n") concurrent ($why); relay peak $(thousands "$peak") fds, VmRSS $(thousands "$peak_rss") KiB"
