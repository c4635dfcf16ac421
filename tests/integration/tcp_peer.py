#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# tcp_peer.py - TCP servers and clients for the edges of a connection: resets,
#               slow readers, idle connections, urgent data. Each client prints
#               what it saw, so that a test compares nsbridge with a direct
#               connection.
#
#   tcp_peer.py reset-after PORT        serve: read a request, send 1000 bytes,
#                                       close with SO_LINGER 0 (a reset)
#   tcp_peer.py ask ROUNDS PORT         ROUNDS clients: send a request, read to
#                                       the end; print a tally "COUNTx BYTES END"
#   tcp_peer.py read-all PORT           serve: read each connection to its end;
#                                       print "BYTES END" for each
#   tcp_peer.py send-reset ROUNDS PORT  ROUNDS clients: send 1000 bytes, reset
#   tcp_peer.py fill-reset PORT         serve: read a request naming a FILE, send
#                                       until the path to the client is full (its
#                                       window shut, nothing in flight), reset,
#                                       then write to FILE the bytes the client's
#                                       side had taken before the reset
#   tcp_peer.py read-after-reset FILE PORT  client: ask fill-reset for FILE, read
#                                       nothing until FILE is written, then read
#                                       to the end; print "TAKEN BYTES END"
#   tcp_peer.py http413 PORT            HTTP: answer every request 413 and close
#                                       with its body's last byte unread (a reset)
#   tcp_peer.py stream BYTES PORT       serve: send BYTES bytes of a pattern,
#                                       then FIN, then read to the end
#   tcp_peer.py read-paused SECS PORT   read 1 MiB, stop reading SECS seconds,
#                                       read the rest; print "BYTES END GOOD|BAD"
#   tcp_peer.py read-slow SECS PORT     with a 2 KiB receive buffer (SO_RCVBUF):
#                                       read a byte, stop reading SECS seconds,
#                                       read the rest; print "BYTES END GOOD|BAD"
#   tcp_peer.py flood FILE PORT         serve: read a request line; "file": send
#                                       FILE; "short": send 4 KiB; "flood": send
#                                       until the client is gone (64 MiB at most)
#   tcp_peer.py sleepers N [GO] PORT    N clients with a 4 KiB receive buffer that
#                                       ask for a flood and never read, until
#                                       killed; print "connected" once all are.
#                                       With GO, print "ready" and connect only
#                                       once that file exists
#   tcp_peer.py fetch WHAT [GO] PORT    ask flood for WHAT (file or short), read
#                                       to the end, print the md5 of it; with GO,
#                                       as sleepers
#   tcp_peer.py hold PORT               serve: read each connection to its end
#                                       and keep it open; print "BYTES END"
#   tcp_peer.py wait-end [half] PORT    connect, send nothing (half: "x" and a
#                                       FIN), print how it ends: eof or reset
#   tcp_peer.py urgent-to PORT          client: send abc, ! as urgent, def,
#                                       FIN; wait for the service to close
#   tcp_peer.py urgent-read PORT        serve: read each connection as below,
#                                       print what it got
#   tcp_peer.py urgent-from PORT        serve: send abc, ! as urgent, def, FIN
#   tcp_peer.py urgent-get PORT         client: print "INBAND URGENT": the bytes
#                                       in band, and those read with MSG_OOB
#   tcp_peer.py urgent-alone-to PORT    client: send ! as urgent, nothing after
#                                       it, no FIN; wait for the service to close
#   tcp_peer.py urgent-alone-read PORT  serve: wait for urgent data, print
#                                       "URGENT AFTER" as below, close
#   tcp_peer.py urgent-alone-from PORT  serve: send ! as urgent, nothing after
#                                       it, no FIN; wait for the client to close
#   tcp_peer.py urgent-alone-get PORT   client: wait for urgent data; print
#                                       "URGENT AFTER": the byte read with
#                                       MSG_OOB, and what follows it: open
#                                       (nothing yet), data or eof

import collections
import fcntl
import hashlib
import os
import re
import select
import signal
import socket
import struct
import sys
import threading
import time

ADDR = "127.0.0.1"
GUARD = 20		# seconds: a failure guard, never a wait for success
SIOCATMARK = 0x8905
SIOCOUTQ = 0x5411	# written, not yet acknowledged
SIOCOUTQNSD = 0x894B	# written, not yet sent
FILL_MAX = 64 << 20	# bytes fill-reset sends at most: bounded
PATTERN = bytes(range(251)) * 4096


def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ADDR, port))
    s.listen(128)
    return s


def serve(port, handle):
    s = listener(port)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def connect(port):
    c = socket.create_connection((ADDR, port))
    c.settimeout(GUARD)
    return c


def reset(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def read_to_end(c):
    """Bytes read, and how it ended: eof, reset or hang"""
    got = 0
    try:
        while True:
            d = c.recv(65536)
            if not d:
                return got, "eof"
            got += len(d)
    except ConnectionResetError:
        return got, "reset"
    except socket.timeout:
        return got, "hang"


SAY = threading.Lock()


def say(text):
    """One whole line, even from several threads at once"""
    with SAY:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def reset_after(c):
    c.recv(100)
    c.sendall(b"r" * 1000)
    reset(c)


def ask(rounds, port):
    tally = collections.Counter()
    for _ in range(rounds):
        c = connect(port)
        c.sendall(b"request\n")
        got, end = read_to_end(c)
        tally[f"{got} {end}"] += 1
        c.close()
    say(", ".join(f"{n}x {what}" for what, n in sorted(tally.items())))


def read_all(c):
    c.settimeout(GUARD)
    got, end = read_to_end(c)
    say(f"{got} {end}")
    c.close()


def send_reset(rounds, port):
    for _ in range(rounds):
        c = connect(port)
        c.sendall(b"s" * 1000)
        reset(c)


def ioctl_int(c, request):
    return struct.unpack("i", fcntl.ioctl(c, request, b"\0" * 4))[0]


def fill_reset(c):
    """Send until the path to the client is full, then reset. Full is a
    state, not a time: nothing in flight (every byte sent is acknowledged)
    and bytes left unsent, so the client's side has shut its window. What
    it took - the bytes acknowledged - is what it must deliver before the
    reset; the reset throws the unsent rest away, as a service's own
    kernel does."""
    request = b""
    while not request.endswith(b"\n"):
        d = c.recv(4096)
        if not d:
            return c.close()
        request += d
    path = request.decode().strip()
    chunk = PATTERN[:65536]
    sent = 0
    c.setblocking(False)
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        try:
            if sent < FILL_MAX:
                sent += c.send(chunk[:FILL_MAX - sent])
                continue
        except BlockingIOError:
            pass
        unsent = ioctl_int(c, SIOCOUTQNSD)
        if ioctl_int(c, SIOCOUTQ) == unsent and (unsent or sent == FILL_MAX):
            break
        select.select([], [c], [], 0.05)	# room to write, or look again
    else:
        path += ".unsettled"	# the client waits for FILE in vain: a hang
    taken = sent - ioctl_int(c, SIOCOUTQ)
    reset(c)
    with open(path + ".new", "w") as f:
        f.write(f"{taken}\n")
    os.rename(path + ".new", path)	# whole, once the reset is sent


def read_after_reset(path, port):
    c = connect(port)
    c.sendall(path.encode() + b"\n")
    deadline = time.monotonic() + GUARD
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        taken = open(path).read().strip()
    except OSError:
        taken = "none"
    got, end = read_to_end(c)
    say(f"{taken} {got} {end}")


def too_large(c):
    """Answer 413 and close with a byte of the upload unread, which makes
    the kernel send a reset after the answer. All the rest is read first,
    so that the client has sent everything and is waiting for the answer
    when the reset comes: without that, a client still sending may fail
    on its send before it reads the answer, even direct."""
    head = b""
    while b"\r\n\r\n" not in head:
        byte = c.recv(1)	# one at a time: never a byte of the body
        if not byte:
            return c.close()
        head += byte
    left = int(re.search(rb"content-length: *([0-9]+)", head, re.I).group(1)) - 1
    while left > 0:
        d = c.recv(min(left, 1 << 20))
        if not d:
            return c.close()
        left -= len(d)
    c.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n"
              b"Connection: close\r\n\r\n")
    c.close()


def pattern(size):
    return (PATTERN * (size // len(PATTERN) + 1))[:size]


def stream(size):
    data = pattern(size)

    def handle(c):
        try:
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            read_to_end(c)
        except OSError:
            pass
        c.close()
    return handle


def read_pattern_after(c, first, secs):
    """Read FIRST bytes, stop SECS seconds (the stimulus: a reader that
    stops for a while), read the rest; print "BYTES END GOOD|BAD" """
    data = bytearray()
    end = "hang"
    try:
        while len(data) < first:
            data += c.recv(65536 if first > 1 else 1)
        time.sleep(secs)
        while True:
            d = c.recv(1 << 20)
            if not d:
                end = "eof"
                break
            data += d
    except ConnectionResetError:
        end = "reset"
    except socket.timeout:
        pass
    good = data == pattern(len(data))
    say(f"{len(data)} {end} {'GOOD' if good else 'BAD'}")


def read_paused(secs, port):
    read_pattern_after(connect(port), 1 << 20, secs)


def read_slow(secs, port):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)	# before the window is set
    c.settimeout(GUARD)
    c.connect((ADDR, port))
    read_pattern_after(c, 1, secs)


def flood(path):
    blob = open(path, "rb").read()

    def handle(c):
        try:
            what = c.makefile("rb").readline()
            if what == b"file\n":
                c.sendall(blob)
            elif what == b"short\n":
                c.sendall(blob[:4096])
            else:
                for _ in range(1024):	# 64 MiB at most: bounded
                    c.sendall(b"x" * 65536)
        except OSError:
            pass
        c.close()
    return handle


def wait_go(go):
    """Start up first, then act at once when GO appears: the moment a
    test makes something happen is short and known"""
    if go:
        say("ready")
        while not os.path.exists(go):
            time.sleep(0.005)


def sleepers(n, go, port):
    wait_go(go)
    held = []
    for _ in range(n):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.connect((ADDR, port))
        c.sendall(b"flood\n")
        held.append(c)
    say("connected")
    signal.pause()


def fetch(what, go, port):
    wait_go(go)
    c = socket.create_connection((ADDR, port), timeout=30)
    c.sendall(what.encode() + b"\n")
    h = hashlib.md5()
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        h.update(d)
    say(h.hexdigest())


def hold(c):
    c.settimeout(GUARD)
    got, end = read_to_end(c)
    say(f"{got} {end}")
    time.sleep(GUARD)
    c.close()


def wait_end(half, port):
    c = connect(port)
    if half:
        c.sendall(b"x")
        c.shutdown(socket.SHUT_WR)
    say(read_to_end(c)[1])


def send_urgent(c):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.send(b"abc")
    c.send(b"!", socket.MSG_OOB)
    c.send(b"def")
    c.shutdown(socket.SHUT_WR)


def at_mark(c):
    return struct.unpack("i", fcntl.ioctl(c, SIOCATMARK, b"\0" * 4))[0] != 0


def read_urgent(c):
    """In-band bytes and urgent bytes, as an application that watches for
    urgent data (POLLPRI, SIOCATMARK) sees them"""
    inband, urgent = b"", b""
    p = select.poll()
    p.register(c, select.POLLIN | select.POLLPRI)
    while True:
        events = p.poll(GUARD * 1000)
        if not events:
            return inband, urgent + b"(hang)"
        if events[0][1] & select.POLLPRI or at_mark(c):
            try:
                urgent += c.recv(1, socket.MSG_OOB | socket.MSG_DONTWAIT)
            except (BlockingIOError, OSError):
                pass
        try:
            d = c.recv(4096, socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        except ConnectionResetError:
            return inband, urgent + b"(reset)"
        if not d:
            return inband, urgent
        inband += d


def urgent_text(c):
    inband, urgent = read_urgent(c)
    return f"{inband.decode()} {urgent.decode() or '-'}"


def send_urgent_alone(c):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.send(b"!", socket.MSG_OOB)


def urgent_alone(c):
    """An urgent byte that comes with nothing after it: no in-band byte
    stands ready to read (no POLLIN), only POLLPRI says it came"""
    p = select.poll()
    p.register(c, select.POLLIN | select.POLLPRI)
    events = p.poll(GUARD * 1000)
    if not events:
        return "- hang"
    urgent = "-"
    # non-blocking: with a timeout, Python waits for POLLIN before a recv
    c.setblocking(False)
    if events[0][1] & select.POLLPRI:
        urgent = c.recv(1, socket.MSG_OOB).decode()
    try:
        after = "data" if c.recv(1, socket.MSG_PEEK) else "eof"
    except BlockingIOError:
        after = "open"
    except ConnectionResetError:
        after = "reset"
    return f"{urgent} {after}"


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    port = int(args[-1])
    if cmd == "reset-after":
        serve(port, reset_after)
    elif cmd == "ask":
        ask(int(args[0]), port)
    elif cmd == "read-all":
        serve(port, read_all)
    elif cmd == "send-reset":
        send_reset(int(args[0]), port)
    elif cmd == "fill-reset":
        serve(port, fill_reset)
    elif cmd == "read-after-reset":
        read_after_reset(args[0], port)
    elif cmd == "http413":
        serve(port, too_large)
    elif cmd == "stream":
        serve(port, stream(int(args[0])))
    elif cmd == "read-paused":
        read_paused(float(args[0]), port)
    elif cmd == "read-slow":
        read_slow(float(args[0]), port)
    elif cmd == "flood":
        serve(port, flood(args[0]))
    elif cmd == "sleepers":
        sleepers(int(args[0]), args[1] if len(args) > 2 else None, port)
    elif cmd == "fetch":
        fetch(args[0], args[1] if len(args) > 2 else None, port)
    elif cmd == "hold":
        serve(port, hold)
    elif cmd == "wait-end":
        wait_end(args[0] == "half", port)
    elif cmd == "urgent-to":
        c = connect(port)
        send_urgent(c)
        read_to_end(c)
    elif cmd == "urgent-read":
        serve(port, lambda c: (say(urgent_text(c)), c.close()))
    elif cmd == "urgent-from":
        serve(port, lambda c: (send_urgent(c), read_to_end(c), c.close()))
    elif cmd == "urgent-get":
        say(urgent_text(connect(port)))
    elif cmd == "urgent-alone-to":
        c = connect(port)
        send_urgent_alone(c)
        read_to_end(c)
    elif cmd == "urgent-alone-read":
        serve(port, lambda c: (say(urgent_alone(c)), c.close()))
    elif cmd == "urgent-alone-from":
        serve(port, lambda c: (send_urgent_alone(c), read_to_end(c), c.close()))
    elif cmd == "urgent-alone-get":
        say(urgent_alone(connect(port)))
    else:
        sys.exit(f"tcp_peer.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
