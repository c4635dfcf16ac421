#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# emfile.sh - out of descriptors: no busy loop, clients wait, all are served
. "$(dirname "$0")/lib.sh"

mkns ns emfile
pick_port port "$ns"

# a slow service: every connection waits 2 s for its answer, so
# connections pile up past nsbridge's descriptor limit
cat >"$T/slow.py" <<'PY'
import asyncio, sys
async def serve(reader, writer):
    await reader.read(1)
    await asyncio.sleep(2)
    writer.write(b"done\n")
    await writer.drain()
    writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    await server.serve_forever()
asyncio.run(main())
PY
bg python3 "$T/slow.py" "$port"
wait_listen "" "$port"

cat >"$T/clients.py" <<'PY'
import asyncio, sys
async def one(port):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"x")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 40)
        writer.close()
        return line.decode().strip() or "eof"
    except Exception as e:
        return type(e).__name__
async def main():
    got = await asyncio.gather(*(one(int(sys.argv[1])) for _ in range(int(sys.argv[2]))))
    print(" ".join(f"{w}={got.count(w)}" for w in sorted(set(got))))
asyncio.run(main())
PY

NSB_WRAP=(prlimit --nofile=128:128)
start_nsb -c "netns:$ns" "host:$port" "container:$port"
bg_to "$T/clients.out" ip netns exec "$ns" python3 "$T/clients.py" "$port" 150
clients=$BG_PID

wait_until "line about the descriptor limit" 60 \
	grep -q "Too many open files.*wait until descriptors free up" "$NSB_LOG"
t0=$(cpu_ticks "$NSB_PID")
sleep 1	# not a wait: the window the CPU time is measured over
used=$(($(cpu_ticks "$NSB_PID") - t0))
# a busy loop would burn about 100 ticks in that second
[ "$used" -le 10 ] || fail "nsbridge used $used ticks in 1 s while out of descriptors"
pass "out of descriptors: $used CPU ticks in 1 s, one log line"

wait_exit "$clients" 60
assert_eq "answers to 150 clients" "done=150" "$(cat "$T/clients.out")"
pass "150 clients through a bridge limited to 128 fds: all answered once fds freed up"
body=$(ip netns exec "$ns" python3 "$T/clients.py" "$port" 1)
assert_eq "a client afterwards" "done=1" "$body"
pass "new connections served after the shortage"
