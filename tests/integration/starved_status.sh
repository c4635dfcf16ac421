#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# starved_status.sh - with every descriptor taken by client connections,
# nsbridge status and --metrics still answer and say so; the clients
# beyond wait, and are served once descriptors free up
. "$(dirname "$0")/lib.sh"

mkns ns starved
lo_up "$ns"
pick_port port "$ns"
pick_port mport

# an echo service that holds each connection until the client closes it
cat >"$T/echo.py" <<'PY'
import asyncio, sys
async def serve(reader, writer):
    try:
        while data := await reader.read(100):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    await server.serve_forever()
asyncio.run(main())
PY
bg python3 "$T/echo.py" "$port"
wait_listen "" "$port"

NSB_WRAP=(prlimit --nofile=128:128)
start_nsb --metrics "127.0.0.1:$mport" -c "netns:$ns" "host:$port" "container:$port"
# 80 clients that each send a byte and stay; once $T/go exists 60 leave
# and the others wait for their echo (idle_clients.py)
bg ip netns exec "$ns" python3 "$(dirname "$0")/idle_clients.py" "$port" 80 "$T/clients" 60 "$T/go"
clients=$BG_PID
for _ in $(seq 1 200); do
	[ "$(cat "$T/clients" 2>/dev/null)" = connected=80 ] && break
	sleep 0.05
done
assert_eq "clients connected (the kernel's backlog holds those not accepted)" \
	connected=80 "$(cat "$T/clients" 2>/dev/null)"
for _ in $(seq 1 200); do
	grep -q "Too many open files" "$NSB_LOG" && break
	sleep 0.05
done
grep -q "Too many open files.*wait until descriptors free up" "$NSB_LOG" ||
	fail "no log line says nsbridge is out of descriptors"
held=$(ss -Htn state established "( sport = :$port )" | wc -l)
[ "$held" -lt 80 ] || fail "nsbridge relayed all 80 clients: it never ran out of descriptors"
pass "out of descriptors at 128: $held of 80 clients relayed, the log says so"

# the operator looks: both answer, and say the relay is starved
"$NSB" status --json "$NSB_PID" >"$T/status.json" 2>"$T/status.err" ||
	fail "nsbridge status at the descriptor limit: $(cat "$T/status.err")"
assert_eq "status --json: starved" true \
	"$(python3 -c 'import json, sys; print(str(json.load(sys.stdin)[0]["starved"]).lower())' <"$T/status.json")"
"$NSB" status "$NSB_PID" >"$T/status.txt" 2>&1 || fail "nsbridge status (text): $(cat "$T/status.txt")"
assert_match "status text" "out of descriptors" "$(cat "$T/status.txt")"
curl -sS --max-time 5 "http://127.0.0.1:$mport/metrics" >"$T/metrics.txt" ||
	fail "GET /metrics at the descriptor limit"
grep -qx "nsbridge_starved 1" "$T/metrics.txt" || fail "/metrics: no 'nsbridge_starved 1'"
pass "nsbridge status and /metrics answer at the descriptor limit, and show it"

# idle scrapers take the whole reserve and more; once they leave, the
# server takes new scrapes again (libmicrohttpd, short of descriptors,
# had put its listening socket aside)
cat >"$T/idle.py" <<'PY'
import os, socket, sys, time
port, n, held, release = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
open(held, "w").close()
while not os.path.exists(release):
    time.sleep(0.05)
PY
bg python3 "$T/idle.py" "$mport" 8 "$T/held" "$T/release"
idlers=$BG_PID
for _ in $(seq 1 100); do
	[ -e "$T/held" ] && break
	sleep 0.05
done
[ -e "$T/held" ] || fail "8 idle connections to /metrics were not made"
t0=$(cpu_ticks "$NSB_PID")
sleep 1
ticks=$(($(cpu_ticks "$NSB_PID") - t0))
[ "$ticks" -le 15 ] || fail "nsbridge used $ticks CPU ticks in 1 s with its reserve taken"
touch "$T/release"
wait_exit "$idlers" 10
curl -sS --max-time 10 "http://127.0.0.1:$mport/metrics" | grep -qx "nsbridge_starved 1" ||
	fail "/metrics after idle scrapers took the reserve and left"
"$NSB" status --json "$NSB_PID" | grep -q '"starved":true' ||
	fail "nsbridge status after idle scrapers took the reserve and left"
pass "idle scrapers that took the reserve: no busy loop ($ticks CPU ticks in 1 s); answers again once they leave"

# many at once, more than the reserve holds: each is answered in turn,
# and nothing spins meanwhile
t0=$(cpu_ticks "$NSB_PID")
pids=()
for i in $(seq 1 6); do
	"$NSB" status --json "$NSB_PID" >"$T/burst-status-$i" 2>&1 &
	pids+=($!)
	curl -sS --max-time 10 "http://127.0.0.1:$mport/metrics" >"$T/burst-metrics-$i" 2>&1 &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid" || fail "a status or a scrape of a burst at the limit failed: $(cat "$T"/burst-*)"
done
grep -l '"starved":true' "$T"/burst-status-* | wc -l | grep -qx 6 || fail "burst: a status without starved"
grep -l "nsbridge_starved 1" "$T"/burst-metrics-* | wc -l | grep -qx 6 || fail "burst: a scrape without starved"
ticks=$(($(cpu_ticks "$NSB_PID") - t0))
# a relay spinning on a socket it cannot accept would burn a core meanwhile
[ "$ticks" -le 30 ] || fail "nsbridge used $ticks CPU ticks for 12 requests at the limit"
pass "6 status requests and 6 scrapes at once at the limit: all answered ($ticks CPU ticks)"

# the clients beyond waited: once 60 leave, the 20 others (all of them
# in the backlog until then) are served
touch "$T/go"
wait_exit "$clients" 60
assert_eq "echoes to the 20 clients that stayed" answered=20 "$(cat "$T/clients")"
pass "the clients that waited for descriptors were all served"
for _ in $(seq 1 100); do
	"$NSB" status --json "$NSB_PID" >"$T/status.json" 2>/dev/null &&
		grep -q '"starved":false' "$T/status.json" && break
	sleep 0.05
done
grep -q '"starved":false' "$T/status.json" || fail "status still says starved after the clients left"
curl -sS --max-time 5 "http://127.0.0.1:$mport/metrics" | grep -qx "nsbridge_starved 0" ||
	fail "/metrics: no 'nsbridge_starved 0' after the clients left"
pass "status and /metrics say so when descriptors are back"
