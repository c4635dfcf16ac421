#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# drain_starved.sh - a drain that starts while nsbridge is out of
# descriptors waits quietly: no busy loop, whatever the state
. "$(dirname "$0")/lib.sh"

mkns ns dstarve
lo_up "$ns"
pick_port port "$ns"

# a service that takes every connection and holds it, answering nothing
cat >"$T/hold_server.py" <<'PY'
import asyncio, sys
async def serve(reader, writer):
    try:
        await reader.read()
    except ConnectionError:
        pass
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    await server.serve_forever()
asyncio.run(main())
PY
bg python3 "$T/hold_server.py" "$port"
wait_listen "" "$port"

# syscalls_read PID - read(2)-like calls a process has made (/proc/PID/io);
# a loop woken by its timer reads the timerfd each time
syscalls_read() {
	awk '/^syscr:/ { print $2 }' "/proc/$1/io"
}

NSB_WRAP=(prlimit --nofile=65:65)
start_nsb --drain-timeout 10s -c "netns:$ns" "host:$port" "container:$port"
# more clients than 65 descriptors take: their connects complete in the backlog
bg ip netns exec "$ns" python3 "$(dirname "$0")/idle_clients.py" "$port" 40 "$T/clients"
for _ in $(seq 1 200); do
	grep -q "Too many open files" "$NSB_LOG" && break
	sleep 0.05
done
grep -q "Too many open files" "$NSB_LOG" || fail "nsbridge never ran out of descriptors"

kill -TERM "$NSB_PID"
for _ in $(seq 1 100); do
	grep -q "stopping: .* connections may finish" "$NSB_LOG" && break
	sleep 0.05
done
grep -q "stopping: .* connections may finish" "$NSB_LOG" || fail "no drain started"
# A waiting loop makes a few calls in this window, a spinning one
# thousands; the window only bounds the test, the count is the check.
r0=$(syscalls_read "$NSB_PID")
t0=$(cpu_ticks "$NSB_PID")
sleep 2
reads=$(($(syscalls_read "$NSB_PID") - r0))
ticks=$(($(cpu_ticks "$NSB_PID") - t0))
kill -0 "$NSB_PID" 2>/dev/null || fail "nsbridge ended the drain early"
echo "   during 2 s of drain: $reads read calls, $ticks CPU ticks"
[ "$reads" -le 100 ] || fail "draining while out of descriptors: $reads read calls in 2 s (busy loop)"
pass "a drain out of descriptors waits without a busy loop"

stop_nsb TERM	# the second signal ends the drain at once
assert_eq "exit status after the second SIGTERM" 0 "$NSB_STATUS"
