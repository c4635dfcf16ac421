#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# hold_peer.py - servers and clients that hold connections open: the load that
#                takes a relay's descriptors, and the peers that stall it
#
# Servers (on 127.0.0.1, until killed):
#   hold_peer.py hold PORT              read each connection to its end, answer
#                                       nothing
#   hold_peer.py echo PORT [STATUS]     echo each connection until its end; with
#                                       STATUS, write "OPEN PEAK TOTAL" (clients
#                                       open now, most at once, in all) there
#                                       every 0.1 s
#   hold_peer.py slow SECS PORT         read a byte, wait SECS, answer "done",
#                                       close
#   hold_peer.py greet PORT...          say "hello" at once, hold the connection
#                                       until the client leaves
#   hold_peer.py stall PORT             accept and keep each connection, read
#                                       nothing from it
#   hold_peer.py flood PORT             send to each client until killed
#   hold_peer.py tell-peer PORT         one client: echo one line, print the
#                                       client's port, hold until it leaves
# Clients (to 127.0.0.1):
#   hold_peer.py ask N PORT             N clients at once: send "x", read a line;
#                                       print a tally such as "done=N"
#   hold_peer.py greeted N WAIT PORT [RELEASE]
#                                       N clients one after another, each waiting
#                                       WAIT s for "hello"; print "greeted=K", then
#                                       stay until the file RELEASE exists
#   hold_peer.py open N PORT [HELD [RELEASE]]
#                                       N idle connections; then create HELD and
#                                       stay until RELEASE exists (or killed)
#   hold_peer.py echo-many N GO PORT    N connections at once, in batches; print
#                                       "connected K failed F"; once the file GO
#                                       exists, each sends its own payload and
#                                       checks the echo ("echo ok=N"), then
#                                       half-closes and expects a clean EOF
#                                       ("close ok=N")
#   hold_peer.py push PORT              send until the service stops taking bytes
#                                       for 3 s (256 MiB at most); print the count
#   hold_peer.py drink FLOWING PORT     send a line, read to the end; create
#                                       FLOWING at the first byte; print
#                                       "eof|reset BYTES"
#   hold_peer.py tell-own PORT          one round trip, print the client's own
#                                       port, hold until the service leaves
#
# A wait on a file (GO, RELEASE) is how the test says when; every other
# timeout is a guard against a hang, never a wait for success.

import asyncio
import os
import socket
import sys
import threading
import time
from collections import Counter

ADDR = "127.0.0.1"
GUARD = 60	# seconds: a failure guard, never a wait for success
HOLD = 600	# seconds: how long a client holds at the most, unless released
BATCH = 1000	# connects at once: under the listen backlog of 4096, and somaxconn


def say(text):
    print(text, flush=True)


def name(e):
    return type(e).__name__


def tally(results):
    return " ".join(f"{k}={v}" for k, v in sorted(Counter(results).items()))


def wait_file(path, limit=HOLD):
    end = time.monotonic() + limit
    while path and not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.05)


async def serve(handle, *ports, backlog=1024):
    servers = [await asyncio.start_server(handle, ADDR, int(p), backlog=backlog)
               for p in ports]
    await asyncio.gather(*(s.serve_forever() for s in servers))


# --- servers

async def hold(reader, writer):
    try:
        await reader.read()
    except ConnectionError:
        pass
    writer.close()


class Echo:
    """An echo service that counts its clients"""

    def __init__(self):
        self.now = self.peak = self.total = 0

    async def handle(self, reader, writer):
        self.now += 1
        self.total += 1
        self.peak = max(self.peak, self.now)
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.now -= 1
            writer.close()

    async def report(self, status):
        while True:
            with open(status + ".tmp", "w") as f:
                f.write(f"{self.now} {self.peak} {self.total}\n")
            os.replace(status + ".tmp", status)
            await asyncio.sleep(0.1)


async def echo(port, status=None):
    e = Echo()
    if status:
        asyncio.create_task(e.report(status))
    await serve(e.handle, port, backlog=4096)


def slow(secs):
    async def handle(reader, writer):
        await reader.read(1)
        await asyncio.sleep(secs)	# the stimulus: a service slow to answer
        writer.write(b"done\n")
        await writer.drain()
        writer.close()
    return handle


async def greet(reader, writer):
    writer.write(b"hello\n")
    await writer.drain()
    await hold(reader, writer)


def listener(port):
    return socket.create_server((ADDR, port), backlog=16)


def stall(port):
    s, held = listener(port), []
    while True:
        held.append(s.accept()[0])


def feed(c):
    try:
        while True:
            c.sendall(b"x" * 65536)
    except OSError:
        pass


def flood(port):
    s = listener(port)
    while True:
        c, _ = s.accept()
        threading.Thread(target=feed, args=(c,), daemon=True).start()


def tell_peer(port):
    c, peer = listener(port).accept()
    c.sendall(c.recv(100))
    say(str(peer[1]))
    c.recv(1)


# --- clients

async def ask_one(port):
    try:
        reader, writer = await asyncio.open_connection(ADDR, port)
        writer.write(b"x")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), GUARD)
        writer.close()
        return line.decode().strip() or "eof"
    except Exception as e:
        return name(e)


async def ask(n, port):
    say(tally(await asyncio.gather(*(ask_one(port) for _ in range(n)))))


def greeted(n, wait, port, release=None):
    conns, hellos = [], 0
    for _ in range(n):
        c = socket.create_connection((ADDR, port), timeout=wait)
        conns.append(c)
        try:
            hellos += c.recv(6) == b"hello\n"
        except socket.timeout:
            pass
    say(f"greeted={hellos}")
    if release:
        wait_file(release)


def open_idle(n, port, held=None, release=None):
    socks = [socket.create_connection((ADDR, port), timeout=GUARD) for _ in range(n)]
    if held:
        open(held, "w").close()
    if release:
        wait_file(release)
    else:
        time.sleep(HOLD)
    return socks


async def progressing(coros, hung):
    """Run COROS at once, each result in order; those left when none has
    ended for GUARD s end as HUNG. The guard is on progress, not on the
    whole: on a loaded machine ten thousand round trips may take minutes,
    but never a minute without one ending."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    pending = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, timeout=GUARD,
                                           return_when=asyncio.FIRST_COMPLETED)
        if not done:
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            break
    return [hung if t.cancelled() else t.result() for t in tasks]


async def connect(port):
    try:
        return await asyncio.open_connection(ADDR, port)
    except Exception as e:
        return e


async def echo_check(i, conn):
    reader, writer = conn
    payload = b"%d:" % i + os.urandom(64 + i * 7919 % 8192)
    try:
        writer.write(payload)
        await writer.drain()
        back = await reader.readexactly(len(payload))
        return "ok" if back == payload else "wrong"
    except Exception as e:
        return name(e)


async def close_check(conn):
    reader, writer = conn
    try:
        writer.write_eof()
        rest = await reader.read()
        writer.close()
        return "ok" if rest == b"" else "extra"
    except Exception as e:
        return name(e)


async def echo_many(n, go, port):
    conns, errors = [], []
    for first in range(0, n, BATCH):
        batch = range(first, min(n, first + BATCH))
        for r in await progressing((connect(port) for _ in batch), TimeoutError("hang")):
            (errors if isinstance(r, Exception) else conns).append(r)
    say(f"connected {len(conns)} failed {len(errors)} {tally(map(name, errors))}".rstrip())
    await asyncio.to_thread(wait_file, go, GUARD)
    echoes = await progressing((echo_check(i, c) for i, c in enumerate(conns)), "hang")
    say("echo " + tally(echoes))
    say("close " + tally(await progressing((close_check(c) for c in conns), "hang")))


def push(port):
    c = socket.create_connection((ADDR, port))
    c.settimeout(3)	# the stall: no byte taken for 3 s
    sent = 0
    try:
        while sent < 256 << 20:
            sent += c.send(b"y" * 65536)
    except socket.timeout:
        pass
    say(str(sent))


def drink(flowing, port):
    c = socket.create_connection((ADDR, port))
    c.sendall(b"unread by the service")	# makes a kill a reset, not a FIN
    got = 0
    try:
        while d := c.recv(65536):
            if not got:
                open(flowing, "w").close()
            got += len(d)
        say(f"eof {got}")
    except ConnectionResetError:
        say(f"reset {got}")


def tell_own(port):
    c = socket.create_connection((ADDR, port), timeout=GUARD)
    c.sendall(b"ping\n")
    assert c.recv(100) == b"ping\n"
    say(str(c.getsockname()[1]))
    c.settimeout(HOLD)
    c.recv(1)


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    servers = {
        "hold": lambda: asyncio.run(serve(hold, a[0])),
        "echo": lambda: asyncio.run(echo(*a)),
        "slow": lambda: asyncio.run(serve(slow(float(a[0])), a[1])),
        "greet": lambda: asyncio.run(serve(greet, *a)),
        "stall": lambda: stall(int(a[0])),
        "flood": lambda: flood(int(a[0])),
        "tell-peer": lambda: tell_peer(int(a[0])),
    }
    clients = {
        "ask": lambda: asyncio.run(ask(int(a[0]), int(a[1]))),
        "greeted": lambda: greeted(int(a[0]), float(a[1]), int(a[2]), *a[3:]),
        "open": lambda: open_idle(int(a[0]), int(a[1]), *a[2:]),
        "echo-many": lambda: asyncio.run(echo_many(int(a[0]), a[1], int(a[2]))),
        "push": lambda: push(int(a[0])),
        "drink": lambda: drink(a[0], int(a[1])),
        "tell-own": lambda: tell_own(int(a[0])),
    }
    run = servers.get(cmd) or clients.get(cmd)
    if not run:
        sys.exit(f"hold_peer.py: unknown command {cmd}")
    run()


if __name__ == "__main__":
    main()
